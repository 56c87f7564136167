/* ONNX convolutions: Conv, ConvTranspose, ConvInteger, QLinearConv, over 1..6
 * spatial dimensions, with groups (depthwise included), strides, dilations,
 * explicit pads and auto_pad.
 *
 * f32 Conv with <= 3 spatial dims runs the blocked direct kernel of
 * nn_window.c (8 output channels x 64 positions per tile, input rows
 * streamed); everything else runs the plain scalar loops here, which sum in
 * double (int64-exact for the integer ops). Each output element is computed by
 * one thread in a fixed order, so results do not depend on the thread count. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/nn_window.h"

typedef struct conv_params {
    flt_nn_win win;
    int64_t group;
} conv_params;

typedef enum conv_kind { CONV_FLOAT, CONV_INTEGER, CONV_QLINEAR } conv_kind;

static flintrt_status parse_conv_common(const flt_onnx_node *n, void *pp, bool transpose, flt_err *e) {
    conv_params *p = pp;
    FLT_ONNX_TRY(flt_nn_parse_win(n, &p->win, transpose, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "group", 1, &p->group, e));
    if (p->group < 1 || p->group > FLT_NN_ATTR_MAX)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s '%s': group %" PRId64 " out of range", n->op_type, n->name, p->group);
    return FLINTRT_OK;
}
static flintrt_status parse_conv(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_conv_common(n, pp, false, e); }
static flintrt_status parse_convt(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_conv_common(n, pp, true, e); }

static bool is_q8(flt_dtype d) { return d == FLT_I8 || d == FLT_U8; }

/* A scalar or per-output-channel [M] parameter input (zero point, scale). */
static flintrt_status check_per_channel(flt_onnx_infer *x, int i, int64_t M, const char *what) {
    const flt_onnx_tinfo *t = &x->k->in[i];
    if (i >= x->k->n_in || t->ndim < 0) return FLINTRT_OK;
    int64_t ne = flt_onnx_nelem(t);
    if (t->ndim > 1 || (ne != 1 && ne != M))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "%s must be a scalar or have one value per output channel (%" PRId64 ")",
                             what, M);
    return FLINTRT_OK;
}
static flintrt_status check_scalar(flt_onnx_infer *x, int i, const char *what) {
    const flt_onnx_tinfo *t = &x->k->in[i];
    if (i >= x->k->n_in || t->ndim < 0) return FLINTRT_OK;
    if (t->ndim > 1 || flt_onnx_nelem(t) != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "%s must be a scalar", what);
    return FLINTRT_OK;
}

/* Y's shape [N, M, out...] (Conv and ConvTranspose; the caller sets the dtype);
 * refuses an element count past int64. */
static flintrt_status conv_out_shape(flt_onnx_infer *x, const flt_conv_geom *g) {
    flt_onnx_tinfo *o = &x->k->out[0];
    o->ndim = g->nsp + 2;
    o->dims[0] = g->N;
    o->dims[1] = g->M;
    int64_t ne = g->N;
    if (!flt_mul_i64(ne, g->M, &ne)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    for (int i = 0; i < g->nsp; i++) {
        o->dims[i + 2] = g->out[i];
        if (!flt_mul_i64(ne, g->out[i], &ne)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    }
    return FLINTRT_OK;
}

/* Shapes shared by Conv, ConvInteger, QLinearConv: X in slot 0, W in slot wi, bias in slot bi (-1: none). */
static flintrt_status infer_conv_kind(flt_onnx_infer *x, conv_kind kind) {
    const conv_params *p = x->k->params;
    int wi = kind == CONV_QLINEAR ? 3 : 1, bi = kind == CONV_QLINEAR ? 8 : kind == CONV_FLOAT ? 2 : -1;
    const flt_onnx_tinfo *X = &x->k->in[0], *W = &x->k->in[wi];
    if (X->ndim < 3 || X->ndim != W->ndim)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X (rank %d) and W (rank %d) must have the same rank >= 3", X->ndim, W->ndim);
    if (kind == CONV_FLOAT) {
        if (!flt_onnx_is_float(X->dtype) || W->dtype != X->dtype)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X and W must have the same float type");
    } else if (!is_q8(X->dtype) || !is_q8(W->dtype)) {
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X and W must be int8 or uint8");
    }
    flt_conv_geom *g = flt_onnx_alloc(x, sizeof *g);
    if (!g) return x->e->status;
    g->nsp = X->ndim - 2;
    g->N = X->dims[0];
    g->C = X->dims[1];
    g->M = W->dims[0];
    g->G = p->group;
    if (g->C % g->G || g->M % g->G || W->dims[1] != g->C / g->G)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "channels: X has %" PRId64 ", W is [%" PRId64 ", %" PRId64
                             ", ...], group %" PRId64, g->C, g->M, W->dims[1], g->G);
    for (int i = 0; i < g->nsp; i++) g->in[i] = X->dims[i + 2];
    FLT_ONNX_TRY(flt_nn_geom(x, &p->win, W->dims + 2, false, g));
    if (bi >= 0 && bi < x->k->n_in && x->k->in[bi].ndim >= 0) {
        const flt_onnx_tinfo *B = &x->k->in[bi];
        flt_dtype want = kind == CONV_QLINEAR ? FLT_I32 : X->dtype;
        if (B->ndim != 1 || B->dims[0] != g->M || B->dtype != want)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "B must be a 1-D tensor of %" PRId64 " values of X's type", g->M);
    }
    FLT_ONNX_TRY(conv_out_shape(x, g));
    flt_onnx_tinfo *o = &x->k->out[0];
    if (kind == CONV_FLOAT) {
        o->dtype = X->dtype;
    } else if (kind == CONV_INTEGER) {
        o->dtype = FLT_I32;
        if (x->k->n_in > 2 && x->k->in[2].ndim >= 0 && x->k->in[2].dtype != X->dtype)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "x_zero_point must have X's type");
        if (x->k->n_in > 3 && x->k->in[3].ndim >= 0 && x->k->in[3].dtype != W->dtype)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "w_zero_point must have W's type");
        FLT_ONNX_TRY(check_scalar(x, 2, "x_zero_point"));
        FLT_ONNX_TRY(check_per_channel(x, 3, g->M, "w_zero_point"));
    } else {
        const flt_onnx_tinfo *yz = &x->k->in[7];
        if (!is_q8(yz->dtype) || x->k->in[2].dtype != X->dtype || x->k->in[5].dtype != W->dtype)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "zero points must have the types of x, w and y (int8/uint8)");
        if (x->k->in[1].dtype != FLT_F32 || x->k->in[4].dtype != FLT_F32 || x->k->in[6].dtype != FLT_F32)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "scales must be float");
        FLT_ONNX_TRY(check_scalar(x, 1, "x_scale"));
        FLT_ONNX_TRY(check_scalar(x, 2, "x_zero_point"));
        FLT_ONNX_TRY(check_per_channel(x, 4, g->M, "w_scale"));
        FLT_ONNX_TRY(check_per_channel(x, 5, g->M, "w_zero_point"));
        FLT_ONNX_TRY(check_scalar(x, 6, "y_scale"));
        FLT_ONNX_TRY(check_scalar(x, 7, "y_zero_point"));
        o->dtype = yz->dtype;
    }
    x->k->state = g;
    return FLINTRT_OK;
}
static flintrt_status infer_conv(flt_onnx_infer *x) { return infer_conv_kind(x, CONV_FLOAT); }
static flintrt_status infer_convinteger(flt_onnx_infer *x) { return infer_conv_kind(x, CONV_INTEGER); }
static flintrt_status infer_qlinearconv(flt_onnx_infer *x) { return infer_conv_kind(x, CONV_QLINEAR); }

/* Sum over the window of output element t (flat index in [N, M, out...]) of
 * (x - xzp) * (w - wzp), in double. */
static double conv_sum(const flt_conv_geom *g, int64_t t, flt_dtype xt, const void *X, double xzp, flt_dtype wt,
                       const void *W, double wzp) {
    int nsp = g->nsp;
    int64_t Cg = g->C / g->G, Mg = g->M / g->G, osz = 1, isz = 1, ksz = 1;
    for (int i = 0; i < nsp; i++) { osz *= g->out[i]; isz *= g->in[i]; ksz *= g->k[i]; }
    int64_t nm = t / osz, p = t % osz, n = nm / g->M, m = nm % g->M, grp = m / Mg;
    int64_t opos[FLT_NN_MAXSP];
    for (int i = nsp - 1; i >= 0; i--) { opos[i] = p % g->out[i]; p /= g->out[i]; }
    double acc = 0;
    for (int64_t c = 0; c < Cg; c++) {
        int64_t xbase = (n * g->C + grp * Cg + c) * isz, wbase = (m * Cg + c) * ksz;
        for (int64_t kp = 0; kp < ksz; kp++) {
            int64_t off;
            if (flt_conv_tap(g, opos, kp, &off))
                acc += (flt_onnx_get_f64(wt, W, wbase + kp) - wzp) * (flt_onnx_get_f64(xt, X, xbase + off) - xzp);
        }
    }
    return acc;
}

static void k_conv(const flt_graph *gr, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const flt_conv_geom *g = k->state;
    const void *X = flt_onnx_in(gr, n, 0), *W = flt_onnx_in(gr, n, 1), *B = k->n_in > 2 ? flt_onnx_in(gr, n, 2) : NULL;
    void *Y = flt_onnx_out(gr, n, 0);
    flt_dtype dt = k->out[0].dtype;
    if (dt == FLT_F32) {
        bool avx2 = kk && kk->name && (!strcmp(kk->name, "avx2") || !strcmp(kk->name, "avx512"));
        if (g->nsp <= 3) flt_conv_f32_fast(g, X, W, B, Y, ith, nth, avx2);
        else flt_conv_f32_ref(g, X, W, B, Y, ith, nth);
        return;
    }
    int64_t osz = 1;
    for (int i = 0; i < g->nsp; i++) osz *= g->out[i];
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t m = (t / osz) % g->M;
        double v = conv_sum(g, t, dt, X, 0, dt, W, 0);
        if (B) v += flt_onnx_get_f64(dt, B, m);
        flt_onnx_set_f64(dt, Y, t, v);
    }
}

/* Channel m's value of a scalar-or-[M] parameter input. */
static double per_channel(const flt_onnx_kctx *k, const void *p, int i, int64_t m) {
    if (!p) return 0;
    return flt_onnx_get_f64(k->in[i].dtype, p, flt_onnx_nelem(&k->in[i]) == 1 ? 0 : m);
}

static void k_convinteger(const flt_graph *gr, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const flt_conv_geom *g = k->state;
    const void *X = flt_onnx_in(gr, n, 0), *W = flt_onnx_in(gr, n, 1);
    const void *xz = k->n_in > 2 ? flt_onnx_in(gr, n, 2) : NULL, *wz = k->n_in > 3 ? flt_onnx_in(gr, n, 3) : NULL;
    int32_t *Y = flt_onnx_out(gr, n, 0);
    double xzp = xz ? flt_onnx_get_f64(k->in[2].dtype, xz, 0) : 0;
    int64_t osz = 1;
    for (int i = 0; i < g->nsp; i++) osz *= g->out[i];
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t m = (t / osz) % g->M;
        /* every term is an exact integer below 2^17 and there are far fewer than 2^36 of them: exact in double */
        double v = conv_sum(g, t, k->in[0].dtype, X, xzp, k->in[1].dtype, W, per_channel(k, wz, 3, m));
        Y[t] = (int32_t)v;
    }
}

static void k_qlinearconv(const flt_graph *gr, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const flt_conv_geom *g = k->state;
    const void *X = flt_onnx_in(gr, n, 0), *W = flt_onnx_in(gr, n, 3), *B = k->n_in > 8 ? flt_onnx_in(gr, n, 8) : NULL;
    const void *xs = flt_onnx_in(gr, n, 1), *xz = flt_onnx_in(gr, n, 2), *ws = flt_onnx_in(gr, n, 4);
    const void *wz = flt_onnx_in(gr, n, 5), *ys = flt_onnx_in(gr, n, 6), *yz = flt_onnx_in(gr, n, 7);
    void *Y = flt_onnx_out(gr, n, 0);
    flt_dtype yt = k->out[0].dtype;
    float xsv = flt_ld_f32(xs, 0), ysv = flt_ld_f32(ys, 0);
    double xzp = flt_onnx_get_f64(k->in[2].dtype, xz, 0), yzp = flt_onnx_get_f64(yt, yz, 0);
    double qmin = yt == FLT_U8 ? 0 : -128, qmax = yt == FLT_U8 ? 255 : 127;
    int64_t osz = 1;
    for (int i = 0; i < g->nsp; i++) osz *= g->out[i];
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t m = (t / osz) % g->M;
        double acc = conv_sum(g, t, k->in[0].dtype, X, xzp, k->in[3].dtype, W, per_channel(k, wz, 5, m));
        if (B) acc += flt_ld_i32(B, m);
        /* the scale product in float, as the reference computes it */
        float scale = xsv * (float)per_channel(k, ws, 4, m) / ysv;
        double v = nearbyint((double)(float)((float)acc * scale)) + yzp;
        v = v < qmin ? qmin : v > qmax ? qmax : v;
        flt_onnx_set_f64(yt, Y, t, v);
    }
}

/* ---- ConvTranspose ---- */

static flintrt_status infer_convtranspose(flt_onnx_infer *x) {
    const conv_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0], *W = &x->k->in[1];
    if (X->ndim < 3 || X->ndim != W->ndim)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X (rank %d) and W (rank %d) must have the same rank >= 3", X->ndim, W->ndim);
    if (!flt_onnx_is_float(X->dtype) || W->dtype != X->dtype)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X and W must have the same float type");
    flt_conv_geom *g = flt_onnx_alloc(x, sizeof *g);
    if (!g) return x->e->status;
    g->nsp = X->ndim - 2;
    g->N = X->dims[0];
    g->C = X->dims[1];
    g->G = p->group;
    if (g->C % g->G || W->dims[0] != g->C || !flt_mul_i64(W->dims[1], g->G, &g->M))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "channels: X has %" PRId64 ", W is [%" PRId64 ", %" PRId64
                             ", ...], group %" PRId64, g->C, W->dims[0], W->dims[1], g->G);
    for (int i = 0; i < g->nsp; i++) g->in[i] = X->dims[i + 2];
    FLT_ONNX_TRY(flt_nn_geom_transpose(x, &p->win, W->dims + 2, g));
    if (x->k->n_in > 2 && x->k->in[2].ndim >= 0) {
        const flt_onnx_tinfo *B = &x->k->in[2];
        if (B->ndim != 1 || B->dims[0] != g->M || B->dtype != X->dtype)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "B must be a 1-D tensor of %" PRId64 " values of X's type", g->M);
    }
    x->k->out[0].dtype = X->dtype;
    FLT_ONNX_TRY(conv_out_shape(x, g));
    x->k->state = g;
    return FLINTRT_OK;
}

/* Gather form: output element o sums x[i] * w[k] over o = i*s + k*d - pb. */
static void k_convtranspose(const flt_graph *gr, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const flt_conv_geom *g = k->state;
    const void *X = flt_onnx_in(gr, n, 0), *W = flt_onnx_in(gr, n, 1), *B = k->n_in > 2 ? flt_onnx_in(gr, n, 2) : NULL;
    void *Y = flt_onnx_out(gr, n, 0);
    flt_dtype dt = k->out[0].dtype;
    int nsp = g->nsp;
    int64_t Cg = g->C / g->G, Mg = g->M / g->G, osz = 1, isz = 1, ksz = 1;
    for (int i = 0; i < nsp; i++) { osz *= g->out[i]; isz *= g->in[i]; ksz *= g->k[i]; }
    /* per dim: the kernel taps reaching this output and their input positions */
    int64_t tk[FLT_NN_MAXSP][64], ti[FLT_NN_MAXSP][64];
    bool small = true;
    for (int i = 0; i < nsp; i++) small = small && g->k[i] <= 64;
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t nm = t / osz, p = t % osz, nn = nm / g->M, m = nm % g->M, grp = m / Mg, mm = m % Mg;
        int64_t opos[FLT_NN_MAXSP], cnt[FLT_NN_MAXSP];
        for (int i = nsp - 1; i >= 0; i--) { opos[i] = p % g->out[i]; p /= g->out[i]; }
        double acc = 0;
        if (small) {
            int64_t ntap = 1;
            for (int i = 0; i < nsp; i++) {
                cnt[i] = 0;
                for (int64_t kx = 0; kx < g->k[i]; kx++) {
                    int64_t q = opos[i] + g->pb[i] - kx * g->d[i];
                    if (q < 0 || q % g->s[i] || q / g->s[i] >= g->in[i]) continue;
                    tk[i][cnt[i]] = kx;
                    ti[i][cnt[i]++] = q / g->s[i];
                }
                ntap *= cnt[i];
            }
            for (int64_t c = 0; c < Cg && ntap; c++) {
                int64_t xbase = (nn * g->C + grp * Cg + c) * isz, wbase = ((grp * Cg + c) * Mg + mm) * ksz;
                int64_t idx[FLT_NN_MAXSP] = {0};
                for (int64_t tp = 0; tp < ntap; tp++) {
                    int64_t xo = 0, wo = 0;
                    for (int i = 0; i < nsp; i++) { xo = xo * g->in[i] + ti[i][idx[i]]; wo = wo * g->k[i] + tk[i][idx[i]]; }
                    acc += flt_onnx_get_f64(dt, X, xbase + xo) * flt_onnx_get_f64(dt, W, wbase + wo);
                    for (int i = nsp - 1; i >= 0; i--) { if (++idx[i] < cnt[i]) break; idx[i] = 0; }
                }
            }
        } else {
            for (int64_t c = 0; c < Cg; c++) {
                int64_t xbase = (nn * g->C + grp * Cg + c) * isz, wbase = ((grp * Cg + c) * Mg + mm) * ksz;
                for (int64_t kp = 0; kp < ksz; kp++) {
                    int64_t r = kp, xo = 0, mul = 1;
                    bool ok = true;
                    for (int i = nsp - 1; i >= 0 && ok; i--) {
                        int64_t kx = r % g->k[i], q = opos[i] + g->pb[i] - kx * g->d[i];
                        r /= g->k[i];
                        if (q < 0 || q % g->s[i] || q / g->s[i] >= g->in[i]) ok = false;
                        else { xo += q / g->s[i] * mul; mul *= g->in[i]; }
                    }
                    if (ok) acc += flt_onnx_get_f64(dt, X, xbase + xo) * flt_onnx_get_f64(dt, W, wbase + kp);
                }
            }
        }
        if (B) acc += flt_onnx_get_f64(dt, B, m);
        flt_onnx_set_f64(dt, Y, t, acc);
    }
}

const flt_onnx_op flt_onnx_ops_conv[] = {
    {"", "Conv", 1, 0, sizeof(conv_params), parse_conv, infer_conv, {"Conv", k_conv}, NULL, 0, 2},
    {"", "ConvTranspose", 1, 0, sizeof(conv_params), parse_convt, infer_convtranspose, {"ConvTranspose", k_convtranspose}, NULL, 0, 2},
    {"", "ConvInteger", 10, 0, sizeof(conv_params), parse_conv, infer_convinteger, {"ConvInteger", k_convinteger}, NULL, 0, 2},
    {"", "QLinearConv", 10, 0, sizeof(conv_params), parse_conv, infer_qlinearconv, {"QLinearConv", k_qlinearconv}, NULL, 0, 8},
};
const int flt_onnx_ops_conv_count = (int)(sizeof flt_onnx_ops_conv / sizeof flt_onnx_ops_conv[0]);
