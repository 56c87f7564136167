/* The load policy (see policy.h): keys, signature file, one hashing pass, verify. */
#include "trust/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust/digest.h"

void flt_trust_policy_from_options(const flintrt_model_options *o, flt_trust_policy *p) {
    memset(p, 0, sizeof *p);
    if (!o) return;
    /* fields beyond the caller's struct size keep their zero defaults */
#define HAS(f) (o->size >= offsetof(flintrt_model_options, f) + sizeof o->f)
    if (HAS(compute_digest)) p->compute_digest = o->compute_digest != 0;
    if (HAS(require_signed)) p->require_signed = o->require_signed != 0;
    if (HAS(trusted_keys)) p->trusted_keys = o->trusted_keys;
    if (HAS(n_trusted_keys)) p->n_trusted_keys = o->n_trusted_keys;
    if (HAS(signature_path)) p->signature_path = o->signature_path;
    if (HAS(allow_legacy)) p->allow_legacy = o->allow_legacy != 0;
#undef HAS
}

flintrt_status flt_trust_read_small(const char *path, size_t max, char **text, size_t *len, flt_err *e) {
    *text = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        return flt_fail(e, err == ENOENT ? FLINTRT_ERR_NOT_FOUND : FLINTRT_ERR_IO, "cannot open '%s': %s", path,
                        strerror(err));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return flt_fail(e, FLINTRT_ERR_IO, "'%s' is not a regular file", path);
    }
    char *buf = malloc(max + 2);
    if (!buf) {
        close(fd);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "reading '%s'", path);
    }
    size_t n = 0;
    while (n <= max) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int err = errno;
            free(buf);
            close(fd);
            return flt_fail(e, FLINTRT_ERR_IO, "cannot read '%s': %s", path, strerror(err));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max) {
        free(buf);
        return flt_fail(e, FLINTRT_ERR_FORMAT, "'%s' is larger than %zu bytes", path, max);
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return FLINTRT_OK;
}

flintrt_status flt_trust_load_key(const char *entry, flt_minisign_pubkey *out, flt_err *e) {
    if (!entry || !*entry) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "trusted key: empty entry");
    /* a bare base64 key is 56 characters starting with "RW" ("Ed" encoded) */
    size_t n = strlen(entry);
    if (n == 56 && entry[0] == 'R' && entry[1] == 'W') {
        flt_err ke;
        flt_err_clear(&ke);
        if (flt_minisign_pubkey_parse(entry, n, out, &ke) == FLINTRT_OK) return FLINTRT_OK;
    }
    char *text;
    size_t len;
    flintrt_status st = flt_trust_read_small(entry, FLT_MINISIGN_FILE_MAX, &text, &len, e);
    if (st) {
        flt_err_prefix(e, "trusted key '%s' is neither a base64 public key nor a readable key file", entry);
        return st;
    }
    st = flt_minisign_pubkey_parse(text, len, out, e);
    free(text);
    if (st) flt_err_prefix(e, "trusted key file '%s'", entry);
    return st;
}

void flt_trust_result_free(flt_trust_result *r) {
    if (!r) return;
    free(r->trusted_comment);
    memset(r, 0, sizeof *r);
}

static flintrt_status verify_signed(const char *path, const void *data, size_t n, const flt_trust_policy *p,
                                    flt_trust_result *r, flt_err *e) {
    if (!p->n_trusted_keys || !p->trusted_keys)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "a signature is required but no trusted key was given");
    flt_minisign_pubkey *keys = calloc(p->n_trusted_keys, sizeof *keys);
    if (!keys) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "trusted keys");
    flt_minisign_sig *sig = malloc(sizeof *sig);
    char *sig_path = NULL, *text = NULL;
    flintrt_status st = FLINTRT_OK;
    if (!sig) st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "signature");
    for (size_t i = 0; !st && i < p->n_trusted_keys; i++) st = flt_trust_load_key(p->trusted_keys[i], &keys[i], e);
    const char *sp = p->signature_path;
    if (!st && !sp) {
        size_t k = strlen(path);
        sig_path = malloc(k + sizeof ".minisig");
        if (!sig_path) st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "signature path");
        else {
            memcpy(sig_path, path, k);
            memcpy(sig_path + k, ".minisig", sizeof ".minisig");
            sp = sig_path;
        }
    }
    size_t len = 0;
    if (!st) {
        st = flt_trust_read_small(sp, FLT_MINISIGN_FILE_MAX, &text, &len, e);
        if (st == FLINTRT_ERR_NOT_FOUND)
            st = flt_fail(e, FLINTRT_ERR_SIGNATURE, "unsigned: no signature file '%s'", sp);
    }
    if (!st && (st = flt_minisign_sig_parse(text, len, sig, e)) != FLINTRT_OK) {
        flt_err_prefix(e, "malformed signature '%s'", sp);
        st = e ? (e->status = FLINTRT_ERR_SIGNATURE) : FLINTRT_ERR_SIGNATURE;
    }
    const flt_minisign_pubkey *key = NULL;
    for (size_t i = 0; !st && i < p->n_trusted_keys; i++)
        if (!memcmp(keys[i].keynum, sig->keynum, sizeof sig->keynum)) key = &keys[i];
    if (!st && !key) {
        char got[17];
        flt_minisign_keyid_hex(sig->keynum, got);
        st = flt_fail(e, FLINTRT_ERR_SIGNATURE, "untrusted key: signed by key %s, which is not among the %zu trusted key%s",
                      got, p->n_trusted_keys, p->n_trusted_keys == 1 ? "" : "s");
    }
    if (!st && !sig->prehashed && !p->allow_legacy) st = flt_minisign_verify(sig, key, data, n, NULL, false, e);
    uint8_t prehash[64];
    if (!st) {
        /* the one read of the model: SHA-256 for the digest and BLAKE2b-512 for the signature */
        st = flt_digest_buffer(data, n, r->sha256, prehash, e);
        r->has_digest = st == FLINTRT_OK;
    }
    if (!st) st = flt_minisign_verify(sig, key, data, n, prehash, p->allow_legacy, e);
    if (!st) {
        r->trusted_comment = malloc(sig->trusted_comment_len + 1);
        if (!r->trusted_comment) st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "trusted comment");
        else {
            memcpy(r->trusted_comment, sig->trusted_comment, sig->trusted_comment_len + 1);
            flt_minisign_keyid_hex(key->keynum, r->key_id);
            r->verified = true;
        }
    }
    if (st && e && st == FLINTRT_ERR_SIGNATURE) flt_err_prefix(e, "signature policy");
    free(text);
    free(sig_path);
    free(sig);
    free(keys);
    return st;
}

flintrt_status flt_trust_check(const char *path, const void *data, size_t n, const flt_trust_policy *p,
                               flt_trust_result *r, flt_err *e) {
    memset(r, 0, sizeof *r);
    if (!path || (!data && n)) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "trust check: no file");
    flintrt_status st = FLINTRT_OK;
    if (p->require_signed) {
        st = verify_signed(path, data, n, p, r, e);
    } else if (p->compute_digest) {
        st = flt_digest_buffer(data, n, r->sha256, NULL, e);
        r->has_digest = st == FLINTRT_OK;
    }
    if (st) flt_trust_result_free(r);
    return st;
}
