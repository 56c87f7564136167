/* AVX2 kernels for Q6_K weights and Q8_K activations (see kernels_k_avx2.h).
 * As in kernels_avx2.c, bodies carry a target attribute instead of the file
 * needing special flags, all loads are unaligned, and loops split on n only,
 * so results depend on the inputs alone. */
#include "cpu/kernels_k_avx2.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#include "core/dtype.h"
#include "core/quant_blocks.h"

#define FLT_AVX2 __attribute__((target("avx2,fma,f16c")))

/* The 6-bit q's of one half (128 elements) as unsigned bytes 0..63, one
 * vector per group of 32 in element order (layout: quant_blocks.h). The
 * 16-bit shifts leak bits across byte boundaries; the masks drop them. */
FLT_AVX2 static inline void unpack_q6_half(const uint8_t *ql, const uint8_t *qh, __m256i q[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x30);
    const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
    const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
    const __m256i h = _mm256_loadu_si256((const __m256i *)qh);
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m2));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m2));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(h, m2));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                           _mm256_and_si256(_mm256_srli_epi16(h, 2), m2));
}

/* sum (q - 32) * a * scale = sum q * a * scale - 32 * sum scale_j * bsum_j.
 * The q's are unsigned, so maddubs takes them directly and cannot saturate
 * (2 * 63 * 128 < 2^15) whatever the activation bytes; madd with the 16-bit
 * scales (scale 2k in the low eight lanes, 2k+1 in the high eight: a 32-group
 * spans two sub-blocks) widens to int32. Every lane stays below 2^26, so the
 * integer part is exact; only the per-block float scaling rounds. */
FLT_AVX2 void flt_avx2_dot_q6_k(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q6_k *x = w;
    const flt_block_q8_k *y = a;
    /* byte shuffle putting scale k in bytes 0..7 and scale k+1 in 8..15 */
    const __m128i pair = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)x[b].scales);
        __m256i isum = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i q[4];
            unpack_q6_half(x[b].ql + 64 * h, x[b].qh + 32 * h, q);
            for (int g = 0; g < 4; g++) {
                const __m256i a8 = _mm256_loadu_si256((const __m256i *)(y[b].qs + 128 * h + 32 * g));
                const __m128i idx = _mm_add_epi8(pair, _mm_set1_epi8((char)(8 * h + 2 * g)));
                const __m256i sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, idx));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(q[g], a8), sc));
            }
        }
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[b].bsums);
        const __m256i off = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc8), bs);
        isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(off, 5));
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(x[b].d) * y[b].d);
        /* two accumulators alternate so consecutive blocks' FMAs overlap */
        if (b & 1) acc1 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(isum), acc1);
        else acc0 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(isum), acc0);
    }
    const __m256 s = _mm256_add_ps(acc0, acc1);
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_shuffle_ps(r, r, 1));
    *out = _mm_cvtss_f32(r);
}

/* (d * scale) * (q - 32), rounded exactly as the reference rounds it. */
FLT_AVX2 void flt_avx2_q6_k_to_f32(const void *src, float *dst, int64_t n) {
    const flt_block_q6_k *x = src;
    const __m256i m32 = _mm256_set1_epi8(32);
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float d = _cvtsh_ss(x[b].d);
        float *o = dst + b * FLT_QK_K;
        for (int h = 0; h < 2; h++) {
            __m256i q[4];
            unpack_q6_half(x[b].ql + 64 * h, x[b].qh + 32 * h, q);
            for (int g = 0; g < 4; g++) {
                const __m256i v = _mm256_sub_epi8(q[g], m32);
                const __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
                const __m256 d0 = _mm256_set1_ps(d * (float)x[b].scales[8 * h + 2 * g]);
                const __m256 d1 = _mm256_set1_ps(d * (float)x[b].scales[8 * h + 2 * g + 1]);
                float *p = o + 128 * h + 32 * g;
                _mm256_storeu_ps(p,      _mm256_mul_ps(d0, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
                _mm256_storeu_ps(p + 8,  _mm256_mul_ps(d0, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
                _mm256_storeu_ps(p + 16, _mm256_mul_ps(d1, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
                _mm256_storeu_ps(p + 24, _mm256_mul_ps(d1, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
            }
        }
    }
}

/* ggml's nearest_int, eight lanes: the same bit trick as the reference, so
 * the same int for every input, inf and NaN included; then min(127, v) and
 * the low byte (the reference's int8 wrap). */
FLT_AVX2 static inline __m256i q8k_lane(__m256 x, __m256 iscale) {
    const __m256 t = _mm256_add_ps(_mm256_mul_ps(iscale, x), _mm256_set1_ps(12582912.0f));
    __m256i i = _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(t), _mm256_set1_epi32(0x007fffff)),
                                 _mm256_set1_epi32(0x00400000));
    i = _mm256_min_epi32(i, _mm256_set1_epi32(127));
    return _mm256_and_si256(i, _mm256_set1_epi32(0xff));
}

FLT_AVX2 void flt_avx2_q8_k_from_f32(const float *src, void *dst, int64_t n) {
    flt_block_q8_k *y = dst;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float *x = src + b * FLT_QK_K;
        /* amax: max_ps returns its second operand when either is NaN, so NaN
         * inputs are skipped, as the reference's `ax > amax` skips them */
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < FLT_QK_K; j += 8)
            m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), abs_mask), m);
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
        const float amax = _mm_cvtss_f32(m4);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        /* the reference keeps the first element of largest magnitude, sign included */
        float max = 0.0f;
        const __m256 va = _mm256_set1_ps(amax);
        for (int j = 0; j < FLT_QK_K; j += 8) {
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), abs_mask), va, _CMP_EQ_OQ));
            if (hit) { max = x[j + __builtin_ctz((unsigned)hit)]; break; }
        }
        const float iscale = -127.0f / max;
        const __m256 vis = _mm256_set1_ps(iscale);
        for (int j = 0; j < FLT_QK_K; j += 32) {
            const __m256i i0 = q8k_lane(_mm256_loadu_ps(x + j), vis);
            const __m256i i1 = q8k_lane(_mm256_loadu_ps(x + j + 8), vis);
            const __m256i i2 = q8k_lane(_mm256_loadu_ps(x + j + 16), vis);
            const __m256i i3 = q8k_lane(_mm256_loadu_ps(x + j + 24), vis);
            /* lanes hold 0..255 (the wrapped byte), so the unsigned packs
             * never saturate; they interleave per 128-bit lane, and one dword
             * permute restores element order */
            const __m256i p = _mm256_packus_epi16(_mm256_packus_epi32(i0, i1), _mm256_packus_epi32(i2, i3));
            const __m256i q = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(y[b].qs + j), q);
            /* bsums of elements j..j+15 and j+16..j+31: pairs, then quads */
            const __m256i s4 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
            int32_t t[8];
            _mm256_storeu_si256((__m256i *)t, s4);
            y[b].bsums[j / 16] = (int16_t)(t[0] + t[1] + t[2] + t[3]);
            y[b].bsums[j / 16 + 1] = (int16_t)(t[4] + t[5] + t[6] + t[7]);
        }
        y[b].d = 1.0f / iscale;
    }
}

#endif
