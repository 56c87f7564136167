/* The trust policy on the ONNX load path (docs/SECURITY.md "ONNX models").
 *
 * The .onnx file is mapped once; its bytes are digested and, when a signature
 * is required, verified before the protobuf parser sees them, and those same
 * bytes are parsed. External data files:
 * - signed model with PATH.manifest (canonical manifest text: one
 *   "<sha256>  <name>" line per file, sorted, the .onnx file included): the
 *   signature (default PATH.manifest.minisig) covers the manifest text; every
 *   listed file is mapped and its SHA-256 compared with the manifest before
 *   parsing; the parser may use only those mappings;
 * - signed model without a manifest: the signature (PATH.minisig) covers the
 *   .onnx bytes only, so external data is refused;
 * - digest only: each external file is digested when the parser maps it,
 *   before its bytes are used. */
#include <stdlib.h>
#include <string.h>

#include "api/api_graph_trust.h"
#include "core/checked.h"
#include "trust/digest.h"

#define MANIFEST_MAX ((size_t)1 << 20)

void flt_graph_trust_free(flt_graph_trust *t) {
    if (!t) return;
    flt_trust_result_free(&t->res);
    for (size_t i = 0; i < t->n_files; i++) free((char *)t->files[i].name);
    free(t->files);
    free(t->manifest);
    free(t->model_name);
    free(t);
}

static flintrt_status add_file(flt_graph_trust *t, const char *name, const uint8_t sha[32], flt_err *e) {
    if (t->n_files == t->cap_files) {
        size_t cap = t->cap_files ? t->cap_files * 2 : 4, bytes;
        flt_manifest_item *n = NULL;
        if (flt_mul_size(cap, sizeof *n, &bytes)) n = realloc(t->files, bytes);
        if (!n) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "digests");
        t->files = n;
        t->cap_files = cap;
    }
    char *copy = strdup(name);
    if (!copy) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "digests");
    t->files[t->n_files].name = copy;
    memcpy(t->files[t->n_files].sha256, sha, 32);
    t->n_files++;
    return FLINTRT_OK;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The manifest text -> items (names point into a private copy); refuses any
 * text that is not exactly the canonical form flt_manifest_build writes. */
static flintrt_status parse_manifest(flt_graph_trust *t, const char *text, size_t len, flt_err *e) {
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || nl - p < 67 || p[64] != ' ' || p[65] != ' ')
            return flt_fail(e, FLINTRT_ERR_SIGNATURE, "tampered: the manifest is not \"<sha256>  <name>\" lines");
        uint8_t sha[32];
        for (int i = 0; i < 32; i++) {
            int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
            if (hi < 0 || lo < 0) return flt_fail(e, FLINTRT_ERR_SIGNATURE, "tampered: bad hex digest in the manifest");
            sha[i] = (uint8_t)(hi << 4 | lo);
        }
        size_t nn = (size_t)(nl - (p + 66));
        char *name = malloc(nn + 1);
        if (!name) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "manifest");
        memcpy(name, p + 66, nn);
        name[nn] = '\0';
        flintrt_status st = strlen(name) == nn ? add_file(t, name, sha, e)
                                               : flt_fail(e, FLINTRT_ERR_SIGNATURE, "tampered: NUL in a manifest name");
        free(name);
        if (st) return st;
        p = nl + 1;
    }
    if (!t->n_files) return flt_fail(e, FLINTRT_ERR_SIGNATURE, "tampered: the manifest is empty");
    /* canonical: sorted, no duplicates, valid names (build reorders a copy) */
    flt_manifest_item *copy = flt_malloc_array(t->n_files, sizeof *copy);
    if (!copy) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "manifest");
    memcpy(copy, t->files, t->n_files * sizeof *copy);
    char *canon = NULL;
    size_t clen = 0;
    flintrt_status st = flt_manifest_build(copy, t->n_files, &canon, &clen, NULL, e);
    free(copy);
    if (st) {
        flt_err_prefix(e, "tampered: manifest");
        e->status = FLINTRT_ERR_SIGNATURE;
        return FLINTRT_ERR_SIGNATURE;
    }
    bool same = clen == len && !memcmp(canon, text, len);
    free(canon);
    if (!same) return flt_fail(e, FLINTRT_ERR_SIGNATURE, "tampered: the manifest is not in canonical form (sorted by name)");
    return FLINTRT_OK;
}

static flintrt_status check_file(flt_graph_trust *t, const char *name, const void *data, size_t n, flt_err *e) {
    uint8_t sha[32];
    FLT_ONNX_TRY_API(flt_digest_buffer(data, n, sha, NULL, e));
    for (size_t i = 0; i < t->n_files; i++) {
        if (strcmp(t->files[i].name, name)) continue;
        if (memcmp(t->files[i].sha256, sha, 32))
            return flt_fail(e, FLINTRT_ERR_SIGNATURE, "tampered: '%s' does not match the signed manifest", name);
        return FLINTRT_OK;
    }
    return flt_fail(e, FLINTRT_ERR_SIGNATURE, "'%s' is not listed in the signed manifest", name);
}

/* before_parse in manifest mode: map and check every listed external file */
static flintrt_status premap_all(flt_onnx_model *m, void *user, flt_err *e) {
    flt_graph_trust *t = user;
    for (size_t i = 0; i < t->n_files; i++) {
        if (!strcmp(t->files[i].name, t->model_name)) continue;
        const void *data;
        size_t size;
        FLT_ONNX_TRY_API(flt_onnx_external_premap(m, t->files[i].name, &data, &size, e));
        FLT_ONNX_TRY_API(check_file(t, t->files[i].name, data, size, e));
    }
    return FLINTRT_OK;
}

/* on_external in digest mode */
static flintrt_status digest_external(void *user, const char *name, const void *data, size_t size, flt_err *e) {
    flt_graph_trust *t = user;
    uint8_t sha[32];
    FLT_ONNX_TRY_API(flt_digest_buffer(data, size, sha, NULL, e));
    return add_file(t, name, sha, e);
}

flintrt_status flt_graph_trust_begin(const char *path, const void *data, size_t n, const flt_trust_policy *p,
                                     flt_graph_trust **out, flt_onnx_load_opts *lo, flt_err *e) {
    *out = NULL;
    memset(lo, 0, sizeof *lo);
    flt_graph_trust *t = calloc(1, sizeof *t);
    if (!t) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "trust");
    const char *slash = strrchr(path, '/');
    t->model_name = strdup(slash ? slash + 1 : path);
    flintrt_status st = t->model_name ? FLINTRT_OK : flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "trust");
    size_t pl = strlen(path);
    char *mpath = malloc(pl + sizeof ".manifest");
    if (!mpath) st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "path");
    else { memcpy(mpath, path, pl); memcpy(mpath + pl, ".manifest", sizeof ".manifest"); }
    char *text = NULL;
    size_t len = 0;
    if (!st && p->require_signed) {
        st = flt_trust_read_small(mpath, MANIFEST_MAX, &text, &len, e);
        if (st == FLINTRT_ERR_NOT_FOUND) { flt_err_clear(e); st = FLINTRT_OK; text = NULL; }
    }
    if (!st && text) {
        /* manifest mode: the signature covers the manifest, the manifest every file */
        t->manifest = text;
        st = flt_trust_check(mpath, text, len, p, &t->res, e);
        if (!st) st = parse_manifest(t, text, len, e);
        if (!st) st = check_file(t, t->model_name, data, n, e);
        if (st == FLINTRT_ERR_SIGNATURE) flt_err_prefix(e, "signature policy (manifest '%s')", mpath);
        t->has_digest = !st;
        lo->before_parse = premap_all;
        lo->premapped_only = true;
    } else if (!st) {
        st = flt_trust_check(path, data, n, p, &t->res, e);
        if (!st) st = add_file(t, t->model_name, t->res.sha256, e);
        t->has_digest = !st;
        if (p->require_signed) lo->premapped_only = true; /* the signature covers the .onnx bytes only */
        else lo->on_external = digest_external;
    }
    free(mpath);
    lo->user = t;
    if (st) { flt_graph_trust_free(t); return st; }
    *out = t;
    return FLINTRT_OK;
}
