/* Scalar (oracle) dot kernels for Q4_1, Q5_0, Q5_1, IQ4_NL and IQ4_XS weights
 * (see kernels_legacy.h). Per block an exact integer sum, then float scaling:
 * (d_w * d_a) * isum, plus m_w * s_a where the weights carry an offset.
 * Integers stay far below 2^31 (worst: IQ4_XS, 8 * 32 * 32 * 127 * 128). */
#include "cpu/kernels_legacy.h"

#include "core/dtype.h"
#include "core/quant_blocks.h"

/* The fifth bit of element j of a Q5 block (0 or 16). */
static inline int q5_high(const uint8_t qh[4], int j) {
    return ((qh[j / 8] >> (j % 8)) & 1) << 4;
}

void flt_scalar_dot_q4_1(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q4_1 *x = w;
    const flt_block_q8_1 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK4_1; b++) {
        int32_t isum = 0;
        for (int j = 0; j < FLT_QK4_1 / 2; j++) {
            isum += (x[b].qs[j] & 0x0f) * y[b].qs[j];
            isum += (x[b].qs[j] >> 4) * y[b].qs[j + FLT_QK4_1 / 2];
        }
        sum += (float)isum * (flt_f16_to_f32(x[b].d) * flt_f16_to_f32(y[b].d));
        sum += flt_f16_to_f32(x[b].m) * flt_f16_to_f32(y[b].s);
    }
    *out = sum;
}

void flt_scalar_dot_q5_0(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q5_0 *x = w;
    const flt_block_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK5_0; b++) {
        int32_t isum = 0;
        for (int j = 0; j < FLT_QK5_0 / 2; j++) {
            isum += (((x[b].qs[j] & 0x0f) | q5_high(x[b].qh, j)) - 16) * y[b].qs[j];
            isum += (((x[b].qs[j] >> 4) | q5_high(x[b].qh, j + 16)) - 16) * y[b].qs[j + 16];
        }
        sum += (float)isum * (flt_f16_to_f32(x[b].d) * flt_f16_to_f32(y[b].d));
    }
    *out = sum;
}

void flt_scalar_dot_q5_1(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q5_1 *x = w;
    const flt_block_q8_1 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK5_1; b++) {
        int32_t isum = 0;
        for (int j = 0; j < FLT_QK5_1 / 2; j++) {
            isum += ((x[b].qs[j] & 0x0f) | q5_high(x[b].qh, j)) * y[b].qs[j];
            isum += ((x[b].qs[j] >> 4) | q5_high(x[b].qh, j + 16)) * y[b].qs[j + 16];
        }
        sum += (float)isum * (flt_f16_to_f32(x[b].d) * flt_f16_to_f32(y[b].d));
        sum += flt_f16_to_f32(x[b].m) * flt_f16_to_f32(y[b].s);
    }
    *out = sum;
}

void flt_scalar_dot_iq4_nl(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_iq4_nl *x = w;
    const flt_block_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK4_NL; b++) {
        int32_t isum = 0;
        for (int j = 0; j < FLT_QK4_NL / 2; j++) {
            isum += flt_iq4nl_values[x[b].qs[j] & 0x0f] * y[b].qs[j];
            isum += flt_iq4nl_values[x[b].qs[j] >> 4] * y[b].qs[j + 16];
        }
        sum += (float)isum * (flt_f16_to_f32(x[b].d) * flt_f16_to_f32(y[b].d));
    }
    *out = sum;
}

/* Reads only the activations' qs (not bsums). */
void flt_scalar_dot_iq4_xs(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_iq4_xs *x = w;
    const flt_block_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        int32_t isum = 0;
        for (int ib = 0; ib < FLT_QK_K / 32; ib++) {
            const int ls = ((x[b].scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0f) | ((x[b].scales_h >> (2 * ib)) & 3) << 4;
            const uint8_t *qs = x[b].qs + 16 * ib;
            const int8_t *q8 = y[b].qs + 32 * ib;
            int32_t sub = 0;
            for (int j = 0; j < 16; j++) {
                sub += flt_iq4nl_values[qs[j] & 0x0f] * q8[j];
                sub += flt_iq4nl_values[qs[j] >> 4] * q8[j + 16];
            }
            isum += (ls - 32) * sub;
        }
        sum += (float)isum * (flt_f16_to_f32(x[b].d) * y[b].d);
    }
    *out = sum;
}
