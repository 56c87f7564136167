/* ONNX matrix products: MatMul (numpy semantics: batch broadcasting, 1-D
 * operands promoted and the added axis removed) and Gemm.
 *
 * Output rows are split among threads; each output element is summed in a
 * fixed k order (f32 in float along the row, as the reference frameworks do;
 * other types in double or int64), so results do not depend on the thread
 * count. These are the plain oracles; blocked/SIMD versions come later and are
 * tested against them. */
#include <inttypes.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

typedef struct mm_state {
    int64_t M, K, N, batch;
    int nb;                                  /* batch rank of the output */
    int64_t bdims[MAXD], a_bstride[MAXD], b_bstride[MAXD]; /* per batch dim, in matrices */
} mm_state;

static void k_matmul(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const mm_state *s = k->state;
    flt_dtype dt = k->out[0].dtype;
    const void *A = flt_onnx_in(g, n, 0), *B = flt_onnx_in(g, n, 1);
    void *Y = flt_onnx_out(g, n, 0);
    int64_t M = s->M, K = s->K, N = s->N;
    long long lo, hi;
    flt_split(s->batch * M, ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t b = t / M, m = t % M, ab = 0, bb = 0, rem = b;
        for (int d = s->nb - 1; d >= 0; d--) {
            int64_t i = rem % s->bdims[d];
            rem /= s->bdims[d];
            ab += i * s->a_bstride[d];
            bb += i * s->b_bstride[d];
        }
        int64_t a0 = ab * M * K + m * K, b0 = bb * K * N, y0 = t * N;
        if (dt == FLT_F32) {
            float *y = (float *)Y + y0;
            for (int64_t j = 0; j < N; j++) y[j] = 0;
            for (int64_t kx = 0; kx < K; kx++) {
                float a = flt_ld_f32(A, a0 + kx);
                const int64_t br = b0 + kx * N;
                for (int64_t j = 0; j < N; j++) y[j] += a * flt_ld_f32(B, br + j);
            }
        } else if (flt_onnx_is_float(dt)) {
            for (int64_t j = 0; j < N; j++) {
                double acc = 0;
                for (int64_t kx = 0; kx < K; kx++)
                    acc += flt_onnx_get_f64(dt, A, a0 + kx) * flt_onnx_get_f64(dt, B, b0 + kx * N + j);
                flt_onnx_set_f64(dt, Y, y0 + j, acc);
            }
        } else {
            for (int64_t j = 0; j < N; j++) {
                uint64_t acc = 0;
                for (int64_t kx = 0; kx < K; kx++)
                    acc += (uint64_t)flt_onnx_get_i64(dt, A, a0 + kx) * (uint64_t)flt_onnx_get_i64(dt, B, b0 + kx * N + j);
                flt_onnx_set_i64(dt, Y, y0 + j, (int64_t)acc);
            }
        }
    }
}

static flintrt_status infer_matmul(flt_onnx_infer *x) {
    flt_onnx_tinfo a = x->k->in[0], b = x->k->in[1];
    if (a.ndim < 1 || b.ndim < 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "operands must have at least 1 dimension");
    if (a.dtype != b.dtype) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "operands differ in type");
    if (a.dtype == FLT_BOOL) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "bool operands");
    bool a1 = a.ndim == 1, b1 = b.ndim == 1;
    if (a1) { a.ndim = 2; a.dims[1] = a.dims[0]; a.dims[0] = 1; }
    if (b1) { b.ndim = 2; b.dims[1] = 1; }
    int64_t M = a.dims[a.ndim - 2], K = a.dims[a.ndim - 1], N = b.dims[b.ndim - 1];
    if (b.dims[b.ndim - 2] != K)
        return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "inner dimensions differ: %" PRId64 " and %" PRId64, K,
                             b.dims[b.ndim - 2]);
    flt_onnx_tinfo ab = {.dtype = a.dtype, .ndim = a.ndim - 2}, bb = {.dtype = b.dtype, .ndim = b.ndim - 2}, ob;
    memcpy(ab.dims, a.dims, sizeof(int64_t) * (size_t)ab.ndim);
    memcpy(bb.dims, b.dims, sizeof(int64_t) * (size_t)bb.ndim);
    FLT_ONNX_TRY(flt_onnx_broadcast(x, &ab, &bb, &ob));
    if (ob.ndim + 2 > MAXD) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "too many dimensions");
    mm_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->M = M; s->K = K; s->N = N;
    s->nb = ob.ndim;
    s->batch = flt_onnx_nelem(&ob);
    flt_onnx_bcast_strides(&ab, &ob, s->a_bstride);
    flt_onnx_bcast_strides(&bb, &ob, s->b_bstride);
    memcpy(s->bdims, ob.dims, sizeof s->bdims);
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = a.dtype;
    o->ndim = 0;
    for (int i = 0; i < ob.ndim; i++) o->dims[o->ndim++] = ob.dims[i];
    if (!a1) o->dims[o->ndim++] = M;
    if (!b1) o->dims[o->ndim++] = N;
    x->k->state = s;
    return FLINTRT_OK;
}

/* ---- Gemm ---- */

typedef struct gemm_params {
    float alpha, beta;
    int64_t trans_a, trans_b, broadcast;
} gemm_params;

typedef struct gemm_state {
    int64_t M, K, N;
    int64_t c_sm, c_sn;   /* C's broadcast strides over (m, n); c absent: has_c false */
    bool has_c;
} gemm_state;

static flintrt_status parse_gemm(const flt_onnx_node *n, void *pp, flt_err *e) {
    gemm_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "alpha", 1.0f, &p->alpha, e));
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "beta", 1.0f, &p->beta, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "transA", 0, &p->trans_a, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "transB", 0, &p->trans_b, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "broadcast", 0, &p->broadcast, e));
    return FLINTRT_OK;
}

static void k_gemm(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const gemm_params *p = k->params;
    const gemm_state *s = k->state;
    flt_dtype dt = k->out[0].dtype;
    const void *A = flt_onnx_in(g, n, 0), *B = flt_onnx_in(g, n, 1), *C = s->has_c ? flt_onnx_in(g, n, 2) : NULL;
    void *Y = flt_onnx_out(g, n, 0);
    int64_t M = s->M, K = s->K, N = s->N;
    long long lo, hi;
    flt_split(M, ith, nth, &lo, &hi);
    bool fl = flt_onnx_is_float(dt);
    for (long long m = lo; m < hi; m++) {
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            int64_t iacc = 0;
            for (int64_t kx = 0; kx < K; kx++) {
                int64_t ia = p->trans_a ? kx * M + m : m * K + kx, ib = p->trans_b ? j * K + kx : kx * N + j;
                if (fl) acc += flt_onnx_get_f64(dt, A, ia) * flt_onnx_get_f64(dt, B, ib);
                else iacc += flt_onnx_get_i64(dt, A, ia) * flt_onnx_get_i64(dt, B, ib);
            }
            if (fl) {
                double v = p->alpha * acc;
                if (C) v += p->beta * flt_onnx_get_f64(dt, C, m * s->c_sm + j * s->c_sn);
                flt_onnx_set_f64(dt, Y, m * N + j, v);
            } else {
                double v = p->alpha * (double)iacc;
                if (C) v += p->beta * (double)flt_onnx_get_i64(dt, C, m * s->c_sm + j * s->c_sn);
                flt_onnx_set_f64(dt, Y, m * N + j, v);
            }
        }
    }
}

static flintrt_status infer_gemm(flt_onnx_infer *x) {
    const gemm_params *p = x->k->params;
    const flt_onnx_tinfo *a = &x->k->in[0], *b = &x->k->in[1];
    if (a->ndim != 2 || b->ndim != 2) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "A and B must be 2-D");
    if (a->dtype != b->dtype || a->dtype == FLT_BOOL) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "bad operand types");
    int64_t M = p->trans_a ? a->dims[1] : a->dims[0], K = p->trans_a ? a->dims[0] : a->dims[1];
    int64_t K2 = p->trans_b ? b->dims[1] : b->dims[0], N = p->trans_b ? b->dims[0] : b->dims[1];
    if (K != K2) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "inner dimensions differ: %" PRId64 " and %" PRId64, K, K2);
    gemm_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->M = M; s->K = K; s->N = N;
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = a->dtype;
    o->ndim = 2;
    o->dims[0] = M;
    o->dims[1] = N;
    if (x->k->n_in > 2 && x->k->in[2].ndim >= 0) {
        const flt_onnx_tinfo *c = &x->k->in[2];
        flt_onnx_tinfo tmp;
        FLT_ONNX_TRY(flt_onnx_broadcast(x, c, o, &tmp));
        if (tmp.ndim != 2 || tmp.dims[0] != M || tmp.dims[1] != N)
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "C does not broadcast to [M, N]");
        int64_t st[2];
        flt_onnx_bcast_strides(c, o, st);
        s->c_sm = st[0];
        s->c_sn = st[1];
        s->has_c = true;
    }
    x->k->state = s;
    return FLINTRT_OK;
}

const flt_onnx_op flt_onnx_ops_matmul[] = {
    {"", "MatMul", 1, 0, 0, NULL, infer_matmul, {"MatMul", k_matmul}, NULL, 0, 2},
    {"", "Gemm", 1, 0, sizeof(gemm_params), parse_gemm, infer_gemm, {"Gemm", k_gemm}, NULL, 0, 2},
};
const int flt_onnx_ops_matmul_count = (int)(sizeof flt_onnx_ops_matmul / sizeof flt_onnx_ops_matmul[0]);
