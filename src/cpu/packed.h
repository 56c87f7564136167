/* Weights repacked at load time ("packed"): a matrix stored as panels of
 * panel_rows consecutive rows, each panel holding, block by block, the quants of
 * all its rows interleaved so that one vector load feeds every row of the panel,
 * and the rows' scales side by side. A matrix-vector product then streams one
 * contiguous region per thread, and each lane of an accumulator is one output
 * row (no horizontal sums).
 *
 * The layout belongs to the kernel set that packed it: a tensor records which
 * set made its packed copy (flt_tensor.packed_for) and only that set's gemm may
 * read it. The plain layout stays in the file mapping for everything else
 * (embedding rows, other kernel sets).
 *
 * Contract of every packed kernel, shared with flt_gemm_fn (kernels.h): each
 * output element is a pure function of its weight row and activation row, so
 * any split of rows or tokens (threads, batch vs one token at a time) gives the
 * same bits. Results agree with the scalar oracle's vec_dot within the usual
 * summation-order tolerance. */
#ifndef FLT_CPU_PACKED_H
#define FLT_CPU_PACKED_H

#include <stddef.h>
#include <stdint.h>

typedef struct flt_packed_kernel {
    const char *layout; /* e.g. "q4_0x16"; for logs and tests */
    int panel_rows;     /* rows per panel */
    /* Bytes of one panel of a matrix with `cols` columns (cols a multiple of the
     * dtype's block size); 0 if this layout cannot hold such rows. */
    size_t (*panel_bytes)(int64_t cols);
    /* Pack panels [p0, p1) of w (rows x cols in the dtype's plain layout, rows ws
     * bytes apart) into dst, the start of the whole packed matrix (panel p at
     * p * panel_bytes(cols)). Rows past `rows` in the last panel are packed as
     * zero weights (their outputs are never written). */
    void (*pack)(const void *w, size_t ws, int64_t rows, int64_t cols, int64_t p0, int64_t p1, void *dst);
    /* out[t * ldo + (r - r0)] = weight row r . activation row t for r in
     * [r0, r0 + nr) and t < nt. r0 is a multiple of panel_rows; r0 + nr may end
     * inside the last panel. Activations are in the dtype's dot_type, rows `as`
     * bytes apart. */
    void (*gemm)(int64_t cols, const void *packed, int64_t r0, int64_t nr, const void *a, size_t as, int64_t nt,
                 float *out, int64_t ldo);
} flt_packed_kernel;

/* The packed kernels of the AVX-512 set, one file each; NULL where a type has
 * none (yet). Callers must have checked the CPU. */
const flt_packed_kernel *flt_packed_q4_0_avx512(void);
const flt_packed_kernel *flt_packed_q8_0_avx512(void);
const flt_packed_kernel *flt_packed_q5_0_avx512(void);
const flt_packed_kernel *flt_packed_q4_k_avx512(void);
const flt_packed_kernel *flt_packed_q6_k_avx512(void);
const flt_packed_kernel *flt_packed_f16_avx512(void);
/* ...and of the AVX2 set (no VNNI: Zen 3 and older). */
const flt_packed_kernel *flt_packed_q4_0_avx2(void);
const flt_packed_kernel *flt_packed_q8_0_avx2(void);
const flt_packed_kernel *flt_packed_q4_k_avx2(void);
const flt_packed_kernel *flt_packed_q6_k_avx2(void);
const flt_packed_kernel *flt_packed_f16_avx2(void);

#endif
