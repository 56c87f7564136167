#include "llm/llama.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/checked.h"

flintrt_status flt_tensor_from_gguf(const flt_gguf_tensor *gt, flt_tensor *out, flt_err *e) {
    flt_dtype dt;
    const flt_ggml_type_info *ti = flt_ggml_type(gt->type);
    if (!flt_dtype_from_ggml(gt->type, &dt))
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "tensor '%.*s' has type %s (%u), which Flint cannot compute with yet",
                        (int)gt->name.n, gt->name.p, ti && ti->name ? ti->name : "unknown", gt->type);
    int64_t shape[FLT_GGUF_MAX_DIMS];
    for (uint32_t i = 0; i < gt->n_dims; i++) shape[i] = gt->ne[gt->n_dims - 1 - i];
    flintrt_status st = flt_tensor_init(out, dt, (int)gt->n_dims, shape, (void *)gt->data, e);
    if (st) {
        flt_err_prefix(e, "tensor '%.*s'", (int)gt->name.n, gt->name.p);
        return st;
    }
    if (flt_tensor_nbytes(out) != gt->size)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%.*s': %zu bytes expected, file says %llu",
                        (int)gt->name.n, gt->name.p, flt_tensor_nbytes(out), (unsigned long long)gt->size);
    return FLINTRT_OK;
}

/* Find a tensor and check its shape (row-major; -1 in `shape` means any).
 * float_only: norms and rope factors must be F32. */
static flintrt_status want(const flt_gguf *g, const char *name, int ndim, const int64_t *shape,
                           bool float_only, bool optional, flt_tensor *out, bool *found, flt_err *e) {
    const flt_gguf_tensor *gt = flt_gguf_find_tensor(g, name);
    if (found) *found = gt != NULL;
    if (!gt) {
        if (optional) return FLINTRT_OK;
        return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s' is missing", name);
    }
    flintrt_status st = flt_tensor_from_gguf(gt, out, e);
    if (st) return st;
    if (float_only && out->dtype != FLT_F32)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "tensor '%s' must be F32, is %s", name,
                        flt_dtype_info(out->dtype)->name);
    bool ok = out->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        if (shape[i] >= 0 && out->shape[i] != shape[i]) ok = false;
    if (!ok) {
        char have[96], exp[96];
        flt_tensor_describe(out, have, sizeof have);
        int w = snprintf(exp, sizeof exp, "[");
        for (int i = 0; i < ndim; i++)
            w += snprintf(exp + w, sizeof exp - (size_t)w, i ? ", %lld" : "%lld", (long long)shape[i]);
        snprintf(exp + w, sizeof exp - (size_t)w, "]");
        return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s' has shape %s, expected %s", name, have, exp);
    }
    return FLINTRT_OK;
}

static flintrt_status read_hparams(const flt_gguf *g, flt_llama_hparams *hp, flt_err *e) {
    uint32_t v;
    flintrt_status st;
#define U32(key, lo, hi, dst) \
    if ((st = flt_gguf_get_u32(g, key, lo, hi, &v, e))) return st; \
    dst = (int32_t)v;
#define U32_OPT(key, dflt, lo, hi, dst) \
    if ((st = flt_gguf_get_u32_opt(g, key, dflt, lo, hi, &v, e))) return st; \
    dst = (int32_t)v;
    U32("llama.context_length", 1, 1u << 24, hp->n_ctx_train);
    U32("llama.embedding_length", 1, 1u << 16, hp->n_embd);
    U32("llama.block_count", 1, FLT_LLAMA_MAX_LAYERS, hp->n_layer);
    U32("llama.feed_forward_length", 1, 1u << 20, hp->n_ff);
    U32("llama.attention.head_count", 1, 1024, hp->n_head);
    U32_OPT("llama.attention.head_count_kv", (uint32_t)hp->n_head, 1, 1024, hp->n_head_kv);
    if (hp->n_embd % hp->n_head)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "head count %d does not divide embedding length %d",
                        hp->n_head, hp->n_embd);
    if (hp->n_head % hp->n_head_kv)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "KV head count %d does not divide head count %d",
                        hp->n_head_kv, hp->n_head);
    U32_OPT("llama.attention.key_length", (uint32_t)(hp->n_embd / hp->n_head), 1, FLT_ATTN_MAX_HEAD_DIM,
            hp->head_dim);
    uint32_t vlen;
    if ((st = flt_gguf_get_u32_opt(g, "llama.attention.value_length", (uint32_t)hp->head_dim, 1,
                                   FLT_ATTN_MAX_HEAD_DIM, &vlen, e)))
        return st;
    if ((int32_t)vlen != hp->head_dim)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "key length %d differs from value length %u",
                        hp->head_dim, vlen);
    U32_OPT("llama.rope.dimension_count", (uint32_t)hp->head_dim, 2, (uint32_t)hp->head_dim, hp->n_rot);
    if (hp->n_rot % 2)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "rope dimension count %d is odd", hp->n_rot);
#undef U32
#undef U32_OPT
    if ((st = flt_gguf_get_f32_opt(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f, 0.0f, 1.0f,
                                   &hp->norm_eps, e)))
        return st;
    if ((st = flt_gguf_get_f32_opt(g, "llama.rope.freq_base", 10000.0f, 1.0f, 1e12f, &hp->rope_base, e)))
        return st;
    hp->rope_scale = 1.0f;
    flt_str stype;
    if (flt_gguf_find_key(g, "llama.rope.scaling.type") >= 0) {
        if ((st = flt_gguf_get_str(g, "llama.rope.scaling.type", &stype, e))) return st;
        bool none = stype.n == 4 && !memcmp(stype.p, "none", 4);
        bool linear = stype.n == 6 && !memcmp(stype.p, "linear", 6);
        if (!none && !linear)
            return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "rope scaling type '%.*s' (none and linear are supported)",
                            (int)(stype.n > 32 ? 32 : stype.n), stype.p);
        if (linear) {
            float factor;
            if ((st = flt_gguf_get_f32(g, "llama.rope.scaling.factor", 1e-3f, 1e3f, &factor, e))) return st;
            hp->rope_scale = 1.0f / factor;
        }
    } else if (flt_gguf_find_key(g, "llama.rope.scale_linear") >= 0) {
        float factor;
        if ((st = flt_gguf_get_f32(g, "llama.rope.scale_linear", 1e-3f, 1e3f, &factor, e))) return st;
        hp->rope_scale = 1.0f / factor;
    }
    return FLINTRT_OK;
}

flintrt_status flt_llama_load(const flt_gguf *g, flt_llama **out, flt_err *e) {
    flt_str arch;
    flintrt_status st = flt_gguf_get_str(g, "general.architecture", &arch, e);
    if (st) return st;
    if (arch.n != 5 || memcmp(arch.p, "llama", 5))
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "architecture '%.*s' is not supported (llama is)",
                        (int)(arch.n > 64 ? 64 : arch.n), arch.p);
    flt_llama *m = calloc(1, sizeof *m);
    if (!m) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "model");
    flt_llama_hparams *hp = &m->hp;
    if ((st = read_hparams(g, hp, e))) goto fail;

    int64_t d = hp->n_embd, dq = (int64_t)hp->n_head * hp->head_dim;
    int64_t dkv = (int64_t)hp->n_head_kv * hp->head_dim, ff = hp->n_ff;
    if ((st = want(g, "token_embd.weight", 2, (int64_t[]){-1, d}, false, false, &m->tok_embd, NULL, e)))
        goto fail;
    if (m->tok_embd.shape[0] < 1 || m->tok_embd.shape[0] > (1 << 24)) {
        st = flt_fail(e, FLINTRT_ERR_FORMAT, "vocabulary of %lld tokens", (long long)m->tok_embd.shape[0]);
        goto fail;
    }
    hp->n_vocab = (int32_t)m->tok_embd.shape[0];
    int64_t nv = hp->n_vocab;
    if ((st = want(g, "output_norm.weight", 1, (int64_t[]){d}, true, false, &m->out_norm, NULL, e))) goto fail;
    bool found;
    if ((st = want(g, "output.weight", 2, (int64_t[]){nv, d}, false, true, &m->output, &found, e))) goto fail;
    if (!found) m->output = m->tok_embd; /* tied embeddings */
    if ((st = want(g, "rope_freqs.weight", 1, (int64_t[]){hp->n_rot / 2}, true, true, &m->rope_freqs,
                   &m->has_rope_freqs, e)))
        goto fail;

    m->layers = flt_calloc_array((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) { st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "layers"); goto fail; }
    for (int32_t l = 0; l < hp->n_layer; l++) {
        flt_llama_layer *L = &m->layers[l];
        struct { const char *name; int ndim; int64_t shape[2]; bool f32; flt_tensor *dst; } t[] = {
            {"attn_norm", 1, {d, 0}, true, &L->attn_norm},
            {"attn_q", 2, {dq, d}, false, &L->wq},
            {"attn_k", 2, {dkv, d}, false, &L->wk},
            {"attn_v", 2, {dkv, d}, false, &L->wv},
            {"attn_output", 2, {d, dq}, false, &L->wo},
            {"ffn_norm", 1, {d, 0}, true, &L->ffn_norm},
            {"ffn_gate", 2, {ff, d}, false, &L->w_gate},
            {"ffn_up", 2, {ff, d}, false, &L->w_up},
            {"ffn_down", 2, {d, ff}, false, &L->w_down},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            char name[96];
            snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, t[i].name);
            if ((st = want(g, name, t[i].ndim, t[i].shape, t[i].f32, false, t[i].dst, NULL, e))) goto fail;
        }
    }
    for (uint64_t i = 0; i < flt_gguf_n_tensors(g); i++) {
        const flt_gguf_tensor *gt = flt_gguf_tensor_at(g, i);
        uint64_t n = 1;
        for (uint32_t k = 0; k < gt->n_dims; k++) n *= (uint64_t)gt->ne[k];
        m->n_params += n;
        m->weight_bytes += gt->size;
    }
    /* A decoded token reads every weight once except the embedding table, of
     * which it reads one row (unless the table doubles as the output). */
    m->bytes_per_token = m->weight_bytes;
    if (m->output.data != m->tok_embd.data)
        m->bytes_per_token -= flt_tensor_nbytes(&m->tok_embd) - flt_tensor_row_bytes(&m->tok_embd);
    *out = m;
    return FLINTRT_OK;
fail:
    flt_llama_free(m);
    return st;
}

void flt_llama_free(flt_llama *m) {
    if (!m) return;
    if (m->packed) munmap(m->packed, m->packed_bytes);
    free(m->layers);
    free(m);
}

int flt_llama_build(flt_graph *g, const flt_llama *m, const flt_llama_cache *cache,
                    const flt_tensor *ids, const flt_tensor *pos, int32_t n_past, bool all_logits) {
    const flt_llama_hparams *hp = &m->hp;
    int64_t n = ids->shape[0], hd = hp->head_dim;
    int vid = flt_graph_external(g, ids);
    int vpos = flt_graph_external(g, pos);
    int ff = m->has_rope_freqs ? flt_graph_external(g, &m->rope_freqs) : -1;
    float kq_scale = 1.0f / sqrtf((float)hd);

    int x = flt_op_get_rows(g, flt_graph_external(g, &m->tok_embd), vid);
    for (int32_t l = 0; l < hp->n_layer; l++) {
        const flt_llama_layer *L = &m->layers[l];
        int h = flt_op_rms_norm(g, x, flt_graph_external(g, &L->attn_norm), hp->norm_eps);
        int q = flt_op_mul_mat(g, flt_graph_external(g, &L->wq), h);
        int k = flt_op_mul_mat(g, flt_graph_external(g, &L->wk), h);
        int v = flt_op_mul_mat(g, flt_graph_external(g, &L->wv), h);
        q = flt_graph_reshape(g, q, 3, (int64_t[]){n, hp->n_head, hd});
        k = flt_graph_reshape(g, k, 3, (int64_t[]){n, hp->n_head_kv, hd});
        q = flt_op_rope(g, q, vpos, ff, hp->n_rot, hp->rope_base, hp->rope_scale);
        k = flt_op_rope(g, k, vpos, ff, hp->n_rot, hp->rope_base, hp->rope_scale);

        /* Store this batch's keys and values in the cache, then attend over it. */
        int kc = flt_graph_external(g, &cache->k[l]);
        int vc = flt_graph_external(g, &cache->v[l]);
        int64_t kv3[3] = {cache->n_ctx, hp->n_head_kv, hd};
        int kdst = flt_graph_reshape(g, flt_graph_view_rows(g, kc, n_past, n), 3, (int64_t[]){n, hp->n_head_kv, hd});
        int vdst = flt_graph_view_rows(g, vc, n_past, n);
        flt_op_convert_into(g, k, kdst);
        flt_op_convert_into(g, v, vdst);
        int a = flt_op_attention(g, q, flt_graph_reshape(g, kc, 3, kv3), flt_graph_reshape(g, vc, 3, kv3),
                                 n_past, kq_scale);
        x = flt_op_add(g, x, flt_op_mul_mat(g, flt_graph_external(g, &L->wo), a));

        h = flt_op_rms_norm(g, x, flt_graph_external(g, &L->ffn_norm), hp->norm_eps);
        int gate = flt_op_mul_mat(g, flt_graph_external(g, &L->w_gate), h);
        int up = flt_op_mul_mat(g, flt_graph_external(g, &L->w_up), h);
        int down = flt_op_mul_mat(g, flt_graph_external(g, &L->w_down), flt_op_swiglu(g, gate, up));
        x = flt_op_add(g, x, down);
    }
    if (!all_logits) x = flt_graph_view_rows(g, x, n - 1, 1);
    x = flt_op_rms_norm(g, x, flt_graph_external(g, &m->out_norm), hp->norm_eps);
    int logits = flt_op_mul_mat(g, flt_graph_external(g, &m->output), x);
    flt_graph_set_output(g, logits);
    return logits;
}
