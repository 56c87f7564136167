#include "graph/plan.h"

#include <stdlib.h>

#include "core/checked.h"

typedef struct {
    int v;
    int first, last;
    size_t size;
} live_range;

static int by_size_desc(const void *a, const void *b) {
    const live_range *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->v - y->v; /* stable: the plan depends only on the graph */
}

static void touch(const flt_graph *g, int *last, int v, int node) {
    if (v < 0) return;
    if (g->values[v].kind == FLT_VALUE_VIEW) v = g->values[v].base;
    if (node > last[v]) last[v] = node;
}

flintrt_status flt_graph_plan(flt_graph *g, size_t *arena_bytes, flt_err *e) {
    int nv = g->n_values;
    int *last = flt_malloc_array((size_t)nv + 1, sizeof *last);
    live_range *r = flt_malloc_array((size_t)nv + 1, sizeof *r);
    size_t *placed_off = flt_malloc_array((size_t)nv + 1, sizeof *placed_off);
    int *placed = flt_malloc_array((size_t)nv + 1, sizeof *placed);
    if (!last || !r || !placed_off || !placed) {
        free(last); free(r); free(placed_off); free(placed);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "memory plan for %d values", nv);
    }
    for (int i = 0; i < nv; i++) last[i] = g->values[i].producer;
    for (int n = 0; n < g->n_nodes; n++) {
        for (int s = 0; s < g->nodes[n].n_src; s++) touch(g, last, g->nodes[n].src[s], n);
        touch(g, last, g->nodes[n].out, n);
        touch(g, last, g->nodes[n].scratch, n);
    }
    for (int i = 0; i < nv; i++)
        if (g->values[i].output) touch(g, last, i, g->n_nodes);

    int nr = 0;
    for (int i = 0; i < nv; i++) {
        flt_value *val = &g->values[i];
        if (val->kind != FLT_VALUE_PLANNED) continue;
        uint64_t sz;
        if (!flt_align_up_u64(flt_tensor_nbytes(&val->t), FLT_ARENA_ALIGN, &sz)) {
            free(last); free(r); free(placed_off); free(placed);
            return flt_fail(e, FLINTRT_ERR_LIMIT, "memory plan: value %d too large", i);
        }
        r[nr++] = (live_range){.v = i, .first = val->producer, .last = last[i], .size = (size_t)sz};
    }
    /* Greedy by size: the largest values are placed first, each at the lowest
     * offset free of every already-placed value whose lifetime overlaps. */
    qsort(r, (size_t)nr, sizeof *r, by_size_desc);
    size_t total = 0;
    int np = 0;
    for (int i = 0; i < nr; i++) {
        size_t off = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int j = 0; j < np; j++) {
                const live_range *o = &r[placed[j]];
                if (o->last < r[i].first || r[i].last < o->first) continue;
                size_t oo = placed_off[j];
                if (off < oo + o->size && oo < off + r[i].size) {
                    off = oo + o->size;
                    moved = true;
                }
            }
        }
        placed[np] = i;
        placed_off[np++] = off;
        g->values[r[i].v].offset = off;
        if (off + r[i].size > total) total = off + r[i].size;
    }
    free(last); free(r); free(placed_off); free(placed);
    *arena_bytes = total;
    return FLINTRT_OK;
}

void flt_graph_bind(flt_graph *g, void *arena) {
    for (int i = 0; i < g->n_values; i++) {
        flt_value *v = &g->values[i];
        if (v->kind == FLT_VALUE_PLANNED) v->t.data = (char *)arena + v->offset;
    }
    for (int i = 0; i < g->n_values; i++) {
        flt_value *v = &g->values[i];
        if (v->kind == FLT_VALUE_VIEW) v->t.data = (char *)g->values[v->base].t.data + v->view_offset;
    }
}

typedef struct {
    const flt_graph *g;
    flt_pool *pool;
    const flt_kernels *k;
} run_ctx;

static void run_all(void *arg, int ith, int nth) {
    run_ctx *c = arg;
    for (int n = 0; n < c->g->n_nodes; n++) {
        flt_cpu_node(c->g, &c->g->nodes[n], c->k, ith, nth);
        flt_pool_barrier(c->pool);
    }
}

void flt_graph_run(const flt_graph *g, flt_pool *pool, const flt_kernels *k) {
    run_ctx c = {g, pool, k};
    flt_pool_run(pool, run_all, &c);
}
