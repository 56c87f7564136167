/* A protobuf wire-format reader for hostile input.
 *
 * Walks one message's fields in order over a bounds-checked flt_reader: every
 * varint is at most 10 bytes, every length-delimited field is checked against
 * the bytes left before it is viewed, wire types are validated (groups and the
 * reserved types 6/7 are refused), field number 0 is refused. The reader knows
 * nothing about schemas: callers switch on the field number, skip what they do
 * not know (flt_pb_next already consumed it), and pass a depth counter down when
 * they descend into a submessage (flt_pb_enter caps it at FLT_PB_MAX_DEPTH).
 *
 * Repeated scalars come either packed (one LEN field holding the values back to
 * back) or unpacked (one field per value); flt_pb_count_* and flt_pb_read_*
 * accept both, so callers count in one pass, allocate, and fill in a second.
 *
 * No allocation, no global state; a cursor is used by one thread at a time. */
#ifndef FLT_FORMATS_PROTOBUF_H
#define FLT_FORMATS_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "formats/reader.h"

#define FLT_PB_MAX_DEPTH 64 /* submessage nesting (ONNX: model > graph > node > attr > graph ...) */

typedef enum flt_pb_wire {
    FLT_PB_VARINT = 0,
    FLT_PB_I64 = 1,
    FLT_PB_LEN = 2,
    FLT_PB_I32 = 5,
} flt_pb_wire;

typedef struct flt_pb_field {
    uint32_t number;
    flt_pb_wire wire;
    uint64_t varint;   /* VARINT; also I64/I32 raw bits */
    flt_bytes bytes;   /* LEN: the payload (inside the reader's range) */
    uint64_t offset;   /* absolute offset of the field's tag (for messages) */
    uint64_t payload_offset; /* absolute offset of the payload (LEN) */
} flt_pb_field;

/* Next field of the message in r. Returns FLINTRT_OK and fills f, or
 * FLINTRT_ERR_NOT_FOUND at the clean end of the message, or FLINTRT_ERR_FORMAT
 * (message names what and the offset) on a truncated/invalid field; r does not
 * advance on failure. `what` names the message for errors ("NodeProto"). */
flintrt_status flt_pb_next(flt_reader *r, flt_pb_field *f, const char *what, flt_err *e);

/* A sub-reader over a LEN field's payload (keeps absolute offsets). */
void flt_pb_sub(const flt_pb_field *f, flt_reader *out);

/* depth + 1, or FLINTRT_ERR_LIMIT naming what and where when it exceeds
 * FLT_PB_MAX_DEPTH. */
flintrt_status flt_pb_enter(int depth, const flt_pb_field *f, const char *what, flt_err *e);

/* Typed views of one field, checking its wire type (type confusion is an error). */
flintrt_status flt_pb_u64(const flt_pb_field *f, const char *what, uint64_t *out, flt_err *e);
flintrt_status flt_pb_i64(const flt_pb_field *f, const char *what, int64_t *out, flt_err *e);
/* int32 fields: the varint must fit int32 (negative ones are sign-extended to 64 bits). */
flintrt_status flt_pb_i32(const flt_pb_field *f, const char *what, int32_t *out, flt_err *e);
flintrt_status flt_pb_f32(const flt_pb_field *f, const char *what, float *out, flt_err *e);
flintrt_status flt_pb_bytes(const flt_pb_field *f, const char *what, flt_bytes *out, flt_err *e);

/* Repeated scalars: how many values one occurrence of the field contributes
 * (1 if unpacked, the packed count if LEN), checking every packed value is
 * whole. elem: FLT_PB_VARINT, FLT_PB_I32 (fixed 4 bytes) or FLT_PB_I64 (fixed 8). */
flintrt_status flt_pb_count(const flt_pb_field *f, flt_pb_wire elem, const char *what, uint64_t *n,
                            flt_err *e);
/* Append the occurrence's values into out[*n..cap) (raw 64-bit: varints as is,
 * fixed32 zero-extended, fixed64 bits), advancing *n. cap must come from
 * flt_pb_count over the same fields. */
flintrt_status flt_pb_read(const flt_pb_field *f, flt_pb_wire elem, const char *what, uint64_t *out,
                           uint64_t cap, uint64_t *n, flt_err *e);

#endif
