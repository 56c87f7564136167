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
    FLINTRT_ERR_SIGNATURE = 10,       /* refused by the signature policy: unsigned, tampered,
                                         untrusted key or legacy signature (the message says which) */
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
    /* -- Trust (appended; see docs/SECURITY.md "Provenance") -- */
    int32_t compute_digest;   /* 1: SHA-256 of the model file at load (flintrt_model_digest).
                                 Implied by require_signed (same single read). */
    int32_t require_signed;   /* 1: refuse the model, BEFORE any parser reads it, unless its
                                 minisign signature (signature_path, default PATH.minisig)
                                 verifies with one of trusted_keys. FLINTRT_ERR_SIGNATURE
                                 says "unsigned", "tampered", "untrusted key" or "legacy". */
    const char *const *trusted_keys; /* n_trusted_keys entries, each a minisign public key:
                                 the base64 line ("RWQ...") or the path of a .pub file.
                                 Borrowed for the duration of the load only. */
    size_t n_trusted_keys;
    const char *signature_path; /* NULL: PATH.minisig */
    int32_t allow_legacy;     /* 1: also accept legacy non-prehashed ("Ed") signatures */
    /* -- Speed (appended) -- */
    int32_t no_repack;        /* 1: compute from the file's own weight layout. Default (0):
                                 matrices whose type has a faster layout on this CPU are
                                 repacked once at load into memory the model owns, and
                                 the file's pages for them are released (same resident
                                 size, longer load, faster products; like llama.cpp's
                                 repacking, which --no-repack turns off there too). */
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
/* Bytes of weight data in the file, and the bytes of weights one decoded token
 * reads (every matrix once, one embedding row): divide a memory bandwidth by
 * the latter for the speed limit of generation. 0 if vocab-only. Thread-safe. */
FLINTRT_API uint64_t flintrt_model_weight_bytes(const flintrt_model *model);
FLINTRT_API uint64_t flintrt_model_bytes_per_token(const flintrt_model *model);

/* ---- Trust: digests, signatures, sandbox ------------------------------------- */
/* SHA-256 (digests) and minisign signatures (Ed25519 over BLAKE2b-512) come from
 * libsodium. In a build without it these calls return FLINTRT_ERR_UNSUPPORTED and
 * loading without a policy works as ever. docs/SECURITY.md has the details. */

#define FLINTRT_SHA256_BYTES 32

/* Files the model was loaded from (1 for GGUF). Thread-safe. */
FLINTRT_API size_t flintrt_model_n_files(const flintrt_model *model);

/* SHA-256 of file i of the model, computed at load when compute_digest or
 * require_signed was set. *name (may be NULL) receives the file's name relative to
 * the model's folder, borrowed from the model. FLINTRT_ERR_NOT_FOUND if no digest
 * was computed, INVALID_ARGUMENT if i is out of range. Thread-safe. */
FLINTRT_API flintrt_status flintrt_model_digest(const flintrt_model *model, size_t i, const char **name,
                                                uint8_t sha256[FLINTRT_SHA256_BYTES]);

/* Manifest digest of the model's files (see flintrt_manifest_digest), from the
 * digests computed at load. Same errors as flintrt_model_digest. Thread-safe. */
FLINTRT_API flintrt_status flintrt_model_manifest_digest(const flintrt_model *model,
                                                         uint8_t sha256[FLINTRT_SHA256_BYTES]);

/* The trusted comment of the signature the model was verified with, or NULL if no
 * signature was checked. Borrowed from the model (lives as long as it); the text is
 * the signer's, authenticated but not interpreted: treat as untrusted for display
 * (it may hold any byte except NUL, CR, LF). Thread-safe. */
FLINTRT_API const char *flintrt_model_trusted_comment(const flintrt_model *model);

/* Key id (16 upper-case hex digits, as minisign prints it) of the trusted key that
 * verified the model, or NULL if none. Borrowed from the model. Thread-safe. */
FLINTRT_API const char *flintrt_model_signer_key_id(const flintrt_model *model);

/* SHA-256 of a whole file. Thread-safe. */
FLINTRT_API flintrt_status flintrt_file_sha256(const char *path, uint8_t sha256[FLINTRT_SHA256_BYTES]);

/* One file of a multi-file model: its name relative to the model's folder ('/'
 * separators; no leading '/', no "." or ".." or empty segments, no '\\', control bytes)
 * and its path on disk. */
typedef struct flintrt_manifest_entry {
    const char *name;
    const char *path;
} flintrt_manifest_entry;

/* Manifest digest of n files: SHA-256 of the canonical manifest, which is one line
 * per file, sorted by name (bytewise), "<sha256 hex, lower case>  <name>\n" -- the
 * output of `sha256sum` on the files, sorted with LC_ALL=C. Duplicate or malformed
 * names: INVALID_ARGUMENT. If manifest/cap are given, the manifest text is written
 * there too (two-call pattern on *n_out, which may be NULL when manifest is NULL).
 * Thread-safe. */
FLINTRT_API flintrt_status flintrt_manifest_digest(const flintrt_manifest_entry *entries, size_t n,
                                                   uint8_t sha256[FLINTRT_SHA256_BYTES], char *manifest,
                                                   size_t cap, size_t *n_out);

/* Verify a file's minisign signature with the policy fields of opts
 * (trusted_keys, signature_path, allow_legacy; the others are ignored), without
 * loading it. On success the trusted comment is copied to comment (NUL-terminated,
 * two-call pattern on *n_out, which counts without the NUL; comment may be NULL with
 * cap 0). Failures: FLINTRT_ERR_SIGNATURE (unsigned, tampered, untrusted key,
 * legacy), FORMAT (malformed signature or key file), IO, UNSUPPORTED (no libsodium).
 * Thread-safe. */
FLINTRT_API flintrt_status flintrt_verify_file(const char *path, const flintrt_model_options *opts,
                                               char *comment, size_t cap, size_t *n_out);

enum {
    FLINTRT_SANDBOX_NO_NETWORK = 1, /* socket(), socketpair() fail with EPERM */
    FLINTRT_SANDBOX_NO_EXEC = 2,    /* execve(), execveat() fail with EPERM */
    FLINTRT_SANDBOX_NO_WRITE = 4,   /* opening files for writing or creating, and renaming,
                                       linking, unlinking, truncating, mkdir: EPERM */
    FLINTRT_SANDBOX_ALL = 7,
};

/* Linux: install a seccomp filter on the calling process (every thread) so that the
 * calls named by flags fail with EPERM from now on; it cannot be lifted. Call it once
 * the model is loaded (loading reads files, which stays allowed; writing to already
 * open descriptors such as stdout also stays allowed). Other systems:
 * FLINTRT_ERR_UNSUPPORTED. Not thread-safe with respect to threads being created. */
FLINTRT_API flintrt_status flintrt_sandbox_enter(uint32_t flags);

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
    int32_t kv_type;   /* KV cache element type, a flintrt_kv_type; 0: F16 (half the memory of
                          F32, as llama.cpp's default; logits move by ~1e-3 of their spread) */
} flintrt_session_options;

typedef enum flintrt_kv_type {
    FLINTRT_KV_DEFAULT = 0, /* F16 */
    FLINTRT_KV_F32 = 1,
    FLINTRT_KV_F16 = 2,
} flintrt_kv_type;

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

/* ---- Graph models (ONNX) -----------------------------------------------------
 *
 * A second kind of model: a computation graph (ONNX) with named, typed tensor
 * inputs and outputs, for vision, audio and encoder models. Same split as the
 * language models: the flintrt_graph_model is immutable and shareable between
 * threads (weights stay mapped read-only); a flintrt_graph_session holds one
 * user's inputs, scratch memory and outputs.
 *
 *     flintrt_graph_model *m;
 *     flintrt_graph_model_load("model.onnx", NULL, &m);
 *     flintrt_graph_session *s;
 *     flintrt_graph_session_create(m, NULL, &s);
 *     int64_t dims[4] = {1, 3, 224, 224};
 *     flintrt_graph_session_set_input(s, 0, FLINTRT_DTYPE_FLOAT32, 4, dims, pixels, sizeof pixels);
 *     flintrt_graph_session_run(s);
 *     flintrt_tensor_view out;
 *     out.size = sizeof out;
 *     flintrt_graph_session_output(s, 0, &out);   // out.data: borrowed until the next run
 *     flintrt_graph_session_free(s);
 *     flintrt_graph_model_free(m);
 *
 * flintrt_model_load on an .onnx file fails with FLINTRT_ERR_UNSUPPORTED and a
 * message naming flintrt_graph_model_load. */

/* Element types. Values are ONNX's TensorProto numbers (pinned; only appended). */
typedef enum flintrt_dtype {
    FLINTRT_DTYPE_FLOAT32 = 1,
    FLINTRT_DTYPE_UINT8 = 2,
    FLINTRT_DTYPE_INT8 = 3,
    FLINTRT_DTYPE_UINT16 = 4,
    FLINTRT_DTYPE_INT16 = 5,
    FLINTRT_DTYPE_INT32 = 6,
    FLINTRT_DTYPE_INT64 = 7,
    FLINTRT_DTYPE_BOOL = 9,      /* one byte, 0 or 1 */
    FLINTRT_DTYPE_FLOAT16 = 10,
    FLINTRT_DTYPE_FLOAT64 = 11,
    FLINTRT_DTYPE_UINT32 = 12,
    FLINTRT_DTYPE_UINT64 = 13,
    FLINTRT_DTYPE_BFLOAT16 = 16,
} flintrt_dtype;

#define FLINTRT_MAX_DIMS 8

typedef struct flintrt_graph_model flintrt_graph_model;
typedef struct flintrt_graph_session flintrt_graph_session;

/* A declared input or output. Strings borrow from the model. */
typedef struct flintrt_tensor_info {
    size_t size;                 /* caller sets sizeof(flintrt_tensor_info) */
    const char *name;
    int32_t dtype;               /* a flintrt_dtype, or 0 if the model does not say */
    int32_t ndim;                /* -1: rank unknown */
    int64_t dims[FLINTRT_MAX_DIMS];         /* -1: symbolic or unknown */
    const char *dim_names[FLINTRT_MAX_DIMS];/* the symbolic name ("batch") or NULL */
} flintrt_tensor_info;

/* A computed tensor. data borrows from the session until its next run or free. */
typedef struct flintrt_tensor_view {
    size_t size;                 /* caller sets sizeof(flintrt_tensor_view) */
    int32_t dtype;
    int32_t ndim;                /* 0: a scalar */
    int64_t dims[FLINTRT_MAX_DIMS];
    const void *data;            /* little-endian elements, row-major */
    size_t nbytes;
} flintrt_tensor_view;

/* Load an ONNX model (external data only from inside the model's folder).
 * opts may be NULL (its log callback is used; vocab_only is ignored). On
 * success *out owns the model; release with flintrt_graph_model_free.
 * Thread-safe. */
FLINTRT_API flintrt_status flintrt_graph_model_load(const char *path, const flintrt_model_options *opts,
                                                    flintrt_graph_model **out);
/* No session made from it may still exist. NULL is a no-op. */
FLINTRT_API void flintrt_graph_model_free(flintrt_graph_model *model);

/* Trust for graph models: the policy fields of opts (compute_digest,
 * require_signed, trusted_keys, signature_path, allow_legacy) apply as for
 * flintrt_model_load, before the protobuf parser reads the file. External data
 * files count as model files: digested when compute_digest is set, and for a
 * signed model covered by a signed manifest (PATH.manifest, signature
 * PATH.manifest.minisig; docs/SECURITY.md "ONNX models"). Files: the .onnx
 * file, then its external data files (a signed manifest's files in its order).
 * Same contracts as the flintrt_model_* trust calls. Thread-safe. */
FLINTRT_API size_t flintrt_graph_model_n_files(const flintrt_graph_model *model);
FLINTRT_API flintrt_status flintrt_graph_model_digest(const flintrt_graph_model *model, size_t i, const char **name,
                                                      uint8_t sha256[FLINTRT_SHA256_BYTES]);
FLINTRT_API flintrt_status flintrt_graph_model_manifest_digest(const flintrt_graph_model *model,
                                                               uint8_t sha256[FLINTRT_SHA256_BYTES]);
FLINTRT_API const char *flintrt_graph_model_trusted_comment(const flintrt_graph_model *model);
FLINTRT_API const char *flintrt_graph_model_signer_key_id(const flintrt_graph_model *model);

/* Inputs the caller binds (graph inputs without an initializer) and outputs.
 * Thread-safe. */
FLINTRT_API int32_t flintrt_graph_model_n_inputs(const flintrt_graph_model *model);
FLINTRT_API int32_t flintrt_graph_model_n_outputs(const flintrt_graph_model *model);
/* Index of the input or output called name, or -1. Thread-safe. */
FLINTRT_API int32_t flintrt_graph_model_find_input(const flintrt_graph_model *model, const char *name);
FLINTRT_API int32_t flintrt_graph_model_find_output(const flintrt_graph_model *model, const char *name);
/* Declared type and shape (info->size must be set). Thread-safe. */
FLINTRT_API flintrt_status flintrt_graph_model_input(const flintrt_graph_model *model, int32_t index,
                                                     flintrt_tensor_info *info);
FLINTRT_API flintrt_status flintrt_graph_model_output(const flintrt_graph_model *model, int32_t index,
                                                      flintrt_tensor_info *info);

typedef struct flintrt_graph_session_options {
    size_t size;       /* sizeof(flintrt_graph_session_options); set by _init */
    int32_t n_threads; /* worker threads; 0: one per core. Results never depend on it. */
} flintrt_graph_session_options;

FLINTRT_API void flintrt_graph_session_options_init(flintrt_graph_session_options *opts);

/* Create a session. opts may be NULL. The model must outlive the session.
 * Thread-safe with respect to the model. */
FLINTRT_API flintrt_status flintrt_graph_session_create(const flintrt_graph_model *model,
                                                        const flintrt_graph_session_options *opts,
                                                        flintrt_graph_session **out);
/* NULL is a no-op. */
FLINTRT_API void flintrt_graph_session_free(flintrt_graph_session *session);

/* Bind input `index` to caller memory: ndim dims (0..FLINTRT_MAX_DIMS; each
 * >= 0, matching the declared fixed dims), nbytes exactly the tensor's size,
 * data aligned to its element size. Borrowed, not copied: it must stay valid
 * and unchanged until flintrt_graph_session_run returns. Not thread-safe for
 * one session. */
FLINTRT_API flintrt_status flintrt_graph_session_set_input(flintrt_graph_session *session, int32_t index,
                                                           flintrt_dtype dtype, int32_t ndim, const int64_t *dims,
                                                           const void *data, size_t nbytes);
/* Run the graph on the bound inputs. Every input must be bound. Symbolic
 * dimensions take the bound sizes; data-dependent shapes and control flow are
 * resolved while running. Not thread-safe for one session. */
FLINTRT_API flintrt_status flintrt_graph_session_run(flintrt_graph_session *session);
/* Output `index` of the last successful run (out->size must be set); its data
 * is borrowed until the next run or free. FLINTRT_ERR_NOT_FOUND before a run;
 * FLINTRT_ERR_UNSUPPORTED for a sequence or optional output (models may use
 * them inside; the API binds and returns tensors only). */
FLINTRT_API flintrt_status flintrt_graph_session_output(const flintrt_graph_session *session, int32_t index,
                                                        flintrt_tensor_view *out);

#ifdef __cplusplus
}
#endif

#endif /* FLINTRT_H */
