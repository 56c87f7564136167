/* The graph IR: values (tensors) and nodes (ops) in execution order.
 *
 * A value is one of
 * - external: its data is supplied by the caller (weights in the mapping, token
 *   ids, positions, the KV cache);
 * - a view: a row range or reshape of another value (shares its bytes);
 * - planned: produced by a node into the session's arena, at an offset chosen by
 *   the memory planner (src/graph/plan.c) from the lifetimes of all values.
 * Nodes are appended in an order where every input already exists, and run in
 * that order; an op that writes into an external value (the KV cache) is placed
 * before the ops that read it. */
#ifndef FLT_GRAPH_GRAPH_H
#define FLT_GRAPH_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/tensor.h"

typedef enum flt_op {
    FLT_OP_GET_ROWS = 0,  /* src0 table [n, d] any dtype, src1 ids I32 [m] -> F32 [m, d] */
    FLT_OP_RMS_NORM,      /* src0 x F32 [.., d], src1 weight F32 [d] (optional, -1) ; fp[0]=eps */
    FLT_OP_MUL_MAT,       /* src0 weight [m, k] any dtype, src1 x [n, k] in the weight's dot type -> F32 [n, m] */
    FLT_OP_CONVERT,       /* src0 F32 [.., k] -> out dtype (activation quantization, KV store) */
    FLT_OP_ADD,           /* src0 + src1, same shape, F32 */
    FLT_OP_ROPE,          /* src0 F32 [n, heads, hd], src1 positions I32 [n], src2 freq factors F32 [n_rot/2] or -1;
                             ip[0]=n_rot, fp[0]=freq_base, fp[1]=freq_scale */
    FLT_OP_ATTENTION,     /* src0 q F32 [n, H, hd], src1 K cache [ctx, Hkv, hd], src2 V cache [ctx, Hkv, hd] (F32 or F16);
                             ip[0]=n_past (keys before this batch), fp[0]=scale; causal -> F32 [n, H*hd] */
    FLT_OP_SWIGLU,        /* silu(src0) * src1, F32, same shape */
    FLT_OP_CUSTOM,        /* an op defined outside the core: node->desc runs it, node->params configures it */
    FLT_OP_COUNT
} flt_op;

#define FLT_NODE_MAX_SRC 16 /* format importers split wider variadic ops */
#define FLT_ATTN_MAX_HEAD_DIM 1024 /* attention keeps one head row on the stack; also caps rope's rotary dims */

typedef enum flt_value_kind {
    FLT_VALUE_EXTERNAL = 0,
    FLT_VALUE_VIEW,
    FLT_VALUE_PLANNED,
} flt_value_kind;

typedef struct flt_value {
    flt_tensor t;           /* data is resolved at execution for planned/views */
    flt_value_kind kind;
    int base;               /* views: the value viewed */
    size_t view_offset;     /* views: bytes from the base's data */
    int producer;           /* node index, or -1 */
    bool output;            /* keep alive until the end (read by the caller) */
    size_t offset;          /* planned: arena offset (set by the planner) */
} flt_value;

typedef struct flt_graph flt_graph;
typedef struct flt_node flt_node;
struct flt_kernels;

/* How an op defined outside the core (a format's operator set) runs. Its
 * kernel follows the same contract as the core ops: compute thread ith's share
 * of the output, the same bits whatever nth is. */
typedef struct flt_op_desc {
    const char *name;
    void (*run)(const flt_graph *g, const flt_node *n, const struct flt_kernels *k, int ith, int nth);
} flt_op_desc;

struct flt_node {
    flt_op op;
    int n_src;
    int src[FLT_NODE_MAX_SRC]; /* value ids, -1 if unused (an optional input) */
    int out;                   /* value id */
    int scratch;               /* planned value used only by this node as workspace, or -1 */
    int32_t ip[4];
    float fp[4];
    const flt_op_desc *desc;   /* FLT_OP_CUSTOM only */
    const void *params;        /* FLT_OP_CUSTOM: op attributes, owned by whoever built the graph */
};

struct flt_graph {
    flt_value *values;
    int n_values, cap_values;
    flt_node *nodes;
    int n_nodes, cap_nodes;
    flt_err err;            /* first build error; builders check it once at the end */
    /* The last activation conversion, so products sharing an input (Q, K, V)
     * quantize it once. Values are immutable once produced, so this is safe. */
    int conv_src, conv_out;
    flt_dtype conv_dtype;
};

void flt_graph_init(flt_graph *g);
void flt_graph_reset(flt_graph *g); /* forget values and nodes, keep the buffers */
void flt_graph_free(flt_graph *g);

/* Builders. On failure they record the first error in g->err and return -1;
 * later builder calls given -1 also return -1, so a builder function can check
 * once at the end. */
int flt_graph_external(flt_graph *g, const flt_tensor *t);
int flt_graph_view_rows(flt_graph *g, int v, int64_t r0, int64_t n);
int flt_graph_reshape(flt_graph *g, int v, int ndim, const int64_t *shape);
/* A node writing a new planned value of the given type/shape. */
int flt_graph_node(flt_graph *g, flt_op op, const int *src, int n_src, flt_dtype dtype, int ndim,
                   const int64_t *shape);
/* A node writing into an existing value (external or a view of one). */
int flt_graph_node_into(flt_graph *g, flt_op op, const int *src, int n_src, int dst);
/* A custom op (desc must outlive the graph) writing a new planned value. */
int flt_graph_custom(flt_graph *g, const flt_op_desc *desc, const void *params, const int *src, int n_src,
                     flt_dtype dtype, int ndim, const int64_t *shape);
/* Give the last node a workspace of `bytes` (planned, alive only during that node). */
int flt_graph_node_scratch(flt_graph *g, size_t bytes);
void flt_graph_set_output(flt_graph *g, int v);
flt_node *flt_graph_last_node(flt_graph *g);

/* Op helpers with shape checks (they fill ip/fp too). */
int flt_op_get_rows(flt_graph *g, int table, int ids);
int flt_op_rms_norm(flt_graph *g, int x, int weight, float eps);
/* Multiply x [n, k] by weight [m, k]^T, converting x to the weight's dot type
 * first when it differs from F32. */
int flt_op_mul_mat(flt_graph *g, int weight, int x);
int flt_op_convert_into(flt_graph *g, int x, int dst);
int flt_op_add(flt_graph *g, int a, int b);
int flt_op_rope(flt_graph *g, int x, int pos, int freq_factors, int n_rot, float base, float scale);
int flt_op_attention(flt_graph *g, int q, int k, int v, int n_past, float scale);
int flt_op_swiglu(flt_graph *g, int gate, int up);

const char *flt_op_name(flt_op op);

#endif
