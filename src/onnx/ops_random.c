/* ONNX random generators: RandomUniform, RandomNormal (opset 1),
 * RandomUniformLike, RandomNormalLike (1), Bernoulli (15), Multinomial (7).
 *
 * The generator is counter-based: element i of a node's output draws from
 * hash(key, i) (SplitMix64 finalizer), so values do not depend on the thread
 * count or on the order in which threads run. With a `seed` attribute the key
 * is derived from the seed's bits (same seed, same values, every run); without
 * one, infer draws a fresh key from the OS per run. The streams are Flint's
 * own: they cannot reproduce NumPy's, so the conformance tests that compare
 * exact random values (test_bernoulli*) are expected to fail. Normal values use
 * Box-Muller over two draws per element. The ops are never folded at load. */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS

typedef enum rnd_kind { RND_UNIFORM, RND_NORMAL, RND_BERNOULLI, RND_MULTINOMIAL } rnd_kind;

typedef struct rnd_params {
    rnd_kind kind;
    bool like;                      /* shape from input 0 */
    bool has_seed, has_dtype;
    float seed;
    flt_dtype dtype;
    double a, b;                    /* low/high or mean/scale */
    const int64_t *shape;
    int64_t n_shape;
    int64_t sample_size;
} rnd_params;

typedef struct rnd_state {
    uint64_t key;
} rnd_state;

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits: draw number `ctr` of stream `key`. */
static double rnd_u01(uint64_t key, uint64_t ctr) {
    uint64_t h = mix64(key + mix64(ctr + 0x9e3779b97f4a7c15ULL));
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

static double rnd_normal(uint64_t key, uint64_t i) {
    double u1 = rnd_u01(key, 2 * i), u2 = rnd_u01(key, 2 * i + 1);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

static flintrt_status parse_random_common(const flt_onnx_node *n, rnd_params *p, flt_err *e, int64_t def_dtype) {
    p->has_seed = flt_onnx_node_attr(n, "seed") != NULL;
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "seed", 0, &p->seed, e));
    p->has_dtype = flt_onnx_node_attr(n, "dtype") != NULL;
    int64_t t;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "dtype", def_dtype, &t, e));
    if (p->has_dtype || def_dtype > 0) {
        if (t < 1 || t > INT32_MAX || !flt_onnx_dtype((int32_t)t, &p->dtype))
            return flt_fail(e, FLINTRT_ERR_FORMAT, "dtype %" PRId64 " is not supported", t);
        p->has_dtype = true;
    }
    return FLINTRT_OK;
}

static flintrt_status check_float_dtype(const rnd_params *p, flt_err *e) {
    if (p->has_dtype && !flt_onnx_is_float(p->dtype)) return flt_fail(e, FLINTRT_ERR_FORMAT, "dtype must be a floating point type");
    return FLINTRT_OK;
}

static flintrt_status parse_gen(const flt_onnx_node *n, rnd_params *p, flt_err *e, bool like) {
    float a, b;
    p->like = like;
    FLT_ONNX_TRY(parse_random_common(n, p, e, like ? 0 : 1));
    FLT_ONNX_TRY(check_float_dtype(p, e));
    if (p->kind == RND_UNIFORM) {
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "low", 0.0f, &a, e));
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "high", 1.0f, &b, e));
    } else {
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "mean", 0.0f, &a, e));
        FLT_ONNX_TRY(flt_onnx_attr_float(n, "scale", 1.0f, &b, e));
    }
    if (!isfinite(a) || !isfinite(b)) return flt_fail(e, FLINTRT_ERR_FORMAT, "distribution parameters must be finite");
    p->a = a;
    p->b = b;
    if (!like) {
        FLT_ONNX_TRY(flt_onnx_attr_ints(n, "shape", &p->shape, &p->n_shape, e));
        if (p->n_shape < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "attribute 'shape' is required");
        if (p->n_shape > MAXD) return flt_fail(e, FLINTRT_ERR_FORMAT, "shape has more than %d dims", MAXD);
        for (int64_t i = 0; i < p->n_shape; i++)
            if (p->shape[i] < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "shape[%" PRId64 "] is negative", i);
    }
    return FLINTRT_OK;
}

#define GEN_PARSER(name, KIND, LIKE)                                                    \
    static flintrt_status parse_##name(const flt_onnx_node *n, void *pp, flt_err *e) { \
        rnd_params *p = pp;                                                             \
        p->kind = KIND;                                                                 \
        return parse_gen(n, p, e, LIKE);                                                \
    }
GEN_PARSER(uniform, RND_UNIFORM, false)
GEN_PARSER(normal, RND_NORMAL, false)
GEN_PARSER(uniform_like, RND_UNIFORM, true)
GEN_PARSER(normal_like, RND_NORMAL, true)

static flintrt_status parse_bernoulli(const flt_onnx_node *n, void *pp, flt_err *e) {
    rnd_params *p = pp;
    p->kind = RND_BERNOULLI;
    p->like = true;
    return parse_random_common(n, p, e, 0);
}

static flintrt_status parse_multinomial(const flt_onnx_node *n, void *pp, flt_err *e) {
    rnd_params *p = pp;
    p->kind = RND_MULTINOMIAL;
    FLT_ONNX_TRY(parse_random_common(n, p, e, 6));
    if (p->dtype != FLT_I32 && p->dtype != FLT_I64) return flt_fail(e, FLINTRT_ERR_FORMAT, "dtype must be int32 or int64");
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "sample_size", 1, &p->sample_size, e));
    if (p->sample_size < 1 || p->sample_size > ((int64_t)1 << 31))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "sample_size must be in [1, 2^31]");
    return FLINTRT_OK;
}

static uint64_t fresh_key(const void *salt) {
    uint64_t k = 0;
    if (getrandom(&k, sizeof k, GRND_NONBLOCK) != (ssize_t)sizeof k) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        k = mix64((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^ mix64((uint64_t)(uintptr_t)salt);
    }
    return k;
}

static flintrt_status infer_random(flt_onnx_infer *x) {
    const rnd_params *p = x->k->params;
    rnd_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    if (p->has_seed) {
        uint32_t bits;
        memcpy(&bits, &p->seed, 4);
        s->key = mix64(0x5eed0000ULL ^ bits);
    } else {
        s->key = fresh_key(s);
    }
    flt_onnx_tinfo *o = &x->k->out[0];
    if (p->kind == RND_MULTINOMIAL) {
        const flt_onnx_tinfo *X = &x->k->in[0];
        if (X->ndim != 2 || !flt_onnx_is_float(X->dtype))
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must be a float [batch, classes] tensor");
        o->dtype = p->dtype;
        o->ndim = 2;
        o->dims[0] = X->dims[0];
        o->dims[1] = p->sample_size;
    } else if (p->like) {
        const flt_onnx_tinfo *X = &x->k->in[0];
        *o = *X;
        if (p->has_dtype) o->dtype = p->dtype;
        if (p->kind != RND_BERNOULLI && !flt_onnx_is_float(o->dtype))
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "output must be floating point (set dtype)");
        if (p->kind == RND_BERNOULLI && !flt_onnx_is_float(X->dtype))
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input probabilities must be floating point");
    } else {
        o->dtype = p->dtype;
        o->ndim = (int)p->n_shape;
        for (int i = 0; i < o->ndim; i++) o->dims[i] = p->shape[i];
    }
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_random(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const rnd_params *p = k->params;
    const rnd_state *s = k->state;
    const flt_onnx_tinfo *o = &k->out[0];
    void *out = flt_onnx_out(g, n, 0);
    const void *in = k->n_in > 0 ? flt_onnx_in(g, n, 0) : NULL;
    long long lo, hi;
    if (p->kind == RND_MULTINOMIAL) {
        flt_dtype it = k->in[0].dtype;
        int64_t classes = k->in[0].dims[1], ns = o->dims[1];
        flt_split(o->dims[0], ith, nth, &lo, &hi);
        for (long long b = lo; b < hi; b++) {
            double mx = -INFINITY, total = 0;
            for (int64_t c = 0; c < classes; c++) {
                double v = flt_onnx_get_f64(it, in, b * classes + c);
                if (v > mx) mx = v;
            }
            for (int64_t c = 0; c < classes; c++) total += exp(flt_onnx_get_f64(it, in, b * classes + c) - mx);
            for (int64_t j = 0; j < ns; j++) {
                double u = rnd_u01(s->key, (uint64_t)(b * ns + j)) * total, cum = 0;
                int64_t pick = classes - 1;
                for (int64_t c = 0; c < classes; c++) {
                    cum += exp(flt_onnx_get_f64(it, in, b * classes + c) - mx);
                    if (u < cum) { pick = c; break; }
                }
                flt_onnx_set_i64(o->dtype, out, b * ns + j, classes ? pick : 0);
            }
        }
        return;
    }
    flt_split(flt_onnx_nelem(o), ith, nth, &lo, &hi);
    for (long long i = lo; i < hi; i++) {
        double v;
        if (p->kind == RND_BERNOULLI) v = rnd_u01(s->key, (uint64_t)i) < flt_onnx_get_f64(k->in[0].dtype, in, i) ? 1 : 0;
        else if (p->kind == RND_UNIFORM) v = p->a + (p->b - p->a) * rnd_u01(s->key, (uint64_t)i);
        else v = p->a + p->b * rnd_normal(s->key, (uint64_t)i);
        flt_onnx_set_f64(o->dtype, out, i, v);
    }
}

#define RND_ROW(op, since, parser, minin) \
    {"", op, since, 0, sizeof(rnd_params), parser, infer_random, {op, k_random}, NULL, FLT_ONNX_OP_NO_FOLD, minin}

const flt_onnx_op flt_onnx_ops_random[] = {
    RND_ROW("RandomUniform", 1, parse_uniform, 0),
    RND_ROW("RandomNormal", 1, parse_normal, 0),
    RND_ROW("RandomUniformLike", 1, parse_uniform_like, 1),
    RND_ROW("RandomNormalLike", 1, parse_normal_like, 1),
    RND_ROW("Bernoulli", 15, parse_bernoulli, 1),
    RND_ROW("Multinomial", 7, parse_multinomial, 1),
};
const int flt_onnx_ops_random_count = (int)(sizeof flt_onnx_ops_random / sizeof flt_onnx_ops_random[0]);
