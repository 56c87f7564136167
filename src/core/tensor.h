/* Tensors: a dtype, a shape in row-major order (shape[0] outermost, as numpy and
 * ONNX), byte strides, and a pointer to data the tensor does not own (weights in
 * a mapping, a planned arena slot, a KV cache). Quantized types are blocked along
 * the innermost dimension, which must then be contiguous. */
#ifndef FLT_CORE_TENSOR_H
#define FLT_CORE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "core/error.h"

#define FLT_MAX_DIMS 6

typedef struct flt_tensor {
    flt_dtype dtype;
    int ndim;
    int64_t shape[FLT_MAX_DIMS];
    int64_t stride[FLT_MAX_DIMS]; /* bytes; for quantized types the innermost is per block */
    void *data;
    /* Weights only: the same matrix repacked at load for one kernel set
     * (cpu/packed.h), and that set. NULL for everything else; views and
     * reshapes drop it (flt_tensor_init zeroes the struct). */
    const void *packed;
    const void *packed_for;
} flt_tensor;

/* Describe a contiguous tensor of the given shape (no data yet). Fails on a bad
 * dtype, a negative dimension, a quantized row not made of whole blocks, or a
 * size overflow. */
flintrt_status flt_tensor_init(flt_tensor *t, flt_dtype dtype, int ndim, const int64_t *shape,
                               void *data, flt_err *e);

int64_t flt_tensor_nelem(const flt_tensor *t);
/* Bytes spanned by a contiguous tensor (checked at init, so cannot overflow). */
size_t flt_tensor_nbytes(const flt_tensor *t);
/* Elements in one row (the innermost dimension) and rows (product of the rest). */
int64_t flt_tensor_row_len(const flt_tensor *t);
int64_t flt_tensor_nrows(const flt_tensor *t);
size_t flt_tensor_row_bytes(const flt_tensor *t);
bool flt_tensor_is_contiguous(const flt_tensor *t);
bool flt_tensor_same_shape(const flt_tensor *a, const flt_tensor *b);

/* A view of rows [r0, r0 + n) of a tensor seen as 2-D (nrows × row_len). */
flintrt_status flt_tensor_view_rows(const flt_tensor *t, int64_t r0, int64_t n, flt_tensor *out,
                                    flt_err *e);
/* The same bytes under another shape with the same element count (contiguous only). */
flintrt_status flt_tensor_reshape(const flt_tensor *t, int ndim, const int64_t *shape,
                                  flt_tensor *out, flt_err *e);

/* "F32[4, 256]" into buf. */
void flt_tensor_describe(const flt_tensor *t, char *buf, size_t cap);

#endif
