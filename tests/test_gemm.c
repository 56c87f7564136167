/* The tiled matrix products (flt_kernels.gemm) of every kernel set this
 * machine can run: each element must equal the same set's vec_dot on that
 * (row, token) pair bit for bit, whatever the block shape and the element's
 * place in it (what makes batches equal to one token at a time, and results
 * independent of the thread split), and must agree with the scalar oracle and
 * with a double-precision dot of the dequantized operands. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "cpu/kernels.h"
#include "harness.h"
#include "quant_rows.h"

enum { MAXR = 11, MAXT = 9 };

static void check_type(const flt_kernels *ks, flt_dtype t, int64_t n, uint64_t seed) {
    const flt_dtype_traits *tr = flt_dtype_info(t);
    const flt_dtype at = tr->dot_type;
    uint64_t s = seed;
    float *tmp = malloc((size_t)n * sizeof(float)), *tmp2 = malloc((size_t)n * sizeof(float));
    size_t wb, ab;
    void *w = qr_make_rows(&s, t, MAXR, n, &wb, tmp);
    void *a = qr_make_rows(&s, at, MAXT, n, &ab, tmp);
    float out[MAXT * MAXR], part[MAXT * MAXR];
    ks->gemm[t](n, w, wb, MAXR, a, ab, MAXT, out, MAXR);
    int bad_self = 0, bad_ref = 0;
    for (int t2 = 0; t2 < MAXT; t2++) {
        for (int r = 0; r < MAXR; r++) {
            const char *wr = (const char *)w + wb * (size_t)r, *ar = (const char *)a + ab * (size_t)t2;
            float mine, oracle;
            ks->vec_dot[t](n, wr, ar, &mine);
            flt_kernels_scalar()->vec_dot[t](n, wr, ar, &oracle);
            if (memcmp(&mine, &out[t2 * MAXR + r], sizeof mine) != 0) bad_self++;
            double mag;
            const double exact = qr_ref_dot(t, at, n, wr, ar, &mag, tmp, tmp2);
            const double tol = 4.0 * (double)n * FLT_EPSILON * mag + 1e-30;
            if (fabs((double)out[t2 * MAXR + r] - oracle) > tol || fabs((double)out[t2 * MAXR + r] - exact) > tol) {
                if (bad_ref++ == 0)
                    fprintf(stderr, "%s %s n=%lld r=%d t=%d: gemm %.9g scalar %.9g double %.9g tol %.3g\n", ks->name,
                            tr->name, (long long)n, r, t2, out[t2 * MAXR + r], oracle, exact, tol);
            }
        }
    }
    CHECKF(bad_self == 0, "%s %s n=%lld: %d elements differ from vec_dot", ks->name, tr->name, (long long)n, bad_self);
    CHECKF(bad_ref == 0, "%s %s n=%lld: %d elements off the references", ks->name, tr->name, (long long)n, bad_ref);
    /* every sub-block from every offset: same bits as the whole block */
    int bad_sub = 0;
    for (int r0 = 0; r0 < MAXR; r0 += 3)
        for (int t0 = 0; t0 < MAXT; t0 += 2)
            for (int nr = 1; r0 + nr <= MAXR; nr += 2)
                for (int nt = 1; t0 + nt <= MAXT; nt += 3) {
                    ks->gemm[t](n, (const char *)w + wb * (size_t)r0, wb, nr, (const char *)a + ab * (size_t)t0, ab,
                                nt, part, nr);
                    for (int i = 0; i < nt; i++)
                        for (int j = 0; j < nr; j++)
                            bad_sub += memcmp(&part[i * nr + j], &out[(t0 + i) * MAXR + r0 + j], sizeof(float)) != 0;
                }
    CHECKF(bad_sub == 0, "%s %s n=%lld: %d sub-block elements differ", ks->name, tr->name, (long long)n, bad_sub);
    /* a copy at an odd 2-byte offset gives the same bits (no alignment dependence) */
    if (at != FLT_Q8_K && at != FLT_F32 && t != FLT_F32) {
        unsigned char *w2 = malloc(wb * MAXR + 2);
        memcpy(w2 + 2, w, wb * MAXR);
        ks->gemm[t](n, w2 + 2, wb, MAXR, a, ab, MAXT, part, MAXR);
        CHECKF(memcmp(part, out, sizeof out) == 0, "%s %s: result depends on alignment", ks->name, tr->name);
        free(w2);
    }
    free(w);
    free(a);
    free(tmp);
    free(tmp2);
}

int main(void) {
    const flt_kernels *sets[8];
    const int nsets = flt_kernels_list(sets, 8);
    int tested = 0;
#if defined(__x86_64__) || defined(__i386__)
    /* offered exactly when CPUID and XGETBV allow it, and never without AVX2 */
    CHECK((flt_kernels_by_name("avx512") != NULL) == flt_cpu_has_avx512());
    CHECK(!flt_cpu_has_avx512() || flt_cpu_has_avx2());
#endif
    for (int i = 0; i < nsets; i++) {
        for (int t = 0; t < FLT_DTYPE_COUNT; t++) {
            const flt_dtype_traits *tr = flt_dtype_info((flt_dtype)t);
            if (!sets[i]->gemm[t] || !tr) continue;
            CHECKF(sets[i]->vec_dot[t] != NULL, "%s %s: gemm without vec_dot", sets[i]->name, tr->name);
            const int64_t bs = tr->block_size;
            /* one block, odd and even block counts, a model-sized row */
            const int64_t lens[] = { bs, 3 * bs, 8 * bs, bs == 1 ? 37 : 9 * bs, bs == 1 ? 2048 + 13 : (5632 / bs) * bs };
            for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++)
                check_type(sets[i], (flt_dtype)t, lens[j], 0x1234u + (uint64_t)t * 977u + j);
            tested++;
        }
    }
    fprintf(stderr, "gemm kernels tested: %d (sets:", tested);
    for (int i = 0; i < nsets; i++) fprintf(stderr, " %s", sets[i]->name);
    fprintf(stderr, ")\n");
    return flt_test_finish();
}
