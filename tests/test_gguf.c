/* GGUF reader and writer: the byte reader, a round trip through every value type
 * (nested arrays included), typed getters and their range/type errors, alignment,
 * rendering, and the real files in ../shared/models and ../shared/tokenizers. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "formats/reader.h"
#include "harness.h"

#include "gguf_builder.h"

/* ---- the byte reader ---- */

static void test_reader(void) {
    const uint8_t d[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00, 0x80, 0x3f,
                         0x96, 0x01, 0xff};
    flt_reader r;
    flt_reader_init(&r, d, sizeof d, 100);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    float f;
    CHECK(flt_reader_u8(&r, &u8) && u8 == 1);
    CHECK(flt_reader_u16(&r, &u16) && u16 == 0x0302);
    CHECK(flt_reader_offset(&r) == 103);
    CHECK(flt_reader_u32(&r, &u32) && u32 == 0x07060504);
    CHECK(flt_reader_remaining(&r) == 8);
    flt_reader_skip(&r, 1);
    CHECK(flt_reader_f32(&r, &f) && f == 1.0f);
    CHECK(flt_reader_varint(&r, &u64) && u64 == 150);
    CHECK(!flt_reader_varint(&r, &u64)); /* 0xff: truncated varint */
    CHECK(flt_reader_remaining(&r) == 1);  /* unchanged on failure */
    flt_bytes bv;
    CHECK(!flt_reader_bytes(&r, 2, &bv));
    CHECK(!flt_reader_bytes(&r, UINT64_MAX, &bv));
    CHECK(!flt_reader_skip(&r, UINT64_MAX));
    CHECK(flt_reader_bytes(&r, 1, &bv) && bv.n == 1 && bv.p[0] == 0xff);
    CHECK(flt_reader_remaining(&r) == 0);
    CHECK(!flt_reader_u8(&r, &u8));
    CHECK(flt_reader_seek(&r, 100) && flt_reader_offset(&r) == 100);
    CHECK(!flt_reader_seek(&r, 99));
    CHECK(!flt_reader_seek(&r, 116));
    flt_reader sub;
    CHECK(flt_reader_sub(&r, 4, &sub) && sub.origin == 100 && flt_reader_offset(&r) == 104);
    int64_t i64;
    CHECK(!flt_reader_i64(&sub, &i64));
    int32_t i32;
    CHECK(flt_reader_i32(&sub, &i32) && i32 == 0x04030201);
    flt_err e;
    flt_err_clear(&e);
    CHECK(flt_reader_eof(&sub, &e, "thing", 8) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "offset 104") && strstr(e.msg, "thing"), "%s", e.msg);
    /* varint: 10-byte maximum, overlong refused */
    const uint8_t vmax[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    flt_reader_init(&r, vmax, sizeof vmax, 0);
    CHECK(flt_reader_varint(&r, &u64) && u64 == UINT64_MAX);
    const uint8_t vbad[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    flt_reader_init(&r, vbad, sizeof vbad, 0);
    CHECK(!flt_reader_varint(&r, &u64) && r.pos == 0);
    /* NULL data is an empty range */
    flt_reader_init(&r, NULL, 5, 0);
    CHECK(flt_reader_remaining(&r) == 0);
}

/* ---- ggml type table ---- */

static void test_types(void) {
    struct { uint32_t id; const char *name; uint32_t bs, ts; } want[] = {
        {0, "F32", 1, 4}, {1, "F16", 1, 2}, {2, "Q4_0", 32, 18}, {3, "Q4_1", 32, 20},
        {6, "Q5_0", 32, 22}, {7, "Q5_1", 32, 24}, {8, "Q8_0", 32, 34}, {9, "Q8_1", 32, 36},
        {10, "Q2_K", 256, 84}, {11, "Q3_K", 256, 110}, {12, "Q4_K", 256, 144},
        {13, "Q5_K", 256, 176}, {14, "Q6_K", 256, 210}, {15, "Q8_K", 256, 292},
        {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74}, {18, "IQ3_XXS", 256, 98},
        {19, "IQ1_S", 256, 50}, {20, "IQ4_NL", 32, 18}, {21, "IQ3_S", 256, 110},
        {22, "IQ2_S", 256, 82}, {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1}, {25, "I16", 1, 2},
        {26, "I32", 1, 4}, {27, "I64", 1, 8}, {28, "F64", 1, 8}, {29, "IQ1_M", 256, 56},
        {30, "BF16", 1, 2}, {34, "TQ1_0", 256, 54}, {35, "TQ2_0", 256, 66}, {39, "MXFP4", 32, 17},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const flt_ggml_type_info *t = flt_ggml_type(want[i].id);
        CHECKF(t && strcmp(t->name, want[i].name) == 0 && t->block_size == want[i].bs &&
                   t->type_size == want[i].ts,
               "type %u", want[i].id);
    }
    const uint32_t gone[] = {4, 5, 31, 32, 33, 36, 37, 38, 40, 1000, UINT32_MAX};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) CHECK(flt_ggml_type(gone[i]) == NULL);
}

/* ---- round trip ---- */

/* A handcrafted file holding the scalar types the writer has no setter for, and
 * nested arrays; copied into a writer with copy_kv. */
static void *make_extra(size_t *n) {
    gb b = {0};
    gb_header(&b, 0, 8);
    gb_str(&b, "x.u8"); gb_u32(&b, FLT_GGUF_UINT8); gb_u8(&b, 200);
    gb_str(&b, "x.i8"); gb_u32(&b, FLT_GGUF_INT8); gb_u8(&b, 0x80); /* -128 */
    gb_str(&b, "x.u16"); gb_u32(&b, FLT_GGUF_UINT16); gb_u16(&b, 65535);
    gb_str(&b, "x.i16"); gb_u32(&b, FLT_GGUF_INT16); gb_u16(&b, 0xfffe); /* -2 */
    gb_str(&b, "x.i64"); gb_u32(&b, FLT_GGUF_INT64); gb_u64(&b, (uint64_t)-5);
    double d = -2.5;
    uint64_t du;
    memcpy(&du, &d, 8);
    gb_str(&b, "x.f64"); gb_u32(&b, FLT_GGUF_FLOAT64); gb_u64(&b, du);
    /* [[1, 2], [], [3]] as UINT16 arrays */
    gb_str(&b, "x.nested"); gb_u32(&b, FLT_GGUF_ARRAY); gb_u32(&b, FLT_GGUF_ARRAY); gb_u64(&b, 3);
    gb_u32(&b, FLT_GGUF_UINT16); gb_u64(&b, 2); gb_u16(&b, 1); gb_u16(&b, 2);
    gb_u32(&b, FLT_GGUF_UINT16); gb_u64(&b, 0);
    gb_u32(&b, FLT_GGUF_UINT16); gb_u64(&b, 1); gb_u16(&b, 3);
    /* an array nested 8 levels deep (the limit), innermost [["s"]] */
    gb_str(&b, "x.deep"); gb_u32(&b, FLT_GGUF_ARRAY);
    for (int k = 0; k < 7; k++) { gb_u32(&b, FLT_GGUF_ARRAY); gb_u64(&b, 1); }
    gb_u32(&b, FLT_GGUF_STRING); gb_u64(&b, 1); gb_str(&b, "s");
    *n = b.n;
    return b.p;
}

static void test_round_trip(void) {
    flt_err e;
    flt_err_clear(&e);
    size_t xn;
    void *xbuf = make_extra(&xn);
    flt_gguf *x = NULL;
    CHECKF(flt_gguf_open_memory(xbuf, xn, &x, &e) == FLINTRT_OK, "%s", e.msg);
    if (!x) { free(xbuf); return; }
    CHECK(flt_gguf_n_kv(x) == 8 && flt_gguf_n_tensors(x) == 0);
    CHECK(flt_gguf_arr_type(x, 6) == FLT_GGUF_ARRAY && flt_gguf_arr_n(x, 6) == 3);

    flt_gguf_writer *w = flt_gguf_writer_new();
    CHECK(w != NULL);
    CHECK(flt_gguf_set_u32(w, "general.alignment", 64) == FLINTRT_OK);
    CHECK(flt_gguf_set_str(w, "general.architecture", "llama", 5) == FLINTRT_OK);
    CHECK(flt_gguf_set_str(w, "general.name", "first", 5) == FLINTRT_OK);
    CHECK(flt_gguf_set_str(w, "general.name", "tiny \"test\"\n", 12) == FLINTRT_OK); /* replaces */
    CHECK(flt_gguf_set_u32(w, "llama.block_count", 2) == FLINTRT_OK);
    CHECK(flt_gguf_set_i32(w, "t.i32", -7) == FLINTRT_OK);
    CHECK(flt_gguf_set_u64(w, "t.u64", UINT64_MAX) == FLINTRT_OK);
    CHECK(flt_gguf_set_f32(w, "t.f32", 0.125f) == FLINTRT_OK);
    CHECK(flt_gguf_set_bool(w, "t.bool", true) == FLINTRT_OK);
    CHECK(flt_gguf_set_str(w, "t.empty", "", 0) == FLINTRT_OK);
    const int32_t ai[] = {-1, 0, 7};
    CHECK(flt_gguf_set_arr(w, "t.arr_i32", FLT_GGUF_INT32, ai, 3) == FLINTRT_OK);
    const float af[] = {1.5f, -2.0f};
    CHECK(flt_gguf_set_arr(w, "t.arr_f32", FLT_GGUF_FLOAT32, af, 2) == FLINTRT_OK);
    const uint8_t ab[] = {1, 0, 1};
    CHECK(flt_gguf_set_arr(w, "t.arr_bool", FLT_GGUF_BOOL, ab, 3) == FLINTRT_OK);
    const double ad[] = {3.25};
    CHECK(flt_gguf_set_arr(w, "t.arr_f64", FLT_GGUF_FLOAT64, ad, 1) == FLINTRT_OK);
    CHECK(flt_gguf_set_arr(w, "t.arr_empty", FLT_GGUF_UINT8, NULL, 0) == FLINTRT_OK);
    const flt_str strs[] = {{"<unk>", 5}, {"", 0}, {"\xe2\x96\x81the", 6}};
    CHECK(flt_gguf_set_arr_str(w, "tokenizer.ggml.tokens", strs, 3) == FLINTRT_OK);
    for (uint64_t i = 0; i < flt_gguf_n_kv(x); i++) CHECK(flt_gguf_copy_kv(w, x, i) == FLINTRT_OK);
    /* writer argument errors */
    CHECK(flt_gguf_set_u32(w, "", 1) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(flt_gguf_set_u32(w, NULL, 1) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(flt_gguf_set_arr(w, "bad", FLT_GGUF_STRING, strs, 1) == FLINTRT_ERR_INVALID_ARGUMENT);
    const uint8_t badb[] = {2};
    CHECK(flt_gguf_set_arr(w, "bad", FLT_GGUF_BOOL, badb, 1) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(flt_gguf_copy_kv(w, x, 99) == FLINTRT_ERR_INVALID_ARGUMENT);

    float t0[2 * 3];
    for (int i = 0; i < 6; i++) t0[i] = (float)i;
    uint8_t t1[18 * 2]; /* Q4_0: 2 blocks */
    for (int i = 0; i < 36; i++) t1[i] = (uint8_t)(i * 7);
    int16_t t2[5] = {1, -1, 2, -2, 3};
    const int64_t ne0[] = {2, 3}, ne1[] = {64}, ne2[] = {5, 1, 1, 1};
    CHECK(flt_gguf_add_tensor(w, "a.weight", 0, 2, ne0, t0, sizeof t0) == FLINTRT_OK);
    CHECK(flt_gguf_add_tensor(w, "b.q4", 2, 1, ne1, t1, sizeof t1) == FLINTRT_OK);
    CHECK(flt_gguf_add_tensor(w, "c.i16", 25, 4, ne2, t2, sizeof t2) == FLINTRT_OK);
    /* tensor argument errors */
    CHECK(flt_gguf_add_tensor(w, "a.weight", 0, 2, ne0, t0, sizeof t0) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(flt_gguf_add_tensor(w, "d", 0, 2, ne0, t0, sizeof t0 - 4) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(flt_gguf_add_tensor(w, "d", 4, 2, ne0, t0, sizeof t0) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(flt_gguf_add_tensor(w, "d", 0, 0, ne0, t0, 0) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(flt_gguf_add_tensor(w, "d", 0, 5, ne2, t0, 20) == FLINTRT_ERR_INVALID_ARGUMENT);
    const int64_t ne_bad[] = {31};
    CHECK(flt_gguf_add_tensor(w, "d", 2, 1, ne_bad, t1, 18) == FLINTRT_ERR_INVALID_ARGUMENT);
    const int64_t ne_zero[] = {0};
    CHECK(flt_gguf_add_tensor(w, "d", 0, 1, ne_zero, t0, 0) == FLINTRT_ERR_INVALID_ARGUMENT);

    void *out = NULL;
    size_t out_n = 0;
    CHECKF(flt_gguf_write_memory(w, &out, &out_n, &e) == FLINTRT_OK, "%s", e.msg);
    flt_gguf *g = NULL;
    CHECKF(flt_gguf_open_memory(out, out_n, &g, &e) == FLINTRT_OK, "%s", e.msg);
    if (g) {
        CHECK(flt_gguf_version(g) == 3);
        CHECK(flt_gguf_alignment(g) == 64);
        CHECK(flt_gguf_data_offset(g) % 64 == 0);
        CHECK(flt_gguf_file_size(g) == out_n);
        CHECK(flt_gguf_n_kv(g) == 15 + 8);
        CHECK(flt_gguf_n_tensors(g) == 3);
        flt_str s;
        CHECK(flt_gguf_get_str(g, "general.name", &s, &e) == FLINTRT_OK && s.n == 12 &&
              memcmp(s.p, "tiny \"test\"\n", 12) == 0);
        CHECK(flt_gguf_get_str(g, "t.empty", &s, &e) == FLINTRT_OK && s.n == 0);
        uint32_t u32;
        CHECK(flt_gguf_get_u32(g, "llama.block_count", 1, 100, &u32, &e) == FLINTRT_OK && u32 == 2);
        int64_t i64;
        CHECK(flt_gguf_get_i64(g, "t.i32", -10, 10, &i64, &e) == FLINTRT_OK && i64 == -7);
        CHECK(flt_gguf_get_i64(g, "x.i64", INT64_MIN, 0, &i64, &e) == FLINTRT_OK && i64 == -5);
        CHECK(flt_gguf_get_i64(g, "x.i8", -128, 127, &i64, &e) == FLINTRT_OK && i64 == -128);
        CHECK(flt_gguf_get_i64(g, "x.i16", -128, 127, &i64, &e) == FLINTRT_OK && i64 == -2);
        CHECK(flt_gguf_get_u32(g, "x.u8", 0, 255, &u32, &e) == FLINTRT_OK && u32 == 200);
        CHECK(flt_gguf_get_u32(g, "x.u16", 0, 65535, &u32, &e) == FLINTRT_OK && u32 == 65535);
        CHECK(flt_gguf_get_i64(g, "t.u64", 0, INT64_MAX, &i64, &e) == FLINTRT_ERR_FORMAT);
        float f;
        CHECK(flt_gguf_get_f32(g, "t.f32", 0, 1, &f, &e) == FLINTRT_OK && f == 0.125f);
        CHECK(flt_gguf_get_f32(g, "x.f64", -3, 0, &f, &e) == FLINTRT_OK && f == -2.5f);
        bool bv = false;
        CHECK(flt_gguf_get_bool_opt(g, "t.bool", false, &bv, &e) == FLINTRT_OK && bv);
        uint64_t n;
        const void *data;
        CHECK(flt_gguf_get_arr(g, "t.arr_i32", FLT_GGUF_INT32, 3, 3, &n, &data, &e) == FLINTRT_OK);
        int32_t got[3];
        memcpy(got, data, sizeof got);
        CHECK(n == 3 && got[0] == -1 && got[1] == 0 && got[2] == 7);
        CHECK(flt_gguf_get_arr(g, "t.arr_f64", FLT_GGUF_FLOAT64, 1, 1, &n, &data, &e) == FLINTRT_OK);
        double gd;
        memcpy(&gd, data, 8);
        CHECK(gd == 3.25);
        CHECK(flt_gguf_get_arr(g, "t.arr_bool", FLT_GGUF_BOOL, 0, 10, &n, &data, &e) == FLINTRT_OK &&
              n == 3 && memcmp(data, ab, 3) == 0);
        CHECK(flt_gguf_get_arr(g, "t.arr_empty", FLT_GGUF_UINT8, 0, 0, &n, &data, &e) == FLINTRT_OK &&
              n == 0);
        CHECK(flt_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 1, 10, &n, &e) == FLINTRT_OK && n == 3);
        s = flt_gguf_arr_str_at(g, "tokenizer.ggml.tokens", 0);
        CHECK(s.n == 5 && memcmp(s.p, "<unk>", 5) == 0);
        s = flt_gguf_arr_str_at(g, "tokenizer.ggml.tokens", 1);
        CHECK(s.n == 0 && s.p != NULL);
        s = flt_gguf_arr_str_at(g, "tokenizer.ggml.tokens", 2);
        CHECK(s.n == 6 && memcmp(s.p, "\xe2\x96\x81the", 6) == 0);
        s = flt_gguf_arr_str_at(g, "tokenizer.ggml.tokens", 3);
        CHECK(s.p == NULL && s.n == 0);
        /* nested arrays survive the copy byte for byte */
        int64_t ki = flt_gguf_find_key(g, "x.nested"), kx = flt_gguf_find_key(x, "x.nested");
        CHECK(ki >= 0 && kx >= 0);
        CHECK(flt_gguf_kv_type(g, (uint64_t)ki) == FLT_GGUF_ARRAY);
        CHECK(flt_gguf_arr_type(g, (uint64_t)ki) == FLT_GGUF_ARRAY && flt_gguf_arr_n(g, (uint64_t)ki) == 3);
        const void *r1, *r2;
        size_t n1, n2;
        CHECK(flt_gguf_kv_raw(g, (uint64_t)ki, &r1, &n1) && flt_gguf_kv_raw(x, (uint64_t)kx, &r2, &n2) &&
              n1 == n2 && n1 == 4 + 8 + (12 + 4) + 12 + (12 + 2) && memcmp(r1, r2, n1) == 0);
        CHECK(flt_gguf_get_arr(g, "x.nested", FLT_GGUF_ARRAY, 3, 3, &n, &data, &e) == FLINTRT_OK &&
              data == NULL);
        ki = flt_gguf_find_key(g, "x.deep");
        CHECK(ki >= 0 && flt_gguf_arr_type(g, (uint64_t)ki) == FLT_GGUF_ARRAY);
        /* tensors */
        const flt_gguf_tensor *t = flt_gguf_find_tensor(g, "a.weight");
        CHECK(t && t->type == 0 && t->n_dims == 2 && t->ne[0] == 2 && t->ne[1] == 3 && t->ne[2] == 1 &&
              t->ne[3] == 1 && t->size == sizeof t0 && memcmp(t->data, t0, sizeof t0) == 0);
        CHECK(t && t->offset % 64 == 0 && ((const uint8_t *)t->data - (const uint8_t *)out) % 64 == 0);
        t = flt_gguf_find_tensor(g, "b.q4");
        CHECK(t && t->type == 2 && t->size == 36 && memcmp(t->data, t1, 36) == 0 && t->offset % 64 == 0);
        t = flt_gguf_find_tensor(g, "c.i16");
        CHECK(t && t->n_dims == 4 && t->size == 10 && memcmp(t->data, t2, 10) == 0);
        CHECK(flt_gguf_find_tensor(g, "nope") == NULL);
        CHECK(flt_gguf_find_tensor(g, "a.weigh") == NULL);
        CHECK(flt_gguf_tensor_at(g, 0) == flt_gguf_find_tensor(g, "a.weight"));
        CHECK(flt_gguf_tensor_at(g, 3) == NULL);
        /* the last tensor ends the file: no trailing padding */
        CHECK(flt_gguf_data_offset(g) + flt_gguf_tensor_at(g, 2)->offset + 10 == out_n);
        /* padding is zeros */
        const flt_gguf_tensor *ta = flt_gguf_tensor_at(g, 0), *tb = flt_gguf_tensor_at(g, 1);
        for (uint64_t k = ta->offset + ta->size; k < tb->offset; k++)
            CHECK(((const uint8_t *)out)[flt_gguf_data_offset(g) + k] == 0);

        /* rewrite the read file through copy_kv + add_tensor: identical bytes */
        flt_gguf_writer *w2 = flt_gguf_writer_new();
        for (uint64_t i = 0; i < flt_gguf_n_kv(g); i++) CHECK(flt_gguf_copy_kv(w2, g, i) == FLINTRT_OK);
        for (uint64_t i = 0; i < flt_gguf_n_tensors(g); i++) {
            const flt_gguf_tensor *tt = flt_gguf_tensor_at(g, i);
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)tt->name.n, tt->name.p);
            CHECK(flt_gguf_add_tensor(w2, name, tt->type, tt->n_dims, tt->ne, tt->data, tt->size) ==
                  FLINTRT_OK);
        }
        void *out2 = NULL;
        size_t out2_n = 0;
        CHECK(flt_gguf_write_memory(w2, &out2, &out2_n, &e) == FLINTRT_OK);
        CHECK(out2_n == out_n && memcmp(out, out2, out_n) == 0);
        free(out2);
        flt_gguf_writer_free(w2);

        /* write_file + open from disk (the mmap path) */
        char path[] = "/tmp/flint_test_gguf_XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        if (fd >= 0) {
            fclose(fdopen(fd, "w"));
            CHECKF(flt_gguf_write_file(w, path, &e) == FLINTRT_OK, "%s", e.msg);
            flt_gguf *gf = NULL;
            CHECKF(flt_gguf_open(path, &gf, &e) == FLINTRT_OK, "%s", e.msg);
            CHECK(gf && flt_gguf_file_size(gf) == out_n && flt_gguf_n_tensors(gf) == 3);
            if (gf) {
                const flt_gguf_tensor *tf = flt_gguf_find_tensor(gf, "b.q4");
                CHECK(tf && memcmp(tf->data, t1, 36) == 0 && ((uintptr_t)tf->data % 64) == 0);
            }
            flt_gguf_close(gf);
            remove(path);
        }
        flt_gguf_close(g);
    }
    free(out);

    /* general.alignment of the wrong type or value is refused by the writer */
    CHECK(flt_gguf_set_u32(w, "general.alignment", 48) == FLINTRT_OK);
    CHECK(flt_gguf_write_memory(w, &out, &out_n, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(e.msg, "general.alignment 48") != NULL);
    CHECK(flt_gguf_set_u64(w, "general.alignment", 64) == FLINTRT_OK);
    CHECK(flt_gguf_write_memory(w, &out, &out_n, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(e.msg, "UINT64") != NULL);
    CHECK(flt_gguf_write_file(w, "/nonexistent-dir/x.gguf", &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(flt_gguf_set_u32(w, "general.alignment", 32) == FLINTRT_OK);
    CHECK(flt_gguf_write_file(w, "/nonexistent-dir/x.gguf", &e) == FLINTRT_ERR_IO);
    flt_gguf_writer_free(w);
    flt_gguf_close(x);
    free(xbuf);
}

/* Default alignment (32), an empty writer, files without tensors. */
static void test_alignment_default(void) {
    flt_err e;
    flt_gguf_writer *w = flt_gguf_writer_new();
    void *out = NULL;
    size_t n = 0;
    CHECK(flt_gguf_write_memory(w, &out, &n, &e) == FLINTRT_OK && n == 24);
    flt_gguf *g = NULL;
    CHECK(flt_gguf_open_memory(out, n, &g, &e) == FLINTRT_OK);
    CHECK(g && flt_gguf_alignment(g) == 32 && flt_gguf_n_kv(g) == 0 && flt_gguf_n_tensors(g) == 0);
    CHECK(flt_gguf_data_offset(g) == 32);
    flt_gguf_close(g);
    free(out);

    uint8_t one = 9;
    const int64_t ne[] = {1};
    CHECK(flt_gguf_add_tensor(w, "t", 24, 1, ne, &one, 1) == FLINTRT_OK);
    CHECK(flt_gguf_add_tensor(w, "u", 24, 1, ne, &one, 1) == FLINTRT_OK);
    CHECK(flt_gguf_write_memory(w, &out, &n, &e) == FLINTRT_OK);
    CHECK(flt_gguf_open_memory(out, n, &g, &e) == FLINTRT_OK);
    CHECK(g && flt_gguf_data_offset(g) % 32 == 0 && flt_gguf_tensor_at(g, 1)->offset == 32);
    flt_gguf_close(g);
    free(out);
    flt_gguf_writer_free(w);

    /* NULL handles are harmless */
    flt_gguf_close(NULL);
    flt_gguf_writer_free(NULL);
    CHECK(flt_gguf_n_kv(NULL) == 0 && flt_gguf_find_key(NULL, "x") == -1);
    CHECK(flt_gguf_find_tensor(NULL, "x") == NULL && flt_gguf_tensor_at(NULL, 0) == NULL);
    char buf[8] = "zzz";
    flt_gguf_kv_render(NULL, 0, buf, sizeof buf);
    CHECK(strcmp(buf, "?") == 0);
    CHECK(strcmp(flt_gguf_vtype_name(FLT_GGUF_STRING), "STRING") == 0);
    CHECK(strcmp(flt_gguf_vtype_name((flt_gguf_vtype)99), "?") == 0);
}

/* ---- typed getters: ranges, types, absent keys ---- */

static void test_getters(void) {
    flt_err e;
    flt_gguf_writer *w = flt_gguf_writer_new();
    flt_gguf_set_u32(w, "n", 5000);
    flt_gguf_set_i32(w, "neg", -1);
    flt_gguf_set_f32(w, "f", 1e-5f);
    flt_gguf_set_f32(w, "nan", NAN);
    flt_gguf_set_str(w, "s", "hello", 5);
    flt_gguf_set_bool(w, "b", false);
    flt_gguf_set_u64(w, "big", 1ull << 40);
    const flt_str strs[] = {{"a", 1}, {"b", 1}};
    flt_gguf_set_arr_str(w, "strs", strs, 2);
    const uint32_t u[] = {1, 2, 3};
    flt_gguf_set_arr(w, "u32s", FLT_GGUF_UINT32, u, 3);
    void *out;
    size_t n;
    CHECK(flt_gguf_write_memory(w, &out, &n, &e) == FLINTRT_OK);
    flt_gguf_writer_free(w);
    flt_gguf *g = NULL;
    CHECK(flt_gguf_open_memory(out, n, &g, &e) == FLINTRT_OK);
    if (!g) { free(out); return; }
    uint32_t v = 77;
    CHECK(flt_gguf_get_u32(g, "n", 1, 4096, &v, &e) == FLINTRT_ERR_FORMAT && v == 77);
    CHECKF(strstr(e.msg, "'n' = 5000 is out of range [1, 4096]"), "%s", e.msg);
    CHECK(flt_gguf_get_u32(g, "n", 1, 5000, &v, &e) == FLINTRT_OK && v == 5000);
    CHECK(flt_gguf_get_u32(g, "neg", 0, 100, &v, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "= -1 is out of range"), "%s", e.msg);
    CHECK(flt_gguf_get_u32(g, "big", 0, UINT32_MAX, &v, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_u32(g, "missing", 0, 1, &v, &e) == FLINTRT_ERR_NOT_FOUND);
    CHECKF(strstr(e.msg, "'missing' not found"), "%s", e.msg);
    CHECK(flt_gguf_get_u32_opt(g, "missing", 42, 0, 100, &v, &e) == FLINTRT_OK && v == 42);
    CHECK(flt_gguf_get_u32_opt(g, "n", 42, 0, 100, &v, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_u32(g, "s", 0, 1, &v, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "'s'") && strstr(e.msg, "type STRING, expected an integer"), "%s", e.msg);
    CHECK(flt_gguf_get_u32(g, "f", 0, 1, &v, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_u32(g, "b", 0, 1, &v, &e) == FLINTRT_ERR_FORMAT);
    int64_t i64;
    CHECK(flt_gguf_get_i64(g, "big", 0, 1ll << 40, &i64, &e) == FLINTRT_OK && i64 == 1ll << 40);
    CHECK(flt_gguf_get_i64(g, "neg", 0, 10, &i64, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_i64(g, "strs", 0, 10, &i64, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "ARRAY of STRING, expected an integer"), "%s", e.msg);
    float f;
    CHECK(flt_gguf_get_f32(g, "f", 0, 1, &f, &e) == FLINTRT_OK && f == 1e-5f);
    CHECK(flt_gguf_get_f32(g, "f", 1, 2, &f, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_f32(g, "nan", -1e30f, 1e30f, &f, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_f32(g, "n", 0, 1e9f, &f, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "expected FLOAT32 or FLOAT64"), "%s", e.msg);
    CHECK(flt_gguf_get_f32_opt(g, "zz", 0.5f, 0, 1, &f, &e) == FLINTRT_OK && f == 0.5f);
    CHECK(flt_gguf_get_f32(g, "zz", 0, 1, &f, &e) == FLINTRT_ERR_NOT_FOUND);
    bool b = true;
    CHECK(flt_gguf_get_bool_opt(g, "b", true, &b, &e) == FLINTRT_OK && !b);
    CHECK(flt_gguf_get_bool_opt(g, "zz", true, &b, &e) == FLINTRT_OK && b);
    CHECK(flt_gguf_get_bool_opt(g, "n", true, &b, &e) == FLINTRT_ERR_FORMAT);
    flt_str s;
    CHECK(flt_gguf_get_str(g, "n", &s, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_str(g, "strs", &s, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_str(g, "zz", &s, &e) == FLINTRT_ERR_NOT_FOUND);
    uint64_t cnt;
    const void *data;
    /* type confusion: arrays of strings read as numbers and vice versa */
    CHECK(flt_gguf_get_arr(g, "strs", FLT_GGUF_UINT32, 0, 10, &cnt, &data, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "ARRAY of STRING, expected ARRAY of UINT32"), "%s", e.msg);
    CHECK(flt_gguf_get_arr(g, "u32s", FLT_GGUF_INT32, 0, 10, &cnt, &data, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_arr_str(g, "u32s", 0, 10, &cnt, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_arr(g, "n", FLT_GGUF_UINT32, 0, 10, &cnt, &data, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_arr(g, "u32s", FLT_GGUF_UINT32, 4, 10, &cnt, &data, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "has 3 elements, expected between 4 and 10"), "%s", e.msg);
    CHECK(flt_gguf_get_arr(g, "u32s", FLT_GGUF_UINT32, 0, 2, &cnt, &data, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_arr(g, "zz", FLT_GGUF_UINT32, 0, 2, &cnt, &data, &e) == FLINTRT_ERR_NOT_FOUND);
    CHECK(flt_gguf_arr_str_at(g, "u32s", 0).p == NULL);
    CHECK(flt_gguf_arr_str_at(g, "s", 0).p == NULL);
    CHECK(flt_gguf_arr_str_at(g, "zz", 0).p == NULL);
    CHECK(flt_gguf_arr_str_at(g, "strs", UINT64_MAX).p == NULL);
    CHECK(flt_gguf_key(g, 999).p == NULL && flt_gguf_kv_type(g, 999) == FLT_GGUF_VTYPE_COUNT);
    CHECK(flt_gguf_arr_n(g, 0) == 0 && flt_gguf_arr_type(g, 0) == FLT_GGUF_VTYPE_COUNT);

    /* rendering */
    char buf[128];
    int64_t k = flt_gguf_find_key(g, "s");
    flt_gguf_kv_render(g, (uint64_t)k, buf, sizeof buf);
    CHECKF(strcmp(buf, "\"hello\"") == 0, "%s", buf);
    flt_gguf_kv_render(g, (uint64_t)flt_gguf_find_key(g, "u32s"), buf, sizeof buf);
    CHECKF(strcmp(buf, "[array of 3 UINT32: 1, 2, 3]") == 0, "%s", buf);
    flt_gguf_kv_render(g, (uint64_t)flt_gguf_find_key(g, "strs"), buf, sizeof buf);
    CHECKF(strcmp(buf, "[array of 2 STRING: \"a\", \"b\"]") == 0, "%s", buf);
    flt_gguf_kv_render(g, (uint64_t)flt_gguf_find_key(g, "neg"), buf, sizeof buf);
    CHECK(strcmp(buf, "-1") == 0);
    flt_gguf_kv_render(g, (uint64_t)flt_gguf_find_key(g, "b"), buf, sizeof buf);
    CHECK(strcmp(buf, "false") == 0);
    flt_gguf_kv_render(g, (uint64_t)flt_gguf_find_key(g, "u32s"), buf, 12);
    CHECKF(strlen(buf) == 11 && strcmp(buf + 8, "...") == 0, "%s", buf);
    flt_gguf_kv_render(g, (uint64_t)flt_gguf_find_key(g, "u32s"), buf, 1);
    CHECK(buf[0] == '\0');
    flt_gguf_kv_render(g, 0, NULL, 0); /* no-op */
    flt_gguf_close(g);
    free(out);

    /* escaping of control bytes, invalid UTF-8 and C1 controls; valid UTF-8 kept */
    w = flt_gguf_writer_new();
    flt_gguf_set_str(w, "e", "a\x1b[0m\xff\xc2\x85\xe2\x96\x81\\", 12);
    CHECK(flt_gguf_write_memory(w, &out, &n, &e) == FLINTRT_OK);
    flt_gguf_writer_free(w);
    CHECK(flt_gguf_open_memory(out, n, &g, &e) == FLINTRT_OK);
    flt_gguf_kv_render(g, 0, buf, sizeof buf);
    CHECKF(strcmp(buf, "\"a\\x1b[0m\\xff\\xc2\\x85\xe2\x96\x81\\\\\"") == 0, "%s", buf);
    flt_gguf_close(g);
    free(out);
}

/* ---- real files ---- */

static void check_real(const char *rel, bool has_tensors) {
    const char *path = flt_test_shared(rel);
    flt_err e;
    flt_err_clear(&e);
    flt_gguf *g = NULL;
    flintrt_status st = flt_gguf_open(path, &g, &e);
    CHECKF(st == FLINTRT_OK, "%s: %s", rel, e.msg);
    if (!g) return;
    CHECK(flt_gguf_version(g) == 3 || flt_gguf_version(g) == 2);
    uint64_t n;
    CHECKF(flt_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 1, 1u << 24, &n, &e) == FLINTRT_OK, "%s: %s",
           rel, e.msg);
    for (uint64_t i = 0; i < n; i++) {
        flt_str s = flt_gguf_arr_str_at(g, "tokenizer.ggml.tokens", i);
        if (!s.p) { CHECKF(0, "%s: token %" PRIu64, rel, i); break; }
    }
    flt_str arch;
    CHECK(flt_gguf_get_str(g, "general.architecture", &arch, &e) == FLINTRT_OK && arch.n > 0);
    /* every kv renders; every key is found again by name */
    char buf[256], key[512];
    for (uint64_t i = 0; i < flt_gguf_n_kv(g); i++) {
        flt_gguf_kv_render(g, i, buf, sizeof buf);
        CHECK(strlen(buf) < sizeof buf);
        flt_str k = flt_gguf_key(g, i);
        snprintf(key, sizeof key, "%.*s", (int)k.n, k.p);
        CHECK(flt_gguf_find_key(g, key) == (int64_t)i);
    }
    uint64_t nt = flt_gguf_n_tensors(g);
    CHECK(has_tensors ? nt > 0 : nt == 0);
    /* Tensors tile the data section: sorted by offset, each next one starts at the
     * previous end rounded up to the alignment, and the last ends at the file end
     * (or its padding). This cross-checks the type table's block sizes. */
    uint64_t end = 0, total = 0;
    for (uint64_t i = 0; i < nt; i++) {
        const flt_gguf_tensor *t = flt_gguf_tensor_at(g, i);
        snprintf(key, sizeof key, "%.*s", (int)t->name.n, t->name.p);
        CHECK(flt_gguf_find_tensor(g, key) == t);
        if (t->offset + t->size > end) end = t->offset + t->size;
        total += t->size;
        CHECK((uintptr_t)t->data % flt_gguf_alignment(g) == 0);
    }
    if (nt) {
        uint64_t padded = (end + flt_gguf_alignment(g) - 1) / flt_gguf_alignment(g) * flt_gguf_alignment(g);
        uint64_t fs = flt_gguf_file_size(g) - flt_gguf_data_offset(g);
        CHECKF(fs == end || fs == padded, "%s: data ends at %" PRIu64 ", file data %" PRIu64, rel, end, fs);
        CHECK(total <= fs);
    }
    flt_gguf_close(g);
}

static void test_real_files(void) {
    static const char *models[] = {
        "models/stories260K.gguf", "models/tiny-llama-BF16.gguf", "models/tiny-llama-F16.gguf",
        "models/tiny-llama-F32.gguf", "models/tiny-llama-IQ4_NL.gguf", "models/tiny-llama-IQ4_XS.gguf",
        "models/tiny-llama-Q2_K.gguf", "models/tiny-llama-Q3_K_M.gguf", "models/tiny-llama-Q4_0.gguf",
        "models/tiny-llama-Q4_1.gguf", "models/tiny-llama-Q4_K_M.gguf", "models/tiny-llama-Q4_K_S.gguf",
        "models/tiny-llama-Q5_0.gguf", "models/tiny-llama-Q5_1.gguf", "models/tiny-llama-Q5_K_M.gguf",
        "models/tiny-llama-Q6_K.gguf", "models/tiny-llama-Q8_0.gguf",
    };
    static const char *vocabs[] = {
        "tokenizers/ggml-vocab-bert-bge.gguf", "tokenizers/ggml-vocab-gpt-2.gguf",
        "tokenizers/ggml-vocab-gpt-neox.gguf", "tokenizers/ggml-vocab-llama-spm.gguf",
        "tokenizers/ggml-vocab-phi-3.gguf",
    };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) check_real(models[i], true);
    for (size_t i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) check_real(vocabs[i], false);

    /* known facts of stories260K */
    flt_err e;
    flt_gguf *g = NULL;
    if (flt_gguf_open(flt_test_shared("models/stories260K.gguf"), &g, &e) == FLINTRT_OK) {
        uint32_t v;
        CHECK(flt_gguf_get_u32(g, "llama.block_count", 1, 1024, &v, &e) == FLINTRT_OK && v == 5);
        CHECK(flt_gguf_get_u32(g, "llama.embedding_length", 1, 1 << 20, &v, &e) == FLINTRT_OK && v == 64);
        float eps;
        CHECK(flt_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", 0, 1, &eps, &e) == FLINTRT_OK &&
              eps > 0);
        flt_str s = flt_gguf_arr_str_at(g, "tokenizer.ggml.tokens", 1);
        CHECK(s.n == 3 && memcmp(s.p, "<s>", 3) == 0);
        uint64_t n;
        const void *data;
        CHECK(flt_gguf_get_arr(g, "tokenizer.ggml.scores", FLT_GGUF_FLOAT32, 512, 512, &n, &data, &e) ==
              FLINTRT_OK);
        const flt_gguf_tensor *t = flt_gguf_find_tensor(g, "token_embd.weight");
        CHECK(t && t->type == 0 && t->ne[0] == 64 && t->ne[1] == 512 && t->size == 64 * 512 * 4);
        flt_gguf_close(g);
    } else {
        CHECKF(0, "stories260K: %s", e.msg);
    }

    /* quantized types read with the right sizes */
    if (flt_gguf_open(flt_test_shared("models/tiny-llama-Q4_K_M.gguf"), &g, &e) == FLINTRT_OK) {
        bool seen_q4k = false, seen_q6k = false;
        for (uint64_t i = 0; i < flt_gguf_n_tensors(g); i++) {
            const flt_gguf_tensor *t = flt_gguf_tensor_at(g, i);
            if (t->type == 12) seen_q4k = true;
            if (t->type == 14) seen_q6k = true;
        }
        CHECK(seen_q4k && seen_q6k);
        flt_gguf_close(g);
    }

    /* open errors: missing file, a directory */
    CHECK(flt_gguf_open("/nonexistent/x.gguf", &g, &e) == FLINTRT_ERR_IO && g == NULL);
    CHECKF(strstr(e.msg, "/nonexistent/x.gguf"), "%s", e.msg);
    CHECK(flt_gguf_open("/tmp", &g, &e) == FLINTRT_ERR_IO);
    CHECKF(strstr(e.msg, "not a regular file"), "%s", e.msg);
    CHECK(flt_gguf_open(flt_test_shared("models/PROVENANCE.md"), &g, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "bad magic") && strstr(e.msg, "PROVENANCE.md"), "%s", e.msg);
}

int main(void) {
    test_reader();
    test_types();
    test_round_trip();
    test_alignment_default();
    test_getters();
    test_real_files();
    return flt_test_finish();
}
