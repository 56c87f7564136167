/* Tokenizer: llama.cpp's reference vectors for the SentencePiece vocabs, round
 * trips, the two-call pattern, special-token parsing, and hostile metadata. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/gguf.h"
#include "harness.h"
#include "text/vocab.h"

/* ---- helpers ---- */

static flt_vocab *load_vocab(const char *rel) {
    flt_err e = { 0 };
    flt_gguf *g = NULL;
    const char *path = flt_test_shared(rel);
    if (flt_gguf_open(path, &g, &e) != FLINTRT_OK) {
        fprintf(stderr, "cannot open %s: %s\n", path, e.msg);
        return NULL;
    }
    flt_vocab *v = NULL;
    flintrt_status st = flt_vocab_load_gguf(g, &v, &e);
    /* The vocab copies what it needs: closing the file first must be fine. */
    flt_gguf_close(g);
    if (st != FLINTRT_OK) fprintf(stderr, "cannot load vocab %s: %s\n", path, e.msg);
    return v;
}

/* Tokenize into a malloc'd array using the two-call pattern. */
static int32_t *tok(const flt_vocab *v, const char *s, size_t len, uint32_t flags, size_t *n) {
    flt_err e = { 0 };
    size_t need = 0;
    flintrt_status st = flt_vocab_tokenize(v, s, len, flags, NULL, 0, &need, &e);
    if (st != FLINTRT_OK && st != FLINTRT_ERR_BUFFER_TOO_SMALL) {
        fprintf(stderr, "tokenize failed: %s\n", e.msg);
        *n = 0;
        return NULL;
    }
    int32_t *ids = malloc((need ? need : 1) * sizeof *ids);
    size_t got = 0;
    st = flt_vocab_tokenize(v, s, len, flags, ids, need, &got, &e);
    if (st != FLINTRT_OK || got != need) {
        fprintf(stderr, "second tokenize call failed (%d): %s\n", (int)st, e.msg);
        free(ids);
        *n = 0;
        return NULL;
    }
    *n = got;
    return ids;
}

static char *detok(const flt_vocab *v, const int32_t *ids, size_t n, uint32_t flags, size_t *len) {
    flt_err e = { 0 };
    size_t need = 0;
    flintrt_status st = flt_vocab_detokenize(v, ids, n, flags, NULL, 0, &need, &e);
    if (st != FLINTRT_OK && st != FLINTRT_ERR_BUFFER_TOO_SMALL) return NULL;
    char *buf = malloc(need + 1);
    size_t got = 0;
    st = flt_vocab_detokenize(v, ids, n, flags, buf, need, &got, &e);
    if (st != FLINTRT_OK || got != need) {
        free(buf);
        return NULL;
    }
    buf[got] = 0;
    *len = got;
    return buf;
}

static bool ids_eq(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

static bool valid_utf8(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t l = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!l || i + l > n) return false;
        for (size_t k = 1; k < l; k++)
            if (((unsigned char)s[i + k] >> 6) != 2) return false;
        i += l;
    }
    return true;
}

/* ---- llama.cpp reference vectors (tests/test-tokenizer-0: inputs separated by
 * "\n__ggml_vocab_test__\n", tokenized with add_special=false, parse_special=false) ---- */

static void check_reference(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "tokenizers/%s.gguf", name);
    flt_vocab *v = load_vocab(rel);
    CHECKF(v != NULL, "vocab %s", name);
    if (!v) return;

    size_t ni = 0, no = 0;
    snprintf(rel, sizeof rel, "tokenizers/%s.gguf.inp", name);
    char *inp = flt_test_read_file(flt_test_shared(rel), &ni);
    snprintf(rel, sizeof rel, "tokenizers/%s.gguf.out", name);
    char *outp = flt_test_read_file(flt_test_shared(rel), &no);
    CHECKF(inp && outp, "reading %s vectors", name);
    if (!inp || !outp) {
        free(inp);
        free(outp);
        flt_vocab_free(v);
        return;
    }

    static const char sep[] = "\n__ggml_vocab_test__\n";
    const size_t seplen = sizeof sep - 1;
    size_t pos = 0, opos = 0;
    int n_tests = 0, n_pass = 0, n_roundtrip = 0;
    while (pos < ni) {
        /* next input */
        const char *start = inp + pos;
        size_t len = ni - pos;
        for (size_t k = pos; k + seplen <= ni; k++) {
            if (memcmp(inp + k, sep, seplen) == 0) {
                len = k - pos;
                break;
            }
        }
        pos += len + seplen;
        /* next output line: space-separated ids */
        int32_t expect[512];
        size_t ne = 0;
        while (opos < no && outp[opos] != '\n') {
            while (opos < no && outp[opos] == ' ') opos++;
            if (opos >= no || outp[opos] == '\n') break;
            char *end;
            long x = strtol(outp + opos, &end, 10);
            if (ne < 512) expect[ne++] = (int32_t)x;
            opos = (size_t)(end - outp);
        }
        opos++;

        n_tests++;
        size_t n = 0;
        int32_t *ids = tok(v, start, len, 0, &n);
        bool ok = ids_eq(ids, n, expect, ne);
        if (ok) n_pass++;
        else {
            fprintf(stderr, "%s test %d mismatch for '%.*s'\n", name, n_tests, (int)len, start);
            print_ids("expected", expect, ne);
            print_ids("got     ", ids, n);
        }
        CHECKF(ok, "%s vector %d", name, n_tests);

        /* Round trip: the pieces give back the text behind the added leading space. */
        if (valid_utf8(start, len) && len > 0) {
            size_t dl = 0;
            char *d = detok(v, ids, n, 0, &dl);
            bool rt = d && dl == len + 1 && d[0] == ' ' && memcmp(d + 1, start, len) == 0;
            CHECKF(rt, "%s round trip of vector %d", name, n_tests);
            n_roundtrip += rt;
            free(d);
        }
        free(ids);
    }
    printf("%s: %d/%d reference vectors match, %d round trips\n", name, n_pass, n_tests, n_roundtrip);
    CHECKF(n_tests == 46, "%s: %d vectors read", name, n_tests);
    free(inp);
    free(outp);
    flt_vocab_free(v);
}

static void check_unsupported(const char *rel) {
    flt_err e = { 0 };
    flt_gguf *g = NULL;
    if (flt_gguf_open(flt_test_shared(rel), &g, &e) != FLINTRT_OK) {
        CHECKF(false, "open %s: %s", rel, e.msg);
        return;
    }
    flt_vocab *v = NULL;
    flintrt_status st = flt_vocab_load_gguf(g, &v, &e);
    CHECKF(st == FLINTRT_ERR_UNSUPPORTED && v == NULL, "%s refused as unsupported (%d: %s)", rel, (int)st, e.msg);
    CHECKF(strstr(e.msg, "gpt2") || strstr(e.msg, "bert"), "message names the model: %s", e.msg);
    flt_gguf_close(g);
}

/* ---- stories260K, pieces, two-call pattern ---- */

static void check_stories(void) {
    flt_vocab *v = load_vocab("models/stories260K.gguf");
    CHECK(v != NULL);
    if (!v) return;
    CHECK(flt_vocab_n(v) == 512);
    CHECK(flt_vocab_bos(v) == 1 && flt_vocab_eos(v) == 2);
    CHECK(flt_vocab_add_bos_default(v));
    CHECK(flt_vocab_is_control(v, 1) && flt_vocab_is_control(v, 2) && !flt_vocab_is_control(v, 403));
    CHECK(flt_vocab_is_eog(v, 2) && !flt_vocab_is_eog(v, 1));

    static const int32_t want[] = { 1, 403, 407, 261, 378 };
    size_t n = 0;
    int32_t *ids = tok(v, "Once upon a time", 16, FLINTRT_TOKENIZE_ADD_BOS, &n);
    CHECK(ids_eq(ids, n, want, 5));
    if (!ids_eq(ids, n, want, 5)) print_ids("got", ids, n);
    free(ids);

    /* Empty text: nothing, or only BOS. */
    flt_err e = { 0 };
    int32_t buf[8];
    size_t got = 99;
    CHECK(flt_vocab_tokenize(v, "", 0, 0, buf, 8, &got, &e) == FLINTRT_OK && got == 0);
    CHECK(flt_vocab_tokenize(v, NULL, 0, FLINTRT_TOKENIZE_ADD_BOS, buf, 8, &got, &e) == FLINTRT_OK && got == 1 &&
          buf[0] == 1);

    /* Two-call pattern: the count comes back with BUFFER_TOO_SMALL, partial writes fit. */
    CHECK(flt_vocab_tokenize(v, "Once upon a time", 16, 0, NULL, 0, &got, &e) == FLINTRT_ERR_BUFFER_TOO_SMALL &&
          got == 4);
    buf[3] = -7;
    CHECK(flt_vocab_tokenize(v, "Once upon a time", 16, 0, buf, 3, &got, &e) == FLINTRT_ERR_BUFFER_TOO_SMALL &&
          got == 4 && buf[0] == 403 && buf[2] == 261 && buf[3] == -7);
    CHECK(flt_vocab_tokenize(v, "Once upon a time", 16, 0, buf, 4, &got, &e) == FLINTRT_OK && got == 4);
    CHECK(flt_vocab_tokenize(v, "x", 1, 0x80, buf, 4, &got, &e) == FLINTRT_ERR_INVALID_ARGUMENT);

    /* Pieces: ▁ → space, byte tokens → their byte, control tokens hidden unless asked. */
    char p[32];
    CHECK(flt_vocab_token_to_piece(v, 403, 0, p, sizeof p, &got, &e) == FLINTRT_OK && got == 5 &&
          memcmp(p, " Once", 5) == 0);
    CHECK(flt_vocab_token_to_piece(v, 403, 0, p, 4, &got, &e) == FLINTRT_ERR_BUFFER_TOO_SMALL && got == 5);
    CHECK(flt_vocab_token_to_piece(v, 403, 0, NULL, 0, &got, &e) == FLINTRT_ERR_BUFFER_TOO_SMALL && got == 5);
    CHECK(flt_vocab_token_to_piece(v, 3 + 0x0A, 0, p, sizeof p, &got, &e) == FLINTRT_OK && got == 1 && p[0] == '\n');
    CHECK(flt_vocab_token_to_piece(v, 3 + 0xE2, 0, p, sizeof p, &got, &e) == FLINTRT_OK && got == 1 &&
          (unsigned char)p[0] == 0xE2);
    CHECK(flt_vocab_token_to_piece(v, 1, 0, p, sizeof p, &got, &e) == FLINTRT_OK && got == 0);
    CHECK(flt_vocab_token_to_piece(v, 1, FLINTRT_DETOKENIZE_SPECIAL, p, sizeof p, &got, &e) == FLINTRT_OK &&
          got == 3 && memcmp(p, "<s>", 3) == 0);
    /* Out of range ids are refused everywhere. */
    CHECK(flt_vocab_token_to_piece(v, -1, 0, p, sizeof p, &got, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(flt_vocab_token_to_piece(v, 512, 0, p, sizeof p, &got, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    int32_t bad[] = { 403, 512 };
    CHECK(flt_vocab_detokenize(v, bad, 2, 0, p, sizeof p, &got, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(!flt_vocab_is_control(v, -1) && !flt_vocab_is_control(v, 512));

    /* Detokenize two-call. */
    int32_t four[] = { 1, 403, 407, 261 };
    CHECK(flt_vocab_detokenize(v, four, 4, 0, NULL, 0, &got, &e) == FLINTRT_ERR_BUFFER_TOO_SMALL && got == 12);
    CHECK(flt_vocab_detokenize(v, four, 4, 0, p, 11, &got, &e) == FLINTRT_ERR_BUFFER_TOO_SMALL && got == 12);
    CHECK(flt_vocab_detokenize(v, four, 4, 0, p, 12, &got, &e) == FLINTRT_OK && got == 12 &&
          memcmp(p, " Once upon a", 12) == 0);
    CHECK(flt_vocab_detokenize(v, four, 4, FLINTRT_DETOKENIZE_SPECIAL, p, sizeof p, &got, &e) == FLINTRT_OK &&
          got == 15 && memcmp(p, "<s> Once upon a", 15) == 0);

    /* Characters the vocab lacks come back byte by byte (byte fallback), and so do
     * invalid UTF-8 sequences, including one cut off at the end of the text. */
    static const char odd[] = "h\xc3\xa9 \xe2\x82\xac \xff\xc3( \xf0\x9f";
    ids = tok(v, odd, sizeof odd - 1, 0, &n);
    size_t dl = 0;
    char *d = detok(v, ids, n, 0, &dl);
    /* As in llama.cpp, spaces become ▁ before the text is cut into characters, so
     * the 4-byte sequence announced by 0xFF swallows the first byte of the ▁ after
     * "(", and that ▁ comes back as its three bytes rather than as a space. */
    static const char back[] = " h\xc3\xa9 \xe2\x82\xac \xff\xc3(\xe2\x96\x81\xf0\x9f";
    CHECK(d && dl == sizeof back - 1 && memcmp(d, back, dl) == 0);
    if (d && (dl != sizeof back - 1 || memcmp(d, back, dl) != 0)) {
        for (size_t i = 0; i < dl; i++) fprintf(stderr, "%02x ", (unsigned char)d[i]);
        fputc('\n', stderr);
    }
    bool saw_byte = false;
    for (size_t i = 0; i < n; i++) saw_byte |= ids[i] == 3 + 0xC3 || ids[i] == 3 + 0xFF;
    CHECK(saw_byte);
    free(d);
    free(ids);

    /* PARSE_SPECIAL: control tokens written in the text. */
    ids = tok(v, "<s>Once</s>", 11, FLINTRT_TOKENIZE_PARSE_SPECIAL, &n);
    int32_t *once = NULL;
    size_t n_once = 0;
    once = tok(v, "Once", 4, 0, &n_once);
    CHECK(n == n_once + 2 && ids && ids[0] == 1 && ids[n - 1] == 2 && once &&
          memcmp(ids + 1, once, n_once * sizeof *ids) == 0);
    free(ids);
    ids = tok(v, "<s>Once</s>", 11, 0, &n);
    bool has_ctrl = false;
    for (size_t i = 0; i < n; i++) has_ctrl |= ids[i] == 1 || ids[i] == 2;
    CHECK(n > 3 && !has_ctrl);
    free(ids);
    free(once);
    flt_vocab_free(v);
}

/* Special tokens in the Llama-2 and Phi-3 vocabs. */
static void check_special(void) {
    flt_vocab *v = load_vocab("tokenizers/ggml-vocab-llama-spm.gguf");
    if (v) {
        static const int32_t want[] = { 1, 15043, 2 };
        size_t n = 0;
        int32_t *ids = tok(v, "<s>Hello</s>", 12, FLINTRT_TOKENIZE_PARSE_SPECIAL, &n);
        CHECK(ids_eq(ids, n, want, 3));
        free(ids);
        /* A fragment after a special token gets the leading space too. */
        static const int32_t want2[] = { 15043, 2, 3186 };
        ids = tok(v, "Hello</s>world", 14, FLINTRT_TOKENIZE_PARSE_SPECIAL, &n);
        CHECKF(ids_eq(ids, n, want2, 3), "fragment after special");
        if (!ids_eq(ids, n, want2, 3)) print_ids("got", ids, n);
        free(ids);
        /* <unk> is special (unknown type) */
        ids = tok(v, "<unk>", 5, FLINTRT_TOKENIZE_PARSE_SPECIAL, &n);
        CHECK(n == 1 && ids[0] == 0);
        free(ids);
        flt_vocab_free(v);
    }
    v = load_vocab("tokenizers/ggml-vocab-phi-3.gguf");
    if (v) {
        CHECK(flt_vocab_eos(v) == 32000 && flt_vocab_is_eog(v, 32000) && flt_vocab_is_eog(v, 32007));
        size_t n = 0, nh = 0;
        /* Phi-3 rule: whitespace after <|user|> is dropped, so "Hello" starts a fragment. */
        static const char s[] = "<|user|>\nHello<|end|>\n<|assistant|>";
        int32_t *ids = tok(v, s, sizeof s - 1, FLINTRT_TOKENIZE_PARSE_SPECIAL, &n);
        int32_t *hello = tok(v, "Hello", 5, 0, &nh);
        CHECK(ids && hello && n == nh + 3 && ids[0] == 32010 && ids[n - 2] == 32007 && ids[n - 1] == 32001 &&
              memcmp(ids + 1, hello, nh * sizeof *ids) == 0);
        if (ids) print_ids("phi-3 chat", ids, n);
        free(ids);
        /* The longer special token wins: "<|end|>" must not be cut out of "<|endoftext|>". */
        ids = tok(v, "<|endoftext|>", 13, FLINTRT_TOKENIZE_PARSE_SPECIAL, &n);
        CHECK(n == 1 && ids[0] == 32000);
        free(ids);
        free(hello);
        flt_vocab_free(v);
    }
}

/* ---- in-memory vocabs: algorithm details ---- */

static flt_vocab *mem_vocab(const char *const *texts, const float *scores, const int32_t *types, size_t n,
                            bool space_prefix, flt_err *e) {
    flt_str s[64];
    for (size_t i = 0; i < n; i++) s[i] = (flt_str){ texts[i], strlen(texts[i]) };
    flt_vocab_desc d;
    flt_vocab_desc_init(&d, n, s, scores, types);
    d.add_space_prefix = space_prefix;
    flt_vocab *v = NULL;
    if (flt_vocab_build(&d, &v, e) != FLINTRT_OK) return NULL;
    return v;
}

static void check_algorithm(void) {
    flt_err e = { 0 };
    /* Equal scores: the leftmost pair merges first ("aba" → "ab" + "a"). */
    static const char *const t1[] = { "<unk>", "<s>", "</s>", "a", "b", "ab", "ba" };
    static const float s1[] = { 0, 0, 0, -1, -1, -5, -5 };
    static const int32_t y1[] = { 2, 3, 3, 1, 1, 1, 1 };
    flt_vocab *v = mem_vocab(t1, s1, y1, 7, false, &e);
    CHECKF(v != NULL, "%s", e.msg);
    if (v) {
        size_t n = 0;
        int32_t *ids = tok(v, "aba", 3, 0, &n);
        static const int32_t want[] = { 5, 3 };
        CHECK(ids_eq(ids, n, want, 2));
        free(ids);
        /* No byte tokens and no single-char token: the unknown token stands in. */
        ids = tok(v, "c", 1, 0, &n);
        CHECK(n == 1 && ids[0] == 0);
        free(ids);
        flt_vocab_free(v);
    }
    /* Higher score wins over position. */
    static const float s2[] = { 0, 0, 0, -1, -1, -5, -2 };
    v = mem_vocab(t1, s2, y1, 7, false, &e);
    if (v) {
        size_t n = 0;
        int32_t *ids = tok(v, "aba", 3, 0, &n);
        static const int32_t want[] = { 3, 6 };
        CHECK(ids_eq(ids, n, want, 2));
        free(ids);
        flt_vocab_free(v);
    }
    /* A vocab without unknown token and byte tokens cannot tokenize a stray byte. */
    static const char *const t3[] = { "a", "b" };
    flt_str s3[2] = { { "a", 1 }, { "b", 1 } };
    flt_vocab_desc d;
    flt_vocab_desc_init(&d, 2, s3, NULL, NULL);
    d.unk = d.bos = d.eos = -1;
    d.add_space_prefix = false;
    (void)t3;
    CHECK(flt_vocab_build(&d, &v, &e) == FLINTRT_OK);
    if (v) {
        int32_t out[4];
        size_t got;
        CHECK(flt_vocab_tokenize(v, "ab", 2, 0, out, 4, &got, &e) == FLINTRT_OK && got == 2);
        CHECK(flt_vocab_tokenize(v, "ac", 2, 0, out, 4, &got, &e) == FLINTRT_ERR_UNSUPPORTED);
        CHECK(flt_vocab_tokenize(v, "ab", 2, FLINTRT_TOKENIZE_ADD_BOS, out, 4, &got, &e) == FLINTRT_OK && got == 2);
        flt_vocab_free(v);
    }
}

/* ---- hostile metadata ---- */

static void check_hostile_desc(void) {
    flt_err e = { 0 };
    flt_vocab *v = NULL;
    flt_str toks[4] = { { "<unk>", 5 }, { "<s>", 3 }, { "</s>", 4 }, { "<0x41>", 6 } };
    int32_t types[4] = { 2, 3, 3, 6 };
    float scores[4] = { 0, 0, 0, 0 };
    flt_vocab_desc d;

    flt_vocab_desc_init(&d, 0, toks, NULL, NULL);
    CHECK(flt_vocab_build(&d, &v, &e) == FLINTRT_ERR_FORMAT && v == NULL);

    flt_vocab_desc_init(&d, 4, toks, scores, types);
    CHECK(flt_vocab_build(&d, &v, &e) == FLINTRT_OK);
    if (v) {
        char p[4];
        size_t got;
        CHECK(flt_vocab_token_to_piece(v, 3, 0, p, 4, &got, &e) == FLINTRT_OK && got == 1 && p[0] == 'A');
    }
    flt_vocab_free(v);
    v = NULL;

    d.bos = 4;
    CHECK(flt_vocab_build(&d, &v, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "bos"));
    d.bos = 1;
    d.eos = -5;
    CHECK(flt_vocab_build(&d, &v, &e) == FLINTRT_ERR_FORMAT);
    d.eos = 2;

    static const char *const bad_bytes[] = { "<0x-1>", "<0xZZ>", "<0x4>", "<0x411>", "0x41>", "<0x41]" };
    for (size_t i = 0; i < sizeof bad_bytes / sizeof *bad_bytes; i++) {
        toks[3] = (flt_str){ bad_bytes[i], strlen(bad_bytes[i]) };
        CHECKF(flt_vocab_build(&d, &v, &e) == FLINTRT_ERR_FORMAT && v == NULL, "byte token %s refused", bad_bytes[i]);
    }
    toks[3] = (flt_str){ "<s>", 3 };
    types[3] = 1;
    CHECK(flt_vocab_build(&d, &v, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "duplicate"));
    toks[3] = (flt_str){ "x", 1 };
    scores[3] = NAN;
    CHECK(flt_vocab_build(&d, &v, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "NaN"));
    scores[3] = 0;
    types[3] = 99; /* unknown type values read as undefined, as llama.cpp */
    CHECK(flt_vocab_build(&d, &v, &e) == FLINTRT_OK);
    flt_vocab_free(v);
    v = NULL;

    d.n_tokens = (size_t)FLT_VOCAB_MAX_TOKENS + 1;
    CHECK(flt_vocab_build(&d, &v, &e) == FLINTRT_ERR_LIMIT);
}

/* Hostile GGUF files made with the writer: each must be refused with a message. */
typedef enum {
    H_OK, H_NO_TOKENS, H_ZERO_TOKENS, H_SHORT_SCORES, H_LONG_TYPES, H_SCORES_U8, H_TYPES_F32,
    H_TOKENS_INT, H_BOS_OUT, H_EOS_NEG, H_MODEL_GPT2, H_MODEL_NOT_STR, H_BYTE_BAD, H_FLAG_TYPE, H_NONE_IDS,
    H_COUNT
} hostile_kind;

static flintrt_status load_hostile(hostile_kind k, flt_err *e) {
    flt_gguf_writer *w = flt_gguf_writer_new();
    flt_str toks[5] = { { "<unk>", 5 }, { "<s>", 3 }, { "</s>", 4 }, { "<0x41>", 6 }, { "\xe2\x96\x81" "a", 4 } };
    float scores[6] = { 0, 0, 0, 0, -1, -2 };
    int32_t types[6] = { 2, 3, 3, 6, 1, 1 };
    if (k == H_BYTE_BAD) toks[3] = (flt_str){ "<0x-1>", 6 };
    if (k == H_MODEL_GPT2) flt_gguf_set_str(w, "tokenizer.ggml.model", "gpt2", 4);
    else if (k == H_MODEL_NOT_STR) flt_gguf_set_u32(w, "tokenizer.ggml.model", 7);
    else flt_gguf_set_str(w, "tokenizer.ggml.model", "llama", 5);
    if (k == H_TOKENS_INT) flt_gguf_set_arr(w, "tokenizer.ggml.tokens", FLT_GGUF_INT32, types, 5);
    else if (k == H_ZERO_TOKENS) flt_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 0);
    else if (k != H_NO_TOKENS) flt_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 5);
    if (k == H_SCORES_U8) flt_gguf_set_arr(w, "tokenizer.ggml.scores", FLT_GGUF_UINT8, "abcde", 5);
    else flt_gguf_set_arr(w, "tokenizer.ggml.scores", FLT_GGUF_FLOAT32, scores, k == H_SHORT_SCORES ? 4 : 5);
    if (k == H_TYPES_F32) flt_gguf_set_arr(w, "tokenizer.ggml.token_type", FLT_GGUF_FLOAT32, scores, 5);
    else flt_gguf_set_arr(w, "tokenizer.ggml.token_type", FLT_GGUF_INT32, types, k == H_LONG_TYPES ? 6 : 5);
    if (k == H_BOS_OUT) flt_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 5);
    if (k == H_EOS_NEG) flt_gguf_set_i32(w, "tokenizer.ggml.eos_token_id", -7);
    if (k == H_NONE_IDS) {
        flt_gguf_set_u32(w, "tokenizer.ggml.padding_token_id", 0xFFFFFFFFu);
        flt_gguf_set_i32(w, "tokenizer.ggml.bos_token_id", -1);
    }
    if (k == H_FLAG_TYPE) flt_gguf_set_u32(w, "tokenizer.ggml.add_bos_token", 1);
    void *data = NULL;
    size_t size = 0;
    flintrt_status st = flt_gguf_write_memory(w, &data, &size, e);
    flt_gguf_writer_free(w);
    if (st != FLINTRT_OK) return FLINTRT_ERR_INTERNAL;
    flt_gguf *g = NULL;
    st = flt_gguf_open_memory(data, size, &g, e);
    if (st == FLINTRT_OK) {
        flt_vocab *v = NULL;
        st = flt_vocab_load_gguf(g, &v, e);
        if (st == FLINTRT_OK) {
            /* usable: tokenize something through it */
            int32_t ids[16];
            size_t n;
            if (flt_vocab_tokenize(v, "a aA", 4, FLINTRT_TOKENIZE_ADD_BOS, ids, 16, &n, e) != FLINTRT_OK)
                st = FLINTRT_ERR_INTERNAL;
            if (k == H_NONE_IDS && flt_vocab_bos(v) != -1) st = FLINTRT_ERR_INTERNAL;
        }
        flt_vocab_free(v);
        flt_gguf_close(g);
    }
    free(data);
    return st;
}

static void check_hostile_gguf(void) {
    for (int k = 0; k < H_COUNT; k++) {
        flt_err e = { 0 };
        flintrt_status st = load_hostile((hostile_kind)k, &e);
        if (k == H_OK || k == H_NONE_IDS) {
            CHECKF(st == FLINTRT_OK, "case %d loads (%d: %s)", k, (int)st, e.msg);
        } else if (k == H_MODEL_GPT2) {
            CHECKF(st == FLINTRT_ERR_UNSUPPORTED, "case %d: %d %s", k, (int)st, e.msg);
        } else {
            CHECKF(st != FLINTRT_OK && st != FLINTRT_ERR_INTERNAL && e.msg[0], "case %d refused (%d: %s)", k,
                   (int)st, e.msg);
        }
    }
}

/* ---- long inputs: linear memory, ~n log n time ---- */

static double now_s(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void check_long(void) {
    flt_vocab *v = load_vocab("tokenizers/ggml-vocab-llama-spm.gguf");
    if (!v) return;
    const size_t n = 1 << 20;
    char *s = malloc(n);
    static const char *const kinds[] = { "text", "same", "spaces", "bytes" };
    uint32_t rng = 12345;
    for (int kind = 0; kind < 4; kind++) {
        static const char sample[] = "The quick brown fox jumps over the lazy dog. Ünïcödé 🦙 tokens! ";
        for (size_t i = 0; i < n; i++) {
            rng = rng * 1664525u + 1013904223u;
            s[i] = kind == 0 ? sample[i % (sizeof sample - 1)]
                 : kind == 1 ? 'a'
                 : kind == 2 ? ' '
                 : (char)(rng >> 24);
        }
        double t0 = now_s();
        size_t cnt = 0;
        int32_t *ids = tok(v, s, n, FLINTRT_TOKENIZE_PARSE_SPECIAL, &cnt);
        double dt = now_s() - t0;
        printf("1 MiB of %s: %zu tokens in %.3f s\n", kinds[kind], cnt, dt);
        CHECKF(ids && cnt > 0 && dt < 60.0, "1 MiB of %s tokenized in %.3f s", kinds[kind], dt);
        free(ids);
    }
    free(s);
    flt_vocab_free(v);
}

int main(void) {
    check_reference("ggml-vocab-llama-spm");
    check_reference("ggml-vocab-phi-3");
    check_unsupported("tokenizers/ggml-vocab-gpt-2.gguf");
    check_unsupported("tokenizers/ggml-vocab-gpt-neox.gguf");
    check_unsupported("tokenizers/ggml-vocab-bert-bge.gguf");
    check_stories();
    check_special();
    check_algorithm();
    check_hostile_desc();
    check_hostile_gguf();
    check_long();
    return flt_test_finish();
}
