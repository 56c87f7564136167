/* minisign-compatible keys and signatures (https://jedisct1.github.io/minisign/).
 *
 * Formats (all binary fields base64 on one line, after an "untrusted comment: " line):
 * - public key:  "Ed" | key id (8) | Ed25519 public key (32)                    = 42 bytes
 * - secret key:  "Ed" | kdf "Sc" or 00 00 | "B2" | salt (32) | opslimit (8, LE) |
 *                memlimit (8, LE) | [key id (8) | Ed25519 secret key (64) |
 *                BLAKE2b-256 checksum of "Ed"|key id|secret key (32)]          = 158 bytes
 *                (the bracketed 104 bytes XORed with scrypt(password) when kdf is "Sc")
 * - signature:   "untrusted comment: ..." line, base64 of
 *                "ED" (prehashed: signs BLAKE2b-512 of the file) or "Ed" (legacy: signs
 *                the file itself) | key id (8) | Ed25519 signature (64)        = 74 bytes,
 *                "trusted comment: TEXT" line, base64 of the global signature (64):
 *                Ed25519 over signature (64) | TEXT.
 * The key id is stored little-endian; minisign prints it as 16 upper-case hex digits of
 * the 64-bit number (i.e. the bytes reversed).
 *
 * Parsing needs no libsodium; every call that does crypto returns FLINTRT_ERR_UNSUPPORTED
 * when Flint was built without it. All functions are thread-safe (no shared state). */
#ifndef FLT_TRUST_MINISIGN_H
#define FLT_TRUST_MINISIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define FLT_MINISIGN_KEYNUM_BYTES 8
#define FLT_MINISIGN_PK_BYTES 32
#define FLT_MINISIGN_SK_BYTES 64
#define FLT_MINISIGN_SIG_BYTES 64
#define FLT_MINISIGN_COMMENT_MAX 1023          /* untrusted comment bytes (minisign: 1024 with NUL) */
#define FLT_MINISIGN_TRUSTED_COMMENT_MAX 8191  /* trusted comment bytes (minisign: 8192 with NUL) */
#define FLT_MINISIGN_FILE_MAX 16384            /* a key or signature file larger than this is refused */

typedef struct flt_minisign_pubkey {
    uint8_t keynum[FLT_MINISIGN_KEYNUM_BYTES];
    uint8_t pk[FLT_MINISIGN_PK_BYTES];
} flt_minisign_pubkey;

typedef struct flt_minisign_seckey {
    uint8_t keynum[FLT_MINISIGN_KEYNUM_BYTES];
    uint8_t sk[FLT_MINISIGN_SK_BYTES]; /* libsodium layout: seed (32) | public key (32) */
} flt_minisign_seckey;

typedef struct flt_minisign_sig {
    bool prehashed; /* "ED" (true) or legacy "Ed" (false) */
    uint8_t keynum[FLT_MINISIGN_KEYNUM_BYTES];
    uint8_t sig[FLT_MINISIGN_SIG_BYTES];
    char trusted_comment[FLT_MINISIGN_TRUSTED_COMMENT_MAX + 1]; /* NUL-terminated, no NUL inside */
    size_t trusted_comment_len;
    uint8_t global_sig[FLT_MINISIGN_SIG_BYTES];
} flt_minisign_sig;

/* A public key from a .pub file's text or from the bare base64 line ("RWQ..."). */
flintrt_status flt_minisign_pubkey_parse(const char *text, size_t n, flt_minisign_pubkey *out, flt_err *e);
/* A secret key file's text; password (may be NULL) decrypts an "Sc" key. Wrong
 * password → FLINTRT_ERR_INVALID_ARGUMENT; an encrypted key needs libsodium. */
flintrt_status flt_minisign_seckey_parse(const char *text, size_t n, const char *password,
                                         flt_minisign_seckey *out, flt_err *e);
/* A .minisig file's text. */
flintrt_status flt_minisign_sig_parse(const char *text, size_t n, flt_minisign_sig *out, flt_err *e);

/* "1A48051BD49D19D1": the key id as minisign prints it (buf: at least 17 bytes). */
void flt_minisign_keyid_hex(const uint8_t keynum[FLT_MINISIGN_KEYNUM_BYTES], char buf[17]);

/* BLAKE2b-512 of a buffer (the prehash). */
flintrt_status flt_minisign_prehash(const void *data, size_t n, uint8_t out[64], flt_err *e);

/* Verify sig against data given its BLAKE2b-512 prehash (computed by the caller, who
 * may have hashed while reading). data is needed only for legacy signatures (may be NULL
 * otherwise). Refusals are FLINTRT_ERR_SIGNATURE with messages that say which check
 * failed: key id, legacy refused, signature, trusted comment. */
flintrt_status flt_minisign_verify(const flt_minisign_sig *sig, const flt_minisign_pubkey *pk,
                                   const void *data, size_t n, const uint8_t prehash[64],
                                   bool allow_legacy, flt_err *e);

/* Make a new key pair (random key id). */
flintrt_status flt_minisign_keygen(flt_minisign_pubkey *pk, flt_minisign_seckey *sk, flt_err *e);
/* Public key of a secret key (its key id and the second half of sk). */
void flt_minisign_seckey_public(const flt_minisign_seckey *sk, flt_minisign_pubkey *pk);

/* Text of the files, malloc'd and NUL-terminated (*out; caller frees). The secret key
 * is written unencrypted (kdf 00 00, like `minisign -G -W`). trusted_comment must not
 * contain CR, LF or NUL. */
flintrt_status flt_minisign_pubkey_format(const flt_minisign_pubkey *pk, char **out, flt_err *e);
flintrt_status flt_minisign_seckey_format(const flt_minisign_seckey *sk, char **out, flt_err *e);
/* Sign (prehashed) data whose BLAKE2b-512 is prehash, with the given trusted comment. */
flintrt_status flt_minisign_sign(const flt_minisign_seckey *sk, const uint8_t prehash[64],
                                 const char *trusted_comment, char **out, flt_err *e);

#endif
