/* ONNX CNN normalizations and activations over channels: BatchNormalization
 * (inference, and training_mode with batch statistics and running-stat
 * outputs), InstanceNormalization, LRN, PRelu.
 *
 * Statistics and sums are taken in double, each by one thread in a fixed
 * order, so results do not depend on the thread count. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

typedef struct norm_params {
    float epsilon, momentum;
    int64_t training_mode, is_test, spatial;
    /* LRN */
    float alpha, beta, bias;
    int64_t size;
} norm_params;

typedef struct norm_state {
    int64_t N, C, S;       /* X as [N, C, S] */
    bool per_elem;         /* BatchNormalization with spatial=0: parameters are [C, S] */
    bool training;
} norm_state;

static flintrt_status parse_bn(const flt_onnx_node *n, void *pp, flt_err *e) {
    norm_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "epsilon", 1e-5f, &p->epsilon, e));
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "momentum", 0.9f, &p->momentum, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "training_mode", 0, &p->training_mode, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "is_test", 0, &p->is_test, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "spatial", 1, &p->spatial, e));
    if (!(p->epsilon >= 0) || !isfinite(p->momentum))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s '%s': bad epsilon or momentum", n->op_type, n->name);
    return FLINTRT_OK;
}

/* X is [N, C, ...] of a float type; fill s. */
static flintrt_status nc_shape(flt_onnx_infer *x, norm_state *s, int min_rank) {
    const flt_onnx_tinfo *X = &x->k->in[0];
    if (!flt_onnx_is_float(X->dtype)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X must be a float tensor");
    if (X->ndim < min_rank) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X needs rank >= %d, has %d", min_rank, X->ndim);
    s->N = X->dims[0];
    s->C = X->ndim > 1 ? X->dims[1] : 1;
    s->S = 1;
    for (int i = 2; i < X->ndim; i++) s->S *= X->dims[i];
    return FLINTRT_OK;
}

static flintrt_status infer_bn(flt_onnx_infer *x) {
    const norm_params *p = x->k->params;
    norm_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    FLT_ONNX_TRY(nc_shape(x, s, 2));
    const flt_onnx_tinfo *X = &x->k->in[0];
    int n_present = 0;
    for (int o = 1; o < x->k->n_out; o++) n_present += x->k->node->out[o] >= 0;
    s->training = x->opset >= 14 ? p->training_mode != 0 : (n_present > 0 && !p->is_test);
    for (int i = 1; i < 5; i++) {
        const flt_onnx_tinfo *t = &x->k->in[i];
        int64_t ne = flt_onnx_nelem(t);
        if (!flt_onnx_is_float(t->dtype))
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d must be a float tensor", i);
        if (ne == s->C * s->S && s->S > 1 && t->ndim > 1 && !s->training) s->per_elem = true;
        else if (t->ndim != 1 || ne != s->C)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d must have %" PRId64 " values (one per channel)", i, s->C);
    }
    if (s->per_elem)
        for (int i = 1; i < 5; i++)
            if (flt_onnx_nelem(&x->k->in[i]) != s->C * s->S)
                return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "inputs 1..4 must all be per channel or all per element");
    x->k->out[0] = *X;
    for (int o = 1; o < x->k->n_out; o++) {
        if (x->k->node->out[o] < 0) continue;
        if (!s->training) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "extra outputs need training mode");
        if (o > 4) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "too many outputs");
        x->k->out[o] = x->k->in[3];
    }
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_bn(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const norm_params *p = k->params;
    const norm_state *s = k->state;
    const void *X = flt_onnx_in(g, n, 0), *sc = flt_onnx_in(g, n, 1), *B = flt_onnx_in(g, n, 2);
    const void *mean = flt_onnx_in(g, n, 3), *var = flt_onnx_in(g, n, 4);
    void *Y = flt_onnx_out(g, n, 0);
    flt_dtype dt = k->in[0].dtype, pt[5];
    for (int i = 1; i < 5; i++) pt[i] = k->in[i].dtype;
    double eps = p->epsilon;
    long long lo, hi;
    if (!s->training) {
        flt_split(s->N * s->C, ith, nth, &lo, &hi);
        for (long long r = lo; r < hi; r++) {
            int64_t c = r % s->C, base = r * s->S;
            for (int64_t j = 0; j < s->S; j++) {
                int64_t q = s->per_elem ? c * s->S + j : c;
                double a = flt_onnx_get_f64(pt[1], sc, q) / sqrt(flt_onnx_get_f64(pt[4], var, q) + eps);
                double v = (flt_onnx_get_f64(dt, X, base + j) - flt_onnx_get_f64(pt[3], mean, q)) * a +
                           flt_onnx_get_f64(pt[2], B, q);
                flt_onnx_set_f64(dt, Y, base + j, v);
            }
        }
        return;
    }
    /* training: batch statistics per channel over N and the spatial dims */
    flt_split(s->C, ith, nth, &lo, &hi);
    double cnt = (double)(s->N * s->S);
    for (long long c = lo; c < hi; c++) {
        double sum = 0, sq = 0;
        for (int64_t b = 0; b < s->N; b++)
            for (int64_t j = 0; j < s->S; j++) sum += flt_onnx_get_f64(dt, X, (b * s->C + c) * s->S + j);
        double mu = cnt > 0 ? sum / cnt : 0;
        for (int64_t b = 0; b < s->N; b++)
            for (int64_t j = 0; j < s->S; j++) {
                double d = flt_onnx_get_f64(dt, X, (b * s->C + c) * s->S + j) - mu;
                sq += d * d;
            }
        double bv = cnt > 0 ? sq / cnt : 0;
        double a = flt_onnx_get_f64(pt[1], sc, c) / sqrt(bv + eps), bb = flt_onnx_get_f64(pt[2], B, c);
        for (int64_t b = 0; b < s->N; b++)
            for (int64_t j = 0; j < s->S; j++) {
                int64_t i = (b * s->C + c) * s->S + j;
                flt_onnx_set_f64(dt, Y, i, (flt_onnx_get_f64(dt, X, i) - mu) * a + bb);
            }
        double m = p->momentum;
        double rm = flt_onnx_get_f64(pt[3], mean, c) * m + mu * (1 - m);
        double rv = flt_onnx_get_f64(pt[4], var, c) * m + bv * (1 - m);
        const double vals[5] = {0, rm, rv, mu, bv};
        for (int o = 1; o < k->n_out && o < 5; o++)
            if (k->node->out[o] >= 0) flt_onnx_set_f64(k->out[o].dtype, flt_onnx_out(g, n, o), c, vals[o]);
    }
}

/* ---- InstanceNormalization ---- */

static flintrt_status parse_in(const flt_onnx_node *n, void *pp, flt_err *e) {
    norm_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "epsilon", 1e-5f, &p->epsilon, e));
    if (!(p->epsilon >= 0)) return flt_fail(e, FLINTRT_ERR_FORMAT, "%s '%s': bad epsilon", n->op_type, n->name);
    return FLINTRT_OK;
}

static flintrt_status infer_in(flt_onnx_infer *x) {
    norm_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    FLT_ONNX_TRY(nc_shape(x, s, 3));
    for (int i = 1; i < 3; i++) {
        const flt_onnx_tinfo *t = &x->k->in[i];
        if (t->dtype != x->k->in[0].dtype || t->ndim != 1 || t->dims[0] != s->C)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d must have %" PRId64 " values of X's type", i, s->C);
    }
    x->k->out[0] = x->k->in[0];
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_in(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const norm_params *p = k->params;
    const norm_state *s = k->state;
    const void *X = flt_onnx_in(g, n, 0), *sc = flt_onnx_in(g, n, 1), *B = flt_onnx_in(g, n, 2);
    void *Y = flt_onnx_out(g, n, 0);
    flt_dtype dt = k->in[0].dtype;
    long long lo, hi;
    flt_split(s->N * s->C, ith, nth, &lo, &hi);
    for (long long r = lo; r < hi; r++) {
        int64_t c = r % s->C, base = r * s->S;
        double sum = 0, sq = 0;
        for (int64_t j = 0; j < s->S; j++) sum += flt_onnx_get_f64(dt, X, base + j);
        double mu = s->S ? sum / (double)s->S : 0;
        for (int64_t j = 0; j < s->S; j++) {
            double d = flt_onnx_get_f64(dt, X, base + j) - mu;
            sq += d * d;
        }
        double var = s->S ? sq / (double)s->S : 0;
        double a = flt_onnx_get_f64(dt, sc, c) / sqrt(var + p->epsilon), b = flt_onnx_get_f64(dt, B, c);
        for (int64_t j = 0; j < s->S; j++) flt_onnx_set_f64(dt, Y, base + j, (flt_onnx_get_f64(dt, X, base + j) - mu) * a + b);
    }
}

/* ---- LRN ---- */

static flintrt_status parse_lrn(const flt_onnx_node *n, void *pp, flt_err *e) {
    norm_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "alpha", 1e-4f, &p->alpha, e));
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "beta", 0.75f, &p->beta, e));
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "bias", 1.0f, &p->bias, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "size", 0, &p->size, e));
    if (!flt_onnx_node_attr(n, "size") || p->size < 1 || p->size > ((int64_t)1 << 30))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s '%s': size must be given and positive", n->op_type, n->name);
    return FLINTRT_OK;
}

static flintrt_status infer_lrn(flt_onnx_infer *x) {
    norm_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    FLT_ONNX_TRY(nc_shape(x, s, 2));
    x->k->out[0] = x->k->in[0];
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_lrn(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const norm_params *p = k->params;
    const norm_state *s = k->state;
    const void *X = flt_onnx_in(g, n, 0);
    void *Y = flt_onnx_out(g, n, 0);
    flt_dtype dt = k->in[0].dtype;
    int64_t before = (p->size - 1) / 2, after = p->size - 1 - before;
    long long lo, hi;
    flt_split(s->N * s->C * s->S, ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t j = t % s->S, c = (t / s->S) % s->C, b = t / (s->S * s->C);
        int64_t c0 = c - before < 0 ? 0 : c - before, c1 = c + after >= s->C ? s->C - 1 : c + after;
        double sq = 0;
        for (int64_t q = c0; q <= c1; q++) {
            double v = flt_onnx_get_f64(dt, X, (b * s->C + q) * s->S + j);
            sq += v * v;
        }
        double den = pow((double)p->bias + (double)p->alpha / (double)p->size * sq, (double)p->beta);
        flt_onnx_set_f64(dt, Y, t, flt_onnx_get_f64(dt, X, t) / den);
    }
}

/* ---- PRelu ---- */

typedef struct prelu_state {
    int ndim;
    int64_t dims[MAXD], sstride[MAXD]; /* X's dims and slope's (broadcast) strides */
} prelu_state;

static flintrt_status infer_prelu(flt_onnx_infer *x) {
    const flt_onnx_tinfo *X = &x->k->in[0], *sl = &x->k->in[1];
    if (X->dtype != sl->dtype || X->dtype == FLT_BOOL || flt_onnx_is_unsigned(X->dtype))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X and slope must have the same signed type");
    prelu_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->ndim = X->ndim;
    memcpy(s->dims, X->dims, sizeof s->dims);
    flt_onnx_tinfo al = *sl;
    if (x->opset < 7 && flt_onnx_nelem(sl) != 1 && X->ndim >= 2 && sl->ndim + 1 <= X->ndim) {
        /* before opset 7 the slope is per channel: align it from axis 1 */
        al.ndim = X->ndim;
        al.dims[0] = 1;
        for (int i = 1; i < X->ndim; i++) al.dims[i] = i - 1 < sl->ndim ? sl->dims[i - 1] : 1;
    }
    flt_onnx_tinfo ob;
    FLT_ONNX_TRY(flt_onnx_broadcast(x, X, &al, &ob));
    if (ob.ndim != X->ndim || memcmp(ob.dims, X->dims, sizeof(int64_t) * (size_t)X->ndim))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "slope does not broadcast to X");
    flt_onnx_bcast_strides(&al, X, s->sstride);
    x->k->out[0] = *X;
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_prelu(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const prelu_state *s = k->state;
    const void *X = flt_onnx_in(g, n, 0), *S = flt_onnx_in(g, n, 1);
    void *Y = flt_onnx_out(g, n, 0);
    flt_dtype dt = k->in[0].dtype;
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t r = t, so = 0;
        for (int d = s->ndim - 1; d >= 0; d--) { so += (r % s->dims[d]) * s->sstride[d]; r /= s->dims[d]; }
        if (dt == FLT_F32) {
            float v = flt_ld_f32(X, t);
            ((float *)Y)[t] = v < 0 ? v * flt_ld_f32(S, so) : v;
        } else if (flt_onnx_is_float(dt)) {
            double v = flt_onnx_get_f64(dt, X, t);
            flt_onnx_set_f64(dt, Y, t, v < 0 ? v * flt_onnx_get_f64(dt, S, so) : v);
        } else {
            int64_t v = flt_onnx_get_i64(dt, X, t);
            flt_onnx_set_i64(dt, Y, t, v < 0 ? (int64_t)((uint64_t)v * (uint64_t)flt_onnx_get_i64(dt, S, so)) : v);
        }
    }
}

const flt_onnx_op flt_onnx_ops_nn_norm[] = {
    {"", "BatchNormalization", 1, 0, sizeof(norm_params), parse_bn, infer_bn, {"BatchNormalization", k_bn}, NULL, 0, 5},
    {"", "InstanceNormalization", 1, 0, sizeof(norm_params), parse_in, infer_in, {"InstanceNormalization", k_in}, NULL, 0, 3},
    {"", "LRN", 1, 0, sizeof(norm_params), parse_lrn, infer_lrn, {"LRN", k_lrn}, NULL, 0, 1},
    {"", "PRelu", 1, 0, 0, NULL, infer_prelu, {"PRelu", k_prelu}, NULL, 0, 2},
};
const int flt_onnx_ops_nn_norm_count = (int)(sizeof flt_onnx_ops_nn_norm / sizeof flt_onnx_ops_nn_norm[0]);
