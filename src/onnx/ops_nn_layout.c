/* ONNX spatial layout ops of CNNs: Pad (constant/reflect/edge/wrap, the
 * opset 1/2 attribute forms and the opset 11+ input form, opset 18 axes),
 * DepthToSpace (DCR/CRD), SpaceToDepth. Resize and Upsample live in the
 * resize family.
 *
 * Every output element is computed from its own coordinates by one thread, so
 * results do not depend on the thread count. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

/* ---- Pad ---- */

typedef enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } pad_mode;

typedef struct pad_params {
    pad_mode mode;
    float value;
    const int64_t *pads;
    int64_t n_pads;
} pad_params;

typedef struct pad_state {
    int ndim;
    int64_t in[MAXD], out[MAXD], pb[MAXD];
    uint8_t fill[16];                   /* the constant, one element of the data type */
} pad_state;

static flintrt_status parse_pad(const flt_onnx_node *n, void *pp, flt_err *e) {
    pad_params *p = pp;
    char mode[16];
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "mode", "constant", mode, sizeof mode, e));
    if (!strcmp(mode, "constant")) p->mode = PAD_CONSTANT;
    else if (!strcmp(mode, "reflect")) p->mode = PAD_REFLECT;
    else if (!strcmp(mode, "edge")) p->mode = PAD_EDGE;
    else if (!strcmp(mode, "wrap")) p->mode = PAD_WRAP;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "Pad '%s': unknown mode '%s'", n->name, mode);
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "value", 0.0f, &p->value, e));
    p->n_pads = -1;
    if (n->opset < 11) {
        FLT_ONNX_TRY(flt_onnx_attr_ints(n, n->opset < 2 ? "paddings" : "pads", &p->pads, &p->n_pads, e));
        if (p->n_pads < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "Pad '%s': pads attribute is required", n->name);
    }
    return FLINTRT_OK;
}

static flintrt_status infer_pad(flt_onnx_infer *x) {
    const pad_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0];
    int r = X->ndim;
    const int64_t *pads = p->pads, *axes = NULL;
    int64_t np = p->n_pads, na = -1;
    if (x->opset >= 11) {
        if (x->k->n_in < 2 || x->k->in[1].ndim < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "pads input is required");
        FLT_ONNX_TRY(flt_onnx_input_ints(x, 1, &pads, &np));
        if (x->k->n_in > 3 && x->k->in[3].ndim >= 0) FLT_ONNX_TRY(flt_onnx_input_ints(x, 3, &axes, &na));
    }
    int64_t nax = na >= 0 ? na : r;
    if (np != 2 * nax) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "pads has %" PRId64 " values, %" PRId64 " expected", np, 2 * nax);
    pad_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->ndim = r;
    int64_t pb[MAXD] = {0}, pe[MAXD] = {0};
    for (int64_t i = 0; i < nax; i++) {
        int a = (int)i;
        if (axes) FLT_ONNX_TRY(flt_onnx_axis(x, axes[i], r, &a));
        pb[a] = pads[i];
        pe[a] = pads[i + nax];
    }
    flt_onnx_tinfo *o = &x->k->out[0];
    *o = *X;
    int64_t ne = 1;
    for (int i = 0; i < r; i++) {
        int64_t lim = (int64_t)1 << 40;
        if (pb[i] < -lim || pb[i] > lim || pe[i] < -lim || pe[i] > lim)
            return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "pad value out of range");
        int64_t d = X->dims[i] + pb[i] + pe[i];
        if (d < 0) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "negative pads remove more than dim %d holds", i);
        if (p->mode != PAD_CONSTANT && X->dims[i] == 0 && d > 0)
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "cannot %s-pad an empty dim %d",
                                 p->mode == PAD_REFLECT ? "reflect" : p->mode == PAD_EDGE ? "edge" : "wrap", i);
        o->dims[i] = d;
        s->in[i] = X->dims[i];
        s->out[i] = d;
        s->pb[i] = pb[i];
        if (!flt_mul_i64(ne, d, &ne)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    }
    size_t es = flt_onnx_dtype_size(X->dtype);
    if (es == 0 || es > sizeof s->fill) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "unsupported data type");
    if (x->opset >= 11) {
        if (x->k->n_in > 2 && x->k->in[2].ndim >= 0) {
            const flt_onnx_tinfo *cv = &x->k->in[2];
            if (cv->dtype != X->dtype || flt_onnx_nelem(cv) != 1)
                return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "constant_value must be one value of the data's type");
            const void *v = flt_onnx_input_value(x, 2);
            if (!v) return flt_onnx_need(x, 2);
            memcpy(s->fill, v, es);
        }
    } else {
        flt_onnx_set_f64(X->dtype, s->fill, 0, p->value);
    }
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_pad(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const pad_params *p = k->params;
    const pad_state *s = k->state;
    const char *X = flt_onnx_in(g, n, 0);
    char *Y = flt_onnx_out(g, n, 0);
    size_t es = flt_onnx_dtype_size(k->out[0].dtype);
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t r = t, off = 0, mul = 1;
        bool fill = false;
        for (int d = s->ndim - 1; d >= 0; d--) {
            int64_t q = r % s->out[d] - s->pb[d], len = s->in[d];
            r /= s->out[d];
            if (q < 0 || q >= len) {
                switch (p->mode) {
                case PAD_CONSTANT: fill = true; break;
                case PAD_EDGE: q = q < 0 ? 0 : len - 1; break;
                case PAD_WRAP: q = ((q % len) + len) % len; break;
                case PAD_REFLECT:
                    if (len == 1) q = 0;
                    else {
                        int64_t per = 2 * (len - 1);
                        q = ((q % per) + per) % per;
                        if (q >= len) q = per - q;
                    }
                    break;
                }
            }
            off += q * mul;
            mul *= len;
        }
        if (fill) memcpy(Y + (size_t)t * es, s->fill, es);
        else memcpy(Y + (size_t)t * es, X + (size_t)off * es, es);
    }
}

/* ---- DepthToSpace, SpaceToDepth ---- */

typedef struct d2s_params {
    int64_t blocksize;
    bool crd, to_depth;
} d2s_params;

static flintrt_status parse_d2s_common(const flt_onnx_node *n, d2s_params *p, bool to_depth, flt_err *e) {
    char mode[8];
    p->to_depth = to_depth;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "blocksize", 0, &p->blocksize, e));
    if (p->blocksize < 1 || p->blocksize > ((int64_t)1 << 20))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s '%s': blocksize must be given and positive", n->op_type, n->name);
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "mode", "DCR", mode, sizeof mode, e));
    if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s '%s': mode must be DCR or CRD", n->op_type, n->name);
    p->crd = !strcmp(mode, "CRD");
    return FLINTRT_OK;
}
static flintrt_status parse_d2s(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_d2s_common(n, pp, false, e); }
static flintrt_status parse_s2d(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_d2s_common(n, pp, true, e); }

static flintrt_status infer_d2s(flt_onnx_infer *x) {
    const d2s_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0];
    int64_t b = p->blocksize, bb = b * b;
    if (X->ndim != 4) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must be 4-D, is %d-D", X->ndim);
    flt_onnx_tinfo *o = &x->k->out[0];
    *o = *X;
    if (p->to_depth) {
        if (X->dims[2] % b || X->dims[3] % b)
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "H and W must be multiples of blocksize %" PRId64, b);
        if (!flt_mul_i64(X->dims[1], bb, &o->dims[1])) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
        o->dims[2] = X->dims[2] / b;
        o->dims[3] = X->dims[3] / b;
    } else {
        if (X->dims[1] % bb)
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "C must be a multiple of blocksize^2 = %" PRId64, bb);
        o->dims[1] = X->dims[1] / bb;
        if (!flt_mul_i64(X->dims[2], b, &o->dims[2]) || !flt_mul_i64(X->dims[3], b, &o->dims[3]))
            return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    }
    return FLINTRT_OK;
}

static void k_d2s(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const d2s_params *p = k->params;
    const char *X = flt_onnx_in(g, n, 0);
    char *Y = flt_onnx_out(g, n, 0);
    size_t es = flt_onnx_dtype_size(k->out[0].dtype);
    const int64_t *od = k->out[0].dims, *id = k->in[0].dims, b = p->blocksize;
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t w = t % od[3], h = (t / od[3]) % od[2], c = (t / (od[3] * od[2])) % od[1], nn = t / (od[3] * od[2] * od[1]);
        int64_t ic, ih, iw;
        if (p->to_depth) {
            /* y[n, (i*b + j)*C + c, h, w] = x[n, c, h*b + i, w*b + j] */
            int64_t C = id[1], blk = c / C;
            ic = c % C;
            ih = h * b + blk / b;
            iw = w * b + blk % b;
        } else {
            int64_t C = od[1], i = h % b, j = w % b;
            ih = h / b;
            iw = w / b;
            ic = p->crd ? c * b * b + i * b + j : (i * b + j) * C + c;
        }
        int64_t off = ((nn * id[1] + ic) * id[2] + ih) * id[3] + iw;
        memcpy(Y + (size_t)t * es, X + (size_t)off * es, es);
    }
}

const flt_onnx_op flt_onnx_ops_nn_layout[] = {
    {"", "Pad", 1, 0, sizeof(pad_params), parse_pad, infer_pad, {"Pad", k_pad}, NULL, 0, 1},
    {"", "DepthToSpace", 1, 0, sizeof(d2s_params), parse_d2s, infer_d2s, {"DepthToSpace", k_d2s}, NULL, 0, 1},
    {"", "SpaceToDepth", 1, 0, sizeof(d2s_params), parse_s2d, infer_d2s, {"SpaceToDepth", k_d2s}, NULL, 0, 1},
};
const int flt_onnx_ops_nn_layout_count = (int)(sizeof flt_onnx_ops_nn_layout / sizeof flt_onnx_ops_nn_layout[0]);
