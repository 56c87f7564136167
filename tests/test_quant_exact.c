/* Byte-exactness of the reference quantizers against llama.cpp: every tensor
 * of a type under test in the tiny-llama files llama-quantize wrote (without
 * an importance matrix) must be exactly what Flint's from_f32 writes from the
 * same tensor of the F32 model. Mixed files keep some tensors at other types
 * (output.weight in Q6_K, some V projections in Q5_K, ...); only tensors of
 * the type under test are compared. One row per (type, file): add a row to
 * cover another type. Skipped when ../shared has no models. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "formats/gguf.h"
#include "harness.h"

static const struct {
    flt_dtype type;
    const char *file;
    int min_tensors;   /* how many the file holds: a recipe change must not empty the test */
} cases[] = {
    { FLT_Q4_1, "models/tiny-llama-Q4_1.gguf", 29 },
    { FLT_Q5_0, "models/tiny-llama-Q5_0.gguf", 29 },
    { FLT_Q5_1, "models/tiny-llama-Q5_1.gguf", 29 },
    { FLT_IQ4_NL, "models/tiny-llama-IQ4_NL.gguf", 25 },
    { FLT_IQ4_XS, "models/tiny-llama-IQ4_XS.gguf", 25 },
    /* K-quants: the mixed recipes spread each type over several files */
    { FLT_Q2_K, "models/tiny-llama-Q2_K.gguf", 17 },
    { FLT_Q3_K, "models/tiny-llama-Q2_K.gguf", 8 },
    { FLT_Q4_K, "models/tiny-llama-Q2_K.gguf", 4 },
    { FLT_Q6_K, "models/tiny-llama-Q2_K.gguf", 1 },
    { FLT_Q3_K, "models/tiny-llama-Q3_K_M.gguf", 17 },
    { FLT_Q4_K, "models/tiny-llama-Q3_K_M.gguf", 10 },
    { FLT_Q5_K, "models/tiny-llama-Q3_K_M.gguf", 2 },
    { FLT_Q6_K, "models/tiny-llama-Q3_K_M.gguf", 1 },
    { FLT_Q4_K, "models/tiny-llama-Q4_K_S.gguf", 25 },
    { FLT_Q5_K, "models/tiny-llama-Q4_K_S.gguf", 4 },
    { FLT_Q6_K, "models/tiny-llama-Q4_K_S.gguf", 1 },
    { FLT_Q4_K, "models/tiny-llama-Q4_K_M.gguf", 25 },
    { FLT_Q6_K, "models/tiny-llama-Q4_K_M.gguf", 5 },
    { FLT_Q5_K, "models/tiny-llama-Q5_K_M.gguf", 25 },
    { FLT_Q6_K, "models/tiny-llama-Q5_K_M.gguf", 5 },
};

/* Returns how many of the type's tensors in the file are byte-identical;
 * *total gets how many there are. */
static int compare_file(flt_gguf *f32, flt_dtype type, const char *file, int *total) {
    const flt_dtype_traits *tr = flt_dtype_info(type);
    *total = 0;
    flt_err e;
    flt_gguf *q = NULL;
    if (flt_gguf_open(flt_test_shared(file), &q, &e) != FLINTRT_OK) {
        CHECKF(0, "%s: %s", file, e.msg);
        return 0;
    }
    int same = 0;
    for (uint64_t i = 0; i < flt_gguf_n_tensors(q); i++) {
        const flt_gguf_tensor *tq = flt_gguf_tensor_at(q, i);
        if (tq->type != tr->ggml_type) continue;
        (*total)++;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)tq->name.n, tq->name.p);
        const flt_gguf_tensor *tf = flt_gguf_find_tensor(f32, name);
        size_t want_bytes = 0;
        if (!tf || tf->type != 0 || !flt_dtype_row_bytes(type, (int64_t)(tf->size / 4), &want_bytes) ||
            want_bytes != tq->size) {
            CHECKF(0, "%s: no F32 tensor matching %s", file, name);
            continue;
        }
        unsigned char *out = malloc(tq->size);
        if (!out) continue;
        tr->from_f32(tf->data, out, (int64_t)(tf->size / 4));
        if (memcmp(out, tq->data, tq->size) == 0) {
            same++;
        } else {
            size_t k = 0;
            while (out[k] == ((const unsigned char *)tq->data)[k]) k++;
            int diff_blocks = 0;
            for (size_t b = 0; b < tq->size / tr->block_bytes; b++)
                diff_blocks += memcmp(out + b * tr->block_bytes, (const unsigned char *)tq->data + b * tr->block_bytes,
                                      tr->block_bytes) != 0;
            fprintf(stderr, "%s %s: first differing byte %zu (block %zu); %d of %zu blocks differ\n", file, name, k,
                    k / tr->block_bytes, diff_blocks, tq->size / tr->block_bytes);
        }
        free(out);
    }
    flt_gguf_close(q);
    return same;
}

int main(void) {
    flt_err e;
    flt_gguf *f32 = NULL;
    if (flt_gguf_open(flt_test_shared("models/tiny-llama-F32.gguf"), &f32, &e) != FLINTRT_OK) {
        fprintf(stderr, "skipping: %s\n", e.msg);
        return flt_test_finish();
    }
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *name = flt_dtype_info(cases[c].type)->name;
        int total = 0;
        const int same = compare_file(f32, cases[c].type, cases[c].file, &total);
        fprintf(stderr, "%-6s %s: %d of %d tensors byte-identical to llama-quantize\n", name, cases[c].file, same,
                total);
        CHECKF(total >= cases[c].min_tensors, "%s: only %d %s tensors", cases[c].file, total, name);
        CHECKF(same == total, "%s: %d of %d %s tensors byte-identical", cases[c].file, same, total, name);
    }
    flt_gguf_close(f32);
    return flt_test_finish();
}
