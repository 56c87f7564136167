/* minisign-compatible key and signature files: parsing (no libsodium needed) and the
 * Ed25519/BLAKE2b operations through libsodium (see minisign.h for the formats). */
#include "trust/minisign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trust/base64.h"

#ifdef FLT_HAVE_SODIUM
#include <sodium.h>
#endif

#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define PK_BLOB 42
#define SK_BLOB 158
#define SIG_BLOB 74
#define SK_KDF_SALT 32
/* Caps on an encrypted key's scrypt cost: minisign's own setting is 2^25 ops and 1 GiB.
 * A key file asking for more is refused rather than allowed to exhaust the machine. */
#define SK_MAX_OPSLIMIT ((uint64_t)1 << 30)
#define SK_MAX_MEMLIMIT ((uint64_t)1 << 30)

/* One line of text: [p, p+n) without its "\n" and one trailing "\r". */
typedef struct line {
    const char *p;
    size_t n;
} line;

/* Split text into at most max lines. A final "\n" does not start a new line; blank
 * trailing lines are ignored. Returns the count, or max + 1 if there are more. */
static size_t split_lines(const char *text, size_t n, line *lines, size_t max) {
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' || text[n - 1] == '\t'))
        n--;
    size_t count = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && text[i] != '\n') continue;
        if (count == max) return max + 1;
        size_t len = i - start;
        if (len && text[start + len - 1] == '\r') len--;
        lines[count].p = text + start;
        lines[count].n = len;
        count++;
        start = i + 1;
    }
    return count;
}

static bool has_prefix(line l, const char *prefix) {
    size_t k = strlen(prefix);
    return l.n >= k && memcmp(l.p, prefix, k) == 0;
}

static flintrt_status check_text(const char *text, size_t n, const char *what, flt_err *e) {
    if (!text && n) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "%s: no text", what);
    if (n > FLT_MINISIGN_FILE_MAX)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: %zu bytes, more than the %d a minisign file can have", what, n,
                        FLT_MINISIGN_FILE_MAX);
    if (n && memchr(text, '\0', n)) return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: contains a NUL byte", what);
    return FLINTRT_OK;
}

/* The comment line (optional when allow_bare) and one base64 line of exactly want bytes. */
static flintrt_status parse_keyfile(const char *text, size_t n, const char *what, bool allow_bare, uint8_t *blob,
                                    size_t want, flt_err *e) {
    flintrt_status st = check_text(text, n, what, e);
    if (st) return st;
    line lines[2];
    size_t nl = split_lines(text ? text : "", n, lines, 2);
    if (nl == 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: empty", what);
    if (nl > 2) return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: more than two lines", what);
    line data = lines[nl - 1];
    if (nl == 2) {
        if (!has_prefix(lines[0], UNTRUSTED_PREFIX))
            return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: line 1 does not start with \"" UNTRUSTED_PREFIX "\"", what);
        if (lines[0].n - strlen(UNTRUSTED_PREFIX) > FLT_MINISIGN_COMMENT_MAX)
            return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: untrusted comment longer than %d bytes", what,
                            FLT_MINISIGN_COMMENT_MAX);
    } else if (!allow_bare) {
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: expected an \"" UNTRUSTED_PREFIX "\" line and a base64 line",
                        what);
    }
    size_t got = 0;
    if (data.n != flt_base64_encoded_len(want) || !flt_base64_decode(data.p, data.n, blob, want, &got) || got != want)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s: line %zu is not base64 of %zu bytes", what, nl, want);
    if (memcmp(blob, "Ed", 2) != 0)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "%s: signature algorithm '%c%c' (only Ed25519 \"Ed\" keys exist)",
                        what, blob[0] >= 0x20 && blob[0] < 0x7f ? blob[0] : '?',
                        blob[1] >= 0x20 && blob[1] < 0x7f ? blob[1] : '?');
    return FLINTRT_OK;
}

flintrt_status flt_minisign_pubkey_parse(const char *text, size_t n, flt_minisign_pubkey *out, flt_err *e) {
    if (!out) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "public key: out is NULL");
    uint8_t blob[PK_BLOB];
    flintrt_status st = parse_keyfile(text, n, "public key", true, blob, sizeof blob, e);
    if (st) return st;
    memcpy(out->keynum, blob + 2, FLT_MINISIGN_KEYNUM_BYTES);
    memcpy(out->pk, blob + 2 + FLT_MINISIGN_KEYNUM_BYTES, FLT_MINISIGN_PK_BYTES);
    return FLINTRT_OK;
}

static bool all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

#ifdef FLT_HAVE_SODIUM
static uint64_t load_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
#endif

static void wipe(void *p, size_t n) {
#ifdef FLT_HAVE_SODIUM
    sodium_memzero(p, n);
#else
    volatile uint8_t *v = p;
    while (n--) *v++ = 0;
#endif
}

flintrt_status flt_minisign_seckey_parse(const char *text, size_t n, const char *password,
                                         flt_minisign_seckey *out, flt_err *e) {
    if (!out) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "secret key: out is NULL");
    uint8_t blob[SK_BLOB];
    flintrt_status st = parse_keyfile(text, n, "secret key", false, blob, sizeof blob, e);
    if (st) return st;
    bool encrypted = false;
    if (memcmp(blob + 2, "Sc", 2) == 0)
        encrypted = true;
    else if (blob[2] == 0 && blob[3] == 0)
        encrypted = false;
    else
        st = flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "secret key: unknown key derivation (only scrypt \"Sc\" or none)");
    if (!st && memcmp(blob + 4, "B2", 2) != 0)
        st = flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "secret key: unknown checksum algorithm (only BLAKE2b \"B2\")");
    uint8_t *keynum_sk = blob + 6 + SK_KDF_SALT + 16; /* key id | secret key | checksum: 104 bytes */
    if (!st && encrypted) {
#ifdef FLT_HAVE_SODIUM
        uint64_t ops = load_le64(blob + 6 + SK_KDF_SALT), mem = load_le64(blob + 6 + SK_KDF_SALT + 8);
        if (!password)
            st = flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "secret key: it is encrypted and no password was given");
        else if (ops > SK_MAX_OPSLIMIT || mem > SK_MAX_MEMLIMIT)
            st = flt_fail(e, FLINTRT_ERR_LIMIT, "secret key: scrypt cost (ops %llu, memory %llu) above Flint's cap",
                          (unsigned long long)ops, (unsigned long long)mem);
        else if (sodium_init() < 0)
            st = flt_fail(e, FLINTRT_ERR_INTERNAL, "libsodium failed to initialise");
        else {
            uint8_t stream[104];
            if (crypto_pwhash_scryptsalsa208sha256(stream, sizeof stream, password, strlen(password),
                                                   blob + 6, (unsigned long long)ops, (size_t)mem) != 0)
                st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "secret key: scrypt key derivation failed");
            else
                for (size_t i = 0; i < sizeof stream; i++) keynum_sk[i] ^= stream[i];
            wipe(stream, sizeof stream);
        }
#else
        (void)password;
        st = flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "secret key: decrypting needs libsodium (Flint was built without it)");
#endif
    }
    const uint8_t *chk = keynum_sk + FLT_MINISIGN_KEYNUM_BYTES + FLT_MINISIGN_SK_BYTES;
    /* `minisign -W` (0.11) leaves the checksum of an unencrypted key zero; any other
     * checksum is checked (it is what detects a wrong password). */
    if (!st && (encrypted || !all_zero(chk, 32))) {
#ifdef FLT_HAVE_SODIUM
        uint8_t want[32];
        crypto_generichash_state h;
        if (sodium_init() < 0) {
            st = flt_fail(e, FLINTRT_ERR_INTERNAL, "libsodium failed to initialise");
        } else {
            crypto_generichash_init(&h, NULL, 0, sizeof want);
            crypto_generichash_update(&h, blob, 2);
            crypto_generichash_update(&h, keynum_sk, FLT_MINISIGN_KEYNUM_BYTES + FLT_MINISIGN_SK_BYTES);
            crypto_generichash_final(&h, want, sizeof want);
            if (sodium_memcmp(want, chk, sizeof want) != 0)
                st = flt_fail(e, encrypted ? FLINTRT_ERR_INVALID_ARGUMENT : FLINTRT_ERR_FORMAT,
                              encrypted ? "secret key: wrong password (checksum mismatch)"
                                        : "secret key: checksum mismatch (the key file is damaged)");
        }
#else
        st = flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "secret key: checking it needs libsodium (Flint was built without it)");
#endif
    }
    if (!st) {
        memcpy(out->keynum, keynum_sk, FLT_MINISIGN_KEYNUM_BYTES);
        memcpy(out->sk, keynum_sk + FLT_MINISIGN_KEYNUM_BYTES, FLT_MINISIGN_SK_BYTES);
#ifdef FLT_HAVE_SODIUM
        /* the public half stored in the key must be the one its seed makes */
        uint8_t pk[32], sk[64];
        if (sodium_init() < 0 || crypto_sign_seed_keypair(pk, sk, out->sk) != 0 ||
            sodium_memcmp(pk, out->sk + 32, 32) != 0)
            st = flt_fail(e, FLINTRT_ERR_FORMAT, "secret key: its public half does not match its seed");
        wipe(sk, sizeof sk);
#endif
        if (st) wipe(out, sizeof *out);
    }
    wipe(blob, sizeof blob);
    return st;
}

flintrt_status flt_minisign_sig_parse(const char *text, size_t n, flt_minisign_sig *out, flt_err *e) {
    if (!out) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "signature: out is NULL");
    flintrt_status st = check_text(text, n, "signature", e);
    if (st) return st;
    line lines[4];
    size_t nl = split_lines(text ? text : "", n, lines, 4);
    if (nl != 4) return flt_fail(e, FLINTRT_ERR_FORMAT, "signature: expected 4 lines, found %s%zu", nl > 4 ? "more than " : "", nl > 4 ? (size_t)4 : nl);
    if (!has_prefix(lines[0], UNTRUSTED_PREFIX))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "signature: line 1 does not start with \"" UNTRUSTED_PREFIX "\"");
    if (lines[0].n - strlen(UNTRUSTED_PREFIX) > FLT_MINISIGN_COMMENT_MAX)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "signature: untrusted comment longer than %d bytes", FLT_MINISIGN_COMMENT_MAX);
    uint8_t blob[SIG_BLOB];
    size_t got = 0;
    if (lines[1].n != flt_base64_encoded_len(sizeof blob) ||
        !flt_base64_decode(lines[1].p, lines[1].n, blob, sizeof blob, &got) || got != sizeof blob)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "signature: line 2 is not base64 of %d bytes", SIG_BLOB);
    if (memcmp(blob, "ED", 2) == 0)
        out->prehashed = true;
    else if (memcmp(blob, "Ed", 2) == 0)
        out->prehashed = false;
    else
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "signature: unknown algorithm (only \"ED\" and legacy \"Ed\")");
    if (!has_prefix(lines[2], TRUSTED_PREFIX))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "signature: line 3 does not start with \"" TRUSTED_PREFIX "\"");
    size_t tcn = lines[2].n - strlen(TRUSTED_PREFIX);
    if (tcn > FLT_MINISIGN_TRUSTED_COMMENT_MAX)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "signature: trusted comment longer than %d bytes",
                        FLT_MINISIGN_TRUSTED_COMMENT_MAX);
    if (lines[3].n != flt_base64_encoded_len(FLT_MINISIGN_SIG_BYTES) ||
        !flt_base64_decode(lines[3].p, lines[3].n, out->global_sig, sizeof out->global_sig, &got) ||
        got != FLT_MINISIGN_SIG_BYTES)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "signature: line 4 is not base64 of %d bytes", FLT_MINISIGN_SIG_BYTES);
    memcpy(out->keynum, blob + 2, FLT_MINISIGN_KEYNUM_BYTES);
    memcpy(out->sig, blob + 2 + FLT_MINISIGN_KEYNUM_BYTES, FLT_MINISIGN_SIG_BYTES);
    memcpy(out->trusted_comment, lines[2].p + strlen(TRUSTED_PREFIX), tcn);
    out->trusted_comment[tcn] = '\0';
    out->trusted_comment_len = tcn;
    return FLINTRT_OK;
}

void flt_minisign_keyid_hex(const uint8_t keynum[FLT_MINISIGN_KEYNUM_BYTES], char buf[17]) {
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 8; i++) {
        buf[2 * i] = hex[keynum[7 - i] >> 4];
        buf[2 * i + 1] = hex[keynum[7 - i] & 15];
    }
    buf[16] = '\0';
}

void flt_minisign_seckey_public(const flt_minisign_seckey *sk, flt_minisign_pubkey *pk) {
    memcpy(pk->keynum, sk->keynum, sizeof pk->keynum);
    memcpy(pk->pk, sk->sk + 32, sizeof pk->pk);
}

#ifdef FLT_HAVE_SODIUM
#define NEED_SODIUM(e) \
    if (sodium_init() < 0) return flt_fail(e, FLINTRT_ERR_INTERNAL, "libsodium failed to initialise")
#else
#define NEED_SODIUM(e) \
    return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "signatures need libsodium (Flint was built without it)")
#endif

flintrt_status flt_minisign_prehash(const void *data, size_t n, uint8_t out[64], flt_err *e) {
    NEED_SODIUM(e);
#ifdef FLT_HAVE_SODIUM
    crypto_generichash(out, 64, data, n, NULL, 0);
    return FLINTRT_OK;
#else
    (void)data, (void)n, (void)out;
#endif
}

flintrt_status flt_minisign_verify(const flt_minisign_sig *sig, const flt_minisign_pubkey *pk,
                                   const void *data, size_t n, const uint8_t prehash[64],
                                   bool allow_legacy, flt_err *e) {
    if (!sig || !pk) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "verify: signature and key are required");
    char want[17], got[17];
    flt_minisign_keyid_hex(pk->keynum, want);
    flt_minisign_keyid_hex(sig->keynum, got);
    if (memcmp(sig->keynum, pk->keynum, FLT_MINISIGN_KEYNUM_BYTES) != 0)
        return flt_fail(e, FLINTRT_ERR_SIGNATURE, "untrusted key: signed by key %s, not by key %s", got, want);
    if (!sig->prehashed && !allow_legacy)
        return flt_fail(e, FLINTRT_ERR_SIGNATURE,
                        "legacy signature refused: it signs the file itself (\"Ed\"), not its BLAKE2b-512 hash "
                        "(allow it explicitly, or re-sign without `minisign -l`)");
    NEED_SODIUM(e);
#ifdef FLT_HAVE_SODIUM
    int bad;
    if (sig->prehashed) {
        if (!prehash) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "verify: no prehash");
        bad = crypto_sign_verify_detached(sig->sig, prehash, 64, pk->pk);
    } else {
        if (!data && n) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "verify: no data");
        bad = crypto_sign_verify_detached(sig->sig, data ? data : (const void *)"", n, pk->pk);
    }
    if (bad)
        return flt_fail(e, FLINTRT_ERR_SIGNATURE,
                        "tampered: the signature by key %s does not match the file's contents", got);
    uint8_t buf[FLT_MINISIGN_SIG_BYTES + FLT_MINISIGN_TRUSTED_COMMENT_MAX];
    size_t tcn = sig->trusted_comment_len;
    if (tcn > FLT_MINISIGN_TRUSTED_COMMENT_MAX) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "verify: comment too long");
    memcpy(buf, sig->sig, FLT_MINISIGN_SIG_BYTES);
    memcpy(buf + FLT_MINISIGN_SIG_BYTES, sig->trusted_comment, tcn);
    if (crypto_sign_verify_detached(sig->global_sig, buf, FLT_MINISIGN_SIG_BYTES + tcn, pk->pk) != 0)
        return flt_fail(e, FLINTRT_ERR_SIGNATURE,
                        "tampered: the file matches but the trusted comment was altered (global signature invalid)");
    return FLINTRT_OK;
#else
    (void)data, (void)n, (void)prehash;
#endif
}

flintrt_status flt_minisign_keygen(flt_minisign_pubkey *pk, flt_minisign_seckey *sk, flt_err *e) {
    NEED_SODIUM(e);
#ifdef FLT_HAVE_SODIUM
    uint8_t pub[32];
    randombytes_buf(sk->keynum, sizeof sk->keynum);
    if (crypto_sign_keypair(pub, sk->sk) != 0) return flt_fail(e, FLINTRT_ERR_INTERNAL, "key generation failed");
    flt_minisign_seckey_public(sk, pk);
    return FLINTRT_OK;
#else
    (void)pk, (void)sk;
#endif
}

/* "untrusted comment: <comment>\n<base64 of blob>\n" */
static flintrt_status format_file(const char *comment, const uint8_t *blob, size_t n, char **out, flt_err *e) {
    size_t len = strlen(UNTRUSTED_PREFIX) + strlen(comment) + 1 + flt_base64_encoded_len(n) + 2;
    char *s = malloc(len);
    if (!s) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "key file text");
    size_t o = (size_t)snprintf(s, len, UNTRUSTED_PREFIX "%s\n", comment);
    flt_base64_encode(blob, n, s + o);
    o += flt_base64_encoded_len(n);
    s[o++] = '\n';
    s[o] = '\0';
    *out = s;
    return FLINTRT_OK;
}

flintrt_status flt_minisign_pubkey_format(const flt_minisign_pubkey *pk, char **out, flt_err *e) {
    uint8_t blob[PK_BLOB];
    memcpy(blob, "Ed", 2);
    memcpy(blob + 2, pk->keynum, 8);
    memcpy(blob + 10, pk->pk, 32);
    char comment[64], id[17];
    flt_minisign_keyid_hex(pk->keynum, id);
    snprintf(comment, sizeof comment, "minisign public key %s", id);
    return format_file(comment, blob, sizeof blob, out, e);
}

flintrt_status flt_minisign_seckey_format(const flt_minisign_seckey *sk, char **out, flt_err *e) {
    NEED_SODIUM(e);
#ifdef FLT_HAVE_SODIUM
    uint8_t blob[SK_BLOB];
    memset(blob, 0, sizeof blob);
    memcpy(blob, "Ed", 2); /* kdf 00 00: not encrypted; salt and limits unused (zero) */
    memcpy(blob + 4, "B2", 2);
    uint8_t *keynum_sk = blob + 6 + SK_KDF_SALT + 16;
    memcpy(keynum_sk, sk->keynum, 8);
    memcpy(keynum_sk + 8, sk->sk, 64);
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, blob, 2);
    crypto_generichash_update(&h, keynum_sk, 72);
    crypto_generichash_final(&h, keynum_sk + 72, 32);
    flintrt_status st = format_file("flint secret key (not encrypted)", blob, sizeof blob, out, e);
    wipe(blob, sizeof blob);
    return st;
#else
    (void)sk, (void)out;
#endif
}

flintrt_status flt_minisign_sign(const flt_minisign_seckey *sk, const uint8_t prehash[64],
                                 const char *trusted_comment, char **out, flt_err *e) {
    size_t tcn = trusted_comment ? strlen(trusted_comment) : 0;
    if (tcn > FLT_MINISIGN_TRUSTED_COMMENT_MAX)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "trusted comment longer than %d bytes",
                        FLT_MINISIGN_TRUSTED_COMMENT_MAX);
    if (tcn && strpbrk(trusted_comment, "\r\n"))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "trusted comment must be one line");
    NEED_SODIUM(e);
#ifdef FLT_HAVE_SODIUM
    uint8_t blob[SIG_BLOB], global[64];
    uint8_t buf[FLT_MINISIGN_SIG_BYTES + FLT_MINISIGN_TRUSTED_COMMENT_MAX];
    memcpy(blob, "ED", 2);
    memcpy(blob + 2, sk->keynum, 8);
    crypto_sign_detached(blob + 10, NULL, prehash, 64, sk->sk);
    memcpy(buf, blob + 10, 64);
    if (tcn) memcpy(buf + 64, trusted_comment, tcn);
    crypto_sign_detached(global, NULL, buf, 64 + tcn, sk->sk);
    size_t len = 128 + flt_base64_encoded_len(SIG_BLOB) + tcn + flt_base64_encoded_len(64);
    char *s = malloc(len);
    if (!s) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "signature text");
    char b1[128], b2[128];
    flt_base64_encode(blob, sizeof blob, b1);
    flt_base64_encode(global, sizeof global, b2);
    snprintf(s, len, UNTRUSTED_PREFIX "signature from flint secret key\n%s\n" TRUSTED_PREFIX "%s\n%s\n", b1,
             tcn ? trusted_comment : "", b2);
    *out = s;
    return FLINTRT_OK;
#else
    (void)sk, (void)prehash, (void)out;
#endif
}
