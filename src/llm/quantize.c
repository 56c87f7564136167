/* Model quantization (see quantize.h). The type choices follow llama.cpp's
 * llama-quantize (src/llama-quant.cpp at 3f545bec: tensor_allows_quantization,
 * llama_tensor_get_type, tensor_type_fallback) for the file types listed below,
 * without importance matrix, overrides or pruning; the layout follows its writer. */
#define _POSIX_C_SOURCE 200809L
#include "llm/quantize.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checked.h"
#include "core/dtype.h"
#include "core/threadpool.h"

/* ggml type ids (GGUF tensor types). */
enum {
    G_F32 = 0, G_F16 = 1, G_Q4_0 = 2, G_Q4_1 = 3, G_Q5_0 = 6, G_Q5_1 = 7, G_Q8_0 = 8,
    G_Q2_K = 10, G_Q3_K = 11, G_Q4_K = 12, G_Q5_K = 13, G_Q6_K = 14, G_IQ4_NL = 20,
    G_IQ4_XS = 23, G_BF16 = 30,
};

/* llama_ftype numbers (general.file_type). */
enum {
    FT_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7, FT_Q5_0 = 8, FT_Q5_1 = 9,
    FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q3_K_L = 13, FT_Q4_K_S = 14, FT_Q4_K_M = 15,
    FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18, FT_IQ4_NL = 25, FT_IQ4_XS = 30, FT_BF16 = 32,
};

#define QUANTIZATION_VERSION 2u /* GGML_QNT_VERSION */

static const flt_qftype k_ftypes[] = {
    {"F32", FT_F32, G_F32, "32-bit float (no quantization)"},
    {"F16", FT_F16, G_F16, "16-bit float"},
    {"BF16", FT_BF16, G_BF16, "bfloat16"},
    {"Q8_0", FT_Q8_0, G_Q8_0, "8.5 bits/weight, nearly lossless"},
    {"Q4_0", FT_Q4_0, G_Q4_0, "4.5 bits/weight"},
    {"Q4_1", FT_Q4_1, G_Q4_1, "5.0 bits/weight"},
    {"Q5_0", FT_Q5_0, G_Q5_0, "5.5 bits/weight"},
    {"Q5_1", FT_Q5_1, G_Q5_1, "6.0 bits/weight"},
    {"Q2_K", FT_Q2_K, G_Q2_K, "mostly Q2_K, attn_v/ffn_down/attn_output Q3_K-Q4_K"},
    {"Q3_K_S", FT_Q3_K_S, G_Q3_K, "Q3_K throughout"},
    {"Q3_K_M", FT_Q3_K_M, G_Q3_K, "mostly Q3_K, some attn_v/ffn_down Q4_K-Q5_K"},
    {"Q3_K_L", FT_Q3_K_L, G_Q3_K, "mostly Q3_K, attn_v/ffn_down/attn_output Q5_K"},
    {"Q4_K_S", FT_Q4_K_S, G_Q4_K, "mostly Q4_K, first attn_v/ffn_down Q5_K"},
    {"Q4_K_M", FT_Q4_K_M, G_Q4_K, "mostly Q4_K, half of attn_v/ffn_down Q6_K"},
    {"Q5_K_S", FT_Q5_K_S, G_Q5_K, "Q5_K throughout"},
    {"Q5_K_M", FT_Q5_K_M, G_Q5_K, "mostly Q5_K, half of attn_v/ffn_down Q6_K"},
    {"Q6_K", FT_Q6_K, G_Q6_K, "Q6_K throughout"},
    {"IQ4_NL", FT_IQ4_NL, G_IQ4_NL, "4.5 bits/weight, non-linear"},
    {"IQ4_XS", FT_IQ4_XS, G_IQ4_XS, "4.25 bits/weight, non-linear"},
};
#define N_FTYPES (sizeof k_ftypes / sizeof k_ftypes[0])

const flt_qftype *flt_qftype_at(size_t i) { return i < N_FTYPES ? &k_ftypes[i] : NULL; }

const flt_qftype *flt_qftype_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < N_FTYPES; i++)
        if (!strcmp(k_ftypes[i].name, name)) return &k_ftypes[i];
    return NULL;
}

/* ---- facts about ggml types ---- */

static uint32_t blck(uint32_t type) {
    const flt_ggml_type_info *ti = flt_ggml_type(type);
    return ti ? ti->block_size : 1;
}

static bool is_quantized(uint32_t type) {
    return type != G_F32 && type != G_F16 && type != G_BF16 && blck(type) > 1;
}

static const char *type_name(uint32_t type) {
    const flt_ggml_type_info *ti = flt_ggml_type(type);
    return ti && ti->name ? ti->name : "?";
}

/* ---- tensor names ---- */

typedef enum cat {
    CAT_TOKEN_EMBD, CAT_ATTN_Q, CAT_ATTN_V, CAT_ATTN_K, CAT_ATTN_QKV, CAT_ATTN_KV_B,
    CAT_ATTN_OUTPUT, CAT_FFN_UP, CAT_FFN_GATE, CAT_FFN_DOWN, CAT_OUTPUT, CAT_OTHER
} cat;

static bool has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static cat category(const char *name) {
    if (!strcmp(name, "output.weight")) return CAT_OUTPUT;
    if (!strcmp(name, "token_embd.weight") || !strcmp(name, "per_layer_token_embd.weight")) return CAT_TOKEN_EMBD;
    if (has(name, "attn_qkv.weight")) return CAT_ATTN_QKV;
    if (has(name, "attn_kv_b.weight")) return CAT_ATTN_KV_B;
    if (has(name, "attn_v.weight")) return CAT_ATTN_V;
    if (has(name, "attn_k.weight")) return CAT_ATTN_K;
    if (has(name, "attn_q.weight")) return CAT_ATTN_Q;
    if (has(name, "attn_output.weight")) return CAT_ATTN_OUTPUT;
    if (has(name, "ffn_up")) return CAT_FFN_UP;
    if (has(name, "ffn_gate")) return CAT_FFN_GATE;
    if (has(name, "ffn_down")) return CAT_FFN_DOWN;
    return CAT_OTHER;
}

static bool is_attn_v_like(cat c) { return c == CAT_ATTN_V || c == CAT_ATTN_QKV || c == CAT_ATTN_KV_B; }

/* Dimensions that count (trailing 1s dropped, at least 1), as ggml_n_dims. */
static uint32_t n_dims_of(const flt_gguf_tensor *t) {
    for (uint32_t d = FLT_GGUF_MAX_DIMS; d > 1; d--)
        if (t->ne[d - 1] > 1) return d;
    return 1;
}

/* Tensors that keep their type whatever the recipe: 1-D tensors, norms, and the
 * small or sensitive tensors llama-quantize leaves alone. */
static bool allows_quantization(const char *name, uint32_t n_dims) {
    static const char *const never[] = {
        "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
        "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
        "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
        "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
        "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
        "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.",
        "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
    };
    if (n_dims < 2) return false;
    size_t n = strlen(name);
    if (n < 6 || strcmp(name + n - 6, "weight") != 0) return false;
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (has(name, never[i])) return false;
    if (!strcmp(name, "position_embd.weight") || !strcmp(name, "token_types.weight")) return false;
    return true;
}

/* The layer number in "blk.N.", read as sscanf("blk.%d.") would; -1 if none. */
static int layer_of(const char *name, bool *ok) {
    *ok = false;
    if (strncmp(name, "blk.", 4) != 0) return -1;
    const char *p = name + 4;
    while (*p == ' ' || (*p >= '\t' && *p <= '\r')) p++;
    bool neg = false;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    if (*p < '0' || *p > '9') return -1;
    long long v = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        if (v < 1000000000) v = v * 10 + (*p - '0');
    *ok = true;
    return (int)(neg ? -v : v);
}

/* llama.cpp's model loader orders tensors: non-block tensors first, then by block
 * number; by name within each. */
typedef struct sort_item {
    uint64_t idx;
    int layer;
    const char *name; /* NUL-terminated copy */
} sort_item;

static int sort_cmp(const void *a, const void *b) {
    const sort_item *x = a, *y = b;
    if (x->layer != y->layer) return x->layer < y->layer ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* ---- the recipe ---- */

typedef struct qstate {
    uint32_t ftype;
    int n_layer, n_gqa, n_expert;
    bool falcon, is_70b, tied_embeddings;
    int n_attn_wv, i_attn_wv, i_ffn_down, i_ffn_gate, i_ffn_up;
} qstate;

static bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static flintrt_status layer_info(const qstate *s, int counter, const char *name, int *i_layer, flt_err *e) {
    *i_layer = counter;
    if (s->n_expert > 1) {
        bool ok;
        int l = layer_of(name, &ok);
        if (!ok) return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s': cannot determine its layer", name);
        if (l < 0 || l >= s->n_layer)
            return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s': layer %d outside [0, %d)", name, l, s->n_layer);
        *i_layer = l;
    }
    return FLINTRT_OK;
}

static flintrt_status recipe_type(qstate *s, uint32_t t, const flt_gguf_tensor *tn, const char *name, cat c,
                                  uint32_t *out, flt_err *e) {
    const uint32_t ft = s->ftype;
    int n = s->n_layer, il;
    flintrt_status st;
    if (c == CAT_OUTPUT || (s->tied_embeddings && c == CAT_TOKEN_EMBD)) {
        if (s->falcon || tn->ne[0] % blck(t) != 0) t = G_Q8_0;
        else if (t != G_Q8_0) t = G_Q6_K;
    } else if (c == CAT_TOKEN_EMBD) {
        /* the recipes here keep the default type */
    } else if (is_attn_v_like(c)) {
        if (ft == FT_Q2_K) t = s->n_gqa >= 4 ? G_Q4_K : G_Q3_K;
        else if (ft == FT_Q3_K_M) t = s->i_attn_wv < 2 ? G_Q5_K : G_Q4_K;
        else if (ft == FT_Q3_K_L) t = G_Q5_K;
        else if ((ft == FT_IQ4_NL || ft == FT_IQ4_XS) && s->n_gqa >= 4) t = G_Q5_K;
        else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && use_more_bits(s->i_attn_wv, s->n_attn_wv)) t = G_Q6_K;
        else if (ft == FT_Q4_K_S && s->i_attn_wv < 4) t = G_Q5_K;
        if (s->is_70b && (t == G_Q3_K || t == G_Q4_K)) t = G_Q5_K;
        if (s->n_expert == 8) t = G_Q8_0;
        s->i_attn_wv++;
    } else if (c == CAT_ATTN_K) {
        if (s->n_expert == 8) t = G_Q8_0;
    } else if (c == CAT_FFN_DOWN) {
        if ((st = layer_info(s, s->i_ffn_down, name, &il, e))) return st;
        bool more = use_more_bits(il, n);
        if (ft == FT_Q2_K) t = G_Q3_K;
        else if (ft == FT_Q3_K_M) t = il < n / 16 ? G_Q5_K : (!s->falcon || more) ? G_Q4_K : G_Q3_K;
        else if (ft == FT_Q3_K_L) t = s->falcon ? G_Q4_K : G_Q5_K;
        else if (ft == FT_Q4_K_M) {
            if (s->falcon) t = il < n / 16 ? G_Q6_K : more ? G_Q5_K : G_Q4_K;
            else if (more) t = G_Q6_K;
        } else if (il < n / 8 && (ft == FT_IQ4_NL || ft == FT_IQ4_XS)) t = G_Q5_K;
        else if (ft == FT_Q5_K_M && more) t = G_Q6_K;
        else if (ft == FT_Q4_K_S && !s->falcon && il < n / 8) t = G_Q5_K;
        s->i_ffn_down++;
    } else if (c == CAT_ATTN_OUTPUT) {
        if (!s->falcon) {
            if (s->n_expert == 8) {
                if (ft == FT_Q2_K || ft == FT_Q3_K_S || ft == FT_Q3_K_M || ft == FT_IQ4_NL || ft == FT_Q4_K_S ||
                    ft == FT_Q4_K_M || ft == FT_IQ4_XS)
                    t = G_Q5_K;
            } else {
                if (ft == FT_Q2_K) t = G_Q3_K;
                else if (ft == FT_Q3_K_M) t = G_Q4_K;
                else if (ft == FT_Q3_K_L) t = G_Q5_K;
            }
        } else if (ft == FT_Q3_K_L) {
            t = G_Q4_K;
        }
    } else if (c == CAT_FFN_GATE) {
        if ((st = layer_info(s, s->i_ffn_gate, name, &il, e))) return st;
        s->i_ffn_gate++;
    } else if (c == CAT_FFN_UP) {
        if ((st = layer_info(s, s->i_ffn_up, name, &il, e))) return st;
        s->i_ffn_up++;
    }
    *out = t;
    return FLINTRT_OK;
}

/* A row length the type cannot hold: the next type down that can (as llama.cpp).
 * For types llama.cpp has no fallback for (it refuses the file), F16. */
static uint32_t fallback(uint32_t t, int64_t ncols, bool *fell) {
    *fell = false;
    if (ncols % blck(t) == 0) return t;
    *fell = true;
    uint32_t r;
    switch (t) {
    case G_IQ4_XS: r = G_IQ4_NL; break;
    case G_Q2_K: case G_Q3_K: r = G_Q4_0; break;
    case G_Q4_K: r = G_Q5_0; break;
    case G_Q5_K: r = G_Q5_1; break;
    case G_Q6_K: r = G_Q8_0; break;
    default: r = G_F16; break;
    }
    if (ncols % blck(r) != 0) r = G_F16;
    return r;
}

/* A head count: a scalar, or the first element of a per-layer array. */
static uint32_t head_count(const flt_gguf *g, const char *key, uint32_t dflt) {
    int64_t i = flt_gguf_find_key(g, key);
    if (i < 0) return dflt;
    uint32_t v;
    if (flt_gguf_get_u32(g, key, 0, UINT32_MAX, &v, NULL) == FLINTRT_OK) return v;
    uint64_t n;
    const void *d;
    if (flt_gguf_get_arr(g, key, FLT_GGUF_UINT32, 1, UINT64_MAX, &n, &d, NULL) == FLINTRT_OK ||
        flt_gguf_get_arr(g, key, FLT_GGUF_INT32, 1, UINT64_MAX, &n, &d, NULL) == FLINTRT_OK) {
        memcpy(&v, d, 4); /* little-endian host assumed, as the reader does */
        return v;
    }
    return dflt;
}

static flintrt_status init_state(const flt_gguf *g, const flt_qftype *ft, qstate *s, flt_err *e) {
    memset(s, 0, sizeof *s);
    s->ftype = ft->ftype;
    flt_str arch;
    flintrt_status st = flt_gguf_get_str(g, "general.architecture", &arch, e);
    if (st) return st;
    if (arch.n > 64) return flt_fail(e, FLINTRT_ERR_FORMAT, "general.architecture is too long");
    char a[80], key[160];
    memcpy(a, arch.p, arch.n);
    a[arch.n] = '\0';
    uint32_t n_layer, n_head, n_head_kv, n_expert;
    snprintf(key, sizeof key, "%s.block_count", a);
    if ((st = flt_gguf_get_u32(g, key, 0, 1u << 20, &n_layer, e))) return st;
    snprintf(key, sizeof key, "%s.attention.head_count", a);
    n_head = head_count(g, key, 0);
    snprintf(key, sizeof key, "%s.attention.head_count_kv", a);
    n_head_kv = head_count(g, key, n_head);
    snprintf(key, sizeof key, "%s.expert_count", a);
    if ((st = flt_gguf_get_u32_opt(g, key, 0, 0, 1u << 20, &n_expert, e))) return st;
    s->n_layer = (int)n_layer;
    s->n_gqa = n_head_kv ? (int)(n_head / n_head_kv) : 0;
    s->n_expert = (int)n_expert;
    s->falcon = !strcmp(a, "falcon");
    s->is_70b = !strcmp(a, "llama") && n_layer == 80 && n_head != n_head_kv;
    s->tied_embeddings = flt_gguf_find_tensor(g, "output.weight") == NULL;
    return FLINTRT_OK;
}

static char *name_dup(flt_str s) {
    char *p = malloc(s.n + 1);
    if (p) {
        memcpy(p, s.p, s.n);
        p[s.n] = '\0';
    }
    return p;
}

flintrt_status flt_quantize_plan(const flt_gguf *in, const flt_qftype *ft, flt_qplan_entry *out, flt_err *e) {
    if (!in || !ft || !out) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "flt_quantize_plan: NULL argument");
    qstate s;
    flintrt_status st = init_state(in, ft, &s, e);
    if (st) return st;
    uint64_t n = flt_gguf_n_tensors(in);
    sort_item *items = flt_calloc_array(n ? n : 1, sizeof *items);
    if (!items) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory");
    for (uint64_t i = 0; i < n && !st; i++) {
        const flt_gguf_tensor *t = flt_gguf_tensor_at(in, i);
        items[i].idx = i;
        items[i].name = name_dup(t->name);
        if (!items[i].name) st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory");
        else if (strlen(items[i].name) != t->name.n)
            st = flt_fail(e, FLINTRT_ERR_FORMAT, "tensor %" PRIu64 ": name holds a NUL byte", i);
        bool ok;
        items[i].layer = items[i].name ? layer_of(items[i].name, &ok) : -1;
        if (items[i].name && is_attn_v_like(category(items[i].name))) s.n_attn_wv++;
    }
    if (!st) qsort(items, n, sizeof *items, sort_cmp);
    for (uint64_t k = 0; k < n && !st; k++) {
        const flt_gguf_tensor *t = flt_gguf_tensor_at(in, items[k].idx);
        const char *name = items[k].name;
        uint32_t type = t->type;
        bool fell = false;
        if (allows_quantization(name, n_dims_of(t)) && is_quantized(ft->default_type)) {
            st = recipe_type(&s, ft->default_type, t, name, category(name), &type, e);
            if (!st) type = fallback(type, t->ne[0], &fell);
        } else if (allows_quantization(name, n_dims_of(t))) {
            type = ft->default_type;
        }
        out[k] = (flt_qplan_entry){items[k].idx, type, fell};
    }
    for (uint64_t i = 0; i < n; i++) free((void *)items[i].name);
    free(items);
    return st;
}

/* ---- converting one tensor ---- */

typedef struct qjob {
    const flt_gguf_tensor *src;
    const flt_dtype_traits *from; /* NULL when the source is F32 */
    const flt_dtype_traits *to;
    int64_t ncols, nrows;
    size_t src_row, dst_row;
    uint8_t *dst;
    float **scratch;    /* per thread, ncols floats */
    int64_t *bad_row;   /* per thread: first row with a non-finite value, or -1 */
} qjob;

static void qjob_run(void *ctx, int ith, int nth) {
    qjob *j = ctx;
    long long lo, hi;
    flt_split(j->nrows, ith, nth, &lo, &hi);
    j->bad_row[ith] = -1;
    for (long long r = lo; r < hi; r++) {
        const uint8_t *srow = (const uint8_t *)j->src->data + (size_t)r * j->src_row;
        const float *x;
        if (j->from) {
            j->from->to_f32(srow, j->scratch[ith], j->ncols);
            x = j->scratch[ith];
        } else {
            memcpy(j->scratch[ith], srow, (size_t)j->ncols * sizeof(float)); /* alignment-safe */
            x = j->scratch[ith];
        }
        for (int64_t c = 0; c < j->ncols; c++) {
            if (!isfinite(x[c])) {
                j->bad_row[ith] = r;
                return;
            }
        }
        j->to->from_f32(x, j->dst + (size_t)r * j->dst_row, j->ncols);
    }
}

static flintrt_status dtype_for(uint32_t ggml_type, bool need_from, const char *tensor, const flt_dtype_traits **out,
                                flt_err *e) {
    flt_dtype dt;
    const flt_dtype_traits *tr = flt_dtype_from_ggml(ggml_type, &dt) ? flt_dtype_info(dt) : NULL;
    if (!tr || (need_from && !tr->from_f32) || (!need_from && !tr->to_f32))
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "tensor '%s': Flint has no %s for type %s (dtype missing)",
                        tensor, need_from ? "quantizer" : "dequantizer", type_name(ggml_type));
    *out = tr;
    return FLINTRT_OK;
}

static flintrt_status convert(flt_pool *pool, int nth, const flt_gguf_tensor *t, const char *name, uint32_t to_type,
                              bool allow_requantize, uint8_t *dst, float **scratch, int64_t *bad, flt_err *e) {
    qjob j = {.src = t, .dst = dst, .scratch = scratch, .bad_row = bad};
    flintrt_status st;
    if (t->type != G_F32) {
        if (is_quantized(t->type) && !allow_requantize)
            return flt_fail(e, FLINTRT_ERR_UNSUPPORTED,
                            "tensor '%s' is already %s: requantizing is off (--allow-requantize)", name,
                            type_name(t->type));
        if ((st = dtype_for(t->type, false, name, &j.from, e))) return st;
    }
    if ((st = dtype_for(to_type, true, name, &j.to, e))) return st;
    j.ncols = t->ne[0];
    j.nrows = t->ne[1] * t->ne[2] * t->ne[3]; /* the reader checked the product */
    const flt_ggml_type_info *si = flt_ggml_type(t->type), *di = flt_ggml_type(to_type);
    j.src_row = (size_t)(j.ncols / si->block_size) * si->type_size;
    j.dst_row = (size_t)(j.ncols / di->block_size) * di->type_size;
    flt_pool_run(pool, qjob_run, &j);
    for (int i = 0; i < nth; i++) {
        if (bad[i] >= 0)
            return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s': row %" PRId64 " holds a NaN or infinity", name, bad[i]);
    }
    return FLINTRT_OK;
}

/* ---- the file ---- */

static uint64_t tensor_bytes(const flt_gguf_tensor *t, uint32_t type) {
    const flt_ggml_type_info *ti = flt_ggml_type(type);
    uint64_t b = (uint64_t)t->ne[0] / ti->block_size * ti->type_size;
    for (int d = 1; d < FLT_GGUF_MAX_DIMS; d++) b *= (uint64_t)t->ne[d];
    return b;
}

static bool skip_key(flt_str k) {
    static const char *const keys[] = {"general.quantization_version", "general.file_type", "split.no",
                                       "split.count", "split.tensors.count"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (k.n == strlen(keys[i]) && !memcmp(k.p, keys[i], k.n)) return true;
    return false;
}

static flintrt_status check_paths(const char *in, const char *out, bool overwrite, flt_err *e) {
    if (!strcmp(in, out)) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "output '%s' is the input file", out);
    struct stat si, so;
    if (stat(in, &si) != 0) return flt_fail(e, FLINTRT_ERR_IO, "cannot stat '%s': %s", in, strerror(errno));
    if (stat(out, &so) == 0) {
        if (si.st_dev == so.st_dev && si.st_ino == so.st_ino)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "output '%s' is the input file '%s'", out, in);
        if (!overwrite)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "output '%s' exists (allow overwriting to replace it)", out);
        if (!S_ISREG(so.st_mode))
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "output '%s' is not a regular file", out);
    }
    return FLINTRT_OK;
}

/* Move the finished file into place. Without overwrite, link() fails if the name
 * appeared while we worked. */
static flintrt_status publish(const char *tmp, const char *out, bool overwrite, flt_err *e) {
    if (!overwrite) {
        if (link(tmp, out) == 0) {
            unlink(tmp);
            return FLINTRT_OK;
        }
        if (errno == EEXIST) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "output '%s' exists", out);
    }
    if (rename(tmp, out) != 0)
        return flt_fail(e, FLINTRT_ERR_IO, "renaming '%s' to '%s': %s", tmp, out, strerror(errno));
    return FLINTRT_OK;
}

typedef struct qrun {
    flt_gguf *in;
    flt_qplan_entry *plan;
    flt_gguf_writer *w;
    flt_pool *pool;
    float **scratch;
    int64_t *bad;
    uint8_t *buf;
    FILE *f;
    char *tmp;
} qrun;

static void qrun_free(qrun *r, int nth) {
    if (r->f) fclose(r->f);
    if (r->tmp) {
        remove(r->tmp);
        free(r->tmp);
    }
    if (r->scratch)
        for (int i = 0; i < nth; i++) free(r->scratch[i]);
    free(r->scratch);
    free(r->bad);
    free(r->buf);
    flt_pool_free(r->pool);
    flt_gguf_writer_free(r->w);
    free(r->plan);
    flt_gguf_close(r->in);
}

static flintrt_status write_all(qrun *r, const flt_quantize_params *p, uint64_t *n_fallback, flt_err *e) {
    flintrt_status st;
    uint64_t n = flt_gguf_n_tensors(r->in);
    /* metadata: everything in order, then the two keys llama-quantize sets last */
    for (uint64_t i = 0; i < flt_gguf_n_kv(r->in); i++) {
        if (skip_key(flt_gguf_key(r->in, i))) continue;
        if ((st = flt_gguf_copy_kv(r->w, r->in, i)))
            return flt_fail(e, st, "copying metadata key %" PRIu64 " failed", i);
    }
    if ((st = flt_gguf_set_u32(r->w, "general.quantization_version", QUANTIZATION_VERSION)) ||
        (st = flt_gguf_set_u32(r->w, "general.file_type", p->ftype->ftype)))
        return flt_fail(e, st, "setting the file type failed");
    uint64_t max_bytes = 0, max_cols = 1;
    for (uint64_t k = 0; k < n; k++) {
        const flt_gguf_tensor *t = flt_gguf_tensor_at(r->in, r->plan[k].src);
        char *name = name_dup(t->name);
        if (!name) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory");
        uint64_t bytes = tensor_bytes(t, r->plan[k].type);
        st = flt_gguf_add_tensor(r->w, name, r->plan[k].type, n_dims_of(t), t->ne, NULL, bytes);
        if (st) {
            flt_fail(e, st, "tensor '%s': cannot add it as %s", name, type_name(r->plan[k].type));
            free(name);
            return st;
        }
        free(name);
        if (r->plan[k].type != t->type && bytes > max_bytes) max_bytes = bytes;
        if ((uint64_t)t->ne[0] > max_cols) max_cols = (uint64_t)t->ne[0];
        if (r->plan[k].fallback) ++*n_fallback;
    }
    if (max_bytes > SIZE_MAX || max_cols > SIZE_MAX / sizeof(float))
        return flt_fail(e, FLINTRT_ERR_LIMIT, "a tensor is too large for this machine");
    r->buf = malloc(max_bytes ? (size_t)max_bytes : 1);
    if (!r->buf) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory (%" PRIu64 " bytes)", max_bytes);
    int nth = flt_pool_size(r->pool);
    for (int i = 0; i < nth; i++) {
        r->scratch[i] = flt_malloc_array((size_t)max_cols, sizeof(float));
        if (!r->scratch[i]) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory");
    }
    uint64_t align;
    if ((st = flt_gguf_write_head(r->w, r->f, &align, e))) return st;
    static const uint8_t zeros[64];
    for (uint64_t k = 0; k < n; k++) {
        const flt_gguf_tensor *t = flt_gguf_tensor_at(r->in, r->plan[k].src);
        uint32_t to = r->plan[k].type;
        const void *data = t->data;
        uint64_t bytes = tensor_bytes(t, to);
        char name[FLT_GGUF_MAX_NAME_LEN + 1];
        memcpy(name, t->name.p, t->name.n);
        name[t->name.n] = '\0';
        if (to != t->type) {
            st = convert(r->pool, nth, t, name, to, p->allow_requantize, r->buf, r->scratch, r->bad, e);
            if (st) return st;
            data = r->buf;
        }
        uint64_t padded;
        if (!flt_align_up_u64(bytes, align, &padded)) return flt_fail(e, FLINTRT_ERR_LIMIT, "tensor too large");
        if ((bytes && fwrite(data, 1, (size_t)bytes, r->f) != bytes) ||
            (padded > bytes && fwrite(zeros, 1, (size_t)(padded - bytes), r->f) != padded - bytes))
            return flt_fail(e, FLINTRT_ERR_IO, "writing '%s': %s", r->tmp, strerror(errno));
        if (p->progress) p->progress(p->progress_user, k + 1, n, name, to);
    }
    return FLINTRT_OK;
}

flintrt_status flt_quantize_file(const char *in_path, const char *out_path, const flt_quantize_params *p,
                                 uint64_t *n_fallback_out, flt_err *e) {
    if (!in_path || !out_path || !*out_path || !p || !p->ftype || p->n_threads < 1)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "flt_quantize_file: bad argument");
    if (n_fallback_out) *n_fallback_out = 0;
    flintrt_status st = check_paths(in_path, out_path, p->overwrite, e);
    if (st) return st;
    qrun r = {0};
    int nth = p->n_threads;
    uint64_t n_fallback = 0;
    if ((st = flt_gguf_open(in_path, &r.in, e))) return st;
    uint64_t n = flt_gguf_n_tensors(r.in);
    r.plan = flt_calloc_array(n ? n : 1, sizeof *r.plan);
    r.w = flt_gguf_writer_new();
    r.scratch = flt_calloc_array((size_t)nth, sizeof *r.scratch);
    r.bad = flt_calloc_array((size_t)nth, sizeof *r.bad);
    size_t tn = strlen(out_path) + 32;
    r.tmp = malloc(tn);
    if (!r.plan || !r.w || !r.scratch || !r.bad || !r.tmp) {
        free(r.tmp);
        r.tmp = NULL;
        qrun_free(&r, nth);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory");
    }
    snprintf(r.tmp, tn, "%s.tmp.%ld", out_path, (long)getpid());
    if ((st = flt_quantize_plan(r.in, p->ftype, r.plan, e)) || (st = flt_pool_new(nth, &r.pool, e))) {
        free(r.tmp);
        r.tmp = NULL;
        qrun_free(&r, nth);
        return st;
    }
    r.f = fopen(r.tmp, "wb");
    if (!r.f) {
        st = flt_fail(e, FLINTRT_ERR_IO, "cannot create '%s': %s", r.tmp, strerror(errno));
        free(r.tmp);
        r.tmp = NULL;
        qrun_free(&r, nth);
        return st;
    }
    st = write_all(&r, p, &n_fallback, e);
    if (!st) {
        bool ok = fflush(r.f) == 0 && fsync(fileno(r.f)) == 0;
        ok = (fclose(r.f) == 0) && ok;
        r.f = NULL;
        if (!ok) st = flt_fail(e, FLINTRT_ERR_IO, "writing '%s': %s", r.tmp, strerror(errno));
    }
    if (!st) st = publish(r.tmp, out_path, p->overwrite, e);
    if (!st && n_fallback_out) *n_fallback_out = n_fallback;
    qrun_free(&r, nth); /* removes the temporary file (gone already after a publish) */
    return st;
}
