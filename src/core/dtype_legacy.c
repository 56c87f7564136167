/* Scalar references for Q4_1, Q5_0, Q5_1 (weight formats) and Q8_1 (the
 * activation format Q4_1/Q5_1 weights are dotted with). The quantizers repeat
 * ggml's reference quantizers operation by operation, in float and in the
 * same order, so `flint quantize` writes the bytes llama-quantize writes
 * from the same floats (it uses exactly these references when it has no
 * importance matrix). Layouts: quant_blocks.h. */
#include <float.h>
#include <math.h>

#include "core/dtype.h"
#include "core/quant_blocks.h"

/* Finite inputs already land in [lo, hi] (up to a rounding the truncation
 * that follows absorbs, or that ggml's own min() clamps), so this changes no
 * finite result; it keeps inf/NaN away from an undefined float-to-int
 * conversion. */
static inline float lg_clamp_nan0(float v, float lo, float hi) {
    if (v != v) return 0.0f;
    return v < lo ? lo : v > hi ? hi : v;
}

/* Smallest and largest value of a block, scanned as ggml scans them (so a
 * NaN is skipped, and min/max start at +-FLT_MAX, not at x[0]). */
static inline void lg_min_max(const float *x, int n, float *min, float *max) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *min = lo;
    *max = hi;
}

/* The signed value of largest magnitude (the first one, on ties). */
static inline float lg_signed_max(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
    }
    return max;
}

/* q * d + m for the offset types, as ggml: a multiply, then an add (separate
 * statements, so no compiler setting fuses them into one fma). d and m are
 * two NaN sources, and which payload a NaN sum keeps depends on operand
 * order, which compilers may swap; so a NaN result becomes the default quiet
 * NaN, making every kernel set agree bit for bit. */
static inline float lg_affine(float q, float d, float m) {
    const float p = q * d;
    const float y = p + m;
    return y == y ? y : flt_bits_f32(0x7fc00000u);
}

/* ---- Q4_1: the block's range [min, max] in 15 steps; q = trunc(x' + 0.5),
 * x' = (x - min) / d computed with the unrounded min and 1/d. ---------------- */

void flt_q4_1_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q4_1 *y = dst;
    for (int64_t b = 0; b < n / FLT_QK4_1; b++) {
        const float *x = src + b * FLT_QK4_1;
        float min, max;
        lg_min_max(x, FLT_QK4_1, &min, &max);
        const float d = (max - min) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = flt_f32_to_f16(d);
        y[b].m = flt_f32_to_f16(min);
        for (int j = 0; j < FLT_QK4_1 / 2; j++) {
            const float v0 = (x[j] - min) * id;
            const float v1 = (x[j + FLT_QK4_1 / 2] - min) * id;
            const int q0 = (int)lg_clamp_nan0(v0 + 0.5f, 0.0f, 15.0f);
            const int q1 = (int)lg_clamp_nan0(v1 + 0.5f, 0.0f, 15.0f);
            y[b].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void flt_q4_1_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q4_1 *x = src;
    for (int64_t b = 0; b < n / FLT_QK4_1; b++) {
        const float d = flt_f16_to_f32(x[b].d), m = flt_f16_to_f32(x[b].m);
        float *y = dst + b * FLT_QK4_1;
        for (int j = 0; j < FLT_QK4_1 / 2; j++) {
            y[j] = lg_affine((float)(x[b].qs[j] & 0x0f), d, m);
            y[j + FLT_QK4_1 / 2] = lg_affine((float)(x[b].qs[j] >> 4), d, m);
        }
    }
}

/* ---- Q5_0: like Q4_0 with 32 levels: the signed largest maps to -16,
 * q = min(31, trunc(x / d + 16.5)). ------------------------------------------ */

/* The fifth bits as one little-endian word (byte order fixed by the format). */
static inline uint32_t lg_load_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}
static inline void lg_store_qh(uint8_t qh[4], uint32_t v) {
    for (int k = 0; k < 4; k++) qh[k] = (uint8_t)(v >> (8 * k));
}

void flt_q5_0_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q5_0 *y = dst;
    for (int64_t b = 0; b < n / FLT_QK5_0; b++) {
        const float *x = src + b * FLT_QK5_0;
        const float d = lg_signed_max(x, FLT_QK5_0) / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = flt_f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < FLT_QK5_0 / 2; j++) {
            const int q0 = (int)lg_clamp_nan0(x[j] * id + 16.5f, 0.0f, 31.0f);
            const int q1 = (int)lg_clamp_nan0(x[j + FLT_QK5_0 / 2] * id + 16.5f, 0.0f, 31.0f);
            y[b].qs[j] = (uint8_t)((q0 & 0x0f) | (q1 & 0x0f) << 4);
            qh |= (uint32_t)(q0 >> 4) << j | (uint32_t)(q1 >> 4) << (j + FLT_QK5_0 / 2);
        }
        lg_store_qh(y[b].qh, qh);
    }
}

void flt_q5_0_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q5_0 *x = src;
    for (int64_t b = 0; b < n / FLT_QK5_0; b++) {
        const float d = flt_f16_to_f32(x[b].d);
        const uint32_t qh = lg_load_qh(x[b].qh);
        float *y = dst + b * FLT_QK5_0;
        for (int j = 0; j < FLT_QK5_0 / 2; j++) {
            const int q0 = (x[b].qs[j] & 0x0f) | (int)((qh >> j) & 1u) << 4;
            const int q1 = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1u) << 4;
            y[j] = (float)(q0 - 16) * d;
            y[j + FLT_QK5_0 / 2] = (float)(q1 - 16) * d;
        }
    }
}

/* ---- Q5_1: Q4_1 with 31 steps. ---------------------------------------------- */

void flt_q5_1_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q5_1 *y = dst;
    for (int64_t b = 0; b < n / FLT_QK5_1; b++) {
        const float *x = src + b * FLT_QK5_1;
        float min, max;
        lg_min_max(x, FLT_QK5_1, &min, &max);
        const float d = (max - min) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = flt_f32_to_f16(d);
        y[b].m = flt_f32_to_f16(min);
        uint32_t qh = 0;
        for (int j = 0; j < FLT_QK5_1 / 2; j++) {
            /* ggml has no min(31) here: finite data cannot exceed it */
            const int q0 = (int)lg_clamp_nan0((x[j] - min) * id + 0.5f, 0.0f, 31.0f);
            const int q1 = (int)lg_clamp_nan0((x[j + FLT_QK5_1 / 2] - min) * id + 0.5f, 0.0f, 31.0f);
            y[b].qs[j] = (uint8_t)((q0 & 0x0f) | (q1 & 0x0f) << 4);
            qh |= (uint32_t)(q0 >> 4) << j | (uint32_t)(q1 >> 4) << (j + FLT_QK5_1 / 2);
        }
        lg_store_qh(y[b].qh, qh);
    }
}

void flt_q5_1_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q5_1 *x = src;
    for (int64_t b = 0; b < n / FLT_QK5_1; b++) {
        const float d = flt_f16_to_f32(x[b].d), m = flt_f16_to_f32(x[b].m);
        const uint32_t qh = lg_load_qh(x[b].qh);
        float *y = dst + b * FLT_QK5_1;
        for (int j = 0; j < FLT_QK5_1 / 2; j++) {
            const int q0 = (x[b].qs[j] & 0x0f) | (int)((qh >> j) & 1u) << 4;
            const int q1 = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1u) << 4;
            y[j] = lg_affine((float)q0, d, m);
            y[j + FLT_QK5_1 / 2] = lg_affine((float)q1, d, m);
        }
    }
}

/* ---- Q8_1: Q8_0's quantization (d = amax/127, q = roundf(x / d)) plus
 * s = binary16(sum(q) * d) with the unrounded d. ----------------------------- */

void flt_q8_1_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q8_1 *y = dst;
    for (int64_t b = 0; b < n / FLT_QK8_1; b++) {
        const float *x = src + b * FLT_QK8_1;
        float amax = 0.0f;
        for (int j = 0; j < FLT_QK8_1; j++) {
            const float a = fabsf(x[j]);
            amax = amax > a ? amax : a;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = flt_f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < FLT_QK8_1; j++) {
            y[b].qs[j] = (int8_t)roundf(lg_clamp_nan0(x[j] * id, -127.0f, 127.0f));
            sum += y[b].qs[j];
        }
        y[b].s = flt_f32_to_f16((float)sum * d);
    }
}

void flt_q8_1_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q8_1 *x = src;
    for (int64_t b = 0; b < n / FLT_QK8_1; b++) {
        const float d = flt_f16_to_f32(x[b].d);
        for (int j = 0; j < FLT_QK8_1; j++) dst[b * FLT_QK8_1 + j] = (float)x[b].qs[j] * d;
    }
}
