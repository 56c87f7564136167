/* A very small test harness: CHECK records failures without stopping, each test
 * binary ends with one line "N passed, N failed" (ctest reads the exit status). */
#ifndef FLT_TEST_HARNESS_H
#define FLT_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

extern int flt_test_passed, flt_test_failed;

#define CHECK(cond) do { \
    if (cond) flt_test_passed++; \
    else { flt_test_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECKF(cond, ...) do { \
    if (cond) flt_test_passed++; \
    else { flt_test_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
           fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
} while (0)

/* Returns the exit status and prints the closing line. */
int flt_test_finish(void);

/* Path helpers: $FLINT_SHARED/<rel>, $FLINT_TESTDATA/<rel>; NULL-safe static buffers. */
const char *flt_test_shared(const char *rel);
const char *flt_test_data(const char *rel);
/* Reads a whole file; returns malloc'd buffer (caller frees) and size, NULL on error. */
void *flt_test_read_file(const char *path, size_t *size);

#endif
