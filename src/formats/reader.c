#include "formats/reader.h"

#include <inttypes.h>
#include <string.h>

void flt_reader_init(flt_reader *r, const void *data, size_t size, uint64_t origin) {
    r->base = (const uint8_t *)data;
    r->size = data ? size : 0;
    r->pos = 0;
    r->origin = origin;
}

uint16_t flt_load_le16(const void *p) {
    const uint8_t *b = (const uint8_t *)p;
    return (uint16_t)(b[0] | (uint16_t)b[1] << 8);
}

uint32_t flt_load_le32(const void *p) {
    const uint8_t *b = (const uint8_t *)p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

uint64_t flt_load_le64(const void *p) {
    const uint8_t *b = (const uint8_t *)p;
    return (uint64_t)flt_load_le32(b) | (uint64_t)flt_load_le32(b + 4) << 32;
}

bool flt_reader_u8(flt_reader *r, uint8_t *out) {
    if (!flt_reader_has(r, 1)) return false;
    *out = r->base[r->pos];
    r->pos += 1;
    return true;
}

bool flt_reader_u16(flt_reader *r, uint16_t *out) {
    if (!flt_reader_has(r, 2)) return false;
    *out = flt_load_le16(r->base + r->pos);
    r->pos += 2;
    return true;
}

bool flt_reader_u32(flt_reader *r, uint32_t *out) {
    if (!flt_reader_has(r, 4)) return false;
    *out = flt_load_le32(r->base + r->pos);
    r->pos += 4;
    return true;
}

bool flt_reader_u64(flt_reader *r, uint64_t *out) {
    if (!flt_reader_has(r, 8)) return false;
    *out = flt_load_le64(r->base + r->pos);
    r->pos += 8;
    return true;
}

/* Signed reads reinterpret the unsigned bits (two's complement, via memcpy). */
bool flt_reader_i8(flt_reader *r, int8_t *out) {
    uint8_t u;
    if (!flt_reader_u8(r, &u)) return false;
    memcpy(out, &u, 1);
    return true;
}

bool flt_reader_i16(flt_reader *r, int16_t *out) {
    uint16_t u;
    if (!flt_reader_u16(r, &u)) return false;
    memcpy(out, &u, 2);
    return true;
}

bool flt_reader_i32(flt_reader *r, int32_t *out) {
    uint32_t u;
    if (!flt_reader_u32(r, &u)) return false;
    memcpy(out, &u, 4);
    return true;
}

bool flt_reader_i64(flt_reader *r, int64_t *out) {
    uint64_t u;
    if (!flt_reader_u64(r, &u)) return false;
    memcpy(out, &u, 8);
    return true;
}

bool flt_reader_f32(flt_reader *r, float *out) {
    uint32_t u;
    if (!flt_reader_u32(r, &u)) return false;
    memcpy(out, &u, 4);
    return true;
}

bool flt_reader_f64(flt_reader *r, double *out) {
    uint64_t u;
    if (!flt_reader_u64(r, &u)) return false;
    memcpy(out, &u, 8);
    return true;
}

bool flt_reader_bytes(flt_reader *r, uint64_t n, flt_bytes *out) {
    if (!flt_reader_has(r, n)) return false;
    out->p = r->base + r->pos;
    out->n = (size_t)n;
    r->pos += (size_t)n;
    return true;
}

bool flt_reader_skip(flt_reader *r, uint64_t n) {
    if (!flt_reader_has(r, n)) return false;
    r->pos += (size_t)n;
    return true;
}

bool flt_reader_seek(flt_reader *r, uint64_t off) {
    if (off < r->origin || off - r->origin > (uint64_t)r->size) return false;
    r->pos = (size_t)(off - r->origin);
    return true;
}

bool flt_reader_sub(flt_reader *r, uint64_t n, flt_reader *out) {
    if (!flt_reader_has(r, n)) return false;
    flt_reader_init(out, r->base + r->pos, (size_t)n, flt_reader_offset(r));
    r->pos += (size_t)n;
    return true;
}

bool flt_reader_varint(flt_reader *r, uint64_t *out) {
    uint64_t v = 0;
    size_t i = 0;
    for (;;) {
        if (i >= 10 || !flt_reader_has(r, i + 1)) return false;
        uint8_t b = r->base[r->pos + i];
        if (i == 9 && (b & 0x7e)) return false; /* bits beyond 63 */
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        i++;
        if (!(b & 0x80)) break;
    }
    r->pos += i;
    *out = v;
    return true;
}

flintrt_status flt_reader_eof(const flt_reader *r, flt_err *e, const char *what, uint64_t need) {
    return flt_fail(e, FLINTRT_ERR_FORMAT,
                    "unexpected end of data at offset %" PRIu64 " reading %s (need %" PRIu64
                    " bytes, %zu left)",
                    flt_reader_offset(r), what, need, flt_reader_remaining(r));
}
