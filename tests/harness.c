#include "harness.h"

#include <string.h>

int flt_test_passed, flt_test_failed;

int flt_test_finish(void) {
    printf("%d passed, %d failed\n", flt_test_passed, flt_test_failed);
    return flt_test_failed ? 1 : 0;
}

static const char *join(char *buf, size_t n, const char *env, const char *dflt, const char *rel) {
    const char *base = getenv(env);
    if (!base || !*base) base = dflt;
    snprintf(buf, n, "%s/%s", base, rel);
    return buf;
}

const char *flt_test_shared(const char *rel) {
    static char buf[4096];
    return join(buf, sizeof buf, "FLINT_SHARED", "../shared", rel);
}

const char *flt_test_data(const char *rel) {
    static char buf[4096];
    return join(buf, sizeof buf, "FLINT_TESTDATA", "tests/data", rel);
}

void *flt_test_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0) { fclose(f); return NULL; }
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (!buf) { fclose(f); return NULL; }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); fclose(f); return NULL; }
    buf[n] = 0;
    fclose(f);
    *size = (size_t)n;
    return buf;
}
