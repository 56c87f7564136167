/* A tiny protobuf writer for the ONNX tests: ModelProto bytes are written field by
 * field here (not by the library), so a test can build any model, valid or hostile.
 * Field numbers follow onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
 * ValueInfoProto, TypeProto, TensorShapeProto). */
#ifndef FLT_TEST_ONNX_UTIL_H
#define FLT_TEST_ONNX_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One message being written: fixed capacity, so a test needs no frees; writing past it
 * aborts (a test bug, never a silent overrun). */
typedef struct pbw {
    uint8_t b[1 << 16];
    size_t n;
} pbw;

static inline void pb_raw(pbw *w, const void *p, size_t n) {
    if (n > sizeof w->b - w->n) abort();
    if (n) memcpy(w->b + w->n, p, n);
    w->n += n;
}
static inline void varint(pbw *w, uint64_t v) {
    do {
        uint8_t c = (uint8_t)((v & 0x7f) | (v >> 7 ? 0x80 : 0));
        pb_raw(w, &c, 1);
        v >>= 7;
    } while (v);
}
static inline void tag(pbw *w, unsigned field, unsigned wire) { varint(w, (uint64_t)field << 3 | wire); }
static inline void vfield(pbw *w, unsigned field, uint64_t v) { tag(w, field, 0); varint(w, v); }
static inline void bfield(pbw *w, unsigned field, const void *p, size_t n) {
    tag(w, field, 2);
    varint(w, n);
    pb_raw(w, p, n);
}
static inline void sfield(pbw *w, unsigned field, const char *s) { bfield(w, field, s, strlen(s)); }
static inline void mfield(pbw *w, unsigned field, const pbw *m) { bfield(w, field, m->b, m->n); }
/* a fixed32 float field (wire type 5, little-endian host) */
static inline void ffield(pbw *w, unsigned field, float v) { tag(w, field, 5); pb_raw(w, &v, 4); }

/* AttributeProto on a node (NodeProto.attribute = 5): name 1, f 2, i 3, s 4, type 20
 * (1 FLOAT, 2 INT, 3 STRING); the value is written before the type. */
static inline void pb_attr_i(pbw *node, const char *name, int64_t v) {
    pbw a = {.n = 0};
    sfield(&a, 1, name);
    vfield(&a, 3, (uint64_t)v);
    vfield(&a, 20, 2);
    mfield(node, 5, &a);
}
static inline void pb_attr_f(pbw *node, const char *name, float v) {
    pbw a = {.n = 0};
    sfield(&a, 1, name);
    ffield(&a, 2, v);
    vfield(&a, 20, 1);
    mfield(node, 5, &a);
}
static inline void pb_attr_s(pbw *node, const char *name, const char *v) {
    pbw a = {.n = 0};
    sfield(&a, 1, name);
    sfield(&a, 4, v);
    vfield(&a, 20, 3);
    mfield(node, 5, &a);
}

/* A graph input (field 11) or output (12) `name` of TensorProto data type `elem`
 * (1 float, 7 int64, ...) with dims[0..ndim); ndim < 0: no shape (any shape binds). */
static inline void pb_value_info(pbw *g, unsigned field, const char *name, int elem, int ndim, const int64_t *dims) {
    pbw vi = {.n = 0}, tp = {.n = 0}, tt = {.n = 0}, sh = {.n = 0};
    for (int i = 0; i < ndim; i++) {
        pbw d = {.n = 0};
        vfield(&d, 1, (uint64_t)dims[i]);
        mfield(&sh, 1, &d);
    }
    vfield(&tt, 1, (uint64_t)elem);
    if (ndim >= 0) mfield(&tt, 2, &sh);
    mfield(&tp, 1, &tt);
    sfield(&vi, 1, name);
    mfield(&vi, 2, &tp);
    mfield(g, field, &vi);
}

/* *model = ModelProto{ir_version 8, opset_import {domain "", version opset}, graph} */
static inline void pb_model(pbw *model, int opset, const pbw *graph) {
    pbw op = {.n = 0};
    sfield(&op, 1, "");
    vfield(&op, 2, (uint64_t)opset);
    model->n = 0;
    vfield(model, 1, 8);
    mfield(model, 8, &op);
    mfield(model, 7, graph);
}

#endif
