/* Internal error reporting: every fallible internal function takes an flt_err*
 * (may be NULL) and returns a status code from the public enum. The message says
 * what went wrong and where (a byte offset, a tensor name, a metadata key). */
#ifndef FLT_CORE_ERROR_H
#define FLT_CORE_ERROR_H

#include "flintrt.h"

typedef struct flt_err {
    flintrt_status status;
    char msg[512];
} flt_err;

/* Record status + formatted message in e (if non-NULL); returns status so callers
 * can write `return flt_fail(e, FLINTRT_ERR_FORMAT, "...", ...);`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
flintrt_status flt_fail(flt_err *e, flintrt_status status, const char *fmt, ...);

/* Prefix an existing message with context ("loading tokenizer: ..."). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void flt_err_prefix(flt_err *e, const char *fmt, ...);

static inline void flt_err_clear(flt_err *e) {
    if (e) { e->status = FLINTRT_OK; e->msg[0] = '\0'; }
}

#endif
