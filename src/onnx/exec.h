/* Running an ONNX graph on the Flint core (see docs/ONNX.md).
 *
 * A session binds the graph's inputs, then walks the nodes in order with the
 * concrete shapes: each node's op infers its outputs' dtypes and shapes (reading
 * input VALUES where it must: Reshape's shape, Slice's starts), and the node
 * becomes one custom node of an flt_graph (values = ONNX tensors, flattened;
 * initializers and bound inputs external; intermediates planned by the core
 * planner; Reshape/Squeeze/Identity/... are views of their input's bytes).
 * When an op needs a value that is not computed yet (a data-dependent shape) the
 * graph built so far — a segment — is planned and run on the pool, its results
 * become readable, and building continues. Small nodes whose inputs are all
 * known are evaluated at once (shape arithmetic: Shape -> Gather -> Concat ->
 * Reshape never splits a segment). Control flow (If, Loop) runs on the
 * session's thread between segments: its subgraphs run as nested graphs that
 * see the enclosing graph's values.
 *
 * Sessions are used by one thread at a time; the model is shared read-only. */
#ifndef FLT_ONNX_EXEC_H
#define FLT_ONNX_EXEC_H

#include "core/threadpool.h"
#include "onnx/model.h"
#include "onnx/op.h"

typedef struct flt_onnx_session flt_onnx_session;

flintrt_status flt_onnx_session_new(const flt_onnx_model *m, int n_threads, flt_onnx_session **out, flt_err *e);
void flt_onnx_session_free(flt_onnx_session *s);

/* The graph inputs a caller binds: graph inputs that are not initializers
 * (initializer-backed inputs may be bound too, by name, to override them). */
int flt_onnx_session_n_inputs(const flt_onnx_model *m);
int flt_onnx_session_input_id(const flt_onnx_model *m, int i); /* value id in the main graph */

/* Bind value `id` of the main graph (a graph input) to caller memory, borrowed
 * until the next run returns. Data must be naturally aligned for its dtype. */
flintrt_status flt_onnx_session_bind(flt_onnx_session *s, int id, const flt_onnx_tinfo *t, const void *data,
                                     flt_err *e);
void flt_onnx_session_unbind_all(flt_onnx_session *s);
/* Nodes whose outputs total at most max_bytes and whose inputs are all known
 * run at once instead of joining the segment (default 64 KiB; 0 puts every
 * node in segments: the tests run both ways). */
void flt_onnx_session_set_eager(flt_onnx_session *s, size_t max_bytes);

flintrt_status flt_onnx_session_run(flt_onnx_session *s, flt_err *e);

/* Output i of the main graph after a successful run: borrowed until the next
 * run or free. */
void flt_onnx_session_output(const flt_onnx_session *s, int i, const flt_onnx_tinfo **t, const void **data);

#endif
