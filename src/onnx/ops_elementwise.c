/* ONNX element-wise operators with numpy broadcasting over 2..16 inputs:
 * Add, Sub, Mul, Div, Pow, Mod, Min, Max, Sum, Mean, Equal, Less, Greater,
 * LessOrEqual, GreaterOrEqual, And, Or, Xor, BitShift, Where.
 *
 * One kernel walks the output row by row (rows split among threads), with a
 * broadcast stride per input and dimension. The arithmetic is exact per dtype
 * class: floats in double (for f32/f16/bf16 +-x/ that rounds exactly as the
 * native type would), signed integers in int64 with two's-complement wrap,
 * unsigned in uint64. Integer division or modulo by zero yields 0 (the spec
 * leaves it undefined; Flint must not trap). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

typedef enum ew_kind {
    EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_POW, EW_MOD, EW_MIN, EW_MAX, EW_SUM, EW_MEAN,
    EW_EQ, EW_LT, EW_GT, EW_LE, EW_GE, EW_AND, EW_OR, EW_XOR, EW_SHL, EW_SHR, EW_WHERE,
} ew_kind;

typedef struct ew_params {
    ew_kind kind;
    int64_t fmod;       /* Mod */
    int64_t broadcast;  /* opset < 7: the legacy attribute */
    int64_t axis;
    bool has_axis;
} ew_params;

typedef struct ew_state {
    int n;
    int64_t stride[FLT_ONNX_MAX_IO][MAXD];
} ew_state;

static bool is_cmp(ew_kind k) { return k >= EW_EQ && k <= EW_GE; }
static bool is_logic(ew_kind k) { return k == EW_AND || k == EW_OR || k == EW_XOR; }

static double fbin(ew_kind k, double a, double b, int64_t fmodattr) {
    switch (k) {
    case EW_ADD: case EW_SUM: case EW_MEAN: return a + b;
    case EW_SUB: return a - b;
    case EW_MUL: return a * b;
    case EW_DIV: return a / b;
    case EW_POW: return pow(a, b);
    case EW_MOD: {
        double r = fmod(a, b);
        if (!fmodattr && r != 0 && ((r < 0) != (b < 0))) r += b;
        return r;
    }
    case EW_MIN: return a != a || b != b ? NAN : a < b ? a : b;
    case EW_MAX: return a != a || b != b ? NAN : a > b ? a : b;
    case EW_EQ: return a == b;
    case EW_LT: return a < b;
    case EW_GT: return a > b;
    case EW_LE: return a <= b;
    case EW_GE: return a >= b;
    default: return 0;
    }
}

static int64_t sbin(ew_kind k, int64_t a, int64_t b, int64_t fmodattr) {
    switch (k) {
    case EW_ADD: case EW_SUM: case EW_MEAN: return (int64_t)((uint64_t)a + (uint64_t)b);
    case EW_SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
    case EW_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
    case EW_DIV: return b == 0 || (a == INT64_MIN && b == -1) ? 0 : a / b;
    case EW_MOD: {
        if (b == 0 || (a == INT64_MIN && b == -1)) return 0;
        int64_t r = a % b;
        if (!fmodattr && r != 0 && ((r < 0) != (b < 0))) r += b;
        return r;
    }
    case EW_MIN: return a < b ? a : b;
    case EW_MAX: return a > b ? a : b;
    case EW_EQ: return a == b;
    case EW_LT: return a < b;
    case EW_GT: return a > b;
    case EW_LE: return a <= b;
    case EW_GE: return a >= b;
    case EW_AND: return (a != 0) & (b != 0);
    case EW_OR: return (a != 0) | (b != 0);
    case EW_XOR: return (a != 0) ^ (b != 0);
    default: return 0;
    }
}

static uint64_t ubin(ew_kind k, uint64_t a, uint64_t b, int bits) {
    switch (k) {
    case EW_ADD: case EW_SUM: case EW_MEAN: return a + b;
    case EW_SUB: return a - b;
    case EW_MUL: return a * b;
    case EW_DIV: return b ? a / b : 0;
    case EW_MOD: return b ? a % b : 0;
    case EW_MIN: return a < b ? a : b;
    case EW_MAX: return a > b ? a : b;
    case EW_EQ: return a == b;
    case EW_LT: return a < b;
    case EW_GT: return a > b;
    case EW_LE: return a <= b;
    case EW_GE: return a >= b;
    case EW_SHL: return b >= (uint64_t)bits ? 0 : a << b;
    case EW_SHR: return b >= (uint64_t)bits ? 0 : a >> b;
    case EW_AND: return (a != 0) & (b != 0);
    case EW_OR: return (a != 0) | (b != 0);
    case EW_XOR: return (a != 0) ^ (b != 0);
    default: return 0;
    }
}

static uint64_t get_u64(flt_dtype d, const void *p, int64_t i) {
    switch (d) {
    case FLT_U64: { uint64_t v; memcpy(&v, (const char *)p + 8 * i, 8); return v; }
    default: return (uint64_t)flt_onnx_get_i64(d, p, i);
    }
}

static void k_ew(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const ew_params *p = k->params;
    const ew_state *s = k->state;
    const flt_onnx_tinfo *o = &k->out[0];
    ew_kind kind = p->kind;
    int ni = s->n;
    flt_dtype it = k->in[kind == EW_WHERE ? 1 : 0].dtype, ot = o->dtype;
    const void *in[FLT_ONNX_MAX_IO];
    for (int i = 0; i < ni; i++) in[i] = flt_onnx_in(g, n, i);
    void *out = flt_onnx_out(g, n, 0);
    int r = o->ndim;
    int64_t inner = r ? o->dims[r - 1] : 1;
    int64_t rows = inner ? flt_onnx_nelem(o) / inner : 0;
    int bits = (int)flt_onnx_dtype_size(it) * 8;
    bool fl = flt_onnx_is_float(it), un = flt_onnx_is_unsigned(it);
    long long lo, hi;
    flt_split(rows, ith, nth, &lo, &hi);
    for (long long row = lo; row < hi; row++) {
        int64_t off[FLT_ONNX_MAX_IO] = {0}, rem = row;
        for (int d = r - 2; d >= 0; d--) {
            int64_t idx = rem % o->dims[d];
            rem /= o->dims[d];
            for (int i = 0; i < ni; i++) off[i] += idx * s->stride[i][d];
        }
        int64_t base = row * inner;
        /* f32 fast path for the four arithmetic ops */
        if (it == FLT_F32 && ni == 2 && kind <= EW_DIV) {
            int64_t sa = r ? s->stride[0][r - 1] : 0, sb = r ? s->stride[1][r - 1] : 0;
            float *po = (float *)out + base;
            for (int64_t j = 0; j < inner; j++) {
                float a = flt_ld_f32(in[0], off[0] + j * sa), b = flt_ld_f32(in[1], off[1] + j * sb);
                po[j] = kind == EW_ADD ? a + b : kind == EW_SUB ? a - b : kind == EW_MUL ? a * b : a / b;
            }
            continue;
        }
        for (int64_t j = 0; j < inner; j++) {
            int64_t idx[FLT_ONNX_MAX_IO];
            for (int i = 0; i < ni; i++) idx[i] = off[i] + j * (r ? s->stride[i][r - 1] : 0);
            if (kind == EW_WHERE) {
                bool c = ((const uint8_t *)in[0])[idx[0]] != 0;
                size_t es = flt_onnx_dtype_size(ot);
                memcpy((char *)out + (size_t)(base + j) * es, (const char *)(c ? in[1] : in[2]) + (size_t)idx[c ? 1 : 2] * es, es);
                continue;
            }
            if (kind == EW_POW) {
                double a = flt_onnx_get_f64(it, in[0], idx[0]), b = flt_onnx_get_f64(k->in[1].dtype, in[1], idx[1]);
                double v = pow(a, b);
                if (fl) flt_onnx_set_f64(ot, out, base + j, v);
                else flt_onnx_set_i64(ot, out, base + j, v != v ? 0 : v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v);
                continue;
            }
            if (fl) {
                double acc = flt_onnx_get_f64(it, in[0], idx[0]);
                for (int i = 1; i < ni; i++) acc = fbin(kind, acc, flt_onnx_get_f64(it, in[i], idx[i]), p->fmod);
                if (kind == EW_MEAN) acc /= ni;
                flt_onnx_set_f64(ot, out, base + j, acc);
            } else if (un) {
                uint64_t acc = get_u64(it, in[0], idx[0]);
                for (int i = 1; i < ni; i++) acc = ubin(kind, acc, get_u64(it, in[i], idx[i]), bits);
                if (kind == EW_MEAN) acc /= (uint64_t)ni;
                flt_onnx_set_i64(ot, out, base + j, (int64_t)acc);
            } else {
                int64_t acc = flt_onnx_get_i64(it, in[0], idx[0]);
                for (int i = 1; i < ni; i++) acc = sbin(kind, acc, flt_onnx_get_i64(it, in[i], idx[i]), p->fmod);
                if (kind == EW_MEAN) acc /= ni;
                flt_onnx_set_i64(ot, out, base + j, acc);
            }
        }
    }
}

static flintrt_status infer_ew(flt_onnx_infer *x) {
    const ew_params *p = x->k->params;
    int n = x->k->n_in;
    ew_kind kind = p->kind;
    int want = kind == EW_WHERE ? 3 : (kind == EW_SUM || kind == EW_MEAN || kind == EW_MIN || kind == EW_MAX) ? -1 : 2;
    if ((want > 0 && n != want) || n < 1)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "%d inputs", n);
    for (int i = 0; i < n; i++)
        if (x->k->in[i].ndim < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d is missing", i);
    int first = kind == EW_WHERE ? 1 : 0;
    flt_dtype dt = x->k->in[first].dtype;
    if (kind == EW_WHERE && x->k->in[0].dtype != FLT_BOOL) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "condition must be bool");
    for (int i = first + 1; i < n; i++)
        if (kind != EW_POW && x->k->in[i].dtype != dt) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "inputs differ in type");
    if (is_logic(kind) && dt != FLT_BOOL) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "inputs must be bool");
    if ((kind == EW_SHL || kind == EW_SHR) && !flt_onnx_is_unsigned(dt))
        return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "BitShift needs unsigned integers");
    if (!is_logic(kind) && kind != EW_WHERE && kind != EW_EQ && dt == FLT_BOOL)
        return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "bool inputs are not allowed");
    flt_onnx_tinfo *o = &x->k->out[0];
    flt_onnx_tinfo in1 = x->k->in[1 < n ? 1 : 0];
    /* opset < 7: broadcast only when asked, and B aligned at `axis` */
    if (x->opset < 7 && n == 2 && p->broadcast && p->has_axis) {
        const flt_onnx_tinfo *a = &x->k->in[0];
        int ax = (int)(p->axis < 0 ? p->axis + a->ndim : p->axis);
        if (ax < 0 || ax + in1.ndim > a->ndim) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "legacy broadcast axis");
        flt_onnx_tinfo b = {.dtype = in1.dtype, .ndim = a->ndim - ax};
        for (int i = 0; i < b.ndim; i++) b.dims[i] = i < in1.ndim ? in1.dims[i] : 1;
        in1 = b;
    }
    *o = x->k->in[0];
    for (int i = 1; i < n; i++) {
        flt_onnx_tinfo t = o[0];
        FLT_ONNX_TRY(flt_onnx_broadcast(x, &t, i == 1 ? &in1 : &x->k->in[i], o));
    }
    o->dtype = is_cmp(kind) || is_logic(kind) ? FLT_BOOL : dt;
    ew_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->n = n;
    for (int i = 0; i < n; i++) flt_onnx_bcast_strides(i == 1 ? &in1 : &x->k->in[i], o, s->stride[i]);
    x->k->state = s;
    return FLINTRT_OK;
}

static flintrt_status parse_common(const flt_onnx_node *n, ew_params *p, flt_err *e) {
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "broadcast", 0, &p->broadcast, e));
    p->has_axis = flt_onnx_node_attr(n, "axis") != NULL;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "axis", 0, &p->axis, e));
    if (n->opset < 7 && !p->broadcast) p->broadcast = 0;
    return FLINTRT_OK;
}

#define EW_PARSER(name, KIND)                                                   \
    static flintrt_status parse_##name(const flt_onnx_node *n, void *pp, flt_err *e) { \
        ew_params *p = pp;                                                      \
        p->kind = KIND;                                                         \
        return parse_common(n, p, e);                                           \
    }
EW_PARSER(add, EW_ADD)
EW_PARSER(sub, EW_SUB)
EW_PARSER(mul, EW_MUL)
EW_PARSER(div, EW_DIV)
EW_PARSER(pow, EW_POW)
EW_PARSER(min, EW_MIN)
EW_PARSER(max, EW_MAX)
EW_PARSER(sum, EW_SUM)
EW_PARSER(mean, EW_MEAN)
EW_PARSER(eq, EW_EQ)
EW_PARSER(lt, EW_LT)
EW_PARSER(gt, EW_GT)
EW_PARSER(le, EW_LE)
EW_PARSER(ge, EW_GE)
EW_PARSER(and, EW_AND)
EW_PARSER(or, EW_OR)
EW_PARSER(xor, EW_XOR)
EW_PARSER(where, EW_WHERE)

static flintrt_status parse_mod(const flt_onnx_node *n, void *pp, flt_err *e) {
    ew_params *p = pp;
    p->kind = EW_MOD;
    return flt_onnx_attr_int(n, "fmod", 0, &p->fmod, e);
}

static flintrt_status parse_bitshift(const flt_onnx_node *n, void *pp, flt_err *e) {
    ew_params *p = pp;
    char dir[16];
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "direction", "", dir, sizeof dir, e));
    if (!strcmp(dir, "LEFT")) p->kind = EW_SHL;
    else if (!strcmp(dir, "RIGHT")) p->kind = EW_SHR;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "direction must be LEFT or RIGHT");
    return FLINTRT_OK;
}

#define EW_ROW(op, since, parser) {"", op, since, 0, sizeof(ew_params), parser, infer_ew, {op, k_ew}, NULL, 0, 1}

const flt_onnx_op flt_onnx_ops_elementwise[] = {
    EW_ROW("Add", 1, parse_add),   EW_ROW("Sub", 1, parse_sub),   EW_ROW("Mul", 1, parse_mul),
    EW_ROW("Div", 1, parse_div),   EW_ROW("Pow", 1, parse_pow),   EW_ROW("Mod", 10, parse_mod),
    EW_ROW("Min", 1, parse_min),   EW_ROW("Max", 1, parse_max),   EW_ROW("Sum", 1, parse_sum),
    EW_ROW("Mean", 1, parse_mean), EW_ROW("Equal", 1, parse_eq),  EW_ROW("Less", 1, parse_lt),
    EW_ROW("Greater", 1, parse_gt), EW_ROW("LessOrEqual", 12, parse_le), EW_ROW("GreaterOrEqual", 12, parse_ge),
    EW_ROW("And", 1, parse_and),   EW_ROW("Or", 1, parse_or),     EW_ROW("Xor", 1, parse_xor),
    EW_ROW("BitShift", 11, parse_bitshift), EW_ROW("Where", 9, parse_where),
};
const int flt_onnx_ops_elementwise_count = (int)(sizeof flt_onnx_ops_elementwise / sizeof flt_onnx_ops_elementwise[0]);
