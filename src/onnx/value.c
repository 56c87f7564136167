/* Values beyond tensors: sequences and optionals (see op.h, flt_onnx_seq).
 * Checking a caller-given value, deep copies (subgraph results and session
 * outputs outlive the run that made them), and matching against a declared
 * type (bind). */
#include <inttypes.h>
#include <string.h>

#include "onnx/op.h"

const char *flt_onnx_kind_name(int kind) {
    switch (kind) {
    case FLT_ONNX_KIND_TENSOR: return "tensor";
    case FLT_ONNX_KIND_SEQUENCE: return "sequence";
    case FLT_ONNX_KIND_OPTIONAL: return "optional";
    default: return "unknown kind";
    }
}

static bool is_wrapper(int kind) { return kind == FLT_ONNX_KIND_SEQUENCE || kind == FLT_ONNX_KIND_OPTIONAL; }

flintrt_status flt_onnx_value_check(const flt_onnx_tinfo *ti, const void *data, int depth, flt_err *e) {
    size_t b;
    if (ti->kind == FLT_ONNX_KIND_TENSOR) {
        if (ti->ndim < 0 || ti->ndim > FLT_ONNX_MAX_DIMS || !flt_onnx_tinfo_bytes(ti, &b))
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "bad tensor shape");
        if (b && !data) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "tensor without data");
        return FLINTRT_OK;
    }
    if (!is_wrapper(ti->kind)) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "unknown value kind %d", (int)ti->kind);
    if (depth >= FLT_ONNX_MAX_WRAP)
        return flt_fail(e, FLINTRT_ERR_LIMIT, "sequences/optionals nested deeper than %d", FLT_ONNX_MAX_WRAP);
    if (ti->ndim != 0 || !flt_dtype_info(ti->dtype) || !data)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "%s value without its description", flt_onnx_kind_name(ti->kind));
    const flt_onnx_seq *s = data;
    if (s->n < 0 || (ti->kind == FLT_ONNX_KIND_OPTIONAL && s->n > 1) || (s->n && (!s->ti || !s->data)))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "%s with %" PRId64 " elements", flt_onnx_kind_name(ti->kind), s->n);
    if (s->elem_kind != FLT_ONNX_KIND_TENSOR && !is_wrapper(s->elem_kind))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "unknown element kind %d", (int)s->elem_kind);
    for (int64_t i = 0; i < s->n; i++) {
        if (s->ti[i].kind != s->elem_kind)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "%s element %" PRId64 " is a %s, not a %s",
                            flt_onnx_kind_name(ti->kind), i, flt_onnx_kind_name(s->ti[i].kind),
                            flt_onnx_kind_name(s->elem_kind));
        flintrt_status st = flt_onnx_value_check(&s->ti[i], s->data[i], depth + 1, e);
        if (st) {
            flt_err_prefix(e, "element %" PRId64, i);
            return st;
        }
    }
    return FLINTRT_OK;
}

flintrt_status flt_onnx_value_copy(flt_arena *a, const flt_onnx_tinfo *ti, const void *data, const void **out,
                                   flt_err *e) {
    if (ti->kind == FLT_ONNX_KIND_TENSOR) {
        size_t b = 0;
        if (!flt_onnx_tinfo_bytes(ti, &b)) return flt_fail(e, FLINTRT_ERR_INTERNAL, "value copy: bad shape");
        void *d = flt_arena_alloc(a, b, "value copy", e);
        if (!d) return e->status;
        if (b) memcpy(d, data, b);
        *out = d;
        return FLINTRT_OK;
    }
    const flt_onnx_seq *s = data;
    flt_onnx_seq *c = flt_arena_alloc(a, sizeof *c, "sequence copy", e);
    flt_onnx_tinfo *cti = c ? flt_arena_array(a, (size_t)(s->n ? s->n : 1), sizeof *cti, "sequence copy", e) : NULL;
    const void **cd = cti ? flt_arena_array(a, (size_t)(s->n ? s->n : 1), sizeof *cd, "sequence copy", e) : NULL;
    if (!cd) return e->status;
    c->n = s->n;
    c->elem_kind = s->elem_kind;
    for (int64_t i = 0; i < s->n; i++) {
        cti[i] = s->ti[i];
        FLT_ONNX_TRY(flt_onnx_value_copy(a, &s->ti[i], s->data[i], &cd[i], e));
    }
    c->ti = cti;
    c->data = (const void *const *)cd;
    *out = c;
    return FLINTRT_OK;
}

/* Value (ti, data) against the declared type from wrapper level `level` on. */
static flintrt_status matches_at(const flt_onnx_value *decl, int level, const flt_onnx_tinfo *ti, const void *data,
                                 flt_err *e) {
    int want = level < decl->n_wrap ? decl->wrap[level] : FLT_ONNX_KIND_TENSOR;
    if (ti->kind != want)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "is a %s, declared a %s", flt_onnx_kind_name(ti->kind),
                        flt_onnx_kind_name(want));
    if (want == FLT_ONNX_KIND_TENSOR) {
        flt_dtype d;
        if (flt_onnx_dtype(decl->elem_type, &d) && d != ti->dtype)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "is %s, declared %s",
                            flt_onnx_type_name(flt_onnx_type_of(ti->dtype)), flt_onnx_type_name(decl->elem_type));
        if (decl->ndim >= 0) {
            if (decl->ndim != ti->ndim)
                return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "has rank %d, declared %d", ti->ndim, decl->ndim);
            for (int i = 0; i < ti->ndim; i++)
                if (decl->dims[i].value >= 0 && decl->dims[i].value != ti->dims[i])
                    return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "dimension %d is %" PRId64 ", declared %" PRId64, i,
                                    ti->dims[i], decl->dims[i].value);
        }
        return FLINTRT_OK;
    }
    const flt_onnx_seq *s = data;
    int inner = level + 1 < decl->n_wrap ? decl->wrap[level + 1] : FLT_ONNX_KIND_TENSOR;
    if (s->n && s->elem_kind != inner)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "holds %ss, declared %ss", flt_onnx_kind_name(s->elem_kind),
                        flt_onnx_kind_name(inner));
    for (int64_t i = 0; i < s->n; i++) {
        flintrt_status st = matches_at(decl, level + 1, &s->ti[i], s->data[i], e);
        if (st) {
            flt_err_prefix(e, "element %" PRId64, i);
            return st;
        }
    }
    return FLINTRT_OK;
}

flintrt_status flt_onnx_value_matches(const flt_onnx_value *decl, const flt_onnx_tinfo *ti, const void *data,
                                      flt_err *e) {
    if (!decl->has_type) return FLINTRT_OK;
    return matches_at(decl, 0, ti, data, e);
}
