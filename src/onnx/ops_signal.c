/* ONNX signal operators (opset 17): DFT, STFT, HannWindow, HammingWindow,
 * BlackmanWindow, MelWeightMatrix.
 *
 * DFT and STFT evaluate the transform directly, one output bin per work item,
 * in double precision with a twiddle table built in infer (angle index
 * j*k mod n, so no precision is lost for large j*k): O(n * L) per line, which
 * is exact enough for the conformance tolerance and independent of the thread
 * count. (An FFT would be the next step for long audio frames.)
 *
 * The windows and MelWeightMatrix depend only on their (scalar) inputs: they
 * are computed in infer and given as the output value directly. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/op.h"

#define MAX_DFT_LEN ((int64_t)1 << 22)
#define MAX_GEN_ELEMS ((int64_t)1 << 24)

static const double TWO_PI = 6.283185307179586476925286766559;

/* cos/sin of 2*pi*m/n for m in [0, n) */
static flintrt_status twiddles(flt_onnx_infer *x, int64_t n, double **out) {
    double *t = flt_onnx_alloc(x, (size_t)(n ? n : 1) * 2 * sizeof(double));
    if (!t) return x->e->status;
    for (int64_t m = 0; m < n; m++) {
        double a = TWO_PI * (double)m / (double)n;
        t[2 * m] = cos(a);
        t[2 * m + 1] = sin(a);
    }
    *out = t;
    return FLINTRT_OK;
}

/* ---- DFT ---- */

typedef struct dft_params {
    int64_t axis, inverse, onesided;
} dft_params;

typedef struct dft_state {
    int64_t outer, len_in, inner, n, n_out;   /* signal: [outer, len_in, inner, comps] */
    int comps;
    double *tw;
} dft_state;

static flintrt_status parse_dft(const flt_onnx_node *n, void *pp, flt_err *e) {
    dft_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "axis", 1, &p->axis, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "inverse", 0, &p->inverse, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "onesided", 0, &p->onesided, e));
    if ((p->inverse != 0 && p->inverse != 1) || (p->onesided != 0 && p->onesided != 1))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "inverse and onesided must be 0 or 1");
    if (p->inverse && p->onesided)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "onesided inverse DFT is not supported");
    return FLINTRT_OK;
}

/* Bin k of a length-n transform of the (zero-padded/truncated) line at in + base with stride `stride` elements. */
static void dft_bin(flt_dtype dt, const void *in, int64_t base, int64_t stride, int comps, int64_t len, int64_t n,
                    int64_t k, const double *tw, bool inverse, const void *win, flt_dtype wt, double *re, double *im) {
    double sr = 0, si = 0;
    int64_t m = 0;
    if (len > n) len = n;
    for (int64_t j = 0; j < len; j++) {
        double a = flt_onnx_get_f64(dt, in, base + j * stride * comps);
        double b = comps == 2 ? flt_onnx_get_f64(dt, in, base + j * stride * comps + 1) : 0;
        if (win) {
            double w = flt_onnx_get_f64(wt, win, j);
            a *= w;
            b *= w;
        }
        double c = tw[2 * m], s = tw[2 * m + 1];
        if (inverse) {
            sr += a * c - b * s;
            si += a * s + b * c;
        } else {
            sr += a * c + b * s;
            si += b * c - a * s;
        }
        m += k;
        if (m >= n) m %= n;
    }
    if (inverse) {
        sr /= (double)n;
        si /= (double)n;
    }
    *re = sr;
    *im = si;
}

static void k_dft(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const dft_params *p = k->params;
    const dft_state *s = k->state;
    flt_dtype dt = k->in[0].dtype;
    const void *in = flt_onnx_in(g, n, 0);
    void *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(s->outer * s->n_out * s->inner, ith, nth, &lo, &hi);
    for (long long e = lo; e < hi; e++) {
        int64_t i = e % s->inner, kb = (e / s->inner) % s->n_out, o = e / (s->inner * s->n_out);
        int64_t base = (o * s->len_in * s->inner + i) * s->comps;
        double re, im;
        dft_bin(dt, in, base, s->inner, s->comps, s->len_in, s->n, kb, s->tw, p->inverse, NULL, dt, &re, &im);
        flt_onnx_set_f64(dt, out, 2 * e, re);
        flt_onnx_set_f64(dt, out, 2 * e + 1, im);
    }
}

static flintrt_status infer_dft(flt_onnx_infer *x) {
    const dft_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0];
    int r = X->ndim;
    if (!flt_onnx_is_float(X->dtype)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must be floating point");
    if (r < 2 || (X->dims[r - 1] != 1 && X->dims[r - 1] != 2))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must be [..., signal, 1 or 2]");
    int64_t axis = p->axis < 0 ? p->axis + r : p->axis;
    if (axis < 0 || axis > r - 2) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "axis %" PRId64 " is out of range", p->axis);
    dft_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->comps = (int)X->dims[r - 1];
    s->outer = s->inner = 1;
    for (int64_t i = 0; i < axis; i++) s->outer *= X->dims[i];
    for (int64_t i = axis + 1; i < r - 1; i++) s->inner *= X->dims[i];
    s->len_in = X->dims[axis];
    s->n = s->len_in;
    if (x->k->n_in > 1 && x->k->in[1].ndim >= 0) {
        const int64_t *v;
        int64_t cnt;
        FLT_ONNX_TRY(flt_onnx_input_ints(x, 1, &v, &cnt));
        if (cnt != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "dft_length must be a scalar");
        if (v[0] < 1 || v[0] > MAX_DFT_LEN) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "dft_length %" PRId64 " is out of range", v[0]);
        s->n = v[0];
    }
    if (s->n > MAX_DFT_LEN) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "signal too long for DFT");
    s->n_out = p->onesided ? s->n / 2 + 1 : s->n;
    if (s->n == 0) s->n_out = 0;
    FLT_ONNX_TRY(twiddles(x, s->n, &s->tw));
    flt_onnx_tinfo *o = &x->k->out[0];
    *o = *X;
    o->dims[axis] = s->n_out;
    o->dims[r - 1] = 2;
    x->k->state = s;
    return FLINTRT_OK;
}

/* ---- STFT ---- */

typedef struct stft_params {
    int64_t onesided;
} stft_params;

typedef struct stft_state {
    int64_t batch, len, step, frame, frames, bins;
    int comps;
    double *tw;
} stft_state;

static flintrt_status parse_stft(const flt_onnx_node *n, void *pp, flt_err *e) {
    stft_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "onesided", 1, &p->onesided, e));
    if (p->onesided != 0 && p->onesided != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "onesided must be 0 or 1");
    return FLINTRT_OK;
}

static void k_stft(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const stft_state *s = k->state;
    flt_dtype dt = k->in[0].dtype;
    const void *in = flt_onnx_in(g, n, 0);
    const void *win = k->n_in > 2 && k->in[2].ndim >= 0 ? flt_onnx_in(g, n, 2) : NULL;
    flt_dtype wt = win ? k->in[2].dtype : dt;
    void *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(s->batch * s->frames * s->bins, ith, nth, &lo, &hi);
    for (long long e = lo; e < hi; e++) {
        int64_t kb = e % s->bins, f = (e / s->bins) % s->frames, b = e / (s->bins * s->frames);
        int64_t base = (b * s->len + f * s->step) * s->comps;
        double re, im;
        dft_bin(dt, in, base, 1, s->comps, s->frame, s->frame, kb, s->tw, false, win, wt, &re, &im);
        flt_onnx_set_f64(dt, out, 2 * e, re);
        flt_onnx_set_f64(dt, out, 2 * e + 1, im);
    }
}

static flintrt_status infer_stft(flt_onnx_infer *x) {
    const stft_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0];
    if (!flt_onnx_is_float(X->dtype)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "signal must be floating point");
    if (X->ndim != 3 || (X->dims[2] != 1 && X->dims[2] != 2))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "signal must be [batch, length, 1 or 2]");
    stft_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->batch = X->dims[0];
    s->len = X->dims[1];
    s->comps = (int)X->dims[2];
    const int64_t *v;
    int64_t cnt;
    FLT_ONNX_TRY(flt_onnx_input_ints(x, 1, &v, &cnt));
    if (cnt != 1 || v[0] < 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "frame_step must be a positive scalar");
    s->step = v[0];
    int64_t frame = -1;
    bool has_win = x->k->n_in > 2 && x->k->in[2].ndim >= 0;
    if (has_win) {
        const flt_onnx_tinfo *w = &x->k->in[2];
        if (w->ndim != 1 || !flt_onnx_is_float(w->dtype)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "window must be a 1-D float tensor");
        frame = w->dims[0];
    }
    if (x->k->n_in > 3 && x->k->in[3].ndim >= 0) {
        FLT_ONNX_TRY(flt_onnx_input_ints(x, 3, &v, &cnt));
        if (cnt != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "frame_length must be a scalar");
        if (frame >= 0 && v[0] != frame)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "frame_length %" PRId64 " differs from the window length %" PRId64, v[0], frame);
        frame = v[0];
    }
    if (frame < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "needs a window or a frame_length");
    if (frame < 1 || frame > MAX_DFT_LEN || frame > s->len)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "frame length %" PRId64 " is out of range for a signal of %" PRId64, frame, s->len);
    s->frame = frame;
    s->frames = (s->len - frame) / s->step + 1;
    s->bins = p->onesided ? frame / 2 + 1 : frame;
    FLT_ONNX_TRY(twiddles(x, frame, &s->tw));
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = X->dtype;
    o->ndim = 4;
    o->dims[0] = s->batch;
    o->dims[1] = s->frames;
    o->dims[2] = s->bins;
    o->dims[3] = 2;
    x->k->state = s;
    return FLINTRT_OK;
}

/* ---- windows ---- */

typedef enum win_kind { WIN_HANN, WIN_HAMMING, WIN_BLACKMAN } win_kind;

typedef struct win_params {
    win_kind kind;
    flt_dtype dtype;
    int64_t periodic;
} win_params;

static flintrt_status parse_out_dtype(const flt_onnx_node *n, flt_dtype *out, flt_err *e) {
    int64_t t;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "output_datatype", 1, &t, e));
    if (t < 1 || t > INT32_MAX || !flt_onnx_dtype((int32_t)t, out) || *out == FLT_BOOL)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "output_datatype %" PRId64 " is not a numeric type", t);
    return FLINTRT_OK;
}

static flintrt_status parse_window(const flt_onnx_node *n, win_params *p, flt_err *e) {
    FLT_ONNX_TRY(parse_out_dtype(n, &p->dtype, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "periodic", 1, &p->periodic, e));
    if (p->periodic != 0 && p->periodic != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "periodic must be 0 or 1");
    return FLINTRT_OK;
}

#define WIN_PARSER(name, KIND)                                                          \
    static flintrt_status parse_##name(const flt_onnx_node *n, void *pp, flt_err *e) { \
        win_params *p = pp;                                                             \
        p->kind = KIND;                                                                 \
        return parse_window(n, p, e);                                                   \
    }
WIN_PARSER(hann, WIN_HANN)
WIN_PARSER(hamming, WIN_HAMMING)
WIN_PARSER(blackman, WIN_BLACKMAN)

static flintrt_status scalar_int(flt_onnx_infer *x, int i, const char *what, int64_t *out) {
    const int64_t *v;
    int64_t cnt;
    FLT_ONNX_TRY(flt_onnx_input_ints(x, i, &v, &cnt));
    if (cnt != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "%s must be a scalar", what);
    *out = v[0];
    return FLINTRT_OK;
}

static flintrt_status infer_window(flt_onnx_infer *x) {
    const win_params *p = x->k->params;
    int64_t size = 0;
    FLT_ONNX_TRY(scalar_int(x, 0, "size", &size));
    if (size < 0 || size > MAX_GEN_ELEMS) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "window size %" PRId64 " is out of range", size);
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = p->dtype;
    o->ndim = 1;
    o->dims[0] = size;
    void *y = flt_onnx_alloc(x, (size_t)(size ? size : 1) * flt_onnx_dtype_size(p->dtype));
    if (!y) return x->e->status;
    double N = (double)(p->periodic ? size : size - 1);
    for (int64_t i = 0; i < size; i++) {
        double a = N > 0 ? TWO_PI * (double)i / N : 0, v;
        switch (p->kind) {
        case WIN_HANN: v = 0.5 - 0.5 * cos(a); break;
        case WIN_HAMMING: v = 25.0 / 46.0 - (1 - 25.0 / 46.0) * cos(a); break;
        default: v = 0.42 - 0.5 * cos(a) + 0.08 * cos(2 * a); break;
        }
        if (N <= 0) v = 1; /* a one-point symmetric window */
        flt_onnx_set_f64(p->dtype, y, i, v);
    }
    flt_onnx_set_output(x, 0, y);
    return FLINTRT_OK;
}

/* ---- MelWeightMatrix ---- */

typedef struct mel_params {
    flt_dtype dtype;
} mel_params;

static flintrt_status parse_mel(const flt_onnx_node *n, void *pp, flt_err *e) {
    mel_params *p = pp;
    return parse_out_dtype(n, &p->dtype, e);
}

static flintrt_status infer_mel(flt_onnx_infer *x) {
    const mel_params *p = x->k->params;
    int64_t nmel = 0, dftlen = 0, rate = 0, cnt = 0;
    double lo_hz = 0, hi_hz = 0;
    FLT_ONNX_TRY(scalar_int(x, 0, "num_mel_bins", &nmel));
    FLT_ONNX_TRY(scalar_int(x, 1, "dft_length", &dftlen));
    FLT_ONNX_TRY(scalar_int(x, 2, "sample_rate", &rate));
    FLT_ONNX_TRY(flt_onnx_input_f64(x, 3, &lo_hz, &cnt, 1));
    if (cnt != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "lower_edge_hertz must be a scalar");
    FLT_ONNX_TRY(flt_onnx_input_f64(x, 4, &hi_hz, &cnt, 1));
    if (cnt != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "upper_edge_hertz must be a scalar");
    if (nmel < 1 || dftlen < 1 || rate < 1 || nmel > MAX_GEN_ELEMS || dftlen > MAX_DFT_LEN)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "num_mel_bins, dft_length and sample_rate must be positive");
    if (!(lo_hz >= 0) || !(hi_hz > lo_hz) || !isfinite(hi_hz))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "needs 0 <= lower_edge_hertz < upper_edge_hertz");
    int64_t nspec = dftlen / 2 + 1;
    if (nspec * nmel > MAX_GEN_ELEMS) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "mel weight matrix too large");
    int64_t *bins = flt_onnx_alloc(x, (size_t)(nmel + 2) * sizeof *bins);
    double *w = flt_onnx_alloc(x, (size_t)(nspec * nmel) * sizeof *w);
    void *y = flt_onnx_alloc(x, (size_t)(nspec * nmel) * flt_onnx_dtype_size(p->dtype));
    if (!bins || !w || !y) return x->e->status;
    double lo_mel = 2595 * log10(1 + lo_hz / 700), hi_mel = 2595 * log10(1 + hi_hz / 700);
    double step = (hi_mel - lo_mel) / (double)(nmel + 2);
    for (int64_t i = 0; i < nmel + 2; i++) {
        double hz = 700 * (pow(10, ((double)i * step + lo_mel) / 2595) - 1);
        double b = floor((double)(dftlen + 1) * hz / (double)rate);
        if (!(b >= 0 && b < (double)nspec))
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "mel band edge %.6g Hz is beyond the spectrum (sample_rate / 2)", hz);
        bins[i] = (int64_t)b;
    }
    for (int64_t m = 0; m < nmel; m++) {
        int64_t l = bins[m], c = bins[m + 1], h = bins[m + 2];
        if (c == l) w[c * nmel + m] = 1;
        else
            for (int64_t j = l; j <= c; j++) w[j * nmel + m] = (double)(j - l) / (double)(c - l);
        if (h > c)
            for (int64_t j = c; j < h; j++) w[j * nmel + m] = (double)(h - j) / (double)(h - c);
    }
    for (int64_t i = 0; i < nspec * nmel; i++) flt_onnx_set_f64(p->dtype, y, i, w[i]);
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = p->dtype;
    o->ndim = 2;
    o->dims[0] = nspec;
    o->dims[1] = nmel;
    flt_onnx_set_output(x, 0, y);
    return FLINTRT_OK;
}

const flt_onnx_op flt_onnx_ops_signal[] = {
    {"", "DFT", 17, 19, sizeof(dft_params), parse_dft, infer_dft, {"DFT", k_dft}, NULL, 0, 1},
    {"", "STFT", 17, 0, sizeof(stft_params), parse_stft, infer_stft, {"STFT", k_stft}, NULL, 0, 2},
    {"", "HannWindow", 17, 0, sizeof(win_params), parse_hann, infer_window, {"HannWindow", NULL}, NULL, 0, 1},
    {"", "HammingWindow", 17, 0, sizeof(win_params), parse_hamming, infer_window, {"HammingWindow", NULL}, NULL, 0, 1},
    {"", "BlackmanWindow", 17, 0, sizeof(win_params), parse_blackman, infer_window, {"BlackmanWindow", NULL}, NULL, 0, 1},
    {"", "MelWeightMatrix", 17, 0, sizeof(mel_params), parse_mel, infer_mel, {"MelWeightMatrix", NULL}, NULL, 0, 5},
};
const int flt_onnx_ops_signal_count = (int)(sizeof flt_onnx_ops_signal / sizeof flt_onnx_ops_signal[0]);
