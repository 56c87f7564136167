/* ONNX reductions: the Reduce* family, ArgMax/ArgMin, and the normalizing
 * ops over one axis (Softmax, LogSoftmax, Hardmax).
 *
 * Each output element is reduced by one thread, in input order, in double for
 * floats (int64 for integer Sum/Prod/Max/Min), so results do not depend on the
 * thread count. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

typedef enum red_kind {
    RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_PROD, RED_L1, RED_L2, RED_LOGSUM, RED_LOGSUMEXP, RED_SUMSQUARE,
    RED_ARGMAX, RED_ARGMIN,
} red_kind;

typedef struct red_params {
    red_kind kind;
    const int64_t *axes;
    int64_t n_axes;
    int64_t keepdims, noop_empty, select_last, axis;
} red_params;

typedef struct red_state {
    int n_keep, n_red;
    int64_t keep_dims[MAXD], keep_stride[MAXD]; /* output-order kept dims and their input strides */
    int64_t red_dims[MAXD], red_stride[MAXD];
    int64_t red_count;
} red_state;

static void k_reduce(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const red_params *p = k->params;
    const red_state *s = k->state;
    flt_dtype it = k->in[0].dtype, ot = k->out[0].dtype;
    const void *in = flt_onnx_in(g, n, 0);
    void *out = flt_onnx_out(g, n, 0);
    int64_t nout = flt_onnx_nelem(&k->out[0]);
    bool fl = flt_onnx_is_float(it);
    long long lo, hi;
    flt_split(nout, ith, nth, &lo, &hi);
    for (long long o = lo; o < hi; o++) {
        int64_t base = 0, rem = o;
        for (int d = s->n_keep - 1; d >= 0; d--) {
            base += (rem % s->keep_dims[d]) * s->keep_stride[d];
            rem /= s->keep_dims[d];
        }
        double acc = 0;
        int64_t iacc = 0, best_i = 0;
        bool first = true;
        double best = 0;
        int64_t cnt[MAXD] = {0};
        for (int64_t r = 0; r < s->red_count; r++) {
            int64_t off = base;
            for (int d = 0; d < s->n_red; d++) off += cnt[d] * s->red_stride[d];
            for (int d = s->n_red - 1; d >= 0; d--) {
                if (++cnt[d] < s->red_dims[d]) break;
                cnt[d] = 0;
            }
            if (p->kind == RED_ARGMAX || p->kind == RED_ARGMIN) {
                double v = flt_onnx_get_f64(it, in, off);
                bool better = first || (p->kind == RED_ARGMAX ? (p->select_last ? v >= best : v > best)
                                                              : (p->kind == RED_ARGMIN && (p->select_last ? v <= best : v < best)));
                if (better) { best = v; best_i = r; }
                first = false;
                continue;
            }
            if (fl) {
                double v = flt_onnx_get_f64(it, in, off);
                switch (p->kind) {
                case RED_SUM: case RED_MEAN: case RED_LOGSUM: acc += v; break;
                case RED_MAX: acc = first || v > acc || v != v ? v : acc; break;
                case RED_MIN: acc = first || v < acc || v != v ? v : acc; break;
                case RED_PROD: acc = first ? v : acc * v; break;
                case RED_L1: acc += fabs(v); break;
                case RED_L2: case RED_SUMSQUARE: acc += v * v; break;
                case RED_LOGSUMEXP: acc += exp(v); break; /* refined below */
                default: break;
                }
            } else {
                int64_t v = flt_onnx_get_i64(it, in, off);
                switch (p->kind) {
                case RED_SUM: case RED_MEAN: iacc = (int64_t)((uint64_t)iacc + (uint64_t)v); break;
                case RED_MAX: iacc = first || v > iacc ? v : iacc; break;
                case RED_MIN: iacc = first || v < iacc ? v : iacc; break;
                case RED_PROD: iacc = first ? v : (int64_t)((uint64_t)iacc * (uint64_t)v); break;
                case RED_L1: iacc += v < 0 ? -v : v; break;
                case RED_SUMSQUARE: case RED_L2: iacc += v * v; break;
                default: break;
                }
            }
            first = false;
        }
        if (p->kind == RED_ARGMAX || p->kind == RED_ARGMIN) {
            /* the index along the (single) reduced axis */
            ((int64_t *)out)[o] = best_i;
            continue;
        }
        if (p->kind == RED_LOGSUMEXP && fl) {
            /* stable form: max + log(sum(exp(v - max))) */
            double mx = -INFINITY;
            int64_t c2[MAXD] = {0};
            for (int64_t r = 0; r < s->red_count; r++) {
                int64_t off = base;
                for (int d = 0; d < s->n_red; d++) off += c2[d] * s->red_stride[d];
                for (int d = s->n_red - 1; d >= 0; d--) { if (++c2[d] < s->red_dims[d]) break; c2[d] = 0; }
                double v = flt_onnx_get_f64(it, in, off);
                if (v > mx) mx = v;
            }
            double sum = 0;
            memset(c2, 0, sizeof c2);
            for (int64_t r = 0; r < s->red_count; r++) {
                int64_t off = base;
                for (int d = 0; d < s->n_red; d++) off += c2[d] * s->red_stride[d];
                for (int d = s->n_red - 1; d >= 0; d--) { if (++c2[d] < s->red_dims[d]) break; c2[d] = 0; }
                sum += exp(flt_onnx_get_f64(it, in, off) - mx);
            }
            acc = s->red_count ? mx + log(sum) : -INFINITY;
        }
        if (fl) {
            if (s->red_count == 0) {
                acc = p->kind == RED_PROD ? 1 : p->kind == RED_MAX ? -INFINITY : p->kind == RED_MIN ? INFINITY
                    : p->kind == RED_LOGSUM || p->kind == RED_LOGSUMEXP ? -INFINITY : p->kind == RED_MEAN ? NAN : 0;
            } else if (p->kind == RED_MEAN) acc /= (double)s->red_count;
            else if (p->kind == RED_L2) acc = sqrt(acc);
            else if (p->kind == RED_LOGSUM) acc = log(acc);
            flt_onnx_set_f64(ot, out, o, acc);
        } else {
            if (s->red_count == 0) iacc = p->kind == RED_PROD ? 1 : 0;
            if (p->kind == RED_MEAN && s->red_count) iacc /= s->red_count;
            if (p->kind == RED_L2) iacc = (int64_t)sqrt((double)iacc);
            flt_onnx_set_i64(ot, out, o, iacc);
        }
    }
}

static flintrt_status infer_reduce(flt_onnx_infer *x) {
    const red_params *p = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0];
    int r = in->ndim;
    bool red[MAXD] = {false};
    bool arg = p->kind == RED_ARGMAX || p->kind == RED_ARGMIN;
    if (in->dtype == FLT_BOOL) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "bool input");
    if (arg) {
        int a;
        FLT_ONNX_TRY(flt_onnx_axis(x, p->axis, r, &a));
        red[a] = true;
    } else {
        const int64_t *axes = p->axes;
        int64_t na = p->n_axes;
        bool from_input = (p->kind == RED_SUM && x->opset >= 13) || x->opset >= 18;
        if (from_input) {
            na = -1;
            if (x->k->n_in > 1 && x->k->in[1].ndim >= 0) FLT_ONNX_TRY(flt_onnx_input_ints(x, 1, &axes, &na));
        }
        if (na <= 0) {
            if (from_input && p->noop_empty) {
                /* identity */
            } else {
                for (int i = 0; i < r; i++) red[i] = true;
            }
        } else {
            for (int64_t i = 0; i < na; i++) {
                int a;
                FLT_ONNX_TRY(flt_onnx_axis(x, axes[i], r, &a));
                red[a] = true;
            }
        }
    }
    red_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    int64_t st[MAXD];
    flt_onnx_strides(in, st);
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = arg ? FLT_I64 : in->dtype;
    o->ndim = 0;
    s->red_count = 1;
    for (int i = 0; i < r; i++) {
        if (red[i]) {
            s->red_dims[s->n_red] = in->dims[i];
            s->red_stride[s->n_red++] = st[i];
            s->red_count *= in->dims[i];
            if (p->keepdims) {
                o->dims[o->ndim++] = 1;
                s->keep_dims[s->n_keep] = 1;
                s->keep_stride[s->n_keep++] = 0;
            }
        } else {
            o->dims[o->ndim++] = in->dims[i];
            s->keep_dims[s->n_keep] = in->dims[i];
            s->keep_stride[s->n_keep++] = st[i];
        }
    }
    x->k->state = s;
    return FLINTRT_OK;
}

static flintrt_status parse_red_common(const flt_onnx_node *n, red_params *p, flt_err *e) {
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, "axes", &p->axes, &p->n_axes, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "keepdims", 1, &p->keepdims, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "noop_with_empty_axes", 0, &p->noop_empty, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "select_last_index", 0, &p->select_last, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "axis", 0, &p->axis, e));
    return FLINTRT_OK;
}

#define RED_PARSER(name, KIND)                                                          \
    static flintrt_status parse_##name(const flt_onnx_node *n, void *pp, flt_err *e) { \
        red_params *p = pp;                                                             \
        p->kind = KIND;                                                                 \
        return parse_red_common(n, p, e);                                               \
    }
RED_PARSER(sum, RED_SUM)
RED_PARSER(mean, RED_MEAN)
RED_PARSER(max, RED_MAX)
RED_PARSER(min, RED_MIN)
RED_PARSER(prod, RED_PROD)
RED_PARSER(l1, RED_L1)
RED_PARSER(l2, RED_L2)
RED_PARSER(logsum, RED_LOGSUM)
RED_PARSER(logsumexp, RED_LOGSUMEXP)
RED_PARSER(sumsquare, RED_SUMSQUARE)
RED_PARSER(argmax, RED_ARGMAX)
RED_PARSER(argmin, RED_ARGMIN)

/* ---- Softmax, LogSoftmax, Hardmax ---- */

typedef enum sm_kind { SM_SOFTMAX, SM_LOGSOFTMAX, SM_HARDMAX } sm_kind;

typedef struct sm_params {
    sm_kind kind;
    int64_t axis;
    bool has_axis;
} sm_params;

typedef struct sm_state {
    int64_t outer, len, inner;
} sm_state;

static void k_softmax(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const sm_params *p = k->params;
    const sm_state *s = k->state;
    flt_dtype dt = k->in[0].dtype;
    const void *in = flt_onnx_in(g, n, 0);
    void *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(s->outer * s->inner, ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t o = t / s->inner, i = t % s->inner, base = o * s->len * s->inner + i;
        double mx = -INFINITY;
        int64_t arg = 0;
        for (int64_t j = 0; j < s->len; j++) {
            double v = flt_onnx_get_f64(dt, in, base + j * s->inner);
            if (v > mx || j == 0) { if (v > mx) arg = j; mx = v > mx ? v : mx; }
        }
        if (p->kind == SM_HARDMAX) {
            for (int64_t j = 0; j < s->len; j++) flt_onnx_set_f64(dt, out, base + j * s->inner, j == arg ? 1.0 : 0.0);
            continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < s->len; j++) sum += exp(flt_onnx_get_f64(dt, in, base + j * s->inner) - mx);
        for (int64_t j = 0; j < s->len; j++) {
            double v = flt_onnx_get_f64(dt, in, base + j * s->inner) - mx;
            flt_onnx_set_f64(dt, out, base + j * s->inner, p->kind == SM_SOFTMAX ? exp(v) / sum : v - log(sum));
        }
    }
}

static flintrt_status infer_softmax(flt_onnx_infer *x) {
    const sm_params *p = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0];
    if (!flt_onnx_is_float(in->dtype)) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "non-float input");
    int r = in->ndim;
    int64_t axis = p->has_axis ? p->axis : x->opset >= 13 ? -1 : 1;
    sm_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->outer = s->len = s->inner = 1;
    if (r == 0) {
        /* a scalar: one element along a unit axis */
    } else if (x->opset >= 13) {
        int a;
        FLT_ONNX_TRY(flt_onnx_axis(x, axis, r, &a));
        for (int i = 0; i < r; i++) {
            if (i < a) s->outer *= in->dims[i];
            else if (i == a) s->len = in->dims[i];
            else s->inner *= in->dims[i];
        }
    } else {
        int64_t a = axis < 0 ? axis + r : axis;
        if (a < 0 || a > r) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "axis out of range");
        for (int i = 0; i < r; i++) {
            if (i < a) s->outer *= in->dims[i];
            else s->len *= in->dims[i];
        }
    }
    x->k->out[0] = *in;
    x->k->state = s;
    return FLINTRT_OK;
}

#define SM_PARSER(name, KIND)                                                           \
    static flintrt_status parse_##name(const flt_onnx_node *n, void *pp, flt_err *e) { \
        sm_params *p = pp;                                                              \
        p->kind = KIND;                                                                 \
        p->has_axis = flt_onnx_node_attr(n, "axis") != NULL;                            \
        return flt_onnx_attr_int(n, "axis", 0, &p->axis, e);                            \
    }
SM_PARSER(softmax, SM_SOFTMAX)
SM_PARSER(logsoftmax, SM_LOGSOFTMAX)
SM_PARSER(hardmax, SM_HARDMAX)

#define RED_ROW(op, since, parser) {"", op, since, 0, sizeof(red_params), parser, infer_reduce, {op, k_reduce}, NULL, 0, 1}
#define SM_ROW(op, parser) {"", op, 1, 0, sizeof(sm_params), parser, infer_softmax, {op, k_softmax}, NULL, 0, 1}

const flt_onnx_op flt_onnx_ops_reduce[] = {
    RED_ROW("ReduceSum", 1, parse_sum),       RED_ROW("ReduceMean", 1, parse_mean),
    RED_ROW("ReduceMax", 1, parse_max),       RED_ROW("ReduceMin", 1, parse_min),
    RED_ROW("ReduceProd", 1, parse_prod),     RED_ROW("ReduceL1", 1, parse_l1),
    RED_ROW("ReduceL2", 1, parse_l2),         RED_ROW("ReduceLogSum", 1, parse_logsum),
    RED_ROW("ReduceLogSumExp", 1, parse_logsumexp), RED_ROW("ReduceSumSquare", 1, parse_sumsquare),
    RED_ROW("ArgMax", 1, parse_argmax),       RED_ROW("ArgMin", 1, parse_argmin),
    SM_ROW("Softmax", parse_softmax),         SM_ROW("LogSoftmax", parse_logsoftmax),
    SM_ROW("Hardmax", parse_hardmax),
};
const int flt_onnx_ops_reduce_count = (int)(sizeof flt_onnx_ops_reduce / sizeof flt_onnx_ops_reduce[0]);
