/* Memory planning and execution of a graph. */
#ifndef FLT_GRAPH_PLAN_H
#define FLT_GRAPH_PLAN_H

#include "core/threadpool.h"
#include "cpu/kernels.h"
#include "graph/graph.h"

#define FLT_ARENA_ALIGN 64

/* Give every planned value an arena offset such that values alive at the same
 * time never overlap; *arena_bytes is the arena size needed. A value lives from
 * its producing node to its last reader (a view's readers count for its base);
 * outputs live to the end. */
flintrt_status flt_graph_plan(flt_graph *g, size_t *arena_bytes, flt_err *e);

/* Point planned values into arena and views into their bases. */
void flt_graph_bind(flt_graph *g, void *arena);

/* Run every node in order on the pool, with kernels k. The graph must be planned
 * and bound. Every node's work is split so that each output element is computed
 * by one thread in a fixed order: the result does not depend on the thread count. */
void flt_graph_run(const flt_graph *g, flt_pool *pool, const flt_kernels *k);

/* Run one node's share of work (the CPU backend; src/cpu/ops.c). */
void flt_cpu_node(const flt_graph *g, const flt_node *n, const flt_kernels *k, int ith, int nth);

#endif
