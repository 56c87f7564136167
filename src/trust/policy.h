/* The load policy: digest the model's bytes and, when asked, verify its minisign
 * signature against trusted keys, all before any parser sees those bytes. The caller
 * maps the file once and hands the same bytes to the parser afterwards, so what was
 * verified is what gets parsed. Thread-safe (no shared state). */
#ifndef FLT_TRUST_POLICY_H
#define FLT_TRUST_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "trust/minisign.h"

typedef struct flt_trust_policy {
    bool compute_digest;
    bool require_signed;
    bool allow_legacy;
    const char *const *trusted_keys; /* base64 public keys or .pub file paths */
    size_t n_trusted_keys;
    const char *signature_path;      /* NULL: <model path>.minisig */
} flt_trust_policy;

typedef struct flt_trust_result {
    bool has_digest;
    uint8_t sha256[32];
    bool verified;
    char *trusted_comment; /* malloc'd when verified */
    char key_id[17];       /* of the key that verified */
} flt_trust_result;

/* The policy fields of public model options (opts may be NULL: no policy). */
void flt_trust_policy_from_options(const flintrt_model_options *opts, flt_trust_policy *p);

/* Parse one trusted-key entry: a base64 public key, else the path of a .pub file. */
flintrt_status flt_trust_load_key(const char *entry, flt_minisign_pubkey *out, flt_err *e);

/* Read a small text file whole (key, signature): at most max bytes, else FORMAT.
 * *text is malloc'd and NUL-terminated. Missing file: FLINTRT_ERR_NOT_FOUND. */
flintrt_status flt_trust_read_small(const char *path, size_t max, char **text, size_t *len, flt_err *e);

/* Apply the policy to the n bytes of the model file at path (already mapped/read by
 * the caller). Refusals: FLINTRT_ERR_SIGNATURE, message starting with "unsigned",
 * "malformed signature", "untrusted key", "legacy signature refused" or "tampered".
 * r is filled on success (free with flt_trust_result_free); zeroed on failure. */
flintrt_status flt_trust_check(const char *path, const void *data, size_t n, const flt_trust_policy *p,
                               flt_trust_result *r, flt_err *e);
void flt_trust_result_free(flt_trust_result *r);

#endif
