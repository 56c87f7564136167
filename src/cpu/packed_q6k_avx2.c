/* Packed Q6_K weights x Q8_K activations for the AVX2 set (AVX2 + FMA +
 * F16C, no AVX-512 or VNNI: AMD Zen 3 and older Intel). Layout
 * "q6_kx8_avx2": panels of 8 rows, one 256-bit register = 8 int32 lanes =
 * the 8 rows, exactly the plain size (8 x 210 bytes per 256-column
 * super-block).
 *
 * A super-block of a panel is 1680 contiguous bytes in three regions:
 *   Q: 8 pairs of sub-blocks x 192 bytes. Pair k (sub-blocks 2k and 2k+1,
 *      columns 32k..32k+31) is two halves h of three 32-byte vectors W0..W2;
 *      bytes 4r..4r+3 of a vector belong to row r. Byte i of a row's group j
 *      (j = 0..3) stands for column
 *        c(h, j, i) = 32k + 16 * (i >> 1) + 8h + 2j + (i & 1),
 *      so the two low bytes of a lane are in sub-block 2k and the two high
 *      ones in sub-block 2k+1. Wj (j < 3) holds group j's 6-bit quants
 *      (0..63) in its low six bits and bits 2j..2j+1 of group 3's quants in
 *      its top two bits.
 *   S: 8 pairs x 16 int8 scales: byte 2r = row r's scale of sub-block 2k,
 *      byte 2r+1 that of 2k+1 (one VPMOVSXBW gives the madd operand).
 *   D: the 8 rows' f16 d.
 * Super-blocks alternate between 0 and 16 bytes past a 32-byte boundary
 * (1680 = 52.5 x 32; the packed matrix starts 64-byte aligned): the aligned
 * ones are Q, S, D and the others D, Q, S, so Q vectors never split a
 * cache line.
 *
 * Products without VNNI. Unpacking a half is 11 operations for 4 vectors of
 * 8 rows x 4 columns. The activations are rearranged once per call into a
 * stack table matching the lanes (4 bytes per group, broadcast), with, per
 * half, cor = 32 x (sum of the 8 activations each int16 slot sees). Then
 *   X = cor - sum_j VPMADDUBSW(group j, its activations)
 * is, per int16 slot, sum (32 - q) * a over 8 columns of one sub-block:
 * VPMADDUBSW never saturates (2 x 63 x 128 < 2^15), the int16 adds may wrap
 * on the way, but the result lies in [-32768, 32512] for any activation
 * byte, -128 included, so it is exact. One VPMADDWD with the pair's scales
 * then gives the int32 sum over both sub-blocks, and the super-block's
 * int32 total is exactly minus the scalar oracle's (|total| < 2^28); the
 * activations' bsums are not used. Each output element is then, super-block
 * by super-block in order,
 *   acc = fnmadd((float)total, d_w * d_a, acc)
 * from acc = 0 (one rounding, the same as an FMA with the true sign): the
 * same operations in every path below, so the same bits for any split of
 * rows or tokens.
 *
 * Fewer than 4 tokens (generation) unpack on the fly, one panel at a time,
 * streaming the packed matrix in order with a software prefetch 2 KiB
 * ahead. Batches go by chunks of 32 tokens x 4 super-blocks: each panel's
 * chunk is unpacked once into a stack scratch (scales widened, d as float)
 * and 4-token tiles run over it while the next panel's chunk is prefetched;
 * the sums so far wait in out between chunks. Stack use is under 52 KiB
 * whatever cols and nt are. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpu/packed.h"
#include "cpu/packed_k_util.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "core/quant_blocks.h"
#include "cpu/avx2_util.h"

#define FLT_TILE FLT_AVX2 static inline __attribute__((always_inline))

enum {
    PR = 8,                        /* rows per panel */
    HALF_Q = 96,                   /* bytes of one half of a pair: three vectors */
    PAIR_Q = 2 * HALF_Q,           /* 8 rows x 32 columns x 6 bits */
    SB_Q = 8 * PAIR_Q,             /* 1536 */
    SB_S = 8 * 16,                 /* 128 */
    SB_D = 2 * PR,                 /* 16 */
    SB_BYTES = SB_Q + SB_S + SB_D, /* 1680 */
    ENT_A = FLT_QK_K,              /* table entry per (token, super-block): rearranged activations... */
    ENT = ENT_A + 8 * 2 * 4,       /* ...and the int16 pairs cor per pair and half: 320 bytes */
    TAB_ENTS = 128,                /* 40 KiB of table */
    TC = 32,                       /* tokens per chunk */
    TT = 4,                        /* tokens per tile */
    KC_SCR = 4,                    /* super-blocks per scratch chunk */
    SCR_Q = 8 * 2 * 4 * 32,        /* unpacked quants of one super-block: pair, half, group */
    /* Generation prefetches this far ahead of the stream: alone, the hardware
     * prefetchers left about a quarter of a core's DRAM bandwidth unused on
     * the development machine; 1.5-2 KiB ahead matched a plain read loop */
    PF_DIST = 2048,
};
_Static_assert(SB_BYTES == PR * sizeof(flt_block_q6_k), "packed size must equal the plain size");
_Static_assert(TAB_ENTS / TC >= KC_SCR, "a full token chunk must fill the scratch");

/* ---- layout ------------------------------------------------------------------ */

static size_t q6k_panel_bytes(int64_t cols) {
    if (cols <= 0 || cols % FLT_QK_K != 0 || cols / FLT_QK_K > (int64_t)(SIZE_MAX / SB_BYTES)) return 0;
    return (size_t)(cols / FLT_QK_K) * SB_BYTES;
}

/* Region offsets of super-block g of the whole matrix (g = panel * nsb + b). */
static inline size_t off_q(int64_t g) { return (g & 1) ? SB_D : 0; }
static inline size_t off_s(int64_t g) { return off_q(g) + SB_Q; }
static inline size_t off_d(int64_t g) { return (g & 1) ? 0 : SB_Q + SB_S; }

static void q6k_pack(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst) {
    const int64_t nsb = cols / FLT_QK_K;
    const size_t pb = (size_t)nsb * SB_BYTES;
    for (int64_t p = p0; p < p1; p++) {
        for (int64_t b = 0; b < nsb; b++) {
            const int64_t g = p * nsb + b;
            uint8_t *sb = (uint8_t *)dst + (size_t)p * pb + (size_t)b * SB_BYTES;
            uint8_t *qd = sb + off_q(g), *sd = sb + off_s(g), *dd = sb + off_d(g);
            for (int r = 0; r < PR; r++) {
                const int64_t row = p * PR + r;
                uint8_t q[FLT_QK_K];
                int8_t sc[16];
                uint16_t d;
                flt_q6k_read_block(w, ws, rows, row, b, q, sc, &d);
                for (int k = 0; k < 8; k++) {
                    for (int h = 0; h < 2; h++) {
                        uint8_t *v = qd + k * PAIR_Q + h * HALF_Q + 4 * r;
                        for (int i = 0; i < 4; i++) {
                            const int c = 32 * k + 16 * (i >> 1) + 8 * h + (i & 1);
                            const unsigned top = q[c + 6];
                            for (int j = 0; j < 3; j++)
                                v[32 * j + i] = (uint8_t)(q[c + 2 * j] | ((top >> (2 * j)) & 3) << 6);
                        }
                    }
                    sd[16 * k + 2 * r] = (uint8_t)sc[2 * k];
                    sd[16 * k + 2 * r + 1] = (uint8_t)sc[2 * k + 1];
                }
                memcpy(dd + 2 * r, &d, sizeof d);
            }
        }
    }
}

/* ---- shared pieces ------------------------------------------------------------- */

FLT_TILE __m256i bcast4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* The four groups of one half, unsigned 0..63. The 16-bit shifts move bits
 * across bytes; the masks keep only those that stayed in their byte. */
FLT_TILE void unpack_half(const uint8_t *v, __m256i q[4]) {
    const __m256i m3f = _mm256_set1_epi8(0x3f);
    const __m256i w0 = _mm256_loadu_si256((const __m256i *)v);
    const __m256i w1 = _mm256_loadu_si256((const __m256i *)(v + 32));
    const __m256i w2 = _mm256_loadu_si256((const __m256i *)(v + 64));
    q[0] = _mm256_and_si256(w0, m3f);
    q[1] = _mm256_and_si256(w1, m3f);
    q[2] = _mm256_and_si256(w2, m3f);
    const __m256i a = _mm256_and_si256(_mm256_srli_epi16(w0, 6), _mm256_set1_epi8(0x03));
    const __m256i b = _mm256_and_si256(_mm256_srli_epi16(w1, 4), _mm256_set1_epi8(0x0c));
    const __m256i c = _mm256_and_si256(_mm256_srli_epi16(w2, 2), _mm256_set1_epi8(0x30));
    q[3] = _mm256_or_si256(_mm256_or_si256(a, b), c);
}

/* One token's half k, h: X per int16 slot = sum (32 - q) * a over its 8
 * columns (exact, see the top), then times the pair's scales into int32.
 * e is the token's table entry. */
FLT_TILE __m256i half_dot(const __m256i q[4], __m256i sc, const uint8_t *e, int k, int h) {
    const uint8_t *ag = e + 32 * k + 16 * h;
    const __m256i p01 =
        _mm256_add_epi16(_mm256_maddubs_epi16(q[0], bcast4(ag)), _mm256_maddubs_epi16(q[1], bcast4(ag + 4)));
    const __m256i p23 =
        _mm256_add_epi16(_mm256_maddubs_epi16(q[2], bcast4(ag + 8)), _mm256_maddubs_epi16(q[3], bcast4(ag + 12)));
    const __m256i x = _mm256_sub_epi16(bcast4(e + ENT_A + 8 * k + 4 * h), _mm256_add_epi16(p01, p23));
    return _mm256_madd_epi16(x, sc);
}

/* The table: per token t of the chunk and super-block b of it, entry
 * t * kc + b holds the activations rearranged as the lanes want them (pair
 * k, half h, group j at 32k + 16h + 4j: columns 32k + 8h + 2j, +1, +16,
 * +17), then the int16 pairs cor for (k, h) at ENT_A + 8k + 4h; da holds d. */
typedef struct q6k_table {
    _Alignas(64) uint8_t ent[TAB_ENTS][ENT];
    float da[TAB_ENTS];
} q6k_table;

FLT_AVX2 static void build_table(q6k_table *tab, const char *a, size_t as, int64_t tn, int64_t c0, int64_t kc) {
    const __m128i bias = _mm_set1_epi8((char)0x80);
    for (int64_t t = 0; t < tn; t++)
        for (int64_t b = 0; b < kc; b++) {
            const flt_block_q8_k *y = (const flt_block_q8_k *)(a + (size_t)t * as) + c0 + b;
            uint8_t *e = tab->ent[t * kc + b];
            tab->da[t * kc + b] = y->d;
            for (int k = 0; k < 8; k++) {
                const __m128i x0 = _mm_loadu_si128((const __m128i *)(y->qs + 32 * k));
                const __m128i x1 = _mm_loadu_si128((const __m128i *)(y->qs + 32 * k + 16));
                _mm_storeu_si128((__m128i *)(e + 32 * k), _mm_unpacklo_epi16(x0, x1));
                _mm_storeu_si128((__m128i *)(e + 32 * k + 16), _mm_unpackhi_epi16(x0, x1));
                /* sums of 8 bytes, biased by +128 each so SAD (unsigned) takes them: 0..2040 */
                const __m128i s0 = _mm_sad_epu8(_mm_xor_si128(x0, bias), _mm_setzero_si128());
                const __m128i s1 = _mm_sad_epu8(_mm_xor_si128(x1, bias), _mm_setzero_si128());
                /* int16 words 0, 1 = sub-block 2k's and 2k+1's columns 0..7; words 4, 5 = columns 8..15.
                 * 32 * (s - 1024) lies in [-32768, 32512]: exact modulo 2^16 */
                __m128i s = _mm_or_si128(s0, _mm_slli_epi64(s1, 16));
                s = _mm_slli_epi16(_mm_sub_epi16(s, _mm_set1_epi16(1024)), 5);
                _mm_storel_epi64((__m128i *)(e + ENT_A + 8 * k), _mm_shuffle_epi32(s, _MM_SHUFFLE(3, 1, 2, 0)));
            }
        }
}

/* ---- tiles ------------------------------------------------------------------- */

/* Unpacked super-blocks of one panel: quants in group order, scales as the
 * madd operand, d as float. */
typedef struct q6k_scratch {
    _Alignas(32) uint8_t q[KC_SCR][SCR_Q];
    _Alignas(32) int16_t s[KC_SCR][8][16];
    _Alignas(32) float d[KC_SCR][PR];
} q6k_scratch;

FLT_AVX2 static void unpack_chunk(q6k_scratch *scr, const uint8_t *src, int64_t g0, int64_t kc) {
    for (int64_t b = 0; b < kc; b++) {
        const uint8_t *sb = src + (size_t)b * SB_BYTES;
        const uint8_t *qv = sb + off_q(g0 + b), *sv = sb + off_s(g0 + b);
        for (int k = 0; k < 8; k++) {
            for (int h = 0; h < 2; h++) {
                __m256i q[4];
                unpack_half(qv + k * PAIR_Q + h * HALF_Q, q);
                for (int j = 0; j < 4; j++)
                    _mm256_store_si256((__m256i *)(scr->q[b] + ((k * 2 + h) * 4 + j) * 32), q[j]);
            }
            _mm256_store_si256((__m256i *)scr->s[b][k],
                               _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(sv + 16 * k))));
        }
        _mm256_store_ps(scr->d[b], _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(sb + off_d(g0 + b)))));
    }
}

/* One panel x T tokens over kc super-blocks: from the packed panel (src at
 * the chunk's first super-block, g0 its global index) when FLY, else from
 * scr. e: the first token's first table entry (tokens kc entries
 * apart), da likewise. first: start from zero, else continue the sums in
 * out. */
FLT_TILE void tile(const int T, const int FLY, const q6k_scratch *scr, const uint8_t *src, int64_t g0, int64_t kc,
                   const uint8_t *e, const float *da, float *out, int64_t ldo, int valid, int first) {
    __m256 acc[TT];
    for (int t = 0; t < T; t++) acc[t] = first ? _mm256_setzero_ps() : flt_avx2_load_first(out + t * ldo, valid);
    for (int64_t b = 0; b < kc; b++) {
        const uint8_t *sb = FLY ? src + (size_t)b * SB_BYTES : NULL;
        const size_t qoff = off_q(g0 + b), soff = off_s(g0 + b);
        __m256i isum[TT];
        for (int t = 0; t < T; t++) isum[t] = _mm256_setzero_si256();
        for (int k = 0; k < 8; k++) {
            /* 4 lines per pair, 210 bytes apart: a super-block's worth per super-block */
            if (FLY)
                for (int i = 0; i < 256; i += 64)
                    _mm_prefetch((const char *)sb + PF_DIST + k * (SB_BYTES / 8) + i, _MM_HINT_T0);
            const __m256i sc = FLY ? _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(sb + soff + 16 * k)))
                                   : _mm256_load_si256((const __m256i *)scr->s[b][k]);
            for (int h = 0; h < 2; h++) {
                __m256i q[4];
                if (FLY)
                    unpack_half(sb + qoff + k * PAIR_Q + h * HALF_Q, q);
                else
                    for (int j = 0; j < 4; j++)
                        q[j] = _mm256_load_si256((const __m256i *)(scr->q[b] + ((k * 2 + h) * 4 + j) * 32));
                for (int t = 0; t < T; t++)
                    isum[t] = _mm256_add_epi32(isum[t], half_dot(q, sc, e + ((size_t)t * kc + b) * ENT, k, h));
            }
        }
        const __m256 dw = FLY ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(sb + off_d(g0 + b))))
                              : _mm256_load_ps(scr->d[b]);
        for (int t = 0; t < T; t++)
            acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, _mm256_set1_ps(da[t * kc + b])),
                                      acc[t]);
    }
    for (int t = 0; t < T; t++) flt_avx2_store_first(out + t * ldo, valid, acc[t]);
}

typedef void (*tile_fn)(const q6k_scratch *scr, const uint8_t *src, int64_t g0, int64_t kc, const uint8_t *e,
                        const float *da, float *out, int64_t ldo, int valid, int first);

#define FLY_TILE(T)                                                                                           \
    FLT_AVX2 static void fly_##T(const q6k_scratch *scr, const uint8_t *src, int64_t g0, int64_t kc,          \
                                 const uint8_t *e, const float *da, float *out, int64_t ldo, int valid,       \
                                 int first) {                                                                 \
        (void)scr;                                                                                            \
        tile(T, 1, NULL, src, g0, kc, e, da, out, ldo, valid, first);                                            \
    }
#define SCR_TILE(T)                                                                                           \
    FLT_AVX2 static void scr_##T(const q6k_scratch *scr, const uint8_t *src, int64_t g0, int64_t kc,          \
                                 const uint8_t *e, const float *da, float *out, int64_t ldo, int valid,       \
                                 int first) {                                                                 \
        (void)src;                                                                                            \
        (void)g0;                                                                                             \
        tile(T, 0, scr, NULL, 0, kc, e, da, out, ldo, valid, first);                                             \
    }
FLY_TILE(1) FLY_TILE(2) FLY_TILE(3)
SCR_TILE(1) SCR_TILE(2) SCR_TILE(3) SCR_TILE(4)
static const tile_fn fly_tiles[TT - 1] = {fly_1, fly_2, fly_3};
static const tile_fn scr_tiles[TT] = {scr_1, scr_2, scr_3, scr_4};
#undef FLY_TILE
#undef SCR_TILE

/* ---- driver -------------------------------------------------------------------- */

/* Token chunks, then super-block chunks as the table allows (the sums so far
 * carried in out), then panels in order. */
FLT_AVX2 static void q6k_gemm(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as,
                              int64_t nt, float *out, int64_t ldo) {
    if (nr <= 0 || nt <= 0) return;
    const int64_t nsb = cols / FLT_QK_K;
    if (nsb <= 0) {
        for (int64_t t = 0; t < nt; t++)
            for (int64_t r = 0; r < nr; r++) out[t * ldo + r] = 0.0f;
        return;
    }
    q6k_table tab;
    q6k_scratch scr;
    const size_t pb = (size_t)nsb * SB_BYTES;
    const int64_t pfirst = r0 / PR, pend = (r0 + nr + PR - 1) / PR, rend = r0 + nr;
    const uint8_t *pk = packed;
    const char *ac = a;
    for (int64_t t0 = 0; t0 < nt; t0 += TC) {
        const int64_t tc = nt - t0 < TC ? nt - t0 : TC;
        const int batch = tc >= TT;
        int64_t kcmax = TAB_ENTS / tc;
        if (batch && kcmax > KC_SCR) kcmax = KC_SCR;
        float *ot = out + t0 * ldo;
        for (int64_t c0 = 0; c0 < nsb; c0 += kcmax) {
            const int64_t kc = nsb - c0 < kcmax ? nsb - c0 : kcmax;
            build_table(&tab, ac + (size_t)t0 * as, as, tc, c0, kc);
            for (int64_t p = pfirst; p < pend; p++) {
                const int valid = (int)(rend - p * PR < PR ? rend - p * PR : PR);
                const uint8_t *src = pk + (size_t)p * pb + (size_t)c0 * SB_BYTES;
                const int64_t g0 = p * nsb + c0;
                float *op = ot + (p * PR - r0);
                if (!batch) {
                    fly_tiles[tc - 1](NULL, src, g0, kc, tab.ent[0], tab.da, op, ldo, valid, c0 == 0);
                    continue;
                }
                unpack_chunk(&scr, src, g0, kc);
                /* the next panel's chunk, a slice per tile: rows of panels lie pb apart, out of the
                 * hardware prefetchers' reach */
                const char *next = p + 1 < pend ? (const char *)src + pb : NULL;
                const int64_t lines = kc * SB_BYTES / 64 + 1, ntiles = (tc + TT - 1) / TT;
                const int64_t slice = (lines + ntiles - 1) / ntiles;
                for (int64_t t = 0, l = 0; t < tc; t += TT) {
                    const int64_t tt = tc - t < TT ? tc - t : TT;
                    for (int64_t i = 0; next && i < slice && l < lines; i++, l++)
                        _mm_prefetch(next + 64 * l, _MM_HINT_T0);
                    scr_tiles[tt - 1](&scr, NULL, 0, kc, tab.ent[t * kc], tab.da + t * kc, op + t * ldo, ldo, valid,
                                      c0 == 0);
                }
            }
        }
    }
}

static const flt_packed_kernel q6k_kernel = {
    .layout = "q6_kx8_avx2",
    .panel_rows = PR,
    .panel_bytes = q6k_panel_bytes,
    .pack = q6k_pack,
    .gemm = q6k_gemm,
};

const flt_packed_kernel *flt_packed_q6_k_avx2(void) { return &q6k_kernel; }

#else

const flt_packed_kernel *flt_packed_q6_k_avx2(void) { return NULL; }

#endif
