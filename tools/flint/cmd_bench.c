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

#include "args.h"
#include "commands.h"
#include "flintrt.h"

static const char bench_usage[] =
    "usage: flint bench -m MODEL [-p N] [-n N] [-t N] [-r N] [--json]\n"
    "  -m, --model FILE     GGUF model\n"
    "  -p, --n-prompt N     prompt tokens evaluated as one batch (default 512; 0 skips)\n"
    "  -n, --n-gen N        tokens generated one at a time (default 128; 0 skips)\n"
    "  -t, --threads N      worker threads; 0: one per core (default 0)\n"
    "  -r, --repetitions N  measured runs of each test, after one warm-up (default 5)\n"
    "      --json           one JSON object per line instead of a table\n";

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
static double run_pp(flintrt_session *s, const flintrt_token *ids, int n) {
    flintrt_session_reset(s, 0);
    double t0 = flint_now();
    flintrt_status st = flintrt_session_eval(s, ids, (size_t)n, NULL, 0);
    double dt = flint_now() - t0;
    if (st) { flint_runtime_error(st); return -1; }
    return n / dt;
}

static double run_tg(flintrt_session *s, const flintrt_token *ids, int n) {
    flintrt_session_reset(s, 0);
    double t0 = flint_now();
    for (int i = 0; i < n; i++) {
        flintrt_status st = flintrt_session_eval(s, &ids[i], 1, NULL, 0);
        if (st) { flint_runtime_error(st); return -1; }
    }
    return n / (flint_now() - t0);
}

/* Measure one test: a warm-up, then reps runs. */
static int measure(flintrt_session *s, const flintrt_token *ids, int n, int reps, bool pp, stat2 *out) {
    double v[64];
    if ((pp ? run_pp(s, ids, n) : run_tg(s, ids, n)) < 0) return -1;
    for (int r = 0; r < reps; r++) {
        v[r] = pp ? run_pp(s, ids, n) : run_tg(s, ids, n);
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
    int32_t n_prompt = 512, n_gen = 128, threads = 0, reps = 5;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (flint_is_help(a)) { fputs(bench_usage, stdout); return FLINT_EXIT_OK; }
        if (!strcmp(a, "--json")) { json = true; continue; }
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, bench_usage, "bad -m");
            model_path = v;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--n-prompt")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i)) || !flint_parse_i32(cmd, a, v, 0, 1 << 20, &n_prompt))
                return flint_usage_error(cmd, bench_usage, "bad %s", a);
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-gen")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i)) || !flint_parse_i32(cmd, a, v, 0, 1 << 20, &n_gen))
                return flint_usage_error(cmd, bench_usage, "bad %s", a);
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i)) || !flint_parse_i32(cmd, a, v, 0, 1024, &threads))
                return flint_usage_error(cmd, bench_usage, "bad %s", a);
        } else if (!strcmp(a, "-r") || !strcmp(a, "--repetitions")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i)) || !flint_parse_i32(cmd, a, v, 1, 64, &reps))
                return flint_usage_error(cmd, bench_usage, "bad %s", a);
        } else {
            return flint_usage_error(cmd, bench_usage, "unknown option '%s'", a);
        }
    }
    if (!model_path) return flint_usage_error(cmd, bench_usage, "-m MODEL is required");
    if (!n_prompt && !n_gen) return flint_usage_error(cmd, bench_usage, "nothing to measure (-p 0 -n 0)");

    flintrt_model *model;
    flintrt_status st = flintrt_model_load(model_path, NULL, &model);
    if (st) return flint_runtime_error(st);
    int32_t ctx = n_prompt > n_gen ? n_prompt : n_gen;
    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.n_ctx = ctx;
    so.n_batch = n_prompt > 0 ? n_prompt : 1;
    so.n_threads = threads;
    flintrt_session *s;
    if ((st = flintrt_session_create(model, &so, &s))) {
        flintrt_model_free(model);
        return flint_runtime_error(st);
    }
    /* Random ids from a fixed seed: what they are does not change the work. */
    flintrt_token *ids = malloc((size_t)ctx * sizeof *ids);
    if (!ids) { flintrt_session_free(s); flintrt_model_free(model); return flint_error("out of memory"); }
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int32_t nv = flintrt_model_n_vocab(model);
    for (int32_t i = 0; i < ctx; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        ids[i] = (flintrt_token)(x % (uint64_t)nv);
    }
    stat2 pp = {0, 0}, tg = {0, 0};
    int rc = FLINT_EXIT_OK;
    if (n_prompt && measure(s, ids, n_prompt, reps, true, &pp)) rc = FLINT_EXIT_FAIL;
    if (rc == FLINT_EXIT_OK && n_gen && measure(s, ids, n_gen, reps, false, &tg)) rc = FLINT_EXIT_FAIL;
    if (rc == FLINT_EXIT_OK) {
        int nth = threads ? threads : 0;
        uint64_t per_tok = flintrt_model_bytes_per_token(model), rss = peak_rss();
        double gbs = tg.mean * (double)per_tok / 1e9;
        if (json) {
            printf("{\"model\": ");
            json_str(base_name(model_path));
            printf(", \"threads\": %d, \"n_prompt\": %d, \"n_gen\": %d, \"repetitions\": %d, "
                   "\"pp_tokens_per_s\": %.3f, \"pp_stdev\": %.3f, \"tg_tokens_per_s\": %.3f, \"tg_stdev\": %.3f, "
                   "\"weight_bytes\": %llu, \"bytes_per_token\": %llu, \"tg_gb_per_s\": %.3f, \"peak_rss_bytes\": %llu}\n",
                   nth, n_prompt, n_gen, reps, pp.mean, pp.sd, tg.mean, tg.sd,
                   (unsigned long long)flintrt_model_weight_bytes(model), (unsigned long long)per_tok, gbs,
                   (unsigned long long)rss);
        } else {
            printf("| %-28s | %9s | %7s | %-6s | %18s |\n", "model", "size MiB", "threads", "test", "t/s");
            printf("|------------------------------|-----------|---------|--------|--------------------|\n");
            double mib = (double)flintrt_model_weight_bytes(model) / (1024.0 * 1024.0);
            char test[32];
            if (n_prompt) {
                snprintf(test, sizeof test, "pp%d", n_prompt);
                printf("| %-28.28s | %9.2f | %7d | %-6s | %9.2f ± %6.2f |\n", base_name(model_path), mib, nth, test,
                       pp.mean, pp.sd);
            }
            if (n_gen) {
                snprintf(test, sizeof test, "tg%d", n_gen);
                printf("| %-28.28s | %9.2f | %7d | %-6s | %9.2f ± %6.2f |\n", base_name(model_path), mib, nth, test,
                       tg.mean, tg.sd);
            }
            if (n_gen)
                printf("weights read per generated token: %.2f MiB -> %.2f GB/s effective\n",
                       (double)per_tok / (1024.0 * 1024.0), gbs);
            printf("peak resident memory: %.1f MiB\n", (double)rss / (1024.0 * 1024.0));
        }
    }
    free(ids);
    flintrt_session_free(s);
    flintrt_model_free(model);
    return rc;
}
