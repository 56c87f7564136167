/* GGUF (versions 2 and 3): a reader that maps the file read-only and validates
 * every field before anything uses it, and a writer for tools and tests.
 *
 * Dimension order: GGUF stores ne[0] as the innermost (contiguous) dimension;
 * flt_gguf_tensor keeps that order. Strings from the file are not NUL-terminated:
 * they are (pointer, length) views into the mapping. */
#ifndef FLT_FORMATS_GGUF_H
#define FLT_FORMATS_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define FLT_GGUF_MAX_DIMS 4

typedef enum flt_gguf_vtype {
    FLT_GGUF_UINT8 = 0, FLT_GGUF_INT8 = 1, FLT_GGUF_UINT16 = 2, FLT_GGUF_INT16 = 3,
    FLT_GGUF_UINT32 = 4, FLT_GGUF_INT32 = 5, FLT_GGUF_FLOAT32 = 6, FLT_GGUF_BOOL = 7,
    FLT_GGUF_STRING = 8, FLT_GGUF_ARRAY = 9, FLT_GGUF_UINT64 = 10, FLT_GGUF_INT64 = 11,
    FLT_GGUF_FLOAT64 = 12,
    FLT_GGUF_VTYPE_COUNT
} flt_gguf_vtype;

/* Bytes of one value of a fixed-size type; 0 for STRING, ARRAY and unknown types. */
size_t flt_gguf_vtype_size(flt_gguf_vtype t);

typedef struct flt_str {
    const char *p;
    size_t n;
} flt_str;

/* Facts about a ggml tensor type id as found in GGUF files: enough to size and
 * name every type in use, including ones Flint cannot compute with. */
typedef struct flt_ggml_type_info {
    const char *name;     /* "Q4_0"; NULL for ids that are unassigned/removed */
    uint32_t block_size;  /* elements per block */
    uint32_t type_size;   /* bytes per block */
} flt_ggml_type_info;
/* NULL if id is out of range or unassigned. */
const flt_ggml_type_info *flt_ggml_type(uint32_t id);

typedef struct flt_gguf_tensor {
    flt_str name;
    uint32_t type;                    /* ggml type id (validated: flt_ggml_type != NULL) */
    uint32_t n_dims;                  /* 1..FLT_GGUF_MAX_DIMS */
    int64_t ne[FLT_GGUF_MAX_DIMS];    /* unused dims are 1 */
    uint64_t offset;                  /* relative to the data section */
    uint64_t size;                    /* bytes */
    const void *data;                 /* into the mapping, aligned, in bounds */
} flt_gguf_tensor;

typedef struct flt_gguf flt_gguf;

/* Map and validate a file. Everything a reader needs is checked here: after a
 * successful open, all getters are safe. Errors name the problem and the byte
 * offset ("tensor 3 ('blk.0.attn_q.weight') data at offset 1234 exceeds file size 1000"). */
flintrt_status flt_gguf_open(const char *path, flt_gguf **out, flt_err *e);
/* Same over a caller-owned buffer (not copied; must outlive the handle). Tensor
 * data is aligned to general.alignment relative to the buffer's start, so pass a
 * buffer at least that aligned (malloc'd: 16) when the data will be computed on. */
flintrt_status flt_gguf_open_memory(const void *data, size_t size, flt_gguf **out, flt_err *e);
void flt_gguf_close(flt_gguf *g);

uint32_t flt_gguf_version(const flt_gguf *g);
uint64_t flt_gguf_alignment(const flt_gguf *g);
uint64_t flt_gguf_data_offset(const flt_gguf *g); /* file offset of the data section */
uint64_t flt_gguf_file_size(const flt_gguf *g);

/* ---- metadata ---- */
uint64_t flt_gguf_n_kv(const flt_gguf *g);
flt_str flt_gguf_key(const flt_gguf *g, uint64_t i);
flt_gguf_vtype flt_gguf_kv_type(const flt_gguf *g, uint64_t i);
/* For arrays: element type and count (nested arrays: elem type FLT_GGUF_ARRAY). */
flt_gguf_vtype flt_gguf_arr_type(const flt_gguf *g, uint64_t i);
uint64_t flt_gguf_arr_n(const flt_gguf *g, uint64_t i);
int64_t flt_gguf_find_key(const flt_gguf *g, const char *key); /* -1 if absent */

/* Typed getters with ranges, for metadata consumers. Integer getters accept any
 * integer value type whose value fits the range; float getters accept FLOAT32/64.
 * Missing key: FLINTRT_ERR_NOT_FOUND (message names the key); wrong type or out of
 * range: FLINTRT_ERR_FORMAT naming key, type/value and range. The _opt variants
 * return FLINTRT_OK with *out = dflt when the key is absent. */
flintrt_status flt_gguf_get_u32(const flt_gguf *g, const char *key, uint32_t min, uint32_t max,
                                uint32_t *out, flt_err *e);
flintrt_status flt_gguf_get_u32_opt(const flt_gguf *g, const char *key, uint32_t dflt, uint32_t min,
                                    uint32_t max, uint32_t *out, flt_err *e);
flintrt_status flt_gguf_get_i64(const flt_gguf *g, const char *key, int64_t min, int64_t max,
                                int64_t *out, flt_err *e);
flintrt_status flt_gguf_get_f32(const flt_gguf *g, const char *key, float min, float max,
                                float *out, flt_err *e);
flintrt_status flt_gguf_get_f32_opt(const flt_gguf *g, const char *key, float dflt, float min,
                                    float max, float *out, flt_err *e);
flintrt_status flt_gguf_get_bool_opt(const flt_gguf *g, const char *key, bool dflt, bool *out,
                                     flt_err *e);
flintrt_status flt_gguf_get_str(const flt_gguf *g, const char *key, flt_str *out, flt_err *e);

/* Arrays: the element type must equal `elem` (else FLINTRT_ERR_FORMAT), and the
 * count must lie in [min_n, max_n]. For fixed-size element types *data points at
 * the packed little-endian elements in the mapping (may be unaligned: read with
 * memcpy). */
flintrt_status flt_gguf_get_arr(const flt_gguf *g, const char *key, flt_gguf_vtype elem,
                                uint64_t min_n, uint64_t max_n, uint64_t *n, const void **data,
                                flt_err *e);
/* String arrays: count, then element access in O(1). */
flintrt_status flt_gguf_get_arr_str(const flt_gguf *g, const char *key, uint64_t min_n,
                                    uint64_t max_n, uint64_t *n, flt_err *e);
flt_str flt_gguf_arr_str_at(const flt_gguf *g, const char *key, uint64_t idx); /* {NULL,0} if bad */

/* Raw scalar value of kv i for printing (inspect): returns a short rendering,
 * "[array of 512 STRING]" for arrays (followed by ": " and the first few elements,
 * "[array of 512 STRING: \"a\", \"b\", ...]"). Strings are quoted, with control
 * bytes and invalid UTF-8 escaped. Writes at most cap bytes incl. NUL (truncated
 * output ends in "..."). */
void flt_gguf_kv_render(const flt_gguf *g, uint64_t i, char *buf, size_t cap);

/* Additions (not in the first draft of this interface): */
/* "UINT32", "STRING", ...; "?" for values out of range. */
const char *flt_gguf_vtype_name(flt_gguf_vtype t);
/* Raw bytes of kv i's value as stored in the file, after the type field (arrays:
 * element type, count, elements). False if i is out of range. Used by copy_kv. */
bool flt_gguf_kv_raw(const flt_gguf *g, uint64_t i, const void **data, size_t *n);
/* Limits the reader enforces; a file beyond them is refused. */
#define FLT_GGUF_MAX_ARRAY_DEPTH 8          /* arrays nested in arrays, levels in all */
#define FLT_GGUF_MAX_KEY_LEN 65535          /* bytes in a metadata key */
#define FLT_GGUF_MAX_NAME_LEN 4096          /* bytes in a tensor name */
#define FLT_GGUF_MAX_STRING_LEN (64u << 20) /* bytes in a string value */
#define FLT_GGUF_MAX_KV (1u << 20)          /* metadata entries */
#define FLT_GGUF_MAX_TENSORS (1u << 20)     /* tensors */
#define FLT_GGUF_MAX_ALIGNMENT (1u << 20)   /* general.alignment: power of two, 8..1 MiB */

/* ---- tensors ---- */
uint64_t flt_gguf_n_tensors(const flt_gguf *g);
const flt_gguf_tensor *flt_gguf_tensor_at(const flt_gguf *g, uint64_t i);
const flt_gguf_tensor *flt_gguf_find_tensor(const flt_gguf *g, const char *name); /* NULL if absent */

/* ---- writer ---- */
typedef struct flt_gguf_writer flt_gguf_writer;

flt_gguf_writer *flt_gguf_writer_new(void); /* NULL on OOM */
void flt_gguf_writer_free(flt_gguf_writer *w);
/* Metadata setters (copied). A key set twice replaces the earlier value. */
flintrt_status flt_gguf_set_u32(flt_gguf_writer *w, const char *key, uint32_t v);
flintrt_status flt_gguf_set_i32(flt_gguf_writer *w, const char *key, int32_t v);
flintrt_status flt_gguf_set_u64(flt_gguf_writer *w, const char *key, uint64_t v);
flintrt_status flt_gguf_set_f32(flt_gguf_writer *w, const char *key, float v);
flintrt_status flt_gguf_set_bool(flt_gguf_writer *w, const char *key, bool v);
flintrt_status flt_gguf_set_str(flt_gguf_writer *w, const char *key, const char *s, size_t n);
/* Array of a fixed-size element type: n packed little-endian elements. */
flintrt_status flt_gguf_set_arr(flt_gguf_writer *w, const char *key, flt_gguf_vtype elem,
                                const void *data, uint64_t n);
flintrt_status flt_gguf_set_arr_str(flt_gguf_writer *w, const char *key, const flt_str *strs,
                                    uint64_t n);
/* Copy kv i of an open file (any type, nested arrays included) into the writer. */
flintrt_status flt_gguf_copy_kv(flt_gguf_writer *w, const flt_gguf *src, uint64_t i);
/* Add a tensor; data (size bytes, must match type and shape) is referenced, not
 * copied, and must stay valid until write. ne in GGUF order (ne[0] innermost). */
flintrt_status flt_gguf_add_tensor(flt_gguf_writer *w, const char *name, uint32_t ggml_type,
                                   uint32_t n_dims, const int64_t *ne, const void *data,
                                   uint64_t size);
/* Streaming (a tool that makes tensor data one tensor at a time): add tensors with
 * data NULL (type and shape only), write the header, kvs, tensor infos and the zero
 * padding up to the data section into f, then write each tensor's bytes yourself
 * in the order added, each followed by zeros up to a multiple of *alignment (the
 * offsets in the header assume exactly that). write_file/write_memory refuse a
 * writer holding tensors without data. */
flintrt_status flt_gguf_write_head(flt_gguf_writer *w, FILE *f, uint64_t *alignment, flt_err *e);
/* Write a version-3 file honouring general.alignment (default 32). */
flintrt_status flt_gguf_write_file(flt_gguf_writer *w, const char *path, flt_err *e);
/* Same into a malloc'd buffer (caller frees). */
flintrt_status flt_gguf_write_memory(flt_gguf_writer *w, void **data, size_t *size, flt_err *e);

#endif
