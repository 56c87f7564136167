/* The protobuf wire reader (see protobuf.h). */
#include "formats/protobuf.h"

#include <inttypes.h>
#include <string.h>

flintrt_status flt_pb_next(flt_reader *r, flt_pb_field *f, const char *what, flt_err *e) {
    if (flt_reader_remaining(r) == 0) return FLINTRT_ERR_NOT_FOUND;
    flt_reader t = *r; /* advance r only on success */
    uint64_t off = flt_reader_offset(&t), key;
    if (!flt_reader_varint(&t, &key))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: bad or truncated field tag at offset %" PRIu64, what, off);
    uint64_t number = key >> 3;
    unsigned wire = (unsigned)(key & 7);
    if (number == 0 || number > 0x1fffffff)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: field number %" PRIu64 " at offset %" PRIu64, what, number, off);
    memset(f, 0, sizeof *f);
    f->number = (uint32_t)number;
    f->offset = off;
    switch (wire) {
    case FLT_PB_VARINT:
        if (!flt_reader_varint(&t, &f->varint))
            return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: bad or truncated varint (field %" PRIu64 ") at offset %" PRIu64,
                            what, number, off);
        break;
    case FLT_PB_I64:
        if (!flt_reader_u64(&t, &f->varint)) return flt_reader_eof(&t, e, what, 8);
        break;
    case FLT_PB_I32: {
        uint32_t v;
        if (!flt_reader_u32(&t, &v)) return flt_reader_eof(&t, e, what, 4);
        f->varint = v;
        break;
    }
    case FLT_PB_LEN: {
        uint64_t len;
        if (!flt_reader_varint(&t, &len))
            return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: bad or truncated length (field %" PRIu64 ") at offset %" PRIu64,
                            what, number, off);
        f->payload_offset = flt_reader_offset(&t);
        if (!flt_reader_has(&t, len))
            return flt_fail(e, FLINTRT_ERR_FORMAT,
                            "%s: field %" PRIu64 " at offset %" PRIu64 " has length %" PRIu64 " but only %zu bytes are left",
                            what, number, off, len, flt_reader_remaining(&t));
        flt_reader_bytes(&t, len, &f->bytes);
        break;
    }
    default:
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: field %" PRIu64 " at offset %" PRIu64 " has wire type %u (%s)", what,
                        number, off, wire, wire == 3 || wire == 4 ? "groups are not supported" : "invalid");
    }
    f->wire = (flt_pb_wire)wire;
    *r = t;
    return FLINTRT_OK;
}

void flt_pb_sub(const flt_pb_field *f, flt_reader *out) {
    flt_reader_init(out, f->bytes.p, f->bytes.n, f->payload_offset);
}

flintrt_status flt_pb_enter(int depth, const flt_pb_field *f, const char *what, flt_err *e) {
    if (depth + 1 > FLT_PB_MAX_DEPTH)
        return flt_fail(e, FLINTRT_ERR_LIMIT, "%s at offset %" PRIu64 ": messages nested deeper than %d", what,
                        f->offset, FLT_PB_MAX_DEPTH);
    return FLINTRT_OK;
}

static flintrt_status wrong_wire(const flt_pb_field *f, const char *what, const char *want, flt_err *e) {
    return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: field %u at offset %" PRIu64 " has wire type %d, expected %s", what,
                    f->number, f->offset, (int)f->wire, want);
}

flintrt_status flt_pb_u64(const flt_pb_field *f, const char *what, uint64_t *out, flt_err *e) {
    if (f->wire != FLT_PB_VARINT) return wrong_wire(f, what, "a varint", e);
    *out = f->varint;
    return FLINTRT_OK;
}

flintrt_status flt_pb_i64(const flt_pb_field *f, const char *what, int64_t *out, flt_err *e) {
    if (f->wire != FLT_PB_VARINT) return wrong_wire(f, what, "a varint", e);
    *out = (int64_t)f->varint;
    return FLINTRT_OK;
}

flintrt_status flt_pb_i32(const flt_pb_field *f, const char *what, int32_t *out, flt_err *e) {
    if (f->wire != FLT_PB_VARINT) return wrong_wire(f, what, "a varint", e);
    int64_t v = (int64_t)f->varint;
    if (v < INT32_MIN || v > INT32_MAX)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: field %u at offset %" PRIu64 ": %" PRId64 " does not fit int32",
                        what, f->number, f->offset, v);
    *out = (int32_t)v;
    return FLINTRT_OK;
}

flintrt_status flt_pb_f32(const flt_pb_field *f, const char *what, float *out, flt_err *e) {
    if (f->wire != FLT_PB_I32) return wrong_wire(f, what, "fixed32", e);
    uint32_t u = (uint32_t)f->varint;
    memcpy(out, &u, 4);
    return FLINTRT_OK;
}

flintrt_status flt_pb_bytes(const flt_pb_field *f, const char *what, flt_bytes *out, flt_err *e) {
    if (f->wire != FLT_PB_LEN) return wrong_wire(f, what, "length-delimited", e);
    *out = f->bytes;
    return FLINTRT_OK;
}

flintrt_status flt_pb_count(const flt_pb_field *f, flt_pb_wire elem, const char *what, uint64_t *n,
                            flt_err *e) {
    if (f->wire == elem) { *n = 1; return FLINTRT_OK; }
    if (f->wire != FLT_PB_LEN) return wrong_wire(f, what, "a scalar or a packed array", e);
    if (elem == FLT_PB_I32 || elem == FLT_PB_I64) {
        size_t w = elem == FLT_PB_I32 ? 4 : 8;
        if (f->bytes.n % w)
            return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: packed field %u at offset %" PRIu64 ": %zu bytes is not a multiple of %zu",
                            what, f->number, f->offset, f->bytes.n, w);
        *n = f->bytes.n / w;
        return FLINTRT_OK;
    }
    /* varints: each ends with a byte below 0x80; the last byte must end one */
    uint64_t c = 0;
    for (size_t i = 0; i < f->bytes.n; i++) c += f->bytes.p[i] < 0x80;
    if (f->bytes.n && f->bytes.p[f->bytes.n - 1] >= 0x80)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: packed field %u at offset %" PRIu64 " ends inside a varint", what,
                        f->number, f->offset);
    *n = c;
    return FLINTRT_OK;
}

flintrt_status flt_pb_read(const flt_pb_field *f, flt_pb_wire elem, const char *what, uint64_t *out,
                           uint64_t cap, uint64_t *n, flt_err *e) {
    if (f->wire == elem) {
        if (*n >= cap) return flt_fail(e, FLINTRT_ERR_INTERNAL, "%s: repeated field overflow", what);
        out[(*n)++] = f->varint;
        return FLINTRT_OK;
    }
    if (f->wire != FLT_PB_LEN) return wrong_wire(f, what, "a scalar or a packed array", e);
    flt_reader r;
    flt_pb_sub(f, &r);
    while (flt_reader_remaining(&r)) {
        uint64_t v = 0;
        bool ok;
        if (elem == FLT_PB_VARINT) ok = flt_reader_varint(&r, &v);
        else if (elem == FLT_PB_I32) { uint32_t u; ok = flt_reader_u32(&r, &u); v = u; }
        else ok = flt_reader_u64(&r, &v);
        if (!ok)
            return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: bad packed value in field %u at offset %" PRIu64, what, f->number,
                            flt_reader_offset(&r));
        if (*n >= cap) return flt_fail(e, FLINTRT_ERR_INTERNAL, "%s: repeated field overflow", what);
        out[(*n)++] = v;
    }
    return FLINTRT_OK;
}
