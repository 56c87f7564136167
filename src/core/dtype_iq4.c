/* Scalar references for IQ4_NL and IQ4_XS: 4-bit indices into one fixed
 * non-linear table. The quantizers repeat, operation by operation and in
 * float, what llama-quantize runs for these types without an importance
 * matrix (ggml's quantize_iq4_nl / quantize_iq4_xs: a fitted scale per 32
 * elements, searched over 15 trial scales with x^2 weights; IQ4_XS then
 * stores those scales as 6-bit multiples of one f16 d). Anything below that
 * looks simplifiable (evaluation order, `!= 0` on floats, the rounding and
 * table-search helpers) is kept for bit-exactness. Layouts: quant_blocks.h. */
#include <math.h>

#include "core/dtype.h"
#include "core/quant_blocks.h"

const int8_t flt_iq4nl_values[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

/* Below this a sub-block counts as all zero (ggml's GROUP_MAX_EPS). */
#define IQ4_GROUP_MAX_EPS 1e-15f
/* Trial scales -IQ4_NTRY..IQ4_NTRY around the largest value's. */
#define IQ4_NTRY 7

/* ggml's nearest_int: 1.5 * 2^23 added leaves round-half-even(v) in the low
 * mantissa bits. Pure bit manipulation, so every input (inf and NaN too)
 * gives a defined int, the same one ggml gets. */
static inline int32_t iq4_nearest_int(float v) {
    const float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* Index of the table value nearest x; the upper one wins unless the lower is
 * strictly nearer (ggml's best_index_int8: a bisection, then one compare). A
 * NaN x falls through to index 15, as in ggml. */
static int iq4_best_index(float x) {
    const int8_t *v = flt_iq4nl_values;
    if (x <= (float)v[0]) return 0;
    if (x >= (float)v[15]) return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (x < (float)v[mid]) hi = mid;
        else lo = mid;
    }
    return x - (float)v[hi - 1] < (float)v[hi] - x ? hi - 1 : hi;
}

/* The fitted scale of 32 values: start from the largest value mapped onto
 * the table's -127, then try id = (k - 127) / max for k = -7..7, keeping the
 * least-squares scale sum(w q x) / sum(w q^2) of whichever assignment gives
 * the largest sum(w q x)^2 / sum(w q^2), with w = x^2. Returns 0 for an
 * (almost) all-zero group. */
static float iq4_fit_scale(const float *x) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++) {
        const float ax = fabsf(x[j]);
        if (ax > amax) { amax = ax; max = x[j]; }
    }
    if (amax < IQ4_GROUP_MAX_EPS) return 0.0f;
    const float v0 = (float)flt_iq4nl_values[0];
    float id = 1.0f / (-max / v0);
    float sumqx = 0.0f, sumq2 = 0.0f;
    for (int j = 0; j < 32; j++) {
        const float q = (float)flt_iq4nl_values[iq4_best_index(id * x[j])];
        const float w = x[j] * x[j];
        sumqx += w * q * x[j];
        sumq2 += w * q * q;
    }
    float d = sumq2 > 0.0f ? sumqx / sumq2 : 0.0f;
    float best = d * sumqx;
    for (int itry = -IQ4_NTRY; itry <= IQ4_NTRY; itry++) {
        id = (float)(itry + flt_iq4nl_values[0]) / max;
        sumqx = sumq2 = 0.0f;
        for (int j = 0; j < 32; j++) {
            const float q = (float)flt_iq4nl_values[iq4_best_index(id * x[j])];
            const float w = x[j] * x[j];
            sumqx += w * q * x[j];
            sumq2 += w * q * q;
        }
        if (sumq2 > 0.0f && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

/* 32 indices -> 16 bytes: element j low nibble, element j+16 high nibble. */
static void iq4_pack32(const uint8_t L[32], uint8_t qs[16]) {
    for (int j = 0; j < 16; j++) qs[j] = (uint8_t)(L[j] | L[j + 16] << 4);
}

/* ---- IQ4_NL ------------------------------------------------------------------
 * d = binary16(fitted scale); the indices are then chosen against the
 * unrounded scale. */

void flt_iq4_nl_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_iq4_nl *y = dst;
    for (int64_t b = 0; b < n / FLT_QK4_NL; b++) {
        const float *x = src + b * FLT_QK4_NL;
        const float d = iq4_fit_scale(x);
        y[b].d = flt_f32_to_f16(d);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint8_t L[32];
        for (int j = 0; j < 32; j++) L[j] = (uint8_t)iq4_best_index(id * x[j]);
        iq4_pack32(L, y[b].qs);
    }
}

void flt_iq4_nl_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_iq4_nl *x = src;
    for (int64_t b = 0; b < n / FLT_QK4_NL; b++) {
        const float d = flt_f16_to_f32(x[b].d);
        float *y = dst + b * FLT_QK4_NL;
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)flt_iq4nl_values[x[b].qs[j] & 0x0f];
            y[j + 16] = d * (float)flt_iq4nl_values[x[b].qs[j] >> 4];
        }
    }
}

/* ---- IQ4_XS ------------------------------------------------------------------
 * Each sub-block's fitted scale becomes l = nearest(scale / d) in [-32, 31]
 * with d = -(signed largest scale)/32, stored as l + 32; the indices are then
 * chosen against d * l (unrounded d). */

void flt_iq4_xs_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_iq4_xs *y = dst;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float *x = src + b * FLT_QK_K;
        float scales[FLT_QK_K / 32];
        float max_scale = 0.0f, amax_scale = 0.0f;
        for (int ib = 0; ib < FLT_QK_K / 32; ib++) {
            scales[ib] = iq4_fit_scale(x + 32 * ib);
            if (fabsf(scales[ib]) > amax_scale) { amax_scale = fabsf(scales[ib]); max_scale = scales[ib]; }
        }
        /* all-zero super-block: d = -0/32 is stored as -0 (0x8000), as ggml does */
        const float d = -max_scale / 32.0f;
        y[b].d = flt_f32_to_f16(d);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t scales_h = 0;
        for (int ib = 0; ib < FLT_QK_K / 32; ib++) {
            int32_t l = iq4_nearest_int(id * scales[ib]);
            l = l < -32 ? -32 : l > 31 ? 31 : l;
            const float dl = d * (float)l;
            const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
            uint8_t L[32];
            for (int j = 0; j < 32; j++) L[j] = (uint8_t)iq4_best_index(idl * x[32 * ib + j]);
            iq4_pack32(L, y[b].qs + 16 * ib);
            const unsigned ls = (unsigned)(l + 32);
            if (ib % 2 == 0) y[b].scales_l[ib / 2] = (uint8_t)(ls & 0x0f);
            else y[b].scales_l[ib / 2] |= (uint8_t)((ls & 0x0f) << 4);
            scales_h |= (uint16_t)((ls >> 4) << (2 * ib));
        }
        y[b].scales_h = scales_h;
    }
}

void flt_iq4_xs_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_iq4_xs *x = src;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float d = flt_f16_to_f32(x[b].d);
        for (int ib = 0; ib < FLT_QK_K / 32; ib++) {
            const int ls = (x[b].scales_l[ib / 2] >> (4 * (ib % 2)) & 0x0f) | ((x[b].scales_h >> (2 * ib)) & 3) << 4;
            const float dl = d * (float)(ls - 32);
            const uint8_t *qs = x[b].qs + 16 * ib;
            float *y = dst + b * FLT_QK_K + 32 * ib;
            for (int j = 0; j < 16; j++) {
                y[j] = dl * (float)flt_iq4nl_values[qs[j] & 0x0f];
                y[j + 16] = dl * (float)flt_iq4nl_values[qs[j] >> 4];
            }
        }
    }
}
