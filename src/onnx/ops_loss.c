/* ONNX losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (with its
 * optional log_prob output), and GatherElements, the gather their function
 * expansions are built from.
 *
 * Both losses see the scores as [N, C, D] (D: the product of the trailing
 * dims, 1 for [N, C]) and the target as [N, D]. Per position: loss =
 * -weight[t] * logp[n, t, d], zero (with zero weight) where t == ignore_index.
 * Reductions are summed in double by one thread in position order, so results
 * do not depend on the thread count. Targets and gather indices are read at
 * infer time (the framework computes them first if needed), so a value out of
 * range is a clear error, never a stray read. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

typedef enum loss_red { LOSS_NONE, LOSS_SUM, LOSS_MEAN } loss_red;

typedef struct loss_params {
    bool softmax;       /* SoftmaxCrossEntropyLoss: logp = log_softmax(scores, axis 1) */
    loss_red red;
    bool has_ii;
    int64_t ii;         /* ignore_index */
} loss_params;

typedef struct loss_state {
    int64_t n, c, d;
} loss_state;

static flintrt_status parse_loss_common(const flt_onnx_node *n, loss_params *p, flt_err *e) {
    char red[16];
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "reduction", "mean", red, sizeof red, e));
    if (!strcmp(red, "none")) p->red = LOSS_NONE;
    else if (!strcmp(red, "sum")) p->red = LOSS_SUM;
    else if (!strcmp(red, "mean")) p->red = LOSS_MEAN;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: reduction '%s' is not none, sum or mean", n->op_type, red);
    p->has_ii = flt_onnx_node_attr(n, "ignore_index") != NULL;
    return flt_onnx_attr_int(n, "ignore_index", 0, &p->ii, e);
}

static flintrt_status parse_nll(const flt_onnx_node *n, void *pp, flt_err *e) {
    loss_params *p = pp;
    p->softmax = false;
    return parse_loss_common(n, p, e);
}

static flintrt_status parse_sce(const flt_onnx_node *n, void *pp, flt_err *e) {
    loss_params *p = pp;
    p->softmax = true;
    return parse_loss_common(n, p, e);
}

static flintrt_status infer_loss(flt_onnx_infer *x) {
    const loss_params *p = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0], *tg = &x->k->in[1];
    const flt_onnx_tinfo *w = x->k->n_in > 2 ? &x->k->in[2] : NULL;
    if (w && w->ndim < 0) w = NULL;
    if (!flt_onnx_is_float(in->dtype)) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "scores must be a float type");
    if (tg->dtype != FLT_I32 && tg->dtype != FLT_I64)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "target must be int32 or int64");
    if (in->ndim < 2) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "scores need rank >= 2 ([N, C, ...]), got %d", in->ndim);
    if (tg->ndim != in->ndim - 1)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "target has rank %d, scores rank %d (want rank - 1)", tg->ndim, in->ndim);
    if (tg->dims[0] != in->dims[0]) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "target and scores differ in N");
    for (int i = 1; i < tg->ndim; i++)
        if (tg->dims[i] != in->dims[i + 1])
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "target dim %d is %" PRId64 ", scores dim %d is %" PRId64, i,
                                 tg->dims[i], i + 1, in->dims[i + 1]);
    int64_t c = in->dims[1];
    if (w && (w->ndim != 1 || w->dims[0] != c || w->dtype != in->dtype))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "weight must be [C] = [%" PRId64 "] of the scores' type", c);
    /* every target must name a class (or be ignore_index): checked on the values */
    int64_t nt = flt_onnx_nelem(tg);
    const void *tv = nt ? flt_onnx_input_value(x, 1) : NULL;
    if (nt && !tv) return flt_onnx_need(x, 1);
    for (int64_t i = 0; i < nt; i++) {
        int64_t t = tg->dtype == FLT_I64 ? flt_ld_i64(tv, i) : flt_ld_i32(tv, i);
        if (p->has_ii && t == p->ii) continue;
        if (t < 0 || t >= c)
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "target %" PRId64 " (element %" PRId64
                                 ") is outside [0, %" PRId64 ") and not ignore_index", t, i, c);
    }
    loss_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->n = in->dims[0];
    s->c = c;
    s->d = 1;
    for (int i = 2; i < in->ndim; i++) s->d *= in->dims[i];
    x->k->state = s;
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = in->dtype;
    if (p->red == LOSS_NONE) {
        o->ndim = tg->ndim;
        memcpy(o->dims, tg->dims, sizeof o->dims);
    } else {
        o->ndim = 0;
    }
    if (x->k->n_out > 2 || (!p->softmax && x->k->n_out > 1))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "%d outputs", x->k->n_out);
    if (x->k->n_out > 1) x->k->out[1] = *in; /* log_prob */
    return FLINTRT_OK;
}

/* log-sum-exp of column (n, d) over the classes */
static double loss_lse(flt_dtype dt, const void *in, int64_t base, int64_t c, int64_t d) {
    double mx = -INFINITY;
    for (int64_t j = 0; j < c; j++) {
        double v = flt_onnx_get_f64(dt, in, base + j * d);
        if (v > mx) mx = v;
    }
    if (mx == -INFINITY || mx != mx) return mx;
    double sum = 0;
    for (int64_t j = 0; j < c; j++) sum += exp(flt_onnx_get_f64(dt, in, base + j * d) - mx);
    return mx + log(sum);
}

/* loss and weight of position pos = n * D + d */
static void loss_at(const flt_onnx_kctx *k, const void *in, const void *tg, const void *w, int64_t pos, double *l,
                    double *wt) {
    const loss_params *p = k->params;
    const loss_state *s = k->state;
    flt_dtype dt = k->in[0].dtype;
    int64_t t = k->in[1].dtype == FLT_I64 ? flt_ld_i64(tg, pos) : flt_ld_i32(tg, pos);
    if (p->has_ii && t == p->ii) { *l = 0; *wt = 0; return; }
    if (t < 0 || t >= s->c) { *l = NAN; *wt = NAN; return; } /* refused at infer; never read out of range */
    int64_t nn = pos / s->d, dd = pos % s->d, base = nn * s->c * s->d + dd;
    double lp = flt_onnx_get_f64(dt, in, base + t * s->d);
    if (p->softmax) lp -= loss_lse(dt, in, base, s->c, s->d);
    *wt = w ? flt_onnx_get_f64(dt, w, t) : 1.0;
    *l = -lp * *wt;
}

static void k_loss(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const loss_params *p = k->params;
    const loss_state *s = k->state;
    flt_dtype dt = k->in[0].dtype;
    const void *in = flt_onnx_in(g, n, 0), *tg = flt_onnx_in(g, n, 1);
    const void *w = k->n_in > 2 ? flt_onnx_in(g, n, 2) : NULL;
    void *out = flt_onnx_out(g, n, 0);
    int64_t npos = s->n * s->d;
    long long lo, hi;
    flt_split(npos, ith, nth, &lo, &hi);
    if (k->n_out > 1 && k->node->out[1] >= 0) {
        void *lpo = flt_onnx_out(g, n, 1);
        for (long long pos = lo; pos < hi; pos++) {
            int64_t base = (pos / s->d) * s->c * s->d + pos % s->d;
            double lse = loss_lse(dt, in, base, s->c, s->d);
            for (int64_t j = 0; j < s->c; j++)
                flt_onnx_set_f64(dt, lpo, base + j * s->d, flt_onnx_get_f64(dt, in, base + j * s->d) - lse);
        }
    }
    if (p->red == LOSS_NONE) {
        for (long long pos = lo; pos < hi; pos++) {
            double l, wt;
            loss_at(k, in, tg, w, pos, &l, &wt);
            flt_onnx_set_f64(dt, out, pos, l);
        }
        return;
    }
    if (ith != 0) return;
    double sum = 0, wsum = 0;
    for (int64_t pos = 0; pos < npos; pos++) {
        double l, wt;
        loss_at(k, in, tg, w, pos, &l, &wt);
        sum += l;
        wsum += wt;
    }
    /* mean divides by the total weight: the count of non-ignored positions without weights */
    flt_onnx_set_f64(dt, out, 0, p->red == LOSS_SUM ? sum : sum / wsum);
}

/* ---- GatherElements ---- */

typedef struct gel_params {
    int64_t axis;
} gel_params;

typedef struct gel_state {
    int axis;
    int64_t dstride[MAXD]; /* data strides */
} gel_state;

static flintrt_status parse_gel(const flt_onnx_node *n, void *pp, flt_err *e) {
    gel_params *p = pp;
    return flt_onnx_attr_int(n, "axis", 0, &p->axis, e);
}

static flintrt_status infer_gel(flt_onnx_infer *x) {
    const gel_params *p = x->k->params;
    const flt_onnx_tinfo *d = &x->k->in[0], *ix = &x->k->in[1];
    if (ix->dtype != FLT_I32 && ix->dtype != FLT_I64)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "indices must be int32 or int64");
    if (d->ndim < 1 || ix->ndim != d->ndim)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "data (rank %d) and indices (rank %d) need the same rank >= 1",
                             d->ndim, ix->ndim);
    int ax;
    FLT_ONNX_TRY(flt_onnx_axis(x, p->axis, d->ndim, &ax));
    for (int i = 0; i < d->ndim; i++)
        if (i != ax && ix->dims[i] > d->dims[i])
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "indices dim %d is %" PRId64 ", data has only %" PRId64, i,
                                 ix->dims[i], d->dims[i]);
    int64_t n_idx = flt_onnx_nelem(ix), dim = d->dims[ax];
    if (n_idx > 0 && dim == 0) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "indexing an empty axis");
    const void *iv = n_idx ? flt_onnx_input_value(x, 1) : NULL;
    if (n_idx && !iv) return flt_onnx_need(x, 1);
    for (int64_t j = 0; j < n_idx; j++) {
        int64_t v = ix->dtype == FLT_I64 ? flt_ld_i64(iv, j) : flt_ld_i32(iv, j);
        if (v < -dim || v >= dim)
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "index %" PRId64 " is outside [-%" PRId64 ", %" PRId64 ")",
                                 v, dim, dim);
    }
    gel_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->axis = ax;
    flt_onnx_strides(d, s->dstride);
    x->k->state = s;
    flt_onnx_tinfo *o = &x->k->out[0];
    *o = *ix;
    o->dtype = d->dtype;
    return FLINTRT_OK;
}

static void k_gel(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const gel_state *s = k->state;
    const flt_onnx_tinfo *ix = &k->in[1];
    const char *data = flt_onnx_in(g, n, 0);
    const void *idx = flt_onnx_in(g, n, 1);
    char *out = flt_onnx_out(g, n, 0);
    size_t es = flt_onnx_dtype_size(k->out[0].dtype);
    int64_t dim = k->in[0].dims[s->axis];
    bool i64 = ix->dtype == FLT_I64;
    long long lo, hi;
    flt_split(flt_onnx_nelem(ix), ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t v = i64 ? flt_ld_i64(idx, t) : flt_ld_i32(idx, t);
        if (v < 0) v += dim;
        if (v < 0 || v >= dim) { memset(out + (size_t)t * es, 0, es); continue; } /* refused at infer */
        int64_t off = 0, rem = t;
        for (int i = ix->ndim - 1; i >= 0; i--) {
            int64_t c = rem % ix->dims[i];
            rem /= ix->dims[i];
            off += (i == s->axis ? v : c) * s->dstride[i];
        }
        memcpy(out + (size_t)t * es, data + (size_t)off * es, es);
    }
}

#define LOSS_ROW(op, parser) {"", op, 12, 0, sizeof(loss_params), parser, infer_loss, {op, k_loss}, NULL, 0, 2}

const flt_onnx_op flt_onnx_ops_loss[] = {
    LOSS_ROW("NegativeLogLikelihoodLoss", parse_nll),
    LOSS_ROW("SoftmaxCrossEntropyLoss", parse_sce),
    {"", "GatherElements", 11, 0, sizeof(gel_params), parse_gel, infer_gel, {"GatherElements", k_gel}, NULL, 0, 2},
};
const int flt_onnx_ops_loss_count = (int)(sizeof flt_onnx_ops_loss / sizeof flt_onnx_ops_loss[0]);
