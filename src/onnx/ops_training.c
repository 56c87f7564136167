/* ai.onnx.preview.training optimizers: Adagrad, Adam, Momentum (version 1).
 * Inputs R (learning rate), T (update count), then n tensors X, n gradients G
 * and n state tensors per state (Adagrad H; Momentum V; Adam V, H); outputs
 * the new X's then the new states. Elementwise, computed in double and stored
 * in the tensors' type; each element by one thread. (Gradient needs automatic
 * differentiation of a graph and is not implemented.) */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/op.h"

typedef enum opt_kind { OPT_ADAGRAD, OPT_ADAM, OPT_MOMENTUM } opt_kind;

typedef struct opt_params {
    opt_kind kind;
    int n_states;                /* per tensor: Adagrad 1, Momentum 1, Adam 2 */
    float decay_factor, epsilon, norm_coefficient, norm_coefficient_post, alpha, beta;
    bool nesterov;
} opt_params;

static flintrt_status parse_opt(const flt_onnx_node *n, opt_params *p, opt_kind kind, flt_err *e) {
    p->kind = kind;
    p->n_states = kind == OPT_ADAM ? 2 : 1;
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "norm_coefficient", 0, &p->norm_coefficient, e));
    if (kind == OPT_ADAGRAD) {
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "decay_factor", 0, &p->decay_factor, e));
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "epsilon", 1e-6f, &p->epsilon, e));
    } else if (kind == OPT_ADAM) {
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "alpha", 0.9f, &p->alpha, e));
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "beta", 0.999f, &p->beta, e));
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "epsilon", 1e-6f, &p->epsilon, e));
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "norm_coefficient_post", 0, &p->norm_coefficient_post, e));
    } else {
        if (!flt_onnx_node_attr(n, "alpha") || !flt_onnx_node_attr(n, "beta") || !flt_onnx_node_attr(n, "mode"))
            return flt_fail(e, FLINTRT_ERR_FORMAT, "Momentum needs alpha, beta and mode");
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "alpha", 0, &p->alpha, e));
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "beta", 0, &p->beta, e));
        char mode[16];
        FLT_ONNX_TRY(flt_onnx_attr_string(n, "mode", "", mode, sizeof mode, e));
        if (!strcmp(mode, "nesterov")) p->nesterov = true;
        else if (strcmp(mode, "standard")) return flt_fail(e, FLINTRT_ERR_FORMAT, "mode '%s'", mode);
    }
    int groups = 2 + p->n_states; /* X, G, states */
    int nt = (n->n_in - 2) / groups;
    if (n->n_in < 2 + groups || (n->n_in - 2) % groups || n->n_out != nt * (1 + p->n_states))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%d inputs and %d outputs do not form whole groups", n->n_in, n->n_out);
    return FLINTRT_OK;
}

static flintrt_status parse_adagrad(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_opt(n, pp, OPT_ADAGRAD, e); }
static flintrt_status parse_adam(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_opt(n, pp, OPT_ADAM, e); }
static flintrt_status parse_momentum(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_opt(n, pp, OPT_MOMENTUM, e); }

static flintrt_status infer_opt(flt_onnx_infer *x) {
    flt_onnx_kctx *k = x->k;
    const opt_params *p = k->params;
    static const flt_dtype fl[] = {FLT_F32, FLT_F64}, ints[] = {FLT_I64};
    FLT_ONNX_TRY(flt_onnx_want_type(x, 0, fl, 2));
    FLT_ONNX_TRY(flt_onnx_want_type(x, 1, ints, 1));
    if (flt_onnx_nelem(&k->in[0]) != 1 || flt_onnx_nelem(&k->in[1]) != 1 || k->in[0].ndim > 1 || k->in[1].ndim > 1)
        return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "R and T must be scalars");
    int nt = (k->n_in - 2) / (2 + p->n_states);
    for (int t = 0; t < nt; t++) {
        const flt_onnx_tinfo *X = &k->in[2 + t];
        FLT_ONNX_TRY(flt_onnx_want_type(x, 2 + t, fl, 2));
        for (int g = 1; g < 2 + p->n_states; g++) {
            const flt_onnx_tinfo *o = &k->in[2 + g * nt + t];
            bool same = o->ndim == X->ndim && o->dtype == X->dtype;
            for (int d = 0; same && d < X->ndim; d++) same = o->dims[d] == X->dims[d];
            if (!same) return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "input %d differs from X%d in type or shape", 2 + g * nt + t, t + 1);
        }
        for (int s = 0; s <= p->n_states; s++) k->out[s * nt + t] = *X;
    }
    return FLINTRT_OK;
}

static void k_opt(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const opt_params *p = k->params;
    int nt = (k->n_in - 2) / (2 + p->n_states);
    double R = flt_onnx_get_f64(k->in[0].dtype, flt_onnx_in(g, n, 0), 0);
    int64_t T = flt_ld_i64(flt_onnx_in(g, n, 1), 0);
    double nc = p->norm_coefficient;
    for (int t = 0; t < nt; t++) {
        flt_dtype dt = k->in[2 + t].dtype;
        const void *X = flt_onnx_in(g, n, 2 + t), *G = flt_onnx_in(g, n, 2 + nt + t);
        const void *S1 = flt_onnx_in(g, n, 2 + 2 * nt + t), *S2 = p->n_states > 1 ? flt_onnx_in(g, n, 2 + 3 * nt + t) : NULL;
        void *Xo = flt_onnx_out(g, n, t), *S1o = flt_onnx_out(g, n, nt + t);
        void *S2o = p->n_states > 1 ? flt_onnx_out(g, n, 2 * nt + t) : NULL;
        long long lo, hi;
        flt_split(flt_onnx_nelem(&k->in[2 + t]), ith, nth, &lo, &hi);
        for (long long i = lo; i < hi; i++) {
            double x = flt_onnx_get_f64(dt, X, i), gr = nc * x + flt_onnx_get_f64(dt, G, i);
            double s1 = flt_onnx_get_f64(dt, S1, i), xn, s1n, s2n = 0;
            if (p->kind == OPT_ADAGRAD) {
                double r = R / (1 + (double)T * p->decay_factor);
                s1n = s1 + gr * gr;
                xn = x - r * gr / (sqrt(s1n) + p->epsilon);
            } else if (p->kind == OPT_MOMENTUM) {
                double beta = T > 0 ? p->beta : 1;
                s1n = p->alpha * s1 + beta * gr;
                xn = p->nesterov ? x - R * (gr + p->alpha * s1n) : x - R * s1n;
            } else {
                double s2 = flt_onnx_get_f64(dt, S2, i);
                s1n = p->alpha * s1 + (1 - (double)p->alpha) * gr;
                s2n = p->beta * s2 + (1 - (double)p->beta) * gr * gr;
                double ra = T > 0 ? R * sqrt(1 - pow(p->beta, (double)T)) / (1 - pow(p->alpha, (double)T)) : R;
                xn = (1 - (double)p->norm_coefficient_post) * (x - ra * (s1n / (sqrt(s2n) + p->epsilon)));
            }
            flt_onnx_set_f64(dt, Xo, i, xn);
            flt_onnx_set_f64(dt, S1o, i, s1n);
            if (S2o) flt_onnx_set_f64(dt, S2o, i, s2n);
        }
    }
}

#define TRAINING "ai.onnx.preview.training"
const flt_onnx_op flt_onnx_ops_training[] = {
    {TRAINING, "Adagrad", 1, 0, sizeof(opt_params), parse_adagrad, infer_opt, {"Adagrad", k_opt}, NULL, 0, 5},
    {TRAINING, "Adam", 1, 0, sizeof(opt_params), parse_adam, infer_opt, {"Adam", k_opt}, NULL, 0, 6},
    {TRAINING, "Momentum", 1, 0, sizeof(opt_params), parse_momentum, infer_opt, {"Momentum", k_opt}, NULL, 0, 5},
};
const int flt_onnx_ops_training_count = (int)(sizeof flt_onnx_ops_training / sizeof flt_onnx_ops_training[0]);
