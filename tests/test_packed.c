/* Packed weight layouts (cpu/packed.h) of every kernel set this machine can
 * run: each output element must agree with the scalar oracle's vec_dot on the
 * plain rows and with a double-precision dot of the dequantized operands, and
 * must be bit-identical whatever the split of rows (panel-aligned starts, any
 * count) and tokens (one at a time or inside a batch) — what makes results
 * independent of the thread count. Packing in pieces gives the same bytes as
 * packing at once, and outputs past the requested rows are never written. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "cpu/kernels.h"
#include "harness.h"
#include "quant_rows.h"

enum { MAXT = 19, BIGT = 70 }; /* 1..19 tokens: every tile shape and leftover; 70: several token chunks */

static void *packed_alloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64)) return NULL;
    return p;
}

static void check_one(const flt_kernels *ks, flt_dtype t, int64_t rows, int64_t n, int ntok, uint64_t seed) {
    const flt_dtype_traits *tr = flt_dtype_info(t);
    const flt_packed_kernel *pk = ks->packed[t];
    const flt_dtype at = tr->dot_type;
    const int64_t P = pk->panel_rows, np = (rows + P - 1) / P;
    const size_t pb = pk->panel_bytes(n);
    CHECKF(pb > 0, "%s %s: panel_bytes(%lld) is 0", ks->name, pk->layout, (long long)n);
    if (pb == 0) return;
    uint64_t s = seed;
    float *tmp = malloc((size_t)n * sizeof(float)), *tmp2 = malloc((size_t)n * sizeof(float));
    size_t wb, ab;
    void *w = qr_make_rows(&s, t, rows, n, &wb, tmp);
    /* activations at an odd offset where the type allows (only natural alignment is promised) */
    void *a0 = qr_make_rows(&s, at, ntok, n, &ab, tmp);
    const size_t aoff = (at == FLT_F32 || at == FLT_Q8_K) ? 4 : 2;
    char *a = malloc(ab * ntok + aoff);
    memcpy(a + aoff, a0, ab * ntok);
    a += aoff;
    unsigned char *pw = packed_alloc(pb * (size_t)np), *pw2 = packed_alloc(pb * (size_t)np);
    memset(pw, 0xA5, pb * (size_t)np);
    memset(pw2, 0x5A, pb * (size_t)np);
    pk->pack(w, wb, rows, n, 0, np, pw);
    /* in pieces, last panel first: the same bytes */
    for (int64_t p1 = np; p1 > 0;) {
        int64_t p0 = p1 > 2 ? p1 - 2 : 0;
        pk->pack(w, wb, rows, n, p0, p1, pw2);
        p1 = p0;
    }
    CHECKF(memcmp(pw, pw2, pb * (size_t)np) == 0, "%s %s rows=%lld n=%lld: packing in pieces differs", ks->name,
           pk->layout, (long long)rows, (long long)n);

    /* whole matrix, all tokens; a guard column past the rows must stay untouched */
    const int64_t ldo = rows + 1;
    float *out = malloc(sizeof(float) * (size_t)(ldo * ntok)), *part = malloc(sizeof(float) * (size_t)(ldo * ntok));
    for (int64_t i = 0; i < ldo * ntok; i++) out[i] = -12345.0f;
    pk->gemm(n, pw, 0, rows, a, ab, ntok, out, ldo);
    int bad_ref = 0, bad_guard = 0;
    for (int tt = 0; tt < ntok; tt++) {
        bad_guard += out[tt * ldo + rows] != -12345.0f;
        for (int64_t r = 0; r < rows; r++) {
            const char *wr = (const char *)w + wb * (size_t)r, *ar = a + ab * (size_t)tt;
            float oracle;
            flt_kernels_scalar()->vec_dot[t](n, wr, ar, &oracle);
            double mag;
            const double exact = qr_ref_dot(t, at, n, wr, ar, &mag, tmp, tmp2);
            const double tol = 4.0 * (double)n * FLT_EPSILON * mag + 1e-30;
            const float got = out[tt * ldo + r];
            if (!(fabs((double)got - oracle) <= tol) || !(fabs((double)got - exact) <= tol)) {
                if (bad_ref++ == 0)
                    fprintf(stderr, "%s %s rows=%lld n=%lld r=%lld t=%d: packed %.9g scalar %.9g double %.9g tol %.3g\n",
                            ks->name, pk->layout, (long long)rows, (long long)n, (long long)r, tt, got, oracle, exact,
                            tol);
            }
        }
    }
    CHECKF(bad_ref == 0, "%s %s rows=%lld n=%lld: %d elements off the references", ks->name, pk->layout,
           (long long)rows, (long long)n, bad_ref);
    CHECKF(bad_guard == 0, "%s %s rows=%lld n=%lld: wrote past the last row", ks->name, pk->layout, (long long)rows,
           (long long)n);

    /* any panel-aligned start, any row count, any token sub-range: same bits */
    int bad_sub = 0, bad_edge = 0;
    for (int64_t p0 = 0; p0 < np; p0 += (np > 3 ? 2 : 1))
        for (int64_t nr = 1; p0 * P + nr <= rows; nr += (nr < 3 ? 1 : P + 3)) {
            for (int t0 = 0; t0 < ntok; t0 += (ntok > MAXT ? 29 : 5))
                for (int nt = 1; t0 + nt <= ntok; nt += (ntok > MAXT ? 17 : n > 2048 ? 3 : 1)) {
                    const int64_t r0 = p0 * P, pl = nr + 1;
                    for (int64_t i = 0; i < pl * nt; i++) part[i] = 777.0f;
                    pk->gemm(n, pw, r0, nr, a + ab * (size_t)t0, ab, nt, part, pl);
                    for (int i = 0; i < nt; i++) {
                        for (int64_t j = 0; j < nr; j++)
                            bad_sub += memcmp(&part[i * pl + j], &out[(t0 + i) * ldo + r0 + j], sizeof(float)) != 0;
                        bad_edge += part[i * pl + nr] != 777.0f;
                    }
                }
        }
    CHECKF(bad_sub == 0, "%s %s rows=%lld n=%lld: %d elements of sub-products differ", ks->name, pk->layout,
           (long long)rows, (long long)n, bad_sub);
    CHECKF(bad_edge == 0, "%s %s rows=%lld n=%lld: %d writes past nr", ks->name, pk->layout, (long long)rows,
           (long long)n, bad_edge);
    free(out);
    free(part);
    free(pw);
    free(pw2);
    free(a - aoff);
    free(a0);
    free(w);
    free(tmp);
    free(tmp2);
}

int main(void) {
    const flt_kernels *sets[8];
    const int nsets = flt_kernels_list(sets, 8);
    int tested = 0;
    for (int i = 0; i < nsets; i++) {
        for (int t = 0; t < FLT_DTYPE_COUNT; t++) {
            const flt_packed_kernel *pk = sets[i]->packed[t];
            const flt_dtype_traits *tr = flt_dtype_info((flt_dtype)t);
            if (!pk || !tr) continue;
            CHECKF(pk->panel_rows > 0 && pk->panel_bytes && pk->pack && pk->gemm, "%s %s: incomplete packed kernel",
                   sets[i]->name, tr->name);
            if (!(pk->panel_rows > 0 && pk->panel_bytes && pk->pack && pk->gemm)) continue;
            const int64_t bs = tr->block_size;
            const int64_t P = pk->panel_rows;
            /* one block, odd and even block counts, a model-sized row */
            const int64_t lens[] = {bs == 1 ? 32 : bs, 3 * (bs == 1 ? 16 : bs), 8 * (bs == 1 ? 32 : bs),
                                    bs == 1 ? 72 : 9 * bs, (5632 / (bs == 1 ? 32 : bs)) * (bs == 1 ? 32 : bs)};
            const int64_t rowsv[] = {1, P - 1, P, 2 * P + 5, 5 * P + 1};
            for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++)
                for (size_t r = 0; r < sizeof rowsv / sizeof rowsv[0]; r++) {
                    if (rowsv[r] < 1 || (lens[j] > 2048 && r != 3)) continue;
                    if (pk->panel_bytes(lens[j]) == 0) continue; /* layout refuses this width: plain path */
                    check_one(sets[i], (flt_dtype)t, rowsv[r], lens[j], MAXT, 0x9876u + (uint64_t)t * 131u + j * 7u + r);
                }
            /* long rows and many tokens: the kernels' block and token chunks */
            const int64_t big = (4352 / (bs == 1 ? 32 : bs)) * (bs == 1 ? 32 : bs);
            if (pk->panel_bytes(big)) check_one(sets[i], (flt_dtype)t, P + 3, big, BIGT, 0x5151u + (uint64_t)t);
            tested++;
        }
    }
    fprintf(stderr, "packed kernels tested: %d (sets:", tested);
    for (int i = 0; i < nsets; i++) fprintf(stderr, " %s", sets[i]->name);
    fprintf(stderr, ")\n");
    return flt_test_finish();
}
