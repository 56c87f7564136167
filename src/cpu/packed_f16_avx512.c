/* Packed F16 weights x F32 activations for the AVX-512 set (cpu/packed.h):
 * layout "f16x16". A panel holds 16 rows stored k-major: for each column k the
 * 16 rows' halves side by side (32 bytes), so the packed size equals the plain
 * size. One VCVTPH2PS turns column k of a panel into a register whose lane r is
 * row r; an FMA with activation k broadcast adds that column's products to an
 * accumulator whose lane r is output row r. No horizontal sums: every output
 * element is the chain acc = fma(w[k], a[k], acc) for k = 0, 1, ... in one
 * lane, started from +0, whatever the tile shape, the pass length or the
 * element's place, so any split of rows or tokens gives the same bits.
 * Arithmetic is F32 FMAs only (no AVX512-FP16).
 *
 * One to FEW_T tokens (generation): up to 8 panels at once so that 8 or more
 * independent chains hide the FMA latency; the weights stream once, with
 * software prefetch on each panel's stream.
 * Prompts: tiles of 2 panels x up to 12 tokens (24 accumulators: FMA-bound),
 * panels outer so a panel pair stays in L1 while a group of tiles passes; the
 * next pair is prefetched into L2. */
#include <stddef.h>
#include <stdint.h>

#include "cpu/packed.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#include "cpu/kernels_avx512.h"

/* Loops over tile shapes must unroll completely so accumulators stay in
 * registers: GCC needs telling; clang does it on its own (and unrolls less well
 * when told). */
#if defined(__clang__)
#define UNROLL
#else
#define UNROLL _Pragma("GCC unroll 32")
#endif

enum {
    PR = 16,     /* rows per panel */
    KB = 2 * PR, /* bytes of one column of a panel */
    WIDE_P = 8,  /* most panels per tile for a few tokens */
    FEW_T = 7,   /* up to this many tokens take the few-token tiles */
    TILE_T = 12, /* most tokens per prompt tile */
    KC = 576,    /* most columns per pass of a prompt tile */
    GROUP = 2,   /* prompt tiles sharing a pass; scratch GROUP * TILE_T * KC floats = 54 KiB */
    AHEAD = 2048, /* software prefetch distance of the few-token tiles, bytes per panel stream */
};

static size_t f16_panel_bytes(int64_t cols) {
    if (cols <= 0 || (uint64_t)cols > SIZE_MAX / KB) return 0;
    return (size_t)cols * KB;
}

/* 16 rows (ws bytes apart) x 16 columns into 16 columns of 16 rows: an unpack
 * network (pairs of rows, then quads, then octets within 128-bit lanes, then
 * the lanes). */
FLT_AVX512_ATTR static void transpose16(const unsigned char *src, size_t ws, uint16_t *d) {
    __m256i r[16], a[16], b[16], c[16];
    for (int i = 0; i < 16; i++) r[i] = _mm256_loadu_si256((const __m256i *)(src + (size_t)i * ws));
    for (int i = 0; i < 8; i++) { /* rows 2i, 2i+1 side by side: k 0-3 | 8-11 and k 4-7 | 12-15 */
        a[2 * i] = _mm256_unpacklo_epi16(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm256_unpackhi_epi16(r[2 * i], r[2 * i + 1]);
    }
    for (int m = 0; m < 4; m++) { /* rows 4m..4m+3: k pairs (0,1), (2,3), (4,5), (6,7) | +8 */
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

static void f16_pack(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst) {
    const size_t pb = f16_panel_bytes(cols);
    for (int64_t p = p0; p < p1; p++) {
        uint16_t *d = (uint16_t *)((char *)dst + (size_t)p * pb);
        const unsigned char *src = (const unsigned char *)w + (size_t)(p * PR) * ws;
        int64_t k0 = 0;
        if (p * PR + PR <= rows)
            for (; k0 + 16 <= cols; k0 += 16) transpose16(src + 2 * k0, ws, d + k0 * PR);
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

/* ---- one to FEW_T tokens: P panels x T tokens straight from the caller's rows */

FLT_AVX512_INL void few_tile(int64_t cols, const char *w, size_t pb, const char *a, size_t as, float *out, int64_t ldo,
                             __mmask16 mlast, int P, int T) {
    __m512 acc[WIDE_P * FEW_T];
    UNROLL for (int j = 0; j < P * T; j++) acc[j] = _mm512_setzero_ps();
    const char *wk = w, *ak = a;
    const int64_t kahead = cols - AHEAD / KB; /* no fetches past the panels' ends */
    for (int64_t k = 0; k < cols; k++, wk += KB, ak += sizeof(float)) {
        __m512 wv[WIDE_P];
        /* P panels stream from memory at once, each its own stream; the
         * hardware prefetchers alone left generation at ~82 % of the read
         * bandwidth. One fetch per line per panel, AHEAD bytes on. */
        if ((k & 1) == 0 && k < kahead) {
            UNROLL for (int j = 0; j < P; j++) _mm_prefetch(wk + (size_t)j * pb + AHEAD, _MM_HINT_T1);
        }
        UNROLL for (int j = 0; j < P; j++)
            wv[j] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(wk + (size_t)j * pb)));
        UNROLL for (int t = 0; t < T; t++) {
            const __m512 av = _mm512_set1_ps(*(const float *)(ak + (size_t)t * as));
            UNROLL for (int j = 0; j < P; j++)
                acc[j * T + t] = _mm512_fmadd_ps(wv[j], av, acc[j * T + t]);
        }
    }
    UNROLL for (int j = 0; j < P; j++)
    UNROLL for (int t = 0; t < T; t++)
        _mm512_mask_storeu_ps(out + t * ldo + j * PR, j == P - 1 ? mlast : (__mmask16)0xffff, acc[j * T + t]);
}

typedef void (*few_fn)(int64_t cols, const char *w, size_t pb, const char *a, size_t as, float *out, int64_t ldo,
                       __mmask16 mlast);
#define FEW(P, T)                                                                                         \
    FLT_AVX512_ATTR static void few_##P##x##T(int64_t cols, const char *w, size_t pb, const char *a,      \
                                              size_t as, float *out, int64_t ldo, __mmask16 mlast) {      \
        few_tile(cols, w, pb, a, as, out, ldo, mlast, P, T);                                              \
    }
FEW(1, 1) FEW(1, 2) FEW(1, 3) FEW(1, 4) FEW(1, 5) FEW(1, 6) FEW(1, 7)
FEW(2, 1) FEW(2, 2) FEW(2, 3) FEW(2, 4) FEW(2, 5) FEW(2, 6) FEW(2, 7)
FEW(4, 1) FEW(4, 2) FEW(4, 3) FEW(4, 4) FEW(4, 5)
FEW(8, 2)

/* [log2 panels][tokens - 1]; the widest shape that fits the 32 registers
 * (P * T accumulators + P weights), at least 8 independent chains where the
 * panels allow */
static const few_fn few_tab[4][FEW_T] = {
    {few_1x1, few_1x2, few_1x3, few_1x4, few_1x5, few_1x6, few_1x7},
    {few_2x1, few_2x2, few_2x3, few_2x4, few_2x5, few_2x6, few_2x7},
    {few_4x1, few_4x2, few_4x3, few_4x4, few_4x5, few_2x6, few_2x7},
    {few_4x1, few_8x2, few_4x3, few_4x4, few_4x5, few_2x6, few_2x7},
};
static const int few_panels[4][FEW_T] = {
    {1, 1, 1, 1, 1, 1, 1},
    {2, 2, 2, 2, 2, 2, 2},
    {4, 4, 4, 4, 4, 2, 2},
    {4, 8, 4, 4, 4, 2, 2},
};

static void few_gemm(int64_t cols, const char *w, size_t pb, int64_t np, __mmask16 mlast, const char *a, size_t as,
                     int64_t nt, float *out, int64_t ldo) {
    for (int64_t p = 0; p < np;) {
        const int lg = np - p >= 8 ? 3 : np - p >= 4 ? 2 : np - p >= 2 ? 1 : 0;
        const int P = few_panels[lg][nt - 1];
        few_tab[lg][nt - 1](cols, w + (size_t)p * pb, pb, a, as, out + p * PR, ldo,
                            p + P == np ? mlast : (__mmask16)0xffff);
        p += P;
    }
}

/* ---- prompts: two panels x up to TILE_T tokens per tile ----------------------
 * The activations of a group of tiles, KC columns at a time, are copied to a
 * stack scratch (rows KC floats apart: one pointer, no cache-set conflicts
 * whatever the caller's stride). Each element still sums k = 0, 1, ... in
 * order: a pass starts from the partial sum the previous pass stored. */

typedef void (*pro_fn)(int64_t k0, int64_t kn, const char *w, size_t pb, const float *s, float *out, int64_t ldo,
                       __mmask16 m, const char *pf0, const char *pf1);
/* P panels (pb bytes apart) x T tokens over columns [k0, k0 + kn); s: the
 * tokens' activations from column k0, rows KC floats apart. Meanwhile kn
 * columns of two panels from pf0 and pf1 are fetched into L2. */
FLT_AVX512_INL void pro_tile(int64_t k0, int64_t kn, const char *w, size_t pb, const float *s, float *out,
                             int64_t ldo, __mmask16 m, const char *pf0, const char *pf1, int P, int T) {
    __m512 acc[2][TILE_T];
    UNROLL for (int j = 0; j < P; j++)
    UNROLL for (int t = 0; t < T; t++)
        acc[j][t] = k0 == 0 ? _mm512_setzero_ps()
                            : _mm512_maskz_loadu_ps(j == P - 1 ? m : (__mmask16)0xffff, out + t * ldo + j * PR);
    const char *wk = w + (size_t)k0 * KB;
    for (int64_t k = 0; k < kn; k++, wk += KB, pf0 += KB, pf1 += KB) {
        __m512 wv[2];
        _mm_prefetch(pf0, _MM_HINT_T1);
        _mm_prefetch(pf1, _MM_HINT_T1);
        UNROLL for (int j = 0; j < P; j++)
            wv[j] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(wk + (size_t)j * pb)));
        UNROLL for (int t = 0; t < T; t++) {
            const __m512 av = _mm512_set1_ps(s[t * KC + k]);
            UNROLL for (int j = 0; j < P; j++) acc[j][t] = _mm512_fmadd_ps(wv[j], av, acc[j][t]);
        }
    }
    UNROLL for (int j = 0; j < P; j++)
    UNROLL for (int t = 0; t < T; t++)
        _mm512_mask_storeu_ps(out + t * ldo + j * PR, j == P - 1 ? m : (__mmask16)0xffff, acc[j][t]);
}
#define PRO(P, T)                                                                                         \
    FLT_AVX512_ATTR static void pro_##P##x##T(int64_t k0, int64_t kn, const char *w, size_t pb,           \
                                              const float *s, float *out, int64_t ldo, __mmask16 m,       \
                                              const char *pf0, const char *pf1) {                         \
        pro_tile(k0, kn, w, pb, s, out, ldo, m, pf0, pf1, P, T);                                          \
    }
#define PRO_ROW(P)                                                                                        \
    PRO(P, 4) PRO(P, 5) PRO(P, 6) PRO(P, 7) PRO(P, 8) PRO(P, 9) PRO(P, 10) PRO(P, 11) PRO(P, 12)
PRO_ROW(1)
PRO_ROW(2)
/* [P - 1][T - 4] */
static const pro_fn pro_tab[2][TILE_T - 3] = {
    {pro_1x4, pro_1x5, pro_1x6, pro_1x7, pro_1x8, pro_1x9, pro_1x10, pro_1x11, pro_1x12},
    {pro_2x4, pro_2x5, pro_2x6, pro_2x7, pro_2x8, pro_2x9, pro_2x10, pro_2x11, pro_2x12},
};

static void f16_gemm(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as, int64_t nt,
                     float *out, int64_t ldo) {
    if (nr <= 0 || nt <= 0) return;
    const size_t pb = (size_t)cols * KB;
    const char *w = (const char *)packed + (size_t)(r0 / PR) * pb;
    const char *act = a;
    const int64_t np = (nr + PR - 1) / PR;
    const __mmask16 mlast = (__mmask16)(0xffffu >> (PR * np - nr));
    if (cols <= 0) { /* empty dot products (such a matrix is never packed) */
        for (int64_t t = 0; t < nt; t++) memset(out + t * ldo, 0, (size_t)nr * sizeof(float));
        return;
    }
    if (nt <= FEW_T) {
        few_gemm(cols, w, pb, np, mlast, act, as, nt, out, ldo);
        return;
    }
    _Alignas(64) float scratch[GROUP * TILE_T * KC];
    /* tiles as even as possible: with nt > FEW_T each has 4 or more tokens */
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
                    memcpy(&scratch[(i * TILE_T + t) * KC], act + (size_t)(tfirst[i] + t) * as + (size_t)k0 * 4,
                           (size_t)kn * sizeof(float));
            for (int64_t p = 0; p < np; p += 2) {
                const int P = np - p >= 2 ? 2 : 1;
                const __mmask16 m = p + P == np ? mlast : (__mmask16)0xffff;
                const char *wp = w + (size_t)p * pb;
                /* The first tile fetches the next pair's columns into L2: the same
                 * columns of panels p + 2, p + 3, or the next pass's (kn columns
                 * ending where that pass ends, inside the panels) of panels 0, 1,
                 * or the first pass's of the next group. */
                int64_t q = p + 2, kp = k0;
                if (q >= np) {
                    q = 0;
                    if (k0 + kn < cols) kp = (k0 + kn + kc < cols ? k0 + kn + kc : cols) - kn;
                    else if (g0 + GROUP < ntile) kp = 0;
                    else q = p;
                }
                const char *pf0 = w + (size_t)q * pb + (size_t)kp * KB;
                const char *pf1 = q + 1 < np ? pf0 + pb : pf0;
                const char *cur = wp + (size_t)k0 * KB; /* the later tiles: lines in L1 already */
                for (int i = 0; i < ng; i++)
                    pro_tab[P - 1][tcount[i] - 4](k0, kn, wp, pb, &scratch[i * TILE_T * KC],
                                                  out + tfirst[i] * ldo + p * PR, ldo, m, i == 0 ? pf0 : cur,
                                                  i == 0 ? pf1 : cur);
            }
        }
    }
}

static const flt_packed_kernel f16_packed = {
    .layout = "f16x16",
    .panel_rows = PR,
    .panel_bytes = f16_panel_bytes,
    .pack = f16_pack,
    .gemm = f16_gemm,
};

const flt_packed_kernel *flt_packed_f16_avx512(void) { return &f16_packed; }

#else

const flt_packed_kernel *flt_packed_f16_avx512(void) { return NULL; }

#endif
