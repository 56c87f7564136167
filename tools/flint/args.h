/* Small helpers shared by the `flint` subcommands: strict number parsing, option
 * values, and the two kinds of failure messages.
 *
 * Exit statuses: 0 ok, 1 runtime failure (model, I/O), 2 usage error.
 * Usage errors print "flint <cmd>: <what>" and then the command's usage on stderr.
 * Runtime failures print "flint: error: <status>: <detail>" on stderr. */
#ifndef FLINT_TOOL_ARGS_H
#define FLINT_TOOL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flintrt.h"

enum { FLINT_EXIT_OK = 0, FLINT_EXIT_FAIL = 1, FLINT_EXIT_USAGE = 2 };

/* Strict parsers: the whole string (no leading space, no trailing junk, base 10)
 * must be a number within [lo, hi]. On failure they print "flint <cmd>: <opt>: ..."
 * on stderr and return false; *out is written only on success. */
bool flint_parse_i64(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);
bool flint_parse_i32(const char *cmd, const char *opt, const char *s, int32_t lo, int32_t hi, int32_t *out);
bool flint_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
/* Finite floats only; lo_open makes the lower bound exclusive: (lo, hi]. */
bool flint_parse_f32(const char *cmd, const char *opt, const char *s, double lo, double hi, bool lo_open,
                     float *out);

/* The value of option argv[*i]: advances *i and returns argv[*i], or prints
 * "flint <cmd>: <opt> needs a value" and returns NULL. */
const char *flint_arg_value(const char *cmd, int argc, char **argv, int *i);

/* True for -h / --help. */
bool flint_is_help(const char *arg);

/* Print "flint <cmd>: <message>" then the usage text on stderr; returns FLINT_EXIT_USAGE. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int flint_usage_error(const char *cmd, const char *usage, const char *fmt, ...);

/* Print "flint: error: <status string>: <flintrt_last_error()>"; returns FLINT_EXIT_FAIL. */
int flint_runtime_error(flintrt_status st);

/* Print "flint: error: <message>"; returns FLINT_EXIT_FAIL. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
int flint_error(const char *fmt, ...);

/* Read a whole file (binary, as is) into a malloc'd buffer (NUL-terminated for
 * convenience, the NUL not counted in *len). Returns NULL with errno set. At most
 * max_bytes; larger files fail with EFBIG. */
char *flint_read_file(const char *path, size_t max_bytes, size_t *len);

/* Seconds from a monotonic clock. */
double flint_now(void);

#endif
