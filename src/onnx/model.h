/* ONNX models: ModelProto parsed into immutable structs.
 *
 * The whole file is mapped read-only; every message goes through the protobuf
 * reader (formats/protobuf.h). Initializers with raw_data are viewed IN PLACE
 * in the mapping (their data pointer may be unaligned: kernels load through
 * memcpy, see onnx/op.h); the typed repeated fields (float_data, int32_data,
 * int64_data, double_data, uint64_data) are decoded into model-owned buffers.
 * External data is mapped read-only from files inside the model's folder only
 * (see external.c). Strings, sparse tensors and map types are refused
 * with FLINTRT_ERR_UNSUPPORTED naming where they occur.
 *
 * After flt_onnx_load the model never changes: any number of threads may read
 * it (and run sessions on it) at once. */
#ifndef FLT_ONNX_MODEL_H
#define FLT_ONNX_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "core/error.h"
#include "formats/mmap.h"
#include "formats/reader.h"
#include "onnx/arena.h"

#define FLT_ONNX_MAX_DIMS 8     /* rank limit for ONNX tensors (the core sees them flattened) */
#define FLT_ONNX_MAX_IO 16      /* inputs or outputs of one node (FLT_NODE_MAX_SRC) */

/* TensorProto.DataType numbers (pinned by ONNX). */
enum {
    FLT_ONNX_UNDEFINED = 0, FLT_ONNX_FLOAT = 1, FLT_ONNX_UINT8 = 2, FLT_ONNX_INT8 = 3, FLT_ONNX_UINT16 = 4,
    FLT_ONNX_INT16 = 5, FLT_ONNX_INT32 = 6, FLT_ONNX_INT64 = 7, FLT_ONNX_STRING = 8, FLT_ONNX_BOOL = 9,
    FLT_ONNX_FLOAT16 = 10, FLT_ONNX_DOUBLE = 11, FLT_ONNX_UINT32 = 12, FLT_ONNX_UINT64 = 13,
    FLT_ONNX_COMPLEX64 = 14, FLT_ONNX_COMPLEX128 = 15, FLT_ONNX_BFLOAT16 = 16,
};

/* AttributeProto.AttributeType numbers. */
typedef enum flt_onnx_attr_type {
    FLT_ONNX_ATTR_UNDEFINED = 0, FLT_ONNX_ATTR_FLOAT = 1, FLT_ONNX_ATTR_INT = 2, FLT_ONNX_ATTR_STRING = 3,
    FLT_ONNX_ATTR_TENSOR = 4, FLT_ONNX_ATTR_GRAPH = 5, FLT_ONNX_ATTR_FLOATS = 6, FLT_ONNX_ATTR_INTS = 7,
    FLT_ONNX_ATTR_STRINGS = 8, FLT_ONNX_ATTR_TENSORS = 9, FLT_ONNX_ATTR_GRAPHS = 10,
    FLT_ONNX_ATTR_SPARSE_TENSOR = 11, FLT_ONNX_ATTR_SPARSE_TENSORS = 12, FLT_ONNX_ATTR_TYPE_PROTO = 13,
    FLT_ONNX_ATTR_TYPE_PROTOS = 14,
} flt_onnx_attr_type;

/* ONNX element type -> Flint dtype; false for strings, complex and unknown. */
bool flt_onnx_dtype(int32_t onnx_type, flt_dtype *out);
int32_t flt_onnx_type_of(flt_dtype d);          /* the reverse; 0 if none */
const char *flt_onnx_type_name(int32_t onnx_type); /* "float", "int64", ... or "type N" */

typedef struct flt_onnx_graph flt_onnx_graph;
typedef struct flt_onnx_op flt_onnx_op;

typedef struct flt_onnx_tensor {
    const char *name;
    int32_t onnx_type;
    flt_dtype dtype;
    int ndim;                          /* 0: a scalar */
    int64_t dims[FLT_ONNX_MAX_DIMS];
    int64_t nelem;
    const void *data;                  /* nbytes bytes, little-endian, possibly unaligned */
    size_t nbytes;
    uint64_t offset;                   /* the TensorProto's offset in the file (errors) */
    bool external;                     /* data lives in an external file */
} flt_onnx_tensor;

typedef struct flt_onnx_attr {
    const char *name;
    flt_onnx_attr_type type;
    uint64_t offset;
    float f;
    int64_t i;
    flt_bytes s;
    const flt_onnx_tensor *t;
    const flt_onnx_graph *g;
    int64_t n;                         /* list length (FLOATS, INTS, STRINGS, TENSORS, GRAPHS) */
    const float *floats;
    const int64_t *ints;
    const flt_bytes *strings;
    const flt_onnx_tensor *tensors;
    const flt_onnx_graph *const *graphs;
    const struct flt_onnx_value *tp;   /* TYPE_PROTO: the type (name "", only the type fields) */
} flt_onnx_attr;

typedef struct flt_onnx_node {
    const char *name, *op_type, *domain; /* domain "" for ai.onnx */
    int n_in, n_out;
    const char **in_names, **out_names;
    int *in, *out;                     /* value ids in the graph; -1: absent (empty name) */
    int n_attr;
    const flt_onnx_attr *attrs;
    int64_t opset;                     /* version imported for the node's domain */
    const flt_onnx_op *op;             /* resolved at load */
    const void *params;                /* the op's parsed attributes */
    int n_implicit;                    /* outer values its subgraphs read (ids in this graph) */
    int *implicit;
    bool folded;                       /* outputs are constants computed at load */
    uint64_t offset;
} flt_onnx_node;

typedef enum flt_onnx_value_kind {
    FLT_ONNX_V_INPUT = 0,       /* a graph input (bound at run time) */
    FLT_ONNX_V_INITIALIZER,     /* a constant (may also be an input with a default) */
    FLT_ONNX_V_NODE,            /* a node's output */
    FLT_ONNX_V_OUTER,           /* a value of an enclosing graph (subgraphs) */
} flt_onnx_value_kind;

typedef struct flt_onnx_dim {
    int64_t value;              /* -1: symbolic or unknown */
    const char *param;          /* the symbolic name, or NULL */
} flt_onnx_dim;

/* What a value holds (flt_onnx_tinfo.kind, flt_onnx_value.wrap): a tensor, a
 * sequence of values, or an optional (none or one value). */
enum { FLT_ONNX_KIND_TENSOR = 0, FLT_ONNX_KIND_SEQUENCE = 1, FLT_ONNX_KIND_OPTIONAL = 2 };
#define FLT_ONNX_MAX_WRAP 4     /* sequence/optional nesting of a declared type */

typedef struct flt_onnx_value {
    const char *name;
    flt_onnx_value_kind kind;
    /* Declared type (graph input/output, value_info), if any. For sequences and
     * optionals, elem_type/ndim/dims describe the innermost tensor (elem_type 0:
     * unknown) and wrap lists the wrappers, outermost first. */
    bool has_type;
    int32_t elem_type;
    int ndim;                   /* -1: rank unknown */
    flt_onnx_dim dims[FLT_ONNX_MAX_DIMS];
    const flt_onnx_tensor *constant; /* initializer or folded constant, else NULL */
    bool overridable;           /* an initializer that is also a graph input */
    int producer;               /* node index, -1 otherwise */
    int producer_slot;          /* which output of the producer */
    int outer;                  /* OUTER: the value id in the parent graph */
    int last_use;               /* last node reading it (implicit reads too); n_nodes if a graph output */
    int n_wrap;                 /* 0: a tensor */
    uint8_t wrap[FLT_ONNX_MAX_WRAP]; /* FLT_ONNX_KIND_SEQUENCE / _OPTIONAL */
} flt_onnx_value;

struct flt_onnx_graph {
    const char *name;
    const flt_onnx_graph *parent;
    int n_values;
    flt_onnx_value *values;
    int n_nodes;
    flt_onnx_node *nodes;
    int n_inputs, n_outputs;
    int *inputs, *outputs;      /* value ids; inputs include initializer-backed ones */
    int n_initializers;
    uint64_t initializer_bytes;
    int depth;                  /* 0: the main graph */
};

typedef struct flt_onnx_opset {
    const char *domain;
    int64_t version;
} flt_onnx_opset;

/* Load-time hooks for the trust policy (api_graph.c): see flt_onnx_load_ex. */
typedef struct flt_onnx_model flt_onnx_model;
typedef struct flt_onnx_load_opts {
    /* Runs after the model struct exists (dir resolved) and before the parser
     * reads a byte: may pre-map external data files (flt_onnx_external_premap). */
    flintrt_status (*before_parse)(flt_onnx_model *m, void *user, flt_err *e);
    /* Runs once per external data file the parser maps itself, right after the
     * mapping and before any of its bytes is used; name is the file's path
     * relative to the model's folder (symlinks resolved). Non-OK refuses. */
    flintrt_status (*on_external)(void *user, const char *name, const void *data, size_t size, flt_err *e);
    void *user;
    /* External data must name a file mapped by before_parse (a signed
     * manifest lists them); others are refused with FLINTRT_ERR_SIGNATURE. */
    bool premapped_only;
    void (*on_parse)(void *user);        /* test hook: right before the parser starts */
    void *parse_user;
} flt_onnx_load_opts;

struct flt_onnx_model {
    flt_arena arena;
    flt_mapped_file map;        /* the .onnx file (owned when loaded from a path) */
    const uint8_t *bytes;
    size_t size;
    char *dir;                  /* realpath of the model's folder (external data), or NULL */
    int64_t ir_version;
    const char *producer_name, *producer_version;
    int n_opsets;
    flt_onnx_opset *opsets;
    flt_onnx_graph *graph;
    flt_mapped_file *ext_maps;  /* external data files, mapped read-only */
    char **ext_paths;           /* their resolved paths (malloc'd) */
    int n_ext_maps, cap_ext_maps;
    const flt_onnx_load_opts *load_opts; /* during flt_onnx_load_ex only, else NULL */
};

/* Map and parse path; external data resolves inside path's folder. */
flintrt_status flt_onnx_load(const char *path, flt_onnx_model **out, flt_err *e);
/* The folder external data of the model at path resolves in: malloc'd, NULL on OOM. */
char *flt_onnx_folder_of(const char *path);
/* Parse bytes (borrowed: must outlive the model). dir: the folder for external
 * data (NULL refuses external data). */
flintrt_status flt_onnx_load_memory(const void *data, size_t size, const char *dir, flt_onnx_model **out,
                                    flt_err *e);
/* flt_onnx_load_memory with load hooks (o may be NULL). */
flintrt_status flt_onnx_load_ex(const void *data, size_t size, const char *dir, const flt_onnx_load_opts *o,
                                flt_onnx_model **out, flt_err *e);
/* Map external data file `name` (relative to the model's folder, the rules of
 * external data apply) now, for before_parse; the parser reuses the mapping. */
flintrt_status flt_onnx_external_premap(flt_onnx_model *m, const char *name, const void **data, size_t *size,
                                        flt_err *e);
void flt_onnx_free(flt_onnx_model *m);
/* Models with operators Flint lacks still load (so they can be inspected);
 * this names the first such node (FLINTRT_ERR_UNSUPPORTED). Sessions check it. */
flintrt_status flt_onnx_check_ops(const flt_onnx_model *m, flt_err *e);

/* Parse a serialized TensorProto (the backend tests' input_N.pb) whose bytes
 * outlive *out; decoded typed fields go into arena. External data refused. */
flintrt_status flt_onnx_parse_tensor(const void *data, size_t size, flt_arena *arena, flt_onnx_tensor *out,
                                     flt_err *e);

/* Parse a serialized SequenceProto (kind FLT_ONNX_KIND_SEQUENCE) or
 * OptionalProto (FLT_ONNX_KIND_OPTIONAL), the backend tests' data for such
 * values, into a value (flt_onnx_tinfo kind + flt_onnx_seq, see op.h) whose
 * tensors are aligned copies in arena. *name borrows from data (may be "").
 * Nesting deeper than FLT_ONNX_MAX_WRAP, maps and sparse tensors are refused. */
struct flt_onnx_tinfo;
flintrt_status flt_onnx_parse_value(const void *data, size_t size, int kind, flt_arena *arena,
                                    struct flt_onnx_tinfo *ti, const void **value, const char **name, flt_err *e);

/* Attribute lookup by name (NULL if absent). */
const flt_onnx_attr *flt_onnx_node_attr(const flt_onnx_node *n, const char *name);

/* Opset version the model imports for domain ("" and "ai.onnx" are the same); 0 if none. */
int64_t flt_onnx_model_opset(const flt_onnx_model *m, const char *domain);

#endif
