/* NumPy .npy files (format versions 1-3): a magic string, a little header
 * dict ({'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }) and the
 * raw elements. The reader is strict and bounds-checked (hostile input: the
 * header length, the dict syntax, the dtype, the shape product and the data
 * size are all checked); little-endian and byte types only; Fortran order
 * refused. No allocation; thread-safe. */
#ifndef FLT_FORMATS_NPY_H
#define FLT_FORMATS_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "core/error.h"

#define FLT_NPY_MAX_DIMS 8

typedef struct flt_npy {
    flt_dtype dtype;
    int ndim;                        /* 0: a scalar */
    int64_t dims[FLT_NPY_MAX_DIMS];
    const void *data;                /* inside the parsed buffer; may be unaligned */
    size_t nbytes;
} flt_npy;

/* Parse a whole .npy file in buf. The data must fill the rest of the file exactly. */
flintrt_status flt_npy_parse(const void *buf, size_t size, flt_npy *out, flt_err *e);

/* Write the header (version 1.0, padded to 64 bytes) for a C-order array into
 * buf; *len is its length. FLINTRT_ERR_UNSUPPORTED for dtypes .npy has no code
 * for (bfloat16, quantized). */
flintrt_status flt_npy_header(flt_dtype dtype, int ndim, const int64_t *dims, char *buf, size_t cap, size_t *len,
                              flt_err *e);

#endif
