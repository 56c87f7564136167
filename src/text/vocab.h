/* Tokenizer vocabulary for GGUF models and SentencePiece-style (tokenizer.ggml.model
 * = "llama") tokenization that reproduces llama.cpp's token ids.
 *
 * A vocab is immutable once built: every function taking `const flt_vocab *` may be
 * called from many threads at once (tokenize allocates its scratch per call).
 * Token texts are copied at build time, so the vocab does not borrow from its
 * source (a GGUF handle may be closed after loading).
 *
 * Hostile metadata is refused at build time with FLINTRT_ERR_FORMAT (or _LIMIT for
 * absurd sizes): arrays whose length differs from the token list, wrong element
 * types, special ids outside the vocab, NaN scores, duplicate token texts, and
 * byte-type tokens whose text is not exactly "<0xHH>" (hex digits; refused rather
 * than treated as normal tokens, so a byte token always decodes to its byte). */
#ifndef FLT_TEXT_VOCAB_H
#define FLT_TEXT_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "formats/gguf.h"

typedef struct flt_vocab flt_vocab;
struct flt_gguf;

/* Limits on what a vocab may hold: beyond them a file is refused (FLINTRT_ERR_LIMIT). */
#define FLT_VOCAB_MAX_TOKENS (1u << 24)
#define FLT_VOCAB_MAX_TOKEN_LEN (1u << 20)
/* Longest text tokenize accepts (bytes); longer gives FLINTRT_ERR_LIMIT. */
#define FLT_VOCAB_MAX_TEXT_LEN ((size_t)1 << 28)

/* GGUF tokenizer.ggml.token_type values. Unknown values are read as UNDEFINED,
 * as llama.cpp does (such tokens decode to nothing). */
enum {
    FLT_TOKEN_TYPE_UNDEFINED = 0,
    FLT_TOKEN_TYPE_NORMAL = 1,
    FLT_TOKEN_TYPE_UNKNOWN = 2,
    FLT_TOKEN_TYPE_CONTROL = 3,
    FLT_TOKEN_TYPE_USER_DEFINED = 4,
    FLT_TOKEN_TYPE_UNUSED = 5,
    FLT_TOKEN_TYPE_BYTE = 6,
};

/* Build from GGUF metadata (tokenizer.ggml.model, .tokens, .scores, .token_type,
 * .bos_token_id, .eos_token_id, .unknown_token_id, .padding_token_id,
 * .add_bos_token, .add_eos_token, .add_space_prefix; general.name for the Phi-3
 * whitespace rule). Special ids of 0xFFFFFFFF or -1 mean "none". Unsupported
 * tokenizer models (gpt2, bert, ...) → FLINTRT_ERR_UNSUPPORTED naming the model. */
flintrt_status flt_vocab_load_gguf(const struct flt_gguf *g, flt_vocab **out, flt_err *e);

/* In-memory description, for building a vocab without a file (tests, fuzzing,
 * other formats). Everything is copied by flt_vocab_build. */
typedef struct flt_vocab_desc {
    size_t n_tokens;
    const flt_str *tokens;     /* n_tokens texts (may hold any bytes) */
    const float *scores;       /* n_tokens, or NULL for all 0 */
    const int32_t *types;      /* n_tokens FLT_TOKEN_TYPE_*, or NULL for all NORMAL */
    int32_t bos, eos, unk, pad;/* -1: none; else must be < n_tokens */
    bool add_bos;              /* default for generation (flt_vocab_add_bos_default) */
    bool add_eos;
    bool add_space_prefix;     /* "▁" before the first text fragment */
    bool rstrip_specials;      /* Phi-3 rule: special tokens eat following whitespace */
} flt_vocab_desc;

/* Defaults of a "llama" vocab: bos 1, eos 2, unk 0 (each only if < n_tokens),
 * pad none, add_bos and add_space_prefix true. Sets n_tokens/tokens/scores/types. */
void flt_vocab_desc_init(flt_vocab_desc *d, size_t n_tokens, const flt_str *tokens,
                         const float *scores, const int32_t *types);
flintrt_status flt_vocab_build(const flt_vocab_desc *d, flt_vocab **out, flt_err *e);

void flt_vocab_free(flt_vocab *v); /* NULL is a no-op */

int32_t flt_vocab_n(const flt_vocab *v);
int32_t flt_vocab_bos(const flt_vocab *v); /* -1 if none */
int32_t flt_vocab_eos(const flt_vocab *v); /* -1 if none */
int32_t flt_vocab_unk(const flt_vocab *v); /* -1 if none */
bool flt_vocab_add_bos_default(const flt_vocab *v);
bool flt_vocab_add_eos_default(const flt_vocab *v);
/* Control/EOG-type tokens, for generation: true for control, unknown-type tokens and
 * every end-of-generation token. False for ids out of range. */
bool flt_vocab_is_control(const flt_vocab *v, int32_t id);
/* End of generation: eos, and tokens whose text marks an end of turn
 * ("<|endoftext|>", "<|end|>", "<|im_end|>", ...), as llama.cpp lists them. */
bool flt_vocab_is_eog(const flt_vocab *v, int32_t id);
/* Raw text of a token as stored in the vocab (borrowed, NUL-terminated, may hold
 * NUL bytes: use len). {NULL,0} for ids out of range. */
flt_str flt_vocab_token_text(const flt_vocab *v, int32_t id);
/* Token id whose text is exactly s[0..n), or -1. */
int32_t flt_vocab_find(const flt_vocab *v, const char *s, size_t n);

/* Two-call pattern like the public API: writes up to cap ids, *n_out = count
 * (needed count + FLINTRT_ERR_BUFFER_TOO_SMALL if cap too small; out may be NULL
 * when cap is 0). flags: FLINTRT_TOKENIZE_*. ADD_BOS prepends bos if the vocab has
 * one (no EOS is ever appended). Without PARSE_SPECIAL, user-defined tokens written
 * in the text are still matched (as llama.cpp does); control tokens are not. */
flintrt_status flt_vocab_tokenize(const flt_vocab *v, const char *text, size_t len, uint32_t flags,
                                  int32_t *out, size_t cap, size_t *n_out, flt_err *e);
/* Piece bytes for a token (▁ → ' ', <0xXX> → the byte; control and unknown-type
 * tokens → "" unless FLINTRT_DETOKENIZE_SPECIAL; user-defined tokens → their text;
 * unused/undefined → ""). Two-call pattern; no NUL is written. */
flintrt_status flt_vocab_token_to_piece(const flt_vocab *v, int32_t id, uint32_t flags, char *buf,
                                        size_t cap, size_t *n_out, flt_err *e);
/* Concatenated pieces, two-call pattern. The space the tokenizer put in front of
 * the text is kept. Any id out of range → FLINTRT_ERR_INVALID_ARGUMENT. */
flintrt_status flt_vocab_detokenize(const flt_vocab *v, const int32_t *ids, size_t n, uint32_t flags,
                                    char *buf, size_t cap, size_t *n_out, flt_err *e);

#endif
