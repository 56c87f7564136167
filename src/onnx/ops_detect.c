/* ONNX detection operators: RoiAlign (opsets 10, 16) and NonMaxSuppression
 * (10, 11).
 *
 * RoiAlign follows the reference (and ONNX Runtime) sampling: each output bin
 * averages (or, mode=max, takes the largest of the weighted corner values of)
 * a grid of bilinear samples; samples beyond one pixel outside the map count as
 * zero. batch_indices are read in infer and checked against N, so the kernel
 * never indexes outside X.
 *
 * NonMaxSuppression is computed entirely in infer (its output size depends on
 * the data): per batch and class, candidates above score_threshold are visited
 * by descending score (ties: lower box index first) and kept unless their IoU
 * with an already kept box exceeds iou_threshold; output rows are ordered by
 * batch, class, then selection order. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/threadpool.h"
#include "onnx/op.h"

/* ---- RoiAlign ---- */

typedef struct roi_params {
    bool max_mode;
    bool half_pixel;
    bool has_ctm;
    int64_t out_h, out_w, sampling;
    float spatial_scale;
} roi_params;

static flintrt_status parse_roialign(const flt_onnx_node *n, void *pp, flt_err *e) {
    roi_params *p = pp;
    char buf[32];
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "mode", "avg", buf, sizeof buf, e));
    if (!strcmp(buf, "max")) p->max_mode = true;
    else if (strcmp(buf, "avg")) return flt_fail(e, FLINTRT_ERR_FORMAT, "unknown mode '%s'", buf);
    p->has_ctm = flt_onnx_node_attr(n, "coordinate_transformation_mode") != NULL;
    FLT_ONNX_TRY(flt_onnx_attr_string(n, "coordinate_transformation_mode", "half_pixel", buf, sizeof buf, e));
    if (!strcmp(buf, "half_pixel")) p->half_pixel = true;
    else if (strcmp(buf, "output_half_pixel"))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "unknown coordinate_transformation_mode '%s'", buf);
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "output_height", 1, &p->out_h, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "output_width", 1, &p->out_w, e));
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "sampling_ratio", 0, &p->sampling, e));
    FLT_ONNX_TRY(flt_onnx_attr_float(n, "spatial_scale", 1.0f, &p->spatial_scale, e));
    if (p->out_h < 1 || p->out_w < 1 || p->out_h > (1 << 20) || p->out_w > (1 << 20))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "output_height/output_width must be in [1, 2^20]");
    if (p->sampling < 0 || p->sampling > 1024) return flt_fail(e, FLINTRT_ERR_FORMAT, "sampling_ratio must be in [0, 1024]");
    if (!isfinite(p->spatial_scale)) return flt_fail(e, FLINTRT_ERR_FORMAT, "spatial_scale is not finite");
    return FLINTRT_OK;
}

typedef struct roi_state {
    const int64_t *batch;           /* validated batch index per roi */
    bool half_pixel;
} roi_state;

/* Bilinear sample at (y, x) of one H x W plane, as the reference computes it. */
static void roi_sample(flt_dtype dt, const void *X, int64_t base, int64_t H, int64_t W, double y, double x,
                       double v[4], double w[4]) {
    if (H <= 0 || W <= 0 || y < -1.0 || y > (double)H || x < -1.0 || x > (double)W) {
        for (int i = 0; i < 4; i++) v[i] = w[i] = 0;
        return;
    }
    if (y <= 0) y = 0;
    if (x <= 0) x = 0;
    int64_t y0 = (int64_t)y, x0 = (int64_t)x, y1, x1;
    if (y0 >= H - 1) { y1 = y0 = H - 1; y = (double)y0; } else y1 = y0 + 1;
    if (x0 >= W - 1) { x1 = x0 = W - 1; x = (double)x0; } else x1 = x0 + 1;
    double ly = y - (double)y0, lx = x - (double)x0, hy = 1 - ly, hx = 1 - lx;
    w[0] = hy * hx; w[1] = hy * lx; w[2] = ly * hx; w[3] = ly * lx;
    v[0] = flt_onnx_get_f64(dt, X, base + y0 * W + x0);
    v[1] = flt_onnx_get_f64(dt, X, base + y0 * W + x1);
    v[2] = flt_onnx_get_f64(dt, X, base + y1 * W + x0);
    v[3] = flt_onnx_get_f64(dt, X, base + y1 * W + x1);
}

static void k_roialign(const flt_graph *g, const flt_node *n, const flt_kernels *kk, int ith, int nth) {
    (void)kk;
    const flt_onnx_kctx *k = flt_onnx_kc(n);
    const roi_params *p = k->params;
    const roi_state *s = k->state;
    flt_dtype dt = k->in[0].dtype, rt = k->in[1].dtype;
    const void *X = flt_onnx_in(g, n, 0), *R = flt_onnx_in(g, n, 1);
    void *Y = flt_onnx_out(g, n, 0);
    int64_t C = k->in[0].dims[1], H = k->in[0].dims[2], W = k->in[0].dims[3];
    int64_t nroi = k->out[0].dims[0], ph_n = p->out_h, pw_n = p->out_w;
    double off = s->half_pixel ? 0.5 : 0;
    long long lo, hi;
    flt_split(nroi * C * ph_n * pw_n, ith, nth, &lo, &hi);
    for (long long e = lo; e < hi; e++) {
        int64_t pw = e % pw_n, ph = (e / pw_n) % ph_n, c = (e / (pw_n * ph_n)) % C, ri = e / (pw_n * ph_n * C);
        double x1 = flt_onnx_get_f64(rt, R, ri * 4) * p->spatial_scale - off;
        double y1 = flt_onnx_get_f64(rt, R, ri * 4 + 1) * p->spatial_scale - off;
        double x2 = flt_onnx_get_f64(rt, R, ri * 4 + 2) * p->spatial_scale - off;
        double y2 = flt_onnx_get_f64(rt, R, ri * 4 + 3) * p->spatial_scale - off;
        double rw = x2 - x1, rh = y2 - y1;
        if (!s->half_pixel) {
            rw = rw > 1 ? rw : 1;
            rh = rh > 1 ? rh : 1;
        }
        double bh = rh / (double)ph_n, bw = rw / (double)pw_n;
        double gh_f = p->sampling > 0 ? (double)p->sampling : ceil(rh / (double)ph_n);
        double gw_f = p->sampling > 0 ? (double)p->sampling : ceil(rw / (double)pw_n);
        /* hostile boxes: bound the sampling grid (and treat NaN as empty) */
        int64_t gh = gh_f >= 1 && gh_f <= 1024 ? (int64_t)gh_f : gh_f > 1024 ? 1024 : 0;
        int64_t gw = gw_f >= 1 && gw_f <= 1024 ? (int64_t)gw_f : gw_f > 1024 ? 1024 : 0;
        double count = gh * gw > 1 ? (double)(gh * gw) : 1;
        int64_t base = (s->batch[ri] * C + c) * H * W;
        double acc = 0;
        bool first = true;
        for (int64_t iy = 0; iy < gh; iy++) {
            double y = y1 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
            for (int64_t ix = 0; ix < gw; ix++) {
                double x = x1 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
                double v[4], w[4];
                if (isfinite(x) && isfinite(y)) roi_sample(dt, X, base, H, W, y, x, v, w);
                else for (int q = 0; q < 4; q++) v[q] = w[q] = 0;
                if (p->max_mode) {
                    double m = w[0] * v[0];
                    for (int q = 1; q < 4; q++) m = w[q] * v[q] > m ? w[q] * v[q] : m;
                    acc = first || m > acc ? m : acc;
                    first = false;
                } else {
                    acc += w[0] * v[0] + w[1] * v[1] + w[2] * v[2] + w[3] * v[3];
                }
            }
        }
        flt_onnx_set_f64(dt, Y, e, p->max_mode ? acc : acc / count);
    }
}

static flintrt_status infer_roialign(flt_onnx_infer *x) {
    const roi_params *p = x->k->params;
    const flt_onnx_tinfo *X = &x->k->in[0], *R = &x->k->in[1], *B = &x->k->in[2];
    if (X->ndim != 4) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X must be 4-D (N, C, H, W)");
    if (!flt_onnx_is_float(X->dtype) || !flt_onnx_is_float(R->dtype))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "X and rois must be floating point");
    if (R->ndim != 2 || R->dims[1] != 4) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "rois must be [num_rois, 4]");
    if (B->ndim != 1 || B->dims[0] != R->dims[0])
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "batch_indices must be [num_rois]");
    const int64_t *bi;
    int64_t nb;
    FLT_ONNX_TRY(flt_onnx_input_ints(x, 2, &bi, &nb));
    for (int64_t i = 0; i < nb; i++)
        if (bi[i] < 0 || bi[i] >= X->dims[0])
            return flt_onnx_fail(x, FLINTRT_ERR_INVALID_ARGUMENT, "batch_indices[%" PRId64 "] = %" PRId64 " is outside [0, %" PRId64 ")",
                                 i, bi[i], X->dims[0]);
    roi_state *s = flt_onnx_alloc(x, sizeof *s);
    if (!s) return x->e->status;
    s->batch = bi;
    /* opset 10 has no coordinate_transformation_mode: its behaviour is output_half_pixel */
    s->half_pixel = x->opset >= 16 ? p->half_pixel : (p->has_ctm && p->half_pixel);
    x->k->state = s;
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = X->dtype;
    o->ndim = 4;
    o->dims[0] = R->dims[0];
    o->dims[1] = X->dims[1];
    o->dims[2] = p->out_h;
    o->dims[3] = p->out_w;
    return FLINTRT_OK;
}

/* ---- NonMaxSuppression ---- */

typedef struct nms_params {
    int64_t center_point_box;
} nms_params;

static flintrt_status parse_nms(const flt_onnx_node *n, void *pp, flt_err *e) {
    nms_params *p = pp;
    FLT_ONNX_TRY(flt_onnx_attr_int(n, "center_point_box", 0, &p->center_point_box, e));
    if (p->center_point_box != 0 && p->center_point_box != 1)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "center_point_box must be 0 or 1");
    return FLINTRT_OK;
}

typedef struct nms_box {
    float y1, x1, y2, x2;           /* min/max corners */
} nms_box;

typedef struct nms_cand {
    float score;
    int64_t index;
} nms_cand;

static int nms_cmp(const void *a, const void *b) {
    const nms_cand *p = a, *q = b;
    if (p->score != q->score) return p->score > q->score ? -1 : 1;
    return p->index < q->index ? -1 : p->index > q->index;
}

static bool nms_suppress(const nms_box *a, const nms_box *b, float thr) {
    float ix1 = a->x1 > b->x1 ? a->x1 : b->x1, iy1 = a->y1 > b->y1 ? a->y1 : b->y1;
    float ix2 = a->x2 < b->x2 ? a->x2 : b->x2, iy2 = a->y2 < b->y2 ? a->y2 : b->y2;
    if (ix2 <= ix1 || iy2 <= iy1) return false;
    float inter = (ix2 - ix1) * (iy2 - iy1);
    float area_a = (a->x2 - a->x1) * (a->y2 - a->y1), area_b = (b->x2 - b->x1) * (b->y2 - b->y1);
    float uni = area_a + area_b - inter;
    if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
    return inter / uni > thr;
}

static flintrt_status infer_nms(flt_onnx_infer *x) {
    const nms_params *p = x->k->params;
    const flt_onnx_tinfo *B = &x->k->in[0], *S = &x->k->in[1];
    if (B->ndim != 3 || B->dims[2] != 4) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "boxes must be [batch, boxes, 4]");
    if (S->ndim != 3 || S->dims[0] != B->dims[0] || S->dims[2] != B->dims[1])
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "scores must be [batch, classes, boxes] matching boxes");
    if (!flt_onnx_is_float(B->dtype) || !flt_onnx_is_float(S->dtype))
        return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "boxes and scores must be floating point");
    int64_t max_out = 0;
    double iou = 0, score_thr = 0;
    bool has_score_thr = false;
    int64_t cnt;
    int n_in = x->k->n_in;
    if (n_in > 2 && x->k->in[2].ndim >= 0) {
        const int64_t *v;
        FLT_ONNX_TRY(flt_onnx_input_ints(x, 2, &v, &cnt));
        if (cnt > 1) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "max_output_boxes_per_class must be a scalar");
        if (cnt == 1) max_out = v[0] < 0 ? 0 : v[0];
    }
    if (n_in > 3 && x->k->in[3].ndim >= 0) {
        FLT_ONNX_TRY(flt_onnx_input_f64(x, 3, &iou, &cnt, 1));
        if (cnt == 1 && !(iou >= 0 && iou <= 1)) return flt_onnx_fail(x, FLINTRT_ERR_FORMAT, "iou_threshold must be in [0, 1]");
        if (cnt == 0) iou = 0;
    }
    if (n_in > 4 && x->k->in[4].ndim >= 0) {
        FLT_ONNX_TRY(flt_onnx_input_f64(x, 4, &score_thr, &cnt, 1));
        has_score_thr = cnt == 1;
    }
    const void *bd = flt_onnx_input_value(x, 0), *sd = flt_onnx_input_value(x, 1);
    if (!bd) return flt_onnx_need(x, 0);
    if (!sd) return flt_onnx_need(x, 1);
    int64_t nb = B->dims[0], nbox = B->dims[1], ncls = S->dims[1];
    if (max_out > nbox) max_out = nbox;
    /* boxes as corners, candidates per class, kept indices (max_out per class);
     * pass 0 counts the selected rows, pass 1 writes them */
    size_t bytes, cb;
    if (!flt_mul_size((size_t)(nbox ? nbox : 1), sizeof(nms_box), &bytes) ||
        !flt_mul_size((size_t)(nbox ? nbox : 1), sizeof(nms_cand), &cb))
        return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "too many boxes");
    nms_box *boxes = flt_onnx_alloc(x, bytes);
    nms_cand *cand = flt_onnx_alloc(x, cb);
    int64_t *keep = flt_onnx_alloc(x, (size_t)(max_out ? max_out : 1) * sizeof(int64_t));
    if (!boxes || !cand || !keep) return x->e->status;
    int64_t *rows = NULL, nrows = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            size_t rb;
            if (!flt_mul_size((size_t)(nrows ? nrows : 1), 3 * sizeof(int64_t), &rb)) return flt_onnx_fail(x, FLINTRT_ERR_LIMIT, "too many boxes");
            rows = flt_onnx_alloc(x, rb);
            if (!rows) return x->e->status;
            nrows = 0;
        }
        for (int64_t b = 0; b < nb; b++) {
            for (int64_t i = 0; i < nbox; i++) {
                float v[4];
                for (int q = 0; q < 4; q++) v[q] = (float)flt_onnx_get_f64(B->dtype, bd, (b * nbox + i) * 4 + q);
                nms_box *bx = &boxes[i];
                if (p->center_point_box) {
                    /* [x_center, y_center, width, height] */
                    bx->x1 = v[0] - v[2] / 2; bx->x2 = v[0] + v[2] / 2;
                    bx->y1 = v[1] - v[3] / 2; bx->y2 = v[1] + v[3] / 2;
                } else {
                    /* [y1, x1, y2, x2], either diagonal */
                    bx->y1 = v[0] < v[2] ? v[0] : v[2]; bx->y2 = v[0] < v[2] ? v[2] : v[0];
                    bx->x1 = v[1] < v[3] ? v[1] : v[3]; bx->x2 = v[1] < v[3] ? v[3] : v[1];
                }
            }
            for (int64_t c = 0; c < ncls && max_out > 0; c++) {
                int64_t nc = 0;
                for (int64_t i = 0; i < nbox; i++) {
                    float sc = (float)flt_onnx_get_f64(S->dtype, sd, (b * ncls + c) * nbox + i);
                    if (sc != sc) continue;
                    if (has_score_thr && !(sc > (float)score_thr)) continue;
                    cand[nc].score = sc;
                    cand[nc++].index = i;
                }
                qsort(cand, (size_t)nc, sizeof *cand, nms_cmp);
                int64_t nk = 0;
                for (int64_t i = 0; i < nc && nk < max_out; i++) {
                    bool sup = false;
                    for (int64_t j = 0; j < nk && !sup; j++) sup = nms_suppress(&boxes[cand[i].index], &boxes[keep[j]], (float)iou);
                    if (sup) continue;
                    keep[nk++] = cand[i].index;
                    if (rows) {
                        rows[nrows * 3] = b;
                        rows[nrows * 3 + 1] = c;
                        rows[nrows * 3 + 2] = cand[i].index;
                    }
                    nrows++;
                }
            }
        }
    }
    flt_onnx_tinfo *o = &x->k->out[0];
    o->dtype = FLT_I64;
    o->ndim = 2;
    o->dims[0] = nrows;
    o->dims[1] = 3;
    flt_onnx_set_output(x, 0, rows);
    return FLINTRT_OK;
}

const flt_onnx_op flt_onnx_ops_detect[] = {
    {"", "RoiAlign", 10, 0, sizeof(roi_params), parse_roialign, infer_roialign, {"RoiAlign", k_roialign}, NULL, 0, 3},
    {"", "NonMaxSuppression", 10, 0, sizeof(nms_params), parse_nms, infer_nms, {"NonMaxSuppression", NULL}, NULL, 0, 2},
};
const int flt_onnx_ops_detect_count = (int)(sizeof flt_onnx_ops_detect / sizeof flt_onnx_ops_detect[0]);
