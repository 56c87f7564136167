/* The dtype traits table and the scalar reference conversions. */
#include "core/dtype.h"

#include <math.h>

#include "core/checked.h"
#include "core/quant_blocks.h"

/* ---- float types ---------------------------------------------------------- */

void flt_f32_to_f32_ref(const void *src, float *dst, int64_t n) {
    if (n > 0) memcpy(dst, src, (size_t)n * sizeof(float));
}
void flt_f32_from_f32_ref(const float *src, void *dst, int64_t n) {
    if (n > 0) memcpy(dst, src, (size_t)n * sizeof(float));
}

/* Element-wise through memcpy: weight rows in a mmapped file need not be
 * 2-byte aligned for every caller, and memcpy compiles to a plain load. */
void flt_f16_to_f32_ref(const void *src, float *dst, int64_t n) {
    const unsigned char *s = src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, s + 2 * i, 2);
        dst[i] = flt_f16_to_f32(h);
    }
}
void flt_f16_from_f32_ref(const float *src, void *dst, int64_t n) {
    unsigned char *d = dst;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = flt_f32_to_f16(src[i]);
        memcpy(d + 2 * i, &h, 2);
    }
}
void flt_bf16_to_f32_ref(const void *src, float *dst, int64_t n) {
    const unsigned char *s = src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, s + 2 * i, 2);
        dst[i] = flt_bf16_to_f32(h);
    }
}
void flt_bf16_from_f32_ref(const float *src, void *dst, int64_t n) {
    unsigned char *d = dst;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = flt_f32_to_bf16(src[i]);
        memcpy(d + 2 * i, &h, 2);
    }
}

/* Finite inputs already land inside [lo, hi] (up to rounding that the final
 * round/truncate absorbs), so this changes no result for finite data; it only
 * keeps inf/NaN inputs from reaching an undefined float-to-int conversion. */
static inline float flt_clamp_nan0(float v, float lo, float hi) {
    if (v != v) return 0.0f;
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- Q8_0 ------------------------------------------------------------------
 * Same arithmetic as ggml's quantize_row_q8_0_ref: d = amax/127 rounded to f16
 * for storage, but the inverse uses the unrounded d; q = roundf (ties away). */

void flt_q8_0_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q8_0 *y = dst;
    for (int64_t b = 0; b < n / FLT_QK8_0; b++) {
        const float *x = src + b * FLT_QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < FLT_QK8_0; j++) {
            const float a = fabsf(x[j]);
            amax = amax > a ? amax : a;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = flt_f32_to_f16(d);
        for (int j = 0; j < FLT_QK8_0; j++) {
            y[b].qs[j] = (int8_t)roundf(flt_clamp_nan0(x[j] * id, -127.0f, 127.0f));
        }
    }
}

void flt_q8_0_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q8_0 *x = src;
    for (int64_t b = 0; b < n / FLT_QK8_0; b++) {
        const float d = flt_f16_to_f32(x[b].d);
        for (int j = 0; j < FLT_QK8_0; j++) dst[b * FLT_QK8_0 + j] = (float)x[b].qs[j] * d;
    }
}

/* ---- Q4_0 ------------------------------------------------------------------
 * Same arithmetic as ggml's quantize_row_q4_0_ref: the signed value of largest
 * magnitude maps to -8 (so d = max/-8 and the full [-8, 7] range is used), and
 * q = min(15, trunc(x/d + 8.5)). */

void flt_q4_0_from_f32_ref(const float *src, void *dst, int64_t n) {
    flt_block_q4_0 *y = dst;
    for (int64_t b = 0; b < n / FLT_QK4_0; b++) {
        const float *x = src + b * FLT_QK4_0;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < FLT_QK4_0; j++) {
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = flt_f32_to_f16(d);
        for (int j = 0; j < FLT_QK4_0 / 2; j++) {
            const float v0 = x[j] * id;
            const float v1 = x[j + FLT_QK4_0 / 2] * id;
            /* truncation, then min(15): clamping first gives the same nibble */
            const int q0 = (int)flt_clamp_nan0(v0 + 8.5f, 0.0f, 15.0f);
            const int q1 = (int)flt_clamp_nan0(v1 + 8.5f, 0.0f, 15.0f);
            y[b].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void flt_q4_0_to_f32_ref(const void *src, float *dst, int64_t n) {
    const flt_block_q4_0 *x = src;
    for (int64_t b = 0; b < n / FLT_QK4_0; b++) {
        const float d = flt_f16_to_f32(x[b].d);
        float *y = dst + b * FLT_QK4_0;
        for (int j = 0; j < FLT_QK4_0 / 2; j++) {
            y[j] = (float)((x[b].qs[j] & 0x0f) - 8) * d;
            y[j + FLT_QK4_0 / 2] = (float)((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

/* ---- integer types and F64 (widening to f32 only) -------------------------- */

#define FLT_DEFINE_TO_F32(fname, ctype)                                   \
    static void fname(const void *src, float *dst, int64_t n) {           \
        const unsigned char *s = src;                                     \
        for (int64_t i = 0; i < n; i++) {                                 \
            ctype v;                                                      \
            memcpy(&v, s + (size_t)i * sizeof v, sizeof v);               \
            dst[i] = (float)v;                                            \
        }                                                                 \
    }
FLT_DEFINE_TO_F32(i8_to_f32, int8_t)
FLT_DEFINE_TO_F32(i16_to_f32, int16_t)
FLT_DEFINE_TO_F32(i32_to_f32, int32_t)
FLT_DEFINE_TO_F32(i64_to_f32, int64_t)
FLT_DEFINE_TO_F32(u8_to_f32, uint8_t)
FLT_DEFINE_TO_F32(u16_to_f32, uint16_t)
FLT_DEFINE_TO_F32(u32_to_f32, uint32_t)
FLT_DEFINE_TO_F32(u64_to_f32, uint64_t)
FLT_DEFINE_TO_F32(f64_to_f32, double)
#undef FLT_DEFINE_TO_F32

static void f64_from_f32(const float *src, void *dst, int64_t n) {
    unsigned char *d = dst;
    for (int64_t i = 0; i < n; i++) {
        double v = src[i];
        memcpy(d + (size_t)i * sizeof v, &v, sizeof v);
    }
}

/* ---- the table -------------------------------------------------------------- */

#define FLT_NO_GGML UINT32_MAX

static const flt_dtype_traits flt_dtype_table[FLT_DTYPE_COUNT] = {
    [FLT_F32]  = { "F32",  1, 4, false, 0,  flt_f32_to_f32_ref,  flt_f32_from_f32_ref,  FLT_F32 },
    [FLT_F16]  = { "F16",  1, 2, false, 1,  flt_f16_to_f32_ref,  flt_f16_from_f32_ref,  FLT_F32 },
    [FLT_BF16] = { "BF16", 1, 2, false, 30, flt_bf16_to_f32_ref, flt_bf16_from_f32_ref, FLT_F32 },
    [FLT_Q8_0] = { "Q8_0", FLT_QK8_0, sizeof(flt_block_q8_0), true, 8,
                   flt_q8_0_to_f32_ref, flt_q8_0_from_f32_ref, FLT_Q8_0 },
    [FLT_Q4_0] = { "Q4_0", FLT_QK4_0, sizeof(flt_block_q4_0), true, 2,
                   flt_q4_0_to_f32_ref, flt_q4_0_from_f32_ref, FLT_Q8_0 },
    [FLT_I8]   = { "I8",   1, 1, false, 24, i8_to_f32,  NULL, FLT_I8 },
    [FLT_I16]  = { "I16",  1, 2, false, 25, i16_to_f32, NULL, FLT_I16 },
    [FLT_I32]  = { "I32",  1, 4, false, 26, i32_to_f32, NULL, FLT_I32 },
    [FLT_I64]  = { "I64",  1, 8, false, 27, i64_to_f32, NULL, FLT_I64 },
    [FLT_U8]   = { "U8",   1, 1, false, FLT_NO_GGML, u8_to_f32, NULL, FLT_U8 },
    [FLT_F64]  = { "F64",  1, 8, false, 28, f64_to_f32, f64_from_f32, FLT_F64 },
    [FLT_BOOL] = { "BOOL", 1, 1, false, FLT_NO_GGML, u8_to_f32,  NULL, FLT_BOOL },
    [FLT_U16]  = { "U16",  1, 2, false, FLT_NO_GGML, u16_to_f32, NULL, FLT_U16 },
    [FLT_U32]  = { "U32",  1, 4, false, FLT_NO_GGML, u32_to_f32, NULL, FLT_U32 },
    [FLT_U64]  = { "U64",  1, 8, false, FLT_NO_GGML, u64_to_f32, NULL, FLT_U64 },
    [FLT_Q6_K] = { "Q6_K", FLT_QK_K, sizeof(flt_block_q6_k), true, 14,
                   flt_q6_k_to_f32_ref, flt_q6_k_from_f32_ref, FLT_Q8_K },
    [FLT_Q2_K] = { "Q2_K", FLT_QK_K, sizeof(flt_block_q2_k), true, 10,
                   flt_q2_k_to_f32_ref, flt_q2_k_from_f32_ref, FLT_Q8_K },
    [FLT_Q3_K] = { "Q3_K", FLT_QK_K, sizeof(flt_block_q3_k), true, 11,
                   flt_q3_k_to_f32_ref, flt_q3_k_from_f32_ref, FLT_Q8_K },
    [FLT_Q4_K] = { "Q4_K", FLT_QK_K, sizeof(flt_block_q4_k), true, 12,
                   flt_q4_k_to_f32_ref, flt_q4_k_from_f32_ref, FLT_Q8_K },
    [FLT_Q5_K] = { "Q5_K", FLT_QK_K, sizeof(flt_block_q5_k), true, 13,
                   flt_q5_k_to_f32_ref, flt_q5_k_from_f32_ref, FLT_Q8_K },
    /* an activation format: its dot_type names itself (no kernel has Q8_K weights) */
    [FLT_Q8_K] = { "Q8_K", FLT_QK_K, sizeof(flt_block_q8_k), true, 15,
                   flt_q8_k_to_f32_ref, flt_q8_k_from_f32_ref, FLT_Q8_K },
    [FLT_Q4_1] = { "Q4_1", FLT_QK4_1, sizeof(flt_block_q4_1), true, 3,
                   flt_q4_1_to_f32_ref, flt_q4_1_from_f32_ref, FLT_Q8_1 },
    [FLT_Q5_0] = { "Q5_0", FLT_QK5_0, sizeof(flt_block_q5_0), true, 6,
                   flt_q5_0_to_f32_ref, flt_q5_0_from_f32_ref, FLT_Q8_0 },
    [FLT_Q5_1] = { "Q5_1", FLT_QK5_1, sizeof(flt_block_q5_1), true, 7,
                   flt_q5_1_to_f32_ref, flt_q5_1_from_f32_ref, FLT_Q8_1 },
    /* an activation format, like Q8_K */
    [FLT_Q8_1] = { "Q8_1", FLT_QK8_1, sizeof(flt_block_q8_1), true, 9,
                   flt_q8_1_to_f32_ref, flt_q8_1_from_f32_ref, FLT_Q8_1 },
    [FLT_IQ4_NL] = { "IQ4_NL", FLT_QK4_NL, sizeof(flt_block_iq4_nl), true, 20,
                     flt_iq4_nl_to_f32_ref, flt_iq4_nl_from_f32_ref, FLT_Q8_0 },
    [FLT_IQ4_XS] = { "IQ4_XS", FLT_QK_K, sizeof(flt_block_iq4_xs), true, 23,
                     flt_iq4_xs_to_f32_ref, flt_iq4_xs_from_f32_ref, FLT_Q8_K },
};

const flt_dtype_traits *flt_dtype_info(flt_dtype t) {
    if ((int)t < 0 || (int)t >= FLT_DTYPE_COUNT || !flt_dtype_table[t].name) return NULL;
    return &flt_dtype_table[t];
}

bool flt_dtype_from_ggml(uint32_t ggml_type, flt_dtype *out) {
    if (ggml_type == FLT_NO_GGML) return false;
    for (int t = 0; t < FLT_DTYPE_COUNT; t++) {
        if (flt_dtype_table[t].name && flt_dtype_table[t].ggml_type == ggml_type) {
            if (out) *out = (flt_dtype)t;
            return true;
        }
    }
    return false;
}

bool flt_dtype_row_bytes(flt_dtype t, int64_t n, size_t *out) {
    const flt_dtype_traits *tr = flt_dtype_info(t);
    if (!tr || n < 0 || n % tr->block_size != 0) return false;
    uint64_t blocks = (uint64_t)n / tr->block_size, bytes;
    if (!flt_mul_u64(blocks, tr->block_bytes, &bytes) || bytes > SIZE_MAX) return false;
    if (out) *out = (size_t)bytes;
    return true;
}
