/* dtype traits, half-precision conversions (checked against an independent
 * double-precision oracle), and the reference quantizers (known bytes + error
 * bounds). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/dtype.h"
#include "core/error.h"
#include "core/quant_blocks.h"
#include "formats/gguf.h"
#include "harness.h"

/* ---- traits ---------------------------------------------------------------- */

static void test_traits(void) {
    static const struct { flt_dtype t; const char *name; uint32_t bs, bb, ggml; flt_dtype dot; bool q; } want[] = {
        { FLT_F32, "F32", 1, 4, 0, FLT_F32, false },    { FLT_F16, "F16", 1, 2, 1, FLT_F32, false },
        { FLT_BF16, "BF16", 1, 2, 30, FLT_F32, false }, { FLT_Q8_0, "Q8_0", 32, 34, 8, FLT_Q8_0, true },
        { FLT_Q4_0, "Q4_0", 32, 18, 2, FLT_Q8_0, true }, { FLT_I8, "I8", 1, 1, 24, FLT_I8, false },
        { FLT_I16, "I16", 1, 2, 25, FLT_I16, false },   { FLT_I32, "I32", 1, 4, 26, FLT_I32, false },
        { FLT_I64, "I64", 1, 8, 27, FLT_I64, false },   { FLT_U8, "U8", 1, 1, UINT32_MAX, FLT_U8, false },
        { FLT_F64, "F64", 1, 8, 28, FLT_F64, false },
        { FLT_Q6_K, "Q6_K", 256, 210, 14, FLT_Q8_K, true }, { FLT_Q8_K, "Q8_K", 256, 292, 15, FLT_Q8_K, true },
        { FLT_Q2_K, "Q2_K", 256, 84, 10, FLT_Q8_K, true },  { FLT_Q3_K, "Q3_K", 256, 110, 11, FLT_Q8_K, true },
        { FLT_Q4_K, "Q4_K", 256, 144, 12, FLT_Q8_K, true }, { FLT_Q5_K, "Q5_K", 256, 176, 13, FLT_Q8_K, true },
        { FLT_Q4_1, "Q4_1", 32, 20, 3, FLT_Q8_1, true },    { FLT_Q5_0, "Q5_0", 32, 22, 6, FLT_Q8_0, true },
        { FLT_Q5_1, "Q5_1", 32, 24, 7, FLT_Q8_1, true },    { FLT_Q8_1, "Q8_1", 32, 36, 9, FLT_Q8_1, true },
        { FLT_IQ4_NL, "IQ4_NL", 32, 18, 20, FLT_Q8_0, true }, { FLT_IQ4_XS, "IQ4_XS", 256, 136, 23, FLT_Q8_K, true },
        { FLT_BOOL, "BOOL", 1, 1, UINT32_MAX, FLT_BOOL, false }, { FLT_U16, "U16", 1, 2, UINT32_MAX, FLT_U16, false },
        { FLT_U32, "U32", 1, 4, UINT32_MAX, FLT_U32, false },   { FLT_U64, "U64", 1, 8, UINT32_MAX, FLT_U64, false },
    };
    /* every dtype with a row is listed here (reserved values have none) */
    int with_rows = 0;
    for (int t = 0; t < FLT_DTYPE_COUNT; t++) with_rows += flt_dtype_info((flt_dtype)t) != NULL;
    CHECK(sizeof want / sizeof want[0] == (size_t)with_rows);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const flt_dtype_traits *tr = flt_dtype_info(want[i].t);
        CHECKF(tr != NULL, "dtype %d", (int)want[i].t);
        if (!tr) continue;
        CHECKF(strcmp(tr->name, want[i].name) == 0, "%s", want[i].name);
        CHECKF(tr->block_size == want[i].bs && tr->block_bytes == want[i].bb, "%s sizes", want[i].name);
        CHECKF(tr->ggml_type == want[i].ggml, "%s ggml id %u", want[i].name, tr->ggml_type);
        CHECKF(tr->dot_type == want[i].dot, "%s dot_type", want[i].name);
        CHECKF(tr->quantized == want[i].q, "%s quantized", want[i].name);
        CHECKF(tr->to_f32 != NULL, "%s to_f32", want[i].name);
        flt_dtype back;
        if (want[i].ggml != UINT32_MAX) {
            CHECKF(flt_dtype_from_ggml(want[i].ggml, &back) && back == want[i].t, "%s from ggml", want[i].name);
        }
    }
    for (int t = FLT_F32; t <= FLT_Q4_0; t++) CHECK(flt_dtype_info((flt_dtype)t)->from_f32 != NULL);
    CHECK(flt_dtype_info(FLT_Q6_K)->from_f32 != NULL && flt_dtype_info(FLT_Q8_K)->from_f32 != NULL);
    /* pinned values: files and caches may store them */
    CHECK(FLT_F64 == 10 && FLT_Q6_K == 11 && FLT_Q8_K == 12 && FLT_Q4_1 == 13 && FLT_IQ4_XS == 22 &&
          FLT_BOOL == 23 && FLT_U64 == 26 && FLT_DTYPE_COUNT == 27);
    CHECK(flt_dtype_info(FLT_DTYPE_COUNT) == NULL);
    CHECK(flt_dtype_info((flt_dtype)-1) == NULL);
    flt_dtype t;
    CHECK(!flt_dtype_from_ggml(19, &t));         /* IQ1_S: not (yet) in Flint */
    CHECK(!flt_dtype_from_ggml(4, &t));          /* removed Q4_2 */
    CHECK(!flt_dtype_from_ggml(UINT32_MAX, &t)); /* the "none" marker is not an id */
    CHECK(!flt_dtype_from_ggml(1000, &t));
}

static void test_row_bytes(void) {
    size_t n = 7;
    CHECK(flt_dtype_row_bytes(FLT_F32, 10, &n) && n == 40);
    CHECK(flt_dtype_row_bytes(FLT_F32, 0, &n) && n == 0);
    CHECK(flt_dtype_row_bytes(FLT_Q4_0, 64, &n) && n == 36);
    CHECK(flt_dtype_row_bytes(FLT_Q8_0, 4096, &n) && n == 128 * 34);
    CHECK(flt_dtype_row_bytes(FLT_BF16, 3, &n) && n == 6);
    CHECK(flt_dtype_row_bytes(FLT_Q6_K, 4096, &n) && n == 16 * 210);
    CHECK(flt_dtype_row_bytes(FLT_Q8_K, 512, &n) && n == 2 * 292);
    CHECK(!flt_dtype_row_bytes(FLT_Q6_K, 128, &n));
    CHECK(!flt_dtype_row_bytes(FLT_Q8_K, 32, &n));
    CHECK(!flt_dtype_row_bytes(FLT_Q4_0, 33, &n));
    CHECK(!flt_dtype_row_bytes(FLT_Q8_0, 16, &n));
    CHECK(!flt_dtype_row_bytes(FLT_F32, -1, &n));
    CHECK(!flt_dtype_row_bytes(FLT_Q8_0, -32, &n));
    CHECK(!flt_dtype_row_bytes(FLT_DTYPE_COUNT, 1, &n));
    CHECK(!flt_dtype_row_bytes(FLT_F64, INT64_MAX, &n));               /* *8 overflows */
    CHECK(!flt_dtype_row_bytes(FLT_I64, INT64_MAX / 2 + 1, &n));
    CHECK(flt_dtype_row_bytes(FLT_Q8_0, INT64_MAX - INT64_MAX % 32, &n) == (sizeof(size_t) >= 8));
    CHECK(flt_dtype_row_bytes(FLT_U8, INT64_MAX, &n) == (sizeof(size_t) >= 8));
}

/* ---- f16 ---------------------------------------------------------------------- */

/* Independent decode: the IEEE binary16 definition, evaluated in double. */
static double f16_value(uint16_t h) {
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31) v = m ? NAN : INFINITY;
    else if (e == 0) v = ldexp(m, -24);
    else v = ldexp(1024 + m, e - 25);
    return sign ? -v : v;
}

/* Independent encode-and-decode: round x to the binary16 grid with rint (the
 * default mode is ties-to-even) at the grid spacing of x's binade. */
static double f16_round_oracle(double x) {
    double ax = fabs(x);
    if (ax == 0) return x;
    int e;
    frexp(ax, &e);                       /* ax in [2^(e-1), 2^e) */
    int ulp_exp = (e - 1) - 10;
    if (ulp_exp < -24) ulp_exp = -24;    /* subnormals share one spacing */
    double r = ldexp(rint(ldexp(ax, -ulp_exp)), ulp_exp);
    if (r > 65504.0) r = INFINITY;
    return x < 0 ? -r : r;
}

static void test_f16_exhaustive(void) {
    int bad_decode = 0, bad_roundtrip = 0, bad_nan = 0;
    for (uint32_t u = 0; u < 65536; u++) {
        const uint16_t h = (uint16_t)u;
        const float f = flt_f16_to_f32(h);
        const double want = f16_value(h);
        if (isnan(want)) {
            uint16_t back = flt_f32_to_f16(f);
            /* stays NaN, made quiet, payload and sign kept */
            if (!isnan(f) || back != (h | 0x200)) bad_nan++;
            continue;
        }
        if ((double)f != want || !signbit(f) != !signbit(want)) bad_decode++;
        if (flt_f32_to_f16(f) != h) bad_roundtrip++;
    }
    CHECKF(bad_decode == 0, "%d f16 values decode wrongly", bad_decode);
    CHECKF(bad_roundtrip == 0, "%d f16 values fail f16->f32->f16", bad_roundtrip);
    CHECKF(bad_nan == 0, "%d NaNs mishandled", bad_nan);
}

static int f16_check_one(float x) {
    const uint16_t h = flt_f32_to_f16(x);
    const double got = f16_value(h), want = f16_round_oracle(x);
    if (got != want || !signbit(got) != !signbit(want)) {
        fprintf(stderr, "f32_to_f16(%a) = 0x%04x (%a), want %a\n", x, h, got, want);
        return 1;
    }
    return 0;
}

static void test_f16_rounding(void) {
    int bad = 0;
    /* every midpoint between neighbouring f16 values, and one f32 ulp either side */
    for (uint32_t h = 0; h < 0x7c00 && bad < 10; h++) {
        const double lo = f16_value((uint16_t)h);
        const double hi = h + 1 < 0x7c00 ? f16_value((uint16_t)(h + 1)) : 65536.0;
        const float mid = (float)((lo + hi) / 2);    /* exact in f32 */
        bad += f16_check_one(mid) + f16_check_one(-mid);
        bad += f16_check_one(nextafterf(mid, 0)) + f16_check_one(nextafterf(mid, INFINITY));
    }
    /* a stride through all f32 bit patterns (finite ones) */
    for (uint64_t u = 0; u < 0x100000000ull && bad < 20; u += 4093) {
        uint32_t b = (uint32_t)u;
        float x;
        memcpy(&x, &b, 4);
        if (isfinite(x)) bad += f16_check_one(x);
    }
    CHECKF(bad == 0, "%d f32->f16 roundings disagree with the oracle", bad);

    /* named edge cases */
    CHECK(flt_f32_to_f16(0.0f) == 0x0000);
    CHECK(flt_f32_to_f16(-0.0f) == 0x8000);
    CHECK(flt_f32_to_f16(1.0f) == 0x3c00);
    CHECK(flt_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(flt_f32_to_f16(65519.996f) == 0x7bff);
    CHECK(flt_f32_to_f16(65520.0f) == 0x7c00);    /* tie past the max goes to even = inf */
    CHECK(flt_f32_to_f16(1e10f) == 0x7c00);
    CHECK(flt_f32_to_f16(INFINITY) == 0x7c00);
    CHECK(flt_f32_to_f16(-INFINITY) == 0xfc00);
    CHECK(flt_f32_to_f16(NAN) == 0x7e00);
    CHECK(flt_f32_to_f16(0x1p-24f) == 0x0001);     /* smallest subnormal */
    CHECK(flt_f32_to_f16(0x1p-25f) == 0x0000);     /* tie with 0: even */
    CHECK(flt_f32_to_f16(nextafterf(0x1p-25f, 1)) == 0x0001);
    CHECK(flt_f32_to_f16(0x1.8p-24f) == 0x0002);   /* 1.5 ulp: tie, even = 2 */
    CHECK(flt_f32_to_f16(0x1.4p-23f) == 0x0002);   /* 2.5 ulp: tie, even = 2 */
    CHECK(flt_f32_to_f16(0x1.ffcp-15f) == 0x0400); /* 1023.5 ulp -> smallest normal */
    CHECK(flt_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);        /* tie, even */
    CHECK(flt_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3c02);    /* tie, even */
    CHECK(flt_f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(flt_f16_to_f32(0x03ff) == 0x1.ff8p-15f);
    CHECK(signbit(flt_f16_to_f32(0x8000)) && flt_f16_to_f32(0x8000) == 0.0f);
    CHECK(isinf(flt_f16_to_f32(0xfc00)) && flt_f16_to_f32(0xfc00) < 0);
}

/* ---- bf16 --------------------------------------------------------------------- */

static double bf16_round_oracle(double x) {
    double ax = fabs(x);
    if (ax == 0) return x;
    int e;
    frexp(ax, &e);
    int ulp_exp = (e - 1) - 7;
    if (ulp_exp < -133) ulp_exp = -133;  /* f32 subnormal spacing */
    double r = ldexp(rint(ldexp(ax, -ulp_exp)), ulp_exp);
    if (r >= 0x1p128) r = INFINITY;
    return x < 0 ? -r : r;
}

static void test_bf16(void) {
    int bad = 0;
    for (uint32_t u = 0; u < 65536; u++) {
        const uint16_t b = (uint16_t)u;
        const float f = flt_bf16_to_f32(b);
        uint32_t bits;
        memcpy(&bits, &f, 4);
        if (bits != (uint32_t)b << 16) bad++;
        if (isnan(f)) { if (flt_f32_to_bf16(f) != (b | 0x40)) bad++; }
        else if (flt_f32_to_bf16(f) != b) bad++;
    }
    CHECKF(bad == 0, "%d bf16 values fail the round trip", bad);
    bad = 0;
    for (uint64_t u = 0; u < 0x100000000ull && bad < 10; u += 4093) {
        uint32_t b = (uint32_t)u;
        float x;
        memcpy(&x, &b, 4);
        if (!isfinite(x)) continue;
        double got = flt_bf16_to_f32(flt_f32_to_bf16(x)), want = bf16_round_oracle(x);
        if (got != want || !signbit(got) != !signbit(want)) {
            fprintf(stderr, "f32_to_bf16(%a) = %a, want %a\n", x, got, want);
            bad++;
        }
    }
    CHECKF(bad == 0, "%d f32->bf16 roundings disagree with the oracle", bad);
    CHECK(flt_f32_to_bf16(1.0f + 0x1p-8f) == 0x3f80);      /* tie, even */
    CHECK(flt_f32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3f82);  /* tie, even */
    CHECK(flt_f32_to_bf16(-0.0f) == 0x8000);
    CHECK(flt_f32_to_bf16(INFINITY) == 0x7f80);
    CHECK(flt_f32_to_bf16(0x1.fffffep127f) == 0x7f80);    /* rounds up to inf */
    /* a NaN whose payload lives only in the low bits must not become inf */
    uint32_t nanbits = 0x7f800001;
    float nan_low;
    memcpy(&nan_low, &nanbits, 4);
    CHECK(flt_f32_to_bf16(nan_low) == 0x7fc0);
    CHECK(isnan(flt_bf16_to_f32(flt_f32_to_bf16(NAN))));
}

/* ---- quantizers: known bytes --------------------------------------------------- */

static void test_q8_0_bytes(void) {
    float x[64];
    /* block 0: the -8..7 pattern twice. amax 8 -> d = 8/127 (f16 0x2c08),
     * 1/d = 15.875 exactly, q = roundf(x * 15.875); -4 and 4 land on ties
     * (+-63.5) that go away from zero. */
    for (int j = 0; j < 32; j++) x[j] = (float)(j % 16 - 8);
    static const int8_t q0[16] = { -127, -111, -95, -79, -64, -48, -32, -16, 0, 16, 32, 48, 64, 79, 95, 111 };
    /* block 1: amax 127 -> d = 1, so q = roundf(x): ties go away from zero,
     * unlike rint (2.5 -> 3, not 2). */
    static const float x1[32] = { 127, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, 0.49999997f, -126.5f, 3, -3, 100, -127 };
    static const int8_t q1[32] = { 127, 3, -3, 1, -1, 2, 0, -127, 3, -3, 100, -127 };
    memcpy(x + 32, x1, sizeof x1);
    flt_block_q8_0 b[2];
    flt_q8_0_from_f32_ref(x, b, 64);
    const unsigned char *raw = (const unsigned char *)b;
    CHECK(raw[0] == 0x08 && raw[1] == 0x2c);       /* little-endian f16 d */
    for (int j = 0; j < 32; j++) CHECKF(b[0].qs[j] == q0[j % 16], "q8 block0[%d]=%d", j, b[0].qs[j]);
    CHECK(raw[34] == 0x00 && raw[35] == 0x3c);
    for (int j = 0; j < 32; j++) CHECKF(b[1].qs[j] == q1[j], "q8 block1[%d]=%d", j, b[1].qs[j]);

    float y[64];
    flt_q8_0_to_f32_ref(b, y, 64);
    CHECK(y[0] == -127.0f * flt_f16_to_f32(0x2c08));
    CHECK(y[33] == 3.0f);

    /* an all-zero block: d = 0 and every q = 0 */
    float z[32] = { 0 };
    flt_q8_0_from_f32_ref(z, b, 32);
    CHECK(b[0].d == 0);
    int nz = 0;
    for (int j = 0; j < 32; j++) nz += b[0].qs[j] != 0;
    CHECK(nz == 0);
}

static void test_q4_0_bytes(void) {
    float x[64];
    /* block 0: -8..7 twice. max = -8 -> d = 1 (f16 0x3c00), q = x + 8 = j % 16,
     * so byte j = (j) | (j << 4). */
    for (int j = 0; j < 32; j++) x[j] = (float)(j % 16 - 8);
    /* block 1: 4, 3.75, ..., -3.5, -4. The first largest magnitude, +4, sets
     * d = 4/-8 = -0.5 (f16 0xb800); q_j = trunc(0.5 j + 0.5), and the last
     * element (-4 -> 16.5) is clamped to 15. */
    for (int j = 0; j < 32; j++) x[32 + j] = 4.0f - 0.25f * (float)j;
    x[63] = -4.0f;
    static const uint8_t want1[16] = { 0x80, 0x91, 0x91, 0xa2, 0xa2, 0xb3, 0xb3, 0xc4,
                                       0xc4, 0xd5, 0xd5, 0xe6, 0xe6, 0xf7, 0xf7, 0xf8 };
    flt_block_q4_0 b[2];
    flt_q4_0_from_f32_ref(x, b, 64);
    const unsigned char *raw = (const unsigned char *)b;
    CHECK(raw[0] == 0x00 && raw[1] == 0x3c);
    for (int j = 0; j < 16; j++) CHECKF(raw[2 + j] == (uint8_t)(j | j << 4), "q4 block0 byte %d = 0x%02x", j, raw[2 + j]);
    CHECK(raw[18] == 0x00 && raw[19] == 0xb8);
    for (int j = 0; j < 16; j++) CHECKF(raw[20 + j] == want1[j], "q4 block1 byte %d = 0x%02x", j, raw[20 + j]);

    float y[64];
    flt_q4_0_to_f32_ref(b, y, 64);
    int bad = 0;
    for (int j = 0; j < 32; j++) bad += y[j] != x[j];   /* block 0 is exact */
    CHECK(bad == 0);
    CHECK(y[63] == -3.5f);                               /* the clamped one */
    CHECK(y[32] == 4.0f);

    float z[32] = { 0 };
    flt_q4_0_from_f32_ref(z, b, 32);
    int not88 = 0;
    for (int j = 0; j < 16; j++) not88 += b[0].qs[j] != 0x88;
    /* d = 0 / -8 = -0.0: stored as 0x8000, exactly what ggml writes */
    CHECK(b[0].d == 0x8000 && not88 == 0);
}

/* ---- quantizers: error bounds on random data ------------------------------------- */

static uint64_t rng_next(uint64_t *s) {          /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float rng_uniform(uint64_t *s) {          /* [-1, 1) */
    return (float)((double)(rng_next(s) >> 11) * 0x1p-52 - 1.0);
}

static void test_quant_bounds(void) {
    enum { N = 32 * 256 };
    static float x[N], y[N];
    static flt_block_q8_0 q8[N / 32];
    static flt_block_q4_0 q4[N / 32];
    uint64_t seed = 12345;
    for (int i = 0; i < N; i++) {
        /* vary the block scale over many binades, including tiny ones */
        float scale = ldexpf(1.0f, (int)(i / 32 % 40) - 20);
        x[i] = rng_uniform(&seed) * scale;
    }
    flt_q8_0_from_f32_ref(x, q8, N);
    flt_q8_0_to_f32_ref(q8, y, N);
    int bad8 = 0, bad4 = 0;
    for (int b = 0; b < N / 32; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b * 32 + j]));
        /* half a step, plus d's f16 rounding (2^-11 relative, or 2^-25
         * absolute once d is an f16 subnormal) times |q| <= 127 */
        const double d = amax / 127.0;
        const double bound = 0.5 * d + 127 * (d * 0x1p-11 + 0x1p-25);
        for (int j = 0; j < 32; j++) bad8 += fabs((double)x[b * 32 + j] - y[b * 32 + j]) > bound;
    }
    CHECKF(bad8 == 0, "%d Q8_0 values outside the error bound", bad8);

    flt_q4_0_from_f32_ref(x, q4, N);
    flt_q4_0_to_f32_ref(q4, y, N);
    for (int b = 0; b < N / 32; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b * 32 + j]));
        /* a full step (values near -max clamp from 8 to 7 steps), plus f16 d */
        const double d = amax / 8.0;
        const double bound = d + 8 * (d * 0x1p-11 + 0x1p-25);
        for (int j = 0; j < 32; j++) bad4 += fabs((double)x[b * 32 + j] - y[b * 32 + j]) > bound;
    }
    CHECKF(bad4 == 0, "%d Q4_0 values outside the error bound", bad4);
}

/* ---- K-quants ----------------------------------------------------------------- */

/* Q8_K: the first value of largest magnitude, sign kept, maps to -127 (so d
 * is negative when it is positive); q = round-half-even(x * -127/max). */
static void test_q8_k_bytes(void) {
    float x[3 * 256] = { 0 };
    /* block 0: max = -127 -> iscale = 1, d = 1: q = x rounded, ties to even
     * (2.5 -> 2, 3.5 -> 4, -0.5 -> 0), unlike Q8_0's roundf */
    static const float x0[12] = { -127, 2.5f, 3.5f, -2.5f, 0.5f, 1.5f, -0.5f, 126.5f, -126.5f, 127, 0.49999997f, 100.25f };
    static const int8_t q0[12] = { -127, 2, 4, -2, 0, 2, 0, 126, -126, 127, 0, 100 };
    memcpy(x, x0, sizeof x0);
    x[200] = -3.0f;
    /* block 1: +5 comes before -5, so max = +5: iscale = -25.4, d < 0 */
    x[256 + 0] = 0.25f; x[256 + 1] = -2.0f; x[256 + 2] = 1.0f; x[256 + 5] = 5.0f; x[256 + 9] = -5.0f;
    /* block 2: all zero */
    flt_block_q8_k b[3];
    memset(b, 0xAB, sizeof b);
    flt_q8_k_from_f32_ref(x, b, 3 * 256);
    const unsigned char *raw = (const unsigned char *)b;
    CHECK(raw[0] == 0x00 && raw[1] == 0x00 && raw[2] == 0x80 && raw[3] == 0x3f);   /* d = 1.0f */
    int bad = 0;
    for (int j = 0; j < 12; j++) bad += b[0].qs[j] != q0[j];
    for (int j = 12; j < 256; j++) bad += b[0].qs[j] != (j == 200 ? -3 : 0);
    CHECKF(bad == 0, "Q8_K block 0: %d wrong q", bad);
    CHECK(b[0].bsums[0] == -127 + 2 + 4 - 2 + 0 + 2 + 0 + 126 - 126 + 127 + 0 + 100);
    CHECK(b[0].bsums[12] == -3 && b[0].bsums[1] == 0 && b[0].bsums[15] == 0);
    CHECK(b[1].d == 1.0f / (-127.0f / 5.0f) && b[1].d < 0);
    CHECK(b[1].qs[0] == -6 && b[1].qs[1] == 51 && b[1].qs[2] == -25 && b[1].qs[5] == -127 && b[1].qs[9] == 127);
    CHECK(b[1].bsums[0] == -6 + 51 - 25 - 127 + 127);
    int nz = 0;
    for (size_t i = 0; i < sizeof b[2]; i++) nz += raw[2 * sizeof b[0] + i] != 0;
    CHECKF(nz == 0, "zero Q8_K block has %d nonzero bytes", nz);   /* bsums too */

    float y[256];
    flt_q8_k_to_f32_ref(&b[1], y, 256);
    CHECK(y[5] == -127.0f * b[1].d && y[9] == 127.0f * b[1].d && y[3] == 0.0f);
}

/* Where the 6-bit q of element p of a Q6_K block lives, restated from the
 * format description (quant_blocks.h) rather than from the packing loops. */
static int q6_k_get(const flt_block_q6_k *b, int p) {
    const int h = p / 128, g = p % 128 / 32, l = p % 32;
    const uint8_t lo = b->ql[64 * h + l + 32 * (g & 1)];
    const int low = g < 2 ? lo & 15 : lo >> 4;
    return low | ((b->qh[32 * h + l] >> (2 * g)) & 3) << 4;
}

/* One block built to be exactly representable: sub-block ib holds
 * s_ib * k with s_ib = 2^-4, 2^-5, 2^-6, 2^-7 (repeating) and integers k in
 * [-32, 8], k = -32 first. Then the fitted sub-block scale is exactly s_ib
 * (no other of the 18 trial scales fits better), d = -2^-4/128 = -2^-11
 * (f16 0x9000), the int8 scales are -128, -64, -32, -16, and q = k + 32. */
static float q6_k_pattern(int p) {
    const int ib = p / 16, i = p % 16;
    const int k = i == 0 ? -32 : (7 * i + ib) % 17 - 8;
    return ldexpf((float)k, -4 - ib % 4);
}

static void test_q6_k_bytes(void) {
    float x[2 * 256];
    for (int p = 0; p < 256; p++) x[p] = q6_k_pattern(p);
    for (int p = 0; p < 256; p++) x[256 + p] = 0.0f;
    flt_block_q6_k b[2];
    memset(b, 0xAB, sizeof b);
    flt_q6_k_from_f32_ref(x, b, 512);
    const unsigned char *raw = (const unsigned char *)b;
    CHECK(raw[208] == 0x00 && raw[209] == 0x90);                      /* d = -2^-11 */
    static const uint8_t sc[4] = { 0x80, 0xc0, 0xe0, 0xf0 };           /* -128 -64 -32 -16 */
    int bad = 0;
    for (int j = 0; j < 16; j++) bad += raw[192 + j] != sc[j % 4];
    CHECKF(bad == 0, "Q6_K scales: %d wrong", bad);
    /* element 1 of groups 0..3: q = 31, 33, 35, 37 (k = -1, 1, 3, 5) ->
     * ql[1] = 0xf | 3 << 4, ql[33] = 1 | 5 << 4, qh[1] = 1 | 2<<2 | 2<<4 | 2<<6;
     * in the second half q = 39, 24, 26, 28 (k = 7, -8, -6, -4) */
    CHECK(raw[0] == 0x00 && raw[128] == 0x00);                         /* k = -32: q = 0 */
    CHECK(raw[1] == 0x3f && raw[33] == 0x51 && raw[128 + 1] == 0xa9);
    CHECK(raw[64 + 1] == 0xa7 && raw[64 + 33] == 0xc8 && raw[128 + 32 + 1] == 0x56);
    bad = 0;
    for (int p = 0; p < 256; p++) {
        const int i = p % 16, ib = p / 16;
        const int k = i == 0 ? -32 : (7 * i + ib) % 17 - 8;
        bad += q6_k_get(&b[0], p) != k + 32;
    }
    CHECKF(bad == 0, "Q6_K: %d q's off the layout", bad);
    int nz = 0;
    for (size_t i = 0; i < sizeof b[1]; i++) nz += raw[sizeof b[0] + i] != 0;
    CHECKF(nz == 0, "zero Q6_K block has %d nonzero bytes", nz);

    float y[512];
    flt_q6_k_to_f32_ref(b, y, 512);
    bad = 0;
    for (int p = 0; p < 512; p++) bad += y[p] != x[p];
    CHECKF(bad == 0, "Q6_K pattern: %d values do not round-trip exactly", bad);

    /* dequantize hand-made bytes: d = 1, scale[5] = -3, q = 63 at element 80
     * (half 0, group 2, l = 16: sub-block 5; ql[16] high nibble, qh[16] bits 4-5) */
    flt_block_q6_k h;
    memset(&h, 0, sizeof h);
    h.d = 0x3c00;
    h.scales[5] = -3;
    h.ql[16] = 0xf0;
    h.qh[16] = 0x30;
    flt_q6_k_to_f32_ref(&h, y, 256);
    CHECK(y[80] == -3.0f * 31.0f);
    CHECK(y[81] == -3.0f * -32.0f && y[79] == 0.0f * -32.0f && y[96] == 0.0f);
}

static void test_k_bounds(void) {
    enum { N = 256 * 64 };
    static float x[N], y[N];
    static flt_block_q6_k q6[N / 256];
    static flt_block_q8_k q8[N / 256];
    uint64_t seed = 777;
    for (int i = 0; i < N; i++) {
        /* per-32 scales spread over 2^7 inside a super-block, and the
         * super-blocks over many binades */
        const int e = (i / 32) % 8 + (i / 256) % 24 - 16;
        x[i] = rng_uniform(&seed) * ldexpf(1.0f, e);
    }
    flt_q8_k_from_f32_ref(x, q8, N);
    flt_q8_k_to_f32_ref(q8, y, N);
    int bad8 = 0, bad_sums = 0, bad6 = 0;
    for (int b = 0; b < N / 256; b++) {
        float amax = 0;
        for (int j = 0; j < 256; j++) amax = fmaxf(amax, fabsf(x[b * 256 + j]));
        /* half a step; d is a float here, so only ~1 ulp of rounding on top */
        const double bound = 0.5 * amax / 127.0 * (1 + 1e-6) + amax * 0x1p-22;
        for (int j = 0; j < 256; j++) bad8 += fabs((double)x[b * 256 + j] - y[b * 256 + j]) > bound;
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += q8[b].qs[16 * g + j];
            bad_sums += s != q8[b].bsums[g];
        }
    }
    CHECKF(bad8 == 0, "%d Q8_K values outside the error bound", bad8);
    CHECKF(bad_sums == 0, "%d Q8_K bsums wrong", bad_sums);

    flt_q6_k_from_f32_ref(x, q6, N);
    flt_q6_k_to_f32_ref(q6, y, N);
    double err2 = 0, x2 = 0;
    for (int b = 0; b < N / 256; b++) {
        float amax = 0;
        for (int j = 0; j < 256; j++) amax = fmaxf(amax, fabsf(x[b * 256 + j]));
        /* A sub-block's step is ~ its amax/32, but the int8 scale may round a
         * small sub-block's step by up to half of d = max_scale/128 and then
         * clamp at q = 31: the worst case stays below ~2.2 steps of the
         * largest sub-block, amax/31 each. */
        const double bound = 2.5 * amax / 31.0;
        for (int j = 0; j < 256; j++) {
            const double d = (double)x[b * 256 + j] - y[b * 256 + j];
            bad6 += fabs(d) > bound;
            /* relative to the block's scale, so all binades count alike */
            err2 += d * d / ((double)amax * amax);
            x2 += (double)x[b * 256 + j] * x[b * 256 + j] / ((double)amax * amax);
        }
    }
    CHECKF(bad6 == 0, "%d Q6_K values outside the error bound", bad6);
    /* uniform data in [-a, a] at a step of ~a/32 leaves rms error
     * a/(32 sqrt 12) against a signal of a/sqrt 3, 1.6%; the fitted scales
     * do a little better (1.4% here). A layout or scale bug is far above 2%. */
    CHECKF(sqrt(err2 / x2) < 0.02, "Q6_K relative rms error %.4f", sqrt(err2 / x2));
}

/* The point of a bit-exact reference: Flint's Q6_K quantizer, run on the
 * F32 model's weights, must write exactly the bytes llama-quantize wrote for
 * every Q6_K tensor of the quantized models (output.weight of the Q4_0 file;
 * all of the Q6_K file). Skipped when ../shared has no models. */
static void test_q6_k_vs_llama_quantize(void) {
    flt_err e;
    flt_gguf *f32 = NULL;
    if (flt_gguf_open(flt_test_shared("models/tiny-llama-F32.gguf"), &f32, &e) != FLINTRT_OK) {
        fprintf(stderr, "skipping Q6_K vs llama-quantize: %s\n", e.msg);
        return;
    }
    static const char *files[] = { "models/tiny-llama-Q4_0.gguf", "models/tiny-llama-Q6_K.gguf" };
    for (size_t fi = 0; fi < sizeof files / sizeof files[0]; fi++) {
        flt_gguf *q = NULL;
        if (flt_gguf_open(flt_test_shared(files[fi]), &q, &e) != FLINTRT_OK) {
            CHECKF(0, "%s: %s", files[fi], e.msg);
            continue;
        }
        int tensors = 0, same = 0;
        for (uint64_t i = 0; i < flt_gguf_n_tensors(q); i++) {
            const flt_gguf_tensor *tq = flt_gguf_tensor_at(q, i);
            if (tq->type != 14) continue;
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)tq->name.n, tq->name.p);
            const flt_gguf_tensor *tf = flt_gguf_find_tensor(f32, name);
            tensors++;
            if (!tf || tf->type != 0 || tf->size != tq->size / 210 * 256 * 4) {
                CHECKF(0, "%s: no matching F32 tensor for %s", files[fi], name);
                continue;
            }
            const int64_t n = (int64_t)(tf->size / 4);
            void *out = malloc(tq->size);
            if (!out) continue;
            flt_q6_k_from_f32_ref(tf->data, out, n);
            if (memcmp(out, tq->data, tq->size) == 0) same++;
            else {
                size_t k = 0;
                while (((unsigned char *)out)[k] == ((const unsigned char *)tq->data)[k]) k++;
                fprintf(stderr, "%s %s: first differing byte %zu (block %zu)\n", files[fi], name, k, k / 210);
            }
            free(out);
        }
        CHECKF(tensors > 0 && same == tensors, "%s: %d of %d Q6_K tensors byte-identical", files[fi], same, tensors);
        fprintf(stderr, "%s: %d of %d Q6_K tensors byte-identical to llama-quantize\n", files[fi], same, tensors);
        flt_gguf_close(q);
    }
    flt_gguf_close(f32);
}

static void test_int_widening(void) {
    const int8_t i8[3] = { -128, 0, 127 };
    const int64_t i64[2] = { -(1LL << 40), 12345 };
    const double f64[2] = { 0.1, -1e300 };
    float out[3];
    flt_dtype_info(FLT_I8)->to_f32(i8, out, 3);
    CHECK(out[0] == -128.0f && out[1] == 0.0f && out[2] == 127.0f);
    flt_dtype_info(FLT_I64)->to_f32(i64, out, 2);
    CHECK(out[0] == -0x1p40f && out[1] == 12345.0f);
    flt_dtype_info(FLT_F64)->to_f32(f64, out, 2);
    CHECK(out[0] == 0.1f && isinf(out[1]) && out[1] < 0);
    double back[2];
    flt_dtype_info(FLT_F64)->from_f32((const float[]){ 0.5f, -2.0f }, back, 2);
    CHECK(back[0] == 0.5 && back[1] == -2.0);
}

int main(void) {
    test_traits();
    test_row_bytes();
    test_f16_exhaustive();
    test_f16_rounding();
    test_bf16();
    test_q8_0_bytes();
    test_q4_0_bytes();
    test_quant_bounds();
    test_q8_k_bytes();
    test_q6_k_bytes();
    test_k_bounds();
    test_q6_k_vs_llama_quantize();
    test_int_widening();
    return flt_test_finish();
}
