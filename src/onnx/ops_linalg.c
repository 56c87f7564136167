/* ONNX linear algebra: Einsum (general: ellipsis broadcasting, diagonals via
 * repeated labels, transposes, sums; implicit and explicit outputs) and Det
 * (LU with partial pivoting in double, batched).
 *
 * Einsum is the plain oracle: each output element is one thread's sum, in the
 * order of the summed labels, of the products of the operands (double for
 * floats, wrapping int64 for integers), so results do not depend on the
 * thread count. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/op.h"

#define MAXD FLT_ONNX_MAX_DIMS
#define EIN_LABELS 52               /* A-Z then a-z: codes in ASCII order */
#define EIN_IDS (MAXD + EIN_LABELS) /* broadcast (ellipsis) dims, then labels */

typedef struct ein_term {
    int n;                /* labels */
    int8_t lab[MAXD];
    int ell;              /* the ellipsis sits before lab[ell]; -1: none */
} ein_term;

typedef struct ein_params {
    int n_terms;
    ein_term in[FLT_ONNX_MAX_IO];
    bool explicit_out;
    ein_term out;
} ein_params;

typedef struct ein_state {
    int n_terms, n_out, n_sum;
    int64_t out_dim[MAXD], sum_dim[EIN_IDS];
    int64_t out_str[FLT_ONNX_MAX_IO][MAXD], sum_str[FLT_ONNX_MAX_IO][EIN_IDS];
    int64_t sum_count;
} ein_state;

static int ein_code(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
    return -1;
}

static flintrt_status ein_term_parse(const char *s, size_t len, ein_term *t, flt_err *e) {
    t->n = 0;
    t->ell = -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') continue;
        if (s[i] == '.') {
            if (t->ell >= 0 || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.')
                return flt_fail(e, FLINTRT_ERR_FORMAT, "Einsum: a term has a stray '.' or two ellipses");
            t->ell = t->n;
            i += 2;
            continue;
        }
        int c = ein_code(s[i]);
        if (c < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "Einsum: character '%c' is not a label", s[i]);
        if (t->n >= MAXD) return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "Einsum: a term has more than %d labels", MAXD);
        t->lab[t->n++] = (int8_t)c;
    }
    return FLINTRT_OK;
}

static flintrt_status parse_einsum(const flt_onnx_node *n, void *pp, flt_err *e) {
    ein_params *p = pp;
    char eq[512];
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "equation", "", eq, sizeof eq, e));
    if (!flt_onnx_node_attr(n, "equation")) return flt_fail(e, FLINTRT_ERR_FORMAT, "Einsum: no equation");
    const char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - eq) : strlen(eq);
    p->n_terms = 0;
    for (size_t start = 0;;) {
        size_t end = start;
        while (end < lhs_len && eq[end] != ',') end++;
        if (p->n_terms >= FLT_ONNX_MAX_IO) return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "Einsum: too many operands");
        FLT_ONNX_TRY(ein_term_parse(eq + start, end - start, &p->in[p->n_terms++], e));
        if (end >= lhs_len) break;
        start = end + 1;
    }
    p->explicit_out = arrow != NULL;
    if (arrow) {
        if (strstr(arrow + 2, "->")) return flt_fail(e, FLINTRT_ERR_FORMAT, "Einsum: two '->'");
        FLT_ONNX_TRY(ein_term_parse(arrow + 2, strlen(arrow + 2), &p->out, e));
        for (int i = 0; i < p->out.n; i++)
            for (int j = 0; j < i; j++)
                if (p->out.lab[i] == p->out.lab[j])
                    return flt_fail(e, FLINTRT_ERR_FORMAT, "Einsum: output label repeated");
    }
    if (n->n_in != p->n_terms)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "Einsum: equation has %d operands, node %d inputs", p->n_terms, n->n_in);
    return FLINTRT_OK;
}

/* term t of an input of rank r: the global id of axis a (broadcast dims right-aligned into nb) */
static int ein_axis_id(const ein_term *t, int r, int nb, int a) {
    int nell = r - t->n;
    if (t->ell < 0 || a < t->ell) return nb + t->lab[a];
    if (a < t->ell + nell) return nb - nell + (a - t->ell);
    return nb + t->lab[a - nell];
}

static flintrt_status infer_einsum(flt_onnx_infer *x) {
    const ein_params *p = x->k->params;
    if (x->k->n_in != p->n_terms) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "operand count differs from the equation");
    flt_dtype dt = x->k->in[0].dtype;
    if (dt == FLT_BOOL || flt_onnx_dtype_size(dt) == 0) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "non-numeric input");
    int nb = 0;
    for (int i = 0; i < p->n_terms; i++) {
        const flt_onnx_tinfo *t = &x->k->in[i];
        if (t->ndim < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d missing", i);
        if (t->dtype != dt) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "inputs differ in type");
        int nell = t->ndim - p->in[i].n;
        if (nell < 0 || (p->in[i].ell < 0 && nell != 0))
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d has rank %d, its term %d labels%s", i, t->ndim,
                                 p->in[i].n, p->in[i].ell >= 0 ? " and an ellipsis" : "");
        if (nell > nb) nb = nell;
    }
    int64_t dim[EIN_IDS];
    int used[EIN_IDS] = {0};
    for (int id = 0; id < EIN_IDS; id++) dim[id] = -1;
    for (int i = 0; i < p->n_terms; i++) {
        const flt_onnx_tinfo *t = &x->k->in[i];
        for (int a = 0; a < t->ndim; a++) {
            int id = ein_axis_id(&p->in[i], t->ndim, nb, a);
            int64_t d = t->dims[a];
            if (id < nb) { /* broadcast dim: 1 stretches */
                if (dim[id] < 0 || dim[id] == 1) dim[id] = d;
                else if (d != 1 && d != dim[id])
                    return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "ellipsis dims %" PRId64 " and %" PRId64 " do not broadcast",
                                         dim[id], d);
            } else if (dim[id] < 0) {
                dim[id] = d;
            } else if (dim[id] != d) {
                char c = (char)(id - nb < 26 ? 'A' + (id - nb) : 'a' + (id - nb - 26));
                return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "label '%c' has sizes %" PRId64 " and %" PRId64, c, dim[id], d);
            }
            used[id]++;
        }
    }
    /* output axes as ids */
    int out_ids[2 * MAXD + 1], n_out = 0;
    bool in_out[EIN_IDS] = {false};
    if (p->explicit_out) {
        if (p->out.ell < 0 && nb > 0)
            return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "inputs have ellipsis dims but the output has no '...'");
        for (int a = 0; a <= p->out.n; a++) {
            if (a == p->out.ell)
                for (int b = 0; b < nb; b++) out_ids[n_out++] = b;
            if (a == p->out.n) break;
            int id = nb + p->out.lab[a];
            if (!used[id]) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "output label not in any input");
            out_ids[n_out++] = id;
        }
    } else {
        for (int b = 0; b < nb; b++) out_ids[n_out++] = b;
        for (int l = 0; l < EIN_LABELS; l++) {
            int cnt = 0; /* labels appearing once in the whole equation, in ASCII order */
            for (int i = 0; i < p->n_terms; i++)
                for (int a = 0; a < p->in[i].n; a++) cnt += p->in[i].lab[a] == l;
            if (cnt == 1) {
                if (n_out >= 2 * MAXD) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "output rank too large");
                out_ids[n_out++] = nb + l;
            }
        }
    }
    if (n_out > MAXD) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "output rank %d > %d", n_out, MAXD);
    ein_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->n_terms = p->n_terms;
    s->n_out = n_out;
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = dt;
    o->ndim = n_out;
    for (int a = 0; a < n_out; a++) {
        in_out[out_ids[a]] = true;
        o->dims[a] = s->out_dim[a] = dim[out_ids[a]];
    }
    int sum_ids[EIN_IDS];
    s->sum_count = 1;
    for (int id = 0; id < EIN_IDS; id++) {
        if (!used[id] || in_out[id]) continue;
        sum_ids[s->n_sum] = id;
        s->sum_dim[s->n_sum++] = dim[id];
        if (!flt_mul_i64(s->sum_count, dim[id], &s->sum_count))
            return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "summed size overflows");
    }
    for (int i = 0; i < p->n_terms; i++) {
        const flt_onnx_tinfo *t = &x->k->in[i];
        int64_t st[MAXD], by_id[EIN_IDS] = {0};
        flt_onnx_strides(t, st);
        for (int a = 0; a < t->ndim; a++) {
            int id = ein_axis_id(&p->in[i], t->ndim, nb, a);
            if (id < nb && t->dims[a] == 1) continue; /* stretched broadcast dim */
            by_id[id] += st[a]; /* a repeated label walks the diagonal */
        }
        for (int a = 0; a < n_out; a++) s->out_str[i][a] = by_id[out_ids[a]];
        for (int a = 0; a < s->n_sum; a++) s->sum_str[i][a] = by_id[sum_ids[a]];
    }
    x->k->state = s;
    return FLINTRT_OK;
}

static void k_einsum(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const ein_state *s = k->state;
    flt_dtype dt = k->out[0].dtype;
    bool fl = flt_onnx_is_float(dt);
    const void *in[FLT_ONNX_MAX_IO];
    for (int i = 0; i < s->n_terms; i++) in[i] = flt_onnx_in(g, n, i);
    void *out = flt_onnx_out(g, n, 0);
    long long lo, hi;
    flt_split(flt_onnx_nelem(&k->out[0]), ith, nth, &lo, &hi);
    for (long long o = lo; o < hi; o++) {
        int64_t off[FLT_ONNX_MAX_IO] = {0}, rem = o;
        for (int a = s->n_out - 1; a >= 0; a--) {
            int64_t c = rem % s->out_dim[a];
            rem /= s->out_dim[a];
            for (int i = 0; i < s->n_terms; i++) off[i] += c * s->out_str[i][a];
        }
        int64_t cnt[EIN_IDS] = {0};
        double acc = 0;
        uint64_t iacc = 0;
        for (int64_t r = 0; r < s->sum_count; r++) {
            if (fl) {
                double prod = 1;
                for (int i = 0; i < s->n_terms; i++) prod *= flt_onnx_get_f64(dt, in[i], off[i]);
                acc += prod;
            } else {
                uint64_t prod = 1;
                for (int i = 0; i < s->n_terms; i++) prod *= (uint64_t)flt_onnx_get_i64(dt, in[i], off[i]);
                iacc += prod;
            }
            for (int d = s->n_sum - 1; d >= 0; d--) {
                for (int i = 0; i < s->n_terms; i++) off[i] += s->sum_str[i][d];
                if (++cnt[d] < s->sum_dim[d]) break;
                for (int i = 0; i < s->n_terms; i++) off[i] -= cnt[d] * s->sum_str[i][d];
                cnt[d] = 0;
            }
        }
        if (fl) flt_onnx_set_f64(dt, out, o, acc);
        else flt_onnx_set_i64(dt, out, o, (int64_t)iacc);
    }
}

/* ---- Det ---- */

typedef struct det_state {
    int64_t batch, m;
} det_state;

static flintrt_status infer_det(flt_onnx_infer *x) {
    const flt_onnx_tinfo *X = &x->k->in[0];
    if (!flt_onnx_is_float(X->dtype)) return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "X must be a float type");
    if (X->ndim < 2 || X->dims[X->ndim - 1] != X->dims[X->ndim - 2])
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X must be [..., M, M]");
    det_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->m = X->dims[X->ndim - 1];
    s->batch = 1;
    for (int i = 0; i < X->ndim - 2; i++) s->batch *= X->dims[i];
    /* one double copy of every matrix, so threads never share a workspace */
    size_t mm, bytes;
    if (!flt_mul_size((size_t)s->m, (size_t)s->m, &mm) || !flt_mul_size(mm, (size_t)s->batch, &bytes) ||
        !flt_mul_size(bytes, sizeof(double), &bytes))
        return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "workspace size overflows");
    x->k->scratch_bytes = bytes;
    x->k->state = s;
    flt_onnx_tinfo *o = &x->k->out[0];
    *o = *X;
    o->ndim = X->ndim - 2;
    return FLINTRT_OK;
}

static void k_det(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const det_state *s = k->state;
    flt_dtype dt = k->in[0].dtype;
    const void *X = flt_onnx_in(g, n, 0);
    void *out = flt_onnx_out(g, n, 0);
    double *ws = flt_onnx_scratch(g, n);
    int64_t m = s->m, mm = m * m;
    long long lo, hi;
    flt_split(s->batch, ith, nth, &lo, &hi);
    for (long long b = lo; b < hi; b++) {
        double *a = ws + b * mm;
        for (int64_t i = 0; i < mm; i++) a[i] = flt_onnx_get_f64(dt, X, b * mm + i);
        double det = 1;
        for (int64_t c = 0; c < m && det != 0; c++) {
            int64_t piv = c;
            for (int64_t r = c + 1; r < m; r++)
                if (fabs(a[r * m + c]) > fabs(a[piv * m + c])) piv = r;
            if (a[piv * m + c] == 0) { det = 0; break; }
            if (piv != c) {
                for (int64_t j = 0; j < m; j++) {
                    double t = a[c * m + j];
                    a[c * m + j] = a[piv * m + j];
                    a[piv * m + j] = t;
                }
                det = -det;
            }
            double d = a[c * m + c];
            det *= d;
            for (int64_t r = c + 1; r < m; r++) {
                double f = a[r * m + c] / d;
                if (f != 0)
                    for (int64_t j = c + 1; j < m; j++) a[r * m + j] -= f * a[c * m + j];
            }
        }
        flt_onnx_set_f64(dt, out, b, det);
    }
}

const flt_onnx_op flt_onnx_ops_linalg[] = {
    {"", "Einsum", 12, 0, sizeof(ein_params), parse_einsum, infer_einsum, {"Einsum", k_einsum}, NULL, 0, 1},
    {"", "Det", 11, 0, 0, NULL, infer_det, {"Det", k_det}, NULL, 0, 1},
};
const int flt_onnx_ops_linalg_count = (int)(sizeof flt_onnx_ops_linalg / sizeof flt_onnx_ops_linalg[0]);
