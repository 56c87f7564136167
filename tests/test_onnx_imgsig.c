/* ONNX resampling, detection, signal, text and random operators, on
 * single-node models built here byte by byte:
 * - results against properties computed independently in the test (linear
 *   resize reproduces a linear ramp exactly, nearest upsampling by 2 repeats,
 *   the DFT of a cosine has two peaks of N/2, NMS on boxes with known overlaps,
 *   TF counts of n-grams counted by hand, windows from their formulas);
 * - 1 and 3 threads give identical bits;
 * - random ops: shapes and dtypes, ranges and moments, seeded = reproducible,
 *   unseeded = a fresh stream per run;
 * - hostile attributes and inputs refused with a clear error (bad scales and
 *   sizes, roi batch index out of range, inconsistent n-gram pool, iou
 *   threshold out of [0, 1], DFT axis, negative window size). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "onnx/exec.h"
#include "onnx/model.h"
#include "onnx_test_util.h"

/* ---- one-node models ---- */

typedef struct mb {
    pbw node, graph;
    int opset;
} mb;

static void mb_begin(mb *m, const char *op, int opset) {
    m->node.n = m->graph.n = 0;
    m->opset = opset;
    sfield(&m->node, 4, op);
}
static void mb_in(mb *m, const char *name) { sfield(&m->node, 1, name); }
static void mb_out(mb *m, const char *name) { sfield(&m->node, 2, name); }
static void attr_begin(pbw *a, const char *name, int type) {
    a->n = 0;
    sfield(a, 1, name);
    vfield(a, 20, (uint64_t)type);
}
static void mb_attr_i(mb *m, const char *name, int64_t v) {
    static pbw a;
    attr_begin(&a, name, 2);
    vfield(&a, 3, (uint64_t)v);
    mfield(&m->node, 5, &a);
}
static void mb_attr_f(mb *m, const char *name, float v) {
    static pbw a;
    attr_begin(&a, name, 1);
    ffield(&a, 2, v);
    mfield(&m->node, 5, &a);
}
static void mb_attr_s(mb *m, const char *name, const char *v) {
    static pbw a;
    attr_begin(&a, name, 3);
    sfield(&a, 4, v);
    mfield(&m->node, 5, &a);
}
static void mb_attr_ints(mb *m, const char *name, const int64_t *v, int n) {
    static pbw a, packed;
    attr_begin(&a, name, 7);
    packed.n = 0;
    for (int i = 0; i < n; i++) varint(&packed, (uint64_t)v[i]);
    mfield(&a, 8, &packed);
    mfield(&m->node, 5, &a);
}
/* graph input or output `name` of ONNX elem type `elem`, rank left open */
static void mb_value(mb *m, unsigned field, const char *name, int elem) {
    pb_value_info(&m->graph, field, name, elem, -1, NULL);
}
static flintrt_status mb_load(mb *m, flt_onnx_model **out, flt_err *e) {
    static pbw model;
    pbw g = m->graph;
    mfield(&g, 1, &m->node);
    sfield(&g, 2, "g");
    pb_model(&model, m->opset, &g);
    flt_err_clear(e);
    return flt_onnx_load_memory(model.b, model.n, NULL, out, e);
}

typedef struct tin {
    flt_dtype dt;
    int ndim;
    int64_t dims[4];
    const void *data;
} tin;

/* Runs the model on inputs (in graph-input order); output 0 copied to out
 * (cap bytes) with its info. Returns the run status; e holds the message. */
static flintrt_status run_model(flt_onnx_model *om, int threads, const tin *ins, int n_in, flt_onnx_tinfo *oi,
                                void *out, size_t cap, flt_err *e) {
    flt_onnx_session *s;
    flt_err_clear(e);
    flintrt_status st = flt_onnx_session_new(om, threads, &s, e);
    if (st) return st;
    for (int i = 0; i < n_in && !st; i++) {
        flt_onnx_tinfo t = {.dtype = ins[i].dt, .ndim = ins[i].ndim};
        for (int d = 0; d < ins[i].ndim; d++) t.dims[d] = ins[i].dims[d];
        st = flt_onnx_session_bind(s, flt_onnx_session_input_id(om, i), &t, ins[i].data, e);
    }
    if (!st) st = flt_onnx_session_run(s, e);
    if (!st) {
        const flt_onnx_tinfo *o;
        const void *d;
        flt_onnx_session_output(s, 0, &o, &d);
        size_t b = 0;
        *oi = *o;
        flt_onnx_tinfo_bytes(o, &b);
        if (b > cap) st = FLINTRT_ERR_LIMIT;
        else if (b) memcpy(out, d, b);
    }
    flt_onnx_session_free(s);
    return st;
}

static float outbuf[1 << 15], outbuf3[1 << 15];

/* ---- Resize ---- */

static void test_resize(void) {
    flt_err e;
    flt_onnx_model *om = NULL;
    mb m;
    /* linear + align_corners on a ramp: exact ramp out */
    mb_begin(&m, "Resize", 13);
    mb_in(&m, "X"); mb_in(&m, ""); mb_in(&m, ""); mb_in(&m, "sizes");
    mb_out(&m, "Y");
    mb_attr_s(&m, "mode", "linear");
    mb_attr_s(&m, "coordinate_transformation_mode", "align_corners");
    mb_value(&m, 11, "X", 1);
    mb_value(&m, 11, "sizes", 7);
    mb_value(&m, 12, "Y", 1);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    float x[3 * 4];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) x[i * 4 + j] = 2.0f * (float)i + 3.0f * (float)j;
    int64_t sizes[4] = {1, 1, 5, 7};
    tin ins[2] = {{FLT_F32, 4, {1, 1, 3, 4}, x}, {FLT_I64, 1, {4}, sizes}};
    flt_onnx_tinfo oi;
    CHECKF(run_model(om, 2, ins, 2, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_OK, "%s", e.msg);
    CHECK(oi.ndim == 4 && oi.dims[2] == 5 && oi.dims[3] == 7 && oi.dtype == FLT_F32);
    double maxd = 0;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 7; j++) {
            double want = 2.0 * i * 2.0 / 4.0 + 3.0 * j * 3.0 / 6.0;
            maxd = fmax(maxd, fabs(outbuf[i * 7 + j] - want));
        }
    CHECKF(maxd < 1e-5, "linear ramp max diff %g", maxd);
    /* 1 and 3 threads: same bits */
    CHECK(run_model(om, 3, ins, 2, &oi, outbuf3, sizeof outbuf3, &e) == FLINTRT_OK);
    CHECK(memcmp(outbuf, outbuf3, 35 * sizeof(float)) == 0);
    /* hostile sizes: negative, wrong count, absurdly large */
    int64_t bad1[4] = {1, 1, -5, 7}, bad2[3] = {1, 1, 5}, bad3[4] = {1, 1, (int64_t)1 << 40, 7};
    ins[1].data = bad1;
    CHECK(run_model(om, 2, ins, 2, &oi, outbuf, sizeof outbuf, &e) != FLINTRT_OK && strstr(e.msg, "out of range"));
    ins[1].data = bad2;
    ins[1].dims[0] = 3;
    CHECK(run_model(om, 2, ins, 2, &oi, outbuf, sizeof outbuf, &e) != FLINTRT_OK && strstr(e.msg, "sizes"));
    ins[1].data = bad3;
    ins[1].dims[0] = 4;
    CHECK(run_model(om, 2, ins, 2, &oi, outbuf, sizeof outbuf, &e) != FLINTRT_OK);
    flt_onnx_free(om);

    /* nearest, scales 2 with asymmetric + floor: every pixel repeated 2x2; bad scales refused */
    mb_begin(&m, "Resize", 13);
    mb_in(&m, "X"); mb_in(&m, ""); mb_in(&m, "scales");
    mb_out(&m, "Y");
    mb_attr_s(&m, "coordinate_transformation_mode", "asymmetric");
    mb_attr_s(&m, "nearest_mode", "floor");
    mb_value(&m, 11, "X", 1);
    mb_value(&m, 11, "scales", 1);
    mb_value(&m, 12, "Y", 1);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    float sc[4] = {1, 1, 2, 2};
    tin in2[2] = {{FLT_F32, 4, {1, 1, 3, 4}, x}, {FLT_F32, 1, {4}, sc}};
    CHECKF(run_model(om, 2, in2, 2, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_OK, "%s", e.msg);
    bool ok = oi.dims[2] == 6 && oi.dims[3] == 8;
    for (int i = 0; ok && i < 6; i++)
        for (int j = 0; j < 8; j++) ok &= outbuf[i * 8 + j] == x[(i / 2) * 4 + j / 2];
    CHECK(ok);
    float bads[4] = {1, 1, -2, 2}, nans[4] = {1, 1, NAN, 2};
    in2[1].data = bads;
    CHECK(run_model(om, 2, in2, 2, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "scale"));
    in2[1].data = nans;
    CHECK(run_model(om, 2, in2, 2, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_ERR_FORMAT);
    flt_onnx_free(om);

    /* unknown modes are refused at load */
    mb_begin(&m, "Resize", 13);
    mb_in(&m, "X"); mb_in(&m, ""); mb_in(&m, "scales");
    mb_out(&m, "Y");
    mb_attr_s(&m, "coordinate_transformation_mode", "sideways");
    mb_value(&m, 11, "X", 1);
    mb_value(&m, 11, "scales", 1);
    mb_value(&m, 12, "Y", 1);
    CHECK(mb_load(&m, &om, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "sideways"));
}

/* ---- RoiAlign, GridSample ---- */

static void test_roialign_gridsample(void) {
    flt_err e;
    flt_onnx_model *om = NULL;
    mb m;
    mb_begin(&m, "RoiAlign", 16);
    mb_in(&m, "X"); mb_in(&m, "rois"); mb_in(&m, "bi");
    mb_out(&m, "Y");
    mb_attr_i(&m, "output_height", 2);
    mb_attr_i(&m, "output_width", 2);
    mb_value(&m, 11, "X", 1);
    mb_value(&m, 11, "rois", 1);
    mb_value(&m, 11, "bi", 7);
    mb_value(&m, 12, "Y", 1);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    /* a constant map: every bin averages to the constant */
    float x[2 * 16];
    for (int i = 0; i < 32; i++) x[i] = i < 16 ? 3.0f : 5.0f;
    float rois[8] = {0.5f, 0.5f, 3.0f, 3.0f, 1, 1, 2, 2};
    int64_t bi[2] = {1, 0}, bad[2] = {1, 2};
    tin ins[3] = {{FLT_F32, 4, {2, 1, 4, 4}, x}, {FLT_F32, 2, {2, 4}, rois}, {FLT_I64, 1, {2}, bi}};
    flt_onnx_tinfo oi;
    CHECKF(run_model(om, 2, ins, 3, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_OK, "%s", e.msg);
    CHECK(oi.ndim == 4 && oi.dims[0] == 2 && oi.dims[1] == 1 && oi.dims[2] == 2 && oi.dims[3] == 2);
    bool ok = true;
    for (int i = 0; i < 8; i++) ok &= fabsf(outbuf[i] - (i < 4 ? 5.0f : 3.0f)) < 1e-6f;
    CHECK(ok);
    ins[2].data = bad;
    CHECK(run_model(om, 2, ins, 3, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_ERR_INVALID_ARGUMENT && strstr(e.msg, "batch_indices"));
    flt_onnx_free(om);

    mb_begin(&m, "GridSample", 16);
    mb_in(&m, "X"); mb_in(&m, "G");
    mb_out(&m, "Y");
    mb_attr_i(&m, "align_corners", 1);
    mb_value(&m, 11, "X", 1);
    mb_value(&m, 11, "G", 1);
    mb_value(&m, 12, "Y", 1);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    /* align_corners: grid corners (-1,-1) and (1,1) hit the corner pixels; (0,0) is the mean of a 2x2 */
    float g[6] = {-1, -1, 1, 1, 0, 0};
    float xs[4] = {1, 2, 3, 4};
    tin gi[2] = {{FLT_F32, 4, {1, 1, 2, 2}, xs}, {FLT_F32, 4, {1, 1, 3, 2}, g}};
    CHECKF(run_model(om, 2, gi, 2, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_OK, "%s", e.msg);
    CHECK(oi.dims[2] == 1 && oi.dims[3] == 3 && outbuf[0] == 1 && outbuf[1] == 4 && fabsf(outbuf[2] - 2.5f) < 1e-6f);
    gi[1].dims[3] = 3; /* grid's last dim must be 2 */
    gi[1].dims[2] = 2;
    CHECK(run_model(om, 2, gi, 2, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "grid"));
    flt_onnx_free(om);
}

/* ---- NonMaxSuppression ---- */

static void test_nms(void) {
    flt_err e;
    flt_onnx_model *om = NULL;
    mb m;
    mb_begin(&m, "NonMaxSuppression", 11);
    mb_in(&m, "boxes"); mb_in(&m, "scores"); mb_in(&m, "max"); mb_in(&m, "iou"); mb_in(&m, "sth");
    mb_out(&m, "sel");
    mb_value(&m, 11, "boxes", 1);
    mb_value(&m, 11, "scores", 1);
    mb_value(&m, 11, "max", 7);
    mb_value(&m, 11, "iou", 1);
    mb_value(&m, 11, "sth", 1);
    mb_value(&m, 12, "sel", 7);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    /* box 1 overlaps box 0 with IoU 0.81; box 2 is disjoint; box 3 equal-score twin of 2, far away */
    float boxes[16] = {0, 0, 1, 1, 0.1f, 0.1f, 1, 1, 5, 5, 6, 6, 10, 10, 11, 11};
    float scores[8] = {0.9f, 0.95f, 0.5f, 0.5f, 0.1f, 0.2f, 0.3f, 0.05f};
    int64_t mx = 10;
    float iou = 0.5f, sth = 0.15f;
    tin ins[5] = {{FLT_F32, 3, {1, 4, 4}, boxes}, {FLT_F32, 3, {1, 2, 4}, scores}, {FLT_I64, 1, {1}, &mx},
                  {FLT_F32, 1, {1}, &iou}, {FLT_F32, 1, {1}, &sth}};
    flt_onnx_tinfo oi;
    int64_t sel[64];
    CHECKF(run_model(om, 2, ins, 5, &oi, sel, sizeof sel, &e) == FLINTRT_OK, "%s", e.msg);
    /* class 0: 1 (0.95), then 0 suppressed, 2 and 3 tie at 0.5 -> lower index first; class 1: 2 (0.3), 1 (0.2) */
    static const int64_t want[] = {0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 1, 2, 0, 1, 1};
    CHECK(oi.ndim == 2 && oi.dims[0] == 5 && oi.dims[1] == 3 && oi.dtype == FLT_I64 && !memcmp(sel, want, sizeof want));
    iou = 1.5f;
    CHECK(run_model(om, 2, ins, 5, &oi, sel, sizeof sel, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "iou_threshold"));
    flt_onnx_free(om);
}

/* ---- DFT, windows ---- */

static void test_signal(void) {
    flt_err e;
    flt_onnx_model *om = NULL;
    mb m;
    mb_begin(&m, "DFT", 17);
    mb_in(&m, "x");
    mb_out(&m, "y");
    mb_attr_i(&m, "onesided", 1);
    mb_value(&m, 11, "x", 1);
    mb_value(&m, 12, "y", 1);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    enum { N = 32 };
    float x[N];
    for (int j = 0; j < N; j++) x[j] = (float)cos(2 * M_PI * 3 * j / N);
    tin ins[1] = {{FLT_F32, 3, {1, N, 1}, x}};
    flt_onnx_tinfo oi;
    CHECKF(run_model(om, 2, ins, 1, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_OK, "%s", e.msg);
    CHECK(oi.ndim == 3 && oi.dims[1] == N / 2 + 1 && oi.dims[2] == 2);
    double maxd = 0;
    for (int k = 0; k <= N / 2; k++) {
        maxd = fmax(maxd, fabs(outbuf[2 * k] - (k == 3 ? N / 2.0 : 0.0)));
        maxd = fmax(maxd, fabs(outbuf[2 * k + 1]));
    }
    CHECKF(maxd < 1e-4, "DFT of a cosine: max diff %g", maxd);
    ins[0].ndim = 1;
    ins[0].dims[0] = N;
    CHECK(run_model(om, 2, ins, 1, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_ERR_FORMAT);
    flt_onnx_free(om);

    mb_begin(&m, "HannWindow", 17);
    mb_in(&m, "n");
    mb_out(&m, "w");
    mb_attr_i(&m, "periodic", 0);
    mb_attr_i(&m, "output_datatype", 11);
    mb_value(&m, 11, "n", 7);
    mb_value(&m, 12, "w", 11);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    int64_t n = 9;
    tin wi[1] = {{FLT_I64, 0, {0}, &n}};
    double w[16];
    CHECKF(run_model(om, 2, wi, 1, &oi, w, sizeof w, &e) == FLINTRT_OK, "%s", e.msg);
    CHECK(oi.dtype == FLT_F64 && oi.ndim == 1 && oi.dims[0] == 9);
    maxd = 0;
    for (int i = 0; i < 9; i++) maxd = fmax(maxd, fabs(w[i] - pow(sin(M_PI * i / 8), 2)));
    CHECKF(maxd < 1e-12, "Hann window max diff %g", maxd);
    n = -3;
    CHECK(run_model(om, 2, wi, 1, &oi, w, sizeof w, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "size"));
    flt_onnx_free(om);

    mb_begin(&m, "DFT", 17);
    mb_in(&m, "x");
    mb_out(&m, "y");
    mb_attr_i(&m, "axis", 5);
    mb_value(&m, 11, "x", 1);
    mb_value(&m, 12, "y", 1);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    ins[0].ndim = 3;
    ins[0].dims[0] = 1;
    ins[0].dims[1] = N;
    ins[0].dims[2] = 1;
    CHECK(run_model(om, 2, ins, 1, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "axis"));
    flt_onnx_free(om);
}

/* ---- TfIdfVectorizer ---- */

static void test_tfidf(void) {
    flt_err e;
    flt_onnx_model *om = NULL;
    mb m;
    static const int64_t pool[] = {7, 9, 7, 9, 9, 7}, counts[] = {0, 2}, idx[] = {0, 1, 2, 3};
    mb_begin(&m, "TfIdfVectorizer", 9);
    mb_in(&m, "x");
    mb_out(&m, "y");
    mb_attr_s(&m, "mode", "TF");
    mb_attr_i(&m, "min_gram_length", 1);
    mb_attr_i(&m, "max_gram_length", 2);
    mb_attr_i(&m, "max_skip_count", 1);
    mb_attr_ints(&m, "pool_int64s", pool, 6);
    mb_attr_ints(&m, "ngram_counts", counts, 2);
    mb_attr_ints(&m, "ngram_indexes", idx, 4);
    mb_value(&m, 11, "x", 6);
    mb_value(&m, 12, "y", 1);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    /* tokens 7 9 9 7: unigrams 7 x2, 9 x2; bigrams skip 0: (7,9) (9,9) (9,7); skip 1: (7,9) (9,7) */
    int32_t x[4] = {7, 9, 9, 7};
    tin ins[1] = {{FLT_I32, 1, {4}, x}};
    flt_onnx_tinfo oi;
    CHECKF(run_model(om, 2, ins, 1, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_OK, "%s", e.msg);
    CHECK(oi.ndim == 1 && oi.dims[0] == 4 && outbuf[0] == 2 && outbuf[1] == 2 && outbuf[2] == 2 && outbuf[3] == 2);
    flt_onnx_free(om);
    /* a pool that does not split into whole bigrams is refused at load */
    static const int64_t counts_bad[] = {0, 3};
    mb_begin(&m, "TfIdfVectorizer", 9);
    mb_in(&m, "x");
    mb_out(&m, "y");
    mb_attr_i(&m, "max_gram_length", 2);
    mb_attr_ints(&m, "pool_int64s", pool, 6);
    mb_attr_ints(&m, "ngram_counts", counts_bad, 2);
    mb_attr_ints(&m, "ngram_indexes", idx, 4);
    mb_value(&m, 11, "x", 6);
    mb_value(&m, 12, "y", 1);
    CHECK(mb_load(&m, &om, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "ngram_counts"));
}

/* ---- random ---- */

static void test_random(void) {
    flt_err e;
    flt_onnx_model *om = NULL;
    mb m;
    static const int64_t shape[] = {50, 100};
    for (int seeded = 0; seeded < 2; seeded++) {
        mb_begin(&m, "RandomUniform", 13);
        mb_out(&m, "y");
        mb_attr_ints(&m, "shape", shape, 2);
        mb_attr_f(&m, "low", -2.0f);
        mb_attr_f(&m, "high", 6.0f);
        if (seeded) mb_attr_f(&m, "seed", 42.0f);
        mb_value(&m, 12, "y", 1);
        CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
        flt_onnx_tinfo oi;
        CHECKF(run_model(om, 1, NULL, 0, &oi, outbuf, sizeof outbuf, &e) == FLINTRT_OK, "%s", e.msg);
        CHECK(oi.dtype == FLT_F32 && oi.ndim == 2 && oi.dims[0] == 50 && oi.dims[1] == 100);
        double mean = 0;
        bool in_range = true;
        for (int i = 0; i < 5000; i++) {
            in_range &= outbuf[i] >= -2.0f && outbuf[i] < 6.0f;
            mean += outbuf[i] / 5000.0;
        }
        CHECK(in_range);
        CHECKF(fabs(mean - 2.0) < 0.15, "uniform mean %g", mean); /* sd of the mean: 8/sqrt(12*5000) = 0.033 */
        CHECK(run_model(om, 3, NULL, 0, &oi, outbuf3, sizeof outbuf3, &e) == FLINTRT_OK);
        bool same = memcmp(outbuf, outbuf3, 5000 * sizeof(float)) == 0;
        CHECKF(same == (bool)seeded, "seeded=%d: runs %s", seeded, same ? "equal" : "differ");
        flt_onnx_free(om);
    }
    /* RandomNormalLike: moments, dtype from the attribute */
    mb_begin(&m, "RandomNormalLike", 13);
    mb_in(&m, "x");
    mb_out(&m, "y");
    mb_attr_f(&m, "mean", 1.0f);
    mb_attr_f(&m, "scale", 2.0f);
    mb_attr_f(&m, "seed", 3.0f);
    mb_attr_i(&m, "dtype", 11);
    mb_value(&m, 11, "x", 1);
    mb_value(&m, 12, "y", 11);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    static float like[4000];
    tin ins[1] = {{FLT_F32, 2, {40, 100}, like}};
    flt_onnx_tinfo oi;
    static double d[4000];
    CHECKF(run_model(om, 2, ins, 1, &oi, d, sizeof d, &e) == FLINTRT_OK, "%s", e.msg);
    double s1 = 0, s2 = 0;
    for (int i = 0; i < 4000; i++) { s1 += d[i]; s2 += d[i] * d[i]; }
    double mean = s1 / 4000, sd = sqrt(s2 / 4000 - mean * mean);
    CHECK(oi.dtype == FLT_F64 && oi.dims[0] == 40 && oi.dims[1] == 100);
    CHECKF(fabs(mean - 1.0) < 0.15 && fabs(sd - 2.0) < 0.15, "normal mean %g sd %g", mean, sd);
    flt_onnx_free(om);
    /* Bernoulli with p in {0, 1} is exact; output dtype bool */
    mb_begin(&m, "Bernoulli", 15);
    mb_in(&m, "p");
    mb_out(&m, "y");
    mb_attr_i(&m, "dtype", 9);
    mb_value(&m, 11, "p", 11);
    mb_value(&m, 12, "y", 9);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    double p[6] = {0, 1, 1, 0, 1, 0};
    tin bi[1] = {{FLT_F64, 1, {6}, p}};
    uint8_t yb[6];
    CHECKF(run_model(om, 2, bi, 1, &oi, yb, sizeof yb, &e) == FLINTRT_OK, "%s", e.msg);
    CHECK(oi.dtype == FLT_BOOL && yb[0] == 0 && yb[1] == 1 && yb[2] == 1 && yb[3] == 0 && yb[4] == 1 && yb[5] == 0);
    flt_onnx_free(om);
    /* Multinomial: int64 samples in range; a single possible class always drawn */
    mb_begin(&m, "Multinomial", 7);
    mb_in(&m, "l");
    mb_out(&m, "y");
    mb_attr_i(&m, "sample_size", 20);
    mb_attr_i(&m, "dtype", 7);
    mb_value(&m, 11, "l", 1);
    mb_value(&m, 12, "y", 7);
    CHECKF(mb_load(&m, &om, &e) == FLINTRT_OK, "%s", e.msg);
    float logits[6] = {0, 0, 0, -INFINITY, 0, -INFINITY};
    tin mi[1] = {{FLT_F32, 2, {2, 3}, logits}};
    int64_t ys[40];
    CHECKF(run_model(om, 2, mi, 1, &oi, ys, sizeof ys, &e) == FLINTRT_OK, "%s", e.msg);
    bool ok = oi.dtype == FLT_I64 && oi.dims[0] == 2 && oi.dims[1] == 20;
    for (int i = 0; i < 20; i++) ok &= ys[i] >= 0 && ys[i] < 3 && ys[20 + i] == 1;
    CHECK(ok);
    flt_onnx_free(om);
}

int main(void) {
    test_resize();
    test_roialign_gridsample();
    test_nms();
    test_signal();
    test_tfidf();
    test_random();
    return flt_test_finish();
}
