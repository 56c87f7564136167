/* Text → token ids for SentencePiece-style ("llama") vocabs, reproducing
 * llama.cpp's llm_tokenizer_spm and tokenizer_st_partition:
 *  1. special tokens written literally in the text are cut out first, longest
 *     first (user-defined ones always, control/unknown ones with PARSE_SPECIAL);
 *  2. each remaining fragment gets a leading space if it starts the text or follows
 *     a special token, spaces become ▁, and it is split into UTF-8 characters;
 *  3. the adjacent pair whose concatenation is the best-scoring token is merged
 *     until none is left (ties: leftmost first);
 *  4. symbols that are not tokens are emitted as byte-fallback tokens.
 * Everything is linear in memory and O(n log n) in time for a given vocab. */
#include "text/vocab_impl.h"

#include <stdlib.h>
#include <string.h>

#include "core/checked.h"

/* ---- growable arrays ---- */

typedef struct ids_buf {
    int32_t *p;
    size_t n, cap;
} ids_buf;

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (!flt_mul_size(nc, 2, &nc)) return false;
    }
    size_t bytes;
    if (!flt_mul_size(nc, elem, &bytes)) return false;
    void *q = realloc(*p, bytes);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

static bool ids_push(ids_buf *b, int32_t id) {
    if (!grow((void **)&b->p, &b->cap, b->n + 1, sizeof *b->p)) return false;
    b->p[b->n++] = id;
    return true;
}

/* ---- special-token partition ---- */

typedef struct frag {
    size_t off, len; /* raw text span (token < 0) */
    int32_t token;   /* >= 0: a special token */
} frag;

typedef struct frag_list {
    frag *p;
    size_t n, cap;
} frag_list;

static bool frag_push(frag_list *l, frag f) {
    if (!grow((void **)&l->p, &l->cap, l->n + 1, sizeof *l->p)) return false;
    l->p[l->n++] = f;
    return true;
}

/* C-locale isspace, as llama.cpp uses for stripping around special tokens. */
static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool eligible(const flt_vocab *v, int32_t id, bool parse_special) {
    return parse_special || !(v->tok[id].attr & (FLT_ATTR_CONTROL | FLT_ATTR_UNKNOWN));
}

typedef struct prio_key {
    uint32_t len;
    int32_t id;
} prio_key;

static int cmp_prio(const void *pa, const void *pb) {
    const prio_key *a = pa, *b = pb;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* Which special tokens occur anywhere in the text: walks special_sorted as a trie
 * (a range of texts sharing the prefix matched so far), so the cost per position
 * is the length of the longest partial match, not the number of special tokens. */
static flintrt_status find_present(const flt_vocab *v, const char *text, size_t len, bool parse_special,
                                   int32_t **present, size_t *n_present) {
    *present = NULL;
    *n_present = 0;
    if (v->n_special == 0 || len == 0) return FLINTRT_OK;
    uint8_t first[256] = { 0 };
    for (int32_t i = 0; i < v->n_special; i++) {
        int32_t id = v->special_sorted[i];
        if (eligible(v, id, parse_special)) first[(unsigned char)v->tok[id].text[0]] = 1;
    }
    uint8_t *mark = calloc((size_t)v->n_special, 1);
    if (!mark) return FLINTRT_ERR_OUT_OF_MEMORY;
    size_t count = 0;
    for (size_t p = 0; p < len; p++) {
        if (!first[(unsigned char)text[p]]) continue;
        int32_t lo = 0, hi = v->n_special;
        for (size_t d = 0; lo < hi; d++) {
            /* Entries of [lo,hi) share text[p..p+d); a text of exactly d bytes sorts first. */
            const flt_vocab_token *t = &v->tok[v->special_sorted[lo]];
            if (t->len == d) {
                if (!mark[lo] && eligible(v, v->special_sorted[lo], parse_special)) {
                    mark[lo] = 1;
                    count++;
                }
                lo++;
            }
            if (lo >= hi || p + d >= len) break;
            unsigned char c = (unsigned char)text[p + d];
            /* narrow to entries whose byte d equals c (all have len > d here) */
            int32_t a = lo, b = hi;
            while (a < b) {
                int32_t m = a + (b - a) / 2;
                if ((unsigned char)v->tok[v->special_sorted[m]].text[d] < c) a = m + 1;
                else b = m;
            }
            int32_t s = a;
            b = hi;
            while (a < b) {
                int32_t m = a + (b - a) / 2;
                if ((unsigned char)v->tok[v->special_sorted[m]].text[d] <= c) a = m + 1;
                else b = m;
            }
            lo = s;
            hi = a;
        }
    }
    if (count == 0) {
        free(mark);
        return FLINTRT_OK;
    }
    /* Report them in priority order: longer first (so "<|end|>" cannot be cut out of
     * "<|endoftext|>"), ties by id to be deterministic where llama.cpp's sort is not. */
    prio_key *keys = flt_malloc_array(count, sizeof *keys);
    int32_t *ids = flt_malloc_array(count, sizeof *ids);
    if (!keys || !ids) {
        free(keys);
        free(ids);
        free(mark);
        return FLINTRT_ERR_OUT_OF_MEMORY;
    }
    size_t k = 0;
    for (int32_t i = 0; i < v->n_special; i++)
        if (mark[i]) keys[k++] = (prio_key){ v->tok[v->special_sorted[i]].len, v->special_sorted[i] };
    qsort(keys, k, sizeof *keys, cmp_prio);
    for (size_t i = 0; i < k; i++) ids[i] = keys[i].id;
    free(keys);
    free(mark);
    *present = ids;
    *n_present = k;
    return FLINTRT_OK;
}

/* Leftmost occurrence of pat in s[from, to), or (size_t)-1. */
static size_t find_sub(const char *s, size_t from, size_t to, const char *pat, size_t n) {
    while (from < to && to - from >= n) {
        const char *q = memchr(s + from, pat[0], to - from - n + 1);
        if (!q) return (size_t)-1;
        size_t at = (size_t)(q - s);
        if (memcmp(q, pat, n) == 0) return at;
        from = at + 1;
    }
    return (size_t)-1;
}

/* Cut one special token out of every raw fragment (llama.cpp does the same per
 * token, longest first, so a longer token wins over any shorter one it contains). */
static bool split_on(const flt_vocab *v, const char *text, int32_t id, const frag_list *in, frag_list *out) {
    const flt_vocab_token *t = &v->tok[id];
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        frag f = in->p[i];
        if (f.token >= 0) {
            if (!frag_push(out, f)) return false;
            continue;
        }
        size_t pos = f.off, end = f.off + f.len;
        for (;;) {
            size_t m = find_sub(text, pos, end, t->text, t->len);
            if (m == (size_t)-1) break;
            if (m > pos && !frag_push(out, (frag){ pos, m - pos, -1 })) return false;
            if (!frag_push(out, (frag){ 0, 0, id })) return false;
            pos = m + t->len;
            if (t->flags & FLT_TOKF_RSTRIP)
                while (pos < end && is_space(text[pos])) pos++;
        }
        if (pos < end && !frag_push(out, (frag){ pos, end - pos, -1 })) return false;
    }
    return true;
}

/* ---- SentencePiece merging ---- */

typedef struct sym {
    int32_t prev, next; /* -1 at the ends */
    uint32_t off, n;    /* span in the escaped text; n == 0 once merged away */
} sym;

typedef struct bigram {
    float score;
    int32_t left, right;
    uint32_t size; /* bytes of the pair when it was queued, to spot stale entries */
} bigram;

typedef struct spm_scratch {
    char *buf;
    size_t buf_cap;
    sym *sym;
    size_t sym_cap;
    bigram *heap;
    size_t heap_n, heap_cap;
} spm_scratch;

/* Queue order of llama.cpp: higher score first, then the leftmost pair. */
static bool before(const bigram *a, const bigram *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static bool heap_push(spm_scratch *s, bigram x) {
    if (!grow((void **)&s->heap, &s->heap_cap, s->heap_n + 1, sizeof *s->heap)) return false;
    size_t i = s->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&x, &s->heap[parent])) break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = x;
    return true;
}

static bigram heap_pop(spm_scratch *s) {
    bigram top = s->heap[0];
    bigram last = s->heap[--s->heap_n];
    size_t n = s->heap_n, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(&s->heap[c + 1], &s->heap[c])) c++;
        if (!before(&s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n) s->heap[i] = last;
    return top;
}

static bool try_add(const flt_vocab *v, spm_scratch *s, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return true;
    const sym *l = &s->sym[left], *r = &s->sym[right];
    uint32_t size = l->n + r->n;
    int32_t id = flt_vocab_find(v, s->buf + l->off, size);
    if (id < 0) return true;
    return heap_push(s, (bigram){ v->tok[id].score, left, right, size });
}

/* UTF-8 sequence length from the lead byte, as llama.cpp's unicode_len_utf8:
 * stray continuation bytes count as one, and a sequence is cut at the text's end. */
static uint32_t utf8_len(unsigned char c) {
    static const uint8_t k[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
    return k[c >> 4];
}

static flintrt_status spm_fragment(const flt_vocab *v, spm_scratch *s, const char *text, size_t len,
                                   bool space_prefix, ids_buf *out, flt_err *e) {
    /* Escape: ' ' → "▁" (3 bytes), plus one leading "▁" when asked. */
    size_t spaces = 0;
    for (size_t i = 0; i < len; i++) spaces += text[i] == ' ';
    size_t n = len + 2 * spaces + (space_prefix ? 3 : 0); /* len is capped far below overflow */
    if (!grow((void **)&s->buf, &s->buf_cap, n, 1))
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
    char *b = s->buf;
    size_t k = 0;
    if (space_prefix) {
        memcpy(b, "\xe2\x96\x81", 3);
        k = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(b + k, "\xe2\x96\x81", 3);
            k += 3;
        } else {
            b[k++] = text[i];
        }
    }

    if (!grow((void **)&s->sym, &s->sym_cap, n, sizeof *s->sym))
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
    int32_t ns = 0;
    for (size_t off = 0; off < n;) {
        uint32_t l = utf8_len((unsigned char)b[off]);
        if (l > n - off) l = (uint32_t)(n - off);
        s->sym[ns] = (sym){ ns - 1, off + l == n ? -1 : ns + 1, (uint32_t)off, l };
        off += l;
        ns++;
    }

    s->heap_n = 0;
    for (int32_t i = 1; i < ns; i++)
        if (!try_add(v, s, i - 1, i)) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "tokenize: out of memory");

    while (s->heap_n) {
        bigram bg = heap_pop(s);
        sym *l = &s->sym[bg.left], *r = &s->sym[bg.right];
        /* Skip pairs that an earlier merge consumed or changed. */
        if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s->sym[r->next].prev = bg.left;
        if (!try_add(v, s, l->prev, bg.left) || !try_add(v, s, bg.left, l->next))
            return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
    }

    /* Merged symbols are tokens by construction; only single characters may not be,
     * and those fall back to one token per byte. */
    for (int32_t i = ns ? 0 : -1; i >= 0; i = s->sym[i].next) {
        const sym *x = &s->sym[i];
        int32_t id = flt_vocab_find(v, b + x->off, x->n);
        if (id >= 0) {
            if (!ids_push(out, id)) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
            continue;
        }
        for (uint32_t j = 0; j < x->n; j++) {
            unsigned char c = (unsigned char)b[x->off + j];
            if (v->byte_tok[c] < 0)
                return flt_fail(e, FLINTRT_ERR_UNSUPPORTED,
                                "tokenize: the vocab has no token for byte 0x%02X and no unknown token", c);
            if (!ids_push(out, v->byte_tok[c]))
                return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
        }
    }
    return FLINTRT_OK;
}

/* ---- entry point ---- */

static flintrt_status tokenize_all(const flt_vocab *v, const char *text, size_t len, uint32_t flags,
                                   ids_buf *out, flt_err *e) {
    const bool parse_special = (flags & FLINTRT_TOKENIZE_PARSE_SPECIAL) != 0;
    if ((flags & FLINTRT_TOKENIZE_ADD_BOS) && v->bos >= 0 && !ids_push(out, v->bos))
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
    if (len == 0) return FLINTRT_OK;

    flintrt_status st = FLINTRT_OK;
    frag_list a = { 0 }, b = { 0 };
    spm_scratch s = { 0 };
    int32_t *present = NULL;
    size_t n_present = 0;
    if (!frag_push(&a, (frag){ 0, len, -1 })) {
        st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
        goto done;
    }
    st = find_present(v, text, len, parse_special, &present, &n_present);
    if (st != FLINTRT_OK) {
        st = flt_fail(e, st, "tokenize: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_present; i++) {
        if (!split_on(v, text, present[i], &a, &b)) {
            st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
            goto done;
        }
        frag_list t = a;
        a = b;
        b = t;
    }

    /* llama.cpp: a fragment gets the leading space when it starts the text or
     * follows a special token (BOS counts as one). */
    bool prev_special = true;
    for (size_t i = 0; i < a.n; i++) {
        if (a.p[i].token >= 0) {
            if (!ids_push(out, a.p[i].token)) {
                st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
                goto done;
            }
            prev_special = true;
            continue;
        }
        st = spm_fragment(v, &s, text + a.p[i].off, a.p[i].len, v->add_space_prefix && prev_special, out, e);
        if (st != FLINTRT_OK) goto done;
        prev_special = false;
    }

done:
    free(a.p);
    free(b.p);
    free(present);
    free(s.buf);
    free(s.sym);
    free(s.heap);
    return st;
}

flintrt_status flt_vocab_tokenize(const flt_vocab *v, const char *text, size_t len, uint32_t flags,
                                  int32_t *out, size_t cap, size_t *n_out, flt_err *e) {
    if (n_out) *n_out = 0;
    if (!v || !n_out || (len && !text) || (cap && !out))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "tokenize: NULL argument");
    if (flags & ~(uint32_t)(FLINTRT_TOKENIZE_ADD_BOS | FLINTRT_TOKENIZE_PARSE_SPECIAL))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "tokenize: unknown flags 0x%x", (unsigned)flags);
    if (len > FLT_VOCAB_MAX_TEXT_LEN)
        return flt_fail(e, FLINTRT_ERR_LIMIT, "tokenize: text of %zu bytes exceeds the limit of %zu", len,
                        (size_t)FLT_VOCAB_MAX_TEXT_LEN);
    ids_buf ids = { 0 };
    flintrt_status st = tokenize_all(v, text, len, flags, &ids, e);
    if (st == FLINTRT_OK) {
        *n_out = ids.n;
        size_t w = ids.n < cap ? ids.n : cap;
        if (w) memcpy(out, ids.p, w * sizeof *out);
        if (ids.n > cap)
            st = flt_fail(e, FLINTRT_ERR_BUFFER_TOO_SMALL, "tokenize needs room for %zu tokens, buffer has %zu",
                          ids.n, cap);
    }
    free(ids.p);
    return st;
}
