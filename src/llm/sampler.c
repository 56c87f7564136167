#include "llm/sampler.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "core/checked.h"

/* ---- RNG ------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void flt_rng_seed(flt_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    /* splitmix64 is a bijection of distinct counters, so the four words cannot all be
     * zero; keep the guard anyway since an all-zero state would be stuck forever. */
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

uint64_t flt_rng_next(flt_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

double flt_rng_uniform(flt_rng *r) {
    return (double)(flt_rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- Sampler --------------------------------------------------------------- */

typedef struct flt_cand {
    float logit;
    int32_t id;
} flt_cand;

struct flt_sampler {
    int32_t n_vocab;
    float *work;     /* n_vocab: penalised logits */
    flt_cand *cand;  /* n_vocab: the candidate set (a heap while filtering) */
    flt_cand *ranked;/* n_vocab: candidates in ranking order, as popped for top-p */
    uint8_t *seen;   /* n_vocab: marks for the penalty's distinct tokens, kept all-zero */
};

flintrt_status flt_sampler_new(int32_t n_vocab, flt_sampler **out, flt_err *e) {
    if (!out) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: out is NULL");
    *out = NULL;
    if (n_vocab < 1) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: n_vocab %d < 1", n_vocab);
    flt_sampler *s = calloc(1, sizeof *s);
    if (!s) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "sampler: out of memory");
    s->n_vocab = n_vocab;
    s->work = flt_malloc_array((size_t)n_vocab, sizeof *s->work);
    s->cand = flt_malloc_array((size_t)n_vocab, sizeof *s->cand);
    s->ranked = flt_malloc_array((size_t)n_vocab, sizeof *s->ranked);
    s->seen = flt_calloc_array((size_t)n_vocab, sizeof *s->seen);
    if (!s->work || !s->cand || !s->ranked || !s->seen) {
        flt_sampler_free(s);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "sampler: out of memory for %d candidates", n_vocab);
    }
    *out = s;
    return FLINTRT_OK;
}

void flt_sampler_free(flt_sampler *s) {
    if (!s) return;
    free(s->work);
    free(s->cand);
    free(s->ranked);
    free(s->seen);
    free(s);
}

/* The ranking: a before b if its logit is larger, or equal with a smaller id. */
static inline int cand_before(flt_cand a, flt_cand b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

/* Heaps over flt_cand. `worst_on_top` selects a min-heap in ranking terms (the root
 * is the candidate ranked last), used to keep the best k; otherwise the root is the
 * best candidate, used to pop candidates in ranking order. */
static inline int heap_above(flt_cand a, flt_cand b, int worst_on_top) {
    return worst_on_top ? cand_before(b, a) : cand_before(a, b);
}

static void heap_sift_down(flt_cand *h, size_t n, size_t i, int worst_on_top) {
    flt_cand x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_above(h[c + 1], h[c], worst_on_top)) c++;
        if (!heap_above(h[c], x, worst_on_top)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static void heap_build(flt_cand *h, size_t n, int worst_on_top) {
    for (size_t i = n / 2; i-- > 0;) heap_sift_down(h, n, i, worst_on_top);
}

static flintrt_status check_params(const flintrt_sampler_params *p, flt_err *e) {
    if (!p) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: params is NULL");
    if (p->size < sizeof *p)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT,
                        "sampler: params.size %zu < %zu (call flintrt_sampler_params_init)", p->size,
                        sizeof *p);
    if (!isfinite(p->temperature))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: temperature %g is not finite",
                        (double)p->temperature);
    if (!isfinite(p->top_p) || !(p->top_p > 0.0f))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: top_p %g must be > 0 and finite (>= 1: off)",
                        (double)p->top_p);
    if (!isfinite(p->min_p) || p->min_p > 1.0f)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: min_p %g must be <= 1 and finite (<= 0: off)",
                        (double)p->min_p);
    if (!isfinite(p->repeat_penalty) || !(p->repeat_penalty > 0.0f))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT,
                        "sampler: repeat_penalty %g must be > 0 and finite (1: off)", (double)p->repeat_penalty);
    if (p->repeat_last_n < 0)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: repeat_last_n %d < 0", p->repeat_last_n);
    return FLINTRT_OK;
}

flintrt_status flt_sampler_sample(flt_sampler *s, const float *logits, const flintrt_sampler_params *p,
                                  const int32_t *recent, size_t n_recent, flt_rng *rng, int32_t *out,
                                  flt_err *e) {
    if (!s || !logits || !out)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: sampler, logits and out must not be NULL");
    flintrt_status st = check_params(p, e);
    if (st != FLINTRT_OK) return st;
    if (n_recent > 0 && !recent)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: recent is NULL with n_recent %zu", n_recent);

    const size_t n = (size_t)s->n_vocab;
    float *w = s->work;

    for (size_t i = 0; i < n; i++) {
        float x = logits[i];
        if (isnan(x) || x == INFINITY)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: logit of token %zu is %g", i, (double)x);
        w[i] = x;
    }

    /* Repetition penalty over the distinct tokens of the last repeat_last_n. */
    if (p->repeat_penalty != 1.0f && p->repeat_last_n > 0 && n_recent > 0) {
        size_t look = (size_t)p->repeat_last_n < n_recent ? (size_t)p->repeat_last_n : n_recent;
        const int32_t *tail = recent + (n_recent - look);
        for (size_t i = 0; i < look; i++) {
            if (tail[i] < 0 || (size_t)tail[i] >= n) /* checked before any mark is set */
                return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: recent token %d is outside [0, %zu)",
                                tail[i], n);
        }
        for (size_t i = 0; i < look; i++) {
            int32_t t = tail[i];
            if (s->seen[t]) continue;
            s->seen[t] = 1;
            w[t] = w[t] > 0.0f ? w[t] / p->repeat_penalty : w[t] * p->repeat_penalty;
            if (w[t] == INFINITY) w[t] = FLT_MAX; /* a penalty below 1 may overflow */
        }
        for (size_t i = 0; i < look; i++) s->seen[tail[i]] = 0;
    }

    /* Greedy: argmax, ties to the lowest id (every filter keeps the top token). */
    if (p->temperature <= 0.0f) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (w[i] > w[best]) best = i;
        *out = (int32_t)best;
        return FLINTRT_OK;
    }

    if (!rng) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: rng is NULL");

    /* Top-k: keep the best k in a heap whose root is the worst kept, O(n log k). */
    flt_cand *c = s->cand;
    size_t m;
    if (p->top_k > 0 && (size_t)p->top_k < n) {
        m = (size_t)p->top_k;
        for (size_t i = 0; i < m; i++) c[i] = (flt_cand){w[i], (int32_t)i};
        heap_build(c, m, 1);
        for (size_t i = m; i < n; i++) {
            flt_cand x = {w[i], (int32_t)i};
            if (cand_before(x, c[0])) {
                c[0] = x;
                heap_sift_down(c, m, 0, 1);
            }
        }
    } else {
        m = n;
        for (size_t i = 0; i < n; i++) c[i] = (flt_cand){w[i], (int32_t)i};
    }

    /* Softmax normaliser of the top-k set at temperature 1 (what top-p looks at). */
    float maxl = c[0].logit;
    for (size_t i = 1; i < m; i++)
        if (c[i].logit > maxl) maxl = c[i].logit;
    if (maxl == -INFINITY)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sampler: every candidate logit is -inf");
    double z = 0.0;
    if (p->top_p < 1.0f)
        for (size_t i = 0; i < m; i++) z += exp((double)c[i].logit - (double)maxl);

    /* Min-p keeps prob >= min_p * max prob, i.e. logit >= max + log(min_p). Both
     * min-p and top-p keep a prefix of the ranking, and ratios to the top token do
     * not change when top-p renormalises, so min-p may be applied first as a
     * threshold and the result is the shorter of the two prefixes. */
    if (p->min_p > 0.0f) {
        double thr = (double)maxl + log((double)p->min_p);
        size_t k = 0;
        for (size_t i = 0; i < m; i++)
            if ((double)c[i].logit >= thr) c[k++] = c[i];
        m = k; /* the top token always passes */
    }

    /* Top-p: pop candidates in ranking order until the cumulative probability
     * reaches top_p (keeping at least one); O(m + kept log m). */
    flt_cand *set = c;
    if (p->top_p < 1.0f) {
        heap_build(c, m, 0);
        size_t heap_n = m, kept = 0;
        double cum = 0.0;
        while (heap_n > 0) {
            flt_cand top = c[0];
            s->ranked[kept++] = top;
            c[0] = c[--heap_n];
            heap_sift_down(c, heap_n, 0, 0);
            cum += exp((double)top.logit - (double)maxl) / z;
            if (cum >= (double)p->top_p) break;
        }
        set = s->ranked;
        m = kept;
    }

    /* Temperature, softmax, draw. One RNG draw per call, whatever is left. The set
     * always holds the top token, whose weight is exp(0) = 1, so total >= 1. Divide
     * (not multiply by 1/T) so a tiny temperature gives 0/T = 0, never 0*inf. The
     * weights go to `work`, free once the candidates were built. */
    const double t = (double)p->temperature;
    float *wt = s->work;
    double total = 0.0;
    for (size_t i = 0; i < m; i++) {
        wt[i] = (float)exp(((double)set[i].logit - (double)maxl) / t);
        total += wt[i];
    }
    double u = flt_rng_uniform(rng) * total;
    double acc = 0.0;
    int32_t pick = -1;
    for (size_t i = 0; i < m; i++) {
        if (!(wt[i] > 0.0f)) continue;
        pick = set[i].id; /* the last positive one, should rounding leave u >= acc */
        acc += wt[i];
        if (u < acc) break;
    }
    if (pick < 0) return flt_fail(e, FLINTRT_ERR_INTERNAL, "sampler: no candidate with positive weight");
    *out = pick;
    return FLINTRT_OK;
}
