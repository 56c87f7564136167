/* libFuzzer harness for the GGUF reader: open the input from memory, then use
 * every accessor, getter and renderer on whatever opened, and rewrite it through
 * the writer (copy_kv + add_tensor) and reopen the result, which must succeed.
 *
 * Convention (see tests/test_fuzz_replay.c): the body is flt_fuzz_gguf(); the
 * libFuzzer entry point is compiled unless FLT_FUZZ_NO_MAIN is defined, so the
 * replay test can #include this file. Helpers are static and prefixed fz_gguf_. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"

int flt_fuzz_gguf(const uint8_t *data, size_t size);

/* An invariant broken: crash loudly so the fuzzer (or the replay test) sees it. */
static void fz_gguf_require(int ok) {
    if (!ok) __builtin_trap();
}

static void fz_gguf_getters(const flt_gguf *g, const char *key) {
    flt_err e;
    uint32_t u32;
    int64_t i64;
    float f;
    bool b;
    flt_str s;
    uint64_t n;
    const void *d;
    (void)flt_gguf_get_u32(g, key, 0, UINT32_MAX, &u32, &e);
    (void)flt_gguf_get_u32(g, key, 1, 16, &u32, &e);
    (void)flt_gguf_get_u32_opt(g, key, 3, 0, 100, &u32, &e);
    (void)flt_gguf_get_i64(g, key, INT64_MIN, INT64_MAX, &i64, &e);
    (void)flt_gguf_get_f32(g, key, -1e30f, 1e30f, &f, &e);
    (void)flt_gguf_get_f32_opt(g, key, 0.5f, 0, 1, &f, &e);
    (void)flt_gguf_get_bool_opt(g, key, true, &b, &e);
    if (flt_gguf_get_str(g, key, &s, &e) == FLINTRT_OK && s.n) {
        volatile char c = s.p[0] ^ s.p[s.n - 1];
        (void)c;
    }
    for (int t = 0; t < FLT_GGUF_VTYPE_COUNT; t++) {
        if (flt_gguf_get_arr(g, key, (flt_gguf_vtype)t, 0, UINT64_MAX, &n, &d, &e) == FLINTRT_OK && d && n) {
            /* touch the first and last bytes of the element data */
            size_t es = t == FLT_GGUF_UINT8 || t == FLT_GGUF_INT8 || t == FLT_GGUF_BOOL ? 1
                      : t == FLT_GGUF_UINT16 || t == FLT_GGUF_INT16                 ? 2
                      : t == FLT_GGUF_UINT64 || t == FLT_GGUF_INT64 || t == FLT_GGUF_FLOAT64 ? 8 : 4;
            const uint8_t *p = d;
            volatile uint8_t c = p[0] ^ p[n * es - 1];
            (void)c;
            if (t == FLT_GGUF_BOOL)
                for (uint64_t k = 0; k < n; k++) fz_gguf_require(p[k] <= 1);
        }
    }
    if (flt_gguf_get_arr_str(g, key, 0, UINT64_MAX, &n, &e) == FLINTRT_OK) {
        for (uint64_t k = 0; k < n; k++) {
            s = flt_gguf_arr_str_at(g, key, k);
            fz_gguf_require(s.p != NULL);
            if (s.n) {
                volatile char c = s.p[0] ^ s.p[s.n - 1];
                (void)c;
            }
        }
        s = flt_gguf_arr_str_at(g, key, n);
        fz_gguf_require(s.p == NULL);
    }
}

int flt_fuzz_gguf(const uint8_t *data, size_t size) {
    flt_gguf *g = NULL;
    flt_err e;
    flt_err_clear(&e);
    if (flt_gguf_open_memory(data, size, &g, &e) != FLINTRT_OK) {
        fz_gguf_require(g == NULL && e.msg[0] != '\0' && memchr(e.msg, 0, sizeof e.msg) != NULL);
        return 0;
    }
    (void)flt_gguf_version(g);
    fz_gguf_require(flt_gguf_alignment(g) >= 8);
    fz_gguf_require(flt_gguf_file_size(g) == size);
    char buf[256], tiny[5], key[FLT_GGUF_MAX_KEY_LEN + 1];
    flt_gguf_writer *w = flt_gguf_writer_new();
    for (uint64_t i = 0; i < flt_gguf_n_kv(g); i++) {
        flt_str k = flt_gguf_key(g, i);
        fz_gguf_require(k.p && k.n > 0 && k.n <= FLT_GGUF_MAX_KEY_LEN);
        (void)flt_gguf_kv_type(g, i);
        (void)flt_gguf_arr_type(g, i);
        (void)flt_gguf_arr_n(g, i);
        flt_gguf_kv_render(g, i, buf, sizeof buf);
        fz_gguf_require(strlen(buf) < sizeof buf);
        flt_gguf_kv_render(g, i, tiny, sizeof tiny);
        fz_gguf_require(strlen(tiny) < sizeof tiny);
        memcpy(key, k.p, k.n);
        key[k.n] = '\0';
        fz_gguf_require(flt_gguf_find_key(g, key) == (int64_t)i);
        fz_gguf_getters(g, key);
        if (w) fz_gguf_require(flt_gguf_copy_kv(w, g, i) == FLINTRT_OK);
    }
    (void)flt_gguf_find_key(g, "general.alignment");
    fz_gguf_getters(g, "no such key");
    for (uint64_t i = 0; i < flt_gguf_n_tensors(g); i++) {
        const flt_gguf_tensor *t = flt_gguf_tensor_at(g, i);
        fz_gguf_require(t && flt_ggml_type(t->type) && t->n_dims >= 1 && t->n_dims <= FLT_GGUF_MAX_DIMS);
        const uint8_t *p = t->data;
        fz_gguf_require(p >= data && t->size <= size && p + t->size <= data + size);
        volatile uint8_t c = p[0] ^ p[t->size - 1];
        (void)c;
        char name[FLT_GGUF_MAX_NAME_LEN + 1];
        memcpy(name, t->name.p, t->name.n);
        name[t->name.n] = '\0';
        fz_gguf_require(flt_gguf_find_tensor(g, name) == t);
        if (w)
            fz_gguf_require(flt_gguf_add_tensor(w, name, t->type, t->n_dims, t->ne, t->data, t->size) ==
                            FLINTRT_OK);
    }
    fz_gguf_require(flt_gguf_tensor_at(g, flt_gguf_n_tensors(g)) == NULL);
    (void)flt_gguf_find_tensor(g, "no such tensor");

    /* What opened must survive a rewrite: same counts, same alignment. */
    if (w) {
        void *out = NULL;
        size_t out_n = 0;
        flintrt_status st = flt_gguf_write_memory(w, &out, &out_n, &e);
        fz_gguf_require(st == FLINTRT_OK || st == FLINTRT_ERR_OUT_OF_MEMORY);
        if (st == FLINTRT_OK) {
            flt_gguf *g2 = NULL;
            fz_gguf_require(flt_gguf_open_memory(out, out_n, &g2, &e) == FLINTRT_OK);
            fz_gguf_require(flt_gguf_n_kv(g2) == flt_gguf_n_kv(g) &&
                            flt_gguf_n_tensors(g2) == flt_gguf_n_tensors(g) &&
                            flt_gguf_alignment(g2) == flt_gguf_alignment(g));
            flt_gguf_close(g2);
            free(out);
        }
        flt_gguf_writer_free(w);
    }
    flt_gguf_close(g);
    return 0;
}

#ifndef FLT_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return flt_fuzz_gguf(data, size); }
#endif
