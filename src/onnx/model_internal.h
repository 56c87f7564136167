/* Shared between the ONNX loader's files (model.c, external.c, fold.c). */
#ifndef FLT_ONNX_MODEL_INTERNAL_H
#define FLT_ONNX_MODEL_INTERNAL_H

#include "onnx/model.h"

/* Resolve external data for tensor `tensor` (see external.c). need: the bytes
 * its shape requires. */
flintrt_status flt_onnx_external(flt_onnx_model *m, const char *tensor, const flt_bytes *location, bool has_offset,
                                 uint64_t offset, bool has_length, uint64_t length, size_t need, const void **data,
                                 flt_err *e);

/* Evaluate Constant nodes and all-constant subexpressions at load (fold.c / exec.c). */
flintrt_status flt_onnx_fold_constants(flt_onnx_model *m, flt_err *e);

#endif
