/* ONNX unary element-wise operators: math (Abs ... Atanh, Erf), tests (IsNaN,
 * IsInf), logic (Not), activations (Relu ... ThresholdedRelu) and Clip.
 *
 * Floats are computed in double and rounded once to the output type;
 * integer inputs of Abs/Neg/Sign/Relu/Clip/Max-like ops stay in int64 so they
 * are exact. Elements are split among threads. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/op.h"

typedef enum un_kind {
    UN_ABS, UN_NEG, UN_EXP, UN_LOG, UN_SQRT, UN_RECIP, UN_FLOOR, UN_CEIL, UN_ROUND, UN_SIGN,
    UN_SIN, UN_COS, UN_TAN, UN_ASIN, UN_ACOS, UN_ATAN, UN_SINH, UN_COSH, UN_ASINH, UN_ACOSH, UN_ATANH,
    UN_ERF, UN_NOT, UN_ISNAN, UN_ISINF, UN_RELU, UN_SIGMOID, UN_TANH, UN_SOFTPLUS, UN_SOFTSIGN,
    UN_ELU, UN_SELU, UN_LEAKY, UN_HARDSIGMOID, UN_HARDSWISH, UN_CELU, UN_THRESH, UN_CLIP,
} un_kind;

typedef struct un_params {
    un_kind kind;
    float alpha, beta, gamma;
    int64_t detect_pos, detect_neg;
    float min, max;     /* Clip < 11 attributes */
} un_params;

typedef struct clip_state {
    double lo, hi;
    int64_t ilo, ihi;
} clip_state;

static double fun(const un_params *p, double x, const clip_state *cs) {
    switch (p->kind) {
    case UN_ABS: return fabs(x);
    case UN_NEG: return -x;
    case UN_EXP: return exp(x);
    case UN_LOG: return log(x);
    case UN_SQRT: return sqrt(x);
    case UN_RECIP: return 1.0 / x;
    case UN_FLOOR: return floor(x);
    case UN_CEIL: return ceil(x);
    case UN_ROUND: return nearbyint(x); /* ties to even in the default rounding mode */
    case UN_SIGN: return x > 0 ? 1 : x < 0 ? -1 : x != x ? x : 0;
    case UN_SIN: return sin(x);
    case UN_COS: return cos(x);
    case UN_TAN: return tan(x);
    case UN_ASIN: return asin(x);
    case UN_ACOS: return acos(x);
    case UN_ATAN: return atan(x);
    case UN_SINH: return sinh(x);
    case UN_COSH: return cosh(x);
    case UN_ASINH: return asinh(x);
    case UN_ACOSH: return acosh(x);
    case UN_ATANH: return atanh(x);
    case UN_ERF: return erf(x);
    case UN_RELU: return x > 0 ? x : x != x ? x : 0;
    case UN_SIGMOID: return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
    case UN_TANH: return tanh(x);
    case UN_SOFTPLUS: return x > 30 ? x : log1p(exp(x));
    case UN_SOFTSIGN: return x / (1.0 + fabs(x));
    case UN_ELU: return x < 0 ? p->alpha * (exp(x) - 1.0) : x;
    case UN_SELU: return x <= 0 ? p->gamma * (p->alpha * exp(x) - p->alpha) : p->gamma * x;
    case UN_LEAKY: return x < 0 ? p->alpha * x : x;
    case UN_HARDSIGMOID: { double v = p->alpha * x + p->beta; return v < 0 ? 0 : v > 1 ? 1 : v; }
    case UN_HARDSWISH: { double v = x / 6.0 + 0.5; v = v < 0 ? 0 : v > 1 ? 1 : v; return x * v; }
    case UN_CELU: return (x > 0 ? x : 0) + fmin(0.0, p->alpha * (exp(x / p->alpha) - 1.0));
    case UN_THRESH: return x > p->alpha ? x : 0;
    case UN_CLIP: return x != x ? x : x < cs->lo ? cs->lo : x > cs->hi ? cs->hi : x;
    default: return 0;
    }
}

static void k_unary(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const un_params *p = k->params;
    const clip_state *cs = k->state;
    flt_dtype it = k->in[0].dtype, ot = k->out[0].dtype;
    const void *in = flt_onnx_in(g, n, 0);
    void *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    bool fl = flt_onnx_is_float(it);
    for (long long i = lo; i < hi; i++) {
        if (p->kind == UN_NOT) { ((uint8_t *)out)[i] = !((const uint8_t *)in)[i]; continue; }
        if (p->kind == UN_ISNAN || p->kind == UN_ISINF) {
            double x = flt_onnx_get_f64(it, in, i);
            bool r = p->kind == UN_ISNAN ? x != x : (isinf(x) && ((x > 0 && p->detect_pos) || (x < 0 && p->detect_neg)));
            ((uint8_t *)out)[i] = r;
            continue;
        }
        if (!fl) {
            int64_t x = flt_onnx_get_i64(it, in, i), r;
            bool un = flt_onnx_is_unsigned(it);
            switch (p->kind) {
            case UN_ABS: r = un ? x : x < 0 ? (int64_t)(0 - (uint64_t)x) : x; break;
            case UN_NEG: r = (int64_t)(0 - (uint64_t)x); break;
            case UN_SIGN: r = un ? x != 0 : x > 0 ? 1 : x < 0 ? -1 : 0; break;
            case UN_RELU: r = x > 0 ? x : 0; break;
            case UN_CLIP:
                if (un) { uint64_t u = (uint64_t)x; r = (int64_t)(u < (uint64_t)cs->ilo ? (uint64_t)cs->ilo : u > (uint64_t)cs->ihi ? (uint64_t)cs->ihi : u); }
                else r = x < cs->ilo ? cs->ilo : x > cs->ihi ? cs->ihi : x;
                break;
            default: {
                double v = fun(p, (double)x, cs);
                flt_onnx_set_f64(ot, out, i, v);
                continue;
            }
            }
            flt_onnx_set_i64(ot, out, i, r);
            continue;
        }
        flt_onnx_set_f64(ot, out, i, fun(p, flt_onnx_get_f64(it, in, i), cs));
    }
}

static bool float_only(un_kind k) {
    return !(k == UN_ABS || k == UN_NEG || k == UN_SIGN || k == UN_RELU || k == UN_CLIP || k == UN_NOT ||
             k == UN_ISNAN || k == UN_ISINF);
}

static flintrt_status infer_unary(flt_onnx_infer *x) {
    const un_params *p = x->k->params;
    const flt_onnx_tinfo *in = &x->k->in[0];
    if (in->ndim < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "missing input");
    flt_dtype d = in->dtype;
    if (p->kind == UN_NOT && d != FLT_BOOL) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "Not needs bool");
    if (p->kind != UN_NOT && d == FLT_BOOL) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "bool input");
    if (float_only(p->kind) && !flt_onnx_is_float(d) && p->kind != UN_FLOOR && p->kind != UN_CEIL)
        return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "integer input");
    x->k->out[0] = *in;
    if (p->kind == UN_ISNAN || p->kind == UN_ISINF) x->k->out[0].dtype = FLT_BOOL;
    if (p->kind == UN_CLIP) {
        clip_state *cs = flt_onnx_alloc(x, sizeof *cs);
        if (!cs) return x->e->status;
        bool fl = flt_onnx_is_float(d);
        cs->lo = -INFINITY;
        cs->hi = INFINITY;
        cs->ilo = INT64_MIN;
        cs->ihi = INT64_MAX;
        if (flt_onnx_is_unsigned(d)) { cs->ilo = 0; cs->ihi = -1; /* as uint64: max */ }
        if (x->opset < 11) {
            cs->lo = p->min;
            cs->hi = p->max;
        } else {
            for (int i = 1; i <= 2; i++) {
                if (x->k->n_in <= i || x->k->in[i].ndim < 0) continue;
                const void *v = flt_onnx_input_value(x, i);
                if (!v) return flt_onnx_need(x, i);
                if (flt_onnx_nelem(&x->k->in[i]) != 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "min/max must be scalars");
                if (fl) {
                    double b = flt_onnx_get_f64(x->k->in[i].dtype, v, 0);
                    if (i == 1) cs->lo = b; else cs->hi = b;
                } else {
                    int64_t b = flt_onnx_get_i64(x->k->in[i].dtype, v, 0);
                    if (i == 1) cs->ilo = b; else cs->ihi = b;
                }
            }
        }
        x->k->state = cs;
    }
    return FLINTRT_OK;
}

static flintrt_status parse_unary_common(const flt_onnx_node *n, un_params *p, float alpha, float beta, float gamma,
                                         flt_err *e) {
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "alpha", alpha, &p->alpha, e));
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "beta", beta, &p->beta, e));
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "gamma", gamma, &p->gamma, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "detect_positive", 1, &p->detect_pos, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "detect_negative", 1, &p->detect_neg, e));
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "min", -INFINITY, &p->min, e));
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "max", INFINITY, &p->max, e));
    return FLINTRT_OK;
}

#define UN_PARSER(name, KIND, A, B, G)                                                  \
    static flintrt_status parse_##name(const flt_onnx_node *n, void *pp, flt_err *e) { \
        un_params *p = pp;                                                              \
        p->kind = KIND;                                                                 \
        return parse_unary_common(n, p, A, B, G, e);                                    \
    }
UN_PARSER(abs, UN_ABS, 0, 0, 0)
UN_PARSER(neg, UN_NEG, 0, 0, 0)
UN_PARSER(exp, UN_EXP, 0, 0, 0)
UN_PARSER(log, UN_LOG, 0, 0, 0)
UN_PARSER(sqrt, UN_SQRT, 0, 0, 0)
UN_PARSER(recip, UN_RECIP, 0, 0, 0)
UN_PARSER(floor, UN_FLOOR, 0, 0, 0)
UN_PARSER(ceil, UN_CEIL, 0, 0, 0)
UN_PARSER(round, UN_ROUND, 0, 0, 0)
UN_PARSER(sign, UN_SIGN, 0, 0, 0)
UN_PARSER(sin, UN_SIN, 0, 0, 0)
UN_PARSER(cos, UN_COS, 0, 0, 0)
UN_PARSER(tan, UN_TAN, 0, 0, 0)
UN_PARSER(asin, UN_ASIN, 0, 0, 0)
UN_PARSER(acos, UN_ACOS, 0, 0, 0)
UN_PARSER(atan, UN_ATAN, 0, 0, 0)
UN_PARSER(sinh, UN_SINH, 0, 0, 0)
UN_PARSER(cosh, UN_COSH, 0, 0, 0)
UN_PARSER(asinh, UN_ASINH, 0, 0, 0)
UN_PARSER(acosh, UN_ACOSH, 0, 0, 0)
UN_PARSER(atanh, UN_ATANH, 0, 0, 0)
UN_PARSER(erf, UN_ERF, 0, 0, 0)
UN_PARSER(not, UN_NOT, 0, 0, 0)
UN_PARSER(isnan, UN_ISNAN, 0, 0, 0)
UN_PARSER(isinf, UN_ISINF, 0, 0, 0)
UN_PARSER(relu, UN_RELU, 0, 0, 0)
UN_PARSER(sigmoid, UN_SIGMOID, 0, 0, 0)
UN_PARSER(tanh, UN_TANH, 0, 0, 0)
UN_PARSER(softplus, UN_SOFTPLUS, 0, 0, 0)
UN_PARSER(softsign, UN_SOFTSIGN, 0, 0, 0)
UN_PARSER(elu, UN_ELU, 1.0f, 0, 0)
UN_PARSER(selu, UN_SELU, 1.67326319217681884765625f, 0, 1.05070102214813232421875f)
UN_PARSER(leaky, UN_LEAKY, 0.01f, 0, 0)
UN_PARSER(hardsigmoid, UN_HARDSIGMOID, 0.2f, 0.5f, 0)
UN_PARSER(hardswish, UN_HARDSWISH, 0, 0, 0)
UN_PARSER(celu, UN_CELU, 1.0f, 0, 0)
UN_PARSER(thresh, UN_THRESH, 1.0f, 0, 0)
UN_PARSER(clip, UN_CLIP, 0, 0, 0)

#define UN_ROW(op, since, parser) {"", op, since, 0, sizeof(un_params), parser, infer_unary, {op, k_unary}, NULL, 0, 1}

const flt_onnx_op flt_onnx_ops_unary[] = {
    UN_ROW("Abs", 1, parse_abs), UN_ROW("Neg", 1, parse_neg), UN_ROW("Exp", 1, parse_exp), UN_ROW("Log", 1, parse_log),
    UN_ROW("Sqrt", 1, parse_sqrt), UN_ROW("Reciprocal", 1, parse_recip), UN_ROW("Floor", 1, parse_floor),
    UN_ROW("Ceil", 1, parse_ceil), UN_ROW("Round", 11, parse_round), UN_ROW("Sign", 9, parse_sign),
    UN_ROW("Sin", 7, parse_sin), UN_ROW("Cos", 7, parse_cos), UN_ROW("Tan", 7, parse_tan),
    UN_ROW("Asin", 7, parse_asin), UN_ROW("Acos", 7, parse_acos), UN_ROW("Atan", 7, parse_atan),
    UN_ROW("Sinh", 9, parse_sinh), UN_ROW("Cosh", 9, parse_cosh), UN_ROW("Asinh", 9, parse_asinh),
    UN_ROW("Acosh", 9, parse_acosh), UN_ROW("Atanh", 9, parse_atanh), UN_ROW("Erf", 9, parse_erf),
    UN_ROW("Not", 1, parse_not), UN_ROW("IsNaN", 9, parse_isnan), UN_ROW("IsInf", 10, parse_isinf),
    UN_ROW("Relu", 1, parse_relu), UN_ROW("Sigmoid", 1, parse_sigmoid), UN_ROW("Tanh", 1, parse_tanh),
    UN_ROW("Softplus", 1, parse_softplus), UN_ROW("Softsign", 1, parse_softsign), UN_ROW("Elu", 1, parse_elu),
    UN_ROW("Selu", 1, parse_selu), UN_ROW("LeakyRelu", 1, parse_leaky), UN_ROW("HardSigmoid", 1, parse_hardsigmoid),
    UN_ROW("HardSwish", 14, parse_hardswish), UN_ROW("Celu", 12, parse_celu),
    UN_ROW("ThresholdedRelu", 10, parse_thresh), UN_ROW("Clip", 1, parse_clip),
};
const int flt_onnx_ops_unary_count = (int)(sizeof flt_onnx_ops_unary / sizeof flt_onnx_ops_unary[0]);
