/* ONNX recurrent layers: RNN, GRU, LSTM (every opset through 14: directions
 * forward / reverse / bidirectional, activations with alpha/beta, clip,
 * GRU's linear_before_reset, LSTM's peepholes and input_forget,
 * sequence_lens, initial_h / initial_c, layout 0/1, outputs Y, Y_h, Y_c).
 *
 * Each (direction, batch) pair is an independent recurrence: thread ith of nth
 * runs whole pairs, accumulating every dot product in double in input order
 * and carrying the state in double, so the bits do not depend on nth. Steps
 * past a batch entry's sequence length leave Y zero; Y_h / Y_c hold the state
 * after its last valid step (the initial state for length 0). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/op.h"

typedef enum cell_kind { CELL_RNN, CELL_GRU, CELL_LSTM } cell_kind;

typedef enum act_kind {
    ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_AFFINE, ACT_LEAKYRELU, ACT_THRESHOLDEDRELU, ACT_SCALEDTANH,
    ACT_HARDSIGMOID, ACT_ELU, ACT_SOFTSIGN, ACT_SOFTPLUS,
} act_kind;

typedef struct act {
    act_kind kind;
    double alpha, beta;
} act;

enum { DIR_FORWARD, DIR_REVERSE, DIR_BIDIRECTIONAL };

typedef struct rnn_params {
    cell_kind cell;
    int direction, n_dir;
    int64_t hidden_size;   /* 0: from R */
    int64_t layout, linear_before_reset, input_forget;
    bool has_clip;
    double clip;
    act acts[6];           /* per direction: RNN f; GRU f, g; LSTM f, g, h */
} rnn_params;

typedef struct rnn_state {
    int64_t S, B, I, H;    /* sequence length, batch, input size, hidden size */
    int D, G;              /* directions, gates */
    size_t unit_doubles;   /* scratch per (direction, batch) pair */
} rnn_state;

/* ---- parse ---- */

static const struct { const char *name; act_kind kind; bool alpha, beta; double da, db; } k_acts[] = {
    {"Relu", ACT_RELU, false, false, 0, 0},
    {"Tanh", ACT_TANH, false, false, 0, 0},
    {"Sigmoid", ACT_SIGMOID, false, false, 0, 0},
    {"Affine", ACT_AFFINE, true, true, 1.0, 0.0},
    {"LeakyRelu", ACT_LEAKYRELU, true, false, 0.01, 0},
    {"ThresholdedRelu", ACT_THRESHOLDEDRELU, true, false, 1.0, 0},
    {"ScaledTanh", ACT_SCALEDTANH, true, true, 1.0, 1.0},
    {"HardSigmoid", ACT_HARDSIGMOID, true, true, 0.2, 0.5},
    {"Elu", ACT_ELU, true, false, 1.0, 0},
    {"Softsign", ACT_SOFTSIGN, false, false, 0, 0},
    {"Softplus", ACT_SOFTPLUS, false, false, 0, 0},
};

static flintrt_status parse_acts(const flt_onnx_node *n, rnn_params *p, int per_dir, flt_err *e) {
    static const act_kind defaults[3][3] = {
        {ACT_TANH}, {ACT_SIGMOID, ACT_TANH}, {ACT_SIGMOID, ACT_TANH, ACT_TANH}};
    for (int d = 0; d < p->n_dir; d++)
        for (int k = 0; k < per_dir; k++) p->acts[d * per_dir + k] = (act){defaults[p->cell][k], 0, 0};
    const flt_onnx_attr *a = flt_onnx_node_attr(n, "activations");
    if (!a) return FLINTRT_OK;
    if (a->type != FLT_ONNX_ATTR_STRINGS) return flt_fail(e, FLINTRT_ERR_FORMAT, "attribute 'activations' must be strings");
    int want = per_dir * p->n_dir;
    /* one direction's list for a bidirectional layer is used for both */
    if (a->n != want && !(p->n_dir == 2 && a->n == per_dir))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%" PRId64 " activations, expected %d", a->n, want);
    const float *alphas, *betas;
    int64_t na, nb, ia = 0, ib = 0;
    FLT_ONNX_TRY(flt_onnx_attr_floats(n, "activation_alpha", &alphas, &na, e));
    FLT_ONNX_TRY(flt_onnx_attr_floats(n, "activation_beta", &betas, &nb, e));
    for (int i = 0; i < want; i++) {
        const flt_bytes *s = &a->strings[i % a->n];
        int found = -1;
        for (size_t k = 0; k < sizeof k_acts / sizeof k_acts[0] && found < 0; k++)
            if (strlen(k_acts[k].name) == s->n && !strncasecmp(k_acts[k].name, (const char *)s->p, s->n)) found = (int)k;
        if (found < 0)
            return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "activation '%.*s' is not supported", (int)(s->n > 40 ? 40 : s->n),
                            (const char *)s->p);
        act *x = &p->acts[i];
        x->kind = k_acts[found].kind;
        x->alpha = k_acts[found].da;
        x->beta = k_acts[found].db;
        /* alphas/betas are consumed in order by the activations that take them */
        if (k_acts[found].alpha && ia < na) x->alpha = alphas[ia++];
        if (k_acts[found].beta && ib < nb) x->beta = betas[ib++];
    }
    return FLINTRT_OK;
}

static flintrt_status parse_common(const flt_onnx_node *n, rnn_params *p, cell_kind cell, flt_err *e) {
    p->cell = cell;
    char dir[32];
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "direction", "forward", dir, sizeof dir, e));
    if (!strcmp(dir, "forward")) p->direction = DIR_FORWARD;
    else if (!strcmp(dir, "reverse")) p->direction = DIR_REVERSE;
    else if (!strcmp(dir, "bidirectional")) p->direction = DIR_BIDIRECTIONAL;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "direction '%s'", dir);
    p->n_dir = p->direction == DIR_BIDIRECTIONAL ? 2 : 1;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "hidden_size", 0, &p->hidden_size, e));
    if (p->hidden_size < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "hidden_size %" PRId64, p->hidden_size);
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "layout", 0, &p->layout, e));
    if (p->layout != 0 && p->layout != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "layout %" PRId64, p->layout);
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "linear_before_reset", 0, &p->linear_before_reset, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "input_forget", 0, &p->input_forget, e));
    float clip;
    p->has_clip = flt_onnx_node_attr(n, "clip") != NULL;
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "clip", 0, &clip, e));
    if (p->has_clip && !(clip > 0)) return flt_fail(e, FLINTRT_ERR_FORMAT, "clip %g must be positive", (double)clip);
    p->clip = clip;
    int max_out = cell == CELL_LSTM ? 3 : 2;
    if (n->n_out > max_out) return flt_fail(e, FLINTRT_ERR_FORMAT, "%d outputs (at most %d)", n->n_out, max_out);
    int max_in = cell == CELL_LSTM ? 8 : 6;
    if (n->n_in > max_in) return flt_fail(e, FLINTRT_ERR_FORMAT, "%d inputs (at most %d)", n->n_in, max_in);
    return parse_acts(n, p, cell == CELL_RNN ? 1 : cell == CELL_GRU ? 2 : 3, e);
}

static flintrt_status parse_rnn(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_common(n, pp, CELL_RNN, e); }
static flintrt_status parse_gru(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_common(n, pp, CELL_GRU, e); }
static flintrt_status parse_lstm(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_common(n, pp, CELL_LSTM, e); }

/* ---- infer ---- */

static bool present(const flt_onnx_infer *x, int i) { return i < x->k->n_in && x->k->in[i].ndim >= 0; }

static flintrt_status want_shape(flt_onnx_infer *x, int i, const char *what, int rank, const int64_t *dims) {
    const flt_onnx_tinfo *t = &x->k->in[i];
    bool ok = t->ndim == rank;
    for (int d = 0; ok && d < rank; d++) ok = t->dims[d] == dims[d];
    if (ok) return FLINTRT_OK;
    char got[160];
    flt_onnx_tinfo_str(t, got, sizeof got);
    char want[160] = "";
    int w = 0;
    for (int d = 0; d < rank && w >= 0 && (size_t)w < sizeof want; d++)
        w += snprintf(want + w, sizeof want - (size_t)w, d ? ", %" PRId64 : "%" PRId64, dims[d]);
    return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "%s is %s, expected [%s]", what, got, want);
}

static flintrt_status infer_rnn(flt_onnx_infer *x) {
    flt_onnx_kctx *k = x->k;
    const rnn_params *p = k->params;
    static const flt_dtype floats[] = {FLT_F32, FLT_F64, FLT_F16, FLT_BF16};
    for (int i = 0; i < 3; i++) FLT_ONNX_TRY(flt_onnx_want_type(x, i, floats, 4));
    const flt_onnx_tinfo *X = &k->in[0], *W = &k->in[1], *R = &k->in[2];
    flt_dtype dt = X->dtype;
    FLT_ONNX_TRY(flt_onnx_want_type(x, 1, &dt, 1));
    FLT_ONNX_TRY(flt_onnx_want_type(x, 2, &dt, 1));
    if (X->ndim != 3 || W->ndim != 3 || R->ndim != 3)
        return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "X, W and R must have rank 3");
    int G = p->cell == CELL_RNN ? 1 : p->cell == CELL_GRU ? 3 : 4, D = p->n_dir;
    int64_t S = p->layout ? X->dims[1] : X->dims[0], B = p->layout ? X->dims[0] : X->dims[1], I = X->dims[2];
    int64_t H = p->hidden_size ? p->hidden_size : R->dims[2];
    int64_t GH;
    if (H < 1 || !flt_mul_i64(G, H, &GH)) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "hidden size %" PRId64, H);
    FLT_ONNX_TRY(want_shape(x, 1, "W", 3, (int64_t[]){D, GH, I}));
    FLT_ONNX_TRY(want_shape(x, 2, "R", 3, (int64_t[]){D, GH, H}));
    int n_opt = p->cell == CELL_LSTM ? 8 : 6;
    for (int i = 3; i < n_opt; i++) {
        if (!present(x, i)) continue;
        if (i == 4) continue;
        FLT_ONNX_TRY(flt_onnx_want_type(x, i, &dt, 1));
    }
    if (present(x, 3)) FLT_ONNX_TRY(want_shape(x, 3, "B", 2, (int64_t[]){D, 2 * GH}));
    int64_t hs[3] = {D, B, H};
    if (p->layout) { hs[0] = B; hs[1] = D; }
    if (present(x, 5)) FLT_ONNX_TRY(want_shape(x, 5, "initial_h", 3, hs));
    if (p->cell == CELL_LSTM && present(x, 6)) FLT_ONNX_TRY(want_shape(x, 6, "initial_c", 3, hs));
    if (p->cell == CELL_LSTM && present(x, 7)) FLT_ONNX_TRY(want_shape(x, 7, "P", 2, (int64_t[]){D, 3 * H}));
    if (present(x, 4)) {
        static const flt_dtype ints[] = {FLT_I32, FLT_I64};
        FLT_ONNX_TRY(flt_onnx_want_type(x, 4, ints, 2));
        FLT_ONNX_TRY(want_shape(x, 4, "sequence_lens", 1, (int64_t[]){B}));
        const int64_t *lens;
        int64_t nl;
        FLT_ONNX_TRY(flt_onnx_input_ints(x, 4, &lens, &nl));
        for (int64_t b = 0; b < nl; b++)
            if (lens[b] < 0 || lens[b] > S)
                return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "sequence_lens[%" PRId64 "] = %" PRId64 " is outside [0, %" PRId64 "]",
                                     b, lens[b], S);
    }
    /* outputs */
    flt_onnx_tinfo *Y = &k->out[0];
    Y->dtype = dt;
    Y->ndim = 4;
    if (p->layout) { Y->dims[0] = B; Y->dims[1] = S; Y->dims[2] = D; Y->dims[3] = H; }
    else { Y->dims[0] = S; Y->dims[1] = D; Y->dims[2] = B; Y->dims[3] = H; }
    for (int o = 1; o < k->n_out; o++) {
        k->out[o].dtype = dt;
        k->out[o].ndim = 3;
        memcpy(k->out[o].dims, hs, sizeof hs);
    }
    rnn_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    *s = (rnn_state){.S = S, .B = B, .I = I, .H = H, .D = D, .G = G};
    uint64_t per = (uint64_t)(2 * G + 3) * (uint64_t)H, units = (uint64_t)D * (uint64_t)B, bytes;
    if (!flt_mul_u64(per, units, &bytes) || !flt_mul_u64(bytes, sizeof(double), &bytes) || bytes > SIZE_MAX / 2)
        return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "recurrent state too large");
    s->unit_doubles = (size_t)per;
    k->state = s;
    k->scratch_bytes = (size_t)bytes;
    return FLINTRT_OK;
}

/* ---- kernel ---- */

static double activate(const act *a, double v) {
    switch (a->kind) {
    case ACT_RELU: return v > 0 ? v : 0;
    case ACT_TANH: return tanh(v);
    case ACT_SIGMOID: return v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v));
    case ACT_AFFINE: return a->alpha * v + a->beta;
    case ACT_LEAKYRELU: return v >= 0 ? v : a->alpha * v;
    case ACT_THRESHOLDEDRELU: return v > a->alpha ? v : 0;
    case ACT_SCALEDTANH: return a->alpha * tanh(a->beta * v);
    case ACT_HARDSIGMOID: { double y = a->alpha * v + a->beta; return y < 0 ? 0 : y > 1 ? 1 : y; }
    case ACT_ELU: return v >= 0 ? v : a->alpha * (exp(v) - 1);
    case ACT_SOFTSIGN: return v / (1 + fabs(v));
    case ACT_SOFTPLUS: return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v));
    }
    return v;
}

static inline double ld(flt_dtype d, const void *p, int64_t i) {
    return d == FLT_F32 ? (double)flt_ld_f32(p, i) : flt_onnx_get_f64(d, p, i);
}

static inline double clipv(const rnn_params *p, double v) {
    if (!p->has_clip) return v;
    return v < -p->clip ? -p->clip : v > p->clip ? p->clip : v;
}

static void k_rnn(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const rnn_params *p = k->params;
    const rnn_state *s = k->state;
    const int64_t S = s->S, B = s->B, I = s->I, H = s->H, GH = s->G * s->H;
    const int D = s->D, NA = p->cell == CELL_RNN ? 1 : p->cell == CELL_GRU ? 2 : 3;
    flt_dtype dt = k->in[0].dtype;
    const void *X = flt_onnx_in(g, n, 0), *W = flt_onnx_in(g, n, 1), *R = flt_onnx_in(g, n, 2);
    const void *Bi = flt_onnx_in(g, n, 3), *L = flt_onnx_in(g, n, 4), *H0 = flt_onnx_in(g, n, 5);
    const void *C0 = p->cell == CELL_LSTM ? flt_onnx_in(g, n, 6) : NULL;
    const void *P = p->cell == CELL_LSTM ? flt_onnx_in(g, n, 7) : NULL;
    void *Y = flt_onnx_out(g, n, 0);
    void *Yh = k->n_out > 1 ? flt_onnx_out(g, n, 1) : NULL, *Yc = k->n_out > 2 ? flt_onnx_out(g, n, 2) : NULL;
    double *scratch = flt_onnx_scratch(g, n);
    long long lo, hi;
    flt_split((long long)D * B, ith, nth, &lo, &hi);
    for (long long u = lo; u < hi; u++) {
        int d = (int)(u / B);
        int64_t b = u % B;
        double *ax = scratch + (size_t)u * s->unit_doubles, *ah = ax + GH, *h = ah + GH, *c = h + H, *tmp = c + H;
        bool reverse = p->direction == DIR_REVERSE || (p->direction == DIR_BIDIRECTIONAL && d == 1);
        int64_t len = L ? flt_onnx_get_i64(k->in[4].dtype, L, b) : S;
        if (len < 0) len = 0;
        if (len > S) len = S;
        int64_t hoff = p->layout ? (b * D + d) * H : ((int64_t)d * B + b) * H;
        for (int64_t j = 0; j < H; j++) {
            h[j] = H0 ? ld(dt, H0, hoff + j) : 0;
            c[j] = C0 ? ld(dt, C0, hoff + j) : 0;
        }
        const act *f = &p->acts[d * NA], *ga = NA > 1 ? &p->acts[d * NA + 1] : f, *ha = NA > 2 ? &p->acts[d * NA + 2] : f;
        const int64_t w0 = (int64_t)d * GH * I, r0 = (int64_t)d * GH * H, b0 = (int64_t)d * 2 * GH;
        /* steps past len stay zero */
        for (int64_t t = 0; t < S; t++) {
            int64_t yo = p->layout ? ((b * S + t) * D + d) * H : ((t * D + d) * B + b) * H;
            for (int64_t j = 0; j < H; j++) flt_onnx_set_f64(dt, Y, yo + j, 0);
        }
        for (int64_t step = 0; step < len; step++) {
            int64_t t = reverse ? len - 1 - step : step;
            int64_t xo = p->layout ? (b * S + t) * I : (t * B + b) * I;
            for (int64_t j = 0; j < GH; j++) {
                double a = Bi ? ld(dt, Bi, b0 + j) : 0, r = Bi ? ld(dt, Bi, b0 + GH + j) : 0;
                for (int64_t i = 0; i < I; i++) a += ld(dt, W, w0 + j * I + i) * ld(dt, X, xo + i);
                /* GRU with linear_before_reset 0: the h gate's recurrent term needs r first */
                if (!(p->cell == CELL_GRU && !p->linear_before_reset && j >= 2 * H))
                    for (int64_t i = 0; i < H; i++) r += ld(dt, R, r0 + j * H + i) * h[i];
                ax[j] = a;
                ah[j] = r;
            }
            if (p->cell == CELL_RNN) {
                for (int64_t j = 0; j < H; j++) h[j] = activate(f, clipv(p, ax[j] + ah[j]));
            } else if (p->cell == CELL_GRU) {
                /* gates z, r, h */
                for (int64_t j = 0; j < H; j++) {
                    ax[j] = activate(f, clipv(p, ax[j] + ah[j]));             /* z */
                    ax[H + j] = activate(f, clipv(p, ax[H + j] + ah[H + j])); /* r */
                }
                for (int64_t j = 0; j < H; j++) {
                    double pre;
                    if (p->linear_before_reset) {
                        pre = ax[2 * H + j] + ax[H + j] * ah[2 * H + j];
                    } else {
                        double rr = ah[2 * H + j]; /* Rbh */
                        for (int64_t i = 0; i < H; i++) rr += ld(dt, R, r0 + (2 * H + j) * H + i) * (ax[H + i] * h[i]);
                        pre = ax[2 * H + j] + rr;
                    }
                    tmp[j] = activate(ga, clipv(p, pre));
                }
                for (int64_t j = 0; j < H; j++) h[j] = (1 - ax[j]) * tmp[j] + ax[j] * h[j];
            } else {
                /* gates i, o, f, c; peepholes i, o, f */
                int64_t p0 = (int64_t)d * 3 * H;
                for (int64_t j = 0; j < H; j++) {
                    double pi = P ? ld(dt, P, p0 + j) : 0, po = P ? ld(dt, P, p0 + H + j) : 0,
                           pf = P ? ld(dt, P, p0 + 2 * H + j) : 0;
                    double ig = activate(f, clipv(p, ax[j] + ah[j] + pi * c[j]));
                    double fg = p->input_forget ? 1 - ig : activate(f, clipv(p, ax[2 * H + j] + ah[2 * H + j] + pf * c[j]));
                    double cg = activate(ga, clipv(p, ax[3 * H + j] + ah[3 * H + j]));
                    double cn = fg * c[j] + ig * cg;
                    double og = activate(f, clipv(p, ax[H + j] + ah[H + j] + po * cn));
                    c[j] = cn;
                    tmp[j] = og * activate(ha, cn);
                }
                memcpy(h, tmp, (size_t)H * sizeof *h);
            }
            int64_t yo = p->layout ? ((b * S + t) * D + d) * H : ((t * D + d) * B + b) * H;
            for (int64_t j = 0; j < H; j++) flt_onnx_set_f64(dt, Y, yo + j, h[j]);
        }
        for (int64_t j = 0; j < H; j++) {
            if (Yh) flt_onnx_set_f64(dt, Yh, hoff + j, h[j]);
            if (Yc) flt_onnx_set_f64(dt, Yc, hoff + j, c[j]);
        }
    }
}

#define RNN_ROW(op, parse) \
    {"", op, 1, 0, sizeof(rnn_params), parse, infer_rnn, {op, k_rnn}, NULL, 0, 3}

const flt_onnx_op flt_onnx_ops_rnn[] = {
    RNN_ROW("RNN", parse_rnn),
    RNN_ROW("GRU", parse_gru),
    RNN_ROW("LSTM", parse_lstm),
};
const int flt_onnx_ops_rnn_count = (int)(sizeof flt_onnx_ops_rnn / sizeof flt_onnx_ops_rnn[0]);
