/* The executor and the thread pool: a transformer-shaped graph gives the same
 * bits serially, on 2..8 threads (more threads than cores: an oversubscribed
 * machine), with the work cut into as many parts as possible, and run after run
 * (races show up as differences); static pool jobs run every thread exactly
 * once. Attention (tiled, online softmax) is checked against a double-precision
 * oracle written here, for F32 and F16 caches, every kernel set, and contexts
 * longer than a key block. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "core/dtype.h"
#include "core/threadpool.h"
#include "graph/plan.h"
#include "flintrt.h"
#include "harness.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static float frand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}
static void fill(float *x, size_t n, float s) { for (size_t i = 0; i < n; i++) x[i] = frand() * s; }

static flt_tensor tens(flt_dtype dt, int ndim, const int64_t *shape, void *data) {
    flt_tensor t;
    flt_err e;
    if (flt_tensor_init(&t, dt, ndim, shape, data, &e)) fprintf(stderr, "tensor: %s\n", e.msg);
    return t;
}

enum { D = 96, NH = 6, NKV = 2, HD = 16, FF = 160, CTX = 96, NT = 24, NPAST = 40 };

typedef struct {
    float wq[NH * HD * D], wk[NKV * HD * D], wv[NKV * HD * D], wo[D * NH * HD];
    float wg[FF * D], wu[FF * D], wd[D * FF], norm[D];
    float x[NT * D];
    int32_t pos[NT];
    float kc[CTX * NKV * HD], vc[CTX * NKV * HD]; /* the cache: written by the graph */
} model;

static void model_init(model *m) {
    fill(m->wq, sizeof m->wq / 4, 0.3f); fill(m->wk, sizeof m->wk / 4, 0.3f);
    fill(m->wv, sizeof m->wv / 4, 0.3f); fill(m->wo, sizeof m->wo / 4, 0.3f);
    fill(m->wg, sizeof m->wg / 4, 0.3f); fill(m->wu, sizeof m->wu / 4, 0.3f);
    fill(m->wd, sizeof m->wd / 4, 0.3f); fill(m->norm, D, 1.0f);
    fill(m->x, sizeof m->x / 4, 1.0f);
    fill(m->kc, sizeof m->kc / 4, 1.0f); fill(m->vc, sizeof m->vc / 4, 1.0f);
    for (int i = 0; i < NT; i++) m->pos[i] = NPAST + i;
}

/* The weight type of the graph under test, and converted copies of the
 * weights (F32 rows converted with the reference quantizer). */
static flt_dtype g_wtype = FLT_F32;
static void *g_wcopy[32];
static int g_nw;

static int weight(flt_graph *g, int64_t r, int64_t c, float *data) {
    void *d = data;
    if (g_wtype != FLT_F32) {
        size_t bytes = 0;
        flt_dtype_row_bytes(g_wtype, r * c, &bytes);
        if (g_nw < 32 && (d = malloc(bytes))) {
            flt_dtype_info(g_wtype)->from_f32(data, d, r * c);
            g_wcopy[g_nw++] = d;
        }
    }
    flt_tensor t = tens(g_wtype, 2, (int64_t[]){r, c}, d);
    return flt_graph_external(g, &t);
}

static void free_weights(void) {
    while (g_nw) free(g_wcopy[--g_nw]);
}

/* Two transformer layers over one batch, the second reading the cache the first
 * wrote (a write into an external value followed by readers). */
static int build(flt_graph *g, model *m) {
    free_weights(); /* the previous build's copies */
    flt_tensor tx = tens(FLT_F32, 2, (int64_t[]){NT, D}, m->x);
    flt_tensor tp = tens(FLT_I32, 1, (int64_t[]){NT}, m->pos);
    flt_tensor tn = tens(FLT_F32, 1, (int64_t[]){D}, m->norm);
#define W(name, r, c) weight(g, r, c, m->name)
    int x = flt_graph_external(g, &tx), pos = flt_graph_external(g, &tp), nw = flt_graph_external(g, &tn);
    flt_tensor tk = tens(FLT_F32, 2, (int64_t[]){CTX, NKV * HD}, m->kc);
    flt_tensor tv = tens(FLT_F32, 2, (int64_t[]){CTX, NKV * HD}, m->vc);
    int kc = flt_graph_external(g, &tk), vc = flt_graph_external(g, &tv);
    for (int l = 0; l < 2; l++) {
        int h = flt_op_rms_norm(g, x, nw, 1e-5f);
        int q = flt_op_mul_mat(g, W(wq, NH * HD, D), h);
        int k = flt_op_mul_mat(g, W(wk, NKV * HD, D), h);
        int v = flt_op_mul_mat(g, W(wv, NKV * HD, D), h);
        q = flt_op_rope(g, flt_graph_reshape(g, q, 3, (int64_t[]){NT, NH, HD}), pos, -1, HD, 10000.0f, 1.0f);
        k = flt_op_rope(g, flt_graph_reshape(g, k, 3, (int64_t[]){NT, NKV, HD}), pos, -1, HD, 10000.0f, 1.0f);
        int kd = flt_graph_reshape(g, flt_graph_view_rows(g, kc, NPAST, NT), 3, (int64_t[]){NT, NKV, HD});
        flt_op_convert_into(g, k, kd);
        flt_op_convert_into(g, v, flt_graph_view_rows(g, vc, NPAST, NT));
        int64_t kv3[3] = {CTX, NKV, HD};
        int a = flt_op_attention(g, q, flt_graph_reshape(g, kc, 3, kv3), flt_graph_reshape(g, vc, 3, kv3), NPAST,
                                 0.25f);
        x = flt_op_add(g, x, flt_op_mul_mat(g, W(wo, D, NH * HD), a));
        h = flt_op_rms_norm(g, x, nw, 1e-5f);
        int gg = flt_op_mul_mat(g, W(wg, FF, D), h), uu = flt_op_mul_mat(g, W(wu, FF, D), h);
        x = flt_op_add(g, x, flt_op_mul_mat(g, W(wd, D, FF), flt_op_swiglu(g, gg, uu)));
    }
#undef W
    flt_graph_set_output(g, x);
    return x;
}

/* Tests of the executor's put-back path: waiting threads give back every part
 * they claimed ahead. */
static int g_put_back;

/* Run the graph from a fresh copy of the model; returns the output (malloc'd). */
static float *run_model(const model *src, int threads, int force_split, const flt_kernels *k, int repeats,
                        bool *stable) {
    model *m = malloc(sizeof *m);
    flt_graph g;
    flt_graph_init(&g);
    flt_pool *p = NULL;
    flt_err e;
    float *out = malloc(NT * D * sizeof(float));
    void *arena = NULL;
    *stable = true;
    if (!m || !out || flt_pool_new(threads, &p, &e)) goto done;
    flt_graph_exec x;
    flt_graph_exec_init(&x);
    x.force_split = force_split;
    x.put_back_claims = g_put_back;
    for (int r = 0; r < repeats; r++) {
        memcpy(m, src, sizeof *m);
        flt_graph_reset(&g);
        int y = build(&g, m);
        size_t bytes;
        if (g.err.status || flt_graph_plan(&g, &bytes, &e)) { fprintf(stderr, "build/plan failed\n"); break; }
        if (!arena && posix_memalign(&arena, FLT_ARENA_ALIGN, bytes)) break;
        memset(arena, 0xA5, bytes);
        flt_graph_bind(&g, arena);
        CHECK(flt_graph_run_exec(&g, p, k, &x, &e) == FLINTRT_OK);
        if (r == 0) memcpy(out, g.values[y].t.data, NT * D * sizeof(float));
        else if (memcmp(out, g.values[y].t.data, NT * D * sizeof(float))) *stable = false;
    }
    flt_graph_exec_free(&x);
    free_weights();
done:
    flt_pool_free(p);
    flt_graph_free(&g);
    free(arena);
    free(m);
    return out;
}

static void test_executor_bit_identical(void) {
    model *m = malloc(sizeof *m);
    model_init(m);
    const flt_kernels *sets[8];
    int nsets = flt_kernels_list(sets, 8);
    /* Every weight type with 32-element blocks (the graph's widths are 96 and 160). */
    flt_dtype types[] = {FLT_F32, FLT_F16, FLT_BF16, FLT_Q8_0, FLT_Q4_0, FLT_Q4_1, FLT_Q5_0, FLT_Q5_1, FLT_IQ4_NL};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++)
    for (int s = 0; s < nsets && s < 8; s++) {
        g_wtype = types[ti];
        if (!sets[s]->vec_dot[g_wtype]) continue;
        bool stable;
        float *ref = run_model(m, 1, 0, sets[s], 1, &stable);
        bool finite = true;
        for (int i = 0; i < NT * D; i++) finite = finite && isfinite(ref[i]);
        CHECKF(finite, "%s: finite output", sets[s]->name);
        struct { int threads, force, reps, put_back; } cfg[] = {
            {1, 1, 2, 0}, {2, 0, 5, 0}, {2, 1, 20, 0}, {2, 2, 20, 0}, {3, 1, 5, 0}, {3, 2, 5, 0}, {8, 1, 3, 0},
            {2, 1, 20, 1}, {3, 2, 5, 1}, {8, 1, 3, 1},
        };
        for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
            /* Races show up with repetition: the F32 graph repeats most. */
            int reps = g_wtype == FLT_F32 ? cfg[c].reps : 2;
            g_put_back = cfg[c].put_back;
            float *o = run_model(m, cfg[c].threads, cfg[c].force, sets[s], reps, &stable);
            g_put_back = 0;
            CHECKF(memcmp(o, ref, NT * D * sizeof(float)) == 0,
                   "%s weights, %s, %d threads, split mode %d%s: same bits as serial", flt_dtype_info(g_wtype)->name,
                   sets[s]->name, cfg[c].threads, cfg[c].force, cfg[c].put_back ? ", claims put back" : "");
            CHECKF(stable, "%s weights, %s, %d threads: the same bits on every run", flt_dtype_info(g_wtype)->name,
                   sets[s]->name, cfg[c].threads);
            free(o);
        }
        free(ref);
    }
    free(m);
}

/* ---- the pool ---- */

typedef struct {
    atomic_int hits[8];
    atomic_int total;
} count_ctx;

static void count_job(void *arg, int ith, int nth) {
    count_ctx *c = arg;
    (void)nth;
    atomic_fetch_add(&c->hits[ith], 1);
    atomic_fetch_add(&c->total, 1);
}

static void test_pool_static_and_dynamic(void) {
    for (int nt = 1; nt <= 6; nt += 5) {
        flt_pool *p;
        flt_err e;
        if (flt_pool_new(nt, &p, &e)) { CHECK(0); continue; }
        count_ctx c;
        memset(&c, 0, sizeof c);
        int jobs = 0;
        bool ok = true;
        for (int j = 0; j < 3000; j++) {
            if (j % 3 == 2) {
                count_ctx d;
                memset(&d, 0, sizeof d);
                flt_pool_run_dynamic(p, count_job, &d);
                /* The caller always runs; others join if they arrive in time. */
                ok = ok && atomic_load(&d.hits[0]) == 1 && atomic_load(&d.total) <= nt;
            } else {
                flt_pool_run(p, count_job, &c);
                jobs++;
            }
        }
        CHECKF(ok, "%d threads: dynamic jobs run on the caller, each thread at most once", nt);
        for (int i = 0; i < nt; i++)
            CHECKF(atomic_load(&c.hits[i]) == jobs, "%d threads: thread %d ran %d of %d static jobs", nt, i,
                   atomic_load(&c.hits[i]), jobs);
        flt_pool_free(p);
    }
}

/* ---- attention against a double-precision oracle ---- */

static void attention_oracle(const float *q, const float *k, const float *v, int nt, int nh, int nkv, int hd,
                             int n_past, float scale, double *out) {
    int group = nh / nkv;
    double *s = malloc(sizeof(double) * (size_t)(n_past + nt));
    for (int t = 0; t < nt; t++)
        for (int h = 0; h < nh; h++) {
            int nk = n_past + t + 1, hk = h / group;
            double mx = -INFINITY, l = 0;
            for (int j = 0; j < nk; j++) {
                double d = 0;
                for (int i = 0; i < hd; i++) d += (double)q[(t * nh + h) * hd + i] * k[(j * nkv + hk) * hd + i];
                s[j] = d * scale;
                if (s[j] > mx) mx = s[j];
            }
            for (int j = 0; j < nk; j++) l += (s[j] = exp(s[j] - mx));
            for (int i = 0; i < hd; i++) {
                double a = 0;
                for (int j = 0; j < nk; j++) a += s[j] * v[(j * nkv + hk) * hd + i];
                out[(t * nh + h) * hd + i] = a / l;
            }
        }
    free(s);
}

static void test_attention(void) {
    const flt_kernels *sets[8];
    int nsets = flt_kernels_list(sets, 8);
    struct { int nt, nh, nkv, hd, n_past; } shapes[] = {
        {1, 8, 8, 8, 0},     {1, 9, 3, 64, 300}, {7, 4, 2, 12, 33}, {20, 6, 2, 64, 45}, {3, 32, 4, 128, 70},
    };
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int nt = shapes[si].nt, nh = shapes[si].nh, nkv = shapes[si].nkv, hd = shapes[si].hd, np = shapes[si].n_past;
        int ctx = np + nt;
        size_t nq = (size_t)nt * nh * hd, nkvs = (size_t)ctx * nkv * hd;
        float *q = malloc(nq * 4), *k = malloc(nkvs * 4), *v = malloc(nkvs * 4);
        uint16_t *k16 = malloc(nkvs * 2), *v16 = malloc(nkvs * 2);
        float *k16f = malloc(nkvs * 4), *v16f = malloc(nkvs * 4);
        double *ref = malloc(nq * sizeof(double)), *ref16 = malloc(nq * sizeof(double));
        fill(q, nq, 2.0f); fill(k, nkvs, 2.0f); fill(v, nkvs, 1.0f);
        flt_f16_from_f32_ref(k, k16, (int64_t)nkvs);
        flt_f16_from_f32_ref(v, v16, (int64_t)nkvs);
        flt_f16_to_f32_ref(k16, k16f, (int64_t)nkvs);
        flt_f16_to_f32_ref(v16, v16f, (int64_t)nkvs);
        float scale = 1.0f / sqrtf((float)hd);
        attention_oracle(q, k, v, nt, nh, nkv, hd, np, scale, ref);
        attention_oracle(q, k16f, v16f, nt, nh, nkv, hd, np, scale, ref16);
        for (int f16 = 0; f16 < 2; f16++)
            for (int s = 0; s < nsets && s < 8; s++)
                for (int threads = 1; threads <= 3; threads += 2) {
                    flt_graph g;
                    flt_graph_init(&g);
                    flt_tensor tq = tens(FLT_F32, 3, (int64_t[]){nt, nh, hd}, q);
                    flt_dtype dt = f16 ? FLT_F16 : FLT_F32;
                    flt_tensor tk = tens(dt, 3, (int64_t[]){ctx, nkv, hd}, f16 ? (void *)k16 : k);
                    flt_tensor tv = tens(dt, 3, (int64_t[]){ctx, nkv, hd}, f16 ? (void *)v16 : v);
                    int y = flt_op_attention(&g, flt_graph_external(&g, &tq), flt_graph_external(&g, &tk),
                                             flt_graph_external(&g, &tv), np, scale);
                    flt_graph_set_output(&g, y);
                    size_t bytes;
                    flt_err e;
                    void *arena = NULL;
                    flt_pool *p = NULL;
                    if (g.err.status || flt_graph_plan(&g, &bytes, &e) ||
                        posix_memalign(&arena, FLT_ARENA_ALIGN, bytes) || flt_pool_new(threads, &p, &e)) {
                        CHECKF(0, "attention graph %zu", si);
                        free(arena);
                        flt_graph_free(&g);
                        continue;
                    }
                    flt_graph_bind(&g, arena);
                    flt_graph_exec x;
                    flt_graph_exec_init(&x);
                    x.force_split = 1;
                    flt_graph_run_exec(&g, p, sets[s], &x, &e);
                    const float *o = g.values[y].t.data;
                    const double *r = f16 ? ref16 : ref;
                    double worst = 0;
                    for (size_t i = 0; i < nq; i++) {
                        double d = fabs(o[i] - r[i]);
                        if (!(d <= worst)) worst = d; /* NaN propagates */
                    }
                    CHECKF(worst < 2e-5, "attention %d×%d/%d hd %d past %d, %s cache, %s, %d threads: error %.3g",
                           nt, nh, nkv, hd, np, f16 ? "F16" : "F32", sets[s]->name, threads, worst);
                    flt_graph_exec_free(&x);
                    flt_pool_free(p);
                    free(arena);
                    flt_graph_free(&g);
                }
        free(q); free(k); free(v); free(k16); free(v16); free(k16f); free(v16f); free(ref); free(ref16);
    }
}

/* Sessions: the KV cache type (F16 by default, F32 on request) and the plan
 * reused from token to token. Evaluating a sequence one token at a time (the
 * cached plan, rebound each step) must give the logits of evaluating it as one
 * batch, and the two cache types must agree to F16 rounding. */
static float *eval_seq(flintrt_model *m, int32_t kv, int threads, bool one_by_one, const flintrt_token *ids, int n) {
    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.n_ctx = 128;
    so.n_threads = threads;
    so.kv_type = kv;
    flintrt_session *s = NULL;
    int32_t nv = flintrt_model_n_vocab(m);
    float *all = malloc((size_t)n * (size_t)nv * sizeof(float));
    if (!all || flintrt_session_create(m, &so, &s) != FLINTRT_OK) { free(all); return NULL; }
    bool ok = true;
    if (one_by_one) {
        for (int i = 0; i < n && ok; i++) {
            ok = flintrt_session_eval(s, &ids[i], 1, NULL, 0) == FLINTRT_OK;
            if (ok) memcpy(all + (size_t)i * nv, flintrt_session_logits(s), (size_t)nv * sizeof(float));
        }
    } else {
        ok = flintrt_session_eval(s, ids, (size_t)n, all, (size_t)n * (size_t)nv) == FLINTRT_OK;
    }
    flintrt_session_free(s);
    if (!ok) { free(all); return NULL; }
    return all;
}

static double max_rel_diff(const float *a, const float *b, size_t n) {
    double mean = 0, var = 0, worst = 0;
    for (size_t i = 0; i < n; i++) mean += b[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) var += (b[i] - mean) * (b[i] - mean);
    double sd = sqrt(var / (double)n);
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= worst)) worst = d;
    }
    return worst / sd;
}

static void test_session_kv_and_plan_cache(void) {
    flintrt_model *m = NULL;
    if (flintrt_model_load(flt_test_shared("models/tiny-llama-F32.gguf"), NULL, &m) != FLINTRT_OK) {
        CHECKF(0, "load tiny-llama-F32: %s", flintrt_last_error());
        return;
    }
    enum { N = 40 };
    flintrt_token ids[N];
    int32_t nv = flintrt_model_n_vocab(m);
    for (int i = 0; i < N; i++) ids[i] = (flintrt_token)((i * 7919 + 13) % nv);
    float *b32 = eval_seq(m, FLINTRT_KV_F32, 1, false, ids, N);
    float *s32 = eval_seq(m, FLINTRT_KV_F32, 2, true, ids, N);
    float *b16 = eval_seq(m, FLINTRT_KV_DEFAULT, 2, false, ids, N);
    float *s16 = eval_seq(m, FLINTRT_KV_F16, 1, true, ids, N);
    CHECK(b32 && s32 && b16 && s16);
    if (b32 && s32 && b16 && s16) {
        double w_step = 0, w_kv = 0, w_kv_step = 0;
        for (int i = 0; i < N; i++) {
            size_t o = (size_t)i * nv;
            double d = max_rel_diff(s32 + o, b32 + o, (size_t)nv);
            if (!(d <= w_step)) w_step = d;
            d = max_rel_diff(b16 + o, b32 + o, (size_t)nv);
            if (!(d <= w_kv)) w_kv = d;
            d = max_rel_diff(s16 + o, b16 + o, (size_t)nv);
            if (!(d <= w_kv_step)) w_kv_step = d;
        }
        /* Batched and stepwise differ only in summation order (F32 cache). */
        CHECKF(w_step < 1e-3, "F32 cache: token-by-token vs batch, max |d|/sigma %.3g", w_step);
        CHECKF(w_kv_step < 1e-3, "F16 cache: token-by-token vs batch, max |d|/sigma %.3g", w_kv_step);
        /* F16 keys and values: ~2^-11 relative rounding, far below 0.05 sigma. */
        CHECKF(w_kv < 0.02 && w_kv > 0, "F16 vs F32 cache: max |d|/sigma %.3g", w_kv);
    }
    free(b32); free(s32); free(b16); free(s16);
    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.kv_type = 7;
    flintrt_session *s = NULL;
    CHECK(flintrt_session_create(m, &so, &s) == FLINTRT_ERR_INVALID_ARGUMENT && s == NULL);
    flintrt_model_free(m);
}

int main(void) {
    test_session_kv_and_plan_cache();
    test_pool_static_and_dynamic();
    test_executor_bit_identical();
    test_attention();
    return flt_test_finish();
}
