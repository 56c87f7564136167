/* AVX-512 tiled products for Q4_K and Q6_K weights x Q8_K activations (the
 * K-quant types of Q4_K_M files). Same scheme as kernels_avx512.c: a tile of
 * R rows x T tokens, one accumulator per pair whose arithmetic never depends
 * on the tile, vec_dot = the 1 x 1 tile.
 *
 * Per super-block (256 elements) and pair, the integer sum is exact: four
 * chunks of 64 weights unpacked once per row (unsigned 0..15 or 0..63),
 * VPMADDUBSW with the activations (pairs fit int16: 2 * 63 * 128 < 2^15), then
 * VPMADDWD with the sub-block scales (int32), summed over the chunks. Q6_K's
 * offset -32 comes in through the activations' bsums (exact, same factor);
 * Q4_K's mins have their own factor dmin, so they go in as a second FMA. Only
 * the per-super-block scaling and the final sum round. The bsums must match
 * the qs, as Flint's Q8_K writers guarantee (kernels_k2.h). */
#include "cpu/kernels_avx512.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "core/quant_blocks.h"
#include <string.h>

enum { KT_R = 4, KT_T = 4 };   /* array bounds; the shapes used are 4 x 1 and 2 x 4 */

FLT_AVX512_INL float hsum512k(__m512 v) {
    __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
}

/* int16 lane i of the result = s[i / 16 + 2c] for a vector s of 8 scales
 * (Q4_K: 32 elements per scale, maddubs halves that to 16 lanes). */
FLT_AVX512_INL __m512i spread_q4k(__m512i s, int c) {
    const __m512i idx = _mm512_add_epi16(_mm512_srli_epi16(_mm512_setr_epi32(
        0x00010000, 0x00030002, 0x00050004, 0x00070006, 0x00090008, 0x000b000a, 0x000d000c, 0x000f000e,
        0x00110010, 0x00130012, 0x00150014, 0x00170016, 0x00190018, 0x001b001a, 0x001d001c, 0x001f001e), 4),
        _mm512_set1_epi16((short)(2 * c)));
    return _mm512_permutexvar_epi16(idx, s);
}

/* int16 lane i = s[i / 8 + 4c] for 16 scales (Q6_K: 16 elements per scale). */
FLT_AVX512_INL __m512i spread_q6k(__m512i s, int c) {
    const __m512i idx = _mm512_add_epi16(_mm512_srli_epi16(_mm512_setr_epi32(
        0x00010000, 0x00030002, 0x00050004, 0x00070006, 0x00090008, 0x000b000a, 0x000d000c, 0x000f000e,
        0x00110010, 0x00130012, 0x00150014, 0x00170016, 0x00190018, 0x001b001a, 0x001d001c, 0x001f001e), 3),
        _mm512_set1_epi16((short)(4 * c)));
    return _mm512_permutexvar_epi16(idx, s);
}

FLT_AVX512_INL __m512i load_y64(const flt_block_q8_k *y, int c) {
    return _mm512_loadu_si512((const void *)(y->qs + 64 * c));
}

/* ---- Q4_K ----------------------------------------------------------------- */

FLT_AVX512_INL void q4_k_tile(int64_t n, const char *w, size_t ws, const char *a, size_t as, float *out,
                              int64_t ldo, int R, int T) {
    const int64_t nb = n / FLT_QK_K;
    __m512 acc[KT_R][KT_T];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    const __m512i nib = _mm512_set1_epi8(0x0f);
    for (int64_t b = 0; b < nb; b++) {
        __m512i sc[KT_R];
        __m128i mn[KT_R];
        __m512 dw[KT_R], dm[KT_R];
        for (int r = 0; r < R; r++) {
            const flt_block_q4_k *x = (const flt_block_q4_k *)(w + (size_t)r * ws) + b;
            /* flt_k_scale_min_k4 for all eight sub-blocks at once, on 32-bit words */
            uint32_t u[3];
            memcpy(u, x->scales, 12);
            const uint32_t s_lo = u[0] & 0x3f3f3f3fu, m_lo = u[1] & 0x3f3f3f3fu;
            const uint32_t s_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
            const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
            sc[r] = _mm512_cvtepu8_epi16(_mm256_zextsi128_si256(_mm_setr_epi32((int)s_lo, (int)s_hi, 0, 0)));
            mn[r] = _mm_cvtepu8_epi16(_mm_setr_epi32((int)m_lo, (int)m_hi, 0, 0));
            dw[r] = _mm512_set1_ps(_cvtsh_ss(x->d));
            dm[r] = _mm512_set1_ps(_cvtsh_ss(x->dmin));
        }
        __m512i is[KT_R][KT_T];
        for (int r = 0; r < R; r++)
            for (int t = 0; t < T; t++) is[r][t] = _mm512_setzero_si512();
        for (int c = 0; c < 4; c++) {
            __m512i q[KT_R], s16[KT_R];
            for (int r = 0; r < R; r++) {
                const flt_block_q4_k *x = (const flt_block_q4_k *)(w + (size_t)r * ws) + b;
                const __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * c));
                const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1);
                q[r] = _mm512_and_si512(z, nib);
                s16[r] = spread_q4k(sc[r], c);
            }
            for (int t = 0; t < T; t++) {
                const __m512i y = load_y64((const flt_block_q8_k *)(a + (size_t)t * as) + b, c);
                for (int r = 0; r < R; r++)
                    is[r][t] = _mm512_add_epi32(is[r][t], _mm512_madd_epi16(_mm512_maddubs_epi16(q[r], y), s16[r]));
            }
        }
        for (int t = 0; t < T; t++) {
            const flt_block_q8_k *y = (const flt_block_q8_k *)(a + (size_t)t * as) + b;
            /* bsums of 16 summed in pairs: the activation sum of each 32-element sub-block */
            const __m256i bs16 = _mm256_loadu_si256((const __m256i *)y->bsums);
            const __m128i bs = _mm_packs_epi32(_mm256_castsi256_si128(_mm256_madd_epi16(bs16, _mm256_set1_epi16(1))),
                                               _mm256_extracti128_si256(_mm256_madd_epi16(bs16, _mm256_set1_epi16(1)), 1));
            const __m512 da = _mm512_set1_ps(y->d);
            for (int r = 0; r < R; r++) {
                const __m512 msum = _mm512_castps128_ps512(_mm_cvtepi32_ps(_mm_madd_epi16(mn[r], bs)));
                const __m512 m0 = _mm512_maskz_mov_ps(0x000f, msum);
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[r][t]), _mm512_mul_ps(dw[r], da), acc[r][t]);
                acc[r][t] = _mm512_fnmadd_ps(m0, _mm512_mul_ps(dm[r], da), acc[r][t]);
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) out[t * ldo + r] = hsum512k(acc[r][t]);
}

/* ---- Q6_K ----------------------------------------------------------------- */

FLT_AVX512_INL void q6_k_tile(int64_t n, const char *w, size_t ws, const char *a, size_t as, float *out,
                              int64_t ldo, int R, int T) {
    const int64_t nb = n / FLT_QK_K;
    __m512 acc[KT_R][KT_T];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    const __m512i nib = _mm512_set1_epi8(0x0f), two = _mm512_set1_epi8(3);
    for (int64_t b = 0; b < nb; b++) {
        __m512i sc[KT_R];
        __m256i sc32[KT_R];
        __m512 dw[KT_R];
        for (int r = 0; r < R; r++) {
            const flt_block_q6_k *x = (const flt_block_q6_k *)(w + (size_t)r * ws) + b;
            const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x->scales));
            sc[r] = _mm512_castsi256_si512(s16);
            sc32[r] = _mm256_slli_epi16(s16, 5);   /* |scale| * 32 <= 4096 */
            dw[r] = _mm512_set1_ps(_cvtsh_ss(x->d));
        }
        __m512i is[KT_R][KT_T];
        for (int t = 0; t < T; t++) {
            /* the offset: -32 * sum_j scale_j * bsum_j, exact, started from */
            const __m256i bs = _mm256_loadu_si256((const __m256i *)((const flt_block_q8_k *)(a + (size_t)t * as) + b)->bsums);
            for (int r = 0; r < R; r++)
                is[r][t] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                            _mm512_zextsi256_si512(_mm256_madd_epi16(sc32[r], bs)));
        }
        for (int h = 0; h < 2; h++) {
            __m512i lq[KT_R], hq[KT_R];
            for (int r = 0; r < R; r++) {
                const flt_block_q6_k *x = (const flt_block_q6_k *)(w + (size_t)r * ws) + b;
                lq[r] = _mm512_loadu_si512((const void *)(x->ql + 64 * h));
                const __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
                hq[r] = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
            }
            for (int g = 0; g < 2; g++) {
                const int c = 2 * h + g;
                __m512i q[KT_R], s16[KT_R];
                for (int r = 0; r < R; r++) {
                    const __m512i lo = _mm512_and_si512(g ? _mm512_srli_epi16(lq[r], 4) : lq[r], nib);
                    const __m512i hi = _mm512_and_si512(g ? _mm512_srli_epi16(hq[r], 4) : hq[r], two);
                    q[r] = _mm512_or_si512(lo, _mm512_slli_epi16(hi, 4));
                    s16[r] = spread_q6k(sc[r], c);
                }
                for (int t = 0; t < T; t++) {
                    const __m512i y = load_y64((const flt_block_q8_k *)(a + (size_t)t * as) + b, c);
                    for (int r = 0; r < R; r++)
                        is[r][t] = _mm512_add_epi32(is[r][t],
                                                    _mm512_madd_epi16(_mm512_maddubs_epi16(q[r], y), s16[r]));
                }
            }
        }
        for (int t = 0; t < T; t++) {
            const __m512 da = _mm512_set1_ps(((const flt_block_q8_k *)(a + (size_t)t * as) + b)->d);
            for (int r = 0; r < R; r++)
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[r][t]), _mm512_mul_ps(dw[r], da), acc[r][t]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) out[t * ldo + r] = hsum512k(acc[r][t]);
}

/* Generation (one token) streams four rows; batches use 2 rows x 4 tokens,
 * which keeps both the int32 and the float accumulators in registers. */
#define FLT_K_TILES(kern)                                                                                 \
    FLT_TILE_ONE(kern, 1, 1) FLT_TILE_ONE(kern, 2, 1) FLT_TILE_ONE(kern, 3, 1) FLT_TILE_ONE(kern, 4, 1)   \
    FLT_TILE_ONE(kern, 1, 2) FLT_TILE_ONE(kern, 1, 3) FLT_TILE_ONE(kern, 1, 4)                            \
    FLT_TILE_ONE(kern, 2, 2) FLT_TILE_ONE(kern, 2, 3) FLT_TILE_ONE(kern, 2, 4)                            \
    static flt_avx512_tile_fn const kern##_tab_mv[4] = { kern##_1x1, kern##_2x1, kern##_3x1, kern##_4x1 }; \
    static flt_avx512_tile_fn const kern##_tab_mm[8] = {                                                  \
        kern##_1x1, kern##_1x2, kern##_1x3, kern##_1x4, kern##_2x1, kern##_2x2, kern##_2x3, kern##_2x4,   \
    };                                                                                                    \
    static void kern##_gemm(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,   \
                            int64_t nt, float *out, int64_t ldo) {                                        \
        if (nt == 1) flt_avx512_drive(kern##_tab_mv, 4, 1, n, w, ws, nr, a, as, nt, out, ldo);            \
        else flt_avx512_drive(kern##_tab_mm, 2, 4, n, w, ws, nr, a, as, nt, out, ldo);                    \
    }                                                                                                     \
    static void kern##_dot(int64_t n, const void *w, const void *a, float *out) {                         \
        kern##_1x1(n, w, 0, a, 0, out, 1);                                                                \
    }

FLT_K_TILES(q4_k)
FLT_K_TILES(q6_k)

void flt_avx512_add_k_quants(flt_kernels *set) {
    set->vec_dot[FLT_Q4_K] = q4_k_dot;
    set->gemm[FLT_Q4_K] = q4_k_gemm;
    set->vec_dot[FLT_Q6_K] = q6_k_dot;
    set->gemm[FLT_Q6_K] = q6_k_gemm;
}

#endif
