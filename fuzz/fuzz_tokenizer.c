/* Fuzz target: tokenize and detokenize arbitrary bytes with both flag settings.
 * The vocab is built once: stories260K's if FLINT_SHARED names the shared folder,
 * else a small in-memory vocab with byte tokens, merges and special tokens.
 * Invariants checked (abort on violation, which the fuzzer reports):
 *  - every id is inside the vocab and has a piece;
 *  - the two-call pattern agrees with itself;
 *  - valid UTF-8 without special parsing and without a literal ▁ round-trips to
 *    " " + input (neither vocab has user-defined tokens that could cut the text). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "text/vocab.h"

int flt_fuzz_tokenizer(const uint8_t *data, size_t size);

static flt_vocab *memory_vocab(void) {
    static const char *const words[] = { "\xe2\x96\x81", "\xe2\x96\x81" "a", "ab", "abc", "\xe2\x96\x81" "ab",
                                         "bc", "<|c|>", "<|cc|>", "\xc3\xa9", "<" };
    enum { N_WORDS = sizeof words / sizeof *words, N = 3 + 256 + N_WORDS };
    static char bytes[256][7];
    flt_str toks[N];
    float scores[N];
    int32_t types[N];
    toks[0] = (flt_str){ "<unk>", 5 };
    toks[1] = (flt_str){ "<s>", 3 };
    toks[2] = (flt_str){ "</s>", 4 };
    types[0] = 2;
    types[1] = types[2] = 3;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        toks[3 + b] = (flt_str){ bytes[b], 6 };
        types[3 + b] = 6;
    }
    for (int i = 0; i < N_WORDS; i++) {
        toks[259 + i] = (flt_str){ words[i], strlen(words[i]) };
        types[259 + i] = words[i][0] == '<' && words[i][1] == '|' ? 3 : 1;
    }
    for (int i = 0; i < N; i++) scores[i] = i < 259 ? 0.0f : -(float)(i % 4);
    flt_vocab_desc d;
    flt_vocab_desc_init(&d, N, toks, scores, types);
    flt_vocab *v = NULL;
    if (flt_vocab_build(&d, &v, NULL) != FLINTRT_OK) return NULL;
    return v;
}

static flt_vocab *file_vocab(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", dir);
    flt_gguf *g = NULL;
    if (flt_gguf_open(path, &g, NULL) != FLINTRT_OK) return NULL;
    flt_vocab *v = NULL;
    if (flt_vocab_load_gguf(g, &v, NULL) != FLINTRT_OK) v = NULL;
    flt_gguf_close(g);
    return v;
}

static const flt_vocab *get_vocab(void) {
    /* Built once per process; the fuzzer never frees it. */
    static flt_vocab *v;
    static int tried;
    if (!tried) {
        tried = 1;
        const char *dir = getenv("FLINT_SHARED");
        if (dir && *dir) v = file_vocab(dir);
        if (!v) v = memory_vocab();
    }
    return v;
}

static bool valid_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t l = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!l || i + l > n) return false;
        for (size_t k = 1; k < l; k++)
            if ((s[i + k] >> 6) != 2) return false;
        i += l;
    }
    return true;
}

/* A literal ▁ in the input decodes to a space (as in llama.cpp), so such text
 * cannot round-trip byte for byte. */
static bool has_lower_eighth_block(const uint8_t *s, size_t n) {
    for (size_t i = 0; i + 3 <= n; i++)
        if (s[i] == 0xE2 && s[i + 1] == 0x96 && s[i + 2] == 0x81) return true;
    return false;
}

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_tokenizer: invariant violated: %s\n", what);
        abort();
    }
}

static void run(const flt_vocab *v, const uint8_t *data, size_t size, uint32_t flags) {
    const char *text = (const char *)data;
    size_t need = 0;
    flintrt_status st = flt_vocab_tokenize(v, text, size, flags, NULL, 0, &need, NULL);
    if (st != FLINTRT_OK && st != FLINTRT_ERR_BUFFER_TOO_SMALL) return; /* e.g. out of memory */
    check(st == FLINTRT_OK ? need == 0 : need > 0, "count on the first call");
    int32_t *ids = malloc((need ? need : 1) * sizeof *ids);
    if (!ids) return;
    size_t got = 0;
    st = flt_vocab_tokenize(v, text, size, flags, ids, need, &got, NULL);
    check(st == FLINTRT_OK && got == need, "second call matches the first");
    int32_t n = flt_vocab_n(v);
    for (size_t i = 0; i < got; i++) {
        check(ids[i] >= 0 && ids[i] < n, "id inside the vocab");
        size_t pl = 0;
        char piece[64];
        st = flt_vocab_token_to_piece(v, ids[i], FLINTRT_DETOKENIZE_SPECIAL, piece, sizeof piece, &pl, NULL);
        check(st == FLINTRT_OK || st == FLINTRT_ERR_BUFFER_TOO_SMALL, "piece");
    }
    for (uint32_t df = 0; df <= FLINTRT_DETOKENIZE_SPECIAL; df++) {
        size_t dl = 0;
        st = flt_vocab_detokenize(v, ids, got, df, NULL, 0, &dl, NULL);
        check(st == FLINTRT_OK || st == FLINTRT_ERR_BUFFER_TOO_SMALL, "detokenize count");
        char *buf = malloc(dl + 1);
        if (!buf) break;
        size_t dl2 = 0;
        st = flt_vocab_detokenize(v, ids, got, df, buf, dl, &dl2, NULL);
        check(st == FLINTRT_OK && dl2 == dl, "detokenize second call");
        if (df == 0 && flags == 0 && size > 0 && valid_utf8(data, size) && !has_lower_eighth_block(data, size))
            check(dl == size + 1 && buf[0] == ' ' && memcmp(buf + 1, data, size) == 0, "round trip");
        free(buf);
    }
    free(ids);
}

int flt_fuzz_tokenizer(const uint8_t *data, size_t size) {
    const flt_vocab *v = get_vocab();
    if (!v) return 0;
    run(v, data, size, 0);
    run(v, data, size, FLINTRT_TOKENIZE_ADD_BOS | FLINTRT_TOKENIZE_PARSE_SPECIAL);
    return 0;
}

#ifndef FLT_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return flt_fuzz_tokenizer(data, size); }
#endif
