/* Q2_K, Q3_K, Q4_K, Q5_K: block layouts and quantizers checked by hand.
 * - Known bytes: one block per type built to be exactly representable (every
 *   sub-block holds integers on its own grid, scales and mins on the 4/6-bit
 *   grid of an exact f16 d), so the quantizer must find exactly that grid: the
 *   expected scale bytes below were packed by hand from the format description,
 *   the q's are read back through getters written from it (not from the
 *   packing code), and dequantizing gives the input back bit for bit.
 * - Zero blocks quantize to all-zero bytes.
 * - Error bounds on random data over many binades.
 * - A hand-computed dot product per type in every kernel set.
 * Byte-exactness against llama-quantize: test_quant_exact_k.c. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/dtype.h"
#include "core/quant_blocks.h"
#include "cpu/kernels.h"
#include "harness.h"

/* ---- getters restated from the format description (quant_blocks.h) -------- */

static int q2_get(const uint8_t *blk, int p) {          /* qs at 16 */
    return (blk[16 + 32 * (p / 128) + p % 32] >> (2 * (p % 128 / 32))) & 3;
}
static int q3_get(const uint8_t *blk, int p) {          /* hmask at 0, qs at 32; -4..3 */
    const int low = (blk[32 + 32 * (p / 128) + p % 32] >> (2 * (p % 128 / 32))) & 3;
    const int high = (blk[p % 32] >> (p / 32)) & 1;
    return low + 4 * high - 4;
}
static int q4_get(const uint8_t *blk, int p) {          /* qs at 16 */
    const uint8_t v = blk[16 + 32 * (p / 64) + p % 32];
    return p % 64 < 32 ? v & 15 : v >> 4;
}
static int q5_get(const uint8_t *blk, int p) {          /* qh at 16, qs at 48 */
    const uint8_t v = blk[48 + 32 * (p / 64) + p % 32];
    return (p % 64 < 32 ? v & 15 : v >> 4) | ((blk[16 + p % 32] >> (p / 32)) & 1) << 4;
}

static int count_diff(const uint8_t *got, const uint8_t *want, int n) {
    int bad = 0;
    for (int i = 0; i < n; i++) bad += got[i] != want[i];
    return bad;
}

/* Quantize, check the round trip is exact and a zero block gives zeros. */
static void round_trip(flt_dtype t, const float *x, uint8_t *blk) {
    const flt_dtype_traits *tr = flt_dtype_info(t);
    float y[256];
    memset(blk, 0xAB, tr->block_bytes);
    tr->from_f32(x, blk, 256);
    tr->to_f32(blk, y, 256);
    int bad = 0;
    for (int p = 0; p < 256; p++) bad += y[p] != x[p];
    CHECKF(bad == 0, "%s pattern: %d values do not round-trip exactly", tr->name, bad);

    const float z[256] = { 0 };
    uint8_t zb[256];
    memset(zb, 0xAB, sizeof zb);
    tr->from_f32(z, zb, 256);
    int nz = 0;
    for (uint32_t i = 0; i < tr->block_bytes; i++) nz += zb[i] != 0;
    CHECKF(nz == 0, "zero %s block has %d nonzero bytes", tr->name, nz);
}

/* Q2_K: sub-block j has 4-bit scale ls_j = 15 - j (8 for j = 15) and min
 * lm_j = j, against d = 2^-6 (f16 0x2400) and dmin = 2^-7 (0x2000); element
 * i holds k = (i + j) % 4, x = d * ls_j * k - dmin * lm_j. Scale byte j =
 * ls_j | lm_j << 4. */
static void test_q2_k_bytes(void) {
    float x[256];
    int ls[16], lm[16];
    for (int j = 0; j < 16; j++) { ls[j] = j < 15 ? 15 - j : 8; lm[j] = j; }
    for (int p = 0; p < 256; p++) {
        const int j = p / 16, k = (p % 16 + j) % 4;
        x[p] = ldexpf((float)(ls[j] * k), -6) - ldexpf((float)lm[j], -7);
    }
    uint8_t b[84];
    round_trip(FLT_Q2_K, x, b);
    static const uint8_t sc[16] = { 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
                                    0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf8 };
    CHECKF(count_diff(b, sc, 16) == 0, "Q2_K scales %02x %02x ... %02x", b[0], b[1], b[15]);
    CHECK(b[80] == 0x00 && b[81] == 0x24 && b[82] == 0x00 && b[83] == 0x20);
    /* qs[0]: elements 0, 32, 64, 96 (k = 0, 2, 0, 2); qs[16]: 16, 48, 80, 112 (1, 3, 1, 3) */
    CHECK(b[16] == 0x88 && b[32] == 0xdd);
    int bad = 0;
    for (int p = 0; p < 256; p++) bad += q2_get(b, p) != (p % 16 + p / 16) % 4;
    CHECKF(bad == 0, "Q2_K: %d q's off the layout", bad);
}

/* Q3_K: sub-block j has scale s_j = c_j * 2^-10; the largest, c_0 = 32,
 * maps to -32, so d = -2^-10 (f16 0x9400) and the stored 6-bit value is
 * 32 - c_j. Element i holds k = (3i + j) % 8 - 4, x = s_j * k. */
static void test_q3_k_bytes(void) {
    static const int c[16] = { 32, 1, -1, 5, -31, 16, 7, -8, 20, 3, -3, 12, 30, -16, 2, 9 };
    float x[256];
    for (int p = 0; p < 256; p++) {
        const int j = p / 16, k = (3 * (p % 16) + j) % 8 - 4;
        x[p] = ldexpf((float)(c[j] * k), -10);
    }
    uint8_t b[110];
    round_trip(FLT_Q3_K, x, b);
    /* stored 0 31 33 27 63 16 25 40 | 12 29 35 20 2 48 30 23: low nibbles of
     * 0..7 and 8..15 share bytes 0..7; the top two bits go to 8..11 */
    static const uint8_t sc[12] = { 0xc0, 0xdf, 0x31, 0x4b, 0x2f, 0x00, 0xe9, 0x78, 0x0c, 0xd5, 0x66, 0x59 };
    CHECKF(count_diff(b + 96, sc, 12) == 0, "Q3_K scales %02x %02x %02x ...", b[96], b[97], b[98]);
    CHECK(b[108] == 0x00 && b[109] == 0x94);
    /* hmask[0]: elements 32m, k = -4 -2 0 2 -4 -2 0 2: bit set where k >= 0;
     * qs[0]: elements 0, 32, 64, 96 as k + 4 = 0, 2, 4, 6, low two bits */
    CHECK(b[0] == 0xcc && b[32] == 0x88);
    int bad = 0;
    for (int p = 0; p < 256; p++) bad += q3_get(b, p) != (3 * (p % 16) + p / 16) % 8 - 4;
    CHECKF(bad == 0, "Q3_K: %d q's off the layout", bad);
}

/* Q4_K and Q5_K share the scale packing: sub-block j of 32 has 6-bit scale
 * ls_j and min lm_j against d = 2^-10 (f16 0x1400), dmin = 2^-11 (0x1000). */
static const int k45_ls[8] = { 63, 10, 20, 30, 40, 50, 60, 33 };
static const int k45_lm[8] = { 0, 63, 5, 16, 17, 1, 48, 32 };
/* j < 4: byte j = ls_j | (ls_j+4 >> 4) << 6, byte j+4 = lm_j | (lm_j+4 >> 4) << 6;
 * byte j+8 = (ls_j+4 & 15) | (lm_j+4 & 15) << 4 */
static const uint8_t k45_sc[12] = { 0xbf, 0xca, 0xd4, 0x9e, 0x40, 0x3f, 0xc5, 0x90, 0x18, 0x12, 0x0c, 0x01 };

static void k45_pattern(int nmax, float *x) {
    for (int p = 0; p < 256; p++) {
        const int j = p / 32, k = (7 * (p % 32) + j) % (nmax + 1);
        x[p] = ldexpf((float)(k45_ls[j] * k), -10) - ldexpf((float)k45_lm[j], -11);
    }
}

static void test_q4_k_bytes(void) {
    float x[256];
    k45_pattern(15, x);
    uint8_t b[144];
    round_trip(FLT_Q4_K, x, b);
    CHECK(b[0] == 0x00 && b[1] == 0x14 && b[2] == 0x00 && b[3] == 0x10);
    CHECKF(count_diff(b + 4, k45_sc, 12) == 0, "Q4_K scales %02x %02x %02x ...", b[4], b[5], b[6]);
    /* qs[0]: elements 0 (k 0) and 32 (k 1); qs[1]: 1 (7) and 33 (8); qs[32]: 64 (2) and 96 (3) */
    CHECK(b[16] == 0x10 && b[17] == 0x87 && b[48] == 0x32);
    int bad = 0;
    for (int p = 0; p < 256; p++) bad += q4_get(b, p) != (7 * (p % 32) + p / 32) % 16;
    CHECKF(bad == 0, "Q4_K: %d q's off the layout", bad);
}

static void test_q5_k_bytes(void) {
    float x[256];
    k45_pattern(31, x);
    uint8_t b[176];
    round_trip(FLT_Q5_K, x, b);
    CHECK(b[0] == 0x00 && b[1] == 0x14 && b[2] == 0x00 && b[3] == 0x10);
    CHECKF(count_diff(b + 4, k45_sc, 12) == 0, "Q5_K scales %02x %02x %02x ...", b[4], b[5], b[6]);
    /* qh[l] bit j = k >= 16 for element 32j + l, k = (7l + j) % 32:
     * l = 0: 0..7 (none); l = 2: 14..21 (j >= 2); l = 3: 21..28 (all) */
    CHECK(b[16] == 0x00 && b[18] == 0xfc && b[19] == 0xff);
    /* qs[0]: elements 0 (k 0) and 32 (k 1); qs[1]: 1 (7), 33 (8); qs[3]: 3 (21), 35 (22), low nibbles */
    CHECK(b[48] == 0x10 && b[49] == 0x87 && b[51] == 0x65);
    int bad = 0;
    for (int p = 0; p < 256; p++) bad += q5_get(b, p) != (7 * (p % 32) + p / 32) % 32;
    CHECKF(bad == 0, "Q5_K: %d q's off the layout", bad);
}

/* ---- error bounds ----------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {          /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float rng_uniform(uint64_t *s) {          /* [-1, 1) */
    return (float)((double)(rng_next(s) >> 11) * 0x1p-52 - 1.0);
}

/* Uniform data in [-a, a] on a grid of nlev levels has a step of 2a/(nlev-1)
 * and an rms rounding error of step/sqrt(12), against a signal of a/sqrt(3):
 * relative rms 1/(nlev - 1). The fitted per-sub-block grids do somewhat
 * better; scale and min rounding (4 or 6 bits) and clamping cost a little.
 * The check allows 20% over the plain-grid figure (a layout or scale bug
 * lands near 1). Every element must also lie within `steps` steps of the
 * coarsest grid the block could use, 2 * amax / (nlev - 1). */
static void check_bounds(flt_dtype t, int nlev, double steps) {
    enum { N = 256 * 64 };
    static float x[N], y[N];
    static uint8_t q[N / 256 * 176];
    const flt_dtype_traits *tr = flt_dtype_info(t);
    uint64_t seed = 4242 + (uint64_t)t;
    for (int i = 0; i < N; i++) {
        /* per-32 scales spread over 2^7 inside a super-block (so small
         * sub-blocks share a coarse d), super-blocks over many binades */
        const int e = (i / 32) % 8 + (i / 256) % 24 - 16;
        x[i] = rng_uniform(&seed) * ldexpf(1.0f, e);
    }
    tr->from_f32(x, q, N);
    tr->to_f32(q, y, N);
    double err2 = 0, x2 = 0;
    int bad = 0;
    for (int b = 0; b < N / 256; b++) {
        float amax = 0;
        for (int j = 0; j < 256; j++) amax = fmaxf(amax, fabsf(x[b * 256 + j]));
        const double bound = steps * 2.0 * amax / (nlev - 1);
        for (int j = 0; j < 256; j++) {
            const double d = (double)x[b * 256 + j] - y[b * 256 + j];
            bad += fabs(d) > bound;
            err2 += d * d / ((double)amax * amax);
            x2 += (double)x[b * 256 + j] * x[b * 256 + j] / ((double)amax * amax);
        }
    }
    const double rel = sqrt(err2 / x2);
    fprintf(stderr, "%s: relative rms error %.4f (plain grid %.4f)\n", tr->name, rel, 1.0 / (nlev - 1));
    CHECKF(bad == 0, "%s: %d values outside %.1f steps", tr->name, bad, steps);
    CHECKF(rel < 1.2 / (nlev - 1), "%s relative rms error %.4f", tr->name, rel);
}

static void test_bounds(void) {
    check_bounds(FLT_Q2_K, 4, 1.0);
    check_bounds(FLT_Q3_K, 8, 1.0);
    check_bounds(FLT_Q4_K, 16, 1.0);
    check_bounds(FLT_Q5_K, 32, 1.0);
}

/* ---- a hand-computed dot per type -------------------------------------------- */

/* Activations: +1 on the first 128 elements, -1 on the rest -> Q8_K q = -127
 * then +127 with d = -1/127 (checked), so sum w*a = sum(first half) -
 * sum(second half) of the dequantized weights, up to rounding of d. */
static void test_known_dots(void) {
    float ones[256];
    for (int p = 0; p < 256; p++) ones[p] = p < 128 ? 1.0f : -1.0f;
    flt_block_q8_k a;
    flt_q8_k_from_f32_ref(ones, &a, 256);
    CHECK(a.qs[0] == -127 && a.qs[255] == 127 && a.d == 1.0f / -127.0f);
    static const flt_dtype types[] = { FLT_Q2_K, FLT_Q3_K, FLT_Q4_K, FLT_Q5_K };
    const flt_kernels *sets[8];
    const int nsets = flt_kernels_list(sets, 8);
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const flt_dtype t = types[ti];
        float x[256];
        double want = 0;
        /* the exactly representable patterns above: sum by the formulas */
        if (t == FLT_Q2_K) {
            for (int p = 0; p < 256; p++) {
                const int j = p / 16, k = (p % 16 + j) % 4, ls = j < 15 ? 15 - j : 8;
                x[p] = ldexpf((float)(ls * k), -6) - ldexpf((float)j, -7);
            }
        } else if (t == FLT_Q3_K) {
            static const int c[16] = { 32, 1, -1, 5, -31, 16, 7, -8, 20, 3, -3, 12, 30, -16, 2, 9 };
            for (int p = 0; p < 256; p++) x[p] = ldexpf((float)(c[p / 16] * ((3 * (p % 16) + p / 16) % 8 - 4)), -10);
        } else {
            k45_pattern(t == FLT_Q4_K ? 15 : 31, x);
        }
        for (int p = 0; p < 256; p++) want += p < 128 ? x[p] : -x[p];
        want *= -127.0 * (double)a.d;    /* the activations are exactly +-127 * d */
        uint8_t w[176];
        flt_dtype_info(t)->from_f32(x, w, 256);
        for (int i = 0; i < nsets; i++) {
            float r;
            sets[i]->vec_dot[t](256, w, &a, &r);
            /* the terms are multiples of 2^-11 well inside f32: the integer
             * parts are exact, only the two float scalings round */
            CHECKF(fabs(r - want) <= 1e-6 * fabs(want) + 1e-7, "%s %s known dot %.9g, want %.9g", sets[i]->name,
                   flt_dtype_info(t)->name, r, want);
        }
    }
}

int main(void) {
    test_q2_k_bytes();
    test_q3_k_bytes();
    test_q4_k_bytes();
    test_q5_k_bytes();
    test_bounds();
    test_known_dots();
    return flt_test_finish();
}
