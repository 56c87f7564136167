/* The operator registry (see registry.h). */
#include "onnx/registry.h"

#include <string.h>

typedef struct family {
    const flt_onnx_op *ops;
    const int *count;
} family;

#define FLT_ONNX_FAMILY_ROW(name) {flt_onnx_ops_##name, &flt_onnx_ops_##name##_count},
static const family k_families[] = {FLT_ONNX_FAMILIES(FLT_ONNX_FAMILY_ROW)};

static bool same_domain(const char *a, const char *b) {
    if (!strcmp(a, "ai.onnx")) a = "";
    if (!strcmp(b, "ai.onnx")) b = "";
    return !strcmp(a, b);
}

const flt_onnx_op *flt_onnx_find_op(const char *domain, const char *op_type, int64_t version, bool *other_version) {
    if (other_version) *other_version = false;
    for (size_t f = 0; f < sizeof k_families / sizeof k_families[0]; f++) {
        for (int i = 0; i < *k_families[f].count; i++) {
            const flt_onnx_op *op = &k_families[f].ops[i];
            if (strcmp(op->op_type, op_type) || !same_domain(op->domain, domain)) continue;
            if (version >= op->since && (op->until == 0 || version <= op->until)) return op;
            if (other_version) *other_version = true;
        }
    }
    return NULL;
}

void flt_onnx_each_op(void (*fn)(const flt_onnx_op *op, void *user), void *user) {
    for (size_t f = 0; f < sizeof k_families / sizeof k_families[0]; f++)
        for (int i = 0; i < *k_families[f].count; i++) fn(&k_families[f].ops[i], user);
}
