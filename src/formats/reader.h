/* A bounds-checked cursor over a read-only byte range (little-endian).
 *
 * Every read checks the bytes left first, fails cleanly (returns false) when they
 * run out, and advances only on success. The reader knows the absolute offset of
 * its first byte (`origin`), so error messages can name file offsets even for a
 * sub-reader over part of a file. Generic: GGUF uses it, the ONNX protobuf reader
 * will too (varints included).
 *
 * Ownership: the reader borrows the bytes; they must outlive it. No allocation,
 * no global state; a reader is used by one thread at a time. */
#ifndef FLT_FORMATS_READER_H
#define FLT_FORMATS_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct flt_reader {
    const uint8_t *base; /* first byte of the range */
    size_t size;         /* bytes in the range */
    size_t pos;          /* cursor, 0..size */
    uint64_t origin;     /* absolute offset of base (0 for a whole file) */
} flt_reader;

/* A view of bytes inside the reader's range (not NUL-terminated). */
typedef struct flt_bytes {
    const uint8_t *p;
    size_t n;
} flt_bytes;

void flt_reader_init(flt_reader *r, const void *data, size_t size, uint64_t origin);

static inline size_t flt_reader_remaining(const flt_reader *r) { return r->size - r->pos; }
/* Absolute offset of the cursor (origin + pos). */
static inline uint64_t flt_reader_offset(const flt_reader *r) { return r->origin + r->pos; }
/* Pointer at the cursor (valid even when 0 bytes remain; do not dereference then). */
static inline const uint8_t *flt_reader_ptr(const flt_reader *r) { return r->base + r->pos; }
static inline bool flt_reader_has(const flt_reader *r, uint64_t n) {
    return n <= (uint64_t)(r->size - r->pos);
}

/* Fixed-size little-endian reads: false (cursor unchanged) if too few bytes. */
bool flt_reader_u8(flt_reader *r, uint8_t *out);
bool flt_reader_u16(flt_reader *r, uint16_t *out);
bool flt_reader_u32(flt_reader *r, uint32_t *out);
bool flt_reader_u64(flt_reader *r, uint64_t *out);
bool flt_reader_i8(flt_reader *r, int8_t *out);
bool flt_reader_i16(flt_reader *r, int16_t *out);
bool flt_reader_i32(flt_reader *r, int32_t *out);
bool flt_reader_i64(flt_reader *r, int64_t *out);
bool flt_reader_f32(flt_reader *r, float *out);
bool flt_reader_f64(flt_reader *r, double *out);

/* A view of the next n bytes (n is 64-bit so file-supplied lengths need no cast). */
bool flt_reader_bytes(flt_reader *r, uint64_t n, flt_bytes *out);
bool flt_reader_skip(flt_reader *r, uint64_t n);
/* Move the cursor to absolute offset off (must lie in [origin, origin + size]). */
bool flt_reader_seek(flt_reader *r, uint64_t off);
/* A sub-reader over the next n bytes (its origin is the absolute offset); the
 * parent advances past them. */
bool flt_reader_sub(flt_reader *r, uint64_t n, flt_reader *out);

/* Protobuf base-128 varint (at most 10 bytes; the 10th may only hold bit 63).
 * False if truncated or overlong; cursor unchanged then. */
bool flt_reader_varint(flt_reader *r, uint64_t *out);

/* Little-endian loads from unaligned memory (no bounds check: the caller has one). */
uint16_t flt_load_le16(const void *p);
uint32_t flt_load_le32(const void *p);
uint64_t flt_load_le64(const void *p);

/* Standard error for a read that ran out of bytes:
 * "unexpected end of data at offset N reading <what> (need K bytes, M left)".
 * Returns FLINTRT_ERR_FORMAT. */
flintrt_status flt_reader_eof(const flt_reader *r, flt_err *e, const char *what, uint64_t need);

#endif
