/* Element types: one traits row per dtype (size, block layout, GGUF id, the
 * scalar reference conversions, and which format activations take for dot
 * products). Adding a type = appending one enum value, one row in dtype.c and
 * its kernels. Enum values are pinned: only ever appended, never reused. */
#ifndef FLT_CORE_DTYPE_H
#define FLT_CORE_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum flt_dtype {
    FLT_F32 = 0, FLT_F16 = 1, FLT_BF16 = 2, FLT_Q8_0 = 3, FLT_Q4_0 = 4,
    FLT_I8 = 5, FLT_I16 = 6, FLT_I32 = 7, FLT_I64 = 8, FLT_U8 = 9, FLT_F64 = 10,
    FLT_Q6_K = 11, FLT_Q8_K = 12,
    /* Reserved for the quantization work (rows filled as their kernels land;
     * until then flt_dtype_info returns NULL for them). */
    FLT_Q4_1 = 13, FLT_Q5_0 = 14, FLT_Q5_1 = 15, FLT_Q8_1 = 16,
    FLT_Q2_K = 17, FLT_Q3_K = 18, FLT_Q4_K = 19, FLT_Q5_K = 20,
    FLT_IQ4_NL = 21, FLT_IQ4_XS = 22,
    /* Plain types ONNX needs beyond the above. */
    FLT_BOOL = 23, FLT_U16 = 24, FLT_U32 = 25, FLT_U64 = 26,
    FLT_DTYPE_COUNT
} flt_dtype;

typedef struct flt_dtype_traits {
    const char *name;        /* "F32", "Q4_0" */
    uint32_t block_size;     /* elements per block (1 for plain types) */
    uint32_t block_bytes;    /* bytes per block */
    bool quantized;
    uint32_t ggml_type;      /* GGUF/ggml type id, or UINT32_MAX if none */
    /* Scalar references (the oracle). n must be a multiple of block_size.
     * to_f32 exists for every type; from_f32 is NULL for integer types, whose
     * rounding/saturation policy belongs to the op that needs it. */
    void (*to_f32)(const void *src, float *dst, int64_t n);
    void (*from_f32)(const float *src, void *dst, int64_t n);
    /* Activations are converted to this type for dot products against weights
     * of this type. Meaningful only where a kernel set has a vec_dot for the
     * type; for the others it names the type itself. */
    flt_dtype dot_type;
} flt_dtype_traits;

/* All three are pure and thread-safe. The traits are static and live forever. */
const flt_dtype_traits *flt_dtype_info(flt_dtype t);           /* NULL if out of range or reserved */
bool flt_dtype_from_ggml(uint32_t ggml_type, flt_dtype *out);  /* false if Flint has no such dtype */
/* Bytes for n elements: false if n<0, n not a multiple of block_size, t out of
 * range, or the size overflows size_t. */
bool flt_dtype_row_bytes(flt_dtype t, int64_t n, size_t *out);

/* Scalar reference conversions (also reachable through the traits). The
 * quantizers are bit-exact with ggml's reference quantizers, so files Flint
 * writes match files other GGUF tools write from the same floats. */
void flt_f32_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_f32_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_f16_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_f16_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_bf16_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_bf16_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_q8_0_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q8_0_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_q4_0_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q4_0_from_f32_ref(const float *src, void *dst, int64_t n);
/* K-quants (dtype_k.c). Q6_K from_f32 is ggml's quantize_row_q6_K_ref (no
 * importance matrix); Q8_K from_f32 is quantize_row_q8_K_ref, except that an
 * all-zero block also gets zero bsums (ggml leaves them unwritten). */
void flt_q6_k_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q6_k_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_q8_k_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q8_k_from_f32_ref(const float *src, void *dst, int64_t n);
/* Q2_K..Q5_K (dtype_k2.c): from_f32 is ggml's quantize_row_qN_K_ref, which
 * is what llama-quantize writes without an importance matrix. */
void flt_q2_k_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q2_k_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_q3_k_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q3_k_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_q4_k_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q4_k_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_q5_k_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q5_k_from_f32_ref(const float *src, void *dst, int64_t n);
/* Q4_1, Q5_0, Q5_1, Q8_1 (dtype_legacy.c): from_f32 is ggml's
 * quantize_row_<type>_ref, which is also what llama-quantize writes for them
 * without an importance matrix. */
void flt_q4_1_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q4_1_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_q5_0_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q5_0_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_q5_1_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q5_1_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_q8_1_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_q8_1_from_f32_ref(const float *src, void *dst, int64_t n);
/* IQ4_NL, IQ4_XS (dtype_iq4.c): from_f32 is what llama-quantize writes
 * without an importance matrix (ggml's quantize_iq4_nl / quantize_iq4_xs with
 * no weights, which for IQ4_NL is NOT quantize_row_iq4_nl_ref: that one skips
 * the scale search). */
void flt_iq4_nl_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_iq4_nl_from_f32_ref(const float *src, void *dst, int64_t n);
void flt_iq4_xs_to_f32_ref(const void *src, float *dst, int64_t n);
void flt_iq4_xs_from_f32_ref(const float *src, void *dst, int64_t n);

/* ---- Scalar half-precision conversions ----------------------------------
 * Both directions round to nearest, ties to even, handle subnormals, and
 * map NaN to a quiet NaN keeping the top payload bits: exactly what the
 * F16C instructions do, so the scalar and SIMD paths agree bit for bit. */

static inline uint32_t flt_f32_bits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
static inline float flt_bits_f32(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }

static inline float flt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f)                       /* inf, or NaN made quiet */
        return flt_bits_f32(sign | 0x7f800000u | (mant ? 0x400000u | (mant << 13) : 0));
    if (exp != 0)                          /* rebias 15 -> 127 */
        return flt_bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
    /* zero or subnormal: mant * 2^-24 is exact in f32 */
    return flt_bits_f32(sign | flt_f32_bits((float)mant * 0x1p-24f));
}

static inline uint16_t flt_f32_to_f16(float f) {
    uint32_t x = flt_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)                  /* NaN: quiet, keep top payload */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u)                 /* >= 65520 (halfway past 65504) or inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax >= 0x38800000u) {               /* normal f16 range: >= 2^-14 */
        uint32_t h = (ax >> 13) - (112u << 10);
        uint32_t rem = ax & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;  /* carry may bump the exponent: correct */
        return (uint16_t)(sign | h);
    }
    if (ax <= 0x33000000u)                 /* <= 2^-25: rounds to zero (the tie goes to even 0) */
        return sign;
    /* subnormal result: units of 2^-24 */
    uint32_t e = ax >> 23;                 /* 102..112 */
    uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e;             /* 14..24 */
    uint32_t h = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u))) h++;  /* may reach 0x400, the smallest normal: correct */
    return (uint16_t)(sign | h);
}

static inline float flt_bf16_to_f32(uint16_t b) {
    return flt_bits_f32((uint32_t)b << 16);
}

static inline uint16_t flt_f32_to_bf16(float f) {
    uint32_t x = flt_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)   /* NaN: truncation could make it inf; force quiet */
        return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);       /* round to nearest even; overflow becomes inf */
    return (uint16_t)(x >> 16);
}

#endif
