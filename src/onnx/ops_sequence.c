/* ONNX sequences and optionals: SequenceEmpty, SequenceConstruct, SequenceAt,
 * SequenceInsert, SequenceErase, SequenceLength, SplitToSequence,
 * ConcatFromSequence, SequenceMap, Optional, OptionalHasElement,
 * OptionalGetElement.
 *
 * All are host ops (flagged FLT_ONNX_OP_ANY_VALUE): they run on the session's
 * thread with their inputs computed and build immutable flt_onnx_seq values in
 * run memory (op.h). Tensors put into a sequence are shared, not copied (values
 * never change once computed, and run memory lives until the run ends); the
 * tensors SplitToSequence and ConcatFromSequence make are plain byte copies. */
#include <inttypes.h>
#include <string.h>

#include "core/checked.h"
#include "onnx/op.h"

/* ---- helpers ---- */

static bool add_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }

static flintrt_status want_kind(flt_onnx_host *h, int i, int kind) {
    if (i >= h->n_in || h->in[i].ndim < 0) return flt_fail(h->e, FLINTRT_ERR_FORMAT, "input %d is missing", i);
    if (h->in[i].kind != kind)
        return flt_fail(h->e, FLINTRT_ERR_FORMAT, "input %d is a %s, expected a %s", i, flt_onnx_kind_name(h->in[i].kind),
                        flt_onnx_kind_name(kind));
    return FLINTRT_OK;
}

static const flt_onnx_seq *seq_in(const flt_onnx_host *h, int i) { return h->in_data[i]; }

/* Scalar integer input (position, split size): one element of int32/int64. */
static flintrt_status scalar_int(flt_onnx_host *h, int i, int64_t *out) {
    FLT_ONNX_TRY(want_kind(h, i, FLT_ONNX_KIND_TENSOR));
    const flt_onnx_tinfo *t = &h->in[i];
    if ((t->dtype != FLT_I64 && t->dtype != FLT_I32) || flt_onnx_nelem(t) != 1 || t->ndim > 1)
        return flt_fail(h->e, FLINTRT_ERR_FORMAT, "input %d must be an int32/int64 scalar", i);
    *out = flt_onnx_get_i64(t->dtype, h->in_data[i], 0);
    return FLINTRT_OK;
}

static void set_seq(flt_onnx_host *h, int o, int kind, flt_dtype dtype, const flt_onnx_seq *s) {
    flt_onnx_tinfo t = {.dtype = dtype, .ndim = 0, .kind = (uint8_t)kind};
    flt_onnx_host_set_output(h, o, &t, s);
}

/* The dtype a sequence value carries for its elements. */
static flt_dtype seq_dtype(const flt_onnx_host *h, int i) {
    const flt_onnx_seq *s = seq_in(h, i);
    return s->n && s->elem_kind == FLT_ONNX_KIND_TENSOR ? s->ti[0].dtype : h->in[i].dtype;
}

static flintrt_status infer_host(flt_onnx_infer *x) {
    return flt_onnx_fail(x, FLINTRT_ERR_INTERNAL, "host op reached shape inference");
}

/* ---- SequenceEmpty ---- */

typedef struct dtype_params {
    flt_dtype dtype;
} dtype_params;

static flintrt_status parse_seq_empty(const flt_onnx_node *n, void *pp, flt_err *e) {
    dtype_params *p = pp;
    int64_t t;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "dtype", FLT_ONNX_FLOAT, &t, e));
    if (t < INT32_MIN || t > INT32_MAX || !flt_onnx_dtype((int32_t)t, &p->dtype))
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "dtype %" PRId64 " is not supported", t);
    return FLINTRT_OK;
}

static flintrt_status host_seq_empty(flt_onnx_host *h) {
    const dtype_params *p = h->params;
    flt_onnx_seq *s = flt_onnx_host_seq(h, 0, FLT_ONNX_KIND_TENSOR);
    if (!s) return h->e->status;
    set_seq(h, 0, FLT_ONNX_KIND_SEQUENCE, p->dtype, s);
    return FLINTRT_OK;
}

/* ---- SequenceConstruct ---- */

static flintrt_status host_seq_construct(flt_onnx_host *h) {
    for (int i = 0; i < h->n_in; i++) {
        FLT_ONNX_TRY(want_kind(h, i, FLT_ONNX_KIND_TENSOR));
        if (h->in[i].dtype != h->in[0].dtype)
            return flt_fail(h->e, FLINTRT_ERR_FORMAT, "input %d is %s, input 0 is %s", i,
                            flt_onnx_type_name(flt_onnx_type_of(h->in[i].dtype)),
                            flt_onnx_type_name(flt_onnx_type_of(h->in[0].dtype)));
    }
    flt_onnx_seq *s = flt_onnx_host_seq(h, h->n_in, FLT_ONNX_KIND_TENSOR);
    if (!s) return h->e->status;
    flt_onnx_tinfo *ti = (flt_onnx_tinfo *)s->ti;
    const void **d = (const void **)s->data;
    for (int i = 0; i < h->n_in; i++) { ti[i] = h->in[i]; d[i] = h->in_data[i]; }
    set_seq(h, 0, FLT_ONNX_KIND_SEQUENCE, h->in[0].dtype, s);
    return FLINTRT_OK;
}

/* ---- SequenceAt / SequenceInsert / SequenceErase / SequenceLength ---- */

static flintrt_status position(flt_onnx_host *h, int i, int64_t n, bool end_ok, int64_t def, int64_t *out) {
    int64_t pos = def;
    if (i < h->n_in && h->in[i].ndim >= 0) FLT_ONNX_TRY(scalar_int(h, i, &pos));
    int64_t hi = end_ok ? n : n - 1;
    if (pos < -n || pos > hi)
        return flt_fail(h->e, FLINTRT_ERR_INVALID_ARGUMENT, "position %" PRId64 " is outside [%" PRId64 ", %" PRId64 "]",
                        pos, -n, hi);
    *out = pos < 0 ? pos + n : pos;
    return FLINTRT_OK;
}

static flintrt_status host_seq_at(flt_onnx_host *h) {
    FLT_ONNX_TRY(want_kind(h, 0, FLT_ONNX_KIND_SEQUENCE));
    const flt_onnx_seq *s = seq_in(h, 0);
    int64_t pos;
    FLT_ONNX_TRY(want_kind(h, 1, FLT_ONNX_KIND_TENSOR));
    FLT_ONNX_TRY(position(h, 1, s->n, false, 0, &pos));
    flt_onnx_host_set_output(h, 0, &s->ti[pos], s->data[pos]);
    return FLINTRT_OK;
}

static flintrt_status host_seq_insert(flt_onnx_host *h) {
    FLT_ONNX_TRY(want_kind(h, 0, FLT_ONNX_KIND_SEQUENCE));
    FLT_ONNX_TRY(want_kind(h, 1, FLT_ONNX_KIND_TENSOR));
    const flt_onnx_seq *s = seq_in(h, 0);
    if (s->elem_kind != FLT_ONNX_KIND_TENSOR)
        return flt_fail(h->e, FLINTRT_ERR_FORMAT, "the sequence holds %ss", flt_onnx_kind_name(s->elem_kind));
    if (s->n && s->ti[0].dtype != h->in[1].dtype)
        return flt_fail(h->e, FLINTRT_ERR_FORMAT, "inserting %s into a sequence of %s",
                        flt_onnx_type_name(flt_onnx_type_of(h->in[1].dtype)),
                        flt_onnx_type_name(flt_onnx_type_of(s->ti[0].dtype)));
    int64_t pos;
    FLT_ONNX_TRY(position(h, 2, s->n, true, s->n, &pos));
    flt_onnx_seq *o = flt_onnx_host_seq(h, s->n + 1, FLT_ONNX_KIND_TENSOR);
    if (!o) return h->e->status;
    flt_onnx_tinfo *ti = (flt_onnx_tinfo *)o->ti;
    const void **d = (const void **)o->data;
    for (int64_t i = 0, j = 0; i <= s->n; i++) {
        if (i == pos) { ti[i] = h->in[1]; d[i] = h->in_data[1]; continue; }
        ti[i] = s->ti[j];
        d[i] = s->data[j++];
    }
    set_seq(h, 0, FLT_ONNX_KIND_SEQUENCE, h->in[1].dtype, o);
    return FLINTRT_OK;
}

static flintrt_status host_seq_erase(flt_onnx_host *h) {
    FLT_ONNX_TRY(want_kind(h, 0, FLT_ONNX_KIND_SEQUENCE));
    const flt_onnx_seq *s = seq_in(h, 0);
    int64_t pos;
    if (!s->n) return flt_fail(h->e, FLINTRT_ERR_INVALID_ARGUMENT, "erasing from an empty sequence");
    FLT_ONNX_TRY(position(h, 1, s->n, false, -1, &pos));
    flt_onnx_seq *o = flt_onnx_host_seq(h, s->n - 1, s->elem_kind);
    if (!o) return h->e->status;
    flt_onnx_tinfo *ti = (flt_onnx_tinfo *)o->ti;
    const void **d = (const void **)o->data;
    for (int64_t i = 0, j = 0; i < s->n; i++) {
        if (i == pos) continue;
        ti[j] = s->ti[i];
        d[j++] = s->data[i];
    }
    set_seq(h, 0, FLT_ONNX_KIND_SEQUENCE, seq_dtype(h, 0), o);
    return FLINTRT_OK;
}

static flintrt_status host_seq_length(flt_onnx_host *h) {
    FLT_ONNX_TRY(want_kind(h, 0, FLT_ONNX_KIND_SEQUENCE));
    int64_t *v = flt_onnx_host_alloc(h, sizeof *v);
    if (!v) return h->e->status;
    *v = seq_in(h, 0)->n;
    flt_onnx_tinfo t = {.dtype = FLT_I64, .ndim = 0};
    flt_onnx_host_set_output(h, 0, &t, v);
    return FLINTRT_OK;
}

/* ---- SplitToSequence ---- */

typedef struct split_params {
    int64_t axis, keepdims;
} split_params;

static flintrt_status parse_split(const flt_onnx_node *n, void *pp, flt_err *e) {
    split_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "axis", 0, &p->axis, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "keepdims", 1, &p->keepdims, e));
    if (p->keepdims != 0 && p->keepdims != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "keepdims must be 0 or 1");
    return FLINTRT_OK;
}

/* outer x dim x inner view of a tensor around axis (element counts). */
static void around(const flt_onnx_tinfo *t, int axis, int64_t *outer, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= t->dims[d];
    for (int d = axis + 1; d < t->ndim; d++) *inner *= t->dims[d];
}

static flintrt_status host_split(flt_onnx_host *h) {
    const split_params *p = h->params;
    flt_err *e = h->e;
    FLT_ONNX_TRY(want_kind(h, 0, FLT_ONNX_KIND_TENSOR));
    const flt_onnx_tinfo *in = &h->in[0];
    int r = in->ndim;
    if (r < 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "input must have rank >= 1");
    if (p->axis < -r || p->axis >= r) return flt_fail(e, FLINTRT_ERR_FORMAT, "axis %" PRId64 " is outside [-%d, %d)", p->axis, r, r);
    int axis = (int)(p->axis < 0 ? p->axis + r : p->axis);
    int64_t dim = in->dims[axis];
    bool has_split = h->n_in > 1 && h->in[1].ndim >= 0;
    int64_t n_parts, fixed = 1;
    const void *sd = NULL;
    flt_dtype st = FLT_I64;
    if (has_split) {
        FLT_ONNX_TRY(want_kind(h, 1, FLT_ONNX_KIND_TENSOR));
        const flt_onnx_tinfo *s = &h->in[1];
        if ((s->dtype != FLT_I64 && s->dtype != FLT_I32) || s->ndim > 1)
            return flt_fail(e, FLINTRT_ERR_FORMAT, "split must be an int32/int64 scalar or 1-D tensor");
        st = s->dtype;
        if (s->ndim == 0) {
            fixed = flt_onnx_get_i64(st, h->in_data[1], 0);
            if (fixed <= 0) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "split size %" PRId64 " is not positive", fixed);
            n_parts = dim / fixed + (dim % fixed != 0);
        } else {
            n_parts = s->dims[0];
            sd = h->in_data[1];
            int64_t sum = 0;
            for (int64_t i = 0; i < n_parts; i++) {
                int64_t v = flt_onnx_get_i64(st, sd, i);
                if (v < 0 || !add_i64(sum, v, &sum))
                    return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "split value %" PRId64 " is negative", v);
            }
            if (sum != dim)
                return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "split sums to %" PRId64 ", dimension %d is %" PRId64, sum, axis, dim);
        }
    } else {
        n_parts = dim;
    }
    size_t es = flt_onnx_dtype_size(in->dtype);
    int64_t outer, inner;
    around(in, axis, &outer, &inner);
    flt_onnx_seq *o = flt_onnx_host_seq(h, n_parts, FLT_ONNX_KIND_TENSOR);
    if (!o) return e->status;
    flt_onnx_tinfo *ti = (flt_onnx_tinfo *)o->ti;
    const void **d = (const void **)o->data;
    const char *src = h->in_data[0];
    int64_t start = 0;
    for (int64_t k = 0; k < n_parts; k++) {
        int64_t len = !has_split ? 1 : sd ? flt_onnx_get_i64(st, sd, k) : (dim - start < fixed ? dim - start : fixed);
        flt_onnx_tinfo t = *in;
        t.dims[axis] = len;
        if (!has_split && !p->keepdims) {
            for (int a = axis; a + 1 < r; a++) t.dims[a] = t.dims[a + 1];
            t.ndim = r - 1;
        }
        size_t b;
        if (!flt_onnx_tinfo_bytes(&t, &b)) return flt_fail(e, FLINTRT_ERR_LIMIT, "split part too large");
        char *dst = flt_onnx_host_alloc(h, b);
        if (!dst) return e->status;
        size_t row = (size_t)(len * inner) * es;
        for (int64_t q = 0; q < outer && row; q++)
            memcpy(dst + (size_t)q * row, src + ((size_t)(q * dim + start) * (size_t)inner) * es, row);
        ti[k] = t;
        d[k] = dst;
        start += len;
    }
    set_seq(h, 0, FLT_ONNX_KIND_SEQUENCE, in->dtype, o);
    return FLINTRT_OK;
}

/* ---- ConcatFromSequence ---- */

typedef struct concat_params {
    int64_t axis, new_axis;
    bool has_axis;
} concat_params;

static flintrt_status parse_concat(const flt_onnx_node *n, void *pp, flt_err *e) {
    concat_params *p = pp;
    p->has_axis = flt_onnx_node_attr(n, "axis") != NULL;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "axis", 0, &p->axis, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "new_axis", 0, &p->new_axis, e));
    if (!p->has_axis) return flt_fail(e, FLINTRT_ERR_FORMAT, "attribute 'axis' is required");
    if (p->new_axis != 0 && p->new_axis != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "new_axis must be 0 or 1");
    return FLINTRT_OK;
}

static flintrt_status host_concat(flt_onnx_host *h) {
    const concat_params *p = h->params;
    flt_err *e = h->e;
    FLT_ONNX_TRY(want_kind(h, 0, FLT_ONNX_KIND_SEQUENCE));
    const flt_onnx_seq *s = seq_in(h, 0);
    if (!s->n || s->elem_kind != FLT_ONNX_KIND_TENSOR)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "the sequence is empty or holds no tensors");
    const flt_onnx_tinfo *t0 = &s->ti[0];
    int r = t0->ndim, rr = r + (int)p->new_axis;
    if (rr < 1 || rr > FLT_ONNX_MAX_DIMS) return flt_fail(e, FLINTRT_ERR_FORMAT, "elements of rank %d", r);
    if (p->axis < -rr || p->axis >= rr) return flt_fail(e, FLINTRT_ERR_FORMAT, "axis %" PRId64 " is outside [-%d, %d)", p->axis, rr, rr);
    int axis = (int)(p->axis < 0 ? p->axis + rr : p->axis);
    flt_onnx_tinfo out = {.dtype = t0->dtype, .ndim = rr};
    /* elements seen as rank-rr tensors (new_axis: a 1 inserted at axis) */
    int64_t total = 0;
    for (int64_t i = 0; i < s->n; i++) {
        const flt_onnx_tinfo *t = &s->ti[i];
        if (t->dtype != t0->dtype || t->ndim != r)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "element %" PRId64 " differs in type or rank from element 0", i);
        for (int d = 0, k = 0; d < rr; d++) {
            int64_t v = p->new_axis && d == axis ? 1 : t->dims[k++];
            if (d == axis) {
                if (!add_i64(total, v, &total)) return flt_fail(e, FLINTRT_ERR_LIMIT, "concatenation too large");
            } else if (i == 0) {
                out.dims[d] = v;
            } else if (out.dims[d] != v) {
                return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "element %" PRId64 " has dimension %d = %" PRId64 ", element 0 %" PRId64,
                                i, d, v, out.dims[d]);
            }
        }
    }
    out.dims[axis] = total;
    size_t b;
    if (!flt_onnx_tinfo_bytes(&out, &b)) return flt_fail(e, FLINTRT_ERR_LIMIT, "concatenation too large");
    char *dst = flt_onnx_host_alloc(h, b);
    if (!dst) return e->status;
    size_t es = flt_onnx_dtype_size(out.dtype);
    int64_t outer, inner;
    around(&out, axis, &outer, &inner);
    int64_t at = 0;
    for (int64_t i = 0; i < s->n; i++) {
        int64_t len = p->new_axis ? 1 : s->ti[i].dims[axis];
        size_t row = (size_t)(len * inner) * es;
        const char *src = s->data[i];
        for (int64_t q = 0; q < outer && row; q++)
            memcpy(dst + ((size_t)(q * total + at) * (size_t)inner) * es, src + (size_t)q * row, row);
        at += len;
    }
    flt_onnx_host_set_output(h, 0, &out, dst);
    return FLINTRT_OK;
}

/* ---- SequenceMap ---- */

typedef struct map_params {
    const flt_onnx_graph *body;
} map_params;

static flintrt_status parse_map(const flt_onnx_node *n, void *pp, flt_err *e) {
    map_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_graph(n, "body", &p->body, e));
    if (!p->body) return flt_fail(e, FLINTRT_ERR_FORMAT, "body is required");
    if (p->body->n_inputs != n->n_in || p->body->n_outputs != n->n_out || n->n_out < 1)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "body has %d inputs and %d outputs for a node with %d and %d",
                        p->body->n_inputs, p->body->n_outputs, n->n_in, n->n_out);
    return FLINTRT_OK;
}

static flintrt_status host_map(flt_onnx_host *h) {
    const map_params *p = h->params;
    flt_err *e = h->e;
    FLT_ONNX_TRY(want_kind(h, 0, FLT_ONNX_KIND_SEQUENCE));
    int64_t n = seq_in(h, 0)->n;
    for (int i = 1; i < h->n_in; i++) {
        if (h->in[i].ndim < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "input %d is missing", i);
        if (h->in[i].kind == FLT_ONNX_KIND_OPTIONAL) return flt_fail(e, FLINTRT_ERR_FORMAT, "input %d is an optional", i);
        if (h->in[i].kind == FLT_ONNX_KIND_SEQUENCE && seq_in(h, i)->n != n)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "input %d has %" PRId64 " elements, input 0 %" PRId64, i,
                            seq_in(h, i)->n, n);
    }
    flt_onnx_seq *outs[FLT_ONNX_MAX_IO];
    for (int o = 0; o < h->n_out; o++)
        if (!(outs[o] = flt_onnx_host_seq(h, n, FLT_ONNX_KIND_TENSOR))) return e->status;
    for (int64_t it = 0; it < n; it++) {
        flt_onnx_tinfo bi[FLT_ONNX_MAX_IO], oi[FLT_ONNX_MAX_IO];
        const void *bd[FLT_ONNX_MAX_IO], *od[FLT_ONNX_MAX_IO];
        for (int i = 0; i < h->n_in; i++) {
            if (h->in[i].kind == FLT_ONNX_KIND_SEQUENCE) {
                bi[i] = seq_in(h, i)->ti[it];
                bd[i] = seq_in(h, i)->data[it];
            } else {
                bi[i] = h->in[i];
                bd[i] = h->in_data[i];
            }
        }
        flintrt_status st = flt_onnx_host_run_graph(h, p->body, h->n_in, bi, bd, h->n_out, oi, od);
        if (st) {
            flt_err_prefix(e, "element %" PRId64, it);
            return st;
        }
        for (int o = 0; o < h->n_out; o++) {
            if (oi[o].kind != FLT_ONNX_KIND_TENSOR)
                return flt_fail(e, FLINTRT_ERR_FORMAT, "body output %d is a %s", o, flt_onnx_kind_name(oi[o].kind));
            ((flt_onnx_tinfo *)outs[o]->ti)[it] = oi[o];
            ((const void **)outs[o]->data)[it] = od[o];
        }
    }
    for (int o = 0; o < h->n_out; o++) {
        flt_dtype dt = n ? outs[o]->ti[0].dtype : FLT_F32;
        if (!n) {
            const flt_onnx_value *v = &p->body->values[p->body->outputs[o]];
            flt_dtype d;
            if (v->has_type && flt_onnx_dtype(v->elem_type, &d)) dt = d;
        }
        set_seq(h, o, FLT_ONNX_KIND_SEQUENCE, dt, outs[o]);
    }
    return FLINTRT_OK;
}

/* ---- Optional / OptionalHasElement / OptionalGetElement ---- */

typedef struct opt_params {
    const flt_onnx_value *type;
} opt_params;

static flintrt_status parse_optional(const flt_onnx_node *n, void *pp, flt_err *e) {
    opt_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_type_proto(n, "type", &p->type, e));
    if (!p->type && (n->n_in < 1 || n->in[0] < 0))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "an Optional without an input needs the 'type' attribute");
    if (p->type && p->type->n_wrap && p->type->wrap[0] == FLT_ONNX_KIND_OPTIONAL)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "optional of optional");
    return FLINTRT_OK;
}

static flintrt_status host_optional(flt_onnx_host *h) {
    const opt_params *p = h->params;
    bool has = h->n_in > 0 && h->in[0].ndim >= 0;
    if (has && h->in[0].kind == FLT_ONNX_KIND_OPTIONAL)
        return flt_fail(h->e, FLINTRT_ERR_FORMAT, "input 0 is already an optional");
    uint8_t ek = has ? h->in[0].kind : (uint8_t)(p->type->n_wrap ? p->type->wrap[0] : FLT_ONNX_KIND_TENSOR);
    flt_dtype dt = FLT_F32;
    if (has) dt = h->in[0].dtype;
    else if (p->type->elem_type) flt_onnx_dtype(p->type->elem_type, &dt);
    flt_onnx_seq *s = flt_onnx_host_seq(h, has ? 1 : 0, ek);
    if (!s) return h->e->status;
    if (has) {
        ((flt_onnx_tinfo *)s->ti)[0] = h->in[0];
        ((const void **)s->data)[0] = h->in_data[0];
    }
    set_seq(h, 0, FLT_ONNX_KIND_OPTIONAL, dt, s);
    return FLINTRT_OK;
}

static flintrt_status host_has_element(flt_onnx_host *h) {
    bool has = false;
    if (h->n_in > 0 && h->in[0].ndim >= 0)
        has = h->in[0].kind != FLT_ONNX_KIND_OPTIONAL || seq_in(h, 0)->n > 0; /* opset 18: tensors and sequences too */
    if (h->n_in > 0 && h->in[0].ndim >= 0 && h->in[0].kind != FLT_ONNX_KIND_OPTIONAL && h->node->opset < 18)
        return flt_fail(h->e, FLINTRT_ERR_FORMAT, "input 0 is a %s, not an optional", flt_onnx_kind_name(h->in[0].kind));
    uint8_t *v = flt_onnx_host_alloc(h, 1);
    if (!v) return h->e->status;
    *v = has;
    flt_onnx_tinfo t = {.dtype = FLT_BOOL, .ndim = 0};
    flt_onnx_host_set_output(h, 0, &t, v);
    return FLINTRT_OK;
}

static flintrt_status host_get_element(flt_onnx_host *h) {
    if (h->in[0].ndim < 0) return flt_fail(h->e, FLINTRT_ERR_FORMAT, "input 0 is missing");
    if (h->in[0].kind != FLT_ONNX_KIND_OPTIONAL) {
        if (h->node->opset < 18)
            return flt_fail(h->e, FLINTRT_ERR_FORMAT, "input 0 is a %s, not an optional", flt_onnx_kind_name(h->in[0].kind));
        flt_onnx_host_set_output(h, 0, &h->in[0], h->in_data[0]);
        return FLINTRT_OK;
    }
    const flt_onnx_seq *s = seq_in(h, 0);
    if (!s->n) return flt_fail(h->e, FLINTRT_ERR_INVALID_ARGUMENT, "the optional is empty");
    flt_onnx_host_set_output(h, 0, &s->ti[0], s->data[0]);
    return FLINTRT_OK;
}

#define HOST(op, since, psize, parse, host, min_in) \
    {"", op, since, 0, psize, parse, infer_host, {op, NULL}, host, FLT_ONNX_OP_ANY_VALUE, min_in}

const flt_onnx_op flt_onnx_ops_sequence[] = {
    HOST("SequenceEmpty", 11, sizeof(dtype_params), parse_seq_empty, host_seq_empty, 0),
    HOST("SequenceConstruct", 11, 0, NULL, host_seq_construct, 1),
    HOST("SequenceAt", 11, 0, NULL, host_seq_at, 2),
    HOST("SequenceInsert", 11, 0, NULL, host_seq_insert, 2),
    HOST("SequenceErase", 11, 0, NULL, host_seq_erase, 1),
    HOST("SequenceLength", 11, 0, NULL, host_seq_length, 1),
    HOST("SplitToSequence", 11, sizeof(split_params), parse_split, host_split, 1),
    HOST("ConcatFromSequence", 11, sizeof(concat_params), parse_concat, host_concat, 1),
    HOST("SequenceMap", 17, sizeof(map_params), parse_map, host_map, 1),
    HOST("Optional", 15, sizeof(opt_params), parse_optional, host_optional, 0),
    HOST("OptionalHasElement", 15, 0, NULL, host_has_element, 0),
    HOST("OptionalGetElement", 15, 0, NULL, host_get_element, 1),
};
const int flt_onnx_ops_sequence_count = (int)(sizeof flt_onnx_ops_sequence / sizeof flt_onnx_ops_sequence[0]);
