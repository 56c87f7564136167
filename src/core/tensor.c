#include "core/tensor.h"

#include <stdio.h>
#include <string.h>

#include "core/checked.h"

flintrt_status flt_tensor_init(flt_tensor *t, flt_dtype dtype, int ndim, const int64_t *shape,
                               void *data, flt_err *e) {
    const flt_dtype_traits *tr = flt_dtype_info(dtype);
    if (!tr) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "tensor: unknown dtype %d", (int)dtype);
    if (ndim < 1 || ndim > FLT_MAX_DIMS)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "tensor: %d dimensions (1..%d allowed)",
                        ndim, FLT_MAX_DIMS);
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "tensor: negative dimension %lld",
                            (long long)shape[i]);
        t->shape[i] = shape[i];
    }
    size_t row;
    if (!flt_dtype_row_bytes(dtype, shape[ndim - 1], &row))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT,
                        "tensor: row of %lld %s elements is not a whole number of %u-element blocks",
                        (long long)shape[ndim - 1], tr->name, tr->block_size);
    uint64_t stride = tr->block_bytes;
    t->stride[ndim - 1] = (int64_t)stride;
    uint64_t span = row;
    for (int i = ndim - 2; i >= 0; i--) {
        t->stride[i] = (int64_t)span;
        if (!flt_mul_u64(span, (uint64_t)shape[i], &span) || span > (uint64_t)INT64_MAX)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "tensor: byte size overflows");
    }
    t->data = data;
    return FLINTRT_OK;
}

int64_t flt_tensor_nelem(const flt_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

int64_t flt_tensor_row_len(const flt_tensor *t) { return t->shape[t->ndim - 1]; }

int64_t flt_tensor_nrows(const flt_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim - 1; i++) n *= t->shape[i];
    return n;
}

size_t flt_tensor_row_bytes(const flt_tensor *t) {
    size_t b = 0;
    flt_dtype_row_bytes(t->dtype, flt_tensor_row_len(t), &b);
    return b;
}

size_t flt_tensor_nbytes(const flt_tensor *t) {
    return flt_tensor_row_bytes(t) * (size_t)flt_tensor_nrows(t);
}

bool flt_tensor_is_contiguous(const flt_tensor *t) {
    const flt_dtype_traits *tr = flt_dtype_info(t->dtype);
    if (!tr || t->stride[t->ndim - 1] != (int64_t)tr->block_bytes) return false;
    int64_t span = (int64_t)flt_tensor_row_bytes(t);
    for (int i = t->ndim - 2; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != span) return false;
        span *= t->shape[i];
    }
    return true;
}

bool flt_tensor_same_shape(const flt_tensor *a, const flt_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

flintrt_status flt_tensor_view_rows(const flt_tensor *t, int64_t r0, int64_t n, flt_tensor *out,
                                    flt_err *e) {
    int64_t rows = flt_tensor_nrows(t);
    if (!flt_tensor_is_contiguous(t))
        return flt_fail(e, FLINTRT_ERR_INTERNAL, "tensor: row view of a non-contiguous tensor");
    if (r0 < 0 || n < 0 || r0 > rows || n > rows - r0)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "tensor: rows [%lld, +%lld) outside %lld rows",
                        (long long)r0, (long long)n, (long long)rows);
    int64_t shape[2] = {n, flt_tensor_row_len(t)};
    char *base = t->data ? (char *)t->data + (size_t)r0 * flt_tensor_row_bytes(t) : NULL;
    return flt_tensor_init(out, t->dtype, 2, shape, base, e);
}

flintrt_status flt_tensor_reshape(const flt_tensor *t, int ndim, const int64_t *shape,
                                  flt_tensor *out, flt_err *e) {
    if (!flt_tensor_is_contiguous(t))
        return flt_fail(e, FLINTRT_ERR_INTERNAL, "tensor: reshape of a non-contiguous tensor");
    flt_tensor r;
    flintrt_status st = flt_tensor_init(&r, t->dtype, ndim, shape, t->data, e);
    if (st) return st;
    if (flt_tensor_nelem(&r) != flt_tensor_nelem(t))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "tensor: reshape changes element count");
    *out = r;
    return FLINTRT_OK;
}

void flt_tensor_describe(const flt_tensor *t, char *buf, size_t cap) {
    const flt_dtype_traits *tr = flt_dtype_info(t->dtype);
    int w = snprintf(buf, cap, "%s[", tr ? tr->name : "?");
    for (int i = 0; i < t->ndim && w >= 0 && (size_t)w < cap; i++)
        w += snprintf(buf + w, cap - (size_t)w, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (w >= 0 && (size_t)w < cap) snprintf(buf + w, cap - (size_t)w, "]");
}
