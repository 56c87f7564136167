#include "core/checked.h"

#include <stdlib.h>

void *flt_malloc_array(size_t n, size_t sz) {
    size_t bytes;
    if (!flt_mul_size(n, sz, &bytes)) return NULL;
    return malloc(bytes ? bytes : 1);
}

void *flt_calloc_array(size_t n, size_t sz) {
    size_t bytes;
    if (!flt_mul_size(n, sz, &bytes)) return NULL;
    return calloc(n ? n : 1, sz ? sz : 1);
}
