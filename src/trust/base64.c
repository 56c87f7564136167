/* Strict base64 for minisign keys and signatures (see base64.h). */
#include "trust/base64.h"

static const char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool flt_base64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *out_len) {
    if (n % 4 != 0) return false;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)s[i + (size_t)j];
            if (c == '=' && last && j >= 2) {
                pad++;
                v[j] = 0;
                continue;
            }
            if (pad) return false; /* a data character after '=' */
            v[j] = b64_value(c);
            if (v[j] < 0) return false;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        size_t nb = 3 - (size_t)pad;
        /* canonical form: the bits below the last whole byte are zero */
        if (pad == 1 && (w & 0xffu)) return false;
        if (pad == 2 && (w & 0xffffu)) return false;
        if (o > cap || nb > cap - o) return false;
        out[o++] = (uint8_t)(w >> 16);
        if (nb > 1) out[o++] = (uint8_t)(w >> 8);
        if (nb > 2) out[o++] = (uint8_t)w;
    }
    *out_len = o;
    return true;
}

size_t flt_base64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }

void flt_base64_encode(const uint8_t *in, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16;
        if (i + 1 < n) w |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) w |= in[i + 2];
        out[o++] = k_alphabet[(w >> 18) & 63];
        out[o++] = k_alphabet[(w >> 12) & 63];
        out[o++] = i + 1 < n ? k_alphabet[(w >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? k_alphabet[w & 63] : '=';
    }
    out[o] = '\0';
}
