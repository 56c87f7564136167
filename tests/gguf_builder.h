/* A tiny builder of handcrafted GGUF bytes for the tests: every field is written
 * explicitly, so a test can put any lie it wants into a file. */
#ifndef FLT_TEST_GGUF_BUILDER_H
#define FLT_TEST_GGUF_BUILDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"


typedef struct gb {
    uint8_t *p;
    size_t n, cap;
} gb;

static inline void gb_bytes(gb *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}
static inline void gb_u8(gb *b, uint8_t v) { gb_bytes(b, &v, 1); }
static inline void gb_u16(gb *b, uint16_t v) { gb_u8(b, (uint8_t)v); gb_u8(b, (uint8_t)(v >> 8)); }
static inline void gb_u32(gb *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    gb_bytes(b, x, 4);
}
static inline void gb_u64(gb *b, uint64_t v) { gb_u32(b, (uint32_t)v); gb_u32(b, (uint32_t)(v >> 32)); }
static inline void gb_str(gb *b, const char *s) { gb_u64(b, strlen(s)); gb_bytes(b, s, strlen(s)); }
static inline void gb_zeros(gb *b, size_t n) { while (n--) gb_u8(b, 0); }
static inline void gb_header(gb *b, uint64_t n_tensors, uint64_t n_kv) {
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, 3);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}
static inline void gb_kv_u32(gb *b, const char *key, uint32_t v) {
    gb_str(b, key);
    gb_u32(b, FLT_GGUF_UINT32);
    gb_u32(b, v);
}
/* Tensor info with up to 4 dims given; n_dims may exceed the given count. */
static inline void gb_tensor(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                      uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t j = 0; j < n_dims; j++) gb_u64(b, ne[j]);
    gb_u32(b, type);
    gb_u64(b, offset);
}
static inline void gb_pad(gb *b, size_t align) { while (b->n % align) gb_u8(b, 0); }

#endif
