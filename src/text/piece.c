/* Token → text: pieces and detokenization (two-call pattern). */
#include "text/vocab_impl.h"

#include <string.h>

#include "core/checked.h"

/* Writes the piece of token id into buf when it fits (buf may be NULL when cap is
 * 0) and returns its length either way. ▁ is three bytes that become one, so a
 * piece is never longer than the token text. */
static size_t piece_write(const flt_vocab *v, int32_t id, uint32_t flags, char *buf, size_t cap) {
    const flt_vocab_token *t = &v->tok[id];
    const uint8_t attr = t->attr;
    if (!(flags & FLINTRT_DETOKENIZE_SPECIAL) && (attr & (FLT_ATTR_UNKNOWN | FLT_ATTR_CONTROL))) return 0;
    if (attr & (FLT_ATTR_UNKNOWN | FLT_ATTR_CONTROL | FLT_ATTR_USER_DEFINED)) {
        if (t->len && t->len <= cap) memcpy(buf, t->text, t->len);
        return t->len;
    }
    if (attr & FLT_ATTR_NORMAL) {
        size_t need = 0;
        for (uint32_t i = 0; i < t->len;) {
            bool space = i + 3 <= t->len && (unsigned char)t->text[i] == 0xE2 &&
                         (unsigned char)t->text[i + 1] == 0x96 && (unsigned char)t->text[i + 2] == 0x81;
            char c = space ? ' ' : t->text[i];
            i += space ? 3 : 1;
            if (need < cap) buf[need] = c;
            need++;
        }
        return need;
    }
    if (attr & FLT_ATTR_BYTE) {
        if (cap >= 1) buf[0] = (char)t->byte;
        return 1;
    }
    return 0; /* unused / undefined types decode to nothing, as in llama.cpp */
}

flintrt_status flt_vocab_token_to_piece(const flt_vocab *v, int32_t id, uint32_t flags, char *buf,
                                        size_t cap, size_t *n_out, flt_err *e) {
    if (n_out) *n_out = 0;
    if (!v || !n_out || (cap && !buf))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "token_to_piece: NULL argument");
    if (id < 0 || id >= v->n)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "token id %d outside the vocab of %d tokens", id, v->n);
    size_t need = piece_write(v, id, flags, buf, cap);
    *n_out = need;
    if (need > cap)
        return flt_fail(e, FLINTRT_ERR_BUFFER_TOO_SMALL, "piece of token %d needs %zu bytes, buffer has %zu",
                        id, need, cap);
    return FLINTRT_OK;
}

flintrt_status flt_vocab_detokenize(const flt_vocab *v, const int32_t *ids, size_t n, uint32_t flags,
                                    char *buf, size_t cap, size_t *n_out, flt_err *e) {
    if (n_out) *n_out = 0;
    if (!v || !n_out || (n && !ids) || (cap && !buf))
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "detokenize: NULL argument");
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= v->n)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "detokenize: token %zu has id %d outside the vocab of %d",
                            i, ids[i], v->n);
        /* Once the buffer is short, keep measuring only. */
        size_t room = total <= cap ? cap - total : 0;
        size_t len = piece_write(v, ids[i], flags, room ? buf + total : NULL, room);
        if (!flt_add_size(total, len, &total))
            return flt_fail(e, FLINTRT_ERR_LIMIT, "detokenize: text too long");
    }
    *n_out = total;
    if (total > cap)
        return flt_fail(e, FLINTRT_ERR_BUFFER_TOO_SMALL, "detokenize needs %zu bytes, buffer has %zu", total, cap);
    return FLINTRT_OK;
}
