/* Hostile GGUF files: one handcrafted file per failure class of SECURITY.md that
 * applies to GGUF (classes 1-13). Each must fail cleanly with the right status and
 * a message naming the problem (and, for container errors, the byte offset).
 * Every file is built in memory and copied into a buffer of exactly its size, so
 * an over-read is caught by AddressSanitizer builds. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "harness.h"

#include "gguf_builder.h"

/* ---- expectations ---- */

/* Open bytes (copied to an exact-size buffer); expect status and every substring
 * (NULL-terminated list) in the message. */
static void expect_fail_(int line, const uint8_t *p, size_t n, flintrt_status want, ...) {
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    flt_err e;
    flt_err_clear(&e);
    flt_gguf *g = (flt_gguf *)(uintptr_t)1;
    flintrt_status st = flt_gguf_open_memory(copy, n, &g, &e);
    CHECKF(st == want, "line %d: status %d, want %d (%s)", line, (int)st, (int)want, e.msg);
    CHECKF(g == NULL, "line %d: handle not NULL on failure", line);
    if (st == FLINTRT_OK) flt_gguf_close(g);
    CHECKF(e.status == want, "line %d: e.status %d", line, (int)e.status);
    va_list ap;
    va_start(ap, want);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        CHECKF(strstr(e.msg, s) != NULL, "line %d: message lacks '%s': %s", line, s, e.msg);
    va_end(ap);
    free(copy);
}
#define EXPECT_FAIL(b, status, ...) expect_fail_(__LINE__, (b)->p, (b)->n, status, __VA_ARGS__, (const char *)NULL)

static flt_gguf *open_ok(const gb *b, flt_err *e) {
    flt_gguf *g = NULL;
    flintrt_status st = flt_gguf_open_memory(b->p, b->n, &g, e);
    CHECKF(st == FLINTRT_OK, "expected a valid file: %s", e->msg);
    return g;
}

static void reset(gb *b) { b->n = 0; }

/* ---- header ---- */

static void test_header(void) {
    gb b = {0};
    gb_header(&b, 0, 0);
    b.p[3] = 'X';
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "bad magic 'GGUX'", "offset 0");
    b.p[0] = 0x00;
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "bad magic '\\x00GUX'");

    for (uint32_t v = 0; v < 8; v++) {
        if (v == 2 || v == 3) continue;
        reset(&b);
        gb_bytes(&b, "GGUF", 4);
        gb_u32(&b, v);
        gb_u64(&b, 0);
        gb_u64(&b, 0);
        char want[32];
        snprintf(want, sizeof want, "version %u", v);
        EXPECT_FAIL(&b, FLINTRT_ERR_UNSUPPORTED, want, "offset 4");
    }
    /* big-endian file: the version reads byte-swapped */
    reset(&b);
    gb_bytes(&b, "GGUF", 4);
    gb_u8(&b, 0); gb_u8(&b, 0); gb_u8(&b, 0); gb_u8(&b, 3);
    gb_zeros(&b, 16);
    EXPECT_FAIL(&b, FLINTRT_ERR_UNSUPPORTED, "big-endian", "offset 4");

    /* too small to be anything */
    flt_gguf *g;
    flt_err e;
    CHECK(flt_gguf_open_memory(NULL, 0, &g, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "only 0 bytes"));
    CHECK(flt_gguf_open_memory(NULL, 5, &g, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(flt_gguf_open_memory(b.p, 3, &g, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "not a GGUF file"));
    free(b.p);
}

/* ---- class 1: counts larger than the bytes left ---- */

static void test_counts(void) {
    gb b = {0};
    gb_header(&b, 0, 1ull << 60); /* n_kv 2^60 in a 100-byte file: fail before allocating */
    gb_zeros(&b, 76);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "n_kv 1152921504606846976", "offset 16", "76 bytes left");
    reset(&b);
    gb_header(&b, 0, UINT64_MAX); /* count * entry size wraps */
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "n_kv 18446744073709551615", "offset 16");
    reset(&b);
    gb_header(&b, 1ull << 62, 0);
    gb_zeros(&b, 100);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "n_tensors 4611686018427387904", "offset 8");
    reset(&b);
    gb_header(&b, UINT64_MAX / 33 + 1, 0);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "n_tensors", "offset 8");
    /* n_kv fits the minimum size but the entries are not there */
    reset(&b);
    gb_header(&b, 0, 3);
    gb_kv_u32(&b, "a", 1);
    gb_zeros(&b, 40);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "kv 1", "is empty"); /* zero key length */

    /* array counts: fixed-size, string, nested elements */
    const uint32_t et[] = {FLT_GGUF_UINT32, FLT_GGUF_STRING, FLT_GGUF_ARRAY, FLT_GGUF_UINT8};
    const uint64_t cnt[] = {1ull << 40, 1ull << 62, 3, UINT64_MAX};
    for (int k = 0; k < 4; k++) {
        reset(&b);
        gb_header(&b, 0, 1);
        gb_str(&b, "arr");
        gb_u32(&b, FLT_GGUF_ARRAY);
        gb_u32(&b, et[k]);
        gb_u64(&b, cnt[k]);
        gb_zeros(&b, 30);
        char want[64];
        snprintf(want, sizeof want, "array count %" PRIu64, cnt[k]);
        /* the array header starts at 24 + 8 + 3 + 4 = 39; its count at 43 */
        EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, want, "'arr'", "offset 43", "30 bytes are left");
    }
    free(b.p);
}

/* ---- class 2: string lengths ---- */

static void test_strings(void) {
    gb b = {0};
    const uint64_t lens[] = {1ull << 40, UINT64_MAX, UINT64_MAX - 7, 100};
    for (int k = 0; k < 4; k++) {
        /* as a value */
        reset(&b);
        gb_header(&b, 0, 1);
        gb_str(&b, "s");
        gb_u32(&b, FLT_GGUF_STRING);
        gb_u64(&b, lens[k]);
        gb_bytes(&b, "abc", 3);
        EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "string of kv 0 ('s')", "offset 37",
                    lens[k] > FLT_GGUF_MAX_STRING_LEN ? "exceeds the limit" : "exceeds the 3 bytes left");
        /* as a key */
        reset(&b);
        gb_header(&b, 0, 1);
        gb_u64(&b, lens[k]);
        gb_bytes(&b, "abcdefghijklmnop", 16);
        EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "key of kv 0", "offset 24");
        /* as a tensor name */
        reset(&b);
        gb_header(&b, 1, 0);
        gb_u64(&b, lens[k]);
        gb_zeros(&b, 40);
        EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "name of tensor 0", "offset 24");
        /* inside a string array */
        reset(&b);
        gb_header(&b, 0, 1);
        gb_str(&b, "t");
        gb_u32(&b, FLT_GGUF_ARRAY);
        gb_u32(&b, FLT_GGUF_STRING);
        gb_u64(&b, 2);
        gb_str(&b, "ok");
        gb_u64(&b, lens[k]);
        gb_zeros(&b, 8);
        EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "array string of kv 0 ('t')", "offset 59");
    }
    /* keys: empty, with a NUL byte, over the key cap */
    reset(&b);
    gb_header(&b, 0, 1);
    gb_u64(&b, 3);
    gb_bytes(&b, "a\0b", 3);
    gb_u32(&b, FLT_GGUF_UINT8);
    gb_u8(&b, 1);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "key of kv 0", "NUL byte", "offset 24");
    reset(&b);
    gb_header(&b, 0, 1);
    gb_u64(&b, FLT_GGUF_MAX_KEY_LEN + 1);
    gb_zeros(&b, FLT_GGUF_MAX_KEY_LEN + 16);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "key of kv 0", "exceeds the limit of 65535");
    reset(&b);
    gb_header(&b, 1, 0);
    gb_u64(&b, 0);
    gb_zeros(&b, 40);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "name of tensor 0", "is empty");
    free(b.p);
}

/* ---- classes 10 and 5: nesting, unknown value types, bools ---- */

static void nested(gb *b, int depth) {
    gb_header(b, 0, 1);
    gb_str(b, "deep");
    gb_u32(b, FLT_GGUF_ARRAY);
    for (int k = 0; k < depth - 1; k++) {
        gb_u32(b, FLT_GGUF_ARRAY);
        gb_u64(b, 1);
    }
    gb_u32(b, FLT_GGUF_UINT8);
    gb_u64(b, 1);
    gb_u8(b, 7);
}

static void test_values(void) {
    gb b = {0};
    flt_err e;
    nested(&b, FLT_GGUF_MAX_ARRAY_DEPTH);
    flt_gguf *g = open_ok(&b, &e);
    flt_gguf_close(g);
    reset(&b);
    nested(&b, FLT_GGUF_MAX_ARRAY_DEPTH + 1);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "nested deeper than 8", "'deep'", "offset");
    reset(&b);
    nested(&b, 100000); /* would exhaust the stack if recursion were unbounded */
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "nested deeper than 8");

    const uint32_t bad[] = {13, 255, 0x80000000u, UINT32_MAX};
    for (int k = 0; k < 4; k++) {
        reset(&b);
        gb_header(&b, 0, 1);
        gb_str(&b, "k");
        gb_u32(&b, bad[k]);
        gb_u64(&b, 0);
        char want[48];
        snprintf(want, sizeof want, "unknown value type %" PRIu32, bad[k]);
        EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, want, "offset 33", "'k'");
        reset(&b);
        gb_header(&b, 0, 1);
        gb_str(&b, "k");
        gb_u32(&b, FLT_GGUF_ARRAY);
        gb_u32(&b, bad[k]);
        gb_u64(&b, 0);
        snprintf(want, sizeof want, "unknown array element type %" PRIu32, bad[k]);
        EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, want, "offset 37");
    }
    /* bools other than 0/1 (a _Bool holding 2 is undefined behaviour for consumers) */
    reset(&b);
    gb_header(&b, 0, 1);
    gb_str(&b, "b");
    gb_u32(&b, FLT_GGUF_BOOL);
    gb_u8(&b, 2);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "bool value 2", "offset 37");
    reset(&b);
    gb_header(&b, 0, 1);
    gb_str(&b, "b");
    gb_u32(&b, FLT_GGUF_ARRAY);
    gb_u32(&b, FLT_GGUF_BOOL);
    gb_u64(&b, 3);
    gb_u8(&b, 1); gb_u8(&b, 0); gb_u8(&b, 0xff);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "bool element 2", "offset 51");
    free(b.p);
}

/* ---- classes 3-6, 8: tensor infos and data placement ---- */

/* A file with one tensor info plus an optional second, then aligned data. */
static void one_tensor(gb *b, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset,
                       size_t data_bytes) {
    gb_header(b, 1, 0);
    gb_tensor(b, "w", n_dims, ne, type, offset);
    gb_pad(b, 32);
    gb_zeros(b, data_bytes);
}

static void test_tensors(void) {
    gb b = {0};
    flt_err e;
    const uint64_t ne4[] = {32, 2, 1, 1, 1, 1};
    one_tensor(&b, 4, ne4, 0, 0, 256);
    flt_gguf *g = open_ok(&b, &e);
    flt_gguf_close(g);

    reset(&b);
    one_tensor(&b, 5, ne4, 0, 0, 256);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "tensor 0 ('w', info at offset 24)", "n_dims 5 is outside 1..4");
    reset(&b);
    one_tensor(&b, 0, ne4, 0, 0, 256);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "n_dims 0 is outside 1..4", "offset 24");
    reset(&b);
    gb_header(&b, 1, 0);
    gb_str(&b, "w");
    gb_u32(&b, UINT32_MAX);
    gb_zeros(&b, 64);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "n_dims 4294967295");

    const uint64_t zero[] = {32, 0};
    reset(&b);
    one_tensor(&b, 2, zero, 0, 0, 256);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "'w'", "dimension 1 is 0");
    const uint64_t huge_dim[] = {1ull << 63};
    reset(&b);
    one_tensor(&b, 1, huge_dim, 0, 0, 0);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "dimension 0 (9223372036854775808) is too large");
    const uint64_t prod[] = {1ull << 32, 1ull << 32};
    reset(&b);
    one_tensor(&b, 2, prod, 0, 0, 0);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "'w'", "shape product overflows");
    const uint64_t prod3[] = {1ull << 21, 1ull << 21, 1ull << 21, 2};
    reset(&b);
    one_tensor(&b, 4, prod3, 0, 0, 0);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "shape product overflows");
    /* 2^62 elements of F32 fit int64 but their 2^64 bytes do not */
    const uint64_t bytes[] = {1ull << 31, 1ull << 31};
    reset(&b);
    one_tensor(&b, 2, bytes, 0, 0, 0);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "'w'", "byte size of 4611686018427387904 F32 elements overflows");
    /* 2^60 bytes: no overflow, but far beyond the file */
    const uint64_t big[] = {1ull << 29, 1ull << 29};
    reset(&b);
    one_tensor(&b, 2, big, 0, 0, 64);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "'w'", "exceeds file size");

    const uint32_t types[] = {4, 5, 31, 33, 36, 38, 40, 1000, UINT32_MAX};
    for (int k = 0; k < 9; k++) {
        reset(&b);
        one_tensor(&b, 1, ne4, types[k], 0, 256);
        char want[64];
        snprintf(want, sizeof want, "unknown or removed ggml type %" PRIu32 " at offset 45", types[k]);
        EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, want, "'w'");
    }
    const uint64_t odd[] = {31, 2};
    reset(&b);
    one_tensor(&b, 2, odd, 2 /* Q4_0 */, 0, 256);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "first dimension 31 is not a multiple of the block size 32 of type Q4_0");
    const uint64_t k256[] = {128};
    reset(&b);
    one_tensor(&b, 1, k256, 12 /* Q4_K */, 0, 256);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "block size 256 of type Q4_K");

    /* data outside the file: past the end, one byte short, offset near 2^64 */
    reset(&b);
    one_tensor(&b, 1, ne4, 0, 1u << 20, 256);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "tensor 0 ('w')", "data at offset 1048640", "exceeds file size 320");
    reset(&b);
    one_tensor(&b, 1, ne4, 0, 0, 127);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "of 128 bytes exceeds file size 191");
    reset(&b);
    one_tensor(&b, 1, ne4, 0, UINT64_MAX - 31, 256);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "tensor 0 ('w')", "exceeds file size");
    /* misaligned */
    reset(&b);
    one_tensor(&b, 1, ne4, 0, 4, 256);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "data offset 4 is not a multiple of the alignment 32");

    /* overlapping tensors: same offset; partial overlap */
    const uint64_t ne64[] = {64}; /* 256 bytes of F32 */
    reset(&b);
    gb_header(&b, 2, 0);
    gb_tensor(&b, "a", 1, ne64, 0, 0);
    gb_tensor(&b, "b", 1, ne64, 0, 0);
    gb_pad(&b, 32);
    gb_zeros(&b, 512);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "tensors 0 ('a', data offset 0, 256 bytes) and 1 ('b', data offset 0) overlap");
    reset(&b);
    gb_header(&b, 2, 0);
    gb_tensor(&b, "a", 1, ne64, 0, 256);
    gb_tensor(&b, "b", 1, ne64, 0, 32);
    gb_pad(&b, 32);
    gb_zeros(&b, 512);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "('b', data offset 32, 256 bytes) and 0 ('a', data offset 256) overlap");
    /* adjacent is fine, and gaps are fine */
    reset(&b);
    gb_header(&b, 2, 0);
    gb_tensor(&b, "a", 1, ne64, 0, 256);
    gb_tensor(&b, "b", 1, ne64, 0, 0);
    gb_pad(&b, 32);
    gb_zeros(&b, 1024);
    g = open_ok(&b, &e);
    flt_gguf_close(g);

    /* a truncated tensor info section */
    reset(&b);
    gb_header(&b, 2, 0);
    gb_tensor(&b, "a", 1, ne64, 0, 0);
    gb_zeros(&b, 33);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "tensor 1", "is empty");
    free(b.p);
}

/* ---- class 7: alignment ---- */

static void with_alignment(gb *b, uint32_t vtype, uint64_t value) {
    gb_header(b, 0, 1);
    gb_str(b, "general.alignment");
    gb_u32(b, vtype);
    if (vtype == FLT_GGUF_UINT64) gb_u64(b, value);
    else if (vtype == FLT_GGUF_STRING) gb_str(b, "32");
    else if (vtype == FLT_GGUF_UINT16) { gb_u8(b, (uint8_t)value); gb_u8(b, (uint8_t)(value >> 8)); }
    else gb_u32(b, (uint32_t)value);
}

static void test_alignment(void) {
    gb b = {0};
    flt_err e;
    const uint32_t bad[] = {0, 1, 2, 4, 3, 24, 100, 2u << 20, 0x80000000u, UINT32_MAX};
    for (int k = 0; k < 10; k++) {
        reset(&b);
        with_alignment(&b, FLT_GGUF_UINT32, bad[k]);
        char want[64];
        snprintf(want, sizeof want, "general.alignment %" PRIu32 " (kv 0 at offset 24)", bad[k]);
        EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, want, "not a power of two between 8 and 1048576");
    }
    const uint32_t good[] = {8, 16, 64, 4096, 1u << 20};
    for (int k = 0; k < 5; k++) {
        reset(&b);
        with_alignment(&b, FLT_GGUF_UINT32, good[k]);
        flt_gguf *g = open_ok(&b, &e);
        CHECK(flt_gguf_alignment(g) == good[k]);
        flt_gguf_close(g);
    }
    reset(&b);
    with_alignment(&b, FLT_GGUF_UINT64, 32);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "general.alignment", "has type UINT64, expected UINT32", "offset 24");
    reset(&b);
    with_alignment(&b, FLT_GGUF_STRING, 0);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "has type STRING, expected UINT32");
    reset(&b);
    with_alignment(&b, FLT_GGUF_UINT16, 32);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "has type UINT16, expected UINT32");

    /* a tensor offset aligned to 32 but not to the file's 64 */
    const uint64_t ne[] = {8};
    reset(&b);
    gb_header(&b, 1, 1);
    gb_kv_u32(&b, "general.alignment", 64);
    gb_tensor(&b, "t", 1, ne, 0, 32);
    gb_pad(&b, 64);
    gb_zeros(&b, 128);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "data offset 32 is not a multiple of the alignment 64");
    free(b.p);
}

/* ---- class 9: duplicates ---- */

static void test_duplicates(void) {
    gb b = {0};
    gb_header(&b, 0, 3);
    gb_kv_u32(&b, "a.b", 1);
    gb_kv_u32(&b, "c", 2);
    gb_kv_u32(&b, "a.b", 3);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "duplicate key 'a.b'", "key 2 at offset 60", "key 0 at offset 24");
    /* a duplicate general.alignment must not pick one silently */
    reset(&b);
    gb_header(&b, 0, 2);
    gb_kv_u32(&b, "general.alignment", 64);
    gb_kv_u32(&b, "general.alignment", 32);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "duplicate key 'general.alignment'");
    /* prefixes are not duplicates */
    reset(&b);
    gb_header(&b, 0, 2);
    gb_kv_u32(&b, "ab", 1);
    gb_kv_u32(&b, "a", 1);
    flt_err e;
    flt_gguf *g = open_ok(&b, &e);
    CHECK(flt_gguf_find_key(g, "a") == 1 && flt_gguf_find_key(g, "ab") == 0 && flt_gguf_find_key(g, "") == -1);
    flt_gguf_close(g);

    const uint64_t ne[] = {8};
    reset(&b);
    gb_header(&b, 3, 0);
    gb_tensor(&b, "w", 1, ne, 0, 0);
    gb_tensor(&b, "v", 1, ne, 0, 32);
    gb_tensor(&b, "w", 1, ne, 0, 64);
    gb_pad(&b, 32);
    gb_zeros(&b, 96);
    EXPECT_FAIL(&b, FLINTRT_ERR_FORMAT, "duplicate tensor name 'w'", "tensor 2 (info at offset 90)",
                "tensor 0 (info at offset 24)");
    free(b.p);
}

/* ---- classes 11-12: typed getters on hostile metadata ---- */

static void test_type_confusion(void) {
    gb b = {0};
    gb_header(&b, 0, 5);
    gb_str(&b, "tokenizer.ggml.tokens"); /* strings where numbers are expected */
    gb_u32(&b, FLT_GGUF_ARRAY);
    gb_u32(&b, FLT_GGUF_STRING);
    gb_u64(&b, 2);
    gb_str(&b, "a");
    gb_str(&b, "b");
    gb_str(&b, "tokenizer.ggml.scores"); /* ints where floats are expected */
    gb_u32(&b, FLT_GGUF_ARRAY);
    gb_u32(&b, FLT_GGUF_INT32);
    gb_u64(&b, 2);
    gb_u32(&b, 1);
    gb_u32(&b, 2);
    gb_str(&b, "llama.block_count"); /* a string where a count is expected */
    gb_u32(&b, FLT_GGUF_STRING);
    gb_str(&b, "5");
    gb_kv_u32(&b, "llama.context_length", 0xffffffffu); /* a count implying terabytes */
    gb_str(&b, "tokenizer.ggml.bos_token_id");
    gb_u32(&b, FLT_GGUF_INT32);
    gb_u32(&b, (uint32_t)-1);
    flt_err e;
    flt_gguf *g = open_ok(&b, &e);
    if (!g) { free(b.p); return; }
    uint32_t u;
    uint64_t n;
    const void *d;
    CHECK(flt_gguf_get_u32(g, "tokenizer.ggml.tokens", 0, 100, &u, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "'tokenizer.ggml.tokens'") && strstr(e.msg, "ARRAY of STRING"), "%s", e.msg);
    CHECK(flt_gguf_get_arr(g, "tokenizer.ggml.tokens", FLT_GGUF_UINT32, 0, 100, &n, &d, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_get_arr(g, "tokenizer.ggml.scores", FLT_GGUF_FLOAT32, 0, 100, &n, &d, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "ARRAY of INT32, expected ARRAY of FLOAT32"), "%s", e.msg);
    CHECK(flt_gguf_get_arr_str(g, "tokenizer.ggml.scores", 0, 100, &n, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_gguf_arr_str_at(g, "tokenizer.ggml.scores", 0).p == NULL);
    CHECK(flt_gguf_get_u32(g, "llama.block_count", 1, 512, &u, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "type STRING, expected an integer"), "%s", e.msg);
    CHECK(flt_gguf_get_u32(g, "llama.context_length", 1, 1u << 20, &u, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "4294967295 is out of range [1, 1048576]"), "%s", e.msg);
    CHECK(flt_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", 0, 1, &u, &e) == FLINTRT_ERR_FORMAT);
    CHECKF(strstr(e.msg, "-1 is out of range"), "%s", e.msg);
    float f;
    CHECK(flt_gguf_get_f32(g, "tokenizer.ggml.scores", 0, 1, &f, &e) == FLINTRT_ERR_FORMAT);
    flt_str s;
    CHECK(flt_gguf_get_str(g, "tokenizer.ggml.tokens", &s, &e) == FLINTRT_ERR_FORMAT);
    flt_gguf_close(g);
    free(b.p);
}

/* ---- truncation at every byte, and single-byte corruption ---- */

static void *valid_file(size_t *n) {
    flt_gguf_writer *w = flt_gguf_writer_new();
    flt_gguf_set_str(w, "general.architecture", "llama", 5);
    flt_gguf_set_u32(w, "general.alignment", 16);
    flt_gguf_set_f32(w, "f", 0.5f);
    flt_gguf_set_bool(w, "b", true);
    flt_gguf_set_u64(w, "u", 7);
    const flt_str toks[] = {{"<s>", 3}, {"x", 1}, {"", 0}};
    flt_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 3);
    const int32_t ia[] = {1, -2};
    flt_gguf_set_arr(w, "ia", FLT_GGUF_INT32, ia, 2);
    static const float t0[4] = {1, 2, 3, 4};
    static uint8_t t1[34];
    const int64_t ne0[] = {2, 2}, ne1[] = {32};
    flt_gguf_add_tensor(w, "t0", 0, 2, ne0, t0, sizeof t0);
    flt_gguf_add_tensor(w, "t1", 8, 1, ne1, t1, sizeof t1);
    void *out = NULL;
    flt_err e;
    if (flt_gguf_write_memory(w, &out, n, &e) != FLINTRT_OK) abort();
    flt_gguf_writer_free(w);
    return out;
}

static void test_truncation(void) {
    size_t n;
    uint8_t *full = valid_file(&n);
    flt_err e;
    flt_gguf *g = NULL;
    CHECK(flt_gguf_open_memory(full, n, &g, &e) == FLINTRT_OK);
    flt_gguf_close(g);
    int bad = 0, no_offset = 0;
    for (size_t len = 0; len < n; len++) {
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, full, len);
        flt_err_clear(&e);
        g = NULL;
        flintrt_status st = flt_gguf_open_memory(p, len, &g, &e);
        if (st != FLINTRT_ERR_FORMAT || g != NULL || e.msg[0] == '\0') {
            if (bad++ < 5) fprintf(stderr, "prefix %zu: status %d: %s\n", len, (int)st, e.msg);
            flt_gguf_close(g);
        }
        if (len >= 4 && !strstr(e.msg, "offset") && no_offset++ < 5)
            fprintf(stderr, "prefix %zu: no offset in '%s'\n", len, e.msg);
        free(p);
    }
    CHECKF(bad == 0, "%d of %zu prefixes did not fail cleanly", bad, n);
    CHECKF(no_offset == 0, "%d prefixes without an offset in the message", no_offset);

    /* Every byte replaced by a few values: must open or fail cleanly, and a file
     * that opens must answer every accessor safely. */
    const uint8_t vals[] = {0x00, 0x01, 0x07, 0x20, 0x7f, 0x80, 0xff};
    uint8_t *p = malloc(n);
    int crashed_checks = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(p, full, n);
            p[i] = vals[v];
            g = NULL;
            flintrt_status st = flt_gguf_open_memory(p, n, &g, &e);
            if (st == FLINTRT_OK) {
                char buf[64];
                for (uint64_t k = 0; k < flt_gguf_n_kv(g); k++) flt_gguf_kv_render(g, k, buf, sizeof buf);
                for (uint64_t k = 0; k < flt_gguf_n_tensors(g); k++) {
                    const flt_gguf_tensor *t = flt_gguf_tensor_at(g, k);
                    const uint8_t *d = t->data;
                    volatile uint8_t sink = d[0] ^ d[t->size - 1];
                    (void)sink;
                    if ((const uint8_t *)t->data + t->size > p + n) crashed_checks++;
                }
                flt_gguf_close(g);
            } else if (g != NULL || e.msg[0] == '\0') {
                crashed_checks++;
            }
        }
    }
    CHECK(crashed_checks == 0);
    free(p);
    free(full);
}

int main(void) {
    test_header();
    test_counts();
    test_strings();
    test_values();
    test_tensors();
    test_alignment();
    test_duplicates();
    test_type_confusion();
    test_truncation();
    return flt_test_finish();
}
