#include "cpu/attention.h"

#include <math.h>
#include <string.h>

#include "core/dtype.h"

enum {
    QT = 4,            /* tokens per work unit */
    QR = 8,            /* query rows per tile */
    KB_MAX = 32,       /* keys per block */
    TILE_FLOATS = 8192 /* cap on a widened K or V block and on the accumulators */
};

/* The three primitives that differ between the scalar oracle and AVX2. */
typedef struct {
    float (*dot)(const float *a, const float *b, int64_t n);
    void (*axpy)(float *y, float a, const float *x, int64_t n); /* y += a*x */
    void (*scale)(float *y, float a, int64_t n);                /* y *= a */
    void (*exp_sub)(float *p, float m, int64_t n);              /* p = exp(p - m) */
} attn_prims;

static float dot_ref(const float *a, const float *b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
static void axpy_ref(float *y, float a, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}
static void scale_ref(float *y, float a, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] *= a;
}
static void exp_sub_ref(float *p, float m, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = expf(p[i] - m);
}
static const attn_prims prims_ref = {dot_ref, axpy_ref, scale_ref, exp_sub_ref};

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FLT_AVX2 __attribute__((target("avx2,fma,f16c")))

FLT_AVX2 static float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

FLT_AVX2 static float dot_avx2(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

FLT_AVX2 static void axpy_avx2(float *y, float a, const float *x, int64_t n) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

FLT_AVX2 static void scale_avx2(float *y, float a, int64_t n) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(va, _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] *= a;
}

/* exp(x) for x <= 0 (softmax weights): x = k ln2 + r, |r| <= ln2/2, a degree-6
 * polynomial for e^r (error ~2 ulp), 2^k from the exponent bits; below -87.3
 * the result flushes to 0. */
FLT_AVX2 static __m256 exp_neg_avx2(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.33654f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(x, lo);
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
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    p = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(under, p);
}

FLT_AVX2 static void exp_sub_avx2(float *p, float m, int64_t n) {
    __m256 vm = _mm256_set1_ps(m);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(p + i, exp_neg_avx2(_mm256_sub_ps(_mm256_loadu_ps(p + i), vm)));
    if (i < n) {
        float t[8] = {0};
        for (int64_t j = i; j < n; j++) t[j - i] = p[j] - m;
        _mm256_storeu_ps(t, exp_neg_avx2(_mm256_loadu_ps(t)));
        for (int64_t j = i; j < n; j++) p[j] = t[j - i];
    }
}
static const attn_prims prims_avx2 = {dot_avx2, axpy_avx2, scale_avx2, exp_sub_avx2};
bool flt_attention_has_simd(void) { return true; }
#else
bool flt_attention_has_simd(void) { return false; }
#endif

int64_t flt_attention_units(const flt_attn_args *a) { return (a->nt + QT - 1) / QT * a->nkv; }

static int64_t key_block(int64_t hd) {
    int64_t kb = TILE_FLOATS / hd;
    return kb > KB_MAX ? KB_MAX : kb < 1 ? 1 : kb;
}

/* Rows of the key or value cache [j0, j0 + nb) for KV head hk, as F32 rows
 * hd apart: the cache itself when it is F32, else widened into buf. */
static const float *kv_rows(const flt_attn_args *a, const void *cache, int64_t hk, int64_t j0, int64_t nb,
                            float *buf, int64_t *stride) {
    int64_t hd = a->hd, nkv = a->nkv;
    if (a->kv_dtype == FLT_F32) {
        *stride = nkv * hd;
        return (const float *)cache + (j0 * nkv + hk) * hd;
    }
    const uint16_t *c = cache;
    flt_to_f32_fn widen = a->kern->to_f32[FLT_F16] ? a->kern->to_f32[FLT_F16] : flt_f16_to_f32_ref;
    for (int64_t j = 0; j < nb; j++) widen(c + ((j0 + j) * nkv + hk) * hd, buf + j * hd, hd);
    *stride = hd;
    return buf;
}

void flt_attention_unit(const flt_attn_args *a, int64_t u) {
#if defined(__x86_64__) || defined(__i386__)
    const attn_prims *P = a->simd ? &prims_avx2 : &prims_ref;
#else
    const attn_prims *P = &prims_ref;
#endif
    int64_t hd = a->hd, nh = a->nh, group = nh / a->nkv;
    int64_t tb = u / a->nkv, hk = u % a->nkv;
    int64_t t0 = tb * QT, t1 = t0 + QT < a->nt ? t0 + QT : a->nt;
    int64_t kb = key_block(hd);
    int64_t qr = TILE_FLOATS / hd < QR ? TILE_FLOATS / hd : QR;
    if (qr < 1) qr = 1;
    float acc[TILE_FLOATS], kbuf[TILE_FLOATS], vbuf[TILE_FLOATS], s[QR][KB_MAX];
    float m[QR], l[QR];
    int64_t nk[QR];
    const float *qp[QR];
    float *yp[QR];
    int64_t n_rows = (t1 - t0) * group;
    for (int64_t r0 = 0; r0 < n_rows; r0 += qr) {
        int64_t R = n_rows - r0 < qr ? n_rows - r0 : qr, maxk = 0;
        for (int64_t r = 0; r < R; r++) {
            int64_t t = t0 + (r0 + r) / group, h = hk * group + (r0 + r) % group;
            qp[r] = a->q + (t * nh + h) * hd;
            yp[r] = a->out + (t * nh + h) * hd;
            nk[r] = a->n_past + t + 1;
            if (nk[r] > maxk) maxk = nk[r];
            m[r] = -INFINITY;
            l[r] = 0.0f;
            memset(acc + r * hd, 0, (size_t)hd * sizeof(float));
        }
        for (int64_t j0 = 0; j0 < maxk; j0 += kb) {
            int64_t nb = maxk - j0 < kb ? maxk - j0 : kb, ks, vs;
            const float *K = kv_rows(a, a->k, hk, j0, nb, kbuf, &ks);
            int64_t lim[QR];
            for (int64_t r = 0; r < R; r++) {
                lim[r] = nk[r] - j0 < nb ? nk[r] - j0 : nb;
                if (lim[r] <= 0) continue;
                float bm = -INFINITY;
                for (int64_t j = 0; j < lim[r]; j++) {
                    s[r][j] = P->dot(qp[r], K + j * ks, hd) * a->scale;
                    if (s[r][j] > bm) bm = s[r][j];
                }
                float mn = bm > m[r] ? bm : m[r];
                float c = m[r] == -INFINITY ? 0.0f : expf(m[r] - mn);
                P->exp_sub(s[r], mn, lim[r]);
                float sum = 0.0f;
                for (int64_t j = 0; j < lim[r]; j++) sum += s[r][j];
                l[r] = l[r] * c + sum;
                if (c != 1.0f) P->scale(acc + r * hd, c, hd);
                m[r] = mn;
            }
            const float *V = kv_rows(a, a->v, hk, j0, nb, vbuf, &vs);
            for (int64_t r = 0; r < R; r++)
                for (int64_t j = 0; j < lim[r]; j++) P->axpy(acc + r * hd, s[r][j], V + j * vs, hd);
        }
        for (int64_t r = 0; r < R; r++) {
            float inv = 1.0f / l[r];
            for (int64_t i = 0; i < hd; i++) yp[r][i] = acc[r * hd + i] * inv;
        }
    }
}
