/* Q4_1, Q5_0, Q5_1, Q8_1, IQ4_NL and IQ4_XS: the reference quantizers on
 * hand-computed blocks (known bytes, worked out below from the format and
 * the quantization rules, not taken from our output), degenerate blocks,
 * error bounds on random data, and one hand-computed dot per weight type in
 * every kernel set. Byte-exactness against llama-quantize on real tensors is
 * test_quant_exact.c; kernels against the oracle on many lengths is
 * test_kernels.c. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/dtype.h"
#include "core/quant_blocks.h"
#include "cpu/kernels.h"
#include "harness.h"

static const int8_t iq4_table[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };

static int bytes_differ(const void *got, const uint8_t *want, size_t n, const char *what) {
    const uint8_t *g = got;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (g[i] != want[i]) {
            if (bad++ < 4) fprintf(stderr, "%s byte %zu: 0x%02x, want 0x%02x\n", what, i, g[i], want[i]);
        }
    }
    return bad;
}

/* ---- known bytes ------------------------------------------------------------ */

static void test_q4_1_bytes(void) {
    float x[64];
    /* block 0: 1 + 0.25 * (j % 16): min 1, max 4.75, d = 3.75/15 = 0.25
     * (f16 0x3400), m = 1 (0x3c00), q = j % 16, so byte j = j | j << 4 */
    for (int j = 0; j < 32; j++) x[j] = 1.0f + 0.25f * (float)(j % 16);
    /* block 1: min -1, max 14: d = 1 (0x3c00), m = -1 (0xbc00), q =
     * trunc(x + 1 + 0.5), so ties round up: 1.5 -> 3 (2.5 up), -0.5 -> 1,
     * 6.5 -> 8; 13.99 -> 15 (15.49 truncated) */
    for (int j = 0; j < 32; j++) x[32 + j] = -1.0f;
    x[33] = 14.0f; x[34] = 1.5f; x[35] = -0.5f; x[36] = 6.5f; x[48] = 3.0f; x[49] = 13.99f;
    uint8_t want[40] = { 0x00, 0x34, 0x00, 0x3c };
    for (int j = 0; j < 16; j++) want[4 + j] = (uint8_t)(j | j << 4);
    static const uint8_t b1[20] = { 0x00, 0x3c, 0x00, 0xbc, 0x40, 0xff, 0x03, 0x01, 0x08 };
    memcpy(want + 20, b1, sizeof b1);
    flt_block_q4_1 b[2];
    flt_q4_1_from_f32_ref(x, b, 64);
    CHECK(bytes_differ(b, want, sizeof want, "Q4_1") == 0);
    float y[64];
    flt_q4_1_to_f32_ref(b, y, 64);
    int bad = 0;
    for (int j = 0; j < 32; j++) bad += y[j] != x[j];   /* block 0 is exact */
    CHECK(bad == 0);
    CHECK(y[34] == 2.0f && y[35] == 0.0f && y[36] == 7.0f && y[49] == 14.0f && y[48] == 3.0f);

    /* all zero: d = m = 0, q = 0; a constant block keeps its value in m */
    float z[64];
    for (int j = 0; j < 32; j++) { z[j] = 0.0f; z[32 + j] = 1.25f; }
    flt_q4_1_from_f32_ref(z, b, 64);
    uint8_t wz[40] = { 0 };
    wz[22] = 0x00; wz[23] = 0x3d;   /* m = 1.25 */
    CHECK(bytes_differ(b, wz, sizeof wz, "Q4_1 zero/constant") == 0);
}

static void test_q5_0_bytes(void) {
    float x[64] = { 0 };
    /* block 0: j - 16, the first largest magnitude is -16: d = 1 (0x3c00),
     * q = trunc(x + 16.5) = j; low nibbles j | j << 4, fifth bits set for
     * elements 16..31: qh = 0xffff0000 (little-endian) */
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);
    /* block 1: +8 first (and -8 later does not replace it): d = 8/-16 = -0.5
     * (0xb800), q = min(31, trunc(-2x + 16.5)): 8 -> 0, -7.75 -> 31,
     * 0.25 -> 16, -0.25 -> 17, 1.25 -> 14, 0 -> 16, 4 -> 8, -8 -> 32 -> 31 */
    x[32] = 8.0f; x[33] = -7.75f; x[34] = 0.25f; x[35] = -0.25f; x[36] = 1.25f; x[48] = 4.0f; x[49] = -8.0f;
    uint8_t want[44] = { 0x00, 0x3c, 0x00, 0x00, 0xff, 0xff };
    for (int j = 0; j < 16; j++) want[6 + j] = (uint8_t)(j | j << 4);
    /* q >= 16 at 1, 2, 3, 5..15 (0xffee) and 17..31 (0xfffe) */
    static const uint8_t b1[22] = { 0x00, 0xb8, 0xee, 0xff, 0xfe, 0xff, 0x80, 0xff, 0x00, 0x01, 0x0e };
    memcpy(want + 22, b1, sizeof b1);
    flt_block_q5_0 b[2];
    flt_q5_0_from_f32_ref(x, b, 64);
    CHECK(bytes_differ(b, want, sizeof want, "Q5_0") == 0);
    float y[64];
    flt_q5_0_to_f32_ref(b, y, 64);
    int bad = 0;
    for (int j = 0; j < 32; j++) bad += y[j] != x[j];
    CHECK(bad == 0);
    CHECK(y[33] == -7.5f && y[49] == -7.5f && y[35] == -0.5f && y[34] == 0.0f && y[32] == 8.0f);

    /* all zero: d = 0/-16 = -0 (0x8000), every q = trunc(16.5) = 16 */
    float z[32] = { 0 };
    flt_q5_0_from_f32_ref(z, b, 32);
    static const uint8_t wz[22] = { 0x00, 0x80, 0xff, 0xff, 0xff, 0xff };
    CHECK(bytes_differ(b, wz, sizeof wz, "Q5_0 zero") == 0);
}

static void test_q5_1_bytes(void) {
    /* j/8 - 1: min -1 (m 0xbc00), max 2.875, d = 3.875/31 = 0.125 (0x3000),
     * q = j: bytes j | j << 4 and qh = 0xffff0000 */
    float x[32];
    for (int j = 0; j < 32; j++) x[j] = (float)j * 0.125f - 1.0f;
    uint8_t want[24] = { 0x00, 0x30, 0x00, 0xbc, 0x00, 0x00, 0xff, 0xff };
    for (int j = 0; j < 16; j++) want[8 + j] = (uint8_t)(j | j << 4);
    flt_block_q5_1 b;
    flt_q5_1_from_f32_ref(x, &b, 32);
    CHECK(bytes_differ(&b, want, sizeof want, "Q5_1") == 0);
    float y[32];
    flt_q5_1_to_f32_ref(&b, y, 32);
    int bad = 0;
    for (int j = 0; j < 32; j++) bad += y[j] != x[j];
    CHECK(bad == 0);
}

static void test_q8_1_bytes(void) {
    /* amax 127: d = 1 (0x3c00), q = roundf(x) (ties away from zero: 2.5 -> 3,
     * -2.5 -> -3, 0.5 -> 1, 1.5 -> 2), sum = 127 - 127 + 3 - 3 + 1 + 2 + 100
     * = 103, s = 103 (0x5670) */
    float x[32] = { 127.0f, -127.0f, 2.5f, -2.5f, 0.5f, 1.5f };
    x[31] = 100.25f;
    uint8_t want[36] = { 0x00, 0x3c, 0x70, 0x56, 0x7f, 0x81, 0x03, 0xfd, 0x01, 0x02 };
    want[35] = 100;
    flt_block_q8_1 b;
    flt_q8_1_from_f32_ref(x, &b, 32);
    CHECK(bytes_differ(&b, want, sizeof want, "Q8_1") == 0);
    float y[32];
    flt_q8_1_to_f32_ref(&b, y, 32);
    CHECK(y[0] == 127.0f && y[2] == 3.0f && y[31] == 100.0f);
    float z[32] = { 0 };
    flt_q8_1_from_f32_ref(z, &b, 32);
    static const uint8_t wz[36] = { 0 };
    CHECK(bytes_differ(&b, wz, sizeof wz, "Q8_1 zero") == 0);
}

/* x = 2^-7 * table[j % 16]: the search's k = 0 trial maps x exactly onto the
 * table, a perfect fit (scaling by a power of two is exact, so the fitted
 * scale is exactly 2^-7, f16 0x2000), and every index is j % 16. */
static void test_iq4_nl_bytes(void) {
    float x[64];
    for (int j = 0; j < 32; j++) x[j] = ldexpf((float)iq4_table[j % 16], -7);
    for (int j = 32; j < 64; j++) x[j] = 0.0f;
    uint8_t want[36] = { 0x00, 0x20 };
    for (int j = 0; j < 16; j++) want[2 + j] = (uint8_t)(j | j << 4);
    /* all zero: d = 0 and every index is the table's nearest to 0: 1 at 8 */
    for (int j = 0; j < 16; j++) want[20 + j] = 0x88;
    flt_block_iq4_nl b[2];
    flt_iq4_nl_from_f32_ref(x, b, 64);
    CHECK(bytes_differ(b, want, sizeof want, "IQ4_NL") == 0);
    float y[64];
    flt_iq4_nl_to_f32_ref(b, y, 64);
    int bad = 0;
    for (int j = 0; j < 64; j++) bad += y[j] != x[j];
    CHECK(bad == 0);
}

/* Sub-block ib holds s_ib * table[j % 16] with s = -2^-2, 2^-3, -2^-4, 2^-5,
 * -2^-3, 2^-4, 2^-6, -2^-7: each fit is exactly s_ib (as for IQ4_NL), the
 * largest is -2^-2, so d = 2^-2/32 = 2^-7 (0x2000) and l = s/d = -32, 16,
 * -8, 4, -16, 8, 2, -1; stored ls = l + 32 = 0, 48, 24, 36, 16, 40, 34, 31:
 * low nibbles pairwise 0x00 0x48 0x80 0xf2, high bits 0,3,1,2,1,2,2,1 ->
 * scales_h 0x699c. The indices are j % 16 again. */
static void test_iq4_xs_bytes(void) {
    static const int sexp[8] = { -2, -3, -4, -5, -3, -4, -6, -7 };
    static const float ssign[8] = { -1, 1, -1, 1, -1, 1, 1, -1 };
    float x[512];
    for (int p = 0; p < 256; p++) x[p] = ssign[p / 32] * ldexpf((float)iq4_table[p % 16], sexp[p / 32]);
    for (int p = 256; p < 512; p++) x[p] = 0.0f;
    uint8_t want[272] = { 0x00, 0x20, 0x9c, 0x69, 0x00, 0x48, 0x80, 0xf2 };
    for (int p = 0; p < 128; p++) want[8 + p] = (uint8_t)(p % 16 | (p % 16) << 4);
    /* all zero: d = -0/32 = -0 (0x8000), l = 0 -> ls = 32 (nibbles 0, high
     * bits 2 each: 0xaaaa), indices 8 */
    want[136] = 0x00; want[137] = 0x80; want[138] = 0xaa; want[139] = 0xaa;
    for (int p = 0; p < 128; p++) want[144 + p] = 0x88;
    flt_block_iq4_xs b[2];
    flt_iq4_xs_from_f32_ref(x, b, 512);
    CHECK(bytes_differ(b, want, sizeof want, "IQ4_XS") == 0);
    float y[512];
    flt_iq4_xs_to_f32_ref(b, y, 512);
    int bad = 0;
    for (int p = 0; p < 512; p++) bad += y[p] != x[p];
    CHECK(bad == 0);
}

/* ---- error bounds on random data ----------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {          /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float rng_uniform(uint64_t *s) {          /* [-1, 1) */
    return (float)((double)(rng_next(s) >> 11) * 0x1p-52 - 1.0);
}

enum { NB = 256 * 64 };

/* f16 rounding of a stored value v: half an ulp, 2^-11 relative, or 2^-25
 * absolute once v is subnormal */
static double f16_err(double v) { return fabs(v) * 0x1p-11 + 0x1p-25; }

static void test_legacy_bounds(void) {
    static float x[NB], y[NB];
    static unsigned char q[NB * 2];
    uint64_t seed = 4242;
    for (int i = 0; i < NB; i++) {
        /* blocks over many binades (up to 2^9: m is an f16, max 65504),
         * some offset (all-positive) */
        const float scale = ldexpf(1.0f, (int)(i / 32 % 30) - 20);
        x[i] = rng_uniform(&seed) * scale + ((i / 32) % 3 == 0 ? 1.5f * scale : 0.0f);
    }
    int bad41 = 0, bad50 = 0, bad51 = 0, bad81 = 0, bad_s = 0;
    flt_q4_1_from_f32_ref(x, q, NB);
    flt_q4_1_to_f32_ref(q, y, NB);
    for (int b = 0; b < NB / 32; b++) {
        float mn = x[32 * b], mx = x[32 * b];
        for (int j = 0; j < 32; j++) { mn = fminf(mn, x[32 * b + j]); mx = fmaxf(mx, x[32 * b + j]); }
        /* half a step, f16 rounding of d (times q <= 15) and of m, float
         * rounding of the arithmetic */
        const double d = ((double)mx - mn) / 15;
        const double bound = 0.5 * d + 15 * f16_err(d) + f16_err(mn) + 1e-6 * (fabs(mx) + fabs(mn));
        for (int j = 0; j < 32; j++) bad41 += fabs((double)x[32 * b + j] - y[32 * b + j]) > bound;
    }
    flt_q5_1_from_f32_ref(x, q, NB);
    flt_q5_1_to_f32_ref(q, y, NB);
    for (int b = 0; b < NB / 32; b++) {
        float mn = x[32 * b], mx = x[32 * b];
        for (int j = 0; j < 32; j++) { mn = fminf(mn, x[32 * b + j]); mx = fmaxf(mx, x[32 * b + j]); }
        const double d = ((double)mx - mn) / 31;
        const double bound = 0.5 * d + 31 * f16_err(d) + f16_err(mn) + 1e-6 * (fabs(mx) + fabs(mn));
        for (int j = 0; j < 32; j++) bad51 += fabs((double)x[32 * b + j] - y[32 * b + j]) > bound;
    }
    flt_q5_0_from_f32_ref(x, q, NB);
    flt_q5_0_to_f32_ref(q, y, NB);
    for (int b = 0; b < NB / 32; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
        /* a full step (the side opposite the signed max clamps from 16 to
         * 15 steps), plus f16 d times |q - 16| <= 16 */
        const double d = amax / 16.0;
        const double bound = d + 16 * f16_err(d);
        for (int j = 0; j < 32; j++) bad50 += fabs((double)x[32 * b + j] - y[32 * b + j]) > bound;
    }
    flt_q8_1_from_f32_ref(x, q, NB);
    flt_q8_1_to_f32_ref(q, y, NB);
    const flt_block_q8_1 *q8 = (const flt_block_q8_1 *)q;
    for (int b = 0; b < NB / 32; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
        const double d = amax / 127.0;
        const double bound = 0.5 * d + 127 * f16_err(d);
        for (int j = 0; j < 32; j++) bad81 += fabs((double)x[32 * b + j] - y[32 * b + j]) > bound;
        /* s = f16(d * sum q) with the unrounded d: within f16 rounding of d and of s */
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += q8[b].qs[j];
        const double d16 = flt_f16_to_f32(q8[b].d), s = flt_f16_to_f32(q8[b].s);
        bad_s += fabs(s - d16 * sum) > fabs((double)sum) * f16_err(d) + f16_err(s) + 1e-6 * fabs(s);
    }
    CHECKF(bad41 == 0, "%d Q4_1 values outside the error bound", bad41);
    CHECKF(bad50 == 0, "%d Q5_0 values outside the error bound", bad50);
    CHECKF(bad51 == 0, "%d Q5_1 values outside the error bound", bad51);
    CHECKF(bad81 == 0, "%d Q8_1 values outside the error bound", bad81);
    CHECKF(bad_s == 0, "%d Q8_1 sums s inconsistent with qs", bad_s);
}

/* The non-linear types have no simple per-element bound tighter than the
 * table's widest gap (24 of 254 units: ~10% of a block's amax, more where a
 * fitted scale clips the extremes), so check that, plus rms error: for
 * uniform data a 16-level grid of average spacing 254/15 units leaves
 * ~(254/15)/sqrt(12) = 4.9 units rms against a signal of 127/sqrt(3) = 73
 * (6.7%); the fitted scales do better. A layout, index or scale bug is far
 * above both limits. */
static void test_iq4_bounds(void) {
    static float x[NB], y[NB];
    static unsigned char q[NB];
    uint64_t seed = 99;
    for (int i = 0; i < NB; i++) {
        const int e = (i / 32) % 8 + (i / 256) % 24 - 16;
        x[i] = rng_uniform(&seed) * ldexpf(1.0f, e);
    }
    for (int k = 0; k < 2; k++) {
        const flt_dtype t = k ? FLT_IQ4_XS : FLT_IQ4_NL;
        const flt_dtype_traits *tr = flt_dtype_info(t);
        tr->from_f32(x, q, NB);
        tr->to_f32(q, y, NB);
        int bad = 0;
        double err2 = 0, x2 = 0;
        for (int b = 0; b < NB / 32; b++) {
            float amax = 0, samax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
            for (int j = 0; j < 256; j++) samax = fmaxf(samax, fabsf(x[b / 8 * 256 + j]));
            /* IQ4_XS stores a sub-block's scale as l * d, d = 1/32 of the
             * super-block's largest: rounding l moves each value by up to
             * 1/64 of that scale (times |table| <= 127, against the 113..127
             * the largest maps to), and a sub-block 2^6 smaller than the
             * largest gets l = 0. So its errors are relative to the
             * super-block (samax); IQ4_NL's to its own block. */
            const double ref = k ? samax : amax;
            for (int j = 0; j < 32; j++) {
                const double d = (double)x[32 * b + j] - y[32 * b + j];
                bad += fabs(d) > 0.15 * amax + (k ? 0.03 * samax : 0.0);
                err2 += d * d / (ref * ref);
                x2 += (double)x[32 * b + j] * x[32 * b + j] / (ref * ref);
            }
        }
        const double rel = sqrt(err2 / x2);
        fprintf(stderr, "%s relative rms error %.4f\n", tr->name, rel);
        CHECKF(bad == 0, "%d %s values outside the error bound", bad, tr->name);
        CHECKF(rel < (k ? 0.08 : 0.07), "%s relative rms error %.4f", tr->name, rel);
    }
}

/* ---- hand-computed dots in every set --------------------------------------------- */

/* Activations of all ones: Q8_0/Q8_1 store q = 127 with d = f16(1/127); Q8_1
 * adds s = f16(32 * 127 * (1/127)) = 32; Q8_K (whose d carries the sign of the
 * first largest value) stores q = -127 with d = -1/127. Each weight block
 * below is a known-bytes block from above, so each integer sum is worked out
 * by hand from its q's; the float result is then computed the way the oracle
 * orders it (scalar must match exactly, SIMD to rounding). */
static void test_known_dots(void) {
    float ones[256], xw[256];
    for (int j = 0; j < 256; j++) ones[j] = 1.0f;
    flt_block_q8_0 a0;
    flt_block_q8_1 a1;
    flt_block_q8_k ak;
    flt_q8_0_from_f32_ref(ones, &a0, 32);
    flt_q8_1_from_f32_ref(ones, &a1, 32);
    flt_q8_k_from_f32_ref(ones, &ak, 256);
    const float da = flt_f16_to_f32(a0.d);
    CHECK(a1.d == a0.d && a1.s == 0x5000 && a1.qs[0] == 127 && ak.qs[0] == -127);

    struct { flt_dtype t; unsigned char w[136]; float want; } c[5];
    /* Q4_1 (q = j % 16, d = 0.25, m = 1): isum = 127 * 2 * (0 + ... + 15) = 30480 */
    for (int j = 0; j < 32; j++) xw[j] = 1.0f + 0.25f * (float)(j % 16);
    c[0].t = FLT_Q4_1;
    flt_q4_1_from_f32_ref(xw, c[0].w, 32);
    c[0].want = 30480.0f * (0.25f * da) + 1.0f * 32.0f;
    /* Q5_0 (q = j, d = 1): isum = 127 * sum(j - 16) = -2032 */
    for (int j = 0; j < 32; j++) xw[j] = (float)(j - 16);
    c[1].t = FLT_Q5_0;
    flt_q5_0_from_f32_ref(xw, c[1].w, 32);
    c[1].want = -2032.0f * (1.0f * da);
    /* Q5_1 (q = j, d = 0.125, m = -1): isum = 127 * 496 = 62992 */
    for (int j = 0; j < 32; j++) xw[j] = (float)j * 0.125f - 1.0f;
    c[2].t = FLT_Q5_1;
    flt_q5_1_from_f32_ref(xw, c[2].w, 32);
    c[2].want = 62992.0f * (0.125f * da) + -1.0f * 32.0f;
    /* IQ4_NL (table[j % 16], d = 2^-7): the table sums to -94, isum = 127 * 2 * -94 */
    for (int j = 0; j < 32; j++) xw[j] = ldexpf((float)iq4_table[j % 16], -7);
    c[3].t = FLT_IQ4_NL;
    flt_iq4_nl_from_f32_ref(xw, c[3].w, 32);
    c[3].want = -23876.0f * (0x1p-7f * da);
    /* IQ4_XS (the block above, d = 2^-7, l summing to -27) x q = -127:
     * isum = -127 * 2 * -94 * -27 = -644652 */
    static const int sexp[8] = { -2, -3, -4, -5, -3, -4, -6, -7 };
    static const float ssign[8] = { -1, 1, -1, 1, -1, 1, 1, -1 };
    for (int p = 0; p < 256; p++) xw[p] = ssign[p / 32] * ldexpf((float)iq4_table[p % 16], sexp[p / 32]);
    c[4].t = FLT_IQ4_XS;
    flt_iq4_xs_from_f32_ref(xw, c[4].w, 256);
    c[4].want = -644652.0f * (0x1p-7f * ak.d);

    const flt_kernels *sets[8];
    const int ns = flt_kernels_list(sets, 8);
    for (int i = 0; i < ns; i++) {
        for (int k = 0; k < 5; k++) {
            const flt_dtype_traits *tr = flt_dtype_info(c[k].t);
            const void *act = tr->dot_type == FLT_Q8_0 ? (const void *)&a0
                            : tr->dot_type == FLT_Q8_1 ? (const void *)&a1 : (const void *)&ak;
            float r = NAN;
            CHECKF(sets[i]->vec_dot[c[k].t] != NULL, "%s %s vec_dot", sets[i]->name, tr->name);
            if (!sets[i]->vec_dot[c[k].t]) continue;
            sets[i]->vec_dot[c[k].t]((int64_t)tr->block_size, c[k].w, act, &r);
            if (i == 0) CHECKF(r == c[k].want, "scalar %s known dot %.9g, want %.9g", tr->name, r, c[k].want);
            else CHECKF(fabsf(r - c[k].want) <= 1e-6f * fabsf(c[k].want), "%s %s known dot %.9g, want %.9g",
                        sets[i]->name, tr->name, r, c[k].want);
        }
    }
}

int main(void) {
    test_q4_1_bytes();
    test_q5_0_bytes();
    test_q5_1_bytes();
    test_q8_1_bytes();
    test_iq4_nl_bytes();
    test_iq4_xs_bytes();
    test_legacy_bounds();
    test_iq4_bounds();
    test_known_dots();
    return flt_test_finish();
}
