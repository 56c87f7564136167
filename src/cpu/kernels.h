/* CPU kernel sets. A set is a table of function pointers indexed by dtype:
 * "scalar" is the plain-C reference (the oracle every other set is tested
 * against); SIMD sets are picked at run time from what the CPU and OS support.
 *
 * Contracts shared by every kernel in every set:
 * - n counts elements and is a multiple of the dtype's block_size; n == 0 is fine.
 * - Pointers need only their element's natural alignment (4 for f32 and for
 *   blocks holding a float scale such as Q8_K, 2 for f16/bf16 and the other
 *   quantized blocks). Results never depend on alignment: the
 *   same inputs give the same bits on every call.
 * - Kernels are pure (no state), so any thread may call any of them.
 * - Sets may differ from each other in the last bits of a dot product
 *   (summation order); conversions (to_f32/from_f32) are bit-identical across
 *   sets.
 * - Q8_0 activations are expected in [-127, 127] (all the quantizer produces):
 *   for Q8_0 weights a -128 activation may give a wrong product in SIMD sets
 *   (never a crash). Weights may hold any byte. */
#ifndef FLT_CPU_KERNELS_H
#define FLT_CPU_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dtype.h"
#include "cpu/packed.h"

/* out = sum_i w[i] * a[i]; w in the weight dtype, a in its dot_type. */
typedef void (*flt_vec_dot_fn)(int64_t n, const void *w, const void *a, float *out);
typedef void (*flt_convert_fn)(const float *src, void *dst, int64_t n);
typedef void (*flt_to_f32_fn)(const void *src, float *dst, int64_t n);
/* A block of a matrix product: out[t * ldo + r] = w row r . a row t for r < nr,
 * t < nt (rows w_stride and a_stride bytes apart). Every element is bit-identical
 * to this set's vec_dot on that pair, whatever nr, nt and the element's place in
 * the block: a batch gives the same bits as the same tokens one at a time, and
 * any split of rows or tokens between threads gives the same bits. */
typedef void (*flt_gemm_fn)(int64_t n, const void *w, size_t w_stride, int64_t nr,
                            const void *a, size_t a_stride, int64_t nt, float *out, int64_t ldo);

typedef struct flt_kernels {
    const char *name;                              /* "scalar", "neon", "avx2", "avx512" */
    flt_vec_dot_fn vec_dot[FLT_DTYPE_COUNT];       /* indexed by weight dtype; NULL if unsupported */
    flt_convert_fn from_f32[FLT_DTYPE_COUNT];      /* fast activation conversion (e.g. f32->Q8_0) */
    flt_to_f32_fn to_f32[FLT_DTYPE_COUNT];         /* fast dequantize (embedding rows) */
    flt_gemm_fn gemm[FLT_DTYPE_COUNT];             /* tiled products; NULL: vec_dot per pair */
    /* products over weights repacked at load (cpu/packed.h); NULL: none */
    const flt_packed_kernel *packed[FLT_DTYPE_COUNT];
    /* y[i] = silu(a[i]) * b[i] = a[i] / (1 + e^-a[i]) * b[i]; NULL: the plain C
     * loop of the graph op (libm's expf). A set's e^x may differ from libm's in
     * the last bits; each element's result depends only on a[i] and b[i]. */
    void (*swiglu)(const float *a, const float *b, float *y, int64_t n);
} flt_kernels;

/* All returned tables are static and live forever. Thread-safe. */
const flt_kernels *flt_kernels_scalar(void);              /* the reference, always available */
const flt_kernels *flt_kernels_by_name(const char *name); /* NULL if unknown or this CPU can't run it */
/* Best set the CPU supports, chosen once. Env FLINT_KERNELS=scalar|neon|avx2|avx512 (read
 * once, at the first call) forces a set; an unknown or unsupported value falls
 * back to the best set. */
const flt_kernels *flt_kernels_default(void);
/* Writes up to cap sets this machine can run, scalar first; returns how many
 * exist (may exceed cap: the two-call pattern). */
int flt_kernels_list(const flt_kernels **out, int cap);

/* ---- internal to src/cpu ---- */
/* The AVX2+FMA+F16C table, or NULL when not compiled for x86. Does not check
 * the CPU: callers go through flt_kernels_by_name/default. */
const flt_kernels *flt_kernels_avx2_table(void);
/* CPUID says AVX2, FMA and F16C, and XGETBV says the OS saves YMM state. */
bool flt_cpu_has_avx2(void);
/* The AVX-512 (F, BW, VL, VNNI) table built on the AVX2 one, or NULL when not
 * compiled for x86; same caveat as the AVX2 table. */
const flt_kernels *flt_kernels_avx512_table(void);
/* AVX2 as above, plus CPUID AVX512F/BW/DQ/VL/VNNI and XGETBV opmask, ZMM0-15
 * upper halves and ZMM16-31 state (XCR0 bits 5, 6, 7). */
bool flt_cpu_has_avx512(void);
/* The NEON (AArch64 Advanced SIMD, baseline there) table, or NULL when not
 * compiled for AArch64; needs no run-time check on that target. */
const flt_kernels *flt_kernels_neon_table(void);

#endif
