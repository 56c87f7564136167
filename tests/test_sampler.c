/* Sampler tests. The oracle below recomputes every filter by brute force (O(n^2)
 * ranking, probabilities rather than log-thresholds) and the final distribution;
 * the sampler's empirical frequencies over many seeded draws must match it. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "llm/sampler.h"

/* ---- Oracle ------------------------------------------------------------------ */

#define MAXV 64

/* Rebuild with another value to re-run the statistical checks on fresh draws. */
#ifndef SEED_OFFSET
#define SEED_OFFSET 0
#endif

static flintrt_sampler_params params(float temp, int32_t top_k, float top_p, float min_p, float rp, int32_t rlast) {
    flintrt_sampler_params p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.temperature = temp;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.repeat_penalty = rp;
    p.repeat_last_n = rlast;
    return p;
}

/* Final probabilities of each token (n <= MAXV). */
static void oracle(const float *logits, int n, const flintrt_sampler_params *p, const int32_t *recent,
                   size_t n_recent, double *prob) {
    double l[MAXV];
    for (int i = 0; i < n; i++) l[i] = logits[i];
    /* penalty: each distinct token among the last repeat_last_n once */
    size_t look = (size_t)p->repeat_last_n < n_recent ? (size_t)p->repeat_last_n : n_recent;
    for (size_t i = n_recent - look; i < n_recent; i++) {
        int dup = 0;
        for (size_t j = n_recent - look; j < i; j++) dup |= recent[j] == recent[i];
        if (dup) continue;
        float x = (float)l[recent[i]];
        l[recent[i]] = x > 0 ? x / p->repeat_penalty : x * p->repeat_penalty; /* float math, as the sampler */
    }
    int keep[MAXV];
    if (p->temperature <= 0) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (l[i] > l[best]) best = i;
        for (int i = 0; i < n; i++) prob[i] = i == best;
        return;
    }
    /* rank by (logit desc, id asc) */
    int rank[MAXV], order[MAXV];
    for (int i = 0; i < n; i++) {
        rank[i] = 0;
        for (int j = 0; j < n; j++)
            if (l[j] > l[i] || (l[j] == l[i] && j < i)) rank[i]++;
        order[rank[i]] = i;
    }
    for (int i = 0; i < n; i++) keep[i] = (p->top_k <= 0 || rank[i] < p->top_k) && l[i] > -INFINITY;
    /* top-p on the softmax of the kept set */
    if (p->top_p < 1) {
        double z = 0, mx = l[order[0]];
        for (int i = 0; i < n; i++) if (keep[i]) z += exp(l[i] - mx);
        double cum = 0;
        int stop = 0;
        for (int r = 0; r < n; r++) {
            int i = order[r];
            if (!keep[i]) continue;
            if (stop) { keep[i] = 0; continue; }
            cum += exp(l[i] - mx) / z;
            if (cum >= p->top_p) stop = 1;
        }
    }
    /* min-p on the (renormalised) kept set: prob >= min_p * max prob */
    if (p->min_p > 0) {
        double z = 0, mx = l[order[0]];
        for (int i = 0; i < n; i++) if (keep[i]) z += exp(l[i] - mx);
        double pmax = 1.0 / z;
        for (int i = 0; i < n; i++)
            if (keep[i] && exp(l[i] - mx) / z < p->min_p * pmax) keep[i] = 0;
    }
    double z = 0;
    for (int i = 0; i < n; i++) {
        prob[i] = keep[i] ? exp(l[i] / p->temperature) : 0;
        z += prob[i];
    }
    for (int i = 0; i < n; i++) prob[i] /= z;
}

/* Draw `draws` tokens and compare with the oracle: tokens of probability 0 never
 * appear; each count lies within 5 sigma (+1) of its expectation; chi-square below
 * df + 6 sqrt(2 df). Returns 1 when all hold. */
static int check_distribution(const char *what, const float *logits, int n, const flintrt_sampler_params *p,
                              const int32_t *recent, size_t n_recent, uint64_t seed, int draws) {
    double prob[MAXV];
    oracle(logits, n, p, recent, n_recent, prob);
    flt_sampler *s = NULL;
    flt_err e;
    if (flt_sampler_new(n, &s, &e) != FLINTRT_OK) return 0;
    flt_rng rng;
    flt_rng_seed(&rng, seed + SEED_OFFSET);
    long count[MAXV] = {0};
    int ok = 1;
    for (int d = 0; d < draws; d++) {
        int32_t t = -1;
        flintrt_status st = flt_sampler_sample(s, logits, p, recent, n_recent, &rng, &t, &e);
        if (st != FLINTRT_OK || t < 0 || t >= n) {
            fprintf(stderr, "%s: sample failed: %s\n", what, e.msg);
            ok = 0;
            break;
        }
        count[t]++;
    }
    flt_sampler_free(s);
    double chi = 0;
    int df = -1;
    for (int i = 0; ok && i < n; i++) {
        double ex = prob[i] * draws;
        if (prob[i] == 0) {
            if (count[i]) { fprintf(stderr, "%s: token %d drawn %ld times, oracle says 0\n", what, i, count[i]); ok = 0; }
            continue;
        }
        double sd = sqrt(ex * (1 - prob[i]));
        if (fabs(count[i] - ex) > 5 * sd + 1) {
            fprintf(stderr, "%s: token %d drawn %ld times, expected %.1f (sd %.1f)\n", what, i, count[i], ex, sd);
            ok = 0;
        }
        chi += (count[i] - ex) * (count[i] - ex) / ex;
        df++;
    }
    if (ok && df > 0 && chi > df + 6 * sqrt(2.0 * df)) {
        fprintf(stderr, "%s: chi-square %.1f for %d degrees of freedom\n", what, chi, df);
        ok = 0;
    }
    return ok;
}

/* ---- Tests -------------------------------------------------------------------- */

static void test_rng(void) {
    /* Known answers from an independent implementation of splitmix64 → xoshiro256**. */
    flt_rng r;
    flt_rng_seed(&r, 0);
    CHECK(flt_rng_next(&r) == 0x99ec5f36cb75f2b4ull);
    CHECK(flt_rng_next(&r) == 0xbf6e1f784956452aull);
    CHECK(flt_rng_next(&r) == 0x1a5f849d4933e6e0ull);
    flt_rng_seed(&r, 42);
    CHECK(flt_rng_next(&r) == 0x15780b2e0c2ec716ull);
    CHECK(flt_rng_next(&r) == 0x6104d9866d113a7eull);
    CHECK(flt_rng_next(&r) == 0xae17533239e499a1ull);

    /* uniform: in [0,1), mean ~ 1/2, variance ~ 1/12 */
    flt_rng_seed(&r, 7);
    double sum = 0, sum2 = 0, lo = 1, hi = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = flt_rng_uniform(&r);
        sum += u; sum2 += u * u;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
    }
    CHECK(lo >= 0.0 && hi < 1.0);
    CHECKF(fabs(sum / n - 0.5) < 0.005, "mean %f", sum / n);
    CHECKF(fabs(sum2 / n - sum * sum / n / n - 1.0 / 12) < 0.003, "var %f", sum2 / n - sum * sum / n / n);

    /* state is explicit: two generators with one seed agree, another seed differs */
    flt_rng a, b, c;
    flt_rng_seed(&a, 123);
    flt_rng_seed(&b, 123);
    flt_rng_seed(&c, 124);
    int same = 1, diff = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = flt_rng_next(&a), y = flt_rng_next(&b), z = flt_rng_next(&c);
        same &= x == y;
        diff |= x != z;
    }
    CHECK(same);
    CHECK(diff);
}

static void test_greedy(void) {
    flt_sampler *s = NULL;
    flt_err e;
    CHECK(flt_sampler_new(6, &s, &e) == FLINTRT_OK);
    flt_rng rng, before;
    flt_rng_seed(&rng, 1);
    before = rng;
    int32_t t = -1;
    flintrt_sampler_params p = params(0.0f, 40, 0.95f, 0.05f, 1.0f, 64);

    const float a[6] = {0.1f, 3.0f, -2.0f, 2.9f, 3.0f, 1.0f};
    CHECK(flt_sampler_sample(s, a, &p, NULL, 0, &rng, &t, &e) == FLINTRT_OK);
    CHECKF(t == 1, "tie must go to the lowest id, got %d", t);
    CHECK(memcmp(&rng, &before, sizeof rng) == 0); /* greedy does not touch the RNG */

    p.temperature = -1.0f; /* negative is greedy too */
    CHECK(flt_sampler_sample(s, a, &p, NULL, 0, &rng, &t, &e) == FLINTRT_OK && t == 1);

    const float allneg[6] = {-INFINITY, -INFINITY, -5.0f, -INFINITY, -5.0f, -INFINITY};
    CHECK(flt_sampler_sample(s, allneg, &p, NULL, 0, &rng, &t, &e) == FLINTRT_OK && t == 2);

    /* the logits are not modified */
    float b[6];
    memcpy(b, a, sizeof b);
    p = params(0.7f, 3, 0.9f, 0.1f, 1.3f, 4);
    int32_t recent[3] = {1, 4, 1};
    CHECK(flt_sampler_sample(s, b, &p, recent, 3, &rng, &t, &e) == FLINTRT_OK);
    CHECK(memcmp(a, b, sizeof b) == 0);

    /* top_p tiny keeps only the top token, whatever the draw */
    p = params(1.0f, 0, 1e-6f, 0.0f, 1.0f, 0);
    int all3 = 1;
    for (int i = 0; i < 200; i++)
        all3 &= flt_sampler_sample(s, a, &p, NULL, 0, &rng, &t, &e) == FLINTRT_OK && t == 1; /* 1 and 4 tie: 1 ranks first */
    CHECK(all3);

    /* min_p 1 keeps only tokens tied with the max */
    p = params(1.0f, 0, 1.0f, 1.0f, 1.0f, 0);
    int only_top = 1, seen1 = 0, seen4 = 0;
    for (int i = 0; i < 400; i++) {
        only_top &= flt_sampler_sample(s, a, &p, NULL, 0, &rng, &t, &e) == FLINTRT_OK;
        only_top &= t == 1 || t == 4;
        seen1 |= t == 1;
        seen4 |= t == 4;
    }
    CHECK(only_top && seen1 && seen4);

    /* the RNG advances by exactly one draw per sampled token */
    flt_rng r1, r2;
    flt_rng_seed(&r1, 99);
    flt_rng_seed(&r2, 99);
    p = params(0.8f, 2, 0.95f, 0.05f, 1.0f, 0);
    CHECK(flt_sampler_sample(s, a, &p, NULL, 0, &r1, &t, &e) == FLINTRT_OK);
    (void)flt_rng_next(&r2);
    CHECK(memcmp(&r1, &r2, sizeof r1) == 0);

    /* a tiny temperature behaves as greedy over the filtered set (no 0*inf) */
    p = params(1e-30f, 0, 1.0f, 0.0f, 1.0f, 0);
    const float c[6] = {0.0f, 1.0f, 2.0f, 0.5f, 1.999f, -1.0f};
    int all2 = 1;
    for (int i = 0; i < 100; i++)
        all2 &= flt_sampler_sample(s, c, &p, NULL, 0, &rng, &t, &e) == FLINTRT_OK && t == 2;
    CHECK(all2);
    flt_sampler_free(s);
}

static void test_penalty(void) {
    flt_sampler *s = NULL;
    flt_err e;
    CHECK(flt_sampler_new(3, &s, &e) == FLINTRT_OK);
    flt_rng rng;
    flt_rng_seed(&rng, 1);
    int32_t t = -1;

    /* positive logit divided: 2.0/2 = 1.0 < 1.5 */
    const float pos[3] = {2.0f, 1.5f, -9.0f};
    flintrt_sampler_params p = params(0.0f, 0, 1.0f, 0.0f, 2.0f, 64);
    int32_t r0[1] = {0};
    CHECK(flt_sampler_sample(s, pos, &p, r0, 1, &rng, &t, &e) == FLINTRT_OK && t == 1);
    /* negative logit multiplied: -1*2 = -2 < -1.5 */
    const float neg[3] = {-1.0f, -1.5f, -9.0f};
    CHECK(flt_sampler_sample(s, neg, &p, r0, 1, &rng, &t, &e) == FLINTRT_OK && t == 1);
    /* a penalty below 1 boosts: -1.5 * 0.5 = -0.75 > -1 */
    p.repeat_penalty = 0.5f;
    int32_t r1[1] = {1};
    CHECK(flt_sampler_sample(s, neg, &p, r1, 1, &rng, &t, &e) == FLINTRT_OK && t == 1);
    /* each distinct token once: 2.0/1.5 = 1.33 > 1.2 (twice would be 0.89) */
    const float once[3] = {2.0f, 1.2f, -9.0f};
    p.repeat_penalty = 1.5f;
    int32_t r00[4] = {0, 0, 0, 0};
    CHECK(flt_sampler_sample(s, once, &p, r00, 4, &rng, &t, &e) == FLINTRT_OK && t == 0);
    /* only the last repeat_last_n count: token 0 is outside the window */
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = 2;
    int32_t r0111[4] = {0, 1, 2, 2};
    CHECK(flt_sampler_sample(s, pos, &p, r0111, 4, &rng, &t, &e) == FLINTRT_OK && t == 0);
    p.repeat_last_n = 4;
    CHECK(flt_sampler_sample(s, pos, &p, r0111, 4, &rng, &t, &e) == FLINTRT_OK && t == 0); /* both penalised */
    int32_t r_02[2] = {0, 2};
    CHECK(flt_sampler_sample(s, pos, &p, r_02, 2, &rng, &t, &e) == FLINTRT_OK && t == 1);
    /* repeat_last_n 0 or penalty 1: off */
    p.repeat_last_n = 0;
    CHECK(flt_sampler_sample(s, pos, &p, r0, 1, &rng, &t, &e) == FLINTRT_OK && t == 0);
    p.repeat_last_n = 64;
    p.repeat_penalty = 1.0f;
    CHECK(flt_sampler_sample(s, pos, &p, r0, 1, &rng, &t, &e) == FLINTRT_OK && t == 0);
    /* zero logit: multiplied (stays 0) */
    const float zero[3] = {0.0f, -0.1f, -9.0f};
    p.repeat_penalty = 3.0f;
    CHECK(flt_sampler_sample(s, zero, &p, r0, 1, &rng, &t, &e) == FLINTRT_OK && t == 0);
    flt_sampler_free(s);
}

static void fill_random(float *l, int n, flt_rng *r, double scale) {
    for (int i = 0; i < n; i++) l[i] = (float)((flt_rng_uniform(r) * 2 - 1) * scale);
}

static void test_distributions(void) {
    const int draws = 60000;
    /* hand-made: each filter alone on the same logits */
    const float l[8] = {2.0f, 1.0f, 0.5f, 3.0f, -1.0f, 0.0f, 2.5f, 1.5f};
    struct { const char *name; flintrt_sampler_params p; } cases[] = {
        {"plain T=1", params(1.0f, 0, 1.0f, 0.0f, 1.0f, 0)},
        {"T=0.5", params(0.5f, 0, 1.0f, 0.0f, 1.0f, 0)},
        {"T=2", params(2.0f, 0, 1.0f, 0.0f, 1.0f, 0)},
        {"top-k 3", params(1.0f, 3, 1.0f, 0.0f, 1.0f, 0)},
        {"top-k 1", params(1.0f, 1, 1.0f, 0.0f, 1.0f, 0)},
        {"top-k 8 (= n)", params(1.0f, 8, 1.0f, 0.0f, 1.0f, 0)},
        {"top-k 100 (> n)", params(1.0f, 100, 1.0f, 0.0f, 1.0f, 0)},
        {"top-p 0.7", params(1.0f, 0, 0.7f, 0.0f, 1.0f, 0)},
        {"top-p 0.9", params(1.0f, 0, 0.9f, 0.0f, 1.0f, 0)},
        {"min-p 0.1", params(1.0f, 0, 1.0f, 0.1f, 1.0f, 0)},
        {"min-p 0.3", params(1.0f, 0, 1.0f, 0.3f, 1.0f, 0)},
        {"top-k 5 + top-p 0.8", params(1.0f, 5, 0.8f, 0.0f, 1.0f, 0)},
        {"top-p 0.95 + min-p 0.2 at T=0.7", params(0.7f, 0, 0.95f, 0.2f, 1.0f, 0)},
        {"defaults", params(0.8f, 40, 0.95f, 0.05f, 1.0f, 64)},
        {"all + penalty", params(1.3f, 6, 0.97f, 0.02f, 1.8f, 3)},
    };
    const int32_t recent[5] = {3, 6, 3, 0, 6};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "case '%s'", cases[i].name);
        CHECKF(check_distribution(name, l, 8, &cases[i].p, recent, 5, 1000 + i, draws), "%s", name);
    }
    /* ties at the top-k boundary go to the lower ids */
    const float tie[6] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
    flintrt_sampler_params pk = params(1.0f, 3, 1.0f, 0.0f, 1.0f, 0);
    CHECK(check_distribution("top-k ties", tie, 6, &pk, NULL, 0, 5, draws));
    /* -inf logits are never drawn */
    const float ninf[5] = {-INFINITY, 0.0f, -INFINITY, 1.0f, -INFINITY};
    flintrt_sampler_params pp = params(1.0f, 0, 1.0f, 0.0f, 1.0f, 0);
    CHECK(check_distribution("-inf", ninf, 5, &pp, NULL, 0, 6, draws));

    /* random vocabularies and random parameters */
    flt_rng r;
    flt_rng_seed(&r, 2024);
    for (int trial = 0; trial < 40; trial++) {
        int n = 2 + (int)(flt_rng_next(&r) % 30);
        float lg[MAXV];
        fill_random(lg, n, &r, 1.0 + 3.0 * flt_rng_uniform(&r));
        if (trial % 5 == 0) lg[flt_rng_next(&r) % (uint64_t)n] = lg[0]; /* a tie */
        flintrt_sampler_params p = params((float)(0.3 + 1.5 * flt_rng_uniform(&r)),
                                          (int32_t)(flt_rng_next(&r) % (uint64_t)(n + 3)) - 1,
                                          (float)(0.5 + 0.6 * flt_rng_uniform(&r)),
                                          (float)(0.25 * flt_rng_uniform(&r) - 0.05),
                                          (float)(0.7 + flt_rng_uniform(&r)),
                                          (int32_t)(flt_rng_next(&r) % 6));
        int32_t rec[8];
        size_t nrec = flt_rng_next(&r) % 9;
        for (size_t i = 0; i < nrec; i++) rec[i] = (int32_t)(flt_rng_next(&r) % (uint64_t)n);
        char name[160];
        snprintf(name, sizeof name, "random %d (n %d, T %.2f, k %d, p %.3f, min-p %.3f, rp %.2f/%d)", trial, n,
                 (double)p.temperature, p.top_k, (double)p.top_p, (double)p.min_p, (double)p.repeat_penalty,
                 p.repeat_last_n);
        CHECKF(check_distribution(name, lg, n, &p, rec, nrec, 3000 + (uint64_t)trial, 20000), "%s", name);
    }
}

/* A large vocabulary: the top-k heap against a brute-force top-k. */
static void test_large_vocab(void) {
    enum { N = 32000, K = 5 };
    static float lg[N];
    flt_rng r;
    flt_rng_seed(&r, 77);
    fill_random(lg, N, &r, 10.0);
    /* brute force: the K best by (logit desc, id asc) */
    int best[K];
    for (int j = 0; j < K; j++) {
        int b = -1;
        for (int i = 0; i < N; i++) {
            int taken = 0;
            for (int q = 0; q < j; q++) taken |= best[q] == i;
            if (taken) continue;
            if (b < 0 || lg[i] > lg[b]) b = i;
        }
        best[j] = b;
    }
    double w[K], z = 0;
    for (int j = 0; j < K; j++) z += (w[j] = exp((double)lg[best[j]] - lg[best[0]]));
    flt_sampler *s = NULL;
    flt_err e;
    CHECK(flt_sampler_new(N, &s, &e) == FLINTRT_OK);
    flintrt_sampler_params p = params(1.0f, K, 1.0f, 0.0f, 1.0f, 0);
    long count[K] = {0};
    int outside = 0;
    const int draws = 4000;
    for (int d = 0; d < draws; d++) {
        int32_t t = -1;
        int found = 0;
        if (flt_sampler_sample(s, lg, &p, NULL, 0, &r, &t, &e) != FLINTRT_OK) t = -1;
        for (int j = 0; j < K; j++)
            if (t == best[j]) { count[j]++; found = 1; }
        outside += !found;
    }
    CHECK(outside == 0);
    for (int j = 0; j < K; j++) {
        double ex = draws * w[j] / z, sd = sqrt(ex * (1 - w[j] / z));
        CHECKF(fabs(count[j] - ex) <= 5 * sd + 1, "token %d: %ld vs %.1f", best[j], count[j], ex);
    }
    /* top-p alone over the whole vocabulary (heap popping) keeps the right prefix */
    p = params(1.0f, 0, 0.5f, 0.0f, 1.0f, 0);
    int32_t t;
    CHECK(flt_sampler_sample(s, lg, &p, NULL, 0, &r, &t, &e) == FLINTRT_OK && t >= 0 && t < N);
    flt_sampler_free(s);
}

static void test_reproducible(void) {
    flt_sampler *s = NULL;
    flt_err e;
    CHECK(flt_sampler_new(32, &s, &e) == FLINTRT_OK);
    float lg[32];
    flt_rng r;
    flt_rng_seed(&r, 5);
    fill_random(lg, 32, &r, 2.0);
    flintrt_sampler_params p = params(0.9f, 20, 0.95f, 0.02f, 1.1f, 8);
    int32_t seq_a[300], seq_b[300], seq_c[300];
    int32_t *seqs[3] = {seq_a, seq_b, seq_c};
    int all_ok = 1;
    uint64_t seeds[3] = {11, 11, 12};
    for (int k = 0; k < 3; k++) {
        flt_rng g;
        flt_rng_seed(&g, seeds[k]);
        for (int i = 0; i < 300; i++) {
            size_t nrec = i < 8 ? (size_t)i : 8;
            all_ok &= flt_sampler_sample(s, lg, &p, seqs[k] + i - nrec, nrec, &g, &seqs[k][i], &e) == FLINTRT_OK;
        }
    }
    CHECK(all_ok);
    CHECK(memcmp(seq_a, seq_b, sizeof seq_a) == 0);
    CHECK(memcmp(seq_a, seq_c, sizeof seq_a) != 0);
    flt_sampler_free(s);
}

static void expect_invalid(flt_sampler *s, const float *lg, const flintrt_sampler_params *p, const int32_t *rec,
                           size_t nrec, const char *word, int line) {
    flt_rng r;
    flt_rng_seed(&r, 1);
    flt_err e;
    flt_err_clear(&e);
    int32_t t = -7;
    flintrt_status st = flt_sampler_sample(s, lg, p, rec, nrec, &r, &t, &e);
    CHECKF(st == FLINTRT_ERR_INVALID_ARGUMENT && t == -7 && strstr(e.msg, word),
           "line %d: status %d, out %d, message '%s' (want '%s')", line, (int)st, t, e.msg, word);
}

static void test_invalid(void) {
    flt_sampler *s = NULL;
    flt_err e;
    CHECK(flt_sampler_new(0, &s, &e) == FLINTRT_ERR_INVALID_ARGUMENT && s == NULL);
    CHECK(flt_sampler_new(-3, &s, &e) == FLINTRT_ERR_INVALID_ARGUMENT && s == NULL);
    CHECK(flt_sampler_new(4, NULL, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    flt_sampler_free(NULL);
    CHECK(flt_sampler_new(4, &s, NULL) == FLINTRT_OK);
    const float lg[4] = {1, 2, 3, 4};
    flintrt_sampler_params ok = params(0.8f, 40, 0.95f, 0.05f, 1.1f, 64), p;
#define BAD(field, value, word) do { p = ok; p.field = value; expect_invalid(s, lg, &p, NULL, 0, word, __LINE__); } while (0)
    BAD(temperature, NAN, "temperature");
    BAD(temperature, INFINITY, "temperature");
    BAD(temperature, -INFINITY, "temperature");
    BAD(top_p, 0.0f, "top_p");
    BAD(top_p, -0.5f, "top_p");
    BAD(top_p, NAN, "top_p");
    BAD(top_p, INFINITY, "top_p");
    BAD(min_p, 1.5f, "min_p");
    BAD(min_p, NAN, "min_p");
    BAD(min_p, -INFINITY, "min_p");
    BAD(repeat_penalty, 0.0f, "repeat_penalty");
    BAD(repeat_penalty, -1.0f, "repeat_penalty");
    BAD(repeat_penalty, NAN, "repeat_penalty");
    BAD(repeat_penalty, INFINITY, "repeat_penalty");
    BAD(repeat_last_n, -1, "repeat_last_n");
    BAD(size, sizeof ok - 1, "size");
    BAD(size, 0, "size");
#undef BAD
    expect_invalid(s, lg, NULL, NULL, 0, "params", __LINE__);
    const float nan_lg[4] = {1, NAN, 3, 4};
    expect_invalid(s, nan_lg, &ok, NULL, 0, "logit", __LINE__);
    const float inf_lg[4] = {1, 2, INFINITY, 4};
    expect_invalid(s, inf_lg, &ok, NULL, 0, "logit", __LINE__);
    const int32_t bad_rec[3] = {1, 4, 2};
    expect_invalid(s, lg, &ok, bad_rec, 3, "recent", __LINE__);
    const int32_t neg_rec[2] = {-1, 2};
    expect_invalid(s, lg, &ok, neg_rec, 2, "recent", __LINE__);
    expect_invalid(s, lg, &ok, NULL, 2, "recent", __LINE__);
    flt_rng *no_rng = NULL;
    CHECK(flt_sampler_sample(s, lg, &ok, NULL, 0, no_rng, &(int32_t){0}, &e) == FLINTRT_ERR_INVALID_ARGUMENT &&
          strstr(e.msg, "rng"));
    /* a penalty below 1 cannot push a logit to +inf */
    {
        const float big[4] = {3e38f, 1.0f, 0.0f, -1.0f};
        flintrt_sampler_params pb = params(1.0f, 0, 1.0f, 0.0f, 1e-3f, 4);
        const int32_t rb[1] = {0};
        flt_rng rr;
        flt_rng_seed(&rr, 3);
        int32_t tb = -1;
        CHECK(flt_sampler_sample(s, big, &pb, rb, 1, &rr, &tb, &e) == FLINTRT_OK && tb == 0);
    }
    const float all_ninf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    expect_invalid(s, all_ninf, &ok, NULL, 0, "-inf", __LINE__);

    /* a failed call leaves no marks behind: the penalty still applies once later */
    flintrt_sampler_params pg = params(0.0f, 0, 1.0f, 0.0f, 2.0f, 64);
    const int32_t half_bad[3] = {0, 1, 9};
    flt_rng r;
    flt_rng_seed(&r, 1);
    int32_t t;
    CHECK(flt_sampler_sample(s, lg, &pg, half_bad, 3, &r, &t, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    const float two[4] = {2.0f, 1.2f, -5.0f, -5.0f};
    pg.repeat_penalty = 1.5f;
    const int32_t r0[1] = {0};
    CHECK(flt_sampler_sample(s, two, &pg, r0, 1, &r, &t, &e) == FLINTRT_OK && t == 0);

    /* greedy with the other filters at their edges is still valid */
    flintrt_sampler_params edge = params(0.0f, -5, 5.0f, -1.0f, 1.0f, 0);
    CHECK(flt_sampler_sample(s, lg, &edge, NULL, 0, &r, &t, &e) == FLINTRT_OK && t == 3);
    flt_sampler_free(s);
}

int main(void) {
    test_rng();
    test_greedy();
    test_penalty();
    test_distributions();
    test_large_vocab();
    test_reproducible();
    test_invalid();
    return flt_test_finish();
}
