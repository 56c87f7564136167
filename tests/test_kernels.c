/* Every kernel set this machine can run, checked against the scalar oracle and
 * against a double-precision dequantize-then-dot, on many lengths and random
 * data (fixed seeds). Also: determinism (same bits on repeat calls and from
 * differently aligned copies) and bit-identical conversions across sets. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "core/quant_blocks.h"
#include "cpu/kernels.h"
#include "harness.h"

static uint64_t rng_next(uint64_t *s) {          /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float rng_uniform(uint64_t *s) {          /* [-1, 1) */
    return (float)((double)(rng_next(s) >> 11) * 0x1p-52 - 1.0);
}

enum { MAXN = 4160 };

/* Random floats with a per-32-block scale spread over a few binades, so block
 * scales (and float sums) vary like real activations do. */
static void fill_floats(uint64_t *s, float *x, int64_t n) {
    float scale = 1.0f;
    for (int64_t i = 0; i < n; i++) {
        if (i % 32 == 0) scale = ldexpf(1.0f, (int)(rng_next(s) % 9) - 4);
        x[i] = rng_uniform(s) * scale;
    }
}

/* Weights of type t: quantized/converted from random floats, or (raw) random
 * bytes with a sane finite f16 scale — covering q values the quantizers never
 * emit, such as -128 in Q8_0 weights. */
static void make_weights(uint64_t *s, flt_dtype t, int64_t n, void *w, bool raw) {
    static float tmp[MAXN];
    const flt_dtype_traits *tr = flt_dtype_info(t);
    if (raw && tr->quantized) {
        size_t bytes;
        flt_dtype_row_bytes(t, n, &bytes);
        unsigned char *p = w;
        for (size_t i = 0; i < bytes; i++) p[i] = (unsigned char)rng_next(s);
        /* f16 scales: Q6_K keeps d last, Q2_K d and dmin last, Q3_K d
         * last, Q4_K/Q5_K d and dmin first; the other blocks d first */
        size_t d_at = 0, dmin_at = SIZE_MAX;
        if (t == FLT_Q6_K) d_at = offsetof(flt_block_q6_k, d);
        if (t == FLT_Q3_K) d_at = offsetof(flt_block_q3_k, d);
        if (t == FLT_Q2_K) { d_at = offsetof(flt_block_q2_k, d); dmin_at = offsetof(flt_block_q2_k, dmin); }
        if (t == FLT_Q4_K || t == FLT_Q5_K) dmin_at = 2;
        if (t == FLT_Q4_1 || t == FLT_Q5_1) dmin_at = offsetof(flt_block_q4_1, m);   /* the offset m */
        for (int64_t b = 0; b < n / tr->block_size; b++) {
            for (int k = 0; k < 2; k++) {
                const size_t at = k ? dmin_at : d_at;
                if (at == SIZE_MAX) continue;
                uint16_t d = (uint16_t)(0x2000 + rng_next(s) % 0x1c00);   /* 2^-7 .. 1, either sign */
                if (rng_next(s) & 1) d |= 0x8000;
                memcpy(p + b * tr->block_bytes + at, &d, 2);
            }
        }
        return;
    }
    fill_floats(s, tmp, n);
    tr->from_f32(tmp, w, n);
}

/* Activations in the dot type, made by the reference converter. */
static void make_acts(uint64_t *s, flt_dtype dot, int64_t n, void *a) {
    static float tmp[MAXN];
    fill_floats(s, tmp, n);
    flt_dtype_info(dot)->from_f32(tmp, a, n);
}

/* sum w*a and sum |w*a| in double over the dequantized operands. */
static void dot_double(flt_dtype t, int64_t n, const void *w, const void *a, double *dot, double *mag) {
    static float wf[MAXN], af[MAXN];
    flt_dtype_info(t)->to_f32(w, wf, n);
    flt_dtype_info(flt_dtype_info(t)->dot_type)->to_f32(a, af, n);
    double s = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        s += (double)wf[i] * af[i];
        m += fabs((double)wf[i] * af[i]);
    }
    *dot = s;
    *mag = m;
}

static bool same_bits(float x, float y) { return memcmp(&x, &y, sizeof x) == 0; }

static const flt_dtype dot_types[] = { FLT_F32, FLT_F16, FLT_BF16, FLT_Q8_0, FLT_Q4_0, FLT_Q6_K,
                                        FLT_Q2_K, FLT_Q3_K, FLT_Q4_K, FLT_Q5_K,
                                        FLT_Q4_1, FLT_Q5_0, FLT_Q5_1, FLT_IQ4_NL, FLT_IQ4_XS };
/* every type with conversions in every set: the dot types and the activation-only ones */
static const flt_dtype conv_types[] = { FLT_F32, FLT_F16, FLT_BF16, FLT_Q8_0, FLT_Q4_0, FLT_Q6_K, FLT_Q8_K,
                                         FLT_Q2_K, FLT_Q3_K, FLT_Q4_K, FLT_Q5_K,
                                         FLT_Q4_1, FLT_Q5_0, FLT_Q5_1, FLT_Q8_1, FLT_IQ4_NL, FLT_IQ4_XS };

/* Q8_K is the one block with a float in it: 4-byte alignment, where the
 * others need 2 (f16 fields) or 4 (F32). */
static size_t dtype_align(flt_dtype t) { return t == FLT_F32 || t == FLT_Q8_K ? 4 : 2; }

static void test_registry(void) {
    const flt_kernels *sets[8];
    const int n = flt_kernels_list(sets, 8);
    CHECK(n >= 1 && n <= 8);
    CHECK(sets[0] == flt_kernels_scalar());
    CHECK(flt_kernels_list(NULL, 0) == n);     /* the count, whatever the capacity */
    CHECK(flt_kernels_by_name("scalar") == flt_kernels_scalar());
    CHECK(flt_kernels_by_name("bogus") == NULL);
    CHECK(flt_kernels_by_name("") == NULL);
    CHECK(flt_kernels_by_name(NULL) == NULL);
    for (int i = 0; i < n; i++) {
        CHECKF(flt_kernels_by_name(sets[i]->name) == sets[i], "set %s", sets[i]->name);
        for (int j = 0; j < i; j++) CHECK(strcmp(sets[i]->name, sets[j]->name) != 0);
    }
    const flt_kernels *def = flt_kernels_default();
    bool listed = false;
    for (int i = 0; i < n; i++) listed |= def == sets[i];
    CHECK(listed);
    CHECK(flt_kernels_default() == def);
    if (!getenv("FLINT_KERNELS")) CHECKF(def == sets[n - 1], "default is %s, not the best", def->name);
#if defined(__x86_64__) || defined(__i386__)
    /* on x86 the avx2 set must be offered exactly when the CPU can run it */
    CHECK((flt_kernels_by_name("avx2") != NULL) == flt_cpu_has_avx2());
#else
    CHECK(flt_kernels_by_name("avx2") == NULL);
#endif
    fprintf(stderr, "kernel sets:");
    for (int i = 0; i < n; i++) fprintf(stderr, " %s", sets[i]->name);
    fprintf(stderr, " (default %s)\n", def->name);
}

/* Weights with an offset m (Q4_1, Q5_1) against Q8_1 activations: every set
 * applies m through the activations' rounded s = f16(d * sum q) (kernels_legacy.h),
 * so the dot may differ from the dequantized one by sum_b |m_b| * |s_b - d_b
 * sum q_b|: returned as *slack. The float sums then round relative to the
 * two partial terms, q*d*a and m*s, which can exceed sum|w*a| (when q*d and m
 * cancel): *mag is raised to cover them. */
static void q8_1_offset_terms(flt_dtype t, int64_t n, const void *w, const void *a, double *slack, double *mag) {
    static float wf[MAXN], af[MAXN];
    const flt_dtype_traits *tr = flt_dtype_info(t);
    tr->to_f32(w, wf, n);
    flt_q8_1_to_f32_ref(a, af, n);
    const flt_block_q8_1 *ab = a;
    double sl = 0, split = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        uint16_t mh;
        memcpy(&mh, (const unsigned char *)w + b * tr->block_bytes + offsetof(flt_block_q4_1, m), 2);
        const double m = flt_f16_to_f32(mh), d = flt_f16_to_f32(ab[b].d), s = flt_f16_to_f32(ab[b].s);
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += ab[b].qs[j];
        sl += fabs(m) * fabs(s - d * sum);
        split += fabs(m * s);
        for (int j = 0; j < 32; j++) split += fabs(((double)wf[32 * b + j] - m) * af[32 * b + j]);
    }
    *slack = sl;
    if (split > *mag) *mag = split;
}

/* One (set, dtype, n) case: against the oracle, against double, determinism. */
static int check_dot(const flt_kernels *ks, flt_dtype t, int64_t n, const void *w, const void *a) {
    const flt_dtype_traits *tr = flt_dtype_info(t);
    float got, again, ref;
    ks->vec_dot[t](n, w, a, &got);
    ks->vec_dot[t](n, w, a, &again);
    flt_kernels_scalar()->vec_dot[t](n, w, a, &ref);
    double exact, mag;
    dot_double(t, n, w, a, &exact, &mag);
    double slack = 0;
    if (tr->dot_type == FLT_Q8_1) q8_1_offset_terms(t, n, w, a, &slack, &mag);
    /* both float results are within ~(terms + a few) roundings of eps*sum|w*a| */
    const double terms = (double)(n / tr->block_size) + 4;
    const double tol = 2.0 * terms * FLT_EPSILON * mag + slack + 1e-30;
    int bad = 0;
    if (!same_bits(got, again)) bad++;
    if (fabs((double)got - ref) > tol) bad++;
    if (fabs((double)got - exact) > tol) bad++;
    if (fabs((double)ref - exact) > tol) bad++;

    /* the same data at other addresses (keeping natural alignment) */
    static unsigned char wbuf[MAXN * 4 + 64], abuf[MAXN * 4 + 64];
    size_t wbytes, abytes;
    flt_dtype_row_bytes(t, n, &wbytes);
    flt_dtype_row_bytes(tr->dot_type, n, &abytes);
    for (int k = 1; k <= 3; k++) {
        /* offset by 2 where 2-alignment is all the type needs */
        unsigned char *w2 = wbuf + 4 * k + (dtype_align(t) == 4 ? 0 : 2);
        unsigned char *a2 = abuf + 4 * k + (dtype_align(tr->dot_type) == 4 ? 0 : 2);
        memcpy(w2, w, wbytes);
        memcpy(a2, a, abytes);
        float moved;
        ks->vec_dot[t](n, w2, a2, &moved);
        if (!same_bits(moved, got)) bad++;
    }
    if (bad)
        fprintf(stderr, "%s %s n=%lld: got %.9g scalar %.9g double %.9g tol %.3g\n",
                ks->name, tr->name, (long long)n, got, ref, exact, tol);
    return bad;
}

static void test_vec_dot(void) {
    static const int64_t float_lens[] = { 0, 1, 2, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 65, 100, 255,
                                          256, 257, 1000, 1023, 4095, 4096, 4097 };
    static const int64_t quant_blocks[] = { 0, 1, 2, 3, 5, 7, 9, 15, 31, 33, 63, 65, 127, 128, 129 };
    /* 256-element super-blocks: up to 4096 elements (MAXN) */
    static const int64_t k_blocks[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 15, 16 };
    static unsigned char w[MAXN * 4], a[MAXN * 4];
    const flt_kernels *sets[8];
    const int nsets = flt_kernels_list(sets, 8);
    uint64_t seed = 0x5eed;
    for (int si = 0; si < nsets; si++) {
        const flt_kernels *ks = sets[si];
        for (size_t ti = 0; ti < sizeof dot_types / sizeof dot_types[0]; ti++) {
            const flt_dtype t = dot_types[ti];
            const flt_dtype_traits *tr = flt_dtype_info(t);
            CHECKF(ks->vec_dot[t] != NULL, "%s lacks vec_dot for %s", ks->name, tr->name);
            if (!ks->vec_dot[t]) continue;
            int bad = 0, cases = 0;
            const bool kq = tr->block_size == FLT_QK_K;
            const size_t nl = kq ? sizeof k_blocks / sizeof k_blocks[0]
                            : tr->quantized ? sizeof quant_blocks / sizeof quant_blocks[0]
                                            : sizeof float_lens / sizeof float_lens[0];
            for (size_t li = 0; li < nl; li++) {
                const int64_t n = kq ? k_blocks[li] * tr->block_size
                                : tr->quantized ? quant_blocks[li] * tr->block_size : float_lens[li];
                for (int rep = 0; rep < 4; rep++) {
                    make_weights(&seed, t, n, w, rep == 3);
                    make_acts(&seed, tr->dot_type, n, a);
                    if ((t == FLT_Q4_0 || t == FLT_Q5_0 || t == FLT_IQ4_NL) && rep == 3) {
                        /* foreign activations: every int8 incl. -128 (the
                         * Q4_0/Q5_0/IQ4_NL kernels must not saturate on it) */
                        flt_block_q8_0 *ab = (flt_block_q8_0 *)a;
                        for (int64_t b = 0; b < n / 32; b++)
                            for (int j = 0; j < 32; j++) ab[b].qs[j] = (int8_t)(rng_next(&seed) & 0xff);
                    }
                    if (tr->dot_type == FLT_Q8_1 && rep >= 2) {
                        /* every int8 incl. -128, s = f16(d * sum q) recomputed
                         * so it stays what a quantizer would write */
                        flt_block_q8_1 *ab = (flt_block_q8_1 *)a;
                        for (int64_t b = 0; b < n / 32; b++) {
                            int sum = 0;
                            for (int j = 0; j < 32; j++) {
                                ab[b].qs[j] = rep == 2 && j < 8 ? -128 : (int8_t)(rng_next(&seed) & 0xff);
                                sum += ab[b].qs[j];
                            }
                            ab[b].s = flt_f32_to_f16((float)sum * flt_f16_to_f32(ab[b].d));
                        }
                    }
                    if (tr->dot_type == FLT_Q8_K && rep >= 2) {
                        /* every int8 incl. -128 (no saturation allowed), with
                         * bsums kept consistent as the Q8_K contract says;
                         * rep 3 also has raw weights: any q, any int8 scale */
                        flt_block_q8_k *ab = (flt_block_q8_k *)a;
                        for (int64_t b = 0; b < n / FLT_QK_K; b++) {
                            for (int j = 0; j < FLT_QK_K; j++) ab[b].qs[j] = (int8_t)(rng_next(&seed) & 0xff);
                            if (rep == 2) for (int j = 0; j < 16; j++) ab[b].qs[j] = -128;   /* a worst case */
                            for (int g = 0; g < 16; g++) {
                                int sum = 0;
                                for (int j = 0; j < 16; j++) sum += ab[b].qs[16 * g + j];
                                ab[b].bsums[g] = (int16_t)sum;
                            }
                        }
                    }
                    bad += check_dot(ks, t, n, w, a);
                    cases++;
                }
            }
            CHECKF(bad == 0, "%s %s: %d of %d cases off", ks->name, tr->name, bad, cases);
        }
    }
}

/* Hand-checkable: Q4_0 weights of the -8..7 pattern (d = 1) against Q8_0
 * activations of all ones (d = 1): the dot is 2 * sum(-8..7) = -16. */
static void test_known_dot(void) {
    float x[32], ones[32];
    for (int j = 0; j < 32; j++) { x[j] = (float)(j % 16 - 8); ones[j] = 1.0f; }
    flt_block_q4_0 w;
    flt_block_q8_0 w8, a;
    flt_q4_0_from_f32_ref(x, &w, 32);
    flt_q8_0_from_f32_ref(ones, &a, 32);      /* d = 1/127, q = 127 */
    const flt_kernels *sets[8];
    const int n = flt_kernels_list(sets, 8);
    for (int i = 0; i < n; i++) {
        float r;
        sets[i]->vec_dot[FLT_Q4_0](32, &w, &a, &r);
        const float want = -16.0f * 127.0f * flt_f16_to_f32(a.d);
        CHECKF(r == want, "%s Q4_0 known dot %g, want %g", sets[i]->name, r, want);
        flt_q8_0_from_f32_ref(x, &w8, 32);
        sets[i]->vec_dot[FLT_Q8_0](32, &w8, &a, &r);
        /* q(w) = roundf(x * 15.875); sum over the two halves */
        int isum = 0;
        for (int j = 0; j < 32; j++) isum += w8.qs[j] * 127;
        CHECK(isum == 2 * 127 * (-127 - 111 - 95 - 79 - 64 - 48 - 32 - 16 + 0 + 16 + 32 + 48 + 64 + 79 + 95 + 111));
        const float want8 = (float)isum * (flt_f16_to_f32(w8.d) * flt_f16_to_f32(a.d));
        /* the oracle is exactly that; SIMD sums per-lane partials, so allow rounding */
        if (i == 0) CHECKF(r == want8, "scalar Q8_0 known dot %.9g, want %.9g", r, want8);
        else CHECKF(fabsf(r - want8) <= 1e-6f * fabsf(want8), "%s Q8_0 known dot %.9g, want %.9g", sets[i]->name, r, want8);
    }
}

/* Inputs for Q8_K's from_f32 that stress "bit-identical": ties of the
 * round-half-even trick, the same magnitude with both signs (the first must
 * set the sign of d), denormals (the inverse scale overflows to inf), inf and
 * NaN. Any result is fine there; the sets must agree on it. */
static float q8_k_special(uint64_t *s, int rep, int64_t i) {
    const uint64_t r = rng_next(s);
    switch (rep) {
    case 3:   /* halves at amax 127 -> iscale +-1: every value a tie */
        if (i % 256 == 17) return (r & 1) ? 127.0f : -127.0f;
        return (float)((int)(r % 255) - 127) * 0.5f * ((i % 256 == 3) ? -1.0f : 1.0f);
    case 4:   /* +-max pairs, and whole blocks of tiny values */
        if (i % 512 >= 256) return (float)((int)(r % 200) - 100) * 0x1p-140f;  /* denormal */
        return (i % 256 == 5 || i % 256 == 9) ? ((i % 256 == 5) == (int)(r >> 63) ? 3.0f : -3.0f)
                                              : rng_uniform(s) * 3.0f;
    default: { /* sprinkled inf/NaN/zeros */
        const int k = (int)(r % 64);
        if (k == 0) return INFINITY;
        if (k == 1) return -INFINITY;
        if (k == 2) return NAN;
        if (k < 8) return 0.0f;
        return rng_uniform(s);
    }
    }
}

/* Block maxima whose scale amax/127 lands on f16's edges: subnormal floats,
 * f16 subnormals and its smallest normal, the overflow threshold 65520 and
 * beyond, and the largest floats. */
static const float q8_0_edges[] = {
    0x1p-149f, 0x1p-130f, 127.0f * 0x1p-25f, 127.0f * 0x1.8p-25f, 127.0f * 0x1p-24f, 127.0f * 0x1.4p-20f,
    127.0f * 0x1p-14f, 127.0f * 0x1.ffcp-15f, 127.0f * 65504.0f, 127.0f * 65519.0f, 127.0f * 65520.0f,
    1e38f, 3.4e38f, 1.0f,
};
#define Q8_0_NEDGES (int)(sizeof q8_0_edges / sizeof q8_0_edges[0])

/* Conversions must agree bit for bit with the reference in every set. */
static void test_conversions(void) {
    static float src[MAXN], out_ref[MAXN], out_set[MAXN];
    static unsigned char raw[MAXN * 4], dst_ref[MAXN * 4], dst_set[MAXN * 4];
    static const int64_t lens[] = { 1, 7, 8, 9, 31, 32, 33, 64, 100, 256, 512, 1024, 2560, 4096, 4097 };
    const flt_kernels *sets[8];
    const int nsets = flt_kernels_list(sets, 8);
    uint64_t seed = 0xc0ffee;
    for (int si = 0; si < nsets; si++) {
        const flt_kernels *ks = sets[si];
        for (size_t ti = 0; ti < sizeof conv_types / sizeof conv_types[0]; ti++) {
            const flt_dtype t = conv_types[ti];
            const flt_dtype_traits *tr = flt_dtype_info(t);
            CHECKF(ks->to_f32[t] && ks->from_f32[t], "%s lacks conversions for %s", ks->name, tr->name);
            if (!ks->to_f32[t] || !ks->from_f32[t]) continue;
            int bad_from = 0, bad_to = 0;
            for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
                const int64_t n = lens[li] / tr->block_size * tr->block_size;
                size_t bytes;
                flt_dtype_row_bytes(t, n, &bytes);
                const int reps = t == FLT_Q8_K ? 6 : t == FLT_Q8_0 ? 4 : 3;
                for (int rep = 0; rep < reps; rep++) {
                    /* from_f32: 16-bit types get arbitrary bit patterns (NaN,
                     * inf, subnormals, ties); quantizers get finite data with
                     * exact .5 ties (integers/2 at amax 127) mixed in. */
                    for (int64_t i = 0; i < n; i++) {
                        if (tr->quantized) {
                            src[i] = (i % 32 == 0) ? 127.0f
                                   : rep == 0 ? (float)((int)(rng_next(&seed) % 255) - 127) * 0.5f
                                   : rng_uniform(&seed) * ldexpf(1.0f, (int)(rng_next(&seed) % 20) - 10);
                            if (rep == 2 && i % 64 < 32) src[i] = 0.0f;   /* zero blocks */
                            if (rep >= 3 && t == FLT_Q8_K) src[i] = q8_k_special(&seed, rep, i);
                            /* Q8_0 scales at the edges of f16 (subnormal, tiny, overflow) */
                            if (rep == 3 && t == FLT_Q8_0) src[i] = (i % 32 == 0 ? 1.0f : rng_uniform(&seed)) *
                                                                    q8_0_edges[(i / 32) % Q8_0_NEDGES];
                        } else {
                            uint32_t b = (uint32_t)rng_next(&seed);
                            if (rep == 1) b = (b & 0x80000000u) | (0x33000000u + b % 0x14800000u); /* f16 range */
                            memcpy(&src[i], &b, 4);
                        }
                    }
                    tr->from_f32(src, dst_ref, n);
                    ks->from_f32[t](src, dst_set, n);
                    if (memcmp(dst_ref, dst_set, bytes) != 0) bad_from++;

                    /* to_f32: arbitrary bytes, scales included */
                    for (size_t i = 0; i < bytes; i++) raw[i] = (unsigned char)rng_next(&seed);
                    tr->to_f32(raw, out_ref, n);
                    ks->to_f32[t](raw, out_set, n);
                    if (memcmp(out_ref, out_set, (size_t)n * sizeof(float)) != 0) bad_to++;
                }
            }
            CHECKF(bad_from == 0, "%s from_f32 %s differs from the reference in %d cases", ks->name, tr->name, bad_from);
            CHECKF(bad_to == 0, "%s to_f32 %s differs from the reference in %d cases", ks->name, tr->name, bad_to);
        }
    }
}

/* Hand-checkable Q6_K x Q8_K: weights with d = 1, scale j+1 for sub-block
 * j and every q = 33 (value j+1); activations +1 on the first half and -1 on
 * the second, so Q8_K stores q = -127 then +127 with d = 1/-127. The integer
 * dot is 127 * 16 * ((9+...+16) - (1+...+8)) = 127 * 16 * 64. */
static void test_known_dot_k(void) {
    flt_block_q6_k w;
    memset(&w, 0, sizeof w);
    w.d = 0x3c00;
    for (int j = 0; j < 16; j++) w.scales[j] = (int8_t)(j + 1);
    for (int p = 0; p < 256; p++) {   /* q = 33 = 0b100001: low nibble 1, high bits 2 */
        const int h = p / 128, g = p % 128 / 32, l = p % 32;
        w.ql[64 * h + l + 32 * (g & 1)] |= (uint8_t)(1 << (g < 2 ? 0 : 4));
        w.qh[32 * h + l] |= (uint8_t)(2 << (2 * g));
    }
    float ones[256];
    for (int p = 0; p < 256; p++) ones[p] = p < 128 ? 1.0f : -1.0f;
    flt_block_q8_k a;
    flt_q8_k_from_f32_ref(ones, &a, 256);
    CHECK(a.qs[0] == -127 && a.qs[255] == 127 && a.bsums[0] == -16 * 127 && a.d == 1.0f / -127.0f);
    const float want = (float)(127 * 16 * 64) * a.d;
    const flt_kernels *sets[8];
    const int n = flt_kernels_list(sets, 8);
    for (int i = 0; i < n; i++) {
        float r;
        sets[i]->vec_dot[FLT_Q6_K](256, &w, &a, &r);
        if (i == 0) CHECKF(r == want, "scalar Q6_K known dot %.9g, want %.9g", r, want);
        else CHECKF(fabsf(r - want) <= 1e-6f * fabsf(want), "%s Q6_K known dot %.9g, want %.9g", sets[i]->name, r, want);
    }
}

/* swiglu (silu(a) * b) of every set that has one, against double precision:
 * within a few ulp of the product's magnitude (the sets' e^x is a polynomial,
 * libm's nearly exact), the same bits from any offset into the arrays, and
 * the extremes (large |a|, zeros) finite and right. */
static void test_swiglu(void) {
    static float a[MAXN], b[MAXN], y[MAXN], y2[MAXN];
    static const int64_t lens[] = {1, 7, 8, 9, 15, 16, 17, 33, 100, 2048, 4097};
    const flt_kernels *sets[8];
    const int nsets = flt_kernels_list(sets, 8);
    uint64_t seed = 0x5eed5;
    int checked = 0;
    for (int si = 0; si < nsets; si++) {
        const flt_kernels *ks = sets[si];
        if (!ks->swiglu) continue;
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            const int64_t n = lens[li];
            for (int64_t i = 0; i < n; i++) {
                /* magnitudes from 2^-10 to 2^7, with +-100 (e^-100 is 0 in
                 * float, e^100 is inf) and zeros mixed in */
                a[i] = rng_uniform(&seed) * ldexpf(1.0f, (int)(rng_next(&seed) % 18) - 10);
                if (i % 13 == 5) a[i] = (i % 2) ? 100.0f : -100.0f;
                if (i % 17 == 3) a[i] = 0.0f;
                b[i] = rng_uniform(&seed) * 4.0f;
            }
            ks->swiglu(a, b, y, n);
            int bad = 0;
            for (int64_t i = 0; i < n; i++) {
                const double want = (double)a[i] / (1.0 + exp(-(double)a[i])) * (double)b[i];
                /* below 1e-35 a result may be 0: e^-a overflows (as in libm) */
                const double tol = 8.0 * FLT_EPSILON * fabs(want) + 1e-35;
                if (!isfinite(y[i]) || fabs((double)y[i] - want) > tol) bad++;
            }
            CHECKF(bad == 0, "%s swiglu n=%lld: %d of the results off", ks->name, (long long)n, bad);
            /* an element's bits do not depend on where it sits (tails, splits) */
            if (n > 3) {
                ks->swiglu(a + 3, b + 3, y2, n - 3);
                CHECKF(memcmp(y + 3, y2, (size_t)(n - 3) * sizeof *y) == 0, "%s swiglu n=%lld: offset changes bits",
                       ks->name, (long long)n);
            }
            checked++;
        }
    }
#if defined(__x86_64__) || defined(__i386__)
    /* the x86 sets have one; the test must not pass by checking nothing */
    CHECK(checked > 0 || nsets == 1);
#else
    (void)checked;
#endif
}

int main(void) {
    test_registry();
    test_known_dot();
    test_known_dot_k();
    test_vec_dot();
    test_conversions();
    test_swiglu();
    return flt_test_finish();
}
