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
 * by one thread in a fixed order: the result does not depend on the thread count.
 * Uses a temporary schedule (flt_graph_exec); callers that run many graphs keep one. */
void flt_graph_run(const flt_graph *g, flt_pool *pool, const flt_kernels *k);

/* The executor's schedule and its buffers, reused from one run to the next so
 * that a generation loop allocates nothing per token.
 *
 * Each node is cut into `parts` pieces by its amount of work: a node too small
 * to be worth sharing is one part, run by the caller's thread; larger nodes are
 * cut into up to 4 parts per thread, handed out through a counter, so a thread
 * that is descheduled (a loaded machine) leaves its share to the others instead
 * of stalling them. A node waits for earlier nodes only when its memory overlaps
 * theirs (it reads what they write, or writes what they read or write, byte
 * ranges after binding) and one of the two ran on more than the caller's thread:
 * a chain of small nodes never synchronises at all. */
typedef struct flt_graph_exec {
    int cap_nodes;
    int *parts;       /* per node */
    unsigned char *sync; /* per node: wait for all earlier parts first */
    int *cum;         /* parts of nodes before this one */
    void *counters;   /* per node: next part to hand out (atomic) */
    void *ranges;     /* scratch of the hazard analysis */
    int cap_ranges;
    int force_split;  /* tests: 1 cuts every node into the most parts, 2 every other node */
    int put_back_claims; /* tests: a waiting thread puts back every part it claimed ahead at once */
    void *done;       /* parts finished in this run (atomic, own cache line) */
} flt_graph_exec;

void flt_graph_exec_init(flt_graph_exec *x);
void flt_graph_exec_free(flt_graph_exec *x);
/* flt_graph_run with a reusable schedule; fails only when the schedule's
 * buffers cannot grow (nothing has run then). */
flintrt_status flt_graph_run_exec(const flt_graph *g, flt_pool *pool, const flt_kernels *k, flt_graph_exec *x,
                                  flt_err *e);

/* Run part ith of nth of one node (the CPU backend; src/cpu/ops.c). nth counts
 * parts, not threads: it may exceed the pool size, and a part may run on any
 * thread. The bytes written must not depend on nth. */
void flt_cpu_node(const flt_graph *g, const flt_node *n, const flt_kernels *k, int ith, int nth);

/* The weights part ith of nth of node n will read from memory (a product's
 * share of its matrix, a norm's weight vector), if any: the executor prefetches
 * them ahead of the part. */
bool flt_cpu_node_weights(const flt_graph *g, const flt_node *n, const flt_kernels *k, int ith, int nth,
                          const void **ptr, size_t *len);

#endif
