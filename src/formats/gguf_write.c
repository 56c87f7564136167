/* GGUF writer: collects metadata (serialised on set, so a set copies its input) and
 * tensor references, then writes a version-3 file: header, kvs, tensor infos,
 * zero padding to general.alignment, tensor data each at an aligned offset with
 * zero padding between tensors (none after the last, so no proper prefix of the
 * output is a valid file). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "formats/gguf.h"
#include "formats/reader.h"

typedef struct wkv {
    char *key;
    size_t key_n;
    flt_gguf_vtype type;
    uint8_t *val; /* serialised value (after the type field) */
    size_t val_n;
} wkv;

typedef struct wtensor {
    char *name;
    size_t name_n;
    uint32_t type;
    uint32_t n_dims;
    int64_t ne[FLT_GGUF_MAX_DIMS];
    const void *data;
    uint64_t size;
} wtensor;

struct flt_gguf_writer {
    wkv *kvs;
    size_t n_kv, cap_kv;
    wtensor *tensors;
    size_t n_tensors, cap_tensors;
};

flt_gguf_writer *flt_gguf_writer_new(void) { return calloc(1, sizeof(flt_gguf_writer)); }

void flt_gguf_writer_free(flt_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        free(w->kvs[i].val);
    }
    for (size_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    free(w->kvs);
    free(w->tensors);
    free(w);
}

/* ---- a growable byte buffer for serialising values ---- */

typedef struct bbuf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} bbuf;

static void bb_put(bbuf *b, const void *src, size_t n) {
    if (b->oom || n == 0) return;
    size_t need;
    if (!flt_add_size(b->n, n, &need)) { b->oom = true; return; }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need) {
            if (cap > SIZE_MAX / 2) { cap = need; break; }
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (!p) { b->oom = true; return; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n = need;
}

static void bb_u32(bbuf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    bb_put(b, x, 4);
}

static void bb_u64(bbuf *b, uint64_t v) {
    bb_u32(b, (uint32_t)v);
    bb_u32(b, (uint32_t)(v >> 32));
}

static void bb_str(bbuf *b, const char *s, size_t n) {
    bb_u64(b, n);
    bb_put(b, s, n);
}

static bool valid_name(const char *s, size_t n, size_t cap) {
    return s && n > 0 && n <= cap && !memchr(s, 0, n);
}

/* Take ownership of val (even on failure). */
static flintrt_status put_kv(flt_gguf_writer *w, const char *key, flt_gguf_vtype type, bbuf *val) {
    if (val->oom) {
        free(val->p);
        return FLINTRT_ERR_OUT_OF_MEMORY;
    }
    size_t kn = key ? strlen(key) : 0;
    if (!w || !valid_name(key, kn, FLT_GGUF_MAX_KEY_LEN)) {
        free(val->p);
        return FLINTRT_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        if (w->kvs[i].key_n == kn && memcmp(w->kvs[i].key, key, kn) == 0) {
            free(w->kvs[i].val);
            w->kvs[i].type = type;
            w->kvs[i].val = val->p;
            w->kvs[i].val_n = val->n;
            return FLINTRT_OK;
        }
    }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? w->cap_kv * 2 : 16;
        wkv *p = flt_malloc_array(cap, sizeof *p);
        if (!p) { free(val->p); return FLINTRT_ERR_OUT_OF_MEMORY; }
        if (w->n_kv) memcpy(p, w->kvs, w->n_kv * sizeof *p);
        free(w->kvs);
        w->kvs = p;
        w->cap_kv = cap;
    }
    char *k = malloc(kn + 1);
    if (!k) { free(val->p); return FLINTRT_ERR_OUT_OF_MEMORY; }
    memcpy(k, key, kn + 1);
    w->kvs[w->n_kv++] = (wkv){k, kn, type, val->p, val->n};
    return FLINTRT_OK;
}

static flintrt_status set_fixed(flt_gguf_writer *w, const char *key, flt_gguf_vtype t, const void *le,
                                size_t n) {
    bbuf b = {0};
    bb_put(&b, le, n);
    return put_kv(w, key, t, &b);
}

flintrt_status flt_gguf_set_u32(flt_gguf_writer *w, const char *key, uint32_t v) {
    bbuf b = {0};
    bb_u32(&b, v);
    return put_kv(w, key, FLT_GGUF_UINT32, &b);
}

flintrt_status flt_gguf_set_i32(flt_gguf_writer *w, const char *key, int32_t v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    bbuf b = {0};
    bb_u32(&b, u);
    return put_kv(w, key, FLT_GGUF_INT32, &b);
}

flintrt_status flt_gguf_set_u64(flt_gguf_writer *w, const char *key, uint64_t v) {
    bbuf b = {0};
    bb_u64(&b, v);
    return put_kv(w, key, FLT_GGUF_UINT64, &b);
}

flintrt_status flt_gguf_set_f32(flt_gguf_writer *w, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    bbuf b = {0};
    bb_u32(&b, u);
    return put_kv(w, key, FLT_GGUF_FLOAT32, &b);
}

flintrt_status flt_gguf_set_bool(flt_gguf_writer *w, const char *key, bool v) {
    uint8_t x = v ? 1 : 0;
    return set_fixed(w, key, FLT_GGUF_BOOL, &x, 1);
}

flintrt_status flt_gguf_set_str(flt_gguf_writer *w, const char *key, const char *s, size_t n) {
    if (!s && n) return FLINTRT_ERR_INVALID_ARGUMENT;
    if (n > FLT_GGUF_MAX_STRING_LEN) return FLINTRT_ERR_LIMIT;
    bbuf b = {0};
    bb_str(&b, s, n);
    return put_kv(w, key, FLT_GGUF_STRING, &b);
}

flintrt_status flt_gguf_set_arr(flt_gguf_writer *w, const char *key, flt_gguf_vtype elem,
                                const void *data, uint64_t n) {
    size_t es = flt_gguf_vtype_size(elem);
    if (!es || (!data && n)) return FLINTRT_ERR_INVALID_ARGUMENT;
    uint64_t bytes;
    if (!flt_mul_u64(n, es, &bytes) || bytes > SIZE_MAX) return FLINTRT_ERR_LIMIT;
    if (elem == FLT_GGUF_BOOL)
        for (uint64_t i = 0; i < n; i++)
            if (((const uint8_t *)data)[i] > 1) return FLINTRT_ERR_INVALID_ARGUMENT;
    bbuf b = {0};
    bb_u32(&b, (uint32_t)elem);
    bb_u64(&b, n);
    bb_put(&b, data, (size_t)bytes);
    return put_kv(w, key, FLT_GGUF_ARRAY, &b);
}

flintrt_status flt_gguf_set_arr_str(flt_gguf_writer *w, const char *key, const flt_str *strs,
                                    uint64_t n) {
    if (!strs && n) return FLINTRT_ERR_INVALID_ARGUMENT;
    bbuf b = {0};
    bb_u32(&b, (uint32_t)FLT_GGUF_STRING);
    bb_u64(&b, n);
    for (uint64_t i = 0; i < n; i++) {
        if ((!strs[i].p && strs[i].n) || strs[i].n > FLT_GGUF_MAX_STRING_LEN) {
            free(b.p);
            return FLINTRT_ERR_INVALID_ARGUMENT;
        }
        bb_str(&b, strs[i].p, strs[i].n);
    }
    return put_kv(w, key, FLT_GGUF_ARRAY, &b);
}

flintrt_status flt_gguf_copy_kv(flt_gguf_writer *w, const flt_gguf *src, uint64_t i) {
    if (!src || i >= flt_gguf_n_kv(src)) return FLINTRT_ERR_INVALID_ARGUMENT;
    /* The value's bytes in the source were validated on open: copy them verbatim. */
    flt_str key = flt_gguf_key(src, i);
    flt_gguf_vtype t = flt_gguf_kv_type(src, i);
    const void *val;
    size_t val_n;
    if (!flt_gguf_kv_raw(src, i, &val, &val_n)) return FLINTRT_ERR_INTERNAL;
    char *k = malloc(key.n + 1);
    if (!k) return FLINTRT_ERR_OUT_OF_MEMORY;
    memcpy(k, key.p, key.n);
    k[key.n] = '\0';
    bbuf b = {0};
    bb_put(&b, val, val_n);
    flintrt_status st = put_kv(w, k, t, &b);
    free(k);
    return st;
}

flintrt_status flt_gguf_add_tensor(flt_gguf_writer *w, const char *name, uint32_t ggml_type,
                                   uint32_t n_dims, const int64_t *ne, const void *data,
                                   uint64_t size) {
    if (!w || !ne) return FLINTRT_ERR_INVALID_ARGUMENT;
    size_t nn = name ? strlen(name) : 0;
    if (!valid_name(name, nn, FLT_GGUF_MAX_NAME_LEN)) return FLINTRT_ERR_INVALID_ARGUMENT;
    const flt_ggml_type_info *ti = flt_ggml_type(ggml_type);
    if (!ti || n_dims < 1 || n_dims > FLT_GGUF_MAX_DIMS) return FLINTRT_ERR_INVALID_ARGUMENT;
    uint64_t nelem = 1;
    for (uint32_t j = 0; j < n_dims; j++) {
        if (ne[j] <= 0) return FLINTRT_ERR_INVALID_ARGUMENT;
        if (!flt_mul_u64(nelem, (uint64_t)ne[j], &nelem) || nelem > (uint64_t)INT64_MAX)
            return FLINTRT_ERR_INVALID_ARGUMENT;
    }
    if ((uint64_t)ne[0] % ti->block_size) return FLINTRT_ERR_INVALID_ARGUMENT;
    uint64_t bytes = (uint64_t)ne[0] / ti->block_size;
    bool ok = flt_mul_u64(bytes, ti->type_size, &bytes);
    for (uint32_t j = 1; ok && j < n_dims; j++) ok = flt_mul_u64(bytes, (uint64_t)ne[j], &bytes);
    /* data NULL: a streamed tensor whose bytes the caller writes after flt_gguf_write_head. */
    if (!ok || bytes != size) return FLINTRT_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < w->n_tensors; i++)
        if (w->tensors[i].name_n == nn && memcmp(w->tensors[i].name, name, nn) == 0)
            return FLINTRT_ERR_INVALID_ARGUMENT; /* duplicate name */
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? w->cap_tensors * 2 : 16;
        wtensor *p = flt_malloc_array(cap, sizeof *p);
        if (!p) return FLINTRT_ERR_OUT_OF_MEMORY;
        if (w->n_tensors) memcpy(p, w->tensors, w->n_tensors * sizeof *p);
        free(w->tensors);
        w->tensors = p;
        w->cap_tensors = cap;
    }
    char *nm = malloc(nn + 1);
    if (!nm) return FLINTRT_ERR_OUT_OF_MEMORY;
    memcpy(nm, name, nn + 1);
    wtensor t = {nm, nn, ggml_type, n_dims, {1, 1, 1, 1}, data, size};
    for (uint32_t j = 0; j < n_dims; j++) t.ne[j] = ne[j];
    w->tensors[w->n_tensors++] = t;
    return FLINTRT_OK;
}

/* ---- output ---- */

/* Where bytes go: a FILE or a memory buffer of known final size. */
typedef struct sink {
    FILE *f;
    uint8_t *mem;
    size_t pos;
    bool failed;
} sink;

static void sink_put(sink *s, const void *p, size_t n) {
    if (s->failed || n == 0) return;
    if (s->f) {
        if (fwrite(p, 1, n, s->f) != n) s->failed = true;
    } else {
        memcpy(s->mem + s->pos, p, n);
    }
    s->pos += n;
}

static void sink_zeros(sink *s, uint64_t n) {
    static const uint8_t zeros[256];
    while (n > 0 && !s->failed) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        sink_put(s, zeros, k);
        n -= k;
    }
}

/* The header, kvs and tensor infos in one buffer; tensor offsets; total size. */
typedef struct layout {
    bbuf head;
    uint64_t alignment;
    uint64_t data_offset; /* head.n rounded up (when there are tensors) */
    uint64_t *offsets;    /* per tensor, relative to the data section */
    uint64_t total;
} layout;

static flintrt_status plan(const flt_gguf_writer *w, layout *L, flt_err *e) {
    memset(L, 0, sizeof *L);
    L->alignment = 32;
    for (size_t i = 0; i < w->n_kv; i++) {
        const wkv *kv = &w->kvs[i];
        if (strcmp(kv->key, "general.alignment") != 0) continue;
        if (kv->type != FLT_GGUF_UINT32)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT,
                            "general.alignment has type %s, expected UINT32",
                            flt_gguf_vtype_name(kv->type));
        uint32_t a = flt_load_le32(kv->val);
        if (a < 8 || a > FLT_GGUF_MAX_ALIGNMENT || (a & (a - 1)))
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT,
                            "general.alignment %" PRIu32 " is not a power of two between 8 and %u", a,
                            FLT_GGUF_MAX_ALIGNMENT);
        L->alignment = a;
    }
    bbuf *h = &L->head;
    bb_put(h, "GGUF", 4);
    bb_u32(h, 3);
    bb_u64(h, w->n_tensors);
    bb_u64(h, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        bb_str(h, w->kvs[i].key, w->kvs[i].key_n);
        bb_u32(h, (uint32_t)w->kvs[i].type);
        bb_put(h, w->kvs[i].val, w->kvs[i].val_n);
    }
    L->offsets = flt_calloc_array(w->n_tensors ? w->n_tensors : 1, sizeof *L->offsets);
    if (!L->offsets) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory");
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        if (!flt_align_up_u64(off, L->alignment, &off))
            return flt_fail(e, FLINTRT_ERR_LIMIT, "tensor data too large");
        L->offsets[i] = off;
        bb_str(h, t->name, t->name_n);
        bb_u32(h, t->n_dims);
        for (uint32_t j = 0; j < t->n_dims; j++) bb_u64(h, (uint64_t)t->ne[j]);
        bb_u32(h, t->type);
        bb_u64(h, off);
        if (!flt_add_u64(off, t->size, &off))
            return flt_fail(e, FLINTRT_ERR_LIMIT, "tensor data too large");
    }
    if (h->oom) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory building the header");
    L->data_offset = h->n;
    if (w->n_tensors && !flt_align_up_u64(h->n, L->alignment, &L->data_offset))
        return flt_fail(e, FLINTRT_ERR_LIMIT, "header too large");
    if (!flt_add_u64(L->data_offset, off, &L->total))
        return flt_fail(e, FLINTRT_ERR_LIMIT, "file too large");
    return FLINTRT_OK;
}

static void emit(const flt_gguf_writer *w, const layout *L, sink *s) {
    sink_put(s, L->head.p, L->head.n);
    sink_zeros(s, L->data_offset - L->head.n);
    uint64_t pos = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        sink_zeros(s, L->offsets[i] - pos);
        sink_put(s, w->tensors[i].data, (size_t)w->tensors[i].size);
        pos = L->offsets[i] + w->tensors[i].size;
    }
}

static void layout_free(layout *L) {
    free(L->head.p);
    free(L->offsets);
}

static bool has_streamed(const flt_gguf_writer *w) {
    for (size_t i = 0; i < w->n_tensors; i++)
        if (!w->tensors[i].data && w->tensors[i].size) return true;
    return false;
}

flintrt_status flt_gguf_write_head(flt_gguf_writer *w, FILE *f, uint64_t *alignment, flt_err *e) {
    if (!w || !f || !alignment)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "flt_gguf_write_head: NULL argument");
    layout L;
    flintrt_status st = plan(w, &L, e);
    if (st) { layout_free(&L); return st; }
    sink s = {.f = f};
    sink_put(&s, L.head.p, L.head.n);
    sink_zeros(&s, L.data_offset - L.head.n);
    *alignment = L.alignment;
    layout_free(&L);
    if (s.failed) return flt_fail(e, FLINTRT_ERR_IO, "writing the GGUF header failed");
    return FLINTRT_OK;
}

flintrt_status flt_gguf_write_memory(flt_gguf_writer *w, void **data, size_t *size, flt_err *e) {
    if (!w || !data || !size)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "flt_gguf_write_memory: NULL argument");
    *data = NULL;
    *size = 0;
    if (has_streamed(w))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "flt_gguf_write_memory: a tensor has no data (streamed)");
    layout L;
    flintrt_status st = plan(w, &L, e);
    if (st) { layout_free(&L); return st; }
    if (L.total > SIZE_MAX) {
        layout_free(&L);
        return flt_fail(e, FLINTRT_ERR_LIMIT, "file of %" PRIu64 " bytes does not fit in memory", L.total);
    }
    uint8_t *mem = malloc(L.total ? (size_t)L.total : 1);
    if (!mem) {
        layout_free(&L);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory (%" PRIu64 " bytes)", L.total);
    }
    sink s = {.mem = mem};
    emit(w, &L, &s);
    layout_free(&L);
    *data = mem;
    *size = (size_t)L.total;
    return FLINTRT_OK;
}

flintrt_status flt_gguf_write_file(flt_gguf_writer *w, const char *path, flt_err *e) {
    if (!w || !path) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "flt_gguf_write_file: NULL argument");
    if (has_streamed(w))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "flt_gguf_write_file: a tensor has no data (streamed)");
    layout L;
    flintrt_status st = plan(w, &L, e);
    if (st) { layout_free(&L); return st; }
    FILE *f = fopen(path, "wb");
    if (!f) {
        layout_free(&L);
        return flt_fail(e, FLINTRT_ERR_IO, "cannot create '%s'", path);
    }
    sink s = {.f = f};
    emit(w, &L, &s);
    layout_free(&L);
    bool failed = s.failed;
    if (fclose(f) != 0) failed = true;
    if (failed) {
        remove(path);
        return flt_fail(e, FLINTRT_ERR_IO, "writing '%s' failed", path);
    }
    return FLINTRT_OK;
}
