#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

flintrt_status flt_fail(flt_err *e, flintrt_status status, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->status = status;
    }
    return status;
}

void flt_err_prefix(flt_err *e, const char *fmt, ...) {
    if (!e) return;
    char head[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    /* Shift the old message right and put "head: " in front, truncating the tail. */
    size_t cap = sizeof e->msg, hl = strlen(head);
    if (hl > cap - 3) hl = cap - 3;
    size_t ol = strlen(e->msg);
    if (ol > cap - 1 - hl - 2) ol = cap - 1 - hl - 2;
    memmove(e->msg + hl + 2, e->msg, ol);
    e->msg[hl + 2 + ol] = '\0';
    memcpy(e->msg, head, hl);
    e->msg[hl] = ':';
    e->msg[hl + 1] = ' ';
}
