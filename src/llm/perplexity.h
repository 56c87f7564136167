/* Perplexity and KL divergence, measured the way llama.cpp's llama-perplexity does
 * so that the numbers compare directly: the text is tokenized once (with BOS), cut
 * into chunks of n_ctx tokens (the remainder is dropped), the first token of each
 * chunk is replaced by BOS, each chunk is evaluated from an empty cache, and only
 * the second half is scored: the logits at positions n_ctx/2 .. n_ctx-2 predict the
 * tokens at n_ctx/2+1 .. n_ctx-1. PPL = exp(mean NLL); its ± is the standard error
 * of the mean NLL times PPL.
 *
 * KL base file (--save-logits / --kl-base), version 1, all little-endian:
 *
 *   offset  bytes                      field
 *   0       8                          magic "FLTKLD\0\1"
 *   8       4                          u32 version = 1
 *   12      4                          u32 n_vocab     (1 .. 2^24)
 *   16      4                          u32 n_ctx       (4 .. 2^20), tokens per chunk
 *   20      4                          u32 n_chunks    (1 .. 2^20)
 *   24      4                          u32 n_scored    = n_ctx - 1 - n_ctx/2
 *   28      4                          u32 reserved    = 0
 *   32      4 * n_chunks * n_ctx       i32 token ids, chunk after chunk, as the text
 *                                      tokenized (before a chunk's first id becomes BOS)
 *   ...     4 * n_chunks * n_scored * n_vocab
 *                                      f32 natural-log probabilities of the base model,
 *                                      one row of n_vocab per scored position
 *
 * The file is exactly that long. The reader is a parser of hostile input: every
 * size is checked against the header and the file size before use, token ids must
 * lie in [0, n_vocab), log-probabilities must be finite, <= 0 (up to rounding) and
 * each row must sum to 1 (up to rounding). */
#ifndef FLT_LLM_PERPLEXITY_H
#define FLT_LLM_PERPLEXITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define FLT_KLD_MAGIC "FLTKLD\0\1"
#define FLT_KLD_VERSION 1u
#define FLT_KLD_HEADER_BYTES 32u
#define FLT_KLD_MAX_VOCAB (1u << 24)
#define FLT_KLD_MAX_CTX (1u << 20)
#define FLT_KLD_MAX_CHUNKS (1u << 20)

/* A validated view of a KL base file held in memory (not copied: the buffer must
 * outlive the view). */
typedef struct flt_kldbase {
    uint32_t n_vocab, n_ctx, n_chunks, n_scored;
    const uint8_t *tokens; /* n_chunks * n_ctx little-endian i32 */
    const uint8_t *logp;   /* n_chunks * n_scored * n_vocab little-endian f32 */
} flt_kldbase;

/* Validate size bytes at data as a KL base file. FLINTRT_ERR_FORMAT naming the
 * field and offset on any defect. Thread-safe. */
flintrt_status flt_kldbase_parse(const void *data, size_t size, flt_kldbase *out, flt_err *e);
int32_t flt_kldbase_token(const flt_kldbase *b, size_t i);
/* Row k (0 .. n_scored-1) of chunk c into out (n_vocab floats). */
void flt_kldbase_row(const flt_kldbase *b, size_t c, size_t k, float *out);

typedef struct flt_ppl_params {
    int32_t n_ctx;            /* tokens per chunk, >= 4; the session must hold that many */
    int32_t n_chunks;         /* <= 0: as many as the tokens fill */
    FILE *save;               /* non-NULL: write a KL base file here */
    const flt_kldbase *base;  /* non-NULL: KL divergence against it (its n_ctx and chunks) */
    /* Optional: called after each chunk with chunks done, total, and the PPL so far. */
    void (*progress)(void *user, int32_t done, int32_t total, double ppl);
    void *progress_user;
} flt_ppl_params;

typedef struct flt_ppl_result {
    int32_t n_ctx, n_chunks;
    int64_t count;                 /* scored positions */
    double nll, ppl, ppl_err;      /* mean NLL, exp(mean NLL), ± as llama-perplexity */
    /* with a base: */
    bool has_kld;
    double ppl_base, ppl_base_err;
    double kld_mean, kld_err, kld_median, kld_p99, kld_max, kld_min;
    double same_top, same_top_err; /* fraction of positions where both argmaxes agree */
} flt_ppl_result;

/* Measure over tokens[0 .. n_tokens) (the text tokenized with BOS; in KL mode the
 * base file's tokens, which must be identical). Evaluates through the public API
 * on session (created from model, n_ctx >= p->n_ctx). Needs 2 * n_ctx tokens
 * (FLINTRT_ERR_INVALID_ARGUMENT otherwise, as llama-perplexity). */
flintrt_status flt_ppl_run(const flintrt_model *model, flintrt_session *session, const flintrt_token *tokens,
                           size_t n_tokens, const flt_ppl_params *p, flt_ppl_result *r, flt_err *e);

#endif
