/* Weights repacked at load (flintrt_model_options.no_repack = 0, the default)
 * against the file's own layout: the model packs exactly the matrices whose
 * type the active kernel set has a packed layout for; the teacher-forced
 * logits of both agree to summation-order rounding (the products differ only
 * in the order of float additions); the packed model gives the same bits with
 * 1, 2 and 3 threads; and a prompt evaluated in one batch gives the same
 * last-position logits as the same prompt split into a batch and single
 * tokens (every packed product is a pure function of its row and token). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "api/api_internal.h"
#include "cpu/kernels.h"
#include "flintrt.h"
#include "harness.h"

enum { N_IDS = 40 };

static flintrt_model *load(const char *name, int no_repack) {
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s.gguf", name);
    flintrt_model_options mo;
    flintrt_model_options_init(&mo);
    mo.no_repack = no_repack;
    flintrt_model *m = NULL;
    if (flintrt_model_load(flt_test_shared(rel), &mo, &m) != FLINTRT_OK)
        fprintf(stderr, "load %s: %s\n", name, flintrt_last_error());
    return m;
}

/* Logits of every position of ids[0..n), evaluated in batches of `split`
 * tokens (the first batch: n - tail tokens, then one at a time). */
static float *eval(flintrt_model *m, const int32_t *ids, int n, int threads, int tail) {
    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.n_ctx = 64;
    so.n_threads = threads;
    flintrt_session *s = NULL;
    if (flintrt_session_create(m, &so, &s) != FLINTRT_OK) return NULL;
    const size_t nv = (size_t)flintrt_model_n_vocab(m);
    float *lg = malloc((size_t)n * nv * sizeof *lg);
    int ok = 1;
    if (!tail) {
        ok = flintrt_session_eval(s, ids, (size_t)n, lg, (size_t)n * nv) == FLINTRT_OK;
    } else {
        ok = flintrt_session_eval(s, ids, (size_t)(n - tail), lg, (size_t)(n - tail) * nv) == FLINTRT_OK;
        for (int i = n - tail; ok && i < n; i++)
            ok = flintrt_session_eval(s, ids + i, 1, lg + (size_t)i * nv, nv) == FLINTRT_OK;
    }
    flintrt_session_free(s);
    if (!ok) {
        fprintf(stderr, "eval: %s\n", flintrt_last_error());
        free(lg);
        return NULL;
    }
    return lg;
}

/* Does the model hold a packed copy of this tensor made for kernel set k? */
static int packed_for(const flt_tensor *t, const flt_kernels *k) { return t->packed && t->packed_for == k; }

static void check_model(const char *name) {
    flintrt_model *mp = load(name, 0), *mq = load(name, 1);
    CHECKF(mp && mq, "%s loads", name);
    if (!mp || !mq) {
        flintrt_model_free(mp);
        flintrt_model_free(mq);
        return;
    }
    const flt_kernels *k = flt_kernels_default();
    const flt_llama *lp = mp->llama, *lq = mq->llama;
    /* exactly the matrices with a packed layout are packed, none without no_repack = 0 */
    int want = 0, have = 0, stray = 0;
    for (int32_t l = 0; l < lp->hp.n_layer; l++) {
        const flt_llama_layer *L = &lp->layers[l], *Q = &lq->layers[l];
        const flt_tensor *ts[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        const flt_tensor *tq[] = {&Q->wq, &Q->wk, &Q->wv, &Q->wo, &Q->w_gate, &Q->w_up, &Q->w_down};
        for (int i = 0; i < 7; i++) {
            const flt_packed_kernel *pk = k->packed[ts[i]->dtype];
            want += pk && pk->panel_bytes(ts[i]->shape[1]) > 0;
            have += packed_for(ts[i], k);
            stray += tq[i]->packed != NULL;
        }
    }
    CHECKF(want == have, "%s: %d matrices have a packed layout, %d were packed", name, want, have);
    CHECKF(stray == 0 && lq->packed == NULL, "%s: no_repack still packed %d matrices", name, stray);

    const int nv = flintrt_model_n_vocab(mp);
    int32_t ids[N_IDS];
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < N_IDS; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        ids[i] = (int32_t)(1 + x % (uint64_t)(nv - 1));
    }
    float *plain = eval(mq, ids, N_IDS, 2, 0), *p1 = eval(mp, ids, N_IDS, 1, 0), *p2 = eval(mp, ids, N_IDS, 2, 0),
          *p3 = eval(mp, ids, N_IDS, 3, 0), *ps = eval(mp, ids, N_IDS, 2, 5);
    CHECKF(plain && p1 && p2 && p3 && ps, "%s evaluates", name);
    if (plain && p1 && p2 && p3 && ps) {
        const size_t len = (size_t)N_IDS * (size_t)nv;
        double mean = 0, var = 0, maxd = 0, sq = 0;
        for (size_t i = 0; i < len; i++) mean += plain[i];
        mean /= (double)len;
        for (size_t i = 0; i < len; i++) var += (plain[i] - mean) * (plain[i] - mean);
        const double sd = sqrt(var / (double)len);
        for (size_t i = 0; i < len; i++) {
            const double d = fabs((double)p2[i] - (double)plain[i]);
            if (d > maxd) maxd = d;
            sq += d * d;
        }
        /* Summation order only, but a last-bit change can flip the rounding
         * of a quantized activation in the next layer and grow through the
         * layers: the plain kernel sets differ from each other by up to ~0.07
         * sigma on these files (K-quants: ~0.13). A wrong product is off by O(1) sigma. */
        CHECKF(maxd / sd < 0.3 && sqrt(sq / (double)len) / sd < 0.06, "%s: packed vs plain max %.3g rms %.3g sigma",
               name, maxd / sd, sqrt(sq / (double)len) / sd);
        CHECKF(!memcmp(p1, p2, len * sizeof *p1) && !memcmp(p1, p3, len * sizeof *p1),
               "%s: packed logits differ between 1, 2 and 3 threads", name);
        CHECKF(!memcmp(p2 + (size_t)(N_IDS - 1) * (size_t)nv, ps + (size_t)(N_IDS - 1) * (size_t)nv,
                       (size_t)nv * sizeof *p2),
               "%s: last logits differ between one batch and batch + single tokens", name);
        fprintf(stderr, "%s: %d of %d matrices packed; packed vs plain max|d| %.3g rms %.3g sigma\n", name, have,
                7 * lp->hp.n_layer, maxd / sd, sqrt(sq / (double)len) / sd);
    }
    free(plain);
    free(p1);
    free(p2);
    free(p3);
    free(ps);
    flintrt_model_free(mp);
    flintrt_model_free(mq);
}

int main(void) {
    const char *names[] = {"tiny-llama-Q4_0", "tiny-llama-Q8_0", "tiny-llama-Q5_0", "tiny-llama-Q4_K_M", "tiny-llama-F16",
                           "tiny-llama-Q6_K", "stories260K"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) check_model(names[i]);
    return flt_test_finish();
}
