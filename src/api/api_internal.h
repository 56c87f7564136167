/* What the public handles hold, shared by the files under src/api/. */
#ifndef FLT_API_INTERNAL_H
#define FLT_API_INTERNAL_H

#include "core/error.h"
#include "core/threadpool.h"
#include "cpu/kernels.h"
#include "formats/gguf.h"
#include "graph/graph.h"
#include "graph/plan.h"
#include "llm/llama.h"
#include "llm/sampler.h"
#include "text/vocab.h"
#include "formats/mmap.h"
#include "trust/policy.h"

struct flintrt_model {
    flt_gguf *gguf;
    flt_vocab *vocab;
    flt_llama *llama; /* NULL for vocab-only loads */
    flintrt_log_fn log;
    void *log_user;
    flt_mapped_file map;  /* with a trust policy: the bytes that were verified and then parsed */
    char *file_name;      /* the file's name in its folder (manifest name) */
    flt_trust_result trust;
};

/* Test hooks for flt_model_load_ex (tests link the static library): on_parse runs
 * just before the first parser (GGUF) receives the file's bytes. */
typedef struct flt_load_hooks {
    void (*on_parse)(void *user);
    void *user;
} flt_load_hooks;

/* flintrt_model_load with optional hooks (NULL: none). */
flintrt_status flt_model_load_ex(const char *path, const flintrt_model_options *opts,
                                 const flt_load_hooks *hooks, flintrt_model **out);
/* flintrt_graph_model_load with optional hooks (on_parse: just before the
 * protobuf parser receives the .onnx bytes). */
flintrt_status flt_graph_model_load_ex(const char *path, const flintrt_model_options *opts,
                                       const flt_load_hooks *hooks, flintrt_graph_model **out);

struct flintrt_session {
    const flintrt_model *model;
    flt_pool *pool;
    const flt_kernels *kernels;
    flt_llama_cache cache;
    void *kv_mem;         /* the KV cache, F16 or F32 */
    flt_graph graph;
    flt_graph_exec exec;  /* the executor's schedule buffers, reused per batch */
    /* The memory plan of the last batch shape (n tokens, all logits or not):
     * a graph of the same shape has the same planned values, so generation
     * plans once and then only rebinds. */
    size_t *plan_off;
    int plan_values, plan_cap;
    int32_t plan_n;
    bool plan_all;
    size_t plan_need;
    void *arena;
    size_t arena_cap;
    int32_t *ids, *pos;   /* one batch */
    int32_t n_batch, n_ctx, n_past;
    int32_t *history;     /* the tokens in the cache, for the repeat penalty */
    float *logits;        /* n_vocab: after the last evaluated token */
    bool has_logits;
    flt_sampler *sampler;
    flt_rng rng;
};

/* Copy e's message into this thread's last-error slot and return its status. */
flintrt_status flt_api_report(const flt_err *e);
flintrt_status flt_api_fail(flintrt_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void flt_api_log(const flintrt_model *m, flintrt_log_level lvl, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
