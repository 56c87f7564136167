/* libFuzzer harness for the SequenceProto/OptionalProto reader (the backend
 * test data of sequence and optional values): parse as both kinds; a parsed
 * value must pass the structural check and survive a deep copy, and every
 * tensor byte is touched. Convention (see tests/test_fuzz_replay.c): body
 * flt_fuzz_onnxvalue(), helpers fz_ov_. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/model.h"
#include "onnx/op.h"

int flt_fuzz_onnxvalue(const uint8_t *data, size_t size);

static void fz_ov_require(int ok) {
    if (!ok) __builtin_trap();
}

static void fz_ov_touch(const flt_onnx_tinfo *ti, const void *v) {
    if (ti->kind == FLT_ONNX_KIND_TENSOR) {
        size_t b = 0;
        fz_ov_require(flt_onnx_tinfo_bytes(ti, &b));
        if (b) {
            volatile uint8_t c = ((const uint8_t *)v)[0] ^ ((const uint8_t *)v)[b - 1];
            (void)c;
        }
        return;
    }
    const flt_onnx_seq *s = v;
    for (int64_t i = 0; i < s->n; i++) fz_ov_touch(&s->ti[i], s->data[i]);
}

int flt_fuzz_onnxvalue(const uint8_t *data, size_t size) {
    for (int kind = FLT_ONNX_KIND_SEQUENCE; kind <= FLT_ONNX_KIND_OPTIONAL; kind++) {
        flt_arena a;
        flt_arena_init(&a, (size_t)64 << 20);
        flt_err e;
        flt_err_clear(&e);
        flt_onnx_tinfo ti;
        const void *v;
        const char *name;
        if (flt_onnx_parse_value(data, size, kind, &a, &ti, &v, &name, &e) != FLINTRT_OK) {
            fz_ov_require(e.msg[0] != '\0');
        } else {
            fz_ov_require(flt_onnx_value_check(&ti, v, 0, &e) == FLINTRT_OK);
            fz_ov_touch(&ti, v);
            const void *copy;
            if (flt_onnx_value_copy(&a, &ti, v, &copy, &e) == FLINTRT_OK) fz_ov_touch(&ti, copy);
        }
        flt_arena_free(&a);
    }
    return 0;
}

#ifndef FLT_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return flt_fuzz_onnxvalue(data, size); }
#endif
