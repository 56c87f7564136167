/* Packed Q4_0 and Q8_0 weights for the AVX2 set (AVX2 + FMA + F16C, no
 * AVX-512 or VNNI: AMD Zen 3 and older Intel), activations Q8_0.
 *
 * Layouts (cpu/packed.h): panels of 8 rows, one 256-bit register = 8 int32
 * lanes = the 8 rows. Per block of 32 columns, a panel holds the rows' 8 f16
 * scales side by side (16 bytes, one VCVTPH2PS) followed by the quants in
 * 32-byte groups where bytes 4r..4r+3 belong to row r:
 *   q4_0x8_avx2: 4 groups; group j holds, for each row, plain bytes
 *     qs[4j..4j+3] (low nibbles = columns 4j..4j+3, high nibbles = columns
 *     16+4j..16+4j+3). 144 bytes per block = 8 plain blocks.
 *   q8_0x8_avx2: 8 groups; group g holds, for each row, columns 4g..4g+3 as
 *     signed bytes. 272 bytes per block = 8 plain blocks.
 * Packed size = plain size; nothing is added per row.
 *
 * Integer products without VNNI: VPMADDUBSW (u8 x s8 -> saturating int16
 * pairs) against the activation's 4 bytes broadcast to every lane, then
 * VPMADDWD with ones (int32 per row per 4 columns).
 * - Q4_0: nibbles 0..15 are the unsigned operand (a pair is at most
 *   2*15*128 = 3840, never saturated). Each int16 slot of a lane gathers 8
 *   pairs = 16 products of a block, starting from -8 times the sum of those 16
 *   activations (a small table per token chunk), so it ends at sum (q-8)*a,
 *   at most 16*8*128 = 16384 in magnitude: the int16 adds may wrap on the way
 *   but the result is exact, and one VPMADDWD per block gives the int32.
 * - Q8_0: the sign trick (|w| unsigned, w's sign moved onto a), so weights
 *   stay signed in the layout and any byte, -128 included, multiplies exactly
 *   (for activations in [-127, 127], as kernels.h says). Pairs reach 32512, so
 *   each group is widened to int32 on its own.
 * Every output element is then, block by block in order,
 *   acc = fma(d_w * d_a, (float)exact_int_sum, acc)
 * from acc = 0: the same operations whatever the tile shape, the rows or the
 * tokens around it, hence the same bits for any split.
 *
 * Tiles: for generation (fewer than 4 tokens) several panels per token share
 * the activation broadcasts; for prompts one panel x 4 tokens shares each
 * unpacked weight register, and the loop runs panel-outer so a panel stays in
 * L1 while the token chunk passes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpu/packed.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "core/quant_blocks.h"
#include "cpu/avx2_util.h"

#define FLT_TILE FLT_AVX2 static inline __attribute__((always_inline))

enum {
    PR = 8,                      /* rows per panel */
    QB = 2 + FLT_QK8_0,          /* bytes of a plain Q8_0 block (activations and Q8_0 weights) */
    Q4B = 2 + FLT_QK4_0 / 2,     /* bytes of a plain Q4_0 block */
    Q4_PB = PR * Q4B,            /* bytes of one block of a Q4_0 panel */
    Q8_PB = PR * QB,             /* bytes of one block of a Q8_0 panel */
    /* Per-(token, block) table entries: activation scale as float and, for
     * Q4_0, the two int16 slot offsets. 4096 of each is 32 KiB of stack. */
    TAB = 4096,
};

/* ---- packing ---------------------------------------------------------------- */

static size_t q4_panel_bytes(int64_t cols) {
    if (cols <= 0 || cols % FLT_QK4_0) return 0;
    return (size_t)(cols / FLT_QK4_0) * Q4_PB;
}

static size_t q8_panel_bytes(int64_t cols) {
    if (cols <= 0 || cols % FLT_QK8_0) return 0;
    return (size_t)(cols / FLT_QK8_0) * Q8_PB;
}

/* Both layouts copy 4-byte runs of a plain block: `groups` 32-byte groups after
 * the scales, group g taking bytes 4g..4g+3 of each row's qs. */
static void pack_panels(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst,
                        size_t plain_block, size_t panel_block, int groups) {
    const int64_t nb = cols / FLT_QK8_0;
    const size_t pb = (size_t)nb * panel_block;
    for (int64_t p = p0; p < p1; p++) {
        unsigned char *panel = (unsigned char *)dst + (size_t)p * pb;
        for (int r = 0; r < PR; r++) {
            const int64_t row = p * PR + r;
            const unsigned char *x = row < rows ? (const unsigned char *)w + (size_t)row * ws : NULL;
            for (int64_t b = 0; b < nb; b++) {
                unsigned char *o = panel + (size_t)b * panel_block;
                if (x) {
                    const unsigned char *blk = x + (size_t)b * plain_block;
                    memcpy(o + 2 * r, blk, 2);
                    for (int g = 0; g < groups; g++) memcpy(o + 2 * PR + 32 * g + 4 * r, blk + 2 + 4 * g, 4);
                } else {
                    memset(o + 2 * r, 0, 2);
                    for (int g = 0; g < groups; g++) memset(o + 2 * PR + 32 * g + 4 * r, 0, 4);
                }
            }
        }
    }
}

static void q4_pack(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst) {
    pack_panels(w, ws, rows, cols, p0, p1, dst, Q4B, Q4_PB, 4);
}

static void q8_pack(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst) {
    pack_panels(w, ws, rows, cols, p0, p1, dst, QB, Q8_PB, 8);
}

/* ---- shared pieces ---------------------------------------------------------- */

FLT_TILE __m256i bcast4(const unsigned char *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

FLT_TILE __m256 scales8(const unsigned char *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* Activation scales of blocks [kb0, kb0 + kn) of tokens [0, tn), token t's at
 * t * kn; for Q4_0 also the int16 pair that starts a lane's two slots: -8 times
 * the sum of the quants at columns 4g, 4g+1 (g = 0..7, slot 0) and at 4g+2,
 * 4g+3 (slot 1). */
FLT_AVX2 static void act_table(const unsigned char *a, size_t as, int64_t tn, int64_t kb0, int64_t kn, float *da,
                               int32_t *corr) {
    const __m256i ones8 = _mm256_set1_epi8(1);
    for (int64_t t = 0; t < tn; t++) {
        const unsigned char *q = a + (size_t)t * as + (size_t)kb0 * QB;
        for (int64_t b = 0; b < kn; b++, q += QB) {
            uint16_t h;
            memcpy(&h, q, 2);
            da[t * kn + b] = _cvtsh_ss(h);
            if (corr) {
                /* int16 k-pair sums; the even ones fall in slot 0 of a 4-byte
                 * group, the odd ones in slot 1. 8 of them add to at most 2032. */
                const __m256i v = _mm256_loadu_si256((const __m256i *)(q + 2));
                const __m256i s = _mm256_maddubs_epi16(ones8, v);
                __m128i s4 = _mm_add_epi16(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
                s4 = _mm_add_epi16(s4, _mm_shuffle_epi32(s4, 0x4e));
                s4 = _mm_add_epi16(s4, _mm_shuffle_epi32(s4, 0xb1));
                s4 = _mm_sub_epi16(_mm_setzero_si128(), _mm_slli_epi16(s4, 3));
                corr[t * kn + b] = _mm_cvtsi128_si32(s4);
            }
        }
    }
}

/* ---- Q4_0 ------------------------------------------------------------------- */

/* NP consecutive panels (pb bytes apart, w at the first one's block 0 of this
 * stretch) x NT tokens (as bytes apart, a at the first one's block 0), kn
 * blocks. Only the last panel may be partial (vlast rows). first: start from
 * zero, else continue the sums left in out by the previous stretch of blocks. */
FLT_TILE void q4_tile(const int NP, const int NT, const unsigned char *w, size_t pb, int64_t kn,
                      const unsigned char *a, size_t as, const float *da, const int32_t *corr, int64_t ks,
                      float *out, int64_t ldo, int vlast, int first) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    __m256 acc[4][4];
    for (int p = 0; p < NP; p++)
        for (int t = 0; t < NT; t++)
            acc[p][t] = first ? _mm256_setzero_ps() : flt_avx2_load_first(out + t * ldo + PR * p, p == NP - 1 ? vlast : PR);
    for (int64_t b = 0; b < kn; b++) {
        const unsigned char *wb = w + (size_t)b * Q4_PB;
        __m256i s[4][4];
        for (int t = 0; t < NT; t++) {
            const __m256i c = _mm256_set1_epi32(corr[t * ks + b]);
            for (int p = 0; p < NP; p++) s[p][t] = c;
        }
        /* kept rolled: unrolled, GCC regroups the int16 adds into a tree that
         * keeps every product live at once and spills */
#pragma GCC unroll 1
        for (int j = 0; j < 4; j++) {
            __m256i lo[4], hi[4];
            for (int p = 0; p < NP; p++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(wb + (size_t)p * pb + 2 * PR + 32 * j));
                lo[p] = _mm256_and_si256(v, m4);
                hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            }
            for (int t = 0; t < NT; t++) {
                const unsigned char *q = a + (size_t)t * as + (size_t)b * QB + 2;
                const __m256i al = bcast4(q + 4 * j), ah = bcast4(q + 16 + 4 * j);
                for (int p = 0; p < NP; p++) {
                    s[p][t] = _mm256_add_epi16(s[p][t], _mm256_maddubs_epi16(lo[p], al));
                    s[p][t] = _mm256_add_epi16(s[p][t], _mm256_maddubs_epi16(hi[p], ah));
                }
            }
        }
        for (int p = 0; p < NP; p++) {
            const __m256 dw = scales8(wb + (size_t)p * pb);
            for (int t = 0; t < NT; t++) {
                const __m256i isum = _mm256_madd_epi16(s[p][t], ones);
                acc[p][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(da[t * ks + b])),
                                            _mm256_cvtepi32_ps(isum), acc[p][t]);
            }
        }
    }
    for (int p = 0; p < NP; p++)
        for (int t = 0; t < NT; t++) flt_avx2_store_first(out + t * ldo + PR * p, p == NP - 1 ? vlast : PR, acc[p][t]);
}

#define Q4_TILE_FN(NP, NT)                                                                                          \
    FLT_AVX2 static void q4_tile_##NP##x##NT(const unsigned char *w, size_t pb, int64_t kn, const unsigned char *a, \
                                             size_t as, const float *da, const int32_t *corr, int64_t ks,          \
                                             float *out, int64_t ldo, int vlast, int first) {                       \
        q4_tile(NP, NT, w, pb, kn, a, as, da, corr, ks, out, ldo, vlast, first);                                    \
    }
Q4_TILE_FN(1, 1)
Q4_TILE_FN(4, 1)
Q4_TILE_FN(1, 4)

/* ---- Q8_0 ------------------------------------------------------------------- */

/* Group g (columns 4g..4g+3) of block b: s = (init ? 0 : s) + the group's int32
 * products. */
FLT_TILE void q8_group(const int NP, const int NT, const unsigned char *wb, size_t pb, const unsigned char *a,
                       size_t as, int64_t b, int g, __m256i s[4][4], int init) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i wv[4], aw[4];
    for (int p = 0; p < NP; p++) {
        wv[p] = _mm256_loadu_si256((const __m256i *)(wb + (size_t)p * pb + 2 * PR + 32 * g));
        aw[p] = _mm256_abs_epi8(wv[p]);
    }
    for (int t = 0; t < NT; t++) {
        const __m256i av = bcast4(a + (size_t)t * as + (size_t)b * QB + 2 + 4 * g);
        for (int p = 0; p < NP; p++) {
            const __m256i x = _mm256_madd_epi16(_mm256_maddubs_epi16(aw[p], _mm256_sign_epi8(av, wv[p])), ones);
            s[p][t] = init ? x : _mm256_add_epi32(s[p][t], x);
        }
    }
}

FLT_TILE void q8_tile(const int NP, const int NT, const unsigned char *w, size_t pb, int64_t kn,
                      const unsigned char *a, size_t as, const float *da, const int32_t *corr, int64_t ks,
                      float *out, int64_t ldo, int vlast, int first) {
    (void)corr;
    __m256 acc[4][4];
    for (int p = 0; p < NP; p++)
        for (int t = 0; t < NT; t++)
            acc[p][t] = first ? _mm256_setzero_ps() : flt_avx2_load_first(out + t * ldo + PR * p, p == NP - 1 ? vlast : PR);
    for (int64_t b = 0; b < kn; b++) {
        const unsigned char *wb = w + (size_t)b * Q8_PB;
        __m256i s[4][4];
        q8_group(NP, NT, wb, pb, a, as, b, 0, s, 1);
        /* rolled for the reason given in q4_tile */
#pragma GCC unroll 1
        for (int g = 1; g < 8; g++) q8_group(NP, NT, wb, pb, a, as, b, g, s, 0);
        for (int p = 0; p < NP; p++) {
            const __m256 dw = scales8(wb + (size_t)p * pb);
            for (int t = 0; t < NT; t++)
                acc[p][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(da[t * ks + b])),
                                            _mm256_cvtepi32_ps(s[p][t]), acc[p][t]);
        }
    }
    for (int p = 0; p < NP; p++)
        for (int t = 0; t < NT; t++) flt_avx2_store_first(out + t * ldo + PR * p, p == NP - 1 ? vlast : PR, acc[p][t]);
}

#define Q8_TILE_FN(NP, NT)                                                                                          \
    FLT_AVX2 static void q8_tile_##NP##x##NT(const unsigned char *w, size_t pb, int64_t kn, const unsigned char *a, \
                                             size_t as, const float *da, const int32_t *corr, int64_t ks,          \
                                             float *out, int64_t ldo, int vlast, int first) {                       \
        q8_tile(NP, NT, w, pb, kn, a, as, da, corr, ks, out, ldo, vlast, first);                                    \
    }
Q8_TILE_FN(1, 1)
Q8_TILE_FN(4, 1)
Q8_TILE_FN(1, 4)

#undef Q4_TILE_FN
#undef Q8_TILE_FN

/* ---- the driver shared by both types ------------------------------------------ */

typedef void (*tile_fn)(const unsigned char *w, size_t pb, int64_t kn, const unsigned char *a, size_t as,
                        const float *da, const int32_t *corr, int64_t ks, float *out, int64_t ldo, int vlast,
                        int first);

typedef struct tiles {
    size_t panel_block; /* bytes of one block of a panel */
    tile_fn one, panels4, tokens4;
    int offset;         /* Q4_0: the table holds the int16 slot offsets too */
} tiles;

/* Tokens in chunks whose table fits TAB entries; columns in stretches of at
 * most TAB blocks (only for rows over 131072 columns), the partial sums
 * carried in out. */
FLT_AVX2 static void gemm_driver(const tiles *k, int64_t cols, const void *packed, int64_t r0, int64_t nr,
                                 const void *a, size_t as, int64_t nt, float *out, int64_t ldo) {
    if (nr <= 0 || nt <= 0 || cols < FLT_QK8_0) return;
    float da[TAB];
    int32_t corr[TAB];
    const int64_t nb = cols / FLT_QK8_0;
    const size_t pb = (size_t)nb * k->panel_block;
    const int64_t ks = nb < TAB ? nb : TAB;
    /* whole 4-token tiles per chunk where the table allows */
    const int64_t tc = TAB / ks > 4 ? TAB / ks - TAB / ks % 4 : TAB / ks;
    const int64_t pfirst = r0 / PR, pend = (r0 + nr + PR - 1) / PR, rend = r0 + nr;
    const unsigned char *wbase = packed, *abase = a;
    for (int64_t t0 = 0; t0 < nt; t0 += tc) {
        const int64_t tn = nt - t0 < tc ? nt - t0 : tc;
        for (int64_t kb0 = 0; kb0 < nb; kb0 += ks) {
            const int64_t kn = nb - kb0 < ks ? nb - kb0 : ks;
            const unsigned char *at = abase + (size_t)t0 * as + (size_t)kb0 * QB;
            act_table(abase + (size_t)t0 * as, as, tn, kb0, kn, da, k->offset ? corr : NULL);
            const int first = kb0 == 0;
            for (int64_t p = pfirst; p < pend;) {
                const unsigned char *wp = wbase + (size_t)p * pb + (size_t)kb0 * k->panel_block;
                float *op = out + (p * PR - r0);
                if (tn < 4) {
                    /* generation: 4 panels share each token's broadcasts */
                    const int np = p + 4 <= pend ? 4 : 1;
                    const int64_t last = p + np - 1;
                    const int vlast = (int)(rend - last * PR < PR ? rend - last * PR : PR);
                    for (int64_t t = 0; t < tn; t++)
                        (np == 4 ? k->panels4 : k->one)(wp, pb, kn, at + (size_t)t * as, as, da + t * kn,
                                                        corr + t * kn, kn, op + t * ldo, ldo, vlast, first);
                    p += np;
                } else {
                    /* prompts: the panel stays in L1 while the chunk's tokens pass */
                    const int vlast = (int)(rend - p * PR < PR ? rend - p * PR : PR);
                    int64_t t = 0;
                    for (; t + 4 <= tn; t += 4)
                        k->tokens4(wp, pb, kn, at + (size_t)t * as, as, da + t * kn, corr + t * kn, kn,
                                   op + t * ldo, ldo, vlast, first);
                    for (; t < tn; t++)
                        k->one(wp, pb, kn, at + (size_t)t * as, as, da + t * kn, corr + t * kn, kn, op + t * ldo,
                               ldo, vlast, first);
                    p++;
                }
            }
        }
        out += tc * ldo;
    }
}

static const tiles q4_tiles = {Q4_PB, q4_tile_1x1, q4_tile_4x1, q4_tile_1x4, 1};
static const tiles q8_tiles = {Q8_PB, q8_tile_1x1, q8_tile_4x1, q8_tile_1x4, 0};

FLT_AVX2 static void q4_gemm(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as,
                             int64_t nt, float *out, int64_t ldo) {
    gemm_driver(&q4_tiles, cols, packed, r0, nr, a, as, nt, out, ldo);
}

FLT_AVX2 static void q8_gemm(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as,
                             int64_t nt, float *out, int64_t ldo) {
    gemm_driver(&q8_tiles, cols, packed, r0, nr, a, as, nt, out, ldo);
}

static const flt_packed_kernel q4_0_x8 = {"q4_0x8_avx2", PR, q4_panel_bytes, q4_pack, q4_gemm};
static const flt_packed_kernel q8_0_x8 = {"q8_0x8_avx2", PR, q8_panel_bytes, q8_pack, q8_gemm};

const flt_packed_kernel *flt_packed_q4_0_avx2(void) { return &q4_0_x8; }
const flt_packed_kernel *flt_packed_q8_0_avx2(void) { return &q8_0_x8; }

#else

const flt_packed_kernel *flt_packed_q4_0_avx2(void) { return NULL; }
const flt_packed_kernel *flt_packed_q8_0_avx2(void) { return NULL; }

#endif
