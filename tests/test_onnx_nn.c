/* The ONNX CNN operators (ops_conv.c, ops_pool.c, ops_nn_norm.c, ops_nn_layout.c):
 * - the fast f32 Conv kernel against the plain oracle (same summation order:
 *   identical bits) and both against an independent scatter-form reference
 *   in double, over random geometries (1-3 spatial dims, groups, depthwise,
 *   strides, dilations, asymmetric pads, unaligned inputs), with 1 and 3
 *   threads giving identical bits;
 * - small one-node models built here (bytes in C) through a session: a Conv
 *   against the reference, and malformed attributes/inputs refused with an
 *   error at load or run, never a crash (run this under ASan/UBSan). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/kernels.h"
#include "harness.h"
#include "onnx/exec.h"
#include "onnx/model.h"
#include "onnx/nn_window.h"
#include "onnx_test_util.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}
static int64_t rint_in(int64_t lo, int64_t hi) { return lo + (int64_t)(rnd() % (uint32_t)(hi - lo + 1)); }
static float rfloat(void) { return (float)((double)(rnd() % 20001) / 10000.0 - 1.0); }

/* Conv as a scatter: every (input position, kernel tap) adds to the output it reaches. */
static void conv_scatter_ref(const flt_conv_geom *g, const float *X, const float *W, const float *B, double *Y) {
    int nsp = g->nsp;
    int64_t isz = 1, osz = 1, ksz = 1, Cg = g->C / g->G, Mg = g->M / g->G;
    for (int i = 0; i < nsp; i++) { isz *= g->in[i]; osz *= g->out[i]; ksz *= g->k[i]; }
    for (int64_t i = 0; i < g->N * g->M * osz; i++) Y[i] = B ? B[(i / osz) % g->M] : 0;
    for (int64_t n = 0; n < g->N; n++)
        for (int64_t c = 0; c < g->C; c++)
            for (int64_t ip = 0; ip < isz; ip++) {
                int64_t ipos[FLT_NN_MAXSP], r = ip;
                for (int i = nsp - 1; i >= 0; i--) { ipos[i] = r % g->in[i]; r /= g->in[i]; }
                double xv = X[(n * g->C + c) * isz + ip];
                for (int64_t kp = 0; kp < ksz; kp++) {
                    int64_t kpos[FLT_NN_MAXSP], rk = kp, op = 0;
                    bool ok = true;
                    for (int i = nsp - 1; i >= 0; i--) { kpos[i] = rk % g->k[i]; rk /= g->k[i]; }
                    for (int i = 0; i < nsp && ok; i++) {
                        int64_t num = ipos[i] + g->pb[i] - kpos[i] * g->d[i];
                        if (num < 0 || num % g->s[i] || num / g->s[i] >= g->out[i]) ok = false;
                        else op = op * g->out[i] + num / g->s[i];
                    }
                    if (!ok) continue;
                    int64_t grp = c / Cg;
                    for (int64_t mm = 0; mm < Mg; mm++) {
                        int64_t m = grp * Mg + mm;
                        Y[(n * g->M + m) * osz + op] += xv * W[(m * Cg + c % Cg) * ksz + kp];
                    }
                }
            }
}

static void test_conv_kernels(void) {
    int bad_bits = 0, bad_ref = 0, cases = 0;
    for (int iter = 0; iter < 150; iter++) {
        flt_conv_geom g;
        memset(&g, 0, sizeof g);
        g.nsp = (int)rint_in(1, 3);
        g.N = rint_in(1, 2);
        g.G = rint_in(1, 3);
        bool depthwise = iter % 5 == 0;
        int64_t cg = depthwise ? 1 : rint_in(1, 4), mg = rint_in(1, 10);
        g.C = cg * g.G;
        g.M = mg * g.G;
        bool skip = false;
        for (int i = 0; i < g.nsp; i++) {
            g.in[i] = rint_in(1, g.nsp == 1 ? 90 : g.nsp == 2 ? 20 : 7);
            g.k[i] = rint_in(1, 4);
            g.s[i] = rint_in(1, 3);
            g.d[i] = rint_in(1, 2);
            g.pb[i] = rint_in(0, 2);
            g.pe[i] = rint_in(0, 2);
            int64_t span = g.in[i] + g.pb[i] + g.pe[i] - ((g.k[i] - 1) * g.d[i] + 1);
            if (span < 0) skip = true;
            else g.out[i] = span / g.s[i] + 1;
        }
        if (skip) continue;
        int64_t isz = 1, osz = 1, ksz = 1;
        for (int i = 0; i < g.nsp; i++) { isz *= g.in[i]; osz *= g.out[i]; ksz *= g.k[i]; }
        size_t nx = (size_t)(g.N * g.C * isz), nw = (size_t)(g.M * cg * ksz), ny = (size_t)(g.N * g.M * osz);
        float *xb = malloc(nx * 4 + 4), *w = malloc(nw * 4), *b = malloc((size_t)g.M * 4);
        float *y1 = malloc(ny * 4), *y3 = malloc(ny * 4), *yr = malloc(ny * 4);
        double *yd = malloc(ny * 8);
        float *x = xb + 1;
        for (size_t i = 0; i < nx; i++) x[i] = rfloat();
        for (size_t i = 0; i < nw; i++) w[i] = rfloat();
        for (int64_t i = 0; i < g.M; i++) b[i] = rfloat();
        const float *B = iter % 3 ? b : NULL;
        /* unaligned X every 4th case: the kernel must load through memcpy */
        const void *xin = x;
        char *xu = NULL;
        if (iter % 4 == 1) {
            xu = malloc(nx * 4 + 1);
            memcpy(xu + 1, x, nx * 4);
            xin = xu + 1;
        }
        bool avx2 = flt_cpu_has_avx2();
        flt_conv_f32_fast(&g, xin, w, B, y1, 0, 1, false);
        for (int t = 0; t < 3; t++) flt_conv_f32_fast(&g, xin, w, B, y3, t, 3, avx2);
        for (int t = 0; t < 2; t++) flt_conv_f32_ref(&g, xin, w, B, yr, t, 2);
        conv_scatter_ref(&g, x, w, B, yd);
        if (memcmp(y1, y3, ny * 4) || memcmp(y1, yr, ny * 4)) bad_bits++;
        for (size_t i = 0; i < ny; i++)
            if (fabs(y1[i] - yd[i]) > 1e-5 * (1 + fabs(yd[i]))) { bad_ref++; break; }
        cases++;
        free(xb); free(w); free(b); free(y1); free(y3); free(yr); free(yd); free(xu);
    }
    CHECKF(cases > 100, "only %d conv cases ran", cases);
    CHECKF(bad_bits == 0, "%d cases: fast kernel bits differ from the oracle or between thread counts", bad_bits);
    CHECKF(bad_ref == 0, "%d cases differ from the scatter reference", bad_ref);
}

/* ---- one-node models, bytes written here ---- */

typedef struct attr_spec {
    const char *name;
    int n;              /* -1: single int; -2: string */
    int64_t v[8];
    const char *s;
} attr_spec;

typedef struct in_spec {
    const char *name;
    int elem;            /* TensorProto data type: 1 float, 7 int64 */
    int ndim;
    int64_t dims[6];
    const void *init;   /* non-NULL: an initializer with this raw data */
} in_spec;

static void tensor_vi(pbw *out, unsigned field, const in_spec *in) {
    pb_value_info(out, field, in->name, in->elem, in->ndim, in->dims);
}

static void build(pbw *model, const char *op, int opset, const in_spec *ins, int n_in, const attr_spec *attrs,
                  int n_attr) {
    static pbw g, node;
    g.n = node.n = 0;
    for (int i = 0; i < n_in; i++) sfield(&node, 1, ins[i].name);
    sfield(&node, 2, "y");
    sfield(&node, 3, "n0");
    sfield(&node, 4, op);
    for (int a = 0; a < n_attr; a++) {
        pbw at = {.n = 0};
        sfield(&at, 1, attrs[a].name);
        if (attrs[a].n == -1) { vfield(&at, 3, (uint64_t)attrs[a].v[0]); vfield(&at, 20, 2); }
        else if (attrs[a].n == -2) { sfield(&at, 4, attrs[a].s); vfield(&at, 20, 3); }
        else { for (int i = 0; i < attrs[a].n; i++) vfield(&at, 8, (uint64_t)attrs[a].v[i]); vfield(&at, 20, 7); }
        mfield(&node, 5, &at);
    }
    mfield(&g, 1, &node);
    sfield(&g, 2, "g");
    for (int i = 0; i < n_in; i++) {
        if (ins[i].init) {
            pbw t = {.n = 0};
            int64_t ne = 1;
            for (int d = 0; d < ins[i].ndim; d++) { vfield(&t, 1, (uint64_t)ins[i].dims[d]); ne *= ins[i].dims[d]; }
            vfield(&t, 2, (uint64_t)ins[i].elem);
            sfield(&t, 8, ins[i].name);
            bfield(&t, 9, ins[i].init, (size_t)ne * (ins[i].elem == 7 ? 8 : 4));
            mfield(&g, 5, &t);
        } else {
            tensor_vi(&g, 11, &ins[i]);
        }
    }
    in_spec yo = {.name = "y", .elem = ins[0].elem, .ndim = -1};
    tensor_vi(&g, 12, &yo);
    pb_model(model, opset, &g);
}

/* Load, bind the non-initializer inputs from data[], run with nth threads.
 * Returns the status; on success copies output 0 (float) into y (cap floats). */
static flintrt_status run_model(const pbw *mb, const float *const *data, const in_spec *ins, int n_in, int nth,
                                float *y, size_t cap, flt_onnx_tinfo *yt, char *msg, size_t msg_cap) {
    flt_err e;
    flt_err_clear(&e);
    flt_onnx_model *m = NULL;
    flt_onnx_session *s = NULL;
    flintrt_status st = flt_onnx_load_memory(mb->b, mb->n, NULL, &m, &e);
    if (!st) st = flt_onnx_check_ops(m, &e);
    if (!st) st = flt_onnx_session_new(m, nth, &s, &e);
    for (int i = 0, bound = 0; !st && i < n_in; i++) {
        if (ins[i].init) continue;
        flt_onnx_tinfo t = {.dtype = FLT_F32, .ndim = ins[i].ndim};
        memcpy(t.dims, ins[i].dims, sizeof ins[i].dims);
        st = flt_onnx_session_bind(s, flt_onnx_session_input_id(m, bound++), &t, data[i], &e);
    }
    if (!st) st = flt_onnx_session_run(s, &e);
    if (!st) {
        const flt_onnx_tinfo *o;
        const void *d;
        flt_onnx_session_output(s, 0, &o, &d);
        *yt = *o;
        size_t ne = (size_t)flt_onnx_nelem(o);
        if (o->dtype != FLT_F32 || ne > cap) st = FLINTRT_ERR_INTERNAL;
        else memcpy(y, d, ne * 4);
    }
    snprintf(msg, msg_cap, "%s", st ? e.msg : "");
    flt_onnx_session_free(s);
    flt_onnx_free(m);
    return st;
}

static void test_conv_model(void) {
    /* X [1, 4, 9, 7], W [6, 2, 3, 2] (group 2) initializer, B [6] initializer */
    static float x[4 * 9 * 7], w[6 * 2 * 3 * 2], b[6], y1[1024], y3[1024];
    for (size_t i = 0; i < sizeof x / 4; i++) x[i] = rfloat();
    for (size_t i = 0; i < sizeof w / 4; i++) w[i] = rfloat();
    for (size_t i = 0; i < 6; i++) b[i] = rfloat();
    in_spec ins[3] = {{"x", 1, 4, {1, 4, 9, 7}, NULL}, {"w", 1, 4, {6, 2, 3, 2}, w}, {"b", 1, 1, {6}, b}};
    attr_spec at[4] = {{"group", -1, {2}, NULL}, {"strides", 2, {2, 1}, NULL}, {"pads", 4, {1, 0, 2, 1}, NULL},
                       {"dilations", 2, {1, 2}, NULL}};
    static pbw mb;
    build(&mb, "Conv", 11, ins, 3, at, 4);
    const float *data[3] = {x, NULL, NULL};
    flt_onnx_tinfo t1, t3;
    char msg[256];
    flintrt_status st = run_model(&mb, data, ins, 3, 1, y1, 1024, &t1, msg, sizeof msg);
    CHECKF(st == FLINTRT_OK, "conv model: %s", msg);
    CHECK(run_model(&mb, data, ins, 3, 3, y3, 1024, &t3, msg, sizeof msg) == FLINTRT_OK);
    flt_conv_geom g = {.nsp = 2, .N = 1, .C = 4, .M = 6, .G = 2, .in = {9, 7}, .k = {3, 2}, .s = {2, 1}, .d = {1, 2},
                       .pb = {1, 0}, .pe = {2, 1}};
    g.out[0] = (9 + 3 - 3) / 2 + 1;
    g.out[1] = (7 + 1 - 3) / 1 + 1;
    if (!st) {
        CHECK(t1.ndim == 4 && t1.dims[0] == 1 && t1.dims[1] == 6 && t1.dims[2] == g.out[0] && t1.dims[3] == g.out[1]);
        static double yd[1024];
        conv_scatter_ref(&g, x, w, b, yd);
        int bad = 0;
        for (int64_t i = 0; i < 6 * g.out[0] * g.out[1]; i++) bad += fabs(y1[i] - yd[i]) > 1e-5;
        CHECKF(bad == 0, "conv model: %d outputs differ from the reference", bad);
        CHECK(!memcmp(y1, y3, (size_t)(6 * g.out[0] * g.out[1]) * 4));
    }
}

typedef struct bad_case {
    const char *what, *op;
    int opset;
    in_spec ins[3];
    int n_in;
    attr_spec at[3];
    int n_attr;
} bad_case;

static void test_malformed(void) {
    static const float w[64] = {0};
    static const int64_t idx_bad[4] = {0, 1, 2, 999};
    static const int64_t pads_bad[8] = {0, 0, -5, 0, 0, 0, 0, 0};
    static float xdata[4096];
    const bad_case cases[] = {
        {"zero stride", "Conv", 11, {{"x", 1, 4, {1, 1, 5, 5}, NULL}, {"w", 1, 4, {1, 1, 3, 3}, w}}, 2,
         {{"strides", 2, {0, 1}, NULL}}, 1},
        {"huge dilation", "Conv", 11, {{"x", 1, 4, {1, 1, 5, 5}, NULL}, {"w", 1, 4, {1, 1, 3, 3}, w}}, 2,
         {{"dilations", 2, {(int64_t)1 << 40, 1}, NULL}}, 1},
        {"pads count", "Conv", 11, {{"x", 1, 4, {1, 1, 5, 5}, NULL}, {"w", 1, 4, {1, 1, 3, 3}, w}}, 2,
         {{"pads", 3, {1, 1, 1}, NULL}}, 1},
        {"kernel_shape vs W", "Conv", 11, {{"x", 1, 4, {1, 1, 5, 5}, NULL}, {"w", 1, 4, {1, 1, 3, 3}, w}}, 2,
         {{"kernel_shape", 2, {2, 2}, NULL}}, 1},
        {"group does not divide C", "Conv", 11, {{"x", 1, 4, {1, 3, 5, 5}, NULL}, {"w", 1, 4, {2, 1, 3, 3}, w}}, 2,
         {{"group", -1, {2}, NULL}}, 1},
        {"kernel larger than input", "Conv", 11, {{"x", 1, 4, {1, 1, 2, 2}, NULL}, {"w", 1, 4, {1, 1, 3, 3}, w}}, 2,
         {{"auto_pad", -2, {0}, "VALID"}}, 1},
        {"unknown auto_pad", "Conv", 11, {{"x", 1, 4, {1, 1, 5, 5}, NULL}, {"w", 1, 4, {1, 1, 3, 3}, w}}, 2,
         {{"auto_pad", -2, {0}, "SAME_SIDEWAYS"}}, 1},
        {"W rank", "Conv", 11, {{"x", 1, 4, {1, 1, 5, 5}, NULL}, {"w", 1, 3, {1, 1, 3}, w}}, 2, {{0}}, 0},
        {"rank-2 conv input", "Conv", 11, {{"x", 1, 2, {1, 5}, NULL}, {"w", 1, 2, {1, 5}, w}}, 2, {{0}}, 0},
        {"convtranspose output_padding", "ConvTranspose", 11,
         {{"x", 1, 4, {1, 1, 3, 3}, NULL}, {"w", 1, 4, {1, 1, 3, 3}, w}}, 2, {{"output_padding", 2, {3, 3}, NULL}}, 1},
        {"convtranspose channels", "ConvTranspose", 11,
         {{"x", 1, 4, {1, 2, 3, 3}, NULL}, {"w", 1, 4, {1, 1, 3, 3}, w}}, 2, {{0}}, 0},
        {"maxpool without kernel_shape", "MaxPool", 12, {{"x", 1, 4, {1, 1, 5, 5}, NULL}}, 1, {{0}}, 0},
        {"maxpool storage_order", "MaxPool", 12, {{"x", 1, 4, {1, 1, 5, 5}, NULL}}, 1,
         {{"kernel_shape", 2, {2, 2}, NULL}, {"storage_order", -1, {7}, NULL}}, 2},
        {"avgpool negative pads", "AveragePool", 11, {{"x", 1, 4, {1, 1, 5, 5}, NULL}}, 1,
         {{"kernel_shape", 2, {2, 2}, NULL}, {"pads", 4, {-1, 0, 0, 0}, NULL}}, 2},
        {"maxunpool index out of range", "MaxUnpool", 11,
         {{"x", 1, 4, {1, 1, 2, 2}, NULL}, {"i", 7, 4, {1, 1, 2, 2}, idx_bad}}, 2,
         {{"kernel_shape", 2, {2, 2}, NULL}, {"strides", 2, {2, 2}, NULL}}, 2},
        {"pad removes too much", "Pad", 11, {{"x", 1, 4, {1, 1, 3, 3}, NULL}, {"p", 7, 1, {8}, pads_bad}}, 2, {{0}}, 0},
        {"depthtospace C", "DepthToSpace", 13, {{"x", 1, 4, {1, 3, 2, 2}, NULL}}, 1, {{"blocksize", -1, {2}, NULL}}, 1},
        {"spacetodepth H", "SpaceToDepth", 13, {{"x", 1, 4, {1, 1, 3, 4}, NULL}}, 1, {{"blocksize", -1, {2}, NULL}}, 1},
        {"lrn without size", "LRN", 13, {{"x", 1, 4, {1, 3, 2, 2}, NULL}}, 1, {{0}}, 0},
        {"batchnorm parameter shape", "BatchNormalization", 15,
         {{"x", 1, 4, {1, 3, 2, 2}, NULL}, {"s", 1, 1, {2}, w}, {"b", 1, 1, {3}, w}}, 3, {{0}}, 0},
        {"prelu slope shape", "PRelu", 16, {{"x", 1, 2, {3, 4}, NULL}, {"s", 1, 1, {3}, w}}, 2, {{0}}, 0},
    };
    static pbw mb;
    static float y[1 << 14];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const bad_case *bc = &cases[c];
        in_spec ins[5];
        int n_in = bc->n_in;
        memcpy(ins, bc->ins, sizeof bc->ins);
        if (!strcmp(bc->op, "BatchNormalization")) {
            /* mean and var as well (all five inputs are required) */
            ins[3] = (in_spec){"m", 1, 1, {3}, w};
            ins[4] = (in_spec){"v", 1, 1, {3}, w};
            n_in = 5;
        }
        build(&mb, bc->op, bc->opset, ins, n_in, bc->at, bc->n_attr);
        const float *data[5] = {xdata, xdata, xdata, xdata, xdata};
        flt_onnx_tinfo t;
        char msg[256];
        flintrt_status st = run_model(&mb, data, ins, n_in, 2, y, sizeof y / 4, &t, msg, sizeof msg);
        CHECKF(st != FLINTRT_OK && msg[0], "%s: accepted (status %d)", bc->what, (int)st);
        if (getenv("FLINT_TEST_VERBOSE")) fprintf(stderr, "%s: %s\n", bc->what, msg);
    }
}

int main(void) {
    test_conv_kernels();
    test_conv_model();
    test_malformed();
    return flt_test_finish();
}
