/* Synthetic Llama models (see synth.h): the tensor plan, the weight generator,
 * the built-in SentencePiece vocab, and the metadata llama.cpp's converters
 * write, so the files load in Flint and in llama.cpp alike. */
#include "llm/synth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "graph/graph.h"
#include "llm/llama.h"
#include "llm/sampler.h"
#include "text/vocab.h"

/* ---- presets ------------------------------------------------------------- */

bool flt_synth_preset(const char *shape, flt_synth_params *p) {
    static const struct {
        const char *name;
        int32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    } presets[] = {
        /* small enough to generate and run in milliseconds: demos and tests */
        {"tiny", 64, 2, 4, 2, 192, 256},
        /* SmolLM-135M's shape */
        {"135m", 576, 30, 9, 3, 1536, 2048},
        /* TinyLlama-1.1B's shape */
        {"1b", 2048, 22, 32, 4, 5632, 2048},
    };
    if (!shape || !p) return false;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(presets[i].name, shape) != 0) continue;
        memset(p, 0, sizeof *p);
        p->n_embd = presets[i].n_embd;
        p->n_layer = presets[i].n_layer;
        p->n_head = presets[i].n_head;
        p->n_head_kv = presets[i].n_head_kv;
        p->n_ff = presets[i].n_ff;
        p->n_ctx = presets[i].n_ctx;
        p->rope_base = 10000.0f;
        p->norm_eps = 1e-5f;
        p->type = FLT_F32;
        p->seed = FLT_SYNTH_DEFAULT_SEED;
        return true;
    }
    return false;
}

/* llama_ftype as llama.cpp numbers it (general.file_type): "mostly" = every
 * 2-D weight, with 1-D tensors (norms) kept F32. */
static bool ftype_of(flt_dtype t, uint32_t *ftype) {
    switch (t) {
    case FLT_F32: *ftype = 0; return true;   /* LLAMA_FTYPE_ALL_F32 */
    case FLT_F16: *ftype = 1; return true;   /* LLAMA_FTYPE_MOSTLY_F16 */
    case FLT_Q4_0: *ftype = 2; return true;  /* LLAMA_FTYPE_MOSTLY_Q4_0 */
    case FLT_Q8_0: *ftype = 7; return true;  /* LLAMA_FTYPE_MOSTLY_Q8_0 */
    case FLT_BF16: *ftype = 32; return true; /* LLAMA_FTYPE_MOSTLY_BF16 */
    default: return false;
    }
}

static flintrt_status check_params(const flt_synth_params *p, flt_err *e) {
    if (!p) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "synth: NULL parameters");
#define RANGE(f, lo, hi)                                                                            \
    if (p->f < (lo) || p->f > (hi))                                                                 \
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "synth: " #f " = %" PRId32 " is outside [%d, %d]", \
                        p->f, (int)(lo), (int)(hi));
    /* The ranges are the loader's (llama.c read_hparams), so whatever is written loads. */
    RANGE(n_embd, 1, 1 << 16);
    RANGE(n_layer, 1, FLT_LLAMA_MAX_LAYERS);
    RANGE(n_head, 1, 1024);
    RANGE(n_head_kv, 1, 1024);
    RANGE(n_ff, 1, 1 << 20);
    RANGE(n_ctx, 1, 1 << 24);
#undef RANGE
    if (p->n_embd % p->n_head)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "synth: n_head %" PRId32 " does not divide n_embd %" PRId32,
                        p->n_head, p->n_embd);
    if (p->n_head % p->n_head_kv)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT,
                        "synth: n_head_kv %" PRId32 " does not divide n_head %" PRId32, p->n_head_kv, p->n_head);
    int32_t hd = p->n_embd / p->n_head;
    if (hd % 2 || hd > FLT_ATTN_MAX_HEAD_DIM)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "synth: head dimension %" PRId32 " must be even and at most %d",
                        hd, FLT_ATTN_MAX_HEAD_DIM);
    /* The loader's float ranges; written as negated tests so NaN fails too. */
    if (!(p->norm_eps >= 0.0f && p->norm_eps <= 1.0f))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "synth: norm_eps %g is outside [0, 1]", (double)p->norm_eps);
    if (!(p->rope_base >= 1.0f && p->rope_base <= 1e12f))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "synth: rope_base %g is outside [1, 1e12]",
                        (double)p->rope_base);
    uint32_t ft;
    const flt_dtype_traits *tr = flt_dtype_info(p->type);
    if (!ftype_of(p->type, &ft) || !tr || !tr->from_f32)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "synth: type %s is not one of F32, F16, BF16, Q8_0, Q4_0",
                        tr ? tr->name : "?");
    /* Rows are quantized whole: every matrix's row length (n_embd, or n_ff for
     * ffn_down) must be a whole number of blocks. */
    if (p->n_embd % (int32_t)tr->block_size || p->n_ff % (int32_t)tr->block_size)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT,
                        "synth: %s needs n_embd (%" PRId32 ") and n_ff (%" PRId32 ") to be multiples of %u",
                        tr->name, p->n_embd, p->n_ff, tr->block_size);
    return FLINTRT_OK;
}

/* ---- the tensor plan ----------------------------------------------------- */

typedef struct tplan {
    char name[48];
    int64_t rows, cols; /* Flint's view: [rows = out, cols = in]; 1-D: rows = 1 */
    bool norm;          /* 1-D F32 norm weight */
} tplan;

enum { N_LAYER_TENSORS = 9 };

/* In the order llama.cpp's converters write them. Returns the count (0 when out
 * of memory). p must have passed check_params, which bounds every product here. */
static size_t plan_tensors(const flt_synth_params *p, int64_t n_vocab, tplan **out) {
    size_t n = (size_t)p->n_layer * N_LAYER_TENSORS + 3;
    tplan *t = flt_calloc_array(n, sizeof *t);
    *out = t;
    if (!t) return 0;
    int64_t d = p->n_embd, hd = p->n_embd / p->n_head, dkv = hd * p->n_head_kv, ff = p->n_ff;
    size_t k = 0;
#define ADD(r, c, is_norm)        \
    do {                          \
        t[k].rows = (r);          \
        t[k].cols = (c);          \
        t[k].norm = (is_norm);    \
        k++;                      \
    } while (0)
#define NAME(...) snprintf(t[k].name, sizeof t[k].name, __VA_ARGS__)
    NAME("token_embd.weight");
    ADD(n_vocab, d, false);
    static const char *const layer_names[N_LAYER_TENSORS] = {
        "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
    };
    for (int32_t l = 0; l < p->n_layer; l++) {
        const int64_t shapes[N_LAYER_TENSORS][2] = {
            {1, d}, {d, d}, {dkv, d}, {dkv, d}, {d, d}, {1, d}, {ff, d}, {ff, d}, {d, ff},
        };
        for (int j = 0; j < N_LAYER_TENSORS; j++) {
            NAME("blk.%d.%s.weight", (int)l, layer_names[j]);
            ADD(shapes[j][0], shapes[j][1], j == 0 || j == 5); /* the two norms */
        }
    }
    NAME("output_norm.weight");
    ADD(1, d, true);
    NAME("output.weight");
    ADD(n_vocab, d, false);
#undef NAME
#undef ADD
    return k;
}

static bool tensor_bytes(const tplan *t, flt_dtype type, uint64_t *out) {
    size_t rb;
    if (!flt_dtype_row_bytes(t->norm ? FLT_F32 : type, t->cols, &rb)) return false;
    return flt_mul_u64((uint64_t)t->rows, rb, out);
}

uint64_t flt_synth_data_bytes(const flt_synth_params *p, int64_t n_vocab) {
    if (check_params(p, NULL) != FLINTRT_OK || n_vocab < 1) return 0;
    tplan *t;
    size_t n = plan_tensors(p, n_vocab, &t);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t b;
        if (!tensor_bytes(&t[i], p->type, &b) || !flt_add_u64(total, b, &total)) {
            total = 0;
            break;
        }
    }
    free(t);
    return total;
}

/* ---- weights ------------------------------------------------------------- */

/* FNV-1a: a tensor's stream depends on its name, not on its position, so
 * adding tensors or layers never changes the others' values. */
static uint64_t name_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3u;
    return h;
}

/* Approximately N(0, 1): the sum of four 16-bit uniforms from one draw
 * (Irwin-Hall, n = 4), centred and scaled. Bounded at about ±3.5 sigma, which
 * suits weights; integer arithmetic keeps it bit-identical everywhere, unlike
 * Box-Muller through log/cos. */
static double normalish(flt_rng *r) {
    uint64_t x = flt_rng_next(r);
    uint32_t s = (uint32_t)(x & 0xffff) + (uint32_t)((x >> 16) & 0xffff) + (uint32_t)((x >> 32) & 0xffff) +
                 (uint32_t)(x >> 48);
    /* mean 4 * 65535 / 2; variance 4 * (65536^2 - 1) / 12 → sd 37837.23 */
    return ((double)s - 131070.0) * (1.0 / 37837.2270);
}

#define SYNTH_MATRIX_STD 0.02 /* GPT-2/Llama initialisation scale */
#define SYNTH_NORM_STD 0.01   /* norms: 1 with a little noise, so they are not all identical */

/* Fill one tensor's bytes. row: scratch of t->cols floats. */
static void gen_tensor(const tplan *t, flt_dtype type, uint64_t seed, float *row, uint8_t *dst, size_t row_bytes) {
    flt_rng r;
    flt_rng_seed(&r, seed ^ name_hash(t->name));
    const flt_dtype_traits *tr = flt_dtype_info(t->norm ? FLT_F32 : type);
    const double scale = t->norm ? SYNTH_NORM_STD : SYNTH_MATRIX_STD, offset = t->norm ? 1.0 : 0.0;
    for (int64_t i = 0; i < t->rows; i++) {
        for (int64_t j = 0; j < t->cols; j++) {
            /* Separate statements: C allows contracting a*b+c into an FMA only
             * within one expression, and a fused result could round differently
             * on another compiler or CPU, changing the file's bytes. */
            double v = scale * normalish(&r);
            row[j] = (float)(v + offset);
        }
        tr->from_f32(row, dst + (size_t)i * row_bytes, t->cols);
    }
}

/* ---- the built-in vocab -------------------------------------------------- */

/* Common English words, most frequent first (scores descend along the list),
 * weighted towards the children's-story prompts used in demos. Each becomes
 * "▁word"; every prefix of it is added too, because SentencePiece merges two
 * adjacent pieces only when their concatenation is a token: without "▁th",
 * "▁the" could never be assembled from characters. */
static const char *const k_words[] = {
    "the", "and", "to", "a", "of", "in", "was", "he", "she", "it", "that", "is", "for", "on", "with",
    "as", "his", "her", "they", "at", "be", "this", "had", "not", "but", "from", "by", "are", "or",
    "have", "an", "you", "one", "all", "were", "we", "there", "said", "when", "so", "what", "up",
    "out", "if", "about", "who", "them", "then", "would", "will", "my", "me", "no", "can", "like",
    "time", "just", "him", "into", "your", "some", "could", "their", "day", "than", "other", "now",
    "see", "only", "come", "its", "over", "also", "back", "after", "use", "two", "how", "our",
    "work", "first", "well", "way", "even", "new", "want", "because", "any", "these", "give",
    "most", "us", "very", "big", "little", "girl", "boy", "mom", "dad", "friend", "friends",
    "named", "name", "happy", "sad", "play", "played", "went", "saw", "looked", "found", "made",
    "loved", "love", "help", "helped", "home", "house", "tree", "park", "ball", "dog", "cat",
    "bird", "fish", "sun", "sky", "red", "blue", "green", "box", "toy", "toys", "car", "water",
    "upon", "once", "long", "ago", "lived", "live", "small", "good", "bad", "old", "young", "man",
    "woman", "king", "queen", "princess", "dragon", "forest", "garden", "flower", "flowers",
    "door", "room", "bed", "night", "morning", "every", "many", "more", "much", "again", "together",
    "did", "do", "does", "get", "got", "go", "going", "know", "knew", "think", "thought", "say",
    "tell", "told", "asked", "ask", "look", "find", "make", "take", "took", "came", "run", "ran",
    "walk", "walked", "eat", "ate", "sleep", "smiled", "laughed", "cried", "jumped", "wanted",
    "started", "decided", "felt", "feel", "fun", "nice", "kind", "brave", "scared", "best", "new",
    "where", "why", "which", "here", "down", "off", "too", "never", "always", "something",
    "nothing", "everyone", "people", "world", "life", "school", "book", "story", "word", "words",
    "hand", "head", "eyes", "face", "heart", "mother", "father", "sister", "brother", "family",
    "has", "been", "before", "through", "where", "while", "under", "around", "each", "still",
    "should", "own", "same", "another", "around", "place", "thing", "things", "great", "small",
    "end", "next", "last", "both", "few", "those", "such", "year", "years", "number", "part",
    "really", "am", "let", "put", "keep", "away", "inside", "outside", "ready", "sure", "soon",
};

/* Capitalised sentence starters (as "▁Word"). */
static const char *const k_capitalised[] = {
    "The", "Once", "One", "He", "She", "It", "They", "There", "Then", "But", "And", "When", "I",
    "We", "You", "A", "In", "Lily", "Tom", "Ben", "Sue", "Tim", "Max", "Mia", "Anna", "What", "This",
    "Yes", "No", "So", "After", "Every", "Mom", "Dad",
};

/* Word-internal pieces (no "▁"): frequent letter pairs and suffixes. */
static const char *const k_fragments[] = {
    "th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or", "te", "of", "ed",
    "is", "it", "al", "ar", "st", "to", "nt", "ng", "se", "ha", "as", "ou", "io", "le", "ve", "co",
    "me", "de", "hi", "ri", "ro", "ic", "ne", "ea", "ra", "ce", "li", "ch", "ll", "be", "ma", "si",
    "om", "ur", "ing", "ion", "ent", "ly", "ers", "est", "ful", "ness", "ment", "tion", "able",
    "ally", "ight", "ould", "ound", "ook",
};

typedef struct vocab_builder {
    size_t *off, *len; /* each text's place in the arena (which moves while growing) */
    float *score;
    int32_t *type;
    size_t n, cap;
    char *arena;
    size_t arena_n, arena_cap;
    flt_str *tok; /* made by vb_build once the arena is final */
} vocab_builder;

#define VB_PIECE_MAX 48 /* longest generated piece, bytes (the lists hold short words) */

static bool vb_grow(vocab_builder *b) {
    size_t cap = b->cap ? b->cap * 2 : 1024;
    size_t *off = flt_malloc_array(cap, sizeof *off), *len = flt_malloc_array(cap, sizeof *len);
    float *sc = flt_malloc_array(cap, sizeof *sc);
    int32_t *ty = flt_malloc_array(cap, sizeof *ty);
    if (!off || !len || !sc || !ty) {
        free(off), free(len), free(sc), free(ty);
        return false;
    }
    if (b->n) {
        memcpy(off, b->off, b->n * sizeof *off);
        memcpy(len, b->len, b->n * sizeof *len);
        memcpy(sc, b->score, b->n * sizeof *sc);
        memcpy(ty, b->type, b->n * sizeof *ty);
    }
    free(b->off), free(b->len), free(b->score), free(b->type);
    b->off = off, b->len = len, b->score = sc, b->type = ty, b->cap = cap;
    return true;
}

static bool vb_add(vocab_builder *b, const char *s, size_t n, int32_t type) {
    /* Linear duplicate check: the vocab has about a thousand entries and is built
     * once per file, and the loader refuses duplicate texts. */
    for (size_t i = 0; i < b->n; i++)
        if (b->len[i] == n && memcmp(b->arena + b->off[i], s, n) == 0) return true;
    if (b->n == b->cap && !vb_grow(b)) return false;
    size_t need;
    if (!flt_add_size(b->arena_n, n + 1, &need)) return false;
    if (need > b->arena_cap) {
        size_t cap = b->arena_cap ? b->arena_cap : 8192;
        while (cap < need) cap *= 2;
        char *a = realloc(b->arena, cap);
        if (!a) return false;
        b->arena = a;
        b->arena_cap = cap;
    }
    memcpy(b->arena + b->arena_n, s, n);
    b->arena[b->arena_n + n] = '\0';
    b->off[b->n] = b->arena_n;
    b->len[b->n] = n;
    /* Special and byte tokens score 0 as in llama's own vocab; pieces descend so
     * earlier (more frequent) ones merge first. */
    b->score[b->n] = type == FLT_TOKEN_TYPE_NORMAL ? -(float)b->n : 0.0f;
    b->type[b->n] = type;
    b->n++;
    b->arena_n = need;
    return true;
}

/* Add every prefix of prefix+word (at least one character of word), shortest
 * first, so each piece can be assembled by merging a shorter one with a char. */
static bool vb_add_with_prefixes(vocab_builder *b, const char *prefix, const char *word) {
    char buf[VB_PIECE_MAX];
    size_t pn = strlen(prefix), wn = strlen(word);
    if (pn + wn > sizeof buf) return true; /* not in the lists; skip rather than truncate */
    memcpy(buf, prefix, pn);
    memcpy(buf + pn, word, wn);
    for (size_t k = 1; k <= wn; k++)
        if (!vb_add(b, buf, pn + k, FLT_TOKEN_TYPE_NORMAL)) return false;
    return true;
}

static void vb_free(vocab_builder *b) {
    free(b->off), free(b->len), free(b->score), free(b->type), free(b->arena), free(b->tok);
    memset(b, 0, sizeof *b);
}

#define SPM_SPACE "\xe2\x96\x81" /* U+2581, SentencePiece's word-boundary mark */

static flintrt_status vb_build(vocab_builder *b, flt_err *e) {
    memset(b, 0, sizeof *b);
    bool ok = vb_add(b, "<unk>", 5, FLT_TOKEN_TYPE_UNKNOWN) && vb_add(b, "<s>", 3, FLT_TOKEN_TYPE_CONTROL) &&
              vb_add(b, "</s>", 4, FLT_TOKEN_TYPE_CONTROL);
    /* Byte fallback: any byte the pieces cannot cover still has a token. */
    for (int c = 0; ok && c < 256; c++) {
        char t[7];
        snprintf(t, sizeof t, "<0x%02X>", c);
        ok = vb_add(b, t, 6, FLT_TOKEN_TYPE_BYTE);
    }
    ok = ok && vb_add(b, SPM_SPACE, 3, FLT_TOKEN_TYPE_NORMAL);
    for (size_t i = 0; ok && i < sizeof k_words / sizeof k_words[0]; i++)
        ok = vb_add_with_prefixes(b, SPM_SPACE, k_words[i]);
    for (size_t i = 0; ok && i < sizeof k_capitalised / sizeof k_capitalised[0]; i++)
        ok = vb_add_with_prefixes(b, SPM_SPACE, k_capitalised[i]);
    for (size_t i = 0; ok && i < sizeof k_fragments / sizeof k_fragments[0]; i++)
        ok = vb_add_with_prefixes(b, "", k_fragments[i]);
    /* Single printable ASCII characters, so text never falls back to bytes for
     * letters, digits or punctuation. */
    for (int c = 0x21; ok && c < 0x7f; c++) {
        char ch = (char)c;
        ok = vb_add(b, &ch, 1, FLT_TOKEN_TYPE_NORMAL);
    }
    /* The arena no longer moves: the texts can be pointed at. */
    if (ok) ok = (b->tok = flt_malloc_array(b->n, sizeof *b->tok)) != NULL;
    if (!ok) {
        vb_free(b);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "synth: out of memory building the vocab");
    }
    for (size_t i = 0; i < b->n; i++) b->tok[i] = (flt_str){b->arena + b->off[i], b->len[i]};
    return FLINTRT_OK;
}

int32_t flt_synth_builtin_vocab_size(void) {
    vocab_builder b;
    if (vb_build(&b, NULL) != FLINTRT_OK) return 0;
    int32_t n = (int32_t)b.n;
    vb_free(&b);
    return n;
}

static flintrt_status put_builtin_vocab(flt_gguf_writer *w, const vocab_builder *b) {
    flintrt_status st;
    if ((st = flt_gguf_set_str(w, "tokenizer.ggml.model", "llama", 5)) ||
        (st = flt_gguf_set_arr_str(w, "tokenizer.ggml.tokens", b->tok, b->n)) ||
        (st = flt_gguf_set_arr(w, "tokenizer.ggml.scores", FLT_GGUF_FLOAT32, b->score, b->n)) ||
        (st = flt_gguf_set_arr(w, "tokenizer.ggml.token_type", FLT_GGUF_INT32, b->type, b->n)) ||
        (st = flt_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 1)) ||
        (st = flt_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 2)) ||
        (st = flt_gguf_set_u32(w, "tokenizer.ggml.unknown_token_id", 0)) ||
        (st = flt_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", true)) ||
        (st = flt_gguf_set_bool(w, "tokenizer.ggml.add_eos_token", false)))
        return st;
    return FLINTRT_OK;
}

/* Every tokenizer.* key of src, after checking Flint can load the vocab (so a
 * bad --vocab fails here, not at the first run). */
static flintrt_status copy_vocab(flt_gguf_writer *w, const flt_gguf *src, int64_t *n_vocab, flt_err *e) {
    flt_vocab *v = NULL;
    flintrt_status st = flt_vocab_load_gguf(src, &v, e);
    if (st) return st;
    *n_vocab = flt_vocab_n(v);
    flt_vocab_free(v);
    static const char prefix[] = "tokenizer.";
    for (uint64_t i = 0; i < flt_gguf_n_kv(src); i++) {
        flt_str k = flt_gguf_key(src, i);
        if (k.n < sizeof prefix - 1 || memcmp(k.p, prefix, sizeof prefix - 1) != 0) continue;
        if ((st = flt_gguf_copy_kv(w, src, i)))
            return flt_fail(e, st, "synth: copying '%.*s' from the vocab file failed", (int)(k.n > 80 ? 80 : k.n),
                            k.p);
    }
    return FLINTRT_OK;
}

/* ---- the file ------------------------------------------------------------ */

static flintrt_status put_hparams(flt_gguf_writer *w, const flt_synth_params *p) {
    uint32_t ft = 0;
    ftype_of(p->type, &ft);
    const char *name = p->name ? p->name : "flint-synth";
    flintrt_status st;
    if ((st = flt_gguf_set_str(w, "general.architecture", "llama", 5)) ||
        (st = flt_gguf_set_str(w, "general.name", name, strlen(name))) ||
        (st = flt_gguf_set_u32(w, "llama.context_length", (uint32_t)p->n_ctx)) ||
        (st = flt_gguf_set_u32(w, "llama.embedding_length", (uint32_t)p->n_embd)) ||
        (st = flt_gguf_set_u32(w, "llama.block_count", (uint32_t)p->n_layer)) ||
        (st = flt_gguf_set_u32(w, "llama.feed_forward_length", (uint32_t)p->n_ff)) ||
        (st = flt_gguf_set_u32(w, "llama.attention.head_count", (uint32_t)p->n_head)) ||
        (st = flt_gguf_set_u32(w, "llama.attention.head_count_kv", (uint32_t)p->n_head_kv)) ||
        (st = flt_gguf_set_u32(w, "llama.rope.dimension_count", (uint32_t)(p->n_embd / p->n_head))) ||
        (st = flt_gguf_set_f32(w, "llama.attention.layer_norm_rms_epsilon", p->norm_eps)) ||
        (st = flt_gguf_set_f32(w, "llama.rope.freq_base", p->rope_base)) ||
        (st = flt_gguf_set_u32(w, "general.file_type", ft)) ||
        (st = flt_gguf_set_u32(w, "general.quantization_version", 2)) ||
        (st = flt_gguf_set_u32(w, "general.alignment", 32)))
        return st;
    return FLINTRT_OK;
}

flintrt_status flt_synth_llama(const flt_synth_params *p, const char *path, flt_err *e) {
    flintrt_status st = check_params(p, e);
    if (st) return st;
    if (!path) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "synth: NULL path");

    flt_gguf_writer *w = flt_gguf_writer_new();
    vocab_builder vb = {0};
    tplan *plan = NULL;
    uint8_t **bufs = NULL;
    float *row = NULL;
    size_t n_t = 0;
    if (!w) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "synth: out of memory");

    if ((st = put_hparams(w, p))) {
        flt_fail(e, st, "synth: setting the model metadata failed");
        goto done;
    }
    int64_t n_vocab;
    if (p->vocab) {
        if ((st = copy_vocab(w, p->vocab, &n_vocab, e))) goto done;
    } else {
        if ((st = vb_build(&vb, e))) goto done;
        n_vocab = (int64_t)vb.n;
        if ((st = put_builtin_vocab(w, &vb))) {
            flt_fail(e, st, "synth: setting the vocab metadata failed");
            goto done;
        }
    }

    n_t = plan_tensors(p, n_vocab, &plan);
    bufs = flt_calloc_array(n_t ? n_t : 1, sizeof *bufs);
    int64_t max_cols = p->n_embd > p->n_ff ? p->n_embd : p->n_ff;
    row = flt_malloc_array((size_t)max_cols, sizeof *row);
    if (!plan || !bufs || !row) {
        st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "synth: out of memory");
        goto done;
    }
    uint64_t total = flt_synth_data_bytes(p, n_vocab), done_bytes = 0;
    if (total == 0) {
        st = flt_fail(e, FLINTRT_ERR_LIMIT, "synth: model size overflows");
        goto done;
    }
    /* The writer references tensor data until it writes, so every tensor is held
     * in memory at once: the largest preset (1b, F32) needs about 4.4 GB. */
    for (size_t i = 0; i < n_t; i++) {
        const tplan *t = &plan[i];
        flt_dtype ty = t->norm ? FLT_F32 : p->type;
        size_t rb;
        uint64_t bytes;
        if (!flt_dtype_row_bytes(ty, t->cols, &rb) || !tensor_bytes(t, p->type, &bytes) || bytes > SIZE_MAX) {
            st = flt_fail(e, FLINTRT_ERR_LIMIT, "synth: tensor '%s' is too large", t->name);
            goto done;
        }
        bufs[i] = malloc(bytes ? (size_t)bytes : 1);
        if (!bufs[i]) {
            st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "synth: out of memory for tensor '%s' (%" PRIu64 " bytes)",
                          t->name, bytes);
            goto done;
        }
        gen_tensor(t, p->type, p->seed, row, bufs[i], rb);
        int64_t ne[2] = {t->cols, t->rows}; /* GGUF order: innermost first */
        st = flt_gguf_add_tensor(w, t->name, flt_dtype_info(ty)->ggml_type, t->norm ? 1 : 2, ne, bufs[i], bytes);
        if (st) {
            flt_fail(e, st, "synth: adding tensor '%s' failed", t->name);
            goto done;
        }
        done_bytes += bytes;
        if (p->progress) p->progress(p->progress_user, done_bytes, total);
    }
    st = flt_gguf_write_file(w, path, e);

done:
    flt_gguf_writer_free(w);
    vb_free(&vb);
    if (bufs)
        for (size_t i = 0; i < n_t; i++) free(bufs[i]);
    free(bufs);
    free(plan);
    free(row);
    return st;
}
