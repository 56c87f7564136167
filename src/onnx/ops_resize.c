/* ONNX spatial resampling: Resize (opsets 10, 11, 13, 18+ without antialias),
 * Upsample (7, 9, 10) and GridSample (16).
 *
 * Resize is separable: infer computes, for every resized axis and every output
 * coordinate along it, the input taps (clamped indices) and their weights, from
 * the coordinate transformation, the mode (nearest 1 tap, linear 2, cubic 4)
 * and exclude_outside. The kernel then sums, per output element, the product of
 * the axes' weights over their taps in a fixed order (double precision), so the
 * result does not depend on the thread count. Conventions follow the ONNX
 * reference: the "resized length" in align_corners/tf_crop_and_resize/
 * pytorch_half_pixel is scale * input length (a real number when scales are
 * given), a coordinate that falls exactly on a pixel takes that pixel, and
 * taps outside the input repeat the edge (tf_crop_and_resize: a coordinate
 * outside the input gives extrapolation_value). Zero-weight taps are dropped.
 *
 * Opsets <= 10 (Upsample, Resize-10) use the asymmetric transformation and
 * floor for nearest (what ONNX's Resize 10 -> 11 version converter maps them
 * to). Integer tensors are rounded to nearest and saturated. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS
#define MAX_AXIS_LEN ((int64_t)1 << 31)

typedef enum rz_mode { RZ_NEAREST, RZ_LINEAR, RZ_CUBIC } rz_mode;
typedef enum rz_ctm {
    CTM_HALF_PIXEL, CTM_PYTORCH_HALF_PIXEL, CTM_ALIGN_CORNERS, CTM_ASYMMETRIC, CTM_TF_HALF_PIXEL_FOR_NN,
    CTM_TF_CROP_AND_RESIZE, CTM_HALF_PIXEL_SYMMETRIC,
} rz_ctm;
typedef enum rz_nearest { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL } rz_nearest;
typedef enum rz_keep { KEEP_STRETCH, KEEP_NOT_LARGER, KEEP_NOT_SMALLER } rz_keep;

typedef struct rz_params {
    rz_mode mode;
    rz_ctm ctm;
    rz_nearest nearest;
    rz_keep keep;
    double cubic_a, extrapolation;
    bool exclude_outside;
    const int64_t *axes;            /* opset 18: the axes scales/sizes/roi refer to */
    int64_t n_axes;                 /* -1: all */
    const float *attr_scales;       /* Upsample-7 */
    int64_t n_attr_scales;
    bool upsample;                  /* Upsample op (scales may be any float >= 1) */
} rz_params;

typedef struct rz_tap {
    int64_t idx[4];                 /* input indices along the axis (clamped) */
    double w[4];
    int n;                          /* taps with non-zero weight */
    bool outside;                   /* tf_crop_and_resize: extrapolate */
} rz_tap;

typedef struct rz_state {
    int rank;
    rz_tap *taps[MAXD];             /* per axis, out dims[a] entries */
    int64_t in_stride[MAXD];
} rz_state;

static bool str_is(const char *a, const char *b) { return strcmp(a, b) == 0; }

static flintrt_status parse_resize_common(const flt_onnx_node *n, rz_params *p, flt_err *e, bool old) {
    char buf[64];
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "mode", "nearest", buf, sizeof buf, e));
    if (str_is(buf, "nearest")) p->mode = RZ_NEAREST;
    else if (str_is(buf, "linear") || (old && str_is(buf, "bilinear"))) p->mode = RZ_LINEAR;
    else if (str_is(buf, "cubic") && !old) p->mode = RZ_CUBIC;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "unknown mode '%s'", buf);
    p->ctm = CTM_ASYMMETRIC;
    p->nearest = NM_FLOOR;
    p->cubic_a = -0.75;
    p->n_axes = -1;
    if (old) return FLINTRT_OK;
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "coordinate_transformation_mode", "half_pixel", buf, sizeof buf, e));
    static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                       "tf_half_pixel_for_nn", "tf_crop_and_resize", "half_pixel_symmetric"};
    int c = -1;
    for (int i = 0; i < (int)(sizeof ctms / sizeof ctms[0]); i++)
        if (str_is(buf, ctms[i])) c = i;
    if (c < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "unknown coordinate_transformation_mode '%s'", buf);
    p->ctm = (rz_ctm)c;
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "nearest_mode", "round_prefer_floor", buf, sizeof buf, e));
    if (str_is(buf, "round_prefer_floor")) p->nearest = NM_ROUND_PREFER_FLOOR;
    else if (str_is(buf, "round_prefer_ceil")) p->nearest = NM_ROUND_PREFER_CEIL;
    else if (str_is(buf, "floor")) p->nearest = NM_FLOOR;
    else if (str_is(buf, "ceil")) p->nearest = NM_CEIL;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "unknown nearest_mode '%s'", buf);
    float f;
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "cubic_coeff_a", -0.75f, &f, e));
    if (!isfinite(f)) return flt_fail(e, FLINTRT_ERR_FORMAT, "cubic_coeff_a is not finite");
    p->cubic_a = f;
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "extrapolation_value", 0.0f, &f, e));
    p->extrapolation = f;
    int64_t v;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "exclude_outside", 0, &v, e));
    if (v != 0 && v != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "exclude_outside must be 0 or 1");
    p->exclude_outside = v;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "antialias", 0, &v, e));
    if (v != 0) return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "antialias=1 is not supported yet");
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, "axes", &p->axes, &p->n_axes, e));
    if (p->n_axes > MAXD) return flt_fail(e, FLINTRT_ERR_FORMAT, "too many axes");
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "keep_aspect_ratio_policy", "stretch", buf, sizeof buf, e));
    if (str_is(buf, "stretch")) p->keep = KEEP_STRETCH;
    else if (str_is(buf, "not_larger")) p->keep = KEEP_NOT_LARGER;
    else if (str_is(buf, "not_smaller")) p->keep = KEEP_NOT_SMALLER;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "unknown keep_aspect_ratio_policy '%s'", buf);
    return FLINTRT_OK;
}

static flintrt_status parse_resize10(const flt_onnx_node *n, void *pp, flt_err *e) {
    return parse_resize_common(n, pp, e, true);
}
static flintrt_status parse_resize(const flt_onnx_node *n, void *pp, flt_err *e) {
    return parse_resize_common(n, pp, e, false);
}
static flintrt_status parse_upsample(const flt_onnx_node *n, void *pp, flt_err *e) {
    rz_params *p = pp;
    FLT_ONNX_TRY(parse_resize_common(n, p, e, true));
    p->upsample = true;
    FLT_ONNX_TRY(flt_onnx_attr_floats(n, "scales", &p->attr_scales, &p->n_attr_scales, e));
    return FLINTRT_OK;
}

static void cubic_coeffs(double r, double A, double c[4]) {
    double s = r + 1, t = 1 - r, u = 2 - r;
    c[0] = ((A * s - 5 * A) * s + 8 * A) * s - 4 * A;
    c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
    c[2] = ((A + 2) * t - (A + 3)) * t * t + 1;
    c[3] = ((A * u - 5 * A) * u + 8 * A) * u - 4 * A;
}

/* The taps of output coordinate o along an axis of length in_len. */
static void axis_taps(const rz_params *p, int64_t o, int64_t in_len, int64_t out_len, double scale, double out_f,
                      double roi_lo, double roi_hi, rz_tap *t) {
    double x = (double)o, xo;
    memset(t, 0, sizeof *t);
    switch (p->ctm) {
    case CTM_ALIGN_CORNERS: xo = out_f == 1 ? 0 : x * (double)(in_len - 1) / (out_f - 1); break;
    case CTM_ASYMMETRIC: xo = x / scale; break;
    case CTM_TF_CROP_AND_RESIZE:
        xo = out_f == 1 ? (roi_hi - roi_lo) * (double)(in_len - 1) / 2
                        : x * (roi_hi - roi_lo) * (double)(in_len - 1) / (out_f - 1);
        xo += roi_lo * (double)(in_len - 1);
        if (!(xo >= 0 && xo <= (double)(in_len - 1))) { t->outside = true; return; }
        break;
    case CTM_PYTORCH_HALF_PIXEL: xo = out_f == 1 ? -0.5 : (x + 0.5) / scale - 0.5; break;
    case CTM_TF_HALF_PIXEL_FOR_NN: xo = (x + 0.5) / scale; break;
    case CTM_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)out_len / (scale * (double)in_len), center = (double)in_len / 2;
        xo = center * (1 - adj) + (x + 0.5) / scale - 0.5;
        break;
    }
    default: xo = (x + 0.5) / scale - 0.5; break;
    }
    if (!isfinite(xo)) xo = 0;
    /* keep the floor representable; taps beyond the edge clamp anyway */
    if (xo < -4) xo = -4;
    if (xo > (double)in_len + 4) xo = (double)in_len + 4;
    double fl = floor(xo), r = xo - fl;
    int64_t i0 = (int64_t)fl;
    int64_t raw[4];
    double w[4];
    int n;
    if (p->mode == RZ_NEAREST) {
        int64_t pick = i0;
        if (r > 0) {
            switch (p->nearest) {
            case NM_ROUND_PREFER_FLOOR: pick = r <= 0.5 ? i0 : i0 + 1; break;
            case NM_ROUND_PREFER_CEIL: pick = r < 0.5 ? i0 : i0 + 1; break;
            case NM_FLOOR: pick = i0; break;
            case NM_CEIL: pick = i0 + 1; break;
            }
        }
        raw[0] = pick; w[0] = 1; n = 1;
    } else if (p->mode == RZ_LINEAR) {
        raw[0] = i0; raw[1] = i0 + 1; w[0] = 1 - r; w[1] = r; n = 2;
    } else {
        cubic_coeffs(r, p->cubic_a, w);
        for (int k = 0; k < 4; k++) raw[k] = i0 - 1 + k;
        n = 4;
    }
    if (p->exclude_outside) {
        double sum = 0;
        for (int k = 0; k < n; k++) {
            if (raw[k] < 0 || raw[k] >= in_len) w[k] = 0;
            sum += w[k];
        }
        if (sum != 0)
            for (int k = 0; k < n; k++) w[k] /= sum;
    }
    for (int k = 0; k < n; k++) {
        if (w[k] == 0) continue;
        int64_t i = raw[k] < 0 ? 0 : raw[k] >= in_len ? in_len - 1 : raw[k];
        t->idx[t->n] = i;
        t->w[t->n++] = w[k];
    }
}

static double saturate_int(flt_dtype d, double v) {
    double lo = 0, hi = 0;
    switch (d) {
    case FLT_I8: lo = -128; hi = 127; break;
    case FLT_U8: lo = 0; hi = 255; break;
    case FLT_I16: lo = -32768; hi = 32767; break;
    case FLT_U16: lo = 0; hi = 65535; break;
    case FLT_I32: lo = -2147483648.0; hi = 2147483647.0; break;
    case FLT_U32: lo = 0; hi = 4294967295.0; break;
    case FLT_U64: lo = 0; hi = 1.8446744073709552e19; break;
    default: lo = -9.2233720368547758e18; hi = 9.2233720368547758e18; break;
    }
    v = nearbyint(v);
    return v != v ? 0 : v < lo ? lo : v > hi ? hi : v;
}

static void k_resize(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const rz_params *p = k->params;
    const rz_state *s = k->state;
    flt_dtype dt = k->in[0].dtype;
    const void *in = flt_onnx_in(g, n, 0);
    void *out = flt_onnx_out(g, n, 0);
    const flt_onnx_tinfo *o = &k->out[0];
    int r = s->rank;
    bool fl = flt_onnx_is_float(dt);
    long long lo, hi;
    flt_split(flt_onnx_nelem(o), ith, nth, &lo, &hi);
    for (long long e = lo; e < hi; e++) {
        const rz_tap *t[MAXD];
        int64_t rem = e;
        bool outside = false;
        for (int d = r - 1; d >= 0; d--) {
            t[d] = &s->taps[d][rem % o->dims[d]];
            rem /= o->dims[d];
            outside |= t[d]->outside;
        }
        double acc = 0;
        if (outside) {
            acc = p->extrapolation;
        } else {
            int c[MAXD] = {0};
            for (;;) {
                int64_t off = 0;
                double w = 1;
                for (int d = 0; d < r; d++) {
                    off += t[d]->idx[c[d]] * s->in_stride[d];
                    w *= t[d]->w[c[d]];
                }
                acc += w * flt_onnx_get_f64(dt, in, off);
                int d = r - 1;
                for (; d >= 0; d--) {
                    if (++c[d] < t[d]->n) break;
                    c[d] = 0;
                }
                if (d < 0) break;
            }
        }
        flt_onnx_set_f64(dt, out, e, fl ? acc : saturate_int(dt, acc));
    }
}

/* Scales and output dims per axis, from the node's inputs and attributes. */
static flintrt_status resize_sizes(flt_onnx_infer *x, const rz_params *p, double *scale, double *out_f,
                                   int64_t *out_dims, double *roi_lo, double *roi_hi) {
    const flt_onnx_tinfo *X = &x->k->in[0];
    int r = X->ndim;
    int ax[MAXD], na = r;
    for (int i = 0; i < r; i++) ax[i] = i;
    if (p->n_axes >= 0 && x->opset >= 18) {
        bool seen[MAXD] = {false};
        na = (int)p->n_axes;
        for (int i = 0; i < na; i++) {
            FLT_ONNX_TRY(flt_onnx_axis(x, p->axes[i], r, &ax[i]));
            if (seen[ax[i]]) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "axis %d repeated", ax[i]);
            seen[ax[i]] = true;
        }
    }
    for (int i = 0; i < r; i++) {
        scale[i] = 1;
        out_f[i] = (double)X->dims[i];
        out_dims[i] = X->dims[i];
        roi_lo[i] = 0;
        roi_hi[i] = 1;
    }
    double vals[2 * MAXD];
    int64_t cnt = 0;
    bool have_scales = false, have_sizes = false;
    int i_roi = -1, i_scales, i_sizes = -1;
    if (p->upsample && x->opset < 9) i_scales = -1;
    else if (x->opset <= 10) i_scales = 1;
    else { i_roi = 1; i_scales = 2; i_sizes = 3; }
    const int nin = x->k->n_in;
    if (i_scales < 0) {
        if (p->n_attr_scales != r) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "scales has %" PRId64 " values for rank %d", p->n_attr_scales, r);
        for (int i = 0; i < r; i++) vals[i] = p->attr_scales[i];
        have_scales = true;
    } else if (i_scales < nin && x->k->in[i_scales].ndim >= 0 && flt_onnx_nelem(&x->k->in[i_scales]) > 0) {
        if (!flt_onnx_is_float(x->k->in[i_scales].dtype)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "scales must be float");
        FLT_ONNX_TRY(flt_onnx_input_f64(x, i_scales, vals, &cnt, MAXD));
        if (cnt != na) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "scales has %" PRId64 " values, expected %d", cnt, na);
        have_scales = true;
    }
    const int64_t *sizes = NULL;
    if (i_sizes >= 0 && i_sizes < nin && x->k->in[i_sizes].ndim >= 0 && flt_onnx_nelem(&x->k->in[i_sizes]) > 0) {
        if (have_scales) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "both scales and sizes are given");
        FLT_ONNX_TRY(flt_onnx_input_ints(x, i_sizes, &sizes, &cnt));
        if (cnt != na) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "sizes has %" PRId64 " values, expected %d", cnt, na);
        have_sizes = true;
    }
    if (!have_scales && !have_sizes) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "neither scales nor sizes is given");
    if (have_scales) {
        for (int i = 0; i < na; i++) {
            double sc = vals[i];
            int a = ax[i];
            if (!(sc > 0) || !isfinite(sc)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "scale %g of axis %d is not positive", sc, a);
            double of = sc * (double)X->dims[a];
            if (!(floor(of) < (double)MAX_AXIS_LEN)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output axis %d is too long", a);
            scale[a] = sc;
            out_f[a] = of;
            out_dims[a] = (int64_t)floor(of);
        }
    } else {
        double ks = 0;
        if (p->keep != KEEP_STRETCH) {
            for (int i = 0; i < na; i++) {
                int a = ax[i];
                if (X->dims[a] == 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "axis %d is empty", a);
                double sc = (double)sizes[i] / (double)X->dims[a];
                if (i == 0 || (p->keep == KEEP_NOT_LARGER ? sc < ks : sc > ks)) ks = sc;
            }
        }
        for (int i = 0; i < na; i++) {
            int a = ax[i];
            int64_t sz = sizes[i];
            if (sz < 0 || sz >= MAX_AXIS_LEN) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "size %" PRId64 " of axis %d is out of range", sz, a);
            if (p->keep != KEEP_STRETCH) {
                double of = round(ks * (double)X->dims[a]);
                if (!(of < (double)MAX_AXIS_LEN)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output axis %d is too long", a);
                scale[a] = ks;
                out_dims[a] = (int64_t)of;
                out_f[a] = ks * (double)X->dims[a];
                continue;
            }
            if (X->dims[a] == 0 && sz != 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "cannot resize empty axis %d to %" PRId64, a, sz);
            scale[a] = X->dims[a] ? (double)sz / (double)X->dims[a] : 1;
            out_dims[a] = sz;
            out_f[a] = (double)sz;
        }
    }
    if (p->ctm == CTM_TF_CROP_AND_RESIZE) {
        if (i_roi < 0 || i_roi >= nin || x->k->in[i_roi].ndim < 0 || flt_onnx_nelem(&x->k->in[i_roi]) == 0)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "tf_crop_and_resize needs roi");
        if (!flt_onnx_is_float(x->k->in[i_roi].dtype)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "roi must be float");
        FLT_ONNX_TRY(flt_onnx_input_f64(x, i_roi, vals, &cnt, 2 * MAXD));
        if (cnt != 2 * na) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "roi has %" PRId64 " values, expected %d", cnt, 2 * na);
        for (int i = 0; i < na; i++) {
            roi_lo[ax[i]] = vals[i];
            roi_hi[ax[i]] = vals[na + i];
        }
    }
    return FLINTRT_OK;
}

static flintrt_status infer_resize(flt_onnx_infer *x) {
    const rz_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0];
    int r = X->ndim;
    if (r < 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must have rank >= 1");
    if (X->dtype == FLT_BOOL) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "bool input");
    double scale[MAXD], out_f[MAXD], roi_lo[MAXD], roi_hi[MAXD];
    int64_t out_dims[MAXD];
    FLT_ONNX_TRY(resize_sizes(x, p, scale, out_f, out_dims, roi_lo, roi_hi));
    rz_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->rank = r;
    flt_onnx_strides(X, s->in_stride);
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = X->dtype;
    o->ndim = r;
    for (int a = 0; a < r; a++) o->dims[a] = out_dims[a];
    size_t b;
    if (!flt_onnx_tinfo_bytes(o, &b)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
    for (int a = 0; a < r; a++) {
        size_t tb;
        if (!flt_mul_size((size_t)(out_dims[a] ? out_dims[a] : 1), sizeof(rz_tap), &tb))
            return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output too large");
        s->taps[a] = flt_onnx_alloc(x, tb);
        if (!s->taps[a]) return x->e->status;
        for (int64_t i = 0; i < out_dims[a]; i++)
            axis_taps(p, i, X->dims[a], out_dims[a], scale[a], out_f[a], roi_lo[a], roi_hi[a], &s->taps[a][i]);
    }
    x->k->state = s;
    return FLINTRT_OK;
}

/* ---- GridSample ---- */

typedef enum gs_mode { GS_BILINEAR, GS_NEAREST, GS_BICUBIC } gs_mode;
typedef enum gs_pad { GS_ZEROS, GS_BORDER, GS_REFLECTION } gs_pad;

typedef struct gs_params {
    gs_mode mode;
    gs_pad pad;
    bool align;
} gs_params;

static flintrt_status parse_gridsample(const flt_onnx_node *n, void *pp, flt_err *e) {
    gs_params *p = pp;
    char buf[32];
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "mode", "bilinear", buf, sizeof buf, e));
    if (str_is(buf, "bilinear") || str_is(buf, "linear")) p->mode = GS_BILINEAR;
    else if (str_is(buf, "nearest")) p->mode = GS_NEAREST;
    else if (str_is(buf, "bicubic") || str_is(buf, "cubic")) p->mode = GS_BICUBIC;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "unknown mode '%s'", buf);
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "padding_mode", "zeros", buf, sizeof buf, e));
    if (str_is(buf, "zeros")) p->pad = GS_ZEROS;
    else if (str_is(buf, "border")) p->pad = GS_BORDER;
    else if (str_is(buf, "reflection")) p->pad = GS_REFLECTION;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "unknown padding_mode '%s'", buf);
    int64_t v;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "align_corners", 0, &v, e));
    if (v != 0 && v != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "align_corners must be 0 or 1");
    p->align = v;
    return FLINTRT_OK;
}

static double gs_unnormalize(double c, int64_t size, bool align) {
    return align ? (c + 1) / 2 * (double)(size - 1) : ((c + 1) * (double)size - 1) / 2;
}

static double gs_reflect(double c, double twice_lo, double twice_hi) {
    if (twice_lo == twice_hi) return 0;
    double mn = twice_lo / 2, span = (twice_hi - twice_lo) / 2;
    c = fabs(c - mn);
    double extra = fmod(c, span);
    double flips = floor(c / span);
    return fmod(flips, 2) == 0 ? extra + mn : span - extra + mn;
}

/* Padding applied to a source coordinate (border and reflection keep it inside). */
static double gs_pad_coord(const gs_params *p, double c, int64_t size) {
    if (p->pad == GS_BORDER) {
        c = c < 0 ? 0 : c > (double)(size - 1) ? (double)(size - 1) : c;
    } else if (p->pad == GS_REFLECTION) {
        c = p->align ? gs_reflect(c, 0, 2.0 * (double)(size - 1)) : gs_reflect(c, -1, 2.0 * (double)size - 1);
        c = c < 0 ? 0 : c > (double)(size - 1) ? (double)(size - 1) : c;
    }
    return c;
}

static double gs_at(flt_dtype dt, const void *X, int64_t base, int64_t H, int64_t W, int64_t y, int64_t x) {
    if (y < 0 || y >= H || x < 0 || x >= W) return 0;
    return flt_onnx_get_f64(dt, X, base + y * W + x);
}

static void k_gridsample(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const gs_params *p = k->params;
    flt_dtype dt = k->in[0].dtype, gt = k->in[1].dtype;
    const void *X = flt_onnx_in(g, n, 0), *G = flt_onnx_in(g, n, 1);
    void *Y = flt_onnx_out(g, n, 0);
    int64_t N = k->in[0].dims[0], C = k->in[0].dims[1], H = k->in[0].dims[2], W = k->in[0].dims[3];
    int64_t Ho = k->out[0].dims[2], Wo = k->out[0].dims[3];
    long long lo, hi;
    flt_split(N * C * Ho * Wo, ith, nth, &lo, &hi);
    for (long long e = lo; e < hi; e++) {
        int64_t ow = e % Wo, oh = (e / Wo) % Ho, c = (e / (Wo * Ho)) % C, b = e / (Wo * Ho * C);
        int64_t gi = ((b * Ho + oh) * Wo + ow) * 2;
        double gx = flt_onnx_get_f64(gt, G, gi), gy = flt_onnx_get_f64(gt, G, gi + 1);
        double ix = gs_unnormalize(gx, W, p->align), iy = gs_unnormalize(gy, H, p->align);
        int64_t base = (b * C + c) * H * W;
        double v = 0;
        if (!isfinite(ix) || !isfinite(iy)) {
            v = 0; /* NaN/inf grid: nothing to sample (zeros) */
        } else if (p->mode == GS_BICUBIC) {
            double fx = floor(ix), fy = floor(iy), tx = ix - fx, ty = iy - fy, cx[4], cy[4];
            cubic_coeffs(tx, -0.75, cx);
            cubic_coeffs(ty, -0.75, cy);
            for (int j = 0; j < 4; j++) {
                double row = 0;
                for (int i = 0; i < 4; i++) {
                    double sx = gs_pad_coord(p, fx - 1 + i, W), sy = gs_pad_coord(p, fy - 1 + j, H);
                    int64_t xi = sx >= 0 && sx < (double)W ? (int64_t)sx : -1;
                    int64_t yi = sy >= 0 && sy < (double)H ? (int64_t)sy : -1;
                    row += cx[i] * gs_at(dt, X, base, H, W, yi, xi);
                }
                v += cy[j] * row;
            }
        } else {
            ix = gs_pad_coord(p, ix, W);
            iy = gs_pad_coord(p, iy, H);
            if (ix < -2 || ix > (double)W + 1 || iy < -2 || iy > (double)H + 1) {
                v = 0;
            } else if (p->mode == GS_NEAREST) {
                v = gs_at(dt, X, base, H, W, (int64_t)nearbyint(iy), (int64_t)nearbyint(ix));
            } else {
                double fx = floor(ix), fy = floor(iy), tx = ix - fx, ty = iy - fy;
                int64_t x0 = (int64_t)fx, y0 = (int64_t)fy;
                v = (1 - tx) * (1 - ty) * gs_at(dt, X, base, H, W, y0, x0) + tx * (1 - ty) * gs_at(dt, X, base, H, W, y0, x0 + 1) +
                    (1 - tx) * ty * gs_at(dt, X, base, H, W, y0 + 1, x0) + tx * ty * gs_at(dt, X, base, H, W, y0 + 1, x0 + 1);
            }
        }
        flt_onnx_set_f64(dt, Y, e, v);
    }
}

static flintrt_status infer_gridsample(flt_onnx_infer *x) {
    const flt_onnx_tinfo *X = &x->k->in[0], *G = &x->k->in[1];
    if (X->ndim != 4) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "only 4-D inputs (N, C, H, W) are supported");
    if (G->ndim != 4 || G->dims[3] != 2 || G->dims[0] != X->dims[0])
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "grid must be [N, H_out, W_out, 2] with N of X");
    if (!flt_onnx_is_float(X->dtype) || !flt_onnx_is_float(G->dtype))
        return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "X and grid must be floating point");
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = X->dtype;
    o->ndim = 4;
    o->dims[0] = X->dims[0];
    o->dims[1] = X->dims[1];
    o->dims[2] = G->dims[1];
    o->dims[3] = G->dims[2];
    return FLINTRT_OK;
}

#define RZ_ROW(op, since, until, parser, minin) \
    {"", op, since, until, sizeof(rz_params), parser, infer_resize, {op, k_resize}, NULL, 0, minin}

const flt_onnx_op flt_onnx_ops_resize[] = {
    RZ_ROW("Upsample", 7, 8, parse_upsample, 1),
    RZ_ROW("Upsample", 9, 10, parse_upsample, 2), /* Upsample-10: deprecated, same form as 9 */
    RZ_ROW("Resize", 10, 10, parse_resize10, 2),
    RZ_ROW("Resize", 11, 0, parse_resize, 1),
    {"", "GridSample", 16, 0, sizeof(gs_params), parse_gridsample, infer_gridsample, {"GridSample", k_gridsample}, NULL, 0, 2},
};
const int flt_onnx_ops_resize_count = (int)(sizeof flt_onnx_ops_resize / sizeof flt_onnx_ops_resize[0]);
