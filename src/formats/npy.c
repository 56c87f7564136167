/* The .npy reader and header writer (see npy.h). */
#include "formats/npy.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/checked.h"

static const struct {
    const char *code;
    flt_dtype dtype;
} k_codes[] = {
    {"f4", FLT_F32}, {"f8", FLT_F64}, {"f2", FLT_F16}, {"b1", FLT_BOOL}, {"u1", FLT_U8}, {"i1", FLT_I8},
    {"i2", FLT_I16}, {"u2", FLT_U16}, {"i4", FLT_I32}, {"u4", FLT_U32}, {"i8", FLT_I64}, {"u8", FLT_U64},
};

typedef struct cur {
    const char *p, *end;
} cur;

static void skip_ws(cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
}

static bool eat(cur *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) { c->p++; return true; }
    return false;
}

/* A quoted string ('...' without escapes) into buf. */
static bool quoted(cur *c, char *buf, size_t cap) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return false;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= cap || *c->p == '\\') return false;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return false;
    c->p++;
    buf[n] = '\0';
    return true;
}

static bool word(cur *c, const char *w) {
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n)) return false;
    c->p += n;
    return true;
}

flintrt_status flt_npy_parse(const void *buf, size_t size, flt_npy *out, flt_err *e) {
    const uint8_t *b = buf;
    memset(out, 0, sizeof *out);
    if (size < 10 || memcmp(b, "\x93NUMPY", 6))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "not a .npy file (bad magic)");
    unsigned major = b[6];
    size_t hlen, hstart;
    if (major == 1) { hlen = (size_t)b[8] | (size_t)b[9] << 8; hstart = 10; }
    else if (major == 2 || major == 3) {
        if (size < 12) return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: truncated header");
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    } else return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, ".npy: format version %u", major);
    if (hlen > size - hstart)
        return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: header of %zu bytes but only %zu follow", hlen, size - hstart);
    cur c = {(const char *)b + hstart, (const char *)b + hstart + hlen};
    if (!eat(&c, '{')) return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: header is not a dict");
    bool have_descr = false, have_order = false, have_shape = false;
    char key[32], descr[16];
    while (!eat(&c, '}')) {
        if (!quoted(&c, key, sizeof key) || !eat(&c, ':')) return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: bad header key");
        if (!strcmp(key, "descr")) {
            if (have_descr || !quoted(&c, descr, sizeof descr)) return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: bad descr");
            have_descr = true;
        } else if (!strcmp(key, "fortran_order")) {
            if (have_order) return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: fortran_order twice");
            if (word(&c, "True")) return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, ".npy: Fortran-order arrays are not supported");
            if (!word(&c, "False")) return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: bad fortran_order");
            have_order = true;
        } else if (!strcmp(key, "shape")) {
            if (have_shape || !eat(&c, '(')) return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: bad shape");
            have_shape = true;
            while (!eat(&c, ')')) {
                skip_ws(&c);
                uint64_t v = 0;
                int digits = 0;
                while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
                    if (!flt_mul_u64(v, 10, &v) || !flt_add_u64(v, (uint64_t)(*c.p - '0'), &v) || v > (uint64_t)INT64_MAX)
                        return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: dimension overflows");
                    c.p++;
                    digits++;
                }
                if (!digits) return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: bad dimension in shape");
                if (c.p < c.end && *c.p == 'L') c.p++;
                if (out->ndim >= FLT_NPY_MAX_DIMS)
                    return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, ".npy: more than %d dimensions", FLT_NPY_MAX_DIMS);
                out->dims[out->ndim++] = (int64_t)v;
                if (!eat(&c, ',')) {
                    if (!eat(&c, ')')) return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: bad shape");
                    break;
                }
            }
        } else {
            return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: unknown header key '%s'", key);
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}')) return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: bad header");
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: header lacks descr, fortran_order or shape");
    /* the rest of the header: padding spaces and a newline */
    skip_ws(&c);
    while (c.p < c.end && (*c.p == '\n' || *c.p == ' ' || *c.p == '\0')) c.p++;
    if (c.p != c.end) return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: junk after the header dict");
    char order = descr[0];
    const char *code = descr + 1;
    bool found = false;
    for (size_t i = 0; i < sizeof k_codes / sizeof k_codes[0]; i++)
        if (!strcmp(code, k_codes[i].code)) { out->dtype = k_codes[i].dtype; found = true; }
    if (!found) return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, ".npy: dtype '%s' is not supported", descr);
    size_t es = flt_dtype_info(out->dtype)->block_bytes;
    if (order == '>' && es > 1) return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, ".npy: big-endian data is not supported");
    if (order != '<' && order != '|' && order != '=' && order != '>')
        return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: bad byte order in descr '%s'", descr);
    uint64_t n = es;
    for (int i = 0; i < out->ndim; i++)
        if (!flt_mul_u64(n, (uint64_t)out->dims[i], &n) || n > (uint64_t)INT64_MAX)
            return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: array size overflows");
    size_t dstart = hstart + hlen;
    if (n != size - dstart)
        return flt_fail(e, FLINTRT_ERR_FORMAT, ".npy: shape needs %" PRIu64 " bytes of data, the file has %zu", n,
                        size - dstart);
    out->data = b + dstart;
    out->nbytes = (size_t)n;
    return FLINTRT_OK;
}

flintrt_status flt_npy_header(flt_dtype dtype, int ndim, const int64_t *dims, char *buf, size_t cap, size_t *len,
                              flt_err *e) {
    const char *code = NULL;
    for (size_t i = 0; i < sizeof k_codes / sizeof k_codes[0]; i++)
        if (k_codes[i].dtype == dtype) code = k_codes[i].code;
    if (!code) return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, ".npy has no type code for this dtype");
    if (ndim < 0 || ndim > FLT_NPY_MAX_DIMS) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, ".npy: %d dimensions", ndim);
    char dict[512];
    int w = snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                     flt_dtype_info(dtype)->block_bytes == 1 ? '|' : '<', code);
    for (int i = 0; i < ndim; i++) w += snprintf(dict + w, sizeof dict - (size_t)w, "%" PRId64 ",%s", dims[i], i + 1 < ndim ? " " : "");
    if (ndim > 1) w--; /* numpy writes (2, 3) but (3,) */
    w += snprintf(dict + w, sizeof dict - (size_t)w, "), }");
    size_t total = 10 + (size_t)w + 1;
    size_t padded = (total + 63) / 64 * 64;
    if (padded > cap || padded - 10 > 65535) return flt_fail(e, FLINTRT_ERR_LIMIT, ".npy header too long");
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    size_t hlen = padded - 10;
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)w);
    memset(buf + 10 + w, ' ', padded - 10 - (size_t)w - 1);
    buf[padded - 1] = '\n';
    *len = padded;
    return FLINTRT_OK;
}
