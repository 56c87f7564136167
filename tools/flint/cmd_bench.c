/* flint bench: prompt-processing and generation speed of a GGUF model, measured
 * the way llama-bench measures it (a warm-up run, then REPS runs of each test
 * from an empty context; prompt: one batch of N random tokens; generation: N
 * tokens evaluated one at a time), reported as mean ± standard deviation, with
 * the bytes of weights each generated token reads, the memory bandwidth that
 * implies, and the process's peak resident memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "flintrt.h"

static const char bench_usage[] =
    "usage: flint bench -m MODEL [-p N[,N...]] [-n N[,N...]] [-d N] [-t N] [-r N] [--kv f16|f32] [--no-repack] [--json]\n"
    "  -m, --model FILE     GGUF model\n"
    "  -p, --n-prompt LIST  prompt tokens evaluated as one batch (default 512; 0 skips)\n"
    "  -n, --n-gen LIST     tokens generated one at a time (default 128; 0 skips)\n"
    "                       LISTs are comma-separated; row i pairs the i-th prompt size with\n"
    "                       the i-th generation length (a single value pairs with every row)\n"
    "  -t, --threads N      worker threads; 0: one per core (default 0)\n"
    "  -d, --n-depth N      tokens already in the context before each test (default 0),\n"
    "                       to see how speed holds up as the context grows\n"
    "  -r, --repetitions N  measured runs of each test, after one warm-up (default 5)\n"
    "      --kv TYPE        KV cache type: f16 (default, as llama.cpp) or f32\n"
    "      --no-repack      compute from the file's weight layout (no repacking at load)\n"
    "      --json           one JSON object per row instead of a table\n";

#define BENCH_MAX_LIST 16

/* Parse "N[,N...]" into v (at most BENCH_MAX_LIST values in [0, 2^20]). */
static bool parse_list(const char *cmd, const char *opt, const char *s, int32_t *v, int *n) {
    char buf[256];
    if (strlen(s) >= sizeof buf) return false;
    memcpy(buf, s, strlen(s) + 1);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == BENCH_MAX_LIST || !flint_parse_i32(cmd, opt, tok, 0, 1 << 20, &v[*n])) return false;
        (*n)++;
    }
    return *n > 0;
}

typedef struct {
    double mean, sd;
} stat2;

static stat2 summarize(const double *v, int n) {
    stat2 s = {0, 0};
    for (int i = 0; i < n; i++) s.mean += v[i];
    s.mean /= n;
    for (int i = 0; i < n; i++) s.sd += (v[i] - s.mean) * (v[i] - s.mean);
    s.sd = n > 1 ? sqrt(s.sd / (n - 1)) : 0;
    return s;
}

/* Peak resident set of this process in bytes (VmHWM), or ru_maxrss. */
static uint64_t peak_rss(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %llu kB", &kb) == 1) {
                fclose(f);
                return (uint64_t)kb * 1024;
            }
        fclose(f);
    }
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss * 1024 : 0;
}

/* Tokens per second of one run; < 0 on failure (already reported). */
/* Fill the context with `depth` tokens first (not timed), as llama-bench -d. */
static int fill_depth(flintrt_session *s, const flintrt_token *ids, int depth) {
    flintrt_session_reset(s, 0);
    if (depth <= 0) return 0;
    flintrt_status st = flintrt_session_eval(s, ids, (size_t)depth, NULL, 0);
    if (st) { flint_runtime_error(st); return -1; }
    return 0;
}

static double run_pp(flintrt_session *s, const flintrt_token *ids, int n, int depth) {
    if (fill_depth(s, ids, depth)) return -1;
    double t0 = flint_now();
    flintrt_status st = flintrt_session_eval(s, ids + depth, (size_t)n, NULL, 0);
    double dt = flint_now() - t0;
    if (st) { flint_runtime_error(st); return -1; }
    return n / dt;
}

static double run_tg(flintrt_session *s, const flintrt_token *ids, int n, int depth) {
    if (fill_depth(s, ids, depth)) return -1;
    double t0 = flint_now();
    for (int i = 0; i < n; i++) {
        flintrt_status st = flintrt_session_eval(s, &ids[depth + i], 1, NULL, 0);
        if (st) { flint_runtime_error(st); return -1; }
    }
    return n / (flint_now() - t0);
}

/* Measure one test: a warm-up, then reps runs. */
static int measure(flintrt_session *s, const flintrt_token *ids, int n, int depth, int reps, bool pp, stat2 *out) {
    double v[64];
    if ((pp ? run_pp(s, ids, n, depth) : run_tg(s, ids, n, depth)) < 0) return -1;
    for (int r = 0; r < reps; r++) {
        v[r] = pp ? run_pp(s, ids, n, depth) : run_tg(s, ids, n, depth);
        if (v[r] < 0) return -1;
    }
    *out = summarize(v, reps);
    return 0;
}

static const char *base_name(const char *path) {
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* JSON string body: the model path's file name, escaped. */
static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int flint_cmd_bench(int argc, char **argv) {
    const char *cmd = "bench", *model_path = NULL;
    int32_t pv[BENCH_MAX_LIST] = {512}, nv_[BENCH_MAX_LIST] = {128}, threads = 0, reps = 5, depth = 0;
    int np = 1, nn = 1;
    int32_t kv = FLINTRT_KV_DEFAULT;
    bool json = false, no_repack = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (flint_is_help(a)) { fputs(bench_usage, stdout); return FLINT_EXIT_OK; }
        if (!strcmp(a, "--json")) { json = true; continue; }
        if (!strcmp(a, "--no-repack")) { no_repack = true; continue; }
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, bench_usage, "bad -m");
            model_path = v;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--n-prompt")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i)) || !parse_list(cmd, a, v, pv, &np))
                return flint_usage_error(cmd, bench_usage, "bad %s (up to %d comma-separated counts)", a, BENCH_MAX_LIST);
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-gen")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i)) || !parse_list(cmd, a, v, nv_, &nn))
                return flint_usage_error(cmd, bench_usage, "bad %s (up to %d comma-separated counts)", a, BENCH_MAX_LIST);
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i)) || !flint_parse_i32(cmd, a, v, 0, 1024, &threads))
                return flint_usage_error(cmd, bench_usage, "bad %s", a);
        } else if (!strcmp(a, "-d") || !strcmp(a, "--n-depth")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i)) || !flint_parse_i32(cmd, a, v, 0, 1 << 20, &depth))
                return flint_usage_error(cmd, bench_usage, "bad %s", a);
        } else if (!strcmp(a, "-r") || !strcmp(a, "--repetitions")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i)) || !flint_parse_i32(cmd, a, v, 1, 64, &reps))
                return flint_usage_error(cmd, bench_usage, "bad %s", a);
        } else if (!strcmp(a, "--kv")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, bench_usage, "bad --kv");
            if (!strcmp(v, "f16") || !strcmp(v, "F16")) kv = FLINTRT_KV_F16;
            else if (!strcmp(v, "f32") || !strcmp(v, "F32")) kv = FLINTRT_KV_F32;
            else return flint_usage_error(cmd, bench_usage, "--kv must be f16 or f32, not '%s'", v);
        } else {
            return flint_usage_error(cmd, bench_usage, "unknown option '%s'", a);
        }
    }
    if (!model_path) return flint_usage_error(cmd, bench_usage, "-m MODEL is required");
    if (np > 1 && nn > 1 && np != nn)
        return flint_usage_error(cmd, bench_usage, "-p and -n lists of different lengths (%d and %d)", np, nn);
    int rows = np > nn ? np : nn;
    int32_t max_p = 0, max_n = 0, max_ctx = 0;
    bool any = false;
    for (int r = 0; r < rows; r++) {
        int32_t p = pv[np == 1 ? 0 : r], n = nv_[nn == 1 ? 0 : r];
        if (p > max_p) max_p = p;
        if (n > max_n) max_n = n;
        if (p > max_ctx) max_ctx = p;
        if (n > max_ctx) max_ctx = n;
        any = any || p || n;
    }
    if (!any) return flint_usage_error(cmd, bench_usage, "nothing to measure (-p 0 -n 0)");
    max_ctx += depth;

    flintrt_model *model;
    flintrt_model_options mo;
    flintrt_model_options_init(&mo);
    mo.no_repack = no_repack;
    flintrt_status st = flintrt_model_load(model_path, &mo, &model);
    if (st) return flint_runtime_error(st);
    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.n_ctx = max_ctx;
    so.n_batch = max_p > 0 ? max_p : 1;
    if (depth > so.n_batch) so.n_batch = depth < 512 ? depth : 512;
    so.n_threads = threads;
    so.kv_type = kv;
    flintrt_session *s;
    if ((st = flintrt_session_create(model, &so, &s))) {
        flintrt_model_free(model);
        return flint_runtime_error(st);
    }
    /* Random ids from a fixed seed: what they are does not change the work. */
    flintrt_token *ids = malloc((size_t)max_ctx * sizeof *ids);
    if (!ids) { flintrt_session_free(s); flintrt_model_free(model); return flint_error("out of memory"); }
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int32_t nvocab = flintrt_model_n_vocab(model);
    for (int32_t i = 0; i < max_ctx; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        ids[i] = (flintrt_token)(x % (uint64_t)nvocab);
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nth = threads ? threads : ncpu < 1 ? 1 : ncpu > 64 ? 64 : (int)ncpu;
    uint64_t per_tok = flintrt_model_bytes_per_token(model);
    double mib = (double)flintrt_model_weight_bytes(model) / (1024.0 * 1024.0);
    const char *kv_name = kv == FLINTRT_KV_F32 ? "f32" : "f16";
    int rc = FLINT_EXIT_OK;
    if (!json) {
        printf("| %-28s | %9s | %7s | %-3s | %-12s | %20s | %8s |\n", "model", "size MiB", "threads", "kv", "test", "t/s",
               "GB/s");
        printf("|------------------------------|-----------|---------|-----|--------------|----------------------|----------|\n");
    }
    for (int r = 0; r < rows && rc == FLINT_EXIT_OK; r++) {
        int32_t p = pv[np == 1 ? 0 : r], n = nv_[nn == 1 ? 0 : r];
        stat2 pp = {0, 0}, tg = {0, 0};
        if (p && measure(s, ids, p, depth, reps, true, &pp)) { rc = FLINT_EXIT_FAIL; break; }
        if (n && measure(s, ids, n, depth, reps, false, &tg)) { rc = FLINT_EXIT_FAIL; break; }
        uint64_t rss = peak_rss();
        double gbs = tg.mean * (double)per_tok / 1e9;
        if (json) {
            printf("{\"model\": ");
            json_str(base_name(model_path));
            printf(", \"threads\": %d, \"n_prompt\": %d, \"n_gen\": %d, \"repetitions\": %d, \"kv_type\": \"%s\", "
                   "\"n_depth\": %d, \"repack\": %s, \"pp_tokens_per_s\": %.3f, \"pp_stdev\": %.3f, \"tg_tokens_per_s\": %.3f, \"tg_stdev\": %.3f, "
                   "\"weight_bytes\": %llu, \"bytes_per_token\": %llu, \"tg_gb_per_s\": %.3f, \"peak_rss_bytes\": %llu}\n",
                   nth, p, n, reps, kv_name, depth, no_repack ? "false" : "true", pp.mean, pp.sd, tg.mean, tg.sd,
                   (unsigned long long)flintrt_model_weight_bytes(model), (unsigned long long)per_tok, gbs,
                   (unsigned long long)rss);
        } else {
            char test[32];
            if (p) {
                snprintf(test, sizeof test, depth ? "pp%d@d%d" : "pp%d", p, depth);
                printf("| %-28.28s | %9.2f | %7d | %-3s | %-12s | %10.2f ± %7.2f | %8s |\n", base_name(model_path), mib,
                       nth, kv_name, test, pp.mean, pp.sd, "");
            }
            if (n) {
                snprintf(test, sizeof test, depth ? "tg%d@d%d" : "tg%d", n, depth);
                printf("| %-28.28s | %9.2f | %7d | %-3s | %-12s | %10.2f ± %7.2f | %8.2f |\n", base_name(model_path), mib,
                       nth, kv_name, test, tg.mean, tg.sd, gbs);
            }
        }
        fflush(stdout);
    }
    if (rc == FLINT_EXIT_OK && !json) {
        if (max_n)
            printf("weights read per generated token: %.2f MiB (%llu bytes); GB/s = that × t/s\n",
                   (double)per_tok / (1024.0 * 1024.0), (unsigned long long)per_tok);
        printf("peak resident memory: %.1f MiB\n", (double)peak_rss() / (1024.0 * 1024.0));
    }
    free(ids);
    flintrt_session_free(s);
    flintrt_model_free(model);
    return rc;
}
