/* Packed Q4_K weights for the AVX2 set (AVX2 + FMA + F16C, no AVX-512 or
 * VNNI: AMD Zen 3 and older Intel), activations Q8_K; see cpu/packed.h.
 *
 * Layout "q4_kx8_avx2": panels of 8 rows, one 256-bit register = 8 int32 lanes
 * = the 8 rows, exactly as many bytes as the plain rows (144 per row and
 * super-block). Per super-block of 256 columns a panel holds 1152 bytes (a
 * multiple of 32, so in a 32-byte aligned buffer every vector below is
 * aligned; the kernel still loads unaligned), from the super-block start:
 *   [   0,   16)  d of rows 0..7 (binary16: one VCVTPH2PS)
 *   [  16,   32)  dmin of rows 0..7
 *   [  32,  128)  the 12 scale bytes, as three 32-byte vectors: vector k holds
 *                 bytes 4k..4k+3 of row r in its dword r
 *   [ 128, 1152)  qs: for chunk c (0..3) and group g (0..7) a 32-byte vector
 *                 at 128 + 256c + 32g whose dword r is row r's qs[32c + 4g ..+3]:
 *                 low nibbles = elements 64c + 4g..+3 (sub-block 2c), high
 *                 nibbles = elements 64c + 32 + 4g..+3 (sub-block 2c + 1).
 * The 6-bit scales stay packed (unpacked bytes would add 2.8 % to every byte a
 * generated token streams); unpacking them is a dozen vector operations per
 * panel and super-block, shared by the tokens of a tile.
 *
 * Integer products without VNNI: VPMADDUBSW of a nibble vector (unsigned)
 * with the token's 4 activation bytes of that group broadcast to every lane
 * gives per row two int16 pair sums (a pair is at most 2 * 15 * 128 = 3840,
 * never saturated). Adding the 8 groups of a sub-block in int16 gives in each
 * slot the sum of 16 products, at most 16 * 15 * 128 = 30720 in magnitude:
 * exact. One VPMADDWD with the sub-block's scale in both words of each row's
 * dword then adds the two slots times the scale in int32, so the
 * super-block's sum_j sc_j * q.a is exact (< 2^25). The mins term
 * sum_j m_j * S_j (S_j: sub-block j's activation sum, from bsums, so like the
 * plain kernels this relies on bsums matching qs) is exact too (min_term).
 * Then per super-block and token two float operations into a vector whose
 * lane r is row r, acc += isum * (d * da) and acc -= imin * (dmin * da), in
 * that order whatever the tile: an output never depends on how rows or
 * tokens were split, and there is no horizontal sum.
 *
 * Tiles: one panel x T tokens (T <= 8): the unpacked weights serve every
 * token of the tile. With one or two tokens a group's byte vector is unpacked
 * into both nibble vectors at once; with more, the two sub-blocks of a chunk
 * go one after the other (the weight bytes are loaded twice, from L1) so that
 * each token keeps one int16 accumulator. Generation (one token) walks the
 * band's panels in memory order, one contiguous stream; prompts go in token
 * blocks whose activations stay in L2 while the band's panels pass, each
 * panel staying in L1 while the block's tiles pass.
 *
 * Measured on a Sapphire Rapids core (AVX2 code only): one token from L2
 * streams ~43 GB/s (the loop is bound by its ~270 vector operations per panel
 * super-block: 96 to unpack nibbles, 64 VPMADDUBSW, 56 int16 adds), 2.1x the
 * plain AVX2 vec_dot; 128 tokens ~3.2x. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpu/packed.h"
#include "cpu/packed_k_util.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "core/quant_blocks.h"
#include "cpu/avx2_util.h"

#define FLT_TILE FLT_AVX2 static inline __attribute__((always_inline))

/* An empty asm that takes and returns v in a register, so that the int16 sum
 * of a sub-block stays a chain, one group after the other: left alone, GCC
 * reassociates the unrolled chain into a tree that keeps every product live
 * at once and spills (a third slower with 4 tokens, an eighth with 1). */
#define KEEP_IN_ORDER(v) __asm__("" : "+x"(v))

enum {
    PR = 8,                 /* rows per panel */
    SB = PR * 144,          /* bytes per panel and super-block (= plain) */
    OFF_DMIN = 16,
    OFF_SC = 32,
    OFF_QS = 128,
    MAX_T = 8,              /* tokens per tile */
    ACT_BLOCK = 256 * 1024, /* activation bytes per token block: half a Zen 3 L2 */
    TAB = 2048,             /* min_table entries (16 bytes each: 32 KiB of stack) */
    PF_DIST = 4 * SB,       /* software prefetch distance for one token, bytes */
};

_Static_assert(OFF_QS + 4 * 256 == SB, "q4_kx8_avx2 super-block size");
_Static_assert(sizeof(flt_block_q4_k) == 144, "plain Q4_K block");

/* ---- packing ---------------------------------------------------------------- */

static size_t q4k_panel_bytes(int64_t cols) {
    if (cols <= 0 || cols % FLT_QK_K != 0) return 0;
    const uint64_t nb = (uint64_t)(cols / FLT_QK_K);
    if (nb > SIZE_MAX / SB) return 0;
    return (size_t)nb * SB;
}

static void q4k_pack(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst) {
    flt_q4k_pack_panels(w, ws, rows, cols, p0, p1, dst, PR);
}

/* ---- pieces ----------------------------------------------------------------- */

FLT_TILE __m256i bcast4(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

FLT_TILE __m256i load32(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* VPSHUFB control (the same in both 128-bit lanes, dword k = row 4L + k):
 * byte j of each dword zero-extended into both words of the dword. */
FLT_TILE __m256i pick_words(int j) {
    return _mm256_add_epi32(_mm256_setr_epi32((int)0x80008000, (int)0x80048004, (int)0x80088008, (int)0x800c800c,
                                              (int)0x80008000, (int)0x80048004, (int)0x80088008, (int)0x800c800c),
                            _mm256_set1_epi32(j * 0x10001));
}

/* The 6-bit scales and mins of a panel super-block as bytes: byte j (0..3) of
 * dword r is row r's sub-block j (lo) or 4 + j (hi); see flt_k_scale_min_k4.
 * The 32-bit shifts carry bits across bytes; the masks keep only the bits of
 * each byte's own source. */
typedef struct q4k_scales {
    __m256i sc_lo, sc_hi, mn_lo, mn_hi;
} q4k_scales;

FLT_TILE q4k_scales load_scales(const uint8_t *s) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m6 = _mm256_set1_epi8(0x3f), m2 = _mm256_set1_epi8(0x30);
    const __m256i u0 = load32(s + OFF_SC), u1 = load32(s + OFF_SC + 32), u2 = load32(s + OFF_SC + 64);
    q4k_scales k;
    k.sc_lo = _mm256_and_si256(u0, m6);
    k.mn_lo = _mm256_and_si256(u1, m6);
    k.sc_hi = _mm256_or_si256(_mm256_and_si256(u2, m4), _mm256_and_si256(_mm256_srli_epi32(u0, 2), m2));
    k.mn_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u2, 4), m4),
                              _mm256_and_si256(_mm256_srli_epi32(u1, 2), m2));
    return k;
}

/* sub-block j's scale in both words of each row's dword */
FLT_TILE __m256i scale_of(const q4k_scales *k, int j) {
    return _mm256_shuffle_epi8(j < 4 ? k->sc_lo : k->sc_hi, pick_words(j & 3));
}

/* The activation side of the mins term, per token and super-block (16 bytes,
 * made once per gemm call and shared by every panel): the sub-block sums
 * S_j = bsum_2j + bsum_2j+1 (|S_j| <= 32 * 128) split as S_j = 64 h_j + l_j,
 * h_j = floor(S_j / 64) in [-64, 64] and l_j in [0, 63], stored as the int8
 * vector h_0..h_7, l_0..l_7. */
FLT_AVX2 static void min_table(const char *a, size_t as, int64_t tn, int64_t kn, uint8_t *mt) {
    for (int64_t t = 0; t < tn; t++) {
        const flt_block_q8_k *y = (const flt_block_q8_k *)(a + (size_t)t * as);
        for (int64_t b = 0; b < kn; b++) {
            const __m128i sj = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)y[b].bsums),
                                              _mm_loadu_si128((const __m128i *)(y[b].bsums + 8)));
            const __m128i h = _mm_srai_epi16(sj, 6), l = _mm_and_si128(sj, _mm_set1_epi16(63));
            _mm_storeu_si128((__m128i *)(mt + 16 * (t * kn + b)), _mm_packs_epi16(h, l));
        }
    }
}

/* sum_j m_j * S_j for each row, from a min_table entry: VPMADDUBSW of the mins
 * (unsigned, <= 63) with h (pairs <= 2 * 63 * 64) and with l (<= 2 * 63 * 63),
 * the two halves of the mins added in int16 (<= 16128), then 64 * h-part +
 * l-part widened to int32 by VPMADDWD: exact. */
FLT_TILE __m256i min_term(const q4k_scales *k, const uint8_t *e) {
    const __m256i hs = _mm256_add_epi16(_mm256_maddubs_epi16(k->mn_lo, bcast4(e)),
                                        _mm256_maddubs_epi16(k->mn_hi, bcast4(e + 4)));
    const __m256i ls = _mm256_add_epi16(_mm256_maddubs_epi16(k->mn_lo, bcast4(e + 8)),
                                        _mm256_maddubs_epi16(k->mn_hi, bcast4(e + 12)));
    return _mm256_add_epi32(_mm256_madd_epi16(hs, _mm256_set1_epi16(64)), _mm256_madd_epi16(ls, _mm256_set1_epi16(1)));
}

/* ---- the tile --------------------------------------------------------------- */

/* One panel x T tokens over kn super-blocks: w at the panel's first one, a at
 * the first token's (tokens as bytes apart), mt at the first token's min_table
 * entry (tokens ks entries apart). Lane r of out[t * ldo] is row r, valid rows
 * only. first: start from zero, else go on from the sums the previous stretch
 * of super-blocks left in out (a float stored and reloaded is the same float,
 * so this is the same arithmetic as one pass). */
FLT_TILE void q4k_tile(const int T, const uint8_t *w, int64_t kn, const char *a, size_t as, const uint8_t *mt,
                       int64_t ks, float *out, int64_t ldo, int valid, int first) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc[MAX_T];
    for (int t = 0; t < T; t++)
        acc[t] = first ? _mm256_setzero_ps()
                 : valid >= PR ? _mm256_loadu_ps(out + t * ldo)
                               : _mm256_maskload_ps(out + t * ldo, flt_avx2_lane_mask(valid));
    for (int64_t b = 0; b < kn; b++) {
        const uint8_t *s = w + (size_t)b * SB;
        const int8_t *y[MAX_T];
        for (int t = 0; t < T; t++) y[t] = ((const flt_block_q8_k *)(a + (size_t)t * as) + b)->qs;
        /* One token streams from DRAM: the loop's ~400 micro-ops per super-block
         * leave the out-of-order window too few misses in flight, so ask for the
         * panel 4 super-blocks ahead (into L2; every other line, the spatial
         * prefetcher takes its pair). On Sapphire Rapids 5-10 % faster from
         * DRAM, 0-3 % slower when the matrix sits in L2 or L3. The address may
         * lie past the matrix, hence integer arithmetic (a prefetch never faults). */
        if (T == 1)
            for (int l = 0; l < SB; l += 128) _mm_prefetch((const void *)((uintptr_t)s + PF_DIST + l), _MM_HINT_T2);
        const q4k_scales k = load_scales(s);
        /* the 8 scale vectors up front, so the chunk loop below needs no select */
        __m256i sw[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) sw[j] = scale_of(&k, j);
        __m256i isum[MAX_T];
        for (int t = 0; t < T; t++) isum[t] = _mm256_setzero_si256();
        if (T <= 2) {
            /* both nibbles of a byte vector at once: two int16 sums per token */
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) {
                __m256i p0[MAX_T], p1[MAX_T];
#pragma GCC unroll 8
                for (int g = 0; g < 8; g++) {
                    const __m256i raw = load32(s + OFF_QS + 256 * c + 32 * g);
                    const __m256i lo = _mm256_and_si256(raw, m4);
                    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                    for (int t = 0; t < T; t++) {
                        const __m256i x0 = _mm256_maddubs_epi16(lo, bcast4(y[t] + 64 * c + 4 * g));
                        const __m256i x1 = _mm256_maddubs_epi16(hi, bcast4(y[t] + 64 * c + 32 + 4 * g));
                        p0[t] = g ? _mm256_add_epi16(p0[t], x0) : x0;
                        p1[t] = g ? _mm256_add_epi16(p1[t], x1) : x1;
                        KEEP_IN_ORDER(p0[t]);
                        KEEP_IN_ORDER(p1[t]);
                    }
                }
                for (int t = 0; t < T; t++)
                    isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_madd_epi16(p0[t], sw[2 * c]),
                                                                         _mm256_madd_epi16(p1[t], sw[2 * c + 1])));
            }
        } else {
            /* one sub-block at a time: one int16 sum per token */
#pragma GCC unroll 1
            for (int c = 0; c < 4; c++) {
#pragma GCC unroll 2
                for (int e = 0; e < 2; e++) {
                    __m256i p[MAX_T];
#pragma GCC unroll 8
                    for (int g = 0; g < 8; g++) {
                        const __m256i raw = load32(s + OFF_QS + 256 * c + 32 * g);
                        const __m256i v = _mm256_and_si256(e ? _mm256_srli_epi16(raw, 4) : raw, m4);
                        for (int t = 0; t < T; t++) {
                            const __m256i x = _mm256_maddubs_epi16(v, bcast4(y[t] + 64 * c + 32 * e + 4 * g));
                            p[t] = g ? _mm256_add_epi16(p[t], x) : x;
                            KEEP_IN_ORDER(p[t]);
                        }
                    }
                    for (int t = 0; t < T; t++)
                        isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p[t], sw[2 * c + e]));
                }
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)s));
        const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + OFF_DMIN)));
        for (int t = 0; t < T; t++) {
            const __m256i imin = min_term(&k, mt + 16 * (t * ks + b));
            /* the only float arithmetic of an output, identical in every tile */
            const __m256 da = _mm256_set1_ps(((const flt_block_q8_k *)(a + (size_t)t * as) + b)->d);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(d, da), acc[t]);
            acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(imin), _mm256_mul_ps(dm, da), acc[t]);
        }
    }
    for (int t = 0; t < T; t++) {
        if (valid >= PR) _mm256_storeu_ps(out + t * ldo, acc[t]);
        else _mm256_maskstore_ps(out + t * ldo, flt_avx2_lane_mask(valid), acc[t]);
    }
}

typedef void (*q4k_tile_fn)(const uint8_t *w, int64_t kn, const char *a, size_t as, const uint8_t *mt, int64_t ks,
                            float *out, int64_t ldo, int valid, int first);
#define Q4K_TILE(T)                                                                                               \
    FLT_AVX2 static void q4k_tile_##T(const uint8_t *w, int64_t kn, const char *a, size_t as, const uint8_t *mt, \
                                      int64_t ks, float *out, int64_t ldo, int valid, int first) {               \
        q4k_tile(T, w, kn, a, as, mt, ks, out, ldo, valid, first);                                               \
    }
Q4K_TILE(1)
Q4K_TILE(2)
Q4K_TILE(3)
Q4K_TILE(4)
Q4K_TILE(5)
Q4K_TILE(6)
Q4K_TILE(7)
Q4K_TILE(8)
#undef Q4K_TILE
static const q4k_tile_fn q4k_tiles[MAX_T] = {q4k_tile_1, q4k_tile_2, q4k_tile_3, q4k_tile_4,
                                             q4k_tile_5, q4k_tile_6, q4k_tile_7, q4k_tile_8};

/* ---- the driver ------------------------------------------------------------- */

/* Tokens in blocks whose activations stay in L2 while every panel of the band
 * passes and whose min_table fits TAB entries; super-blocks in stretches of at
 * most TAB (only rows over half a million columns take more than one), the
 * partial sums carried in out. */
static void q4k_gemm(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as, int64_t nt,
                     float *out, int64_t ldo) {
    if (nr <= 0 || nt <= 0 || cols < FLT_QK_K) return;
    uint8_t mt[16 * TAB];
    const int64_t nb = cols / FLT_QK_K;
    const size_t pb = (size_t)nb * SB;
    const uint8_t *base = (const uint8_t *)packed + (size_t)(r0 / PR) * pb;
    const int64_t ks = nb < TAB ? nb : TAB;
    int64_t tb = (int64_t)(ACT_BLOCK / ((size_t)ks * sizeof(flt_block_q8_k))) / MAX_T * MAX_T;
    if (tb < MAX_T) tb = MAX_T;
    if (tb > TAB / ks) tb = TAB / ks;
    for (int64_t t0 = 0; t0 < nt; t0 += tb) {
        const int64_t tn = nt - t0 < tb ? nt - t0 : tb;
        const char *at = (const char *)a + (size_t)t0 * as;
        for (int64_t kb0 = 0; kb0 < nb; kb0 += ks) {
            const int64_t kn = nb - kb0 < ks ? nb - kb0 : ks;
            const char *ak = at + (size_t)kb0 * sizeof(flt_block_q8_k);
            min_table(ak, as, tn, kn, mt);
            for (int64_t p = 0; p * PR < nr; p++) {
                const uint8_t *w = base + (size_t)p * pb + (size_t)kb0 * SB;
                const int valid = nr - p * PR >= PR ? PR : (int)(nr - p * PR);
                for (int64_t t = 0, n; t < tn; t += n) {
                    n = tn - t >= MAX_T ? MAX_T : tn - t;
                    q4k_tiles[n - 1](w, kn, ak + (size_t)t * as, as, mt + 16 * t * kn, kn,
                                     out + (t0 + t) * ldo + p * PR, ldo, valid, kb0 == 0);
                }
            }
        }
    }
}

static const flt_packed_kernel q4k_packed = {
    .layout = "q4_kx8_avx2",
    .panel_rows = PR,
    .panel_bytes = q4k_panel_bytes,
    .pack = q4k_pack,
    .gemm = q4k_gemm,
};

const flt_packed_kernel *flt_packed_q4_k_avx2(void) { return &q4k_packed; }

#else

const flt_packed_kernel *flt_packed_q4_k_avx2(void) { return NULL; }

#endif
