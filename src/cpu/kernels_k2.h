/* Dot kernels for Q2_K, Q3_K, Q4_K and Q5_K weights against Q8_K activations
 * (the scalar oracle in kernels_k2_scalar.c, AVX2 in kernels_k2_avx2.c); only
 * the kernel tables use them. Same contracts as every kernel (kernels.h). The
 * scalar ones read only the activations' qs; the AVX2 ones also use bsums,
 * which must match qs (Flint's Q8_K writers guarantee it). Any weight byte and
 * any activation byte, -128 included, is fine for both. */
#ifndef FLT_CPU_KERNELS_K2_H
#define FLT_CPU_KERNELS_K2_H

#include <stdint.h>

void flt_scalar_dot_q2_k(int64_t n, const void *w, const void *a, float *out);
void flt_scalar_dot_q3_k(int64_t n, const void *w, const void *a, float *out);
void flt_scalar_dot_q4_k(int64_t n, const void *w, const void *a, float *out);
void flt_scalar_dot_q5_k(int64_t n, const void *w, const void *a, float *out);

#if defined(__x86_64__) || defined(__i386__)
/* Callers must have checked the CPU (flt_cpu_has_avx2). */
void flt_avx2_dot_q2_k(int64_t n, const void *w, const void *a, float *out);
void flt_avx2_dot_q3_k(int64_t n, const void *w, const void *a, float *out);
void flt_avx2_dot_q4_k(int64_t n, const void *w, const void *a, float *out);
void flt_avx2_dot_q5_k(int64_t n, const void *w, const void *a, float *out);
#endif

#endif
