/* AVX2 + FMA + F16C kernels for the K-quant types, kept apart from
 * kernels_avx2.c so each file stays readable; only that file's table uses
 * them. Same contracts as every kernel (kernels.h), and the same target
 * caveat: callers must have checked the CPU (flt_cpu_has_avx2). */
#ifndef FLT_CPU_KERNELS_K_AVX2_H
#define FLT_CPU_KERNELS_K_AVX2_H

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
/* Q6_K weights x Q8_K activations. Uses the activations' bsums, so they must
 * match their qs (Flint's Q8_K writers guarantee it); any byte in qs is fine. */
void flt_avx2_dot_q6_k(int64_t n, const void *w, const void *a, float *out);
/* Bit-identical to flt_q8_k_from_f32_ref / flt_q6_k_to_f32_ref, for all inputs. */
void flt_avx2_q8_k_from_f32(const float *src, void *dst, int64_t n);
void flt_avx2_q6_k_to_f32(const void *src, float *dst, int64_t n);
#endif

#endif
