/* The NEON (AArch64 Advanced SIMD) kernel set. Advanced SIMD is part of the
 * AArch64 baseline, so the target alone decides: no run-time check, no special
 * flags. Optional extensions (dotprod, i8mm, fp16 arithmetic) are not baseline
 * and are not used. Types without a NEON kernel here keep the scalar ones.
 *
 * As in the AVX2 set, every loop is split on n alone (never on pointer
 * alignment), so a kernel's result is a function of its inputs only. Loads need
 * only element alignment (kernels.h). */
#include "cpu/kernels.h"

#if defined(__aarch64__)

#include <arm_neon.h>
#include <pthread.h>
#include <string.h>

#include "core/dtype.h"
#include "core/quant_blocks.h"

static inline float16x4_t load_f16x4(const unsigned char *p) {
    uint16_t h[4];
    memcpy(h, p, sizeof h);   /* the weights need only 2-byte alignment */
    return vreinterpret_f16_u16(vld1_u16(h));
}

/* f16 -> f32 is exact, so the hardware conversion equals flt_f16_to_f32. */
static inline float f16_scalar(uint16_t h) {
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

/* ---- float weights: four independent accumulators hide the FMA latency ---- */

static void dot_f32(int64_t n, const void *w, const void *a, float *out) {
    const float *x = w, *y = a;
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(x + i),      vld1q_f32(y + i));
        s1 = vfmaq_f32(s1, vld1q_f32(x + i + 4),  vld1q_f32(y + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(x + i + 8),  vld1q_f32(y + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(x + i + 12), vld1q_f32(y + i + 12));
    }
    for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(x + i), vld1q_f32(y + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++) sum += x[i] * y[i];
    *out = sum;
}

static void dot_f16(int64_t n, const void *w, const void *a, float *out) {
    const unsigned char *x = w;
    const float *y = a;
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vcvt_f32_f16(load_f16x4(x + 2 * i)),        vld1q_f32(y + i));
        s1 = vfmaq_f32(s1, vcvt_f32_f16(load_f16x4(x + 2 * (i + 4))),  vld1q_f32(y + i + 4));
        s2 = vfmaq_f32(s2, vcvt_f32_f16(load_f16x4(x + 2 * (i + 8))),  vld1q_f32(y + i + 8));
        s3 = vfmaq_f32(s3, vcvt_f32_f16(load_f16x4(x + 2 * (i + 12))), vld1q_f32(y + i + 12));
    }
    for (; i + 4 <= n; i += 4)
        s0 = vfmaq_f32(s0, vcvt_f32_f16(load_f16x4(x + 2 * i)), vld1q_f32(y + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        sum += f16_scalar(h) * y[i];
    }
    *out = sum;
}

/* ---- quantized weights ----------------------------------------------------
 * The integer dot of a block is exact: 8x8 -> 16-bit products (|p| <= 2^14, so
 * even -128 * -128 fits), pairwise-added into four int32 lanes. Only the
 * per-block scaling (one FMA per block) and the final sum round. */

/* sum x[j] * y[j] over 32 int8 pairs, as four int32 partial sums. */
static inline int32x4_t dot_i8x32(int8x16_t x0, int8x16_t x1, int8x16_t y0, int8x16_t y1) {
    int32x4_t acc = vdupq_n_s32(0);
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x0), vget_low_s8(y0)));
    acc = vpadalq_s16(acc, vmull_high_s8(x0, y0));
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x1), vget_low_s8(y1)));
    acc = vpadalq_s16(acc, vmull_high_s8(x1, y1));
    return acc;
}

static inline float32x4_t dot_q8_block(const flt_block_q8_0 *x, const flt_block_q8_0 *y, float32x4_t acc) {
    const int32x4_t p = dot_i8x32(vld1q_s8(x->qs), vld1q_s8(x->qs + 16), vld1q_s8(y->qs), vld1q_s8(y->qs + 16));
    return vfmaq_n_f32(acc, vcvtq_f32_s32(p), f16_scalar(x->d) * f16_scalar(y->d));
}

/* Byte j of a Q4_0 block holds element j (low nibble) and j + 16 (high). */
static inline float32x4_t dot_q4_block(const flt_block_q4_0 *x, const flt_block_q8_0 *y, float32x4_t acc) {
    const uint8x16_t q = vld1q_u8(x->qs);
    const int8x16_t eight = vdupq_n_s8(8);
    const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0f))), eight);
    const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
    const int32x4_t p = dot_i8x32(lo, hi, vld1q_s8(y->qs), vld1q_s8(y->qs + 16));
    return vfmaq_n_f32(acc, vcvtq_f32_s32(p), f16_scalar(x->d) * f16_scalar(y->d));
}

/* Two blocks per step, one accumulator each, so the FMA chains overlap. */
static void dot_q8_0(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q8_0 *x = w, *y = a;
    const int64_t nb = n / FLT_QK8_0;
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        s0 = dot_q8_block(x + b, y + b, s0);
        s1 = dot_q8_block(x + b + 1, y + b + 1, s1);
    }
    if (b < nb) s0 = dot_q8_block(x + b, y + b, s0);
    *out = vaddvq_f32(vaddq_f32(s0, s1));
}

static void dot_q4_0(int64_t n, const void *w, const void *a, float *out) {
    const flt_block_q4_0 *x = w;
    const flt_block_q8_0 *y = a;
    const int64_t nb = n / FLT_QK4_0;
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        s0 = dot_q4_block(x + b, y + b, s0);
        s1 = dot_q4_block(x + b + 1, y + b + 1, s1);
    }
    if (b < nb) s0 = dot_q4_block(x + b, y + b, s0);
    *out = vaddvq_f32(vaddq_f32(s0, s1));
}

/* ---- conversions: bit-identical to the scalar references ------------------
 * FCVTN/FCVTL round to nearest even, keep subnormals and quiet NaNs keeping the
 * top payload bits under the default FPCR (Linux leaves FZ, FZ16 and DN clear):
 * the rules flt_f32_to_f16/flt_f16_to_f32 follow. */

static void f16_to_f32(const void *src, float *dst, int64_t n) {
    const unsigned char *s = src;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vcvt_f32_f16(load_f16x4(s + 2 * i)));
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, s + 2 * i, 2);
        dst[i] = flt_f16_to_f32(h);
    }
}

static void f16_from_f32(const float *src, void *dst, int64_t n) {
    unsigned char *d = dst;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint16_t h[4];
        vst1_u16(h, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(src + i))));
        memcpy(d + 2 * i, h, sizeof h);
    }
    for (; i < n; i++) {
        uint16_t h = flt_f32_to_f16(src[i]);
        memcpy(d + 2 * i, &h, 2);
    }
}

/* x * id, NaN -> 0, clamped to [-127, 127], rounded half away from zero
 * (FCVTAS: roundf's rule): the reference's steps, each exact or singly rounded
 * the same way. */
static inline int32x4_t q8_lane(float32x4_t x, float32x4_t id) {
    float32x4_t v = vmulq_f32(x, id);
    v = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vceqq_f32(v, v)));
    v = vminq_f32(vmaxq_f32(v, vdupq_n_f32(-127.0f)), vdupq_n_f32(127.0f));
    return vcvtaq_s32_f32(v);
}

static void q8_0_from_f32(const float *src, void *dst, int64_t n) {
    flt_block_q8_0 *y = dst;
    for (int64_t b = 0; b < n / FLT_QK8_0; b++) {
        const float *x = src + b * FLT_QK8_0;
        float32x4_t v[8];
        for (int k = 0; k < 8; k++) v[k] = vld1q_f32(x + 4 * k);
        /* The reference's running `amax > a ? amax : a` lets a NaN reset the
         * maximum; rather than mimic that, a block holding a NaN takes the
         * reference path (never the case for real activations). */
        uint32x4_t ok = vceqq_f32(v[0], v[0]);
        float32x4_t m = vabsq_f32(v[0]);
        for (int k = 1; k < 8; k++) {
            ok = vandq_u32(ok, vceqq_f32(v[k], v[k]));
            m = vmaxq_f32(m, vabsq_f32(v[k]));
        }
        if (vminvq_u32(ok) == 0) {
            flt_q8_0_from_f32_ref(x, y + b, FLT_QK8_0);
            continue;
        }
        const float amax = vmaxvq_f32(m);
        const float d = amax / 127.0f;
        const float idf = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = flt_f32_to_f16(d);
        const float32x4_t id = vdupq_n_f32(idf);
        int16x8_t h[4];
        for (int k = 0; k < 4; k++)
            h[k] = vcombine_s16(vqmovn_s32(q8_lane(v[2 * k], id)), vqmovn_s32(q8_lane(v[2 * k + 1], id)));
        vst1q_s8(y[b].qs, vcombine_s8(vqmovn_s16(h[0]), vqmovn_s16(h[1])));
        vst1q_s8(y[b].qs + 16, vcombine_s8(vqmovn_s16(h[2]), vqmovn_s16(h[3])));
    }
}

/* (float)q * d: the int8 -> float conversion is exact, the product singly rounded. */
static void q8_0_to_f32(const void *src, float *dst, int64_t n) {
    const flt_block_q8_0 *x = src;
    for (int64_t b = 0; b < n / FLT_QK8_0; b++) {
        const float d = f16_scalar(x[b].d);
        float *o = dst + b * FLT_QK8_0;
        for (int j = 0; j < FLT_QK8_0; j += 16) {
            const int8x16_t q = vld1q_s8(x[b].qs + j);
            const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_s8(vget_high_s8(q));
            vst1q_f32(o + j,      vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), d));
            vst1q_f32(o + j + 4,  vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo))), d));
            vst1q_f32(o + j + 8,  vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), d));
            vst1q_f32(o + j + 12, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi))), d));
        }
    }
}

/* The scalar table (the oracle) with the NEON kernels above in place of its
 * entries; function pointers from another file cannot sit in a static
 * initializer, so it is built once (read-only after the pthread_once). */
static flt_kernels flt_neon_set;
static pthread_once_t flt_neon_once = PTHREAD_ONCE_INIT;

static void neon_init(void) {
    flt_neon_set = *flt_kernels_scalar();
    flt_neon_set.name = "neon";
    flt_neon_set.vec_dot[FLT_F32] = dot_f32;
    flt_neon_set.vec_dot[FLT_F16] = dot_f16;
    flt_neon_set.vec_dot[FLT_Q8_0] = dot_q8_0;
    flt_neon_set.vec_dot[FLT_Q4_0] = dot_q4_0;
    flt_neon_set.from_f32[FLT_F16] = f16_from_f32;
    flt_neon_set.from_f32[FLT_Q8_0] = q8_0_from_f32;
    flt_neon_set.to_f32[FLT_F16] = f16_to_f32;
    flt_neon_set.to_f32[FLT_Q8_0] = q8_0_to_f32;
}

const flt_kernels *flt_kernels_neon_table(void) {
    pthread_once(&flt_neon_once, neon_init);
    return &flt_neon_set;
}

#else

const flt_kernels *flt_kernels_neon_table(void) { return NULL; }

#endif
