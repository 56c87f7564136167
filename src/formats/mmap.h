/* Read-only mapping of a whole file. The mapping lives until flt_unmap_file.
 * Only regular files are accepted (not directories, FIFOs or devices). An empty
 * file maps to {NULL, 0}. Thread-safe (no shared state). */
#ifndef FLT_FORMATS_MMAP_H
#define FLT_FORMATS_MMAP_H

#include <stddef.h>

#include "core/error.h"

typedef struct flt_mapped_file {
    const void *data; /* NULL when size is 0 */
    size_t size;
} flt_mapped_file;

/* FLINTRT_ERR_IO naming the path and the OS error on failure; *out is zeroed then. */
flintrt_status flt_map_file(const char *path, flt_mapped_file *out, flt_err *e);
/* Unmap and zero; a zeroed struct is a no-op. */
void flt_unmap_file(flt_mapped_file *m);

#endif
