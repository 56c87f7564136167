/* Building a vocab from an in-memory description, and the read-only queries. */
#include "text/vocab_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"

int flt_vocab_text_cmp(const char *a, size_t na, const char *b, size_t nb) {
    size_t m = na < nb ? na : nb;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return na < nb ? -1 : (na > nb ? 1 : 0);
}

void flt_vocab_desc_init(flt_vocab_desc *d, size_t n_tokens, const flt_str *tokens,
                         const float *scores, const int32_t *types) {
    memset(d, 0, sizeof *d);
    d->n_tokens = n_tokens;
    d->tokens = tokens;
    d->scores = scores;
    d->types = types;
    /* llama.cpp's defaults for "llama" vocabs, disabled when out of range. */
    d->unk = n_tokens > 0 ? 0 : -1;
    d->bos = n_tokens > 1 ? 1 : -1;
    d->eos = n_tokens > 2 ? 2 : -1;
    d->pad = -1;
    d->add_bos = true;
    d->add_eos = false;
    d->add_space_prefix = true;
}

void flt_vocab_free(flt_vocab *v) {
    if (!v) return;
    free(v->tok);
    free(v->arena);
    free(v->by_text);
    free(v->special_sorted);
    free(v);
}

/* ---- sorting helpers (qsort has no context argument, so sort self-contained keys) ---- */

typedef struct text_key {
    const char *text;
    uint32_t len;
    int32_t id;
} text_key;

static int cmp_text_key(const void *pa, const void *pb) {
    const text_key *a = pa, *b = pb;
    int c = flt_vocab_text_cmp(a->text, a->len, b->text, b->len);
    if (c) return c;
    return (a->id > b->id) - (a->id < b->id);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static uint8_t attr_of_type(int32_t t) {
    switch (t) {
    case FLT_TOKEN_TYPE_NORMAL: return FLT_ATTR_NORMAL;
    case FLT_TOKEN_TYPE_UNKNOWN: return FLT_ATTR_UNKNOWN;
    case FLT_TOKEN_TYPE_CONTROL: return FLT_ATTR_CONTROL;
    case FLT_TOKEN_TYPE_USER_DEFINED: return FLT_ATTR_USER_DEFINED;
    case FLT_TOKEN_TYPE_UNUSED: return FLT_ATTR_UNUSED;
    case FLT_TOKEN_TYPE_BYTE: return FLT_ATTR_BYTE;
    default: return 0; /* undefined: decodes to nothing, like llama.cpp */
    }
}

int32_t flt_vocab_find(const flt_vocab *v, const char *s, size_t n) {
    if (!v || n == 0 || n > FLT_VOCAB_MAX_TOKEN_LEN) return -1;
    int32_t lo = 0, hi = v->n_by_text;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        const flt_vocab_token *t = &v->tok[v->by_text[mid]];
        int c = flt_vocab_text_cmp(t->text, t->len, s, n);
        if (c == 0) return v->by_text[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

static int32_t find_cstr(const flt_vocab *v, const char *s) {
    return flt_vocab_find(v, s, strlen(s));
}

/* llama.cpp recognises end-of-turn and fill-in-the-middle tokens by their text and
 * forces them to control type whatever the file says; it does the same here so
 * the same text is (not) matched without PARSE_SPECIAL and decodes the same. */
static const char *const k_eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
    "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>",
    "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>",
    "<|tool_response>", "<\xef\xbd\x9c\x65nd\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "[e~[",
    /* fim pad/repo/file-separator tokens also end generation */
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>",
};
static const char *const k_fim_texts[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xef\xbd\x9c\x66im\xe2\x96\x81\x62\x65gin\xef\xbd\x9c>",
    "<PRE>", "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xef\xbd\x9c\x66im\xe2\x96\x81hole\xef\xbd\x9c>",
    "<SUF>", "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xef\xbd\x9c\x66im\xe2\x96\x81\x65nd\xef\xbd\x9c>",
    "<MID>", "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>",
};
/* gpt-oss: always rendered as text */
static const char *const k_user_texts[] = { "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>" };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void apply_text_rules(flt_vocab *v) {
    for (size_t i = 0; i < COUNT(k_fim_texts); i++) {
        int32_t id = find_cstr(v, k_fim_texts[i]);
        if (id >= 0) v->tok[id].attr |= FLT_ATTR_CONTROL;
    }
    for (size_t i = 0; i < COUNT(k_eog_texts); i++) {
        int32_t id = find_cstr(v, k_eog_texts[i]);
        if (id >= 0) {
            v->tok[id].attr |= FLT_ATTR_CONTROL;
            v->tok[id].flags |= FLT_TOKF_EOG;
        }
    }
    for (size_t i = 0; i < COUNT(k_user_texts); i++) {
        int32_t id = find_cstr(v, k_user_texts[i]);
        if (id >= 0) v->tok[id].attr = FLT_ATTR_USER_DEFINED;
    }
    if (v->eos >= 0) v->tok[v->eos].flags |= FLT_TOKF_EOG;

    /* harmony / solar-open chat formats: "<|end|>" separates messages there. */
    int32_t ret = find_cstr(v, "<|return|>"), call = find_cstr(v, "<|call|>");
    int32_t calls = find_cstr(v, "<|calls|>"), flush = find_cstr(v, "<|flush|>");
    int32_t end = find_cstr(v, "<|end|>");
    if (end >= 0 && ((ret >= 0 && (call >= 0 || calls >= 0)) || ((call >= 0 || calls >= 0) && flush >= 0))) {
        v->tok[end].flags &= (uint8_t)~FLT_TOKF_EOG;
        v->tok[end].attr = FLT_ATTR_USER_DEFINED;
    }
    /* gemma4 / paddleocr: "</s>" is not an end of generation next to "<|tool_response>". */
    int32_t s = find_cstr(v, "</s>");
    if (s >= 0 && s != v->eos && find_cstr(v, "<|tool_response>") >= 0) {
        v->tok[s].flags &= (uint8_t)~FLT_TOKF_EOG;
        v->tok[s].attr = FLT_ATTR_NORMAL;
    }
}

static flintrt_status build_indexes(flt_vocab *v, flt_err *e) {
    int32_t n = v->n;
    text_key *keys = flt_malloc_array((size_t)n, sizeof *keys);
    if (!keys) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "vocab: out of memory for %d tokens", n);
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        /* Empty texts can never be produced by merging, so they stay out of the index. */
        if (v->tok[i].len == 0) continue;
        keys[m++] = (text_key){ v->tok[i].text, v->tok[i].len, i };
    }
    qsort(keys, (size_t)m, sizeof *keys, cmp_text_key);
    for (int32_t i = 1; i < m; i++) {
        if (flt_vocab_text_cmp(keys[i - 1].text, keys[i - 1].len, keys[i].text, keys[i].len) == 0) {
            flintrt_status st = flt_fail(e, FLINTRT_ERR_FORMAT,
                                         "vocab: duplicate token text (ids %d and %d, %u bytes)",
                                         keys[i - 1].id, keys[i].id, keys[i].len);
            free(keys);
            return st;
        }
    }
    v->by_text = flt_malloc_array((size_t)m, sizeof *v->by_text);
    if (!v->by_text) {
        free(keys);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "vocab: out of memory");
    }
    for (int32_t i = 0; i < m; i++) v->by_text[i] = keys[i].id;
    v->n_by_text = m;
    free(keys);
    return FLINTRT_OK;
}

static flintrt_status build_specials(flt_vocab *v, bool rstrip_specials, flt_err *e) {
    const uint8_t special = FLT_ATTR_CONTROL | FLT_ATTR_USER_DEFINED | FLT_ATTR_UNKNOWN;
    int32_t ns = 0;
    for (int32_t i = 0; i < v->n_by_text; i++)
        if (v->tok[v->by_text[i]].attr & special) ns++;
    v->special_sorted = flt_malloc_array((size_t)ns, sizeof(int32_t));
    if (!v->special_sorted) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "vocab: out of memory");
    int32_t k = 0;
    for (int32_t i = 0; i < v->n_by_text; i++) {
        int32_t id = v->by_text[i];
        if (v->tok[id].attr & special) v->special_sorted[k++] = id;
    }
    v->n_special = ns;

    if (rstrip_specials) {
        for (int32_t i = 0; i < ns; i++) v->tok[v->special_sorted[i]].flags |= FLT_TOKF_RSTRIP;
        int32_t id = find_cstr(v, "</s>");
        if (id >= 0) v->tok[id].flags |= FLT_TOKF_RSTRIP;
        static const char *const keep[] = { "<unk>", "<s>", "<|endoftext|>" };
        for (size_t i = 0; i < COUNT(keep); i++) {
            id = find_cstr(v, keep[i]);
            if (id >= 0) v->tok[id].flags &= (uint8_t)~FLT_TOKF_RSTRIP;
        }
    }
    return FLINTRT_OK;
}

static void build_byte_fallback(flt_vocab *v) {
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char name[6] = { '<', '0', 'x', hex[b >> 4], hex[b & 15], '>' };
        int32_t id = flt_vocab_find(v, name, sizeof name);
        if (id < 0) {
            char c = (char)b;
            id = flt_vocab_find(v, &c, 1);
        }
        /* llama.cpp throws here; the unknown token is the closest sane answer. */
        if (id < 0) id = v->unk;
        v->byte_tok[b] = id;
    }
}

static flintrt_status check_id(int32_t id, int32_t n, const char *what, flt_err *e) {
    if (id < -1 || id >= n)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "vocab: %s token id %d outside the vocab of %d tokens",
                        what, id, n);
    return FLINTRT_OK;
}

flintrt_status flt_vocab_build(const flt_vocab_desc *d, flt_vocab **out, flt_err *e) {
    if (!d || !out) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "vocab: NULL argument");
    *out = NULL;
    if (d->n_tokens == 0) return flt_fail(e, FLINTRT_ERR_FORMAT, "vocab: no tokens");
    if (d->n_tokens > FLT_VOCAB_MAX_TOKENS)
        return flt_fail(e, FLINTRT_ERR_LIMIT, "vocab: %zu tokens exceed the limit of %u", d->n_tokens,
                        FLT_VOCAB_MAX_TOKENS);
    if (!d->tokens) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "vocab: no token texts");
    int32_t n = (int32_t)d->n_tokens;
    flintrt_status st;
    if ((st = check_id(d->bos, n, "bos", e)) || (st = check_id(d->eos, n, "eos", e)) ||
        (st = check_id(d->unk, n, "unknown", e)) || (st = check_id(d->pad, n, "padding", e)))
        return st;

    size_t arena_size = 0;
    for (int32_t i = 0; i < n; i++) {
        const flt_str *s = &d->tokens[i];
        if (s->n > FLT_VOCAB_MAX_TOKEN_LEN)
            return flt_fail(e, FLINTRT_ERR_LIMIT, "vocab: token %d is %zu bytes long (limit %u)", i, s->n,
                            FLT_VOCAB_MAX_TOKEN_LEN);
        if (s->n && !s->p) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "vocab: token %d has no text", i);
        if (!flt_add_size(arena_size, s->n + 1, &arena_size))
            return flt_fail(e, FLINTRT_ERR_LIMIT, "vocab: token texts too large");
        if (d->scores && isnan(d->scores[i]))
            return flt_fail(e, FLINTRT_ERR_FORMAT, "vocab: token %d has a NaN score", i);
    }

    flt_vocab *v = calloc(1, sizeof *v);
    if (!v) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "vocab: out of memory");
    v->n = n;
    v->tok = flt_calloc_array((size_t)n, sizeof *v->tok);
    v->arena = malloc(arena_size);
    if (!v->tok || !v->arena) {
        flt_vocab_free(v);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "vocab: out of memory for %d tokens", n);
    }
    char *p = v->arena;
    for (int32_t i = 0; i < n; i++) {
        const flt_str *s = &d->tokens[i];
        flt_vocab_token *t = &v->tok[i];
        if (s->n) memcpy(p, s->p, s->n);
        p[s->n] = '\0';
        t->text = p;
        t->len = (uint32_t)s->n;
        p += s->n + 1;
        t->score = d->scores ? d->scores[i] : 0.0f;
        t->attr = d->types ? attr_of_type(d->types[i]) : FLT_ATTR_NORMAL;
        if (t->attr & FLT_ATTR_BYTE) {
            int hi = t->len == 6 ? hexval(t->text[3]) : -1, lo = t->len == 6 ? hexval(t->text[4]) : -1;
            if (t->len != 6 || memcmp(t->text, "<0x", 3) != 0 || t->text[5] != '>' || hi < 0 || lo < 0) {
                flt_vocab_free(v);
                return flt_fail(e, FLINTRT_ERR_FORMAT,
                                "vocab: byte token %d has text '%.16s', expected <0xHH>", i, s->p);
            }
            t->byte = (uint8_t)(hi * 16 + lo);
        }
    }
    v->bos = d->bos;
    v->eos = d->eos;
    v->unk = d->unk;
    v->pad = d->pad;
    v->add_bos = d->add_bos;
    v->add_eos = d->add_eos;
    v->add_space_prefix = d->add_space_prefix;

    if ((st = build_indexes(v, e)) != FLINTRT_OK) {
        flt_vocab_free(v);
        return st;
    }
    apply_text_rules(v);
    if ((st = build_specials(v, d->rstrip_specials, e)) != FLINTRT_OK) {
        flt_vocab_free(v);
        return st;
    }
    build_byte_fallback(v);
    *out = v;
    return FLINTRT_OK;
}

/* ---- queries ---- */

int32_t flt_vocab_n(const flt_vocab *v) { return v ? v->n : 0; }
int32_t flt_vocab_bos(const flt_vocab *v) { return v ? v->bos : -1; }
int32_t flt_vocab_eos(const flt_vocab *v) { return v ? v->eos : -1; }
int32_t flt_vocab_unk(const flt_vocab *v) { return v ? v->unk : -1; }
bool flt_vocab_add_bos_default(const flt_vocab *v) { return v && v->add_bos && v->bos >= 0; }
bool flt_vocab_add_eos_default(const flt_vocab *v) { return v && v->add_eos && v->eos >= 0; }

bool flt_vocab_is_eog(const flt_vocab *v, int32_t id) {
    return v && id >= 0 && id < v->n && (v->tok[id].flags & FLT_TOKF_EOG);
}

bool flt_vocab_is_control(const flt_vocab *v, int32_t id) {
    if (!v || id < 0 || id >= v->n) return false;
    return (v->tok[id].attr & (FLT_ATTR_CONTROL | FLT_ATTR_UNKNOWN)) || (v->tok[id].flags & FLT_TOKF_EOG);
}

flt_str flt_vocab_token_text(const flt_vocab *v, int32_t id) {
    if (!v || id < 0 || id >= v->n) return (flt_str){ NULL, 0 };
    return (flt_str){ v->tok[id].text, v->tok[id].len };
}
