/* Helpers shared by the ONNX operator families: typed attribute getters,
 * element access for every dtype, strides (see op.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx/op.h"

/* ---- attributes ---- */

static flintrt_status attr_of(const flt_onnx_node *n, const char *name, flt_onnx_attr_type want,
                              const flt_onnx_attr **out, flt_err *e) {
    *out = flt_onnx_node_attr(n, name);
    if (*out && (*out)->type != want)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "attribute '%s' has type %d, expected %d", name, (int)(*out)->type,
                        (int)want);
    return FLINTRT_OK;
}

flintrt_status flt_onnx_attr_int(const flt_onnx_node *n, const char *name, int64_t def, int64_t *out, flt_err *e) {
    const flt_onnx_attr *a;
    FLT_ONNX_TRY(attr_of(n, name, FLT_ONNX_ATTR_INT, &a, e));
    *out = a ? a->i : def;
    return FLINTRT_OK;
}

flintrt_status flt_onnx_attr_float(const flt_onnx_node *n, const char *name, float def, float *out, flt_err *e) {
    const flt_onnx_attr *a;
    FLT_ONNX_TRY(attr_of(n, name, FLT_ONNX_ATTR_FLOAT, &a, e));
    *out = a ? a->f : def;
    return FLINTRT_OK;
}

flintrt_status flt_onnx_attr_string(const flt_onnx_node *n, const char *name, const char *def, char *buf,
                                    size_t cap, flt_err *e) {
    const flt_onnx_attr *a;
    FLT_ONNX_TRY(attr_of(n, name, FLT_ONNX_ATTR_STRING, &a, e));
    if (!a) {
        snprintf(buf, cap, "%s", def ? def : "");
        return FLINTRT_OK;
    }
    if (a->s.n >= cap || (a->s.n && memchr(a->s.p, 0, a->s.n)))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "attribute '%s': string too long or not text", name);
    if (a->s.n) memcpy(buf, a->s.p, a->s.n);
    buf[a->s.n] = '\0';
    return FLINTRT_OK;
}

flintrt_status flt_onnx_attr_ints(const flt_onnx_node *n, const char *name, const int64_t **vals, int64_t *count,
                                  flt_err *e) {
    const flt_onnx_attr *a;
    FLT_ONNX_TRY(attr_of(n, name, FLT_ONNX_ATTR_INTS, &a, e));
    *vals = a ? a->ints : NULL;
    *count = a ? a->n : -1;
    return FLINTRT_OK;
}

flintrt_status flt_onnx_attr_floats(const flt_onnx_node *n, const char *name, const float **vals, int64_t *count,
                                    flt_err *e) {
    const flt_onnx_attr *a;
    FLT_ONNX_TRY(attr_of(n, name, FLT_ONNX_ATTR_FLOATS, &a, e));
    *vals = a ? a->floats : NULL;
    *count = a ? a->n : -1;
    return FLINTRT_OK;
}

flintrt_status flt_onnx_attr_tensor(const flt_onnx_node *n, const char *name, const flt_onnx_tensor **t, flt_err *e) {
    const flt_onnx_attr *a;
    FLT_ONNX_TRY(attr_of(n, name, FLT_ONNX_ATTR_TENSOR, &a, e));
    *t = a ? a->t : NULL;
    return FLINTRT_OK;
}

flintrt_status flt_onnx_attr_graph(const flt_onnx_node *n, const char *name, const flt_onnx_graph **g, flt_err *e) {
    const flt_onnx_attr *a;
    FLT_ONNX_TRY(attr_of(n, name, FLT_ONNX_ATTR_GRAPH, &a, e));
    *g = a ? a->g : NULL;
    return FLINTRT_OK;
}

flintrt_status flt_onnx_attr_type_proto(const flt_onnx_node *n, const char *name, const flt_onnx_value **tp, flt_err *e) {
    const flt_onnx_attr *a;
    FLT_ONNX_TRY(attr_of(n, name, FLT_ONNX_ATTR_TYPE_PROTO, &a, e));
    *tp = a ? a->tp : NULL;
    return FLINTRT_OK;
}

/* ---- elements ---- */

bool flt_onnx_is_float(flt_dtype d) { return d == FLT_F32 || d == FLT_F64 || d == FLT_F16 || d == FLT_BF16; }
bool flt_onnx_is_signed(flt_dtype d) { return d == FLT_I8 || d == FLT_I16 || d == FLT_I32 || d == FLT_I64; }
bool flt_onnx_is_unsigned(flt_dtype d) { return d == FLT_U8 || d == FLT_U16 || d == FLT_U32 || d == FLT_U64; }

size_t flt_onnx_dtype_size(flt_dtype d) {
    const flt_dtype_traits *t = flt_dtype_info(d);
    return t ? t->block_bytes : 0;
}

double flt_onnx_get_f64(flt_dtype d, const void *p, int64_t i) {
    switch (d) {
    case FLT_F32: { float v; memcpy(&v, (const char *)p + 4 * i, 4); return v; }
    case FLT_F64: { double v; memcpy(&v, (const char *)p + 8 * i, 8); return v; }
    case FLT_F16: { uint16_t h; memcpy(&h, (const char *)p + 2 * i, 2); return flt_f16_to_f32(h); }
    case FLT_BF16: { uint16_t h; memcpy(&h, (const char *)p + 2 * i, 2); return flt_bf16_to_f32(h); }
    case FLT_I8: return ((const int8_t *)p)[i];
    case FLT_U8: case FLT_BOOL: return ((const uint8_t *)p)[i];
    case FLT_I16: { int16_t v; memcpy(&v, (const char *)p + 2 * i, 2); return v; }
    case FLT_U16: { uint16_t v; memcpy(&v, (const char *)p + 2 * i, 2); return v; }
    case FLT_I32: { int32_t v; memcpy(&v, (const char *)p + 4 * i, 4); return v; }
    case FLT_U32: { uint32_t v; memcpy(&v, (const char *)p + 4 * i, 4); return v; }
    case FLT_I64: { int64_t v; memcpy(&v, (const char *)p + 8 * i, 8); return (double)v; }
    case FLT_U64: { uint64_t v; memcpy(&v, (const char *)p + 8 * i, 8); return (double)v; }
    default: return 0;
    }
}

int64_t flt_onnx_get_i64(flt_dtype d, const void *p, int64_t i) {
    switch (d) {
    case FLT_I8: return ((const int8_t *)p)[i];
    case FLT_U8: case FLT_BOOL: return ((const uint8_t *)p)[i];
    case FLT_I16: { int16_t v; memcpy(&v, (const char *)p + 2 * i, 2); return v; }
    case FLT_U16: { uint16_t v; memcpy(&v, (const char *)p + 2 * i, 2); return v; }
    case FLT_I32: { int32_t v; memcpy(&v, (const char *)p + 4 * i, 4); return v; }
    case FLT_U32: { uint32_t v; memcpy(&v, (const char *)p + 4 * i, 4); return v; }
    case FLT_I64: { int64_t v; memcpy(&v, (const char *)p + 8 * i, 8); return v; }
    case FLT_U64: { uint64_t v; memcpy(&v, (const char *)p + 8 * i, 8); return (int64_t)v; }
    default: {
        double v = flt_onnx_get_f64(d, p, i);
        if (v != v) return 0;
        if (v >= 9.2233720368547758e18) return INT64_MAX;
        if (v <= -9.2233720368547758e18) return INT64_MIN;
        return (int64_t)v;
    }
    }
}

void flt_onnx_set_i64(flt_dtype d, void *p, int64_t i, int64_t v) {
    char *c = (char *)p;
    switch (d) {
    case FLT_I8: { int8_t x = (int8_t)v; memcpy(c + i, &x, 1); break; }
    case FLT_U8: { uint8_t x = (uint8_t)v; memcpy(c + i, &x, 1); break; }
    case FLT_BOOL: c[i] = v != 0; break;
    case FLT_I16: { int16_t x = (int16_t)v; memcpy(c + 2 * i, &x, 2); break; }
    case FLT_U16: { uint16_t x = (uint16_t)v; memcpy(c + 2 * i, &x, 2); break; }
    case FLT_I32: { int32_t x = (int32_t)v; memcpy(c + 4 * i, &x, 4); break; }
    case FLT_U32: { uint32_t x = (uint32_t)v; memcpy(c + 4 * i, &x, 4); break; }
    case FLT_I64: memcpy(c + 8 * i, &v, 8); break;
    case FLT_U64: { uint64_t x = (uint64_t)v; memcpy(c + 8 * i, &x, 8); break; }
    default: flt_onnx_set_f64(d, p, i, (double)v); break;
    }
}

void flt_onnx_set_f64(flt_dtype d, void *p, int64_t i, double v) {
    char *c = (char *)p;
    switch (d) {
    case FLT_F32: { float x = (float)v; memcpy(c + 4 * i, &x, 4); break; }
    case FLT_F64: memcpy(c + 8 * i, &v, 8); break;
    case FLT_F16: { uint16_t h = flt_f32_to_f16((float)v); memcpy(c + 2 * i, &h, 2); break; }
    case FLT_BF16: { uint16_t h = flt_f32_to_bf16((float)v); memcpy(c + 2 * i, &h, 2); break; }
    case FLT_BOOL: c[i] = v != 0; break;
    case FLT_U64: {
        uint64_t x = v != v || v <= 0 ? (v <= -1 ? (uint64_t)(int64_t)(v <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)v) : 0)
                   : v >= 1.8446744073709552e19 ? UINT64_MAX : (uint64_t)v;
        memcpy(c + 8 * i, &x, 8);
        break;
    }
    default: {
        /* through int64 (truncation toward zero), saturating at int64's range */
        int64_t x = v != v ? 0 : v >= 9.2233720368547758e18 ? INT64_MAX : v <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)v;
        flt_onnx_set_i64(d, p, i, x);
        break;
    }
    }
}

/* ---- strides ---- */

void flt_onnx_strides(const flt_onnx_tinfo *t, int64_t *strides) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= t->dims[i];
    }
}

void flt_onnx_bcast_strides(const flt_onnx_tinfo *t, const flt_onnx_tinfo *out, int64_t *strides) {
    int64_t own[FLT_ONNX_MAX_DIMS];
    flt_onnx_strides(t, own);
    int off = out->ndim - t->ndim;
    for (int i = 0; i < out->ndim; i++) {
        int j = i - off;
        strides[i] = j < 0 || t->dims[j] == 1 ? 0 : own[j];
    }
}
