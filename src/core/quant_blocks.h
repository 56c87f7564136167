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
_Static_assert(offsetof(flt_block_q8_0, qs) == 2, "Q8_0 qs follows d");
_Static_assert(offsetof(flt_block_q4_0, qs) == 2, "Q4_0 qs follows d");

#endif
