/* Causal multi-head attention over a KV cache, tiled: a block of query rows
 * (tokens × the heads that share one KV head) meets a block of keys at a time,
 * with an online softmax, so no score matrix is ever held beyond one
 * rows × keys tile and every key/value row loaded serves the whole block.
 *
 * Each output row is computed by the same sequence of operations whatever the
 * tiling and whichever thread runs it (key blocks start at multiples of the
 * block size from key 0), so results do not depend on the thread count. The
 * scalar path is the oracle; the AVX2 path (vector dot products, exp and
 * accumulation) differs from it only in rounding. */
#ifndef FLT_CPU_ATTENTION_H
#define FLT_CPU_ATTENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/kernels.h"

typedef struct flt_attn_args {
    const float *q;        /* [nt, nh, hd] */
    const void *k, *v;     /* [ctx, nkv, hd], F32 or F16 */
    flt_dtype kv_dtype;
    float *out;            /* [nt, nh * hd] */
    int64_t nt, nh, hd, nkv;
    int64_t n_past;        /* keys before the first query */
    float scale;
    const flt_kernels *kern; /* F16 rows are widened with kern->to_f32 */
    bool simd;             /* use the AVX2 path (the caller checked the CPU) */
} flt_attn_args;

/* Work units (blocks of tokens × one KV head); unit u may run on any thread. */
int64_t flt_attention_units(const flt_attn_args *a);
void flt_attention_unit(const flt_attn_args *a, int64_t u);

/* Whether this build has the AVX2 path at all. */
bool flt_attention_has_simd(void);

#endif
