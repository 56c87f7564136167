/* ONNX models in `flint run` and `flint inspect`:
 *   flint run -m model.onnx -i NAME=FILE.npy ... [-o OUTDIR] [-t N]
 *     binds each input from a .npy file (through the public graph API), runs,
 *     and writes every output as OUTDIR/<name>.npy (a summary line per output
 *     on stdout);
 *   flint inspect model.onnx
 *     IR version, producer, opsets, inputs/outputs with shapes (symbolic dims
 *     by name), the operator histogram and initializer bytes. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "commands.h"
#include "flintrt.h"
#include "formats/npy.h"
#include "onnx/model.h"

#define MAX_NPY_BYTES ((size_t)4 << 30)
#define MAX_INPUTS 64

static bool ends_with_onnx(const char *s) {
    size_t n = strlen(s);
    return n >= 5 && !strcmp(s + n - 5, ".onnx");
}

bool flint_onnx_in_args(int argc, char **argv, bool model_opt) {
    for (int i = 1; i < argc; i++) {
        if (model_opt) {
            if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc) return ends_with_onnx(argv[i + 1]);
        } else if (argv[i][0] != '-' && ends_with_onnx(argv[i])) {
            return true;
        }
    }
    return false;
}

static const char run_onnx_usage[] =
    "usage: flint run -m MODEL.onnx -i NAME=FILE.npy ... [-o OUTDIR] [-t N]\n"
    "  -m, --model FILE     ONNX model\n"
    "  -i, --input N=FILE   bind input N (a name, or an index) to a .npy file\n"
    "  -o, --output DIR     write each output as DIR/<name>.npy (default: print only)\n"
    "  -t, --threads N      worker threads; 0: one per core (default 0)\n";

/* Output names come from the file: keep [A-Za-z0-9._-], replace the rest. */
static void safe_name(const char *in, char *out, size_t cap) {
    size_t n = 0;
    for (; *in && n + 1 < cap; in++) {
        char c = *in;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        out[n++] = ok ? c : '_';
    }
    if (n == 0 || (n <= 2 && out[0] == '.')) out[n++] = '_';
    out[n] = '\0';
}

int flint_cmd_run_onnx(int argc, char **argv) {
    const char *cmd = "run";
    const char *model_path = NULL, *out_dir = NULL;
    const char *in_spec[MAX_INPUTS];
    int n_spec = 0;
    int32_t threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (flint_is_help(a)) { fputs(run_onnx_usage, stdout); return FLINT_EXIT_OK; }
        const char *v;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model_path = flint_arg_value(cmd, argc, argv, &i))) return FLINT_EXIT_USAGE;
        } else if (!strcmp(a, "-i") || !strcmp(a, "--input")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return FLINT_EXIT_USAGE;
            if (n_spec == MAX_INPUTS) return flint_usage_error(cmd, run_onnx_usage, "more than %d inputs", MAX_INPUTS);
            in_spec[n_spec++] = v;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(out_dir = flint_arg_value(cmd, argc, argv, &i))) return FLINT_EXIT_USAGE;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i)) || !flint_parse_i32(cmd, a, v, 0, 1024, &threads))
                return FLINT_EXIT_USAGE;
        } else {
            return flint_usage_error(cmd, run_onnx_usage, "unknown or misplaced argument '%s'", a);
        }
    }
    if (!model_path) return flint_usage_error(cmd, run_onnx_usage, "-m MODEL is required");
    flintrt_graph_model *m = NULL;
    flintrt_status st = flintrt_graph_model_load(model_path, NULL, &m);
    if (st) return flint_runtime_error(st);
    int rc = FLINT_EXIT_OK;
    flintrt_graph_session *s = NULL;
    void *bufs[MAX_INPUTS] = {0};
    void *aligned[MAX_INPUTS] = {0};
    flintrt_graph_session_options so;
    flintrt_graph_session_options_init(&so);
    so.n_threads = threads;
    if ((st = flintrt_graph_session_create(m, &so, &s))) { rc = flint_runtime_error(st); goto done; }
    int n_in = flintrt_graph_model_n_inputs(m);
    bool bound[MAX_INPUTS] = {false};
    for (int k = 0; k < n_spec; k++) {
        const char *eq = strchr(in_spec[k], '=');
        if (!eq || eq == in_spec[k]) { rc = flint_usage_error(cmd, run_onnx_usage, "-i needs NAME=FILE, got '%s'", in_spec[k]); goto done; }
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)(eq - in_spec[k]), in_spec[k]);
        int idx = flintrt_graph_model_find_input(m, name);
        if (idx < 0) {
            int64_t v;
            char *end;
            errno = 0;
            v = strtoll(name, &end, 10);
            if (!*end && !errno && v >= 0 && v < n_in) idx = (int)v;
        }
        if (idx < 0 || idx >= MAX_INPUTS) { rc = flint_error("the model has no input '%s'", name); goto done; }
        size_t len = 0;
        bufs[k] = flint_read_file(eq + 1, MAX_NPY_BYTES, &len);
        if (!bufs[k]) { rc = flint_error("cannot read '%s': %s", eq + 1, strerror(errno)); goto done; }
        flt_err e;
        flt_err_clear(&e);
        flt_npy npy;
        if (flt_npy_parse(bufs[k], len, &npy, &e)) { rc = flint_error("%s: %s", eq + 1, e.msg); goto done; }
        /* the data follows a header of any length: copy it to aligned memory */
        aligned[k] = malloc(npy.nbytes ? npy.nbytes : 1);
        if (!aligned[k]) { rc = flint_error("out of memory"); goto done; }
        if (npy.nbytes) memcpy(aligned[k], npy.data, npy.nbytes);
        int32_t dt = flt_onnx_type_of(npy.dtype);
        if ((st = flintrt_graph_session_set_input(s, idx, (flintrt_dtype)dt, npy.ndim, npy.dims, aligned[k], npy.nbytes))) {
            rc = flint_runtime_error(st);
            goto done;
        }
        bound[idx] = true;
    }
    for (int i = 0; i < n_in && i < MAX_INPUTS; i++) {
        if (bound[i]) continue;
        flintrt_tensor_info info;
        info.size = sizeof info;
        flintrt_graph_model_input(m, i, &info);
        rc = flint_usage_error(cmd, run_onnx_usage, "input '%s' is not given (-i %s=FILE.npy)", info.name, info.name);
        goto done;
    }
    if ((st = flintrt_graph_session_run(s))) { rc = flint_runtime_error(st); goto done; }
    if (out_dir) mkdir(out_dir, 0777); /* may exist already; a failure shows when writing */
    for (int o = 0; o < flintrt_graph_model_n_outputs(m); o++) {
        flintrt_tensor_info info;
        info.size = sizeof info;
        flintrt_graph_model_output(m, o, &info);
        flintrt_tensor_view v;
        v.size = sizeof v;
        if ((st = flintrt_graph_session_output(s, o, &v))) { rc = flint_runtime_error(st); goto done; }
        printf("%s: %s [", info.name, flt_onnx_type_name(v.dtype));
        for (int d = 0; d < v.ndim; d++) printf(d ? ", %" PRId64 : "%" PRId64, v.dims[d]);
        printf("]\n");
        if (!out_dir) continue;
        char fname[300], path[4096], hdr[1024];
        safe_name(info.name, fname, sizeof fname);
        snprintf(path, sizeof path, "%s/%s.npy", out_dir, fname);
        flt_dtype fd;
        flt_err e;
        flt_err_clear(&e);
        size_t hl;
        if (!flt_onnx_dtype(v.dtype, &fd) || flt_npy_header(fd, v.ndim, v.dims, hdr, sizeof hdr, &hl, &e)) {
            rc = flint_error("output '%s': %s", info.name, e.msg[0] ? e.msg : "no .npy type");
            goto done;
        }
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(hdr, 1, hl, f) != hl || (v.nbytes && fwrite(v.data, 1, v.nbytes, f) != v.nbytes) || fclose(f)) {
            int err = errno;
            rc = flint_error("cannot write '%s': %s", path, strerror(err));
            goto done;
        }
    }
done:
    for (int k = 0; k < n_spec; k++) { free(bufs[k]); free(aligned[k]); }
    flintrt_graph_session_free(s);
    flintrt_graph_model_free(m);
    return rc;
}

/* ---- inspect ---- */

static void print_value(const flt_onnx_value *v) {
    printf("  %-24s %s[", v->name, v->has_type ? flt_onnx_type_name(v->elem_type) : "?");
    for (int d = 0; d < v->ndim; d++) {
        if (d) printf(", ");
        if (v->dims[d].param) printf("%s", v->dims[d].param);
        else if (v->dims[d].value >= 0) printf("%" PRId64, v->dims[d].value);
        else printf("?");
    }
    printf(v->ndim < 0 ? "?]\n" : "]\n");
}

typedef struct op_count {
    const char *name;
    int n;
} op_count;

static void count_ops(const flt_onnx_graph *g, op_count *c, int *nc, int cap, uint64_t *init_bytes, int *n_init) {
    *init_bytes += g->initializer_bytes;
    *n_init += g->n_initializers;
    for (int i = 0; i < g->n_nodes; i++) {
        const flt_onnx_node *n = &g->nodes[i];
        int k = 0;
        while (k < *nc && strcmp(c[k].name, n->op_type)) k++;
        if (k == *nc && *nc < cap) c[(*nc)++] = (op_count){n->op_type, 0};
        if (k < *nc) c[k].n++;
        for (int a = 0; a < n->n_attr; a++) {
            if (n->attrs[a].type == FLT_ONNX_ATTR_GRAPH) count_ops(n->attrs[a].g, c, nc, cap, init_bytes, n_init);
            if (n->attrs[a].type == FLT_ONNX_ATTR_GRAPHS)
                for (int64_t q = 0; q < n->attrs[a].n; q++) count_ops(n->attrs[a].graphs[q], c, nc, cap, init_bytes, n_init);
        }
    }
}

static int by_count(const void *a, const void *b) {
    const op_count *x = a, *y = b;
    return x->n != y->n ? y->n - x->n : strcmp(x->name, y->name);
}

int flint_cmd_inspect_onnx(int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-' && ends_with_onnx(argv[i])) path = argv[i];
    flt_err e;
    flt_err_clear(&e);
    flt_onnx_model *m = NULL;
    if (flt_onnx_load(path, &m, &e)) {
        fprintf(stderr, "flint inspect: %s\n", e.msg);
        return FLINT_EXIT_FAIL;
    }
    const flt_onnx_graph *g = m->graph;
    printf("file:        %s\n", path);
    printf("format:      ONNX, IR version %" PRId64 "\n", m->ir_version);
    printf("producer:    %s %s\n", m->producer_name ? m->producer_name : "", m->producer_version ? m->producer_version : "");
    printf("opsets:     ");
    for (int i = 0; i < m->n_opsets; i++)
        printf(" %s:%" PRId64, m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx", m->opsets[i].version);
    printf("\ninputs:\n");
    for (int i = 0; i < g->n_inputs; i++) {
        const flt_onnx_value *v = &g->values[g->inputs[i]];
        if (v->kind == FLT_ONNX_V_INPUT) print_value(v);
    }
    printf("outputs:\n");
    for (int i = 0; i < g->n_outputs; i++) print_value(&g->values[g->outputs[i]]);
    op_count c[512];
    int nc = 0, n_init = 0;
    uint64_t init_bytes = 0;
    count_ops(g, c, &nc, 512, &init_bytes, &n_init);
    qsort(c, (size_t)nc, sizeof c[0], by_count);
    printf("nodes:       %d in the main graph\n", g->n_nodes);
    printf("initializers: %d, %" PRIu64 " bytes\n", n_init, init_bytes);
    printf("operators:\n");
    for (int i = 0; i < nc; i++) printf("  %-24s %d\n", c[i].name, c[i].n);
    flt_onnx_free(m);
    return FLINT_EXIT_OK;
}
