/* SHA-256 of model files (libsodium) and the canonical manifest of multi-file models. */
#include "trust/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/checked.h"

#ifdef FLT_HAVE_SODIUM
#include <sodium.h>
#endif

#define CHUNK ((size_t)1 << 20)
#define NAME_MAX_BYTES 4096

#ifndef FLT_HAVE_SODIUM
static flintrt_status no_sodium(flt_err *e) {
    return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "digests need libsodium (Flint was built without it)");
}
#endif

flintrt_status flt_digest_buffer(const void *data, size_t n, uint8_t sha256[32], uint8_t *blake2b512,
                                 flt_err *e) {
    if (!data && n) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "digest: no data");
#ifdef FLT_HAVE_SODIUM
    if (sodium_init() < 0) return flt_fail(e, FLINTRT_ERR_INTERNAL, "libsodium failed to initialise");
    crypto_hash_sha256_state s;
    crypto_generichash_state b;
    crypto_hash_sha256_init(&s);
    if (blake2b512) crypto_generichash_init(&b, NULL, 0, 64);
    const uint8_t *p = data;
    /* chunk by chunk so both hashes read each page while it is in cache */
    for (size_t off = 0; off < n;) {
        size_t k = n - off < CHUNK ? n - off : CHUNK;
        crypto_hash_sha256_update(&s, p + off, k);
        if (blake2b512) crypto_generichash_update(&b, p + off, k);
        off += k;
    }
    crypto_hash_sha256_final(&s, sha256);
    if (blake2b512) crypto_generichash_final(&b, blake2b512, 64);
    return FLINTRT_OK;
#else
    (void)sha256, (void)blake2b512;
    return no_sodium(e);
#endif
}

flintrt_status flt_digest_file(const char *path, uint8_t sha256[32], flt_err *e) {
    if (!path) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "digest: no path");
#ifdef FLT_HAVE_SODIUM
    if (sodium_init() < 0) return flt_fail(e, FLINTRT_ERR_INTERNAL, "libsodium failed to initialise");
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return flt_fail(e, FLINTRT_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        close(fd);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "digest buffer");
    }
    crypto_hash_sha256_state s;
    crypto_hash_sha256_init(&s);
    flintrt_status st = FLINTRT_OK;
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = flt_fail(e, FLINTRT_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (r == 0) break;
        crypto_hash_sha256_update(&s, buf, (unsigned long long)r);
    }
    free(buf);
    close(fd);
    if (!st) crypto_hash_sha256_final(&s, sha256);
    return st;
#else
    (void)sha256;
    return no_sodium(e);
#endif
}

void flt_hex(const uint8_t *p, size_t n, char *out) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

bool flt_manifest_name_ok(const char *name, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    if (!name || !*name) return *why = "empty name", false;
    size_t n = strlen(name);
    if (n > NAME_MAX_BYTES) return *why = "name longer than 4096 bytes", false;
    if (name[0] == '/') return *why = "absolute path", false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f) return *why = "control byte in name", false;
        if (c == '\\') return *why = "backslash in name (use '/')", false;
    }
    for (const char *seg = name;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0) return *why = "empty path segment", false;
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return *why = "'.' or '..' segment", false;
        if (!end) break;
        seg = end + 1;
    }
    return true;
}

static int by_name(const void *a, const void *b) {
    /* strcmp compares as unsigned char: bytewise, like LC_ALL=C sort */
    return strcmp(((const flt_manifest_item *)a)->name, ((const flt_manifest_item *)b)->name);
}

flintrt_status flt_manifest_build(flt_manifest_item *items, size_t n, char **text, size_t *len,
                                  uint8_t *sha256, flt_err *e) {
    *text = NULL;
    *len = 0;
    if (!items && n) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "manifest: no entries");
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *why;
        if (!flt_manifest_name_ok(items[i].name, &why))
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "manifest entry %zu: %s", i, why);
        size_t line = 64 + 2 + strlen(items[i].name) + 1;
        if (!flt_add_size(total, line, &total)) return flt_fail(e, FLINTRT_ERR_LIMIT, "manifest too large");
    }
    if (n > 1) qsort(items, n, sizeof *items, by_name);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(items[i - 1].name, items[i].name))
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "manifest: file '%s' listed twice", items[i].name);
    char *s = malloc(total + 1);
    if (!s) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "manifest text");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        flt_hex(items[i].sha256, 32, s + o);
        o += 64;
        s[o++] = ' ';
        s[o++] = ' ';
        size_t k = strlen(items[i].name);
        memcpy(s + o, items[i].name, k);
        o += k;
        s[o++] = '\n';
    }
    s[o] = '\0';
    if (sha256) {
        flintrt_status st = flt_digest_buffer(s, o, sha256, NULL, e);
        if (st) {
            free(s);
            return st;
        }
    }
    *text = s;
    *len = o;
    return FLINTRT_OK;
}
