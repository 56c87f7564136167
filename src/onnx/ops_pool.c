/* ONNX pooling: MaxPool (with the Indices output), AveragePool, LpPool, their
 * Global* forms, and MaxUnpool, over 1..6 spatial dimensions.
 *
 * Each output element is computed by one thread, visiting its window in
 * row-major order (sums in double), so results do not depend on the thread
 * count. A window that holds no input element (possible only with large pads
 * and dilations) gives the lowest value for Max and 0 for Average/Lp. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/nn_window.h"

typedef enum pool_kind { POOL_MAX, POOL_AVG, POOL_LP } pool_kind;

typedef struct pool_params {
    flt_nn_win win;
    pool_kind kind;
    bool global;
    int64_t storage_order, count_include_pad;
    double p;
} pool_params;

static flintrt_status parse_p(const flt_onnx_node *n, pool_params *p, flt_err *e) {
    const flt_onnx_attr *a = flt_onnx_node_attr(n, "p");
    p->p = 2;
    if (a && a->type == FLT_ONNX_ATTR_FLOAT) p->p = a->f; /* opset 1 */
    else if (a) {
        int64_t v;
        FLT_ONNX_TRY(flt_onnx_attr_int(n, "p", 2, &v, e));
        p->p = (double)v;
    }
    if (!(p->p >= 1 && p->p <= 1e6))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s '%s': p must be >= 1", n->op_type, n->name);
    return FLINTRT_OK;
}

static flintrt_status parse_pool_kind(const flt_onnx_node *n, void *pp, pool_kind kind, bool global, flt_err *e) {
    pool_params *p = pp;
    p->kind = kind;
    p->global = global;
    if (!global) FLT_ONNX_TRY(flt_nn_parse_win(n, &p->win, false, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "storage_order", 0, &p->storage_order, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "count_include_pad", 0, &p->count_include_pad, e));
    if (p->storage_order != 0 && p->storage_order != 1)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s '%s': storage_order must be 0 or 1", n->op_type, n->name);
    if (kind == POOL_LP) FLT_ONNX_TRY(parse_p(n, p, e));
    return FLINTRT_OK;
}
static flintrt_status parse_maxpool(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_pool_kind(n, pp, POOL_MAX, false, e); }
static flintrt_status parse_avgpool(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_pool_kind(n, pp, POOL_AVG, false, e); }
static flintrt_status parse_lppool(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_pool_kind(n, pp, POOL_LP, false, e); }
static flintrt_status parse_gmax(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_pool_kind(n, pp, POOL_MAX, true, e); }
static flintrt_status parse_gavg(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_pool_kind(n, pp, POOL_AVG, true, e); }
static flintrt_status parse_glp(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_pool_kind(n, pp, POOL_LP, true, e); }

static flintrt_status set_out_shape(flt_onnx_infer *x, const flt_conv_geom *g, flt_onnx_tinfo *o) {
    o->ndim = g->nsp + 2;
    o->dims[0] = g->N;
    o->dims[1] = g->C;
    int64_t ne = 1;
    for (int i = 0; i < o->ndim; i++) {
        if (i >= 2) o->dims[i] = g->out[i - 2];
        if (!flt_mul_i64(ne, o->dims[i], &ne)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    }
    return FLINTRT_OK;
}

static flintrt_status infer_pool(flt_onnx_infer *x) {
    const pool_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0];
    bool ok_type = flt_onnx_is_float(X->dtype) || (p->kind == POOL_MAX && !p->global && (X->dtype == FLT_I8 || X->dtype == FLT_U8));
    if (!ok_type) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "unsupported input type");
    if (X->ndim < 3) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input needs rank >= 3 (N, C, spatial...), has %d", X->ndim);
    flt_conv_geom *g = flt_onnx_alloc(x, sizeof *g);
    if (!g) return x->e->status;
    g->nsp = X->ndim - 2;
    g->N = X->dims[0];
    g->C = g->M = g->G = X->dims[1];
    for (int i = 0; i < g->nsp; i++) g->in[i] = X->dims[i + 2];
    if (p->global) {
        for (int i = 0; i < g->nsp; i++) { g->k[i] = g->in[i]; g->s[i] = g->d[i] = g->out[i] = 1; }
    } else {
        FLT_ONNX_TRY(flt_nn_geom(x, &p->win, NULL, true, g));
    }
    x->k->out[0].dtype = X->dtype;
    FLT_ONNX_TRY(set_out_shape(x, g, &x->k->out[0]));
    if (x->k->n_out > 1 && x->k->node->out[1] >= 0) {
        if (p->kind != POOL_MAX) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "only MaxPool has a second output");
        x->k->out[1] = x->k->out[0];
        x->k->out[1].dtype = FLT_I64;
    }
    x->k->state = g;
    return FLINTRT_OK;
}

static double lowest(flt_dtype d) { return d == FLT_I8 ? -128 : d == FLT_U8 ? 0 : -INFINITY; }

static void k_pool(const flt_graph *gr, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const pool_params *p = k->params;
    const flt_conv_geom *g = k->state;
    const void *X = flt_onnx_in(gr, n, 0);
    void *Y = flt_onnx_out(gr, n, 0);
    int64_t *I = k->n_out > 1 && k->node->out[1] >= 0 ? flt_onnx_out(gr, n, 1) : NULL;
    flt_dtype dt = k->in[0].dtype;
    int nsp = g->nsp;
    int64_t osz = 1, isz = 1;
    for (int i = 0; i < nsp; i++) { osz *= g->out[i]; isz *= g->in[i]; }
    long long lo, hi;
    flt_split(g->N * g->C * osz, ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t nc = t / osz, r = t % osz, start[FLT_NN_MAXSP], kc[FLT_NN_MAXSP] = {0};
        double padded_count = 1;
        for (int i = nsp - 1; i >= 0; i--) {
            int64_t o = r % g->out[i];
            r /= g->out[i];
            start[i] = o * g->s[i] - g->pb[i];
            /* taps inside the padded input [-pb, in + pe) (count_include_pad) */
            int64_t c = 0;
            for (int64_t j = 0; j < g->k[i]; j++) {
                int64_t q = start[i] + j * g->d[i];
                c += q >= -g->pb[i] && q < g->in[i] + g->pe[i];
            }
            padded_count *= (double)c;
        }
        int64_t ksz = 1;
        for (int i = 0; i < nsp; i++) ksz *= g->k[i];
        double best = lowest(dt), acc = 0;
        int64_t best_i = -1, cnt = 0;
        const int64_t xbase = nc * isz;
        for (int64_t tp = 0; tp < ksz; tp++) {
            int64_t off = 0, cm_off = 0, cm_mul = 1;
            bool ok = true;
            for (int i = 0; i < nsp; i++) {
                int64_t q = start[i] + kc[i] * g->d[i];
                if (q < 0 || q >= g->in[i]) ok = false;
                off = off * g->in[i] + q;
                cm_off += q * cm_mul;
                cm_mul *= g->in[i];
            }
            for (int i = nsp - 1; i >= 0; i--) { if (++kc[i] < g->k[i]) break; kc[i] = 0; }
            if (!ok) continue;
            double v = flt_onnx_get_f64(dt, X, xbase + off);
            cnt++;
            if (p->kind == POOL_MAX) {
                if (best_i < 0 || v > best) { best = v; best_i = p->storage_order ? cm_off : off; }
            } else if (p->kind == POOL_AVG) {
                acc += v;
            } else {
                acc += p->p == 2 ? v * v : pow(fabs(v), p->p);
            }
        }
        double y;
        if (p->kind == POOL_MAX) {
            y = best;
            if (I) I[t] = best_i < 0 ? -1 : xbase + best_i;
        } else if (p->kind == POOL_AVG) {
            double den = p->count_include_pad ? padded_count : (double)cnt;
            y = den > 0 ? acc / den : 0;
        } else {
            y = p->p == 2 ? sqrt(acc) : pow(acc, 1.0 / p->p);
        }
        flt_onnx_set_f64(dt, Y, t, y);
    }
}

/* ---- MaxUnpool ---- */

static flintrt_status parse_maxunpool(const flt_onnx_node *n, void *pp, flt_err *e) {
    pool_params *p = pp;
    return flt_nn_parse_win(n, &p->win, false, e);
}

/* Indices count in the default output shape ((in - 1) * s + k - pads); an
 * explicit output_shape places each value at the same coordinates there. */
typedef struct unpool_state {
    int ndim;
    bool remap;
    int64_t def[FLT_ONNX_MAX_DIMS], out[FLT_ONNX_MAX_DIMS];
    int64_t def_n;
} unpool_state;

/* Offset in the output of default-shape index v, or -1 if outside either. */
static int64_t unpool_target(const unpool_state *s, int64_t v) {
    if (v < 0 || v >= s->def_n) return -1;
    if (!s->remap) return v;
    int64_t c[FLT_ONNX_MAX_DIMS], off = 0;
    for (int d = s->ndim - 1; d >= 0; d--) { c[d] = v % s->def[d]; v /= s->def[d]; }
    for (int d = 0; d < s->ndim; d++) {
        if (c[d] >= s->out[d]) return -1;
        off = off * s->out[d] + c[d];
    }
    return off;
}

static flintrt_status infer_maxunpool(flt_onnx_infer *x) {
    const pool_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0], *I = &x->k->in[1];
    if (X->ndim < 3) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input needs rank >= 3 (N, C, spatial...), has %d", X->ndim);
    if (I->dtype != FLT_I64 || I->ndim != X->ndim || memcmp(I->dims, X->dims, sizeof(int64_t) * (size_t)X->ndim))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "I must be int64 with X's shape");
    int nsp = X->ndim - 2;
    if (p->win.n_kernel != nsp) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "kernel_shape needs %d values", nsp);
    if ((p->win.n_strides >= 0 && p->win.n_strides != nsp) || (p->win.n_pads >= 0 && p->win.n_pads != 2 * nsp))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "strides/pads do not match %d spatial dims", nsp);
    unpool_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->ndim = X->ndim;
    s->def[0] = X->dims[0];
    s->def[1] = X->dims[1];
    for (int i = 0; i < nsp; i++) {
        int64_t st = p->win.n_strides >= 0 ? p->win.strides[i] : 1, v;
        int64_t pads = p->win.n_pads >= 0 ? p->win.pads[i] + p->win.pads[i + nsp] : 0;
        if (X->dims[i + 2] < 1 || !flt_mul_i64(X->dims[i + 2] - 1, st, &v))
            return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output size overflows or input is empty");
        v += p->win.kernel[i] - pads;
        if (v < 0) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "pads exceed the output");
        s->def[i + 2] = v;
    }
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = X->dtype;
    o->ndim = X->ndim;
    memcpy(o->dims, s->def, sizeof s->def);
    if (x->k->n_in > 2 && x->k->in[2].ndim >= 0) {
        const int64_t *os;
        int64_t cnt;
        FLT_ONNX_TRY(flt_onnx_input_ints(x, 2, &os, &cnt));
        if (cnt != X->ndim) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "output_shape needs %d values", X->ndim);
        for (int i = 0; i < X->ndim; i++) {
            if (os[i] < 0 || (i < 2 && os[i] != X->dims[i]))
                return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "output_shape[%d] = %" PRId64 " is not valid", i, os[i]);
            o->dims[i] = os[i];
            s->remap = s->remap || os[i] != s->def[i];
        }
    }
    memcpy(s->out, o->dims, sizeof s->out);
    int64_t ne = 1, dn = 1;
    for (int i = 0; i < o->ndim; i++)
        if (!flt_mul_i64(ne, o->dims[i], &ne) || !flt_mul_i64(dn, s->def[i], &dn))
            return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    s->def_n = dn;
    /* indices known now (usually): check them with a message; the kernel skips bad ones */
    const void *iv = flt_onnx_input_value(x, 1);
    x->need_values = false;
    if (iv)
        for (int64_t j = 0, ni = flt_onnx_nelem(I); j < ni; j++) {
            int64_t v = flt_ld_i64(iv, j);
            if (unpool_target(s, v) < 0)
                return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "index %" PRId64 " is outside the output", v);
        }
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_maxunpool(const flt_graph *gr, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const unpool_state *s = k->state;
    const char *X = flt_onnx_in(gr, n, 0);
    const void *I = flt_onnx_in(gr, n, 1);
    char *Y = flt_onnx_out(gr, n, 0);
    size_t es = flt_onnx_dtype_size(k->out[0].dtype);
    int64_t nin = flt_onnx_nelem(&k->in[0]);
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    if (hi > lo) memset(Y + (size_t)lo * es, 0, (size_t)(hi - lo) * es);
    /* every thread scans all indices and writes its own range: later inputs win, whatever nth is */
    for (int64_t j = 0; j < nin; j++) {
        int64_t v = unpool_target(s, flt_ld_i64(I, j));
        if (v >= lo && v < hi) memcpy(Y + (size_t)v * es, X + (size_t)j * es, es);
    }
}

#define POOL_ROW(op, since, parser) {"", op, since, 0, sizeof(pool_params), parser, infer_pool, {op, k_pool}, NULL, 0, 1}

const flt_onnx_op flt_onnx_ops_pool[] = {
    POOL_ROW("MaxPool", 1, parse_maxpool),
    POOL_ROW("AveragePool", 1, parse_avgpool),
    POOL_ROW("LpPool", 1, parse_lppool),
    POOL_ROW("GlobalMaxPool", 1, parse_gmax),
    POOL_ROW("GlobalAveragePool", 1, parse_gavg),
    POOL_ROW("GlobalLpPool", 1, parse_glp),
    {"", "MaxUnpool", 9, 0, sizeof(pool_params), parse_maxunpool, infer_maxunpool, {"MaxUnpool", k_maxunpool}, NULL, 0, 2},
};
const int flt_onnx_ops_pool_count = (int)(sizeof flt_onnx_ops_pool / sizeof flt_onnx_ops_pool[0]);
