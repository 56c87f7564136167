/* Model quantization: read a GGUF model, choose a type for every tensor the way
 * llama.cpp's llama-quantize does for the same file-type name ("Q4_K_M": mostly
 * Q4_K, some attention-v and ffn-down tensors Q6_K, output Q6_K, ...), convert
 * each tensor with the dtype's scalar reference quantizer and stream the result
 * into a new GGUF file.
 *
 * The output keeps every metadata key in order, then appends
 * general.quantization_version and general.file_type (moved to the end if the
 * input had them); tensors are written in llama.cpp's order (non-block tensors by
 * name, then blocks by number, names sorted inside a block) with every tensor,
 * the last included, zero-padded to the alignment. So for the deterministic types
 * (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, and the K-quants without an importance matrix)
 * the output file is byte-identical to llama-quantize's.
 *
 * Types: a recipe's tensors are only ever of a type Flint can quantize to. A
 * recipe needing a dtype whose quantizer is not built in fails naming it. */
#ifndef FLT_LLM_QUANTIZE_H
#define FLT_LLM_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "formats/gguf.h"

/* A file type (llama_ftype numbering, stored as general.file_type). */
typedef struct flt_qftype {
    const char *name;      /* "Q4_K_M" */
    uint32_t ftype;        /* general.file_type value */
    uint32_t default_type; /* ggml type id most tensors get */
    const char *about;     /* one line for the usage text */
} flt_qftype;

/* The accepted names, in usage order; NULL past the end. */
const flt_qftype *flt_qftype_at(size_t i);
/* Case-sensitive lookup ("Q4_K_M"); NULL if unknown. */
const flt_qftype *flt_qftype_find(const char *name);

/* One output tensor: which input tensor, and its type in the output. */
typedef struct flt_qplan_entry {
    uint64_t src;      /* index into the input's tensor table */
    uint32_t type;     /* ggml type id in the output */
    bool fallback;     /* the recipe's type did not fit the row length */
} flt_qplan_entry;

/* Choose the output order and types (llama-quantize's llama_tensor_get_type with no
 * importance matrix and no overrides). out must hold flt_gguf_n_tensors(in)
 * entries. Pure: depends only on the input's tensor table and metadata. */
flintrt_status flt_quantize_plan(const flt_gguf *in, const flt_qftype *ft, flt_qplan_entry *out,
                                 flt_err *e);

typedef struct flt_quantize_params {
    const flt_qftype *ftype;
    int n_threads;           /* >= 1; the output never depends on it */
    bool allow_requantize;   /* accept already-quantized input tensors (dequantized first) */
    bool overwrite;          /* replace an existing output file (never the input) */
    /* Optional, called on the calling thread after each tensor: tensors done,
     * tensor count, and the tensor just written with its output type. */
    void (*progress)(void *user, uint64_t done, uint64_t total, const char *name, uint32_t type);
    void *progress_user;
} flt_quantize_params;

/* Quantize in_path into out_path. The output is written to a temporary file next
 * to out_path and renamed over it only when complete. Refuses (INVALID_ARGUMENT)
 * an output that is the input (same path or same file by device and inode), and
 * an existing output unless overwrite. Holds one tensor's output at a time.
 * n_fallback_out (may be NULL): tensors that took a fallback type. */
flintrt_status flt_quantize_file(const char *in_path, const char *out_path, const flt_quantize_params *p,
                                 uint64_t *n_fallback_out, flt_err *e);

#endif
