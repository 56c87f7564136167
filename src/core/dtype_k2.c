/* Scalar references for the weight formats Q2_K, Q3_K, Q4_K and Q5_K (block
 * layouts: quant_blocks.h). Like dtype_k.c, the quantizers follow ggml's
 * reference quantizers (quantize_row_qN_K_ref: what llama-quantize runs when it
 * has no importance matrix) operation by operation, in float and in the same
 * order, so that Flint writes the bytes llama-quantize writes. Evaluation
 * order, `== 0` tests on floats and the int-to-uint8 narrowing below are
 * deliberate: each one changes some output byte if altered. */
#include <math.h>

#include "core/dtype.h"
#include "core/quant_blocks.h"
#include "core/quant_k_util.h"

/* int -> uint8 as ggml stores it (modulo 256), without relying on the
 * implementation for negative values. */
static inline uint8_t k_u8(int32_t v) { return (uint8_t)(uint32_t)v; }

/* ggml's make_qkx2_quants: fit value ~ scale * L - the_min with L in
 * [0, nmax], weighted by w, min forced <= 0. Starts from the plain min/max
 * grid, then tries nstep + 1 stretched grids (rmin + rdelta * is extra steps)
 * and keeps the least-squares (or least-absolute, use_mad) fit. Returns the
 * scale; *the_min is the (non-negative) offset that is subtracted. */
static float k_make_qkx2_quants(int n, int nmax, const float *x, const float *w, uint8_t *L, float *the_min,
                                uint8_t *Laux, float rmin, float rdelta, int nstep, bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1.0f / iscale;
    float best_error = 0.0f;
    for (int i = 0; i < n; i++) {
        const int32_t l = flt_k_nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        float diff = scale * (float)L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += w[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
        for (int i = 0; i < n; i++) {
            int32_t l = flt_k_nearest_int(iscale * (x[i] - min));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)l * (float)l;
            sum_xl += w[i] * (float)l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0.0f;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * (float)Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error += w[i] * diff;
            }
            if (cur_error < best_error) {
                for (int i = 0; i < n; i++) L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* ggml's make_q3_quants with do_rmse: symmetric L in [-nmax, nmax) from the
 * max-magnitude grid, then up to five passes that move single elements to the
 * level that improves the x^2-weighted fit. L is returned biased by nmax. */
static float k_make_q3_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0.0f, amax = 0.0f;
    for (int i = 0; i < n; i++) {
        const float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < FLT_K_GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    const float iscale = (float)-nmax / max;
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; i++) {
        int32_t l = flt_k_nearest_int(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        L[i] = (int8_t)l;
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    for (int itry = 0; itry < 5; itry++) {
        int n_changed = 0;
        for (int i = 0; i < n; i++) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * (float)L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * (float)L[i] * (float)L[i];
                int32_t new_l = flt_k_nearest_int(x[i] * sl2 / slx);
                new_l = new_l < -nmax ? -nmax : new_l > nmax - 1 ? nmax - 1 : new_l;
                if (new_l != L[i]) {
                    slx += w * x[i] * (float)new_l;
                    sl2 += w * (float)new_l * (float)new_l;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        n_changed++;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* The 2-bit fields of one 256-block (Q2_K, Q3_K): element 128h + 32g + l in
 * bits 2g..2g+1 of qs[32h + l]. L holds 0..3. */
static void k_pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int h = 0; h < 2; h++) {
        for (int l = 0; l < 32; l++) {
            const uint8_t *p = L + 128 * h + l;
            qs[32 * h + l] = (uint8_t)(p[0] | p[32] << 2 | p[64] << 4 | p[96] << 6);
        }
    }
}

/* ---- Q2_K ------------------------------------------------------------------ */

void flt_q2_k_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q2_k *y = dst;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float *x = src + b * FLT_QK_K;
        uint8_t L[FLT_QK_K], Laux[16];
        float w[16], mins[FLT_QK_K / 16], scales[FLT_QK_K / 16];
        /* 1. per sub-block of 16: a 2-bit grid with its own scale and min,
         * fitted by weighted absolute error (weight |x|) */
        float max_scale = 0.0f, max_min = 0.0f;
        for (int j = 0; j < FLT_QK_K / 16; j++) {
            for (int l = 0; l < 16; l++) w[l] = fabsf(x[16 * j + l]);
            scales[j] = k_make_qkx2_quants(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        /* 2. scales and mins to 4 bits against f16 d and dmin */
        if (max_scale > 0) {
            const float iscale = 15.0f / max_scale;
            for (int j = 0; j < FLT_QK_K / 16; j++) y[b].scales[j] = k_u8(flt_k_nearest_int(iscale * scales[j]));
            y[b].d = flt_f32_to_f16(max_scale / 15.0f);
        } else {
            for (int j = 0; j < FLT_QK_K / 16; j++) y[b].scales[j] = 0;
            y[b].d = flt_f32_to_f16(0.0f);
        }
        if (max_min > 0) {
            const float iscale = 15.0f / max_min;
            for (int j = 0; j < FLT_QK_K / 16; j++)
                y[b].scales[j] = (uint8_t)(y[b].scales[j] | (uint32_t)flt_k_nearest_int(iscale * mins[j]) << 4);
            y[b].dmin = flt_f32_to_f16(max_min / 15.0f);
        } else {
            y[b].dmin = flt_f32_to_f16(0.0f);
        }
        /* 3. requantize against what is stored; a sub-block whose scale is 0
         * keeps step 1's L (ggml writes those too) */
        for (int j = 0; j < FLT_QK_K / 16; j++) {
            const float d = flt_f16_to_f32(y[b].d) * (float)(y[b].scales[j] & 0x0f);
            if (d == 0.0f) continue;
            const float dm = flt_f16_to_f32(y[b].dmin) * (float)(y[b].scales[j] >> 4);
            for (int i = 0; i < 16; i++) {
                const int32_t l = flt_k_nearest_int((x[16 * j + i] + dm) / d);
                L[16 * j + i] = (uint8_t)(l < 0 ? 0 : l > 3 ? 3 : l);
            }
        }
        k_pack_2bit(L, y[b].qs);
    }
}

void flt_q2_k_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q2_k *x = src;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float d = flt_f16_to_f32(x[b].d), dmin = flt_f16_to_f32(x[b].dmin);
        float *y = dst + b * FLT_QK_K;
        for (int p = 0; p < FLT_QK_K; p++) {
            const int h = p / 128, g = p % 128 / 32, l = p % 32;
            const uint8_t sc = x[b].scales[p / 16];
            const int q = (x[b].qs[32 * h + l] >> (2 * g)) & 3;
            /* (d * scale) * q - dmin * min, in ggml's order */
            y[p] = d * (float)(sc & 0x0f) * (float)q - dmin * (float)(sc >> 4);
        }
    }
}

/* ---- Q3_K ------------------------------------------------------------------ */

void flt_q3_k_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q3_k *y = dst;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float *x = src + b * FLT_QK_K;
        int8_t L[FLT_QK_K];
        float scales[FLT_QK_K / 16];
        /* 1. per sub-block of 16: a symmetric 3-bit fit */
        float max_scale = 0.0f, amax = 0.0f;
        for (int j = 0; j < FLT_QK_K / 16; j++) {
            scales[j] = k_make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) { amax = fabsf(scales[j]); max_scale = scales[j]; }
        }
        /* 2. the scales to 6 bits (biased by 32) against one f16 d; the
         * signed largest maps to -32 */
        memset(y[b].scales, 0, sizeof y[b].scales);
        if (max_scale != 0.0f) {
            const float iscale = -32.0f / max_scale;
            for (int j = 0; j < FLT_QK_K / 16; j++) {
                int32_t l = flt_k_wrap_i8(flt_k_nearest_int(iscale * scales[j]));
                l = (l < -32 ? -32 : l > 31 ? 31 : l) + 32;
                if (j < 8) y[b].scales[j] = (uint8_t)(l & 0x0f);
                else y[b].scales[j - 8] |= (uint8_t)((l & 0x0f) << 4);
                y[b].scales[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
            }
            y[b].d = flt_f32_to_f16(1.0f / iscale);
        } else {
            y[b].d = flt_f32_to_f16(0.0f);
        }
        /* 3. requantize against the stored scales (a zero one keeps step 1's L) */
        for (int j = 0; j < FLT_QK_K / 16; j++) {
            const float d = flt_f16_to_f32(y[b].d) * (float)flt_k_scale_q3(y[b].scales, j);
            if (d == 0.0f) continue;
            for (int i = 0; i < 16; i++) {
                const int32_t l = flt_k_nearest_int(x[16 * j + i] / d);
                L[16 * j + i] = (int8_t)((l < -4 ? -4 : l > 3 ? 3 : l) + 4);
            }
        }
        /* 4. the high bit of element p to bit p / 32 of hmask[p % 32], the
         * low two bits to qs */
        uint8_t low[FLT_QK_K];
        memset(y[b].hmask, 0, sizeof y[b].hmask);
        for (int p = 0; p < FLT_QK_K; p++) {
            int v = L[p];
            if (v > 3) {
                y[b].hmask[p % 32] |= (uint8_t)(1u << (p / 32));
                v -= 4;
            }
            low[p] = (uint8_t)v;
        }
        k_pack_2bit(low, y[b].qs);
    }
}

void flt_q3_k_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q3_k *x = src;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float d = flt_f16_to_f32(x[b].d);
        float *y = dst + b * FLT_QK_K;
        for (int p = 0; p < FLT_QK_K; p++) {
            const int h = p / 128, g = p % 128 / 32, l = p % 32;
            const int q = ((x[b].qs[32 * h + l] >> (2 * g)) & 3) - ((x[b].hmask[l] >> (p / 32)) & 1 ? 0 : 4);
            y[p] = d * (float)flt_k_scale_q3(x[b].scales, p / 16) * (float)q;
        }
    }
}

/* ---- Q4_K and Q5_K ------------------------------------------------------------
 * The same recipe with 4 or 5 bits: per sub-block of 32 a fitted scale and
 * min (weights sqrt(mean x^2) + |x|), both to 6 bits against f16 d and dmin,
 * then a requantization against the stored values. */

static void k_fit_4_5(const float *x, int nmax, float rmin, float rdelta, int nstep, uint8_t *L, uint8_t *scales12,
                      uint16_t *d16, uint16_t *dmin16) {
    uint8_t Laux[32];
    float w[32], mins[FLT_QK_K / 32], scales[FLT_QK_K / 32];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < FLT_QK_K / 32; j++) {
        float sum_x2 = 0.0f;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = sqrtf(sum_x2 / 32.0f);
        for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = k_make_qkx2_quants(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], Laux, rmin, rdelta, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    for (int j = 0; j < FLT_QK_K / 32; j++) {
        uint8_t ls = k_u8(flt_k_nearest_int(inv_scale * scales[j]));
        uint8_t lm = k_u8(flt_k_nearest_int(inv_min * mins[j]));
        ls = ls < 63 ? ls : 63;
        lm = lm < 63 ? lm : 63;
        if (j < 4) {
            scales12[j] = ls;
            scales12[j + 4] = lm;
        } else {
            scales12[j + 4] = (uint8_t)((ls & 0x0f) | (lm & 0x0f) << 4);
            scales12[j - 4] |= (uint8_t)((ls >> 4) << 6);
            scales12[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *d16 = flt_f32_to_f16(max_scale / 63.0f);
    *dmin16 = flt_f32_to_f16(max_min / 63.0f);
    for (int j = 0; j < FLT_QK_K / 32; j++) {
        uint8_t sc, m;
        flt_k_scale_min_k4(scales12, j, &sc, &m);
        const float d = flt_f16_to_f32(*d16) * (float)sc;
        if (d == 0.0f) continue;
        const float dm = flt_f16_to_f32(*dmin16) * (float)m;
        for (int i = 0; i < 32; i++) {
            const int32_t l = flt_k_nearest_int((x[32 * j + i] + dm) / d);
            L[32 * j + i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        }
    }
}

void flt_q4_k_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q4_k *y = dst;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        uint8_t L[FLT_QK_K];
        k_fit_4_5(src + b * FLT_QK_K, 15, -1.0f, 0.1f, 20, L, y[b].scales, &y[b].d, &y[b].dmin);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) y[b].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + 32 + l] << 4);
    }
}

void flt_q5_k_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q5_k *y = dst;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        uint8_t L[FLT_QK_K];
        k_fit_4_5(src + b * FLT_QK_K, 31, -0.5f, 0.1f, 15, L, y[b].scales, &y[b].d, &y[b].dmin);
        memset(y[b].qh, 0, sizeof y[b].qh);
        for (int p = 0; p < FLT_QK_K; p++)
            if (L[p] > 15) y[b].qh[p % 32] |= (uint8_t)(1u << (p / 32));
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                y[b].qs[32 * c + l] = (uint8_t)((L[64 * c + l] & 0x0f) | (L[64 * c + 32 + l] & 0x0f) << 4);
    }
}

void flt_q4_k_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q4_k *x = src;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float d = flt_f16_to_f32(x[b].d), dmin = flt_f16_to_f32(x[b].dmin);
        float *y = dst + b * FLT_QK_K;
        for (int j = 0; j < FLT_QK_K / 32; j++) {
            uint8_t sc, m;
            flt_k_scale_min_k4(x[b].scales, j, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            const uint8_t *q = x[b].qs + 32 * (j / 2);
            const int shift = 4 * (j & 1);
            for (int l = 0; l < 32; l++) y[32 * j + l] = d1 * (float)((q[l] >> shift) & 0x0f) - m1;
        }
    }
}

void flt_q5_k_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q5_k *x = src;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        const float d = flt_f16_to_f32(x[b].d), dmin = flt_f16_to_f32(x[b].dmin);
        float *y = dst + b * FLT_QK_K;
        for (int j = 0; j < FLT_QK_K / 32; j++) {
            uint8_t sc, m;
            flt_k_scale_min_k4(x[b].scales, j, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            const uint8_t *q = x[b].qs + 32 * (j / 2);
            const int shift = 4 * (j & 1);
            for (int l = 0; l < 32; l++) {
                const int v = ((q[l] >> shift) & 0x0f) | ((x[b].qh[l] >> j) & 1) << 4;
                y[32 * j + l] = d1 * (float)v - m1;
            }
        }
    }
}
