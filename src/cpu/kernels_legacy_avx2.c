/* AVX2 + FMA + F16C kernels for Q4_1, Q5_0 and Q5_1 weights and for Q8_1
 * activations (see kernels_legacy.h). As in kernels_avx2.c: bodies carry a
 * target attribute instead of the file needing special flags, all loads are
 * unaligned, and loops split on n only, so results depend on the inputs
 * alone. Integer products per block are exact; only the float scaling and
 * the final sums round. */
#include "cpu/kernels_legacy.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "cpu/avx2_util.h"
#include <string.h>

#include "core/dtype.h"
#include "core/quant_blocks.h"


/* lane k of v, in all eight lanes */
#define LG_LANE(v, k) _mm256_permutevar8x32_ps((v), _mm256_set1_epi32(k))

/* 16 bytes of nibbles -> 32 bytes 0..15 in element order (low nibbles are
 * elements 0..15, high nibbles 16..31). */
FLT_AVX2 static inline __m256i lg_nibbles(const uint8_t *qs) {
    const __m128i t = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

/* The 32 fifth bits of a Q5 block -> 32 bytes of 0x10 (bit set) or 0: byte k
 * of the broadcast word goes to bytes 8k..8k+7, each of which tests one bit. */
FLT_AVX2 static inline __m256i lg_fifth_bits(const uint8_t *qh) {
    uint32_t v;
    memcpy(&v, qh, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)v),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                         2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

/* sum q * y over a block for unsigned q (0..31): maddubs cannot saturate
 * (2 * 31 * 128 < 2^15) whatever the activation bytes; eight int32 partial
 * sums, as floats (exact: |sum| < 2^24). */
FLT_AVX2 static inline __m256 lg_dot_u8(__m256i q, const int8_t *y) {
    const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)y));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/* The same for q - 16: sum q*y - sum 16*y, both pair sums exact in int16. */
FLT_AVX2 static inline __m256 lg_dot_u8_minus16(__m256i q, const int8_t *y) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)y);
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, a), _mm256_maddubs_epi16(_mm256_set1_epi8(16), a));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/* Two binary16 at p (d then m, or d then s) as one 32-bit word. */
static inline int lg_pair(const void *p) {
    int v;
    memcpy(&v, p, 4);
    return v;
}

/* ---- Q4_1 / Q5_1 x Q8_1 --------------------------------------------------------
 * sum_blocks (d_w d_a) isum + m_w s_a. Four blocks per step: one F16C
 * conversion each for the weights' (d, m) pairs and the activations' (d, s)
 * pairs, one multiply gives d_w d_a in the even lanes and m_w s_a in the odd
 * ones; the odd lanes accumulate separately and are summed at the end. */

#define LG_OFFSET_LANES _mm256_castsi256_ps(_mm256_setr_epi32(0, -1, 0, -1, 0, -1, 0, -1))

#define LG_DEFINE_DOT_OFFSET(fname, wtype, QUANTS)                                              \
    FLT_AVX2 void fname(int64_t n, const void *w, const void *a, float *out) {                  \
        const wtype *x = w;                                                                     \
        const flt_block_q8_1 *y = a;                                                            \
        const int64_t nb = n / 32;                                                              \
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, ms = s0;                   \
        int64_t b = 0;                                                                          \
        for (; b + 4 <= nb; b += 4) {                                                           \
            const __m256 fx = _mm256_cvtph_ps(_mm_setr_epi32(lg_pair(&x[b]), lg_pair(&x[b + 1]), \
                                                             lg_pair(&x[b + 2]), lg_pair(&x[b + 3]))); \
            const __m256 fy = _mm256_cvtph_ps(_mm_setr_epi32(lg_pair(&y[b]), lg_pair(&y[b + 1]), \
                                                             lg_pair(&y[b + 2]), lg_pair(&y[b + 3]))); \
            const __m256 p = _mm256_mul_ps(fx, fy);                                             \
            ms = _mm256_add_ps(ms, p);                                                          \
            s0 = _mm256_fmadd_ps(LG_LANE(p, 0), lg_dot_u8(QUANTS(x + b), y[b].qs), s0);         \
            s1 = _mm256_fmadd_ps(LG_LANE(p, 2), lg_dot_u8(QUANTS(x + b + 1), y[b + 1].qs), s1); \
            s2 = _mm256_fmadd_ps(LG_LANE(p, 4), lg_dot_u8(QUANTS(x + b + 2), y[b + 2].qs), s2); \
            s3 = _mm256_fmadd_ps(LG_LANE(p, 6), lg_dot_u8(QUANTS(x + b + 3), y[b + 3].qs), s3); \
        }                                                                                       \
        float tail = 0.0f;                                                                      \
        for (; b < nb; b++) {                                                                   \
            const __m256 d = _mm256_set1_ps(_cvtsh_ss(x[b].d) * _cvtsh_ss(y[b].d));             \
            s0 = _mm256_fmadd_ps(d, lg_dot_u8(QUANTS(x + b), y[b].qs), s0);                     \
            const float mterm = _cvtsh_ss(x[b].m) * _cvtsh_ss(y[b].s);                          \
            tail += mterm;                                                                      \
        }                                                                                       \
        const __m256 q = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));           \
        *out = flt_avx2_hsum(_mm256_add_ps(q, _mm256_and_ps(ms, LG_OFFSET_LANES))) + tail;            \
    }

FLT_AVX2 static inline __m256i lg_q4_1_quants(const flt_block_q4_1 *b) { return lg_nibbles(b->qs); }
FLT_AVX2 static inline __m256i lg_q5_1_quants(const flt_block_q5_1 *b) {
    return _mm256_or_si256(lg_nibbles(b->qs), lg_fifth_bits(b->qh));
}

LG_DEFINE_DOT_OFFSET(flt_avx2_dot_q4_1, flt_block_q4_1, lg_q4_1_quants)
LG_DEFINE_DOT_OFFSET(flt_avx2_dot_q5_1, flt_block_q5_1, lg_q5_1_quants)

/* ---- Q5_0 x Q8_0 ----------------------------------------------------------------
 * Like Q4_0: four blocks per step, their eight scales in one conversion. */

FLT_AVX2 static inline __m256 lg_scales4(const flt_block_q5_0 *x, const flt_block_q8_0 *y) {
    const __m256 f = _mm256_cvtph_ps(_mm_setr_epi16((short)x[0].d, (short)x[1].d, (short)x[2].d, (short)x[3].d,
                                                    (short)y[0].d, (short)y[1].d, (short)y[2].d, (short)y[3].d));
    return _mm256_castps128_ps256(_mm_mul_ps(_mm256_castps256_ps128(f), _mm256_extractf128_ps(f, 1)));
}

FLT_AVX2 static inline __m256 lg_dot_q5_0(const flt_block_q5_0 *x, const flt_block_q8_0 *y) {
    return lg_dot_u8_minus16(_mm256_or_si256(lg_nibbles(x->qs), lg_fifth_bits(x->qh)), y->qs);
}

FLT_AVX2 void flt_avx2_dot_q5_0(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q5_0 *x = w;
    const flt_block_q8_0 *y = a;
    const int64_t nb = n / FLT_QK5_0;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        const __m256 d = lg_scales4(x + b, y + b);
        s0 = _mm256_fmadd_ps(LG_LANE(d, 0), lg_dot_q5_0(x + b, y + b), s0);
        s1 = _mm256_fmadd_ps(LG_LANE(d, 1), lg_dot_q5_0(x + b + 1, y + b + 1), s1);
        s2 = _mm256_fmadd_ps(LG_LANE(d, 2), lg_dot_q5_0(x + b + 2, y + b + 2), s2);
        s3 = _mm256_fmadd_ps(LG_LANE(d, 3), lg_dot_q5_0(x + b + 3, y + b + 3), s3);
    }
    for (; b < nb; b++) {
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(x[b].d) * _cvtsh_ss(y[b].d));
        s0 = _mm256_fmadd_ps(d, lg_dot_q5_0(x + b, y + b), s0);
    }
    *out = flt_avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

/* ---- Q8_1 from f32 ------------------------------------------------------------------ */

FLT_AVX2 void flt_avx2_q8_1_from_f32(const float *src, void *dst, int64_t n) {
    flt_block_q8_1 *y = dst;
    for (int64_t b = 0; b < n / FLT_QK8_1; b++) {
        const float *x = src + b * FLT_QK8_1;
        const __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
        const __m256 x2 = _mm256_loadu_ps(x + 16), x3 = _mm256_loadu_ps(x + 24);
        const float amax = flt_avx2_amax32(x0, x1, x2, x3);
        const float d = amax / 127.0f;
        const float idf = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = flt_f32_to_f16(d);
        const __m256 id = _mm256_set1_ps(idf);
        const __m256i i0 = flt_avx2_q8_lane(x0, id), i1 = flt_avx2_q8_lane(x1, id);
        const __m256i i2 = flt_avx2_q8_lane(x2, id), i3 = flt_avx2_q8_lane(x3, id);
        /* the two packs interleave per 128-bit lane; one dword permute fixes it */
        const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        _mm256_storeu_si256((__m256i *)y[b].qs,
                            _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
        /* the integer sum is order-free, so lanes may add in any order */
        const __m256i s8 = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
        const float sd = (float)_mm_cvtsi128_si32(s4) * d;
        y[b].s = flt_f32_to_f16(sd);
    }
}

/* ---- dequantization: bit-identical to the references (q * d, then + m: a
 * multiply and an add, never a fused multiply-add; a NaN from the add becomes
 * the default quiet NaN, as in the reference) ---------------------------------- */

/* Four groups of eight floats from 32 int8 values: scale * v + offset. */
FLT_AVX2 static inline void lg_store32(float *o, __m256i v, __m256 d, __m256 m, int with_m) {
    const __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
    const __m128i parts[4] = { lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8) };
    for (int k = 0; k < 4; k++) {
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[k])), d);
        if (with_m) {
            f = _mm256_add_ps(f, m);
            f = _mm256_blendv_ps(f, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fc00000)),
                                 _mm256_cmp_ps(f, f, _CMP_UNORD_Q));
        }
        _mm256_storeu_ps(o + 8 * k, f);
    }
}

FLT_AVX2 void flt_avx2_q4_1_to_f32(const void *src, float *dst, int64_t n) {
    const flt_block_q4_1 *x = src;
    for (int64_t b = 0; b < n / FLT_QK4_1; b++)
        lg_store32(dst + 32 * b, lg_nibbles(x[b].qs), _mm256_set1_ps(_cvtsh_ss(x[b].d)),
                   _mm256_set1_ps(_cvtsh_ss(x[b].m)), 1);
}

FLT_AVX2 void flt_avx2_q5_0_to_f32(const void *src, float *dst, int64_t n) {
    const flt_block_q5_0 *x = src;
    for (int64_t b = 0; b < n / FLT_QK5_0; b++) {
        const __m256i q = _mm256_sub_epi8(_mm256_or_si256(lg_nibbles(x[b].qs), lg_fifth_bits(x[b].qh)),
                                          _mm256_set1_epi8(16));
        lg_store32(dst + 32 * b, q, _mm256_set1_ps(_cvtsh_ss(x[b].d)), _mm256_setzero_ps(), 0);
    }
}

FLT_AVX2 void flt_avx2_q5_1_to_f32(const void *src, float *dst, int64_t n) {
    const flt_block_q5_1 *x = src;
    for (int64_t b = 0; b < n / FLT_QK5_1; b++)
        lg_store32(dst + 32 * b, _mm256_or_si256(lg_nibbles(x[b].qs), lg_fifth_bits(x[b].qh)),
                   _mm256_set1_ps(_cvtsh_ss(x[b].d)), _mm256_set1_ps(_cvtsh_ss(x[b].m)), 1);
}

#endif
