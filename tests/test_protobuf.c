/* The protobuf wire reader against handcrafted byte strings: varint limits,
 * lengths past the end, invalid wire types, field 0, packed and unpacked
 * repeated scalars, the nesting cap, type confusion. */
#include <string.h>

#include "formats/protobuf.h"
#include "harness.h"

static flintrt_status next_of(const uint8_t *b, size_t n, flt_pb_field *f, flt_reader *r, flt_err *e) {
    flt_reader_init(r, b, n, 100);
    return flt_pb_next(r, f, "Test", e);
}

int main(void) {
    flt_err e;
    flt_pb_field f;
    flt_reader r;

    /* field 1 varint 150 (the protobuf docs' example: 08 96 01) */
    const uint8_t v150[] = {0x08, 0x96, 0x01};
    CHECK(next_of(v150, sizeof v150, &f, &r, &e) == FLINTRT_OK && f.number == 1 && f.wire == FLT_PB_VARINT &&
          f.varint == 150 && f.offset == 100);
    CHECK(flt_pb_next(&r, &f, "Test", &e) == FLINTRT_ERR_NOT_FOUND); /* clean end */

    /* truncated varint: cursor unchanged, error names the offset */
    const uint8_t trunc[] = {0x08, 0x96};
    CHECK(next_of(trunc, sizeof trunc, &f, &r, &e) == FLINTRT_ERR_FORMAT && r.pos == 0 && strstr(e.msg, "offset 100"));

    /* an 11-byte varint and a 10-byte one with bits past 63 are refused */
    const uint8_t long11[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(next_of(long11, sizeof long11, &f, &r, &e) == FLINTRT_ERR_FORMAT);
    const uint8_t over63[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    CHECK(next_of(over63, sizeof over63, &f, &r, &e) == FLINTRT_ERR_FORMAT);
    const uint8_t max64[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(next_of(max64, sizeof max64, &f, &r, &e) == FLINTRT_OK && f.varint == UINT64_MAX);

    /* negative int32 (sign-extended to 10 bytes) reads back; a too-large one does not fit */
    int32_t i32;
    const uint8_t neg1[] = {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(next_of(neg1, sizeof neg1, &f, &r, &e) == FLINTRT_OK && flt_pb_i32(&f, "t", &i32, &e) == FLINTRT_OK && i32 == -1);
    const uint8_t big[] = {0x10, 0x80, 0x80, 0x80, 0x80, 0x10};
    CHECK(next_of(big, sizeof big, &f, &r, &e) == FLINTRT_OK && flt_pb_i32(&f, "t", &i32, &e) == FLINTRT_ERR_FORMAT);

    /* length-delimited: payload view; a length past the end is refused before any view */
    const uint8_t len3[] = {0x12, 0x03, 'a', 'b', 'c', 0x08, 0x01};
    CHECK(next_of(len3, sizeof len3, &f, &r, &e) == FLINTRT_OK && f.wire == FLT_PB_LEN && f.bytes.n == 3 &&
          !memcmp(f.bytes.p, "abc", 3) && f.payload_offset == 102);
    CHECK(flt_pb_next(&r, &f, "Test", &e) == FLINTRT_OK && f.number == 1 && f.varint == 1);
    const uint8_t past[] = {0x12, 0x7f, 'a'};
    CHECK(next_of(past, sizeof past, &f, &r, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "only 1 bytes are left"));
    const uint8_t huge[] = {0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    CHECK(next_of(huge, sizeof huge, &f, &r, &e) == FLINTRT_ERR_FORMAT);

    /* fixed32 / fixed64, and their truncations */
    const uint8_t fx32[] = {0x15, 0x00, 0x00, 0x80, 0x3f};
    float fl;
    CHECK(next_of(fx32, sizeof fx32, &f, &r, &e) == FLINTRT_OK && flt_pb_f32(&f, "t", &fl, &e) == FLINTRT_OK && fl == 1.0f);
    CHECK(next_of(fx32, 4, &f, &r, &e) == FLINTRT_ERR_FORMAT);
    const uint8_t fx64[] = {0x19, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(next_of(fx64, sizeof fx64, &f, &r, &e) == FLINTRT_OK && f.varint == 0x0807060504030201ull);
    CHECK(next_of(fx64, 8, &f, &r, &e) == FLINTRT_ERR_FORMAT);

    /* groups (3, 4), reserved wire types (6, 7) and field 0 are refused */
    const uint8_t g3[] = {0x0b}, g4[] = {0x0c}, w6[] = {0x0e, 0x00}, w7[] = {0x0f, 0x00}, f0[] = {0x00, 0x01};
    CHECK(next_of(g3, 1, &f, &r, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "groups"));
    CHECK(next_of(g4, 1, &f, &r, &e) == FLINTRT_ERR_FORMAT);
    CHECK(next_of(w6, 2, &f, &r, &e) == FLINTRT_ERR_FORMAT);
    CHECK(next_of(w7, 2, &f, &r, &e) == FLINTRT_ERR_FORMAT);
    CHECK(next_of(f0, 2, &f, &r, &e) == FLINTRT_ERR_FORMAT);

    /* type confusion: a varint read as bytes and a LEN read as a varint are errors */
    flt_bytes bs;
    uint64_t u;
    CHECK(next_of(v150, sizeof v150, &f, &r, &e) == FLINTRT_OK && flt_pb_bytes(&f, "t", &bs, &e) == FLINTRT_ERR_FORMAT);
    CHECK(next_of(len3, sizeof len3, &f, &r, &e) == FLINTRT_OK && flt_pb_u64(&f, "t", &u, &e) == FLINTRT_ERR_FORMAT);

    /* packed varints {3, 270, 86942} (docs example 22 06 03 8e 02 9e a7 05) and unpacked */
    const uint8_t packed[] = {0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05, 0x20, 0x07};
    uint64_t n = 0, total = 0, vals[8];
    CHECK(next_of(packed, sizeof packed, &f, &r, &e) == FLINTRT_OK);
    CHECK(flt_pb_count(&f, FLT_PB_VARINT, "t", &n, &e) == FLINTRT_OK && n == 3);
    total += n;
    uint64_t got = 0;
    CHECK(flt_pb_read(&f, FLT_PB_VARINT, "t", vals, 8, &got, &e) == FLINTRT_OK);
    CHECK(flt_pb_next(&r, &f, "Test", &e) == FLINTRT_OK && flt_pb_count(&f, FLT_PB_VARINT, "t", &n, &e) == FLINTRT_OK && n == 1);
    total += n;
    CHECK(flt_pb_read(&f, FLT_PB_VARINT, "t", vals, 8, &got, &e) == FLINTRT_OK);
    CHECK(total == 4 && got == 4 && vals[0] == 3 && vals[1] == 270 && vals[2] == 86942 && vals[3] == 7);
    /* the reader never writes past the capacity the count gave */
    got = 0;
    CHECK(next_of(packed, sizeof packed, &f, &r, &e) == FLINTRT_OK &&
          flt_pb_read(&f, FLT_PB_VARINT, "t", vals, 2, &got, &e) != FLINTRT_OK && got == 2);
    /* a packed varint array ending inside a varint; fixed32 array not a multiple of 4 */
    const uint8_t badpack[] = {0x22, 0x02, 0x03, 0x8e};
    CHECK(next_of(badpack, sizeof badpack, &f, &r, &e) == FLINTRT_OK &&
          flt_pb_count(&f, FLT_PB_VARINT, "t", &n, &e) == FLINTRT_ERR_FORMAT);
    const uint8_t badfx[] = {0x22, 0x05, 0, 0, 0x80, 0x3f, 0};
    CHECK(next_of(badfx, sizeof badfx, &f, &r, &e) == FLINTRT_OK &&
          flt_pb_count(&f, FLT_PB_I32, "t", &n, &e) == FLINTRT_ERR_FORMAT);
    /* packed fixed32 floats */
    const uint8_t pf[] = {0x22, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40};
    got = 0;
    CHECK(next_of(pf, sizeof pf, &f, &r, &e) == FLINTRT_OK && flt_pb_count(&f, FLT_PB_I32, "t", &n, &e) == FLINTRT_OK &&
          n == 2 && flt_pb_read(&f, FLT_PB_I32, "t", vals, 8, &got, &e) == FLINTRT_OK && vals[0] == 0x3f800000u &&
          vals[1] == 0x40000000u);

    /* the nesting cap */
    CHECK(flt_pb_enter(FLT_PB_MAX_DEPTH - 1, &f, "Graph", &e) == FLINTRT_OK);
    CHECK(flt_pb_enter(FLT_PB_MAX_DEPTH, &f, "Graph", &e) == FLINTRT_ERR_LIMIT && strstr(e.msg, "nested"));

    /* sub-readers keep absolute offsets */
    flt_reader sub;
    CHECK(next_of(len3, sizeof len3, &f, &r, &e) == FLINTRT_OK);
    flt_pb_sub(&f, &sub);
    CHECK(sub.origin == 102 && flt_reader_remaining(&sub) == 3);
    return flt_test_finish();
}
