/* Overflow-checked size arithmetic. Every size derived from file or caller data
 * goes through these: they return false on overflow and leave *out unspecified. */
#ifndef FLT_CORE_CHECKED_H
#define FLT_CORE_CHECKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool flt_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool flt_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline bool flt_mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool flt_add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline bool flt_mul_i64(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
/* Round x up to a multiple of align (a power of two). */
static inline bool flt_align_up_u64(uint64_t x, uint64_t align, uint64_t *out) {
    uint64_t t;
    if (!flt_add_u64(x, align - 1, &t)) return false;
    *out = t & ~(align - 1);
    return true;
}

/* calloc/malloc of n elements of size sz, NULL on overflow or exhaustion. */
void *flt_malloc_array(size_t n, size_t sz);
void *flt_calloc_array(size_t n, size_t sz);

#endif
