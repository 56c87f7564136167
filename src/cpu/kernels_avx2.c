/* The AVX2 + FMA + F16C kernel set. Bodies are compiled for that target with a
 * function attribute, so the library needs no special flags and still runs on
 * older CPUs: cpu_detect.c hands this table out only after CPUID and XGETBV
 * say the CPU and OS support it.
 *
 * Every loop is split on n alone (never on pointer alignment; all loads are
 * unaligned), so the summation order, and thus the result, is a function of
 * the inputs only. */
#include "cpu/kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <pthread.h>

#include "cpu/avx2_util.h"

#include "core/quant_blocks.h"
#include "cpu/kernels_k_avx2.h"
#include "cpu/kernels_k2.h"
#include "cpu/kernels_legacy.h"


FLT_AVX2 static inline float f16_scalar(uint16_t h) {
    return _cvtsh_ss(h);
}

/* ---- float weights: four independent accumulators hide the FMA latency ---- */

FLT_AVX2 static inline __m256 load_f16x8(const unsigned char *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

FLT_AVX2 static inline __m256 load_bf16x8(const unsigned char *p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

FLT_AVX2 static void dot_f32(int64_t n, const void *w, const void *a, float *out) {
    const float *x = w, *y = a;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i),      _mm256_loadu_ps(y + i),      s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8),  _mm256_loadu_ps(y + i + 8),  s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
    float sum = flt_avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) sum += x[i] * y[i];
    *out = sum;
}

FLT_AVX2 static void dot_f16(int64_t n, const void *w, const void *a, float *out) {
    const unsigned char *x = w;
    const float *y = a;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(load_f16x8(x + 2 * i),        _mm256_loadu_ps(y + i),      s0);
        s1 = _mm256_fmadd_ps(load_f16x8(x + 2 * (i + 8)),  _mm256_loadu_ps(y + i + 8),  s1);
        s2 = _mm256_fmadd_ps(load_f16x8(x + 2 * (i + 16)), _mm256_loadu_ps(y + i + 16), s2);
        s3 = _mm256_fmadd_ps(load_f16x8(x + 2 * (i + 24)), _mm256_loadu_ps(y + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(load_f16x8(x + 2 * i), _mm256_loadu_ps(y + i), s0);
    float sum = flt_avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        sum += f16_scalar(h) * y[i];
    }
    *out = sum;
}

FLT_AVX2 static void dot_bf16(int64_t n, const void *w, const void *a, float *out) {
    const unsigned char *x = w;
    const float *y = a;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(load_bf16x8(x + 2 * i),        _mm256_loadu_ps(y + i),      s0);
        s1 = _mm256_fmadd_ps(load_bf16x8(x + 2 * (i + 8)),  _mm256_loadu_ps(y + i + 8),  s1);
        s2 = _mm256_fmadd_ps(load_bf16x8(x + 2 * (i + 16)), _mm256_loadu_ps(y + i + 16), s2);
        s3 = _mm256_fmadd_ps(load_bf16x8(x + 2 * (i + 24)), _mm256_loadu_ps(y + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(load_bf16x8(x + 2 * i), _mm256_loadu_ps(y + i), s0);
    float sum = flt_avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        sum += flt_bf16_to_f32(h) * y[i];
    }
    *out = sum;
}

/* ---- quantized weights ----------------------------------------------------
 * Integer products per block are exact; only the per-block scaling and the
 * final sum round. */

/* Q8_0 x Q8_0 for one block. maddubs multiplies unsigned by signed bytes, so
 * move x's sign onto y: |x| * (y * sign(x)) == x * y. Pairs of products fit
 * int16 without saturation as long as y != -128 (see kernels.h); madd with
 * ones widens to 8 int32 partial sums. */
FLT_AVX2 static inline __m256 dot_i8x32(__m256i x, __m256i y) {
    const __m256i ax = _mm256_sign_epi8(x, x);
    const __m256i sy = _mm256_sign_epi8(y, x);
    const __m256i p16 = _mm256_maddubs_epi16(ax, sy);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

FLT_AVX2 static inline __m256i load_q8(const flt_block_q8_0 *b) {
    return _mm256_loadu_si256((const __m256i *)b->qs);
}

/* 16 bytes of Q4_0 nibbles -> 32 unsigned bytes (0..15) in element order. */
FLT_AVX2 static inline __m256i unpack_q4(const uint8_t *qs) {
    const __m128i t = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

/* Q4_0 x Q8_0 for one block: sum (q - 8) * y = sum q*y - sum 8*y. The
 * nibbles are already unsigned, so maddubs takes them directly: cheaper than
 * the sign trick, and no saturation (2*15*128 and 2*8*128 fit int16, even
 * for y = -128). */
FLT_AVX2 static inline __m256 dot_q4x32(const uint8_t *qs, __m256i y) {
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(unpack_q4(qs), y),
                                       _mm256_maddubs_epi16(_mm256_set1_epi8(8), y));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/* d_w * d_a for blocks b..b+3 in lanes 0..3: one F16C conversion for all
 * eight scales costs less than eight scalar ones (worth ~20% on Q4_0). */
FLT_AVX2 static inline __m256 scales4(uint16_t w0, uint16_t w1, uint16_t w2, uint16_t w3,
                                      uint16_t a0, uint16_t a1, uint16_t a2, uint16_t a3) {
    const __m256 f = _mm256_cvtph_ps(_mm_setr_epi16((short)w0, (short)w1, (short)w2, (short)w3,
                                                    (short)a0, (short)a1, (short)a2, (short)a3));
    return _mm256_castps128_ps256(_mm_mul_ps(_mm256_castps256_ps128(f), _mm256_extractf128_ps(f, 1)));
}

/* lane k (0..3) of v, in all eight lanes */
#define FLT_LANE(v, k) _mm256_permutevar8x32_ps((v), _mm256_set1_epi32(k))

/* Four blocks per step, one accumulator each, so the FMA chains overlap. */
FLT_AVX2 static void dot_q8_0(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q8_0 *x = w, *y = a;
    const int64_t nb = n / FLT_QK8_0;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        const __m256 d = scales4(x[b].d, x[b + 1].d, x[b + 2].d, x[b + 3].d,
                                 y[b].d, y[b + 1].d, y[b + 2].d, y[b + 3].d);
        s0 = _mm256_fmadd_ps(FLT_LANE(d, 0), dot_i8x32(load_q8(x + b),     load_q8(y + b)),     s0);
        s1 = _mm256_fmadd_ps(FLT_LANE(d, 1), dot_i8x32(load_q8(x + b + 1), load_q8(y + b + 1)), s1);
        s2 = _mm256_fmadd_ps(FLT_LANE(d, 2), dot_i8x32(load_q8(x + b + 2), load_q8(y + b + 2)), s2);
        s3 = _mm256_fmadd_ps(FLT_LANE(d, 3), dot_i8x32(load_q8(x + b + 3), load_q8(y + b + 3)), s3);
    }
    for (; b < nb; b++) {
        const __m256 d = _mm256_set1_ps(f16_scalar(x[b].d) * f16_scalar(y[b].d));
        s0 = _mm256_fmadd_ps(d, dot_i8x32(load_q8(x + b), load_q8(y + b)), s0);
    }
    *out = flt_avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

FLT_AVX2 static void dot_q4_0(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q4_0 *x = w;
    const flt_block_q8_0 *y = a;
    const int64_t nb = n / FLT_QK4_0;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        const __m256 d = scales4(x[b].d, x[b + 1].d, x[b + 2].d, x[b + 3].d,
                                 y[b].d, y[b + 1].d, y[b + 2].d, y[b + 3].d);
        s0 = _mm256_fmadd_ps(FLT_LANE(d, 0), dot_q4x32(x[b].qs, load_q8(y + b)),     s0);
        s1 = _mm256_fmadd_ps(FLT_LANE(d, 1), dot_q4x32(x[b + 1].qs, load_q8(y + b + 1)), s1);
        s2 = _mm256_fmadd_ps(FLT_LANE(d, 2), dot_q4x32(x[b + 2].qs, load_q8(y + b + 2)), s2);
        s3 = _mm256_fmadd_ps(FLT_LANE(d, 3), dot_q4x32(x[b + 3].qs, load_q8(y + b + 3)), s3);
    }
    for (; b < nb; b++) {
        const __m256 d = _mm256_set1_ps(f16_scalar(x[b].d) * f16_scalar(y[b].d));
        s0 = _mm256_fmadd_ps(d, dot_q4x32(x[b].qs, load_q8(y + b)), s0);
    }
    *out = flt_avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

#undef FLT_LANE

/* ---- conversions: bit-identical to the scalar references ------------------ */

FLT_AVX2 static void f16_to_f32(const void *src, float *dst, int64_t n) {
    const unsigned char *s = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_f16x8(s + 2 * i));
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, s + 2 * i, 2);
        dst[i] = f16_scalar(h);
    }
}

FLT_AVX2 static void f16_from_f32(const float *src, void *dst, int64_t n) {
    unsigned char *d = dst;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(d + 2 * i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) {
        uint16_t h = flt_f32_to_f16(src[i]);
        memcpy(d + 2 * i, &h, 2);
    }
}

FLT_AVX2 static void bf16_to_f32(const void *src, float *dst, int64_t n) {
    const unsigned char *s = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_bf16x8(s + 2 * i));
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, s + 2 * i, 2);
        dst[i] = flt_bf16_to_f32(h);
    }
}

FLT_AVX2 static void bf16_from_f32(const float *src, void *dst, int64_t n) {
    unsigned char *d = dst;
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff), quiet = _mm256_set1_epi32(0x40);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i x = _mm256_castps_si256(_mm256_loadu_ps(src + i));
        const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, abs_mask), inf);
        const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), one);
        const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(bias, lsb)), 16);
        const __m256i nan = _mm256_or_si256(_mm256_srli_epi32(x, 16), quiet);
        const __m256i r = _mm256_blendv_epi8(rounded, nan, is_nan);
        /* packus works per 128-bit lane; the permute restores element order */
        const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0xd8);
        _mm_storeu_si128((__m128i *)(d + 2 * i), _mm256_castsi256_si128(p));
    }
    for (; i < n; i++) {
        uint16_t h = flt_f32_to_bf16(src[i]);
        memcpy(d + 2 * i, &h, 2);
    }
}

/* Eight blocks at a time: their maxima first, then the scales and inverse
 * scales in one vector division each and the f16 scales in one conversion
 * (exact IEEE operations, so the bits match the reference's scalar ones), then
 * the quants. Done block by block, the chain max -> divide -> divide -> f16
 * held every block up for about 60 cycles. */
FLT_AVX2 static void q8_0_from_f32(const float *src, void *dst, int64_t n) {
    flt_block_q8_0 *y = dst;
    const int64_t nb = n / FLT_QK8_0;
    for (int64_t b0 = 0; b0 < nb; b0 += 8) {
        const int m = nb - b0 < 8 ? (int)(nb - b0) : 8;
        float amax[8] = {0}, ids[8];
        uint16_t ds[8];
        for (int j = 0; j < m; j++) {
            const float *x = src + (b0 + j) * FLT_QK8_0;
            amax[j] = flt_avx2_amax32(_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8), _mm256_loadu_ps(x + 16),
                                      _mm256_loadu_ps(x + 24));
        }
        const __m256 d = _mm256_div_ps(_mm256_loadu_ps(amax), _mm256_set1_ps(127.0f));
        /* d != 0 ? 1/d : 0, with NaN != 0 true as in C */
        const __m256 nz = _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_NEQ_UQ);
        _mm256_storeu_ps(ids, _mm256_and_ps(nz, _mm256_div_ps(_mm256_set1_ps(1.0f), d)));
        _mm_storeu_si128((__m128i *)ds, _mm256_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        for (int j = 0; j < m; j++) {
            const float *x = src + (b0 + j) * FLT_QK8_0;
            flt_block_q8_0 *yb = &y[b0 + j];
            yb->d = ds[j];
            const __m256 id = _mm256_set1_ps(ids[j]);
            const __m256i i0 = flt_avx2_q8_lane(_mm256_loadu_ps(x), id), i1 = flt_avx2_q8_lane(_mm256_loadu_ps(x + 8), id);
            const __m256i i2 = flt_avx2_q8_lane(_mm256_loadu_ps(x + 16), id), i3 = flt_avx2_q8_lane(_mm256_loadu_ps(x + 24), id);
            /* the two packs interleave per 128-bit lane; one dword permute fixes it */
            const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
            const __m256i q = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)yb->qs, q);
        }
    }
}

FLT_AVX2 static void q8_0_to_f32(const void *src, float *dst, int64_t n) {
    const flt_block_q8_0 *x = src;
    for (int64_t b = 0; b < n / FLT_QK8_0; b++) {
        const __m256 d = _mm256_set1_ps(f16_scalar(x[b].d));
        for (int j = 0; j < FLT_QK8_0; j += 8) {
            const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(x[b].qs + j)));
            _mm256_storeu_ps(dst + b * FLT_QK8_0 + j, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
        }
    }
}

FLT_AVX2 static void q4_0_to_f32(const void *src, float *dst, int64_t n) {
    const flt_block_q4_0 *x = src;
    for (int64_t b = 0; b < n / FLT_QK4_0; b++) {
        const __m256 d = _mm256_set1_ps(f16_scalar(x[b].d));
        const __m256i q = _mm256_sub_epi8(unpack_q4(x[b].qs), _mm256_set1_epi8(8));
        const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
        float *o = dst + b * FLT_QK4_0;
        _mm256_storeu_ps(o,      _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), d));
        _mm256_storeu_ps(o + 8,  _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), d));
        _mm256_storeu_ps(o + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), d));
        _mm256_storeu_ps(o + 24, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), d));
    }
}

FLT_AVX2 static void swiglu(const float *a, const float *b, float *y, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), neg = _mm256_set1_ps(-0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(a + i);
        const __m256 e = flt_avx2_exp(_mm256_xor_ps(x, neg));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), _mm256_loadu_ps(b + i)));
    }
    if (i < n) {
        /* the tail through the same vector code, so no element depends on where it sits */
        float ta[8] = {0}, tb[8] = {0};
        memcpy(ta, a + i, (size_t)(n - i) * sizeof *a);
        memcpy(tb, b + i, (size_t)(n - i) * sizeof *b);
        swiglu(ta, tb, ta, 8);
        memcpy(y + i, ta, (size_t)(n - i) * sizeof *y);
    }
}

static const flt_kernels flt_avx2_base = {
    .name = "avx2",
    .vec_dot = {
        [FLT_F32] = dot_f32, [FLT_F16] = dot_f16, [FLT_BF16] = dot_bf16,
        [FLT_Q8_0] = dot_q8_0, [FLT_Q4_0] = dot_q4_0, [FLT_Q6_K] = flt_avx2_dot_q6_k,
        [FLT_Q4_1] = flt_avx2_dot_q4_1, [FLT_Q5_0] = flt_avx2_dot_q5_0, [FLT_Q5_1] = flt_avx2_dot_q5_1,
        [FLT_IQ4_NL] = flt_avx2_dot_iq4_nl, [FLT_IQ4_XS] = flt_avx2_dot_iq4_xs,
        [FLT_Q2_K] = flt_avx2_dot_q2_k, [FLT_Q3_K] = flt_avx2_dot_q3_k,
        [FLT_Q4_K] = flt_avx2_dot_q4_k, [FLT_Q5_K] = flt_avx2_dot_q5_k,
    },
    .from_f32 = {
        [FLT_F32] = flt_f32_from_f32_ref, [FLT_F16] = f16_from_f32,
        [FLT_BF16] = bf16_from_f32, [FLT_Q8_0] = q8_0_from_f32,
        /* weights are quantized offline; the reference is fast enough */
        [FLT_Q4_0] = flt_q4_0_from_f32_ref, [FLT_Q6_K] = flt_q6_k_from_f32_ref,
        [FLT_Q8_K] = flt_avx2_q8_k_from_f32, [FLT_Q8_1] = flt_avx2_q8_1_from_f32,
        [FLT_Q4_1] = flt_q4_1_from_f32_ref, [FLT_Q5_0] = flt_q5_0_from_f32_ref,
        [FLT_Q5_1] = flt_q5_1_from_f32_ref,
        [FLT_IQ4_NL] = flt_iq4_nl_from_f32_ref, [FLT_IQ4_XS] = flt_iq4_xs_from_f32_ref,
        [FLT_Q2_K] = flt_q2_k_from_f32_ref, [FLT_Q3_K] = flt_q3_k_from_f32_ref,
        [FLT_Q4_K] = flt_q4_k_from_f32_ref, [FLT_Q5_K] = flt_q5_k_from_f32_ref,
    },
    .to_f32 = {
        [FLT_F32] = flt_f32_to_f32_ref, [FLT_F16] = f16_to_f32,
        [FLT_BF16] = bf16_to_f32, [FLT_Q8_0] = q8_0_to_f32, [FLT_Q4_0] = q4_0_to_f32,
        [FLT_Q6_K] = flt_avx2_q6_k_to_f32,
        /* activations are never dequantized on a hot path */
        [FLT_Q8_K] = flt_q8_k_to_f32_ref, [FLT_Q8_1] = flt_q8_1_to_f32_ref,
        [FLT_Q4_1] = flt_avx2_q4_1_to_f32, [FLT_Q5_0] = flt_avx2_q5_0_to_f32,
        [FLT_Q5_1] = flt_avx2_q5_1_to_f32,
        [FLT_IQ4_NL] = flt_avx2_iq4_nl_to_f32, [FLT_IQ4_XS] = flt_avx2_iq4_xs_to_f32,
        /* one embedding row per token: the reference is fast enough */
        [FLT_Q2_K] = flt_q2_k_to_f32_ref, [FLT_Q3_K] = flt_q3_k_to_f32_ref,
        [FLT_Q4_K] = flt_q4_k_to_f32_ref, [FLT_Q5_K] = flt_q5_k_to_f32_ref,
    },
    .swiglu = swiglu,
};

/* The table above plus the packed kernels (src/cpu/packed.h), which come from
 * functions and so cannot sit in a static initializer; built once (the only
 * mutable state, read-only after the pthread_once). */
static flt_kernels flt_avx2_set;
static pthread_once_t flt_avx2_once = PTHREAD_ONCE_INIT;

static void avx2_init(void) {
    flt_avx2_set = flt_avx2_base;
    flt_avx2_set.packed[FLT_Q4_0] = flt_packed_q4_0_avx2();
    flt_avx2_set.packed[FLT_Q8_0] = flt_packed_q8_0_avx2();
    flt_avx2_set.packed[FLT_Q4_K] = flt_packed_q4_k_avx2();
    flt_avx2_set.packed[FLT_Q6_K] = flt_packed_q6_k_avx2();
    flt_avx2_set.packed[FLT_F16] = flt_packed_f16_avx2();
}

const flt_kernels *flt_kernels_avx2_table(void) {
    pthread_once(&flt_avx2_once, avx2_init);
    return &flt_avx2_set;
}

#else

const flt_kernels *flt_kernels_avx2_table(void) { return NULL; }

#endif
