/* AVX2 + FMA + F16C kernels for IQ4_NL weights (x Q8_0) and IQ4_XS weights
 * (x Q8_K); see kernels_legacy.h. The 16-entry value table fits one
 * register, so a byte shuffle decodes 32 indices at once. Same conventions
 * as kernels_avx2.c: a target attribute per body, unaligned loads, loops
 * split on n only. */
#include "cpu/kernels_legacy.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "cpu/avx2_util.h"

#include "core/dtype.h"
#include "core/quant_blocks.h"


#define IQ_LANE(v, k) _mm256_permutevar8x32_ps((v), _mm256_set1_epi32(k))

FLT_AVX2 static inline __m256i iq_table(void) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)flt_iq4nl_values));
}

/* 16 bytes of indices -> the 32 int8 table values in element order. */
FLT_AVX2 static inline __m256i iq_values(__m256i table, const uint8_t *qs) {
    const __m128i t = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_shuffle_epi8(table, _mm256_and_si256(both, _mm256_set1_epi8(0x0f)));
}

/* Sixteen int16 pair sums of v * y. maddubs wants one unsigned operand:
 * |y| is (an int8 -128 read unsigned is 128, its true size), and y's sign
 * moves onto the table values, which stay in int8 (-113..127). No pair
 * saturates: 2 * 128 * 127 < 2^15. */
FLT_AVX2 static inline __m256i iq_pairs(__m256i v, const int8_t *y) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)y);
    return _mm256_maddubs_epi16(_mm256_abs_epi8(a), _mm256_sign_epi8(v, a));
}

/* ---- IQ4_NL x Q8_0: four blocks per step, their eight f16 scales in one
 * conversion, one accumulator each. ------------------------------------------ */

FLT_AVX2 static inline __m256 iq_dot32(__m256i table, const flt_block_iq4_nl *x, const flt_block_q8_0 *y) {
    const __m256i p = iq_pairs(iq_values(table, x->qs), y->qs);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

FLT_AVX2 void flt_avx2_dot_iq4_nl(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_iq4_nl *x = w;
    const flt_block_q8_0 *y = a;
    const __m256i table = iq_table();
    const int64_t nb = n / FLT_QK4_NL;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        const __m256 f = _mm256_cvtph_ps(_mm_setr_epi16(
            (short)x[b].d, (short)x[b + 1].d, (short)x[b + 2].d, (short)x[b + 3].d,
            (short)y[b].d, (short)y[b + 1].d, (short)y[b + 2].d, (short)y[b + 3].d));
        const __m256 d = _mm256_castps128_ps256(_mm_mul_ps(_mm256_castps256_ps128(f), _mm256_extractf128_ps(f, 1)));
        s0 = _mm256_fmadd_ps(IQ_LANE(d, 0), iq_dot32(table, x + b, y + b), s0);
        s1 = _mm256_fmadd_ps(IQ_LANE(d, 1), iq_dot32(table, x + b + 1, y + b + 1), s1);
        s2 = _mm256_fmadd_ps(IQ_LANE(d, 2), iq_dot32(table, x + b + 2, y + b + 2), s2);
        s3 = _mm256_fmadd_ps(IQ_LANE(d, 3), iq_dot32(table, x + b + 3, y + b + 3), s3);
    }
    for (; b < nb; b++) {
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(x[b].d) * _cvtsh_ss(y[b].d));
        s0 = _mm256_fmadd_ps(d, iq_dot32(table, x + b, y + b), s0);
    }
    *out = flt_avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

/* ---- IQ4_XS x Q8_K: per super-block one int32 vector collects every
 * sub-block's pair sums times its scale ls - 32 (madd widens them); each
 * lane gathers four products per sub-block, so |lane| <= 8 * 4 * 128 * 127 *
 * 32 < 2^24: exact, even as a float. One float scaling per super-block. ------------------------------------------- */

/* ls - 32 of all eight sub-blocks, as int16 lanes 0..7. */
static inline void iq_xs_scales(const flt_block_iq4_xs *x, int16_t ls[8]) {
    for (int ib = 0; ib < 8; ib++)
        ls[ib] = (int16_t)((((x->scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0f) | ((x->scales_h >> (2 * ib)) & 3) << 4) - 32);
}

FLT_AVX2 void flt_avx2_dot_iq4_xs(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_iq4_xs *x = w;
    const flt_block_q8_k *y = a;
    const __m256i table = iq_table();
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        int16_t ls[8];
        iq_xs_scales(&x[b], ls);
        __m256i isum0 = _mm256_setzero_si256(), isum1 = isum0;
        for (int ib = 0; ib < 8; ib += 2) {
            const __m256i p0 = iq_pairs(iq_values(table, x[b].qs + 16 * ib), y[b].qs + 32 * ib);
            const __m256i p1 = iq_pairs(iq_values(table, x[b].qs + 16 * ib + 16), y[b].qs + 32 * ib + 32);
            isum0 = _mm256_add_epi32(isum0, _mm256_madd_epi16(p0, _mm256_set1_epi16(ls[ib])));
            isum1 = _mm256_add_epi32(isum1, _mm256_madd_epi16(p1, _mm256_set1_epi16(ls[ib + 1])));
        }
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(x[b].d) * y[b].d);
        const __m256 f = _mm256_cvtepi32_ps(_mm256_add_epi32(isum0, isum1));
        /* two accumulators alternate so consecutive super-blocks' FMAs overlap */
        if (b & 1) acc1 = _mm256_fmadd_ps(d, f, acc1);
        else acc0 = _mm256_fmadd_ps(d, f, acc0);
    }
    *out = flt_avx2_hsum(_mm256_add_ps(acc0, acc1));
}

/* ---- dequantization: d * value, bit-identical to the references ------------- */

FLT_AVX2 static inline void iq_store32(float *o, __m256i v, __m256 d) {
    const __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
    _mm256_storeu_ps(o,      _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
    _mm256_storeu_ps(o + 8,  _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
    _mm256_storeu_ps(o + 16, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
    _mm256_storeu_ps(o + 24, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
}

FLT_AVX2 void flt_avx2_iq4_nl_to_f32(const void *src, float *dst, int64_t n) {
    const flt_block_iq4_nl *x = src;
    const __m256i table = iq_table();
    for (int64_t b = 0; b < n / FLT_QK4_NL; b++)
        iq_store32(dst + 32 * b, iq_values(table, x[b].qs), _mm256_set1_ps(_cvtsh_ss(x[b].d)));
}

FLT_AVX2 void flt_avx2_iq4_xs_to_f32(const void *src, float *dst, int64_t n) {
    const flt_block_iq4_xs *x = src;
    const __m256i table = iq_table();
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float d = _cvtsh_ss(x[b].d);
        int16_t ls[8];
        iq_xs_scales(&x[b], ls);
        for (int ib = 0; ib < 8; ib++)
            iq_store32(dst + FLT_QK_K * b + 32 * ib, iq_values(table, x[b].qs + 16 * ib),
                       _mm256_set1_ps(d * (float)ls[ib]));
    }
}

#endif
