/* Packed Q6_K weights x Q8_K activations for the AVX-512 set (F, BW, VL,
 * VNNI): layout "q6_kx16", panels of 16 rows, exactly the plain size
 * (16 x 210 bytes per 256-column super-block).
 *
 * A panel with nsb super-blocks holds three regions:
 *   Q: nsb x 16 sub-blocks x 192 bytes. Sub-block j (columns 16j..16j+15) is
 *      three 64-byte vectors V0, V1, V2; byte 4r + i of Vm belongs to row r:
 *        Vm[4r + i] = q[16j + 4m + i] | (2 bits m of q[16j + 12 + i]) << 6
 *      (q = the 6-bit quant, 0..63; "2 bits m" = bits 2m..2m+1). So V0..V2
 *      carry columns 0..11 of the sub-block whole in their low six bits, and
 *      columns 12..15 spread over their top two bits.
 *   S: nsb x 16 sub-blocks x 16 int8 scales (byte r = row r).
 *   D: nsb x 16 f16 super-block scales d (row r at 2r).
 * Regions are in the order Q, S, D, except in panels that start 32 bytes
 * past a 64-byte boundary (panel_bytes is 3360 * nsb, so that is panel p
 * when p * nsb is odd), which put D first: then every Q vector is a whole
 * cache line whenever the packed matrix starts 64-byte aligned.
 *
 * Unpacking a sub-block is 9 operations for 4 vectors of 16 rows x 4
 * columns (unsigned 0..63). One VPDPBUSD per vector with 4 activation bytes
 * broadcast gives the 16 rows' partial sums; the -32 offset comes in exactly
 * by starting each sub-block's int32 sum at -32 * bsum (the activation's sum
 * of those 16 columns). Each sub-block's sum S (|S| <= 16 * 32 * 128 = 2^16)
 * times its scale (|sc| <= 128) is exact in float, so the per-row sum over a
 * super-block is a fixed chain of float FMAs from zero (+ Sj * scj, j in
 * order), scaled once by d * d_act into the row's accumulator: lane r of
 * every register is row r, there are no horizontal sums, and every output
 * element sees the same operations whatever the row or token split or the
 * path below. (Exact int32 over the super-block would take a VPMULLD, two
 * uops, and an add per sub-block and token, where this takes a convert and
 * an FMA.) The scalar oracle sums the super-block exactly in int32; the two
 * differ by float rounding only.
 *
 * The bsums must match the qs, as Flint's Q8_K writers guarantee (the plain
 * AVX-512 kernel relies on them the same way; the scalar oracle does not).
 *
 * Up to 7 tokens (generation) unpack on the fly, one panel at a time, with
 * the next super-block prefetched (the hardware prefetchers alone leave
 * about 10% of the DRAM bandwidth unused). Larger batches go by 128 tokens x
 * two panels: each super-block of the two panels is unpacked once into a
 * stack scratch (scales as float) and tiles of two panels x four tokens run
 * over it, so each broadcast activation feeds two VPDPBUSDs and each
 * unpacked vector four; the pair's sums stay in the scratch until its last
 * super-block and are then stored under the row mask (rows past r0 + nr are
 * never touched); the next super-block's weights are prefetched and its
 * offset table built while the current one computes. Stack use is under
 * 44 KiB (batches) or 29 KiB (few tokens) whatever cols and nt are. */
#include "cpu/packed.h"
#include "cpu/packed_k_util.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#include "core/quant_blocks.h"
#include "cpu/kernels_avx512.h"

enum {
    PR = 16,                        /* rows per panel */
    SUB_Q = 192,                    /* quant bytes of one sub-block (16 rows x 16 columns x 6 bits) */
    SB_Q = 16 * SUB_Q,              /* per super-block: 3072 */
    SB_S = 16 * PR,                 /* int8 scales: 256 */
    SB_D = 2 * PR,                  /* f16 d: 32 */
    SB_BYTES = SB_Q + SB_S + SB_D,  /* 3360 */
    MV_MAX_T = 7,                   /* up to this many tokens unpack on the fly */
    MV_TAB = 7 * 64 * 16,           /* offset table of that path: 64 super-blocks of 7 tokens */
    PP_KC = 1,                      /* super-blocks per scratch chunk */
    PP_TC = 128,                    /* tokens per scratch chunk */
    PP_T = 4                        /* tokens per register tile (of two panels) */
};
_Static_assert(SB_BYTES == PR * sizeof(flt_block_q6_k), "packed size must equal the plain size");

typedef struct q6k_regions {
    size_t q, s, d;
} q6k_regions;

static q6k_regions panel_regions(int64_t nsb, int64_t p) {
    const size_t n = (size_t)nsb;
    q6k_regions g;
    if ((p & nsb & 1) != 0) {
        g.d = 0;
        g.q = n * SB_D;
        g.s = g.q + n * SB_Q;
    } else {
        g.q = 0;
        g.s = n * SB_Q;
        g.d = g.s + n * SB_S;
    }
    return g;
}

static size_t q6k_panel_bytes(int64_t cols) {
    if (cols <= 0 || cols % FLT_QK_K != 0 || cols / FLT_QK_K > (int64_t)(SIZE_MAX / SB_BYTES)) return 0;
    return (size_t)(cols / FLT_QK_K) * SB_BYTES;
}

static void q6k_pack(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst) {
    const int64_t nsb = cols / FLT_QK_K;
    const size_t pb = (size_t)nsb * SB_BYTES;
    for (int64_t p = p0; p < p1; p++) {
        uint8_t *base = (uint8_t *)dst + (size_t)p * pb;
        const q6k_regions g = panel_regions(nsb, p);
        for (int64_t b = 0; b < nsb; b++) {
            uint8_t *qd = base + g.q + (size_t)b * SB_Q, *sd = base + g.s + (size_t)b * SB_S;
            uint8_t *dd = base + g.d + (size_t)b * SB_D;
            for (int r = 0; r < PR; r++) {
                const int64_t row = p * PR + r;
                uint8_t q[FLT_QK_K];
                int8_t sc[16];
                uint16_t d;
                flt_q6k_read_block(w, ws, rows, row, b, q, sc, &d);
                for (int j = 0; j < 16; j++) {
                    uint8_t *v = qd + j * SUB_Q + 4 * r;
                    for (int i = 0; i < 4; i++) {
                        const unsigned top = q[16 * j + 12 + i];
                        v[i] = (uint8_t)(q[16 * j + i] | (top & 3) << 6);
                        v[64 + i] = (uint8_t)(q[16 * j + 4 + i] | ((top >> 2) & 3) << 6);
                        v[128 + i] = (uint8_t)(q[16 * j + 8 + i] | (top >> 4) << 6);
                    }
                    sd[16 * j + r] = (uint8_t)sc[j];
                }
                memcpy(dd + 2 * r, &d, sizeof d);
            }
        }
    }
}

/* ---- arithmetic shared by both paths (the same operations, so the same bits) ---- */

FLT_AVX512_INL __m512i bcast32(const void *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

/* mask ? x : y, bitwise */
FLT_AVX512_INL __m512i select_bits(__m512i mask, __m512i x, __m512i y) {
    return _mm512_ternarylogic_epi32(mask, x, y, 0xca);
}

/* The four 16-row x 4-column vectors of one sub-block, bytes 0..63. */
FLT_AVX512_INL void unpack_sub(const uint8_t *v, __m512i q[4]) {
    const __m512i m3f = _mm512_set1_epi8(0x3f), m03 = _mm512_set1_epi8(0x03), m0f = _mm512_set1_epi8(0x0f);
    const __m512i v0 = _mm512_loadu_si512((const void *)v);
    const __m512i v1 = _mm512_loadu_si512((const void *)(v + 64));
    const __m512i v2 = _mm512_loadu_si512((const void *)(v + 128));
    q[0] = _mm512_and_si512(v0, m3f);
    q[1] = _mm512_and_si512(v1, m3f);
    q[2] = _mm512_and_si512(v2, m3f);
    /* 16-bit shifts move bits across bytes; the selects keep only the bits that stayed in their byte */
    const __m512i a = _mm512_srli_epi16(v0, 6);                           /* bits 0-1 */
    const __m512i b = _mm512_srli_epi16(v1, 4);                           /* bits 2-3 */
    const __m512i c = _mm512_srli_epi16(_mm512_andnot_si512(m3f, v2), 2); /* bits 4-5, the rest zero */
    q[3] = select_bits(m0f, select_bits(m03, a, b), c);
}

/* One token's exact sum over a sub-block, per row: off = -32 * bsum, x = its 16 activations. */
FLT_AVX512_INL __m512i sub_dot(const __m512i q[4], const int32_t *off, const int8_t *x) {
    __m512i s = _mm512_set1_epi32(*off);
    s = _mm512_dpbusd_epi32(s, q[0], bcast32(x));
    s = _mm512_dpbusd_epi32(s, q[1], bcast32(x + 4));
    s = _mm512_dpbusd_epi32(s, q[2], bcast32(x + 8));
    s = _mm512_dpbusd_epi32(s, q[3], bcast32(x + 12));
    return s;
}

/* sacc starts at zero: the first FMA is the exact product */
FLT_AVX512_INL __m512 sub_acc(__m512 sacc, __m512i s, __m512 sc) {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), sc, sacc);
}

FLT_AVX512_INL __m512 sb_acc(__m512 acc, __m512 sacc, __m512 d, float da) {
    return _mm512_fmadd_ps(sacc, _mm512_mul_ps(d, _mm512_set1_ps(da)), acc);
}

FLT_AVX512_INL const flt_block_q8_k *act_block(const char *a, size_t as, int64_t t, int64_t b) {
    return (const flt_block_q8_k *)(a + (size_t)t * as) + b;
}

/* tab[(t * kc + b) * 16 + j] = -32 * bsums[j] of token t, super-block b0 + b. */
FLT_AVX512_ATTR static void build_offsets(int32_t *tab, const char *a, size_t as, int64_t nt, int64_t b0, int64_t kc) {
    for (int64_t t = 0; t < nt; t++)
        for (int64_t b = 0; b < kc; b++) {
            const __m256i bs = _mm256_loadu_si256((const __m256i *)act_block(a, as, t, b0 + b)->bsums);
            const __m512i o = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(_mm512_cvtepi16_epi32(bs), 5));
            _mm512_store_si512((void *)(tab + (t * kc + b) * 16), o);
        }
}

FLT_AVX512_INL __mmask16 row_mask(int64_t r0, int64_t nr, int64_t p) {
    const int64_t left = r0 + nr - p * PR;
    return left >= PR ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
}

/* ---- few tokens: unpack on the fly ---- */

FLT_AVX512_INL void mv_run(int64_t nsb, const char *packed, size_t pb, int64_t r0, int64_t nr, const char *a,
                           size_t as, float *out, int64_t ldo, int T) {
    _Alignas(64) int32_t tab[MV_TAB];
    const int64_t kcmax = MV_TAB / 16 / T; /* super-blocks per pass: the longest rows take several */
    const int64_t pfirst = r0 / PR, pend = (r0 + nr + PR - 1) / PR;
    for (int64_t c0 = 0; c0 < nsb; c0 += kcmax) {
        const int64_t kc = nsb - c0 < kcmax ? nsb - c0 : kcmax;
        build_offsets(tab, a, as, T, c0, kc);
        for (int64_t p = pfirst; p < pend; p++) {
            const __mmask16 m = row_mask(r0, nr, p);
            float *o = out + (p * PR - r0);
            const char *base = packed + (size_t)p * pb;
            const q6k_regions g = panel_regions(nsb, p);
            __m512 acc[MV_MAX_T];
            for (int t = 0; t < T; t++) acc[t] = c0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, o + t * ldo);
            for (int64_t b = 0; b < kc; b++) {
                const int64_t bb = c0 + b;
                const uint8_t *qv = (const uint8_t *)base + g.q + (size_t)bb * SB_Q;
                const int8_t *sv = (const int8_t *)base + g.s + (size_t)bb * SB_S;
                /* one super-block ahead: the hardware prefetchers alone leave ~10% of the bandwidth */
                const int ahead = b + 1 < kc;
                if (ahead) {
                    for (int i = 0; i < SB_S; i += 64) _mm_prefetch((const char *)sv + SB_S + i, _MM_HINT_T0);
                    _mm_prefetch(base + g.d + (size_t)(bb + 1) * SB_D, _MM_HINT_T0);
                }
                __m512 sacc[MV_MAX_T];
                for (int t = 0; t < T; t++) sacc[t] = _mm512_setzero_ps();
                for (int j = 0; j < 16; j++) {
                    __m512i q[4];
                    if (ahead)
                        for (int i = 0; i < SUB_Q; i += 64)
                            _mm_prefetch((const char *)qv + SB_Q + j * SUB_Q + i, _MM_HINT_T0);
                    unpack_sub(qv + j * SUB_Q, q);
                    const __m128i sc8 = _mm_loadu_si128((const __m128i *)(sv + 16 * j));
                    const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(sc8));
                    for (int t = 0; t < T; t++) {
                        const __m512i s = sub_dot(q, tab + (t * kc + b) * 16 + j, act_block(a, as, t, bb)->qs + 16 * j);
                        sacc[t] = sub_acc(sacc[t], s, sc);
                    }
                }
                const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(base + g.d + (size_t)bb * SB_D)));
                for (int t = 0; t < T; t++) acc[t] = sb_acc(acc[t], sacc[t], d, act_block(a, as, t, bb)->d);
            }
            for (int t = 0; t < T; t++) _mm512_mask_storeu_ps(o + t * ldo, m, acc[t]);
        }
    }
}

typedef void (*mv_fn)(int64_t nsb, const char *pk, size_t pb, int64_t r0, int64_t nr, const char *a, size_t as,
                      float *out, int64_t ldo);
#define MV_ONE(T)                                                                                         \
    FLT_AVX512_ATTR static void mv_##T(int64_t nsb, const char *pk, size_t pb, int64_t r0, int64_t nr,    \
                                       const char *a, size_t as, float *out, int64_t ldo) {               \
        mv_run(nsb, pk, pb, r0, nr, a, as, out, ldo, T);                                                  \
    }
MV_ONE(1) MV_ONE(2) MV_ONE(3) MV_ONE(4) MV_ONE(5) MV_ONE(6) MV_ONE(7)
static const mv_fn mv_runs[MV_MAX_T] = {mv_1, mv_2, mv_3, mv_4, mv_5, mv_6, mv_7};

/* ---- batches: unpack a chunk of two panels once, run token tiles over it ---- */

typedef struct q6k_scratch {
    _Alignas(64) uint8_t q[PP_KC][16][2][4][64]; /* [super-block][sub-block][panel][vector] */
    _Alignas(64) float s[PP_KC][16][2][PR];      /* scales as float */
    _Alignas(64) float d[PP_KC][2][PR];
    _Alignas(64) int32_t tab[2][PP_TC * PP_KC * 16]; /* this chunk's offsets, and the next one's */
    _Alignas(64) float acc[PP_TC][2][PR];           /* the two panels' sums so far, per token */
} q6k_scratch;

/* The weights of the next chunk, fetched a slice at a time while the
 * current chunk computes (its bsums are read by the offset table's slices,
 * which overlap the tiles on their own): lists of lines, each a start and a
 * count. */
typedef struct q6k_prefetch {
    const char *ptr[2 * 3];
    int64_t count[2 * 3];
    int n, cur;      /* lists, the one in progress */
    int64_t done;    /* lines of it issued */
    int64_t total;   /* lines in all */
} q6k_prefetch;

static void pf_add(q6k_prefetch *pf, const char *ptr, int64_t count) {
    pf->ptr[pf->n] = ptr;
    pf->count[pf->n] = count;
    pf->n++;
    pf->total += count;
}

/* Panels [p, p + np), super-blocks [c0, c0 + kc). */
static void pf_init(q6k_prefetch *pf, const char *packed, size_t pb, int64_t nsb, int64_t p, int np, int64_t c0,
                    int64_t kc) {
    pf->n = pf->cur = 0;
    pf->done = pf->total = 0;
    for (int i = 0; i < np; i++) {
        const char *base = packed + (size_t)(p + i) * pb;
        const q6k_regions g = panel_regions(nsb, p + i);
        pf_add(pf, base + g.q + (size_t)c0 * SB_Q, kc * SB_Q / 64);
        pf_add(pf, base + g.s + (size_t)c0 * SB_S, (kc * SB_S + 63) / 64);
        pf_add(pf, base + g.d + (size_t)c0 * SB_D, (kc * SB_D + 63) / 64);
    }
}

static void pf_issue(q6k_prefetch *pf, int64_t n) {
    for (; n > 0 && pf->cur < pf->n; n--) {
        _mm_prefetch(pf->ptr[pf->cur] + (size_t)pf->done * 64, _MM_HINT_T0);
        if (++pf->done == pf->count[pf->cur]) {
            pf->cur++;
            pf->done = 0;
        }
    }
}

FLT_AVX512_ATTR static void pp_unpack(q6k_scratch *sc, int slot, const char *base, q6k_regions g, int64_t c0,
                                      int64_t kc) {
    for (int64_t b = 0; b < kc; b++) {
        const uint8_t *qv = (const uint8_t *)base + g.q + (size_t)(c0 + b) * SB_Q;
        const int8_t *sv = (const int8_t *)base + g.s + (size_t)(c0 + b) * SB_S;
        for (int j = 0; j < 16; j++) {
            __m512i q[4];
            unpack_sub(qv + j * SUB_Q, q);
            for (int m = 0; m < 4; m++) _mm512_store_si512((void *)sc->q[b][j][slot][m], q[m]);
            _mm512_store_ps(sc->s[b][j][slot],
                            _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(sv + 16 * j)))));
        }
        _mm512_store_ps(sc->d[b][slot],
                        _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(base + g.d + (size_t)(c0 + b) * SB_D))));
    }
}

/* P panels x T tokens (a, tab and acc already at the first token) over the
 * chunk in sc; acc[t][p] holds the sums of the super-blocks before c0. */
FLT_AVX512_INL void pp_tile(const q6k_scratch *sc, int64_t c0, int64_t kc, const char *a, size_t as,
                            const int32_t *tab, float (*acc)[2][PR], int P, int T) {
    for (int64_t b = 0; b < kc; b++) {
        __m512 sacc[2][PP_T];
        for (int p = 0; p < P; p++)
            for (int t = 0; t < T; t++) sacc[p][t] = _mm512_setzero_ps();
        for (int j = 0; j < 16; j++) {
            __m512i w[2][4], x[2][PP_T];
            for (int p = 0; p < P; p++)
                for (int v = 0; v < 4; v++) w[p][v] = _mm512_load_si512((const void *)sc->q[b][j][p][v]);
            for (int t = 0; t < T; t++) {
                const __m512i init = _mm512_set1_epi32(tab[(t * kc + b) * 16 + j]);
                for (int p = 0; p < P; p++) x[p][t] = init;
            }
            /* sub_dot's sums, reordered so that each broadcast feeds both panels */
            for (int v = 0; v < 4; v++)
                for (int t = 0; t < T; t++) {
                    const __m512i av = bcast32(act_block(a, as, t, c0 + b)->qs + 16 * j + 4 * v);
                    for (int p = 0; p < P; p++) x[p][t] = _mm512_dpbusd_epi32(x[p][t], w[p][v], av);
                }
            for (int p = 0; p < P; p++) {
                const __m512 s = _mm512_load_ps(sc->s[b][j][p]);
                for (int t = 0; t < T; t++) sacc[p][t] = sub_acc(sacc[p][t], x[p][t], s);
            }
        }
        for (int p = 0; p < P; p++) {
            const __m512 d = _mm512_load_ps(sc->d[b][p]);
            for (int t = 0; t < T; t++) {
                const __m512 prev = c0 + b == 0 ? _mm512_setzero_ps() : _mm512_load_ps(acc[t][p]);
                _mm512_store_ps(acc[t][p], sb_acc(prev, sacc[p][t], d, act_block(a, as, t, c0 + b)->d));
            }
        }
    }
}

typedef void (*pp_tile_fn)(const q6k_scratch *sc, int64_t c0, int64_t kc, const char *a, size_t as,
                           const int32_t *tab, float (*acc)[2][PR]);
#define PP_TILE(P, T)                                                                                     \
    FLT_AVX512_ATTR static void pp_tile_##P##x##T(const q6k_scratch *sc, int64_t c0, int64_t kc,        \
                                                  const char *a, size_t as, const int32_t *tab,           \
                                                  float (*acc)[2][PR]) {                                  \
        pp_tile(sc, c0, kc, a, as, tab, acc, P, T);                                                       \
    }
PP_TILE(1, 1) PP_TILE(1, 2) PP_TILE(1, 3) PP_TILE(1, 4)
PP_TILE(2, 1) PP_TILE(2, 2) PP_TILE(2, 3) PP_TILE(2, 4)
static const pp_tile_fn pp_tiles[2][PP_T] = {
    {pp_tile_1x1, pp_tile_1x2, pp_tile_1x3, pp_tile_1x4},
    {pp_tile_2x1, pp_tile_2x2, pp_tile_2x3, pp_tile_2x4},
};

/* Token chunks, then pairs of panels, then chunks of super-blocks: a pair's
 * weights stream in order and its sums stay in the scratch until its last
 * chunk. While a chunk's tiles run, the next chunk's weights are prefetched
 * and its offset table built a slice at a time, and in the last chunk each
 * tile's finished sums go out at once, so that no step waits on memory in a
 * burst (the output rows of a large matrix are far apart and out of cache). */
FLT_AVX512_ATTR static void pp_run(int64_t nsb, const char *packed, size_t pb, int64_t r0, int64_t nr, const char *a,
                                   size_t as, int64_t nt, float *out, int64_t ldo) {
    q6k_scratch sc;
    const int64_t pfirst = r0 / PR, pend = (r0 + nr + PR - 1) / PR;
    int cur = 0; /* which offset table is this chunk's */
    build_offsets(sc.tab[cur], a, as, nt < PP_TC ? nt : PP_TC, 0, nsb < PP_KC ? nsb : PP_KC);
    for (int64_t t0 = 0; t0 < nt; t0 += PP_TC) {
        const int64_t tc = nt - t0 < PP_TC ? nt - t0 : PP_TC, ntiles = (tc + PP_T - 1) / PP_T;
        const char *at = a + (size_t)t0 * as;
        for (int64_t p = pfirst; p < pend; p += 2) {
            const int np = pend - p >= 2 ? 2 : 1;
            const __mmask16 m0 = row_mask(r0, nr, p), m1 = np == 2 ? row_mask(r0, nr, p + 1) : 0;
            for (int64_t c0 = 0; c0 < nsb; c0 += PP_KC) {
                const int64_t kc = nsb - c0 < PP_KC ? nsb - c0 : PP_KC;
                const int last = c0 + PP_KC >= nsb;
                /* what comes next: this pair's next chunk, else the next pair's first */
                int64_t pn = p, cn = c0 + PP_KC, tn = t0;
                if (last) {
                    cn = 0;
                    pn = p + 2;
                    if (pn >= pend) {
                        pn = pfirst;
                        tn = t0 + PP_TC;
                    }
                }
                const int64_t tcn = nt - tn < PP_TC ? nt - tn : PP_TC, kcn = nsb - cn < PP_KC ? nsb - cn : PP_KC;
                const int same = tn == t0 && cn == c0; /* one chunk in all: the table is already there */
                q6k_prefetch pf = {.n = 0};
                if (tn < nt)
                    pf_init(&pf, packed, pb, nsb, pn, pend - pn >= 2 ? 2 : 1, cn, kcn);
                for (int i = 0; i < np; i++)
                    pp_unpack(&sc, i, packed + (size_t)(p + i) * pb, panel_regions(nsb, p + i), c0, kc);
                const int64_t slice = (pf.total + ntiles - 1) / ntiles;
                for (int64_t k = 0; k < ntiles; k++) {
                    const int64_t t1 = k * PP_T, tt = tc - t1 < PP_T ? tc - t1 : PP_T;
                    pf_issue(&pf, slice);
                    if (tn < nt && !same) {
                        const int64_t b0 = tcn * k / ntiles, b1 = tcn * (k + 1) / ntiles;
                        build_offsets(sc.tab[cur ^ 1] + b0 * kcn * 16, a + (size_t)(tn + b0) * as, as, b1 - b0, cn,
                                      kcn);
                    }
                    pp_tiles[np - 1][tt - 1](&sc, c0, kc, at + (size_t)t1 * as, as, sc.tab[cur] + t1 * kc * 16,
                                             sc.acc + t1);
                    if (last)
                        for (int64_t t = t1; t < t1 + tt; t++) {
                            float *o = out + (t0 + t) * ldo + (p * PR - r0);
                            _mm512_mask_storeu_ps(o, m0, _mm512_load_ps(sc.acc[t][0]));
                            if (np == 2) _mm512_mask_storeu_ps(o + PR, m1, _mm512_load_ps(sc.acc[t][1]));
                        }
                }
                if (!same) cur ^= 1;
            }
        }
    }
}

FLT_AVX512_ATTR static void q6k_gemm(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a,
                                     size_t as, int64_t nt, float *out, int64_t ldo) {
    if (nr <= 0 || nt <= 0) return;
    const int64_t nsb = cols / FLT_QK_K;
    if (nsb <= 0) {
        for (int64_t t = 0; t < nt; t++)
            for (int64_t r = 0; r < nr; r++) out[t * ldo + r] = 0.0f;
        return;
    }
    const size_t pb = (size_t)nsb * SB_BYTES;
    const char *pk = packed, *ac = a;
    if (nt > MV_MAX_T) {
        pp_run(nsb, pk, pb, r0, nr, ac, as, nt, out, ldo);
        return;
    }
    mv_runs[nt - 1](nsb, pk, pb, r0, nr, ac, as, out, ldo);
}

static const flt_packed_kernel q6k_kernel = {
    .layout = "q6_kx16",
    .panel_rows = PR,
    .panel_bytes = q6k_panel_bytes,
    .pack = q6k_pack,
    .gemm = q6k_gemm,
};

const flt_packed_kernel *flt_packed_q6_k_avx512(void) { return &q6k_kernel; }

#else

const flt_packed_kernel *flt_packed_q6_k_avx512(void) { return NULL; }

#endif
