/* AVX2 dot kernels for Q2_K, Q3_K, Q4_K and Q5_K weights x Q8_K activations
 * (see kernels_k2.h). As in kernels_avx2.c: bodies carry a target attribute,
 * all loads are unaligned, and loops split on n only, so the result is a
 * function of the inputs alone.
 *
 * Shared plan: the weights' q's are unpacked to unsigned bytes (0..31 at
 * most), so maddubs takes them as they are and cannot saturate whatever the
 * activation bytes (2 * 31 * 128 < 2^15); madd with 16-bit scales widens to
 * int32. Offsets (the mins of Q2_K/Q4_K/Q5_K, Q3_K's -4) are applied once per
 * sub-block through the activations' bsums. All integer work is exact (every
 * lane stays below 2^26); only the per-block float scaling rounds. */
#include "cpu/kernels_k2.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "cpu/avx2_util.h"
#include <stdbool.h>
#include <string.h>

#include "core/dtype.h"
#include "core/quant_blocks.h"


/* 16-bit lanes 0..7 = byte k of s, lanes 8..15 = byte k + 1, zero-extended:
 * a 32-element group spans two sub-blocks of 16 and maddubs keeps the halves
 * of the group in the two 128-bit lanes. s holds the same 16 bytes in both
 * lanes; shuffle index bytes with the top bit set give 0. */
FLT_AVX2 static inline __m256i scale_pair_u(__m256i s, int k) {
    const __m256i base = _mm256_setr_epi16(
        (short)0x8000, (short)0x8000, (short)0x8000, (short)0x8000, (short)0x8000, (short)0x8000, (short)0x8000,
        (short)0x8000, (short)0x8001, (short)0x8001, (short)0x8001, (short)0x8001, (short)0x8001, (short)0x8001,
        (short)0x8001, (short)0x8001);
    return _mm256_shuffle_epi8(s, _mm256_add_epi16(base, _mm256_set1_epi16((short)k)));
}

/* The same for signed bytes: put byte k in the high half of each 16-bit lane,
 * then an arithmetic shift sign-extends it. */
FLT_AVX2 static inline __m256i scale_pair_s(__m256i s, int k) {
    const __m256i base = _mm256_setr_epi16(
        0x0080, 0x0080, 0x0080, 0x0080, 0x0080, 0x0080, 0x0080, 0x0080,
        0x0180, 0x0180, 0x0180, 0x0180, 0x0180, 0x0180, 0x0180, 0x0180);
    const __m256i idx = _mm256_add_epi16(base, _mm256_set1_epi16((short)(k << 8)));
    return _mm256_srai_epi16(_mm256_shuffle_epi8(s, idx), 8);
}

/* 1 << vb or 0 in each byte, by bit `bit` of the byte in h: and + min. The
 * masked bit must be at or above vb for the min to work, so lower bits are
 * read from h_up = h << vb (16-bit shift: what leaks in from the lower byte
 * lands below vb and is masked off). All arguments but h are constants once
 * the loops are unrolled. */
FLT_AVX2 static inline __m256i bit_to(__m256i h, __m256i h_up, int bit, int vb) {
    const __m256i src = bit >= vb ? h : h_up;
    const __m256i m = _mm256_set1_epi8((char)(1 << (bit >= vb ? bit : bit + vb)));
    return _mm256_min_epu8(_mm256_and_si256(src, m), _mm256_set1_epi8((char)(1 << vb)));
}

FLT_AVX2 static inline __m256i load32(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* ---- Q2_K: value = d * sc * q - dmin * m, q 0..3 ---------------------------- */

FLT_AVX2 void flt_avx2_dot_q2_k(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q2_k *x = w;
    const flt_block_q8_k *y = a;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(0x0f);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const __m128i sm = _mm_loadu_si128((const __m128i *)x[b].scales);
        const __m256i sc = _mm256_broadcastsi128_si256(_mm_and_si128(sm, m4));
        const __m128i mins = _mm_and_si128(_mm_srli_epi16(sm, 4), m4);
        const __m256i msum = _mm256_madd_epi16(_mm256_cvtepu8_epi16(mins), load32(y[b].bsums));
        __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            const __m256i q = load32(x[b].qs + 32 * h);
#pragma GCC unroll 4
            for (int g = 0; g < 4; g++) {
                const __m256i u = _mm256_and_si256(_mm256_srli_epi16(q, 2 * g), m3);
                const __m256i p = _mm256_maddubs_epi16(u, load32(y[b].qs + 128 * h + 32 * g));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, scale_pair_u(sc, 8 * h + 2 * g)));
            }
        }
        const float yd = y[b].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(x[b].d) * yd), _mm256_cvtepi32_ps(isum), acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(x[b].dmin) * yd), _mm256_cvtepi32_ps(msum), accm);
    }
    *out = flt_avx2_hsum(_mm256_sub_ps(acc, accm));
}

/* ---- Q3_K: value = d * s * (u - 4), u = low 2 bits | hmask bit << 2 ----------
 * sum s_j (u - 4) a = sum s_j u a - 4 sum s_j bsum_j. */

/* The sixteen 6-bit scales, unbiased to -32..31 (layout: flt_k_scale_q3). */
FLT_AVX2 static inline __m128i q3_scales(const uint8_t *s) {
    uint64_t lo8;
    uint32_t hi4;
    memcpy(&lo8, s, 8);
    memcpy(&hi4, s + 8, 4);
    /* bytes 0..7: low nibbles (scales 0..7); bytes 8..15: high nibbles (8..15) */
    const __m128i lo = _mm_and_si128(_mm_set_epi64x((long long)(lo8 >> 4), (long long)lo8), _mm_set1_epi8(0x0f));
    /* dword i, byte j: bits 2i..2i+1 of s[8 + j] = the top bits of scale 4i + j */
    const __m128i hi = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32((int)hi4), _mm_setr_epi32(0, 2, 4, 6)),
                                     _mm_set1_epi8(3));
    return _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi16(hi, 4)), _mm_set1_epi8(32));
}

FLT_AVX2 void flt_avx2_dot_q3_k(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q3_k *x = w;
    const flt_block_q8_k *y = a;
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const __m128i sc8 = q3_scales(x[b].scales);
        const __m256i sc = _mm256_broadcastsi128_si256(sc8);
        const __m256i hm = load32(x[b].hmask), hm_up = _mm256_slli_epi16(hm, 2);
        __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            const __m256i q = load32(x[b].qs + 32 * h);
#pragma GCC unroll 4
            for (int g = 0; g < 4; g++) {
                const __m256i u = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * g), m3),
                                                  bit_to(hm, hm_up, 4 * h + g, 2));
                const __m256i p = _mm256_maddubs_epi16(u, load32(y[b].qs + 128 * h + 32 * g));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, scale_pair_s(sc, 8 * h + 2 * g)));
            }
        }
        const __m256i off = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc8), load32(y[b].bsums));
        isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(off, 2));
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(x[b].d) * y[b].d);
        /* two accumulators alternate so consecutive blocks' FMAs overlap */
        if (b & 1) acc1 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(isum), acc1);
        else acc0 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(isum), acc0);
    }
    *out = flt_avx2_hsum(_mm256_add_ps(acc0, acc1));
}

/* ---- Q4_K / Q5_K: value = d * sc * q - dmin * m, sub-blocks of 32 ------------ */

/* The 6-bit scales (bytes 0..7) and mins (bytes 8..15) of flt_k_scale_min_k4,
 * all eight at once on 32-bit words. */
FLT_AVX2 static inline __m128i k4_scales_mins(const uint8_t *s12) {
    uint32_t s[3];
    memcpy(s, s12, 12);
    const uint32_t lo6 = 0x3f3f3f3fu, lo4 = 0x0f0f0f0fu, lo2 = 0x03030303u;
    const uint32_t sc_lo = s[0] & lo6, sc_hi = (s[2] & lo4) | ((s[0] >> 6) & lo2) << 4;
    const uint32_t mn_lo = s[1] & lo6, mn_hi = ((s[2] >> 4) & lo4) | ((s[1] >> 6) & lo2) << 4;
    return _mm_setr_epi32((int)sc_lo, (int)sc_hi, (int)mn_lo, (int)mn_hi);
}

/* sum_j m_j * (bsum_2j + bsum_2j+1): the min term of one block, 4 int32 lanes */
FLT_AVX2 static inline __m128i k4_min_term(__m128i scm, const int16_t *bsums) {
    const __m128i b0 = _mm_loadu_si128((const __m128i *)bsums), b1 = _mm_loadu_si128((const __m128i *)(bsums + 8));
    /* pair sums: |bsum| <= 16 * 128, so a pair fits int16 */
    return _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_srli_si128(scm, 8)), _mm_hadd_epi16(b0, b1));
}

FLT_AVX2 static inline float hsum4(__m128 s) {
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* One Q4_K/Q5_K block's scale term: sum_j sc_j * sum(q * a) over sub-block j.
 * hb: Q5_K's fifth bits (ignored when q5 is false). */
FLT_AVX2 static inline __m256i k45_scale_term(__m128i scm, const uint8_t *qs, __m256i hb, bool q5,
                                               const int8_t *a8) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    /* a 32-group is one whole sub-block here, so both lanes take one scale */
    const __m256i sc = _mm256_broadcastsi128_si256(scm);
    const __m256i hb_up = _mm256_slli_epi16(hb, 4);
    __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        const __m256i q = load32(qs + 32 * c);
        __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        if (q5) {
            lo = _mm256_or_si256(lo, bit_to(hb, hb_up, 2 * c, 4));
            hi = _mm256_or_si256(hi, bit_to(hb, hb_up, 2 * c + 1, 4));
        }
        const __m256i p0 = _mm256_maddubs_epi16(lo, load32(a8 + 64 * c));
        const __m256i p1 = _mm256_maddubs_epi16(hi, load32(a8 + 64 * c + 32));
        const __m256i s0 = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x8000 | (2 * c))));
        const __m256i s1 = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x8000 | (2 * c + 1))));
        isum = _mm256_add_epi32(isum, _mm256_add_epi32(_mm256_madd_epi16(p0, s0), _mm256_madd_epi16(p1, s1)));
    }
    return isum;
}

FLT_AVX2 void flt_avx2_dot_q4_k(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q4_k *x = w;
    const flt_block_q8_k *y = a;
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const __m128i scm = k4_scales_mins(x[b].scales);
        const __m256i isum = k45_scale_term(scm, x[b].qs, _mm256_setzero_si256(), false, y[b].qs);
        const __m128i msum = k4_min_term(scm, y[b].bsums);
        const float yd = y[b].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(x[b].d) * yd), _mm256_cvtepi32_ps(isum), acc);
        accm = _mm_fmadd_ps(_mm_set1_ps(_cvtsh_ss(x[b].dmin) * yd), _mm_cvtepi32_ps(msum), accm);
    }
    *out = flt_avx2_hsum(acc) - hsum4(accm);
}

FLT_AVX2 void flt_avx2_dot_q5_k(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q5_k *x = w;
    const flt_block_q8_k *y = a;
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const __m128i scm = k4_scales_mins(x[b].scales);
        const __m256i isum = k45_scale_term(scm, x[b].qs, load32(x[b].qh), true, y[b].qs);
        const __m128i msum = k4_min_term(scm, y[b].bsums);
        const float yd = y[b].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(x[b].d) * yd), _mm256_cvtepi32_ps(isum), acc);
        accm = _mm_fmadd_ps(_mm_set1_ps(_cvtsh_ss(x[b].dmin) * yd), _mm_cvtepi32_ps(msum), accm);
    }
    *out = flt_avx2_hsum(acc) - hsum4(accm);
}

#endif
