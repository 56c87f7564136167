/* Helpers shared by the trust tests (test_trust.c, test_onnx_trust.c): scratch paths,
 * write a file, read a text file, sign a file with a minisign secret key (tests/data/trust). */
#ifndef FLT_TEST_TRUST_UTIL_H
#define FLT_TEST_TRUST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "trust/minisign.h"

#ifdef FLT_HAVE_SODIUM
static const int have_sodium = 1;
#else
static const int have_sodium = 0;
#endif

/* the test's scratch folder (the test makes it); tmp_path(name) is tmpdir/name in
 * one of 8 rotating buffers, so several paths can be live at once */
static char tmpdir[256];

static inline const char *tmp_path(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static inline int write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* the whole file, NUL-terminated (*n excludes the NUL); NULL on error */
static inline char *read_text(const char *path, size_t *n) {
    char *p = flt_test_read_file(path, n);
    if (!p) return NULL;
    char *s = realloc(p, *n + 1);
    if (!s) { free(p); return NULL; }
    s[*n] = '\0';
    return s;
}

/* writes path.minisig: a signature of path by the secret key file seckey (no password) */
static inline void sign_file(const char *path, const char *seckey, const char *comment) {
    size_t n, fn;
    char *skt = read_text(seckey, &n);
    flt_minisign_seckey sk;
    flt_err e;
    flt_err_clear(&e);
    CHECKF(skt && flt_minisign_seckey_parse(skt, n, NULL, &sk, &e) == FLINTRT_OK, "%s", e.msg);
    free(skt);
    void *data = flt_test_read_file(path, &fn);
    uint8_t ph[64];
    char *sig = NULL;
    CHECK(data && flt_minisign_prehash(data, fn, ph, &e) == FLINTRT_OK);
    CHECK(flt_minisign_sign(&sk, ph, comment, &sig, &e) == FLINTRT_OK);
    char sp[600];
    snprintf(sp, sizeof sp, "%s.minisig", path);
    CHECK(sig && write_file(sp, sig, strlen(sig)) == 0);
    free(sig);
    free(data);
}

#endif
