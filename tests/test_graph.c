/* The graph core: the memory planner never lets live values overlap, and every
 * op matches an independent double-precision oracle written here, with every
 * kernel set and with 1..3 threads (bit-identical across thread counts). */
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "graph/plan.h"
#include "harness.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float frand(void) { /* xorshift, uniform in [-1, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}
static void fill(float *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = frand(); }

static flt_tensor tens(flt_dtype dt, int ndim, const int64_t *shape, void *data) {
    flt_tensor t;
    flt_err e;
    if (flt_tensor_init(&t, dt, ndim, shape, data, &e)) fprintf(stderr, "tensor: %s\n", e.msg);
    return t;
}

/* Run g on `threads` threads with kernels k; returns the arena (caller frees). */
static void *run(flt_graph *g, int threads, const flt_kernels *k) {
    size_t bytes;
    flt_err e;
    if (flt_graph_plan(g, &bytes, &e)) { fprintf(stderr, "plan: %s\n", e.msg); return NULL; }
    void *arena = NULL;
    if (posix_memalign(&arena, FLT_ARENA_ALIGN, bytes ? bytes : 64)) return NULL;
    memset(arena, 0xA5, bytes); /* garbage: ops must not read what they did not write */
    flt_graph_bind(g, arena);
    flt_pool *p;
    if (flt_pool_new(threads, &p, &e)) { free(arena); return NULL; }
    flt_graph_run(g, p, k);
    flt_pool_free(p);
    return arena;
}

static void test_planner_no_overlap(void) {
    /* A chain with branches: lifetimes overlap in several ways. */
    flt_graph g;
    flt_graph_init(&g);
    float xin[4 * 64];
    fill(xin, 4 * 64);
    flt_tensor x = tens(FLT_F32, 2, (int64_t[]){4, 64}, xin);
    int v = flt_graph_external(&g, &x);
    int keep[12];
    for (int i = 0; i < 12; i++) {
        int a = flt_op_add(&g, v, v);
        int b = flt_op_swiglu(&g, a, v);
        v = flt_op_add(&g, b, a);
        keep[i] = v;
    }
    flt_graph_set_output(&g, v);
    CHECK(g.err.status == FLINTRT_OK);
    size_t bytes;
    flt_err e;
    CHECK(flt_graph_plan(&g, &bytes, &e) == FLINTRT_OK);
    /* Independent check of the plan: recompute lifetimes naively. */
    int bad = 0;
    for (int i = 0; i < g.n_values; i++) {
        for (int j = i + 1; j < g.n_values; j++) {
            flt_value *a = &g.values[i], *b = &g.values[j];
            if (a->kind != FLT_VALUE_PLANNED || b->kind != FLT_VALUE_PLANNED) continue;
            int a_last = a->output ? g.n_nodes : a->producer, b_last = b->output ? g.n_nodes : b->producer;
            for (int n = 0; n < g.n_nodes; n++)
                for (int s = 0; s < g.nodes[n].n_src; s++) {
                    if (g.nodes[n].src[s] == i && n > a_last) a_last = n;
                    if (g.nodes[n].src[s] == j && n > b_last) b_last = n;
                }
            bool live_overlap = !(a_last < b->producer || b_last < a->producer);
            bool mem_overlap = a->offset < b->offset + flt_tensor_nbytes(&b->t) &&
                               b->offset < a->offset + flt_tensor_nbytes(&a->t);
            if (live_overlap && mem_overlap) bad++;
        }
    }
    CHECKF(bad == 0, "%d overlapping pairs", bad);
    /* Reuse: far less memory than one slot per value. */
    size_t sum = 0;
    for (int i = 0; i < g.n_values; i++)
        if (g.values[i].kind == FLT_VALUE_PLANNED) sum += flt_tensor_nbytes(&g.values[i].t);
    CHECKF(bytes * 4 < sum, "arena %zu vs %zu unplanned", bytes, sum);
    (void)keep;
    flt_graph_free(&g);
}

/* One small transformer-like block through every op; the oracle below
 * recomputes it in double precision from the same inputs. */
typedef struct {
    int n, H, Hkv, hd, d, m, n_past, ctx;
    float *emb, *ids_f, *norm_w, *wq, *kc, *vc, *x2;
    int32_t ids[8], pos[8];
} block_in;

static void oracle(const block_in *in, double *out /* n*H*hd */, double *mm /* n*m */) {
    int d = in->d;
    /* get_rows + rms_norm */
    double h[8][64];
    for (int t = 0; t < in->n; t++) {
        const float *row = in->emb + (size_t)in->ids[t] * d;
        double ss = 0;
        for (int i = 0; i < d; i++) ss += (double)row[i] * row[i];
        double sc = 1.0 / sqrt(ss / d + 1e-5);
        for (int i = 0; i < d; i++) h[t][i] = row[i] * sc * in->norm_w[i];
    }
    /* mul_mat: q = h @ wq^T, [n, H*hd] (m = H*hd) */
    double q[8][64];
    for (int t = 0; t < in->n; t++)
        for (int r = 0; r < in->m; r++) {
            double s = 0;
            for (int i = 0; i < d; i++) s += h[t][i] * in->wq[(size_t)r * d + i];
            q[t][r] = s;
            mm[t * in->m + r] = s;
        }
    /* rope (adjacent pairs, all dims rotated, base 10000) */
    for (int t = 0; t < in->n; t++)
        for (int hh = 0; hh < in->H; hh++)
            for (int i = 0; i < in->hd; i += 2) {
                double th = in->pos[t] * pow(10000.0, -(double)i / in->hd);
                double *p = &q[t][hh * in->hd + i], a = p[0], b = p[1];
                p[0] = a * cos(th) - b * sin(th);
                p[1] = a * sin(th) + b * cos(th);
            }
    /* causal attention over the cache (already holds keys/values for all positions) */
    int group = in->H / in->Hkv;
    for (int t = 0; t < in->n; t++)
        for (int hh = 0; hh < in->H; hh++) {
            int nk = in->n_past + t + 1, hk = hh / group;
            double sc[64], mx = -1e300, sum = 0;
            for (int j = 0; j < nk; j++) {
                double s = 0;
                for (int i = 0; i < in->hd; i++)
                    s += q[t][hh * in->hd + i] * in->kc[((size_t)j * in->Hkv + hk) * in->hd + i];
                sc[j] = s / sqrt((double)in->hd);
                if (sc[j] > mx) mx = sc[j];
            }
            for (int j = 0; j < nk; j++) { sc[j] = exp(sc[j] - mx); sum += sc[j]; }
            for (int i = 0; i < in->hd; i++) {
                double acc = 0;
                for (int j = 0; j < nk; j++) acc += sc[j] * in->vc[((size_t)j * in->Hkv + hk) * in->hd + i];
                double a = acc / sum;
                /* swiglu(a, x2) + a */
                double g = in->x2[(t * in->H + hh) * in->hd + i];
                out[(t * in->H + hh) * in->hd + i] = a / (1 + exp(-a)) * g + a;
            }
        }
}

static int build_block(flt_graph *g, block_in *in, flt_tensor *te, flt_tensor *tw) {
    flt_tensor ids = tens(FLT_I32, 1, (int64_t[]){in->n}, in->ids);
    flt_tensor pos = tens(FLT_I32, 1, (int64_t[]){in->n}, in->pos);
    flt_tensor nw = tens(FLT_F32, 1, (int64_t[]){in->d}, in->norm_w);
    flt_tensor kc = tens(FLT_F32, 3, (int64_t[]){in->ctx, in->Hkv, in->hd}, in->kc);
    flt_tensor vc = tens(FLT_F32, 3, (int64_t[]){in->ctx, in->Hkv, in->hd}, in->vc);
    flt_tensor x2 = tens(FLT_F32, 2, (int64_t[]){in->n, in->H * in->hd}, in->x2);
    int x = flt_op_get_rows(g, flt_graph_external(g, te), flt_graph_external(g, &ids));
    int h = flt_op_rms_norm(g, x, flt_graph_external(g, &nw), 1e-5f);
    int q = flt_op_mul_mat(g, flt_graph_external(g, tw), h);
    flt_graph_set_output(g, q);
    int q3 = flt_graph_reshape(g, q, 3, (int64_t[]){in->n, in->H, in->hd});
    int qr = flt_op_rope(g, q3, flt_graph_external(g, &pos), -1, in->hd, 10000.0f, 1.0f);
    int a = flt_op_attention(g, qr, flt_graph_external(g, &kc), flt_graph_external(g, &vc), in->n_past,
                             1.0f / sqrtf((float)in->hd));
    int y = flt_op_add(g, flt_op_swiglu(g, a, flt_graph_external(g, &x2)), a);
    flt_graph_set_output(g, y);
    return y;
}

static void test_ops_vs_oracle(void) {
    block_in in = {.n = 5, .H = 4, .Hkv = 2, .hd = 16, .d = 64, .n_past = 7, .ctx = 16};
    in.m = in.H * in.hd;
    int vocab = 11;
    float emb[11 * 64], norm_w[64], wq[64 * 64], kc[16 * 2 * 16], vc[16 * 2 * 16], x2[5 * 64];
    fill(emb, sizeof emb / 4); fill(norm_w, 64); fill(wq, 64 * 64); fill(kc, sizeof kc / 4);
    fill(vc, sizeof vc / 4); fill(x2, sizeof x2 / 4);
    for (int i = 0; i < 64; i++) norm_w[i] = 1.0f + 0.1f * norm_w[i];
    in.emb = emb; in.norm_w = norm_w; in.wq = wq; in.kc = kc; in.vc = vc; in.x2 = x2;
    for (int t = 0; t < in.n; t++) { in.ids[t] = (t * 7 + 3) % vocab; in.pos[t] = in.n_past + t; }
    double ref[5 * 64], ref_mm[5 * 64];
    oracle(&in, ref, ref_mm);

    /* F32 weights, and the same weights stored as F16/Q8_0 (the oracle then uses
     * the dequantized values, so only kernel error remains). */
    flt_dtype types[] = {FLT_F32, FLT_F16, FLT_BF16, FLT_Q8_0, FLT_Q4_0};
    double tol[] = {1e-4, 1e-4, 1e-4, 2e-2, 1e-1};
    const flt_kernels *sets[8];
    int nsets = flt_kernels_list(sets, 8);
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const flt_dtype_traits *tr = flt_dtype_info(types[ti]);
        size_t eb, wb;
        flt_dtype_row_bytes(types[ti], 64, &eb);
        wb = eb;
        char *qemb = malloc(eb * (size_t)vocab), *qw = malloc(wb * 64);
        float demb[11 * 64], dw[64 * 64];
        for (int r = 0; r < vocab; r++) { tr->from_f32(emb + r * 64, qemb + r * eb, 64); tr->to_f32(qemb + r * eb, demb + r * 64, 64); }
        for (int r = 0; r < 64; r++) { tr->from_f32(wq + r * 64, qw + r * wb, 64); tr->to_f32(qw + r * wb, dw + r * 64, 64); }
        block_in dq = in;
        dq.emb = demb;
        dq.wq = dw;
        oracle(&dq, ref, ref_mm);
        flt_tensor te = tens(types[ti], 2, (int64_t[]){vocab, 64}, qemb);
        flt_tensor tw = tens(types[ti], 2, (int64_t[]){64, 64}, qw);
        for (int si = 0; si < nsets; si++) {
            float first[5 * 64];
            for (int threads = 1; threads <= 3; threads++) {
                flt_graph g;
                flt_graph_init(&g);
                int y = build_block(&g, &in, &te, &tw);
                CHECK(y >= 0 && g.err.status == FLINTRT_OK);
                void *arena = run(&g, threads, sets[si]);
                CHECK(arena != NULL);
                if (!arena) { flt_graph_free(&g); continue; }
                const float *out = g.values[y].t.data;
                double worst = 0;
                for (int i = 0; i < 5 * 64; i++) {
                    double dlt = fabs(out[i] - ref[i]) / (1.0 + fabs(ref[i]));
                    if (dlt > worst) worst = dlt;
                }
                CHECKF(worst <= tol[ti], "%s weights, kernels %s, %d threads: error %.3g", tr->name,
                       sets[si]->name, threads, worst);
                if (threads == 1) memcpy(first, out, sizeof first);
                else CHECKF(!memcmp(first, out, sizeof first), "%s/%s: %d threads differ from 1", tr->name,
                            sets[si]->name, threads);
                free(arena);
                flt_graph_free(&g);
            }
        }
        free(qemb);
        free(qw);
    }
}

static void test_bad_builds(void) {
    flt_graph g;
    flt_graph_init(&g);
    float a[12], b[8];
    flt_tensor ta = tens(FLT_F32, 2, (int64_t[]){3, 4}, a), tb = tens(FLT_F32, 2, (int64_t[]){2, 4}, b);
    int va = flt_graph_external(&g, &ta), vb = flt_graph_external(&g, &tb);
    CHECK(flt_op_add(&g, va, vb) < 0);           /* shape mismatch */
    CHECK(g.err.status != FLINTRT_OK && strstr(g.err.msg, "add"));
    CHECK(flt_op_mul_mat(&g, va, va) < 0);       /* later calls keep failing */
    flt_graph_reset(&g);
    va = flt_graph_external(&g, &ta);
    CHECK(flt_graph_view_rows(&g, va, 2, 5) < 0); /* rows out of range */
    flt_graph_free(&g);
}

/* A custom op: y = reverse(x) per row, staged through its scratch so the test
 * sees that the scratch is planned, bound and private to the node. */
static void rev_run(const flt_graph *g, const flt_node *n, const struct flt_kernels *k, int ith, int nth) {
    (void)k;
    const flt_tensor *x = &g->values[n->src[0]].t, *y = &g->values[n->out].t;
    float *tmp = g->values[n->scratch].t.data;
    int64_t d = flt_tensor_row_len(x);
    const int *scale = n->params;
    long long lo, hi;
    flt_split(flt_tensor_nrows(x), ith, nth, &lo, &hi);
    for (long long r = lo; r < hi; r++) {
        float *t = tmp + r * d;
        for (int64_t i = 0; i < d; i++) t[i] = ((const float *)x->data)[r * d + d - 1 - i];
        for (int64_t i = 0; i < d; i++) ((float *)y->data)[r * d + i] = t[i] * (float)*scale;
    }
}
static const flt_op_desc rev_desc = {"reverse", rev_run};

static void test_custom_op(void) {
    float xin[3 * 5];
    for (int i = 0; i < 15; i++) xin[i] = (float)i;
    int scale = 3;
    for (int threads = 1; threads <= 2; threads++) {
        flt_graph g;
        flt_graph_init(&g);
        flt_tensor x = tens(FLT_F32, 2, (int64_t[]){3, 5}, xin);
        int vx = flt_graph_external(&g, &x);
        int a = flt_op_add(&g, vx, vx);
        int y = flt_graph_custom(&g, &rev_desc, &scale, (int[]){a}, 1, FLT_F32, 2, (int64_t[]){3, 5});
        int sc = flt_graph_node_scratch(&g, 15 * sizeof(float));
        int z = flt_op_add(&g, y, a);
        flt_graph_set_output(&g, z);
        CHECK(sc >= 0 && g.err.status == FLINTRT_OK && g.nodes[1].scratch == sc);
        void *arena = run(&g, threads, flt_kernels_scalar());
        CHECK(arena != NULL);
        if (arena) {
            const float *out = g.values[z].t.data;
            bool ok = true;
            for (int r = 0; r < 3; r++)
                for (int i = 0; i < 5; i++)
                    ok = ok && out[r * 5 + i] == 3.0f * 2.0f * xin[r * 5 + 4 - i] + 2.0f * xin[r * 5 + i];
            CHECK(ok);
        }
        free(arena);
        flt_graph_free(&g);
    }
    flt_graph g;
    flt_graph_init(&g);
    CHECK(flt_graph_custom(&g, NULL, NULL, NULL, 0, FLT_F32, 1, (int64_t[]){1}) < 0);
    flt_graph_free(&g);
}

static void test_pool_split(void) {
    /* flt_split covers [0, n) exactly once for any thread count. */
    for (int nth = 1; nth <= 7; nth++)
        for (long long n = 0; n < 50; n++) {
            long long next = 0;
            bool ok = true;
            for (int i = 0; i < nth; i++) {
                long long lo, hi;
                flt_split(n, i, nth, &lo, &hi);
                ok = ok && lo == next && hi >= lo;
                next = hi;
            }
            CHECK(ok && next == n);
        }
}

int main(void) {
    test_planner_no_overlap();
    test_ops_vs_oracle();
    test_bad_builds();
    test_custom_op();
    test_pool_split();
    return flt_test_finish();
}
