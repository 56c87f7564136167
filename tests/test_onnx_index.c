/* ONNX index/selection/sort operators (src/onnx/ops_index.c, ops_misc.c):
 * - one-node models built here as protobuf bytes, run against references
 *   written here (sequential, in input order) with 1 and 3 threads and with
 *   and without eager evaluation: identical bits every way. Covers scatters
 *   with duplicate indices and reductions, GatherND batch_dims, TopK ties and
 *   NaN, Unique unsorted, CumSum exclusive+reverse with integer wraparound,
 *   indices computed by another node (the framework's run-then-infer path);
 * - hostile values and attributes: every out-of-range index, length or size is
 *   a clear error (never a stray access: the ASan build runs this too). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "onnx/exec.h"
#include "onnx/model.h"
#include "onnx_test_util.h"

/* ---- one-node models (protobuf writer in onnx_test_util.h) ---- */

enum { A_NONE, A_INT, A_FLOAT, A_STRING };
typedef struct attr { const char *name; int kind; int64_t i; float f; const char *s; } attr;
typedef struct node { const char *op; const char *in[4]; const char *out[4]; attr at[3]; } node;
typedef struct io { const char *name; int type; } io;
#define AI(n, v) {.name = (n), .kind = A_INT, .i = (v)}
#define AS(n, v) {.name = (n), .kind = A_STRING, .s = (v)}

/* Graph inputs/outputs are declared with their element type only (any shape binds). */
static void value_info(pbw *g, unsigned f, const io *v) { pb_value_info(g, f, v->name, v->type, -1, NULL); }

/* The model is returned by value (64 KiB): the tests keep it on their stack. */
static pbw build(int opset, const node *nodes, int nn, const io *ins, int ni, const io *outs, int no) {
    pbw g = {.n = 0}, m;
    for (int k = 0; k < nn; k++) {
        pbw nd = {.n = 0};
        for (int i = 0; i < 4 && nodes[k].in[i]; i++) sfield(&nd, 1, nodes[k].in[i]);
        for (int i = 0; i < 4 && nodes[k].out[i]; i++) sfield(&nd, 2, nodes[k].out[i]);
        sfield(&nd, 4, nodes[k].op);
        for (int i = 0; i < 3 && nodes[k].at[i].name; i++) {
            const attr *a = &nodes[k].at[i];
            if (a->kind == A_INT) pb_attr_i(&nd, a->name, a->i);
            if (a->kind == A_FLOAT) pb_attr_f(&nd, a->name, a->f);
            if (a->kind == A_STRING) pb_attr_s(&nd, a->name, a->s);
        }
        mfield(&g, 1, &nd);
    }
    sfield(&g, 2, "g");
    for (int i = 0; i < ni; i++) value_info(&g, 11, &ins[i]);
    for (int i = 0; i < no; i++) value_info(&g, 12, &outs[i]);
    pb_model(&m, opset, &g);
    return m;
}

/* One bound input. */
typedef struct arg { flt_dtype dt; int ndim; int64_t dims[4]; const void *data; } arg;

typedef struct result {
    flintrt_status load_st, st;
    char msg[512];
    int n_out;
    flt_onnx_tinfo ti[4];
    void *data[4];
    size_t bytes[4];
} result;

static void result_free(result *r) {
    for (int i = 0; i < 4; i++) free(r->data[i]);
    memset(r, 0, sizeof *r);
}

/* Load m, bind args to the graph inputs in order, run; outputs copied into r. */
static void run_model(const pbw *m, int threads, size_t eager, const arg *args, int na, int n_out, result *r) {
    memset(r, 0, sizeof *r);
    flt_err e;
    flt_err_clear(&e);
    flt_onnx_model *model = NULL;
    flt_onnx_session *s = NULL;
    r->load_st = flt_onnx_load_memory(m->b, m->n, NULL, &model, &e);
    if (!r->load_st) r->load_st = flt_onnx_session_new(model, threads, &s, &e);
    r->st = r->load_st;
    if (!r->st) {
        flt_onnx_session_set_eager(s, eager);
        for (int i = 0; i < na && !r->st; i++) {
            flt_onnx_tinfo t = {.dtype = args[i].dt, .ndim = args[i].ndim};
            memcpy(t.dims, args[i].dims, sizeof args[i].dims);
            r->st = flt_onnx_session_bind(s, flt_onnx_session_input_id(model, i), &t, args[i].data, &e);
        }
        if (!r->st) r->st = flt_onnx_session_run(s, &e);
    }
    if (r->st) snprintf(r->msg, sizeof r->msg, "%s", e.msg);
    for (int i = 0; !r->st && i < n_out; i++) {
        const flt_onnx_tinfo *t;
        const void *d;
        flt_onnx_session_output(s, i, &t, &d);
        if (!t || !flt_onnx_tinfo_bytes(t, &r->bytes[i])) { r->st = FLINTRT_ERR_INTERNAL; break; }
        r->ti[i] = *t;
        r->data[i] = malloc(r->bytes[i] ? r->bytes[i] : 1);
        if (r->bytes[i]) memcpy(r->data[i], d, r->bytes[i]);
        r->n_out = i + 1;
    }
    flt_onnx_session_free(s);
    flt_onnx_free(model);
}

/* Runs 4 ways (1/3 threads x eager/segments); checks all agree bit for bit; r = the first. */
static bool run4(const pbw *m, const arg *args, int na, int n_out, result *r) {
    run_model(m, 1, (size_t)64 << 10, args, na, n_out, r);
    if (r->st) { fprintf(stderr, "run failed: %s\n", r->msg); return false; }
    const int th[3] = {3, 1, 3};
    const size_t eg[3] = {(size_t)64 << 10, 0, 0};
    for (int k = 0; k < 3; k++) {
        result o;
        run_model(m, th[k], eg[k], args, na, n_out, &o);
        bool same = !o.st && o.n_out == r->n_out;
        for (int i = 0; same && i < n_out; i++)
            same = o.bytes[i] == r->bytes[i] && !memcmp(o.data[i], r->data[i], r->bytes[i]);
        result_free(&o);
        if (!same) { fprintf(stderr, "threads %d eager %zu differ\n", th[k], eg[k]); return false; }
    }
    return true;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static int64_t rnd(int64_t lo, int64_t hi) { /* [lo, hi) */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return lo + (int64_t)(rng % (uint64_t)(hi - lo));
}

/* ---- value tests ---- */

static void test_scatter_elements(void) {
    /* data [7, 33], indices/updates [5, 40] along axis 1 with many duplicates; values are
     * multiples of 1/4 so every sum is exact and order is the only thing that matters */
    enum { R = 7, C = 33, IR = 5, IC = 40 };
    static float data[R * C], upd[IR * IC], want[R * C];
    static int64_t idx[IR * IC];
    for (int i = 0; i < R * C; i++) data[i] = (float)rnd(-40, 40) * 0.25f;
    for (int i = 0; i < IR * IC; i++) { upd[i] = (float)rnd(-40, 40) * 0.25f; idx[i] = rnd(-C, C); }
    const char *red[2] = {"none", "add"};
    for (int rk = 0; rk < 2; rk++) {
        memcpy(want, data, sizeof want);
        for (int i = 0; i < IR; i++)
            for (int j = 0; j < IC; j++) {
                int64_t c = idx[i * IC + j] < 0 ? idx[i * IC + j] + C : idx[i * IC + j];
                float *w = &want[i * C + c];
                *w = rk ? *w + upd[i * IC + j] : upd[i * IC + j];
            }
        node n = {.op = "ScatterElements", .in = {"d", "i", "u"}, .out = {"y"}, .at = {AI("axis", 1), AS("reduction", red[rk])}};
        io ins[3] = {{"d", 1}, {"i", 7}, {"u", 1}}, outs[1] = {{"y", 1}};
        pbw m = build(16, &n, 1, ins, 3, outs, 1);
        arg a[3] = {{FLT_F32, 2, {R, C}, data}, {FLT_I64, 2, {IR, IC}, idx}, {FLT_F32, 2, {IR, IC}, upd}};
        result r;
        CHECKF(run4(&m, a, 3, 1, &r), "reduction %s", red[rk]);
        CHECKF(!r.st && r.bytes[0] == sizeof want && !memcmp(r.data[0], want, sizeof want), "reduction %s", red[rk]);
        result_free(&r);
    }
}

static void test_scatternd_mul(void) {
    /* int32 data [6, 5]; 9 row updates (duplicates multiply in order, wrapping) */
    int32_t data[30], upd[45], want[30];
    int64_t idx[9];
    for (int i = 0; i < 30; i++) data[i] = (int32_t)rnd(-100000, 100000);
    for (int i = 0; i < 45; i++) upd[i] = (int32_t)rnd(-70000, 70000);
    for (int i = 0; i < 9; i++) idx[i] = rnd(-6, 6);
    memcpy(want, data, sizeof want);
    for (int t = 0; t < 9; t++) {
        int64_t row = idx[t] < 0 ? idx[t] + 6 : idx[t];
        for (int j = 0; j < 5; j++)
            want[row * 5 + j] = (int32_t)((uint32_t)want[row * 5 + j] * (uint32_t)upd[t * 5 + j]);
    }
    node n = {.op = "ScatterND", .in = {"d", "i", "u"}, .out = {"y"}, .at = {AS("reduction", "mul")}};
    io ins[3] = {{"d", 6}, {"i", 7}, {"u", 6}}, outs[1] = {{"y", 6}};
    pbw m = build(16, &n, 1, ins, 3, outs, 1);
    arg a[3] = {{FLT_I32, 2, {6, 5}, data}, {FLT_I64, 2, {9, 1}, idx}, {FLT_I32, 2, {9, 5}, upd}};
    result r;
    CHECK(run4(&m, a, 3, 1, &r));
    CHECK(!r.st && r.bytes[0] == sizeof want && !memcmp(r.data[0], want, sizeof want));
    result_free(&r);
}

static void test_gathernd_batch(void) {
    /* data [3, 4, 5], indices [3, 2, 2] with batch_dims 1: out [3, 2] = data[b, i0, i1] */
    float data[60], want[6];
    int32_t idx[12];
    for (int i = 0; i < 60; i++) data[i] = (float)i * 1.5f - 7.0f;
    for (int t = 0; t < 6; t++) { idx[2 * t] = (int32_t)rnd(-4, 4); idx[2 * t + 1] = (int32_t)rnd(-5, 5); }
    for (int t = 0; t < 6; t++) {
        int b = t / 2, i0 = idx[2 * t] < 0 ? idx[2 * t] + 4 : idx[2 * t], i1 = idx[2 * t + 1] < 0 ? idx[2 * t + 1] + 5 : idx[2 * t + 1];
        want[t] = data[b * 20 + i0 * 5 + i1];
    }
    node n = {.op = "GatherND", .in = {"d", "i"}, .out = {"y"}, .at = {AI("batch_dims", 1)}};
    io ins[2] = {{"d", 1}, {"i", 6}}, outs[1] = {{"y", 1}};
    pbw m = build(13, &n, 1, ins, 2, outs, 1);
    arg a[2] = {{FLT_F32, 3, {3, 4, 5}, data}, {FLT_I32, 3, {3, 2, 2}, idx}};
    result r;
    CHECK(run4(&m, a, 2, 1, &r));
    CHECK(!r.st && r.ti[0].ndim == 2 && r.ti[0].dims[0] == 3 && r.ti[0].dims[1] == 2 && !memcmp(r.data[0], want, sizeof want));
    result_free(&r);
}

/* a before b in TopK order: NaN above every number, ties by lower position */
static bool ref_before(float a, int ia, float b, int ib, bool largest) {
    bool na = a != a, nb = b != b;
    int c = na || nb ? (na == nb ? 0 : na ? 1 : -1) : a < b ? -1 : a > b ? 1 : 0;
    if (c) return largest ? c > 0 : c < 0;
    return ia < ib;
}

static void test_topk_ties(void) {
    enum { ROWS = 4, N = 300, K = 37 };
    static float x[ROWS * N];
    const float pool[4] = {-1.0f, 0.0f, 2.0f, NAN};
    for (int i = 0; i < ROWS * N; i++) x[i] = pool[rnd(0, 4)];
    int64_t k = K;
    for (int largest = 0; largest < 2; largest++) {
        node n = {.op = "TopK", .in = {"x", "k"}, .out = {"v", "i"}, .at = {AI("largest", largest), AI("axis", -1)}};
        io ins[2] = {{"x", 1}, {"k", 7}}, outs[2] = {{"v", 1}, {"i", 7}};
        pbw m = build(11, &n, 1, ins, 2, outs, 2);
        arg a[2] = {{FLT_F32, 2, {ROWS, N}, x}, {FLT_I64, 1, {1}, &k}};
        result r;
        CHECK(run4(&m, a, 2, 2, &r));
        bool ok = !r.st && r.ti[0].dims[1] == K && r.ti[1].dtype == FLT_I64;
        for (int row = 0; ok && row < ROWS; row++) {
            /* reference: insertion sort of all positions (stable, by the total order) */
            int ord[N];
            for (int j = 0; j < N; j++) {
                int p = j;
                while (p > 0 && ref_before(x[row * N + j], j, x[row * N + ord[p - 1]], ord[p - 1], largest)) { ord[p] = ord[p - 1]; p--; }
                ord[p] = j;
            }
            const float *v = r.data[0];
            const int64_t *ix = r.data[1];
            for (int j = 0; ok && j < K; j++) {
                float want = x[row * N + ord[j]];
                ok = ix[row * K + j] == ord[j] && !memcmp(&v[row * K + j], &want, 4);
            }
        }
        CHECKF(ok, "largest %d", largest);
        result_free(&r);
    }
}

static void test_unique_unsorted(void) {
    enum { N = 200 };
    int64_t x[N];
    for (int i = 0; i < N; i++) x[i] = rnd(-15, 15) * 1000000007LL;
    int64_t y[N], first[N], inv[N], cnt[N];
    int u = 0;
    for (int i = 0; i < N; i++) {
        int g = 0;
        while (g < u && y[g] != x[i]) g++;
        if (g == u) { y[u] = x[i]; first[u] = i; cnt[u] = 0; u++; }
        cnt[g]++;
        inv[i] = g;
    }
    node n = {.op = "Unique", .in = {"x"}, .out = {"y", "idx", "inv", "cnt"}, .at = {AI("sorted", 0)}};
    io ins[1] = {{"x", 7}}, outs[4] = {{"y", 7}, {"idx", 7}, {"inv", 7}, {"cnt", 7}};
    pbw m = build(11, &n, 1, ins, 1, outs, 4);
    arg a[1] = {{FLT_I64, 2, {10, 20}, x}};
    result r;
    CHECK(run4(&m, a, 1, 4, &r));
    CHECK(!r.st && r.ti[0].dims[0] == u && !memcmp(r.data[0], y, (size_t)u * 8) && !memcmp(r.data[1], first, (size_t)u * 8) &&
          !memcmp(r.data[2], inv, sizeof inv) && !memcmp(r.data[3], cnt, (size_t)u * 8));
    result_free(&r);
}

static void test_cumsum_wrap(void) {
    /* int64 [3, 50] along axis 1, exclusive + reverse, values near the int64 limits */
    enum { R = 3, C = 50 };
    int64_t x[R * C], want[R * C], axis = -1;
    for (int i = 0; i < R * C; i++) x[i] = rnd(-3, 4) * (INT64_MAX / 3);
    for (int r = 0; r < R; r++) {
        uint64_t acc = 0;
        for (int c = C - 1; c >= 0; c--) { want[r * C + c] = (int64_t)acc; acc += (uint64_t)x[r * C + c]; }
    }
    node n = {.op = "CumSum", .in = {"x", "a"}, .out = {"y"}, .at = {AI("exclusive", 1), AI("reverse", 1)}};
    io ins[2] = {{"x", 7}, {"a", 7}}, outs[1] = {{"y", 7}};
    pbw m = build(14, &n, 1, ins, 2, outs, 1);
    arg a[2] = {{FLT_I64, 2, {R, C}, x}, {FLT_I64, 0, {0}, &axis}};
    result r;
    CHECK(run4(&m, a, 2, 1, &r));
    CHECK(!r.st && !memcmp(r.data[0], want, sizeof want));
    result_free(&r);
}

/* Indices computed by a node: infer must get them from the run, then check them. */
static void test_computed_indices(void) {
    float data[8] = {1, 2, 3, 4, 5, 6, 7, 8}, upd[3] = {-1, -2, -3};
    int64_t idx[3] = {7, -8, 2}, zero[3] = {0, 0, 0}, bad[3] = {1, 8, 0};
    node nodes[2] = {{.op = "Add", .in = {"i0", "z"}, .out = {"i"}}, {.op = "ScatterElements", .in = {"d", "i", "u"}, .out = {"y"}}};
    io ins[4] = {{"d", 1}, {"i0", 7}, {"z", 7}, {"u", 1}}, outs[1] = {{"y", 1}};
    pbw m = build(13, nodes, 2, ins, 4, outs, 1);
    arg a[4] = {{FLT_F32, 1, {8}, data}, {FLT_I64, 1, {3}, idx}, {FLT_I64, 1, {3}, zero}, {FLT_F32, 1, {3}, upd}};
    result r;
    CHECK(run4(&m, a, 4, 1, &r));
    const float want[8] = {-2, 2, -3, 4, 5, 6, 7, -1};
    CHECK(!r.st && !memcmp(r.data[0], want, sizeof want));
    result_free(&r);
    a[1].data = bad;
    for (size_t eager = 0; eager <= 1; eager++) {
        run_model(&m, 2, eager ? (size_t)64 << 10 : 0, a, 4, 1, &r);
        CHECKF(r.st == FLINTRT_ERR_INVALID_ARGUMENT && strstr(r.msg, "index 8") && strstr(r.msg, "outside"), "%s", r.msg);
        result_free(&r);
    }
}

/* Empty tensors and scalars reach the kernels: shapes come out right, nothing is touched. */
static void check_shape(const char *what, const node *n, int opset, const io *ins, int ni, const arg *a, int na, int out,
                        int ndim, int64_t d0, int64_t d1) {
    io outs[4] = {{"y", 1}, {"y1", 7}, {"y2", 7}, {"y3", 7}};
    int no = 0;
    while (no < 4 && n->out[no]) no++;
    for (int i = 0; i < no; i++) outs[i].name = n->out[i];
    pbw m = build(opset, n, 1, ins, ni, outs, no);
    result r;
    bool ok = run4(&m, a, na, no, &r);
    ok = ok && r.ti[out].ndim == ndim && (ndim < 1 || r.ti[out].dims[0] == d0) && (ndim < 2 || r.ti[out].dims[1] == d1);
    CHECKF(ok, "%s: %s", what, r.msg);
    if (ok && !strcmp(what, "NonZero scalar")) CHECK(((const int64_t *)r.data[0])[0] == 0);
    result_free(&r);
}

static void test_empty(void) {
    float f[12] = {0}, three = 3.0f;
    int64_t zero = 0, five = 5, reps[2] = {0, 2}, none[1] = {0};
    uint8_t no_cond[1] = {0};
    io f_i[2] = {{"d", 1}, {"i", 7}}, f1[1] = {{"d", 1}};
    node tk = {.op = "TopK", .in = {"d", "i"}, .out = {"v", "ix"}};
    arg a_tk[2] = {{FLT_F32, 2, {2, 0}, f}, {FLT_I64, 1, {1}, &zero}};
    check_shape("TopK empty", &tk, 11, f_i, 2, a_tk, 2, 1, 2, 2, 0);
    node un = {.op = "Unique", .in = {"d"}, .out = {"y", "ix", "inv", "cnt"}};
    arg a_un[1] = {{FLT_F32, 1, {0}, f}};
    check_shape("Unique empty", &un, 11, f1, 1, a_un, 1, 2, 1, 0, 0);
    node nz = {.op = "NonZero", .in = {"d"}, .out = {"y"}};
    arg a_nz[1] = {{FLT_F32, 0, {0}, &three}};
    check_shape("NonZero scalar", &nz, 13, f1, 1, a_nz, 1, 0, 2, 1, 1);
    a_nz[0] = (arg){FLT_F32, 2, {2, 3}, f};
    check_shape("NonZero zeros", &nz, 13, f1, 1, a_nz, 1, 0, 2, 2, 0);
    node tile = {.op = "Tile", .in = {"d", "i"}, .out = {"y"}};
    arg a_tile[2] = {{FLT_F32, 2, {2, 3}, f}, {FLT_I64, 1, {2}, reps}};
    check_shape("Tile zero", &tile, 13, f_i, 2, a_tile, 2, 0, 2, 0, 6);
    node rg = {.op = "Range", .in = {"a", "b", "c"}, .out = {"y"}};
    io i3[3] = {{"a", 7}, {"b", 7}, {"c", 7}};
    arg a_rg[3] = {{FLT_I64, 0, {0}, &five}, {FLT_I64, 0, {0}, &five}, {FLT_I64, 0, {0}, &five}};
    check_shape("Range empty", &rg, 11, i3, 3, a_rg, 3, 0, 1, 0, 0);
    node gnd = {.op = "GatherND", .in = {"d", "i"}, .out = {"y"}};
    arg a_gnd[2] = {{FLT_F32, 2, {3, 4}, f}, {FLT_I64, 2, {0, 1}, none}};
    check_shape("GatherND no tuples", &gnd, 13, f_i, 2, a_gnd, 2, 0, 2, 0, 4);
    node cp = {.op = "Compress", .in = {"d", "i"}, .out = {"y"}, .at = {AI("axis", 0)}};
    io f_b[2] = {{"d", 1}, {"i", 9}};
    arg a_cp[2] = {{FLT_F32, 2, {3, 4}, f}, {FLT_BOOL, 1, {1}, no_cond}};
    check_shape("Compress none", &cp, 11, f_b, 2, a_cp, 2, 0, 2, 0, 4);
    node cs = {.op = "CumSum", .in = {"d", "i"}, .out = {"y"}};
    arg a_cs[2] = {{FLT_F32, 2, {0, 3}, f}, {FLT_I64, 0, {0}, &zero}};
    check_shape("CumSum empty", &cs, 14, f_i, 2, a_cs, 2, 0, 2, 0, 3);
}

/* ---- hostile values and attributes ---- */

static void expect_fail(const char *what, int opset, const node *n, const io *ins, int ni, const arg *a, int na,
                        flintrt_status want, const char *needle) {
    io outs[2] = {{"y", 1}, {"y2", 7}};
    int no = 0;
    while (no < 2 && n->out[no]) no++;
    pbw m = build(opset, n, 1, ins, ni, outs, no);
    result r;
    run_model(&m, 2, (size_t)64 << 10, a, na, no, &r);
    CHECKF(r.st == want && strstr(r.msg, needle), "%s: status %d, '%s'", what, (int)r.st, r.msg);
    result_free(&r);
}

static void test_hostile(void) {
    float d12[12] = {0}, u4[4] = {0};
    int64_t i_big[2] = {0, 3}, i_neg[2] = {-4, 0}, four = 4, minus = -1, zero = 0;
    io f_i[2] = {{"d", 1}, {"i", 7}}, f_i_f[3] = {{"d", 1}, {"i", 7}, {"u", 1}};

    node gnd = {.op = "GatherND", .in = {"d", "i"}, .out = {"y"}};
    arg a_gnd[2] = {{FLT_F32, 2, {3, 4}, d12}, {FLT_I64, 2, {2, 1}, i_big}};
    expect_fail("GatherND index", 13, &gnd, f_i, 2, a_gnd, 2, FLINTRT_ERR_INVALID_ARGUMENT, "index 3 at position 1");
    a_gnd[1].data = i_neg;
    expect_fail("GatherND negative index", 13, &gnd, f_i, 2, a_gnd, 2, FLINTRT_ERR_INVALID_ARGUMENT, "index -4");
    node gnd_b = {.op = "GatherND", .in = {"d", "i"}, .out = {"y"}, .at = {AI("batch_dims", 2)}};
    expect_fail("GatherND batch_dims", 13, &gnd_b, f_i, 2, a_gnd, 2, FLINTRT_ERR_FORMAT, "batch_dims");

    node snd = {.op = "ScatterND", .in = {"d", "i", "u"}, .out = {"y"}};
    arg a_snd[3] = {{FLT_F32, 2, {3, 4}, d12}, {FLT_I64, 2, {1, 2}, i_neg}, {FLT_F32, 1, {4}, u4}};
    expect_fail("ScatterND updates shape", 13, &snd, f_i_f, 3, a_snd, 3, FLINTRT_ERR_FORMAT, "updates shape");

    node se = {.op = "ScatterElements", .in = {"d", "i", "u"}, .out = {"y"}, .at = {AI("axis", 0)}};
    arg a_se[3] = {{FLT_F32, 2, {3, 4}, d12}, {FLT_I64, 2, {1, 2}, i_big}, {FLT_F32, 2, {1, 2}, u4}};
    expect_fail("ScatterElements index", 13, &se, f_i_f, 3, a_se, 3, FLINTRT_ERR_INVALID_ARGUMENT, "index 3 at position 1");
    node se_ax = {.op = "ScatterElements", .in = {"d", "i", "u"}, .out = {"y"}, .at = {AI("axis", 2)}};
    expect_fail("ScatterElements axis", 13, &se_ax, f_i_f, 3, a_se, 3, FLINTRT_ERR_FORMAT, "axis 2");
    node se_red = {.op = "ScatterElements", .in = {"d", "i", "u"}, .out = {"y"}, .at = {AS("reduction", "max")}};
    expect_fail("ScatterElements max at 16", 16, &se_red, f_i_f, 3, a_se, 3, FLINTRT_ERR_FORMAT, "reduction 'max'");
    node se_red13 = {.op = "ScatterElements", .in = {"d", "i", "u"}, .out = {"y"}, .at = {AS("reduction", "add")}};
    expect_fail("ScatterElements reduction at 13", 13, &se_red13, f_i_f, 3, a_se, 3, FLINTRT_ERR_FORMAT, "needs opset 16");

    node rs = {.op = "ReverseSequence", .in = {"d", "i"}, .out = {"y"}, .at = {AI("batch_axis", 0), AI("time_axis", 1)}};
    int64_t lens[3] = {4, 5, 0};
    arg a_rs[2] = {{FLT_F32, 2, {3, 4}, d12}, {FLT_I64, 1, {3}, lens}};
    expect_fail("ReverseSequence length", 10, &rs, f_i, 2, a_rs, 2, FLINTRT_ERR_INVALID_ARGUMENT, "sequence_lens[1] = 5");
    node rs_ax = {.op = "ReverseSequence", .in = {"d", "i"}, .out = {"y"}, .at = {AI("batch_axis", 2)}};
    expect_fail("ReverseSequence axes", 10, &rs_ax, f_i, 2, a_rs, 2, FLINTRT_ERR_FORMAT, "batch_axis");

    node tk = {.op = "TopK", .in = {"d", "i"}, .out = {"y", "y2"}};
    arg a_tk[2] = {{FLT_F32, 2, {3, 4}, d12}, {FLT_I64, 1, {1}, &four}};
    four = 5;
    expect_fail("TopK k", 11, &tk, f_i, 2, a_tk, 2, FLINTRT_ERR_INVALID_ARGUMENT, "k = 5");
    a_tk[1].data = &minus;
    expect_fail("TopK negative k", 11, &tk, f_i, 2, a_tk, 2, FLINTRT_ERR_INVALID_ARGUMENT, "k = -1");

    node tile = {.op = "Tile", .in = {"d", "i"}, .out = {"y"}};
    int64_t reps[2] = {2, -1};
    arg a_tile[2] = {{FLT_F32, 2, {3, 4}, d12}, {FLT_I64, 1, {2}, reps}};
    expect_fail("Tile negative", 13, &tile, f_i, 2, a_tile, 2, FLINTRT_ERR_FORMAT, "negative");
    int64_t huge[2] = {INT64_MAX / 2, 3};
    a_tile[1].data = huge;
    expect_fail("Tile overflow", 13, &tile, f_i, 2, a_tile, 2, FLINTRT_ERR_LIMIT, "too large");

    node oh = {.op = "OneHot", .in = {"d", "i", "u"}, .out = {"y"}};
    arg a_oh[3] = {{FLT_F32, 1, {3}, d12}, {FLT_I64, 0, {0}, &minus}, {FLT_F32, 1, {2}, u4}};
    expect_fail("OneHot depth", 11, &oh, f_i_f, 3, a_oh, 3, FLINTRT_ERR_INVALID_ARGUMENT, "depth");

    node cp = {.op = "Compress", .in = {"d", "i"}, .out = {"y"}, .at = {AI("axis", 0)}};
    uint8_t cond[5] = {1, 0, 1, 1, 0};
    io f_b[2] = {{"d", 1}, {"i", 9}};
    arg a_cp[2] = {{FLT_F32, 2, {3, 4}, d12}, {FLT_BOOL, 1, {5}, cond}};
    expect_fail("Compress condition", 11, &cp, f_b, 2, a_cp, 2, FLINTRT_ERR_INVALID_ARGUMENT, "condition has 5");

    node rg = {.op = "Range", .in = {"d", "i", "u"}, .out = {"y"}};
    io i3[3] = {{"d", 7}, {"i", 7}, {"u", 7}};
    int64_t lim = INT64_MAX;
    arg a_rg[3] = {{FLT_I64, 0, {0}, &zero}, {FLT_I64, 0, {0}, &lim}, {FLT_I64, 0, {0}, &zero}};
    expect_fail("Range delta 0", 11, &rg, i3, 3, a_rg, 3, FLINTRT_ERR_INVALID_ARGUMENT, "delta");
    int64_t one = 1;
    a_rg[2].data = &one;
    expect_fail("Range too long", 11, &rg, i3, 3, a_rg, 3, FLINTRT_ERR_LIMIT, "too large");

    node tr = {.op = "Trilu", .in = {"d"}, .out = {"y"}};
    io f1[1] = {{"d", 1}};
    arg a_tr[1] = {{FLT_F32, 1, {12}, d12}};
    expect_fail("Trilu rank", 14, &tr, f1, 1, a_tr, 1, FLINTRT_ERR_FORMAT, "rank");
}

int main(void) {
    test_scatter_elements();
    test_scatternd_mul();
    test_gathernd_batch();
    test_topk_ties();
    test_unique_unsorted();
    test_cumsum_wrap();
    test_computed_indices();
    test_empty();
    test_hostile();
    return flt_test_finish();
}
