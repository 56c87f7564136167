/* Synthetic Llama-architecture models: a GGUF file with random weights drawn
 * from a fixed seed, written with Flint's own GGUF writer. They exist so that a
 * fresh machine (no downloads, no third-party weights) can run the whole
 * pipeline, and so benchmarks have models of realistic shapes.
 *
 * Determinism: the bytes of the file depend only on the parameters (shape,
 * type, seed, vocab). Weights come from integer arithmetic on flt_rng draws
 * plus IEEE float multiplies, so no libm function is involved and files match
 * across machines. Each tensor draws from its own stream, seeded from the seed
 * and the tensor's name: files of different types from one seed hold the same
 * model at different precisions. */
#ifndef FLT_LLM_SYNTH_H
#define FLT_LLM_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dtype.h"
#include "core/error.h"
#include "formats/gguf.h"

#define FLT_SYNTH_DEFAULT_SEED 20261127u

typedef struct flt_synth_params {
    /* Shape. n_embd % n_head == 0, n_head % n_head_kv == 0, head_dim even; for
     * block-quantized types n_embd and n_ff must be multiples of the block. */
    int32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    float rope_base, norm_eps;
    flt_dtype type;     /* F32, F16, BF16, Q8_0 or Q4_0: every 2-D weight; norms stay F32 */
    uint64_t seed;
    /* NULL: the built-in SentencePiece vocab. Else every tokenizer.* key of this
     * file is copied (borrowed for the call only); it must hold a vocab Flint loads. */
    const flt_gguf *vocab;
    const char *name;   /* general.name (the CLI passes "flint-synth-<shape>"); NULL: "flint-synth" */
    /* Optional progress report, called from the writing thread with bytes of
     * tensor data produced so far and the total. Must not fail. */
    void (*progress)(void *user, uint64_t done, uint64_t total);
    void *progress_user;
} flt_synth_params;

/* Fill *p with a named preset ("tiny", "135m", "1b"), type F32, the default
 * seed, no vocab file. False (p untouched) for an unknown name. */
bool flt_synth_preset(const char *shape, flt_synth_params *p);

/* Write the model to `path` (created or truncated; removed again on failure).
 * Invalid parameters → FLINTRT_ERR_INVALID_ARGUMENT naming the field. */
flintrt_status flt_synth_llama(const flt_synth_params *p, const char *path, flt_err *e);

/* Bytes of tensor data the model will hold (for progress and messages), 0 if
 * the parameters are invalid. n_vocab: the vocab size to plan for. */
uint64_t flt_synth_data_bytes(const flt_synth_params *p, int64_t n_vocab);

/* Size of the built-in vocab (tokens). */
int32_t flt_synth_builtin_vocab_size(void);

#endif
