/* Quantized block layouts. Byte-identical to the GGUF/ggml blocks of the same
 * name, so weights from any GGUF file can be viewed in place (zero-copy).
 * All fields are little-endian on disk; Flint targets little-endian hosts. */
#ifndef FLT_CORE_QUANT_BLOCKS_H
#define FLT_CORE_QUANT_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#define FLT_QK8_0 32
#define FLT_QK4_0 32
#define FLT_QK_K 256         /* super-block of the K-quants */

/* 32 elements: value[i] = qs[i] * d. */
typedef struct flt_block_q8_0 {
    uint16_t d;              /* scale, IEEE binary16 bits */
    int8_t qs[FLT_QK8_0];
} flt_block_q8_0;

/* 32 elements: byte j holds element j in its low nibble and element j+16 in
 * its high nibble; value = (nibble - 8) * d. */
typedef struct flt_block_q4_0 {
    uint16_t d;              /* scale, IEEE binary16 bits */
    uint8_t qs[FLT_QK4_0 / 2];
} flt_block_q4_0;

/* 256 elements in two halves of 128; each half holds four groups of 32
 * (group g = elements 32g..32g+31 of the half), and each group two
 * sub-blocks of 16 with their own scale. For element l (0..31) of group g in
 * half h, the 6-bit q (0..63) is
 *   low 4 bits:  ql[64h + l + 32*(g & 1)], low nibble for g < 2, high for g >= 2
 *   high 2 bits: qh[32h + l], bits 2g..2g+1
 * and value = d * scales[(128h + 32g + l) / 16] * (q - 32). */
typedef struct flt_block_q6_k {
    uint8_t ql[FLT_QK_K / 2];
    uint8_t qh[FLT_QK_K / 4];
    int8_t scales[FLT_QK_K / 16];
    uint16_t d;              /* super-block scale, IEEE binary16 bits */
} flt_block_q6_k;

/* Q2_K..Q5_K (element p of a 256-block; "half" h = p / 128, "group"
 * g = p % 128 / 32, l = p % 32). Weights with a min are value = d * sc * q -
 * dmin * m; without (Q3_K), value = d * sc * q. */

/* 16 sub-blocks of 16. scales[p / 16]: scale in the low nibble, min in the
 * high; q (0..3) = (qs[32h + l] >> 2g) & 3. */
typedef struct flt_block_q2_k {
    uint8_t scales[FLT_QK_K / 16];
    uint8_t qs[FLT_QK_K / 4];
    uint16_t d;              /* scale of the scales, IEEE binary16 bits */
    uint16_t dmin;           /* scale of the mins, IEEE binary16 bits */
} flt_block_q2_k;

/* 16 sub-blocks of 16, no min. q (-4..3) = ((qs[32h + l] >> 2g) & 3) - 4,
 * plus 4 when bit p / 32 of hmask[p % 32] is set. scales: sixteen 6-bit
 * values biased by 32, packed as quant_k_util.h's flt_k_scale_q3 reads them. */
typedef struct flt_block_q3_k {
    uint8_t hmask[FLT_QK_K / 8];
    uint8_t qs[FLT_QK_K / 4];
    uint8_t scales[12];
    uint16_t d;
} flt_block_q3_k;

/* 8 sub-blocks of 32 with 6-bit scales and mins packed into 12 bytes
 * (flt_k_scale_min_k4). q (0..15) of element p: qs[32 * (p / 64) + l], low
 * nibble when p % 64 < 32, else high. */
typedef struct flt_block_q4_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qs[FLT_QK_K / 2];
} flt_block_q4_k;

/* Q4_K plus a fifth bit: bit p / 32 of qh[p % 32] adds 16 (q 0..31). */
typedef struct flt_block_q5_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[FLT_QK_K / 8];
    uint8_t qs[FLT_QK_K / 2];
} flt_block_q5_k;

/* The activation side of K-quant dot products (never stored in files):
 * value[i] = qs[i] * d. bsums[j] = the sum of qs[16j..16j+15], which SIMD dot
 * kernels use to apply an offset such as Q6_K's -32 once per sub-block; every
 * Flint writer keeps it consistent with qs. d is a plain float, so unlike the
 * other blocks this one needs 4-byte alignment. */
typedef struct flt_block_q8_k {
    float d;
    int8_t qs[FLT_QK_K];
    int16_t bsums[FLT_QK_K / 16];
} flt_block_q8_k;

/* ---- Q4_1, Q5_0, Q5_1, Q8_1 (32 elements; dtype_legacy.c) ----------------
 * As in Q4_0, byte j of qs holds element j in its low nibble and element
 * j+16 in its high nibble. The Q5 types keep each element's fifth bit in qh,
 * read as one little-endian uint32: bit j belongs to element j. */
#define FLT_QK4_1 32
#define FLT_QK5_0 32
#define FLT_QK5_1 32
#define FLT_QK8_1 32

/* value = nibble * d + m */
typedef struct flt_block_q4_1 {
    uint16_t d;              /* scale, IEEE binary16 bits */
    uint16_t m;              /* minimum (offset), binary16 */
    uint8_t qs[FLT_QK4_1 / 2];
} flt_block_q4_1;

/* value = (q - 16) * d, q = nibble | fifth bit << 4 */
typedef struct flt_block_q5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[FLT_QK5_0 / 2];
} flt_block_q5_0;

/* value = q * d + m, q = nibble | fifth bit << 4 */
typedef struct flt_block_q5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[FLT_QK5_1 / 2];
} flt_block_q5_1;

/* The activation side of Q4_1/Q5_1 dot products: value = qs[i] * d, and s =
 * binary16(d * sum(qs)), which lets a kernel apply the weights' offset m
 * once per block (m * s) instead of per element. s is rounded, so such a
 * dot differs from the dequantized one by up to |m| * |s - d * sum(qs)| per
 * block, exactly as in ggml. */
typedef struct flt_block_q8_1 {
    uint16_t d;
    uint16_t s;
    int8_t qs[FLT_QK8_1];
} flt_block_q8_1;

/* ---- IQ4_NL, IQ4_XS (dtype_iq4.c) -----------------------------------------
 * 4-bit indices into one fixed non-linear table of 16 int8 values,
 * flt_iq4nl_values; nibble order as in Q4_0 within each 32 elements. */
#define FLT_QK4_NL 32

/* value = d * flt_iq4nl_values[nibble] */
typedef struct flt_block_iq4_nl {
    uint16_t d;
    uint8_t qs[FLT_QK4_NL / 2];
} flt_block_iq4_nl;

/* 256 elements in eight sub-blocks of 32 (qs[16 * ib ..] for sub-block ib),
 * each with a 6-bit scale ls: low 4 bits in scales_l[ib / 2] (low nibble for
 * even ib), high 2 bits in scales_h bits 2ib..2ib+1. value = d * (ls - 32) *
 * flt_iq4nl_values[nibble]. */
typedef struct flt_block_iq4_xs {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[FLT_QK_K / 64];
    uint8_t qs[FLT_QK_K / 2];
} flt_block_iq4_xs;

/* The table every IQ4 block indexes (ggml's kvalues_iq4nl), ascending. */
extern const int8_t flt_iq4nl_values[16];

/* The on-disk sizes are part of the file format: any padding would silently
 * misread every block after the first. */
_Static_assert(sizeof(flt_block_q8_0) == 34, "Q8_0 block must be 34 bytes");
_Static_assert(sizeof(flt_block_q4_0) == 18, "Q4_0 block must be 18 bytes");
_Static_assert(sizeof(flt_block_q6_k) == 210, "Q6_K block must be 210 bytes");
_Static_assert(sizeof(flt_block_q8_k) == 292, "Q8_K block must be 292 bytes");
_Static_assert(offsetof(flt_block_q6_k, qh) == 128 && offsetof(flt_block_q6_k, scales) == 192 &&
               offsetof(flt_block_q6_k, d) == 208, "Q6_K field layout");
_Static_assert(offsetof(flt_block_q8_k, qs) == 4 && offsetof(flt_block_q8_k, bsums) == 260, "Q8_K field layout");
_Static_assert(sizeof(flt_block_q2_k) == 84 && offsetof(flt_block_q2_k, qs) == 16 &&
               offsetof(flt_block_q2_k, d) == 80 && offsetof(flt_block_q2_k, dmin) == 82, "Q2_K layout");
_Static_assert(sizeof(flt_block_q3_k) == 110 && offsetof(flt_block_q3_k, qs) == 32 &&
               offsetof(flt_block_q3_k, scales) == 96 && offsetof(flt_block_q3_k, d) == 108, "Q3_K layout");
_Static_assert(sizeof(flt_block_q4_k) == 144 && offsetof(flt_block_q4_k, dmin) == 2 &&
               offsetof(flt_block_q4_k, scales) == 4 && offsetof(flt_block_q4_k, qs) == 16, "Q4_K layout");
_Static_assert(sizeof(flt_block_q5_k) == 176 && offsetof(flt_block_q5_k, scales) == 4 &&
               offsetof(flt_block_q5_k, qh) == 16 && offsetof(flt_block_q5_k, qs) == 48, "Q5_K layout");
_Static_assert(offsetof(flt_block_q8_0, qs) == 2, "Q8_0 qs follows d");
_Static_assert(offsetof(flt_block_q4_0, qs) == 2, "Q4_0 qs follows d");
_Static_assert(sizeof(flt_block_q4_1) == 20 && offsetof(flt_block_q4_1, m) == 2 &&
               offsetof(flt_block_q4_1, qs) == 4, "Q4_1 block layout");
_Static_assert(sizeof(flt_block_q5_0) == 22 && offsetof(flt_block_q5_0, qh) == 2 &&
               offsetof(flt_block_q5_0, qs) == 6, "Q5_0 block layout");
_Static_assert(sizeof(flt_block_q5_1) == 24 && offsetof(flt_block_q5_1, m) == 2 &&
               offsetof(flt_block_q5_1, qh) == 4 && offsetof(flt_block_q5_1, qs) == 8, "Q5_1 block layout");
_Static_assert(sizeof(flt_block_q8_1) == 36 && offsetof(flt_block_q8_1, s) == 2 &&
               offsetof(flt_block_q8_1, qs) == 4, "Q8_1 block layout");
_Static_assert(sizeof(flt_block_iq4_nl) == 18 && offsetof(flt_block_iq4_nl, qs) == 2, "IQ4_NL block layout");
_Static_assert(sizeof(flt_block_iq4_xs) == 136 && offsetof(flt_block_iq4_xs, scales_h) == 2 &&
               offsetof(flt_block_iq4_xs, scales_l) == 4 && offsetof(flt_block_iq4_xs, qs) == 8,
               "IQ4_XS block layout");

#endif
