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
#include "cpu/avx2_util.h"

FLT_AVX2 static float dot_avx2(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = flt_avx2_hsum(_mm256_add_ps(s0, s1));
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

FLT_AVX2 static void exp_sub_avx2(float *p, float m, int64_t n) {
    __m256 vm = _mm256_set1_ps(m);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(p + i, flt_avx2_exp(_mm256_sub_ps(_mm256_loadu_ps(p + i), vm)));
    if (i < n) {
        float t[8] = {0};
        for (int64_t j = i; j < n; j++) t[j - i] = p[j] - m;
        _mm256_storeu_ps(t, flt_avx2_exp(_mm256_loadu_ps(t)));
        for (int64_t j = i; j < n; j++) p[j] = t[j - i];
    }
}
static const attn_prims prims_avx2 = {dot_avx2, axpy_avx2, scale_avx2, exp_sub_avx2};

/* The AVX2 tile as a small GEMM, for head sizes that are a multiple of 8 up to
 * HD_TILED: each F16 key/value block is widened once per tile, the score tile
 * is computed a few rows × keys at a time with the accumulators in registers,
 * and P × V updates four query rows per value row loaded. Every score and
 * every accumulator element sees the same operations whichever rows share its
 * tile (the kernels below differ only in how many rows or keys they carry),
 * so results still do not depend on the tiling or the thread count. */
enum {
    QRS = 16,      /* query rows per tile on this path: one tile per unit for groups up to 4 */
    HD_TILED = 256 /* largest head size of this path (KB_MAX keys per block) */
};

#define FLT_AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) static inline

/* Lane sums of eight vectors as one vector: element i = sum of v[i], always
 * summed as ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)). */
FLT_AVX2_INLINE __m256 sum8x8(__m256 v0, __m256 v1, __m256 v2, __m256 v3, __m256 v4, __m256 v5, __m256 v6, __m256 v7) {
    __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
    __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(v4, v5), _mm256_hadd_ps(v6, v7));
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* Scaled scores of two query rows against keys [0, n) of K (rows ks apart),
 * four keys at a time; keys at or past nb repeat key nb - 1 (scores unused). */
FLT_AVX2 static void scores_2rows(const float *q0, const float *q1, const float *K, int64_t ks, int64_t nb,
                                  int64_t hd, float scale, float *s0, float *s1) {
    const __m256 vs = _mm256_set1_ps(scale);
    for (int64_t j = 0; j < nb; j += 4) {
        const float *k0 = K + j * ks, *k1 = K + (j + 1 < nb ? j + 1 : nb - 1) * ks;
        const float *k2 = K + (j + 2 < nb ? j + 2 : nb - 1) * ks, *k3 = K + (j + 3 < nb ? j + 3 : nb - 1) * ks;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int64_t i = 0; i < hd; i += 8) {
            __m256 x0 = _mm256_loadu_ps(q0 + i), x1 = _mm256_loadu_ps(q1 + i), y;
            y = _mm256_loadu_ps(k0 + i); a0 = _mm256_fmadd_ps(x0, y, a0); b0 = _mm256_fmadd_ps(x1, y, b0);
            y = _mm256_loadu_ps(k1 + i); a1 = _mm256_fmadd_ps(x0, y, a1); b1 = _mm256_fmadd_ps(x1, y, b1);
            y = _mm256_loadu_ps(k2 + i); a2 = _mm256_fmadd_ps(x0, y, a2); b2 = _mm256_fmadd_ps(x1, y, b2);
            y = _mm256_loadu_ps(k3 + i); a3 = _mm256_fmadd_ps(x0, y, a3); b3 = _mm256_fmadd_ps(x1, y, b3);
        }
        __m256 r = _mm256_mul_ps(sum8x8(a0, a1, a2, a3, b0, b1, b2, b3), vs);
        _mm_storeu_ps(s0 + j, _mm256_castps256_ps128(r));
        _mm_storeu_ps(s1 + j, _mm256_extractf128_ps(r, 1));
    }
}

/* The same for one query row, eight keys at a time. */
FLT_AVX2 static void scores_1row(const float *q0, const float *K, int64_t ks, int64_t nb, int64_t hd, float scale,
                                 float *s0) {
    const __m256 vs = _mm256_set1_ps(scale);
    for (int64_t j = 0; j < nb; j += 8) {
        const float *k[8];
        for (int64_t x = 0; x < 8; x++) k[x] = K + (j + x < nb ? j + x : nb - 1) * ks;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int64_t i = 0; i < hd; i += 8) {
            __m256 x0 = _mm256_loadu_ps(q0 + i);
            a0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(k[0] + i), a0);
            a1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(k[1] + i), a1);
            a2 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(k[2] + i), a2);
            a3 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(k[3] + i), a3);
            a4 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(k[4] + i), a4);
            a5 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(k[5] + i), a5);
            a6 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(k[6] + i), a6);
            a7 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(k[7] + i), a7);
        }
        _mm256_storeu_ps(s0 + j, _mm256_mul_ps(sum8x8(a0, a1, a2, a3, a4, a5, a6, a7), vs));
    }
}

/* Online-softmax step of one row over its lim scores s[0, lim) (lim <= KB_MAX):
 * s becomes the weights exp(s - m_new), zero through KB_MAX; returns the factor
 * for the old accumulator and updates the running max *m and sum *l. */
FLT_AVX2 static float softmax_row(float *s, int64_t lim, float *m, float *l) {
    const __m256 ninf = _mm256_set1_ps(-INFINITY), iota = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
    int64_t ng = (lim + 7) / 8;
    __m256 v[KB_MAX / 8], mx = ninf;
    for (int64_t g = 0; g < ng; g++) {
        __m256 live = _mm256_cmp_ps(iota, _mm256_set1_ps((float)(lim - 8 * g)), _CMP_LT_OQ);
        v[g] = _mm256_blendv_ps(ninf, _mm256_loadu_ps(s + 8 * g), live);
        mx = _mm256_max_ps(mx, v[g]);
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    float bm = _mm_cvtss_f32(h), mn = bm > *m ? bm : *m;
    float c = *m == -INFINITY ? 0.0f : expf(*m - mn);
    __m256 vm = _mm256_set1_ps(mn), sum = _mm256_setzero_ps();
    for (int64_t g = 0; g < ng; g++) {
        __m256 p = flt_avx2_exp(_mm256_sub_ps(v[g], vm));
        sum = _mm256_add_ps(sum, p);
        _mm256_storeu_ps(s + 8 * g, p);
    }
    for (int64_t g = ng; g < KB_MAX / 8; g++) _mm256_storeu_ps(s + 8 * g, _mm256_setzero_ps());
    *l = *l * c + flt_avx2_hsum(sum);
    *m = mn;
    return c;
}

/* acc[r][d, d + 8 nc) = acc[r][...] * c[r] + sum over j < n of p[r][j] V[j][...],
 * for nr rows (nr <= 4, nc <= 2; constants after inlining, so the
 * accumulators stay in registers and each V row is loaded once for nr rows). */
FLT_AVX2_INLINE void pv_kernel(int nr, int nc, float *const *acc, const float *const *p, const float *c,
                               const float *V, int64_t vs, int64_t n, int64_t d) {
    __m256 a[4][2];
    for (int r = 0; r < nr; r++) {
        __m256 vc = _mm256_set1_ps(c[r]);
        for (int x = 0; x < nc; x++) a[r][x] = _mm256_mul_ps(_mm256_loadu_ps(acc[r] + d + 8 * x), vc);
    }
    for (int64_t j = 0; j < n; j++) {
        const float *vj = V + j * vs + d;
        __m256 y0 = _mm256_loadu_ps(vj), y1 = nc > 1 ? _mm256_loadu_ps(vj + 8) : y0;
        for (int r = 0; r < nr; r++) {
            __m256 w = _mm256_broadcast_ss(p[r] + j);
            a[r][0] = _mm256_fmadd_ps(w, y0, a[r][0]);
            if (nc > 1) a[r][1] = _mm256_fmadd_ps(w, y1, a[r][1]);
        }
    }
    for (int r = 0; r < nr; r++)
        for (int x = 0; x < nc; x++) _mm256_storeu_ps(acc[r] + d + 8 * x, a[r][x]);
}

FLT_AVX2 static void pv_rows(int nr, float *const *acc, const float *const *p, const float *c, const float *V,
                             int64_t vs, int64_t n, int64_t hd) {
    int64_t d = 0;
    switch (nr) {
    case 4: for (; d + 16 <= hd; d += 16) pv_kernel(4, 2, acc, p, c, V, vs, n, d); if (d < hd) pv_kernel(4, 1, acc, p, c, V, vs, n, d); break;
    case 3: for (; d + 16 <= hd; d += 16) pv_kernel(3, 2, acc, p, c, V, vs, n, d); if (d < hd) pv_kernel(3, 1, acc, p, c, V, vs, n, d); break;
    case 2: for (; d + 16 <= hd; d += 16) pv_kernel(2, 2, acc, p, c, V, vs, n, d); if (d < hd) pv_kernel(2, 1, acc, p, c, V, vs, n, d); break;
    default: for (; d + 16 <= hd; d += 16) pv_kernel(1, 2, acc, p, c, V, vs, n, d); if (d < hd) pv_kernel(1, 1, acc, p, c, V, vs, n, d); break;
    }
}

/* nb rows of an F16 cache (rows rs apart) widened to F32 rows hd apart. */
FLT_AVX2 static void widen_block(const uint16_t *c, int64_t rs, int64_t nb, int64_t hd, float *buf) {
    for (int64_t j = 0; j < nb; j++)
        for (int64_t i = 0; i < hd; i += 8)
            _mm256_storeu_ps(buf + j * hd + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(c + j * rs + i))));
}

FLT_AVX2 static void attention_unit_avx2(const flt_attn_args *a, int64_t u) {
    int64_t hd = a->hd, nh = a->nh, nkv = a->nkv, group = nh / nkv, rs = nkv * hd;
    int64_t tb = u / nkv, hk = u % nkv;
    int64_t t0 = tb * QT, t1 = t0 + QT < a->nt ? t0 + QT : a->nt;
    float acc[QRS * HD_TILED], kbuf[KB_MAX * HD_TILED], vbuf[KB_MAX * HD_TILED], s[QRS][KB_MAX];
    float m[QRS], l[QRS], c[QRS];
    int64_t nk[QRS], lim[QRS];
    const float *qp[QRS], *pp[QRS];
    float *yp[QRS], *ap[QRS];
    int64_t n_rows = (t1 - t0) * group;
    for (int64_t r0 = 0; r0 < n_rows; r0 += QRS) {
        int64_t R = n_rows - r0 < QRS ? n_rows - r0 : QRS, maxk = 0;
        for (int64_t r = 0; r < R; r++) {
            int64_t t = t0 + (r0 + r) / group, h = hk * group + (r0 + r) % group;
            qp[r] = a->q + (t * nh + h) * hd;
            yp[r] = a->out + (t * nh + h) * hd;
            ap[r] = acc + r * hd;
            pp[r] = s[r];
            nk[r] = a->n_past + t + 1; /* never decreasing in r */
            if (nk[r] > maxk) maxk = nk[r];
            m[r] = -INFINITY;
            l[r] = 0.0f;
            memset(acc + r * hd, 0, (size_t)hd * sizeof(float));
        }
        for (int64_t j0 = 0; j0 < maxk; j0 += KB_MAX) {
            int64_t nb = maxk - j0 < KB_MAX ? maxk - j0 : KB_MAX, ks = rs, vs = rs, ra = R;
            const float *K, *V;
            if (a->kv_dtype == FLT_F32) {
                K = (const float *)a->k + (j0 * nkv + hk) * hd;
                V = (const float *)a->v + (j0 * nkv + hk) * hd;
            } else {
                widen_block((const uint16_t *)a->k + (j0 * nkv + hk) * hd, rs, nb, hd, kbuf);
                widen_block((const uint16_t *)a->v + (j0 * nkv + hk) * hd, rs, nb, hd, vbuf);
                K = kbuf;
                V = vbuf;
                ks = vs = hd;
            }
            /* Rows whose keys all lie before j0 sit first (nk grows with r). */
            for (int64_t r = R - 1; r >= 0; r--) {
                lim[r] = nk[r] - j0 < nb ? nk[r] - j0 : nb;
                if (lim[r] > 0) ra = r;
            }
            int64_t r = ra;
            for (; r + 2 <= R; r += 2) scores_2rows(qp[r], qp[r + 1], K, ks, nb, hd, a->scale, s[r], s[r + 1]);
            if (r < R) scores_1row(qp[r], K, ks, nb, hd, a->scale, s[r]);
            for (r = ra; r < R; r++) c[r] = softmax_row(s[r], lim[r], &m[r], &l[r]);
            for (r = ra; r < R; r += 4) {
                int nr = R - r < 4 ? (int)(R - r) : 4;
                pv_rows(nr, ap + r, pp + r, c + r, V, vs, lim[r + nr - 1], hd);
            }
        }
        for (int64_t r = 0; r < R; r++) {
            float inv = 1.0f / l[r];
            for (int64_t i = 0; i < hd; i++) yp[r][i] = acc[r * hd + i] * inv;
        }
    }
}
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
    if (a->simd && a->hd % 8 == 0 && a->hd <= HD_TILED) {
        attention_unit_avx2(a, u);
        return;
    }
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
