/* The bump allocator (see arena.h). */
#include "onnx/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"

#define BLOCK_BYTES ((size_t)64 << 10)

struct flt_arena_block {
    flt_arena_block *next;
    size_t cap, used;
    unsigned char *mem; /* 64-byte aligned */
};

void flt_arena_init(flt_arena *a, size_t budget) {
    a->head = NULL;
    a->used = 0;
    a->budget = budget;
}

void *flt_arena_alloc(flt_arena *a, size_t n, const char *what, flt_err *e) {
    size_t need;
    if (!flt_add_size(n, FLT_ARENA_ALLOC_ALIGN - 1, &need)) goto too_big;
    need &= ~(size_t)(FLT_ARENA_ALLOC_ALIGN - 1);
    if (need == 0) need = FLT_ARENA_ALLOC_ALIGN;
    if (a->budget && (need > a->budget || a->used > a->budget - need)) {
        flt_fail(e, FLINTRT_ERR_LIMIT, "%s: %zu bytes would exceed the memory budget of %zu bytes", what, n, a->budget);
        return NULL;
    }
    flt_arena_block *b = a->head;
    if (!b || b->cap - b->used < need) {
        size_t cap = need > BLOCK_BYTES ? need : BLOCK_BYTES;
        b = malloc(sizeof *b);
        void *mem = NULL;
        if (!b || posix_memalign(&mem, FLT_ARENA_ALLOC_ALIGN, cap) != 0) {
            free(b);
            flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "%s: %zu bytes", what, n);
            return NULL;
        }
        b->mem = mem;
        b->cap = cap;
        b->used = 0;
        if (a->head && cap == need) { /* a big one-off: keep the current block for small ones */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->mem + b->used;
    b->used += need;
    a->used += need;
    memset(p, 0, need);
    return p;
too_big:
    flt_fail(e, FLINTRT_ERR_LIMIT, "%s: %zu bytes", what, n);
    return NULL;
}

void *flt_arena_array(flt_arena *a, size_t count, size_t size, const char *what, flt_err *e) {
    size_t n;
    if (!flt_mul_size(count, size, &n)) {
        flt_fail(e, FLINTRT_ERR_LIMIT, "%s: %zu elements of %zu bytes overflow", what, count, size);
        return NULL;
    }
    return flt_arena_alloc(a, n, what, e);
}

char *flt_arena_strndup(flt_arena *a, const void *p, size_t n, flt_err *e) {
    char *s = flt_arena_alloc(a, n + 1 > n ? n + 1 : n, "string", e);
    if (!s) return NULL;
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

void flt_arena_free(flt_arena *a) {
    flt_arena_block *b = a->head;
    while (b) {
        flt_arena_block *nx = b->next;
        free(b->mem);
        free(b);
        b = nx;
    }
    a->head = NULL;
    a->used = 0;
}
