#include "graph/graph.h"

#include <stdlib.h>
#include <string.h>

#include "core/checked.h"

static const char *const op_names[FLT_OP_COUNT] = {
    [FLT_OP_GET_ROWS] = "get_rows", [FLT_OP_RMS_NORM] = "rms_norm", [FLT_OP_MUL_MAT] = "mul_mat",
    [FLT_OP_CONVERT] = "convert",   [FLT_OP_ADD] = "add",           [FLT_OP_ROPE] = "rope",
    [FLT_OP_ATTENTION] = "attention", [FLT_OP_SWIGLU] = "swiglu",    [FLT_OP_CUSTOM] = "custom",
};

const char *flt_op_name(flt_op op) {
    return (unsigned)op < FLT_OP_COUNT ? op_names[op] : "?";
}

void flt_graph_init(flt_graph *g) {
    memset(g, 0, sizeof *g);
    g->conv_src = g->conv_out = -1;
}

void flt_graph_reset(flt_graph *g) {
    g->conv_src = g->conv_out = -1;
    g->n_values = 0;
    g->n_nodes = 0;
    flt_err_clear(&g->err);
}

void flt_graph_free(flt_graph *g) {
    if (!g) return;
    free(g->values);
    free(g->nodes);
    flt_graph_init(g);
}

static bool failed(const flt_graph *g) { return g->err.status != FLINTRT_OK; }

static bool valid(flt_graph *g, int v) {
    if (failed(g)) return false;
    if (v < 0 || v >= g->n_values) {
        flt_fail(&g->err, FLINTRT_ERR_INTERNAL, "graph: bad value id %d", v);
        return false;
    }
    return true;
}

static int add_value(flt_graph *g, const flt_value *val) {
    if (failed(g)) return -1;
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 256;
        flt_value *nv = realloc(g->values, (size_t)cap * sizeof *nv);
        if (!nv) { flt_fail(&g->err, FLINTRT_ERR_OUT_OF_MEMORY, "graph values"); return -1; }
        g->values = nv;
        g->cap_values = cap;
    }
    g->values[g->n_values] = *val;
    return g->n_values++;
}

int flt_graph_external(flt_graph *g, const flt_tensor *t) {
    flt_value v = {.t = *t, .kind = FLT_VALUE_EXTERNAL, .base = -1, .producer = -1};
    return add_value(g, &v);
}

static int add_view(flt_graph *g, int base, const flt_tensor *t, size_t offset) {
    /* Views of views collapse onto the root, so the planner and executor only
     * ever resolve one level. */
    const flt_value *b = &g->values[base];
    if (b->kind == FLT_VALUE_VIEW) { offset += b->view_offset; base = b->base; }
    flt_value v = {.t = *t, .kind = FLT_VALUE_VIEW, .base = base, .view_offset = offset,
                   .producer = -1};
    return add_value(g, &v);
}

int flt_graph_view_rows(flt_graph *g, int v, int64_t r0, int64_t n) {
    if (!valid(g, v)) return -1;
    flt_tensor t = g->values[v].t, out;
    t.data = NULL;
    if (flt_tensor_view_rows(&t, r0, n, &out, &g->err)) return -1;
    return add_view(g, v, &out, (size_t)r0 * flt_tensor_row_bytes(&t));
}

int flt_graph_reshape(flt_graph *g, int v, int ndim, const int64_t *shape) {
    if (!valid(g, v)) return -1;
    flt_tensor out;
    if (flt_tensor_reshape(&g->values[v].t, ndim, shape, &out, &g->err)) return -1;
    out.data = NULL;
    return add_view(g, v, &out, 0);
}

static int add_node(flt_graph *g, flt_op op, const int *src, int n_src, int out) {
    if (failed(g)) return -1;
    if (n_src > FLT_NODE_MAX_SRC) {
        flt_fail(&g->err, FLINTRT_ERR_INTERNAL, "graph: %d sources", n_src);
        return -1;
    }
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 128;
        flt_node *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn) { flt_fail(&g->err, FLINTRT_ERR_OUT_OF_MEMORY, "graph nodes"); return -1; }
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    flt_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->n_src = n_src;
    for (int i = 0; i < FLT_NODE_MAX_SRC; i++) n->src[i] = i < n_src ? src[i] : -1;
    n->out = out;
    n->scratch = -1;
    return g->n_nodes++;
}

int flt_graph_node(flt_graph *g, flt_op op, const int *src, int n_src, flt_dtype dtype, int ndim,
                   const int64_t *shape) {
    for (int i = 0; i < n_src; i++)
        if (src[i] != -1 && !valid(g, src[i])) return -1;
    if (failed(g)) return -1;
    flt_value v = {.kind = FLT_VALUE_PLANNED, .base = -1, .producer = g->n_nodes};
    if (flt_tensor_init(&v.t, dtype, ndim, shape, NULL, &g->err)) return -1;
    int id = add_value(g, &v);
    if (id < 0 || add_node(g, op, src, n_src, id) < 0) return -1;
    return id;
}

int flt_graph_node_into(flt_graph *g, flt_op op, const int *src, int n_src, int dst) {
    for (int i = 0; i < n_src; i++)
        if (src[i] != -1 && !valid(g, src[i])) return -1;
    if (!valid(g, dst)) return -1;
    if (add_node(g, op, src, n_src, dst) < 0) return -1;
    return dst;
}

int flt_graph_custom(flt_graph *g, const flt_op_desc *desc, const void *params, const int *src, int n_src,
                     flt_dtype dtype, int ndim, const int64_t *shape) {
    if (failed(g)) return -1;
    if (!desc || !desc->run) {
        flt_fail(&g->err, FLINTRT_ERR_INTERNAL, "graph: custom op without a kernel");
        return -1;
    }
    int out = flt_graph_node(g, FLT_OP_CUSTOM, src, n_src, dtype, ndim, shape);
    if (out < 0) return -1;
    flt_node *n = flt_graph_last_node(g);
    n->desc = desc;
    n->params = params;
    return out;
}

int flt_graph_node_scratch(flt_graph *g, size_t bytes) {
    if (failed(g)) return -1;
    flt_node *n = flt_graph_last_node(g);
    if (!n) {
        flt_fail(&g->err, FLINTRT_ERR_INTERNAL, "graph: scratch without a node");
        return -1;
    }
    if (bytes > (size_t)INT64_MAX) {
        flt_fail(&g->err, FLINTRT_ERR_LIMIT, "graph: scratch of %zu bytes", bytes);
        return -1;
    }
    flt_value v = {.kind = FLT_VALUE_PLANNED, .base = -1, .producer = g->n_nodes - 1};
    int64_t shape[1] = {(int64_t)(bytes ? bytes : 1)};
    if (flt_tensor_init(&v.t, FLT_U8, 1, shape, NULL, &g->err)) return -1;
    int id = add_value(g, &v);
    if (id >= 0) g->nodes[g->n_nodes - 1].scratch = id;
    return id;
}

void flt_graph_set_output(flt_graph *g, int v) {
    if (valid(g, v)) g->values[v].output = true;
}

flt_node *flt_graph_last_node(flt_graph *g) {
    return g->n_nodes ? &g->nodes[g->n_nodes - 1] : NULL;
}
