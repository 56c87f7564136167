/* ONNX linear quantization: QuantizeLinear, DequantizeLinear (per tensor and
 * per axis), DynamicQuantizeLinear, QLinearMatMul, MatMulInteger.
 * (ConvInteger and QLinearConv live with the convolutions.)
 *
 * Arithmetic follows the spec's reference formulas in float32: x / scale is a
 * float division, rounded half to even (rintf in the default rounding mode),
 * then the zero point is added and the result saturated to the output type.
 * NaN quantizes as 0 does (to the zero point). Integer matmuls accumulate
 * exactly in int64 (MatMulInteger's int32 result wraps as two's complement). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

static int32_t sat(float v, int32_t lo, int32_t hi) {
    if (v != v) return 0;
    if (v <= (float)lo) return lo;
    if (v >= (float)hi) return hi;
    return (int32_t)v;
}

static void qrange(flt_dtype d, int32_t *lo, int32_t *hi) {
    if (d == FLT_I8) { *lo = -128; *hi = 127; }
    else { *lo = 0; *hi = 255; }
}

/* Quantize one value: saturate(round_half_even(x / scale) + zp). */
static int32_t quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi) {
    float q = x / scale;
    if (q != q) q = 0;
    q = rintf(q);
    return sat(q + (float)zp, lo, hi);
}

/* ---- QuantizeLinear / DequantizeLinear ---- */

typedef struct axis_params {
    int64_t axis;
} axis_params;

typedef struct qstate {
    bool per_axis;
    int64_t inner, dim;  /* element i uses parameter (i / inner) % dim */
} qstate;

static flintrt_status parse_axis(const flt_onnx_node *n, void *pp, flt_err *e) {
    axis_params *p = pp;
    return flt_onnx_attr_int(n, "axis", 1, &p->axis, e);
}

/* Scale (input 1) and zero point (input 2) against x (input 0). */
static flintrt_status infer_qparams(flt_onnx_infer *x, qstate *s) {
    flt_onnx_kctx *k = x->k;
    const axis_params *p = k->params;
    const flt_onnx_tinfo *X = &k->in[0], *S = &k->in[1];
    static const flt_dtype f32[] = {FLT_F32};
    FLT_ONNX_TRY(flt_onnx_want_type(x, 1, f32, 1));
    int64_t ns = flt_onnx_nelem(S);
    bool has_zp = k->n_in > 2 && k->in[2].ndim >= 0;
    if (has_zp) {
        const flt_onnx_tinfo *Z = &k->in[2];
        if (flt_onnx_nelem(Z) != ns || Z->ndim > 1)
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "zero point and scale differ in shape");
    }
    if (S->ndim == 0 || (S->ndim == 1 && ns == 1)) {
        s->per_axis = false;
        s->inner = 1;
        s->dim = 1;
        return FLINTRT_OK;
    }
    if (x->opset < 13 || S->ndim != 1)
        return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "the scale must be a scalar%s",
                             x->opset < 13 ? " (opset < 13)" : " or a 1-D tensor");
    int ax;
    FLT_ONNX_TRY(flt_onnx_axis(x, p->axis, X->ndim, &ax));
    if (X->dims[ax] != ns)
        return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "%" PRId64 " scales for axis %d of size %" PRId64, ns, ax,
                             X->dims[ax]);
    s->per_axis = true;
    s->dim = ns;
    s->inner = 1;
    for (int d = ax + 1; d < X->ndim; d++) s->inner *= X->dims[d];
    return FLINTRT_OK;
}

static flintrt_status infer_quantize(flt_onnx_infer *x) {
    flt_onnx_kctx *k = x->k;
    static const flt_dtype ins[] = {FLT_F32, FLT_I32};
    FLT_ONNX_TRY(flt_onnx_want_type(x, 0, ins, 2));
    flt_dtype od = FLT_U8;
    if (k->n_in > 2 && k->in[2].ndim >= 0) {
        static const flt_dtype zps[] = {FLT_U8, FLT_I8};
        FLT_ONNX_TRY(flt_onnx_want_type(x, 2, zps, 2));
        od = k->in[2].dtype;
    }
    qstate *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    FLT_ONNX_TRY(infer_qparams(x, s));
    k->state = s;
    k->out[0] = k->in[0];
    k->out[0].dtype = od;
    return FLINTRT_OK;
}

static void k_quantize(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const qstate *s = k->state;
    const void *X = flt_onnx_in(g, n, 0), *S = flt_onnx_in(g, n, 1), *Z = flt_onnx_in(g, n, 2);
    flt_dtype xd = k->in[0].dtype, od = k->out[0].dtype;
    void *Y = flt_onnx_out(g, n, 0);
    int32_t lo, hi;
    qrange(od, &lo, &hi);
    long long a, b;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &a, &b);
    for (long long i = a; i < b; i++) {
        int64_t c = s->per_axis ? (i / s->inner) % s->dim : 0;
        float x = xd == FLT_F32 ? flt_ld_f32(X, i) : (float)flt_ld_i32(X, i);
        int32_t zp = Z ? (int32_t)flt_onnx_get_i64(k->in[2].dtype, Z, c) : 0;
        flt_onnx_set_i64(od, Y, i, quantize(x, flt_ld_f32(S, c), zp, lo, hi));
    }
}

static flintrt_status infer_dequantize(flt_onnx_infer *x) {
    flt_onnx_kctx *k = x->k;
    static const flt_dtype ins[] = {FLT_U8, FLT_I8, FLT_I32};
    FLT_ONNX_TRY(flt_onnx_want_type(x, 0, ins, 3));
    if (k->n_in > 2 && k->in[2].ndim >= 0) FLT_ONNX_TRY(flt_onnx_want_type(x, 2, &k->in[0].dtype, 1));
    qstate *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    FLT_ONNX_TRY(infer_qparams(x, s));
    k->state = s;
    k->out[0] = k->in[0];
    k->out[0].dtype = FLT_F32;
    return FLINTRT_OK;
}

static void k_dequantize(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const qstate *s = k->state;
    const void *X = flt_onnx_in(g, n, 0), *S = flt_onnx_in(g, n, 1), *Z = flt_onnx_in(g, n, 2);
    flt_dtype xd = k->in[0].dtype;
    float *Y = flt_onnx_out(g, n, 0);
    long long a, b;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &a, &b);
    for (long long i = a; i < b; i++) {
        int64_t c = s->per_axis ? (i / s->inner) % s->dim : 0;
        int64_t zp = Z ? flt_onnx_get_i64(xd, Z, c) : 0;
        Y[i] = ((float)flt_onnx_get_i64(xd, X, i) - (float)zp) * flt_ld_f32(S, c);
    }
}

/* ---- DynamicQuantizeLinear ---- */

static flintrt_status infer_dynq(flt_onnx_infer *x) {
    flt_onnx_kctx *k = x->k;
    static const flt_dtype f32[] = {FLT_F32};
    FLT_ONNX_TRY(flt_onnx_want_type(x, 0, f32, 1));
    if (k->n_out != 3) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "DynamicQuantizeLinear has 3 outputs");
    k->out[0] = k->in[0];
    k->out[0].dtype = FLT_U8;
    k->out[1] = (flt_onnx_tinfo){.dtype = FLT_F32, .ndim = 0};
    k->out[2] = (flt_onnx_tinfo){.dtype = FLT_U8, .ndim = 0};
    return FLINTRT_OK;
}

/* One thread: the scale depends on every element (min and max). */
static void k_dynq(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    (void)nth;
    if (ith) return;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const void *X = flt_onnx_in(g, n, 0);
    uint8_t *Y = flt_onnx_out(g, n, 0), *Z = flt_onnx_out(g, n, 2);
    float *S = flt_onnx_out(g, n, 1);
    int64_t ne = flt_onnx_nelem(&k->in[0]);
    float mn = 0, mx = 0;
    for (int64_t i = 0; i < ne; i++) {
        float v = flt_ld_f32(X, i);
        if (v < mn) mn = v;
        if (v > mx) mx = v;
    }
    float scale = (mx - mn) / 255.0f;
    int32_t zp = 0;
    if (scale > 0 && isfinite(scale)) zp = sat(rintf(0.0f - mn / scale), 0, 255);
    *S = scale;
    *Z = (uint8_t)zp;
    for (int64_t i = 0; i < ne; i++)
        Y[i] = scale > 0 && isfinite(scale) ? (uint8_t)quantize(flt_ld_f32(X, i), scale, zp, 0, 255) : 0;
}

/* ---- integer matmuls ---- */

typedef struct mm_state {
    int64_t M, K, N, batch;
    int nbd;
    int64_t bdims[MAXD], astr[MAXD], bstr[MAXD]; /* batch dims and A/B batch strides in matrices */
} mm_state;

/* numpy matmul shapes for A (input ia) and B (input ib). */
static flintrt_status infer_mm(flt_onnx_infer *x, int ia, int ib, flt_dtype od, mm_state **out) {
    flt_onnx_kctx *k = x->k;
    const flt_onnx_tinfo *A = &k->in[ia], *B = &k->in[ib];
    if (A->ndim < 1 || B->ndim < 1) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "matmul of a scalar");
    mm_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->M = A->ndim == 1 ? 1 : A->dims[A->ndim - 2];
    s->K = A->dims[A->ndim - 1];
    int64_t kb = B->ndim == 1 ? B->dims[0] : B->dims[B->ndim - 2];
    s->N = B->ndim == 1 ? 1 : B->dims[B->ndim - 1];
    if (kb != s->K)
        return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "inner dimensions differ: %" PRId64 " and %" PRId64, s->K, kb);
    int ra = A->ndim > 2 ? A->ndim - 2 : 0, rb = B->ndim > 2 ? B->ndim - 2 : 0;
    int r = ra > rb ? ra : rb;
    s->nbd = r;
    s->batch = 1;
    int64_t sa = 1, sb = 1;
    for (int i = r - 1; i >= 0; i--) {
        int ja = i - (r - ra), jb = i - (r - rb);
        int64_t da = ja >= 0 ? A->dims[ja] : 1, db = jb >= 0 ? B->dims[jb] : 1;
        if (da != db && da != 1 && db != 1)
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "batch dimensions %" PRId64 " and %" PRId64 " do not broadcast", da, db);
        s->bdims[i] = da > db ? da : db;
        if (da == 0 || db == 0) s->bdims[i] = 0;
        s->astr[i] = da == 1 ? 0 : sa;
        s->bstr[i] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
        s->batch *= s->bdims[i];
    }
    flt_onnx_tinfo *o = &k->out[0];
    o->dtype = od;
    o->ndim = 0;
    for (int i = 0; i < r; i++) o->dims[o->ndim++] = s->bdims[i];
    if (A->ndim > 1) o->dims[o->ndim++] = s->M;
    if (B->ndim > 1) o->dims[o->ndim++] = s->N;
    *out = s;
    return FLINTRT_OK;
}

static void batch_offsets(const mm_state *s, int64_t bi, int64_t *ao, int64_t *bo) {
    *ao = 0;
    *bo = 0;
    for (int i = s->nbd - 1; i >= 0; i--) {
        int64_t c = bi % s->bdims[i];
        bi /= s->bdims[i];
        *ao += c * s->astr[i];
        *bo += c * s->bstr[i];
    }
    *ao *= s->M * s->K;
    *bo *= s->K * s->N;
}

/* A quantization parameter: one value, or one per row (per column for B). */
static flintrt_status want_qparam(flt_onnx_infer *x, int i, int64_t per, const flt_dtype *types, int nt,
                                  const char *what) {
    if (i >= x->k->n_in || x->k->in[i].ndim < 0) return FLINTRT_OK;
    FLT_ONNX_TRY(flt_onnx_want_type(x, i, types, nt));
    const flt_onnx_tinfo *t = &x->k->in[i];
    int64_t n = flt_onnx_nelem(t);
    if (n == 1 && t->ndim <= 1) return FLINTRT_OK;
    if (t->ndim == 1 && n == per) return FLINTRT_OK;
    return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "%s must be a scalar or have %" PRId64 " elements", what, per);
}

static inline int64_t qp_i(const flt_onnx_kctx *k, const void *p, int i, int64_t idx) {
    if (!p) return 0;
    return flt_onnx_get_i64(k->in[i].dtype, p, flt_onnx_nelem(&k->in[i]) == 1 ? 0 : idx);
}
static inline float qp_f(const flt_onnx_kctx *k, const void *p, int i, int64_t idx) {
    return flt_ld_f32(p, flt_onnx_nelem(&k->in[i]) == 1 ? 0 : idx);
}

static flintrt_status infer_mmint(flt_onnx_infer *x) {
    flt_onnx_kctx *k = x->k;
    static const flt_dtype q8[] = {FLT_U8, FLT_I8};
    FLT_ONNX_TRY(flt_onnx_want_type(x, 0, q8, 2));
    FLT_ONNX_TRY(flt_onnx_want_type(x, 1, q8, 2));
    mm_state *s;
    FLT_ONNX_TRY(infer_mm(x, 0, 1, FLT_I32, &s));
    FLT_ONNX_TRY(want_qparam(x, 2, s->M, &k->in[0].dtype, 1, "a_zero_point"));
    FLT_ONNX_TRY(want_qparam(x, 3, s->N, &k->in[1].dtype, 1, "b_zero_point"));
    k->state = s;
    return FLINTRT_OK;
}

static void k_mmint(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const mm_state *s = k->state;
    const void *A = flt_onnx_in(g, n, 0), *B = flt_onnx_in(g, n, 1), *AZ = flt_onnx_in(g, n, 2), *BZ = flt_onnx_in(g, n, 3);
    flt_dtype ad = k->in[0].dtype, bd = k->in[1].dtype;
    int32_t *Y = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(s->batch * s->M, ith, nth, &lo, &hi);
    for (long long row = lo; row < hi; row++) {
        int64_t bi = row / s->M, m = row % s->M, ao, bo;
        batch_offsets(s, bi, &ao, &bo);
        int64_t az = qp_i(k, AZ, 2, m);
        for (int64_t j = 0; j < s->N; j++) {
            int64_t bz = qp_i(k, BZ, 3, j), acc = 0;
            for (int64_t t = 0; t < s->K; t++)
                acc += (flt_onnx_get_i64(ad, A, ao + m * s->K + t) - az) * (flt_onnx_get_i64(bd, B, bo + t * s->N + j) - bz);
            Y[row * s->N + j] = (int32_t)(uint32_t)(uint64_t)acc;
        }
    }
}

static flintrt_status infer_qlmm(flt_onnx_infer *x) {
    flt_onnx_kctx *k = x->k;
    static const flt_dtype q8[] = {FLT_U8, FLT_I8}, f32[] = {FLT_F32};
    FLT_ONNX_TRY(flt_onnx_want_type(x, 0, q8, 2));
    FLT_ONNX_TRY(flt_onnx_want_type(x, 3, q8, 2));
    flt_dtype yd = FLT_U8;
    if (k->in[7].ndim >= 0) { FLT_ONNX_TRY(flt_onnx_want_type(x, 7, q8, 2)); yd = k->in[7].dtype; }
    mm_state *s;
    FLT_ONNX_TRY(infer_mm(x, 0, 3, yd, &s));
    FLT_ONNX_TRY(want_qparam(x, 1, s->M, f32, 1, "a_scale"));
    FLT_ONNX_TRY(want_qparam(x, 2, s->M, &k->in[0].dtype, 1, "a_zero_point"));
    FLT_ONNX_TRY(want_qparam(x, 4, s->N, f32, 1, "b_scale"));
    FLT_ONNX_TRY(want_qparam(x, 5, s->N, &k->in[3].dtype, 1, "b_zero_point"));
    FLT_ONNX_TRY(want_qparam(x, 6, s->M, f32, 1, "y_scale"));
    FLT_ONNX_TRY(want_qparam(x, 7, s->M, &yd, 1, "y_zero_point"));
    k->state = s;
    return FLINTRT_OK;
}

static void k_qlmm(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const mm_state *s = k->state;
    const void *A = flt_onnx_in(g, n, 0), *AS = flt_onnx_in(g, n, 1), *AZ = flt_onnx_in(g, n, 2);
    const void *B = flt_onnx_in(g, n, 3), *BS = flt_onnx_in(g, n, 4), *BZ = flt_onnx_in(g, n, 5);
    const void *YS = flt_onnx_in(g, n, 6), *YZ = flt_onnx_in(g, n, 7);
    flt_dtype ad = k->in[0].dtype, bd = k->in[3].dtype, yd = k->out[0].dtype;
    void *Y = flt_onnx_out(g, n, 0);
    int32_t qlo, qhi;
    qrange(yd, &qlo, &qhi);
    long long lo, hi;
    flt_split(s->batch * s->M, ith, nth, &lo, &hi);
    for (long long row = lo; row < hi; row++) {
        int64_t bi = row / s->M, m = row % s->M, ao, bo;
        batch_offsets(s, bi, &ao, &bo);
        int64_t az = qp_i(k, AZ, 2, m), yz = qp_i(k, YZ, 7, m);
        float as = qp_f(k, AS, 1, m), ys = qp_f(k, YS, 6, m);
        for (int64_t j = 0; j < s->N; j++) {
            int64_t bz = qp_i(k, BZ, 5, j), acc = 0;
            for (int64_t t = 0; t < s->K; t++)
                acc += (flt_onnx_get_i64(ad, A, ao + m * s->K + t) - az) * (flt_onnx_get_i64(bd, B, bo + t * s->N + j) - bz);
            float scale = as * qp_f(k, BS, 4, j) / ys;
            float v = rintf((float)acc * scale);
            flt_onnx_set_i64(yd, Y, row * s->N + j, sat(v + (float)yz, qlo, qhi));
        }
    }
}

const flt_onnx_op flt_onnx_ops_quant[] = {
    {"", "QuantizeLinear", 10, 18, sizeof(axis_params), parse_axis, infer_quantize, {"QuantizeLinear", k_quantize}, NULL, 0, 2},
    {"", "DequantizeLinear", 10, 18, sizeof(axis_params), parse_axis, infer_dequantize, {"DequantizeLinear", k_dequantize}, NULL, 0, 2},
    {"", "DynamicQuantizeLinear", 11, 0, 0, NULL, infer_dynq, {"DynamicQuantizeLinear", k_dynq}, NULL, 0, 1},
    {"", "MatMulInteger", 10, 0, 0, NULL, infer_mmint, {"MatMulInteger", k_mmint}, NULL, 0, 2},
    {"", "QLinearMatMul", 10, 0, 0, NULL, infer_qlmm, {"QLinearMatMul", k_qlmm}, NULL, 0, 8},
};
const int flt_onnx_ops_quant_count = (int)(sizeof flt_onnx_ops_quant / sizeof flt_onnx_ops_quant[0]);
