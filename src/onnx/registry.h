/* The ONNX operator registry: every family's table, looked up by
 * (domain, op_type, opset version). See onnx/op.h for how to add an operator.
 *
 * To add a FAMILY: write src/onnx/ops_<name>.c defining
 *     const flt_onnx_op flt_onnx_ops_<name>[];  const int flt_onnx_ops_<name>_count;
 * and add X(<name>) to the list below (one token; nothing else to edit). */
#ifndef FLT_ONNX_REGISTRY_H
#define FLT_ONNX_REGISTRY_H

#include "onnx/op.h"

#define FLT_ONNX_FAMILIES(X) \
    X(tensor)                \
    X(elementwise)           \
    X(unary)                 \
    X(reduce)                \
    X(matmul)                \
    X(resize)                \
    X(detect)                \
    X(signal)                \
    X(text)                  \
    X(random)                \
    X(sequence)              \
    X(rnn)                   \
    X(quant)                 \
    X(scan)                  \
    X(training)              \
    X(control)                \
    X(loss)                   \
    X(layernorm)              \
    X(linalg)                 \
    X(index)                  \
    X(misc)                   \
    X(conv)                   \
    X(pool)                   \
    X(nn_norm)                \
    X(nn_layout)

#define FLT_ONNX_DECLARE_FAMILY(name) \
    extern const flt_onnx_op flt_onnx_ops_##name[]; \
    extern const int flt_onnx_ops_##name##_count;
FLT_ONNX_FAMILIES(FLT_ONNX_DECLARE_FAMILY)

/* The row implementing op_type of domain ("" = ai.onnx) at opset version, or
 * NULL. If the op exists but not for that version, *other_version (if non-NULL)
 * gets true. Pure, thread-safe. */
const flt_onnx_op *flt_onnx_find_op(const char *domain, const char *op_type, int64_t version, bool *other_version);

/* Calls fn for every registered row (inspect, docs). */
void flt_onnx_each_op(void (*fn)(const flt_onnx_op *op, void *user), void *user);

#endif
