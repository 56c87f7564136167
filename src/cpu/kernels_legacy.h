/* Dot kernels for Q4_1 and Q5_1 weights x Q8_1 activations, Q5_0 and IQ4_NL
 * x Q8_0, IQ4_XS x Q8_K (the scalar oracle in kernels_legacy_scalar.c, AVX2
 * in kernels_legacy_avx2.c and kernels_iq4_avx2.c); only the kernel tables
 * use them. Same contracts as every kernel (kernels.h). Any weight byte and
 * any activation byte (-128 included) is fine for all of them. With Q8_1
 * activations the weights' offset m is applied through the activations' s
 * (m * s per block, as ggml does), so those dots differ from the dequantized
 * dot by up to |m| * |s - d * sum(qs)| per block, in every set alike. */
#ifndef FLT_CPU_KERNELS_LEGACY_H
#define FLT_CPU_KERNELS_LEGACY_H

#include <stdint.h>

void flt_scalar_dot_q4_1(int64_t n, const void *w, const void *a, float *out);
void flt_scalar_dot_q5_0(int64_t n, const void *w, const void *a, float *out);
void flt_scalar_dot_q5_1(int64_t n, const void *w, const void *a, float *out);
void flt_scalar_dot_iq4_nl(int64_t n, const void *w, const void *a, float *out);
void flt_scalar_dot_iq4_xs(int64_t n, const void *w, const void *a, float *out);

#if defined(__x86_64__) || defined(__i386__)
/* Callers must have checked the CPU (flt_cpu_has_avx2). */
void flt_avx2_dot_q4_1(int64_t n, const void *w, const void *a, float *out);
void flt_avx2_dot_q5_0(int64_t n, const void *w, const void *a, float *out);
void flt_avx2_dot_q5_1(int64_t n, const void *w, const void *a, float *out);
void flt_avx2_dot_iq4_nl(int64_t n, const void *w, const void *a, float *out);
void flt_avx2_dot_iq4_xs(int64_t n, const void *w, const void *a, float *out);
/* Bit-identical to the scalar references, for all inputs. */
void flt_avx2_q8_1_from_f32(const float *src, void *dst, int64_t n);
void flt_avx2_q4_1_to_f32(const void *src, float *dst, int64_t n);
void flt_avx2_q5_0_to_f32(const void *src, float *dst, int64_t n);
void flt_avx2_q5_1_to_f32(const void *src, float *dst, int64_t n);
void flt_avx2_iq4_nl_to_f32(const void *src, float *dst, int64_t n);
void flt_avx2_iq4_xs_to_f32(const void *src, float *dst, int64_t n);
#endif

#endif
