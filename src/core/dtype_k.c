/* Scalar references for the K-quant types Flint computes with: Q6_K (a
 * weight format) and Q8_K (the activation format Q6_K weights are dotted
 * with). The quantizers follow ggml's reference quantizers operation by
 * operation, in the same order and in float, so that `flint quantize` writes
 * the same bytes llama-quantize writes from the same floats (without an
 * importance matrix). Anything that looks like it could be simplified below
 * (evaluation order, `!= 0` on floats, the rounding helper) is there for
 * that reason. */
#include <math.h>

#include "core/dtype.h"
#include "core/quant_blocks.h"
#include "core/quant_k_util.h"

/* ggml's make_qx_quants with rmse_type 1 and no importance weights: symmetric
 * quantization of n values to L[i] in [0, 2*nmax), value ~ scale * (L - nmax),
 * weighting each element by x^2, trying 18 scales around nmax/max and keeping
 * the one with the best weighted fit. Returns the fitted scale. */
static float k_make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0.0f, amax = 0.0f;
    for (int i = 0; i < n; i++) {
        const float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < FLT_K_GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    float iscale = (float)-nmax / max;
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; i++) {
        int32_t l = flt_k_nearest_int(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        L[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0.0f;
        for (int i = 0; i < n; i++) {
            int32_t l = flt_k_nearest_int(iscale * x[i]);
            l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
            const float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int32_t l = flt_k_nearest_int(iscale * x[i]);
                l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
                L[i] = (int8_t)(l + nmax);
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* ---- Q6_K ------------------------------------------------------------------ */

void flt_q6_k_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q6_k *y = dst;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float *x = src + b * FLT_QK_K;
        int8_t L[FLT_QK_K];
        float scales[FLT_QK_K / 16];
        /* 1. each sub-block of 16 gets its own fitted scale */
        float max_scale = 0.0f, max_abs_scale = 0.0f;
        for (int ib = 0; ib < FLT_QK_K / 16; ib++) {
            const float scale = k_make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
            scales[ib] = scale;
            if (fabsf(scale) > max_abs_scale) { max_abs_scale = fabsf(scale); max_scale = scale; }
        }
        if (max_abs_scale < FLT_K_GROUP_MAX_EPS) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        /* 2. the scales themselves to int8 against one f16 d; the signed
         * largest maps to -128 so the full int8 range is used */
        const float iscale = -128.0f / max_scale;
        y[b].d = flt_f32_to_f16(1.0f / iscale);
        for (int ib = 0; ib < FLT_QK_K / 16; ib++) {
            const int32_t q = flt_k_nearest_int(iscale * scales[ib]);
            y[b].scales[ib] = flt_k_wrap_i8(q < 127 ? q : 127);
        }
        /* 3. requantize against the scales actually stored; a sub-block whose
         * scale rounded to 0 keeps step 1's L (as ggml does: it never reads
         * them back, but they are in the file) */
        for (int ib = 0; ib < FLT_QK_K / 16; ib++) {
            const float d = flt_f16_to_f32(y[b].d) * (float)y[b].scales[ib];
            if (d == 0.0f) continue;
            for (int i = 0; i < 16; i++) {
                int32_t l = flt_k_nearest_int(x[16 * ib + i] / d);
                l = l < -32 ? -32 : l > 31 ? 31 : l;
                L[16 * ib + i] = (int8_t)(l + 32);
            }
        }
        /* 4. pack (layout: quant_blocks.h) */
        for (int h = 0; h < 2; h++) {
            const int8_t *Lh = L + 128 * h;
            uint8_t *ql = y[b].ql + 64 * h, *qh = y[b].qh + 32 * h;
            for (int l = 0; l < 32; l++) {
                const uint8_t q0 = (uint8_t)Lh[l], q1 = (uint8_t)Lh[l + 32];
                const uint8_t q2 = (uint8_t)Lh[l + 64], q3 = (uint8_t)Lh[l + 96];
                ql[l] = (uint8_t)((q0 & 0x0f) | (q2 & 0x0f) << 4);
                ql[l + 32] = (uint8_t)((q1 & 0x0f) | (q3 & 0x0f) << 4);
                qh[l] = (uint8_t)((q0 >> 4) | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6);
            }
        }
    }
}

void flt_q6_k_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q6_k *x = src;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float d = flt_f16_to_f32(x[b].d);
        float *y = dst + b * FLT_QK_K;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[b].ql + 64 * h, *qh = x[b].qh + 32 * h;
            const int8_t *sc = x[b].scales + 8 * h;
            for (int l = 0; l < 32; l++) {
                const int q0 = ((ql[l] & 0x0f) | ((qh[l] >> 0) & 3) << 4) - 32;
                const int q1 = ((ql[l + 32] & 0x0f) | ((qh[l] >> 2) & 3) << 4) - 32;
                const int q2 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                const int q3 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                const int s = l / 16;   /* sub-block within the group */
                /* (d * scale) * q, in this order: ggml's dequantizer does the same */
                y[128 * h + l]      = d * (float)sc[s + 0] * (float)q0;
                y[128 * h + l + 32] = d * (float)sc[s + 2] * (float)q1;
                y[128 * h + l + 64] = d * (float)sc[s + 4] * (float)q2;
                y[128 * h + l + 96] = d * (float)sc[s + 6] * (float)q3;
            }
        }
    }
}

/* ---- Q8_K ------------------------------------------------------------------
 * The signed value of largest magnitude (the first, on ties) maps to -127, so
 * d = 1/iscale is negative when that value is positive, exactly like ggml. */

void flt_q8_k_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q8_k *y = dst;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float *x = src + b * FLT_QK_K;
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < FLT_QK_K; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < FLT_QK_K; j++) {
            const int32_t v = flt_k_nearest_int(iscale * x[j]);
            y[b].qs[j] = flt_k_wrap_i8(v < 127 ? v : 127);
        }
        for (int g = 0; g < FLT_QK_K / 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += y[b].qs[16 * g + j];
            y[b].bsums[g] = (int16_t)sum;   /* |sum| <= 16 * 128: fits */
        }
        y[b].d = 1.0f / iscale;
    }
}

void flt_q8_k_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q8_k *x = src;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        for (int j = 0; j < FLT_QK_K; j++) dst[b * FLT_QK_K + j] = x[b].d * (float)x[b].qs[j];
    }
}
