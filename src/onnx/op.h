/* ONNX operators: what an operator family implements, and the helpers it uses.
 *
 * HOW TO ADD AN OPERATOR
 * 1. Pick (or create) its family file src/onnx/ops_<family>.c. A family file
 *    holds static functions and one table:
 *        const flt_onnx_op flt_onnx_ops_<family>[] = { {...}, ... };
 *        const int flt_onnx_ops_<family>_count = (int)(sizeof ... / sizeof ...);
 *    A new family is listed once in FLT_ONNX_FAMILIES (onnx/registry.h).
 * 2. Fill one flt_onnx_op row per (domain, op_type, opset range):
 *    - parse (optional): attributes -> your params struct, at model load, with
 *      the typed getters below (wrong attribute types are errors, not guesses).
 *      params_size says how big the struct is; the framework allocates it.
 *    - infer (required): output dtypes and shapes from input dtypes/shapes, at
 *      run time with concrete shapes. Read input VALUES (Reshape's shape, Slice's
 *      starts) with flt_onnx_input_ints/flt_onnx_input_value: if a value is not
 *      computed yet they return FLINTRT_ERR_NOT_FOUND and mark the request; just
 *      return that status (FLT_ONNX_TRY does) and the framework runs what is
 *      pending, then calls infer again. Put per-run derived data (broadcast
 *      strides, resolved axes) in x->k->state via flt_onnx_alloc, ask for a
 *      workspace with x->k->scratch_bytes, or compute an output directly
 *      (shape-only ops: Shape, Size) with flt_onnx_set_output.
 *    - kernel.run: same contract as core ops: thread ith of nth computes its
 *      share of the outputs; the bits must not depend on nth. Inputs through
 *      flt_onnx_in (may be UNALIGNED: initializers are viewed in place in the
 *      file, so load with memcpy / the flt_ld_* helpers), outputs through
 *      flt_onnx_out (64-byte aligned), the op's context through flt_onnx_kc.
 *    - min_in: how many leading inputs must be present; the loader refuses
 *      nodes with fewer (so infer/kernels may read in[0..min_in) freely).
 *    - flags: FLT_ONNX_OP_ALIAS when output 0 is input 0's bytes unchanged
 *      (Reshape, Squeeze, Identity: no kernel runs, the output is a view);
 *      FLT_ONNX_OP_NO_FOLD for ops that must not be evaluated at load (random).
 *    - host: for control flow (If, Loop): runs on the calling thread with every
 *      input computed, may run subgraphs (flt_onnx_host_run_graph) and sets the
 *      outputs itself. Leave NULL for ordinary ops.
 * 3. Keep a plain scalar implementation as the oracle; a faster one may follow
 *    beside it, tested against it.
 * 4. Add tests: node tests of libonnx-testdata that now pass go into
 *    tests/data/onnx_expected_pass.txt (the ratchet).
 *
 * Dtypes: flt_onnx_tinfo.dtype is a Flint dtype (core/dtype.h); FLT_BOOL is one
 * byte 0/1. A scalar has ndim 0. Empty tensors (a zero dimension) are legal
 * and reach kernels: loops must simply do nothing. */
#ifndef FLT_ONNX_OP_H
#define FLT_ONNX_OP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cpu/kernels.h"
#include "graph/graph.h"
#include "onnx/model.h"

typedef struct flt_onnx_tinfo {
    flt_dtype dtype;
    int ndim;                            /* -1: absent optional input */
    int64_t dims[FLT_ONNX_MAX_DIMS];
    uint8_t kind;                        /* FLT_ONNX_KIND_*: 0 (a tensor) unless set; see flt_onnx_seq */
} flt_onnx_tinfo;

/* Sequences and optionals. A value whose tinfo has kind SEQUENCE or OPTIONAL has
 * ndim 0, dtype = its innermost tensors' dtype, and its data points to one
 * flt_onnx_seq (immutable once made; build new ones, in run memory). An optional
 * has n 0 (none) or 1. Only operators flagged FLT_ONNX_OP_ANY_VALUE see such
 * inputs (they are host ops); Identity passes them through; anything else with
 * one is refused by the framework. */
typedef struct flt_onnx_seq {
    int64_t n;
    uint8_t elem_kind;                   /* kind of the elements (a sequence's are tensors) */
    const flt_onnx_tinfo *ti;            /* n element types */
    const void *const *data;             /* n elements: tensor bytes, or a flt_onnx_seq */
} flt_onnx_seq;

static inline int64_t flt_onnx_nelem(const flt_onnx_tinfo *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}
/* Bytes of a tensor (checked: false on overflow). */
bool flt_onnx_tinfo_bytes(const flt_onnx_tinfo *t, size_t *out);
/* "float[2, 3]" */
void flt_onnx_tinfo_str(const flt_onnx_tinfo *t, char *buf, size_t cap);

/* What a kernel sees (node->params of its core node). */
typedef struct flt_onnx_kctx {
    const flt_onnx_node *node;
    const void *params;                  /* the op's parsed attributes */
    int n_in, n_out;
    flt_onnx_tinfo in[FLT_ONNX_MAX_IO];
    flt_onnx_tinfo out[FLT_ONNX_MAX_IO];
    size_t out_off[FLT_ONNX_MAX_IO];     /* several outputs: offsets in the packed output */
    void *state;                         /* op-specific, set by infer (run memory) */
    size_t scratch_bytes;                /* workspace requested by infer */
} flt_onnx_kctx;

struct flt_onnx_run;

typedef struct flt_onnx_infer {
    flt_onnx_kctx *k;                    /* fill k->out[0..n_out) (dtype, ndim, dims) */
    struct flt_onnx_run *run;
    int64_t opset;
    const void *out_value[FLT_ONNX_MAX_IO]; /* set by flt_onnx_set_output */
    bool need_values;
    flt_err *e;
} flt_onnx_infer;

typedef struct flt_onnx_host {
    const flt_onnx_node *node;
    const void *params;
    struct flt_onnx_run *run;
    int n_in, n_out;
    flt_onnx_tinfo in[FLT_ONNX_MAX_IO];
    const void *in_data[FLT_ONNX_MAX_IO];
    flt_err *e;
} flt_onnx_host;

enum {
    FLT_ONNX_OP_ALIAS = 1u << 0,
    FLT_ONNX_OP_NO_FOLD = 1u << 1,
    FLT_ONNX_OP_EMPTY_INPUTS_OK = 1u << 2, /* min_in counts slots; they may be empty names (Loop) */
    FLT_ONNX_OP_ANY_VALUE = 1u << 3,     /* host op that accepts sequence/optional inputs (checks kinds itself) */
};

struct flt_onnx_op {
    const char *domain;                  /* "" for ai.onnx */
    const char *op_type;
    int since, until;                    /* opset versions implemented, inclusive; until 0: no upper bound */
    size_t params_size;
    flintrt_status (*parse)(const flt_onnx_node *node, void *params, flt_err *e);
    flintrt_status (*infer)(flt_onnx_infer *x);
    flt_op_desc kernel;                  /* {name, run}; run may be NULL if infer always sets the outputs */
    flintrt_status (*host)(flt_onnx_host *h);
    unsigned flags;
    int min_in;                          /* the first min_in inputs must be given (non-empty), checked at load */
};

#define FLT_ONNX_TRY(expr) do { flintrt_status flt_try_st_ = (expr); if (flt_try_st_) return flt_try_st_; } while (0)

/* ---- attribute getters (parse time) ----
 * Absent: *out = def and OK. Present with another type: FLINTRT_ERR_FORMAT. */
flintrt_status flt_onnx_attr_int(const flt_onnx_node *n, const char *name, int64_t def, int64_t *out, flt_err *e);
flintrt_status flt_onnx_attr_float(const flt_onnx_node *n, const char *name, float def, float *out, flt_err *e);
/* String attribute copied NUL-terminated into buf (cap bytes); def if absent. */
flintrt_status flt_onnx_attr_string(const flt_onnx_node *n, const char *name, const char *def, char *buf,
                                    size_t cap, flt_err *e);
/* Lists: *vals borrows from the model; *count -1 if absent. */
flintrt_status flt_onnx_attr_ints(const flt_onnx_node *n, const char *name, const int64_t **vals, int64_t *count,
                                  flt_err *e);
flintrt_status flt_onnx_attr_floats(const flt_onnx_node *n, const char *name, const float **vals, int64_t *count,
                                    flt_err *e);
flintrt_status flt_onnx_attr_tensor(const flt_onnx_node *n, const char *name, const flt_onnx_tensor **t, flt_err *e);
flintrt_status flt_onnx_attr_graph(const flt_onnx_node *n, const char *name, const flt_onnx_graph **g, flt_err *e);
flintrt_status flt_onnx_attr_type_proto(const flt_onnx_node *n, const char *name, const flt_onnx_value **tp, flt_err *e);

/* ---- infer helpers (run time) ---- */
/* Host-readable data of input i when it is known now (a constant, or computed
 * already); else NULL and the framework will compute it and call infer again
 * (return FLINTRT_ERR_NOT_FOUND from infer: flt_onnx_need does). */
const void *flt_onnx_input_value(flt_onnx_infer *x, int i);
flintrt_status flt_onnx_need(flt_onnx_infer *x, int i);
/* Input i (int32 or int64, any shape) as int64 values in run memory. */
flintrt_status flt_onnx_input_ints(flt_onnx_infer *x, int i, const int64_t **vals, int64_t *count);
/* Input i (any numeric type) as doubles, for scalar parameters (Clip's min). */
flintrt_status flt_onnx_input_f64(flt_onnx_infer *x, int i, double *out, int64_t *count, int64_t cap);
/* Zeroed run memory (lives until the run ends). */
void *flt_onnx_alloc(flt_onnx_infer *x, size_t bytes);
/* Give output i's value directly (data of its tinfo's size, in run memory):
 * no kernel runs for this node. Every output must be set, or none. */
void flt_onnx_set_output(flt_onnx_infer *x, int i, const void *data);
/* Normalize axis in [-rank, rank) to [0, rank), or fail naming the op. */
flintrt_status flt_onnx_axis(flt_onnx_infer *x, int64_t axis, int rank, int *out);
/* Numpy broadcasting of a and b into out (dtype untouched). */
flintrt_status flt_onnx_broadcast(flt_onnx_infer *x, const flt_onnx_tinfo *a, const flt_onnx_tinfo *b,
                                  flt_onnx_tinfo *out);
/* Require an input to be present and of one of the listed dtypes. */
flintrt_status flt_onnx_want_type(flt_onnx_infer *x, int i, const flt_dtype *allowed, int n_allowed);
flintrt_status flt_onnx_fail(flt_onnx_infer *x, flintrt_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- host-op helpers (If, Loop) ---- */
/* Run subgraph g (whose outer references resolve in this run's graph) with the
 * given inputs; on success out_info/out_data hold its outputs in run memory. */
flintrt_status flt_onnx_host_run_graph(flt_onnx_host *h, const flt_onnx_graph *g, int n_in,
                                       const flt_onnx_tinfo *in_info, const void *const *in_data, int n_out,
                                       flt_onnx_tinfo *out_info, const void **out_data);
void flt_onnx_host_set_output(flt_onnx_host *h, int i, const flt_onnx_tinfo *info, const void *data);
void *flt_onnx_host_alloc(flt_onnx_host *h, size_t bytes);
/* A sequence/optional of n elements in run memory (ti/data arrays allocated,
 * zeroed; fill them). NULL on error (h->e set). */
flt_onnx_seq *flt_onnx_host_seq(flt_onnx_host *h, int64_t n, uint8_t elem_kind);

/* ---- values (tensors, sequences, optionals) ---- */
/* Check a value's structure: kinds known, tensors' shapes valid and their data
 * present, nesting at most FLT_ONNX_MAX_WRAP (depth counts from 0). */
flintrt_status flt_onnx_value_check(const flt_onnx_tinfo *ti, const void *data, int depth, flt_err *e);
/* Deep copy of a value into arena (tensor bytes, and every element of a
 * sequence/optional). */
flintrt_status flt_onnx_value_copy(flt_arena *a, const flt_onnx_tinfo *ti, const void *data, const void **out,
                                   flt_err *e);
/* Whether a value matches a declared type (kinds, element dtypes and fixed
 * dims); the message names what differs. */
flintrt_status flt_onnx_value_matches(const flt_onnx_value *decl, const flt_onnx_tinfo *ti, const void *data,
                                      flt_err *e);
const char *flt_onnx_kind_name(int kind);  /* "tensor", "sequence", "optional" */

/* ---- kernel helpers ---- */
static inline const flt_onnx_kctx *flt_onnx_kc(const flt_node *n) { return (const flt_onnx_kctx *)n->params; }
const void *flt_onnx_in(const flt_graph *g, const flt_node *n, int i);  /* NULL if absent */
void *flt_onnx_out(const flt_graph *g, const flt_node *n, int i);
void *flt_onnx_scratch(const flt_graph *g, const flt_node *n);

/* Unaligned little-endian element access. */
static inline float flt_ld_f32(const void *p, int64_t i) { float v; memcpy(&v, (const char *)p + 4 * i, 4); return v; }
static inline double flt_ld_f64(const void *p, int64_t i) { double v; memcpy(&v, (const char *)p + 8 * i, 8); return v; }
static inline int64_t flt_ld_i64(const void *p, int64_t i) { int64_t v; memcpy(&v, (const char *)p + 8 * i, 8); return v; }
static inline int32_t flt_ld_i32(const void *p, int64_t i) { int32_t v; memcpy(&v, (const char *)p + 4 * i, 4); return v; }

/* Any numeric element as double / int64 (bool: 0/1; f16/bf16 widened). */
double flt_onnx_get_f64(flt_dtype d, const void *p, int64_t i);
int64_t flt_onnx_get_i64(flt_dtype d, const void *p, int64_t i);
/* Store a double into an element of dtype d, with ONNX Cast semantics for
 * integers (truncation toward zero; out-of-range values wrap as the C
 * conversion through int64 does; NaN -> 0) and bool = (v != 0). */
void flt_onnx_set_f64(flt_dtype d, void *p, int64_t i, double v);
void flt_onnx_set_i64(flt_dtype d, void *p, int64_t i, int64_t v);
bool flt_onnx_is_float(flt_dtype d);   /* F32, F64, F16, BF16 */
bool flt_onnx_is_signed(flt_dtype d);  /* I8..I64 */
bool flt_onnx_is_unsigned(flt_dtype d);/* U8..U64 (not BOOL) */
size_t flt_onnx_dtype_size(flt_dtype d);

/* Row-major strides in elements of a tinfo; broadcast strides of t aligned to
 * the rank of out (0 where t's dim is 1 and out's is not). */
void flt_onnx_strides(const flt_onnx_tinfo *t, int64_t *strides);
void flt_onnx_bcast_strides(const flt_onnx_tinfo *t, const flt_onnx_tinfo *out, int64_t *strides);

#endif
