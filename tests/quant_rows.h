/* Random test matrices in any dtype and a double-precision reference dot,
 * shared by the matrix-product tests (test_gemm.c, test_packed.c). */
#ifndef FLT_TESTS_QUANT_ROWS_H
#define FLT_TESTS_QUANT_ROWS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "cpu/kernels.h"

static inline uint64_t qr_rng_next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline float qr_rng_uniform(uint64_t *s) { /* [-1, 1) */
    return (float)((double)(qr_rng_next(s) >> 11) * 0x1p-52 - 1.0);
}

/* rows x n floats (a power-of-two scale per 32 elements, so blocks differ in
 * magnitude), quantized/converted with the scalar reference into type t;
 * tmp holds n floats. */
static inline void *qr_make_rows(uint64_t *s, flt_dtype t, int64_t rows, int64_t n, size_t *row_bytes, float *tmp) {
    flt_dtype_row_bytes(t, n, row_bytes);
    unsigned char *p = malloc(*row_bytes * (size_t)rows + 1);
    for (int64_t r = 0; r < rows; r++) {
        float scale = 1.0f;
        for (int64_t i = 0; i < n; i++) {
            if (i % 32 == 0) scale = ldexpf(1.0f, (int)(qr_rng_next(s) % 7) - 3);
            tmp[i] = qr_rng_uniform(s) * scale;
        }
        if (t == FLT_F32) memcpy(p + *row_bytes * (size_t)r, tmp, (size_t)n * sizeof(float));
        else flt_kernels_scalar()->from_f32[t](tmp, p + *row_bytes * (size_t)r, n);
    }
    return p;
}

/* The dot of the dequantized operands in double, and sum |w a| in *mag. */
static inline double qr_ref_dot(flt_dtype wt, flt_dtype at, int64_t n, const void *w, const void *a, double *mag,
                                float *fw, float *fa) {
    const flt_kernels *sc = flt_kernels_scalar();
    if (wt == FLT_F32) memcpy(fw, w, (size_t)n * 4); else sc->to_f32[wt](w, fw, n);
    if (at == FLT_F32) memcpy(fa, a, (size_t)n * 4); else sc->to_f32[at](a, fa, n);
    double sum = 0.0;
    *mag = 0.0;
    for (int64_t i = 0; i < n; i++) {
        sum += (double)fw[i] * (double)fa[i];
        *mag += fabs((double)fw[i] * (double)fa[i]);
    }
    return sum;
}

#endif
