/* flint onnx-test DIR...: run ONNX backend test folders (model.onnx plus
 * test_data_set_N/input_K.pb and output_K.pb, serialized TensorProtos, or
 * SequenceProtos / OptionalProtos where the graph declares such a type), or
 * folders holding many of them, and compare like the ONNX backend runner:
 * |actual - expected| <= atol + rtol * |expected| per element (rtol 1e-3,
 * atol 1e-7), NaN equal to NaN, integers and bools exact. One line per failure
 * or skip, then "N passed, N failed, N skipped". Skipped: the model uses what
 * Flint refuses by design (strings).
 * Exit status: 0 all passed or skipped, 1 any failure, 2 usage error. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "commands.h"
#include "onnx/exec.h"
#include "onnx/model.h"

static const char onnx_test_usage[] =
    "usage: flint onnx-test [options] DIR...\n"
    "  DIR is an ONNX backend test folder (model.onnx + test_data_set_*/) or a\n"
    "  folder of them.\n"
    "  -t, --threads N       worker threads (default 2)\n"
    "      --rtol R          relative tolerance (default 1e-3)\n"
    "      --atol A          absolute tolerance (default 1e-7)\n"
    "      --segments        run every node in planned segments (no eager evaluation)\n"
    "      --pass-list FILE  write the names of the passing tests to FILE\n"
    "  -v, --verbose         print a line for passing tests too\n";

#define MAX_PB_BYTES ((size_t)1 << 30)

typedef struct cfg {
    int threads;
    double rtol, atol;
    bool segments, verbose;
    FILE *pass_list;
    int passed, failed, skipped;
} cfg;

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted entries of dir whose names start with prefix (malloc'd). */
static char **list_dir(const char *dir, const char *prefix, int *n) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char **v = NULL;
    int cap = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix))) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **p = realloc(v, (size_t)cap * sizeof *p);
            if (!p) break;
            v = p;
        }
        v[*n] = strdup(de->d_name);
        if (v[*n]) (*n)++;
    }
    closedir(d);
    if (*n > 1) qsort(v, (size_t)*n, sizeof *v, cmp_str);
    return v;
}

static void free_list(char **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

static const char *base_name(const char *p) {
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    static char buf[1024];
    snprintf(buf, sizeof buf, "%.*s", (int)n, p);
    const char *s = strrchr(buf, '/');
    return s ? s + 1 : buf;
}

/* "what is refused by design" */
static bool by_design(const char *msg) { return strstr(msg, "string") != NULL; }

typedef struct loaded_pb {
    uint8_t *bytes;
    flt_onnx_tensor t;
    int kind;               /* FLT_ONNX_KIND_*: a sequence/optional is in vti/vdata */
    flt_onnx_tinfo vti;
    const void *vdata;
} loaded_pb;

/* decl: the graph value the file is for (its declared type says which proto
 * the file holds), or NULL. */
static bool load_pb(const char *path, const flt_onnx_value *decl, flt_arena *arena, loaded_pb *out, char *why,
                    size_t cap) {
    size_t n = 0;
    out->bytes = (uint8_t *)flint_read_file(path, MAX_PB_BYTES, &n);
    if (!out->bytes) {
        snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
        return false;
    }
    flt_err e;
    flt_err_clear(&e);
    out->kind = decl && decl->has_type && decl->n_wrap ? decl->wrap[0] : FLT_ONNX_KIND_TENSOR;
    if (out->kind != FLT_ONNX_KIND_TENSOR) {
        const char *name = "";
        if (flt_onnx_parse_value(out->bytes, n, out->kind, arena, &out->vti, &out->vdata, &name, &e)) {
            snprintf(why, cap, "%s: %s", base_name(path), e.msg);
            return false;
        }
        flt_dtype d;
        if (flt_onnx_dtype(decl->elem_type, &d)) out->vti.dtype = d; /* empty sequences carry no dtype */
        out->t.name = name;
        return true;
    }
    if (flt_onnx_parse_tensor(out->bytes, n, arena, &out->t, &e)) {
        snprintf(why, cap, "%s: %s", base_name(path), e.msg);
        return false;
    }
    return true;
}

/* ONNX 1.12's test generator stores bfloat16 data as uint16 (numpy has no
 * bfloat16): the same bits, so they are read as bfloat16 where the model
 * expects bfloat16 (a per-test exception, listed in docs/ONNX.md). */
static void bf16_quirk(flt_onnx_tensor *t, flt_dtype want) {
    if (t->dtype == FLT_U16 && want == FLT_BF16) {
        t->dtype = FLT_BF16;
        t->onnx_type = FLT_ONNX_BFLOAT16;
    }
}

static bool compare(const cfg *c, const flt_onnx_tinfo *got, const void *gd, flt_onnx_tensor *want, int oi,
                    char *why, size_t cap) {
    bf16_quirk(want, got->dtype);
    if (got->dtype != want->dtype) {
        snprintf(why, cap, "output %d: type %s, expected %s", oi, flt_onnx_type_name(flt_onnx_type_of(got->dtype)),
                 flt_onnx_type_name(want->onnx_type));
        return false;
    }
    bool shape_ok = got->ndim == want->ndim;
    for (int i = 0; shape_ok && i < got->ndim; i++) shape_ok = got->dims[i] == want->dims[i];
    if (!shape_ok) {
        char a[160], b[160];
        flt_onnx_tinfo_str(got, a, sizeof a);
        flt_onnx_tinfo w = {.dtype = want->dtype, .ndim = want->ndim};
        memcpy(w.dims, want->dims, sizeof w.dims);
        flt_onnx_tinfo_str(&w, b, sizeof b);
        snprintf(why, cap, "output %d: shape %s, expected %s", oi, a, b);
        return false;
    }
    int64_t n = want->nelem, bad = 0, first = -1;
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        bool ok;
        if (flt_onnx_is_float(got->dtype)) {
            double a = flt_onnx_get_f64(got->dtype, gd, i), b = flt_onnx_get_f64(want->dtype, want->data, i);
            if (isnan(a) || isnan(b)) ok = isnan(a) && isnan(b);
            else if (isinf(a) || isinf(b)) ok = a == b;
            else ok = fabs(a - b) <= c->atol + c->rtol * fabs(b);
            if (!ok && !isnan(a - b) && fabs(a - b) > worst) worst = fabs(a - b);
        } else {
            size_t es = flt_onnx_dtype_size(got->dtype);
            ok = !memcmp((const char *)gd + (size_t)i * es, (const char *)want->data + (size_t)i * es, es);
        }
        if (!ok) { bad++; if (first < 0) first = i; }
    }
    if (bad) {
        snprintf(why, cap, "output %d: %" PRId64 " of %" PRId64 " elements differ (first at %" PRId64 ": got %g, expected %g; max abs diff %g)",
                 oi, bad, n, first, flt_onnx_get_f64(got->dtype, gd, first), flt_onnx_get_f64(want->dtype, want->data, first), worst);
        return false;
    }
    return true;
}

/* Sequences and optionals: same kind and length, elements compared in order. */
static bool compare_value(const cfg *c, const flt_onnx_tinfo *got, const void *gd, const flt_onnx_tinfo *want,
                          const void *wd, int oi, char *why, size_t cap) {
    if (got->kind != want->kind) {
        snprintf(why, cap, "output %d: a %s, expected a %s", oi, flt_onnx_kind_name(got->kind), flt_onnx_kind_name(want->kind));
        return false;
    }
    if (want->kind == FLT_ONNX_KIND_TENSOR) {
        flt_onnx_tensor t = {.dtype = want->dtype, .onnx_type = flt_onnx_type_of(want->dtype), .ndim = want->ndim,
                             .data = wd};
        memcpy(t.dims, want->dims, sizeof t.dims);
        t.nelem = flt_onnx_nelem(want);
        return compare(c, got, gd, &t, oi, why, cap);
    }
    const flt_onnx_seq *g = gd, *w = wd;
    if (g->n != w->n) {
        snprintf(why, cap, "output %d: %s of %" PRId64 " elements, expected %" PRId64, oi, flt_onnx_kind_name(got->kind),
                 g->n, w->n);
        return false;
    }
    for (int64_t i = 0; i < w->n; i++) {
        if (!compare_value(c, &g->ti[i], g->data[i], &w->ti[i], w->data[i], oi, why, cap)) {
            char tmp[1024];
            snprintf(tmp, sizeof tmp, "%s (element %" PRId64 ")", why, i);
            snprintf(why, cap, "%s", tmp);
            return false;
        }
    }
    return true;
}

/* 1 passed, 0 failed, -1 skipped */
static int run_one(cfg *c, const char *dir, char *why, size_t cap) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    flt_err e;
    flt_err_clear(&e);
    flt_onnx_model *m = NULL;
    if (flt_onnx_load(path, &m, &e)) {
        snprintf(why, cap, "load: %s", e.msg);
        return e.status == FLINTRT_ERR_UNSUPPORTED && by_design(e.msg) ? -1 : 0;
    }
    flt_onnx_session *s = NULL;
    if (flt_onnx_session_new(m, c->threads, &s, &e)) {
        snprintf(why, cap, "session: %s", e.msg);
        flt_onnx_free(m);
        return 0;
    }
    if (c->segments) flt_onnx_session_set_eager(s, 0);
    int nsets = 0, result = 1;
    char **sets = list_dir(dir, "test_data_set_", &nsets);
    if (nsets == 0) { snprintf(why, cap, "no test_data_set_* folders"); result = 0; }
    for (int si = 0; si < nsets && result == 1; si++) {
        flt_arena arena;
        flt_arena_init(&arena, 0);
        loaded_pb ins[64], outs[64];
        int ni = 0, no = 0;
        memset(ins, 0, sizeof ins);
        memset(outs, 0, sizeof outs);
        const flt_onnx_graph *mg = m->graph;
        for (; ni < 64; ni++) {
            snprintf(path, sizeof path, "%s/%s/input_%d.pb", dir, sets[si], ni);
            if (!is_file(path)) break;
            int pid = ni < flt_onnx_session_n_inputs(m) ? flt_onnx_session_input_id(m, ni) : -1;
            if (!load_pb(path, pid >= 0 ? &mg->values[pid] : NULL, &arena, &ins[ni], why, cap)) { result = 0; ni++; break; }
        }
        for (; result == 1 && no < 64; no++) {
            snprintf(path, sizeof path, "%s/%s/output_%d.pb", dir, sets[si], no);
            if (!is_file(path)) break;
            const flt_onnx_value *decl = no < mg->n_outputs ? &mg->values[mg->outputs[no]] : NULL;
            if (!load_pb(path, decl, &arena, &outs[no], why, cap)) { result = 0; no++; break; }
        }
        if (result == 1) {
            flt_onnx_session_unbind_all(s);
            const flt_onnx_graph *g = m->graph;
            int n_pub = flt_onnx_session_n_inputs(m);
            for (int i = 0; i < ni && result == 1; i++) {
                int id = -1;
                if (ins[i].t.name && ins[i].t.name[0])
                    for (int k = 0; k < g->n_inputs; k++)
                        if (!strcmp(g->values[g->inputs[k]].name, ins[i].t.name)) id = g->inputs[k];
                if (id < 0) id = i < n_pub ? flt_onnx_session_input_id(m, i) : -1;
                if (id < 0) { snprintf(why, cap, "input %d has no matching graph input", i); result = 0; break; }
                const flt_onnx_value *gv = &g->values[id];
                if (ins[i].kind != FLT_ONNX_KIND_TENSOR) {
                    if (flt_onnx_session_bind(s, id, &ins[i].vti, ins[i].vdata, &e)) { snprintf(why, cap, "bind: %s", e.msg); result = 0; }
                    continue;
                }
                flt_dtype gd;
                if (gv->has_type && flt_onnx_dtype(gv->elem_type, &gd)) bf16_quirk(&ins[i].t, gd);
                flt_onnx_tinfo ti = {.dtype = ins[i].t.dtype, .ndim = ins[i].t.ndim};
                memcpy(ti.dims, ins[i].t.dims, sizeof ti.dims);
                /* aligned copy: raw_data in a .pb file sits at any offset */
                void *copy = flt_arena_alloc(&arena, ins[i].t.nbytes, "input", &e);
                if (!copy) { snprintf(why, cap, "%s", e.msg); result = 0; break; }
                if (ins[i].t.nbytes) memcpy(copy, ins[i].t.data, ins[i].t.nbytes);
                if (flt_onnx_session_bind(s, id, &ti, copy, &e)) { snprintf(why, cap, "bind: %s", e.msg); result = 0; }
            }
            if (result == 1 && flt_onnx_session_run(s, &e)) {
                snprintf(why, cap, "%s", e.msg);
                result = e.status == FLINTRT_ERR_UNSUPPORTED && by_design(e.msg) ? -1 : 0;
            }
            if (result == 1 && no != g->n_outputs) {
                snprintf(why, cap, "%d expected outputs, the graph has %d", no, g->n_outputs);
                result = 0;
            }
            for (int o = 0; o < no && result == 1; o++) {
                const flt_onnx_tinfo *ti;
                const void *d;
                flt_onnx_session_output(s, o, &ti, &d);
                if (outs[o].kind != FLT_ONNX_KIND_TENSOR || ti->kind != FLT_ONNX_KIND_TENSOR) {
                    flt_onnx_tinfo wt = outs[o].vti;
                    const void *wd = outs[o].vdata;
                    if (outs[o].kind == FLT_ONNX_KIND_TENSOR) {
                        wt = (flt_onnx_tinfo){.dtype = outs[o].t.dtype, .ndim = outs[o].t.ndim};
                        memcpy(wt.dims, outs[o].t.dims, sizeof wt.dims);
                        wd = outs[o].t.data;
                    }
                    if (!compare_value(c, ti, d, &wt, wd, o, why, cap)) result = 0;
                } else if (!compare(c, ti, d, &outs[o].t, o, why, cap)) result = 0;
            }
        }
        for (int i = 0; i < ni; i++) free(ins[i].bytes);
        for (int i = 0; i < no; i++) free(outs[i].bytes);
        flt_arena_free(&arena);
        if (result != 1 && nsets > 1) {
            char tmp[1024];
            snprintf(tmp, sizeof tmp, "%s: %s", sets[si], why);
            snprintf(why, cap, "%s", tmp);
        }
    }
    free_list(sets, nsets);
    flt_onnx_session_free(s);
    flt_onnx_free(m);
    return result;
}

static void run_test_dir(cfg *c, const char *dir) {
    char why[1400] = "";
    const char *name = base_name(dir);
    char nm[1024];
    snprintf(nm, sizeof nm, "%s", name);
    int r = run_one(c, dir, why, sizeof why);
    if (r == 1) {
        c->passed++;
        if (c->verbose) printf("PASS %s\n", nm);
        if (c->pass_list) fprintf(c->pass_list, "%s\n", nm);
    } else if (r < 0) {
        c->skipped++;
        printf("SKIP %s: %s\n", nm, why);
    } else {
        c->failed++;
        printf("FAIL %s: %s\n", nm, why);
    }
    fflush(stdout);
}

static void run_path(cfg *c, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (is_file(path)) { run_test_dir(c, dir); return; }
    int n = 0;
    char **sub = list_dir(dir, "", &n);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, sub[i]);
        if (is_dir(path)) run_path(c, path);
    }
    free_list(sub, n);
}

int flint_cmd_onnx_test(int argc, char **argv) {
    const char *cmd = "onnx-test";
    cfg c = {.threads = 2, .rtol = 1e-3, .atol = 1e-7};
    const char *pass_path = NULL;
    int first_dir = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (flint_is_help(a)) { fputs(onnx_test_usage, stdout); return FLINT_EXIT_OK; }
        if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            const char *v = flint_arg_value(cmd, argc, argv, &i);
            int32_t t;
            if (!v || !flint_parse_i32(cmd, a, v, 1, 256, &t)) return FLINT_EXIT_USAGE;
            c.threads = t;
        } else if (!strcmp(a, "--rtol") || !strcmp(a, "--atol")) {
            const char *v = flint_arg_value(cmd, argc, argv, &i);
            float f;
            if (!v || !flint_parse_f32(cmd, a, v, 0, 1, false, &f)) return FLINT_EXIT_USAGE;
            if (a[2] == 'r') c.rtol = f; else c.atol = f;
        } else if (!strcmp(a, "--segments")) {
            c.segments = true;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            c.verbose = true;
        } else if (!strcmp(a, "--pass-list")) {
            if (!(pass_path = flint_arg_value(cmd, argc, argv, &i))) return FLINT_EXIT_USAGE;
        } else if (a[0] == '-') {
            return flint_usage_error(cmd, onnx_test_usage, "unknown option '%s'", a);
        } else {
            if (first_dir < 0) first_dir = i;
            if (!is_dir(a)) return flint_usage_error(cmd, onnx_test_usage, "'%s' is not a folder", a);
        }
    }
    if (first_dir < 0) return flint_usage_error(cmd, onnx_test_usage, "no test folder given");
    if (pass_path && !(c.pass_list = fopen(pass_path, "w")))
        return flint_error("cannot write '%s': %s", pass_path, strerror(errno));
    for (int i = first_dir; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-') {
            if (!strcmp(a, "-t") || !strcmp(a, "--threads") || !strcmp(a, "--rtol") || !strcmp(a, "--atol") ||
                !strcmp(a, "--pass-list"))
                i++;
            continue;
        }
        run_path(&c, a);
    }
    if (c.pass_list) fclose(c.pass_list);
    printf("%d passed, %d failed, %d skipped\n", c.passed, c.failed, c.skipped);
    return c.failed ? FLINT_EXIT_FAIL : FLINT_EXIT_OK;
}
