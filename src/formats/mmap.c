#include "formats/mmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

flintrt_status flt_map_file(const char *path, flt_mapped_file *out, flt_err *e) {
    out->data = NULL;
    out->size = 0;
    if (!path) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "no file path given");
    /* O_NONBLOCK: opening a FIFO must not hang; harmless for regular files. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return flt_fail(e, FLINTRT_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return flt_fail(e, FLINTRT_ERR_IO, "cannot stat '%s': %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return flt_fail(e, FLINTRT_ERR_IO, "'%s' is not a regular file", path);
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return flt_fail(e, FLINTRT_ERR_IO, "'%s' is too large to map", path);
    }
    size_t size = (size_t)st.st_size;
    if (size == 0) {
        close(fd);
        return FLINTRT_OK;
    }
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd); /* the mapping keeps the file alive */
    if (p == MAP_FAILED)
        return flt_fail(e, FLINTRT_ERR_IO, "cannot map '%s' (%zu bytes): %s", path, size, strerror(err));
    out->data = p;
    out->size = size;
    return FLINTRT_OK;
}

void flt_unmap_file(flt_mapped_file *m) {
    if (!m) return;
    if (m->data && m->size) munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}
