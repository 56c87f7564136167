/*
 * flintrt.h — the Flint inference runtime's public C API.
 *
 * A short tour (the whole program is examples/generate.c):
 *
 *     flintrt_model *model;
 *     if (flintrt_model_load("model.gguf", NULL, &model) != FLINTRT_OK) {
 *         fprintf(stderr, "%s\n", flintrt_last_error());
 *         return 1;
 *     }
 *     flintrt_session_options so;
 *     flintrt_session_options_init(&so);
 *     so.n_ctx = 512; so.n_threads = 2; so.seed = 42;
 *     flintrt_session *s;
 *     flintrt_session_create(model, &so, &s);
 *
 *     flintrt_sampler_params sp;
 *     flintrt_sampler_params_init(&sp);      // temperature 0.8, top-k 40, ...
 *     flintrt_generate_params gp;
 *     flintrt_generate_params_init(&gp);
 *     gp.max_tokens = 64; gp.sampling = &sp; gp.on_token = print_piece;
 *     flintrt_generate(s, "Once upon a time", &gp, NULL);
 *
 *     flintrt_session_free(s);
 *     flintrt_model_free(model);
 *
 * Concepts
 * - A model (flintrt_model) is immutable once loaded: weights stay memory-mapped
 *   read-only, and every function taking `const flintrt_model *` may be called from
 *   many threads at once. It must outlive every session made from it.
 * - A session (flintrt_session) is per use: KV cache, random state, scratch memory.
 *   A session is used by one thread at a time (no internal locking); different
 *   sessions of one model may run concurrently.
 * - Every fallible call returns a flintrt_status. Codes are pinned: new codes are
 *   only appended. flintrt_last_error() gives the detail of this thread's last
 *   failure (like errno: per thread, never shared).
 * - Options structs begin with their own size: call the matching _init() first, so
 *   a program built against an older header keeps working with a newer library.
 * - The library never prints and never exits; pass a log callback to see messages.
 * - Ownership: the caller owns what it passes in; objects returned through `**out`
 *   are owned by the caller and released with the matching _free(). Every _free()
 *   accepts NULL. Pointers returned by getters borrow from their object.
 */
#ifndef FLINTRT_H
#define FLINTRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FLINTRT_BUILDING) && defined(__GNUC__)
#define FLINTRT_API __attribute__((visibility("default")))
#else
#define FLINTRT_API
#endif

/* ---- Versions ------------------------------------------------------------ */

#define FLINTRT_VERSION_MAJOR 0
#define FLINTRT_VERSION_MINOR 1
#define FLINTRT_VERSION_PATCH 0
#define FLINTRT_VERSION_NUMBER \
    (FLINTRT_VERSION_MAJOR * 10000 + FLINTRT_VERSION_MINOR * 100 + FLINTRT_VERSION_PATCH)
#define FLINTRT_VERSION_STRING "0.1.0"

/* Run-time version of the linked library: compare with FLINTRT_VERSION_NUMBER
 * to detect a header/library mismatch. Thread-safe. */
FLINTRT_API int flintrt_version_number(void);
FLINTRT_API const char *flintrt_version_string(void);

/* ---- Status -------------------------------------------------------------- */

/* Pinned values: never renumbered, only appended. */
typedef enum flintrt_status {
    FLINTRT_OK = 0,
    FLINTRT_ERR_INVALID_ARGUMENT = 1, /* a caller-supplied value is out of range */
    FLINTRT_ERR_IO = 2,               /* open/read/mmap/write failed */
    FLINTRT_ERR_FORMAT = 3,           /* the file is malformed */
    FLINTRT_ERR_UNSUPPORTED = 4,      /* well-formed but not supported (arch, type) */
    FLINTRT_ERR_OUT_OF_MEMORY = 5,
    FLINTRT_ERR_LIMIT = 6,            /* a limit was reached (context full, caps) */
    FLINTRT_ERR_BUFFER_TOO_SMALL = 7, /* two-call pattern: *n_out says what is needed */
    FLINTRT_ERR_NOT_FOUND = 8,        /* no such key/tensor/token */
    FLINTRT_ERR_INTERNAL = 9,         /* a bug in Flint: please report */
} flintrt_status;

/* Static string naming the status ("invalid argument"). Thread-safe. */
FLINTRT_API const char *flintrt_status_string(flintrt_status status);

/* Detail of the last failure on the calling thread (what and where), or "" if
 * none. Valid until the next failing call on the same thread. */
FLINTRT_API const char *flintrt_last_error(void);

/* ---- Logging ------------------------------------------------------------- */

typedef enum flintrt_log_level {
    FLINTRT_LOG_DEBUG = 0,
    FLINTRT_LOG_INFO = 1,
    FLINTRT_LOG_WARN = 2,
    FLINTRT_LOG_ERROR = 3,
} flintrt_log_level;

/* Called from whatever thread does the work; msg is valid only during the call. */
typedef void (*flintrt_log_fn)(flintrt_log_level level, const char *msg, void *user);

/* ---- Model ----------------------------------------------------------------- */

typedef int32_t flintrt_token;
typedef struct flintrt_model flintrt_model;

typedef struct flintrt_model_options {
    size_t size;           /* sizeof(flintrt_model_options); set by _init */
    flintrt_log_fn log;    /* NULL: silent */
    void *log_user;
    int32_t vocab_only;    /* 1: load only the tokenizer (vocab-only GGUF files) */
} flintrt_model_options;

/* Fill defaults. Thread-safe. */
FLINTRT_API void flintrt_model_options_init(flintrt_model_options *opts);

/* Load a model file (GGUF). opts may be NULL. On success *out owns the model;
 * release with flintrt_model_free. Thread-safe. */
FLINTRT_API flintrt_status flintrt_model_load(const char *path, const flintrt_model_options *opts,
                                              flintrt_model **out);

/* Release a model. No session made from it may still exist. NULL is a no-op. */
FLINTRT_API void flintrt_model_free(flintrt_model *model);

/* Model facts. Thread-safe; strings borrow from the model. */
FLINTRT_API const char *flintrt_model_arch(const flintrt_model *model);   /* "llama" */
FLINTRT_API int32_t flintrt_model_n_vocab(const flintrt_model *model);
FLINTRT_API int32_t flintrt_model_n_ctx_train(const flintrt_model *model); /* 0 if vocab-only */
FLINTRT_API flintrt_token flintrt_model_bos(const flintrt_model *model);  /* -1 if none */
FLINTRT_API flintrt_token flintrt_model_eos(const flintrt_model *model);  /* -1 if none */
FLINTRT_API uint64_t flintrt_model_n_params(const flintrt_model *model);

/* ---- Tokenizer (model-level, thread-safe) ------------------------------------ */

enum {
    FLINTRT_TOKENIZE_ADD_BOS = 1,       /* prepend BOS if the vocab has one */
    FLINTRT_TOKENIZE_PARSE_SPECIAL = 2, /* recognise control tokens written in the text */
};

/* Tokenize len bytes of text (need not be NUL-terminated; len 0 is fine).
 * Writes up to cap ids into out and the count into *n_out. If cap is too small,
 * returns FLINTRT_ERR_BUFFER_TOO_SMALL and *n_out is the count needed (out may
 * be NULL with cap 0 to ask). Thread-safe. */
FLINTRT_API flintrt_status flintrt_tokenize(const flintrt_model *model, const char *text, size_t len,
                                            uint32_t flags, flintrt_token *out, size_t cap,
                                            size_t *n_out);

enum {
    FLINTRT_DETOKENIZE_SPECIAL = 1, /* render control tokens (BOS/EOS) as their text */
};

/* Bytes of one token's text (▁ becomes a space, <0xXX> its byte). Same two-call
 * pattern; the result is not NUL-terminated. Thread-safe. */
FLINTRT_API flintrt_status flintrt_token_to_piece(const flintrt_model *model, flintrt_token token,
                                                  uint32_t flags, char *buf, size_t cap,
                                                  size_t *n_out);

/* Text of a token sequence, as the concatenation of pieces (the leading space the
 * tokenizer adds is not removed). Same two-call pattern. Thread-safe. */
FLINTRT_API flintrt_status flintrt_detokenize(const flintrt_model *model, const flintrt_token *tokens,
                                              size_t n_tokens, uint32_t flags, char *buf, size_t cap,
                                              size_t *n_out);

/* ---- Session --------------------------------------------------------------- */

typedef struct flintrt_session flintrt_session;

typedef struct flintrt_session_options {
    size_t size;       /* sizeof(flintrt_session_options); set by _init */
    int32_t n_ctx;     /* KV cache length in tokens; 0: the training context, at most 4096 */
    int32_t n_threads; /* worker threads; 0: one per core. Results never depend on it. */
    uint64_t seed;     /* sampling RNG seed */
    int32_t n_batch;   /* max tokens evaluated per graph run; 0: 512 */
} flintrt_session_options;

FLINTRT_API void flintrt_session_options_init(flintrt_session_options *opts);

/* Create a session (allocates the KV cache and scratch). opts may be NULL.
 * The model must outlive the session. Thread-safe with respect to the model. */
FLINTRT_API flintrt_status flintrt_session_create(const flintrt_model *model,
                                                  const flintrt_session_options *opts,
                                                  flintrt_session **out);

/* Release a session. NULL is a no-op. */
FLINTRT_API void flintrt_session_free(flintrt_session *session);

/* Forget all evaluated tokens (empty KV cache) and reseed the RNG with seed. */
FLINTRT_API void flintrt_session_reset(flintrt_session *session, uint64_t seed);

/* Tokens currently in the KV cache. */
FLINTRT_API int32_t flintrt_session_n_past(const flintrt_session *session);
FLINTRT_API int32_t flintrt_session_n_ctx(const flintrt_session *session);

/* Evaluate n_tokens more tokens of the sequence (appended to the KV cache).
 * If all_logits is non-NULL it receives n_tokens * n_vocab floats (row i: the
 * logits after token i); all_logits_len is its length in floats and must be
 * enough. The last row is always kept in the session (flintrt_session_logits).
 * Fails with FLINTRT_ERR_LIMIT if the context would overflow (nothing evaluated). */
FLINTRT_API flintrt_status flintrt_session_eval(flintrt_session *session, const flintrt_token *tokens,
                                                size_t n_tokens, float *all_logits,
                                                size_t all_logits_len);

/* n_vocab logits after the last evaluated token, or NULL before any eval.
 * Borrowed: valid until the next eval, reset or free of the session. */
FLINTRT_API const float *flintrt_session_logits(const flintrt_session *session);

/* ---- Sampling -------------------------------------------------------------- */

/* Accepted ranges (else FLINTRT_ERR_INVALID_ARGUMENT naming the parameter): all
 * values finite; top_p > 0; min_p <= 1; repeat_penalty > 0; repeat_last_n >= 0.
 * The chain is llama.cpp's: repeat penalty, top-k, top-p, min-p, temperature,
 * draw. Ties rank the lower id first. */
typedef struct flintrt_sampler_params {
    size_t size;          /* sizeof(flintrt_sampler_params); set by _init */
    float temperature;    /* <= 0: greedy (argmax; ties to the lowest id) */
    int32_t top_k;        /* <= 0: off */
    float top_p;          /* >= 1: off */
    float min_p;          /* <= 0: off */
    float repeat_penalty; /* 1: off; logit > 0 is divided by it, else multiplied */
    int32_t repeat_last_n;/* how many recent tokens the penalty looks at */
} flintrt_sampler_params;

/* Defaults as llama.cpp: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05,
 * repeat penalty 1.0 (off), last 64 tokens. */
FLINTRT_API void flintrt_sampler_params_init(flintrt_sampler_params *params);

/* Pick the next token from the session's current logits using its RNG (seeded
 * by the options or reset) and its token history (for the repeat penalty).
 * Does not evaluate the token. params may be NULL (defaults). */
FLINTRT_API flintrt_status flintrt_session_sample(flintrt_session *session,
                                                  const flintrt_sampler_params *params,
                                                  flintrt_token *out);

/* ---- Generation ------------------------------------------------------------ */

/* Called once per generated token with its text. Return 0 to go on, anything
 * else to stop (the generation then ends with stop reason CANCELLED). */
typedef int (*flintrt_token_fn)(flintrt_token token, const char *piece, size_t piece_len, void *user);

typedef struct flintrt_generate_params {
    size_t size;                           /* set by _init */
    int32_t max_tokens;                    /* tokens to generate; default 128 */
    const flintrt_sampler_params *sampling;/* NULL: defaults */
    int32_t add_bos;                       /* default 1 */
    int32_t stop_at_eos;                   /* default 1 */
    flintrt_token_fn on_token;             /* may be NULL */
    void *user;
} flintrt_generate_params;

FLINTRT_API void flintrt_generate_params_init(flintrt_generate_params *params);

typedef enum flintrt_stop_reason {
    FLINTRT_STOP_LENGTH = 0,    /* max_tokens reached */
    FLINTRT_STOP_EOS = 1,       /* end-of-sequence token sampled */
    FLINTRT_STOP_CANCELLED = 2, /* the callback asked to stop */
    FLINTRT_STOP_CONTEXT = 3,   /* the context is full */
} flintrt_stop_reason;

typedef struct flintrt_generate_stats {
    size_t size;                 /* caller sets sizeof(flintrt_generate_stats) */
    int32_t n_prompt_tokens;
    int32_t n_generated;
    double prompt_seconds;
    double generate_seconds;
    flintrt_stop_reason stop_reason;
} flintrt_generate_stats;

/* Tokenize prompt, evaluate it after whatever the session already holds, then
 * sample and evaluate up to max_tokens tokens, streaming each through on_token.
 * stats may be NULL. Not thread-safe for one session. */
FLINTRT_API flintrt_status flintrt_generate(flintrt_session *session, const char *prompt,
                                            const flintrt_generate_params *params,
                                            flintrt_generate_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* FLINTRT_H */
