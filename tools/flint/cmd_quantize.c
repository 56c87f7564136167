/* flint quantize: convert a GGUF model to a quantized file type, choosing every
 * tensor's type as llama.cpp's llama-quantize does for the same name
 * (src/llm/quantize.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "llm/quantize.h"

static const char quantize_usage_head[] =
    "usage: flint quantize IN.gguf OUT.gguf TYPE [-t N] [--force] [--allow-requantize]\n"
    "  TYPE                 the file type (below); tensors get the types llama-quantize\n"
    "                       gives them for this name (norms and 1-D tensors stay as they are)\n"
    "  -t, --threads N      worker threads; 0: one per core (default 0); the output\n"
    "                       is the same for any N\n"
    "      --force          replace OUT if it exists (never IN)\n"
    "      --allow-requantize  accept input tensors that are already quantized\n"
    "types:\n";

static void print_usage(FILE *f) {
    fputs(quantize_usage_head, f);
    for (size_t i = 0; flt_qftype_at(i); i++)
        fprintf(f, "  %-8s %s\n", flt_qftype_at(i)->name, flt_qftype_at(i)->about);
}

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "flint quantize: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    print_usage(stderr);
    return FLINT_EXIT_USAGE;
}

static void report_progress(void *user, uint64_t done, uint64_t total, const char *name, uint32_t type) {
    (void)user;
    const flt_ggml_type_info *ti = flt_ggml_type(type);
    fprintf(stderr, "\r\033[Kflint quantize: [%llu/%llu] %s -> %s", (unsigned long long)done,
            (unsigned long long)total, name, ti && ti->name ? ti->name : "?");
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

static int n_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

int flint_cmd_quantize(int argc, char **argv) {
    const char *cmd = "quantize";
    const char *pos[3] = {NULL, NULL, NULL};
    int n_pos = 0;
    int32_t n_threads = 0;
    bool force = false, requant = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (flint_is_help(a)) {
            print_usage(stdout);
            return FLINT_EXIT_OK;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return usage_error("%s", "-t needs a value");
            if (!flint_parse_i32(cmd, a, v, 0, 4096, &n_threads)) return usage_error("%s", "bad thread count");
        } else if (!strcmp(a, "--force")) {
            force = true;
        } else if (!strcmp(a, "--allow-requantize")) {
            requant = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else {
            if (n_pos == 3) return usage_error("unexpected argument '%s'", a);
            pos[n_pos++] = a;
        }
    }
    if (n_pos < 3) return usage_error("%s", "needs IN.gguf OUT.gguf TYPE");
    const flt_qftype *ft = NULL;
    for (size_t i = 0; flt_qftype_at(i); i++)
        if (!strcasecmp(flt_qftype_at(i)->name, pos[2])) ft = flt_qftype_at(i);
    if (!ft) return usage_error("unknown type '%s'", pos[2]);
    if (!*pos[1]) return usage_error("%s", "empty output name");

    flt_quantize_params p = {0};
    p.ftype = ft;
    p.n_threads = n_threads ? n_threads : n_cores();
    p.allow_requantize = requant;
    p.overwrite = force;
    if (isatty(STDERR_FILENO)) p.progress = report_progress;
    flt_err e;
    flt_err_clear(&e);
    uint64_t n_fallback = 0;
    double t0 = flint_now();
    flintrt_status st = flt_quantize_file(pos[0], pos[1], &p, &n_fallback, &e);
    if (st) return flint_error("%s: %s", flintrt_status_string(st), e.msg);
    if (n_fallback)
        fprintf(stderr, "flint quantize: %llu tensor(s) took a fallback type (rows not a multiple of the block)\n",
                (unsigned long long)n_fallback);
    fprintf(stderr, "flint quantize: wrote %s (%s) in %.2f s\n", pos[1], ft->name, flint_now() - t0);
    return FLINT_EXIT_OK;
}
