/* The ONNX loader and executor:
 * - handcrafted malformed models, one per failure class (truncated, bad
 *   varint, length past the end, nesting depth, wrong wire type, duplicate and
 *   undefined names, strings, external data escaping the folder: absolute,
 *   `..`, a symlink out, a range past the file) each refused with a clear error;
 * - the small models of tests/data/make_onnx_models.py (fuzz/corpus/onnx) run
 *   through the public API against references computed here, with 1 and 3
 *   threads giving identical bits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flintrt.h"
#include "harness.h"
#include "onnx/exec.h"
#include "onnx/model.h"
#include "onnx_test_util.h"

static void value_info(pbw *out, unsigned field, const char *name, int elem, int64_t dim) {
    pb_value_info(out, field, name, elem, 1, &dim);
}

typedef enum init_kind { INIT_RAW, INIT_TYPED, INIT_STRING, INIT_EXTERNAL } init_kind;

/* y = x + w with w = {10, 20} as an initializer; ext_loc/offset/length for external data */
static void build_add(pbw *model, init_kind kind, const char *ext_loc, const char *ext_len, const char *w_name) {
    static pbw g, node, init;
    g.n = node.n = init.n = 0;
    sfield(&node, 1, "x");
    sfield(&node, 1, "w");
    sfield(&node, 2, "y");
    sfield(&node, 3, "add0");
    sfield(&node, 4, "Add");
    mfield(&g, 1, &node);
    sfield(&g, 2, "g");
    vfield(&init, 1, 2);
    vfield(&init, 2, kind == INIT_STRING ? 8 : 1);
    sfield(&init, 8, w_name);
    const float w[2] = {10.0f, 20.0f};
    if (kind == INIT_RAW) bfield(&init, 9, w, sizeof w);
    if (kind == INIT_TYPED) bfield(&init, 4, w, sizeof w); /* packed float_data */
    if (kind == INIT_STRING) { sfield(&init, 6, "a"); sfield(&init, 6, "b"); }
    if (kind == INIT_EXTERNAL) {
        pbw kv = {.n = 0};
        sfield(&kv, 1, "location");
        sfield(&kv, 2, ext_loc);
        mfield(&init, 13, &kv);
        if (ext_len) {
            kv.n = 0;
            sfield(&kv, 1, "length");
            sfield(&kv, 2, ext_len);
            mfield(&init, 13, &kv);
        }
        vfield(&init, 14, 1);
    }
    mfield(&g, 5, &init);
    value_info(&g, 11, "x", 1, 2);
    value_info(&g, 12, "y", 1, 2);
    pb_model(model, 13, &g);
}

static flintrt_status load_mem(const pbw *m, const char *dir, flt_err *e, flt_onnx_model **out) {
    flt_err_clear(e);
    return flt_onnx_load_memory(m->b, m->n, dir, out, e);
}

static bool run_add(flt_onnx_model *m, float *y) {
    flt_err e;
    flt_onnx_session *s;
    if (flt_onnx_session_new(m, 2, &s, &e)) return false;
    float x[2] = {1.5f, -2.0f};
    flt_onnx_tinfo t = {.dtype = FLT_F32, .ndim = 1, .dims = {2}};
    bool ok = !flt_onnx_session_bind(s, flt_onnx_session_input_id(m, 0), &t, x, &e) && !flt_onnx_session_run(s, &e);
    if (ok) {
        const flt_onnx_tinfo *o;
        const void *d;
        flt_onnx_session_output(s, 0, &o, &d);
        ok = o && o->ndim == 1 && o->dims[0] == 2;
        if (ok) memcpy(y, d, 8);
    }
    flt_onnx_session_free(s);
    return ok;
}

static void write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(p, 1, n, f); fclose(f); }
}

static void test_malformed(void) {
    static pbw m;
    flt_err e;
    flt_onnx_model *om = NULL;
    float y[2];

    /* the valid model, raw_data and typed float_data */
    build_add(&m, INIT_RAW, NULL, NULL, "w");
    CHECKF(load_mem(&m, NULL, &e, &om) == FLINTRT_OK, "%s", e.msg);
    CHECK(om && run_add(om, y) && y[0] == 11.5f && y[1] == 18.0f);
    flt_onnx_free(om);
    build_add(&m, INIT_TYPED, NULL, NULL, "w");
    CHECKF(load_mem(&m, NULL, &e, &om) == FLINTRT_OK, "%s", e.msg);
    CHECK(om && run_add(om, y) && y[0] == 11.5f && y[1] == 18.0f);
    flt_onnx_free(om);

    /* truncated: every strict prefix is refused (or, if it happens to be a
     * whole message, loads) without a crash; a cut inside the graph is FORMAT */
    build_add(&m, INIT_RAW, NULL, NULL, "w");
    int refused = 0;
    for (size_t n = 0; n < m.n; n++) {
        flt_onnx_model *p = NULL;
        flt_err_clear(&e);
        if (flt_onnx_load_memory(m.b, n, NULL, &p, &e) != FLINTRT_OK) refused++;
        flt_onnx_free(p);
    }
    CHECKF(refused == (int)m.n, "%d of %zu prefixes refused", refused, m.n);
    flt_err_clear(&e);
    CHECK(flt_onnx_load_memory(m.b, m.n - 3, NULL, &om, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "offset"));

    /* a bad varint (11 bytes) as a top-level field */
    pbw bad = m;
    const uint8_t v11[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    memcpy(bad.b + bad.n, v11, sizeof v11);
    bad.n += sizeof v11;
    CHECK(load_mem(&bad, NULL, &e, &om) == FLINTRT_ERR_FORMAT && strstr(e.msg, "varint"));

    /* a length past the end */
    bad = m;
    const uint8_t lp[] = {0x3a, 0xe8, 0x07, 0x00};
    memcpy(bad.b + bad.n, lp, sizeof lp);
    bad.n += sizeof lp;
    CHECK(load_mem(&bad, NULL, &e, &om) == FLINTRT_ERR_FORMAT && strstr(e.msg, "bytes are left"));

    /* the graph field with the wrong wire type */
    bad.n = 0;
    vfield(&bad, 1, 8);
    vfield(&bad, 7, 5);
    CHECK(load_mem(&bad, NULL, &e, &om) == FLINTRT_ERR_FORMAT && strstr(e.msg, "graph"));

    /* nesting: an If whose then_branch holds an If ... 80 deep */
    static pbw lvl[2];
    int cur = 0;
    lvl[0].n = 0;
    sfield(&lvl[0], 2, "leaf");
    for (int d = 0; d < 80; d++) {
        pbw *inner = &lvl[cur], *outer = &lvl[cur ^ 1];
        static pbw node, attr;
        attr.n = node.n = 0;
        sfield(&attr, 1, "then_branch");
        vfield(&attr, 20, 5);
        mfield(&attr, 6, inner);
        sfield(&node, 1, "c");
        sfield(&node, 4, "If");
        mfield(&node, 5, &attr);
        outer->n = 0;
        mfield(outer, 1, &node);
        cur ^= 1;
    }
    bad.n = 0;
    vfield(&bad, 1, 8);
    mfield(&bad, 7, &lvl[cur]);
    CHECK(load_mem(&bad, NULL, &e, &om) == FLINTRT_ERR_LIMIT && strstr(e.msg, "nested"));

    /* strings refused with a clear message */
    build_add(&m, INIT_STRING, NULL, NULL, "w");
    CHECK(load_mem(&m, NULL, &e, &om) == FLINTRT_ERR_UNSUPPORTED && strstr(e.msg, "string"));

    /* duplicate names: the initializer named like the node's output */
    build_add(&m, INIT_RAW, NULL, NULL, "y");
    CHECK(load_mem(&m, NULL, &e, &om) == FLINTRT_ERR_FORMAT);

    /* external data: a folder with the model's data and a secret outside it */
    char root[] = "/tmp/flint-onnx-XXXXXX";
    CHECK(mkdtemp(root) != NULL);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/model", root);
    mkdir(dir, 0700);
    const float w[2] = {10.0f, 20.0f};
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    write_file(path, w, sizeof w);
    snprintf(path, sizeof path, "%s/secret.bin", root);
    write_file(path, w, sizeof w);
    snprintf(path, sizeof path, "%s/link.bin", dir);
    char target[600];
    snprintf(target, sizeof target, "%s/secret.bin", root);
    CHECK(symlink(target, path) == 0);

    build_add(&m, INIT_EXTERNAL, "weights.bin", NULL, "w");
    CHECKF(load_mem(&m, dir, &e, &om) == FLINTRT_OK, "%s", e.msg);
    CHECK(om && run_add(om, y) && y[0] == 11.5f && y[1] == 18.0f);
    flt_onnx_free(om);
    build_add(&m, INIT_EXTERNAL, target, NULL, "w");
    CHECK(load_mem(&m, dir, &e, &om) == FLINTRT_ERR_FORMAT && strstr(e.msg, "absolute"));
    build_add(&m, INIT_EXTERNAL, "../secret.bin", NULL, "w");
    CHECK(load_mem(&m, dir, &e, &om) == FLINTRT_ERR_FORMAT && strstr(e.msg, ".."));
    build_add(&m, INIT_EXTERNAL, "sub/../../secret.bin", NULL, "w");
    CHECK(load_mem(&m, dir, &e, &om) == FLINTRT_ERR_FORMAT && strstr(e.msg, ".."));
    build_add(&m, INIT_EXTERNAL, "link.bin", NULL, "w");
    CHECK(load_mem(&m, dir, &e, &om) == FLINTRT_ERR_FORMAT && strstr(e.msg, "outside the model's folder"));
    build_add(&m, INIT_EXTERNAL, "weights.bin", "4096", "w");
    CHECK(load_mem(&m, dir, &e, &om) == FLINTRT_ERR_FORMAT && strstr(e.msg, "outside"));
    build_add(&m, INIT_EXTERNAL, "weights.bin", "4", "w");
    CHECK(load_mem(&m, dir, &e, &om) == FLINTRT_ERR_FORMAT);
    build_add(&m, INIT_EXTERNAL, "missing.bin", NULL, "w");
    CHECK(load_mem(&m, dir, &e, &om) == FLINTRT_ERR_IO);
    build_add(&m, INIT_EXTERNAL, "weights.bin", NULL, "w");
    CHECK(load_mem(&m, NULL, &e, &om) == FLINTRT_ERR_UNSUPPORTED); /* from memory: no folder */
    unlink(path);
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    unlink(path);
    rmdir(dir);
    unlink(target);
    rmdir(root);
}

/* ---- the corpus models through the public API ---- */

static const char *corpus(const char *name) {
    static char buf[1024];
    const char *root = getenv("FLINT_FUZZ_CORPUS");
    snprintf(buf, sizeof buf, "%s/onnx/%s", root && *root ? root : "fuzz/corpus", name);
    return buf;
}

static flintrt_graph_session *open_session(const char *name, int threads, flintrt_graph_model **m) {
    *m = NULL;
    if (flintrt_graph_model_load(corpus(name), NULL, m) != FLINTRT_OK) {
        fprintf(stderr, "%s: %s\n", name, flintrt_last_error());
        return NULL;
    }
    flintrt_graph_session_options o;
    flintrt_graph_session_options_init(&o);
    o.n_threads = threads;
    flintrt_graph_session *s = NULL;
    flintrt_graph_session_create(*m, &o, &s);
    return s;
}

static bool out_f32(flintrt_graph_session *s, int i, int ndim, const int64_t *dims, const float **p) {
    flintrt_tensor_view v;
    v.size = sizeof v;
    if (flintrt_graph_session_output(s, i, &v) != FLINTRT_OK || v.dtype != FLINTRT_DTYPE_FLOAT32 || v.ndim != ndim) return false;
    for (int d = 0; d < ndim; d++)
        if (v.dims[d] != dims[d]) return false;
    *p = v.data;
    return true;
}

static void test_models(void) {
    flintrt_graph_model *m;
    const float *y;

    /* addmul: y = (x + w) * b with w = arange(6) as [2, 3] (raw_data), b typed float_data */
    flintrt_graph_session *s = open_session("addmul.onnx", 2, &m);
    CHECK(s != NULL);
    if (s) {
        flintrt_tensor_info info;
        info.size = sizeof info;
        CHECK(flintrt_graph_model_input(m, 0, &info) == FLINTRT_OK && info.ndim == 2 && info.dims[0] == -1 &&
              info.dim_names[0] && !strcmp(info.dim_names[0], "batch") && info.dims[1] == 3);
        CHECK(flintrt_graph_model_find_input(m, "x") == 0 && flintrt_graph_model_find_output(m, "y") == 0);
        float x[6];
        for (int i = 0; i < 6; i++) x[i] = (float)i * 0.25f - 1.0f;
        int64_t dims[2] = {2, 3};
        flintrt_tensor_view v;
        v.size = sizeof v;
        CHECK(flintrt_graph_session_output(s, 0, &v) == FLINTRT_ERR_NOT_FOUND);
        CHECK(flintrt_graph_session_run(s) == FLINTRT_ERR_INVALID_ARGUMENT); /* not bound */
        CHECK(flintrt_graph_session_set_input(s, 0, FLINTRT_DTYPE_FLOAT32, 2, dims, x, 20) == FLINTRT_ERR_INVALID_ARGUMENT);
        CHECK(flintrt_graph_session_set_input(s, 0, FLINTRT_DTYPE_INT32, 2, dims, x, sizeof x) != FLINTRT_OK);
        CHECK(flintrt_graph_session_set_input(s, 0, FLINTRT_DTYPE_FLOAT32, 2, dims, x, sizeof x) == FLINTRT_OK);
        CHECKF(flintrt_graph_session_run(s) == FLINTRT_OK, "%s", flintrt_last_error());
        const float b[3] = {0.5f, -1.0f, 2.0f};
        bool ok = out_f32(s, 0, 2, dims, &y);
        for (int i = 0; ok && i < 6; i++) ok = y[i] == (x[i] + (float)i) * b[i % 3];
        CHECK(ok);
    }
    flintrt_graph_session_free(s);
    flintrt_graph_model_free(m);

    /* if: c ? x + x : -x, both branches reading the outer x */
    s = open_session("if.onnx", 1, &m);
    CHECK(s != NULL);
    for (int c = 0; s && c < 2; c++) {
        uint8_t cond = (uint8_t)c;
        float x[2] = {1.5f, -4.0f};
        int64_t d2[1] = {2};
        CHECK(flintrt_graph_session_set_input(s, flintrt_graph_model_find_input(m, "c"), FLINTRT_DTYPE_BOOL, 0, NULL, &cond, 1) == FLINTRT_OK);
        CHECK(flintrt_graph_session_set_input(s, flintrt_graph_model_find_input(m, "x"), FLINTRT_DTYPE_FLOAT32, 1, d2, x, 8) == FLINTRT_OK);
        CHECKF(flintrt_graph_session_run(s) == FLINTRT_OK, "%s", flintrt_last_error());
        CHECK(out_f32(s, 0, 1, d2, &y) && y[0] == (c ? 3.0f : -1.5f) && y[1] == (c ? -8.0f : 4.0f));
    }
    flintrt_graph_session_free(s);
    flintrt_graph_model_free(m);

    /* loop: M iterations of acc += x, scan output = acc after each */
    s = open_session("loop.onnx", 2, &m);
    CHECK(s != NULL);
    if (s) {
        int64_t trips = 3, d2[1] = {2}, d32[2] = {3, 2};
        float a0[2] = {1.0f, 2.0f}, x[2] = {0.5f, -1.0f};
        CHECK(flintrt_graph_session_set_input(s, flintrt_graph_model_find_input(m, "m"), FLINTRT_DTYPE_INT64, 0, NULL, &trips, 8) == FLINTRT_OK);
        CHECK(flintrt_graph_session_set_input(s, flintrt_graph_model_find_input(m, "a0"), FLINTRT_DTYPE_FLOAT32, 1, d2, a0, 8) == FLINTRT_OK);
        CHECK(flintrt_graph_session_set_input(s, flintrt_graph_model_find_input(m, "x"), FLINTRT_DTYPE_FLOAT32, 1, d2, x, 8) == FLINTRT_OK);
        CHECKF(flintrt_graph_session_run(s) == FLINTRT_OK, "%s", flintrt_last_error());
        CHECK(out_f32(s, 0, 1, d2, &y) && y[0] == 2.5f && y[1] == -1.0f);
        bool ok = out_f32(s, 1, 2, d32, &y);
        for (int i = 0; ok && i < 3; i++) ok = y[2 * i] == 1.0f + 0.5f * (float)(i + 1) && y[2 * i + 1] == 2.0f - (float)(i + 1);
        CHECK(ok);
        trips = 0; /* zero iterations: carried values pass through, the scan is empty */
        CHECKF(flintrt_graph_session_run(s) == FLINTRT_OK, "%s", flintrt_last_error());
        int64_t d02[2] = {0, 2};
        CHECK(out_f32(s, 0, 1, d2, &y) && y[0] == 1.0f && y[1] == 2.0f);
        flintrt_tensor_view v;
        v.size = sizeof v;
        CHECK(flintrt_graph_session_output(s, 1, &v) == FLINTRT_OK && v.dims[0] == d02[0] && v.nbytes == 0);
    }
    flintrt_graph_session_free(s);
    flintrt_graph_model_free(m);

    /* shapes: reshape x [n, 2, 3] to [n, 6] through Shape/Gather/Concat, cast to double */
    s = open_session("shapes.onnx", 2, &m);
    CHECK(s != NULL);
    if (s) {
        float x[30];
        for (int i = 0; i < 30; i++) x[i] = (float)i / 3.0f;
        int64_t d[3] = {5, 2, 3};
        CHECK(flintrt_graph_session_set_input(s, 0, FLINTRT_DTYPE_FLOAT32, 3, d, x, sizeof x) == FLINTRT_OK);
        CHECKF(flintrt_graph_session_run(s) == FLINTRT_OK, "%s", flintrt_last_error());
        flintrt_tensor_view v;
        v.size = sizeof v;
        bool ok = flintrt_graph_session_output(s, 0, &v) == FLINTRT_OK && v.dtype == FLINTRT_DTYPE_FLOAT64 &&
                  v.ndim == 2 && v.dims[0] == 5 && v.dims[1] == 6;
        for (int i = 0; ok && i < 30; i++) ok = ((const double *)v.data)[i] == (double)x[i];
        CHECK(ok);
    }
    flintrt_graph_session_free(s);
    flintrt_graph_model_free(m);

    /* misc: matmul, softmax, reduce, argmax, where/greater, transpose; references
     * computed here in double; 1 and 3 threads give identical bits */
    float a[6] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f}, bm[12];
    for (int i = 0; i < 12; i++) bm[i] = (float)((i * 7) % 5) - 2.0f + 0.125f * (float)i;
    double p[8];
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 4; c++) {
            p[r * 4 + c] = 0;
            for (int k = 0; k < 3; k++) p[r * 4 + c] += (double)a[r * 3 + k] * bm[k * 4 + c];
        }
    float first[8];
    for (int t = 1; t <= 3; t += 2) {
        s = open_session("misc.onnx", t, &m);
        CHECK(s != NULL);
        if (!s) { flintrt_graph_model_free(m); continue; }
        int64_t da[2] = {2, 3}, db[2] = {3, 4}, dy[2] = {4, 2}, dr[1] = {2};
        CHECK(flintrt_graph_session_set_input(s, 0, FLINTRT_DTYPE_FLOAT32, 2, da, a, sizeof a) == FLINTRT_OK);
        CHECK(flintrt_graph_session_set_input(s, 1, FLINTRT_DTYPE_FLOAT32, 2, db, bm, sizeof bm) == FLINTRT_OK);
        CHECKF(flintrt_graph_session_run(s) == FLINTRT_OK, "%s", flintrt_last_error());
        bool ok = out_f32(s, 0, 2, dy, &y);
        for (int r = 0; ok && r < 2; r++)
            for (int c = 0; ok && c < 4; c++) {
                double want = p[r * 4 + c] > 0 ? p[r * 4 + c] : 0;
                ok = fabs(y[c * 2 + r] - want) <= 1e-5 * (1 + fabs(want));
            }
        CHECK(ok);
        if (ok && t == 1) memcpy(first, y, sizeof first);
        if (ok && t == 3) CHECK(!memcmp(first, y, sizeof first));
        CHECK(out_f32(s, 1, 1, dr, &y) && fabs(y[0] - 1.0) < 1e-6 && fabs(y[1] - 1.0) < 1e-6);
        flintrt_tensor_view v;
        v.size = sizeof v;
        CHECK(flintrt_graph_session_output(s, 2, &v) == FLINTRT_OK && v.dtype == FLINTRT_DTYPE_INT64 && v.ndim == 2);
        for (int r = 0; r < 2 && v.data; r++) {
            int best = 0;
            for (int c = 1; c < 4; c++) if (p[r * 4 + c] > p[r * 4 + best]) best = c;
            CHECK(((const int64_t *)v.data)[r] == best);
        }
        flintrt_graph_session_free(s);
        flintrt_graph_model_free(m);
    }

    /* the GGUF entry point points ONNX files to the graph API */
    flintrt_model *gm = NULL;
    CHECK(flintrt_model_load(corpus("addmul.onnx"), NULL, &gm) == FLINTRT_ERR_UNSUPPORTED &&
          strstr(flintrt_last_error(), "flintrt_graph_model_load"));
}

int main(void) {
    test_malformed();
    test_models();
    return flt_test_finish();
}
