/* Sessions: KV cache, batched evaluation, sampling, generation. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "core/checked.h"
#include "graph/plan.h"

#define FLT_DEFAULT_CTX_CAP 4096
#define FLT_DEFAULT_BATCH 512

FLINTRT_API void flintrt_session_options_init(flintrt_session_options *opts) {
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

static int default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

FLINTRT_API flintrt_status flintrt_session_create(const flintrt_model *model,
                                                  const flintrt_session_options *opts,
                                                  flintrt_session **out) {
    if (!model || !out) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "session_create: model and out are required");
    *out = NULL;
    if (!model->llama)
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "session_create: the model was loaded vocab-only");
    flintrt_session_options o;
    flintrt_session_options_init(&o);
    if (opts) {
        if (opts->size < offsetof(flintrt_session_options, n_ctx))
            return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "session options: size not set (call flintrt_session_options_init)");
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    }
    const flt_llama_hparams *hp = &model->llama->hp;
    if (o.n_ctx < 0 || o.n_threads < 0 || o.n_batch < 0 || o.n_threads > 1024)
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "session options: negative n_ctx, n_threads or n_batch");
    if (o.kv_type < FLINTRT_KV_DEFAULT || o.kv_type > FLINTRT_KV_F16)
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "session options: unknown kv_type %d", (int)o.kv_type);
    flt_dtype kv_dt = o.kv_type == FLINTRT_KV_F32 ? FLT_F32 : FLT_F16;
    size_t kv_elem = kv_dt == FLT_F32 ? sizeof(float) : sizeof(uint16_t);
    int32_t n_ctx = o.n_ctx ? o.n_ctx : (hp->n_ctx_train < FLT_DEFAULT_CTX_CAP ? hp->n_ctx_train : FLT_DEFAULT_CTX_CAP);
    int32_t n_batch = o.n_batch ? o.n_batch : FLT_DEFAULT_BATCH;
    if (n_batch > n_ctx) n_batch = n_ctx;

    flt_err e;
    flt_err_clear(&e);
    flintrt_session *s = calloc(1, sizeof *s);
    if (!s) return flt_api_fail(FLINTRT_ERR_OUT_OF_MEMORY, "session");
    s->model = model;
    s->n_ctx = n_ctx;
    s->n_batch = n_batch;
    s->kernels = flt_kernels_default();
    flt_graph_init(&s->graph);
    flt_graph_exec_init(&s->exec);
    flt_rng_seed(&s->rng, o.seed);

    /* KV cache: n_layer × 2 × n_ctx × n_kv_dim elements, checked before allocating. */
    size_t dkv = (size_t)hp->n_head_kv * (size_t)hp->head_dim, per, total;
    if (!flt_mul_size(dkv, (size_t)n_ctx, &per) || !flt_mul_size(per, kv_elem, &per) ||
        !flt_mul_size(per, 2 * (size_t)hp->n_layer, &total)) {
        flt_fail(&e, FLINTRT_ERR_LIMIT, "KV cache for %d tokens overflows", n_ctx);
        goto fail;
    }
    /* Refuse up front what the machine cannot hold, rather than asking the
     * allocator for terabytes. */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && total / (size_t)page > (size_t)pages) {
        flt_fail(&e, FLINTRT_ERR_LIMIT, "a KV cache of %d tokens needs %zu MiB, more than this machine's %zu MiB of memory",
                 n_ctx, total >> 20, ((size_t)pages * (size_t)page) >> 20);
        goto fail;
    }
    s->kv_mem = calloc(1, total ? total : 1);
    s->cache.k = flt_calloc_array((size_t)hp->n_layer, sizeof(flt_tensor));
    s->cache.v = flt_calloc_array((size_t)hp->n_layer, sizeof(flt_tensor));
    s->ids = flt_malloc_array((size_t)n_batch, sizeof(int32_t));
    s->pos = flt_malloc_array((size_t)n_batch, sizeof(int32_t));
    s->history = flt_malloc_array((size_t)n_ctx, sizeof(int32_t));
    s->logits = flt_malloc_array((size_t)hp->n_vocab, sizeof(float));
    if (!s->kv_mem || !s->cache.k || !s->cache.v || !s->ids || !s->pos || !s->history || !s->logits) {
        flt_fail(&e, FLINTRT_ERR_OUT_OF_MEMORY, "session buffers (KV cache %zu bytes for %d tokens)", total, n_ctx);
        goto fail;
    }
    s->cache.n_ctx = n_ctx;
    for (int32_t l = 0; l < hp->n_layer; l++) {
        int64_t shape[2] = {n_ctx, (int64_t)dkv};
        flt_tensor_init(&s->cache.k[l], kv_dt, 2, shape, (char *)s->kv_mem + (size_t)(2 * l) * per, &e);
        flt_tensor_init(&s->cache.v[l], kv_dt, 2, shape, (char *)s->kv_mem + (size_t)(2 * l + 1) * per, &e);
    }
    if (flt_sampler_new(hp->n_vocab, &s->sampler, &e)) goto fail;
    if (flt_pool_new(o.n_threads ? o.n_threads : default_threads(), &s->pool, &e)) goto fail;
    *out = s;
    return FLINTRT_OK;
fail:
    flintrt_session_free(s);
    return flt_api_report(&e);
}

FLINTRT_API void flintrt_session_free(flintrt_session *s) {
    if (!s) return;
    flt_pool_free(s->pool);
    flt_sampler_free(s->sampler);
    flt_graph_free(&s->graph);
    flt_graph_exec_free(&s->exec);
    free(s->plan_off);
    free(s->arena);
    free(s->kv_mem);
    free(s->cache.k);
    free(s->cache.v);
    free(s->ids);
    free(s->pos);
    free(s->history);
    free(s->logits);
    free(s);
}

FLINTRT_API void flintrt_session_reset(flintrt_session *s, uint64_t seed) {
    if (!s) return;
    s->n_past = 0;
    s->has_logits = false;
    flt_rng_seed(&s->rng, seed);
}

FLINTRT_API int32_t flintrt_session_n_past(const flintrt_session *s) { return s ? s->n_past : 0; }
FLINTRT_API int32_t flintrt_session_n_ctx(const flintrt_session *s) { return s ? s->n_ctx : 0; }

FLINTRT_API const float *flintrt_session_logits(const flintrt_session *s) {
    return s && s->has_logits ? s->logits : NULL;
}

/* Evaluate one batch of n <= n_batch tokens already in s->ids. */
static flintrt_status eval_batch(flintrt_session *s, int32_t n, float *all_logits, flt_err *e) {
    const flt_llama *m = s->model->llama;
    int32_t nv = m->hp.n_vocab;
    for (int32_t i = 0; i < n; i++) s->pos[i] = s->n_past + i;
    flt_tensor ids, pos;
    flt_tensor_init(&ids, FLT_I32, 1, (int64_t[]){n}, s->ids, e);
    flt_tensor_init(&pos, FLT_I32, 1, (int64_t[]){n}, s->pos, e);
    flt_graph_reset(&s->graph);
    int logits = flt_llama_build(&s->graph, m, &s->cache, &ids, &pos, s->n_past, all_logits != NULL);
    if (logits < 0) {
        *e = s->graph.err;
        return e->status;
    }
    size_t need;
    flt_graph *g = &s->graph;
    bool all = all_logits != NULL;
    if (s->plan_off && s->plan_n == n && s->plan_all == all && s->plan_values == g->n_values) {
        for (int i = 0; i < g->n_values; i++) g->values[i].offset = s->plan_off[i];
        need = s->plan_need;
    } else {
        flintrt_status st = flt_graph_plan(g, &need, e);
        if (st) return st;
        if (g->n_values > s->plan_cap) {
            size_t *po = flt_malloc_array((size_t)g->n_values, sizeof *po);
            if (!po) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "memory plan");
            free(s->plan_off);
            s->plan_off = po;
            s->plan_cap = g->n_values;
        }
        for (int i = 0; i < g->n_values; i++) s->plan_off[i] = g->values[i].offset;
        s->plan_values = g->n_values;
        s->plan_n = n;
        s->plan_all = all;
        s->plan_need = need;
    }
    if (need > s->arena_cap) {
        void *a = NULL;
        if (posix_memalign(&a, FLT_ARENA_ALIGN, need)) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "scratch arena of %zu bytes", need);
        free(s->arena);
        s->arena = a;
        s->arena_cap = need;
    }
    flt_graph_bind(&s->graph, s->arena);
    flintrt_status st = flt_graph_run_exec(&s->graph, s->pool, s->kernels, &s->exec, e);
    if (st) return st;
    const float *lg = s->graph.values[logits].t.data;
    if (all_logits) memcpy(all_logits, lg, (size_t)n * (size_t)nv * sizeof(float));
    memcpy(s->logits, lg + (all_logits ? (size_t)(n - 1) * (size_t)nv : 0), (size_t)nv * sizeof(float));
    memcpy(s->history + s->n_past, s->ids, (size_t)n * sizeof(int32_t));
    s->n_past += n;
    s->has_logits = true;
    return FLINTRT_OK;
}

FLINTRT_API flintrt_status flintrt_session_eval(flintrt_session *s, const flintrt_token *tokens,
                                                size_t n_tokens, float *all_logits,
                                                size_t all_logits_len) {
    if (!s || (!tokens && n_tokens))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "session_eval: session and tokens are required");
    if (n_tokens == 0) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "session_eval: no tokens");
    int32_t nv = s->model->llama->hp.n_vocab;
    if (n_tokens > (size_t)(s->n_ctx - s->n_past))
        return flt_api_fail(FLINTRT_ERR_LIMIT, "context full: %zu tokens after %d would exceed the context of %d",
                            n_tokens, s->n_past, s->n_ctx);
    size_t need;
    if (all_logits && (!flt_mul_size(n_tokens, (size_t)nv, &need) || all_logits_len < need))
        return flt_api_fail(FLINTRT_ERR_BUFFER_TOO_SMALL, "session_eval: all_logits holds %zu floats, %zu needed",
                            all_logits_len, n_tokens * (size_t)nv);
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= nv)
            return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "session_eval: token %zu is id %d, outside the vocabulary of %d",
                                i, (int)tokens[i], nv);
    flt_err e;
    flt_err_clear(&e);
    for (size_t off = 0; off < n_tokens;) {
        int32_t n = (int32_t)(n_tokens - off < (size_t)s->n_batch ? n_tokens - off : (size_t)s->n_batch);
        memcpy(s->ids, tokens + off, (size_t)n * sizeof(int32_t));
        flintrt_status st = eval_batch(s, n, all_logits ? all_logits + off * (size_t)nv : NULL, &e);
        if (st) return flt_api_report(&e);
        off += (size_t)n;
    }
    return FLINTRT_OK;
}

FLINTRT_API void flintrt_sampler_params_init(flintrt_sampler_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->size = sizeof *p;
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
}

static flintrt_status sampler_params(const flintrt_sampler_params *in, flintrt_sampler_params *out) {
    flintrt_sampler_params_init(out);
    if (!in) return FLINTRT_OK;
    if (in->size < offsetof(flintrt_sampler_params, temperature) + sizeof(float))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "sampler params: size not set (call flintrt_sampler_params_init)");
    memcpy(out, in, in->size < sizeof *out ? in->size : sizeof *out);
    return FLINTRT_OK;
}

FLINTRT_API flintrt_status flintrt_session_sample(flintrt_session *s, const flintrt_sampler_params *params,
                                                  flintrt_token *out) {
    if (!s || !out) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "session_sample: session and out are required");
    if (!s->has_logits) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "session_sample: nothing evaluated yet");
    flintrt_sampler_params p;
    flintrt_status st = sampler_params(params, &p);
    if (st) return st;
    size_t n_recent = p.repeat_last_n > 0 ? (size_t)p.repeat_last_n : 0;
    if (n_recent > (size_t)s->n_past) n_recent = (size_t)s->n_past;
    flt_err e;
    flt_err_clear(&e);
    int32_t tok;
    st = flt_sampler_sample(s->sampler, s->logits, &p, s->history + s->n_past - n_recent, n_recent, &s->rng, &tok, &e);
    if (st) return flt_api_report(&e);
    *out = tok;
    return FLINTRT_OK;
}

FLINTRT_API void flintrt_generate_params_init(flintrt_generate_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->size = sizeof *p;
    p->max_tokens = 128;
    p->add_bos = 1;
    p->stop_at_eos = 1;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A token's text in buf, or in *big (malloc'd) when it does not fit; length returned
 * (0 if it could not be rendered). */
static size_t piece_of(const flintrt_model *m, flintrt_token tok, char *buf, size_t cap, char **big) {
    size_t n = 0;
    flt_err e;
    flintrt_status st = flt_vocab_token_to_piece(m->vocab, tok, 0, buf, cap, &n, &e);
    if (st == FLINTRT_OK) return n;
    if (st != FLINTRT_ERR_BUFFER_TOO_SMALL || !(*big = malloc(n))) return 0;
    if (flt_vocab_token_to_piece(m->vocab, tok, 0, *big, n, &n, &e) == FLINTRT_OK) return n;
    free(*big);
    *big = NULL;
    return 0;
}

FLINTRT_API flintrt_status flintrt_generate(flintrt_session *s, const char *prompt,
                                            const flintrt_generate_params *params,
                                            flintrt_generate_stats *stats) {
    if (!s || !prompt) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "generate: session and prompt are required");
    flintrt_generate_params gp;
    flintrt_generate_params_init(&gp);
    if (params) {
        if (params->size < offsetof(flintrt_generate_params, max_tokens) + sizeof(int32_t))
            return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "generate params: size not set (call flintrt_generate_params_init)");
        memcpy(&gp, params, params->size < sizeof gp ? params->size : sizeof gp);
    }
    if (gp.max_tokens < 0) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "generate: max_tokens %d < 0", gp.max_tokens);
    flintrt_generate_stats st_local;
    memset(&st_local, 0, sizeof st_local);
    const flintrt_model *m = s->model;

    size_t plen = strlen(prompt), n_prompt = 0;
    uint32_t flags = gp.add_bos ? FLINTRT_TOKENIZE_ADD_BOS : 0;
    flintrt_status st = flintrt_tokenize(m, prompt, plen, flags, NULL, 0, &n_prompt);
    if (st != FLINTRT_OK && st != FLINTRT_ERR_BUFFER_TOO_SMALL) return st;
    if (n_prompt == 0) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "generate: the prompt has no tokens");
    if (n_prompt > (size_t)(s->n_ctx - s->n_past))
        return flt_api_fail(FLINTRT_ERR_LIMIT, "prompt of %zu tokens does not fit the context (%d of %d used)",
                            n_prompt, s->n_past, s->n_ctx);
    flintrt_token *toks = flt_malloc_array(n_prompt, sizeof *toks);
    if (!toks) return flt_api_fail(FLINTRT_ERR_OUT_OF_MEMORY, "prompt tokens");
    st = flintrt_tokenize(m, prompt, plen, flags, toks, n_prompt, &n_prompt);
    double t0 = now_seconds();
    if (!st) st = flintrt_session_eval(s, toks, n_prompt, NULL, 0);
    free(toks);
    if (st) return st;
    double t1 = now_seconds();
    st_local.n_prompt_tokens = (int32_t)n_prompt;
    st_local.prompt_seconds = t1 - t0;
    st_local.stop_reason = FLINTRT_STOP_LENGTH;

    char piece[256];
    for (int32_t i = 0; i < gp.max_tokens; i++) {
        flintrt_token tok;
        if ((st = flintrt_session_sample(s, gp.sampling, &tok))) break;
        if (gp.stop_at_eos && flt_vocab_is_eog(m->vocab, tok)) {
            st_local.stop_reason = FLINTRT_STOP_EOS;
            break;
        }
        st_local.n_generated++;
        if (gp.on_token) {
            char *big = NULL;
            size_t n = piece_of(m, tok, piece, sizeof piece, &big);
            int stop = gp.on_token(tok, big ? big : piece, n, gp.user);
            free(big);
            if (stop) {
                st_local.stop_reason = FLINTRT_STOP_CANCELLED;
                break;
            }
        }
        if (s->n_past >= s->n_ctx) {
            st_local.stop_reason = FLINTRT_STOP_CONTEXT;
            break;
        }
        /* The sampled token is evaluated even when it is the last one, so the
         * session always holds the whole text and a later call continues it. */
        if ((st = flintrt_session_eval(s, &tok, 1, NULL, 0))) break;
    }
    st_local.generate_seconds = now_seconds() - t1;
    if (stats && stats->size >= sizeof(size_t)) {
        size_t sz = stats->size < sizeof st_local ? stats->size : sizeof st_local;
        st_local.size = stats->size;
        memcpy(stats, &st_local, sz);
    }
    return st;
}
