/* What the packers of the K-quant layouts share across kernel sets: reading a
 * plain row's super-block. Packing runs once at load, so plain C; the sets
 * differ only in panel height (16 rows for AVX-512, 8 for AVX2: one vector of
 * 32-bit lanes). Internal to src/cpu. */
#ifndef FLT_CPU_PACKED_K_UTIL_H
#define FLT_CPU_PACKED_K_UTIL_H

#include <stdint.h>
#include <string.h>

#include "core/quant_blocks.h"

/* Super-block b of row `row` of a plain Q6_K matrix (rows ws bytes apart): its
 * 256 quants (0..63) in column order, 16 scales and f16 d; all zero for a row
 * at or past `rows` (the padding of a last panel). */
static inline void flt_q6k_read_block(const void *w, size_t ws, int64_t rows, int64_t row, int64_t b,
                                      uint8_t q[FLT_QK_K], int8_t sc[16], uint16_t *d) {
    if (row >= rows) {
        memset(q, 0, FLT_QK_K);
        memset(sc, 0, 16);
        *d = 0;
        return;
    }
    const flt_block_q6_k *x = (const flt_block_q6_k *)((const char *)w + (size_t)row * ws) + b;
    for (int p = 0; p < FLT_QK_K; p++) {
        const int h = p / 128, g = p % 128 / 32, l = p % 32;
        const uint8_t lo = x->ql[64 * h + l + 32 * (g & 1)];
        const int nib = g < 2 ? lo & 0x0f : lo >> 4;
        q[p] = (uint8_t)(nib | ((x->qh[32 * h + l] >> (2 * g)) & 3) << 4);
    }
    memcpy(sc, x->scales, 16);
    memcpy(d, &x->d, sizeof *d);
}

/* Q4_K panels [p0, p1) of pr rows, the layout of both sets (packed size =
 * plain size, 144 * pr bytes per panel and super-block). Per super-block, with
 * V = 4 * pr (the bytes of one vector whose 32-bit lane r is row r):
 *   [0, 2pr) the rows' d, [2pr, 4pr) their dmin (binary16);
 *   [4pr, 16pr) the 12 scale bytes as three vectors: lane r of vector k holds
 *     bytes 4k..4k+3 of row r;
 *   [16pr, 144pr) qs: for chunk c (0..3) and group g (0..7) the vector at
 *     16pr + 8V c + V g whose lane r is row r's qs[32c + 4g ..+3] (low nibbles:
 *     sub-block 2c, high nibbles: sub-block 2c + 1).
 * Rows at or past `rows` are zero. */
static inline void flt_q4k_pack_panels(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1,
                                       void *dst, int pr) {
    const int64_t nb = cols / FLT_QK_K;
    const size_t sb = (size_t)144 * (size_t)pr, pb = (size_t)nb * sb, v = (size_t)4 * (size_t)pr;
    for (int64_t p = p0; p < p1; p++) {
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *o = (uint8_t *)dst + (size_t)p * pb + (size_t)b * sb;
            memset(o, 0, sb);
            for (int r = 0; r < pr; r++) {
                const int64_t row = p * pr + r;
                if (row >= rows) break;
                const flt_block_q4_k *x = (const flt_block_q4_k *)((const char *)w + (size_t)row * ws) + b;
                memcpy(o + 2 * r, &x->d, 2);
                memcpy(o + 2 * (size_t)pr + 2 * r, &x->dmin, 2);
                for (int k = 0; k < 3; k++) memcpy(o + v + v * (size_t)k + 4 * r, x->scales + 4 * k, 4);
                for (int c = 0; c < 4; c++)
                    for (int g = 0; g < 8; g++)
                        memcpy(o + 4 * v + 8 * v * (size_t)c + v * (size_t)g + 4 * r, x->qs + 32 * c + 4 * g, 4);
            }
        }
    }
}

#endif
