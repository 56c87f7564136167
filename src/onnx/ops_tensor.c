/* ONNX tensor-manipulation operators: Identity, Constant, ConstantOfShape,
 * Shape, Size, Cast, CastLike, Reshape, Flatten, Squeeze, Unsqueeze,
 * Transpose, Concat, Split, Slice, Gather, Expand.
 *
 * Data movement is dtype-blind (elements are copied as bytes). Transpose,
 * Slice and Expand share one kernel: a strided gather where each output
 * dimension has an input stride (negative for reversed slices, 0 for
 * broadcast). Every kernel splits the output's elements (or outer rows) among
 * threads, so results never depend on the thread count. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

static flintrt_status same_as_input(flt_onnx_infer *x) {
    x->k->out[0] = x->k->in[0];
    return FLINTRT_OK;
}

static bool tinfo_ok(flt_onnx_infer *x, flt_onnx_tinfo *t) {
    size_t b;
    if (t->ndim > MAXD) return false;
    (void)x;
    return flt_onnx_tinfo_bytes(t, &b);
}

/* ---- strided gather (Transpose, Slice, Expand) ---- */

typedef struct strided_state {
    int64_t in_off;               /* elements */
    int64_t in_stride[MAXD];      /* elements per step of each output dim */
} strided_state;

static void k_strided(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const strided_state *s = k->state;
    const flt_onnx_tinfo *o = &k->out[0];
    const char *in = flt_onnx_in(g, n, 0);
    char *out = flt_onnx_out(g, n, 0);
    size_t es = flt_onnx_dtype_size(o->dtype);
    int r = o->ndim;
    int64_t inner = r ? o->dims[r - 1] : 1;
    int64_t rows = inner ? flt_onnx_nelem(o) / inner : 0;
    int64_t is = r ? s->in_stride[r - 1] : 0;
    long long lo, hi;
    flt_split(rows, ith, nth, &lo, &hi);
    for (long long row = lo; row < hi; row++) {
        int64_t rem = row, off = s->in_off;
        for (int d = r - 2; d >= 0; d--) {
            int64_t idx = rem % o->dims[d];
            rem /= o->dims[d];
            off += idx * s->in_stride[d];
        }
        char *dst = out + (size_t)(row * inner) * es;
        if (is == 1) {
            memcpy(dst, in + (size_t)off * es, (size_t)inner * es);
        } else {
            for (int64_t j = 0; j < inner; j++) memcpy(dst + (size_t)j * es, in + (size_t)(off + j * is) * es, es);
        }
    }
}

/* ---- Identity ---- */

static flintrt_status infer_identity(flt_onnx_infer *x) { return same_as_input(x); }

/* ---- Constant ---- */

typedef struct constant_params {
    flt_onnx_tensor t;            /* the value (attribute tensor, or built from value_float(s)/value_int(s)) */
} constant_params;

static flintrt_status parse_constant(const flt_onnx_node *n, void *p, flt_err *e) {
    constant_params *c = p;
    int found = 0;
    for (int i = 0; i < n->n_attr; i++) {
        const flt_onnx_attr *a = &n->attrs[i];
        flt_onnx_tensor *t = &c->t;
        if (!strcmp(a->name, "value") && a->type == FLT_ONNX_ATTR_TENSOR) {
            *t = *a->t;
        } else if (!strcmp(a->name, "value_float") && a->type == FLT_ONNX_ATTR_FLOAT) {
            memset(t, 0, sizeof *t);
            t->dtype = FLT_F32; t->onnx_type = FLT_ONNX_FLOAT; t->ndim = 0; t->nelem = 1; t->data = &a->f; t->nbytes = 4;
        } else if (!strcmp(a->name, "value_int") && a->type == FLT_ONNX_ATTR_INT) {
            memset(t, 0, sizeof *t);
            t->dtype = FLT_I64; t->onnx_type = FLT_ONNX_INT64; t->ndim = 0; t->nelem = 1; t->data = &a->i; t->nbytes = 8;
        } else if (!strcmp(a->name, "value_floats") && a->type == FLT_ONNX_ATTR_FLOATS) {
            memset(t, 0, sizeof *t);
            t->dtype = FLT_F32; t->onnx_type = FLT_ONNX_FLOAT; t->ndim = 1; t->dims[0] = a->n; t->nelem = a->n;
            t->data = a->floats ? (const void *)a->floats : (const void *)""; t->nbytes = (size_t)a->n * 4;
        } else if (!strcmp(a->name, "value_ints") && a->type == FLT_ONNX_ATTR_INTS) {
            memset(t, 0, sizeof *t);
            t->dtype = FLT_I64; t->onnx_type = FLT_ONNX_INT64; t->ndim = 1; t->dims[0] = a->n; t->nelem = a->n;
            t->data = a->ints ? (const void *)a->ints : (const void *)""; t->nbytes = (size_t)a->n * 8;
        } else if (!strcmp(a->name, "value_string") || !strcmp(a->name, "value_strings")) {
            return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "string constants are not supported by Flint");
        } else if (!strcmp(a->name, "sparse_value")) {
            return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "sparse constants are not supported");
        } else {
            return flt_fail(e, FLINTRT_ERR_FORMAT, "unexpected attribute '%s'", a->name);
        }
        found++;
    }
    if (found != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "needs exactly one value attribute, has %d", found);
    return FLINTRT_OK;
}

static flintrt_status infer_constant(flt_onnx_infer *x) {
    const constant_params *c = x->k->params;
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = c->t.dtype;
    o->ndim = c->t.ndim;
    memcpy(o->dims, c->t.dims, sizeof o->dims);
    flt_onnx_set_output(x, 0, c->t.data);
    return FLINTRT_OK;
}

/* ---- ConstantOfShape ---- */

typedef struct cos_params {
    flt_dtype dtype;
    uint8_t value[8];
} cos_params;

static flintrt_status parse_cos(const flt_onnx_node *n, void *p, flt_err *e) {
    cos_params *c = p;
    const flt_onnx_tensor *t;
    FLT_ONNX_TRY(flt_onnx_attr_tensor(n, "value", &t, e));
    c->dtype = FLT_F32;
    memset(c->value, 0, sizeof c->value);
    if (t) {
        if (t->nelem != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "value must have one element, has %" PRId64, t->nelem);
        c->dtype = t->dtype;
        memcpy(c->value, t->data, t->nbytes);
    }
    return FLINTRT_OK;
}

static flintrt_status infer_cos(flt_onnx_infer *x) {
    const cos_params *c = x->k->params;
    const int64_t *v;
    int64_t n;
    FLT_ONNX_TRY(flt_onnx_input_ints(x, 0, &v, &n));
    if (x->k->in[0].ndim != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "shape input must be 1-D");
    if (n > MAXD) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "%" PRId64 " dimensions", n);
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = c->dtype;
    o->ndim = (int)n;
    for (int i = 0; i < n; i++) {
        if (v[i] < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "negative dimension %" PRId64, v[i]);
        o->dims[i] = v[i];
    }
    if (!tinfo_ok(x, o)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    return FLINTRT_OK;
}

static void k_fill(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const cos_params *c = k->params;
    char *out = flt_onnx_out(g, n, 0);
    size_t es = flt_onnx_dtype_size(c->dtype);
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long i = lo; i < hi; i++) memcpy(out + (size_t)i * es, c->value, es);
}

/* ---- Shape, Size ---- */

typedef struct shape_params {
    int64_t start, end;
    bool has_end;
} shape_params;

static flintrt_status parse_shape(const flt_onnx_node *n, void *p, flt_err *e) {
    shape_params *s = p;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "start", 0, &s->start, e));
    s->has_end = flt_onnx_node_attr(n, "end") != NULL;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "end", 0, &s->end, e));
    return FLINTRT_OK;
}

static flintrt_status infer_shape(flt_onnx_infer *x) {
    const shape_params *s = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0];
    int64_t r = in->ndim, st = s->start, en = s->has_end ? s->end : r;
    if (st < 0) st += r;
    if (en < 0) en += r;
    st = st < 0 ? 0 : st > r ? r : st;
    en = en < 0 ? 0 : en > r ? r : en;
    int64_t n = en > st ? en - st : 0;
    int64_t *v = flt_onnx_alloc(x, (size_t)(n ? n : 1) * 8);
    if (!v) return x->e->status;
    for (int64_t i = 0; i < n; i++) v[i] = in->dims[st + i];
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = FLT_I64;
    o->ndim = 1;
    o->dims[0] = n;
    flt_onnx_set_output(x, 0, v);
    return FLINTRT_OK;
}

static flintrt_status infer_size(flt_onnx_infer *x) {
    int64_t *v = flt_onnx_alloc(x, 8);
    if (!v) return x->e->status;
    *v = flt_onnx_nelem(&x->k->in[0]);
    x->k->out[0].dtype = FLT_I64;
    x->k->out[0].ndim = 0;
    flt_onnx_set_output(x, 0, v);
    return FLINTRT_OK;
}

/* ---- Cast, CastLike ---- */

typedef struct cast_params {
    flt_dtype to;
} cast_params;

static flintrt_status parse_cast(const flt_onnx_node *n, void *p, flt_err *e) {
    cast_params *c = p;
    int64_t to;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "to", 0, &to, e));
    if (to == FLT_ONNX_STRING) return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "casts to string are not supported by Flint");
    if (to < INT32_MIN || to > INT32_MAX || !flt_onnx_dtype((int32_t)to, &c->to))
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "cast to type %" PRId64 " is not supported", to);
    return FLINTRT_OK;
}

static flintrt_status infer_cast(flt_onnx_infer *x) {
    const cast_params *c = x->k->params;
    x->k->out[0] = x->k->in[0];
    x->k->out[0].dtype = c->to;
    return FLINTRT_OK;
}

static flintrt_status infer_castlike(flt_onnx_infer *x) {
    if (x->k->n_in < 2 || x->k->in[1].ndim < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "needs 2 inputs");
    x->k->out[0] = x->k->in[0];
    x->k->out[0].dtype = x->k->in[1].dtype;
    return FLINTRT_OK;
}

static void k_cast(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    flt_dtype from = k->in[0].dtype, to = k->out[0].dtype;
    const void *in = flt_onnx_in(g, n, 0);
    void *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    bool int_path = !flt_onnx_is_float(from) && !flt_onnx_is_float(to);
    for (long long i = lo; i < hi; i++) {
        if (int_path) flt_onnx_set_i64(to, out, i, flt_onnx_get_i64(from, in, i));
        else if (from == FLT_U64 && !flt_onnx_is_float(to)) flt_onnx_set_i64(to, out, i, flt_onnx_get_i64(from, in, i));
        else flt_onnx_set_f64(to, out, i, flt_onnx_get_f64(from, in, i));
    }
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze (aliases) ---- */

typedef struct reshape_params {
    int64_t allowzero;
    const int64_t *shape;  /* Reshape-1 attribute */
    int64_t n_shape;
} reshape_params;

static flintrt_status parse_reshape(const flt_onnx_node *n, void *p, flt_err *e) {
    reshape_params *r = p;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "allowzero", 0, &r->allowzero, e));
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, "shape", &r->shape, &r->n_shape, e));
    return FLINTRT_OK;
}

static flintrt_status infer_reshape(flt_onnx_infer *x) {
    const reshape_params *rp = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0];
    const int64_t *v;
    int64_t n;
    if (x->opset < 5) {
        if (rp->n_shape < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "no shape attribute");
        v = rp->shape;
        n = rp->n_shape;
    } else {
        FLT_ONNX_TRY(flt_onnx_input_ints(x, 1, &v, &n));
    }
    if (n > MAXD) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "%" PRId64 " dimensions", n);
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = in->dtype;
    o->ndim = (int)n;
    int infer_at = -1;
    int64_t known = 1, total = flt_onnx_nelem(in);
    for (int i = 0; i < n; i++) {
        int64_t d = v[i];
        if (d == 0 && !rp->allowzero) {
            if (i >= in->ndim) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "shape[%d] = 0 copies a dimension the input lacks", i);
            d = in->dims[i];
        }
        if (d == -1) {
            if (infer_at >= 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "more than one -1 in the shape");
            infer_at = i;
            continue;
        }
        if (d < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "shape[%d] = %" PRId64, i, d);
        o->dims[i] = d;
        if (!flt_mul_i64(known, d, &known)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "shape overflows");
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "cannot infer the -1 dimension (%" PRId64 " elements, %" PRId64 " known)",
                                 total, known);
        o->dims[infer_at] = total / known;
    } else if (known != total) {
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "reshape of %" PRId64 " elements into %" PRId64, total, known);
    }
    return FLINTRT_OK;
}

typedef struct axis_params {
    int64_t axis;
} axis_params;

static flintrt_status parse_flatten(const flt_onnx_node *n, void *p, flt_err *e) {
    return flt_onnx_attr_int(n, "axis", 1, &((axis_params *)p)->axis, e);
}

static flintrt_status infer_flatten(flt_onnx_infer *x) {
    const flt_onnx_tinfo *in = &x->k->in[0];
    int64_t a = ((const axis_params *)x->k->params)->axis;
    if (a < 0) a += in->ndim;
    if (a < 0 || a > in->ndim) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "axis out of range");
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < in->ndim; i++) {
        if (i < a) outer *= in->dims[i];
        else inner *= in->dims[i];
    }
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = in->dtype;
    o->ndim = 2;
    o->dims[0] = outer;
    o->dims[1] = inner;
    return FLINTRT_OK;
}

typedef struct axes_params {
    const int64_t *axes;
    int64_t n_axes;   /* -1: absent */
} axes_params;

static flintrt_status parse_axes(const flt_onnx_node *n, void *p, flt_err *e) {
    axes_params *a = p;
    return flt_onnx_attr_ints(n, "axes", &a->axes, &a->n_axes, e);
}

/* axes from the attribute (old opsets) or input 1 (opset 13+); *n = -1 if absent */
static flintrt_status get_axes(flt_onnx_infer *x, const int64_t **axes, int64_t *n) {
    const axes_params *a = x->k->params;
    if (x->opset >= 13) {
        if (x->k->n_in < 2 || x->k->in[1].ndim < 0) { *n = -1; *axes = NULL; return FLINTRT_OK; }
        return flt_onnx_input_ints(x, 1, axes, n);
    }
    *axes = a->axes;
    *n = a->n_axes;
    return FLINTRT_OK;
}

static flintrt_status infer_squeeze(flt_onnx_infer *x) {
    const flt_onnx_tinfo *in = &x->k->in[0];
    const int64_t *axes;
    int64_t na;
    FLT_ONNX_TRY(get_axes(x, &axes, &na));
    bool drop[MAXD] = {false};
    if (na < 0) {
        for (int i = 0; i < in->ndim; i++) drop[i] = in->dims[i] == 1;
    } else {
        for (int64_t i = 0; i < na; i++) {
            int a;
            FLT_ONNX_TRY(flt_onnx_axis(x, axes[i], in->ndim, &a));
            if (in->dims[a] != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "dimension %d is %" PRId64 ", not 1", a, in->dims[a]);
            drop[a] = true;
        }
    }
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = in->dtype;
    o->ndim = 0;
    for (int i = 0; i < in->ndim; i++)
        if (!drop[i]) o->dims[o->ndim++] = in->dims[i];
    return FLINTRT_OK;
}

static flintrt_status infer_unsqueeze(flt_onnx_infer *x) {
    const flt_onnx_tinfo *in = &x->k->in[0];
    const int64_t *axes;
    int64_t na;
    FLT_ONNX_TRY(get_axes(x, &axes, &na));
    if (na < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "axes are required");
    int64_t r = in->ndim + na;
    if (r > MAXD) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "%" PRId64 " dimensions", r);
    bool ins[MAXD] = {false};
    for (int64_t i = 0; i < na; i++) {
        int a;
        FLT_ONNX_TRY(flt_onnx_axis(x, axes[i], (int)r, &a));
        if (ins[a]) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "axis %d repeated", a);
        ins[a] = true;
    }
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = in->dtype;
    o->ndim = (int)r;
    for (int i = 0, j = 0; i < r; i++) o->dims[i] = ins[i] ? 1 : in->dims[j++];
    return FLINTRT_OK;
}

/* ---- Transpose ---- */

typedef struct perm_params {
    const int64_t *perm;
    int64_t n_perm;
} perm_params;

static flintrt_status parse_transpose(const flt_onnx_node *n, void *p, flt_err *e) {
    perm_params *t = p;
    return flt_onnx_attr_ints(n, "perm", &t->perm, &t->n_perm, e);
}

static flintrt_status infer_transpose(flt_onnx_infer *x) {
    const perm_params *pp = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0];
    int r = in->ndim;
    int perm[MAXD];
    if (pp->n_perm < 0) {
        for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
    } else {
        if (pp->n_perm != r) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "perm has %" PRId64 " entries for rank %d", pp->n_perm, r);
        bool seen[MAXD] = {false};
        for (int i = 0; i < r; i++) {
            int a;
            FLT_ONNX_TRY(flt_onnx_axis(x, pp->perm[i], r, &a));
            if (seen[a]) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "perm repeats %d", a);
            seen[a] = true;
            perm[i] = a;
        }
    }
    int64_t st[MAXD];
    flt_onnx_strides(in, st);
    strided_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = in->dtype;
    o->ndim = r;
    for (int i = 0; i < r; i++) {
        o->dims[i] = in->dims[perm[i]];
        s->in_stride[i] = st[perm[i]];
    }
    x->k->state = s;
    return FLINTRT_OK;
}

/* ---- Expand ---- */

static flintrt_status infer_expand(flt_onnx_infer *x) {
    const flt_onnx_tinfo *in = &x->k->in[0];
    const int64_t *v;
    int64_t n;
    FLT_ONNX_TRY(flt_onnx_input_ints(x, 1, &v, &n));
    if (n > MAXD) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "%" PRId64 " dimensions", n);
    flt_onnx_tinfo sh = {.dtype = in->dtype, .ndim = (int)n};
    for (int i = 0; i < n; i++) {
        if (v[i] < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "negative dimension in shape");
        sh.dims[i] = v[i];
    }
    flt_onnx_tinfo *o = &x->k->out[0];
    FLT_ONNX_TRY(flt_onnx_broadcast(x, in, &sh, o));
    o->dtype = in->dtype;
    if (!tinfo_ok(x, o)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    strided_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    flt_onnx_bcast_strides(in, o, s->in_stride);
    x->k->state = s;
    return FLINTRT_OK;
}

/* ---- Slice ---- */

typedef struct slice_params {
    const int64_t *starts, *ends, *axes;
    int64_t n_starts, n_ends, n_axes;
} slice_params;

static flintrt_status parse_slice(const flt_onnx_node *n, void *p, flt_err *e) {
    slice_params *s = p;
    if (n->opset >= 10) return FLINTRT_OK;
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, "starts", &s->starts, &s->n_starts, e));
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, "ends", &s->ends, &s->n_ends, e));
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, "axes", &s->axes, &s->n_axes, e));
    if (s->n_starts < 0 || s->n_ends < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "starts and ends are required");
    return FLINTRT_OK;
}

static flintrt_status infer_slice(flt_onnx_infer *x) {
    const slice_params *sp = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0];
    const int64_t *starts, *ends, *axes = NULL, *steps = NULL;
    int64_t ns, ne, na = -1, nst = -1;
    if (x->opset < 10) {
        starts = sp->starts; ns = sp->n_starts;
        ends = sp->ends; ne = sp->n_ends;
        axes = sp->axes; na = sp->n_axes;
    } else {
        FLT_ONNX_TRY(flt_onnx_input_ints(x, 1, &starts, &ns));
        FLT_ONNX_TRY(flt_onnx_input_ints(x, 2, &ends, &ne));
        if (x->k->n_in > 3 && x->k->in[3].ndim >= 0) FLT_ONNX_TRY(flt_onnx_input_ints(x, 3, &axes, &na));
        if (x->k->n_in > 4 && x->k->in[4].ndim >= 0) FLT_ONNX_TRY(flt_onnx_input_ints(x, 4, &steps, &nst));
    }
    if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "starts, ends, axes and steps differ in length");
    int r = in->ndim;
    int64_t lo[MAXD], step[MAXD], cnt[MAXD];
    bool seen[MAXD] = {false};
    for (int i = 0; i < r; i++) { lo[i] = 0; step[i] = 1; cnt[i] = in->dims[i]; }
    for (int64_t i = 0; i < ns; i++) {
        int a;
        FLT_ONNX_TRY(flt_onnx_axis(x, na >= 0 ? axes[i] : i, r, &a));
        if (seen[a]) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "axis %d repeated", a);
        seen[a] = true;
        int64_t d = in->dims[a], st = nst >= 0 ? steps[i] : 1, s = starts[i], en = ends[i];
        if (st == 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "step 0");
        if (s < 0) s += d;
        if (en < 0 && en > INT64_MIN + d) en += d; else if (en < 0) en = -1;
        if (st > 0) {
            s = s < 0 ? 0 : s > d ? d : s;
            en = en < 0 ? 0 : en > d ? d : en;
            cnt[a] = en > s ? (en - s + st - 1) / st : 0;
        } else {
            s = s < 0 ? -1 : s > d - 1 ? d - 1 : s;
            en = en < -1 ? -1 : en > d - 1 ? d - 1 : en;
            cnt[a] = s > en ? (s - en + (-st) - 1) / (-st) : 0;
        }
        lo[a] = s;
        step[a] = st;
    }
    int64_t str[MAXD];
    flt_onnx_strides(in, str);
    strided_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = in->dtype;
    o->ndim = r;
    bool empty = false;
    for (int i = 0; i < r; i++) { o->dims[i] = cnt[i]; empty |= cnt[i] == 0; }
    s->in_off = 0;
    for (int i = 0; i < r && !empty; i++) {
        s->in_off += lo[i] * str[i];
        s->in_stride[i] = step[i] * str[i];
    }
    x->k->state = s;
    return FLINTRT_OK;
}

/* ---- Concat ---- */

static flintrt_status parse_axis0(const flt_onnx_node *n, void *p, flt_err *e) {
    return flt_onnx_attr_int(n, "axis", 0, &((axis_params *)p)->axis, e);
}

typedef struct concat_state {
    int axis;
    int64_t outer;
    int64_t inner[FLT_ONNX_MAX_IO];  /* elements per outer step, per input */
    int64_t total_inner;
} concat_state;

static flintrt_status infer_concat(flt_onnx_infer *x) {
    const axis_params *ap = x->k->params;
    int n = x->k->n_in;
    if (n < 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "no inputs");
    const flt_onnx_tinfo *a0 = &x->k->in[0];
    if (a0->ndim < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "missing input");
    int ax;
    if (x->opset < 4 && !flt_onnx_node_attr(x->k->node, "axis")) ax = 1;
    else FLT_ONNX_TRY(flt_onnx_axis(x, ap->axis, a0->ndim, &ax));
    concat_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    flt_onnx_tinfo *o = &x->k->out[0];
    *o = *a0;
    o->dims[ax] = 0;
    s->axis = ax;
    s->outer = 1;
    for (int i = 0; i < ax; i++) s->outer *= a0->dims[i];
    for (int k = 0; k < n; k++) {
        const flt_onnx_tinfo *t = &x->k->in[k];
        if (t->ndim != a0->ndim || t->dtype != a0->dtype)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d differs in rank or type", k);
        int64_t inner = 1;
        for (int i = 0; i < t->ndim; i++) {
            if (i != ax && t->dims[i] != a0->dims[i]) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d differs in dimension %d", k, i);
            if (i >= ax) inner *= t->dims[i];
        }
        s->inner[k] = inner;
        s->total_inner += inner;
        o->dims[ax] += t->dims[ax];
    }
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_concat(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const concat_state *s = k->state;
    char *out = flt_onnx_out(g, n, 0);
    size_t es = flt_onnx_dtype_size(k->out[0].dtype);
    long long lo, hi;
    flt_split(s->outer, ith, nth, &lo, &hi);
    for (long long o = lo; o < hi; o++) {
        char *dst = out + (size_t)(o * s->total_inner) * es;
        for (int i = 0; i < k->n_in; i++) {
            size_t b = (size_t)s->inner[i] * es;
            if (b) memcpy(dst, (const char *)flt_onnx_in(g, n, i) + (size_t)o * b, b);
            dst += b;
        }
    }
}

/* ---- Split ---- */

typedef struct split_params {
    int64_t axis;
    const int64_t *split;
    int64_t n_split;
    int64_t num_outputs;
} split_params;

static flintrt_status parse_split(const flt_onnx_node *n, void *p, flt_err *e) {
    split_params *s = p;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "axis", 0, &s->axis, e));
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, "split", &s->split, &s->n_split, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "num_outputs", 0, &s->num_outputs, e));
    return FLINTRT_OK;
}

typedef struct split_state {
    int64_t outer, total_inner;
    int64_t inner[FLT_ONNX_MAX_IO];
} split_state;

static flintrt_status infer_split(flt_onnx_infer *x) {
    const split_params *sp = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0];
    int ax;
    FLT_ONNX_TRY(flt_onnx_axis(x, sp->axis, in->ndim, &ax));
    int no = x->k->n_out;
    const int64_t *sizes = sp->split;
    int64_t nsz = sp->n_split;
    if (x->opset >= 13) {
        nsz = -1;
        if (x->k->n_in > 1 && x->k->in[1].ndim >= 0) FLT_ONNX_TRY(flt_onnx_input_ints(x, 1, &sizes, &nsz));
    }
    int64_t d = in->dims[ax], part[FLT_ONNX_MAX_IO];
    if (nsz >= 0) {
        if (nsz != no) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "split has %" PRId64 " sizes for %d outputs", nsz, no);
        int64_t sum = 0;
        for (int i = 0; i < no; i++) {
            if (sizes[i] < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "negative split size");
            part[i] = sizes[i];
            sum += sizes[i];
        }
        if (sum != d) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "split sizes sum to %" PRId64 ", dimension is %" PRId64, sum, d);
    } else {
        int64_t each = (d + no - 1) / no; /* opset 18 uneven split: last part smaller */
        if (x->opset < 18 && d % no) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "dimension %" PRId64 " does not split into %d", d, no);
        for (int i = 0; i < no; i++) {
            int64_t left = d - each * i;
            part[i] = left < 0 ? 0 : left < each ? left : each;
        }
    }
    split_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->outer = 1;
    int64_t after = 1;
    for (int i = 0; i < ax; i++) s->outer *= in->dims[i];
    for (int i = ax + 1; i < in->ndim; i++) after *= in->dims[i];
    s->total_inner = d * after;
    for (int i = 0; i < no; i++) {
        x->k->out[i] = *in;
        x->k->out[i].dims[ax] = part[i];
        s->inner[i] = part[i] * after;
    }
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_split(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const split_state *s = k->state;
    const char *in = flt_onnx_in(g, n, 0);
    size_t es = flt_onnx_dtype_size(k->in[0].dtype);
    long long lo, hi;
    flt_split(s->outer, ith, nth, &lo, &hi);
    for (long long o = lo; o < hi; o++) {
        const char *src = in + (size_t)(o * s->total_inner) * es;
        for (int i = 0; i < k->n_out; i++) {
            size_t b = (size_t)s->inner[i] * es;
            if (n->src[0] >= 0 && k->node->out[i] >= 0 && b) memcpy((char *)flt_onnx_out(g, n, i) + (size_t)o * b, src, b);
            src += b;
        }
    }
}

/* ---- Gather ---- */

typedef struct gather_state {
    int64_t outer, n_idx, inner, dim;
} gather_state;

static flintrt_status infer_gather(flt_onnx_infer *x) {
    const axis_params *ap = x->k->params;
    const flt_onnx_tinfo *d = &x->k->in[0], *ix = &x->k->in[1];
    if (ix->ndim < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "missing indices");
    if (ix->dtype != FLT_I64 && ix->dtype != FLT_I32) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "indices must be int32 or int64");
    int ax;
    FLT_ONNX_TRY(flt_onnx_axis(x, ap->axis, d->ndim, &ax));
    int r = d->ndim - 1 + ix->ndim;
    if (r > MAXD) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "%d dimensions", r);
    gather_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = d->dtype;
    o->ndim = 0;
    s->outer = 1;
    s->inner = 1;
    for (int i = 0; i < ax; i++) { o->dims[o->ndim++] = d->dims[i]; s->outer *= d->dims[i]; }
    for (int i = 0; i < ix->ndim; i++) o->dims[o->ndim++] = ix->dims[i];
    for (int i = ax + 1; i < d->ndim; i++) { o->dims[o->ndim++] = d->dims[i]; s->inner *= d->dims[i]; }
    s->n_idx = flt_onnx_nelem(ix);
    s->dim = d->dims[ax];
    /* indices known now (usually constants): check them here, with a message */
    const void *iv = flt_onnx_input_value(x, 1);
    x->need_values = false;
    if (iv)
        for (int64_t j = 0; j < s->n_idx; j++) {
            int64_t v = ix->dtype == FLT_I64 ? flt_ld_i64(iv, j) : flt_ld_i32(iv, j);
            if (v < -s->dim || v >= s->dim)
                return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "index %" PRId64 " is outside [-%" PRId64 ", %" PRId64 ")",
                                     v, s->dim, s->dim);
        }
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_gather(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const gather_state *s = k->state;
    const char *data = flt_onnx_in(g, n, 0);
    const void *idx = flt_onnx_in(g, n, 1);
    char *out = flt_onnx_out(g, n, 0);
    size_t es = flt_onnx_dtype_size(k->out[0].dtype), b = (size_t)s->inner * es;
    bool i64 = k->in[1].dtype == FLT_I64;
    long long lo, hi;
    flt_split(s->outer * s->n_idx, ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t o = t / s->n_idx, j = t % s->n_idx;
        int64_t v = i64 ? flt_ld_i64(idx, j) : flt_ld_i32(idx, j);
        if (v < 0) v += s->dim;
        char *dst = out + (size_t)t * b;
        /* an index out of range (only possible for computed indices) gives zeros, never a stray read */
        if (v < 0 || v >= s->dim) memset(dst, 0, b);
        else if (b) memcpy(dst, data + (size_t)(o * s->dim + v) * b, b);
    }
}

const flt_onnx_op flt_onnx_ops_tensor[] = {
    {"", "Identity", 1, 0, 0, NULL, infer_identity, {"Identity", NULL}, NULL, FLT_ONNX_OP_ALIAS, 1},
    {"", "Constant", 1, 0, sizeof(constant_params), parse_constant, infer_constant, {"Constant", NULL}, NULL, 0, 0},
    {"", "ConstantOfShape", 9, 0, sizeof(cos_params), parse_cos, infer_cos, {"ConstantOfShape", k_fill}, NULL, 0, 1},
    {"", "Shape", 1, 0, sizeof(shape_params), parse_shape, infer_shape, {"Shape", NULL}, NULL, 0, 1},
    {"", "Size", 1, 0, 0, NULL, infer_size, {"Size", NULL}, NULL, 0, 1},
    {"", "Cast", 6, 0, sizeof(cast_params), parse_cast, infer_cast, {"Cast", k_cast}, NULL, 0, 1},
    {"", "CastLike", 15, 0, 0, NULL, infer_castlike, {"CastLike", k_cast}, NULL, 0, 2},
    {"", "Reshape", 1, 0, sizeof(reshape_params), parse_reshape, infer_reshape, {"Reshape", NULL}, NULL, FLT_ONNX_OP_ALIAS, 1},
    {"", "Flatten", 1, 0, sizeof(axis_params), parse_flatten, infer_flatten, {"Flatten", NULL}, NULL, FLT_ONNX_OP_ALIAS, 1},
    {"", "Squeeze", 1, 0, sizeof(axes_params), parse_axes, infer_squeeze, {"Squeeze", NULL}, NULL, FLT_ONNX_OP_ALIAS, 1},
    {"", "Unsqueeze", 1, 0, sizeof(axes_params), parse_axes, infer_unsqueeze, {"Unsqueeze", NULL}, NULL, FLT_ONNX_OP_ALIAS, 1},
    {"", "Transpose", 1, 0, sizeof(perm_params), parse_transpose, infer_transpose, {"Transpose", k_strided}, NULL, 0, 1},
    {"", "Expand", 8, 0, 0, NULL, infer_expand, {"Expand", k_strided}, NULL, 0, 2},
    {"", "Slice", 1, 0, sizeof(slice_params), parse_slice, infer_slice, {"Slice", k_strided}, NULL, 0, 1},
    {"", "Concat", 1, 0, sizeof(axis_params), parse_axis0, infer_concat, {"Concat", k_concat}, NULL, 0, 1},
    {"", "Split", 2, 0, sizeof(split_params), parse_split, infer_split, {"Split", k_split}, NULL, 0, 1},
    {"", "Gather", 1, 0, sizeof(axis_params), parse_axis0, infer_gather, {"Gather", k_gather}, NULL, 0, 2},
};
const int flt_onnx_ops_tensor_count = (int)(sizeof flt_onnx_ops_tensor / sizeof flt_onnx_ops_tensor[0]);
