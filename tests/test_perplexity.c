/* flint perplexity (src/llm/perplexity.c):
 *  - on stories260K and bench/data/stories.txt the PPL is finite and equals a
 *    direct computation here: each chunk evaluated in one call through the public
 *    API, NLL from the logits in long double, llama-perplexity's chunking and ±;
 *  - KLD of a model against its own saved log-probabilities is ~0 with 100 % top-1
 *    agreement; on tiny-llama, KLD from F16 grows F16 < Q8_0 < Q4_0;
 *  - the KL base reader refuses one malformed file per failure class, and a base
 *    that does not belong to the text or model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flintrt.h"
#include "harness.h"
#include "llm/perplexity.h"

/* bench/data/stories.txt, found from this file's path (ctest runs elsewhere). */
static const char *stories_path(void) {
    static char buf[1024];
    const char *f = __FILE__;
    const char *slash = strrchr(f, '/');
    size_t dir = slash ? (size_t)(slash - f) : 0;
    snprintf(buf, sizeof buf, "%.*s%s../bench/data/stories.txt", (int)dir, f, slash ? "/" : "");
    return buf;
}

static flintrt_token *tokenize_stories(const flintrt_model *m, size_t *n) {
    size_t len = 0;
    char *text = flt_test_read_file(stories_path(), &len);
    CHECKF(text != NULL, "cannot read %s", stories_path());
    if (!text) return NULL;
    flintrt_tokenize(m, text, len, FLINTRT_TOKENIZE_ADD_BOS, NULL, 0, n);
    flintrt_token *ids = malloc(*n * sizeof *ids);
    CHECK(flintrt_tokenize(m, text, len, FLINTRT_TOKENIZE_ADD_BOS, ids, *n, n) == FLINTRT_OK);
    free(text);
    return ids;
}

static flintrt_model *load(const char *rel) {
    flintrt_model *m = NULL;
    CHECKF(flintrt_model_load(flt_test_shared(rel), NULL, &m) == FLINTRT_OK, "%s: %s", rel, flintrt_last_error());
    return m;
}

static flintrt_session *session(const flintrt_model *m, int n_ctx) {
    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.n_ctx = n_ctx;
    so.n_threads = 2;
    flintrt_session *s = NULL;
    CHECK(flintrt_session_create(m, &so, &s) == FLINTRT_OK);
    return s;
}

static void test_direct(void) {
    flintrt_model *m = load("models/stories260K.gguf");
    if (!m) return;
    size_t n = 0;
    flintrt_token *ids = tokenize_stories(m, &n);
    const int n_ctx = 128, V = flintrt_model_n_vocab(m);
    flintrt_session *s = session(m, n_ctx);
    if (!ids || !s) goto out;
    CHECK(n > 1000 && ids[0] == flintrt_model_bos(m));
    flt_ppl_params p = {.n_ctx = n_ctx};
    flt_ppl_result r;
    flt_err e;
    CHECKF(flt_ppl_run(m, s, ids, n, &p, &r, &e) == FLINTRT_OK, "%s", e.msg);
    CHECK(isfinite(r.ppl) && r.ppl > 1 && r.ppl < V);

    /* the direct computation */
    float *logits = malloc((size_t)n_ctx * V * sizeof *logits);
    flintrt_token chunk[128];
    long double sum = 0, sum2 = 0;
    long long count = 0;
    size_t n_chunks = n / n_ctx;
    for (size_t c = 0; c < n_chunks; c++) {
        memcpy(chunk, ids + c * n_ctx, sizeof chunk);
        chunk[0] = flintrt_model_bos(m);
        flintrt_session_reset(s, 0);
        CHECK(flintrt_session_eval(s, chunk, n_ctx, logits, (size_t)n_ctx * V) == FLINTRT_OK);
        for (int pos = n_ctx / 2; pos < n_ctx - 1; pos++) {
            const float *l = logits + (size_t)pos * V;
            long double mx = l[0], z = 0;
            for (int i = 1; i < V; i++) mx = l[i] > mx ? l[i] : mx;
            for (int i = 0; i < V; i++) z += expl(l[i] - mx);
            long double nll = mx + logl(z) - l[chunk[pos + 1]];
            sum += nll;
            sum2 += nll * nll;
            count++;
        }
    }
    double mean = (double)(sum / count), ppl = exp(mean);
    double err = sqrt((double)(sum2 / count - (sum / count) * (sum / count)) / (double)(count - 1)) * ppl;
    CHECKF(r.count == count && r.n_chunks == (int)n_chunks, "count %lld vs %lld", (long long)r.count, count);
    CHECKF(fabs(r.ppl - ppl) < 1e-4 * ppl, "PPL %.6f, direct computation %.6f", r.ppl, ppl);
    CHECKF(fabs(r.ppl_err - err) < 1e-3 * err, "PPL error %.6f, direct %.6f", r.ppl_err, err);
    printf("stories260K, n_ctx %d: PPL %.4f +/- %.4f over %lld positions (direct: %.4f)\n", n_ctx, r.ppl, r.ppl_err,
           count, ppl);
    free(logits);

    /* --chunks limits; a text shorter than 2 chunks is refused */
    p.n_chunks = 2;
    CHECK(flt_ppl_run(m, s, ids, n, &p, &r, &e) == FLINTRT_OK && r.n_chunks == 2 && r.count == 2 * 63);
    p.n_chunks = 0;
    CHECK(flt_ppl_run(m, s, ids, 2 * n_ctx - 1, &p, &r, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
out:
    free(ids);
    flintrt_session_free(s);
    flintrt_model_free(m);
}

/* Save the base's log-probabilities into memory; returns the buffer. */
static unsigned char *save_base(const flintrt_model *m, const flintrt_token *ids, size_t n, int n_ctx, size_t *size) {
    flintrt_session *s = session(m, n_ctx);
    FILE *f = tmpfile();
    unsigned char *buf = NULL;
    flt_ppl_params p = {.n_ctx = n_ctx, .save = f};
    flt_ppl_result r;
    flt_err e;
    if (s && f && flt_ppl_run(m, s, ids, n, &p, &r, &e) == FLINTRT_OK) {
        long len = ftell(f);
        buf = malloc((size_t)len);
        rewind(f);
        if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) *size = (size_t)len;
        else { free(buf); buf = NULL; }
    }
    if (f) fclose(f);
    flintrt_session_free(s);
    return buf;
}

static bool kld(const flintrt_model *m, const flintrt_token *ids, size_t n, const flt_kldbase *b, flt_ppl_result *r,
                flt_err *e) {
    flintrt_session *s = session(m, (int)b->n_ctx);
    flt_ppl_params p = {.base = b};
    bool ok = s && flt_ppl_run(m, s, ids, n, &p, r, e) == FLINTRT_OK;
    flintrt_session_free(s);
    return ok;
}

static void test_kld(void) {
    flintrt_model *f16 = load("models/tiny-llama-F16.gguf");
    if (!f16) return;
    size_t n = 0, size = 0;
    flintrt_token *ids = tokenize_stories(f16, &n);
    unsigned char *buf = ids ? save_base(f16, ids, n, 256, &size) : NULL;
    CHECK(buf != NULL);
    flt_kldbase b;
    flt_err e;
    if (!buf || flt_kldbase_parse(buf, size, &b, &e) != FLINTRT_OK) {
        CHECKF(0, "saved base does not parse: %s", buf ? e.msg : "not saved");
        goto out;
    }
    CHECK(b.n_vocab == 512 && b.n_ctx == 256 && b.n_chunks == n / 256 && b.n_scored == 127);
    for (size_t i = 0; i < (size_t)b.n_chunks * b.n_ctx; i++)
        if (flt_kldbase_token(&b, i) != ids[i]) { CHECKF(0, "saved token %zu differs", i); break; }
    static const char *const types[] = {"F16", "Q8_0", "Q4_0"};
    double prev = -1;
    for (int t = 0; t < 3; t++) {
        char rel[64];
        snprintf(rel, sizeof rel, "models/tiny-llama-%s.gguf", types[t]);
        flintrt_model *m = t == 0 ? f16 : load(rel);
        flt_ppl_result r;
        if (m && kld(m, ids, n, &b, &r, &e)) {
            printf("tiny-llama %-5s vs F16: mean KLD %.6f +/- %.6f, median %.6f, max %.6f, same top %.2f %%\n",
                   types[t], r.kld_mean, r.kld_err, r.kld_median, r.kld_max, 100 * r.same_top);
            if (t == 0) {
                CHECKF(fabs(r.kld_mean) < 1e-6 && r.kld_max < 1e-5, "self KLD %g (max %g)", r.kld_mean, r.kld_max);
                CHECK(r.same_top == 1.0);
                CHECKF(fabs(r.ppl - r.ppl_base) < 1e-4 * r.ppl, "self PPL %f vs base %f", r.ppl, r.ppl_base);
            }
            CHECKF(r.kld_mean > prev, "%s: KLD %g not above the previous type's %g", types[t], r.kld_mean, prev);
            prev = r.kld_mean;
        } else {
            CHECKF(0, "%s: %s", types[t], e.msg);
        }
        if (t) flintrt_model_free(m);
    }
    /* a base from another text: the token check refuses it */
    ids[300] = ids[300] == 5 ? 6 : 5;
    flt_ppl_result r;
    CHECK(!kld(f16, ids, n, &b, &r, &e) && strstr(e.msg, "another text"));
    ids[300] = flt_kldbase_token(&b, 300);
    /* a base with another vocabulary size: refused */
    flt_kldbase b2 = b;
    b2.n_vocab = 511;
    CHECK(!kld(f16, ids, n, &b2, &r, &e) && strstr(e.msg, "n_vocab"));
out:
    free(buf);
    free(ids);
    flintrt_model_free(f16);
}

/* ---- malformed files: one per failure class ---- */

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

/* A valid file: n_vocab 4, n_ctx 4 (n_scored 1), 2 chunks. */
static size_t valid(unsigned char *b) {
    memcpy(b, FLT_KLD_MAGIC, 8);
    put32(b + 8, 1); put32(b + 12, 4); put32(b + 16, 4); put32(b + 20, 2); put32(b + 24, 1); put32(b + 28, 0);
    for (int i = 0; i < 8; i++) put32(b + 32 + 4 * i, (uint32_t)(i % 4));
    const float lp[4] = {logf(0.1f), logf(0.2f), logf(0.3f), logf(0.4f)};
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 4; i++) {
            uint32_t u;
            memcpy(&u, &lp[i], 4);
            put32(b + 64 + 16 * r + 4 * i, u);
        }
    return 96;
}

static void expect_bad(const unsigned char *b, size_t n, const char *what, const char *msg_part) {
    flt_kldbase k;
    flt_err e;
    flt_err_clear(&e);
    flintrt_status st = flt_kldbase_parse(b, n, &k, &e);
    CHECKF(st == FLINTRT_ERR_FORMAT && strstr(e.msg, msg_part), "%s: status %d, message '%s'", what, st, e.msg);
}

static void test_malformed(void) {
    unsigned char b[256];
    size_t n = valid(b);
    flt_kldbase k;
    flt_err e;
    CHECKF(flt_kldbase_parse(b, n, &k, &e) == FLINTRT_OK, "the valid file: %s", e.msg);
    CHECK(k.n_vocab == 4 && k.n_ctx == 4 && k.n_chunks == 2 && k.n_scored == 1 && flt_kldbase_token(&k, 7) == 3);
    float row[4];
    flt_kldbase_row(&k, 1, 0, row);
    CHECK(fabsf(row[3] - logf(0.4f)) < 1e-7f);

    expect_bad(b, 0, "empty", "header");
    expect_bad(b, 31, "short header", "header");
    n = valid(b); b[0] = 'X'; expect_bad(b, n, "magic", "magic");
    n = valid(b); put32(b + 8, 2); expect_bad(b, n, "version", "version");
    n = valid(b); put32(b + 12, 0); expect_bad(b, n, "n_vocab 0", "n_vocab");
    n = valid(b); put32(b + 12, (1u << 24) + 1); expect_bad(b, n, "n_vocab huge", "n_vocab");
    n = valid(b); put32(b + 16, 3); expect_bad(b, n, "n_ctx 3", "n_ctx");
    n = valid(b); put32(b + 16, 0xffffffffu); expect_bad(b, n, "n_ctx huge", "n_ctx");
    n = valid(b); put32(b + 20, 0); expect_bad(b, n, "n_chunks 0", "n_chunks");
    n = valid(b); put32(b + 24, 2); expect_bad(b, n, "n_scored", "n_scored");
    n = valid(b); put32(b + 28, 1); expect_bad(b, n, "reserved", "reserved");
    n = valid(b); expect_bad(b, n - 1, "truncated", "says");
    n = valid(b); expect_bad(b, n + 1, "trailing byte", "says");
    n = valid(b); put32(b + 12, 1u << 24); put32(b + 16, 1u << 20); put32(b + 20, 1u << 20);
    put32(b + 24, (1u << 20) - 1 - (1u << 19));
    expect_bad(b, n, "sizes overflow", "overflow");
    n = valid(b); put32(b + 32 + 4 * 3, 4); expect_bad(b, n, "token = n_vocab", "token 3");
    n = valid(b); put32(b + 32 + 4 * 7, 0xffffffffu); expect_bad(b, n, "token -1", "token 7");
    n = valid(b); put32(b + 64 + 4, 0x7fc00000u); expect_bad(b, n, "NaN", "offset 68");
    n = valid(b); put32(b + 64 + 20, 0x7f800000u); expect_bad(b, n, "infinity", "offset 84");
    n = valid(b); put32(b + 64, 0x3f800000u); expect_bad(b, n, "log-prob 1", "offset 64");
    n = valid(b); { float v = logf(0.5f); uint32_t u; memcpy(&u, &v, 4); put32(b + 64 + 16, u); }
    expect_bad(b, n, "row sums to 1.4", "summing");
}

int main(void) {
    test_malformed();
    test_direct();
    test_kld();
    return flt_test_finish();
}
