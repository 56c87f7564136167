/* The CPU implementation of each graph op. Each function computes the share
 * [lo, hi) of its rows that falls to thread ith; the arithmetic for one output
 * element never depends on how rows were split, so results are bit-identical
 * for any thread count. Everything here except the dot products is plain C and
 * is the reference the tests check against; the dot products come from the
 * kernel table (src/cpu/kernels.h), whose scalar set is the oracle. */
#include <math.h>
#include <string.h>

#include "cpu/attention.h"
#include "graph/plan.h"

static const flt_tensor *val(const flt_graph *g, int v) { return &g->values[v].t; }

static void op_get_rows(const flt_graph *g, const flt_node *n, const flt_kernels *k, int ith, int nth) {
    const flt_tensor *tab = val(g, n->src[0]), *ids = val(g, n->src[1]), *out = val(g, n->out);
    int64_t rows = tab->shape[0], d = tab->shape[1];
    size_t row_bytes = flt_tensor_row_bytes(tab);
    const int32_t *id = ids->data;
    long long lo, hi;
    flt_split(ids->shape[0], ith, nth, &lo, &hi);
    for (long long i = lo; i < hi; i++) {
        float *dst = (float *)out->data + i * d;
        /* Ids are validated at the API; a stray one yields zeros, never a wild read. */
        if (id[i] < 0 || id[i] >= rows) { memset(dst, 0, (size_t)d * sizeof *dst); continue; }
        const char *src = (const char *)tab->data + (size_t)id[i] * row_bytes;
        if (tab->dtype == FLT_F32) memcpy(dst, src, (size_t)d * sizeof *dst);
        else k->to_f32[tab->dtype](src, dst, d);
    }
}

static void op_rms_norm(const flt_graph *g, const flt_node *n, int ith, int nth) {
    const flt_tensor *x = val(g, n->src[0]), *out = val(g, n->out);
    const float *w = n->src[1] >= 0 ? val(g, n->src[1])->data : NULL;
    int64_t d = flt_tensor_row_len(x);
    float eps = n->fp[0];
    long long lo, hi;
    flt_split(flt_tensor_nrows(x), ith, nth, &lo, &hi);
    for (long long r = lo; r < hi; r++) {
        const float *a = (const float *)x->data + r * d;
        float *y = (float *)out->data + r * d;
        /* Eight running sums, so the adds do not wait on one another; in
         * double, so their order hardly matters. */
        double s[8] = {0};
        int64_t i = 0;
        for (; i + 8 <= d; i += 8)
            for (int j = 0; j < 8; j++) s[j] += (double)(a[i + j] * a[i + j]);
        for (; i < d; i++) s[0] += (double)(a[i] * a[i]);
        double sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        float mean = (float)(sum / (double)d);
        float scale = 1.0f / sqrtf(mean + eps);
        if (w)
            for (i = 0; i < d; i++) y[i] = (a[i] * scale) * w[i];
        else
            for (i = 0; i < d; i++) y[i] = a[i] * scale;
    }
}

static void op_convert(const flt_graph *g, const flt_node *n, const flt_kernels *k, int ith, int nth) {
    const flt_tensor *x = val(g, n->src[0]), *out = val(g, n->out);
    int64_t d = flt_tensor_row_len(x);
    size_t ob = flt_tensor_row_bytes(out);
    long long lo, hi;
    flt_split(flt_tensor_nrows(x), ith, nth, &lo, &hi);
    for (long long r = lo; r < hi; r++) {
        const float *a = (const float *)x->data + r * d;
        char *y = (char *)out->data + (size_t)r * ob;
        if (out->dtype == FLT_F32) memcpy(y, a, (size_t)d * sizeof *a);
        else k->from_f32[out->dtype](a, y, d);
    }
}

static const flt_packed_kernel *mul_mat_packed(const flt_tensor *w, const flt_kernels *k) {
    return w->packed && w->packed_for == (const void *)k ? k->packed[w->dtype] : NULL;
}

/* Where part j of nth starts among n units: parts shrink linearly, from about
 * 2n/nth units for the first to n/nth^2 for the last. The executor hands parts
 * out in order, so the parts still running when a thread runs out of work are
 * the small ones and threads finish a product close together. */
static int64_t shrinking_split(int64_t n, int j, int nth) {
    const int64_t left = (int64_t)(nth - j) * (nth - j), all = (int64_t)nth * nth;
    return n - (int64_t)((double)n * (double)left / (double)all);
}

/* The weight rows [*r0, *r1) of part ith of nth. Packed weights are split in
 * whole panels, so a part is one contiguous stretch of the packed copy. */
static void mul_mat_rows(const flt_tensor *w, const flt_packed_kernel *pk, int ith, int nth, int64_t *r0,
                         int64_t *r1) {
    const int64_t m = w->shape[0], P = pk ? pk->panel_rows : 1, units = (m + P - 1) / P;
    const int64_t lo = shrinking_split(units, ith, nth) * P, hi = shrinking_split(units, ith + 1, nth) * P;
    *r0 = lo < m ? lo : m;
    *r1 = hi < m ? hi : m;
}

bool flt_cpu_node_weights(const flt_graph *g, const flt_node *n, const flt_kernels *k, int ith, int nth,
                          const void **ptr, size_t *len) {
    if (n->op == FLT_OP_RMS_NORM && n->src[1] >= 0) {
        const flt_tensor *w = val(g, n->src[1]);
        *ptr = w->data;
        *len = flt_tensor_nbytes(w);
        return true;
    }
    if (n->op != FLT_OP_MUL_MAT) return false;
    const flt_tensor *w = val(g, n->src[0]);
    const flt_packed_kernel *pk = mul_mat_packed(w, k);
    int64_t r0, r1;
    mul_mat_rows(w, pk, ith, nth, &r0, &r1);
    if (r1 <= r0) return false;
    if (pk) {
        size_t pb = pk->panel_bytes(w->shape[1]);
        int64_t P = pk->panel_rows;
        *ptr = (const char *)w->packed + (size_t)(r0 / P) * pb;
        *len = (size_t)((r1 - r0 + P - 1) / P) * pb;
    } else {
        size_t wb = flt_tensor_row_bytes(w);
        *ptr = (const char *)w->data + (size_t)r0 * wb;
        *len = (size_t)(r1 - r0) * wb;
    }
    return true;
}

static void op_mul_mat(const flt_graph *g, const flt_node *n, const flt_kernels *k, int ith, int nth) {
    const flt_tensor *w = val(g, n->src[0]), *x = val(g, n->src[1]), *out = val(g, n->out);
    int64_t kk = w->shape[1], nt = x->shape[0], m = w->shape[0];
    size_t wb = flt_tensor_row_bytes(w), xb = flt_tensor_row_bytes(x);
    flt_vec_dot_fn dot = k->vec_dot[w->dtype];
    flt_gemm_fn gemm = k->gemm[w->dtype];
    float *o = out->data;
    /* Tokens go in blocks whose activations fit in about half of a 2 MiB L2
     * cache, so the weights a thread reads from memory serve a whole block. */
    int64_t tb = (int64_t)(((size_t)1 << 20) / (xb ? xb : 1));
    if (tb < 16) tb = 16;
    const flt_packed_kernel *pk = mul_mat_packed(w, k);
    if (pk) {
        /* Weights repacked at load (cpu/packed.h): a thread's share is a run of
         * whole panels, one contiguous stretch of memory. */
        int64_t r0, r1;
        mul_mat_rows(w, pk, ith, nth, &r0, &r1);
        if (r1 <= r0) return;
        for (int64_t t0 = 0; t0 < nt; t0 += tb) {
            int64_t nb = nt - t0 < tb ? nt - t0 : tb;
            pk->gemm(kk, w->packed, r0, r1 - r0, (const char *)x->data + (size_t)t0 * xb, xb, nb, &o[t0 * m + r0], m);
        }
        return;
    }
    /* Each thread owns a band of weight rows; inside it, a small block of rows
     * is reused across all tokens while it is in cache. */
    int64_t lo, hi;
    mul_mat_rows(w, NULL, ith, nth, &lo, &hi);
    enum { RB = 16 };
    if (gemm) {
        /* The kernel tiles the band x token block in registers. The result
         * of each element does not depend on the blocking (kernels.h). */
        enum { GB = 32 };   /* weight rows per call: stay in L1/L2 while a token block passes */
        for (int64_t t0 = 0; t0 < nt; t0 += tb) {
            int64_t nb = nt - t0 < tb ? nt - t0 : tb;
            for (int64_t r0 = lo; r0 < hi; r0 += GB) {
                int64_t nr = hi - r0 < GB ? hi - r0 : GB;
                gemm(kk, (const char *)w->data + (size_t)r0 * wb, wb, nr, (const char *)x->data + (size_t)t0 * xb, xb,
                     nb, &o[t0 * m + r0], m);
            }
        }
        return;
    }
    for (int64_t r0 = lo; r0 < hi; r0 += RB) {
        int64_t r1 = r0 + RB < hi ? r0 + RB : hi;
        for (int64_t t = 0; t < nt; t++) {
            const char *xr = (const char *)x->data + (size_t)t * xb;
            for (int64_t r = r0; r < r1; r++)
                dot(kk, (const char *)w->data + (size_t)r * wb, xr, &o[t * m + r]);
        }
    }
}

static void op_add(const flt_graph *g, const flt_node *n, int ith, int nth) {
    const float *a = val(g, n->src[0])->data, *b = val(g, n->src[1])->data;
    const flt_tensor *out = val(g, n->out);
    float *y = out->data;
    long long lo, hi;
    flt_split(flt_tensor_nelem(out), ith, nth, &lo, &hi);
    for (long long i = lo; i < hi; i++) y[i] = a[i] + b[i];
}

static void op_swiglu(const flt_graph *g, const flt_node *n, const flt_kernels *k, int ith, int nth) {
    const float *a = val(g, n->src[0])->data, *b = val(g, n->src[1])->data;
    const flt_tensor *out = val(g, n->out);
    float *y = out->data;
    long long lo, hi;
    flt_split(flt_tensor_nelem(out), ith, nth, &lo, &hi);
    if (k->swiglu) {
        k->swiglu(a + lo, b + lo, y + lo, hi - lo);
        return;
    }
    for (long long i = lo; i < hi; i++) y[i] = a[i] / (1.0f + expf(-a[i])) * b[i];
}

static void op_rope(const flt_graph *g, const flt_node *n, int ith, int nth) {
    const flt_tensor *x = val(g, n->src[0]), *out = val(g, n->out);
    const int32_t *pos = val(g, n->src[1])->data;
    const float *ff = n->src[2] >= 0 ? val(g, n->src[2])->data : NULL;
    int64_t nt = x->shape[0], nh = x->shape[1], hd = x->shape[2];
    int n_rot = n->ip[0];
    float base = n->fp[0], fscale = n->fp[1];
    float theta_scale = powf(base, -2.0f / (float)n_rot);
    /* The rotation of a pair depends on the token, not the head: one table of
     * cosines and sines per token serves all its heads. */
    float cs[FLT_ATTN_MAX_HEAD_DIM];
    int64_t cs_tok = -1;
    long long lo, hi;
    flt_split(nt * nh, ith, nth, &lo, &hi);
    for (long long th = lo; th < hi; th++) {
        int64_t t = th / nh;
        const float *a = (const float *)x->data + th * hd;
        float *y = (float *)out->data + th * hd;
        if (t != cs_tok) {
            /* The angle advances by repeated multiplication, as the GGUF
             * reference implementation does, so the rotations round the same way. */
            float theta = (float)pos[t];
            for (int i = 0; i < n_rot; i += 2) {
                float f = ff ? ff[i / 2] : 1.0f;
                float ang = fscale * (theta / f);
                cs[i] = cosf(ang);
                cs[i + 1] = sinf(ang);
                theta *= theta_scale;
            }
            cs_tok = t;
        }
        for (int i = 0; i < n_rot; i += 2) {
            float c = cs[i], s = cs[i + 1];
            float x0 = a[i], x1 = a[i + 1];
            y[i] = x0 * c - x1 * s;
            y[i + 1] = x0 * s + x1 * c;
        }
        for (int64_t i = n_rot; i < hd; i++) y[i] = a[i];
    }
}

/* Causal attention for one batch: tiled, with an online softmax
 * (src/cpu/attention.c); no score matrix is ever materialised, so memory stays
 * one small tile per thread however long the context. The scalar kernel set
 * selects the scalar oracle. */
static void op_attention(const flt_graph *g, const flt_node *n, const flt_kernels *k, int ith, int nth) {
    const flt_tensor *q = val(g, n->src[0]), *kc = val(g, n->src[1]), *vc = val(g, n->src[2]);
    flt_attn_args a = {
        .q = q->data, .k = kc->data, .v = vc->data, .kv_dtype = kc->dtype, .out = val(g, n->out)->data,
        .nt = q->shape[0], .nh = q->shape[1], .hd = q->shape[2], .nkv = kc->shape[1],
        .n_past = n->ip[0], .scale = n->fp[0], .kern = k,
        .simd = k != flt_kernels_scalar() && flt_attention_has_simd() && flt_cpu_has_avx2(),
    };
    long long lo, hi;
    flt_split(flt_attention_units(&a), ith, nth, &lo, &hi);
    for (long long u = lo; u < hi; u++) flt_attention_unit(&a, u);
}

void flt_cpu_node(const flt_graph *g, const flt_node *n, const flt_kernels *k, int ith, int nth) {
    switch (n->op) {
    case FLT_OP_GET_ROWS: op_get_rows(g, n, k, ith, nth); break;
    case FLT_OP_RMS_NORM: op_rms_norm(g, n, ith, nth); break;
    case FLT_OP_CONVERT: op_convert(g, n, k, ith, nth); break;
    case FLT_OP_MUL_MAT: op_mul_mat(g, n, k, ith, nth); break;
    case FLT_OP_ADD: op_add(g, n, ith, nth); break;
    case FLT_OP_SWIGLU: op_swiglu(g, n, k, ith, nth); break;
    case FLT_OP_ROPE: op_rope(g, n, ith, nth); break;
    case FLT_OP_ATTENTION: op_attention(g, n, k, ith, nth); break;
    case FLT_OP_CUSTOM: n->desc->run(g, n, k, ith, nth); break;
    case FLT_OP_COUNT: break;
    }
}
