/* Strict standard base64 (RFC 4648 alphabet with '+' '/', '=' padding), as minisign
 * writes it. The decoder refuses anything a canonical encoder would not produce:
 * characters outside the alphabet, missing or extra padding, non-zero pad bits.
 * No libsodium needed, so the key and signature parsers build (and are fuzzed)
 * without it. Thread-safe (no state). */
#ifndef FLT_TRUST_BASE64_H
#define FLT_TRUST_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode exactly n characters of s into out (capacity cap). True with *out_len set
 * on success; false on any malformed input or if the result exceeds cap. */
bool flt_base64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *out_len);

/* Characters (without NUL) that encoding n bytes yields. */
size_t flt_base64_encoded_len(size_t n);
/* Encode n bytes into out, which must hold flt_base64_encoded_len(n) + 1 bytes (NUL-terminated). */
void flt_base64_encode(const uint8_t *in, size_t n, char *out);

#endif
