/* Versions, status strings, the per-thread last error, logging. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"

/* Per-thread, like errno: never shared between threads, so no locking. */
static _Thread_local char tls_last_error[512];

FLINTRT_API int flintrt_version_number(void) { return FLINTRT_VERSION_NUMBER; }
FLINTRT_API const char *flintrt_version_string(void) { return FLINTRT_VERSION_STRING; }

FLINTRT_API const char *flintrt_status_string(flintrt_status status) {
    switch (status) {
    case FLINTRT_OK: return "ok";
    case FLINTRT_ERR_INVALID_ARGUMENT: return "invalid argument";
    case FLINTRT_ERR_IO: return "i/o error";
    case FLINTRT_ERR_FORMAT: return "malformed file";
    case FLINTRT_ERR_UNSUPPORTED: return "unsupported";
    case FLINTRT_ERR_OUT_OF_MEMORY: return "out of memory";
    case FLINTRT_ERR_LIMIT: return "limit reached";
    case FLINTRT_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case FLINTRT_ERR_NOT_FOUND: return "not found";
    case FLINTRT_ERR_INTERNAL: return "internal error";
    case FLINTRT_ERR_SIGNATURE: return "signature refused";
    }
    return "unknown status";
}

FLINTRT_API const char *flintrt_last_error(void) { return tls_last_error; }

flintrt_status flt_api_report(const flt_err *e) {
    snprintf(tls_last_error, sizeof tls_last_error, "%s", e->msg);
    return e->status;
}

flintrt_status flt_api_fail(flintrt_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_last_error, sizeof tls_last_error, fmt, ap);
    va_end(ap);
    return st;
}

void flt_api_log(const flintrt_model *m, flintrt_log_level lvl, const char *fmt, ...) {
    if (!m || !m->log) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    m->log(lvl, buf, m->log_user);
}
