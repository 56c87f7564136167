/* The ONNX executor: shape inference with concrete shapes, segments of core
 * graphs, eager evaluation of small known nodes, host ops with nested graphs,
 * and constant folding at load (see exec.h). */
#include "onnx/exec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "graph/plan.h"
#include "onnx/model_internal.h"
#include "onnx/registry.h"

#define EAGER_MAX_BYTES ((size_t)64 << 10)   /* nodes this small with known inputs run at once */
#define FOLD_MAX_BYTES ((size_t)16 << 20)    /* larger constant results are computed per run instead */
#define MAX_GRAPH_NESTING 32                 /* If/Loop inside If/Loop ... */

typedef struct rt_val {
    flt_onnx_tinfo ti;
    bool known;         /* ti is valid */
    const void *data;   /* readable now (bound, constant or computed) */
    bool pending;       /* produced by the current segment, not run yet */
    int core;           /* id in the current segment's core graph */
    int core_seg;       /* which segment `core` belongs to */
} rt_val;

typedef struct exec_env {
    flt_pool *pool;
    const flt_kernels *k;
    size_t eager_max;   /* nodes whose outputs fit run at once when their inputs are known */
} exec_env;

typedef struct flt_onnx_run {
    const flt_onnx_graph *g;
    struct flt_onnx_run *parent;
    const exec_env *env;
    flt_arena mem;
    rt_val *vals;
    flt_graph seg;      /* the segment being built */
    int seg_id;
    int seg_nodes;
    int cur_node;       /* index of the node being processed */
    bool fold;          /* load-time constant folding: only nodes with constant inputs */
    int nesting;
    flt_err *e;
} flt_onnx_run;

struct flt_onnx_session {
    const flt_onnx_model *m;
    flt_pool *pool;
    exec_env env;
    const void **bound;         /* per main-graph value: bound data or NULL */
    flt_onnx_tinfo *bound_ti;
    flt_arena out_mem;          /* outputs of the last run */
    flt_onnx_tinfo *out_ti;
    const void **out_data;
    bool has_outputs;
};

/* ---- small helpers ---- */

bool flt_onnx_tinfo_bytes(const flt_onnx_tinfo *t, size_t *out) {
    uint64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        if (t->dims[i] < 0 || !flt_mul_u64(n, (uint64_t)t->dims[i], &n)) return false;
    const flt_dtype_traits *tr = flt_dtype_info(t->dtype);
    if (!tr || !flt_mul_u64(n, tr->block_bytes, &n) || n > (uint64_t)INT64_MAX) return false;
    *out = (size_t)n;
    return true;
}

void flt_onnx_tinfo_str(const flt_onnx_tinfo *t, char *buf, size_t cap) {
    int w = snprintf(buf, cap, "%s[", flt_onnx_type_name(flt_onnx_type_of(t->dtype)));
    for (int i = 0; i < t->ndim && w >= 0 && (size_t)w < cap; i++)
        w += snprintf(buf + w, cap - (size_t)w, i ? ", %" PRId64 : "%" PRId64, t->dims[i]);
    if (w >= 0 && (size_t)w < cap) snprintf(buf + w, cap - (size_t)w, "]");
}

static flintrt_status node_fail(flt_err *e, const flt_onnx_node *n) {
    flt_err_prefix(e, "node '%s' (%s)", n->name, n->op_type);
    return e->status;
}

/* ---- infer helpers (op.h) ---- */

const void *flt_onnx_input_value(flt_onnx_infer *x, int i) {
    if (i < 0 || i >= x->k->n_in || x->k->in[i].ndim < 0) return NULL;
    const flt_onnx_node *n = x->k->node;
    const rt_val *v = &x->run->vals[n->in[i]];
    if (v->data && !v->pending) return v->data;
    x->need_values = true;
    return NULL;
}

flintrt_status flt_onnx_need(flt_onnx_infer *x, int i) {
    x->need_values = true;
    return flt_fail(x->e, FLINTRT_ERR_NOT_FOUND, "the value of input %d is not known yet", i);
}

flintrt_status flt_onnx_input_ints(flt_onnx_infer *x, int i, const int64_t **vals, int64_t *count) {
    const flt_onnx_tinfo *t = &x->k->in[i];
    if (i >= x->k->n_in || t->ndim < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d is missing", i);
    if (t->dtype != FLT_I64 && t->dtype != FLT_I32)
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d must be int64 or int32", i);
    const void *d = flt_onnx_input_value(x, i);
    if (!d) return flt_onnx_need(x, i);
    int64_t n = flt_onnx_nelem(t);
    int64_t *o = flt_onnx_alloc(x, (size_t)(n ? n : 1) * sizeof *o);
    if (!o) return x->e->status;
    for (int64_t k = 0; k < n; k++) o[k] = t->dtype == FLT_I64 ? flt_ld_i64(d, k) : flt_ld_i32(d, k);
    *vals = o;
    *count = n;
    return FLINTRT_OK;
}

flintrt_status flt_onnx_input_f64(flt_onnx_infer *x, int i, double *out, int64_t *count, int64_t cap) {
    const flt_onnx_tinfo *t = &x->k->in[i];
    if (i >= x->k->n_in || t->ndim < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d is missing", i);
    const void *d = flt_onnx_input_value(x, i);
    if (!d) return flt_onnx_need(x, i);
    int64_t n = flt_onnx_nelem(t);
    if (n > cap) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d has %" PRId64 " elements (at most %" PRId64 ")", i, n, cap);
    for (int64_t k = 0; k < n; k++) out[k] = flt_onnx_get_f64(t->dtype, d, k);
    *count = n;
    return FLINTRT_OK;
}

void *flt_onnx_alloc(flt_onnx_infer *x, size_t bytes) {
    return flt_arena_alloc(&x->run->mem, bytes, "op state", x->e);
}

void flt_onnx_set_output(flt_onnx_infer *x, int i, const void *data) {
    if (i >= 0 && i < FLT_ONNX_MAX_IO) x->out_value[i] = data;
}

flintrt_status flt_onnx_fail(flt_onnx_infer *x, flintrt_status st, const char *fmt, ...) {
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return flt_fail(x->e, st, "%s", buf);
}

flintrt_status flt_onnx_axis(flt_onnx_infer *x, int64_t axis, int rank, int *out) {
    if (axis < -(int64_t)rank || axis >= (int64_t)(rank ? rank : 0) || (rank == 0 && axis != 0 && axis != -1))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "axis %" PRId64 " is outside [-%d, %d)", axis, rank, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return FLINTRT_OK;
}

flintrt_status flt_onnx_broadcast(flt_onnx_infer *x, const flt_onnx_tinfo *a, const flt_onnx_tinfo *b,
                                  flt_onnx_tinfo *out) {
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    out->ndim = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1) out->dims[i] = da;
        else if (da == 1) out->dims[i] = db;
        else {
            char sa[128], sb[128];
            flt_onnx_tinfo_str(a, sa, sizeof sa);
            flt_onnx_tinfo_str(b, sb, sizeof sb);
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "shapes %s and %s do not broadcast", sa, sb);
        }
    }
    return FLINTRT_OK;
}

flintrt_status flt_onnx_want_type(flt_onnx_infer *x, int i, const flt_dtype *allowed, int n_allowed) {
    if (i >= x->k->n_in || x->k->in[i].ndim < 0) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "input %d is missing", i);
    for (int k = 0; k < n_allowed; k++)
        if (x->k->in[i].dtype == allowed[k]) return FLINTRT_OK;
    return flt_onnx_fail(x, FLINTRT_ERR_UNSUPPORTED, "input %d has type %s, not supported by this operator", i,
                         flt_onnx_type_name(flt_onnx_type_of(x->k->in[i].dtype)));
}

/* ---- kernel helpers ---- */

const void *flt_onnx_in(const flt_graph *g, const flt_node *n, int i) {
    if (i < 0 || i >= n->n_src || n->src[i] < 0) return NULL;
    return g->values[n->src[i]].t.data;
}

void *flt_onnx_out(const flt_graph *g, const flt_node *n, int i) {
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    char *base = g->values[n->out].t.data;
    return k->n_out == 1 ? base : base + k->out_off[i];
}

void *flt_onnx_scratch(const flt_graph *g, const flt_node *n) {
    return n->scratch >= 0 ? g->values[n->scratch].t.data : NULL;
}

/* ---- runs ---- */

static flintrt_status run_init(flt_onnx_run *r, const flt_onnx_graph *g, flt_onnx_run *parent, const exec_env *env,
                               flt_err *e) {
    memset(r, 0, sizeof *r);
    r->g = g;
    r->parent = parent;
    r->env = env;
    r->e = e;
    r->nesting = parent ? parent->nesting + 1 : 0;
    if (r->nesting > MAX_GRAPH_NESTING)
        return flt_fail(e, FLINTRT_ERR_LIMIT, "subgraphs nested deeper than %d", MAX_GRAPH_NESTING);
    flt_arena_init(&r->mem, 0);
    flt_graph_init(&r->seg);
    r->vals = flt_arena_array(&r->mem, (size_t)(g->n_values ? g->n_values : 1), sizeof *r->vals, "run values", e);
    if (!r->vals) return e->status;
    for (int i = 0; i < g->n_values; i++) {
        const flt_onnx_value *v = &g->values[i];
        rt_val *rv = &r->vals[i];
        rv->core = -1;
        rv->core_seg = -1;
        if (v->kind == FLT_ONNX_V_OUTER && parent) {
            const rt_val *pv = &parent->vals[v->outer];
            if (pv->known && pv->data && !pv->pending) {
                rv->ti = pv->ti;
                rv->known = true;
                rv->data = pv->data;
            }
        } else if (v->constant) {
            const flt_onnx_tensor *t = v->constant;
            rv->ti.dtype = t->dtype;
            rv->ti.ndim = t->ndim;
            memcpy(rv->ti.dims, t->dims, sizeof t->dims);
            rv->known = true;
            rv->data = t->data;
        }
    }
    return FLINTRT_OK;
}

static void run_free(flt_onnx_run *r) {
    flt_graph_free(&r->seg);
    flt_arena_free(&r->mem);
}

/* Plan, allocate and run a core graph on the pool. */
static flintrt_status exec_core(flt_onnx_run *r, flt_graph *g) {
    if (g->err.status) { *r->e = g->err; return r->e->status; }
    size_t bytes = 0;
    FLT_ONNX_TRY(flt_graph_plan(g, &bytes, r->e));
    void *arena = flt_arena_alloc(&r->mem, bytes, "segment arena", r->e);
    if (!arena) return r->e->status;
    flt_graph_bind(g, arena);
    flt_graph_run(g, r->env->pool, r->env->k);
    return FLINTRT_OK;
}

/* Run the pending segment: afterwards every value it produced is readable. */
static flintrt_status flush(flt_onnx_run *r) {
    if (!r->seg_nodes) return FLINTRT_OK;
    for (int i = 0; i < r->g->n_values; i++) {
        rt_val *v = &r->vals[i];
        if (v->pending && (r->g->values[i].last_use >= r->cur_node)) flt_graph_set_output(&r->seg, v->core);
    }
    FLT_ONNX_TRY(exec_core(r, &r->seg));
    for (int i = 0; i < r->g->n_values; i++) {
        rt_val *v = &r->vals[i];
        if (!v->pending) continue;
        v->data = r->seg.values[v->core].t.data;
        v->pending = false;
    }
    flt_graph_reset(&r->seg);
    r->seg_id++;
    r->seg_nodes = 0;
    return FLINTRT_OK;
}

/* The core graph id of value vid in graph cg, importing it as external. */
static int core_input(flt_onnx_run *r, flt_graph *cg, bool is_seg, int vid, int *tmp_ids) {
    rt_val *v = &r->vals[vid];
    if (is_seg && v->core_seg == r->seg_id && v->core >= 0) return v->core;
    if (!is_seg && tmp_ids[vid] >= 0) return tmp_ids[vid];
    flt_tensor t;
    int64_t n = flt_onnx_nelem(&v->ti);
    if (flt_tensor_init(&t, v->ti.dtype, 1, &n, (void *)v->data, &cg->err)) return -1;
    int id = flt_graph_external(cg, &t);
    if (is_seg) { v->core = id; v->core_seg = r->seg_id; }
    else tmp_ids[vid] = id;
    return id;
}

/* Output layout: one planned value, or a packed byte buffer with 64-aligned parts. */
static bool out_layout(flt_onnx_kctx *k, size_t *total) {
    size_t off = 0;
    for (int o = 0; o < k->n_out; o++) {
        size_t b = 0;
        if (k->out[o].ndim >= 0 && !flt_onnx_tinfo_bytes(&k->out[o], &b)) return false;
        k->out_off[o] = off;
        if (!flt_add_size(off, b, &off) || !flt_add_size(off, 63, &off)) return false;
        off &= ~(size_t)63;
    }
    *total = off;
    return true;
}

/* Add node (with kctx k) to core graph cg. Returns the core id of its output
 * (or pack) or -1. For a temp graph, outputs go into caller-given memory. */
static int add_core_node(flt_onnx_run *r, flt_graph *cg, bool is_seg, const flt_onnx_node *n, flt_onnx_kctx *k,
                         int *tmp_ids, void *tmp_out) {
    int src[FLT_ONNX_MAX_IO];
    for (int i = 0; i < n->n_in; i++) {
        src[i] = -1;
        if (n->in[i] >= 0 && k->in[i].ndim >= 0) src[i] = core_input(r, cg, is_seg, n->in[i], tmp_ids);
        if (n->in[i] >= 0 && src[i] < 0 && cg->err.status) return -1;
    }
    size_t total = 0;
    if (!out_layout(k, &total)) {
        flt_fail(&cg->err, FLINTRT_ERR_LIMIT, "outputs too large");
        return -1;
    }
    flt_dtype dt = FLT_U8;
    int64_t n1 = (int64_t)total, pack[2] = {(int64_t)total, 1};
    if (k->n_out == 1) { dt = k->out[0].dtype; n1 = flt_onnx_nelem(&k->out[0]); }
    int out;
    if (is_seg) {
        /* several outputs: a [bytes, 1] pack, each output a row range of it */
        out = k->n_out == 1 ? flt_graph_custom(cg, &n->op->kernel, k, src, n->n_in, dt, 1, &n1)
                            : flt_graph_custom(cg, &n->op->kernel, k, src, n->n_in, FLT_U8, 2, pack);
    } else {
        flt_tensor t;
        if (flt_tensor_init(&t, dt, 1, &n1, tmp_out, &cg->err)) return -1;
        int dst = flt_graph_external(cg, &t);
        out = flt_graph_node_into(cg, FLT_OP_CUSTOM, src, n->n_in, dst);
        if (out >= 0) {
            flt_node *cn = flt_graph_last_node(cg);
            cn->desc = &n->op->kernel;
            cn->params = k;
        }
    }
    if (out >= 0 && k->scratch_bytes) flt_graph_node_scratch(cg, k->scratch_bytes);
    return cg->err.status ? -1 : out;
}

static bool all_inputs_ready(const flt_onnx_run *r, const flt_onnx_node *n) {
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && (!r->vals[n->in[i]].data || r->vals[n->in[i]].pending)) return false;
    return true;
}

/* Evaluate node now in a one-node core graph; outputs into run memory. */
static flintrt_status eval_now(flt_onnx_run *r, const flt_onnx_node *n, flt_onnx_kctx *k) {
    size_t total = 0;
    if (!out_layout(k, &total)) return flt_fail(r->e, FLINTRT_ERR_LIMIT, "outputs too large");
    void *buf = flt_arena_alloc(&r->mem, total, "node output", r->e);
    if (!buf) return r->e->status;
    int *tmp_ids = malloc((size_t)(r->g->n_values ? r->g->n_values : 1) * sizeof *tmp_ids);
    if (!tmp_ids) return flt_fail(r->e, FLINTRT_ERR_OUT_OF_MEMORY, "eval");
    for (int i = 0; i < r->g->n_values; i++) tmp_ids[i] = -1;
    flt_graph tg;
    flt_graph_init(&tg);
    add_core_node(r, &tg, false, n, k, tmp_ids, buf);
    free(tmp_ids);
    flintrt_status st = exec_core(r, &tg);
    flt_graph_free(&tg);
    if (st) return st;
    for (int o = 0; o < n->n_out; o++) {
        if (n->out[o] < 0) continue;
        r->vals[n->out[o]].data = (char *)buf + (k->n_out == 1 ? 0 : k->out_off[o]);
    }
    return FLINTRT_OK;
}

/* ---- host ops ---- */

void *flt_onnx_host_alloc(flt_onnx_host *h, size_t bytes) {
    return flt_arena_alloc(&h->run->mem, bytes, "host op memory", h->e);
}

void flt_onnx_host_set_output(flt_onnx_host *h, int i, const flt_onnx_tinfo *info, const void *data) {
    if (i < 0 || i >= h->n_out || h->node->out[i] < 0) return;
    rt_val *v = &h->run->vals[h->node->out[i]];
    v->ti = *info;
    v->known = true;
    v->data = data;
    v->pending = false;
}

flt_onnx_seq *flt_onnx_host_seq(flt_onnx_host *h, int64_t n, uint8_t elem_kind) {
    if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(flt_onnx_tinfo)) {
        flt_fail(h->e, FLINTRT_ERR_LIMIT, "sequence of %" PRId64 " elements", n);
        return NULL;
    }
    flt_onnx_seq *s = flt_arena_alloc(&h->run->mem, sizeof *s, "sequence", h->e);
    flt_onnx_tinfo *ti = s ? flt_arena_array(&h->run->mem, (size_t)(n ? n : 1), sizeof *ti, "sequence", h->e) : NULL;
    const void **d = ti ? flt_arena_array(&h->run->mem, (size_t)(n ? n : 1), sizeof *d, "sequence", h->e) : NULL;
    if (!d) return NULL;
    s->n = n;
    s->elem_kind = elem_kind;
    s->ti = ti;
    s->data = (const void *const *)d;
    return s;
}

static flintrt_status run_graph(flt_onnx_run *r);

flintrt_status flt_onnx_host_run_graph(flt_onnx_host *h, const flt_onnx_graph *g, int n_in,
                                       const flt_onnx_tinfo *in_info, const void *const *in_data, int n_out,
                                       flt_onnx_tinfo *out_info, const void **out_data) {
    flt_err *e = h->e;
    if (n_in != g->n_inputs)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "subgraph '%s' has %d inputs, %d given", g->name, g->n_inputs, n_in);
    if (n_out != g->n_outputs)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "subgraph '%s' has %d outputs, %d expected", g->name, g->n_outputs, n_out);
    flt_onnx_run sub;
    flintrt_status st = run_init(&sub, g, h->run, h->run->env, e);
    for (int i = 0; !st && i < n_in; i++) {
        rt_val *v = &sub.vals[g->inputs[i]];
        const flt_onnx_value *decl = &g->values[g->inputs[i]];
        v->ti = in_info[i];
        v->known = true;
        v->data = in_data[i];
        if (decl->has_type && decl->n_wrap && decl->wrap[0] == FLT_ONNX_KIND_OPTIONAL &&
            in_info[i].kind != FLT_ONNX_KIND_OPTIONAL) {
            /* a T where optional(T) is declared (a Loop carrying optional(seq) whose body returns seq): wrap it */
            flt_onnx_seq *w = flt_onnx_host_seq(h, 1, in_info[i].kind);
            if (!w) { st = e->status; break; }
            ((flt_onnx_tinfo *)w->ti)[0] = in_info[i];
            ((const void **)w->data)[0] = in_data[i];
            v->ti = (flt_onnx_tinfo){.dtype = in_info[i].dtype, .ndim = 0, .kind = FLT_ONNX_KIND_OPTIONAL};
            v->data = w;
        }
    }
    if (!st) st = run_graph(&sub);
    for (int i = 0; !st && i < n_out; i++) {
        const rt_val *v = &sub.vals[g->outputs[i]];
        size_t b = 0;
        if (!v->known || !v->data || !flt_onnx_tinfo_bytes(&v->ti, &b)) {
            st = flt_fail(e, FLINTRT_ERR_INTERNAL, "subgraph '%s': output %d not computed", g->name, i);
            break;
        }
        /* deep: a sequence's elements live in the subgraph's run memory */
        const void *copy;
        if ((st = flt_onnx_value_copy(&h->run->mem, &v->ti, v->data, &copy, e))) break;
        out_info[i] = v->ti;
        out_data[i] = copy;
    }
    run_free(&sub);
    if (st) flt_err_prefix(e, "subgraph '%s'", g->name);
    return st;
}

/* ---- the node loop ---- */

static flintrt_status fill_inputs(flt_onnx_run *r, const flt_onnx_node *n, flt_onnx_kctx *k) {
    k->node = n;
    k->params = n->params;
    k->n_in = n->n_in;
    k->n_out = n->n_out;
    for (int i = n->n_in; i < FLT_ONNX_MAX_IO; i++) k->in[i].ndim = -1;
    for (int i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0) { k->in[i].ndim = -1; continue; }
        const rt_val *v = &r->vals[n->in[i]];
        if (!v->known) {
            if (r->fold) return FLINTRT_ERR_NOT_FOUND;
            return flt_fail(r->e, FLINTRT_ERR_INVALID_ARGUMENT, "input '%s' has no value (not bound?)",
                            r->g->values[n->in[i]].name);
        }
        k->in[i] = v->ti;
    }
    for (int o = 0; o < n->n_out; o++) k->out[o].ndim = -1;
    return FLINTRT_OK;
}

static flintrt_status run_host(flt_onnx_run *r, const flt_onnx_node *n, flt_onnx_kctx *k) {
    FLT_ONNX_TRY(flush(r));
    flt_onnx_host h = {.node = n, .params = n->params, .run = r, .n_in = n->n_in, .n_out = n->n_out, .e = r->e};
    for (int i = 0; i < n->n_in; i++) {
        h.in[i] = k->in[i];
        h.in_data[i] = n->in[i] >= 0 ? r->vals[n->in[i]].data : NULL;
    }
    FLT_ONNX_TRY(n->op->host(&h));
    for (int o = 0; o < n->n_out; o++)
        if (n->out[o] >= 0 && !r->vals[n->out[o]].data)
            return flt_fail(r->e, FLINTRT_ERR_INTERNAL, "output %d was not produced", o);
    return FLINTRT_OK;
}

/* A sequence/optional input reaches only operators that take them; Identity
 * (defined on every type) passes it through. *done: handled here. */
static flintrt_status non_tensor_inputs(flt_onnx_run *r, const flt_onnx_node *n, const flt_onnx_kctx *k, bool *done) {
    *done = false;
    int first = -1;
    for (int i = 0; i < n->n_in && first < 0; i++)
        if (k->in[i].ndim >= 0 && k->in[i].kind != FLT_ONNX_KIND_TENSOR) first = i;
    if (first < 0 || (n->op->flags & FLT_ONNX_OP_ANY_VALUE)) return FLINTRT_OK;
    if (!strcmp(n->op_type, "Identity") && !n->domain[0] && n->n_in == 1 && n->n_out == 1) {
        if (n->out[0] >= 0) {
            rt_val *v = &r->vals[n->out[0]];
            v->ti = k->in[0];
            v->known = true;
            v->data = r->vals[n->in[0]].data;
        }
        *done = true;
        return FLINTRT_OK;
    }
    return flt_fail(r->e, FLINTRT_ERR_FORMAT, "input %d ('%s') is a %s; %s takes tensors", first,
                    r->g->values[n->in[first]].name, flt_onnx_kind_name(k->in[first].kind), n->op_type);
}

static flintrt_status run_node(flt_onnx_run *r, int ni) {
    const flt_onnx_node *n = &r->g->nodes[ni];
    r->cur_node = ni;
    flt_onnx_kctx *k = flt_arena_alloc(&r->mem, sizeof *k, "node context", r->e);
    if (!k) return r->e->status;
    flintrt_status st = fill_inputs(r, n, k);
    if (st) return st;
    const flt_onnx_op *op = n->op;
    if (!op) return flt_fail(r->e, FLINTRT_ERR_UNSUPPORTED, "operator not supported");
    /* operators are pure: a node without outputs has nothing to compute (and
     * kernels may assume their output 0 exists) */
    if (n->n_out == 0) return FLINTRT_OK;
    bool done;
    FLT_ONNX_TRY(non_tensor_inputs(r, n, k, &done));
    if (done) return FLINTRT_OK;
    if (op->host) {
        if (r->fold) return FLINTRT_ERR_NOT_FOUND;
        return run_host(r, n, k);
    }
    flt_onnx_infer x;
    for (int attempt = 0;; attempt++) {
        memset(&x, 0, sizeof x);
        x.k = k;
        x.run = r;
        x.opset = n->opset;
        x.e = r->e;
        for (int o = 0; o < n->n_out; o++) k->out[o].ndim = -1;
        k->state = NULL;
        k->scratch_bytes = 0;
        st = op->infer(&x);
        if (!st) break;
        if (x.need_values && r->fold) return FLINTRT_ERR_NOT_FOUND;
        if (x.need_values && attempt == 0 && r->seg_nodes) {
            flt_err_clear(r->e);
            FLT_ONNX_TRY(flush(r));
            continue;
        }
        return st;
    }
    bool direct = n->n_out > 0;
    for (int o = 0; o < n->n_out; o++) {
        size_t b;
        if (k->out[o].ndim < 0 || k->out[o].ndim > FLT_ONNX_MAX_DIMS || !flt_onnx_tinfo_bytes(&k->out[o], &b))
            return flt_fail(r->e, FLINTRT_ERR_INTERNAL, "output %d has no valid shape after inference", o);
        if (!x.out_value[o]) direct = false;
    }
    for (int o = 0; o < n->n_out; o++) {
        if (n->out[o] < 0) continue;
        rt_val *v = &r->vals[n->out[o]];
        v->ti = k->out[o];
        v->known = true;
    }
    if (direct) {
        for (int o = 0; o < n->n_out; o++)
            if (n->out[o] >= 0) r->vals[n->out[o]].data = x.out_value[o];
        return FLINTRT_OK;
    }
    if (op->flags & FLT_ONNX_OP_ALIAS) {
        if (n->n_out < 1 || n->out[0] < 0) return FLINTRT_OK;
        if (n->n_in < 1 || n->in[0] < 0) return flt_fail(r->e, FLINTRT_ERR_FORMAT, "alias node without an input");
        const rt_val *in = &r->vals[n->in[0]];
        rt_val *v = &r->vals[n->out[0]];
        if (in->ti.dtype != v->ti.dtype || flt_onnx_nelem(&in->ti) != flt_onnx_nelem(&v->ti))
            return flt_fail(r->e, FLINTRT_ERR_INTERNAL, "alias changes the size");
        v->data = in->data;
        v->pending = in->pending;
        v->core = in->core;
        v->core_seg = in->core_seg;
        return FLINTRT_OK;
    }
    if (!op->kernel.run) return flt_fail(r->e, FLINTRT_ERR_INTERNAL, "operator has no kernel for these inputs");
    size_t total = 0;
    if (!out_layout(k, &total)) return flt_fail(r->e, FLINTRT_ERR_LIMIT, "outputs too large");
    if (r->fold && total > FOLD_MAX_BYTES) return FLINTRT_ERR_NOT_FOUND; /* too large to keep: computed per run */
    if (r->fold || (all_inputs_ready(r, n) && total <= r->env->eager_max)) return eval_now(r, n, k);
    int out = add_core_node(r, &r->seg, true, n, k, NULL, NULL);
    if (out < 0) { *r->e = r->seg.err; return r->e->status; }
    r->seg_nodes++;
    for (int o = 0; o < n->n_out; o++) {
        if (n->out[o] < 0) continue;
        rt_val *v = &r->vals[n->out[o]];
        v->pending = true;
        v->core_seg = r->seg_id;
        if (n->n_out == 1) {
            v->core = out;
        } else {
            size_t b = 0;
            flt_onnx_tinfo_bytes(&k->out[o], &b);
            int vr = flt_graph_view_rows(&r->seg, out, (int64_t)k->out_off[o], (int64_t)b);
            if (vr < 0) { *r->e = r->seg.err; return r->e->status; }
            v->core = vr;
        }
    }
    return FLINTRT_OK;
}

static flintrt_status run_graph(flt_onnx_run *r) {
    for (int ni = 0; ni < r->g->n_nodes; ni++) {
        const flt_onnx_node *n = &r->g->nodes[ni];
        if (n->folded) continue;
        flintrt_status st = run_node(r, ni);
        if (st) return node_fail(r->e, n);
    }
    r->cur_node = r->g->n_nodes;
    return flush(r);
}

/* ---- constant folding at load ---- */

static flintrt_status fold_graph(flt_onnx_model *m, const flt_onnx_graph *gc, const exec_env *env, flt_err *e) {
    flt_onnx_graph *g = (flt_onnx_graph *)gc;
    /* subgraphs first: they fold their own Constant nodes */
    for (int ni = 0; ni < g->n_nodes; ni++) {
        const flt_onnx_node *n = &g->nodes[ni];
        for (int a = 0; a < n->n_attr; a++) {
            const flt_onnx_attr *at = &n->attrs[a];
            if (at->type == FLT_ONNX_ATTR_GRAPH) FLT_ONNX_TRY(fold_graph(m, at->g, env, e));
            if (at->type == FLT_ONNX_ATTR_GRAPHS)
                for (int64_t k = 0; k < at->n; k++) FLT_ONNX_TRY(fold_graph(m, at->graphs[k], env, e));
        }
    }
    flt_onnx_run r;
    flintrt_status st = run_init(&r, g, NULL, env, e);
    if (st) { run_free(&r); return st; }
    r.fold = true;
    /* inputs with defaults can be overridden: not constants */
    for (int i = 0; i < g->n_values; i++)
        if (g->values[i].overridable || g->values[i].kind == FLT_ONNX_V_OUTER) {
            r.vals[i].known = false;
            r.vals[i].data = NULL;
        }
    for (int ni = 0; ni < g->n_nodes && !st; ni++) {
        flt_onnx_node *n = &g->nodes[ni];
        if (!n->op || n->op->host || (n->op->flags & FLT_ONNX_OP_NO_FOLD)) continue;
        bool ready = true;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0 && !r.vals[n->in[i]].data) ready = false;
        if (!ready) continue;
        flt_err fe;
        flt_err_clear(&fe);
        r.e = &fe;
        flintrt_status fs = run_node(&r, ni);
        r.e = e;
        if (fs) {
            /* A Constant that cannot be evaluated is a broken model; anything
             * else is left for run time, where the error gets its context. */
            if (!strcmp(n->op_type, "Constant") && fs != FLINTRT_ERR_NOT_FOUND) {
                *e = fe;
                st = node_fail(e, n);
            }
            for (int o = 0; o < n->n_out; o++)
                if (n->out[o] >= 0) { r.vals[n->out[o]].known = false; r.vals[n->out[o]].data = NULL; }
            continue;
        }
        size_t total = 0;
        bool small = true;
        for (int o = 0; o < n->n_out; o++) {
            size_t b = 0;
            if (n->out[o] >= 0 && flt_onnx_tinfo_bytes(&r.vals[n->out[o]].ti, &b)) total += b;
        }
        if (total > FOLD_MAX_BYTES) small = false;
        for (int o = 0; o < n->n_out && small && !st; o++) {
            if (n->out[o] < 0) continue;
            rt_val *v = &r.vals[n->out[o]];
            size_t b = 0;
            flt_onnx_tinfo_bytes(&v->ti, &b);
            flt_onnx_tensor *t = flt_arena_alloc(&m->arena, sizeof *t, "folded constant", e);
            void *d = t ? flt_arena_alloc(&m->arena, b, "folded constant", e) : NULL;
            if (!d) { st = e->status; break; }
            if (b) memcpy(d, v->data, b);
            t->name = g->values[n->out[o]].name;
            t->dtype = v->ti.dtype;
            t->onnx_type = flt_onnx_type_of(v->ti.dtype);
            t->ndim = v->ti.ndim;
            memcpy(t->dims, v->ti.dims, sizeof t->dims);
            t->nelem = flt_onnx_nelem(&v->ti);
            t->data = d;
            t->nbytes = b;
            t->offset = n->offset;
            g->values[n->out[o]].constant = t;
            v->data = d;
        }
        if (small && !st) n->folded = true;
        else
            for (int o = 0; o < n->n_out; o++)
                if (n->out[o] >= 0) { r.vals[n->out[o]].known = false; r.vals[n->out[o]].data = NULL; }
    }
    run_free(&r);
    return st;
}

flintrt_status flt_onnx_fold_constants(flt_onnx_model *m, flt_err *e) {
    flt_pool *pool;
    FLT_ONNX_TRY(flt_pool_new(1, &pool, e));
    exec_env env = {.pool = pool, .k = flt_kernels_scalar()};
    flintrt_status st = fold_graph(m, m->graph, &env, e);
    flt_pool_free(pool);
    return st;
}

/* ---- sessions ---- */

int flt_onnx_session_n_inputs(const flt_onnx_model *m) {
    int n = 0;
    for (int i = 0; i < m->graph->n_inputs; i++)
        if (m->graph->values[m->graph->inputs[i]].kind == FLT_ONNX_V_INPUT) n++;
    return n;
}

int flt_onnx_session_input_id(const flt_onnx_model *m, int i) {
    int n = 0;
    for (int k = 0; k < m->graph->n_inputs; k++) {
        int id = m->graph->inputs[k];
        if (m->graph->values[id].kind != FLT_ONNX_V_INPUT) continue;
        if (n++ == i) return id;
    }
    return -1;
}

flintrt_status flt_onnx_session_new(const flt_onnx_model *m, int n_threads, flt_onnx_session **out, flt_err *e) {
    *out = NULL;
    FLT_ONNX_TRY(flt_onnx_check_ops(m, e));
    flt_onnx_session *s = calloc(1, sizeof *s);
    if (!s) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "session");
    s->m = m;
    size_t nv = (size_t)(m->graph->n_values ? m->graph->n_values : 1);
    size_t no = (size_t)(m->graph->n_outputs ? m->graph->n_outputs : 1);
    s->bound = calloc(nv, sizeof *s->bound);
    s->bound_ti = calloc(nv, sizeof *s->bound_ti);
    s->out_ti = calloc(no, sizeof *s->out_ti);
    s->out_data = calloc(no, sizeof *s->out_data);
    flt_arena_init(&s->out_mem, 0);
    if (!s->bound || !s->bound_ti || !s->out_ti || !s->out_data) {
        flt_onnx_session_free(s);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "session");
    }
    flintrt_status st = flt_pool_new(n_threads, &s->pool, e);
    if (st) { flt_onnx_session_free(s); return st; }
    s->env.pool = s->pool;
    s->env.k = flt_kernels_default();
    s->env.eager_max = EAGER_MAX_BYTES;
    *out = s;
    return FLINTRT_OK;
}

void flt_onnx_session_free(flt_onnx_session *s) {
    if (!s) return;
    flt_pool_free(s->pool);
    flt_arena_free(&s->out_mem);
    free(s->bound);
    free(s->bound_ti);
    free(s->out_ti);
    free(s->out_data);
    free(s);
}

flintrt_status flt_onnx_session_bind(flt_onnx_session *s, int id, const flt_onnx_tinfo *t, const void *data,
                                     flt_err *e) {
    const flt_onnx_graph *g = s->m->graph;
    if (id < 0 || id >= g->n_values ||
        (g->values[id].kind != FLT_ONNX_V_INPUT && !g->values[id].overridable))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "value %d is not a graph input", id);
    const flt_onnx_value *v = &g->values[id];
    size_t b;
    if (t->ndim < 0 || t->ndim > FLT_ONNX_MAX_DIMS || !flt_onnx_tinfo_bytes(t, &b))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "input '%s': bad shape", v->name);
    if (b && !data) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "input '%s': no data", v->name);
    if (t->kind != FLT_ONNX_KIND_TENSOR || v->n_wrap) {
        /* a sequence or optional (data: a flt_onnx_seq), or one declared */
        if (flt_onnx_value_check(t, data, 0, e) || flt_onnx_value_matches(v, t, data, e)) {
            flt_err_prefix(e, "input '%s'", v->name);
            return e->status;
        }
        s->bound[id] = data;
        s->bound_ti[id] = *t;
        return FLINTRT_OK;
    }
    size_t es = flt_onnx_dtype_size(t->dtype);
    if (es > 1 && ((uintptr_t)data % es))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "input '%s': data is not aligned to %zu bytes", v->name, es);
    if (v->has_type) {
        flt_dtype want;
        if (flt_onnx_dtype(v->elem_type, &want) && want != t->dtype)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "input '%s' is %s, got %s", v->name,
                            flt_onnx_type_name(v->elem_type), flt_onnx_type_name(flt_onnx_type_of(t->dtype)));
        if (v->ndim >= 0) {
            if (v->ndim != t->ndim)
                return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "input '%s' has rank %d, got %d", v->name, v->ndim, t->ndim);
            for (int i = 0; i < t->ndim; i++)
                if (v->dims[i].value >= 0 && v->dims[i].value != t->dims[i])
                    return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "input '%s' dimension %d is %" PRId64 ", got %" PRId64,
                                    v->name, i, v->dims[i].value, t->dims[i]);
        }
    }
    s->bound[id] = data ? data : (const void *)"";
    s->bound_ti[id] = *t;
    return FLINTRT_OK;
}

void flt_onnx_session_set_eager(flt_onnx_session *s, size_t max_bytes) { s->env.eager_max = max_bytes; }

void flt_onnx_session_unbind_all(flt_onnx_session *s) {
    memset(s->bound, 0, (size_t)s->m->graph->n_values * sizeof *s->bound);
}

flintrt_status flt_onnx_session_run(flt_onnx_session *s, flt_err *e) {
    const flt_onnx_graph *g = s->m->graph;
    s->has_outputs = false;
    flt_arena_free(&s->out_mem);
    flt_onnx_run r;
    flintrt_status st = run_init(&r, g, NULL, &s->env, e);
    for (int i = 0; !st && i < g->n_values; i++) {
        if (s->bound[i]) {
            r.vals[i].ti = s->bound_ti[i];
            r.vals[i].known = true;
            r.vals[i].data = s->bound[i];
        } else if (g->values[i].kind == FLT_ONNX_V_INPUT) {
            st = flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "input '%s' is not bound", g->values[i].name);
        }
    }
    if (!st) st = run_graph(&r);
    for (int i = 0; !st && i < g->n_outputs; i++) {
        const rt_val *v = &r.vals[g->outputs[i]];
        size_t b = 0;
        if (!v->known || !v->data || !flt_onnx_tinfo_bytes(&v->ti, &b)) {
            st = flt_fail(e, FLINTRT_ERR_INTERNAL, "output '%s' was not computed", g->values[g->outputs[i]].name);
            break;
        }
        const void *d;
        if ((st = flt_onnx_value_copy(&s->out_mem, &v->ti, v->data, &d, e))) break;
        s->out_ti[i] = v->ti;
        s->out_data[i] = d;
    }
    run_free(&r);
    if (!st) s->has_outputs = true;
    return st;
}

void flt_onnx_session_output(const flt_onnx_session *s, int i, const flt_onnx_tinfo **t, const void **data) {
    if (!s->has_outputs || i < 0 || i >= s->m->graph->n_outputs) { *t = NULL; *data = NULL; return; }
    *t = &s->out_ti[i];
    *data = s->out_data[i];
}
