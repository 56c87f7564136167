/* A bump allocator: many small allocations, freed all at once. The ONNX model
 * keeps its parsed structs in one (names, nodes, attributes, decoded tensors),
 * and each graph run keeps its per-run memory in another (shapes, op state,
 * segment arenas, outputs of nested graphs). A budget caps the total so a
 * hostile file cannot make the loader allocate more than it allows.
 * Not thread-safe: one owner at a time. */
#ifndef FLT_ONNX_ARENA_H
#define FLT_ONNX_ARENA_H

#include <stddef.h>

#include "core/error.h"

#define FLT_ARENA_ALLOC_ALIGN 64

typedef struct flt_arena_block flt_arena_block;

typedef struct flt_arena {
    flt_arena_block *head;
    size_t used;   /* bytes handed out so far (including alignment) */
    size_t budget; /* 0: unlimited */
} flt_arena;

void flt_arena_init(flt_arena *a, size_t budget);
/* n zeroed bytes, 64-byte aligned; NULL (and an error naming `what`) on
 * overflow, exhaustion or when the budget would be exceeded. n == 0 gives a
 * valid unique pointer. */
void *flt_arena_alloc(flt_arena *a, size_t n, const char *what, flt_err *e);
void *flt_arena_array(flt_arena *a, size_t count, size_t size, const char *what, flt_err *e);
/* A NUL-terminated copy of n bytes. */
char *flt_arena_strndup(flt_arena *a, const void *p, size_t n, flt_err *e);
void flt_arena_free(flt_arena *a);

#endif
