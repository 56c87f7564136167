/* Reading a vocab out of GGUF metadata through the reader's typed getters. */
#include "text/vocab.h"

#include <stdlib.h>
#include <string.h>

#include "core/checked.h"

#define KEY_MODEL "tokenizer.ggml.model"
#define KEY_TOKENS "tokenizer.ggml.tokens"
#define KEY_SCORES "tokenizer.ggml.scores"
#define KEY_TYPES "tokenizer.ggml.token_type"

static bool str_eq(flt_str s, const char *c) {
    size_t n = strlen(c);
    return s.n == n && (n == 0 || memcmp(s.p, c, n) == 0);
}

/* Special ids: absent → keep the default; -1 or 0xFFFFFFFF (how converters write
 * "none") → none; anything else must name a token. */
static flintrt_status read_id(const flt_gguf *g, const char *key, int32_t n, int32_t *id, flt_err *e) {
    if (flt_gguf_find_key(g, key) < 0) return FLINTRT_OK;
    int64_t x;
    flintrt_status st = flt_gguf_get_i64(g, key, -1, (int64_t)UINT32_MAX, &x, e);
    if (st != FLINTRT_OK) return st;
    if (x == -1 || x == (int64_t)UINT32_MAX) {
        *id = -1;
        return FLINTRT_OK;
    }
    if (x >= n)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "%s = %lld is outside the vocab of %d tokens", key,
                        (long long)x, n);
    *id = (int32_t)x;
    return FLINTRT_OK;
}

/* Phi-3 files are recognised by name, as llama.cpp does: the name decides whether
 * special tokens swallow the whitespace after them. */
static bool name_is_phi3(const flt_gguf *g) {
    if (flt_gguf_find_key(g, "general.name") < 0) return false;
    flt_str name;
    if (flt_gguf_get_str(g, "general.name", &name, NULL) != FLINTRT_OK) return false;
    for (size_t i = 0; i + 4 <= name.n; i++) {
        char b[5] = { 0 };
        for (size_t k = 0; k < 5 && i + k < name.n; k++) {
            char c = name.p[i + k];
            b[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        if (memcmp(b, "phi3", 4) == 0) return true;
        if (i + 5 <= name.n && memcmp(b, "phi-3", 5) == 0) return true;
    }
    return false;
}

static flintrt_status load(const flt_gguf *g, flt_vocab **out, flt_err *e) {
    flt_str model;
    flintrt_status st = flt_gguf_get_str(g, KEY_MODEL, &model, e);
    if (st != FLINTRT_OK) return st;
    if (!str_eq(model, "llama"))
        return flt_fail(e, FLINTRT_ERR_UNSUPPORTED, "tokenizer model '%.*s' is not supported (only 'llama')",
                        (int)(model.n > 64 ? 64 : model.n), model.p);

    uint64_t n64 = 0;
    st = flt_gguf_get_arr_str(g, KEY_TOKENS, 1, FLT_VOCAB_MAX_TOKENS, &n64, e);
    if (st != FLINTRT_OK) return st;
    size_t n = (size_t)n64;

    flt_str *texts = flt_malloc_array(n, sizeof *texts);
    float *scores = NULL;
    int32_t *types = NULL;
    if (!texts) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "vocab: out of memory for %zu tokens", n);
    for (size_t i = 0; i < n; i++) {
        texts[i] = flt_gguf_arr_str_at(g, KEY_TOKENS, i);
        if (texts[i].n && !texts[i].p) {
            st = flt_fail(e, FLINTRT_ERR_FORMAT, "%s[%zu] unreadable", KEY_TOKENS, i);
            goto done;
        }
    }

    /* Scores are float32; llama.cpp also accepts int32 ones. Lengths must match the
     * token list exactly: a shorter array would be read past its end. */
    int64_t ki = flt_gguf_find_key(g, KEY_SCORES);
    if (ki >= 0) {
        scores = flt_malloc_array(n, sizeof *scores);
        if (!scores) {
            st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "vocab: out of memory");
            goto done;
        }
        bool ints = flt_gguf_kv_type(g, (uint64_t)ki) == FLT_GGUF_ARRAY &&
                    flt_gguf_arr_type(g, (uint64_t)ki) == FLT_GGUF_INT32;
        uint64_t cnt;
        const void *data;
        st = flt_gguf_get_arr(g, KEY_SCORES, ints ? FLT_GGUF_INT32 : FLT_GGUF_FLOAT32, n, n, &cnt, &data, e);
        if (st != FLINTRT_OK) goto done;
        for (size_t i = 0; i < n; i++) {
            if (ints) {
                int32_t x;
                memcpy(&x, (const char *)data + 4 * i, 4);
                scores[i] = (float)x;
            } else {
                memcpy(&scores[i], (const char *)data + 4 * i, 4);
            }
        }
    }
    if (flt_gguf_find_key(g, KEY_TYPES) >= 0) {
        types = flt_malloc_array(n, sizeof *types);
        if (!types) {
            st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "vocab: out of memory");
            goto done;
        }
        uint64_t cnt;
        const void *data;
        st = flt_gguf_get_arr(g, KEY_TYPES, FLT_GGUF_INT32, n, n, &cnt, &data, e);
        if (st != FLINTRT_OK) goto done;
        memcpy(types, data, 4 * n);
    }

    flt_vocab_desc d;
    flt_vocab_desc_init(&d, n, texts, scores, types);
    int32_t nt = (int32_t)n;
    if ((st = read_id(g, "tokenizer.ggml.bos_token_id", nt, &d.bos, e)) ||
        (st = read_id(g, "tokenizer.ggml.eos_token_id", nt, &d.eos, e)) ||
        (st = read_id(g, "tokenizer.ggml.unknown_token_id", nt, &d.unk, e)) ||
        (st = read_id(g, "tokenizer.ggml.padding_token_id", nt, &d.pad, e)))
        goto done;
    if ((st = flt_gguf_get_bool_opt(g, "tokenizer.ggml.add_bos_token", d.add_bos, &d.add_bos, e)) ||
        (st = flt_gguf_get_bool_opt(g, "tokenizer.ggml.add_eos_token", d.add_eos, &d.add_eos, e)) ||
        (st = flt_gguf_get_bool_opt(g, "tokenizer.ggml.add_space_prefix", d.add_space_prefix,
                                    &d.add_space_prefix, e)))
        goto done;
    d.rstrip_specials = name_is_phi3(g);
    st = flt_vocab_build(&d, out, e);

done:
    free(texts);
    free(scores);
    free(types);
    return st;
}

flintrt_status flt_vocab_load_gguf(const struct flt_gguf *g, flt_vocab **out, flt_err *e) {
    if (!g || !out) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "vocab: NULL argument");
    *out = NULL;
    flintrt_status st = load(g, out, e);
    if (st != FLINTRT_OK && e) flt_err_prefix(e, "loading tokenizer");
    return st;
}
