/* The `llama` architecture (Llama 1/2/3 style) as found in GGUF files: its
 * hyperparameters and weights, validated at load, and the graph of one batch. */
#ifndef FLT_LLM_LLAMA_H
#define FLT_LLM_LLAMA_H

#include "core/tensor.h"
#include "formats/gguf.h"
#include "cpu/kernels.h"
#include "graph/graph.h"

#define FLT_LLAMA_MAX_LAYERS 1024

typedef struct flt_llama_hparams {
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_rot;
    float norm_eps, rope_base, rope_scale;
} flt_llama_hparams;

typedef struct flt_llama_layer {
    flt_tensor attn_norm, wq, wk, wv, wo;
    flt_tensor ffn_norm, w_gate, w_up, w_down;
} flt_llama_layer;

typedef struct flt_llama {
    flt_llama_hparams hp;
    flt_tensor tok_embd, out_norm, output;
    flt_tensor rope_freqs;
    bool has_rope_freqs;
    flt_llama_layer *layers;
    uint64_t n_params;
    uint64_t weight_bytes;    /* all tensor data */
    uint64_t bytes_per_token; /* what one decoded token reads */
    void *packed;             /* the repacked matrices (flt_llama_pack), one mapping */
    size_t packed_bytes;
} flt_llama;

/* Read hyperparameters (typed, range-checked, then checked against each other)
 * and bind every weight to its place in the mapping, checking its shape and
 * type. The tensors borrow from g, which must outlive the model. */
flintrt_status flt_llama_load(const flt_gguf *g, flt_llama **out, flt_err *e);
void flt_llama_free(flt_llama *m);
/* Repack every matrix kernel set k has a packed layout for (cpu/packed.h) into
 * one mapping the model owns; the tensors then carry the packed copy. With
 * release_plain, the pages of the plain bytes are returned to the OS after
 * packing (only for weights in a read-only file mapping). Call once, before
 * any session exists. */
flintrt_status flt_llama_pack(flt_llama *m, const flt_kernels *k, bool release_plain, flt_err *e);

/* The per-layer KV cache a session owns: F16 or F32 [n_ctx, n_head_kv * head_dim]. */
typedef struct flt_llama_cache {
    flt_tensor *k, *v; /* n_layer each */
    int32_t n_ctx;
} flt_llama_cache;

/* Append the graph of one batch to g: ids and pos are I32 [n] externals.
 * Returns the logits value: F32 [n, n_vocab] if all_logits, else [1, n_vocab]
 * for the last token. */
int flt_llama_build(flt_graph *g, const flt_llama *m, const flt_llama_cache *cache,
                    const flt_tensor *ids, const flt_tensor *pos, int32_t n_past, bool all_logits);

/* A GGUF tensor as a Flint tensor (dims reversed to row-major order). Fails
 * naming the tensor if its type is one Flint cannot compute with. */
flintrt_status flt_tensor_from_gguf(const flt_gguf_tensor *gt, flt_tensor *out, flt_err *e);

#endif
