/* Typed builders for each op: they check shapes and dtypes when the graph is
 * built, so the kernels can rely on them. */
#include "graph/graph.h"

static const flt_tensor *T(flt_graph *g, int v) { return &g->values[v].t; }

static bool ok(flt_graph *g, int v) {
    if (g->err.status != FLINTRT_OK) return false;
    if (v < 0 || v >= g->n_values) {
        flt_fail(&g->err, FLINTRT_ERR_INTERNAL, "graph: bad value id %d", v);
        return false;
    }
    return true;
}

static int bad(flt_graph *g, const char *op, const char *why) {
    if (g->err.status == FLINTRT_OK) flt_fail(&g->err, FLINTRT_ERR_INTERNAL, "graph: %s: %s", op, why);
    return -1;
}

int flt_op_get_rows(flt_graph *g, int table, int ids) {
    if (!ok(g, table) || !ok(g, ids)) return -1;
    const flt_tensor *t = T(g, table), *i = T(g, ids);
    if (t->ndim != 2 || i->ndim != 1 || i->dtype != FLT_I32) return bad(g, "get_rows", "shapes");
    const flt_dtype_traits *tr = flt_dtype_info(t->dtype);
    if (!tr || !tr->to_f32) return bad(g, "get_rows", "table dtype has no conversion");
    int64_t shape[2] = {i->shape[0], t->shape[1]};
    int src[2] = {table, ids};
    return flt_graph_node(g, FLT_OP_GET_ROWS, src, 2, FLT_F32, 2, shape);
}

int flt_op_rms_norm(flt_graph *g, int x, int weight, float eps) {
    if (!ok(g, x) || (weight >= 0 && !ok(g, weight))) return -1;
    const flt_tensor *t = T(g, x);
    if (t->dtype != FLT_F32) return bad(g, "rms_norm", "x must be F32");
    if (weight >= 0) {
        const flt_tensor *w = T(g, weight);
        if (w->dtype != FLT_F32 || flt_tensor_nelem(w) != flt_tensor_row_len(t))
            return bad(g, "rms_norm", "weight must be F32 with one value per column");
    }
    int src[2] = {x, weight};
    int out = flt_graph_node(g, FLT_OP_RMS_NORM, src, 2, FLT_F32, t->ndim, t->shape);
    if (out >= 0) flt_graph_last_node(g)->fp[0] = eps;
    return out;
}

int flt_op_convert_into(flt_graph *g, int x, int dst) {
    if (!ok(g, x) || !ok(g, dst)) return -1;
    const flt_tensor *a = T(g, x), *b = T(g, dst);
    if (a->dtype != FLT_F32) return bad(g, "convert", "source must be F32");
    if (flt_tensor_nelem(a) != flt_tensor_nelem(b) || flt_tensor_row_len(a) != flt_tensor_row_len(b))
        return bad(g, "convert", "shape mismatch");
    if (!flt_dtype_info(b->dtype) || (b->dtype != FLT_F32 && !flt_dtype_info(b->dtype)->from_f32))
        return bad(g, "convert", "no conversion to the destination type");
    int src[1] = {x};
    return flt_graph_node_into(g, FLT_OP_CONVERT, src, 1, dst);
}

int flt_op_mul_mat(flt_graph *g, int weight, int x) {
    if (!ok(g, weight) || !ok(g, x)) return -1;
    const flt_tensor *w = T(g, weight), *a = T(g, x);
    if (w->ndim != 2 || a->ndim != 2 || a->dtype != FLT_F32 || w->shape[1] != a->shape[1])
        return bad(g, "mul_mat", "shapes: weight [m, k], x F32 [n, k]");
    const flt_dtype_traits *tr = flt_dtype_info(w->dtype);
    if (!tr) return bad(g, "mul_mat", "weight dtype");
    int xa = x;
    if (tr->dot_type != FLT_F32) {
        /* The activations are quantized into the format the weight's dot
         * kernel pairs with, once for all products that share them. */
        if (g->conv_src == x && g->conv_dtype == tr->dot_type) {
            xa = g->conv_out;
        } else {
            int src[1] = {x};
            xa = flt_graph_node(g, FLT_OP_CONVERT, src, 1, tr->dot_type, 2, a->shape);
            if (xa < 0) return -1;
            g->conv_src = x;
            g->conv_dtype = tr->dot_type;
            g->conv_out = xa;
        }
        w = T(g, weight);
        a = T(g, x);
    }
    int64_t shape[2] = {a->shape[0], w->shape[0]};
    int src[2] = {weight, xa};
    return flt_graph_node(g, FLT_OP_MUL_MAT, src, 2, FLT_F32, 2, shape);
}

int flt_op_add(flt_graph *g, int a, int b) {
    if (!ok(g, a) || !ok(g, b)) return -1;
    const flt_tensor *ta = T(g, a), *tb = T(g, b);
    if (ta->dtype != FLT_F32 || tb->dtype != FLT_F32 || flt_tensor_nelem(ta) != flt_tensor_nelem(tb))
        return bad(g, "add", "operands must be F32 of one size");
    int src[2] = {a, b};
    return flt_graph_node(g, FLT_OP_ADD, src, 2, FLT_F32, ta->ndim, ta->shape);
}

int flt_op_swiglu(flt_graph *g, int gate, int up) {
    if (!ok(g, gate) || !ok(g, up)) return -1;
    const flt_tensor *ta = T(g, gate), *tb = T(g, up);
    if (ta->dtype != FLT_F32 || tb->dtype != FLT_F32 || flt_tensor_nelem(ta) != flt_tensor_nelem(tb))
        return bad(g, "swiglu", "operands must be F32 of one size");
    int src[2] = {gate, up};
    return flt_graph_node(g, FLT_OP_SWIGLU, src, 2, FLT_F32, ta->ndim, ta->shape);
}

int flt_op_rope(flt_graph *g, int x, int pos, int freq_factors, int n_rot, float base, float scale) {
    if (!ok(g, x) || !ok(g, pos) || (freq_factors >= 0 && !ok(g, freq_factors))) return -1;
    const flt_tensor *t = T(g, x), *p = T(g, pos);
    if (t->dtype != FLT_F32 || t->ndim != 3 || p->dtype != FLT_I32 || p->ndim != 1 ||
        p->shape[0] != t->shape[0])
        return bad(g, "rope", "x F32 [n, heads, hd] and positions I32 [n]");
    if (n_rot <= 0 || n_rot % 2 || n_rot > t->shape[2] || n_rot > FLT_ATTN_MAX_HEAD_DIM)
        return bad(g, "rope", "rotary dims");
    if (freq_factors >= 0) {
        const flt_tensor *f = T(g, freq_factors);
        if (f->dtype != FLT_F32 || flt_tensor_nelem(f) < n_rot / 2)
            return bad(g, "rope", "frequency factors must be F32 [n_rot/2]");
    }
    int src[3] = {x, pos, freq_factors};
    int out = flt_graph_node(g, FLT_OP_ROPE, src, 3, FLT_F32, 3, t->shape);
    if (out >= 0) {
        flt_node *n = flt_graph_last_node(g);
        n->ip[0] = n_rot;
        n->fp[0] = base;
        n->fp[1] = scale;
    }
    return out;
}

int flt_op_attention(flt_graph *g, int q, int k, int v, int n_past, float scale) {
    if (!ok(g, q) || !ok(g, k) || !ok(g, v)) return -1;
    const flt_tensor *tq = T(g, q), *tk = T(g, k), *tv = T(g, v);
    if (tq->dtype != FLT_F32 || tq->ndim != 3 || tk->ndim != 3 || tv->ndim != 3 ||
        !flt_tensor_same_shape(tk, tv) || tk->shape[2] != tq->shape[2] || tk->shape[1] <= 0 ||
        tq->shape[1] % tk->shape[1] != 0)
        return bad(g, "attention", "q [n, H, hd], k/v [ctx, Hkv, hd] with Hkv dividing H");
    if ((tk->dtype != FLT_F32 && tk->dtype != FLT_F16) || tv->dtype != tk->dtype)
        return bad(g, "attention", "K/V cache must be F32 or F16, both alike");
    if (tq->shape[2] > FLT_ATTN_MAX_HEAD_DIM) return bad(g, "attention", "head dimension above the cap");
    if (n_past < 0 || n_past + tq->shape[0] > tk->shape[0])
        return bad(g, "attention", "positions beyond the cache");
    int64_t shape[2] = {tq->shape[0], tq->shape[1] * tq->shape[2]};
    int src[3] = {q, k, v};
    int out = flt_graph_node(g, FLT_OP_ATTENTION, src, 3, FLT_F32, 2, shape);
    if (out >= 0) {
        flt_node *n = flt_graph_last_node(g);
        n->ip[0] = n_past;
        n->fp[0] = scale;
    }
    return out;
}
