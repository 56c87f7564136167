/* ONNX external data (TensorProto.data_location = EXTERNAL): the bytes live in
 * a file beside the model. The path comes from the model, so it is hostile
 * (SECURITY.md class 14): only relative paths, no `..` component, the resolved
 * path (all symlinks followed by realpath) must stay inside the model's folder,
 * the final open refuses a symlink swapped in afterwards (O_NOFOLLOW), and the
 * requested range must lie inside the file. Files are mapped read-only once
 * and shared by every tensor that names them. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/model_internal.h"

static flintrt_status map_nofollow(const char *path, flt_mapped_file *out, flt_err *e) {
    out->data = NULL;
    out->size = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return flt_fail(e, FLINTRT_ERR_IO, "cannot open external data '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return flt_fail(e, FLINTRT_ERR_IO, "external data '%s' is not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (size) {
        void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        int err = errno;
        close(fd);
        if (p == MAP_FAILED) return flt_fail(e, FLINTRT_ERR_IO, "cannot map external data '%s': %s", path, strerror(err));
        out->data = p;
    } else {
        close(fd);
    }
    out->size = size;
    return FLINTRT_OK;
}

static bool has_dotdot(const char *p) {
    /* any path component equal to ".." */
    for (const char *s = p;;) {
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') return true;
        if (!slash) return false;
        s = slash + 1;
    }
}

/* Resolve and map (once) the external data file named loc; *index: its slot. */
static flintrt_status map_location(flt_onnx_model *m, const char *tensor, const char *loc, int *index, bool *fresh,
                                   flt_err *e) {
    *fresh = false;
    if (!m->dir)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "tensor '%s': external data needs the model loaded from a file",
                        tensor);
    size_t ln = strlen(loc);
    if (loc[0] == '/' || loc[0] == '\\' || strchr(loc, '\\') || (ln >= 2 && loc[1] == ':'))
        return flt_fail(e, FLINTRT_ERR_FORMAT,
                        "tensor '%s': external data path '%s' is absolute; only paths inside the model's folder are allowed",
                        tensor, loc);
    if (has_dotdot(loc))
        return flt_fail(e, FLINTRT_ERR_FORMAT,
                        "tensor '%s': external data path '%s' contains '..'; only paths inside the model's folder are allowed",
                        tensor, loc);
    size_t dl = strlen(m->dir);
    char *joined = malloc(dl + 1 + ln + 1);
    if (!joined) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "external data path");
    memcpy(joined, m->dir, dl);
    joined[dl] = '/';
    memcpy(joined + dl + 1, loc, ln + 1);
    char *real = realpath(joined, NULL);
    int err = errno;
    free(joined);
    if (!real)
        return flt_fail(e, FLINTRT_ERR_IO, "tensor '%s': external data '%s': %s", tensor, loc, strerror(err));
    if (strncmp(real, m->dir, dl) != 0 || real[dl] != '/') {
        flintrt_status st = flt_fail(e, FLINTRT_ERR_FORMAT,
                                     "tensor '%s': external data '%s' resolves to '%s', outside the model's folder '%s'",
                                     tensor, loc, real, m->dir);
        free(real);
        return st;
    }
    /* One mapping per file: look for it among those already mapped. */
    int found = -1;
    for (int i = 0; i < m->n_ext_maps; i++)
        if (!strcmp(m->ext_paths[i], real)) found = i;
    if (found >= 0) {
        free(real);
        *index = found;
        return FLINTRT_OK;
    }
    if (m->n_ext_maps == m->cap_ext_maps) {
        int cap = m->cap_ext_maps ? m->cap_ext_maps * 2 : 4;
        flt_mapped_file *nm = realloc(m->ext_maps, (size_t)cap * sizeof *nm);
        if (nm) m->ext_maps = nm;
        char **np = realloc(m->ext_paths, (size_t)cap * sizeof *np);
        if (np) m->ext_paths = np;
        if (!nm || !np) { free(real); return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "external data"); }
        m->cap_ext_maps = cap;
    }
    flintrt_status st = map_nofollow(real, &m->ext_maps[m->n_ext_maps], e);
    if (st) { free(real); flt_err_prefix(e, "tensor '%s'", tensor); return st; }
    m->ext_paths[m->n_ext_maps] = real;
    *index = m->n_ext_maps++;
    *fresh = true;
    return FLINTRT_OK;
}

flintrt_status flt_onnx_external_premap(flt_onnx_model *m, const char *name, const void **data, size_t *size,
                                        flt_err *e) {
    int idx;
    bool fresh;
    flintrt_status st = map_location(m, "(manifest)", name, &idx, &fresh, e);
    if (st) return st;
    *data = m->ext_maps[idx].data;
    *size = m->ext_maps[idx].size;
    return FLINTRT_OK;
}

flintrt_status flt_onnx_external(flt_onnx_model *m, const char *tensor, const flt_bytes *location, bool has_offset,
                                 uint64_t offset, bool has_length, uint64_t length, size_t need, const void **data,
                                 flt_err *e) {
    if (!location || location->n == 0)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s': external data without a location", tensor);
    if (memchr(location->p, 0, location->n) || location->n > 4096)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s': external data location is not a valid path", tensor);
    char loc[4097];
    memcpy(loc, location->p, location->n);
    loc[location->n] = '\0';
    int found;
    bool fresh;
    flintrt_status mst = map_location(m, tensor, loc, &found, &fresh, e);
    if (mst) return mst;
    const flt_onnx_load_opts *o = m->load_opts;
    if (fresh && o && (o->premapped_only || o->on_external)) {
        const char *rel = m->ext_paths[found] + strlen(m->dir) + 1;
        if (o->premapped_only)
            return flt_fail(e, FLINTRT_ERR_SIGNATURE,
                            "tensor '%s': external data file '%s' is not covered by the signature (sign a manifest listing it: docs/SECURITY.md)",
                            tensor, rel);
        flintrt_status st = o->on_external(o->user, rel, m->ext_maps[found].data, m->ext_maps[found].size, e);
        if (st) { flt_err_prefix(e, "tensor '%s': external data '%s'", tensor, rel); return st; }
    }
    const flt_mapped_file *f = &m->ext_maps[found];
    if (!has_offset) offset = 0;
    if (offset > f->size)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s': external data offset %" PRIu64 " is past the end of '%s' (%zu bytes)",
                        tensor, offset, loc, f->size);
    if (!has_length) length = f->size - offset;
    if (length > f->size - offset)
        return flt_fail(e, FLINTRT_ERR_FORMAT,
                        "tensor '%s': external data range [%" PRIu64 ", +%" PRIu64 ") is outside '%s' (%zu bytes)", tensor,
                        offset, length, loc, f->size);
    if (length != need)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "tensor '%s': external data has %" PRIu64 " bytes, its shape needs %zu",
                        tensor, length, need);
    *data = need ? (const uint8_t *)f->data + offset : (const void *)"";
    return FLINTRT_OK;
}
