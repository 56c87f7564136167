/* End-to-end checks against llama.cpp's reference outputs in ../shared/reference:
 * - stories260K (a real model): the 64-token greedy continuation of each prompt
 *   is identical;
 * - tiny-llama F32/F16/BF16/Q8_0/Q4_0, the K-quant files (Q2_K, Q3_K_M,
 *   Q4_K_S, Q4_K_M, Q5_K_M, Q6_K) and Q4_1/Q5_0/Q5_1/IQ4_NL/IQ4_XS: teacher-forced logits at every one of the
 *   64 positions of each prompt lie within the tolerances of reference/README.md;
 * - the logits are bit-identical with 1 and 2 threads. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "flintrt.h"
#include "harness.h"

typedef struct {
    int32_t prompt[64], gen[64];
    int n_prompt, n_gen, n_vocab;
} ref_case;

static int parse_ids(const char *line, int32_t *out, int cap) {
    int n = 0;
    const char *p = line;
    while (*p && *p != '\n' && n < cap) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        out[n++] = (int32_t)v;
        p = end;
    }
    return n;
}

static bool load_case(const char *model, int k, ref_case *rc) {
    char rel[256];
    snprintf(rel, sizeof rel, "reference/llm/%s.p%d.greedy.tsv", model, k);
    size_t sz;
    char *txt = flt_test_read_file(flt_test_shared(rel), &sz);
    if (!txt) return false;
    memset(rc, 0, sizeof *rc);
    for (char *line = txt; line && *line;) {
        char *nl = strchr(line, '\n');
        if (!strncmp(line, "prompt_ids\t", 11)) rc->n_prompt = parse_ids(line + 11, rc->prompt, 64);
        if (!strncmp(line, "generated_ids\t", 14)) rc->n_gen = parse_ids(line + 14, rc->gen, 64);
        if (!strncmp(line, "n_vocab\t", 8)) rc->n_vocab = atoi(line + 8);
        line = nl ? nl + 1 : NULL;
    }
    free(txt);
    return rc->n_prompt > 0 && rc->n_gen == 64;
}

static flintrt_model *load(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s.gguf", name);
    flintrt_model *m = NULL;
    if (flintrt_model_load(flt_test_shared(rel), NULL, &m) != FLINTRT_OK)
        fprintf(stderr, "load %s: %s\n", name, flintrt_last_error());
    return m;
}

static flintrt_session *session(flintrt_model *m, int threads) {
    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.n_ctx = 256;
    so.n_threads = threads;
    flintrt_session *s = NULL;
    if (flintrt_session_create(m, &so, &s) != FLINTRT_OK)
        fprintf(stderr, "session: %s\n", flintrt_last_error());
    return s;
}

/* Teacher forcing: prompt + generated[0..62] in one sequence. Returns malloc'd
 * logits of every position. */
static float *teacher_forced(flintrt_model *m, const ref_case *rc, int threads) {
    int32_t ids[128];
    int n = 0;
    for (int i = 0; i < rc->n_prompt; i++) ids[n++] = rc->prompt[i];
    for (int i = 0; i < 63; i++) ids[n++] = rc->gen[i];
    flintrt_session *s = session(m, threads);
    if (!s) return NULL;
    size_t len = (size_t)n * (size_t)rc->n_vocab;
    float *lg = malloc(len * sizeof *lg);
    if (flintrt_session_eval(s, ids, (size_t)n, lg, len) != FLINTRT_OK) {
        fprintf(stderr, "eval: %s\n", flintrt_last_error());
        free(lg);
        lg = NULL;
    }
    flintrt_session_free(s);
    return lg;
}

static void check_model(const char *name, double tol_max, double tol_rms) {
    flintrt_model *m = load(name);
    CHECKF(m != NULL, "%s loads", name);
    if (!m) return;
    for (int k = 0; k < 3; k++) {
        ref_case rc;
        CHECKF(load_case(name, k, &rc), "%s p%d reference", name, k);
        if (!rc.n_gen) continue;
        CHECK(rc.n_vocab == flintrt_model_n_vocab(m));
        char rel[256];
        snprintf(rel, sizeof rel, "reference/llm/%s.p%d.steps.f32", name, k);
        size_t sz;
        float *ref = flt_test_read_file(flt_test_shared(rel), &sz);
        CHECK(ref && sz == 64 * (size_t)rc.n_vocab * sizeof(float));
        float *lg1 = teacher_forced(m, &rc, 1);
        float *lg2 = teacher_forced(m, &rc, 2);
        CHECK(lg1 && lg2);
        if (ref && lg1 && lg2) {
            size_t len = (size_t)(rc.n_prompt + 63) * (size_t)rc.n_vocab;
            CHECKF(memcmp(lg1, lg2, len * sizeof(float)) == 0, "%s p%d: 1 and 2 threads give the same bits", name, k);
            double worst_max = 0, worst_rms = 0;
            for (int s = 0; s < 64; s++) {
                const float *a = lg1 + (size_t)(rc.n_prompt - 1 + s) * (size_t)rc.n_vocab;
                const float *r = ref + (size_t)s * (size_t)rc.n_vocab;
                double mean = 0, var = 0, mx = 0, ss = 0;
                for (int i = 0; i < rc.n_vocab; i++) mean += r[i];
                mean /= rc.n_vocab;
                for (int i = 0; i < rc.n_vocab; i++) var += (r[i] - mean) * (r[i] - mean);
                double sigma = sqrt(var / rc.n_vocab);
                for (int i = 0; i < rc.n_vocab; i++) {
                    double d = fabs((double)a[i] - r[i]);
                    if (d > mx) mx = d;
                    ss += d * d;
                }
                double rel_max = mx / sigma, rel_rms = sqrt(ss / rc.n_vocab) / sigma;
                if (rel_max > worst_max) worst_max = rel_max;
                if (rel_rms > worst_rms) worst_rms = rel_rms;
            }
            printf("%-22s p%d: max|d|/sigma %.4f (<= %.2f), rms/sigma %.4f (<= %.2f)\n", name, k, worst_max,
                   tol_max, worst_rms, tol_rms);
            CHECKF(worst_max <= tol_max && worst_rms <= tol_rms, "%s p%d within tolerance", name, k);
        }
        free(ref);
        free(lg1);
        free(lg2);
    }
    flintrt_model_free(m);
}

/* `flint eval` writes exactly the logits the API computes (same bits). */
static void check_cli_eval(const char *name, int k) {
    const char *bin = getenv("FLINT_BIN");
    if (!bin || !*bin) return; /* run outside ctest */
    flintrt_model *m = load(name);
    ref_case rc;
    CHECK(m && load_case(name, k, &rc));
    if (!m) return;
    char ids[2048], cmd[4096], out[256], rel[256];
    int w = 0;
    for (int i = 0; i < rc.n_prompt; i++) w += snprintf(ids + w, sizeof ids - (size_t)w, "%d ", rc.prompt[i]);
    for (int i = 0; i < 63; i++) w += snprintf(ids + w, sizeof ids - (size_t)w, "%d ", rc.gen[i]);
    snprintf(out, sizeof out, "/tmp/flint_eval_%d.f32", (int)getpid());
    snprintf(rel, sizeof rel, "models/%s.gguf", name);
    snprintf(cmd, sizeof cmd, "'%s' eval -m '%s' --ids '%s' -o '%s' -t 2", bin, flt_test_shared(rel), ids, out);
    CHECKF(system(cmd) == 0, "%s", cmd);
    size_t sz;
    float *cli = flt_test_read_file(out, &sz);
    float *api = teacher_forced(m, &rc, 1);
    size_t len = (size_t)(rc.n_prompt + 63) * (size_t)rc.n_vocab;
    CHECKF(cli && api && sz == len * sizeof(float) && !memcmp(cli, api, sz), "flint eval %s p%d == API logits", name, k);
    remove(out);
    free(cli);
    free(api);
    flintrt_model_free(m);
}

static void check_greedy_stories(void) {
    flintrt_model *m = load("stories260K");
    CHECK(m != NULL);
    if (!m) return;
    for (int k = 0; k < 3; k++) {
        ref_case rc;
        CHECK(load_case("stories260K", k, &rc));
        for (int threads = 1; threads <= 2; threads++) {
            flintrt_session *s = session(m, threads);
            CHECK(s != NULL);
            if (!s) continue;
            CHECK(flintrt_session_eval(s, rc.prompt, (size_t)rc.n_prompt, NULL, 0) == FLINTRT_OK);
            flintrt_sampler_params sp;
            flintrt_sampler_params_init(&sp);
            sp.temperature = 0;
            int same = 0;
            for (int i = 0; i < 64; i++) {
                flintrt_token t = -1;
                if (flintrt_session_sample(s, &sp, &t) != FLINTRT_OK) break;
                if (t != rc.gen[i]) break;
                same++;
                if (flintrt_session_eval(s, &t, 1, NULL, 0) != FLINTRT_OK) break;
            }
            CHECKF(same == 64, "stories260K p%d t%d: %d of 64 greedy tokens match", k, threads, same);
            flintrt_session_free(s);
        }
    }
    flintrt_model_free(m);
}

int main(void) {
    check_greedy_stories();
    check_model("tiny-llama-F32", 0.05, 0.02);
    check_model("tiny-llama-F16", 0.05, 0.02);
    check_model("tiny-llama-BF16", 0.15, 0.05);
    check_model("tiny-llama-Q8_0", 0.5, 0.15);
    check_model("tiny-llama-Q4_0", 0.5, 0.15);
    check_model("tiny-llama-Q2_K", 0.5, 0.15);
    check_model("tiny-llama-Q3_K_M", 0.5, 0.15);
    check_model("tiny-llama-Q4_K_S", 0.5, 0.15);
    check_model("tiny-llama-Q4_K_M", 0.5, 0.15);
    check_model("tiny-llama-Q5_K_M", 0.5, 0.15);
    check_model("tiny-llama-Q6_K", 0.5, 0.15);
    /* Q4_1/Q5_0/Q5_1 files keep output.weight in Q6_K; the IQ4 files also
     * hold Q5_K tensors (attn_v) */
    check_model("tiny-llama-Q4_1", 0.5, 0.15);
    check_model("tiny-llama-Q5_0", 0.5, 0.15);
    check_model("tiny-llama-Q5_1", 0.5, 0.15);
    check_model("tiny-llama-IQ4_NL", 0.5, 0.15);
    check_model("tiny-llama-IQ4_XS", 0.5, 0.15);
    check_cli_eval("tiny-llama-F16", 1);
    check_cli_eval("tiny-llama-Q8_0", 2);
    return flt_test_finish();
}
