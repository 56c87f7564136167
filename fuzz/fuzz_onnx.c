/* libFuzzer harness for the ONNX loader: parse the input as a model from
 * memory (no folder, so external data is refused), then, when it loads and
 * every operator is known, bind zero-filled inputs of small concrete shapes
 * (symbolic dims = 2) and run it once. Also parses the input as a bare
 * TensorProto (the backend tests' .pb files).
 *
 * Convention (see tests/test_fuzz_replay.c): the body is flt_fuzz_onnx();
 * helpers are static and prefixed fz_onnx_. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/exec.h"
#include "onnx/model.h"

int flt_fuzz_onnx(const uint8_t *data, size_t size);

static void fz_onnx_require(int ok) {
    if (!ok) __builtin_trap();
}

static void fz_onnx_run(const flt_onnx_model *m) {
    flt_err e;
    flt_err_clear(&e);
    flt_onnx_session *s = NULL;
    if (flt_onnx_session_new(m, 1, &s, &e)) return;
    void *bufs[64] = {0};
    int n = flt_onnx_session_n_inputs(m);
    bool ok = n <= 64;
    for (int i = 0; ok && i < n; i++) {
        const flt_onnx_value *v = &m->graph->values[flt_onnx_session_input_id(m, i)];
        flt_onnx_tinfo t = {.dtype = FLT_F32, .ndim = v->ndim < 0 ? 1 : v->ndim};
        if (v->has_type && !flt_onnx_dtype(v->elem_type, &t.dtype)) { ok = false; break; }
        size_t b = 0;
        for (int d = 0; d < t.ndim; d++) t.dims[d] = v->ndim < 0 || v->dims[d].value < 0 ? 2 : v->dims[d].value;
        if (!flt_onnx_tinfo_bytes(&t, &b) || b > (1u << 20)) { ok = false; break; }
        bufs[i] = calloc(1, b ? b : 1);
        if (!bufs[i] || flt_onnx_session_bind(s, flt_onnx_session_input_id(m, i), &t, bufs[i], &e)) ok = false;
    }
    if (ok && flt_onnx_session_run(s, &e) == FLINTRT_OK) {
        for (int o = 0; o < m->graph->n_outputs; o++) {
            const flt_onnx_tinfo *t;
            const void *d;
            flt_onnx_session_output(s, o, &t, &d);
            fz_onnx_require(t && d);
            size_t b = 0;
            fz_onnx_require(flt_onnx_tinfo_bytes(t, &b));
            if (b) {
                volatile uint8_t c = ((const uint8_t *)d)[0] ^ ((const uint8_t *)d)[b - 1];
                (void)c;
            }
        }
    } else {
        fz_onnx_require(e.msg[0] != '\0' || !ok);
    }
    for (int i = 0; i < 64; i++) free(bufs[i]);
    flt_onnx_session_free(s);
}

int flt_fuzz_onnx(const uint8_t *data, size_t size) {
    flt_err e;
    flt_err_clear(&e);
    flt_onnx_model *m = NULL;
    if (flt_onnx_load_memory(data, size, NULL, &m, &e) != FLINTRT_OK) {
        fz_onnx_require(m == NULL && e.msg[0] != '\0' && memchr(e.msg, 0, sizeof e.msg) != NULL);
    } else {
        fz_onnx_require(m->graph != NULL);
        for (int i = 0; i < m->graph->n_values; i++) {
            const flt_onnx_tensor *t = m->graph->values[i].constant;
            if (t && t->nbytes) {
                volatile uint8_t c = ((const uint8_t *)t->data)[0] ^ ((const uint8_t *)t->data)[t->nbytes - 1];
                (void)c;
            }
        }
        /* running costs time per input: only for small models */
        if (size < 4096 && m->graph->n_nodes < 64) fz_onnx_run(m);
        flt_onnx_free(m);
    }
    flt_arena a;
    flt_arena_init(&a, (size_t)64 << 20);
    flt_onnx_tensor t;
    if (flt_onnx_parse_tensor(data, size, &a, &t, &e) == FLINTRT_OK && t.nbytes) {
        volatile uint8_t c = ((const uint8_t *)t.data)[0] ^ ((const uint8_t *)t.data)[t.nbytes - 1];
        (void)c;
    }
    flt_arena_free(&a);
    return 0;
}

#ifndef FLT_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return flt_fuzz_onnx(data, size); }
#endif
