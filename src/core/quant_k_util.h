/* Helpers the K-quant reference quantizers share (dtype_k.c, dtype_k2.c),
 * and the unpacking of the 6-bit scales that Q3_K, Q4_K and Q5_K store. The
 * quantizer helpers reproduce ggml's arithmetic exactly: bit-exactness of the
 * written files depends on them. Internal to src/. */
#ifndef FLT_CORE_QUANT_K_UTIL_H
#define FLT_CORE_QUANT_K_UTIL_H

#include <stdint.h>
#include <string.h>

/* ggml's nearest_int: adding 1.5 * 2^23 leaves round(v) (ties to even, the
 * FPU's mode) in the low mantissa bits. Meant for |v| <= 2^22 - 1; outside that
 * (and for inf/NaN) it still returns a defined value, the same one ggml gets,
 * because it is pure bit manipulation — which matters for bit-exactness on
 * degenerate inputs, and keeps out the undefined float-to-int conversion. */
static inline int32_t flt_k_nearest_int(float v) {
    const float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* Out-of-range ints stored to int8 wrap modulo 256 in ggml (the conversion on
 * every compiler it supports); spelled out so it is not implementation-defined. */
static inline int8_t flt_k_wrap_i8(int32_t v) {
    const uint8_t u = (uint8_t)(uint32_t)v;
    int8_t r;
    memcpy(&r, &u, 1);
    return r;
}

/* Below this a group counts as all zero (ggml's GROUP_MAX_EPS). */
#define FLT_K_GROUP_MAX_EPS 1e-15f

/* Q4_K / Q5_K: eight 6-bit scales and eight 6-bit mins in 12 bytes. Sub-block
 * j < 4: scale = s[j] & 63, min = s[j + 4] & 63. j >= 4: the low four bits
 * sit in the nibbles of s[j + 4] (scale low, min high) and the top two bits in
 * bits 6-7 of s[j - 4] (scale) and s[j] (min). */
static inline void flt_k_scale_min_k4(const uint8_t *s, int j, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 0x0f) | (s[j - 4] >> 6) << 4);
        *m = (uint8_t)((s[j + 4] >> 4) | (s[j] >> 6) << 4);
    }
}

/* Q3_K: sixteen 6-bit scales (stored biased by +32) in 12 bytes. Scale j:
 * low four bits in the low nibble of s[j] (j < 8) or the high nibble of
 * s[j - 8]; top two bits in s[8 + j % 4], bits 2 * (j / 4). Returns the signed
 * scale, -32..31. */
static inline int flt_k_scale_q3(const uint8_t *s, int j) {
    const int lo = j < 8 ? s[j] & 0x0f : s[j - 8] >> 4;
    const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

#endif
