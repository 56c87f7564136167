#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Common shape check: non-empty, no leading space (strto* would skip it). */
static bool shape_ok(const char *cmd, const char *opt, const char *s, const char *kind) {
    if (!s || !*s) {
        fprintf(stderr, "flint %s: %s: empty value, expected %s\n", cmd, opt, kind);
        return false;
    }
    if (isspace((unsigned char)s[0])) {
        fprintf(stderr, "flint %s: %s: '%s' is not %s\n", cmd, opt, s, kind);
        return false;
    }
    return true;
}

bool flint_parse_i64(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out) {
    if (!shape_ok(cmd, opt, s, "an integer")) return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0') {
        fprintf(stderr, "flint %s: %s: '%s' is not an integer\n", cmd, opt, s);
        return false;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        fprintf(stderr, "flint %s: %s: %s is out of range [%lld, %lld]\n", cmd, opt, s, (long long)lo,
                (long long)hi);
        return false;
    }
    *out = (int64_t)v;
    return true;
}

bool flint_parse_i32(const char *cmd, const char *opt, const char *s, int32_t lo, int32_t hi, int32_t *out) {
    int64_t v;
    if (!flint_parse_i64(cmd, opt, s, lo, hi, &v)) return false;
    *out = (int32_t)v;
    return true;
}

bool flint_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out) {
    if (!shape_ok(cmd, opt, s, "a non-negative integer")) return false;
    if (s[0] == '-' || s[0] == '+') { /* strtoull would wrap "-1" around */
        fprintf(stderr, "flint %s: %s: '%s' is not a non-negative integer\n", cmd, opt, s);
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end != '\0') {
        fprintf(stderr, "flint %s: %s: '%s' is not a non-negative integer\n", cmd, opt, s);
        return false;
    }
    if (errno == ERANGE) {
        fprintf(stderr, "flint %s: %s: %s is out of range [0, %llu]\n", cmd, opt, s,
                (unsigned long long)UINT64_MAX);
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

bool flint_parse_f32(const char *cmd, const char *opt, const char *s, double lo, double hi, bool lo_open,
                     float *out) {
    if (!shape_ok(cmd, opt, s, "a number")) return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0') {
        fprintf(stderr, "flint %s: %s: '%s' is not a number\n", cmd, opt, s);
        return false;
    }
    /* ERANGE covers overflow (1e999) and underflow (1e-999); nan/inf are refused. */
    if (errno == ERANGE || !isfinite(v) || (lo_open ? !(v > lo) : !(v >= lo)) || !(v <= hi) ||
        !isfinite((float)v)) {
        fprintf(stderr, "flint %s: %s: %s is out of range %c%g, %g]\n", cmd, opt, s, lo_open ? '(' : '[', lo, hi);
        return false;
    }
    *out = (float)v;
    return true;
}

const char *flint_arg_value(const char *cmd, int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "flint %s: %s needs a value\n", cmd, argv[*i]);
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

bool flint_is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }

int flint_usage_error(const char *cmd, const char *usage, const char *fmt, ...) {
    if (fmt) {
        fprintf(stderr, "flint %s: ", cmd);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    fputs(usage, stderr);
    return FLINT_EXIT_USAGE;
}

int flint_runtime_error(flintrt_status st) {
    const char *detail = flintrt_last_error();
    if (detail && *detail)
        fprintf(stderr, "flint: error: %s: %s\n", flintrt_status_string(st), detail);
    else
        fprintf(stderr, "flint: error: %s\n", flintrt_status_string(st));
    return FLINT_EXIT_FAIL;
}

int flint_error(const char *fmt, ...) {
    fputs("flint: error: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return FLINT_EXIT_FAIL;
}

char *flint_read_file(const char *path, size_t max_bytes, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return NULL;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max_bytes) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            size_t ncap = cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || n > max_bytes) {
        free(buf);
        errno = bad ? EIO : EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

double flint_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
