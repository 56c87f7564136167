/* Packed F16 weights x F32 activations for the AVX2 set (AVX2 + FMA + F16C, no
 * AVX-512: AMD Zen 3 and older Intel), cpu/packed.h: layout "f16x16_avx2".
 *
 * A panel holds 16 rows stored k-major: for each column k the 16 rows' halves
 * side by side (32 bytes), so the packed size equals the plain size. Two
 * VCVTPH2PS turn column k of a panel into two registers whose lane r is row r
 * (rows 0-7, rows 8-15); an FMA with activation k broadcast adds that column's
 * products to accumulators whose lanes are output rows. No horizontal sums:
 * every output element is the chain acc = fma(w[k], a[k], acc) for
 * k = 0, 1, ... in one lane, started from +0, whatever the tile shape, the pass
 * length or the element's place, so any split of rows or tokens gives the same
 * bits (a pass that stops early stores the partial sum, a float, and the next
 * pass reloads it: nothing is rounded differently).
 *
 * 16 rows rather than 8 per panel: a column is 32 contiguous bytes, so the
 * generation loop reads half as many separate streams for the same number of
 * independent chains, and one 16-row panel x 6 tokens is the 12-accumulator
 * tile that fills the 16 ymm registers for prompts.
 *
 * One or two tokens (generation): 4 panels x 1 token or 2 panels x 2 tokens, 8
 * independent chains to cover the FMA latency; the weights stream once (with
 * software prefetch), the activations come straight from the caller's rows.
 * Prompts: tiles of 1 panel x 3 to 6 tokens (up to 12 accumulators); a group of
 * tiles shares a pass over KC columns, its activations copied to a stack
 * scratch, panels outer so a panel's stretch stays in L1 while the group's tiles
 * pass; the next stretch is prefetched into L2. */
#include <stddef.h>
#include <stdint.h>

#include "cpu/packed.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#include "cpu/avx2_util.h"

#define FLT_TILE FLT_AVX2 static inline __attribute__((always_inline))

/* Loops over tile shapes must unroll completely so accumulators stay in
 * registers: GCC needs telling; clang does it on its own. */
#if defined(__clang__)
#define UNROLL
#else
#define UNROLL _Pragma("GCC unroll 16")
#endif

enum {
    PR = 16,       /* rows per panel */
    KB = 2 * PR,   /* bytes of one column of a panel */
    FEW_T = 2,     /* up to this many tokens take the generation tiles */
    TILE_T = 6,    /* most tokens per prompt tile */
    KC = 512,      /* most columns per pass of a prompt tile: a panel's stretch is 16 KiB */
    KS = KC + 16,  /* scratch row stride in floats: rows not 2 KiB apart, so they spread over cache sets */
    GROUP = 4,     /* prompt tiles sharing a pass; scratch GROUP * TILE_T * KS floats = 49.5 KiB */
    AHEAD = 2048,  /* generation: bytes of each panel fetched ahead of the loads */
};

static size_t f16_panel_bytes(int64_t cols) {
    if (cols <= 0 || (uint64_t)cols > SIZE_MAX / KB) return 0;
    return (size_t)cols * KB;
}

/* ---- packing ------------------------------------------------------------------ */

/* 16 rows (ws bytes apart) x 16 columns into 16 columns of 16 rows: unpacks of
 * row pairs, then quads, then octets (each within 128-bit lanes), then the
 * lanes swapped into place. */
FLT_AVX2 static void transpose16(const unsigned char *src, size_t ws, uint16_t *d) {
    __m256i r[16], a[16], b[16], c[16];
    for (int i = 0; i < 16; i++) r[i] = _mm256_loadu_si256((const __m256i *)(src + (size_t)i * ws));
    for (int i = 0; i < 8; i++) { /* rows 2i, 2i+1 interleaved: k 0-3 | 8-11 and k 4-7 | 12-15 */
        a[2 * i] = _mm256_unpacklo_epi16(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm256_unpackhi_epi16(r[2 * i], r[2 * i + 1]);
    }
    for (int m = 0; m < 4; m++) { /* rows 4m..4m+3 of k pairs (0,1), (2,3), (4,5), (6,7) | +8 */
        b[4 * m] = _mm256_unpacklo_epi32(a[4 * m], a[4 * m + 2]);
        b[4 * m + 1] = _mm256_unpackhi_epi32(a[4 * m], a[4 * m + 2]);
        b[4 * m + 2] = _mm256_unpacklo_epi32(a[4 * m + 1], a[4 * m + 3]);
        b[4 * m + 3] = _mm256_unpackhi_epi32(a[4 * m + 1], a[4 * m + 3]);
    }
    for (int h = 0; h < 2; h++) /* rows 8h..8h+7 of column q | q + 8 */
        for (int q = 0; q < 4; q++) {
            c[8 * h + 2 * q] = _mm256_unpacklo_epi64(b[8 * h + q], b[8 * h + 4 + q]);
            c[8 * h + 2 * q + 1] = _mm256_unpackhi_epi64(b[8 * h + q], b[8 * h + 4 + q]);
        }
    for (int k = 0; k < 8; k++) {
        _mm256_storeu_si256((__m256i *)(d + k * PR), _mm256_permute2x128_si256(c[k], c[8 + k], 0x20));
        _mm256_storeu_si256((__m256i *)(d + (k + 8) * PR), _mm256_permute2x128_si256(c[k], c[8 + k], 0x31));
    }
}

FLT_AVX2 static void f16_pack(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                              void *dst) {
    const size_t pb = f16_panel_bytes(cols);
    for (int64_t p = p0; p < p1; p++) {
        uint16_t *d = (uint16_t *)((char *)dst + (size_t)p * pb);
        const unsigned char *src = (const unsigned char *)w + (size_t)(p * PR) * ws;
        int64_t k0 = 0;
        if (p * PR + PR <= rows)
            for (; k0 + 16 <= cols; k0 += 16) transpose16(src + 2 * k0, ws, d + k0 * PR);
        /* the last columns and a partial last panel one half at a time */
        for (int r = 0; r < PR; r++) {
            const int64_t row = p * PR + r;
            for (int64_t k = k0; k < cols; k++) {
                uint16_t h = 0;
                if (row < rows) memcpy(&h, src + (size_t)r * ws + 2 * k, sizeof h);
                d[k * PR + r] = h;
            }
        }
    }
}

/* ---- shared pieces ------------------------------------------------------------ */

/* Half h (rows 8h..8h+7) of a panel whose first `valid` rows exist. */
FLT_TILE __m256 acc_load(const float *o, int valid, int h) { return flt_avx2_load_first(o, valid - 8 * h); }

FLT_TILE void acc_store(float *o, int valid, int h, __m256 x) { flt_avx2_store_first(o, valid - 8 * h, x); }

FLT_TILE __m256 col_half(const char *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

/* P panels (pb bytes apart, w at column k0 of the first) x T tokens (activation
 * t's column k0 at a + t * as bytes) over kn columns. Only the last panel may be
 * partial (vlast rows). first: start from +0, else from the partial sums in out.
 * pf: kn columns of one panel to fetch into L2 meanwhile (NULL: none). */
FLT_TILE void tile(const int P, const int T, int64_t kn, const char *w, size_t pb, const char *a, size_t as,
                   float *out, int64_t ldo, int vlast, int first, const char *pf) {
    __m256 acc[4][2][TILE_T];
    UNROLL for (int j = 0; j < P; j++)
    UNROLL for (int h = 0; h < 2; h++)
    UNROLL for (int t = 0; t < T; t++)
        acc[j][h][t] = first ? _mm256_setzero_ps()
                             : acc_load(out + t * ldo + j * PR + 8 * h, j == P - 1 ? vlast : PR, h);
    const char *wk = w, *ak = a;
    const int64_t kahead = kn - AHEAD / KB; /* no fetches past the panels' ends */
    for (int64_t k = 0; k < kn; k++, wk += KB, ak += sizeof(float)) {
        if (pf) {
            _mm_prefetch(pf, _MM_HINT_T1);
            pf += KB;
        }
        /* Generation streams P panels from memory at once; with the hardware
         * prefetchers alone it ran up to 10% below a plain read loop on a
         * busy machine. One fetch per line per panel, AHEAD bytes on. */
        if (T <= FEW_T && (k & 1) == 0 && k < kahead) {
            UNROLL for (int j = 0; j < P; j++) _mm_prefetch(wk + (size_t)j * pb + AHEAD, _MM_HINT_T1);
        }
        if (2 * P > T) {
            /* more weight registers than tokens: hold the broadcasts, convert
             * each half just before its FMAs */
            __m256 av[TILE_T];
            UNROLL for (int t = 0; t < T; t++) av[t] = _mm256_broadcast_ss((const float *)(ak + (size_t)t * as));
            UNROLL for (int j = 0; j < P; j++)
            UNROLL for (int h = 0; h < 2; h++) {
                const __m256 wv = col_half(wk + (size_t)j * pb + 16 * h);
                UNROLL for (int t = 0; t < T; t++) acc[j][h][t] = _mm256_fmadd_ps(wv, av[t], acc[j][h][t]);
            }
        } else {
            /* hold the converted weights, one broadcast at a time */
            __m256 wv[4][2];
            UNROLL for (int j = 0; j < P; j++)
            UNROLL for (int h = 0; h < 2; h++) wv[j][h] = col_half(wk + (size_t)j * pb + 16 * h);
            UNROLL for (int t = 0; t < T; t++) {
                const __m256 av = _mm256_broadcast_ss((const float *)(ak + (size_t)t * as));
                UNROLL for (int j = 0; j < P; j++)
                UNROLL for (int h = 0; h < 2; h++) acc[j][h][t] = _mm256_fmadd_ps(wv[j][h], av, acc[j][h][t]);
            }
        }
    }
    UNROLL for (int j = 0; j < P; j++)
    UNROLL for (int h = 0; h < 2; h++)
    UNROLL for (int t = 0; t < T; t++)
        acc_store(out + t * ldo + j * PR + 8 * h, j == P - 1 ? vlast : PR, h, acc[j][h][t]);
}

typedef void (*tile_fn)(int64_t kn, const char *w, size_t pb, const char *a, size_t as, float *out, int64_t ldo,
                        int vlast, int first, const char *pf);
#define TILE_FN(P, T)                                                                                        \
    FLT_AVX2 static void tile_##P##x##T(int64_t kn, const char *w, size_t pb, const char *a, size_t as,     \
                                        float *out, int64_t ldo, int vlast, int first, const char *pf) {    \
        tile(P, T, kn, w, pb, a, as, out, ldo, vlast, first, pf);                                           \
    }
TILE_FN(1, 1) TILE_FN(2, 1) TILE_FN(4, 1)
TILE_FN(1, 2) TILE_FN(2, 2)
TILE_FN(1, 3) TILE_FN(1, 4) TILE_FN(1, 5) TILE_FN(1, 6)
#undef TILE_FN

/* [tokens - 3] */
static const tile_fn pro_tab[TILE_T - 2] = {tile_1x3, tile_1x4, tile_1x5, tile_1x6};

/* ---- the product -------------------------------------------------------------- */

FLT_AVX2 static void few_gemm(int64_t cols, const char *w, size_t pb, int64_t np, int vlast, const char *a,
                              size_t as, int64_t nt, float *out, int64_t ldo) {
    for (int64_t p = 0; p < np;) {
        const int64_t left = np - p;
        const char *wp = w + (size_t)p * pb;
        float *op = out + p * PR;
        int P;
        if (nt == 1) {
            P = left >= 4 ? 4 : left >= 2 ? 2 : 1;
            (P == 4 ? tile_4x1 : P == 2 ? tile_2x1 : tile_1x1)(cols, wp, pb, a, as, op, ldo,
                                                                p + P == np ? vlast : PR, 1, NULL);
        } else {
            P = left >= 2 ? 2 : 1;
            (P == 2 ? tile_2x2 : tile_1x2)(cols, wp, pb, a, as, op, ldo, p + P == np ? vlast : PR, 1, NULL);
        }
        p += P;
    }
}

FLT_AVX2 static void f16_gemm(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as,
                              int64_t nt, float *out, int64_t ldo) {
    if (nr <= 0 || nt <= 0) return;
    if (cols <= 0) { /* empty dot products (such a matrix is never packed) */
        for (int64_t t = 0; t < nt; t++) memset(out + t * ldo, 0, (size_t)nr * sizeof(float));
        return;
    }
    const size_t pb = (size_t)cols * KB;
    const char *w = (const char *)packed + (size_t)(r0 / PR) * pb;
    const char *act = a;
    const int64_t np = (nr + PR - 1) / PR;
    const int vlast = (int)(nr - (np - 1) * PR);
    if (nt <= FEW_T) {
        few_gemm(cols, w, pb, np, vlast, act, as, nt, out, ldo);
        return;
    }
    _Alignas(64) float scratch[GROUP * TILE_T * KS];
    /* tiles as even as possible: with nt > FEW_T each has 3 or more tokens */
    const int64_t ntile = (nt + TILE_T - 1) / TILE_T, base = nt / ntile, extra = nt % ntile;
    /* passes as even as possible */
    const int64_t npass = (cols + KC - 1) / KC, kc = (cols + npass - 1) / npass;
    for (int64_t g0 = 0; g0 < ntile; g0 += GROUP) {
        const int ng = ntile - g0 < GROUP ? (int)(ntile - g0) : GROUP;
        int64_t tfirst[GROUP];
        int tcount[GROUP];
        for (int i = 0; i < ng; i++) {
            tfirst[i] = (g0 + i) * base + (g0 + i < extra ? g0 + i : extra);
            tcount[i] = (int)(base + (g0 + i < extra));
        }
        for (int64_t k0 = 0; k0 < cols; k0 += kc) {
            const int64_t kn = cols - k0 < kc ? cols - k0 : kc;
            for (int i = 0; i < ng; i++)
                for (int t = 0; t < tcount[i]; t++)
                    memcpy(&scratch[(i * TILE_T + t) * KS], act + (size_t)(tfirst[i] + t) * as + (size_t)k0 * 4,
                           (size_t)kn * sizeof(float));
            for (int64_t p = 0; p < np; p++) {
                const char *wp = w + (size_t)p * pb + (size_t)k0 * KB;
                /* The first tile fetches the next stretch into L2: the same
                 * columns of panel p + 1, or after the last panel the next
                 * pass's (kn columns ending where that pass ends) of panel 0,
                 * or the first pass's of the next group. */
                int64_t q = p + 1, kp = k0;
                const char *pf = NULL;
                if (q >= np) {
                    q = 0;
                    if (k0 + kn < cols) kp = (k0 + kn + kc < cols ? k0 + kn + kc : cols) - kn;
                    else if (g0 + GROUP < ntile) kp = 0;
                    else q = -1;
                }
                if (q >= 0) pf = w + (size_t)q * pb + (size_t)kp * KB;
                for (int i = 0; i < ng; i++)
                    pro_tab[tcount[i] - 3](kn, wp, pb, (const char *)&scratch[i * TILE_T * KS], KS * sizeof(float),
                                           out + tfirst[i] * ldo + p * PR, ldo, p + 1 == np ? vlast : PR, k0 == 0,
                                           i == 0 ? pf : NULL);
            }
        }
    }
}

static const flt_packed_kernel f16_packed = {
    .layout = "f16x16_avx2",
    .panel_rows = PR,
    .panel_bytes = f16_panel_bytes,
    .pack = f16_pack,
    .gemm = f16_gemm,
};

const flt_packed_kernel *flt_packed_f16_avx2(void) { return &f16_packed; }

#else

const flt_packed_kernel *flt_packed_f16_avx2(void) { return NULL; }

#endif
