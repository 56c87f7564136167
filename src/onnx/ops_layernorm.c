/* ONNX normalization over axes and Dropout: LayerNormalization (opset 17, with
 * the Mean and InvStdDev outputs), MeanVarianceNormalization, Dropout.
 *
 * Statistics are computed in double by one thread per row/group in element
 * order, so results do not depend on the thread count (and are at least as
 * precise as any stash_type asks).
 *
 * Dropout is the identity (mask of ones) unless training_mode is true and the
 * ratio is non-zero. Its random mask is drawn at infer time on the session
 * thread from MT19937 seeded with the `seed` attribute, consuming one 53-bit
 * uniform double per element in row-major order and keeping an element where
 * u >= ratio: the stream numpy's legacy RandomState gives for that seed (what
 * the ONNX reference uses), so a seeded training Dropout is reproducible.
 * Without a seed the generator is seeded from the clock. */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

/* ---- LayerNormalization ---- */

typedef struct ln_params {
    int64_t axis, stash_type;
    float epsilon;
} ln_params;

typedef struct ln_state {
    int64_t rows, cols;
    int rank;                      /* of X */
    int64_t dims[MAXD];
    int64_t sstride[MAXD], bstride[MAXD]; /* Scale / B broadcast to X */
    bool s_flat, b_flat;           /* their offset within a row is the column index */
} ln_state;

static flintrt_status parse_ln(const flt_onnx_node *n, void *pp, flt_err *e) {
    ln_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "axis", -1, &p->axis, e));
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "epsilon", 1e-5f, &p->epsilon, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "stash_type", 1, &p->stash_type, e));
    flt_dtype d;
    if (p->stash_type < 0 || p->stash_type > INT32_MAX || !flt_onnx_dtype((int32_t)p->stash_type, &d) ||
        !flt_onnx_is_float(d))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "LayerNormalization: stash_type %" PRId64 " is not a float type",
                        p->stash_type);
    return FLINTRT_OK;
}

/* Scale/B must broadcast to X without growing it; s_flat when it is exactly X[axis:] (or its suffix of 1s) */
static flintrt_status ln_operand(flt_onnx_infer *x, int i, int axis, int64_t *strides, bool *flat) {
    const flt_onnx_tinfo *X = &x->k->in[0], *t = &x->k->in[i];
    if (t->dtype != X->dtype) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d must have X's type", i);
    if (t->ndim > X->ndim) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d has rank %d > X's %d", i, t->ndim, X->ndim);
    for (int d = 0; d < t->ndim; d++) {
        int64_t td = t->dims[d], xd = X->dims[X->ndim - t->ndim + d];
        if (td != xd && td != 1)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d (dim %d = %" PRId64 ") does not broadcast to X (%" PRId64 ")",
                                 i, d, td, xd);
    }
    flt_onnx_bcast_strides(t, X, strides);
    *flat = true;
    int64_t expect = 1;
    for (int d = X->ndim - 1; d >= 0; d--) {
        if (X->dims[d] == 1) continue; /* the coordinate is always 0 */
        if (strides[d] != (d < axis ? 0 : expect)) *flat = false;
        if (d >= axis) expect *= X->dims[d];
    }
    return FLINTRT_OK;
}

static flintrt_status infer_ln(flt_onnx_infer *x) {
    const ln_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0];
    if (!flt_onnx_is_float(X->dtype)) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "X must be a float type");
    if (X->ndim < 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X must have rank >= 1");
    int ax;
    FLT_ONNX_TRY(flt_onnx_axis(x, p->axis, X->ndim, &ax));
    if (x->k->n_out > 3) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "%d outputs", x->k->n_out);
    ln_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->rank = X->ndim;
    memcpy(s->dims, X->dims, sizeof s->dims);
    s->rows = s->cols = 1;
    for (int i = 0; i < X->ndim; i++) {
        if (i < ax) s->rows *= X->dims[i];
        else s->cols *= X->dims[i];
    }
    FLT_ONNX_TRY(ln_operand(x, 1, ax, s->sstride, &s->s_flat));
    if (x->k->n_in > 2 && x->k->in[2].ndim >= 0) FLT_ONNX_TRY(ln_operand(x, 2, ax, s->bstride, &s->b_flat));
    x->k->state = s;
    x->k->out[0] = *X;
    flt_dtype st;
    flt_onnx_dtype((int32_t)p->stash_type, &st);
    for (int o = 1; o < x->k->n_out; o++) {
        flt_onnx_tinfo *t = &x->k->out[o];
        *t = *X;
        t->dtype = st;
        for (int i = ax; i < X->ndim; i++) t->dims[i] = 1;
    }
    return FLINTRT_OK;
}

/* offset of element (row, col) of X in a broadcast operand */
static int64_t ln_off(const ln_state *s, const int64_t *strides, bool flat, int64_t row, int64_t col) {
    if (flat) return col;
    int64_t flat_i = row * s->cols + col, off = 0;
    for (int d = s->rank - 1; d >= 0; d--) {
        off += (flat_i % s->dims[d]) * strides[d];
        flat_i /= s->dims[d];
    }
    return off;
}

static void k_ln(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const ln_params *p = k->params;
    const ln_state *s = k->state;
    flt_dtype dt = k->in[0].dtype;
    const void *X = flt_onnx_in(g, n, 0), *S = flt_onnx_in(g, n, 1);
    const void *B = k->n_in > 2 ? flt_onnx_in(g, n, 2) : NULL;
    void *Y = flt_onnx_out(g, n, 0);
    void *M = k->n_out > 1 && k->node->out[1] >= 0 ? flt_onnx_out(g, n, 1) : NULL;
    void *I = k->n_out > 2 && k->node->out[2] >= 0 ? flt_onnx_out(g, n, 2) : NULL;
    long long lo, hi;
    flt_split(s->rows, ith, nth, &lo, &hi);
    for (long long r = lo; r < hi; r++) {
        int64_t base = r * s->cols;
        double sum = 0;
        for (int64_t j = 0; j < s->cols; j++) sum += flt_onnx_get_f64(dt, X, base + j);
        double mean = sum / (double)s->cols, var = 0;
        for (int64_t j = 0; j < s->cols; j++) {
            double dv = flt_onnx_get_f64(dt, X, base + j) - mean;
            var += dv * dv;
        }
        var /= (double)s->cols;
        double inv = 1.0 / sqrt(var + (double)p->epsilon);
        for (int64_t j = 0; j < s->cols; j++) {
            double v = (flt_onnx_get_f64(dt, X, base + j) - mean) * inv;
            v *= flt_onnx_get_f64(dt, S, ln_off(s, s->sstride, s->s_flat, r, j));
            if (B) v += flt_onnx_get_f64(dt, B, ln_off(s, s->bstride, s->b_flat, r, j));
            flt_onnx_set_f64(dt, Y, base + j, v);
        }
        if (M) flt_onnx_set_f64(k->out[1].dtype, M, r, mean);
        if (I) flt_onnx_set_f64(k->out[2].dtype, I, r, inv);
    }
}

/* ---- MeanVarianceNormalization: (X - mean) / (sqrt(var) + 1e-9) over axes ---- */

typedef struct mvn_params {
    const int64_t *axes;
    int64_t n_axes;
} mvn_params;

typedef struct mvn_state {
    int n_keep, n_red;
    int64_t keep_dims[MAXD], keep_stride[MAXD], red_dims[MAXD], red_stride[MAXD];
    int64_t groups, count;
} mvn_state;

static flintrt_status parse_mvn(const flt_onnx_node *n, void *pp, flt_err *e) {
    mvn_params *p = pp;
    return flt_onnx_attr_ints(n, "axes", &p->axes, &p->n_axes, e);
}

static flintrt_status infer_mvn(flt_onnx_infer *x) {
    static const int64_t def_axes[3] = {0, 2, 3};
    const mvn_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0];
    if (!flt_onnx_is_float(X->dtype)) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "X must be a float type");
    const int64_t *axes = p->n_axes >= 0 ? p->axes : def_axes;
    int64_t na = p->n_axes >= 0 ? p->n_axes : 3;
    bool red[MAXD] = {false};
    for (int64_t i = 0; i < na; i++) {
        int a;
        FLT_ONNX_TRY(flt_onnx_axis(x, axes[i], X->ndim, &a));
        if (red[a]) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "axis %d listed twice", a);
        red[a] = true;
    }
    mvn_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    int64_t st[MAXD];
    flt_onnx_strides(X, st);
    s->groups = s->count = 1;
    for (int i = 0; i < X->ndim; i++) {
        if (red[i]) {
            s->red_dims[s->n_red] = X->dims[i];
            s->red_stride[s->n_red++] = st[i];
            s->count *= X->dims[i];
        } else {
            s->keep_dims[s->n_keep] = X->dims[i];
            s->keep_stride[s->n_keep++] = st[i];
            s->groups *= X->dims[i];
        }
    }
    x->k->state = s;
    x->k->out[0] = *X;
    return FLINTRT_OK;
}

static void k_mvn(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const mvn_state *s = k->state;
    flt_dtype dt = k->in[0].dtype;
    const void *X = flt_onnx_in(g, n, 0);
    void *Y = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(s->groups, ith, nth, &lo, &hi);
    for (long long gi = lo; gi < hi; gi++) {
        int64_t base = 0, rem = gi;
        for (int d = s->n_keep - 1; d >= 0; d--) {
            base += (rem % s->keep_dims[d]) * s->keep_stride[d];
            rem /= s->keep_dims[d];
        }
        double mean = 0, var = 0;
        for (int pass = 0; pass < 3; pass++) {
            int64_t cnt[MAXD] = {0}, off = base;
            for (int64_t r = 0; r < s->count; r++) {
                double v = flt_onnx_get_f64(dt, X, off);
                if (pass == 0) mean += v;
                else if (pass == 1) var += (v - mean) * (v - mean);
                else flt_onnx_set_f64(dt, Y, off, (v - mean) / (sqrt(var) + 1e-9));
                for (int d = s->n_red - 1; d >= 0; d--) {
                    off += s->red_stride[d];
                    if (++cnt[d] < s->red_dims[d]) break;
                    off -= cnt[d] * s->red_stride[d];
                    cnt[d] = 0;
                }
            }
            if (pass == 0) mean /= (double)s->count;
            if (pass == 1) var /= (double)s->count;
        }
    }
}

/* ---- Dropout ---- */

typedef struct drop_params {
    float ratio;         /* opset 7..11 attribute */
    bool has_seed;
    int64_t seed;
} drop_params;

typedef struct drop_state {
    const uint8_t *keep; /* NULL: identity */
    double scale;
} drop_state;

static flintrt_status parse_drop(const flt_onnx_node *n, void *pp, flt_err *e) {
    drop_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "ratio", 0.5f, &p->ratio, e));
    p->has_seed = flt_onnx_node_attr(n, "seed") != NULL;
    return flt_onnx_attr_int(n, "seed", 0, &p->seed, e);
}

/* MT19937 (Matsumoto & Nishimura), seeded with init_genrand */
typedef struct mt19937 {
    uint32_t mt[624];
    int i;
} mt19937;

static void mt_seed(mt19937 *m, uint32_t s) {
    m->mt[0] = s;
    for (int i = 1; i < 624; i++) m->mt[i] = 1812433253u * (m->mt[i - 1] ^ (m->mt[i - 1] >> 30)) + (uint32_t)i;
    m->i = 624;
}

static uint32_t mt_next(mt19937 *m) {
    if (m->i >= 624) {
        for (int k = 0; k < 624; k++) {
            uint32_t y = (m->mt[k] & 0x80000000u) | (m->mt[(k + 1) % 624] & 0x7fffffffu);
            m->mt[k] = m->mt[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        m->i = 0;
    }
    uint32_t y = m->mt[m->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* a uniform double in [0, 1) from 53 random bits */
static double mt_double(mt19937 *m) {
    uint32_t a = mt_next(m) >> 5, b = mt_next(m) >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

static flintrt_status infer_drop(flt_onnx_infer *x) {
    const drop_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0];
    if (!flt_onnx_is_float(X->dtype)) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "data must be a float type");
    if (x->k->n_out > 2) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "%d outputs", x->k->n_out);
    drop_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->scale = 1;
    double ratio = p->ratio;
    bool training = false;
    if (x->opset >= 12) {
        double v[1];
        int64_t cnt;
        ratio = 0.5;
        if (x->k->n_in > 2 && x->k->in[2].ndim >= 0) {
            if (x->k->in[2].dtype != FLT_BOOL) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "training_mode must be bool");
            FLT_ONNX_TRY(flt_onnx_input_f64(x, 2, v, &cnt, 1));
            if (cnt != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "training_mode must be a scalar");
            training = v[0] != 0;
        }
        if (x->k->n_in > 1 && x->k->in[1].ndim >= 0) {
            if (!flt_onnx_is_float(x->k->in[1].dtype)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "ratio must be a float type");
            if (training) { /* the ratio's value matters only when training */
                FLT_ONNX_TRY(flt_onnx_input_f64(x, 1, v, &cnt, 1));
                if (cnt != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "ratio must be a scalar");
                ratio = v[0];
            }
        }
    }
    if (training && !(ratio >= 0 && ratio < 1)) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "ratio %g is outside [0, 1)", ratio);
    if (training && ratio > 0) {
        int64_t ne = flt_onnx_nelem(X);
        uint8_t *keep = flt_onnx_alloc(x, (size_t)(ne ? ne : 1));
        if (!keep) return x->e->status;
        mt19937 *m = flt_onnx_alloc(x, sizeof *m);
        if (!m) return x->e->status;
        uint32_t seed = (uint32_t)p->seed;
        if (!p->has_seed) {
            struct timespec ts;
            timespec_get(&ts, TIME_UTC);
            seed = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ (uint32_t)(uintptr_t)m;
        }
        mt_seed(m, seed);
        for (int64_t i = 0; i < ne; i++) keep[i] = mt_double(m) >= ratio;
        s->keep = keep;
        s->scale = 1.0 / (1.0 - ratio);
    }
    x->k->state = s;
    x->k->out[0] = *X;
    if (x->k->n_out > 1) {
        x->k->out[1] = *X;
        if (x->opset >= 10) x->k->out[1].dtype = FLT_BOOL; /* opset 7..9: the mask has X's type */
    }
    return FLINTRT_OK;
}

static void k_drop(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const drop_state *s = k->state;
    flt_dtype dt = k->in[0].dtype, mt = k->n_out > 1 ? k->out[1].dtype : FLT_BOOL;
    const void *X = flt_onnx_in(g, n, 0);
    void *Y = flt_onnx_out(g, n, 0);
    void *M = k->n_out > 1 && k->node->out[1] >= 0 ? flt_onnx_out(g, n, 1) : NULL;
    size_t es = flt_onnx_dtype_size(dt);
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->in[0]), ith, nth, &lo, &hi);
    if (!s->keep) {
        if (hi > lo) memcpy((char *)Y + (size_t)lo * es, (const char *)X + (size_t)lo * es, (size_t)(hi - lo) * es);
    } else {
        for (long long i = lo; i < hi; i++)
            flt_onnx_set_f64(dt, Y, i, s->keep[i] ? flt_onnx_get_f64(dt, X, i) * s->scale : 0.0);
    }
    if (M)
        for (long long i = lo; i < hi; i++) flt_onnx_set_f64(mt, M, i, s->keep ? s->keep[i] : 1.0);
}

const flt_onnx_op flt_onnx_ops_layernorm[] = {
    {"", "LayerNormalization", 17, 0, sizeof(ln_params), parse_ln, infer_ln, {"LayerNormalization", k_ln}, NULL, 0, 2},
    {"", "MeanVarianceNormalization", 9, 0, sizeof(mvn_params), parse_mvn, infer_mvn, {"MeanVarianceNormalization", k_mvn},
     NULL, 0, 1},
    {"", "Dropout", 7, 11, sizeof(drop_params), parse_drop, infer_drop, {"Dropout", k_drop}, NULL, 0, 1},
    {"", "Dropout", 12, 0, sizeof(drop_params), parse_drop, infer_drop, {"Dropout", k_drop}, NULL, FLT_ONNX_OP_NO_FOLD, 1},
};
const int flt_onnx_ops_layernorm_count = (int)(sizeof flt_onnx_ops_layernorm / sizeof flt_onnx_ops_layernorm[0]);
