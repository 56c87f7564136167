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

#endif
