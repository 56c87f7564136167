/* ONNX generator and small data operators: Trilu, Tile, CumSum, EyeLike,
 * Shrink, Range.
 *
 * Scalar kernels, generic over dtypes through op.h's element access; every
 * kernel splits output elements (or independent lines) among threads, so the
 * bits never depend on the thread count. Integer arithmetic wraps as the
 * element type does; float arithmetic rounds to the element type at every step
 * (CumSum accumulates in its own type, as the ONNX reference does). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

static bool present(const flt_onnx_infer *x, int i) { return i < x->k->n_in && x->k->in[i].ndim >= 0; }

/* A scalar integer input (0-D or one element), e.g. Trilu's k, CumSum's axis. */
static flintrt_status scalar_int(flt_onnx_infer *x, int i, const char *what, int64_t *out) {
    const int64_t *v;
    int64_t n;
    FLT_ONNX_TRY(flt_onnx_input_ints(x, i, &v, &n));
    if (n != 1 || x->k->in[i].ndim > 1)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "%s must be a scalar (has %" PRId64 " elements)", what, n);
    *out = v[0];
    return FLINTRT_OK;
}

/* ---- Trilu ---- */

typedef struct trilu_params {
    int64_t upper;
} trilu_params;

static flintrt_status parse_trilu(const flt_onnx_node *n, void *p, flt_err *e) {
    return flt_onnx_attr_int(n, "upper", 1, &((trilu_params *)p)->upper, e);
}

typedef struct trilu_state {
    int64_t rows, cols, k;
    bool upper;
} trilu_state;

static flintrt_status infer_trilu(flt_onnx_infer *x) {
    const flt_onnx_tinfo *in = &x->k->in[0];
    if (in->ndim < 2) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must have rank >= 2");
    trilu_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->k = 0;
    if (present(x, 1)) FLT_ONNX_TRY(scalar_int(x, 1, "k", &s->k));
    s->upper = ((const trilu_params *)x->k->params)->upper != 0;
    s->rows = in->dims[in->ndim - 2];
    s->cols = in->dims[in->ndim - 1];
    x->k->out[0] = *in;
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_trilu(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const trilu_state *s = k->state;
    size_t es = flt_onnx_dtype_size(k->out[0].dtype);
    const char *in = flt_onnx_in(g, n, 0);
    char *out = flt_onnx_out(g, n, 0);
    if (!s->cols) return;
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long e = lo; e < hi; e++) {
        int64_t j = e % s->cols, i = (e / s->cols) % s->rows;
        /* diagonal offset j - i, compared without overflow (|j - i| < 2^62) */
        bool keep = s->upper ? j - i >= s->k : j - i <= s->k;
        if (keep) memcpy(out + (size_t)e * es, in + (size_t)e * es, es);
        else memset(out + (size_t)e * es, 0, es);   /* zero bits are 0 / 0.0 / false in every dtype */
    }
}

/* ---- Tile ---- */

typedef struct tile_state {
    int64_t in_strides[MAXD];
} tile_state;

static flintrt_status infer_tile(flt_onnx_infer *x) {
    const flt_onnx_tinfo *in = &x->k->in[0];
    const int64_t *rep;
    int64_t nr;
    FLT_ONNX_TRY(flt_onnx_input_ints(x, 1, &rep, &nr));
    if (x->k->in[1].ndim != 1 || nr != in->ndim)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "repeats must be 1-D with %d entries, has %" PRId64, in->ndim, nr);
    flt_onnx_tinfo *o = &x->k->out[0];
    *o = *in;
    for (int i = 0; i < in->ndim; i++) {
        if (rep[i] < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "repeats[%d] = %" PRId64 " is negative", i, rep[i]);
        if (!flt_mul_i64(in->dims[i], rep[i], &o->dims[i])) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    }
    size_t b;
    if (!flt_onnx_tinfo_bytes(o, &b)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    tile_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    flt_onnx_strides(in, s->in_strides);
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_tile(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const tile_state *s = k->state;
    const flt_onnx_tinfo *it = &k->in[0], *o = &k->out[0];
    size_t es = flt_onnx_dtype_size(o->dtype);
    const char *in = flt_onnx_in(g, n, 0);
    char *out = flt_onnx_out(g, n, 0);
    int r = o->ndim;
    int64_t inner = r ? o->dims[r - 1] : 1, iinner = r ? it->dims[r - 1] : 1;
    if (!inner) return;
    long long lo, hi;
    flt_split(flt_onnx_nelem(o) / inner, ith, nth, &lo, &hi);
    for (long long row = lo; row < hi; row++) {
        int64_t rem = row, off = 0;
        for (int d = r - 2; d >= 0; d--) {
            off += (rem % o->dims[d]) % it->dims[d] * s->in_strides[d];
            rem /= o->dims[d];
        }
        char *dst = out + (size_t)(row * inner) * es;
        const char *src = in + (size_t)off * es;
        for (int64_t j = 0; j < inner; j += iinner) memcpy(dst + (size_t)j * es, src, (size_t)iinner * es);
    }
}

/* ---- CumSum ---- */

typedef struct cumsum_params {
    int64_t exclusive, reverse;
} cumsum_params;

static flintrt_status parse_cumsum(const flt_onnx_node *n, void *p, flt_err *e) {
    cumsum_params *c = p;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "exclusive", 0, &c->exclusive, e));
    return flt_onnx_attr_int(n, "reverse", 0, &c->reverse, e);
}

typedef struct line_state {
    int64_t outer, dim, inner;
} line_state;

static flintrt_status infer_cumsum(flt_onnx_infer *x) {
    const flt_onnx_tinfo *in = &x->k->in[0];
    static const flt_dtype ok[] = {FLT_F32, FLT_F64, FLT_F16, FLT_BF16, FLT_I32, FLT_I64, FLT_U32, FLT_U64};
    FLT_ONNX_TRY(flt_onnx_want_type(x, 0, ok, (int)(sizeof ok / sizeof ok[0])));
    int64_t a = 0;
    FLT_ONNX_TRY(scalar_int(x, 1, "axis", &a));
    int ax;
    FLT_ONNX_TRY(flt_onnx_axis(x, a, in->ndim, &ax));
    if (in->ndim < 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must have rank >= 1");
    line_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->outer = 1;
    s->inner = 1;
    for (int i = 0; i < ax; i++) s->outer *= in->dims[i];
    for (int i = ax + 1; i < in->ndim; i++) s->inner *= in->dims[i];
    s->dim = in->dims[ax];
    x->k->out[0] = *in;
    x->k->state = s;
    return FLINTRT_OK;
}

/* out[oi] = out[pi] + in[ii] (or in[ii] alone when pi < 0; 0 when ii < 0 too). */
static void cum_step(flt_dtype d, void *out, int64_t oi, int64_t pi, const void *in, int64_t ii) {
    if (flt_onnx_is_float(d)) {
        double a = pi >= 0 ? flt_onnx_get_f64(d, out, pi) : 0, b = ii >= 0 ? flt_onnx_get_f64(d, in, ii) : 0;
        flt_onnx_set_f64(d, out, oi, a + b);
    } else {
        uint64_t a = pi >= 0 ? (uint64_t)flt_onnx_get_i64(d, out, pi) : 0;
        uint64_t b = ii >= 0 ? (uint64_t)flt_onnx_get_i64(d, in, ii) : 0;
        flt_onnx_set_i64(d, out, oi, (int64_t)(a + b));
    }
}

static void k_cumsum(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const line_state *s = k->state;
    const cumsum_params *cp = k->params;
    flt_dtype d = k->out[0].dtype;
    const void *in = flt_onnx_in(g, n, 0);
    void *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(s->outer * s->inner, ith, nth, &lo, &hi);
    for (long long line = lo; line < hi; line++) {
        int64_t base = (line / s->inner) * s->dim * s->inner + line % s->inner;
        for (int64_t t = 0; t < s->dim; t++) {
            int64_t pos = cp->reverse ? s->dim - 1 - t : t, prev = cp->reverse ? pos + 1 : pos - 1;
            int64_t oi = base + pos * s->inner, pi = t ? base + prev * s->inner : -1;
            int64_t ii = cp->exclusive ? (t ? pi : -1) : oi;
            cum_step(d, out, oi, pi, in, ii);
        }
    }
}

/* ---- EyeLike ---- */

typedef struct eye_params {
    int64_t dtype, k;
    bool has_dtype;
} eye_params;

static flintrt_status parse_eyelike(const flt_onnx_node *n, void *p, flt_err *e) {
    eye_params *y = p;
    y->has_dtype = flt_onnx_node_attr(n, "dtype") != NULL;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "dtype", 0, &y->dtype, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "k", 0, &y->k, e));
    flt_dtype dt;
    if (y->has_dtype && (y->dtype < INT32_MIN || y->dtype > INT32_MAX || !flt_onnx_dtype((int32_t)y->dtype, &dt)))
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "dtype %" PRId64 " is not supported", y->dtype);
    return FLINTRT_OK;
}

static flintrt_status infer_eyelike(flt_onnx_infer *x) {
    const eye_params *y = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0];
    if (in->ndim != 2) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must be 2-D, has rank %d", in->ndim);
    x->k->out[0] = *in;
    if (y->has_dtype) flt_onnx_dtype((int32_t)y->dtype, &x->k->out[0].dtype);
    return FLINTRT_OK;
}

static void k_eyelike(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const eye_params *y = k->params;
    flt_dtype d = k->out[0].dtype;
    int64_t cols = k->out[0].dims[1];
    void *out = flt_onnx_out(g, n, 0);
    if (!cols) return;
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long e = lo; e < hi; e++) flt_onnx_set_i64(d, out, e, e % cols - e / cols == y->k);
}

/* ---- Shrink ---- */

typedef struct shrink_params {
    float lambd, bias;
} shrink_params;

static flintrt_status parse_shrink(const flt_onnx_node *n, void *p, flt_err *e) {
    shrink_params *s = p;
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "lambd", 0.5f, &s->lambd, e));
    return flt_onnx_attr_float(n, "bias", 0.0f, &s->bias, e);
}

static flintrt_status infer_shrink(flt_onnx_infer *x) {
    if (x->k->in[0].dtype == FLT_BOOL) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "bool input");
    x->k->out[0] = x->k->in[0];
    return FLINTRT_OK;
}

static void k_shrink(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const shrink_params *sp = k->params;
    flt_dtype d = k->out[0].dtype;
    const void *in = flt_onnx_in(g, n, 0);
    void *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    if (d == FLT_F32) {   /* float arithmetic, as the reference computes it */
        for (long long i = lo; i < hi; i++) {
            float v = flt_ld_f32(in, i), r = v < -sp->lambd ? v + sp->bias : v > sp->lambd ? v - sp->bias : 0.0f;
            memcpy((char *)out + 4 * i, &r, 4);
        }
        return;
    }
    for (long long i = lo; i < hi; i++) {
        double v = flt_onnx_get_f64(d, in, i);
        flt_onnx_set_f64(d, out, i, v < -sp->lambd ? v + sp->bias : v > sp->lambd ? v - sp->bias : 0.0);
    }
}

/* ---- Range ---- */

typedef struct range_state {
    double start, delta;
    int64_t istart, idelta;
} range_state;

static flintrt_status infer_range(flt_onnx_infer *x) {
    static const flt_dtype ok[] = {FLT_F32, FLT_F64, FLT_I16, FLT_I32, FLT_I64};
    const flt_onnx_tinfo *t0 = &x->k->in[0];
    FLT_ONNX_TRY(flt_onnx_want_type(x, 0, ok, (int)(sizeof ok / sizeof ok[0])));
    const void *v[3];
    for (int i = 0; i < 3; i++) {
        const flt_onnx_tinfo *t = &x->k->in[i];
        if (!present(x, i) || t->dtype != t0->dtype || flt_onnx_nelem(t) != 1 || t->ndim > 1)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "start, limit and delta must be scalars of one type");
    }
    for (int i = 0; i < 3; i++)
        if (!(v[i] = flt_onnx_input_value(x, i))) return flt_onnx_need(x, i);
    range_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    int64_t n;
    if (flt_onnx_is_float(t0->dtype)) {
        double st = flt_onnx_get_f64(t0->dtype, v[0], 0), lim = flt_onnx_get_f64(t0->dtype, v[1], 0);
        double dl = flt_onnx_get_f64(t0->dtype, v[2], 0);
        if (dl == 0 || !isfinite(st) || !isfinite(lim) || !isfinite(dl))
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "range needs finite values and a nonzero delta");
        double c = ceil((lim - st) / dl);
        if (!(c < 9.0e18)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "range of %g elements", c);
        n = c > 0 ? (int64_t)c : 0;
        s->start = st;
        s->delta = dl;
    } else {
        int64_t st = flt_onnx_get_i64(t0->dtype, v[0], 0), lim = flt_onnx_get_i64(t0->dtype, v[1], 0);
        int64_t dl = flt_onnx_get_i64(t0->dtype, v[2], 0);
        if (dl == 0) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "delta is 0");
        /* exact element count in unsigned arithmetic (the difference may not fit int64) */
        uint64_t step = dl > 0 ? (uint64_t)dl : 0 - (uint64_t)dl;
        bool any = dl > 0 ? lim > st : st > lim;
        uint64_t span = dl > 0 ? (uint64_t)lim - (uint64_t)st : (uint64_t)st - (uint64_t)lim;
        uint64_t cnt = any ? (span - 1) / step + 1 : 0;
        if (cnt > (uint64_t)INT64_MAX) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "range too long");
        n = (int64_t)cnt;
        s->istart = st;
        s->idelta = dl;
    }
    flt_onnx_tinfo *o = &x->k->out[0];
    memset(o, 0, sizeof *o);
    o->dtype = t0->dtype;
    o->ndim = 1;
    o->dims[0] = n;
    size_t b;
    if (n < 0 || !flt_onnx_tinfo_bytes(o, &b)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_range(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const range_state *s = k->state;
    flt_dtype d = k->out[0].dtype;
    void *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(k->out[0].dims[0], ith, nth, &lo, &hi);
    for (long long i = lo; i < hi; i++) {
        if (flt_onnx_is_float(d)) flt_onnx_set_f64(d, out, i, s->start + (double)i * s->delta);
        else flt_onnx_set_i64(d, out, i, (int64_t)((uint64_t)s->istart + (uint64_t)i * (uint64_t)s->idelta));
    }
}

const flt_onnx_op flt_onnx_ops_misc[] = {
    {"", "Trilu", 14, 0, sizeof(trilu_params), parse_trilu, infer_trilu, {"Trilu", k_trilu}, NULL, 0, 1},
    {"", "Tile", 6, 0, 0, NULL, infer_tile, {"Tile", k_tile}, NULL, 0, 2},
    {"", "CumSum", 11, 0, sizeof(cumsum_params), parse_cumsum, infer_cumsum, {"CumSum", k_cumsum}, NULL, 0, 2},
    {"", "EyeLike", 9, 0, sizeof(eye_params), parse_eyelike, infer_eyelike, {"EyeLike", k_eyelike}, NULL, 0, 1},
    {"", "Shrink", 9, 0, sizeof(shrink_params), parse_shrink, infer_shrink, {"Shrink", k_shrink}, NULL, 0, 1},
    {"", "Range", 11, 0, 0, NULL, infer_range, {"Range", k_range}, NULL, 0, 3},
};
const int flt_onnx_ops_misc_count = (int)(sizeof flt_onnx_ops_misc / sizeof flt_onnx_ops_misc[0]);
