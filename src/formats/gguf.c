/* GGUF reader: maps a file (or takes a caller's buffer) and validates every field
 * before anything uses it. See gguf.h for the contract and SECURITY.md for the
 * failure classes checked here.
 *
 * Layout (little-endian): "GGUF", u32 version (2 or 3), u64 n_tensors, u64 n_kv,
 * n_kv x {string key, u32 value type, value}, n_tensors x {string name, u32 n_dims,
 * n_dims x u64 ne, u32 ggml type, u64 offset}, padding to general.alignment, data.
 * A string is u64 length + bytes; an array is u32 element type + u64 count +
 * elements (arrays may nest).
 *
 * Every count is checked against the bytes left before anything is allocated; all
 * offset and size arithmetic is overflow-checked; nothing is copied: keys, strings
 * and tensor data are views into the buffer. */
#include "formats/gguf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "formats/mmap.h"
#include "formats/reader.h"

#define GGUF_DEFAULT_ALIGNMENT 32u
#define GGUF_MIN_ALIGNMENT 8u /* the spec: "must be a multiple of 8" */

/* Smallest encodings, used to bound counts by the bytes left. */
#define GGUF_MIN_KV_BYTES (8 + 1 + 4 + 1)            /* key len, 1-byte key, type, u8 */
#define GGUF_MIN_TENSOR_BYTES (8 + 1 + 4 + 8 + 4 + 8) /* name len, 1-byte name, 1 dim */

typedef struct gguf_kv {
    flt_str key;
    flt_gguf_vtype type;
    flt_gguf_vtype arr_type;  /* arrays: element type */
    uint64_t arr_n;           /* arrays: element count */
    const uint8_t *val;       /* value bytes (after the type field) */
    uint64_t val_n;           /* ...and their count */
    const uint8_t *arr_data;  /* arrays: first element */
    uint64_t *str_off;        /* string arrays: buffer offset of each element's length */
    uint64_t off;             /* file offset of the entry, for messages */
} gguf_kv;

/* Sorted (name, index) pairs: duplicate detection and O(log n) lookup with a
 * guaranteed worst case (no hash flooding). */
typedef struct name_ix {
    const char *p;
    size_t n;
    uint64_t i;
} name_ix;

struct flt_gguf {
    const uint8_t *base;
    size_t size;
    flt_mapped_file map; /* zeroed for open_memory */
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    uint64_t n_kv;
    gguf_kv *kvs;
    name_ix *kv_ix;
    uint64_t n_tensors;
    flt_gguf_tensor *tensors;
    name_ix *tensor_ix;
};

/* ---- small helpers ---------------------------------------------------------- */

static const char *const k_vtype_names[FLT_GGUF_VTYPE_COUNT] = {
    "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
    "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
};

const char *flt_gguf_vtype_name(flt_gguf_vtype t) {
    if ((unsigned)t >= FLT_GGUF_VTYPE_COUNT) return "?";
    return k_vtype_names[t];
}

/* Smallest encoding of one element of type t (bounds array counts). */
static uint64_t vtype_min_bytes(flt_gguf_vtype t) {
    size_t s = flt_gguf_vtype_size(t);
    if (s) return s;
    if (t == FLT_GGUF_STRING) return 8;
    return 4 + 8; /* ARRAY: element type + count */
}

/* A name from the file, made safe for a message: printable ASCII as is, other
 * bytes as \xNN, cut after 48 bytes. */
static const char *esc_name(char *buf, size_t cap, const char *p, size_t n) {
    size_t o = 0;
    size_t shown = n > 48 ? 48 : n;
    for (size_t i = 0; i < shown && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f) buf[o++] = (char)c;
        else o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    }
    if (shown < n && o + 4 < cap) { memcpy(buf + o, "...", 3); o += 3; }
    buf[o < cap ? o : cap - 1] = '\0';
    return buf;
}

static int name_ix_cmp(const void *pa, const void *pb) {
    const name_ix *a = (const name_ix *)pa, *b = (const name_ix *)pb;
    size_t m = a->n < b->n ? a->n : b->n;
    int c = m ? memcmp(a->p, b->p, m) : 0;
    if (c) return c;
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i ? 1 : 0;
}

/* Index of name in a sorted index, or -1. */
static int64_t name_ix_find(const name_ix *ix, uint64_t count, const char *p, size_t n) {
    uint64_t lo = 0, hi = count;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        const name_ix *x = &ix[mid];
        size_t m = x->n < n ? x->n : n;
        int c = m ? memcmp(x->p, p, m) : 0;
        if (!c && x->n != n) c = x->n < n ? -1 : 1;
        if (c == 0) return (int64_t)x->i;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* ---- parsing ---------------------------------------------------------------- */

typedef struct parser {
    flt_gguf *g;
    flt_reader r;
    flt_err *e;
    char ctx[160]; /* what is being read: "kv 3 ('general.name')" */
} parser;

static flintrt_status eof(parser *ps, const char *what, uint64_t need) {
    char w[240];
    snprintf(w, sizeof w, "%s of %s", what, ps->ctx);
    return flt_reader_eof(&ps->r, ps->e, w, need);
}

/* A string: u64 length (<= cap, <= bytes left), then the bytes. */
static flintrt_status read_str(parser *ps, const char *what, uint64_t cap, flt_str *out) {
    uint64_t at = flt_reader_offset(&ps->r);
    uint64_t n;
    if (!flt_reader_u64(&ps->r, &n)) return eof(ps, what, 8);
    if (n > cap)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                        "%s of %s at offset %" PRIu64 ": length %" PRIu64
                        " exceeds the limit of %" PRIu64 " bytes",
                        what, ps->ctx, at, n, cap);
    flt_bytes b;
    if (!flt_reader_bytes(&ps->r, n, &b))
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                        "%s of %s at offset %" PRIu64 ": length %" PRIu64
                        " exceeds the %zu bytes left in the file",
                        what, ps->ctx, at, n, flt_reader_remaining(&ps->r));
    out->p = (const char *)b.p;
    out->n = b.n;
    return FLINTRT_OK;
}

/* A key or tensor name: non-empty, no NUL byte (names are compared with C strings). */
static flintrt_status read_name(parser *ps, const char *what, uint64_t cap, flt_str *out) {
    uint64_t at = flt_reader_offset(&ps->r);
    flintrt_status st = read_str(ps, what, cap, out);
    if (st) return st;
    if (out->n == 0)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT, "%s of %s at offset %" PRIu64 " is empty", what,
                        ps->ctx, at);
    if (memchr(out->p, 0, out->n))
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                        "%s of %s at offset %" PRIu64 " contains a NUL byte", what, ps->ctx, at);
    return FLINTRT_OK;
}

/* Validate one value of type t; for a top-level array (top != NULL) record its
 * element type, count, data and, for strings, each element's offset. depth counts
 * the arrays around this value. */
static flintrt_status parse_value(parser *ps, flt_gguf_vtype t, unsigned depth, gguf_kv *top) {
    flt_reader *r = &ps->r;
    uint64_t at = flt_reader_offset(r);
    size_t fs = flt_gguf_vtype_size(t);
    if (fs) {
        if (!flt_reader_has(r, fs)) return eof(ps, "value", fs);
        if (t == FLT_GGUF_BOOL && r->base[r->pos] > 1)
            return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                            "bool value %u of %s at offset %" PRIu64 " is neither 0 nor 1",
                            r->base[r->pos], ps->ctx, at);
        flt_reader_skip(r, fs);
        return FLINTRT_OK;
    }
    if (t == FLT_GGUF_STRING) {
        flt_str s;
        return read_str(ps, "string", FLT_GGUF_MAX_STRING_LEN, &s);
    }
    if (t != FLT_GGUF_ARRAY)
        return flt_fail(ps->e, FLINTRT_ERR_INTERNAL, "unexpected value type %u", (unsigned)t);

    if (depth + 1 > FLT_GGUF_MAX_ARRAY_DEPTH)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                        "%s at offset %" PRIu64 ": arrays nested deeper than %d levels", ps->ctx,
                        at, FLT_GGUF_MAX_ARRAY_DEPTH);
    uint32_t et;
    if (!flt_reader_u32(r, &et)) return eof(ps, "array element type", 4);
    if (et >= FLT_GGUF_VTYPE_COUNT)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                        "%s at offset %" PRIu64 ": unknown array element type %" PRIu32, ps->ctx,
                        at, et);
    uint64_t n;
    if (!flt_reader_u64(r, &n)) return eof(ps, "array count", 8);
    uint64_t min = vtype_min_bytes((flt_gguf_vtype)et);
    size_t left = flt_reader_remaining(r);
    if (n > left / min)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                        "%s at offset %" PRIu64 ": array count %" PRIu64 " of %s needs at least %"
                        PRIu64 " bytes each but only %zu bytes are left in the file",
                        ps->ctx, at + 4, n, flt_gguf_vtype_name((flt_gguf_vtype)et), min, left);
    if (top) {
        top->arr_type = (flt_gguf_vtype)et;
        top->arr_n = n;
        top->arr_data = flt_reader_ptr(r);
    }
    size_t es = flt_gguf_vtype_size((flt_gguf_vtype)et);
    if (es) {
        if (et == FLT_GGUF_BOOL) {
            const uint8_t *p = flt_reader_ptr(r);
            for (uint64_t k = 0; k < n; k++)
                if (p[k] > 1)
                    return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                                    "bool element %" PRIu64 " of %s at offset %" PRIu64
                                    " is %u, neither 0 nor 1",
                                    k, ps->ctx, flt_reader_offset(r) + k, p[k]);
        }
        flt_reader_skip(r, n * es); /* n * es <= left: checked above */
        return FLINTRT_OK;
    }
    if (et == FLT_GGUF_STRING) {
        if (top) {
            top->str_off = flt_malloc_array(n ? n : 1, sizeof *top->str_off);
            if (!top->str_off)
                return flt_fail(ps->e, FLINTRT_ERR_OUT_OF_MEMORY,
                                "%s: out of memory indexing %" PRIu64 " strings", ps->ctx, n);
        }
        for (uint64_t k = 0; k < n; k++) {
            if (top) top->str_off[k] = r->pos;
            flt_str s;
            flintrt_status st = read_str(ps, "array string", FLT_GGUF_MAX_STRING_LEN, &s);
            if (st) return st;
        }
        return FLINTRT_OK;
    }
    for (uint64_t k = 0; k < n; k++) {
        flintrt_status st = parse_value(ps, FLT_GGUF_ARRAY, depth + 1, NULL);
        if (st) return st;
    }
    return FLINTRT_OK;
}

static flintrt_status parse_kv(parser *ps, uint64_t i) {
    flt_gguf *g = ps->g;
    gguf_kv *kv = &g->kvs[i];
    kv->off = flt_reader_offset(&ps->r);
    kv->arr_type = FLT_GGUF_VTYPE_COUNT;
    snprintf(ps->ctx, sizeof ps->ctx, "kv %" PRIu64, i);
    flintrt_status st = read_name(ps, "key", FLT_GGUF_MAX_KEY_LEN, &kv->key);
    if (st) return st;
    char nb[256];
    snprintf(ps->ctx, sizeof ps->ctx, "kv %" PRIu64 " ('%s')", i,
             esc_name(nb, sizeof nb, kv->key.p, kv->key.n));
    uint64_t at = flt_reader_offset(&ps->r);
    uint32_t t;
    if (!flt_reader_u32(&ps->r, &t)) return eof(ps, "value type", 4);
    if (t >= FLT_GGUF_VTYPE_COUNT)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                        "%s at offset %" PRIu64 ": unknown value type %" PRIu32, ps->ctx, at, t);
    kv->type = (flt_gguf_vtype)t;
    size_t start = ps->r.pos;
    kv->val = flt_reader_ptr(&ps->r);
    st = parse_value(ps, kv->type, 0, kv);
    if (st) return st;
    kv->val_n = ps->r.pos - start;
    return FLINTRT_OK;
}

/* Sort names; report the first duplicate. */
static flintrt_status build_index(parser *ps, name_ix **out, uint64_t count, const char *kind,
                                  const flt_str *(*name_at)(const flt_gguf *, uint64_t),
                                  uint64_t (*off_at)(const flt_gguf *, uint64_t)) {
    name_ix *ix = flt_malloc_array(count ? count : 1, sizeof *ix);
    if (!ix) return flt_fail(ps->e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory indexing %ss", kind);
    for (uint64_t i = 0; i < count; i++) {
        const flt_str *s = name_at(ps->g, i);
        ix[i].p = s->p;
        ix[i].n = s->n;
        ix[i].i = i;
    }
    if (count > 1) qsort(ix, count, sizeof *ix, name_ix_cmp);
    *out = ix;
    for (uint64_t k = 1; k < count; k++) {
        if (ix[k].n == ix[k - 1].n && memcmp(ix[k].p, ix[k - 1].p, ix[k].n) == 0) {
            char nb[256];
            return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                            "duplicate %s '%s': %s %" PRIu64 " at offset %" PRIu64
                            " repeats %s %" PRIu64 " at offset %" PRIu64,
                            kind, esc_name(nb, sizeof nb, ix[k].p, ix[k].n), kind, ix[k].i,
                            off_at(ps->g, ix[k].i), kind, ix[k - 1].i, off_at(ps->g, ix[k - 1].i));
        }
    }
    return FLINTRT_OK;
}

static const flt_str *kv_name_at(const flt_gguf *g, uint64_t i) { return &g->kvs[i].key; }
static uint64_t kv_off_at(const flt_gguf *g, uint64_t i) { return g->kvs[i].off; }
static const flt_str *tensor_name_at(const flt_gguf *g, uint64_t i) { return &g->tensors[i].name; }

static flintrt_status check_alignment(parser *ps) {
    flt_gguf *g = ps->g;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t i = name_ix_find(g->kv_ix, g->n_kv, "general.alignment", strlen("general.alignment"));
    if (i < 0) return FLINTRT_OK;
    const gguf_kv *kv = &g->kvs[i];
    if (kv->type != FLT_GGUF_UINT32)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                        "general.alignment (kv %" PRId64 " at offset %" PRIu64
                        ") has type %s, expected UINT32",
                        i, kv->off, flt_gguf_vtype_name(kv->type));
    uint32_t a = flt_load_le32(kv->val);
    if (a < GGUF_MIN_ALIGNMENT || a > FLT_GGUF_MAX_ALIGNMENT || (a & (a - 1)) != 0)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                        "general.alignment %" PRIu32 " (kv %" PRId64 " at offset %" PRIu64
                        ") is not a power of two between %u and %u",
                        a, i, kv->off, GGUF_MIN_ALIGNMENT, FLT_GGUF_MAX_ALIGNMENT);
    g->alignment = a;
    return FLINTRT_OK;
}

static flintrt_status parse_tensor_info(parser *ps, uint64_t i) {
    flt_gguf_tensor *t = &ps->g->tensors[i];
    uint64_t at = flt_reader_offset(&ps->r);
    snprintf(ps->ctx, sizeof ps->ctx, "tensor %" PRIu64 " (info at offset %" PRIu64 ")", i, at);
    flintrt_status st = read_name(ps, "name", FLT_GGUF_MAX_NAME_LEN, &t->name);
    if (st) return st;
    char nb[256];
    snprintf(ps->ctx, sizeof ps->ctx, "tensor %" PRIu64 " ('%s', info at offset %" PRIu64 ")", i,
             esc_name(nb, sizeof nb, t->name.p, t->name.n), at);
    uint32_t n_dims;
    if (!flt_reader_u32(&ps->r, &n_dims)) return eof(ps, "n_dims", 4);
    if (n_dims < 1 || n_dims > FLT_GGUF_MAX_DIMS)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT, "%s: n_dims %" PRIu32 " is outside 1..%d",
                        ps->ctx, n_dims, FLT_GGUF_MAX_DIMS);
    t->n_dims = n_dims;
    uint64_t nelem = 1;
    for (uint32_t j = 0; j < FLT_GGUF_MAX_DIMS; j++) t->ne[j] = 1;
    for (uint32_t j = 0; j < n_dims; j++) {
        uint64_t d;
        if (!flt_reader_u64(&ps->r, &d)) return eof(ps, "dimension", 8);
        if (d == 0)
            return flt_fail(ps->e, FLINTRT_ERR_FORMAT, "%s: dimension %" PRIu32 " is 0", ps->ctx, j);
        if (d > (uint64_t)INT64_MAX)
            return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                            "%s: dimension %" PRIu32 " (%" PRIu64 ") is too large", ps->ctx, j, d);
        t->ne[j] = (int64_t)d;
        if (!flt_mul_u64(nelem, d, &nelem) || nelem > (uint64_t)INT64_MAX)
            return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                            "%s: shape product overflows (element count beyond 2^63)", ps->ctx);
    }
    uint32_t type;
    uint64_t type_at = flt_reader_offset(&ps->r);
    if (!flt_reader_u32(&ps->r, &type)) return eof(ps, "ggml type", 4);
    const flt_ggml_type_info *ti = flt_ggml_type(type);
    if (!ti)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                        "%s: unknown or removed ggml type %" PRIu32 " at offset %" PRIu64, ps->ctx,
                        type, type_at);
    t->type = type;
    if ((uint64_t)t->ne[0] % ti->block_size != 0)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                        "%s: first dimension %" PRId64 " is not a multiple of the block size %" PRIu32
                        " of type %s",
                        ps->ctx, t->ne[0], ti->block_size, ti->name);
    uint64_t size = (uint64_t)t->ne[0] / ti->block_size;
    bool ok = flt_mul_u64(size, ti->type_size, &size);
    for (uint32_t j = 1; ok && j < n_dims; j++) ok = flt_mul_u64(size, (uint64_t)t->ne[j], &size);
    if (!ok)
        return flt_fail(ps->e, FLINTRT_ERR_FORMAT, "%s: byte size of %" PRIu64 " %s elements overflows",
                        ps->ctx, nelem, ti->name);
    t->size = size;
    if (!flt_reader_u64(&ps->r, &t->offset)) return eof(ps, "data offset", 8);
    return FLINTRT_OK;
}

typedef struct span {
    uint64_t off, size, i;
} span;

static int span_cmp(const void *pa, const void *pb) {
    const span *a = (const span *)pa, *b = (const span *)pb;
    if (a->off != b->off) return a->off < b->off ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i ? 1 : 0;
}

/* Data placement: aligned, inside the file, no two tensors overlapping. */
static flintrt_status check_tensor_data(parser *ps) {
    flt_gguf *g = ps->g;
    char nb[256], nb2[256];
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        flt_gguf_tensor *t = &g->tensors[i];
        esc_name(nb, sizeof nb, t->name.p, t->name.n);
        if (t->offset % g->alignment != 0)
            return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                            "tensor %" PRIu64 " ('%s'): data offset %" PRIu64
                            " is not a multiple of the alignment %" PRIu64,
                            i, nb, t->offset, g->alignment);
        uint64_t start, end;
        if (!flt_add_u64(g->data_offset, t->offset, &start) || !flt_add_u64(start, t->size, &end))
            return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                            "tensor %" PRIu64 " ('%s'): data offset %" PRIu64 " (+ %" PRIu64
                            " bytes) overflows: it exceeds file size %zu",
                            i, nb, t->offset, t->size, g->size);
        if (end > g->size)
            return flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                            "tensor %" PRIu64 " ('%s'): data at offset %" PRIu64 " (data section %"
                            PRIu64 " + %" PRIu64 ") of %" PRIu64 " bytes exceeds file size %zu",
                            i, nb, g->data_offset + t->offset, g->data_offset, t->offset, t->size,
                            g->size);
        t->data = g->base + start;
    }
    if (g->n_tensors < 2) return FLINTRT_OK;
    span *sp = flt_malloc_array(g->n_tensors, sizeof *sp);
    if (!sp) return flt_fail(ps->e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory checking tensor data");
    for (uint64_t i = 0; i < g->n_tensors; i++)
        sp[i] = (span){g->tensors[i].offset, g->tensors[i].size, i};
    qsort(sp, g->n_tensors, sizeof *sp, span_cmp);
    flintrt_status st = FLINTRT_OK;
    for (uint64_t k = 1; k < g->n_tensors; k++) {
        const span *a = &sp[k - 1], *b = &sp[k];
        if (a->off + a->size > b->off) { /* no overflow: both end inside the file */
            const flt_gguf_tensor *ta = &g->tensors[a->i], *tb = &g->tensors[b->i];
            st = flt_fail(ps->e, FLINTRT_ERR_FORMAT,
                          "tensors %" PRIu64 " ('%s', data offset %" PRIu64 ", %" PRIu64
                          " bytes) and %" PRIu64 " ('%s', data offset %" PRIu64 ") overlap",
                          a->i, esc_name(nb, sizeof nb, ta->name.p, ta->name.n), a->off, a->size,
                          b->i, esc_name(nb2, sizeof nb2, tb->name.p, tb->name.n), b->off);
            break;
        }
    }
    free(sp);
    return st;
}

static flintrt_status parse(flt_gguf *g, flt_err *e) {
    parser ps = {.g = g, .e = e};
    flt_reader_init(&ps.r, g->base, g->size, 0);
    snprintf(ps.ctx, sizeof ps.ctx, "the header");

    flt_bytes magic;
    if (!flt_reader_bytes(&ps.r, 4, &magic))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "not a GGUF file: only %zu bytes (need at least 24)",
                        g->size);
    if (memcmp(magic.p, "GGUF", 4) != 0) {
        char nb[64];
        return flt_fail(e, FLINTRT_ERR_FORMAT, "not a GGUF file: bad magic '%s' at offset 0",
                        esc_name(nb, sizeof nb, (const char *)magic.p, 4));
    }
    uint32_t v;
    if (!flt_reader_u32(&ps.r, &v)) return eof(&ps, "version", 4);
    if (v != 2 && v != 3) {
        uint32_t sw = __builtin_bswap32(v);
        if (sw >= 1 && sw <= 3)
            return flt_fail(e, FLINTRT_ERR_UNSUPPORTED,
                            "big-endian GGUF files are not supported (the version field at offset 4"
                            " reads %" PRIu32 ", i.e. %" PRIu32 " byte-swapped)",
                            v, sw);
        if (v == 1)
            return flt_fail(e, FLINTRT_ERR_UNSUPPORTED,
                            "GGUF version 1 (offset 4) is not supported: only versions 2 and 3");
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED,
                        "unsupported GGUF version %" PRIu32 " at offset 4: only versions 2 and 3", v);
    }
    g->version = v;
    uint64_t n_tensors, n_kv;
    if (!flt_reader_u64(&ps.r, &n_tensors)) return eof(&ps, "tensor count", 8);
    if (!flt_reader_u64(&ps.r, &n_kv)) return eof(&ps, "kv count", 8);
    /* Counts against the bytes left first (each entry has a minimum size), then
     * against the caps; only then allocate. */
    size_t left = flt_reader_remaining(&ps.r);
    uint64_t need_kv, need_t, need;
    if (!flt_mul_u64(n_kv, GGUF_MIN_KV_BYTES, &need_kv) || need_kv > left)
        return flt_fail(e, FLINTRT_ERR_FORMAT,
                        "n_kv %" PRIu64 " at offset 16 cannot fit in the %zu bytes left in the file",
                        n_kv, left);
    if (!flt_mul_u64(n_tensors, GGUF_MIN_TENSOR_BYTES, &need_t) ||
        !flt_add_u64(need_kv, need_t, &need) || need > left)
        return flt_fail(e, FLINTRT_ERR_FORMAT,
                        "n_tensors %" PRIu64 " at offset 8 (with n_kv %" PRIu64
                        ") cannot fit in the %zu bytes left in the file",
                        n_tensors, n_kv, left);
    if (n_kv > FLT_GGUF_MAX_KV)
        return flt_fail(e, FLINTRT_ERR_LIMIT, "n_kv %" PRIu64 " at offset 16 exceeds the limit %u",
                        n_kv, FLT_GGUF_MAX_KV);
    if (n_tensors > FLT_GGUF_MAX_TENSORS)
        return flt_fail(e, FLINTRT_ERR_LIMIT,
                        "n_tensors %" PRIu64 " at offset 8 exceeds the limit %u", n_tensors,
                        FLT_GGUF_MAX_TENSORS);

    g->kvs = flt_calloc_array(n_kv ? n_kv : 1, sizeof *g->kvs);
    g->tensors = flt_calloc_array(n_tensors ? n_tensors : 1, sizeof *g->tensors);
    if (!g->kvs || !g->tensors) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory");

    for (uint64_t i = 0; i < n_kv; i++) {
        g->n_kv = i + 1; /* so close() frees what parse_kv allocated */
        flintrt_status st = parse_kv(&ps, i);
        if (st) return st;
    }
    flintrt_status st = build_index(&ps, &g->kv_ix, n_kv, "key", kv_name_at, kv_off_at);
    if (st) return st;
    st = check_alignment(&ps);
    if (st) return st;

    uint64_t *info_off = flt_malloc_array(n_tensors ? n_tensors : 1, sizeof *info_off);
    if (!info_off) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory");
    for (uint64_t i = 0; i < n_tensors; i++) {
        info_off[i] = flt_reader_offset(&ps.r);
        st = parse_tensor_info(&ps, i);
        if (st) { free(info_off); return st; }
    }
    g->n_tensors = n_tensors;
    /* The tensor index reuses build_index; offsets of tensor infos come from info_off. */
    {
        name_ix *ix = flt_malloc_array(n_tensors ? n_tensors : 1, sizeof *ix);
        if (!ix) { free(info_off); return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory"); }
        for (uint64_t i = 0; i < n_tensors; i++)
            ix[i] = (name_ix){tensor_name_at(g, i)->p, tensor_name_at(g, i)->n, i};
        if (n_tensors > 1) qsort(ix, n_tensors, sizeof *ix, name_ix_cmp);
        g->tensor_ix = ix;
        for (uint64_t k = 1; k < n_tensors; k++) {
            if (ix[k].n == ix[k - 1].n && memcmp(ix[k].p, ix[k - 1].p, ix[k].n) == 0) {
                char nb[256];
                st = flt_fail(e, FLINTRT_ERR_FORMAT,
                              "duplicate tensor name '%s': tensor %" PRIu64 " (info at offset %"
                              PRIu64 ") repeats tensor %" PRIu64 " (info at offset %" PRIu64 ")",
                              esc_name(nb, sizeof nb, ix[k].p, ix[k].n), ix[k].i,
                              info_off[ix[k].i], ix[k - 1].i, info_off[ix[k - 1].i]);
                free(info_off);
                return st;
            }
        }
    }
    free(info_off);

    /* pos <= size, alignment <= 2^20: no overflow. */
    if (!flt_align_up_u64(flt_reader_offset(&ps.r), g->alignment, &g->data_offset))
        return flt_fail(e, FLINTRT_ERR_INTERNAL, "data offset overflow");
    return check_tensor_data(&ps);
}

static void gguf_free(flt_gguf *g) {
    if (!g) return;
    if (g->kvs)
        for (uint64_t i = 0; i < g->n_kv; i++) free(g->kvs[i].str_off);
    free(g->kvs);
    free(g->kv_ix);
    free(g->tensors);
    free(g->tensor_ix);
    flt_unmap_file(&g->map);
    free(g);
}

static flintrt_status open_impl(const void *data, size_t size, flt_mapped_file *map, flt_gguf **out,
                                flt_err *e) {
    flt_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        flt_unmap_file(map);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory");
    }
    g->base = (const uint8_t *)data;
    g->size = data ? size : 0;
    if (map) g->map = *map;
    flintrt_status st = parse(g, e);
    if (st) {
        gguf_free(g);
        return st;
    }
    *out = g;
    return FLINTRT_OK;
}

flintrt_status flt_gguf_open_memory(const void *data, size_t size, flt_gguf **out, flt_err *e) {
    if (!out) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "flt_gguf_open_memory: out is NULL");
    *out = NULL;
    if (!data && size)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "flt_gguf_open_memory: data is NULL");
    return open_impl(data, size, NULL, out, e);
}

flintrt_status flt_gguf_open(const char *path, flt_gguf **out, flt_err *e) {
    if (!out) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "flt_gguf_open: out is NULL");
    *out = NULL;
    flt_mapped_file map;
    flintrt_status st = flt_map_file(path, &map, e);
    if (st) return st;
    st = open_impl(map.data, map.size, &map, out, e);
    if (st) flt_err_prefix(e, "%s", path);
    return st;
}

void flt_gguf_close(flt_gguf *g) { gguf_free(g); }

uint32_t flt_gguf_version(const flt_gguf *g) { return g ? g->version : 0; }
uint64_t flt_gguf_alignment(const flt_gguf *g) { return g ? g->alignment : 0; }
uint64_t flt_gguf_data_offset(const flt_gguf *g) { return g ? g->data_offset : 0; }
uint64_t flt_gguf_file_size(const flt_gguf *g) { return g ? g->size : 0; }

/* ---- metadata ------------------------------------------------------------------ */

uint64_t flt_gguf_n_kv(const flt_gguf *g) { return g ? g->n_kv : 0; }

static const gguf_kv *kv_at(const flt_gguf *g, uint64_t i) {
    return g && i < g->n_kv ? &g->kvs[i] : NULL;
}

flt_str flt_gguf_key(const flt_gguf *g, uint64_t i) {
    const gguf_kv *kv = kv_at(g, i);
    return kv ? kv->key : (flt_str){NULL, 0};
}

flt_gguf_vtype flt_gguf_kv_type(const flt_gguf *g, uint64_t i) {
    const gguf_kv *kv = kv_at(g, i);
    return kv ? kv->type : FLT_GGUF_VTYPE_COUNT;
}

flt_gguf_vtype flt_gguf_arr_type(const flt_gguf *g, uint64_t i) {
    const gguf_kv *kv = kv_at(g, i);
    return kv && kv->type == FLT_GGUF_ARRAY ? kv->arr_type : FLT_GGUF_VTYPE_COUNT;
}

uint64_t flt_gguf_arr_n(const flt_gguf *g, uint64_t i) {
    const gguf_kv *kv = kv_at(g, i);
    return kv && kv->type == FLT_GGUF_ARRAY ? kv->arr_n : 0;
}

bool flt_gguf_kv_raw(const flt_gguf *g, uint64_t i, const void **data, size_t *n) {
    const gguf_kv *kv = kv_at(g, i);
    if (!kv) return false;
    if (data) *data = kv->val;
    if (n) *n = (size_t)kv->val_n;
    return true;
}

int64_t flt_gguf_find_key(const flt_gguf *g, const char *key) {
    if (!g || !key) return -1;
    return name_ix_find(g->kv_ix, g->n_kv, key, strlen(key));
}

static flintrt_status lookup(const flt_gguf *g, const char *key, const gguf_kv **out, flt_err *e) {
    int64_t i = flt_gguf_find_key(g, key);
    if (i < 0)
        return flt_fail(e, FLINTRT_ERR_NOT_FOUND, "metadata key '%s' not found", key ? key : "(null)");
    *out = &g->kvs[i];
    return FLINTRT_OK;
}

/* An integer value as either signed or unsigned 64-bit. False if not an integer type. */
static bool kv_int(const gguf_kv *kv, bool *is_signed, int64_t *s, uint64_t *u) {
    const uint8_t *p = kv->val;
    *is_signed = true;
    switch (kv->type) {
    case FLT_GGUF_UINT8: *is_signed = false; *u = p[0]; return true;
    case FLT_GGUF_UINT16: *is_signed = false; *u = flt_load_le16(p); return true;
    case FLT_GGUF_UINT32: *is_signed = false; *u = flt_load_le32(p); return true;
    case FLT_GGUF_UINT64: *is_signed = false; *u = flt_load_le64(p); return true;
    case FLT_GGUF_INT8: { int8_t x; memcpy(&x, p, 1); *s = x; return true; }
    case FLT_GGUF_INT16: { uint16_t b = flt_load_le16(p); int16_t x; memcpy(&x, &b, 2); *s = x; return true; }
    case FLT_GGUF_INT32: { uint32_t b = flt_load_le32(p); int32_t x; memcpy(&x, &b, 4); *s = x; return true; }
    case FLT_GGUF_INT64: { uint64_t b = flt_load_le64(p); int64_t x; memcpy(&x, &b, 8); *s = x; return true; }
    default: return false;
    }
}

static flintrt_status wrong_type(const char *key, const gguf_kv *kv, const char *expected, flt_err *e) {
    return flt_fail(e, FLINTRT_ERR_FORMAT,
                    "metadata key '%s' (offset %" PRIu64 ") has type %s%s%s, expected %s", key,
                    kv->off, flt_gguf_vtype_name(kv->type),
                    kv->type == FLT_GGUF_ARRAY ? " of " : "",
                    kv->type == FLT_GGUF_ARRAY ? flt_gguf_vtype_name(kv->arr_type) : "", expected);
}

flintrt_status flt_gguf_get_u32(const flt_gguf *g, const char *key, uint32_t min, uint32_t max,
                                uint32_t *out, flt_err *e) {
    const gguf_kv *kv = NULL;
    flintrt_status st = lookup(g, key, &kv, e);
    if (st) return st;
    bool sg;
    int64_t s = 0;
    uint64_t u = 0;
    if (!kv_int(kv, &sg, &s, &u)) return wrong_type(key, kv, "an integer", e);
    bool ok = sg ? (s >= 0 && (uint64_t)s >= min && (uint64_t)s <= max) : (u >= min && u <= max);
    if (!ok) {
        if (sg)
            return flt_fail(e, FLINTRT_ERR_FORMAT,
                            "metadata key '%s' = %" PRId64 " is out of range [%" PRIu32 ", %" PRIu32 "]",
                            key, s, min, max);
        return flt_fail(e, FLINTRT_ERR_FORMAT,
                        "metadata key '%s' = %" PRIu64 " is out of range [%" PRIu32 ", %" PRIu32 "]",
                        key, u, min, max);
    }
    *out = sg ? (uint32_t)s : (uint32_t)u;
    return FLINTRT_OK;
}

flintrt_status flt_gguf_get_u32_opt(const flt_gguf *g, const char *key, uint32_t dflt, uint32_t min,
                                    uint32_t max, uint32_t *out, flt_err *e) {
    if (flt_gguf_find_key(g, key) < 0) {
        *out = dflt;
        return FLINTRT_OK;
    }
    return flt_gguf_get_u32(g, key, min, max, out, e);
}

flintrt_status flt_gguf_get_i64(const flt_gguf *g, const char *key, int64_t min, int64_t max,
                                int64_t *out, flt_err *e) {
    const gguf_kv *kv = NULL;
    flintrt_status st = lookup(g, key, &kv, e);
    if (st) return st;
    bool sg;
    int64_t s = 0;
    uint64_t u = 0;
    if (!kv_int(kv, &sg, &s, &u)) return wrong_type(key, kv, "an integer", e);
    if (!sg) {
        if (u > (uint64_t)INT64_MAX)
            return flt_fail(e, FLINTRT_ERR_FORMAT,
                            "metadata key '%s' = %" PRIu64 " is out of range [%" PRId64 ", %" PRId64 "]",
                            key, u, min, max);
        s = (int64_t)u;
    }
    if (s < min || s > max)
        return flt_fail(e, FLINTRT_ERR_FORMAT,
                        "metadata key '%s' = %" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]",
                        key, s, min, max);
    *out = s;
    return FLINTRT_OK;
}

flintrt_status flt_gguf_get_f32(const flt_gguf *g, const char *key, float min, float max, float *out,
                                flt_err *e) {
    const gguf_kv *kv = NULL;
    flintrt_status st = lookup(g, key, &kv, e);
    if (st) return st;
    double d;
    if (kv->type == FLT_GGUF_FLOAT32) {
        uint32_t b = flt_load_le32(kv->val);
        float f;
        memcpy(&f, &b, 4);
        d = f;
    } else if (kv->type == FLT_GGUF_FLOAT64) {
        uint64_t b = flt_load_le64(kv->val);
        memcpy(&d, &b, 8);
    } else {
        return wrong_type(key, kv, "FLOAT32 or FLOAT64", e);
    }
    if (!(d >= (double)min && d <= (double)max)) /* NaN fails too */
        return flt_fail(e, FLINTRT_ERR_FORMAT, "metadata key '%s' = %g is out of range [%g, %g]", key,
                        d, (double)min, (double)max);
    *out = (float)d;
    return FLINTRT_OK;
}

flintrt_status flt_gguf_get_f32_opt(const flt_gguf *g, const char *key, float dflt, float min,
                                    float max, float *out, flt_err *e) {
    if (flt_gguf_find_key(g, key) < 0) {
        *out = dflt;
        return FLINTRT_OK;
    }
    return flt_gguf_get_f32(g, key, min, max, out, e);
}

flintrt_status flt_gguf_get_bool_opt(const flt_gguf *g, const char *key, bool dflt, bool *out,
                                     flt_err *e) {
    int64_t i = flt_gguf_find_key(g, key);
    if (i < 0) {
        *out = dflt;
        return FLINTRT_OK;
    }
    const gguf_kv *kv = &g->kvs[i];
    if (kv->type != FLT_GGUF_BOOL) return wrong_type(key, kv, "BOOL", e);
    *out = kv->val[0] != 0;
    return FLINTRT_OK;
}

flintrt_status flt_gguf_get_str(const flt_gguf *g, const char *key, flt_str *out, flt_err *e) {
    const gguf_kv *kv = NULL;
    flintrt_status st = lookup(g, key, &kv, e);
    if (st) return st;
    if (kv->type != FLT_GGUF_STRING) return wrong_type(key, kv, "STRING", e);
    out->n = (size_t)flt_load_le64(kv->val);
    out->p = (const char *)kv->val + 8;
    return FLINTRT_OK;
}

flintrt_status flt_gguf_get_arr(const flt_gguf *g, const char *key, flt_gguf_vtype elem,
                                uint64_t min_n, uint64_t max_n, uint64_t *n, const void **data,
                                flt_err *e) {
    const gguf_kv *kv = NULL;
    flintrt_status st = lookup(g, key, &kv, e);
    if (st) return st;
    if (kv->type != FLT_GGUF_ARRAY || kv->arr_type != elem) {
        char want[48];
        snprintf(want, sizeof want, "ARRAY of %s", flt_gguf_vtype_name(elem));
        return wrong_type(key, kv, want, e);
    }
    if (kv->arr_n < min_n || kv->arr_n > max_n)
        return flt_fail(e, FLINTRT_ERR_FORMAT,
                        "metadata key '%s' has %" PRIu64 " elements, expected between %" PRIu64
                        " and %" PRIu64,
                        key, kv->arr_n, min_n, max_n);
    if (n) *n = kv->arr_n;
    if (data) *data = flt_gguf_vtype_size(elem) ? (const void *)kv->arr_data : NULL;
    return FLINTRT_OK;
}

flintrt_status flt_gguf_get_arr_str(const flt_gguf *g, const char *key, uint64_t min_n,
                                    uint64_t max_n, uint64_t *n, flt_err *e) {
    return flt_gguf_get_arr(g, key, FLT_GGUF_STRING, min_n, max_n, n, NULL, e);
}

static flt_str kv_arr_str(const flt_gguf *g, const gguf_kv *kv, uint64_t idx) {
    if (kv->type != FLT_GGUF_ARRAY || kv->arr_type != FLT_GGUF_STRING || idx >= kv->arr_n ||
        !kv->str_off)
        return (flt_str){NULL, 0};
    const uint8_t *p = g->base + kv->str_off[idx];
    return (flt_str){(const char *)p + 8, (size_t)flt_load_le64(p)};
}

flt_str flt_gguf_arr_str_at(const flt_gguf *g, const char *key, uint64_t idx) {
    int64_t i = flt_gguf_find_key(g, key);
    if (i < 0) return (flt_str){NULL, 0};
    return kv_arr_str(g, &g->kvs[i], idx);
}

/* ---- rendering -------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t cap, len;
    bool cut;
} sbuf;

static void sb_putc(sbuf *b, char c) {
    if (b->len + 1 < b->cap) b->p[b->len++] = c;
    else b->cut = true;
}

static void sb_puts(sbuf *b, const char *s) {
    while (*s) sb_putc(b, *s++);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_puts(b, tmp);
}

/* Length of a valid UTF-8 sequence at p (n bytes available) that is not a C1
 * control, else 0. */
static size_t utf8_len(const uint8_t *p, size_t n) {
    uint8_t c = p[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (len > n) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    if (cp >= 0x80 && cp <= 0x9f) return 0;
    return len;
}

/* A quoted string, at most max_bytes of it, escaped for a terminal. */
static void sb_str(sbuf *b, const char *s, size_t n, size_t max_bytes) {
    const uint8_t *p = (const uint8_t *)s;
    size_t shown = n > max_bytes ? max_bytes : n;
    sb_putc(b, '"');
    for (size_t i = 0; i < shown && !b->cut;) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') { sb_putc(b, '\\'); sb_putc(b, (char)c); i++; }
        else if (c == '\n') { sb_puts(b, "\\n"); i++; }
        else if (c == '\t') { sb_puts(b, "\\t"); i++; }
        else if (c == '\r') { sb_puts(b, "\\r"); i++; }
        else if (c >= 0x20 && c < 0x7f) { sb_putc(b, (char)c); i++; }
        else {
            size_t l = c >= 0x80 ? utf8_len(p + i, shown - i) : 0;
            if (l) {
                for (size_t k = 0; k < l; k++) sb_putc(b, (char)p[i + k]);
                i += l;
            } else {
                sb_printf(b, "\\x%02x", c);
                i++;
            }
        }
    }
    if (shown < n) sb_puts(b, "...");
    sb_putc(b, '"');
}

/* One fixed-size element of type t at p. */
static void sb_scalar(sbuf *b, flt_gguf_vtype t, const uint8_t *p) {
    switch (t) {
    case FLT_GGUF_UINT8: sb_printf(b, "%u", p[0]); break;
    case FLT_GGUF_INT8: { int8_t x; memcpy(&x, p, 1); sb_printf(b, "%d", x); break; }
    case FLT_GGUF_UINT16: sb_printf(b, "%u", flt_load_le16(p)); break;
    case FLT_GGUF_INT16: { uint16_t u = flt_load_le16(p); int16_t x; memcpy(&x, &u, 2); sb_printf(b, "%d", x); break; }
    case FLT_GGUF_UINT32: sb_printf(b, "%" PRIu32, flt_load_le32(p)); break;
    case FLT_GGUF_INT32: { uint32_t u = flt_load_le32(p); int32_t x; memcpy(&x, &u, 4); sb_printf(b, "%" PRId32, x); break; }
    case FLT_GGUF_UINT64: sb_printf(b, "%" PRIu64, flt_load_le64(p)); break;
    case FLT_GGUF_INT64: { uint64_t u = flt_load_le64(p); int64_t x; memcpy(&x, &u, 8); sb_printf(b, "%" PRId64, x); break; }
    case FLT_GGUF_FLOAT32: { uint32_t u = flt_load_le32(p); float x; memcpy(&x, &u, 4); sb_printf(b, "%g", (double)x); break; }
    case FLT_GGUF_FLOAT64: { uint64_t u = flt_load_le64(p); double x; memcpy(&x, &u, 8); sb_printf(b, "%g", x); break; }
    case FLT_GGUF_BOOL: sb_puts(b, p[0] ? "true" : "false"); break;
    default: sb_puts(b, "?"); break;
    }
}

#define RENDER_MAX_ELEMS 8

void flt_gguf_kv_render(const flt_gguf *g, uint64_t i, char *buf, size_t cap) {
    if (!buf || cap == 0) return;
    sbuf b = {buf, cap, 0, false};
    const gguf_kv *kv = kv_at(g, i);
    if (!kv) {
        sb_puts(&b, "?");
    } else if (kv->type == FLT_GGUF_STRING) {
        sb_str(&b, (const char *)kv->val + 8, (size_t)flt_load_le64(kv->val), cap);
    } else if (kv->type != FLT_GGUF_ARRAY) {
        sb_scalar(&b, kv->type, kv->val);
    } else {
        sb_printf(&b, "[array of %" PRIu64 " %s", kv->arr_n, flt_gguf_vtype_name(kv->arr_type));
        size_t es = flt_gguf_vtype_size(kv->arr_type);
        uint64_t shown = kv->arr_n < RENDER_MAX_ELEMS ? kv->arr_n : RENDER_MAX_ELEMS;
        if (kv->arr_type == FLT_GGUF_ARRAY) shown = 0;
        for (uint64_t k = 0; k < shown && !b.cut; k++) {
            sb_puts(&b, k ? ", " : ": ");
            if (es) {
                sb_scalar(&b, kv->arr_type, kv->arr_data + k * es);
            } else {
                flt_str s = kv_arr_str(g, kv, k);
                sb_str(&b, s.p, s.n, 32);
            }
        }
        if (shown < kv->arr_n && shown > 0) sb_puts(&b, ", ...");
        sb_putc(&b, ']');
    }
    if (b.cut && cap >= 4) {
        size_t at = b.len >= 3 ? b.len - 3 : 0;
        /* Do not leave half a UTF-8 sequence before the ellipsis. */
        while (at > 0 && ((unsigned char)buf[at] & 0xc0) == 0x80) at--;
        memcpy(buf + at, "...", 3);
        b.len = at + 3;
    }
    buf[b.len < cap ? b.len : cap - 1] = '\0';
}

/* ---- tensors ----------------------------------------------------------------------- */

uint64_t flt_gguf_n_tensors(const flt_gguf *g) { return g ? g->n_tensors : 0; }

const flt_gguf_tensor *flt_gguf_tensor_at(const flt_gguf *g, uint64_t i) {
    return g && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const flt_gguf_tensor *flt_gguf_find_tensor(const flt_gguf *g, const char *name) {
    if (!g || !name) return NULL;
    int64_t i = name_ix_find(g->tensor_ix, g->n_tensors, name, strlen(name));
    return i < 0 ? NULL : &g->tensors[i];
}

size_t flt_gguf_vtype_size(flt_gguf_vtype t) {
    switch (t) {
    case FLT_GGUF_UINT8: case FLT_GGUF_INT8: case FLT_GGUF_BOOL: return 1;
    case FLT_GGUF_UINT16: case FLT_GGUF_INT16: return 2;
    case FLT_GGUF_UINT32: case FLT_GGUF_INT32: case FLT_GGUF_FLOAT32: return 4;
    case FLT_GGUF_UINT64: case FLT_GGUF_INT64: case FLT_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}
