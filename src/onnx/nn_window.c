/* Window geometry for Conv/ConvTranspose/pools and the f32 convolution
 * kernels (see nn_window.h). */
#include <inttypes.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/nn_window.h"

static flintrt_status ints_in_range(const flt_onnx_node *n, const char *name, const int64_t **v, int64_t *cnt,
                                    int64_t lo, flt_err *e) {
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, name, v, cnt, e));
    if (*cnt > FLT_ONNX_MAX_DIMS * 2)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s '%s': attribute '%s' has %" PRId64 " values", n->op_type, n->name,
                        name, *cnt);
    for (int64_t i = 0; i < *cnt; i++)
        if ((*v)[i] < lo || (*v)[i] > FLT_NN_ATTR_MAX)
            return flt_fail(e, FLINTRT_ERR_FORMAT, "%s '%s': attribute '%s' value %" PRId64 " is outside [%" PRId64
                            ", 2^30]", n->op_type, n->name, name, (*v)[i], lo);
    return FLINTRT_OK;
}

flintrt_status flt_nn_parse_win(const flt_onnx_node *n, flt_nn_win *w, bool transpose, flt_err *e) {
    char ap[32];
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "auto_pad", "NOTSET", ap, sizeof ap, e));
    if (!strcmp(ap, "NOTSET") || !ap[0]) w->auto_pad = FLT_NN_NOTSET;
    else if (!strcmp(ap, "SAME_UPPER")) w->auto_pad = FLT_NN_SAME_UPPER;
    else if (!strcmp(ap, "SAME_LOWER")) w->auto_pad = FLT_NN_SAME_LOWER;
    else if (!strcmp(ap, "VALID")) w->auto_pad = FLT_NN_VALID;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "%s '%s': unknown auto_pad '%s'", n->op_type, n->name, ap);
    FLT_ONNX_TRY(ints_in_range(n, "kernel_shape", &w->kernel, &w->n_kernel, 1, e));
    FLT_ONNX_TRY(ints_in_range(n, "pads", &w->pads, &w->n_pads, 0, e));
    FLT_ONNX_TRY(ints_in_range(n, "strides", &w->strides, &w->n_strides, 1, e));
    FLT_ONNX_TRY(ints_in_range(n, "dilations", &w->dils, &w->n_dils, 1, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "ceil_mode", 0, &w->ceil_mode, e));
    w->n_out_pad = w->n_out_shape = -1;
    if (transpose) {
        FLT_ONNX_TRY(ints_in_range(n, "output_padding", &w->out_pad, &w->n_out_pad, 0, e));
        FLT_ONNX_TRY(ints_in_range(n, "output_shape", &w->out_shape, &w->n_out_shape, 0, e));
    }
    return FLINTRT_OK;
}

/* Counts of the per-dimension attributes against nsp. */
static flintrt_status check_counts(flt_onnx_infer *x, const flt_nn_win *w, int nsp, bool need_kernel) {
    if (nsp < 1 || nsp > FLT_NN_MAXSP)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input needs 3..%d dimensions (N, C, spatial...)", FLT_ONNX_MAX_DIMS);
    if (need_kernel && w->n_kernel < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "kernel_shape is required");
    if (w->n_kernel >= 0 && w->n_kernel != nsp)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "kernel_shape has %" PRId64 " values for %d spatial dims", w->n_kernel, nsp);
    if (w->n_strides >= 0 && w->n_strides != nsp)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "strides has %" PRId64 " values for %d spatial dims", w->n_strides, nsp);
    if (w->n_dils >= 0 && w->n_dils != nsp)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "dilations has %" PRId64 " values for %d spatial dims", w->n_dils, nsp);
    if (w->n_pads >= 0 && w->n_pads != 2 * nsp)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "pads has %" PRId64 " values for %d spatial dims", w->n_pads, nsp);
    return FLINTRT_OK;
}

flintrt_status flt_nn_geom(flt_onnx_infer *x, const flt_nn_win *w, const int64_t *kernel, bool pool, flt_conv_geom *g) {
    FLT_ONNX_TRY(check_counts(x, w, g->nsp, kernel == NULL));
    for (int i = 0; i < g->nsp; i++) {
        int64_t k = kernel ? kernel[i] : w->kernel[i];
        if (kernel && w->n_kernel >= 0 && w->kernel[i] != k)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "kernel_shape disagrees with the weight's shape");
        if (k < 1 || k > FLT_NN_ATTR_MAX) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "kernel size %" PRId64 " out of range", k);
        int64_t s = w->n_strides >= 0 ? w->strides[i] : 1, d = w->n_dils >= 0 ? w->dils[i] : 1;
        int64_t ext = (k - 1) * d + 1, in = g->in[i], pb = 0, pe = 0, out;
        if (w->auto_pad == FLT_NN_SAME_UPPER || w->auto_pad == FLT_NN_SAME_LOWER) {
            out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + ext - in;
            if (total < 0) total = 0;
            pb = w->auto_pad == FLT_NN_SAME_UPPER ? total / 2 : total - total / 2;
            pe = total - pb;
        } else {
            if (w->auto_pad == FLT_NN_NOTSET && w->n_pads >= 0) { pb = w->pads[i]; pe = w->pads[i + g->nsp]; }
            int64_t span = in + pb + pe - ext;
            if (span < 0)
                return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT,
                                     "window of %" PRId64 " is larger than the padded input (%" PRId64 ") in spatial dim %d",
                                     ext, in + pb + pe, i);
            out = span / s + 1;
            if (pool && w->ceil_mode && w->auto_pad == FLT_NN_NOTSET && span % s) {
                out++;
                /* the last window must start inside the input or the begin padding */
                if ((out - 1) * s >= in + pb) out--;
            }
        }
        g->k[i] = k; g->s[i] = s; g->d[i] = d; g->pb[i] = pb; g->pe[i] = pe; g->out[i] = out;
    }
    return FLINTRT_OK;
}

flintrt_status flt_nn_geom_transpose(flt_onnx_infer *x, const flt_nn_win *w, const int64_t *kernel, flt_conv_geom *g) {
    FLT_ONNX_TRY(check_counts(x, w, g->nsp, false));
    int nsp = g->nsp;
    if (w->n_out_pad >= 0 && w->n_out_pad != nsp)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "output_padding has %" PRId64 " values for %d spatial dims", w->n_out_pad, nsp);
    const int64_t *os = w->out_shape;
    if (w->n_out_shape >= 0) {
        if (w->n_out_shape == nsp + 2) os += 2;
        else if (w->n_out_shape != nsp)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "output_shape has %" PRId64 " values for %d spatial dims", w->n_out_shape, nsp);
    }
    for (int i = 0; i < nsp; i++) {
        int64_t k = kernel[i];
        if (w->n_kernel >= 0 && w->kernel[i] != k)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "kernel_shape disagrees with the weight's shape");
        if (k < 1 || k > FLT_NN_ATTR_MAX) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "kernel size %" PRId64 " out of range", k);
        int64_t s = w->n_strides >= 0 ? w->strides[i] : 1, d = w->n_dils >= 0 ? w->dils[i] : 1;
        int64_t op = w->n_out_pad >= 0 ? w->out_pad[i] : 0, in = g->in[i];
        if (op >= s && op >= d)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "output_padding %" PRId64 " must be smaller than the stride or the dilation", op);
        /* full = s*(in-1) + op + (k-1)*d + 1, all factors <= 2^30 but in may be large */
        int64_t full;
        if (in < 1) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "empty spatial input");
        if (!flt_mul_i64(s, in - 1, &full)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "output size overflows");
        full += op + (k - 1) * d + 1;
        int64_t pb = 0, pe = 0, out;
        if (w->n_out_shape >= 0 || w->auto_pad == FLT_NN_SAME_UPPER || w->auto_pad == FLT_NN_SAME_LOWER) {
            out = w->n_out_shape >= 0 ? os[i] : in * s;
            int64_t total = full - out;
            /* negative total padding (a larger output_shape) pads the end with zeros-only outputs */
            if (w->auto_pad == FLT_NN_SAME_UPPER) { pb = total / 2; pe = total - pb; }
            else { pe = total / 2; pb = total - pe; }
            if (total < 0) { pb = 0; pe = total; }
        } else {
            if (w->auto_pad == FLT_NN_NOTSET && w->n_pads >= 0) { pb = w->pads[i]; pe = w->pads[i + nsp]; }
            out = full - pb - pe;
        }
        if (out < 0) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "pads exceed the output in spatial dim %d", i);
        g->k[i] = k; g->s[i] = s; g->d[i] = d; g->pb[i] = pb; g->pe[i] = pe; g->out[i] = out;
    }
    return FLINTRT_OK;
}

/* ---- f32 Conv ---- */

void flt_conv_f32_ref(const flt_conv_geom *g, const void *X, const void *W, const void *B, float *Y, int ith,
                      int nth) {
    int nsp = g->nsp;
    int64_t Cg = g->C / g->G, Mg = g->M / g->G, osz = 1, isz = 1, ksz = 1;
    for (int i = 0; i < nsp; i++) { osz *= g->out[i]; isz *= g->in[i]; ksz *= g->k[i]; }
    long long lo, hi;
    flt_split(g->N * g->M * osz, ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        int64_t nm = t / osz, p = t % osz, n = nm / g->M, m = nm % g->M, grp = m / Mg;
        int64_t opos[FLT_NN_MAXSP];
        for (int i = nsp - 1; i >= 0; i--) { opos[i] = p % g->out[i]; p /= g->out[i]; }
        float acc = 0;
        for (int64_t c = 0; c < Cg; c++) {
            int64_t xbase = (n * g->C + grp * Cg + c) * isz, wbase = (m * Cg + c) * ksz;
            for (int64_t kp = 0; kp < ksz; kp++) {
                int64_t off;
                if (flt_conv_tap(g, opos, kp, &off)) acc += flt_ld_f32(W, wbase + kp) * flt_ld_f32(X, xbase + off);
            }
        }
        Y[t] = B ? acc + flt_ld_f32(B, m) : acc;
    }
}

#define CONV_MB 8  /* output channels per block */
#define CONV_TW 64 /* output positions per row tile */

/* One body, compiled twice: baseline and AVX2 (no FMA: every product is
 * rounded before its add, as in the oracle, so both give the oracle's bits). */
#if defined(__GNUC__)
#define CONV_INLINE static inline __attribute__((always_inline))
#else
#define CONV_INLINE static inline
#endif
CONV_INLINE void conv_f32_body(const flt_conv_geom *g, const void *X, const void *W, const void *B, float *Y, int ith,
                               int nth) {
    /* as 3-D: leading spatial dims of size 1 */
    int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
    for (int i = 0; i < g->nsp; i++) {
        int j = 3 - g->nsp + i;
        in[j] = g->in[i]; k[j] = g->k[i]; out[j] = g->out[i]; s[j] = g->s[i]; d[j] = g->d[i]; pb[j] = g->pb[i];
    }
    int64_t Cg = g->C / g->G, Mg = g->M / g->G, mbl = (Mg + CONV_MB - 1) / CONV_MB, ntw = (out[2] + CONV_TW - 1) / CONV_TW;
    int64_t ksz = k[0] * k[1] * k[2], isz = in[0] * in[1] * in[2], osz = out[0] * out[1] * out[2];
    const float *Xf = ((uintptr_t)X % sizeof(float)) == 0 ? (const float *)X : NULL;
    long long lo, hi;
    flt_split(g->N * g->G * mbl * out[0] * out[1] * ntw, ith, nth, &lo, &hi);
    for (long long t = lo; t < hi; t++) {
        long long r = t;
        int64_t tw = r % ntw; r /= ntw;
        int64_t oh = r % out[1]; r /= out[1];
        int64_t od = r % out[0]; r /= out[0];
        int64_t mb = r % mbl; r /= mbl;
        int64_t grp = r % g->G, n = r / g->G;
        int64_t m0 = grp * Mg + mb * CONV_MB, mc = Mg - mb * CONV_MB < CONV_MB ? Mg - mb * CONV_MB : CONV_MB;
        int64_t ow0 = tw * CONV_TW, owc = out[2] - ow0 < CONV_TW ? out[2] - ow0 : CONV_TW;
        float acc[CONV_MB][CONV_TW];
        for (int64_t mi = 0; mi < mc; mi++) memset(acc[mi], 0, sizeof acc[mi]);
        for (int64_t c = 0; c < Cg; c++) {
            int64_t xc = (n * g->C + grp * Cg + c) * isz;
            for (int64_t kd = 0; kd < k[0]; kd++) {
                int64_t id = od * s[0] + kd * d[0] - pb[0];
                if (id < 0 || id >= in[0]) continue;
                for (int64_t kh = 0; kh < k[1]; kh++) {
                    int64_t ih = oh * s[1] + kh * d[1] - pb[1];
                    if (ih < 0 || ih >= in[1]) continue;
                    int64_t xrow = xc + (id * in[1] + ih) * in[2];
                    for (int64_t kw = 0; kw < k[2]; kw++) {
                        /* outputs ow with 0 <= ow*s + kw*d - pb < in */
                        int64_t base = kw * d[2] - pb[2];
                        int64_t olo = base >= 0 ? 0 : (-base + s[2] - 1) / s[2];
                        int64_t ohi = in[2] - 1 - base < 0 ? 0 : (in[2] - 1 - base) / s[2] + 1;
                        if (olo < ow0) olo = ow0;
                        if (ohi > ow0 + owc) ohi = ow0 + owc;
                        if (olo >= ohi) continue;
                        int64_t kp = (kd * k[1] + kh) * k[2] + kw;
                        int64_t xo = xrow + base, sw = s[2];
                        for (int64_t mi = 0; mi < mc; mi++) {
                            float wv = flt_ld_f32(W, ((m0 + mi) * Cg + c) * ksz + kp);
                            float *a = acc[mi] + (olo - ow0);
                            int64_t nw = ohi - olo, x0 = xo + olo * sw;
                            if (Xf && sw == 1) {
                                const float *xp = Xf + x0;
                                for (int64_t j = 0; j < nw; j++) a[j] += wv * xp[j];
                            } else if (Xf) {
                                const float *xp = Xf + x0;
                                for (int64_t j = 0; j < nw; j++) a[j] += wv * xp[j * sw];
                            } else {
                                for (int64_t j = 0; j < nw; j++) a[j] += wv * flt_ld_f32(X, x0 + j * sw);
                            }
                        }
                    }
                }
            }
        }
        for (int64_t mi = 0; mi < mc; mi++) {
            float bv = B ? flt_ld_f32(B, m0 + mi) : 0.0f;
            float *y = Y + (n * g->M + m0 + mi) * osz + (od * out[1] + oh) * out[2] + ow0;
            if (B) for (int64_t j = 0; j < owc; j++) y[j] = acc[mi][j] + bv;
            else memcpy(y, acc[mi], sizeof(float) * (size_t)owc);
        }
    }
}

static void conv_f32_base(const flt_conv_geom *g, const void *X, const void *W, const void *B, float *Y, int ith,
                          int nth) {
    conv_f32_body(g, X, W, B, Y, ith, nth);
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define CONV_HAVE_AVX2 1
__attribute__((target("avx2"))) static void conv_f32_avx2(const flt_conv_geom *g, const void *X, const void *W,
                                                          const void *B, float *Y, int ith, int nth) {
    conv_f32_body(g, X, W, B, Y, ith, nth);
}
#endif

void flt_conv_f32_fast(const flt_conv_geom *g, const void *X, const void *W, const void *B, float *Y, int ith,
                       int nth, bool avx2) {
#ifdef CONV_HAVE_AVX2
    if (avx2) { conv_f32_avx2(g, X, W, B, Y, ith, nth); return; }
#else
    (void)avx2;
#endif
    conv_f32_base(g, X, W, B, Y, ith, nth);
}
