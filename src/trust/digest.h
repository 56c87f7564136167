/* SHA-256 digests of model files and the manifest digest of multi-file models.
 * SHA-256 comes from libsodium; without it the calls return FLINTRT_ERR_UNSUPPORTED.
 * The manifest's canonical form is checked and built here without libsodium, so it
 * is testable everywhere. Thread-safe (no shared state). */
#ifndef FLT_TRUST_DIGEST_H
#define FLT_TRUST_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* SHA-256 and (when blake2b is non-NULL) BLAKE2b-512 of a buffer, in one pass over
 * it (the policy check hashes the mapped model once for both). */
flintrt_status flt_digest_buffer(const void *data, size_t n, uint8_t sha256[32], uint8_t *blake2b512,
                                 flt_err *e);
/* SHA-256 of a file, read in chunks (not mapped). */
flintrt_status flt_digest_file(const char *path, uint8_t sha256[32], flt_err *e);

/* Lower-case hex of n bytes into out (2n + 1 bytes with the NUL). */
void flt_hex(const uint8_t *p, size_t n, char *out);

/* A manifest name is acceptable: non-empty, at most 4096 bytes, '/'-separated
 * segments none of which is empty, "." or "..", no leading '/', no '\\', no byte
 * below 0x20 or 0x7f. On false, *why says what is wrong. */
bool flt_manifest_name_ok(const char *name, const char **why);

typedef struct flt_manifest_item {
    const char *name;
    uint8_t sha256[32];
} flt_manifest_item;

/* Canonical manifest text of n items (sorted here by name, bytewise; duplicates and
 * bad names refused): "<hex>  <name>\n" per item. *text is malloc'd, NUL-terminated
 * (caller frees); *len excludes the NUL. Then sha256 of that text if sha256 != NULL
 * (needs libsodium). items is reordered. */
flintrt_status flt_manifest_build(flt_manifest_item *items, size_t n, char **text, size_t *len,
                                  uint8_t *sha256, flt_err *e);

#endif
