/* libFuzzer harness for the KL base reader (flint perplexity --kl-base): parse
 * the input; whatever parses must be exactly as long as its header says, hold
 * token ids inside the vocabulary and rows of finite log-probabilities that sum
 * to about 1.
 *
 * Convention (see tests/test_fuzz_replay.c): the body is flt_fuzz_kldbase(); the
 * libFuzzer entry point is compiled unless FLT_FUZZ_NO_MAIN is defined. Helpers
 * are static and prefixed fz_kldbase_. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm/perplexity.h"

int flt_fuzz_kldbase(const uint8_t *data, size_t size);

static void fz_kldbase_require(int ok) {
    if (!ok) __builtin_trap();
}

int flt_fuzz_kldbase(const uint8_t *data, size_t size) {
    flt_kldbase b;
    flt_err e;
    if (flt_kldbase_parse(data, size, &b, &e) != FLINTRT_OK) {
        fz_kldbase_require(e.status == FLINTRT_ERR_FORMAT && e.msg[0] != '\0');
        return 0;
    }
    uint64_t n_tok = (uint64_t)b.n_chunks * b.n_ctx;
    uint64_t n_rows = (uint64_t)b.n_chunks * b.n_scored;
    fz_kldbase_require(b.n_scored == b.n_ctx - 1 - b.n_ctx / 2);
    fz_kldbase_require(FLT_KLD_HEADER_BYTES + 4 * n_tok + 4 * n_rows * b.n_vocab == (uint64_t)size);
    for (uint64_t i = 0; i < n_tok; i++) {
        int32_t t = flt_kldbase_token(&b, (size_t)i);
        fz_kldbase_require(t >= 0 && (uint32_t)t < b.n_vocab);
    }
    float *row = malloc((size_t)b.n_vocab * sizeof *row);
    if (!row) return 0;
    for (uint32_t c = 0; c < b.n_chunks; c++)
        for (uint32_t k = 0; k < b.n_scored; k++) {
            flt_kldbase_row(&b, c, k, row);
            double sum = 0;
            for (uint32_t i = 0; i < b.n_vocab; i++) {
                fz_kldbase_require(isfinite(row[i]));
                sum += exp((double)row[i]);
            }
            fz_kldbase_require(fabs(sum - 1) <= 1e-3);
        }
    free(row);
    return 0;
}

#ifndef FLT_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return flt_fuzz_kldbase(data, size); }
#endif
