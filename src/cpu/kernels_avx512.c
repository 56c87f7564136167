/* The AVX-512 kernel set ("avx512": F, BW, DQ, VL and VNNI): the AVX2 set with
 * tiled matrix products for the types language models use most. Same target
 * caveat as kernels_avx2.c: bodies are compiled with a function attribute and
 * cpu_detect.c hands the table out only after CPUID and XGETBV agree.
 *
 * A tile computes R weight rows x T tokens at once, one accumulator register
 * per (row, token) pair: each weight block loaded (and unpacked) once serves T
 * tokens, each activation block serves R rows. The arithmetic of one
 * accumulator never depends on R, T or where the pair sits in the block, and
 * vec_dot is the 1 x 1 tile, so a batch gives the same bits as one token at a
 * time and any split between threads gives the same bits (kernels.h).
 *
 * Integer products use VPDPBUSD (unsigned x signed bytes, four products summed
 * into int32, no saturation). Signed weights are made unsigned by adding 128
 * (XOR 0x80) and Q4 nibbles are unsigned already; the offset times the sum of
 * the activations is subtracted by starting the accumulation from it, so the
 * per-block integer sums are exact for any byte values. */
#include "cpu/kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <pthread.h>

#include "core/quant_blocks.h"
#include "cpu/kernels_avx512.h"

enum { TILE_R = 4, TILE_T = 4 };

#define FLT_TILE_INSTANCES(kern)                                                                          \
    FLT_TILE_ONE(kern, 1, 1) FLT_TILE_ONE(kern, 1, 2) FLT_TILE_ONE(kern, 1, 3) FLT_TILE_ONE(kern, 1, 4)   \
    FLT_TILE_ONE(kern, 2, 1) FLT_TILE_ONE(kern, 2, 2) FLT_TILE_ONE(kern, 2, 3) FLT_TILE_ONE(kern, 2, 4)   \
    FLT_TILE_ONE(kern, 3, 1) FLT_TILE_ONE(kern, 3, 2) FLT_TILE_ONE(kern, 3, 3) FLT_TILE_ONE(kern, 3, 4)   \
    FLT_TILE_ONE(kern, 4, 1) FLT_TILE_ONE(kern, 4, 2) FLT_TILE_ONE(kern, 4, 3) FLT_TILE_ONE(kern, 4, 4)   \
    static flt_avx512_tile_fn const kern##_tab[TILE_R * TILE_T] = {                                       \
        kern##_1x1, kern##_1x2, kern##_1x3, kern##_1x4, kern##_2x1, kern##_2x2, kern##_2x3, kern##_2x4,   \
        kern##_3x1, kern##_3x2, kern##_3x3, kern##_3x4, kern##_4x1, kern##_4x2, kern##_4x3, kern##_4x4,   \
    };                                                                                                    \
    FLT_TILE_ENTRY_POINTS(kern, TILE_R, TILE_T)

void flt_avx512_drive(const flt_avx512_tile_fn *tab, int max_r, int max_t, int64_t n, const void *w, size_t ws,
                      int64_t nr, const void *a, size_t as, int64_t nt, float *out, int64_t ldo) {
    for (int64_t r0 = 0; r0 < nr; r0 += max_r) {
        const int64_t rr = nr - r0 < max_r ? nr - r0 : max_r;
        for (int64_t t0 = 0; t0 < nt; t0 += max_t) {
            const int64_t tt = nt - t0 < max_t ? nt - t0 : max_t;
            tab[(rr - 1) * max_t + (tt - 1)](n, (const char *)w + (size_t)r0 * ws, ws,
                                             (const char *)a + (size_t)t0 * as, as, out + t0 * ldo + r0, ldo);
        }
    }
}

/* The final horizontal sum, in a fixed order. */
FLT_AVX512_INL float hsum512(__m512 v) {
    __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
}

FLT_AVX512_INL void store_sums(__m512 acc[TILE_R][TILE_T], float *out, int64_t ldo, int R, int T) {
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) out[t * ldo + r] = hsum512(acc[r][t]);
}

/* ---- F16 weights x F32 activations ---------------------------------------- */

FLT_AVX512_INL void f16_tile(int64_t n, const char *w, size_t ws, const char *a, size_t as, float *out,
                             int64_t ldo, int R, int T) {
    __m512 acc[TILE_R][TILE_T];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 wv[TILE_R];
        for (int r = 0; r < R; r++)
            wv[r] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + (size_t)r * ws + 2 * (size_t)i));
        for (int t = 0; t < T; t++) {
            const __m512 av = _mm512_maskz_loadu_ps(m, (const float *)(a + (size_t)t * as) + i);
            for (int r = 0; r < R; r++) acc[r][t] = _mm512_fmadd_ps(wv[r], av, acc[r][t]);
        }
    }
    store_sums(acc, out, ldo, R, T);
}

FLT_TILE_INSTANCES(f16)

/* ---- Q8_0 / Q4_0 weights x Q8_0 activations --------------------------------
 * Two blocks per register: lanes 0-7 hold block b, lanes 8-15 block b + 1; an
 * odd last block runs with a zero upper half (adds exact zeros). */

/* f16 scales of two blocks as lanes 0-7 and 8-15 */
FLT_AVX512_INL __m512 scale2(uint16_t d0, uint16_t d1) {
    return _mm512_cvtph_ps(_mm256_set_m128i(_mm_set1_epi16((short)d1), _mm_set1_epi16((short)d0)));
}

/* the qs of q8_0 blocks b and b + 1 (or b alone, upper half zero) */
FLT_AVX512_INL __m512i q8_pair(const flt_block_q8_0 *x, bool two) {
    const __m256i lo = _mm256_loadu_si256((const __m256i *)x[0].qs);
    const __m256i hi = two ? _mm256_loadu_si256((const __m256i *)x[1].qs) : _mm256_setzero_si256();
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* the nibbles of q4_0 blocks b and b + 1 as 64 bytes 0..15 in element order */
FLT_AVX512_INL __m512i q4_pair(const flt_block_q4_0 *x, bool two) {
    const __m128i lo = _mm_loadu_si128((const __m128i *)x[0].qs);
    const __m128i hi = two ? _mm_loadu_si128((const __m128i *)x[1].qs) : _mm_setzero_si128();
    const __m512i v = _mm512_castsi256_si512(_mm256_set_m128i(hi, lo));
    __m512i z = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), v);
    z = _mm512_mask_srli_epi16(z, (__mmask32)0xff00ff00u, z, 4);   /* 128-bit lanes 1 and 3: high nibbles */
    return _mm512_and_si512(z, _mm512_set1_epi8(0x0f));
}

/* One step (two blocks) of every pair of the tile. wq: unsigned weight bytes;
 * off: the unsigned offset they carry (128 or 8), subtracted through the
 * activations' sums. */
FLT_AVX512_INL void q8a_step(__m512 acc[TILE_R][TILE_T], const __m512i wq[TILE_R], const __m512 sw[TILE_R],
                             const char *a, size_t as, int64_t b, bool two, __m512i off, int R, int T) {
    for (int t = 0; t < T; t++) {
        const flt_block_q8_0 *y = (const flt_block_q8_0 *)(a + (size_t)t * as) + b;
        const __m512i yq = q8_pair(y, two);
        const __m512i neg = _mm512_sub_epi32(_mm512_setzero_si512(),
                                             _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, yq));
        const __m512 sa = scale2(y[0].d, two ? y[1].d : 0);
        for (int r = 0; r < R; r++) {
            const __m512i is = _mm512_dpbusd_epi32(neg, wq[r], yq);
            acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(sw[r], sa), acc[r][t]);
        }
    }
}

FLT_AVX512_INL void q8_0_step(__m512 acc[TILE_R][TILE_T], const char *w, size_t ws, const char *a, size_t as,
                             int64_t b, bool two, __m512i off, int R, int T) {
    __m512i wq[TILE_R];
    __m512 sw[TILE_R];
    for (int r = 0; r < R; r++) {
        const flt_block_q8_0 *x = (const flt_block_q8_0 *)(w + (size_t)r * ws) + b;
        wq[r] = _mm512_xor_si512(q8_pair(x, two), off);
        sw[r] = scale2(x[0].d, two ? x[1].d : 0);
    }
    q8a_step(acc, wq, sw, a, as, b, two, off, R, T);
}

FLT_AVX512_INL void q8_0_tile(int64_t n, const char *w, size_t ws, const char *a, size_t as, float *out,
                              int64_t ldo, int R, int T) {
    const int64_t nb = n / FLT_QK8_0;
    const __m512i off = _mm512_set1_epi8((char)0x80);
    __m512 acc[TILE_R][TILE_T];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b += 2) {
        /* the pair loop, and the odd last block as a separate (constant) case */
        if (b + 1 < nb) q8_0_step(acc, w, ws, a, as, b, true, off, R, T);
        else q8_0_step(acc, w, ws, a, as, b, false, off, R, T);
    }
    store_sums(acc, out, ldo, R, T);
}

FLT_AVX512_INL void q4_0_step(__m512 acc[TILE_R][TILE_T], const char *w, size_t ws, const char *a, size_t as,
                             int64_t b, bool two, __m512i off, int R, int T) {
    __m512i wq[TILE_R];
    __m512 sw[TILE_R];
    for (int r = 0; r < R; r++) {
        const flt_block_q4_0 *x = (const flt_block_q4_0 *)(w + (size_t)r * ws) + b;
        wq[r] = q4_pair(x, two);
        sw[r] = scale2(x[0].d, two ? x[1].d : 0);
    }
    q8a_step(acc, wq, sw, a, as, b, two, off, R, T);
}

FLT_AVX512_INL void q4_0_tile(int64_t n, const char *w, size_t ws, const char *a, size_t as, float *out,
                              int64_t ldo, int R, int T) {
    const int64_t nb = n / FLT_QK4_0;
    const __m512i off = _mm512_set1_epi8(8);
    __m512 acc[TILE_R][TILE_T];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b += 2) {
        /* the pair loop, and the odd last block as a separate (constant) case */
        if (b + 1 < nb) q4_0_step(acc, w, ws, a, as, b, true, off, R, T);
        else q4_0_step(acc, w, ws, a, as, b, false, off, R, T);
    }
    store_sums(acc, out, ldo, R, T);
}

FLT_TILE_INSTANCES(q8_0)
FLT_TILE_INSTANCES(q4_0)

/* The AVX2 table with the tiled products patched in, built once (its only
 * mutable state; read-only after the pthread_once). */
static flt_kernels avx512_set;
static pthread_once_t avx512_once = PTHREAD_ONCE_INIT;

static void avx512_init(void) {
    const flt_kernels *base = flt_kernels_avx2_table();
    avx512_set = *base;
    avx512_set.name = "avx512";
    avx512_set.vec_dot[FLT_F16] = f16_dot;
    avx512_set.gemm[FLT_F16] = f16_gemm;
    avx512_set.vec_dot[FLT_Q8_0] = q8_0_dot;
    avx512_set.gemm[FLT_Q8_0] = q8_0_gemm;
    avx512_set.vec_dot[FLT_Q4_0] = q4_0_dot;
    avx512_set.gemm[FLT_Q4_0] = q4_0_gemm;
    flt_avx512_add_k_quants(&avx512_set);
    /* packed kernels of this set override the AVX2 ones it was copied from */
    if (flt_packed_q4_0_avx512()) avx512_set.packed[FLT_Q4_0] = flt_packed_q4_0_avx512();
    if (flt_packed_q8_0_avx512()) avx512_set.packed[FLT_Q8_0] = flt_packed_q8_0_avx512();
    if (flt_packed_q5_0_avx512()) avx512_set.packed[FLT_Q5_0] = flt_packed_q5_0_avx512();
    if (flt_packed_q4_k_avx512()) avx512_set.packed[FLT_Q4_K] = flt_packed_q4_k_avx512();
    if (flt_packed_q6_k_avx512()) avx512_set.packed[FLT_Q6_K] = flt_packed_q6_k_avx512();
    if (flt_packed_f16_avx512()) avx512_set.packed[FLT_F16] = flt_packed_f16_avx512();
}

const flt_kernels *flt_kernels_avx512_table(void) {
    pthread_once(&avx512_once, avx512_init);
    return &avx512_set;
}

#else

const flt_kernels *flt_kernels_avx512_table(void) { return NULL; }

#endif
