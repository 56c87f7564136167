/* flint quantize (src/llm/quantize.c):
 *  - on tiny-llama-F32.gguf every file type gives a file byte-identical to the one
 *    llama.cpp's llama-quantize made (../shared/models/tiny-llama-<TYPE>.gguf), and
 *    the same per-tensor types (checked separately, so a type-choice bug and a
 *    kernel/layout bug are told apart);
 *  - the output does not depend on the thread count;
 *  - the input is never overwritten (same path, symlink, hard link), nor an
 *    existing output without overwrite;
 *  - the recipe on a synthetic 12-layer model: norms and 1-D tensors keep their
 *    type, attn_v/ffn_down get Q6_K on llama.cpp's use_more_bits layers, rows that
 *    are no multiple of the block fall back, tensors come out in llama.cpp's order;
 *  - a quantized stories260K loads and runs, and agrees with the F32 model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flintrt.h"
#include "formats/gguf.h"
#include "harness.h"
#include "llm/quantize.h"

static char g_tmp[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
    return buf[k];
}

static bool files_equal(const char *a, const char *b, size_t *first_diff, size_t *size_a, size_t *size_b) {
    size_t na = 0, nb = 0;
    unsigned char *pa = flt_test_read_file(a, &na), *pb = flt_test_read_file(b, &nb);
    bool eq = pa && pb && na == nb && memcmp(pa, pb, na) == 0;
    *first_diff = 0;
    if (pa && pb && !eq) {
        size_t n = na < nb ? na : nb, i = 0;
        while (i < n && pa[i] == pb[i]) i++;
        *first_diff = i;
    }
    *size_a = na;
    *size_b = nb;
    free(pa);
    free(pb);
    return eq;
}

static flintrt_status quantize(const char *in, const char *out, const char *type, int threads, bool overwrite,
                               flt_err *e) {
    flt_quantize_params p = {0};
    p.ftype = flt_qftype_find(type);
    p.n_threads = threads;
    p.overwrite = overwrite;
    flt_err_clear(e);
    if (!p.ftype) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "unknown type %s", type);
    return flt_quantize_file(in, out, &p, NULL, e);
}

/* The tensor types of two files agree name by name. */
static void check_same_types(const char *mine, const char *ref, const char *label) {
    flt_gguf *a = NULL, *b = NULL;
    flt_err e;
    if (flt_gguf_open(mine, &a, &e) || flt_gguf_open(ref, &b, &e)) {
        CHECKF(0, "%s: cannot open: %s", label, e.msg);
        flt_gguf_close(a);
        return;
    }
    CHECKF(flt_gguf_n_tensors(a) == flt_gguf_n_tensors(b), "%s: tensor counts differ", label);
    int bad = 0;
    for (uint64_t i = 0; i < flt_gguf_n_tensors(b); i++) {
        const flt_gguf_tensor *tb = flt_gguf_tensor_at(b, i);
        const flt_gguf_tensor *ta = i < flt_gguf_n_tensors(a) ? flt_gguf_tensor_at(a, i) : NULL;
        bool same = ta && ta->name.n == tb->name.n && !memcmp(ta->name.p, tb->name.p, tb->name.n) &&
                    ta->type == tb->type;
        if (!same && bad++ < 5)
            fprintf(stderr, "  %s: tensor %llu '%.*s' is %s in llama.cpp's file, Flint wrote '%.*s' %s\n", label,
                    (unsigned long long)i, (int)tb->name.n, tb->name.p, flt_ggml_type(tb->type)->name,
                    ta ? (int)ta->name.n : 0, ta ? ta->name.p : "", ta ? flt_ggml_type(ta->type)->name : "-");
    }
    CHECKF(bad == 0, "%s: %d tensors differ in name or type from llama.cpp's choice", label, bad);
    flt_gguf_close(a);
    flt_gguf_close(b);
}

static void test_llama_cpp_identity(void) {
    static const char *const types[] = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "F16", "BF16", "Q6_K",
                                        "Q4_K_M", "Q4_K_S", "Q5_K_M", "Q2_K", "Q3_K_M", "IQ4_NL", "IQ4_XS"};
    char in[512];
    snprintf(in, sizeof in, "%s", flt_test_shared("models/tiny-llama-F32.gguf"));
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char name[64], ref[512];
        snprintf(name, sizeof name, "tiny-%s.gguf", types[i]);
        char rel[64];
        snprintf(rel, sizeof rel, "models/tiny-llama-%s.gguf", types[i]);
        snprintf(ref, sizeof ref, "%s", flt_test_shared(rel));
        const char *out = tmp_path(name);
        flt_err e;
        flintrt_status st = quantize(in, out, types[i], 2, false, &e);
        CHECKF(st == FLINTRT_OK, "quantize %s: %s%s", types[i], e.msg,
               st == FLINTRT_ERR_UNSUPPORTED ? " (a dtype this type needs is missing)" : "");
        if (st) continue;
        check_same_types(out, ref, types[i]);
        size_t diff, na, nb;
        bool eq = files_equal(out, ref, &diff, &na, &nb);
        CHECKF(eq, "%s: Flint's file (%zu bytes) differs from llama-quantize's (%zu bytes) at byte %zu", types[i], na,
               nb, diff);
        if (eq) printf("%-7s byte-identical to llama-quantize (%zu bytes)\n", types[i], na);
        remove(out);
    }
}

static void test_threads_and_paths(void) {
    /* a private copy of the input, so that links to it can be made */
    char in[512];
    snprintf(in, sizeof in, "%s", tmp_path("in-F32.gguf"));
    size_t n = 0;
    void *buf = flt_test_read_file(flt_test_shared("models/stories260K.gguf"), &n);
    CHECK(buf != NULL);
    if (!buf) return;
    FILE *f = fopen(in, "wb");
    CHECK(f && fwrite(buf, 1, n, f) == n);
    if (f) fclose(f);
    flt_err e;
    /* stories260K's rows of 64 and 172 take every fallback path of Q4_K_M */
    for (int t = 1; t <= 3; t += 2) {
        char name[32];
        snprintf(name, sizeof name, "t%d.gguf", t);
        CHECKF(quantize(in, tmp_path(name), "Q4_K_M", t, false, &e) == FLINTRT_OK, "-t %d: %s", t, e.msg);
    }
    size_t diff, na, nb;
    CHECKF(files_equal(tmp_path("t1.gguf"), tmp_path("t3.gguf"), &diff, &na, &nb),
           "1 and 3 threads differ at byte %zu", diff);

    /* the input is never the output */
    CHECK(quantize(in, in, "Q8_0", 1, true, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(symlink(in, tmp_path("sym.gguf")) == 0);
    CHECK(quantize(in, tmp_path("sym.gguf"), "Q8_0", 1, true, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(link(in, tmp_path("hard.gguf")) == 0);
    CHECK(quantize(in, tmp_path("hard.gguf"), "Q8_0", 1, true, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    size_t n2 = 0;
    void *after = flt_test_read_file(in, &n2);
    CHECKF(after && n2 == n && memcmp(after, buf, n) == 0, "the input changed (%zu -> %zu bytes)", n, n2);
    free(after);
    /* an existing output only with overwrite */
    CHECK(quantize(in, tmp_path("t1.gguf"), "Q8_0", 1, false, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(files_equal(tmp_path("t1.gguf"), tmp_path("t3.gguf"), &diff, &na, &nb));
    CHECK(quantize(in, tmp_path("t1.gguf"), "Q8_0", 1, true, &e) == FLINTRT_OK);
    CHECK(!files_equal(tmp_path("t1.gguf"), tmp_path("t3.gguf"), &diff, &na, &nb));
    /* a missing input: an I/O error, no output */
    CHECK(quantize(tmp_path("missing.gguf"), tmp_path("x.gguf"), "Q8_0", 1, false, &e) != FLINTRT_OK);
    CHECK(access(tmp_path("x.gguf"), F_OK) != 0);
    free(buf);
    remove(tmp_path("sym.gguf"));
    remove(tmp_path("hard.gguf"));
    remove(tmp_path("t3.gguf"));
}

/* A 12-layer llama-shaped model with small tensors (data zero). */
static flt_gguf *synthetic_model(void **mem) {
    flt_gguf_writer *w = flt_gguf_writer_new();
    static float zeros[256 * 16];
    flt_gguf_set_str(w, "general.architecture", "llama", 5);
    flt_gguf_set_u32(w, "llama.block_count", 12);
    flt_gguf_set_u32(w, "llama.attention.head_count", 8);
    flt_gguf_set_u32(w, "llama.attention.head_count_kv", 8);
    flt_gguf_set_u32(w, "general.file_type", 0);
    int64_t ne2[2] = {256, 16}, ne_odd[2] = {96, 16}, ne80[2] = {80, 4}, ne1[1] = {256};
    flt_gguf_add_tensor(w, "extra.weight", 0, 2, ne80, zeros, 80 * 4 * 4);
    flt_gguf_add_tensor(w, "token_embd.weight", 0, 2, ne_odd, zeros, 96 * 16 * 4);
    flt_gguf_add_tensor(w, "output.weight", 0, 2, ne_odd, zeros, 96 * 16 * 4);
    flt_gguf_add_tensor(w, "output_norm.weight", 0, 1, ne1, zeros, 256 * 4);
    for (int l = 11; l >= 0; l--) { /* reverse order on purpose */
        char name[64];
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l);
        flt_gguf_add_tensor(w, name, 0, 2, ne2, zeros, sizeof zeros);
        snprintf(name, sizeof name, "blk.%d.attn_v.weight", l);
        flt_gguf_add_tensor(w, name, 0, 2, ne2, zeros, sizeof zeros);
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        flt_gguf_add_tensor(w, name, 0, 1, ne1, zeros, 256 * 4);
        snprintf(name, sizeof name, "blk.%d.attn_q.weight", l);
        flt_gguf_add_tensor(w, name, 0, 2, ne2, zeros, sizeof zeros);
    }
    size_t size;
    flt_err e;
    flt_gguf *g = NULL;
    if (flt_gguf_write_memory(w, mem, &size, &e) == FLINTRT_OK) flt_gguf_open_memory(*mem, size, &g, &e);
    flt_gguf_writer_free(w);
    return g;
}

static const char *plan_name(const flt_gguf *g, const flt_qplan_entry *pe, char *buf) {
    flt_str s = flt_gguf_tensor_at(g, pe->src)->name;
    memcpy(buf, s.p, s.n);
    buf[s.n] = '\0';
    return buf;
}

static void test_recipe(void) {
    void *mem = NULL;
    flt_gguf *g = synthetic_model(&mem);
    CHECK(g != NULL);
    if (!g) { free(mem); return; }
    uint64_t n = flt_gguf_n_tensors(g);
    flt_qplan_entry *plan = calloc(n, sizeof *plan);
    flt_err e;
    CHECKF(flt_quantize_plan(g, flt_qftype_find("Q4_K_M"), plan, &e) == FLINTRT_OK, "%s", e.msg);
    /* llama.cpp's use_more_bits(i, 12): i < 12/8 || i >= 7*12/8 || (i - 12/8) % 3 == 2 */
    static const bool more[12] = {1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1};
    char name[128];
    /* order: the tensors outside blocks sorted by name first, then blocks by number */
    CHECK(!strcmp(plan_name(g, &plan[0], name), "extra.weight"));
    CHECK(!strcmp(plan_name(g, &plan[1], name), "output.weight"));
    CHECK(!strcmp(plan_name(g, &plan[2], name), "output_norm.weight"));
    CHECK(!strcmp(plan_name(g, &plan[3], name), "token_embd.weight"));
    CHECK(!strcmp(plan_name(g, &plan[4], name), "blk.0.attn_norm.weight"));
    CHECK(!strcmp(plan_name(g, &plan[4 + 4 * 10], name), "blk.10.attn_norm.weight")); /* 10 after 9, not after 1 */
    for (uint64_t k = 0; k < n; k++) {
        plan_name(g, &plan[k], name);
        int l = -1;
        sscanf(name, "blk.%d.", &l);
        uint32_t want;
        if (strstr(name, "_norm")) want = 0;                                 /* F32 kept */
        else if (!strcmp(name, "output.weight")) want = 8;                   /* 96 % 256: Q8_0 */
        else if (!strcmp(name, "token_embd.weight")) want = 6;               /* Q4_K -> Q5_0 fallback */
        else if (!strcmp(name, "extra.weight")) want = 1;                    /* Q4_K -> Q5_0 -> F16 (80 % 32) */
        else if (strstr(name, "attn_v") || strstr(name, "ffn_down")) want = more[l] ? 14 : 12; /* Q6_K : Q4_K */
        else want = 12;
        CHECKF(plan[k].type == want, "Q4_K_M %s: type %u, expected %u", name, plan[k].type, want);
        CHECKF(plan[k].fallback == (!strcmp(name, "token_embd.weight") || !strcmp(name, "extra.weight")),
               "%s: fallback flag", name);
    }
    /* F16: every 2-D weight F16 (no recipe), norms F32 */
    CHECK(flt_quantize_plan(g, flt_qftype_find("F16"), plan, &e) == FLINTRT_OK);
    for (uint64_t k = 0; k < n; k++) {
        plan_name(g, &plan[k], name);
        CHECKF(plan[k].type == (strstr(name, "_norm") ? 0u : 1u), "F16 %s: type %u", name, plan[k].type);
    }
    /* Q8_0: rows of 80 have no Q8_0 fallback in llama-quantize (it refuses the file); Flint uses F16 */
    CHECK(flt_quantize_plan(g, flt_qftype_find("Q8_0"), plan, &e) == FLINTRT_OK);
    for (uint64_t k = 0; k < n; k++) {
        plan_name(g, &plan[k], name);
        uint32_t want = strstr(name, "_norm") ? 0u : !strcmp(name, "extra.weight") ? 1u : 8u;
        CHECKF(plan[k].type == want, "Q8_0 %s: type %u, expected %u", name, plan[k].type, want);
    }
    CHECK(flt_qftype_find("Q4_K_X") == NULL && flt_qftype_find("q4_k_m") == NULL);
    free(plan);
    flt_gguf_close(g);
    free(mem);
}

/* Greedy next token after "Once upon a time" and the logits. */
static int top_token(const char *path, float *logits_out, int n_vocab) {
    flintrt_model *m = NULL;
    flintrt_session *s = NULL;
    if (flintrt_model_load(path, NULL, &m) != FLINTRT_OK) return -1;
    int best = -1;
    flintrt_token ids[32];
    size_t n = 0;
    if (flintrt_tokenize(m, "Once upon a time", 16, FLINTRT_TOKENIZE_ADD_BOS, ids, 32, &n) == FLINTRT_OK &&
        flintrt_session_create(m, NULL, &s) == FLINTRT_OK &&
        flintrt_session_eval(s, ids, n, NULL, 0) == FLINTRT_OK && flintrt_model_n_vocab(m) == n_vocab) {
        const float *l = flintrt_session_logits(s);
        best = 0;
        for (int i = 0; i < n_vocab; i++) {
            logits_out[i] = l[i];
            if (l[i] > l[best]) best = i;
        }
    }
    flintrt_session_free(s);
    flintrt_model_free(m);
    return best;
}

static void test_output_runs(void) {
    enum { V = 512 };
    static float ref[V], got[V];
    char in[512];
    snprintf(in, sizeof in, "%s", flt_test_shared("models/stories260K.gguf"));
    int want = top_token(in, ref, V);
    CHECK(want >= 0);
    static const char *const types[] = {"Q8_0", "Q6_K", "Q4_K_M", "Q4_0"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "stories-%s.gguf", types[i]);
        flt_err e;
        CHECKF(quantize(in, tmp_path(name), types[i], 2, false, &e) == FLINTRT_OK, "%s: %s", types[i], e.msg);
        int top = top_token(tmp_path(name), got, V);
        bool finite = true;
        double d2 = 0, r2 = 0;
        for (int k = 0; k < V; k++) {
            finite = finite && isfinite(got[k]);
            d2 += (got[k] - ref[k]) * (double)(got[k] - ref[k]);
            r2 += ref[k] * (double)ref[k];
        }
        CHECKF(top >= 0 && finite, "stories260K %s does not load or run", types[i]);
        /* a peaked real model: the quantized files keep the greedy choice and stay close */
        CHECKF(top == want, "stories260K %s: top token %d, F32 gives %d", types[i], top, want);
        CHECKF(sqrt(d2 / r2) < 0.2, "stories260K %s: relative logit error %.3f", types[i], sqrt(d2 / r2));
        remove(tmp_path(name));
    }
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "%s/flint_test_quantize.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_recipe();
    test_llama_cpp_identity();
    test_threads_and_paths();
    test_output_runs();
    remove(tmp_path("in-F32.gguf"));
    remove(tmp_path("t1.gguf"));
    rmdir(g_tmp);
    return flt_test_finish();
}
