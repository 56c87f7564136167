/* The scalar kernel set: the oracle. Kept deliberately plain — float
 * accumulation in element order for float weights, exact integer sums per
 * block for quantized weights — so its result is easy to reason about. */
#include "cpu/kernels.h"

#include "core/quant_blocks.h"
#include "cpu/kernels_k2.h"
#include "cpu/kernels_legacy.h"

static void dot_f32(int64_t n, const void *w, const void *a, float *out) {
    const float *x = w, *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += x[i] * y[i];
    *out = sum;
}

static void dot_f16(int64_t n, const void *w, const void *a, float *out) {
    const unsigned char *x = w;
    const float *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        sum += flt_f16_to_f32(h) * y[i];
    }
    *out = sum;
}

static void dot_bf16(int64_t n, const void *w, const void *a, float *out) {
    const unsigned char *x = w;
    const float *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        sum += flt_bf16_to_f32(h) * y[i];
    }
    *out = sum;
}

static void dot_q8_0(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q8_0 *x = w, *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK8_0; b++) {
        int32_t isum = 0;
        for (int j = 0; j < FLT_QK8_0; j++) isum += (int32_t)x[b].qs[j] * y[b].qs[j];
        sum += (float)isum * (flt_f16_to_f32(x[b].d) * flt_f16_to_f32(y[b].d));
    }
    *out = sum;
}

static void dot_q4_0(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q4_0 *x = w;
    const flt_block_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK4_0; b++) {
        int32_t isum = 0;
        for (int j = 0; j < FLT_QK4_0 / 2; j++) {
            isum += ((x[b].qs[j] & 0x0f) - 8) * y[b].qs[j];
            isum += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + FLT_QK4_0 / 2];
        }
        sum += (float)isum * (flt_f16_to_f32(x[b].d) * flt_f16_to_f32(y[b].d));
    }
    *out = sum;
}

/* Q6_K x Q8_K: per super-block an exact integer sum, each sub-block of 16
 * weighted by its int8 scale, then one float scaling. It reads the q's and
 * ignores bsums, so it checks SIMD sets that use bsums as well. |isum| <=
 * 256 * 32 * 128 * 128 < 2^31. */
static void dot_q6_k(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q6_k *x = w;
    const flt_block_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        int32_t isum = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[b].ql + 64 * h, *qh = x[b].qh + 32 * h;
            const int8_t *q8 = y[b].qs + 128 * h;
            int32_t sub[8] = { 0 };   /* sub-block sums, sub-block 8h + k */
            for (int l = 0; l < 32; l++) {
                const int s = l / 16;
                sub[s + 0] += (((ql[l] & 0x0f) | ((qh[l] >> 0) & 3) << 4) - 32) * q8[l];
                sub[s + 2] += (((ql[l + 32] & 0x0f) | ((qh[l] >> 2) & 3) << 4) - 32) * q8[l + 32];
                sub[s + 4] += (((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32) * q8[l + 64];
                sub[s + 6] += (((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32) * q8[l + 96];
            }
            for (int k = 0; k < 8; k++) isum += x[b].scales[8 * h + k] * sub[k];
        }
        sum += (float)isum * (flt_f16_to_f32(x[b].d) * y[b].d);
    }
    *out = sum;
}

static const flt_kernels flt_scalar_set = {
    .name = "scalar",
    .vec_dot = {
        [FLT_F32] = dot_f32, [FLT_F16] = dot_f16, [FLT_BF16] = dot_bf16,
        [FLT_Q8_0] = dot_q8_0, [FLT_Q4_0] = dot_q4_0, [FLT_Q6_K] = dot_q6_k,
        [FLT_Q4_1] = flt_scalar_dot_q4_1, [FLT_Q5_0] = flt_scalar_dot_q5_0, [FLT_Q5_1] = flt_scalar_dot_q5_1,
        [FLT_IQ4_NL] = flt_scalar_dot_iq4_nl, [FLT_IQ4_XS] = flt_scalar_dot_iq4_xs,
        [FLT_Q2_K] = flt_scalar_dot_q2_k, [FLT_Q3_K] = flt_scalar_dot_q3_k,
        [FLT_Q4_K] = flt_scalar_dot_q4_k, [FLT_Q5_K] = flt_scalar_dot_q5_k,
    },
    .from_f32 = {
        [FLT_F32] = flt_f32_from_f32_ref, [FLT_F16] = flt_f16_from_f32_ref,
        [FLT_BF16] = flt_bf16_from_f32_ref, [FLT_Q8_0] = flt_q8_0_from_f32_ref,
        [FLT_Q4_0] = flt_q4_0_from_f32_ref, [FLT_Q6_K] = flt_q6_k_from_f32_ref,
        [FLT_Q8_K] = flt_q8_k_from_f32_ref,
        [FLT_Q4_1] = flt_q4_1_from_f32_ref, [FLT_Q5_0] = flt_q5_0_from_f32_ref,
        [FLT_Q5_1] = flt_q5_1_from_f32_ref, [FLT_Q8_1] = flt_q8_1_from_f32_ref,
        [FLT_IQ4_NL] = flt_iq4_nl_from_f32_ref, [FLT_IQ4_XS] = flt_iq4_xs_from_f32_ref,
        [FLT_Q2_K] = flt_q2_k_from_f32_ref, [FLT_Q3_K] = flt_q3_k_from_f32_ref,
        [FLT_Q4_K] = flt_q4_k_from_f32_ref, [FLT_Q5_K] = flt_q5_k_from_f32_ref,
    },
    .to_f32 = {
        [FLT_F32] = flt_f32_to_f32_ref, [FLT_F16] = flt_f16_to_f32_ref,
        [FLT_BF16] = flt_bf16_to_f32_ref, [FLT_Q8_0] = flt_q8_0_to_f32_ref,
        [FLT_Q4_0] = flt_q4_0_to_f32_ref, [FLT_Q6_K] = flt_q6_k_to_f32_ref,
        [FLT_Q8_K] = flt_q8_k_to_f32_ref,
        [FLT_Q4_1] = flt_q4_1_to_f32_ref, [FLT_Q5_0] = flt_q5_0_to_f32_ref,
        [FLT_Q5_1] = flt_q5_1_to_f32_ref, [FLT_Q8_1] = flt_q8_1_to_f32_ref,
        [FLT_IQ4_NL] = flt_iq4_nl_to_f32_ref, [FLT_IQ4_XS] = flt_iq4_xs_to_f32_ref,
        [FLT_Q2_K] = flt_q2_k_to_f32_ref, [FLT_Q3_K] = flt_q3_k_to_f32_ref,
        [FLT_Q4_K] = flt_q4_k_to_f32_ref, [FLT_Q5_K] = flt_q5_k_to_f32_ref,
    },
};

const flt_kernels *flt_kernels_scalar(void) { return &flt_scalar_set; }
