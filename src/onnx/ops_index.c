/* ONNX indexing, selection and sorting operators: ScatterElements, Scatter
 * (its deprecated form), ScatterND, GatherND, OneHot, Compress, NonZero, TopK,
 * Unique, ReverseSequence.
 *
 * Index inputs are hostile data: every index is checked in infer against the
 * dimension it addresses (negative values wrap once), so a bad index is a
 * clear error naming the position. That needs the index VALUES, so infer asks
 * for them (the framework runs the pending segment first when they are
 * computed). Kernels still bounds-check every index and skip what is out of
 * range, so no path reads or writes outside a tensor.
 *
 * Scatters: each thread owns a contiguous range of output elements, copies
 * data into it, then applies every update in input order but only where the
 * target lies in its range: duplicates resolve in input order and the bits
 * never depend on the thread count. Sorting ops use a total order (numbers
 * ascending, NaN above everything and equal to NaN) with the position as the
 * tiebreak, so equal values keep their input order. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

/* ---- shared helpers ---- */

static void out_shape(flt_onnx_infer *x, int i, flt_dtype dt, int ndim, const int64_t *dims) {
    flt_onnx_tinfo *o = &x->k->out[i];
    memset(o, 0, sizeof *o);
    o->dtype = dt;
    o->ndim = ndim;
    for (int d = 0; d < ndim; d++) o->dims[d] = dims[d];
}

static flintrt_status check_size(flt_onnx_infer *x, int i) {
    size_t b;
    if (!flt_onnx_tinfo_bytes(&x->k->out[i], &b)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output %d is too large", i);
    return FLINTRT_OK;
}

static bool present(const flt_onnx_infer *x, int i) { return i < x->k->n_in && x->k->in[i].ndim >= 0; }

/* The host-readable data of an int32/int64 index input (asks for it if not computed yet). */
static flintrt_status index_data(flt_onnx_infer *x, int i, const void **p) {
    const flt_onnx_tinfo *t = &x->k->in[i];
    if (!present(x, i)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d is missing", i);
    if (t->dtype != FLT_I64 && t->dtype != FLT_I32)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d (indices) must be int32 or int64", i);
    *p = flt_onnx_input_value(x, i);
    if (!*p) return flt_onnx_need(x, i);
    return FLINTRT_OK;
}

static inline int64_t ld_index(flt_dtype d, const void *p, int64_t i) {
    return d == FLT_I64 ? flt_ld_i64(p, i) : flt_ld_i32(p, i);
}

/* idx wrapped into [0, dim), or -1 when it is outside [-dim, dim). */
static inline int64_t wrap_index(int64_t idx, int64_t dim) {
    if (idx < 0) idx += dim;
    return idx >= 0 && idx < dim ? idx : -1;
}

static flintrt_status bad_index(flt_onnx_infer *x, int64_t v, int64_t pos, int64_t dim) {
    return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT,
                         "index %" PRId64 " at position %" PRId64 " is outside [-%" PRId64 ", %" PRId64 ")", v, pos, dim,
                         dim);
}

/* Total order on elements: -1, 0, 1. Floats: NaN above every number, NaNs equal. */
static int cmp_elem(flt_dtype d, const void *pa, int64_t i, const void *pb, int64_t j) {
    if (flt_onnx_is_float(d)) {
        double a = flt_onnx_get_f64(d, pa, i), b = flt_onnx_get_f64(d, pb, j);
        bool na = a != a, nb = b != b;
        if (na || nb) return na == nb ? 0 : na ? 1 : -1;
        return a < b ? -1 : a > b ? 1 : 0;
    }
    if (d == FLT_U64) {
        uint64_t a = (uint64_t)flt_onnx_get_i64(d, pa, i), b = (uint64_t)flt_onnx_get_i64(d, pb, j);
        return a < b ? -1 : a > b ? 1 : 0;
    }
    int64_t a = flt_onnx_get_i64(d, pa, i), b = flt_onnx_get_i64(d, pb, j);
    return a < b ? -1 : a > b ? 1 : 0;
}

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

/* dst[di] = dst[di] (op) src[si], in the element type (integers wrap; floats round once). */
static void combine(flt_dtype d, int red, void *dst, int64_t di, const void *src, int64_t si) {
    if (flt_onnx_is_float(d)) {
        double a = flt_onnx_get_f64(d, dst, di), b = flt_onnx_get_f64(d, src, si), r;
        switch (red) {
        case RED_ADD: r = a + b; break;
        case RED_MUL: r = a * b; break;
        case RED_MAX: r = a != a || b != b ? NAN : a > b ? a : b; break;
        case RED_MIN: r = a != a || b != b ? NAN : a < b ? a : b; break;
        default: r = b; break;
        }
        flt_onnx_set_f64(d, dst, di, r);
        return;
    }
    uint64_t a = (uint64_t)flt_onnx_get_i64(d, dst, di), b = (uint64_t)flt_onnx_get_i64(d, src, si), r;
    bool gt = d == FLT_U64 ? a > b : (int64_t)a > (int64_t)b;
    switch (red) {
    case RED_ADD: r = a + b; break;
    case RED_MUL: r = a * b; break;
    case RED_MAX: r = gt ? a : b; break;
    case RED_MIN: r = gt ? b : a; break;
    default: r = b; break;
    }
    flt_onnx_set_i64(d, dst, di, (int64_t)r);
}

static void apply_update(flt_dtype d, int red, size_t es, char *out, int64_t oi, const char *upd, int64_t ui) {
    if (red == RED_NONE) memcpy(out + (size_t)oi * es, upd + (size_t)ui * es, es);
    else combine(d, red, out, oi, upd, ui);
}

static flintrt_status parse_reduction(const flt_onnx_node *n, int *red, flt_err *e) {
    char s[16];
    *red = RED_NONE;
    if (n->opset < 16) {   /* the attribute appeared in opset 16: ignoring it would change results */
        if (flt_onnx_node_attr(n, "reduction")) return flt_fail(e, FLINTRT_ERR_FORMAT, "attribute 'reduction' needs opset 16");
        return FLINTRT_OK;
    }
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "reduction", "none", s, sizeof s, e));
    if (!strcmp(s, "none")) *red = RED_NONE;
    else if (!strcmp(s, "add")) *red = RED_ADD;
    else if (!strcmp(s, "mul")) *red = RED_MUL;
    else if (!strcmp(s, "max") && n->opset >= 18) *red = RED_MAX;
    else if (!strcmp(s, "min") && n->opset >= 18) *red = RED_MIN;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "reduction '%s' is not one this opset defines", s);
    return FLINTRT_OK;
}

/* ---- ScatterElements, Scatter ---- */

typedef struct scatter_params {
    int64_t axis;
    int red;
} scatter_params;

static flintrt_status parse_scatter(const flt_onnx_node *n, void *p, flt_err *e) {
    scatter_params *s = p;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "axis", 0, &s->axis, e));
    return parse_reduction(n, &s->red, e);
}

typedef struct scatter_state {
    int axis, rank;
    int64_t idx_dims[MAXD];       /* shape of indices and updates */
    int64_t stride[MAXD];         /* data strides */
    int64_t n_upd, axis_dim;
} scatter_state;

static flintrt_status infer_scatter_elements(flt_onnx_infer *x) {
    const scatter_params *sp = x->k->params;
    const flt_onnx_tinfo *d = &x->k->in[0], *ix = &x->k->in[1], *up = &x->k->in[2];
    if (!present(x, 2)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "needs data, indices and updates");
    const void *iv;
    FLT_ONNX_TRY(index_data(x, 1, &iv));
    if (d->ndim < 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "data must have rank >= 1");
    if (ix->ndim != d->ndim || up->ndim != d->ndim)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "data, indices and updates must have the same rank");
    if (up->dtype != d->dtype) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "updates and data differ in type");
    int ax;
    FLT_ONNX_TRY(flt_onnx_axis(x, sp->axis, d->ndim, &ax));
    scatter_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    for (int i = 0; i < d->ndim; i++) {
        if (ix->dims[i] != up->dims[i])
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "indices and updates differ in dimension %d", i);
        if (i != ax && ix->dims[i] > d->dims[i])
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "indices dimension %d (%" PRId64 ") exceeds data's (%" PRId64 ")", i,
                                 ix->dims[i], d->dims[i]);
        s->idx_dims[i] = ix->dims[i];
    }
    s->axis = ax;
    s->rank = d->ndim;
    s->n_upd = flt_onnx_nelem(ix);
    s->axis_dim = d->dims[ax];
    flt_onnx_strides(d, s->stride);
    for (int64_t p = 0; p < s->n_upd; p++) {
        int64_t v = ld_index(ix->dtype, iv, p);
        if (wrap_index(v, s->axis_dim) < 0) return bad_index(x, v, p, s->axis_dim);
    }
    x->k->out[0] = *d;
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_scatter_elements(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const scatter_state *s = k->state;
    const scatter_params *sp = k->params;
    flt_dtype dt = k->out[0].dtype;
    size_t es = flt_onnx_dtype_size(dt);
    const char *data = flt_onnx_in(g, n, 0), *upd = flt_onnx_in(g, n, 2);
    const void *idx = flt_onnx_in(g, n, 1);
    flt_dtype it = k->in[1].dtype;
    char *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    if (hi <= lo) return;
    memcpy(out + (size_t)lo * es, data + (size_t)lo * es, (size_t)(hi - lo) * es);
    int64_t c[MAXD] = {0};
    for (int64_t p = 0; p < s->n_upd; p++) {
        int64_t v = wrap_index(ld_index(it, idx, p), s->axis_dim);
        if (v >= 0) {
            int64_t off = 0;
            for (int d = 0; d < s->rank; d++) off += (d == s->axis ? v : c[d]) * s->stride[d];
            if (off >= lo && off < hi) apply_update(dt, sp->red, es, out, off, upd, p);
        }
        for (int d = s->rank - 1; d >= 0; d--) {
            if (++c[d] < s->idx_dims[d]) break;
            c[d] = 0;
        }
    }
}

/* ---- ScatterND ---- */

typedef struct nd_state {
    int m;                        /* index tuple length */
    int64_t n_tuples, inner;      /* tuples; elements per addressed slice */
    int64_t dim[MAXD], stride[MAXD]; /* the m addressed dims of data and their strides (elements) */
    int64_t batch_tuples, batch_stride; /* GatherND batch_dims: tuples per batch, data elements per batch */
} nd_state;

static flintrt_status parse_scatternd(const flt_onnx_node *n, void *p, flt_err *e) {
    return parse_reduction(n, &((scatter_params *)p)->red, e);
}

/* Check every index tuple of input 1 against dims [b, b+m) of data (shape d). */
static flintrt_status check_tuples(flt_onnx_infer *x, const void *iv, const nd_state *s) {
    flt_dtype it = x->k->in[1].dtype;
    for (int64_t t = 0; t < s->n_tuples; t++)
        for (int j = 0; j < s->m; j++) {
            int64_t v = ld_index(it, iv, t * s->m + j);
            if (wrap_index(v, s->dim[j]) < 0) return bad_index(x, v, t * s->m + j, s->dim[j]);
        }
    return FLINTRT_OK;
}

static flintrt_status infer_scatternd(flt_onnx_infer *x) {
    const flt_onnx_tinfo *d = &x->k->in[0], *ix = &x->k->in[1], *up = &x->k->in[2];
    if (!present(x, 2)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "needs data, indices and updates");
    const void *iv;
    FLT_ONNX_TRY(index_data(x, 1, &iv));
    if (d->ndim < 1 || ix->ndim < 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "data and indices must have rank >= 1");
    if (up->dtype != d->dtype) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "updates and data differ in type");
    int64_t m = ix->dims[ix->ndim - 1];
    if (m < 1 || m > d->ndim)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "index tuples have %" PRId64 " entries for data of rank %d", m, d->ndim);
    /* updates: indices.shape[:-1] + data.shape[m:] */
    int ur = ix->ndim - 1 + d->ndim - (int)m;
    bool ok = up->ndim == ur;
    for (int i = 0; ok && i < ix->ndim - 1; i++) ok = up->dims[i] == ix->dims[i];
    for (int i = (int)m; ok && i < d->ndim; i++) ok = up->dims[ix->ndim - 1 + i - (int)m] == d->dims[i];
    if (!ok) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "updates shape is not indices.shape[:-1] + data.shape[%" PRId64 ":]", m);
    nd_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    int64_t st[MAXD];
    flt_onnx_strides(d, st);
    s->m = (int)m;
    s->n_tuples = flt_onnx_nelem(ix) / m;
    s->inner = 1;
    for (int i = (int)m; i < d->ndim; i++) s->inner *= d->dims[i];
    for (int j = 0; j < s->m; j++) { s->dim[j] = d->dims[j]; s->stride[j] = st[j]; }
    FLT_ONNX_TRY(check_tuples(x, iv, s));
    x->k->out[0] = *d;
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_scatternd(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const nd_state *s = k->state;
    const scatter_params *sp = k->params;
    flt_dtype dt = k->out[0].dtype, it = k->in[1].dtype;
    size_t es = flt_onnx_dtype_size(dt);
    const char *data = flt_onnx_in(g, n, 0), *upd = flt_onnx_in(g, n, 2);
    const void *idx = flt_onnx_in(g, n, 1);
    char *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    if (hi <= lo) return;
    memcpy(out + (size_t)lo * es, data + (size_t)lo * es, (size_t)(hi - lo) * es);
    for (int64_t t = 0; t < s->n_tuples; t++) {
        int64_t base = 0;
        bool ok = true;
        for (int j = 0; j < s->m && ok; j++) {
            int64_t v = wrap_index(ld_index(it, idx, t * s->m + j), s->dim[j]);
            ok = v >= 0;
            base += v * s->stride[j];
        }
        if (!ok) continue;
        int64_t a = base > lo ? base : lo, b = base + s->inner < hi ? base + s->inner : hi;
        for (int64_t e = a; e < b; e++) apply_update(dt, sp->red, es, out, e, upd, t * s->inner + (e - base));
    }
}

/* ---- GatherND ---- */

typedef struct batch_params {
    int64_t batch_dims;
} batch_params;

static flintrt_status parse_gathernd(const flt_onnx_node *n, void *p, flt_err *e) {
    return flt_onnx_attr_int(n, "batch_dims", 0, &((batch_params *)p)->batch_dims, e);
}

static flintrt_status infer_gathernd(flt_onnx_infer *x) {
    const batch_params *bp = x->k->params;
    const flt_onnx_tinfo *d = &x->k->in[0], *ix = &x->k->in[1];
    const void *iv;
    FLT_ONNX_TRY(index_data(x, 1, &iv));
    int r = d->ndim, q = ix->ndim;
    if (r < 1 || q < 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "data and indices must have rank >= 1");
    int64_t b = bp->batch_dims;
    if (b < 0 || b >= (r < q ? r : q))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "batch_dims %" PRId64 " must be in [0, %d)", b, r < q ? r : q);
    for (int i = 0; i < b; i++)
        if (d->dims[i] != ix->dims[i])
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "batch dimension %d differs between data and indices", i);
    int64_t m = ix->dims[q - 1];
    if (m < 1 || m > r - b)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "index tuples have %" PRId64 " entries, at most %" PRId64 " allowed", m,
                             r - b);
    int orank = q - 1 + r - (int)b - (int)m;
    if (orank > MAXD) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "%d dimensions", orank);
    int64_t od[MAXD];
    int on = 0;
    for (int i = 0; i < q - 1; i++) od[on++] = ix->dims[i];
    for (int i = (int)(b + m); i < r; i++) od[on++] = d->dims[i];
    out_shape(x, 0, d->dtype, on, od);
    nd_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    int64_t st[MAXD];
    flt_onnx_strides(d, st);
    s->m = (int)m;
    s->n_tuples = flt_onnx_nelem(ix) / m;
    s->inner = 1;
    for (int i = (int)(b + m); i < r; i++) s->inner *= d->dims[i];
    for (int j = 0; j < s->m; j++) { s->dim[j] = d->dims[b + j]; s->stride[j] = st[b + j]; }
    int64_t nb = 1;
    for (int i = 0; i < b; i++) nb *= d->dims[i];
    s->batch_tuples = nb ? s->n_tuples / nb : 0;
    s->batch_stride = b ? st[b - 1] : 0;
    FLT_ONNX_TRY(check_tuples(x, iv, s));
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_gathernd(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const nd_state *s = k->state;
    flt_dtype it = k->in[1].dtype;
    size_t es = flt_onnx_dtype_size(k->out[0].dtype), rb = (size_t)s->inner * es;
    const char *data = flt_onnx_in(g, n, 0);
    const void *idx = flt_onnx_in(g, n, 1);
    char *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(s->n_tuples, ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t off = s->batch_tuples ? (t / s->batch_tuples) * s->batch_stride : 0;
        bool ok = true;
        for (int j = 0; j < s->m && ok; j++) {
            int64_t v = wrap_index(ld_index(it, idx, t * s->m + j), s->dim[j]);
            ok = v >= 0;
            off += v * s->stride[j];
        }
        char *dst = out + (size_t)t * rb;
        if (!ok) memset(dst, 0, rb);   /* unreachable after infer's check; never a stray read */
        else if (rb) memcpy(dst, data + (size_t)off * es, rb);
    }
}

/* ---- OneHot ---- */

typedef struct axis_params {
    int64_t axis;
    bool has_axis;
} axis_params;

static flintrt_status parse_axis_m1(const flt_onnx_node *n, void *p, flt_err *e) {
    axis_params *a = p;
    a->has_axis = flt_onnx_node_attr(n, "axis") != NULL;
    return flt_onnx_attr_int(n, "axis", -1, &a->axis, e);
}

typedef struct onehot_state {
    int64_t depth, inner;
    bool wrap_negative;
} onehot_state;

static flintrt_status infer_onehot(flt_onnx_infer *x) {
    const axis_params *ap = x->k->params;
    const flt_onnx_tinfo *ix = &x->k->in[0], *vals = &x->k->in[2];
    if (!present(x, 2)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "needs indices, depth and values");
    if (flt_onnx_nelem(vals) != 2) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "values must have 2 elements (off, on)");
    double dv;
    int64_t cnt;
    FLT_ONNX_TRY(flt_onnx_input_f64(x, 1, &dv, &cnt, 1));
    if (cnt != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "depth must have one element");
    if (!(dv >= 0 && dv < 9.0e18)) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "depth %g is not a valid size", dv);
    int r = ix->ndim + 1;
    if (r > MAXD) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "%d dimensions", r);
    int ax;
    FLT_ONNX_TRY(flt_onnx_axis(x, ap->axis, r, &ax));
    onehot_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->depth = (int64_t)dv;
    s->wrap_negative = x->opset >= 11;
    s->inner = 1;
    int64_t od[MAXD];
    for (int i = 0, j = 0; i < r; i++) {
        if (i == ax) { od[i] = s->depth; continue; }
        od[i] = ix->dims[j++];
        if (i > ax) s->inner *= od[i];
    }
    out_shape(x, 0, vals->dtype, r, od);
    FLT_ONNX_TRY(check_size(x, 0));
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_onehot(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const onehot_state *s = k->state;
    flt_dtype it = k->in[0].dtype;
    size_t es = flt_onnx_dtype_size(k->out[0].dtype);
    const void *idx = flt_onnx_in(g, n, 0);
    const char *vals = flt_onnx_in(g, n, 2);
    char *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long e = lo; e < hi; e++) {
        int64_t in = e % s->inner, dpos = (e / s->inner) % s->depth, o = e / s->inner / s->depth;
        int64_t v = flt_onnx_get_i64(it, idx, o * s->inner + in);
        if (v < 0 && s->wrap_negative) v += s->depth;   /* outside [-depth, depth): all off */
        memcpy(out + (size_t)e * es, vals + (v == dpos ? es : 0), es);
    }
}

/* ---- Compress ---- */

typedef struct select_state {
    int64_t outer, dim, inner, n_sel;
    int64_t *sel;                 /* selected positions along the axis */
} select_state;

static flintrt_status infer_compress(flt_onnx_infer *x) {
    const axis_params *ap = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0], *c = &x->k->in[1];
    if (!present(x, 1)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "needs input and condition");
    if (c->ndim != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "condition must be 1-D");
    const void *cv = flt_onnx_input_value(x, 1);
    if (!cv) return flt_onnx_need(x, 1);
    select_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    int ax = -1;
    s->outer = 1;
    s->inner = 1;
    if (ap->has_axis) {
        FLT_ONNX_TRY(flt_onnx_axis(x, ap->axis, in->ndim, &ax));
        for (int i = 0; i < ax; i++) s->outer *= in->dims[i];
        for (int i = ax + 1; i < in->ndim; i++) s->inner *= in->dims[i];
        s->dim = in->dims[ax];
    } else {
        s->dim = flt_onnx_nelem(in);
    }
    int64_t nc = c->dims[0];
    if (nc > s->dim)
        return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "condition has %" PRId64 " entries for a dimension of %" PRId64,
                             nc, s->dim);
    s->sel = flt_onnx_alloc(x, (size_t)(nc ? nc : 1) * sizeof *s->sel);
    if (!s->sel) return x->e->status;
    for (int64_t i = 0; i < nc; i++)
        if (flt_onnx_get_f64(c->dtype, cv, i) != 0) s->sel[s->n_sel++] = i;
    if (ax < 0) {
        out_shape(x, 0, in->dtype, 1, &s->n_sel);
    } else {
        x->k->out[0] = *in;
        x->k->out[0].dims[ax] = s->n_sel;
    }
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_compress(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const select_state *s = k->state;
    size_t es = flt_onnx_dtype_size(k->out[0].dtype), rb = (size_t)s->inner * es;
    const char *in = flt_onnx_in(g, n, 0);
    char *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(s->outer * s->n_sel, ith, nth, &lo, &hi);
    for (long long r = lo; r < hi && rb; r++) {
        int64_t o = r / s->n_sel, j = s->sel[r % s->n_sel];
        memcpy(out + (size_t)r * rb, in + (size_t)(o * s->dim + j) * rb, rb);
    }
}

/* ---- NonZero (computed in infer: its shape is its value) ---- */

static flintrt_status infer_nonzero(flt_onnx_infer *x) {
    const flt_onnx_tinfo *in = &x->k->in[0];
    const void *v = flt_onnx_input_value(x, 0);
    if (!v) return flt_onnx_need(x, 0);
    int64_t n = flt_onnx_nelem(in), nz = 0;
    int r = in->ndim ? in->ndim : 1;   /* a scalar counts as one element of a 1-D tensor */
    for (int64_t i = 0; i < n; i++) nz += flt_onnx_get_f64(in->dtype, v, i) != 0;
    int64_t od[2] = {r, nz};
    out_shape(x, 0, FLT_I64, 2, od);
    FLT_ONNX_TRY(check_size(x, 0));
    int64_t *o = flt_onnx_alloc(x, (size_t)(r * nz > 0 ? r * nz : 1) * 8);
    if (!o) return x->e->status;
    int64_t j = 0;
    for (int64_t i = 0; i < n; i++) {
        if (flt_onnx_get_f64(in->dtype, v, i) == 0) continue;
        int64_t rem = i;
        for (int d = in->ndim - 1; d >= 0; d--) {
            o[d * nz + j] = rem % in->dims[d];
            rem /= in->dims[d];
        }
        if (!in->ndim) o[j] = 0;
        j++;
    }
    flt_onnx_set_output(x, 0, o);
    return FLINTRT_OK;
}

/* ---- TopK ---- */

typedef struct topk_params {
    int64_t axis, k, largest, sorted;
} topk_params;

static flintrt_status parse_topk(const flt_onnx_node *n, void *p, flt_err *e) {
    topk_params *t = p;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "axis", -1, &t->axis, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "k", -1, &t->k, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "largest", 1, &t->largest, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "sorted", 1, &t->sorted, e));
    if (n->opset < 10 && t->k < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "attribute k is required (and >= 0)");
    if (n->opset < 11 && !t->largest) return flt_fail(e, FLINTRT_ERR_FORMAT, "largest = 0 needs opset 11");
    return FLINTRT_OK;
}

typedef struct topk_state {
    int64_t outer, dim, inner, k;
    bool largest;
} topk_state;

static flintrt_status infer_topk(flt_onnx_infer *x) {
    const topk_params *tp = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0];
    int64_t k = tp->k;
    if (x->opset >= 10) {
        const int64_t *kv;
        int64_t nk;
        FLT_ONNX_TRY(flt_onnx_input_ints(x, 1, &kv, &nk));
        if (nk != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "k must have one element, has %" PRId64, nk);
        k = kv[0];
    }
    int ax;
    FLT_ONNX_TRY(flt_onnx_axis(x, tp->axis, in->ndim, &ax));
    if (in->ndim < 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must have rank >= 1");
    if (k < 0 || k > in->dims[ax])
        return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "k = %" PRId64 " is outside [0, %" PRId64 "]", k, in->dims[ax]);
    topk_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->outer = 1;
    s->inner = 1;
    for (int i = 0; i < ax; i++) s->outer *= in->dims[i];
    for (int i = ax + 1; i < in->ndim; i++) s->inner *= in->dims[i];
    s->dim = in->dims[ax];
    s->k = k;
    s->largest = tp->largest != 0;
    x->k->out[0] = *in;
    x->k->out[0].dims[ax] = k;
    x->k->out[1] = x->k->out[0];
    x->k->out[1].dtype = FLT_I64;
    size_t b;
    if (!flt_onnx_tinfo_bytes(&x->k->out[1], &b)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    x->k->scratch_bytes = b;   /* one heap of k positions per slice */
    x->k->state = s;
    return FLINTRT_OK;
}

typedef struct topk_view {
    flt_dtype dt;
    const void *v;
    int64_t base, stride;
    bool largest;
} topk_view;

/* Position a precedes b in the result: better value, then the lower position. */
static bool topk_before(const topk_view *t, int64_t a, int64_t b) {
    int c = cmp_elem(t->dt, t->v, t->base + a * t->stride, t->v, t->base + b * t->stride);
    if (c) return t->largest ? c > 0 : c < 0;
    return a < b;
}

/* Heap whose root is the position that comes LAST among those kept. */
static void heap_down(const topk_view *t, int64_t *h, int64_t n, int64_t i) {
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && topk_before(t, h[w], h[l])) w = l;
        if (r < n && topk_before(t, h[w], h[r])) w = r;
        if (w == i) return;
        int64_t tmp = h[i]; h[i] = h[w]; h[w] = tmp;
        i = w;
    }
}

static void heap_up(const topk_view *t, int64_t *h, int64_t i) {
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (!topk_before(t, h[p], h[i])) return;
        int64_t tmp = h[i]; h[i] = h[p]; h[p] = tmp;
        i = p;
    }
}

static void k_topk(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const topk_state *s = k->state;
    flt_dtype dt = k->in[0].dtype;
    size_t es = flt_onnx_dtype_size(dt);
    const char *in = flt_onnx_in(g, n, 0);
    char *vals = flt_onnx_out(g, n, 0);
    int64_t *idx = flt_onnx_out(g, n, 1);
    int64_t *scratch = flt_onnx_scratch(g, n);
    if (!s->k) return;
    long long lo, hi;
    flt_split(s->outer * s->inner, ith, nth, &lo, &hi);
    for (long long sl = lo; sl < hi; sl++) {
        int64_t o = sl / s->inner, i = sl % s->inner;
        topk_view t = {dt, in, o * s->dim * s->inner + i, s->inner, s->largest};
        int64_t *h = scratch + sl * s->k, size = 0;
        for (int64_t j = 0; j < s->dim; j++) {
            if (size < s->k) {
                h[size] = j;
                heap_up(&t, h, size++);
            } else if (topk_before(&t, j, h[0])) {
                h[0] = j;
                heap_down(&t, h, size, 0);
            }
        }
        /* pop the last-ranked first: fills the result from its end */
        for (int64_t r = s->k - 1; r >= 0; r--) {
            int64_t j = h[0];
            h[0] = h[--size];
            heap_down(&t, h, size, 0);
            int64_t oi = (o * s->k + r) * s->inner + i;
            idx[oi] = j;
            memcpy(vals + (size_t)oi * es, in + (size_t)(t.base + j * t.stride) * es, es);
        }
    }
}

/* ---- Unique (computed in infer) ---- */

typedef struct unique_params {
    int64_t axis, sorted;
    bool has_axis;
} unique_params;

static flintrt_status parse_unique(const flt_onnx_node *n, void *p, flt_err *e) {
    unique_params *u = p;
    u->has_axis = flt_onnx_node_attr(n, "axis") != NULL;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "axis", 0, &u->axis, e));
    return flt_onnx_attr_int(n, "sorted", 1, &u->sorted, e);
}

typedef struct unique_view {
    flt_dtype dt;
    const void *v;
    int64_t outer, dim, inner;
} unique_view;

/* Compare items (elements, or slices along the axis in C order). */
static int unique_cmp(const unique_view *u, int64_t a, int64_t b) {
    for (int64_t o = 0; o < u->outer; o++)
        for (int64_t i = 0; i < u->inner; i++) {
            int c = cmp_elem(u->dt, u->v, (o * u->dim + a) * u->inner + i, u->v, (o * u->dim + b) * u->inner + i);
            if (c) return c;
        }
    return 0;
}

/* Stable bottom-up merge sort of item ids by value. */
static void unique_sort(const unique_view *u, int64_t *a, int64_t *tmp, int64_t n) {
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n, i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = unique_cmp(u, a[j], a[i]) < 0 ? a[j++] : a[i++];
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        memcpy(a, tmp, (size_t)n * sizeof *a);
    }
}

static flintrt_status infer_unique(flt_onnx_infer *x) {
    const unique_params *up = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0];
    const void *v = flt_onnx_input_value(x, 0);
    if (!v) return flt_onnx_need(x, 0);
    unique_view u = {in->dtype, v, 1, flt_onnx_nelem(in), 1};
    int ax = -1;
    if (up->has_axis) {
        FLT_ONNX_TRY(flt_onnx_axis(x, up->axis, in->ndim, &ax));
        u.dim = in->dims[ax];
        for (int i = 0; i < ax; i++) u.outer *= in->dims[i];
        for (int i = ax + 1; i < in->ndim; i++) u.inner *= in->dims[i];
    }
    int64_t n = u.dim;
    size_t nb = (size_t)(n ? n : 1) * sizeof(int64_t);
    int64_t *order = flt_onnx_alloc(x, nb), *tmp = flt_onnx_alloc(x, nb), *group = flt_onnx_alloc(x, nb);
    int64_t *first = flt_onnx_alloc(x, nb), *counts = flt_onnx_alloc(x, nb), *pos = flt_onnx_alloc(x, nb);
    if (!order || !tmp || !group || !first || !counts || !pos) return x->e->status;
    for (int64_t i = 0; i < n; i++) order[i] = i;
    unique_sort(&u, order, tmp, n);
    /* groups in sorted order; group[item] = its group, first[g] = its lowest item */
    int64_t ng = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!i || unique_cmp(&u, order[i - 1], order[i])) first[ng++] = order[i];
        group[order[i]] = ng - 1;
    }
    /* pos[g]: the group's place in the output */
    if (up->sorted) {
        for (int64_t gi = 0; gi < ng; gi++) pos[gi] = gi;
    } else {
        int64_t next = 0;
        for (int64_t i = 0; i < n; i++)
            if (first[group[i]] == i) pos[group[i]] = next++;
    }
    int64_t *o_idx = flt_onnx_alloc(x, (size_t)(ng ? ng : 1) * 8), *o_inv = flt_onnx_alloc(x, nb);
    int64_t *o_cnt = flt_onnx_alloc(x, (size_t)(ng ? ng : 1) * 8);
    if (!o_idx || !o_inv || !o_cnt) return x->e->status;
    for (int64_t gi = 0; gi < ng; gi++) counts[gi] = 0;
    for (int64_t i = 0; i < n; i++) counts[group[i]]++;
    for (int64_t gi = 0; gi < ng; gi++) { o_idx[pos[gi]] = first[gi]; o_cnt[pos[gi]] = counts[gi]; }
    for (int64_t i = 0; i < n; i++) o_inv[i] = pos[group[i]];
    /* Y */
    if (ax < 0) out_shape(x, 0, in->dtype, 1, &ng);
    else { x->k->out[0] = *in; x->k->out[0].dims[ax] = ng; }
    size_t yb, es = flt_onnx_dtype_size(in->dtype);
    if (!flt_onnx_tinfo_bytes(&x->k->out[0], &yb)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    char *y = flt_onnx_alloc(x, yb ? yb : 1);
    if (!y) return x->e->status;
    for (int64_t o = 0; o < u.outer; o++)
        for (int64_t p = 0; p < ng; p++) {
            size_t rb = (size_t)u.inner * es;
            if (rb) memcpy(y + (size_t)(o * ng + p) * rb, (const char *)v + (size_t)(o * u.dim + o_idx[p]) * rb, rb);
        }
    out_shape(x, 1, FLT_I64, 1, &ng);
    out_shape(x, 2, FLT_I64, 1, &n);
    out_shape(x, 3, FLT_I64, 1, &ng);
    const void *outs[4] = {y, o_idx, o_inv, o_cnt};
    for (int i = 0; i < x->k->n_out && i < 4; i++) flt_onnx_set_output(x, i, outs[i]);
    return FLINTRT_OK;
}

/* ---- ReverseSequence ---- */

typedef struct revseq_params {
    int64_t batch_axis, time_axis;
} revseq_params;

static flintrt_status parse_revseq(const flt_onnx_node *n, void *p, flt_err *e) {
    revseq_params *r = p;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "batch_axis", 1, &r->batch_axis, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "time_axis", 0, &r->time_axis, e));
    if (!((r->batch_axis == 0 && r->time_axis == 1) || (r->batch_axis == 1 && r->time_axis == 0)))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "batch_axis and time_axis must be 0 and 1 in some order");
    return FLINTRT_OK;
}

typedef struct revseq_state {
    int64_t d0, d1, inner;
} revseq_state;

static flintrt_status infer_revseq(flt_onnx_infer *x) {
    const revseq_params *rp = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0], *sl = &x->k->in[1];
    const void *lv;
    FLT_ONNX_TRY(index_data(x, 1, &lv));
    if (in->ndim < 2) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must have rank >= 2");
    int64_t nb = in->dims[rp->batch_axis], nt = in->dims[rp->time_axis];
    if (sl->ndim != 1 || sl->dims[0] != nb)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "sequence_lens must have shape [%" PRId64 "]", nb);
    for (int64_t b = 0; b < nb; b++) {
        int64_t len = ld_index(sl->dtype, lv, b);
        if (len < 0 || len > nt)
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "sequence_lens[%" PRId64 "] = %" PRId64 " is outside [0, %" PRId64 "]",
                                 b, len, nt);
    }
    revseq_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->d0 = in->dims[0];
    s->d1 = in->dims[1];
    s->inner = 1;
    for (int i = 2; i < in->ndim; i++) s->inner *= in->dims[i];
    x->k->out[0] = *in;
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_revseq(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const revseq_state *s = k->state;
    const revseq_params *rp = k->params;
    size_t es = flt_onnx_dtype_size(k->out[0].dtype), rb = (size_t)s->inner * es;
    const char *in = flt_onnx_in(g, n, 0);
    const void *lens = flt_onnx_in(g, n, 1);
    char *out = flt_onnx_out(g, n, 0);
    int64_t nt = rp->time_axis == 0 ? s->d0 : s->d1;
    long long lo, hi;
    flt_split(s->d0 * s->d1, ith, nth, &lo, &hi);
    for (long long r = lo; r < hi && rb; r++) {
        int64_t i0 = r / s->d1, i1 = r % s->d1;
        int64_t b = rp->batch_axis == 0 ? i0 : i1, t = rp->batch_axis == 0 ? i1 : i0;
        int64_t len = ld_index(k->in[1].dtype, lens, b);
        len = len < 0 ? 0 : len > nt ? nt : len;
        int64_t st = t < len ? len - 1 - t : t;
        int64_t src = rp->batch_axis == 0 ? i0 * s->d1 + st : st * s->d1 + i1;
        memcpy(out + (size_t)r * rb, in + (size_t)src * rb, rb);
    }
}

const flt_onnx_op flt_onnx_ops_index[] = {
    {"", "Scatter", 9, 10, sizeof(scatter_params), parse_scatter, infer_scatter_elements, {"Scatter", k_scatter_elements}, NULL, 0, 3},
    {"", "ScatterElements", 11, 0, sizeof(scatter_params), parse_scatter, infer_scatter_elements,
     {"ScatterElements", k_scatter_elements}, NULL, 0, 3},
    {"", "ScatterND", 11, 0, sizeof(scatter_params), parse_scatternd, infer_scatternd, {"ScatterND", k_scatternd}, NULL, 0, 3},
    {"", "GatherND", 11, 0, sizeof(batch_params), parse_gathernd, infer_gathernd, {"GatherND", k_gathernd}, NULL, 0, 2},
    {"", "OneHot", 9, 0, sizeof(axis_params), parse_axis_m1, infer_onehot, {"OneHot", k_onehot}, NULL, 0, 3},
    {"", "Compress", 9, 0, sizeof(axis_params), parse_axis_m1, infer_compress, {"Compress", k_compress}, NULL, 0, 2},
    {"", "NonZero", 9, 0, 0, NULL, infer_nonzero, {"NonZero", NULL}, NULL, 0, 1},
    {"", "TopK", 1, 0, sizeof(topk_params), parse_topk, infer_topk, {"TopK", k_topk}, NULL, 0, 1},
    {"", "Unique", 11, 0, sizeof(unique_params), parse_unique, infer_unique, {"Unique", NULL}, NULL, 0, 1},
    {"", "ReverseSequence", 10, 0, sizeof(revseq_params), parse_revseq, infer_revseq, {"ReverseSequence", k_revseq}, NULL, 0, 2},
};
const int flt_onnx_ops_index_count = (int)(sizeof flt_onnx_ops_index / sizeof flt_onnx_ops_index[0]);
