/* Packed Q4_K weights for the AVX-512 VNNI set (cpu/packed.h), layout
 * "q4_kx16": panels of 16 rows, exactly as many bytes as the plain rows (144
 * per row and super-block). Per super-block of 256 columns a panel holds 2304
 * bytes (a multiple of 64, so every vector below is 64-byte aligned in an
 * aligned buffer), from the super-block start:
 *   [   0,   32)  d of rows 0..15 (binary16)
 *   [  32,   64)  dmin of rows 0..15 (binary16)
 *   [  64,  256)  the 12 scale bytes, as three 64-byte vectors: vector k holds
 *                 bytes 4k..4k+3 of row r in its dword r
 *   [ 256, 2304)  qs: for chunk c (0..3) and group g (0..7) a 64-byte vector at
 *                 256 + 512c + 64g whose dword r is row r's qs[32c + 4g ..+3]:
 *                 low nibbles = elements 64c + 4g..+3 (sub-block 2c), high
 *                 nibbles = elements 64c + 32 + 4g..+3 (sub-block 2c + 1).
 * The 6-bit scales stay packed: unpacking them takes a dozen vector operations
 * per panel and super-block, shared by every token of a tile, while unpacked
 * bytes would add 2.8 % to every byte a generated token streams.
 *
 * One VPDPBUSD (nibbles unsigned, four activation bytes signed and broadcast)
 * adds 4 products to each of the 16 rows. Over half a sub-block (16 elements)
 * the sum fits int16 (16 * 15 * 128 < 2^15), so one VPDPWSSD with the scale as
 * the low word of a dword (high word 0) multiplies it in exactly: the integer
 * sum of the super-block, sum_j sc_j * q.a, is exact in int32 (< 2^25). The
 * mins term, sum_j m_j * (sum of sub-block j's activations), is VPDPWSSD of
 * (m_j, m_j) with the activation's bsums pair (2j, 2j + 1); like the plain
 * kernels this relies on bsums matching qs. Then per super-block and token two
 * float FMAs into a vector whose lane r is row r, acc += isum * (d * da) and
 * acc -= imin * (dmin * da) in that order, whatever the tile: an output never
 * depends on how rows or tokens were split, and there is no horizontal sum.
 *
 * A tile is one panel x up to 8 tokens: the weights, unpacked in registers as
 * they stream by, serve every token of the tile, and everything stays in
 * registers (16 tokens spill and measured slower, as did unpacking a panel
 * super-block once into an L1 buffer for a whole token block). Generation (one
 * token) is the 1-token tile walking the band's panels in memory order;
 * prompts go in token blocks whose activations stay in L2 while the band's
 * panels pass, each panel staying in L2 while the block's tiles pass. */
#include "cpu/kernels_avx512.h"

#include "cpu/packed.h"
#include "cpu/packed_k_util.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "core/quant_blocks.h"

enum {
    PR = 16,                  /* rows per panel */
    SB = PR * 144,            /* bytes per panel and super-block (= plain) */
    OFF_DMIN = 32,
    OFF_SC = 64,
    OFF_QS = 256,
    MAX_T = 8,                /* tokens per tile */
    ACT_BLOCK = 512 * 1024,   /* activation bytes per token block (in L2 with one panel) */
    PF = 2048,                /* software prefetch distance of generation, bytes */
};

_Static_assert(OFF_QS + 4 * 512 == SB, "q4_kx16 super-block size");
_Static_assert(2 * 16 + 4 == SB / 64, "the generation prefetch covers a super-block's lines");

static size_t q4k_panel_bytes(int64_t cols) {
    if (cols <= 0 || cols % FLT_QK_K != 0) return 0;
    const uint64_t nb = (uint64_t)(cols / FLT_QK_K);
    if (nb > SIZE_MAX / SB) return 0;
    return (size_t)nb * SB;
}

static void q4k_pack(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst) {
    flt_q4k_pack_panels(w, ws, rows, cols, p0, p1, dst, PR);
}

FLT_AVX512_INL __m512i bcast4(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* vpshufb controls (the same in every 128-bit lane, dword k = row 4L + k):
 * byte j of each dword zero-extended to the dword, and to both words. */
FLT_AVX512_INL __m512i pick_dword(int j) {
    return _mm512_add_epi32(_mm512_broadcast_i32x4(_mm_setr_epi32((int)0x80808000, (int)0x80808004,
                                                                   (int)0x80808008, (int)0x8080800c)),
                            _mm512_set1_epi32(j));
}
FLT_AVX512_INL __m512i pick_words(int j) {
    return _mm512_add_epi32(_mm512_broadcast_i32x4(_mm_setr_epi32((int)0x80008000, (int)0x80048004,
                                                                   (int)0x80088008, (int)0x800c800c)),
                            _mm512_set1_epi32(j * 0x10001));
}

/* The 6-bit scales and mins of a panel super-block as bytes: byte j (0..3) of
 * dword r is row r's sub-block j (lo) or 4 + j (hi); see flt_k_scale_min_k4. */
typedef struct q4k_scales {
    __m512i sc_lo, sc_hi, mn_lo, mn_hi;
} q4k_scales;

FLT_AVX512_INL q4k_scales load_scales(const uint8_t *s) {
    const __m512i m4 = _mm512_set1_epi8(0x0f), m6 = _mm512_set1_epi8(0x3f), m2 = _mm512_set1_epi8(0x30);
    const __m512i u0 = _mm512_loadu_si512(s + OFF_SC), u1 = _mm512_loadu_si512(s + OFF_SC + 64);
    const __m512i u2 = _mm512_loadu_si512(s + OFF_SC + 128);
    q4k_scales k;
    k.sc_lo = _mm512_and_si512(u0, m6);
    k.mn_lo = _mm512_and_si512(u1, m6);
    k.sc_hi = _mm512_or_si512(_mm512_and_si512(u2, m4), _mm512_and_si512(_mm512_srli_epi32(u0, 2), m2));
    k.mn_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 4), m4),
                              _mm512_and_si512(_mm512_srli_epi32(u1, 2), m2));
    return k;
}
/* sub-block j's scale as the low word of each row's dword (high word 0) */
FLT_AVX512_INL __m512i scale_of(const q4k_scales *k, int j) {
    return _mm512_shuffle_epi8(j < 4 ? k->sc_lo : k->sc_hi, pick_dword(j & 3));
}
/* sub-block j's min in both words of each row's dword */
FLT_AVX512_INL __m512i min_of(const q4k_scales *k, int j) {
    return _mm512_shuffle_epi8(j < 4 ? k->mn_lo : k->mn_hi, pick_words(j & 3));
}

/* The 4 nibble vectors of (chunk c, half h, sub-block parity e): group g's 4
 * elements of each row, unsigned bytes. */
FLT_AVX512_INL void nibbles(const uint8_t *s, int c, int h, int e, __m512i v[4]) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        const __m512i raw = _mm512_loadu_si512(s + OFF_QS + 512 * c + 256 * h + 64 * g);
        v[g] = _mm512_and_si512(e ? _mm512_srli_epi16(raw, 4) : raw, m4);
    }
}

/* isum += sc * (16 elements of sub-block 2c + e, half h) for one token: four
 * VPDPBUSD; |sum| <= 16 * 15 * 128 < 2^15, so it is the low word of its dword
 * and the high word (its sign) meets the scale's zero high word. */
FLT_AVX512_INL __m512i half_dot(__m512i isum, const __m512i v[4], __m512i sc, const flt_block_q8_k *y, int c, int h,
                                int e) {
    const int8_t *ya = y->qs + 64 * c + 32 * e + 16 * h;
    __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), v[0], bcast4(ya));
#pragma GCC unroll 4
    for (int g = 1; g < 4; g++) p = _mm512_dpbusd_epi32(p, v[g], bcast4(ya + 4 * g));
    return _mm512_dpwssd_epi32(isum, p, sc);
}

/* The only float arithmetic of an output, once per super-block, identical in
 * every path: acc += isum * (d * da); acc -= imin * (dmin * da). */
FLT_AVX512_INL __m512 sb_accumulate(__m512 acc, __m512i isum, __m512i imin, __m512 d, __m512 dm, float da) {
    const __m512 vda = _mm512_set1_ps(da);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(d, vda), acc);
    return _mm512_fnmadd_ps(_mm512_cvtepi32_ps(imin), _mm512_mul_ps(dm, vda), acc);
}

/* One panel x T tokens over all nb super-blocks; lane r of out is row r. */
FLT_AVX512_INL void q4k_tile(const uint8_t *pan, int64_t nb, const char *a, size_t as, float *out, int64_t ldo,
                             __mmask16 rmask, int T) {
    __m512 acc[MAX_T];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *s = pan + (size_t)b * SB;
        const flt_block_q8_k *y[MAX_T];
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) y[t] = (const flt_block_q8_k *)(a + (size_t)t * as) + b;
        const q4k_scales k = load_scales(s);
        __m512i isum[MAX_T], imin[MAX_T];
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) isum[t] = imin[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++)
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++)
#pragma GCC unroll 2
                for (int e = 0; e < 2; e++) {
                    if (T <= 2) {
                        /* Generation streams the band's panels from memory (one
                         * after another in it): fetch into L2 PF bytes ahead, 2
                         * of the super-block's 36 lines per step (the last step
                         * 6), spread out so the fetches do not queue up at once.
                         * Worth ~4 % of a 1.1B Q4_K_M token; T0, farther or all
                         * at the super-block's start measured no better. */
                        const char *pf = (const char *)s + PF + 128 * (4 * c + 2 * h + e);
                        _mm_prefetch(pf, _MM_HINT_T1);
                        _mm_prefetch(pf + 64, _MM_HINT_T1);
                        if (c == 3 && h == 1 && e == 1)
                            for (int i = 2; i < 6; i++) _mm_prefetch(pf + 64 * i, _MM_HINT_T1);
                    }
                    const __m512i sc = scale_of(&k, 2 * c + e);
                    __m512i v[4];
                    nibbles(s, c, h, e, v);
#pragma GCC unroll 8
                    for (int t = 0; t < T; t++) isum[t] = half_dot(isum[t], v, sc, y[t], c, h, e);
                }
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            const __m512i mm = min_of(&k, j);
#pragma GCC unroll 8
            for (int t = 0; t < T; t++) imin[t] = _mm512_dpwssd_epi32(imin[t], mm, bcast4(y[t]->bsums + 2 * j));
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)s));
        const __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(s + OFF_DMIN)));
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) acc[t] = sb_accumulate(acc[t], isum[t], imin[t], d, dm, y[t]->d);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) _mm512_mask_storeu_ps(out + t * ldo, rmask, acc[t]);
}

typedef void (*q4k_tile_fn)(const uint8_t *pan, int64_t nb, const char *a, size_t as, float *out, int64_t ldo,
                            __mmask16 rmask);
#define Q4K_TILE(T)                                                                                            \
    FLT_AVX512_ATTR static void q4k_tile_##T(const uint8_t *pan, int64_t nb, const char *a, size_t as, float *out, \
                                             int64_t ldo, __mmask16 rmask) {                                   \
        q4k_tile(pan, nb, a, as, out, ldo, rmask, T);                                                          \
    }
Q4K_TILE(1)
Q4K_TILE(2)
Q4K_TILE(3)
Q4K_TILE(4)
Q4K_TILE(5)
Q4K_TILE(6)
Q4K_TILE(7)
Q4K_TILE(8)
static const q4k_tile_fn q4k_tiles[8] = {q4k_tile_1, q4k_tile_2, q4k_tile_3, q4k_tile_4,
                                         q4k_tile_5, q4k_tile_6, q4k_tile_7, q4k_tile_8};

static void q4k_gemm(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as, int64_t nt,
                     float *out, int64_t ldo) {
    if (nr <= 0 || nt <= 0) return;
    const int64_t nb = cols / FLT_QK_K;
    const size_t pb = (size_t)nb * SB;
    const uint8_t *base = (const uint8_t *)packed + (size_t)(r0 / PR) * pb;
    /* token blocks whose activations stay in L2 while every panel of the band passes */
    const size_t row_act = (size_t)nb * sizeof(flt_block_q8_k);
    int64_t tb = (int64_t)(ACT_BLOCK / (row_act ? row_act : 1)) / MAX_T * MAX_T;
    if (tb < MAX_T) tb = MAX_T;
    for (int64_t t0 = 0; t0 < nt; t0 += tb) {
        const int64_t t1 = nt - t0 < tb ? nt : t0 + tb;
        for (int64_t p = 0; p * PR < nr; p++) {
            const uint8_t *pan = base + (size_t)p * pb;
            const int64_t left = nr - p * PR;
            const __mmask16 rmask = left >= PR ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
            for (int64_t t = t0, n; t < t1; t += n) {
                n = t1 - t >= MAX_T ? MAX_T : t1 - t;
                q4k_tiles[n - 1](pan, nb, (const char *)a + (size_t)t * as, as, out + t * ldo + p * PR, ldo, rmask);
            }
        }
    }
}

static const flt_packed_kernel q4k_packed = {
    .layout = "q4_kx16",
    .panel_rows = PR,
    .panel_bytes = q4k_panel_bytes,
    .pack = q4k_pack,
    .gemm = q4k_gemm,
};

const flt_packed_kernel *flt_packed_q4_k_avx512(void) { return &q4k_packed; }

#else

const flt_packed_kernel *flt_packed_q4_k_avx512(void) { return NULL; }

#endif
