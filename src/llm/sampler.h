/* Token sampling: a seeded RNG and the llama.cpp-style default chain
 *   repetition penalty → top-k → top-p → min-p → temperature → softmax → draw.
 *
 * Ordering: candidates are ranked by (logit descending, token id ascending), a total
 * order, so every filter keeps a prefix of the same ranking and results never depend
 * on sort stability. top-p and min-p look at the softmax of the penalised logits at
 * temperature 1 (as llama.cpp, whose temperature stage comes after them).
 *
 * No global state: the RNG state is passed in, the scratch lives in flt_sampler.
 * A sampler is used by one thread at a time; flt_sampler_sample allocates nothing.
 */
#ifndef FLT_LLM_SAMPLER_H
#define FLT_LLM_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "flintrt.h"

/* xoshiro256** seeded through splitmix64. */
typedef struct flt_rng {
    uint64_t s[4];
} flt_rng;

void flt_rng_seed(flt_rng *r, uint64_t seed);
uint64_t flt_rng_next(flt_rng *r);
/* Uniform in [0,1) built from the top 53 bits of one draw. */
double flt_rng_uniform(flt_rng *r);

typedef struct flt_sampler flt_sampler;

/* Scratch for n_vocab candidates (n_vocab >= 1). *out is owned by the caller. */
flintrt_status flt_sampler_new(int32_t n_vocab, flt_sampler **out, flt_err *e);
/* NULL is a no-op. */
void flt_sampler_free(flt_sampler *s);

/* Pick one token.
 * logits: n_vocab floats, read only; NaN or +inf is refused, -inf means "never".
 * p: parameters (p->size must be at least sizeof(flintrt_sampler_params)); ranges:
 *    temperature finite (<= 0: greedy argmax of the penalised logits, ties → lowest id),
 *    top_k any (<= 0 or >= n_vocab: off), top_p finite and > 0 (>= 1: off),
 *    min_p finite and <= 1 (<= 0: off), repeat_penalty finite and > 0 (1: off),
 *    repeat_last_n >= 0 (0: off).
 * recent/n_recent: the sequence so far (or its tail); the penalty looks at the last
 *    repeat_last_n of them, each distinct token once; ids must be in [0, n_vocab).
 * rng: advanced by exactly one draw when sampling, untouched when greedy.
 * Failures: FLINTRT_ERR_INVALID_ARGUMENT naming the parameter; *out is then untouched. */
flintrt_status flt_sampler_sample(flt_sampler *s, const float *logits, const flintrt_sampler_params *p,
                                  const int32_t *recent, size_t n_recent, flt_rng *rng, int32_t *out,
                                  flt_err *e);

#endif
