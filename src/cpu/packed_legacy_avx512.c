/* Packed AVX-512 VNNI products of Q4_0, Q5_0 and Q8_0 weights with Q8_0
 * activations (cpu/packed.h): layouts "q4_0x16", "q5_0x16" and "q8_0x16",
 * exactly the plain size (16 rows x 18, 22 or 34 bytes per block of 32
 * columns).
 *
 * A panel is 16 rows. Its blocks go in pairs (the last one alone when the
 * block count is odd); a pair is the two blocks' quants, then their scales:
 *   [quants of block b][quants of block b+1][scales of b][scales of b+1]
 * so in a 64-byte aligned panel every vector load is aligned. The quants of a
 * block are G groups of 64 bytes; group g holds 4 bytes per row, row r at
 * bytes 4r..4r+3, so one VPDPBUSD with 4 activation bytes broadcast computes
 * 16 rows x 4 columns:
 *   Q4_0 (G = 4): the plain qs[4g..4g+3] of row r, unchanged: low nibbles are
 *     columns 4g..4g+3, high nibbles columns 16+4g..16+4g+3 (unsigned 0..15).
 *   Q5_0 (G = 4, then 64 bytes of fifth bits): the nibbles as in Q4_0, then
 *     eight little-endian 64-bit masks, mask m for the register of nibbles
 *     its group makes (m = g: low nibbles of group g, m = 4 + g: high ones):
 *     bit 4r+k of mask m = bit 4m+k of row r's qh, the fifth bit of byte
 *     4r+k of that register. A k-mask load and a masked byte add of 16 turn
 *     the nibbles into the unsigned 0..31, without widening anything.
 *   Q8_0 (G = 8): qs[4g..4g+3] of row r XOR 0x80 (unsigned w + 128).
 * Every block's quant bytes are a multiple of 64 (256, 320, 512). The scales
 * are the 16 rows' binary16 d, row r at bytes 2r..2r+1. Rows past the matrix
 * are zero weights (d = 0, quants meaning 0).
 *
 * The unsigned offset (8, 16 or 128) times the block's activation sum is taken
 * out by starting the block's int32 sums from -offset * sum(a), computed once
 * per call for each token and block into a stack table, with the activation
 * scale as a float. Each block then adds
 *   acc[r] = fma((float)isum[r], d_w[r] * d_a, acc[r])
 * in block order into lane r (d_w * d_a is exact: two 11-bit significands), so
 * an output is a pure function of its row and token whatever the tile, chunk
 * or thread it was computed in (partial sums between chunks go through out as
 * floats, which changes nothing). */
#include <stddef.h>
#include <stdint.h>

#include "cpu/packed.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#include "core/checked.h"
#include "core/quant_blocks.h"
#include "cpu/kernels_avx512.h"

enum {
    PR = 16,            /* rows per panel */
    SB = 2 * PR,        /* scale bytes per block */
    Q4_QB = 4 * 64,     /* quant bytes per block */
    Q5_QB = 5 * 64,     /* the Q4_0 nibbles, then 8 high-bit masks */
    Q8_QB = 8 * 64,
    /* One token: two panels at once (two streams), each prefetched into L2
     * PF bytes ahead, which takes the stream from 91-95 % of a plain read
     * loop's DRAM bandwidth to 100-105 % of it. */
    NP1 = 2,
    PF = 2048,
    MAX_NP = 2,         /* panels a tile's register arrays hold */
    /* Several tokens: tiles of 2 panels x TW tokens (12 float and 12 int32
     * accumulators; each weight register serves 6 tokens, each broadcast
     * activation 2 panels), the panel pair outermost so its weights stay in
     * cache while a chunk of up to TC tokens passes, BC blocks at a time. */
    TW = 6,
    BC = 128,
    TC = 48,
    /* the table: 48 KiB, so the stack frame stays under 64 KiB */
    TAB_ENTRIES = 6144,
};

_Static_assert(PR * sizeof(flt_block_q4_0) == Q4_QB + SB, "q4_0x16 is the plain size");
_Static_assert(PR * sizeof(flt_block_q5_0) == Q5_QB + SB, "q5_0x16 is the plain size");
_Static_assert(PR * sizeof(flt_block_q8_0) == Q8_QB + SB, "q8_0x16 is the plain size");
_Static_assert(TC % TW == 0 && TC * BC <= TAB_ENTRIES, "table chunking");

/* the weight types of this file: KQ5 is KQ4 plus one step (the fifth bits) */
enum { KQ4, KQ5, KQ8 };
static inline size_t quant_bytes(int k) { return k == KQ4 ? Q4_QB : k == KQ5 ? Q5_QB : Q8_QB; }

/* one token's view of one block: bias = -off * sum(qs), d = its scale */
typedef struct act_entry {
    int32_t bias;
    float d;
} act_entry;

/* ---- layout ---------------------------------------------------------------- */

static size_t panel_bytes_of(int64_t cols, size_t qb) {
    if (cols <= 0 || cols % 32) return 0;
    size_t out;
    if ((uint64_t)(cols / 32) > SIZE_MAX || !flt_mul_size((size_t)(cols / 32), qb + SB, &out)) return 0;
    return out;
}
static size_t q4_panel_bytes(int64_t cols) { return panel_bytes_of(cols, Q4_QB); }
static size_t q5_panel_bytes(int64_t cols) { return panel_bytes_of(cols, Q5_QB); }
static size_t q8_panel_bytes(int64_t cols) { return panel_bytes_of(cols, Q8_QB); }

/* where block b of a panel keeps its quants and its scales */
static inline size_t quant_off(int64_t b, size_t qb) { return (size_t)b * (qb + SB) - (size_t)(b & 1) * SB; }
static inline size_t scale_off(int64_t nb, int64_t b, size_t qb) {
    const size_t pair = (size_t)(b & ~(int64_t)1) * (qb + SB);
    return pair + ((b | 1) < nb ? 2 : 1) * qb + (size_t)(b & 1) * SB;
}

static void pack_any(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst,
                     int k) {
    const size_t qb = quant_bytes(k), pb = panel_bytes_of(cols, qb);
    const int64_t nb = cols / 32;
    const int groups = k == KQ8 ? 8 : 4;
    for (int64_t p = p0; p < p1; p++) {
        unsigned char *pan = (unsigned char *)dst + (size_t)p * pb;
        for (int64_t b = 0; b < nb; b++) {
            unsigned char *q = pan + quant_off(b, qb), *d = pan + scale_off(nb, b, qb);
            uint64_t hm[8] = {0}; /* Q5_0: the fifth-bit masks */
            for (int i = 0; i < PR; i++) {
                const int64_t r = p * PR + i;
                const char *row = r < rows ? (const char *)w + (size_t)r * ws : NULL;
                if (r >= rows) {
                    const int zero = k == KQ4 ? 0x88 : k == KQ5 ? 0 : 0x80;
                    memset(d + 2 * i, 0, 2);
                    for (int g = 0; g < groups; g++) memset(q + 64 * g + 4 * i, zero, 4);
                    for (int m = 0; m < 8; m++) hm[m] |= (uint64_t)0xf << 4 * i; /* 16: zero in Q5_0 */
                } else if (k == KQ8) {
                    const flt_block_q8_0 *x = (const flt_block_q8_0 *)row + b;
                    memcpy(d + 2 * i, &x->d, 2);
                    for (int g = 0; g < groups; g++) {
                        uint32_t v;
                        memcpy(&v, x->qs + 4 * g, 4);
                        v ^= 0x80808080u;
                        memcpy(q + 64 * g + 4 * i, &v, 4);
                    }
                } else if (k == KQ4) {
                    const flt_block_q4_0 *x = (const flt_block_q4_0 *)row + b;
                    memcpy(d + 2 * i, &x->d, 2);
                    for (int g = 0; g < groups; g++) memcpy(q + 64 * g + 4 * i, x->qs + 4 * g, 4);
                } else {
                    const flt_block_q5_0 *x = (const flt_block_q5_0 *)row + b;
                    memcpy(d + 2 * i, &x->d, 2);
                    for (int g = 0; g < groups; g++) memcpy(q + 64 * g + 4 * i, x->qs + 4 * g, 4);
                    const uint32_t qh = (uint32_t)x->qh[0] | (uint32_t)x->qh[1] << 8 | (uint32_t)x->qh[2] << 16 |
                                        (uint32_t)x->qh[3] << 24;
                    for (int m = 0; m < 8; m++) hm[m] |= (uint64_t)(qh >> 4 * m & 0xf) << 4 * i;
                }
            }
            if (k == KQ5) /* little-endian, whatever the host */
                for (int m = 0; m < 8; m++)
                    for (int j = 0; j < 8; j++) q[Q4_QB + 8 * m + j] = (unsigned char)(hm[m] >> 8 * j);
        }
    }
}
static void q4_pack(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst) {
    pack_any(w, ws, rows, cols, p0, p1, dst, KQ4);
}
static void q5_pack(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst) {
    pack_any(w, ws, rows, cols, p0, p1, dst, KQ5);
}
static void q8_pack(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst) {
    pack_any(w, ws, rows, cols, p0, p1, dst, KQ8);
}

/* ---- the activation table ------------------------------------------------- */

FLT_AVX512_INL int32_t block_sum(const int8_t *qs) {
    /* sum of (q + 128) as unsigned bytes, then the offset back out */
    const __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)qs), _mm256_set1_epi8((char)0x80));
    const __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256());
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi64(h, _mm_unpackhi_epi64(h, h));
    return _mm_cvtsi128_si32(h) - 32 * 128;
}

/* Entries for tokens [0, tn) of a (token 0's row) and blocks [b0, b0 + bn):
 * tile j = t / tw at tab + j * bn * tw, then block, then token in the tile. */
FLT_AVX512_ATTR static void build_table(act_entry *tab, const char *a, size_t as, int64_t tn, int64_t b0, int64_t bn,
                                        int64_t tw, int32_t off) {
    for (int64_t t = 0; t < tn; t++) {
        const flt_block_q8_0 *y = (const flt_block_q8_0 *)(a + (size_t)t * as) + b0;
        act_entry *e = tab + (t / tw) * bn * tw + t % tw;
        for (int64_t b = 0; b < bn; b++) {
            e[b * tw].bias = -off * block_sum(y[b].qs);
            e[b * tw].d = _cvtsh_ss(y[b].d);
        }
    }
}

/* ---- the products ---------------------------------------------------------- */

FLT_AVX512_INL __m512i bcast4(const char *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* The fifth bits of one register of Q5_0 nibbles (a k-mask load; the masks
 * are 8-byte aligned in a panel that starts 32-byte aligned). */
FLT_AVX512_INL __mmask64 high_bits(const unsigned char *p) {
    return _load_mask64((__mmask64 *)(uintptr_t)p);
}

/* One block of NP panels (pb bytes apart) x T tokens: q = the block's quants
 * in the first panel, ds its scales, y = token 0's activation block (tokens as
 * bytes apart), e its table entries (token t at e[t]). */
_Static_assert(NP1 >= 1 && NP1 <= MAX_NP, "the one-token tile must fit the register arrays");

FLT_AVX512_INL void block_step(__m512 acc[][TW], const unsigned char *q, const unsigned char *ds, size_t pb,
                               const char *y, size_t as, const act_entry *e, int k, int NP, int T) {
    __m512i ia[MAX_NP][TW];
    for (int t = 0; t < T; t++) {
        const __m512i bias = _mm512_set1_epi32(e[t].bias);
        for (int p = 0; p < NP; p++) ia[p][t] = bias;
    }
    const __m512i m0f = _mm512_set1_epi8(0x0f), b16 = _mm512_set1_epi8(16);
    const int groups = k == KQ8 ? 8 : 4;
    /* unrolled, the accumulators stay put (GCC keeps Q5_0's bigger body as
     * a loop that copies them every round: about 10 % of its prompt speed) */
#pragma GCC unroll 8
    for (int g = 0; g < groups; g++) {
        __m512i lo[MAX_NP], hi[MAX_NP];
        for (int p = 0; p < NP; p++) {
            const unsigned char *qp = q + (size_t)p * pb;
            const __m512i v = _mm512_loadu_si512((const void *)(qp + 64 * g));
            if (k == KQ8) {
                lo[p] = v;
                continue;
            }
            lo[p] = _mm512_and_si512(v, m0f);
            hi[p] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m0f);
            if (k == KQ5) {
                lo[p] = _mm512_mask_add_epi8(lo[p], high_bits(qp + Q4_QB + 8 * g), lo[p], b16);
                hi[p] = _mm512_mask_add_epi8(hi[p], high_bits(qp + Q4_QB + 8 * (4 + g)), hi[p], b16);
            }
        }
        for (int t = 0; t < T; t++) {
            const char *qa = y + (size_t)t * as + offsetof(flt_block_q8_0, qs);
            const __m512i x0 = bcast4(qa + 4 * g);
            for (int p = 0; p < NP; p++) ia[p][t] = _mm512_dpbusd_epi32(ia[p][t], lo[p], x0);
            if (k != KQ8) {
                const __m512i x1 = bcast4(qa + 16 + 4 * g);
                for (int p = 0; p < NP; p++) ia[p][t] = _mm512_dpbusd_epi32(ia[p][t], hi[p], x1);
            }
        }
    }
    for (int p = 0; p < NP; p++) {
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(ds + (size_t)p * pb)));
        for (int t = 0; t < T; t++) {
            const __m512 s = _mm512_mul_ps(dw, _mm512_set1_ps(e[t].d));
            acc[p][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[p][t]), s, acc[p][t]);
        }
    }
}

/* A tile: NP panels from pan (their out rows from o, rows_left of them
 * wanted), T tokens from a (entry stride es in e, the entries of block b0),
 * blocks [b0, b1). The first chunk of a row starts from zero, later ones
 * continue the sums left in out. pf: prefetch the panels' coming bytes. */
FLT_AVX512_INL void tile(const unsigned char *pan, size_t pb, int64_t b0, int64_t b1, const char *a,
                         size_t as, const act_entry *e, int64_t es, float *o, int64_t ldo, int64_t rows_left, int k,
                         int NP, int T, bool pf) {
    const size_t qb = quant_bytes(k), bb = qb + SB;
    __m512 acc[MAX_NP][TW];
    __mmask16 m[MAX_NP];
    for (int p = 0; p < NP; p++) {
        const int64_t left = rows_left - (int64_t)p * PR;
        m[p] = left >= PR ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        for (int t = 0; t < T; t++)
            acc[p][t] = b0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m[p], o + t * ldo + p * PR);
    }
    /* blocks go in pairs: [quants b][quants b + 1][scales b][scales b + 1]; b0 is even */
    const size_t ys = sizeof(flt_block_q8_0);
    int64_t b = b0;
    for (; b + 1 < b1; b += 2, e += 2 * es) {
        const unsigned char *q = pan + (size_t)b * bb;
        if (pf)
            for (int p = 0; p < NP; p++)
                for (size_t i = 0; i < 2 * bb; i += 64) /* may point past the matrix: never faults */
                    _mm_prefetch((const char *)((uintptr_t)q + p * pb + PF + i), _MM_HINT_T1);
        block_step(acc, q, q + 2 * qb, pb, a + (size_t)b * ys, as, e, k, NP, T);
        block_step(acc, q + qb, q + 2 * qb + SB, pb, a + (size_t)(b + 1) * ys, as, e + es, k, NP, T);
    }
    if (b < b1) /* the last block of an odd count, alone: [quants][scales] */
        block_step(acc, pan + (size_t)b * bb, pan + (size_t)b * bb + qb, pb, a + (size_t)b * ys, as, e, k, NP, T);
    for (int p = 0; p < NP; p++)
        for (int t = 0; t < T; t++) _mm512_mask_storeu_ps(o + t * ldo + p * PR, m[p], acc[p][t]);
}

typedef void (*tile_fn)(const unsigned char *pan, size_t pb, int64_t b0, int64_t b1, const char *a,
                        size_t as, const act_entry *e, int64_t es, float *o, int64_t ldo, int64_t rows_left);
#define TILE_FN(name, k, NP, T, pf)                                                                           \
    FLT_AVX512_ATTR static void name(const unsigned char *pan, size_t pb, int64_t b0, int64_t b1,             \
                                     const char *a, size_t as, const act_entry *e, int64_t es, float *o,      \
                                     int64_t ldo, int64_t rows_left) {                                        \
        tile(pan, pb, b0, b1, a, as, e, es, o, ldo, rows_left, k, NP, T, pf);                                 \
    }
/* per type: the one-token tiles, then [panels - 1][tokens - 1] */
typedef struct tile_set {
    tile_fn gen_n, gen_1, tiles[2][TW];
} tile_set;
#define TILE_SET(ty, k)                                                                                       \
    TILE_FN(ty##_gen_n, k, NP1, 1, true) TILE_FN(ty##_gen_1, k, 1, 1, true)                                   \
    TILE_FN(ty##_1x1, k, 1, 1, false) TILE_FN(ty##_1x2, k, 1, 2, false) TILE_FN(ty##_1x3, k, 1, 3, false)     \
    TILE_FN(ty##_1x4, k, 1, 4, false) TILE_FN(ty##_1x5, k, 1, 5, false) TILE_FN(ty##_1x6, k, 1, 6, false)     \
    TILE_FN(ty##_2x1, k, 2, 1, false) TILE_FN(ty##_2x2, k, 2, 2, false) TILE_FN(ty##_2x3, k, 2, 3, false)     \
    TILE_FN(ty##_2x4, k, 2, 4, false) TILE_FN(ty##_2x5, k, 2, 5, false) TILE_FN(ty##_2x6, k, 2, 6, false)     \
    static const tile_set ty##_set = {                                                                        \
        ty##_gen_n,                                                                                           \
        ty##_gen_1,                                                                                           \
        {{ty##_1x1, ty##_1x2, ty##_1x3, ty##_1x4, ty##_1x5, ty##_1x6},                                        \
         {ty##_2x1, ty##_2x2, ty##_2x3, ty##_2x4, ty##_2x5, ty##_2x6}},                                       \
    };

TILE_SET(q4t, KQ4)
TILE_SET(q5t, KQ5)
TILE_SET(q8t, KQ8)

static void gemm_any(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as,
                     int64_t nt, float *out, int64_t ldo, int k) {
    const size_t pb = panel_bytes_of(cols, quant_bytes(k));
    const int64_t nb = cols / 32;
    const tile_set *ts = k == KQ4 ? &q4t_set : k == KQ5 ? &q5t_set : &q8t_set;
    const int32_t off = k == KQ4 ? 8 : k == KQ5 ? 16 : 128;
    if (nr <= 0 || nt <= 0) return;
    if (pb == 0) { /* no columns: every product is an empty sum */
        for (int64_t t = 0; t < nt; t++)
            for (int64_t r = 0; r < nr; r++) out[t * ldo + r] = 0.0f;
        return;
    }
    const unsigned char *base = (const unsigned char *)packed + (size_t)(r0 / PR) * pb;
    const int64_t np = (nr + PR - 1) / PR;
    act_entry tab[TAB_ENTRIES];
    if (nt == 1) {
        /* generation: each panel run is one pass over contiguous memory */
        for (int64_t b0 = 0; b0 < nb; b0 += TAB_ENTRIES) {
            const int64_t bn = nb - b0 < TAB_ENTRIES ? nb - b0 : TAB_ENTRIES;
            build_table(tab, a, as, 1, b0, bn, 1, off);
            int64_t p = 0;
            for (; p + NP1 <= np; p += NP1)
                ts->gen_n(base + (size_t)p * pb, pb, b0, b0 + bn, a, as, tab, 1, out + p * PR, ldo, nr - p * PR);
            for (; p < np; p++)
                ts->gen_1(base + (size_t)p * pb, pb, b0, b0 + bn, a, as, tab, 1, out + p * PR, ldo, nr - p * PR);
        }
        return;
    }
    for (int64_t t0 = 0; t0 < nt; t0 += TC) {
        const int64_t tn = nt - t0 < TC ? nt - t0 : TC;
        const char *at = (const char *)a + (size_t)t0 * as;
        for (int64_t b0 = 0; b0 < nb; b0 += BC) {
            const int64_t bn = nb - b0 < BC ? nb - b0 : BC;
            build_table(tab, at, as, tn, b0, bn, TW, off);
            for (int64_t p = 0; p < np; p += 2) {
                const int two = p + 1 < np;
                for (int64_t j = 0; j * TW < tn; j++) {
                    const int64_t tt = tn - j * TW < TW ? tn - j * TW : TW;
                    ts->tiles[two][tt - 1](base + (size_t)p * pb, pb, b0, b0 + bn, at + (size_t)(j * TW) * as, as,
                                           tab + j * bn * TW, TW, out + (t0 + j * TW) * ldo + p * PR, ldo,
                                           nr - p * PR);
                }
            }
        }
    }
}

static void q4_gemm(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as, int64_t nt,
                    float *out, int64_t ldo) {
    gemm_any(cols, packed, r0, nr, a, as, nt, out, ldo, KQ4);
}
static void q5_gemm(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as, int64_t nt,
                    float *out, int64_t ldo) {
    gemm_any(cols, packed, r0, nr, a, as, nt, out, ldo, KQ5);
}
static void q8_gemm(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as, int64_t nt,
                    float *out, int64_t ldo) {
    gemm_any(cols, packed, r0, nr, a, as, nt, out, ldo, KQ8);
}

static const flt_packed_kernel q4_0x16 = {"q4_0x16", PR, q4_panel_bytes, q4_pack, q4_gemm};
static const flt_packed_kernel q5_0x16 = {"q5_0x16", PR, q5_panel_bytes, q5_pack, q5_gemm};
static const flt_packed_kernel q8_0x16 = {"q8_0x16", PR, q8_panel_bytes, q8_pack, q8_gemm};

const flt_packed_kernel *flt_packed_q4_0_avx512(void) { return &q4_0x16; }
const flt_packed_kernel *flt_packed_q8_0_avx512(void) { return &q8_0x16; }
const flt_packed_kernel *flt_packed_q5_0_avx512(void) { return &q5_0x16; }

#else

const flt_packed_kernel *flt_packed_q4_0_avx512(void) { return NULL; }
const flt_packed_kernel *flt_packed_q8_0_avx512(void) { return NULL; }
const flt_packed_kernel *flt_packed_q5_0_avx512(void) { return NULL; }

#endif
