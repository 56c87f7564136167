/* Pieces of the AVX-512 kernel set (kernels_avx512.c) kept in their own
 * files; only that table uses them. */
#ifndef FLT_CPU_KERNELS_AVX512_H
#define FLT_CPU_KERNELS_AVX512_H

#include "cpu/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <stddef.h>

#define FLT_AVX512_ATTR __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define FLT_AVX512_INL FLT_AVX512_ATTR static inline __attribute__((always_inline))

/* One register tile of a gemm (kernels.h) with its shape fixed at compile time. */
typedef void (*flt_avx512_tile_fn)(int64_t n, const char *w, size_t ws, const char *a, size_t as, float *out,
                                   int64_t ldo);
/* Walks an nr x nt block in tiles of max_r x max_t; edge tiles use the smaller
 * instances, tab[(rows - 1) * max_t + (tokens - 1)]. */
void flt_avx512_drive(const flt_avx512_tile_fn *tab, int max_r, int max_t, int64_t n, const void *w, size_t ws,
                      int64_t nr, const void *a, size_t as, int64_t nt, float *out, int64_t ldo);

/* An instance of kern##_tile(n, w, ws, a, as, out, ldo, R, T) for one shape. */
#define FLT_TILE_ONE(kern, R, T)                                                                          \
    FLT_AVX512_ATTR static void kern##_##R##x##T(int64_t n, const char *w, size_t ws, const char *a,      \
                                                 size_t as, float *out, int64_t ldo) {                    \
        kern##_tile(n, w, ws, a, as, out, ldo, R, T);                                                     \
    }
/* kern##_gemm over kern##_tab, and kern##_dot: the 1 x 1 tile. */
#define FLT_TILE_ENTRY_POINTS(kern, MAX_R, MAX_T)                                                         \
    static void kern##_gemm(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,   \
                            int64_t nt, float *out, int64_t ldo) {                                        \
        flt_avx512_drive(kern##_tab, MAX_R, MAX_T, n, w, ws, nr, a, as, nt, out, ldo);                    \
    }                                                                                                     \
    static void kern##_dot(int64_t n, const void *w, const void *a, float *out) {                         \
        kern##_1x1(n, w, 0, a, 0, out, 1);                                                                \
    }

/* Sets the vec_dot and gemm entries of the K-quant types it speeds up
 * (kernels_k_avx512.c). Callers must have checked the CPU (flt_cpu_has_avx512). */
void flt_avx512_add_k_quants(flt_kernels *set);
#endif

#endif
