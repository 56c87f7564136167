/* ONNX TfIdfVectorizer (opset 9) over integer tokens (the string pool is
 * refused at load: Flint has no string tensors).
 *
 * The pool holds the 1-grams, then the 2-grams, ... (ngram_counts[i] is where
 * the (i+1)-grams start, in pool elements); n-gram number i of the pool counts
 * into output slot ngram_indexes[i]. For every row, every gram length in
 * [min_gram_length, max_gram_length] and every skip in [0, max_skip_count]
 * (1-grams once), each start position forms one n-gram whose elements are
 * skip+1 apart; a match in the pool increments its slot. TF keeps the counts,
 * IDF gives weight (or 1) where the count is non-zero, TFIDF count * weight.
 * Each row is counted by one thread. */
#include <inttypes.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/op.h"

#define MAX_SLOTS ((int64_t)1 << 26)

typedef enum tfidf_mode { TF_TF, TF_IDF, TF_TFIDF } tfidf_mode;

typedef struct tfidf_params {
    tfidf_mode mode;
    int64_t min_n, max_n, max_skip;
    const int64_t *pool, *counts, *indexes;
    int64_t n_pool, n_counts, n_indexes;
    const float *weights;
    int64_t n_weights;
    int64_t n_levels;               /* gram lengths present in the pool */
    int64_t out_size;
} tfidf_params;

static flintrt_status parse_tfidf(const flt_onnx_node *n, void *pp, flt_err *e) {
    tfidf_params *p = pp;
    char buf[16];
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "mode", "TF", buf, sizeof buf, e));
    if (!strcmp(buf, "TF")) p->mode = TF_TF;
    else if (!strcmp(buf, "IDF")) p->mode = TF_IDF;
    else if (!strcmp(buf, "TFIDF")) p->mode = TF_TFIDF;
    else return flt_fail(e, FLINTRT_ERR_FORMAT, "unknown mode '%s'", buf);
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "min_gram_length", 1, &p->min_n, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "max_gram_length", 1, &p->max_n, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "max_skip_count", 0, &p->max_skip, e));
    if (flt_onnx_node_attr(n, "pool_strings"))
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "pool_strings: string tensors are not supported by Flint");
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, "pool_int64s", &p->pool, &p->n_pool, e));
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, "ngram_counts", &p->counts, &p->n_counts, e));
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, "ngram_indexes", &p->indexes, &p->n_indexes, e));
    FLT_ONNX_TRY(flt_onnx_attr_floats(n, "weights", &p->weights, &p->n_weights, e));
    if (p->n_pool < 0 || p->n_counts < 0 || p->n_indexes < 0)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "needs pool_int64s, ngram_counts and ngram_indexes");
    if (p->min_n < 1 || p->max_n < p->min_n || p->max_skip < 0 || p->max_n > 64 || p->max_skip > (1 << 20))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "gram lengths or max_skip_count out of range");
    /* ngram_counts: non-decreasing starts, each level a whole number of n-grams */
    int64_t total = 0;
    p->n_levels = p->n_counts;
    for (int64_t i = 0; i < p->n_counts; i++) {
        int64_t start = p->counts[i], end = i + 1 < p->n_counts ? p->counts[i + 1] : p->n_pool;
        if (start < 0 || end < start || end > p->n_pool || (end - start) % (i + 1))
            return flt_fail(e, FLINTRT_ERR_FORMAT, "ngram_counts[%" PRId64 "] does not split pool_int64s into %" PRId64 "-grams", i, i + 1);
        total += (end - start) / (i + 1);
    }
    if (p->n_indexes != total)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "ngram_indexes has %" PRId64 " entries for %" PRId64 " n-grams", p->n_indexes, total);
    if (p->n_weights >= 0 && p->n_weights != total)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "weights has %" PRId64 " entries for %" PRId64 " n-grams", p->n_weights, total);
    p->out_size = 0;
    for (int64_t i = 0; i < p->n_indexes; i++) {
        if (p->indexes[i] < 0 || p->indexes[i] >= MAX_SLOTS)
            return flt_fail(e, FLINTRT_ERR_FORMAT, "ngram_indexes[%" PRId64 "] = %" PRId64 " is out of range", i, p->indexes[i]);
        if (p->indexes[i] + 1 > p->out_size) p->out_size = p->indexes[i] + 1;
    }
    return FLINTRT_OK;
}

static void k_tfidf(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const tfidf_params *p = k->params;
    const flt_onnx_tinfo *X = &k->in[0];
    flt_dtype dt = X->dtype;
    const void *in = flt_onnx_in(g, n, 0);
    float *out = flt_onnx_out(g, n, 0);
    int64_t rows = X->ndim == 2 ? X->dims[0] : 1, len = X->dims[X->ndim - 1];
    long long lo, hi;
    flt_split(rows, ith, nth, &lo, &hi);
    for (long long r = lo; r < hi; r++) {
        float *y = out + r * p->out_size;
        memset(y, 0, (size_t)p->out_size * sizeof *y);
        int64_t base = r * len;
        for (int64_t gn = p->min_n; gn <= p->max_n && gn <= p->n_levels; gn++) {
            int64_t start = p->counts[gn - 1], end = gn < p->n_counts ? p->counts[gn] : p->n_pool;
            int64_t first_ord = 0;
            for (int64_t l = 0; l < gn - 1; l++) {
                int64_t ls = p->counts[l], le = l + 1 < p->n_counts ? p->counts[l + 1] : p->n_pool;
                first_ord += (le - ls) / (l + 1);
            }
            for (int64_t skip = 0; skip <= (gn == 1 ? 0 : p->max_skip); skip++) {
                int64_t span = (gn - 1) * (skip + 1);
                for (int64_t s = 0; s + span < len; s++) {
                    for (int64_t q = start, ord = first_ord; q < end; q += gn, ord++) {
                        bool match = true;
                        for (int64_t j = 0; j < gn && match; j++)
                            match = flt_onnx_get_i64(dt, in, base + s + j * (skip + 1)) == p->pool[q + j];
                        if (match) {
                            y[p->indexes[ord]] += 1;
                            break;
                        }
                    }
                }
            }
        }
        if (p->mode != TF_TF) {
            for (int64_t i = 0; i < p->n_indexes; i++) {
                int64_t slot = p->indexes[i];
                float w = p->weights ? p->weights[i] : 1.0f;
                if (p->mode == TF_IDF) y[slot] = y[slot] > 0 ? w : 0;
                else y[slot] *= w;
            }
        }
    }
}

static flintrt_status infer_tfidf(flt_onnx_infer *x) {
    const tfidf_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0];
    if (X->dtype != FLT_I32 && X->dtype != FLT_I64) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must be int32 or int64");
    if (X->ndim != 1 && X->ndim != 2) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input must be [C] or [N, C]");
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = FLT_F32;
    o->ndim = X->ndim;
    if (X->ndim == 2) o->dims[0] = X->dims[0];
    o->dims[X->ndim - 1] = p->out_size;
    return FLINTRT_OK;
}

const flt_onnx_op flt_onnx_ops_text[] = {
    {"", "TfIdfVectorizer", 9, 0, sizeof(tfidf_params), parse_tfidf, infer_tfidf, {"TfIdfVectorizer", k_tfidf}, NULL, 0, 1},
};
const int flt_onnx_ops_text_count = (int)(sizeof flt_onnx_ops_text / sizeof flt_onnx_ops_text[0]);
