/* Small AVX2 building blocks shared by the AVX2 kernel files (x86 only: include
 * after <immintrin.h>, inside the file's x86 guard). The bodies are compiled for
 * AVX2/FMA/F16C through the target attribute, so no special build flags. */
#ifndef FLT_CPU_AVX2_UTIL_H
#define FLT_CPU_AVX2_UTIL_H

#include <immintrin.h>
#include <math.h>

#define FLT_AVX2 __attribute__((target("avx2,fma,f16c")))

/* Sum of the 8 lanes, in a fixed order (so a kernel's result is reproducible). */
FLT_AVX2 static inline float flt_avx2_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* max |x| over the 32 floats of four vectors. max_ps returns its second operand
 * when either is NaN, so NaNs are skipped, as the reference's
 * `amax > a ? amax : a` skips them. */
FLT_AVX2 static inline float flt_avx2_amax32(__m256 x0, __m256 x1, __m256 x2, __m256 x3) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, x0), _mm256_andnot_ps(sign, x1)),
                             _mm256_max_ps(_mm256_andnot_ps(sign, x2), _mm256_andnot_ps(sign, x3)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
    return _mm_cvtss_f32(m4);
}

/* roundf (half away from zero), which _mm256_round_ps lacks: truncate, then
 * step away from zero when the dropped fraction (exact) is at least 0.5. */
FLT_AVX2 static inline __m256 flt_avx2_round_half_away(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    const __m256 step = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    return _mm256_add_ps(t, _mm256_and_ps(up, step));
}

/* x * id, NaN -> 0, clamped to [-127, 127], rounded: the Q8 reference's steps. */
FLT_AVX2 static inline __m256i flt_avx2_q8_lane(__m256 x, __m256 id) {
    __m256 v = _mm256_mul_ps(x, id);
    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
    return _mm256_cvttps_epi32(flt_avx2_round_half_away(v));
}

/* The first `valid` of the 8 lanes (none for valid <= 0, all from 8 up): the
 * rows of a panel that exist, when a matrix ends inside one. */
FLT_AVX2 static inline __m256i flt_avx2_lane_mask(int valid) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Load / store the first `valid` floats at o (zeros / nothing for the rest). */
FLT_AVX2 static inline __m256 flt_avx2_load_first(const float *o, int valid) {
    return valid >= 8 ? _mm256_loadu_ps(o) : _mm256_maskload_ps(o, flt_avx2_lane_mask(valid));
}

FLT_AVX2 static inline void flt_avx2_store_first(float *o, int valid, __m256 v) {
    if (valid >= 8) _mm256_storeu_ps(o, v);
    else _mm256_maskstore_ps(o, flt_avx2_lane_mask(valid), v);
}

/* e^x: x = k ln2 + r, |r| <= ln2/2, a degree-6 polynomial for e^r (error ~2
 * ulp), 2^k from the exponent bits in two halves (k reaches 128 near the top
 * of the float range). Below -87.3 the result flushes to 0; above ln(FLT_MAX)
 * it is +inf, as libm's expf. */
FLT_AVX2 static inline __m256 flt_avx2_exp(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.33654f), hi = _mm256_set1_ps(88.72283935546875f);
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ), over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i ki = _mm256_cvtps_epi32(k), k1 = _mm256_srai_epi32(ki, 1), k2 = _mm256_sub_epi32(ki, k1);
    const __m256i bias = _mm256_set1_epi32(127);
    /* multiplying by powers of two is exact until the final rounding, so the
     * split changes no bit of a result that 2^k in one piece could express */
    p = _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23)));
    p = _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, bias), 23)));
    p = _mm256_andnot_ps(under, p);
    return _mm256_blendv_ps(p, _mm256_set1_ps(INFINITY), over);
}

#endif
