/* ONNX Scan, as a host op (the pattern of If/Loop in ops_control.c): the body
 * subgraph runs once per scan step on the session's thread, reading one slice
 * of every scan input and the state values, and returning the next state plus
 * one element of every scan output.
 *
 * Opset 9+: inputs = N initial states, then M scan inputs; scan_input_axes /
 * scan_input_directions pick the axis and order of each scan input,
 * scan_output_axes / scan_output_directions where and in which order each
 * output's elements are stacked. Opset 8: a leading optional sequence_lens,
 * every input has a batch axis 0 and scans along axis 1 (directions per scan
 * input); each batch entry runs separately and steps past its length leave the
 * scan outputs zero. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/op.h"

typedef struct scan_params {
    const flt_onnx_graph *body;
    int64_t M;                                   /* num_scan_inputs */
    int N, K;                                    /* states, scan outputs */
    int64_t in_axis[FLT_ONNX_MAX_IO], in_rev[FLT_ONNX_MAX_IO];
    int64_t out_axis[FLT_ONNX_MAX_IO], out_rev[FLT_ONNX_MAX_IO];
    bool v8;
} scan_params;

static flintrt_status read_list(const flt_onnx_node *n, const char *name, int64_t want, int64_t *out, bool flags,
                                flt_err *e) {
    const int64_t *v;
    int64_t cnt;
    FLT_ONNX_TRY(flt_onnx_attr_ints(n, name, &v, &cnt, e));
    for (int64_t i = 0; i < want; i++) out[i] = 0;
    if (cnt < 0) return FLINTRT_OK;
    if (cnt != want) return flt_fail(e, FLINTRT_ERR_FORMAT, "%s has %" PRId64 " values, expected %" PRId64, name, cnt, want);
    for (int64_t i = 0; i < cnt; i++) {
        if (flags && v[i] != 0 && v[i] != 1) return flt_fail(e, FLINTRT_ERR_FORMAT, "%s[%" PRId64 "] must be 0 or 1", name, i);
        if (!flags && (v[i] < -FLT_ONNX_MAX_DIMS || v[i] > FLT_ONNX_MAX_DIMS))
            return flt_fail(e, FLINTRT_ERR_FORMAT, "%s[%" PRId64 "] = %" PRId64 " is out of range", name, i, v[i]);
        out[i] = v[i];
    }
    return FLINTRT_OK;
}

static flintrt_status parse_scan(const flt_onnx_node *n, void *pp, flt_err *e, bool v8) {
    scan_params *p = pp;
    p->v8 = v8;
    FLT_ONNX_TRY(flt_onnx_attr_graph(n, "body", &p->body, e));
    if (!p->body) return flt_fail(e, FLINTRT_ERR_FORMAT, "body is required");
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "num_scan_inputs", -1, &p->M, e));
    int lead = v8 ? 1 : 0;
    if (p->M < 1 || p->M > n->n_in - lead)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "num_scan_inputs %" PRId64 " for %d inputs", p->M, n->n_in);
    p->N = n->n_in - lead - (int)p->M;
    p->K = n->n_out - p->N;
    if (p->K < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "%d outputs for %d state values", n->n_out, p->N);
    if (p->body->n_inputs != p->N + p->M || p->body->n_outputs != n->n_out)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "body has %d inputs and %d outputs, expected %d and %d", p->body->n_inputs,
                        p->body->n_outputs, p->N + (int)p->M, n->n_out);
    if (v8) {
        FLT_ONNX_TRY(read_list(n, "directions", p->M, p->in_rev, true, e));
        for (int i = 0; i < p->M; i++) p->in_axis[i] = 0;
        for (int i = 0; i < p->K; i++) p->out_axis[i] = 0;
        return FLINTRT_OK;
    }
    FLT_ONNX_TRY(read_list(n, "scan_input_axes", p->M, p->in_axis, false, e));
    FLT_ONNX_TRY(read_list(n, "scan_input_directions", p->M, p->in_rev, true, e));
    FLT_ONNX_TRY(read_list(n, "scan_output_axes", p->K, p->out_axis, false, e));
    FLT_ONNX_TRY(read_list(n, "scan_output_directions", p->K, p->out_rev, true, e));
    return FLINTRT_OK;
}

static flintrt_status parse_scan8(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_scan(n, pp, e, true); }
static flintrt_status parse_scan9(const flt_onnx_node *n, void *pp, flt_err *e) { return parse_scan(n, pp, e, false); }

/* outer / inner element counts around axis a of t. */
static void around(const flt_onnx_tinfo *t, int a, int64_t *outer, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < a; d++) *outer *= t->dims[d];
    for (int d = a + 1; d < t->ndim; d++) *inner *= t->dims[d];
}

/* The scan outputs, allocated when the first step tells the element shapes. */
typedef struct scan_out {
    int64_t B, T;
    bool have;
    flt_onnx_tinfo elem[FLT_ONNX_MAX_IO], ti[FLT_ONNX_MAX_IO];
    int ax[FLT_ONNX_MAX_IO];
    char *data[FLT_ONNX_MAX_IO];
    size_t batch_bytes[FLT_ONNX_MAX_IO];
} scan_out;

/* Output k's shape: element dims with the scan length inserted at its axis
 * (and a batch axis in front for opset 8); allocated zeroed. */
static flintrt_status alloc_out(flt_onnx_host *h, const scan_params *p, scan_out *so, int k) {
    const flt_onnx_tinfo *el = &so->elem[k];
    int r = el->ndim + 1;
    int64_t a = p->out_axis[k];
    if (a < -r || a >= r) return flt_fail(h->e, FLINTRT_ERR_FORMAT, "scan_output_axes[%d] = %" PRId64 " for rank %d", k, a, r);
    so->ax[k] = (int)(a < 0 ? a + r : a);
    if (r + (p->v8 ? 1 : 0) > FLT_ONNX_MAX_DIMS) return flt_fail(h->e, FLINTRT_ERR_UNSUPPORTED, "scan output rank");
    flt_onnx_tinfo *o = &so->ti[k];
    *o = (flt_onnx_tinfo){.dtype = el->dtype};
    if (p->v8) o->dims[o->ndim++] = so->B;
    for (int d = 0, s = 0; d < r; d++) o->dims[o->ndim++] = d == so->ax[k] ? so->T : el->dims[s++];
    size_t b;
    if (!flt_onnx_tinfo_bytes(o, &b)) return flt_fail(h->e, FLINTRT_ERR_LIMIT, "scan output too large");
    if (!(so->data[k] = flt_onnx_host_alloc(h, b))) return h->e->status;
    so->batch_bytes[k] = so->B ? b / (size_t)so->B : 0;
    return FLINTRT_OK;
}

/* The inputs of one scan: states and scan inputs (one batch entry's view for opset 8). */
typedef struct scan_io {
    flt_onnx_tinfo st_ti[FLT_ONNX_MAX_IO];
    const void *st[FLT_ONNX_MAX_IO];
    flt_onnx_tinfo in_ti[FLT_ONNX_MAX_IO];
    const void *in[FLT_ONNX_MAX_IO];
    int in_ax[FLT_ONNX_MAX_IO];
} scan_io;

/* len steps of batch entry b; the states in io are replaced by the final ones. */
static flintrt_status run_scan(flt_onnx_host *h, const scan_params *p, scan_io *io, int64_t len, scan_out *so,
                               int64_t b) {
    flt_err *e = h->e;
    int N = p->N, M = (int)p->M, K = p->K;
    int64_t T = so->T;
    void *slice[FLT_ONNX_MAX_IO] = {0};
    flt_onnx_tinfo sl_ti[FLT_ONNX_MAX_IO];
    flintrt_status st = FLINTRT_OK;
    for (int j = 0; j < M && !st; j++) {
        sl_ti[j] = io->in_ti[j];
        for (int d = io->in_ax[j]; d + 1 < sl_ti[j].ndim; d++) sl_ti[j].dims[d] = sl_ti[j].dims[d + 1];
        sl_ti[j].ndim--;
        size_t bytes = 0;
        flt_onnx_tinfo_bytes(&sl_ti[j], &bytes);
        if (!(slice[j] = malloc(bytes ? bytes : 1))) st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "scan slice");
    }
    for (int64_t t = 0; t < len && !st; t++) {
        flt_onnx_tinfo bi[FLT_ONNX_MAX_IO], oi[FLT_ONNX_MAX_IO];
        const void *bd[FLT_ONNX_MAX_IO], *od[FLT_ONNX_MAX_IO];
        for (int i = 0; i < N; i++) { bi[i] = io->st_ti[i]; bd[i] = io->st[i]; }
        for (int j = 0; j < M; j++) {
            int64_t pos = p->in_rev[j] ? len - 1 - t : t, outer, inner;
            around(&io->in_ti[j], io->in_ax[j], &outer, &inner);
            size_t row = (size_t)inner * flt_onnx_dtype_size(io->in_ti[j].dtype);
            for (int64_t o = 0; o < outer && row; o++)
                memcpy((char *)slice[j] + (size_t)o * row, (const char *)io->in[j] + (size_t)(o * T + pos) * row, row);
            bi[N + j] = sl_ti[j];
            bd[N + j] = slice[j];
        }
        st = flt_onnx_host_run_graph(h, p->body, N + M, bi, bd, N + K, oi, od);
        if (st) { flt_err_prefix(e, "step %" PRId64, t); break; }
        for (int i = 0; i < N; i++) { io->st_ti[i] = oi[i]; io->st[i] = od[i]; }
        for (int k = 0; k < K && !st; k++) {
            const flt_onnx_tinfo *el = &oi[N + k];
            if (el->kind != FLT_ONNX_KIND_TENSOR) {
                st = flt_fail(e, FLINTRT_ERR_FORMAT, "scan output %d is not a tensor", k);
                break;
            }
            if (!so->have) {
                so->elem[k] = *el;
                if ((st = alloc_out(h, p, so, k))) break;
            } else {
                bool same = el->dtype == so->elem[k].dtype && el->ndim == so->elem[k].ndim;
                for (int d = 0; same && d < el->ndim; d++) same = el->dims[d] == so->elem[k].dims[d];
                if (!same) { st = flt_fail(e, FLINTRT_ERR_FORMAT, "scan output %d changes shape between steps", k); break; }
            }
            int a = so->ax[k];
            int64_t pos = p->out_rev[k] ? len - 1 - t : t, outer = 1, inner = 1;
            for (int d = 0; d < a; d++) outer *= el->dims[d];
            for (int d = a; d < el->ndim; d++) inner *= el->dims[d];
            size_t row = (size_t)inner * flt_onnx_dtype_size(el->dtype);
            char *dst = so->data[k] + (size_t)b * so->batch_bytes[k];
            for (int64_t o = 0; o < outer && row; o++)
                memcpy(dst + (size_t)(o * T + pos) * row, (const char *)od[N + k] + (size_t)o * row, row);
        }
        if (!st) so->have = true;
    }
    for (int j = 0; j < M; j++) free(slice[j]);
    return st;
}

static flintrt_status host_scan(flt_onnx_host *h) {
    const scan_params *p = h->params;
    flt_err *e = h->e;
    int N = p->N, M = (int)p->M, K = p->K, lead = p->v8 ? 1 : 0;
    for (int i = lead; i < h->n_in; i++)
        if (h->in[i].ndim < 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "input %d is missing", i);
    int64_t B = 1;
    if (p->v8) {
        for (int i = lead; i < h->n_in; i++)
            if (h->in[i].ndim < 1 || h->in[i].dims[0] != h->in[lead].dims[0])
                return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "input %d has no batch axis matching input %d", i, lead);
        B = h->in[lead].dims[0];
    }
    /* scan axes (in a batch entry's view for opset 8) and the number of steps */
    int ax[FLT_ONNX_MAX_IO];
    int64_t T = -1;
    for (int j = 0; j < M; j++) {
        const flt_onnx_tinfo *t = &h->in[lead + N + j];
        int r = t->ndim - lead;
        int64_t a = p->in_axis[j];
        if (r < 1 || a < -r || a >= r)
            return flt_fail(e, FLINTRT_ERR_FORMAT, "scan input %d: axis %" PRId64 " for rank %d", j, a, r);
        ax[j] = (int)(a < 0 ? a + r : a);
        int64_t tj = t->dims[lead + ax[j]];
        if (T >= 0 && tj != T)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "scan input %d has %" PRId64 " steps, input 0 %" PRId64, j, tj, T);
        T = tj;
    }
    const void *lens = NULL;
    flt_dtype lens_t = FLT_I64;
    if (p->v8 && h->n_in > 0 && h->in[0].ndim >= 0) {
        if ((h->in[0].dtype != FLT_I64 && h->in[0].dtype != FLT_I32) || h->in[0].ndim != 1 || h->in[0].dims[0] != B)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sequence_lens must be an int64 [%" PRId64 "]", B);
        lens = h->in_data[0];
        lens_t = h->in[0].dtype;
        for (int64_t b = 0; b < B; b++) {
            int64_t l = flt_onnx_get_i64(lens_t, lens, b);
            if (l < 0 || l > T)
                return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "sequence_lens[%" PRId64 "] = %" PRId64 " is outside [0, %" PRId64 "]", b, l, T);
        }
    }
    scan_out *so = flt_onnx_host_alloc(h, sizeof *so);
    if (!so) return e->status;
    so->B = B;
    so->T = T;
    flt_onnx_tinfo st_ti[FLT_ONNX_MAX_IO];
    char *st_out[FLT_ONNX_MAX_IO] = {0};
    size_t st_bytes[FLT_ONNX_MAX_IO] = {0};
    for (int i = 0; i < N; i++) {
        /* final states default to the initial ones (no batch entry, or no step) */
        st_ti[i] = h->in[lead + i];
        st_out[i] = (char *)h->in_data[lead + i];
    }
    for (int64_t b = 0; b < B; b++) {
        scan_io io;
        memset(&io, 0, sizeof io);
        for (int i = 0; i < N + M; i++) {
            flt_onnx_tinfo t = h->in[lead + i];
            const char *d = h->in_data[lead + i];
            if (p->v8) {
                size_t bb = 0;
                for (int q = 0; q + 1 < t.ndim; q++) t.dims[q] = t.dims[q + 1];
                t.ndim--;
                flt_onnx_tinfo_bytes(&t, &bb);
                d += (size_t)b * bb;
            }
            if (i < N) { io.st_ti[i] = t; io.st[i] = d; }
            else { io.in_ti[i - N] = t; io.in[i - N] = d; io.in_ax[i - N] = ax[i - N]; }
        }
        FLT_ONNX_TRY(run_scan(h, p, &io, lens ? flt_onnx_get_i64(lens_t, lens, b) : T, so, b));
        for (int i = 0; i < N; i++) {
            size_t bytes = 0;
            if (io.st_ti[i].kind != FLT_ONNX_KIND_TENSOR || !flt_onnx_tinfo_bytes(&io.st_ti[i], &bytes))
                return flt_fail(e, FLINTRT_ERR_FORMAT, "state %d is not a tensor", i);
            if (!p->v8) {
                st_ti[i] = io.st_ti[i];
                st_out[i] = (char *)io.st[i];
                continue;
            }
            if (b == 0) {
                if (io.st_ti[i].ndim + 1 > FLT_ONNX_MAX_DIMS) return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "state rank");
                st_ti[i] = (flt_onnx_tinfo){.dtype = io.st_ti[i].dtype, .ndim = io.st_ti[i].ndim + 1};
                st_ti[i].dims[0] = B;
                memcpy(st_ti[i].dims + 1, io.st_ti[i].dims, sizeof(int64_t) * (size_t)io.st_ti[i].ndim);
                size_t all;
                if (!flt_onnx_tinfo_bytes(&st_ti[i], &all)) return flt_fail(e, FLINTRT_ERR_LIMIT, "state too large");
                if (!(st_out[i] = flt_onnx_host_alloc(h, all))) return e->status;
                st_bytes[i] = bytes;
            }
            bool same = io.st_ti[i].dtype == st_ti[i].dtype && io.st_ti[i].ndim + 1 == st_ti[i].ndim;
            for (int d = 0; same && d < io.st_ti[i].ndim; d++) same = io.st_ti[i].dims[d] == st_ti[i].dims[d + 1];
            if (!same) return flt_fail(e, FLINTRT_ERR_FORMAT, "state %d differs in shape between batch entries", i);
            if (bytes) memcpy(st_out[i] + (size_t)b * st_bytes[i], io.st[i], bytes);
        }
    }
    if (!so->have) {
        /* no step ran: empty scan outputs shaped by the body's declared element types */
        for (int k = 0; k < K; k++) {
            const flt_onnx_value *v = &p->body->values[p->body->outputs[N + k]];
            flt_onnx_tinfo *el = &so->elem[k];
            *el = (flt_onnx_tinfo){.dtype = FLT_F32};
            flt_dtype d;
            if (v->has_type && flt_onnx_dtype(v->elem_type, &d)) el->dtype = d;
            if (v->has_type && v->ndim > 0 && v->ndim < FLT_ONNX_MAX_DIMS) {
                el->ndim = v->ndim;
                for (int q = 0; q < v->ndim; q++) el->dims[q] = v->dims[q].value > 0 ? v->dims[q].value : 0;
            }
            FLT_ONNX_TRY(alloc_out(h, p, so, k));
        }
    }
    for (int i = 0; i < N; i++) flt_onnx_host_set_output(h, i, &st_ti[i], st_out[i]);
    for (int k = 0; k < K; k++) flt_onnx_host_set_output(h, N + k, &so->ti[k], so->data[k]);
    return FLINTRT_OK;
}

static flintrt_status infer_host(flt_onnx_infer *x) {
    return flt_onnx_fail(x, FLINTRT_ERR_INTERNAL, "host op reached shape inference");
}

const flt_onnx_op flt_onnx_ops_scan[] = {
    {"", "Scan", 8, 8, sizeof(scan_params), parse_scan8, infer_host, {"Scan", NULL}, host_scan, FLT_ONNX_OP_EMPTY_INPUTS_OK, 0},
    {"", "Scan", 9, 0, sizeof(scan_params), parse_scan9, infer_host, {"Scan", NULL}, host_scan, 0, 1},
};
const int flt_onnx_ops_scan_count = (int)(sizeof flt_onnx_ops_scan / sizeof flt_onnx_ops_scan[0]);
