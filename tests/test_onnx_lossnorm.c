/* The loss, layer-norm and linear-algebra operator families (ops_loss.c,
 * ops_layernorm.c, ops_linalg.c), as one-node models written here in protobuf:
 * - results against references computed in this file (matmul, diagonal and
 *   implicit-transpose Einsum; Det by cofactor expansion; LayerNormalization
 *   statistics; a weighted NLL mean with ignore_index; GatherElements);
 * - 1 and 3 threads give identical bits;
 * - hostile models: bad equations, targets and indices out of range, axes out
 *   of range, non-square Det, shapes that do not broadcast, a Dropout ratio
 *   outside [0, 1) — each refused with a clear error at load or run. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "flintrt.h"
#include "harness.h"
#include "onnx/exec.h"
#include "onnx/model.h"
#include "onnx_test_util.h"

/* a graph input/output with only an element type (any shape) */
static void value_info(pbw *g, unsigned field, const char *name, int elem) {
    pb_value_info(g, field, name, elem, -1, NULL);
}

enum { E_F32 = 1, E_I64 = 7, E_BOOL = 9, E_F64 = 11 };

typedef struct io {
    const char *name;
    int elem;
    flt_onnx_tinfo t;   /* inputs: shape; outputs: filled after the run */
    const void *data;   /* inputs: the values; outputs: borrowed from the session */
} io;

/* one node `op` (attributes already in *node) reading ins, writing outs */
static void build(pbw *model, const char *op, int opset, pbw *node, io *ins, int nin, io *outs, int nout) {
    static pbw g;
    g.n = 0;
    for (int i = 0; i < nin; i++) sfield(node, 1, ins[i].name);
    for (int i = 0; i < nout; i++) sfield(node, 2, outs[i].name);
    sfield(node, 4, op);
    mfield(&g, 1, node);
    sfield(&g, 2, "g");
    for (int i = 0; i < nin; i++)
        if (ins[i].name[0]) value_info(&g, 11, ins[i].name, ins[i].elem);
    for (int i = 0; i < nout; i++) value_info(&g, 12, outs[i].name, outs[i].elem);
    pb_model(model, opset, &g);
}

typedef struct runner {
    flt_onnx_model *m;
    flt_onnx_session *s;
    flt_err e;
} runner;

/* load (status of the load returned if it fails), bind every named input, run */
static flintrt_status run(runner *r, const pbw *model, int threads, io *ins, int nin, io *outs, int nout) {
    r->m = NULL;
    r->s = NULL;
    flt_err_clear(&r->e);
    flintrt_status st = flt_onnx_load_memory(model->b, model->n, NULL, &r->m, &r->e);
    if (!st) st = flt_onnx_check_ops(r->m, &r->e);
    if (!st) st = flt_onnx_session_new(r->m, threads, &r->s, &r->e);
    int k = 0;
    for (int i = 0; !st && i < nin; i++) {
        if (!ins[i].name[0]) continue;
        st = flt_onnx_session_bind(r->s, flt_onnx_session_input_id(r->m, k++), &ins[i].t, ins[i].data, &r->e);
    }
    if (!st) st = flt_onnx_session_run(r->s, &r->e);
    for (int i = 0; !st && i < nout; i++) {
        const flt_onnx_tinfo *t;
        flt_onnx_session_output(r->s, i, &t, &outs[i].data);
        outs[i].t = *t;
    }
    return st;
}

static void done(runner *r) {
    flt_onnx_session_free(r->s);
    flt_onnx_free(r->m);
}

static flt_onnx_tinfo ti(flt_dtype d, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    flt_onnx_tinfo t = {.dtype = d, .ndim = ndim, .dims = {d0, d1, d2}};
    return t;
}

static bool close_to(double got, double want, double tol) { return fabs(got - want) <= tol * (1 + fabs(want)); }

/* ---- Einsum ---- */

static void test_einsum(void) {
    pbw model, node;
    runner r;
    float a[2 * 3 * 4], b[2 * 4 * 5];
    for (int i = 0; i < 24; i++) a[i] = (float)((i * 7) % 11) * 0.25f - 1.0f;
    for (int i = 0; i < 40; i++) b[i] = (float)((i * 5) % 13) * 0.125f - 0.5f;
    /* batched matmul with spaces in the equation, 1 and 3 threads */
    float first[2 * 3 * 5];
    for (int t = 1; t <= 3; t += 2) {
        io ins[2] = {{"a", E_F32, ti(FLT_F32, 3, 2, 3, 4), a}, {"b", E_F32, ti(FLT_F32, 3, 2, 4, 5), b}};
        io outs[1] = {{"y", E_F32, {0}, NULL}};
        node.n = 0;
        pb_attr_s(&node, "equation", "bij, bjk -> bik");
        build(&model, "Einsum", 12, &node, ins, 2, outs, 1);
        flintrt_status st = run(&r, &model, t, ins, 2, outs, 1);
        CHECKF(st == FLINTRT_OK, "%s", r.e.msg);
        bool ok = !st && outs[0].t.ndim == 3 && outs[0].t.dims[0] == 2 && outs[0].t.dims[1] == 3 && outs[0].t.dims[2] == 5;
        for (int bb = 0; ok && bb < 2; bb++)
            for (int i = 0; ok && i < 3; i++)
                for (int k = 0; ok && k < 5; k++) {
                    double want = 0;
                    for (int j = 0; j < 4; j++) want += (double)a[bb * 12 + i * 4 + j] * b[bb * 20 + j * 5 + k];
                    ok = close_to(((const float *)outs[0].data)[bb * 15 + i * 5 + k], want, 1e-6);
                }
        CHECK(ok);
        if (ok && t == 1) memcpy(first, outs[0].data, sizeof first);
        if (ok && t == 3) CHECK(!memcmp(first, outs[0].data, sizeof first));
        done(&r);
    }
    /* diagonal under an ellipsis, summed: "...ii->..." would be a trace; here the batch diagonal */
    double x[2 * 3 * 3];
    for (int i = 0; i < 18; i++) x[i] = i * 1.5 - 4;
    {
        io ins[1] = {{"x", E_F64, ti(FLT_F64, 3, 2, 3, 3), x}};
        io outs[1] = {{"y", E_F64, {0}, NULL}};
        node.n = 0;
        pb_attr_s(&node, "equation", "...ii->...i");
        build(&model, "Einsum", 12, &node, ins, 1, outs, 1);
        CHECKF(run(&r, &model, 2, ins, 1, outs, 1) == FLINTRT_OK, "%s", r.e.msg);
        bool ok = outs[0].data && outs[0].t.ndim == 2 && outs[0].t.dims[0] == 2 && outs[0].t.dims[1] == 3;
        for (int bb = 0; ok && bb < 2; bb++)
            for (int i = 0; ok && i < 3; i++) ok = ((const double *)outs[0].data)[bb * 3 + i] == x[bb * 9 + i * 3 + i];
        CHECK(ok);
        done(&r);
    }
    /* implicit output: "ji" keeps labels in alphabetical order, so it transposes */
    {
        io ins[1] = {{"x", E_F32, ti(FLT_F32, 2, 3, 4, 0), a}};
        io outs[1] = {{"y", E_F32, {0}, NULL}};
        node.n = 0;
        pb_attr_s(&node, "equation", "ji");
        build(&model, "Einsum", 12, &node, ins, 1, outs, 1);
        CHECKF(run(&r, &model, 2, ins, 1, outs, 1) == FLINTRT_OK, "%s", r.e.msg);
        bool ok = outs[0].data && outs[0].t.ndim == 2 && outs[0].t.dims[0] == 4 && outs[0].t.dims[1] == 3;
        for (int i = 0; ok && i < 4; i++)
            for (int j = 0; ok && j < 3; j++) ok = ((const float *)outs[0].data)[i * 3 + j] == a[j * 4 + i];
        CHECK(ok);
        done(&r);
    }
    /* hostile equations: refused at load, or at run when they contradict the shapes */
    static const struct { const char *eq; bool at_load; const char *msg; } bad[] = {
        {"ij,jk$ik", true, "not a label"},   {"i..j->ij", true, "stray"},     {"ij->ii", true, "repeated"},
        {"ij,jk,kl->il", true, "operands"},  {"ij->ik", false, "not in any input"}, {"ijk->i", false, "rank"},
        {"ii->i", false, "sizes"},           {"...i->i", false, "ellipsis"}, {"a->b->c", true, "'->'"},
    };
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        io ins[2] = {{"a", E_F32, ti(FLT_F32, 3, 2, 3, 4), a}, {"b", E_F32, ti(FLT_F32, 2, 4, 5, 0), b}};
        io outs[1] = {{"y", E_F32, {0}, NULL}};
        if (c >= 4) ins[0].t = ti(FLT_F32, 2, 3, 4, 0);
        if (c == 7) ins[0].t = ti(FLT_F32, 3, 2, 3, 4);
        node.n = 0;
        pb_attr_s(&node, "equation", bad[c].eq);
        build(&model, "Einsum", 12, &node, ins, c == 3 || c >= 4 ? 1 + (c == 3) : 2, outs, 1);
        flintrt_status st = run(&r, &model, 2, ins, c == 3 || c >= 4 ? 1 + (c == 3) : 2, outs, 1);
        CHECKF(st != FLINTRT_OK && strstr(r.e.msg, bad[c].msg) && (r.s == NULL) == bad[c].at_load,
               "'%s': %d %s", bad[c].eq, (int)st, r.e.msg);
        done(&r);
    }
}

/* ---- Det ---- */

static double det3(const double *m) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}

static void test_det(void) {
    pbw model, node;
    runner r;
    /* the first matrix needs a row swap (zero pivot), the second is singular */
    float x[3 * 9] = {0, 2, 1, 3, -1, 4, 2, 5, -2, 1, 2, 3, 2, 4, 6, -1, 0, 1, 0.5f, -3, 2, 7, 1, 1, -2, 4, 9};
    io ins[1] = {{"x", E_F32, ti(FLT_F32, 3, 3, 3, 3), x}};
    io outs[1] = {{"y", E_F32, {0}, NULL}};
    node.n = 0;
    build(&model, "Det", 11, &node, ins, 1, outs, 1);
    CHECKF(run(&r, &model, 3, ins, 1, outs, 1) == FLINTRT_OK, "%s", r.e.msg);
    bool ok = outs[0].data && outs[0].t.ndim == 1 && outs[0].t.dims[0] == 3;
    for (int b = 0; ok && b < 3; b++) {
        double m[9];
        for (int i = 0; i < 9; i++) m[i] = x[b * 9 + i];
        ok = close_to(((const float *)outs[0].data)[b], det3(m), 1e-6);
    }
    CHECK(ok && ((const float *)outs[0].data)[1] == 0.0f);
    done(&r);
    ins[0].t = ti(FLT_F32, 2, 3, 9, 0);
    CHECK(run(&r, &model, 1, ins, 1, outs, 1) == FLINTRT_ERR_FORMAT && strstr(r.e.msg, "[..., M, M]"));
    done(&r);
}

/* ---- losses and GatherElements ---- */

static void test_loss(void) {
    pbw model, node;
    runner r;
    /* NLL on [N=3, C=4, D=2], weights, ignore_index 1, mean: sum(-w[t] x) / sum(w[t]) over kept positions */
    float x[3 * 4 * 2], w[4] = {0.5f, 2.0f, 1.5f, 0.25f};
    for (int i = 0; i < 24; i++) x[i] = (float)((i * 5) % 7) * -0.3f;
    int64_t tg[3 * 2] = {0, 1, 3, 2, 1, 0};
    double num = 0, den = 0;
    for (int n = 0; n < 3; n++)
        for (int d = 0; d < 2; d++) {
            int64_t t = tg[n * 2 + d];
            if (t == 1) continue;
            num -= w[t] * x[n * 8 + t * 2 + d];
            den += w[t];
        }
    io ins[3] = {{"x", E_F32, ti(FLT_F32, 3, 3, 4, 2), x}, {"t", E_I64, ti(FLT_I64, 2, 3, 2, 0), tg},
                 {"w", E_F32, ti(FLT_F32, 1, 4, 0, 0), w}};
    io outs[1] = {{"loss", E_F32, {0}, NULL}};
    node.n = 0;
    pb_attr_i(&node, "ignore_index", 1);
    build(&model, "NegativeLogLikelihoodLoss", 13, &node, ins, 3, outs, 1);
    CHECKF(run(&r, &model, 3, ins, 3, outs, 1) == FLINTRT_OK, "%s", r.e.msg);
    CHECK(outs[0].data && outs[0].t.ndim == 0 && close_to(*(const float *)outs[0].data, num / den, 1e-6));
    done(&r);
    /* a target outside [0, C) that is not ignore_index is a run-time error, never a read */
    tg[4] = 4;
    CHECK(run(&r, &model, 2, ins, 3, outs, 1) == FLINTRT_ERR_INVALID_ARGUMENT && strstr(r.e.msg, "target 4"));
    done(&r);
    tg[4] = -7;
    CHECK(run(&r, &model, 2, ins, 3, outs, 1) == FLINTRT_ERR_INVALID_ARGUMENT);
    done(&r);
    tg[4] = 1;
    /* weights of the wrong length, target of the wrong shape */
    ins[2].t = ti(FLT_F32, 1, 3, 0, 0);
    CHECK(run(&r, &model, 2, ins, 3, outs, 1) == FLINTRT_ERR_FORMAT && strstr(r.e.msg, "weight"));
    done(&r);
    ins[2].t = ti(FLT_F32, 1, 4, 0, 0);
    ins[1].t = ti(FLT_I64, 2, 2, 3, 0);
    CHECK(run(&r, &model, 2, ins, 3, outs, 1) == FLINTRT_ERR_FORMAT);
    done(&r);
    ins[1].t = ti(FLT_I64, 2, 3, 2, 0);
    node.n = 0;
    pb_attr_s(&node, "reduction", "average");
    build(&model, "NegativeLogLikelihoodLoss", 13, &node, ins, 3, outs, 1);
    CHECK(run(&r, &model, 2, ins, 3, outs, 1) == FLINTRT_ERR_FORMAT && r.s == NULL && strstr(r.e.msg, "reduction"));
    done(&r);

    /* SoftmaxCrossEntropyLoss, reduction none + log_prob, 1 vs 3 threads bit-identical */
    float firstl[6], firstp[24];
    for (int t = 1; t <= 3; t += 2) {
        io o2[2] = {{"loss", E_F32, {0}, NULL}, {"lp", E_F32, {0}, NULL}};
        node.n = 0;
        pb_attr_s(&node, "reduction", "none");
        build(&model, "SoftmaxCrossEntropyLoss", 13, &node, ins, 2, o2, 2);
        CHECKF(run(&r, &model, t, ins, 2, o2, 2) == FLINTRT_OK, "%s", r.e.msg);
        bool ok = o2[0].data && o2[0].t.ndim == 2 && o2[1].t.ndim == 3;
        for (int n = 0; ok && n < 3; n++)
            for (int d = 0; ok && d < 2; d++) {
                double mx = -INFINITY, s = 0;
                for (int c = 0; c < 4; c++) mx = fmax(mx, x[n * 8 + c * 2 + d]);
                for (int c = 0; c < 4; c++) s += exp(x[n * 8 + c * 2 + d] - mx);
                double lse = mx + log(s);
                for (int c = 0; c < 4; c++)
                    ok = ok && close_to(((const float *)o2[1].data)[n * 8 + c * 2 + d], x[n * 8 + c * 2 + d] - lse, 1e-6);
                int64_t tt = tg[n * 2 + d];
                ok = ok && close_to(((const float *)o2[0].data)[n * 2 + d], lse - x[n * 8 + tt * 2 + d], 1e-6);
            }
        CHECK(ok);
        if (ok && t == 1) { memcpy(firstl, o2[0].data, sizeof firstl); memcpy(firstp, o2[1].data, sizeof firstp); }
        if (ok && t == 3) CHECK(!memcmp(firstl, o2[0].data, sizeof firstl) && !memcmp(firstp, o2[1].data, sizeof firstp));
        done(&r);
    }

    /* GatherElements on axis 1 with a negative index, then an index out of range */
    int64_t idx[3 * 2] = {0, -1, 3, 2, 1, 1};
    io gi[2] = {{"d", E_F32, ti(FLT_F32, 2, 3, 8, 0), x}, {"i", E_I64, ti(FLT_I64, 2, 3, 2, 0), idx}};
    io go[1] = {{"y", E_F32, {0}, NULL}};
    node.n = 0;
    pb_attr_i(&node, "axis", -1);
    build(&model, "GatherElements", 13, &node, gi, 2, go, 1);
    CHECKF(run(&r, &model, 2, gi, 2, go, 1) == FLINTRT_OK, "%s", r.e.msg);
    bool ok = go[0].data && go[0].t.ndim == 2 && go[0].t.dims[0] == 3 && go[0].t.dims[1] == 2;
    for (int i = 0; ok && i < 3; i++)
        for (int j = 0; ok && j < 2; j++) {
            int64_t v = idx[i * 2 + j] < 0 ? idx[i * 2 + j] + 8 : idx[i * 2 + j];
            ok = ((const float *)go[0].data)[i * 2 + j] == x[i * 8 + v];
        }
    CHECK(ok);
    done(&r);
    idx[3] = 8;
    CHECK(run(&r, &model, 2, gi, 2, go, 1) == FLINTRT_ERR_INVALID_ARGUMENT && strstr(r.e.msg, "index 8"));
    done(&r);
    idx[3] = 2;
    gi[1].t = ti(FLT_I64, 2, 4, 1, 0); /* more rows than the data has */
    CHECK(run(&r, &model, 2, gi, 2, go, 1) == FLINTRT_ERR_FORMAT);
    done(&r);
}

/* ---- LayerNormalization, MeanVarianceNormalization, Dropout ---- */

static void test_norm(void) {
    pbw model, node;
    runner r;
    float x[2 * 3 * 4], sc[3 * 4], bias[4];
    for (int i = 0; i < 24; i++) x[i] = (float)((i * 7) % 9) * 0.5f - 2.0f + (float)i * 0.01f;
    for (int i = 0; i < 12; i++) sc[i] = 1.0f + 0.1f * (float)i;
    for (int i = 0; i < 4; i++) bias[i] = (float)i - 1.5f;
    /* axis 1: rows of 12; the bias [4] broadcasts inside the row */
    io ins[3] = {{"x", E_F32, ti(FLT_F32, 3, 2, 3, 4), x}, {"s", E_F32, ti(FLT_F32, 2, 3, 4, 0), sc},
                 {"b", E_F32, ti(FLT_F32, 1, 4, 0, 0), bias}};
    io outs[3] = {{"y", E_F32, {0}, NULL}, {"mean", E_F32, {0}, NULL}, {"inv", E_F32, {0}, NULL}};
    node.n = 0;
    pb_attr_i(&node, "axis", 1);
    pb_attr_f(&node, "epsilon", 1e-3f);
    build(&model, "LayerNormalization", 17, &node, ins, 3, outs, 3);
    CHECKF(run(&r, &model, 3, ins, 3, outs, 3) == FLINTRT_OK, "%s", r.e.msg);
    bool ok = outs[0].data && outs[1].t.ndim == 3 && outs[1].t.dims[0] == 2 && outs[1].t.dims[1] == 1 &&
              outs[1].t.dims[2] == 1;
    for (int row = 0; ok && row < 2; row++) {
        double m = 0, v = 0;
        for (int j = 0; j < 12; j++) m += x[row * 12 + j];
        m /= 12;
        for (int j = 0; j < 12; j++) v += (x[row * 12 + j] - m) * (x[row * 12 + j] - m);
        double inv = 1 / sqrt(v / 12 + (double)1e-3f);
        ok = close_to(((const float *)outs[1].data)[row], m, 1e-6) && close_to(((const float *)outs[2].data)[row], inv, 1e-6);
        for (int j = 0; ok && j < 12; j++)
            ok = close_to(((const float *)outs[0].data)[row * 12 + j], (x[row * 12 + j] - m) * inv * sc[j] + bias[j % 4], 1e-5);
    }
    CHECK(ok);
    done(&r);
    ins[1].t = ti(FLT_F32, 2, 4, 3, 0); /* scale that does not broadcast */
    CHECK(run(&r, &model, 2, ins, 3, outs, 3) == FLINTRT_ERR_FORMAT && strstr(r.e.msg, "broadcast"));
    done(&r);
    ins[1].t = ti(FLT_F32, 2, 3, 4, 0);
    node.n = 0;
    pb_attr_i(&node, "axis", 3);
    build(&model, "LayerNormalization", 17, &node, ins, 3, outs, 3);
    CHECK(run(&r, &model, 2, ins, 3, outs, 3) != FLINTRT_OK && strstr(r.e.msg, "axis"));
    done(&r);
    node.n = 0;
    pb_attr_i(&node, "stash_type", 7);
    build(&model, "LayerNormalization", 17, &node, ins, 3, outs, 3);
    CHECK(run(&r, &model, 2, ins, 3, outs, 3) == FLINTRT_ERR_FORMAT && r.s == NULL && strstr(r.e.msg, "stash_type"));
    done(&r);

    /* MVN's default axes {0, 2, 3} need rank 4 */
    node.n = 0;
    build(&model, "MeanVarianceNormalization", 13, &node, ins, 1, outs, 1);
    CHECK(run(&r, &model, 2, ins, 1, outs, 1) != FLINTRT_OK && strstr(r.e.msg, "axis"));
    done(&r);

    /* Dropout: inference is the identity with a mask of ones; training with ratio 1.5 is refused */
    uint8_t on = 1;
    float ratio = 1.5f;
    io di[3] = {{"x", E_F32, ti(FLT_F32, 3, 2, 3, 4), x}, {"r", E_F32, ti(FLT_F32, 0, 0, 0, 0), &ratio},
                {"t", E_BOOL, ti(FLT_BOOL, 0, 0, 0, 0), &on}};
    io dout[2] = {{"y", E_F32, {0}, NULL}, {"mask", E_BOOL, {0}, NULL}};
    node.n = 0;
    pb_attr_i(&node, "seed", 3);
    build(&model, "Dropout", 13, &node, di, 1, dout, 2);
    CHECKF(run(&r, &model, 2, di, 1, dout, 2) == FLINTRT_OK, "%s", r.e.msg);
    ok = dout[0].data && dout[1].t.dtype == FLT_BOOL && !memcmp(dout[0].data, x, sizeof x);
    for (int i = 0; ok && i < 24; i++) ok = ((const uint8_t *)dout[1].data)[i] == 1;
    CHECK(ok);
    done(&r);
    node.n = 0;
    pb_attr_i(&node, "seed", 3);
    build(&model, "Dropout", 13, &node, di, 3, dout, 2);
    CHECK(run(&r, &model, 2, di, 3, dout, 2) == FLINTRT_ERR_INVALID_ARGUMENT && strstr(r.e.msg, "ratio"));
    done(&r);
    /* training with a seed: kept elements are scaled by 1 / (1 - ratio), the same mask on every run and thread count */
    ratio = 0.25f;
    uint8_t mask1[24];
    for (int t = 1; t <= 3; t += 2) {
        CHECKF(run(&r, &model, t, di, 3, dout, 2) == FLINTRT_OK, "%s", r.e.msg);
        ok = dout[0].data != NULL;
        int kept = 0;
        for (int i = 0; ok && i < 24; i++) {
            uint8_t k = ((const uint8_t *)dout[1].data)[i];
            kept += k;
            ok = k ? close_to(((const float *)dout[0].data)[i], x[i] / 0.75, 1e-6) : ((const float *)dout[0].data)[i] == 0.0f;
        }
        CHECK(ok && kept > 0 && kept < 24);
        if (ok && t == 1) memcpy(mask1, dout[1].data, 24);
        if (ok && t == 3) CHECK(!memcmp(mask1, dout[1].data, 24));
        done(&r);
    }
}

int main(void) {
    test_einsum();
    test_det();
    test_loss();
    test_norm();
    return flt_test_finish();
}
