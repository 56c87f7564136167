/* libFuzzer harness for the .npy reader: parse, touch the data range, and
 * check that a header written for the parsed dtype/shape parses back the same.
 * Convention (see tests/test_fuzz_replay.c): body flt_fuzz_npy(), helpers fz_npy_. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/npy.h"

int flt_fuzz_npy(const uint8_t *data, size_t size);

static void fz_npy_require(int ok) {
    if (!ok) __builtin_trap();
}

int flt_fuzz_npy(const uint8_t *data, size_t size) {
    flt_err e;
    flt_err_clear(&e);
    flt_npy a;
    if (flt_npy_parse(data, size, &a, &e) != FLINTRT_OK) {
        fz_npy_require(e.msg[0] != '\0');
        return 0;
    }
    const uint8_t *p = a.data;
    fz_npy_require(p >= data && p + a.nbytes == data + size);
    if (a.nbytes) {
        volatile uint8_t c = p[0] ^ p[a.nbytes - 1];
        (void)c;
    }
    char hdr[1024];
    size_t hl;
    fz_npy_require(flt_npy_header(a.dtype, a.ndim, a.dims, hdr, sizeof hdr, &hl, &e) == FLINTRT_OK);
    uint8_t *buf = malloc(hl + a.nbytes);
    if (!buf) return 0;
    memcpy(buf, hdr, hl);
    if (a.nbytes) memcpy(buf + hl, a.data, a.nbytes);
    flt_npy b;
    fz_npy_require(flt_npy_parse(buf, hl + a.nbytes, &b, &e) == FLINTRT_OK);
    fz_npy_require(b.dtype == a.dtype && b.ndim == a.ndim && b.nbytes == a.nbytes);
    for (int i = 0; i < a.ndim; i++) fz_npy_require(b.dims[i] == a.dims[i]);
    free(buf);
    return 0;
}

#ifndef FLT_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return flt_fuzz_npy(data, size); }
#endif
