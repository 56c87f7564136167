/* The ggml tensor type ids found in GGUF files: name, elements per block, bytes
 * per block. Ids are pinned by ggml (only appended, removed ones never reused);
 * removed or unassigned ids have no entry. Block sizes and byte counts follow
 * the block layouts of ggml's ggml-common.h (QK_K = 256). */
#include "formats/gguf.h"

#define QK_K 256

static const flt_ggml_type_info k_types[] = {
    [0]  = {"F32", 1, 4},
    [1]  = {"F16", 1, 2},
    [2]  = {"Q4_0", 32, 2 + 16},             /* d f16, 32 x 4 bit */
    [3]  = {"Q4_1", 32, 2 + 2 + 16},         /* d, m f16, 32 x 4 bit */
    /* 4 (Q4_2), 5 (Q4_3): removed */
    [6]  = {"Q5_0", 32, 2 + 4 + 16},         /* d, high bits, low nibbles */
    [7]  = {"Q5_1", 32, 2 + 2 + 4 + 16},
    [8]  = {"Q8_0", 32, 2 + 32},
    [9]  = {"Q8_1", 32, 2 + 2 + 32},
    [10] = {"Q2_K", QK_K, QK_K / 16 + QK_K / 4 + 2 + 2},              /* 84 */
    [11] = {"Q3_K", QK_K, QK_K / 8 + QK_K / 4 + 12 + 2},              /* 110 */
    [12] = {"Q4_K", QK_K, 2 + 2 + 12 + QK_K / 2},                     /* 144 */
    [13] = {"Q5_K", QK_K, 2 + 2 + 12 + QK_K / 8 + QK_K / 2},          /* 176 */
    [14] = {"Q6_K", QK_K, QK_K / 2 + QK_K / 4 + QK_K / 16 + 2},       /* 210 */
    [15] = {"Q8_K", QK_K, 4 + QK_K + QK_K / 16 * 2},                  /* 292 */
    [16] = {"IQ2_XXS", QK_K, 2 + QK_K / 8 * 2},                       /* 66 */
    [17] = {"IQ2_XS", QK_K, 2 + QK_K / 8 * 2 + QK_K / 32},            /* 74 */
    [18] = {"IQ3_XXS", QK_K, 2 + 3 * (QK_K / 8)},                     /* 98 */
    [19] = {"IQ1_S", QK_K, 2 + QK_K / 8 + QK_K / 16},                 /* 50 */
    [20] = {"IQ4_NL", 32, 2 + 16},                                    /* 18 */
    [21] = {"IQ3_S", QK_K, 2 + QK_K / 4 + QK_K / 32 + QK_K / 8 + QK_K / 64}, /* 110 */
    [22] = {"IQ2_S", QK_K, 2 + QK_K / 4 + QK_K / 32 + QK_K / 32},     /* 82 */
    [23] = {"IQ4_XS", QK_K, 2 + 2 + QK_K / 64 + QK_K / 2},            /* 136 */
    [24] = {"I8", 1, 1},
    [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},
    [27] = {"I64", 1, 8},
    [28] = {"F64", 1, 8},
    [29] = {"IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32},         /* 56 */
    [30] = {"BF16", 1, 2},
    /* 31-33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8): removed */
    [34] = {"TQ1_0", QK_K, (QK_K - 4 * QK_K / 64) / 5 + QK_K / 64 + 2}, /* 54 */
    [35] = {"TQ2_0", QK_K, QK_K / 4 + 2},                             /* 66 */
    /* 36-38 (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8): removed */
    [39] = {"MXFP4", 32, 1 + 16},                                     /* 17: e8m0 + 32 x 4 bit */
};

_Static_assert(sizeof k_types / sizeof k_types[0] == 40, "ggml type table size");

const flt_ggml_type_info *flt_ggml_type(uint32_t id) {
    if (id >= sizeof k_types / sizeof k_types[0]) return NULL;
    const flt_ggml_type_info *t = &k_types[id];
    /* Every assigned entry has a name and non-zero sizes: callers may divide. */
    if (!t->name || t->block_size == 0 || t->type_size == 0) return NULL;
    return t;
}
