/* Scalar (oracle) dot kernels for Q2_K..Q5_K weights x Q8_K activations. Per
 * super-block: exact integer sums (each sub-block's sum times its integer
 * scale; the min terms as sum of activations times the integer min), then one
 * float scaling per term. The activations' bsums are not read, so these also
 * check SIMD kernels that rely on them. Every integer stays far below 2^31
 * (worst case Q5_K: 31 * 128 * 32 * 63 * 8 < 2^26). */
#include "cpu/kernels_k2.h"

#include "core/dtype.h"
#include "core/quant_blocks.h"
#include "core/quant_k_util.h"

void flt_scalar_dot_q2_k(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q2_k *x = w;
    const flt_block_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        int32_t isum = 0, msum = 0;
        for (int j = 0; j < FLT_QK_K / 16; j++) {
            int32_t qa = 0, as = 0;
            for (int i = 0; i < 16; i++) {
                const int p = 16 * j + i, h = p / 128, g = p % 128 / 32, l = p % 32;
                const int q = (x[b].qs[32 * h + l] >> (2 * g)) & 3;
                qa += q * y[b].qs[p];
                as += y[b].qs[p];
            }
            isum += (x[b].scales[j] & 0x0f) * qa;
            msum += (x[b].scales[j] >> 4) * as;
        }
        sum += (float)isum * (flt_f16_to_f32(x[b].d) * y[b].d) - (float)msum * (flt_f16_to_f32(x[b].dmin) * y[b].d);
    }
    *out = sum;
}

void flt_scalar_dot_q3_k(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q3_k *x = w;
    const flt_block_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK_K; b++) {
        int32_t isum = 0;
        for (int j = 0; j < FLT_QK_K / 16; j++) {
            int32_t qa = 0;
            for (int i = 0; i < 16; i++) {
                const int p = 16 * j + i, h = p / 128, g = p % 128 / 32, l = p % 32;
                const int q = ((x[b].qs[32 * h + l] >> (2 * g)) & 3) - ((x[b].hmask[l] >> (p / 32)) & 1 ? 0 : 4);
                qa += q * y[b].qs[p];
            }
            isum += flt_k_scale_q3(x[b].scales, j) * qa;
        }
        sum += (float)isum * (flt_f16_to_f32(x[b].d) * y[b].d);
    }
    *out = sum;
}

/* Q4_K and Q5_K differ only in the fifth bit (qh NULL for Q4_K). */
static float dot_q45_block(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, const flt_block_q8_k *y,
                           uint16_t d, uint16_t dmin) {
    int32_t isum = 0, msum = 0;
    for (int j = 0; j < FLT_QK_K / 32; j++) {
        uint8_t sc, m;
        flt_k_scale_min_k4(scales, j, &sc, &m);
        int32_t qa = 0, as = 0;
        for (int l = 0; l < 32; l++) {
            int q = (qs[32 * (j / 2) + l] >> (4 * (j & 1))) & 0x0f;
            if (qh) q |= ((qh[l] >> j) & 1) << 4;
            qa += q * y->qs[32 * j + l];
            as += y->qs[32 * j + l];
        }
        isum += sc * qa;
        msum += m * as;
    }
    return (float)isum * (flt_f16_to_f32(d) * y->d) - (float)msum * (flt_f16_to_f32(dmin) * y->d);
}

void flt_scalar_dot_q4_k(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q4_k *x = w;
    const flt_block_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK_K; b++)
        sum += dot_q45_block(x[b].scales, x[b].qs, NULL, &y[b], x[b].d, x[b].dmin);
    *out = sum;
}

void flt_scalar_dot_q5_k(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q5_k *x = w;
    const flt_block_q8_k *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / FLT_QK_K; b++)
        sum += dot_q45_block(x[b].scales, x[b].qs, x[b].qh, &y[b], x[b].d, x[b].dmin);
    *out = sum;
}
