/* Layout of flt_vocab shared by vocab.c (building, pieces) and spm.c (tokenizing).
 * Not for use outside src/text. */
#ifndef FLT_TEXT_VOCAB_IMPL_H
#define FLT_TEXT_VOCAB_IMPL_H

#include "text/vocab.h"

/* Attribute bits (llama.cpp's llama_token_attr subset the SPM path looks at). */
enum {
    FLT_ATTR_UNKNOWN = 1u << 0,
    FLT_ATTR_UNUSED = 1u << 1,
    FLT_ATTR_NORMAL = 1u << 2,
    FLT_ATTR_CONTROL = 1u << 3,
    FLT_ATTR_USER_DEFINED = 1u << 4,
    FLT_ATTR_BYTE = 1u << 5,
};
enum {
    FLT_TOKF_RSTRIP = 1u << 0, /* whitespace after this special token is dropped */
    FLT_TOKF_EOG = 1u << 1,
};

typedef struct flt_vocab_token {
    const char *text; /* into the vocab's arena, NUL-terminated */
    uint32_t len;
    float score;
    uint8_t attr;  /* FLT_ATTR_* */
    uint8_t flags; /* FLT_TOKF_* */
    uint8_t byte;  /* value of a byte token */
} flt_vocab_token;

struct flt_vocab {
    int32_t n;
    flt_vocab_token *tok;
    char *arena;
    int32_t *by_text;    /* ids with non-empty text, sorted by text (bytes, then length) */
    int32_t n_by_text;
    /* Tokens matched literally before SPM runs (control, user-defined, unknown),
     * sorted by text for prefix scans; tokenize orders the ones present longest first. */
    int32_t *special_sorted;
    int32_t n_special;
    int32_t byte_tok[256]; /* fallback token per byte, -1 if none */
    int32_t bos, eos, unk, pad;
    bool add_bos, add_eos, add_space_prefix;
};

/* Order two texts as by_text is sorted. */
int flt_vocab_text_cmp(const char *a, size_t na, const char *b, size_t nb);

#endif
