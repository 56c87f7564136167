/* ONNX control flow: If and Loop, as host ops. They run on the session's
 * thread between segments, with every input computed; their subgraphs run as
 * nested graphs (flt_onnx_host_run_graph) that see the enclosing graph's
 * values. Scan lives in ops_scan.c (the same pattern). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/op.h"

typedef struct if_params {
    const flt_onnx_graph *then_g, *else_g;
} if_params;

static flintrt_status parse_if(const flt_onnx_node *n, void *pp, flt_err *e) {
    if_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_graph(n, "then_branch", &p->then_g, e));
    FLT_ONNX_TRY(flt_onnx_attr_graph(n, "else_branch", &p->else_g, e));
    if (!p->then_g || !p->else_g) return flt_fail(e, FLINTRT_ERR_FORMAT, "then_branch and else_branch are required");
    if (p->then_g->n_outputs != n->n_out || p->else_g->n_outputs != n->n_out)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "branches must have %d outputs", n->n_out);
    if (p->then_g->n_inputs || p->else_g->n_inputs) return flt_fail(e, FLINTRT_ERR_FORMAT, "branches take no inputs");
    return FLINTRT_OK;
}

static flintrt_status host_if(flt_onnx_host *h) {
    const if_params *p = h->params;
    if (h->n_in < 1 || h->in[0].ndim < 0 || h->in[0].kind != FLT_ONNX_KIND_TENSOR || flt_onnx_nelem(&h->in[0]) < 1)
        return flt_fail(h->e, FLINTRT_ERR_FORMAT, "condition missing, empty or not a tensor");
    bool c = flt_onnx_get_f64(h->in[0].dtype, h->in_data[0], 0) != 0;
    const flt_onnx_graph *g = c ? p->then_g : p->else_g;
    flt_onnx_tinfo oi[FLT_ONNX_MAX_IO];
    const void *od[FLT_ONNX_MAX_IO];
    FLT_ONNX_TRY(flt_onnx_host_run_graph(h, g, 0, NULL, NULL, h->n_out, oi, od));
    for (int i = 0; i < h->n_out; i++) flt_onnx_host_set_output(h, i, &oi[i], od[i]);
    return FLINTRT_OK;
}

/* ---- Loop ---- */

typedef struct loop_params {
    const flt_onnx_graph *body;
} loop_params;

static flintrt_status parse_loop(const flt_onnx_node *n, void *pp, flt_err *e) {
    loop_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_graph(n, "body", &p->body, e));
    if (!p->body) return flt_fail(e, FLINTRT_ERR_FORMAT, "body is required");
    int n_carried = n->n_in - 2;
    if (n_carried < 0 || p->body->n_inputs != n_carried + 2)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "body has %d inputs for %d loop-carried values", p->body->n_inputs,
                        n_carried);
    if (p->body->n_outputs != n->n_out + 1 || n->n_out < n_carried)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "body has %d outputs for %d node outputs", p->body->n_outputs, n->n_out);
    if (p->body->n_outputs > FLT_ONNX_MAX_IO || p->body->n_inputs > FLT_ONNX_MAX_IO)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "too many loop values");
    return FLINTRT_OK;
}

typedef struct scan_acc {
    uint8_t *buf;
    size_t len, cap;
    flt_onnx_tinfo elem;
    bool have;
} scan_acc;

static flintrt_status host_loop(flt_onnx_host *h) {
    const loop_params *p = h->params;
    flt_err *e = h->e;
    int n_carried = h->n_in - 2, n_scan = h->n_out - n_carried;
    int64_t max_trip = INT64_MAX;
    bool keep = true;
    if (h->in[0].kind != FLT_ONNX_KIND_TENSOR || h->in[1].kind != FLT_ONNX_KIND_TENSOR)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "M and cond must be tensors");
    if (h->in[0].ndim >= 0) {
        if (flt_onnx_nelem(&h->in[0]) != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "M must be a scalar");
        max_trip = flt_onnx_get_i64(h->in[0].dtype, h->in_data[0], 0);
    }
    if (h->in[1].ndim >= 0) {
        if (flt_onnx_nelem(&h->in[1]) != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "cond must be a scalar");
        keep = flt_onnx_get_f64(h->in[1].dtype, h->in_data[1], 0) != 0;
    }
    if (h->in[0].ndim < 0 && h->in[1].ndim < 0)
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "a loop without a trip count or condition never ends");
    flt_onnx_tinfo ci[FLT_ONNX_MAX_IO];
    const void *cd[FLT_ONNX_MAX_IO];
    for (int i = 0; i < n_carried; i++) {
        ci[i] = h->in[2 + i];
        cd[i] = h->in_data[2 + i];
        if (ci[i].ndim < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "loop-carried input %d missing", i);
    }
    scan_acc acc[FLT_ONNX_MAX_IO];
    memset(acc, 0, sizeof acc);
    flintrt_status st = FLINTRT_OK;
    int64_t it = 0;
    for (; it < max_trip && keep; it++) {
        int64_t iter_v = it;
        uint8_t cond_v = 1;
        flt_onnx_tinfo bi[FLT_ONNX_MAX_IO];
        const void *bd[FLT_ONNX_MAX_IO];
        bi[0] = (flt_onnx_tinfo){.dtype = FLT_I64, .ndim = 0};
        bd[0] = &iter_v;
        bi[1] = (flt_onnx_tinfo){.dtype = FLT_BOOL, .ndim = 0};
        bd[1] = &cond_v;
        for (int i = 0; i < n_carried; i++) { bi[2 + i] = ci[i]; bd[2 + i] = cd[i]; }
        flt_onnx_tinfo oi[FLT_ONNX_MAX_IO];
        const void *od[FLT_ONNX_MAX_IO];
        st = flt_onnx_host_run_graph(h, p->body, n_carried + 2, bi, bd, h->n_out + 1, oi, od);
        if (st) { flt_err_prefix(e, "iteration %" PRId64, it); break; }
        if (oi[0].kind != FLT_ONNX_KIND_TENSOR || flt_onnx_nelem(&oi[0]) < 1) {
            st = flt_fail(e, FLINTRT_ERR_FORMAT, "body condition is empty or not a tensor");
            break;
        }
        keep = flt_onnx_get_f64(oi[0].dtype, od[0], 0) != 0;
        for (int i = 0; i < n_carried; i++) { ci[i] = oi[1 + i]; cd[i] = od[1 + i]; }
        for (int k = 0; k < n_scan; k++) {
            const flt_onnx_tinfo *t = &oi[1 + n_carried + k];
            scan_acc *a = &acc[k];
            if (t->kind != FLT_ONNX_KIND_TENSOR) {
                st = flt_fail(e, FLINTRT_ERR_FORMAT, "scan output %d is a %s (scan outputs are tensors)", k,
                              flt_onnx_kind_name(t->kind));
                break;
            }
            if (a->have) {
                bool same = a->elem.ndim == t->ndim && a->elem.dtype == t->dtype;
                for (int d = 0; same && d < t->ndim; d++) same = a->elem.dims[d] == t->dims[d];
                if (!same) { st = flt_fail(e, FLINTRT_ERR_FORMAT, "scan output %d changes shape between iterations", k); break; }
            }
            a->elem = *t;
            a->have = true;
            size_t b = 0;
            flt_onnx_tinfo_bytes(t, &b);
            if (a->len + b > a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 256;
                while (cap < a->len + b) cap *= 2;
                uint8_t *nb = realloc(a->buf, cap);
                if (!nb) { st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "scan output"); break; }
                a->buf = nb;
                a->cap = cap;
            }
            if (b) memcpy(a->buf + a->len, od[1 + n_carried + k], b);
            a->len += b;
        }
        if (st) break;
    }
    if (!st) {
        for (int i = 0; i < n_carried; i++) flt_onnx_host_set_output(h, i, &ci[i], cd[i]);
        for (int k = 0; k < n_scan && !st; k++) {
            scan_acc *a = &acc[k];
            flt_onnx_tinfo t = {.dtype = FLT_F32, .ndim = 1};
            if (a->have) {
                if (a->elem.ndim + 1 > FLT_ONNX_MAX_DIMS) { st = flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "scan rank"); break; }
                t.dtype = a->elem.dtype;
                t.ndim = a->elem.ndim + 1;
                memcpy(t.dims + 1, a->elem.dims, sizeof(int64_t) * (size_t)a->elem.ndim);
            } else {
                /* no iteration ran: the body's declared element type, if any */
                const flt_onnx_value *v = &p->body->values[p->body->outputs[1 + n_carried + k]];
                flt_dtype d;
                if (v->has_type && flt_onnx_dtype(v->elem_type, &d)) t.dtype = d;
            }
            t.dims[0] = it;
            void *d = flt_onnx_host_alloc(h, a->len);
            if (!d) { st = e->status; break; }
            if (a->len) memcpy(d, a->buf, a->len);
            flt_onnx_host_set_output(h, n_carried + k, &t, d);
        }
    }
    for (int k = 0; k < n_scan; k++) free(acc[k].buf);
    return st;
}

static flintrt_status infer_none(flt_onnx_infer *x) {
    return flt_onnx_fail(x, FLINTRT_ERR_INTERNAL, "host op reached shape inference");
}

const flt_onnx_op flt_onnx_ops_control[] = {
    {"", "If", 1, 0, sizeof(if_params), parse_if, infer_none, {"If", NULL}, host_if, FLT_ONNX_OP_ANY_VALUE, 1},
    {"", "Loop", 1, 0, sizeof(loop_params), parse_loop, infer_none, {"Loop", NULL}, host_loop, FLT_ONNX_OP_EMPTY_INPUTS_OK | FLT_ONNX_OP_ANY_VALUE, 2},
};
const int flt_onnx_ops_control_count = (int)(sizeof flt_onnx_ops_control / sizeof flt_onnx_ops_control[0]);
