/* ModelProto -> flt_onnx_model (see model.h).
 *
 * Two phases: parse (every protobuf message into structs, names as strings,
 * subgraphs recursively) then link (per graph: a value table built in node
 * order, names resolved to ids, names unknown to a subgraph resolved in the
 * enclosing graphs as outer references, operators looked up in the registry
 * and their attributes parsed). Repeated fields are counted in a first pass
 * over a message and filled in a second, so every allocation is bounded by
 * bytes the file actually holds; the model arena also has a budget. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "formats/protobuf.h"
#include "onnx/model_internal.h"
#include "onnx/op.h"
#include "onnx/registry.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ONNX loader views raw_data in place and assumes a little-endian host"
#endif

/* ---- dtypes ---- */

bool flt_onnx_dtype(int32_t t, flt_dtype *out) {
    switch (t) {
    case FLT_ONNX_FLOAT: *out = FLT_F32; return true;
    case FLT_ONNX_UINT8: *out = FLT_U8; return true;
    case FLT_ONNX_INT8: *out = FLT_I8; return true;
    case FLT_ONNX_UINT16: *out = FLT_U16; return true;
    case FLT_ONNX_INT16: *out = FLT_I16; return true;
    case FLT_ONNX_INT32: *out = FLT_I32; return true;
    case FLT_ONNX_INT64: *out = FLT_I64; return true;
    case FLT_ONNX_BOOL: *out = FLT_BOOL; return true;
    case FLT_ONNX_FLOAT16: *out = FLT_F16; return true;
    case FLT_ONNX_DOUBLE: *out = FLT_F64; return true;
    case FLT_ONNX_UINT32: *out = FLT_U32; return true;
    case FLT_ONNX_UINT64: *out = FLT_U64; return true;
    case FLT_ONNX_BFLOAT16: *out = FLT_BF16; return true;
    default: return false;
    }
}

int32_t flt_onnx_type_of(flt_dtype d) {
    static const int32_t map[][2] = {
        {FLT_F32, FLT_ONNX_FLOAT}, {FLT_U8, FLT_ONNX_UINT8},   {FLT_I8, FLT_ONNX_INT8},     {FLT_U16, FLT_ONNX_UINT16},
        {FLT_I16, FLT_ONNX_INT16}, {FLT_I32, FLT_ONNX_INT32},  {FLT_I64, FLT_ONNX_INT64},   {FLT_BOOL, FLT_ONNX_BOOL},
        {FLT_F16, FLT_ONNX_FLOAT16}, {FLT_F64, FLT_ONNX_DOUBLE}, {FLT_U32, FLT_ONNX_UINT32}, {FLT_U64, FLT_ONNX_UINT64},
        {FLT_BF16, FLT_ONNX_BFLOAT16},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i][0] == (int32_t)d) return map[i][1];
    return 0;
}

const char *flt_onnx_type_name(int32_t t) {
    static const char *const names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                        "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
                                        "complex128", "bfloat16"};
    return t >= 0 && t <= 16 ? names[t] : "unknown type";
}

/* ---- parse state ---- */

typedef struct pctx {
    flt_onnx_model *m;
    flt_err *e;
} pctx;

/* A name or other string field: NUL-terminated copy; embedded NULs refused
 * (names are looked up and printed as C strings). */
static flintrt_status read_str(pctx *c, const flt_pb_field *f, const char *what, const char **out) {
    flt_bytes b;
    FLT_ONNX_TRY(flt_pb_bytes(f, what, &b, c->e));
    if (b.n && memchr(b.p, 0, b.n))
        return flt_fail(c->e, FLINTRT_ERR_FORMAT, "%s at offset %" PRIu64 ": string contains a NUL byte", what,
                        f->payload_offset);
    char *s = flt_arena_strndup(&c->m->arena, b.p, b.n, c->e);
    if (!s) return c->e->status;
    *out = s;
    return FLINTRT_OK;
}

static void *alloc_n(pctx *c, uint64_t n, size_t size, const char *what) {
    if (n > SIZE_MAX) {
        flt_fail(c->e, FLINTRT_ERR_LIMIT, "%s: %" PRIu64 " elements", what, n);
        return NULL;
    }
    return flt_arena_array(&c->m->arena, (size_t)n, size, what, c->e);
}

/* Loop over the fields of the message in reader r. */
#define FOR_FIELDS(c, r, f, what, ...)                                          \
    do {                                                                        \
        flt_reader fit_##r = (r);                                               \
        for (;;) {                                                              \
            flintrt_status fst_##r = flt_pb_next(&fit_##r, &(f), (what), (c)->e); \
            if (fst_##r == FLINTRT_ERR_NOT_FOUND) break;                        \
            if (fst_##r) return fst_##r;                                        \
            __VA_ARGS__                                                         \
        }                                                                       \
    } while (0)

/* ---- TensorProto ---- */

static flintrt_status parse_tensor_in(pctx *c, flt_reader r, uint64_t at, flt_onnx_tensor *t);

/* Which repeated field holds the values of a data type when raw_data is absent. */
static uint32_t typed_field(int32_t t) {
    switch (t) {
    case FLT_ONNX_FLOAT: return 4;
    case FLT_ONNX_INT32: case FLT_ONNX_INT16: case FLT_ONNX_INT8: case FLT_ONNX_UINT16: case FLT_ONNX_UINT8:
    case FLT_ONNX_BOOL: case FLT_ONNX_FLOAT16: case FLT_ONNX_BFLOAT16: return 5;
    case FLT_ONNX_INT64: return 7;
    case FLT_ONNX_DOUBLE: return 10;
    case FLT_ONNX_UINT32: case FLT_ONNX_UINT64: return 11;
    default: return 0;
    }
}

static flintrt_status parse_tensor_in(pctx *c, flt_reader r, uint64_t at, flt_onnx_tensor *t) {
    flt_err *e = c->e;
    flt_pb_field f;
    uint64_t n_dims = 0, n_typed[16] = {0};
    bool has_raw = false, external = false, has_type = false;
    flt_bytes raw = {0};
    uint64_t raw_off = 0;
    int32_t dtype = 0;
    const char *name = "";
    flt_bytes loc = {0};
    bool has_loc = false, has_eoff = false, has_elen = false;
    uint64_t eoff = 0, elen = 0;
    memset(t, 0, sizeof *t);
    t->offset = at;
    /* pass 1: counts, scalars, raw data, external data entries */
    FOR_FIELDS(c, r, f, "TensorProto", {
        uint64_t k;
        switch (f.number) {
        case 1: FLT_ONNX_TRY(flt_pb_count(&f, FLT_PB_VARINT, "TensorProto.dims", &k, e)); n_dims += k; break;
        case 2: FLT_ONNX_TRY(flt_pb_i32(&f, "TensorProto.data_type", &dtype, e)); has_type = true; break;
        case 3: return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "tensor at offset %" PRIu64 ": segmented tensors are not supported", at);
        case 4: FLT_ONNX_TRY(flt_pb_count(&f, FLT_PB_I32, "TensorProto.float_data", &k, e)); n_typed[4] += k; break;
        case 5: case 7: case 11:
            FLT_ONNX_TRY(flt_pb_count(&f, FLT_PB_VARINT, "TensorProto typed data", &k, e)); n_typed[f.number] += k; break;
        case 10: FLT_ONNX_TRY(flt_pb_count(&f, FLT_PB_I64, "TensorProto.double_data", &k, e)); n_typed[10] += k; break;
        case 6: n_typed[6]++; break;
        case 8: FLT_ONNX_TRY(read_str(c, &f, "TensorProto.name", &name)); break;
        case 9: FLT_ONNX_TRY(flt_pb_bytes(&f, "TensorProto.raw_data", &raw, e)); has_raw = true; raw_off = f.payload_offset; break;
        case 13: {
            flt_bytes b;
            FLT_ONNX_TRY(flt_pb_bytes(&f, "TensorProto.external_data", &b, e));
            flt_reader er;
            flt_pb_sub(&f, &er);
            flt_pb_field g;
            flt_bytes key = {0}, val = {0};
            FOR_FIELDS(c, er, g, "StringStringEntryProto", {
                if (g.number == 1) FLT_ONNX_TRY(flt_pb_bytes(&g, "external_data.key", &key, e));
                else if (g.number == 2) FLT_ONNX_TRY(flt_pb_bytes(&g, "external_data.value", &val, e));
            });
            if (key.n == 8 && !memcmp(key.p, "location", 8)) { loc = val; has_loc = true; }
            else if ((key.n == 6 && !memcmp(key.p, "offset", 6)) || (key.n == 6 && !memcmp(key.p, "length", 6))) {
                uint64_t v = 0;
                if (val.n == 0 || val.n > 20)
                    return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor at offset %" PRIu64 ": bad external data %.6s", at,
                                    (const char *)key.p);
                for (size_t i = 0; i < val.n; i++) {
                    if (val.p[i] < '0' || val.p[i] > '9' || !flt_mul_u64(v, 10, &v) || !flt_add_u64(v, val.p[i] - '0', &v))
                        return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor at offset %" PRIu64 ": bad external data %.6s",
                                        at, (const char *)key.p);
                }
                if (key.p[0] == 'o') { eoff = v; has_eoff = true; } else { elen = v; has_elen = true; }
            }
            break;
        }
        case 14: {
            int32_t v;
            FLT_ONNX_TRY(flt_pb_i32(&f, "TensorProto.data_location", &v, e));
            if (v != 0 && v != 1)
                return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor at offset %" PRIu64 ": data_location %d", at, v);
            external = v == 1;
            break;
        }
        default: break;
        }
    });
    t->name = name;
    if (!has_type || dtype == FLT_ONNX_UNDEFINED)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s' at offset %" PRIu64 ": no data type", name, at);
    if (dtype == FLT_ONNX_STRING)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "tensor '%s' at offset %" PRIu64 ": string tensors are not supported by Flint",
                        name, at);
    t->onnx_type = dtype;
    if (!flt_onnx_dtype(dtype, &t->dtype))
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "tensor '%s' at offset %" PRIu64 ": data type %d (%s) is not supported",
                        name, at, dtype, flt_onnx_type_name(dtype));
    if (n_dims > FLT_ONNX_MAX_DIMS)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "tensor '%s' at offset %" PRIu64 ": %" PRIu64 " dimensions (at most %d)",
                        name, at, n_dims, FLT_ONNX_MAX_DIMS);
    /* pass 2: dims */
    uint64_t nd = 0, dv[FLT_ONNX_MAX_DIMS];
    FOR_FIELDS(c, r, f, "TensorProto", {
        if (f.number == 1) FLT_ONNX_TRY(flt_pb_read(&f, FLT_PB_VARINT, "TensorProto.dims", dv, FLT_ONNX_MAX_DIMS, &nd, e));
    });
    t->ndim = (int)nd;
    uint64_t nelem = 1;
    for (int i = 0; i < t->ndim; i++) {
        int64_t d = (int64_t)dv[i];
        if (d < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s' at offset %" PRIu64 ": negative dimension %" PRId64, name, at, d);
        t->dims[i] = d;
        if (!flt_mul_u64(nelem, (uint64_t)d, &nelem) || nelem > (uint64_t)INT64_MAX / 16)
            return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s' at offset %" PRIu64 ": element count overflows", name, at);
    }
    t->nelem = (int64_t)nelem;
    size_t es = flt_dtype_info(t->dtype)->block_bytes;
    uint64_t nbytes;
    if (!flt_mul_u64(nelem, es, &nbytes) || nbytes > SIZE_MAX)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s' at offset %" PRIu64 ": byte size overflows", name, at);
    t->nbytes = (size_t)nbytes;
    if (external) {
        if (!has_loc) return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s' at offset %" PRIu64 ": external data without a location", name, at);
        t->external = true;
        return flt_onnx_external(c->m, name, &loc, has_eoff, eoff, has_elen, elen, t->nbytes, &t->data, e);
    }
    if (has_raw) {
        if (raw.n != t->nbytes)
            return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s' at offset %" PRIu64 ": raw_data has %zu bytes, its shape needs %zu",
                            name, raw_off, raw.n, t->nbytes);
        t->data = raw.n ? (const void *)raw.p : (const void *)"";
        return FLINTRT_OK;
    }
    uint32_t tf = typed_field(dtype);
    uint64_t have = n_typed[tf];
    if (have != nelem)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s' at offset %" PRIu64 ": %" PRIu64 " values for %" PRIu64 " elements",
                        name, at, have, nelem);
    void *buf = alloc_n(c, nelem ? nelem : 1, es, "tensor data");
    if (!buf) return e->status;
    t->data = buf;
    if (!nelem) return FLINTRT_OK;
    uint64_t *tmp = flt_malloc_array((size_t)nelem, sizeof *tmp);
    if (!tmp) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "tensor '%s': %" PRIu64 " values", name, nelem);
    uint64_t got = 0;
    flt_pb_wire w = tf == 4 ? FLT_PB_I32 : tf == 10 ? FLT_PB_I64 : FLT_PB_VARINT;
    flintrt_status st = FLINTRT_OK;
    {
        flt_reader it = r;
        for (;;) {
            flintrt_status s2 = flt_pb_next(&it, &f, "TensorProto", e);
            if (s2 == FLINTRT_ERR_NOT_FOUND) break;
            if (s2) { st = s2; break; }
            if (f.number == tf && (st = flt_pb_read(&f, w, "TensorProto typed data", tmp, nelem, &got, e))) break;
        }
    }
    if (!st) {
        uint8_t *o = buf;
        for (uint64_t i = 0; i < nelem; i++) {
            uint64_t v = tmp[i];
            switch (t->dtype) {
            case FLT_F32: case FLT_I32: case FLT_U32: { uint32_t u = (uint32_t)v; memcpy(o + 4 * i, &u, 4); break; }
            case FLT_I64: case FLT_U64: case FLT_F64: memcpy(o + 8 * i, &v, 8); break;
            case FLT_I16: case FLT_U16: case FLT_F16: case FLT_BF16: { uint16_t u = (uint16_t)v; memcpy(o + 2 * i, &u, 2); break; }
            case FLT_BOOL: o[i] = (uint32_t)v != 0; break;
            default: o[i] = (uint8_t)v; break;
            }
        }
    }
    free(tmp);
    return st;
}

static flintrt_status parse_tensor_field(pctx *c, const flt_pb_field *f, int depth, flt_onnx_tensor *t) {
    FLT_ONNX_TRY(flt_pb_enter(depth, f, "TensorProto", c->e));
    flt_reader r;
    flt_pb_sub(f, &r);
    return parse_tensor_in(c, r, f->offset, t);
}

/* ---- TypeProto / ValueInfoProto ---- */

static flintrt_status parse_shape(pctx *c, const flt_pb_field *sf, int depth, flt_onnx_value *v) {
    FLT_ONNX_TRY(flt_pb_enter(depth, sf, "TensorShapeProto", c->e));
    flt_reader r;
    flt_pb_sub(sf, &r);
    flt_pb_field f;
    int nd = 0;
    FOR_FIELDS(c, r, f, "TensorShapeProto", {
        if (f.number != 1) continue;
        FLT_ONNX_TRY(flt_pb_enter(depth + 1, &f, "TensorShapeProto.Dimension", c->e));
        if (nd >= FLT_ONNX_MAX_DIMS)
            return flt_fail(c->e, FLINTRT_ERR_UNSUPPORTED, "value '%s': more than %d dimensions", v->name, FLT_ONNX_MAX_DIMS);
        flt_onnx_dim d = {.value = -1, .param = NULL};
        flt_reader dr;
        flt_pb_sub(&f, &dr);
        flt_pb_field g;
        FOR_FIELDS(c, dr, g, "TensorShapeProto.Dimension", {
            if (g.number == 1) {
                int64_t x;
                FLT_ONNX_TRY(flt_pb_i64(&g, "Dimension.dim_value", &x, c->e));
                d.value = x >= 0 ? x : -1;
            } else if (g.number == 2) {
                FLT_ONNX_TRY(read_str(c, &g, "Dimension.dim_param", &d.param));
            }
        });
        v->dims[nd++] = d;
    });
    v->ndim = nd;
    return FLINTRT_OK;
}

static flintrt_status parse_type(pctx *c, const flt_pb_field *tf, int depth, flt_onnx_value *v) {
    FLT_ONNX_TRY(flt_pb_enter(depth, tf, "TypeProto", c->e));
    flt_reader r;
    flt_pb_sub(tf, &r);
    flt_pb_field f;
    FOR_FIELDS(c, r, f, "TypeProto", {
        if (f.number == 1) {
            FLT_ONNX_TRY(flt_pb_enter(depth + 1, &f, "TypeProto.Tensor", c->e));
            v->has_type = true;
            v->ndim = -1;
            flt_reader tr;
            flt_pb_sub(&f, &tr);
            flt_pb_field g;
            FOR_FIELDS(c, tr, g, "TypeProto.Tensor", {
                if (g.number == 1) FLT_ONNX_TRY(flt_pb_i32(&g, "TypeProto.Tensor.elem_type", &v->elem_type, c->e));
                else if (g.number == 2) FLT_ONNX_TRY(parse_shape(c, &g, depth + 2, v));
            });
        } else if (f.number == 4 || f.number == 9) {
            /* Sequence / Optional: { TypeProto elem_type = 1; } */
            const char *what = f.number == 4 ? "TypeProto.Sequence" : "TypeProto.Optional";
            FLT_ONNX_TRY(flt_pb_enter(depth + 1, &f, what, c->e));
            if (v->n_wrap >= FLT_ONNX_MAX_WRAP)
                return flt_fail(c->e, FLINTRT_ERR_UNSUPPORTED, "value '%s' at offset %" PRIu64 ": types nested deeper than %d",
                                v->name, tf->offset, FLT_ONNX_MAX_WRAP);
            v->wrap[v->n_wrap++] = f.number == 4 ? FLT_ONNX_KIND_SEQUENCE : FLT_ONNX_KIND_OPTIONAL;
            v->has_type = true;
            v->ndim = -1;
            flt_reader sr;
            flt_pb_sub(&f, &sr);
            flt_pb_field g;
            bool inner = false;
            FOR_FIELDS(c, sr, g, what, {
                if (g.number != 1) continue;
                if (inner) return flt_fail(c->e, FLINTRT_ERR_FORMAT, "value '%s': %s has two element types", v->name, what);
                inner = true;
                FLT_ONNX_TRY(parse_type(c, &g, depth + 2, v));
            });
        } else if (f.number == 5 || f.number == 8) {
            static const char *const kinds[] = {[5] = "map", [8] = "sparse tensor"};
            return flt_fail(c->e, FLINTRT_ERR_UNSUPPORTED, "value '%s' at offset %" PRIu64 ": %s types are not supported",
                            v->name, tf->offset, kinds[f.number]);
        }
    });
    return FLINTRT_OK;
}

static flintrt_status parse_value_info(pctx *c, const flt_pb_field *vf, int depth, flt_onnx_value *v) {
    FLT_ONNX_TRY(flt_pb_enter(depth, vf, "ValueInfoProto", c->e));
    memset(v, 0, sizeof *v);
    v->name = "";
    v->ndim = -1;
    v->producer = -1;
    v->outer = -1;
    flt_reader r;
    flt_pb_sub(vf, &r);
    flt_pb_field f;
    /* the name first, so type errors can name the value */
    FOR_FIELDS(c, r, f, "ValueInfoProto", {
        if (f.number == 1) FLT_ONNX_TRY(read_str(c, &f, "ValueInfoProto.name", &v->name));
    });
    FOR_FIELDS(c, r, f, "ValueInfoProto", {
        if (f.number == 2) FLT_ONNX_TRY(parse_type(c, &f, depth + 1, v));
    });
    if (v->has_type && v->elem_type == FLT_ONNX_STRING)
        return flt_fail(c->e, FLINTRT_ERR_UNSUPPORTED, "value '%s': string tensors are not supported by Flint", v->name);
    return FLINTRT_OK;
}

/* ---- GraphProto / NodeProto / AttributeProto (parse phase) ---- */

static flintrt_status parse_graph(pctx *c, const flt_pb_field *gf, int depth, int gdepth, flt_onnx_graph **out);

/* Raw parse results kept until link. */
typedef struct raw_graph {
    flt_onnx_graph *g;
    int n_init, n_in, n_out, n_vi;
    flt_onnx_tensor *inits;
    flt_onnx_value *ins, *outs, *vis;
} raw_graph;

static flintrt_status parse_attr(pctx *c, const flt_pb_field *af, int depth, int gdepth, flt_onnx_attr *a) {
    flt_err *e = c->e;
    FLT_ONNX_TRY(flt_pb_enter(depth, af, "AttributeProto", e));
    memset(a, 0, sizeof *a);
    a->name = "";
    a->offset = af->offset;
    flt_reader r;
    flt_pb_sub(af, &r);
    flt_pb_field f;
    uint64_t nf = 0, ni = 0, ns = 0, nt = 0, ng = 0;
    int32_t type = 0;
    bool seen[24] = {false};
    FOR_FIELDS(c, r, f, "AttributeProto", {
        uint64_t k;
        if (f.number < 24) seen[f.number] = true;
        switch (f.number) {
        case 1: FLT_ONNX_TRY(read_str(c, &f, "AttributeProto.name", &a->name)); break;
        case 2: FLT_ONNX_TRY(flt_pb_f32(&f, "AttributeProto.f", &a->f, e)); break;
        case 3: FLT_ONNX_TRY(flt_pb_i64(&f, "AttributeProto.i", &a->i, e)); break;
        case 4: FLT_ONNX_TRY(flt_pb_bytes(&f, "AttributeProto.s", &a->s, e)); break;
        case 7: FLT_ONNX_TRY(flt_pb_count(&f, FLT_PB_I32, "AttributeProto.floats", &k, e)); nf += k; break;
        case 8: FLT_ONNX_TRY(flt_pb_count(&f, FLT_PB_VARINT, "AttributeProto.ints", &k, e)); ni += k; break;
        case 9: { flt_bytes b; FLT_ONNX_TRY(flt_pb_bytes(&f, "AttributeProto.strings", &b, e)); ns++; break; }
        case 10: nt++; break;
        case 11: ng++; break;
        case 20: FLT_ONNX_TRY(flt_pb_i32(&f, "AttributeProto.type", &type, e)); break;
        case 21:
            return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "attribute at offset %" PRIu64 ": references to function attributes are not supported",
                            af->offset);
        default: break;
        }
    });
    if (type == 0) { /* IR < 3: the type is whichever value field is set */
        static const int order[][2] = {{2, 1}, {3, 2}, {4, 3}, {5, 4}, {6, 5}, {7, 6}, {8, 7}, {9, 8}, {10, 9}, {11, 10}};
        for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
            if (seen[order[i][0]]) type = order[i][1];
    }
    if (type < 1 || type > 14)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "attribute '%s' at offset %" PRIu64 ": type %d", a->name, af->offset, type);
    a->type = (flt_onnx_attr_type)type;
    if (type == FLT_ONNX_ATTR_SPARSE_TENSOR || type == FLT_ONNX_ATTR_SPARSE_TENSORS || type == FLT_ONNX_ATTR_TYPE_PROTOS)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "attribute '%s' at offset %" PRIu64 ": attribute type %d is not supported",
                        a->name, af->offset, type);
    float *fl = NULL;
    uint64_t *iv = NULL;
    flt_bytes *sv = NULL;
    flt_onnx_tensor *tv = NULL;
    const flt_onnx_graph **gv = NULL;
    if (nf && !(fl = alloc_n(c, nf, sizeof *fl, "attribute floats"))) return e->status;
    if (ni && !(iv = alloc_n(c, ni, sizeof *iv, "attribute ints"))) return e->status;
    if (ns && !(sv = alloc_n(c, ns, sizeof *sv, "attribute strings"))) return e->status;
    if (nt && !(tv = alloc_n(c, nt, sizeof *tv, "attribute tensors"))) return e->status;
    if (ng && !(gv = alloc_n(c, ng, sizeof *gv, "attribute graphs"))) return e->status;
    uint64_t kf = 0, ki = 0, ks = 0, kt = 0, kg = 0;
    FOR_FIELDS(c, r, f, "AttributeProto", {
        switch (f.number) {
        case 5: {
            flt_onnx_tensor *t = alloc_n(c, 1, sizeof *t, "attribute tensor");
            if (!t) return e->status;
            FLT_ONNX_TRY(parse_tensor_field(c, &f, depth + 1, t));
            a->t = t;
            break;
        }
        case 6: {
            flt_onnx_graph *g;
            FLT_ONNX_TRY(parse_graph(c, &f, depth + 1, gdepth + 1, &g));
            a->g = g;
            break;
        }
        case 7: {
            uint64_t tmp[64], n = 0;
            /* floats: fixed32 bit patterns; read in chunks through the generic reader */
            uint64_t cnt;
            FLT_ONNX_TRY(flt_pb_count(&f, FLT_PB_I32, "AttributeProto.floats", &cnt, e));
            if (cnt <= 64) {
                FLT_ONNX_TRY(flt_pb_read(&f, FLT_PB_I32, "AttributeProto.floats", tmp, 64, &n, e));
            } else {
                uint64_t *big = flt_malloc_array((size_t)cnt, sizeof *big);
                if (!big) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "attribute floats");
                flintrt_status s2 = flt_pb_read(&f, FLT_PB_I32, "AttributeProto.floats", big, cnt, &n, e);
                for (uint64_t i = 0; !s2 && i < n; i++) { uint32_t u = (uint32_t)big[i]; memcpy(&fl[kf + i], &u, 4); }
                free(big);
                if (s2) return s2;
                kf += n;
                break;
            }
            for (uint64_t i = 0; i < n; i++) { uint32_t u = (uint32_t)tmp[i]; memcpy(&fl[kf + i], &u, 4); }
            kf += n;
            break;
        }
        case 8: FLT_ONNX_TRY(flt_pb_read(&f, FLT_PB_VARINT, "AttributeProto.ints", iv, ni, &ki, e)); break;
        case 9: sv[ks++] = f.bytes; break;
        case 10: FLT_ONNX_TRY(parse_tensor_field(c, &f, depth + 1, &tv[kt++])); break;
        case 14: {
            flt_onnx_value *tp = alloc_n(c, 1, sizeof *tp, "attribute type");
            if (!tp) return e->status;
            tp->name = "";
            tp->ndim = -1;
            tp->producer = -1;
            tp->outer = -1;
            FLT_ONNX_TRY(parse_type(c, &f, depth + 1, tp));
            a->tp = tp;
            break;
        }
        case 11: {
            flt_onnx_graph *g;
            FLT_ONNX_TRY(parse_graph(c, &f, depth + 1, gdepth + 1, &g));
            gv[kg++] = g;
            break;
        }
        default: break;
        }
    });
    switch (a->type) {
    case FLT_ONNX_ATTR_FLOATS: a->n = (int64_t)kf; a->floats = fl; break;
    case FLT_ONNX_ATTR_INTS: a->n = (int64_t)ki; a->ints = (const int64_t *)iv; break;
    case FLT_ONNX_ATTR_STRINGS: a->n = (int64_t)ks; a->strings = sv; break;
    case FLT_ONNX_ATTR_TENSORS: a->n = (int64_t)kt; a->tensors = tv; break;
    case FLT_ONNX_ATTR_GRAPHS: a->n = (int64_t)kg; a->graphs = gv; break;
    case FLT_ONNX_ATTR_TENSOR:
        if (!a->t) return flt_fail(e, FLINTRT_ERR_FORMAT, "attribute '%s' at offset %" PRIu64 ": TENSOR without a tensor", a->name, af->offset);
        break;
    case FLT_ONNX_ATTR_GRAPH:
        if (!a->g) return flt_fail(e, FLINTRT_ERR_FORMAT, "attribute '%s' at offset %" PRIu64 ": GRAPH without a graph", a->name, af->offset);
        break;
    case FLT_ONNX_ATTR_TYPE_PROTO:
        if (!a->tp) return flt_fail(e, FLINTRT_ERR_FORMAT, "attribute '%s' at offset %" PRIu64 ": TYPE_PROTO without a type", a->name, af->offset);
        break;
    default: break;
    }
    return FLINTRT_OK;
}

static flintrt_status parse_node(pctx *c, const flt_pb_field *nf, int depth, int gdepth, flt_onnx_node *n) {
    flt_err *e = c->e;
    FLT_ONNX_TRY(flt_pb_enter(depth, nf, "NodeProto", e));
    memset(n, 0, sizeof *n);
    n->name = n->op_type = n->domain = "";
    n->offset = nf->offset;
    flt_reader r;
    flt_pb_sub(nf, &r);
    flt_pb_field f;
    uint64_t ni = 0, no = 0, na = 0;
    FOR_FIELDS(c, r, f, "NodeProto", {
        switch (f.number) {
        case 1: ni++; break;
        case 2: no++; break;
        case 3: FLT_ONNX_TRY(read_str(c, &f, "NodeProto.name", &n->name)); break;
        case 4: FLT_ONNX_TRY(read_str(c, &f, "NodeProto.op_type", &n->op_type)); break;
        case 5: na++; break;
        case 7: FLT_ONNX_TRY(read_str(c, &f, "NodeProto.domain", &n->domain)); break;
        default: break;
        }
    });
    if (!n->op_type[0])
        return flt_fail(e, FLINTRT_ERR_FORMAT, "node '%s' at offset %" PRIu64 " has no op_type", n->name, nf->offset);
    if (ni > INT_MAX / 2 || no > INT_MAX / 2 || na > INT_MAX / 2)
        return flt_fail(e, FLINTRT_ERR_LIMIT, "node '%s': too many inputs/outputs/attributes", n->name);
    n->n_in = (int)ni;
    n->n_out = (int)no;
    n->n_attr = (int)na;
    if ((ni && !(n->in_names = alloc_n(c, ni, sizeof *n->in_names, "node inputs"))) ||
        (no && !(n->out_names = alloc_n(c, no, sizeof *n->out_names, "node outputs"))) ||
        (ni && !(n->in = alloc_n(c, ni, sizeof *n->in, "node inputs"))) ||
        (no && !(n->out = alloc_n(c, no, sizeof *n->out, "node outputs"))))
        return e->status;
    flt_onnx_attr *attrs = NULL;
    if (na && !(attrs = alloc_n(c, na, sizeof *attrs, "node attributes"))) return e->status;
    int ki = 0, ko = 0, ka = 0;
    FOR_FIELDS(c, r, f, "NodeProto", {
        switch (f.number) {
        case 1: FLT_ONNX_TRY(read_str(c, &f, "NodeProto.input", &n->in_names[ki++])); break;
        case 2: FLT_ONNX_TRY(read_str(c, &f, "NodeProto.output", &n->out_names[ko++])); break;
        case 5: {
            flintrt_status st = parse_attr(c, &f, depth + 1, gdepth, &attrs[ka++]);
            if (st) { flt_err_prefix(e, "node '%s' (%s)", n->name, n->op_type); return st; }
            break;
        }
        default: break;
        }
    });
    n->attrs = attrs;
    for (int i = 0; i < n->n_attr; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(attrs[i].name, attrs[j].name))
                return flt_fail(e, FLINTRT_ERR_FORMAT, "node '%s' (%s): attribute '%s' appears twice", n->name, n->op_type,
                                attrs[i].name);
    return FLINTRT_OK;
}

/* The raw parts of each graph, found again by the linker through this list. */
typedef struct raw_list {
    raw_graph *items;
    int n, cap;
} raw_list;

typedef struct pctx_raw {
    pctx base;
    raw_list raws;
} pctx_raw;

static raw_graph *raw_for(pctx *c, const flt_onnx_graph *g) {
    pctx_raw *cr = (pctx_raw *)c;
    for (int i = 0; i < cr->raws.n; i++)
        if (cr->raws.items[i].g == g) return &cr->raws.items[i];
    return NULL;
}

static flintrt_status parse_graph(pctx *c, const flt_pb_field *gf, int depth, int gdepth, flt_onnx_graph **out) {
    flt_err *e = c->e;
    FLT_ONNX_TRY(flt_pb_enter(depth, gf, "GraphProto", e));
    flt_onnx_graph *g = alloc_n(c, 1, sizeof *g, "graph");
    if (!g) return e->status;
    g->name = "";
    g->depth = gdepth;
    flt_reader r;
    flt_pb_sub(gf, &r);
    flt_pb_field f;
    uint64_t nn = 0, ninit = 0, nin = 0, nout = 0, nvi = 0;
    FOR_FIELDS(c, r, f, "GraphProto", {
        switch (f.number) {
        case 1: nn++; break;
        case 2: FLT_ONNX_TRY(read_str(c, &f, "GraphProto.name", &g->name)); break;
        case 5: ninit++; break;
        case 11: nin++; break;
        case 12: nout++; break;
        case 13: nvi++; break;
        case 15: return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "graph at offset %" PRIu64 ": sparse initializers are not supported", gf->offset);
        default: break;
        }
    });
    if (nn > INT_MAX / 4 || ninit > INT_MAX / 4 || nin > INT_MAX / 4 || nout > INT_MAX / 4 || nvi > INT_MAX / 4)
        return flt_fail(e, FLINTRT_ERR_LIMIT, "graph '%s': too many entries", g->name);
    raw_graph rg = {.g = g, .n_init = (int)ninit, .n_in = (int)nin, .n_out = (int)nout, .n_vi = (int)nvi};
    if ((nn && !(g->nodes = alloc_n(c, nn, sizeof *g->nodes, "graph nodes"))) ||
        (ninit && !(rg.inits = alloc_n(c, ninit, sizeof *rg.inits, "initializers"))) ||
        (nin && !(rg.ins = alloc_n(c, nin, sizeof *rg.ins, "graph inputs"))) ||
        (nout && !(rg.outs = alloc_n(c, nout, sizeof *rg.outs, "graph outputs"))) ||
        (nvi && !(rg.vis = alloc_n(c, nvi, sizeof *rg.vis, "value_info"))))
        return e->status;
    int kn = 0, ki = 0, kin = 0, kout = 0, kvi = 0;
    FOR_FIELDS(c, r, f, "GraphProto", {
        switch (f.number) {
        case 1: FLT_ONNX_TRY(parse_node(c, &f, depth + 1, gdepth, &g->nodes[kn++])); break;
        case 5: {
            flintrt_status st = parse_tensor_field(c, &f, depth + 1, &rg.inits[ki++]);
            if (st) { flt_err_prefix(e, "initializer"); return st; }
            break;
        }
        case 11: FLT_ONNX_TRY(parse_value_info(c, &f, depth + 1, &rg.ins[kin++])); break;
        case 12: FLT_ONNX_TRY(parse_value_info(c, &f, depth + 1, &rg.outs[kout++])); break;
        case 13: FLT_ONNX_TRY(parse_value_info(c, &f, depth + 1, &rg.vis[kvi++])); break;
        default: break;
        }
    });
    g->n_nodes = kn;
    pctx_raw *cr = (pctx_raw *)c;
    if (cr->raws.n == cr->raws.cap) {
        int cap = cr->raws.cap ? cr->raws.cap * 2 : 8;
        raw_graph *p = realloc(cr->raws.items, (size_t)cap * sizeof *p);
        if (!p) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "graphs");
        cr->raws.items = p;
        cr->raws.cap = cap;
    }
    cr->raws.items[cr->raws.n++] = rg;
    *out = g;
    return FLINTRT_OK;
}

/* ---- link ---- */

typedef struct link_state link_state;
struct link_state {
    flt_onnx_graph *g;
    link_state *parent;
    flt_onnx_value *vals;
    int n, cap;
    int *table;        /* open addressing: value id + 1, 0 empty */
    size_t tcap;       /* power of two */
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int lookup_local(const link_state *ls, const char *name) {
    if (!ls->tcap) return -1;
    for (size_t i = hash_str(name) & (ls->tcap - 1);; i = (i + 1) & (ls->tcap - 1)) {
        int v = ls->table[i];
        if (!v) return -1;
        if (!strcmp(ls->vals[v - 1].name, name)) return v - 1;
    }
}

static flintrt_status add_value(link_state *ls, const flt_onnx_value *v, int *id, flt_err *e) {
    if (ls->n == ls->cap) {
        int cap = ls->cap ? ls->cap * 2 : 64;
        flt_onnx_value *p = realloc(ls->vals, (size_t)cap * sizeof *p);
        if (!p) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "value table");
        ls->vals = p;
        ls->cap = cap;
    }
    if ((size_t)(ls->n + 1) * 2 > ls->tcap) {
        size_t tcap = ls->tcap ? ls->tcap * 2 : 128;
        int *t = calloc(tcap, sizeof *t);
        if (!t) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "value table");
        for (int i = 0; i < ls->n; i++)
            for (size_t j = hash_str(ls->vals[i].name) & (tcap - 1);; j = (j + 1) & (tcap - 1))
                if (!t[j]) { t[j] = i + 1; break; }
        free(ls->table);
        ls->table = t;
        ls->tcap = tcap;
    }
    ls->vals[ls->n] = *v;
    for (size_t j = hash_str(v->name) & (ls->tcap - 1);; j = (j + 1) & (ls->tcap - 1))
        if (!ls->table[j]) { ls->table[j] = ls->n + 1; break; }
    *id = ls->n++;
    return FLINTRT_OK;
}

/* Resolve a name in ls, creating outer references through enclosing graphs. */
static flintrt_status resolve(link_state *ls, const char *name, int *id, flt_err *e) {
    int v = lookup_local(ls, name);
    if (v >= 0) { *id = v; return FLINTRT_OK; }
    if (!ls->parent) { *id = -1; return FLINTRT_OK; }
    int pv;
    FLT_ONNX_TRY(resolve(ls->parent, name, &pv, e));
    if (pv < 0) { *id = -1; return FLINTRT_OK; }
    flt_onnx_value o = ls->parent->vals[pv];
    o.kind = FLT_ONNX_V_OUTER;
    o.outer = pv;
    o.producer = -1;
    o.constant = NULL; /* read through the parent at run time */
    o.overridable = false;
    return add_value(ls, &o, id, e);
}

static flintrt_status link_graph(pctx *c, flt_onnx_graph *g, link_state *parent);

static flintrt_status resolve_op(pctx *c, flt_onnx_node *n) {
    flt_err *e = c->e;
    n->opset = flt_onnx_model_opset(c->m, n->domain);
    if (n->opset <= 0)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "node '%s' (%s): domain '%s' is not imported by the model", n->name,
                        n->op_type, n->domain[0] ? n->domain : "ai.onnx");
    bool other = false;
    n->op = flt_onnx_find_op(n->domain, n->op_type, n->opset, &other);
    if (!n->op) return FLINTRT_OK; /* loadable (inspect), refused by flt_onnx_check_ops before running */
    if (n->n_in < n->op->min_in)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "node '%s' (%s): %d inputs, at least %d required", n->name, n->op_type,
                        n->n_in, n->op->min_in);
    for (int i = 0; i < n->op->min_in && !(n->op->flags & FLT_ONNX_OP_EMPTY_INPUTS_OK); i++)
        if (!n->in_names[i][0])
            return flt_fail(e, FLINTRT_ERR_FORMAT, "node '%s' (%s): input %d is required", n->name, n->op_type, i);
    if (n->n_in > FLT_ONNX_MAX_IO || n->n_out > FLT_ONNX_MAX_IO)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "node '%s' (%s): %d inputs and %d outputs (at most %d each)", n->name,
                        n->op_type, n->n_in, n->n_out, FLT_ONNX_MAX_IO);
    if (n->op->params_size) {
        void *p = flt_arena_alloc(&c->m->arena, n->op->params_size, "op params", e);
        if (!p) return e->status;
        n->params = p;
        if (n->op->parse) {
            flintrt_status st = n->op->parse(n, p, e);
            if (st) { flt_err_prefix(e, "node '%s' (%s)", n->name, n->op_type); return st; }
        }
    }
    return FLINTRT_OK;
}

static flintrt_status link_graph(pctx *c, flt_onnx_graph *g, link_state *parent) {
    flt_err *e = c->e;
    raw_graph *rg = raw_for(c, g);
    if (!rg) return flt_fail(e, FLINTRT_ERR_INTERNAL, "graph '%s' not parsed", g->name);
    link_state ls = {.g = g, .parent = parent};
    flintrt_status st = FLINTRT_OK;
    g->parent = parent ? parent->g : NULL;
    int *in_ids = NULL, *out_ids = NULL;
    if ((rg->n_in && !(in_ids = alloc_n(c, (uint64_t)rg->n_in, sizeof *in_ids, "graph inputs"))) ||
        (rg->n_out && !(out_ids = alloc_n(c, (uint64_t)rg->n_out, sizeof *out_ids, "graph outputs")))) {
        st = e->status;
        goto done;
    }
    for (int i = 0; i < rg->n_init; i++) {
        flt_onnx_tensor *t = &rg->inits[i];
        if (!t->name[0]) { st = flt_fail(e, FLINTRT_ERR_FORMAT, "initializer at offset %" PRIu64 " has no name", t->offset); goto done; }
        if (lookup_local(&ls, t->name) >= 0) {
            st = flt_fail(e, FLINTRT_ERR_FORMAT, "initializer '%s' at offset %" PRIu64 " is defined twice", t->name, t->offset);
            goto done;
        }
        flt_onnx_value v = {.name = t->name, .kind = FLT_ONNX_V_INITIALIZER, .has_type = true, .elem_type = t->onnx_type,
                            .ndim = t->ndim, .constant = t, .producer = -1, .outer = -1};
        for (int d = 0; d < t->ndim; d++) v.dims[d] = (flt_onnx_dim){t->dims[d], NULL};
        int id;
        if ((st = add_value(&ls, &v, &id, e))) goto done;
        g->initializer_bytes += t->nbytes;
    }
    g->n_initializers = rg->n_init;
    for (int i = 0; i < rg->n_in; i++) {
        flt_onnx_value *v = &rg->ins[i];
        if (!v->name[0]) { st = flt_fail(e, FLINTRT_ERR_FORMAT, "graph '%s': input %d has no name", g->name, i); goto done; }
        int id = lookup_local(&ls, v->name);
        if (id >= 0) {
            flt_onnx_value *x = &ls.vals[id];
            if (x->kind != FLT_ONNX_V_INITIALIZER || x->overridable) {
                st = flt_fail(e, FLINTRT_ERR_FORMAT, "graph '%s': input '%s' is listed twice", g->name, v->name);
                goto done;
            }
            x->overridable = true;
        } else {
            flt_onnx_value nv = *v;
            nv.kind = FLT_ONNX_V_INPUT;
            nv.producer = -1;
            nv.outer = -1;
            if (nv.has_type && !flt_onnx_dtype(nv.elem_type, &(flt_dtype){0}) && !(nv.n_wrap && !nv.elem_type)) {
                st = flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "graph input '%s' has type %s", v->name, flt_onnx_type_name(nv.elem_type));
                goto done;
            }
            if ((st = add_value(&ls, &nv, &id, e))) goto done;
        }
        in_ids[i] = id;
    }
    for (int ni = 0; ni < g->n_nodes; ni++) {
        flt_onnx_node *n = &g->nodes[ni];
        for (int i = 0; i < n->n_in; i++) {
            if (!n->in_names[i][0]) { n->in[i] = -1; continue; }
            if ((st = resolve(&ls, n->in_names[i], &n->in[i], e))) goto done;
            if (n->in[i] < 0) {
                st = flt_fail(e, FLINTRT_ERR_FORMAT,
                              "node '%s' (%s) at offset %" PRIu64 ": input '%s' is not defined before it (graph input, initializer or an earlier node's output)",
                              n->name, n->op_type, n->offset, n->in_names[i]);
                goto done;
            }
        }
        /* subgraphs see the values defined so far */
        int nimp = 0, capimp = 0;
        int *imp = NULL;
        for (int a = 0; a < n->n_attr; a++) {
            const flt_onnx_attr *at = &n->attrs[a];
            int ng = at->type == FLT_ONNX_ATTR_GRAPH ? 1 : at->type == FLT_ONNX_ATTR_GRAPHS ? (int)at->n : 0;
            for (int k = 0; k < ng; k++) {
                flt_onnx_graph *sg = (flt_onnx_graph *)(at->type == FLT_ONNX_ATTR_GRAPH ? at->g : at->graphs[k]);
                if ((st = link_graph(c, sg, &ls))) {
                    free(imp);
                    flt_err_prefix(e, "node '%s' (%s) attribute '%s'", n->name, n->op_type, at->name);
                    goto done;
                }
                for (int v = 0; v < sg->n_values; v++) {
                    if (sg->values[v].kind != FLT_ONNX_V_OUTER) continue;
                    int pid = sg->values[v].outer;
                    bool dup = false;
                    for (int q = 0; q < nimp; q++) dup |= imp[q] == pid;
                    if (dup) continue;
                    if (nimp == capimp) {
                        capimp = capimp ? capimp * 2 : 8;
                        int *p = realloc(imp, (size_t)capimp * sizeof *p);
                        if (!p) { free(imp); st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "implicit inputs"); goto done; }
                        imp = p;
                    }
                    imp[nimp++] = pid;
                }
            }
        }
        if (nimp) {
            n->implicit = alloc_n(c, (uint64_t)nimp, sizeof *n->implicit, "implicit inputs");
            if (!n->implicit) { free(imp); st = e->status; goto done; }
            memcpy(n->implicit, imp, (size_t)nimp * sizeof *imp);
            n->n_implicit = nimp;
        }
        free(imp);
        if ((st = resolve_op(c, n))) goto done;
        for (int o = 0; o < n->n_out; o++) {
            if (!n->out_names[o][0]) { n->out[o] = -1; continue; }
            if (lookup_local(&ls, n->out_names[o]) >= 0) {
                st = flt_fail(e, FLINTRT_ERR_FORMAT, "node '%s' (%s): output '%s' is already defined", n->name, n->op_type,
                              n->out_names[o]);
                goto done;
            }
            flt_onnx_value v = {.name = n->out_names[o], .kind = FLT_ONNX_V_NODE, .ndim = -1, .producer = ni,
                                .producer_slot = o, .outer = -1};
            if ((st = add_value(&ls, &v, &n->out[o], e))) goto done;
        }
    }
    for (int i = 0; i < rg->n_out; i++) {
        int id;
        if ((st = resolve(&ls, rg->outs[i].name, &id, e))) goto done;
        if (id < 0) {
            st = flt_fail(e, FLINTRT_ERR_FORMAT, "graph '%s': output '%s' is not produced by any node", g->name,
                          rg->outs[i].name);
            goto done;
        }
        flt_onnx_value *v = &ls.vals[id];
        if (!v->has_type && rg->outs[i].has_type) {
            flt_onnx_value keep = *v;
            *v = rg->outs[i];
            v->name = keep.name; v->kind = keep.kind; v->producer = keep.producer;
            v->producer_slot = keep.producer_slot; v->outer = keep.outer; v->constant = keep.constant;
            v->overridable = keep.overridable;
        }
        out_ids[i] = id;
    }
    for (int i = 0; i < rg->n_vi; i++) {
        int id = lookup_local(&ls, rg->vis[i].name);
        if (id < 0 || ls.vals[id].has_type || ls.vals[id].kind != FLT_ONNX_V_NODE) continue;
        flt_onnx_value *v = &ls.vals[id];
        int prod = v->producer, slot = v->producer_slot;
        const char *nm = v->name;
        *v = rg->vis[i];
        v->name = nm; v->kind = FLT_ONNX_V_NODE; v->producer = prod; v->producer_slot = slot; v->outer = -1;
    }
    /* lifetimes: the last node reading each value (subgraph reads count for the node) */
    for (int i = 0; i < ls.n; i++) ls.vals[i].last_use = ls.vals[i].producer;
    for (int ni = 0; ni < g->n_nodes; ni++) {
        const flt_onnx_node *n = &g->nodes[ni];
        for (int i = 0; i < n->n_in; i++) if (n->in[i] >= 0) ls.vals[n->in[i]].last_use = ni;
        for (int i = 0; i < n->n_implicit; i++) ls.vals[n->implicit[i]].last_use = ni;
    }
    for (int i = 0; i < rg->n_out; i++) ls.vals[out_ids[i]].last_use = g->n_nodes;
    g->values = alloc_n(c, (uint64_t)(ls.n ? ls.n : 1), sizeof *g->values, "value table");
    if (!g->values) { st = e->status; goto done; }
    if (ls.n) memcpy(g->values, ls.vals, (size_t)ls.n * sizeof *ls.vals);
    g->n_values = ls.n;
    g->inputs = in_ids;
    g->n_inputs = rg->n_in;
    g->outputs = out_ids;
    g->n_outputs = rg->n_out;
done:
    /* The parent's table may have grown while linking (outer references), so
     * a subgraph's values array is only published at the end; the parent link
     * state still owns its arrays. */
    free(ls.vals);
    free(ls.table);
    return st;
}

static flintrt_status check_graph_ops(const flt_onnx_graph *g, flt_err *e) {
    for (int i = 0; i < g->n_nodes; i++) {
        const flt_onnx_node *n = &g->nodes[i];
        if (!n->op) {
            bool other = false;
            flt_onnx_find_op(n->domain, n->op_type, n->opset, &other);
            return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "node '%s': operator %s%s%s (opset %" PRId64 ") is not supported%s",
                            n->name, n->domain[0] ? n->domain : "", n->domain[0] ? "." : "", n->op_type, n->opset,
                            other ? " at this opset version" : "");
        }
        for (int a = 0; a < n->n_attr; a++) {
            const flt_onnx_attr *at = &n->attrs[a];
            if (at->type == FLT_ONNX_ATTR_GRAPH) FLT_ONNX_TRY(check_graph_ops(at->g, e));
            for (int64_t k = 0; at->type == FLT_ONNX_ATTR_GRAPHS && k < at->n; k++) FLT_ONNX_TRY(check_graph_ops(at->graphs[k], e));
        }
    }
    return FLINTRT_OK;
}

flintrt_status flt_onnx_check_ops(const flt_onnx_model *m, flt_err *e) { return check_graph_ops(m->graph, e); }

/* ---- ModelProto ---- */

int64_t flt_onnx_model_opset(const flt_onnx_model *m, const char *domain) {
    bool onnx = !domain[0] || !strcmp(domain, "ai.onnx");
    for (int i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        bool donnx = !d[0] || !strcmp(d, "ai.onnx");
        if (onnx ? donnx : !strcmp(d, domain)) return m->opsets[i].version;
    }
    return 0;
}

const flt_onnx_attr *flt_onnx_node_attr(const flt_onnx_node *n, const char *name) {
    for (int i = 0; i < n->n_attr; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

static flintrt_status parse_model(flt_onnx_model *m, flt_err *e) {
    pctx_raw cr = {.base = {.m = m, .e = e}};
    pctx *c = &cr.base;
    flt_reader r;
    flt_reader_init(&r, m->bytes, m->size, 0);
    flt_pb_field f;
    flt_pb_field graph_field;
    bool has_graph = false;
    uint64_t nops = 0;
    flintrt_status st = FLINTRT_OK;
    if (m->size == 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "empty file: not an ONNX model");
    FOR_FIELDS(c, r, f, "ModelProto", {
        switch (f.number) {
        case 1: FLT_ONNX_TRY(flt_pb_i64(&f, "ModelProto.ir_version", &m->ir_version, e)); break;
        case 2: FLT_ONNX_TRY(read_str(c, &f, "ModelProto.producer_name", &m->producer_name)); break;
        case 3: FLT_ONNX_TRY(read_str(c, &f, "ModelProto.producer_version", &m->producer_version)); break;
        case 7:
            if (f.wire != FLT_PB_LEN) return flt_fail(e, FLINTRT_ERR_FORMAT, "ModelProto.graph at offset %" PRIu64 " is not a message", f.offset);
            graph_field = f;
            has_graph = true;
            break;
        case 8: nops++; break;
        case 25: return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "model-local functions are not supported");
        default: break;
        }
    });
    if (!has_graph) return flt_fail(e, FLINTRT_ERR_FORMAT, "not an ONNX model: no graph (ModelProto field 7)");
    if (m->ir_version < 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "not an ONNX model: ir_version %" PRId64, m->ir_version);
    if (nops > 4096) return flt_fail(e, FLINTRT_ERR_LIMIT, "%" PRIu64 " opset imports", nops);
    m->opsets = alloc_n(c, nops ? nops : 1, sizeof *m->opsets, "opsets");
    if (!m->opsets) return e->status;
    FOR_FIELDS(c, r, f, "ModelProto", {
        if (f.number != 8) continue;
        FLT_ONNX_TRY(flt_pb_enter(0, &f, "OperatorSetIdProto", e));
        flt_onnx_opset *o = &m->opsets[m->n_opsets++];
        o->domain = "";
        flt_reader orr;
        flt_pb_sub(&f, &orr);
        flt_pb_field g;
        FOR_FIELDS(c, orr, g, "OperatorSetIdProto", {
            if (g.number == 1) FLT_ONNX_TRY(read_str(c, &g, "OperatorSetIdProto.domain", &o->domain));
            else if (g.number == 2) FLT_ONNX_TRY(flt_pb_i64(&g, "OperatorSetIdProto.version", &o->version, e));
        });
    });
    if (m->n_opsets == 0) { /* IR 1/2 models: ai.onnx at version 1 */
        m->opsets[0] = (flt_onnx_opset){"", 1};
        m->n_opsets = 1;
    }
    st = parse_graph(c, &graph_field, 1, 0, &m->graph);
    if (!st) st = link_graph(c, m->graph, NULL);
    free(cr.raws.items);
    return st;
}

static flintrt_status finish_load(flt_onnx_model *m, flt_err *e) {
    flintrt_status st = parse_model(m, e);
    if (!st) st = flt_onnx_fold_constants(m, e);
    return st;
}

flintrt_status flt_onnx_load_memory(const void *data, size_t size, const char *dir, flt_onnx_model **out, flt_err *e) {
    return flt_onnx_load_ex(data, size, dir, NULL, out, e);
}

flintrt_status flt_onnx_load_ex(const void *data, size_t size, const char *dir, const flt_onnx_load_opts *o,
                                flt_onnx_model **out, flt_err *e) {
    *out = NULL;
    flt_onnx_model *m = calloc(1, sizeof *m);
    if (!m) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "model");
    /* Parsed structs cost at most a bounded multiple of the bytes that describe
     * them, plus decoded typed tensor data (at most 8x its varints). */
    size_t budget = size > SIZE_MAX / 32 ? SIZE_MAX : size * 32 + ((size_t)64 << 20);
    flt_arena_init(&m->arena, budget);
    m->bytes = data;
    m->size = size;
    if (dir && !(m->dir = realpath(dir, NULL))) {
        flt_onnx_free(m);
        return flt_fail(e, FLINTRT_ERR_IO, "model folder '%s' cannot be resolved", dir);
    }
    m->load_opts = o;
    flintrt_status st = o && o->before_parse ? o->before_parse(m, o->user, e) : FLINTRT_OK;
    if (!st && o && o->on_parse) o->on_parse(o->parse_user);
    if (!st) st = finish_load(m, e);
    m->load_opts = NULL;
    if (st) { flt_onnx_free(m); return st; }
    *out = m;
    return FLINTRT_OK;
}

char *flt_onnx_folder_of(const char *path) {
    /* everything before the last '/' ("/" itself for a file in the root), or "." */
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    char *dir = malloc(n + 2);
    if (!dir) return NULL;
    if (slash) {
        memcpy(dir, path, n ? n : 1);
        dir[n ? n : 1] = '\0';
    } else {
        memcpy(dir, ".", 2);
    }
    return dir;
}

flintrt_status flt_onnx_load(const char *path, flt_onnx_model **out, flt_err *e) {
    *out = NULL;
    flt_mapped_file map;
    FLT_ONNX_TRY(flt_map_file(path, &map, e));
    char *dir = flt_onnx_folder_of(path);
    if (!dir) { flt_unmap_file(&map); return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "path"); }
    flintrt_status st = flt_onnx_load_memory(map.data, map.size, dir, out, e);
    free(dir);
    if (st) { flt_unmap_file(&map); return st; }
    (*out)->map = map;
    return FLINTRT_OK;
}

void flt_onnx_free(flt_onnx_model *m) {
    if (!m) return;
    flt_arena_free(&m->arena);
    for (int i = 0; i < m->n_ext_maps; i++) {
        flt_unmap_file(&m->ext_maps[i]);
        free(m->ext_paths[i]);
    }
    free(m->ext_maps);
    free(m->ext_paths);
    free(m->dir);
    flt_unmap_file(&m->map);
    free(m);
}

flintrt_status flt_onnx_parse_tensor(const void *data, size_t size, flt_arena *arena, flt_onnx_tensor *out, flt_err *e) {
    flt_onnx_model tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.arena = *arena;
    pctx c = {.m = &tmp, .e = e};
    flt_reader r;
    flt_reader_init(&r, data, size, 0);
    flintrt_status st = parse_tensor_in(&c, r, 0, out);
    *arena = tmp.arena;
    return st;
}

/* ---- SequenceProto / OptionalProto (backend test data) ---- */

/* SequenceProto.DataType / OptionalProto.DataType */
enum { PB_ELEM_UNDEFINED = 0, PB_ELEM_TENSOR = 1, PB_ELEM_SEQUENCE = 3, PB_ELEM_OPTIONAL = 5 };

static flintrt_status parse_value_in(pctx *c, flt_reader r, uint64_t at, int kind, int depth, flt_onnx_tinfo *ti,
                                     const void **value, const char **name) {
    flt_err *e = c->e;
    const char *what = kind == FLT_ONNX_KIND_SEQUENCE ? "SequenceProto" : "OptionalProto";
    if (depth >= FLT_ONNX_MAX_WRAP)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "%s at offset %" PRIu64 ": nested deeper than %d", what, at,
                        FLT_ONNX_MAX_WRAP);
    flt_pb_field f;
    int32_t elem = 0;
    uint64_t n = 0;
    uint32_t field = 0;
    *name = "";
    FOR_FIELDS(c, r, f, what, {
        switch (f.number) {
        case 1: FLT_ONNX_TRY(read_str(c, &f, "name", name)); break;
        case 2: FLT_ONNX_TRY(flt_pb_i32(&f, "elem_type", &elem, e)); break;
        case 3: case 5: case 7:
            if (f.wire != FLT_PB_LEN) return flt_fail(e, FLINTRT_ERR_FORMAT, "%s at offset %" PRIu64 ": element is not a message", what, f.offset);
            if (field && field != f.number)
                return flt_fail(e, FLINTRT_ERR_FORMAT, "%s at offset %" PRIu64 ": elements of different kinds", what, at);
            field = f.number;
            n++;
            break;
        case 4: case 6:
            return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "%s at offset %" PRIu64 ": %s elements are not supported", what, at,
                            f.number == 4 ? "sparse tensor" : "map");
        default: break;
        }
    });
    static const uint32_t field_of[] = {[PB_ELEM_TENSOR] = 3, [PB_ELEM_SEQUENCE] = 5, [PB_ELEM_OPTIONAL] = 7};
    if (elem != PB_ELEM_UNDEFINED && elem != PB_ELEM_TENSOR && elem != PB_ELEM_SEQUENCE && elem != PB_ELEM_OPTIONAL)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "%s at offset %" PRIu64 ": element type %d is not supported", what, at, (int)elem);
    if (n && (elem == PB_ELEM_UNDEFINED || field != field_of[elem]))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s at offset %" PRIu64 ": elements do not match elem_type %d", what, at, (int)elem);
    if (kind == FLT_ONNX_KIND_OPTIONAL && n > 1)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s at offset %" PRIu64 ": more than one value", what, at);
    flt_onnx_seq *sq = alloc_n(c, 1, sizeof *sq, what);
    flt_onnx_tinfo *eti = sq ? alloc_n(c, n ? n : 1, sizeof *eti, what) : NULL;
    const void **edata = eti ? alloc_n(c, n ? n : 1, sizeof *edata, what) : NULL;
    if (!edata) return e->status;
    sq->n = (int64_t)n;
    sq->elem_kind = elem == PB_ELEM_SEQUENCE ? FLT_ONNX_KIND_SEQUENCE
                  : elem == PB_ELEM_OPTIONAL ? FLT_ONNX_KIND_OPTIONAL : FLT_ONNX_KIND_TENSOR;
    memset(ti, 0, sizeof *ti);
    ti->kind = (uint8_t)kind;
    ti->dtype = FLT_F32; /* placeholder until an element says otherwise */
    uint64_t k = 0;
    FOR_FIELDS(c, r, f, what, {
        if (f.number != field) continue;
        flt_reader sr;
        flt_pb_sub(&f, &sr);
        if (field == 3) {
            FLT_ONNX_TRY(flt_pb_enter(depth + 1, &f, "TensorProto", e));
            flt_onnx_tensor t;
            FLT_ONNX_TRY(parse_tensor_in(c, sr, f.offset, &t));
            void *copy = flt_arena_alloc(&c->m->arena, t.nbytes, "sequence element", e);
            if (!copy) return e->status;
            if (t.nbytes) memcpy(copy, t.data, t.nbytes);
            eti[k].dtype = t.dtype;
            eti[k].ndim = t.ndim;
            memcpy(eti[k].dims, t.dims, sizeof t.dims);
            edata[k] = copy;
            ti->dtype = t.dtype;
        } else {
            FLT_ONNX_TRY(flt_pb_enter(depth + 1, &f, field == 5 ? "SequenceProto" : "OptionalProto", e));
            const char *inner_name;
            FLT_ONNX_TRY(parse_value_in(c, sr, f.offset, field == 5 ? FLT_ONNX_KIND_SEQUENCE : FLT_ONNX_KIND_OPTIONAL,
                                        depth + 1, &eti[k], &edata[k], &inner_name));
            ti->dtype = eti[k].dtype;
        }
        k++;
    });
    sq->ti = eti;
    sq->data = (const void *const *)edata;
    *value = sq;
    return FLINTRT_OK;
}

flintrt_status flt_onnx_parse_value(const void *data, size_t size, int kind, flt_arena *arena, flt_onnx_tinfo *ti,
                                    const void **value, const char **name, flt_err *e) {
    if (kind != FLT_ONNX_KIND_SEQUENCE && kind != FLT_ONNX_KIND_OPTIONAL)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "parse_value: kind %d", kind);
    flt_onnx_model tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.arena = *arena;
    pctx c = {.m = &tmp, .e = e};
    flt_reader r;
    flt_reader_init(&r, data, size, 0);
    flintrt_status st = parse_value_in(&c, r, 0, kind, 0, ti, value, name);
    *arena = tmp.arena;
    return st;
}
