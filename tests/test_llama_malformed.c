/* Metadata consumers are parsers too (SECURITY.md classes 11-13): a GGUF file
 * that is well-formed as a container but whose llama hyperparameters or tensors
 * lie must be refused at load with a message naming the key or tensor, never
 * crash or allocate what the file did not pay for. Each case rewrites a valid
 * synthetic model with one thing changed. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "flintrt.h"
#include "formats/gguf.h"
#include "harness.h"
#include "llm/synth.h"

static char base_path[256], bad_path[256];

typedef struct {
    const char *key;         /* metadata key to replace or drop */
    int kind;                /* 0 drop, 1 u32, 2 string, 3 f32 */
    uint32_t u;
    const char *s;
    float f;
    const char *drop_tensor; /* tensor to leave out */
    const char *swap_tensor; /* give this tensor the data/shape of swap_with */
    const char *swap_with;
} mutation;

static bool write_mutated(const mutation *m) {
    flt_err e;
    flt_gguf *g;
    if (flt_gguf_open(base_path, &g, &e)) return false;
    flt_gguf_writer *w = flt_gguf_writer_new();
    bool ok = w != NULL;
    for (uint64_t i = 0; ok && i < flt_gguf_n_kv(g); i++) {
        flt_str k = flt_gguf_key(g, i);
        if (m->key && strlen(m->key) == k.n && !memcmp(k.p, m->key, k.n)) continue;
        ok = flt_gguf_copy_kv(w, g, i) == FLINTRT_OK;
    }
    if (ok && m->key) {
        if (m->kind == 1) ok = flt_gguf_set_u32(w, m->key, m->u) == FLINTRT_OK;
        if (m->kind == 2) ok = flt_gguf_set_str(w, m->key, m->s, strlen(m->s)) == FLINTRT_OK;
        if (m->kind == 3) ok = flt_gguf_set_f32(w, m->key, m->f) == FLINTRT_OK;
    }
    for (uint64_t i = 0; ok && i < flt_gguf_n_tensors(g); i++) {
        const flt_gguf_tensor *t = flt_gguf_tensor_at(g, i);
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)t->name.n, t->name.p);
        if (m->drop_tensor && !strcmp(name, m->drop_tensor)) continue;
        const flt_gguf_tensor *src = t;
        if (m->swap_tensor && !strcmp(name, m->swap_tensor)) src = flt_gguf_find_tensor(g, m->swap_with);
        ok = src && flt_gguf_add_tensor(w, name, src->type, src->n_dims, src->ne, src->data, src->size) == FLINTRT_OK;
    }
    ok = ok && flt_gguf_write_file(w, bad_path, &e) == FLINTRT_OK;
    flt_gguf_writer_free(w);
    flt_gguf_close(g);
    return ok;
}

static void expect_refused(const mutation *m, flintrt_status want, const char *needle) {
    CHECKF(write_mutated(m), "could not write the mutated model");
    flintrt_model *model = NULL;
    flintrt_status st = flintrt_model_load(bad_path, NULL, &model);
    CHECKF(st == want && strstr(flintrt_last_error(), needle),
           "want status %d and '%s', got %d: %s", (int)want, needle, (int)st, flintrt_last_error());
    flintrt_model_free(model);
}

int main(void) {
    snprintf(base_path, sizeof base_path, "/tmp/flint_llama_ok_%d.gguf", (int)getpid());
    snprintf(bad_path, sizeof bad_path, "/tmp/flint_llama_bad_%d.gguf", (int)getpid());
    flt_synth_params p;
    CHECK(flt_synth_preset("tiny", &p));
    flt_err e;
    CHECKF(flt_synth_llama(&p, base_path, &e) == FLINTRT_OK, "%s", e.msg);

    /* The unmutated copy loads and runs: the harness itself is sound. */
    mutation none = {0};
    CHECK(write_mutated(&none));
    flintrt_model *ok = NULL;
    CHECKF(flintrt_model_load(bad_path, NULL, &ok) == FLINTRT_OK, "%s", flintrt_last_error());
    flintrt_model_free(ok);

    const mutation cases[] = {
        {.key = "llama.attention.head_count", .kind = 1, .u = 3},       /* does not divide n_embd 64 */
        {.key = "llama.attention.head_count_kv", .kind = 1, .u = 3},    /* does not divide heads */
        {.key = "llama.attention.head_count", .kind = 1, .u = 0},
        {.key = "llama.attention.head_count", .kind = 2, .s = "four"},  /* type confusion */
        {.key = "llama.block_count", .kind = 1, .u = 1000000},         /* beyond the layer cap */
        {.key = "llama.block_count", .kind = 1, .u = 3},               /* more layers than tensors */
        {.key = "llama.embedding_length", .kind = 0},                  /* missing */
        {.key = "llama.rope.dimension_count", .kind = 1, .u = 3},      /* odd */
        {.key = "llama.rope.dimension_count", .kind = 1, .u = 1024},   /* beyond head_dim */
        {.key = "llama.context_length", .kind = 1, .u = 0},
        {.key = "llama.rope.scaling.type", .kind = 2, .s = "yarn-ish"},
        {.key = "llama.attention.layer_norm_rms_epsilon", .kind = 3, .f = -1.0f},
        {.key = "general.architecture", .kind = 2, .s = "mamba"},
        {.drop_tensor = "blk.1.ffn_down.weight"},
        {.swap_tensor = "blk.0.attn_q.weight", .swap_with = "blk.0.ffn_up.weight"}, /* wrong shape */
        {.swap_tensor = "blk.0.attn_norm.weight", .swap_with = "blk.0.attn_k.weight"},
    };
    const struct { flintrt_status st; const char *needle; } want[] = {
        {FLINTRT_ERR_FORMAT, "head count 3 does not divide"},
        {FLINTRT_ERR_FORMAT, "KV head count 3 does not divide"},
        {FLINTRT_ERR_FORMAT, "llama.attention.head_count"},
        {FLINTRT_ERR_FORMAT, "llama.attention.head_count"},
        {FLINTRT_ERR_FORMAT, "llama.block_count"},
        {FLINTRT_ERR_FORMAT, "blk.2."},
        {FLINTRT_ERR_NOT_FOUND, "llama.embedding_length"},
        {FLINTRT_ERR_FORMAT, "rope dimension count 3 is odd"},
        {FLINTRT_ERR_FORMAT, "llama.rope.dimension_count"},
        {FLINTRT_ERR_FORMAT, "llama.context_length"},
        {FLINTRT_ERR_UNSUPPORTED, "yarn-ish"},
        {FLINTRT_ERR_FORMAT, "llama.attention.layer_norm_rms_epsilon"},
        {FLINTRT_ERR_UNSUPPORTED, "mamba"},
        {FLINTRT_ERR_FORMAT, "blk.1.ffn_down.weight' is missing"},
        {FLINTRT_ERR_FORMAT, "blk.0.attn_q.weight' has shape"},
        {FLINTRT_ERR_FORMAT, "blk.0.attn_norm.weight' has shape"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) expect_refused(&cases[i], want[i].st, want[i].needle);

    /* A context that would need an absurd KV cache is refused, not attempted. */
    CHECK(flintrt_model_load(base_path, NULL, &ok) == FLINTRT_OK);
    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.n_ctx = INT32_MAX;
    flintrt_session *s = NULL;
    flintrt_status st = flintrt_session_create(ok, &so, &s);
    CHECKF(st == FLINTRT_ERR_LIMIT && strstr(flintrt_last_error(), "MiB"), "huge context: %d %s", (int)st,
           flintrt_last_error());
    CHECK(s == NULL);
    /* Token ids outside the vocabulary never reach a kernel. */
    so.n_ctx = 16;
    CHECK(flintrt_session_create(ok, &so, &s) == FLINTRT_OK);
    flintrt_token bad_ids[2] = {1, flintrt_model_n_vocab(ok)};
    CHECK(flintrt_session_eval(s, bad_ids, 2, NULL, 0) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(flintrt_last_error(), "outside the vocabulary") != NULL);
    flintrt_token many[17] = {0};
    CHECK(flintrt_session_eval(s, many, 17, NULL, 0) == FLINTRT_ERR_LIMIT);
    CHECK(flintrt_session_n_past(s) == 0);
    flintrt_session_free(s);
    flintrt_model_free(ok);

    remove(base_path);
    remove(bad_path);
    return flt_test_finish();
}
