/* The public trust calls that need no model: file digests, manifest digests,
 * signature verification of a file. The model getters live in api/api_model.c. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "formats/mmap.h"
#include "trust/digest.h"
#include "trust/policy.h"

FLINTRT_API flintrt_status flintrt_file_sha256(const char *path, uint8_t sha256[FLINTRT_SHA256_BYTES]) {
    if (!path || !sha256) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "file_sha256: path and sha256 are required");
    flt_err e;
    flt_err_clear(&e);
    return flt_digest_file(path, sha256, &e) ? flt_api_report(&e) : FLINTRT_OK;
}

FLINTRT_API flintrt_status flintrt_manifest_digest(const flintrt_manifest_entry *entries, size_t n,
                                                   uint8_t sha256[FLINTRT_SHA256_BYTES], char *manifest,
                                                   size_t cap, size_t *n_out) {
    if ((!entries && n) || !sha256 || (!manifest && cap) || (manifest && !n_out))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "manifest_digest: entries, sha256 (and n_out with a buffer) are required");
    flt_err e;
    flt_err_clear(&e);
    flt_manifest_item *items = n ? calloc(n, sizeof *items) : NULL;
    if (n && !items) return flt_api_fail(FLINTRT_ERR_OUT_OF_MEMORY, "manifest");
    flintrt_status st = FLINTRT_OK;
    for (size_t i = 0; !st && i < n; i++) {
        const char *why;
        if (!entries[i].name || !entries[i].path)
            st = flt_fail(&e, FLINTRT_ERR_INVALID_ARGUMENT, "manifest entry %zu: name and path are required", i);
        else if (!flt_manifest_name_ok(entries[i].name, &why))
            st = flt_fail(&e, FLINTRT_ERR_INVALID_ARGUMENT, "manifest entry %zu ('%s'): %s", i, entries[i].name, why);
        else {
            items[i].name = entries[i].name;
            st = flt_digest_file(entries[i].path, items[i].sha256, &e);
        }
    }
    char *text = NULL;
    size_t len = 0;
    if (!st) st = flt_manifest_build(items, n, &text, &len, sha256, &e);
    if (!st && n_out) *n_out = len;
    if (!st && manifest) {
        if (cap <= len) st = flt_fail(&e, FLINTRT_ERR_BUFFER_TOO_SMALL, "manifest: %zu bytes needed", len + 1);
        else memcpy(manifest, text, len + 1);
    }
    free(text);
    free(items);
    return st ? flt_api_report(&e) : FLINTRT_OK;
}

FLINTRT_API flintrt_status flintrt_verify_file(const char *path, const flintrt_model_options *opts,
                                               char *comment, size_t cap, size_t *n_out) {
    if (!path || !opts || (!comment && cap) || !n_out)
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "verify_file: path, options and n_out are required");
    if (opts->size < offsetof(flintrt_model_options, log))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "model options: size not set (call flintrt_model_options_init)");
    flt_trust_policy p;
    flt_trust_policy_from_options(opts, &p);
    p.require_signed = true;
    flt_err e;
    flt_err_clear(&e);
    flt_mapped_file map;
    flintrt_status st = flt_map_file(path, &map, &e);
    flt_trust_result r;
    memset(&r, 0, sizeof r);
    if (!st) st = flt_trust_check(path, map.data, map.size, &p, &r, &e);
    flt_unmap_file(&map);
    if (!st) {
        size_t len = strlen(r.trusted_comment);
        *n_out = len;
        if (cap <= len) st = flt_fail(&e, FLINTRT_ERR_BUFFER_TOO_SMALL, "trusted comment: %zu bytes needed", len + 1);
        else memcpy(comment, r.trusted_comment, len + 1);
    }
    flt_trust_result_free(&r);
    if (st) flt_err_prefix(&e, "%s", path);
    return st ? flt_api_report(&e) : FLINTRT_OK;
}
