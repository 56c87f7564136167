#include "graph/plan.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- execution ---- */

/* Work below these many element operations is not worth waking a thread for
 * (a wake-up plus a handover costs about a microsecond). */
#define FLT_GRAIN_MATMUL (1 << 16) /* multiply-adds */
#define FLT_GRAIN_ELEM (1 << 15)   /* elements of element-wise ops */
#define FLT_PARTS_PER_THREAD 4

typedef struct {
    uintptr_t lo, hi;
    bool write;
} range;

typedef struct {
    alignas(64) atomic_int done;
} done_ctr;

/* Per node: the next part to hand out, and the parts claimed ahead and then
 * put back (bit j: part j), see claim_ahead. */
typedef struct {
    atomic_int next;
    _Atomic uint64_t returned;
} node_ctr;

void flt_graph_exec_init(flt_graph_exec *x) { memset(x, 0, sizeof *x); }

void flt_graph_exec_free(flt_graph_exec *x) {
    if (!x) return;
    free(x->parts);
    free(x->sync);
    free(x->cum);
    free(x->counters);
    free(x->ranges);
    free(x->done);
    flt_graph_exec_init(x);
}

static flintrt_status exec_reserve(flt_graph_exec *x, int n_nodes, flt_err *e) {
    if (!x->done) {
        void *d = NULL;
        if (posix_memalign(&d, 64, sizeof(done_ctr))) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "executor");
        x->done = d;
    }
    if (n_nodes <= x->cap_nodes) return FLINTRT_OK;
    int cap = n_nodes + n_nodes / 2 + 16;
    int *parts = flt_malloc_array((size_t)cap, sizeof *parts);
    unsigned char *sync = flt_malloc_array((size_t)cap, 1);
    int *cum = flt_malloc_array((size_t)cap + 1, sizeof *cum);
    node_ctr *ctr = flt_malloc_array((size_t)cap, sizeof *ctr);
    range *rg = flt_malloc_array((size_t)cap * 2 * (FLT_NODE_MAX_SRC + 2), sizeof *rg); /* two lists */
    if (!parts || !sync || !cum || !ctr || !rg) {
        free(parts); free(sync); free(cum); free(ctr); free(rg);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "executor schedule for %d nodes", n_nodes);
    }
    free(x->parts); free(x->sync); free(x->cum); free(x->counters); free(x->ranges);
    x->parts = parts;
    x->sync = sync;
    x->cum = cum;
    x->counters = ctr;
    x->ranges = rg;
    x->cap_nodes = cap;
    x->cap_ranges = cap * (FLT_NODE_MAX_SRC + 2);
    return FLINTRT_OK;
}

/* How many parts node n is worth cutting into. */
static int node_parts(const flt_graph *g, const flt_node *n, int max_parts, int force, int index) {
    if (max_parts <= 1) return 1;
    if (force == 1 || (force == 2 && index % 2)) return max_parts;
    if (force == 2) return 1;
    const flt_tensor *out = &g->values[n->out].t;
    double cost, grain = FLT_GRAIN_ELEM;
    switch (n->op) {
    case FLT_OP_MUL_MAT: {
        const flt_tensor *w = &g->values[n->src[0]].t, *x = &g->values[n->src[1]].t;
        cost = (double)w->shape[0] * (double)w->shape[1] * (double)x->shape[0];
        grain = FLT_GRAIN_MATMUL;
        break;
    }
    case FLT_OP_ATTENTION: {
        const flt_tensor *q = &g->values[n->src[0]].t;
        double keys = (double)n->ip[0] + (double)q->shape[0];
        cost = 2.0 * (double)flt_tensor_nelem(q) * keys;
        grain = FLT_GRAIN_MATMUL;
        break;
    }
    case FLT_OP_ROPE: cost = 8.0 * (double)flt_tensor_nelem(out); break;
    case FLT_OP_SWIGLU: cost = 4.0 * (double)flt_tensor_nelem(out); break;
    default: {
        cost = (double)flt_tensor_nelem(out);
        if (n->src[0] >= 0) {
            double c0 = (double)flt_tensor_nelem(&g->values[n->src[0]].t);
            if (n->op != FLT_OP_GET_ROWS && c0 > cost) cost = c0;
        }
        break;
    }
    }
    double p = cost / grain;
    if (p <= 1.0) return 1;
    return p >= max_parts ? max_parts : (int)p + 1 > max_parts ? max_parts : (int)p + 1;
}

static bool overlaps(const range *a, const range *b) {
    return (a->write || b->write) && a->lo < b->hi && b->lo < a->hi;
}

static int node_ranges(const flt_graph *g, const flt_node *n, range *r) {
    int k = 0;
    for (int s = 0; s < n->n_src; s++) {
        if (n->src[s] < 0) continue;
        const flt_tensor *t = &g->values[n->src[s]].t;
        r[k++] = (range){(uintptr_t)t->data, (uintptr_t)t->data + flt_tensor_nbytes(t), false};
    }
    const flt_tensor *o = &g->values[n->out].t;
    r[k++] = (range){(uintptr_t)o->data, (uintptr_t)o->data + flt_tensor_nbytes(o), true};
    if (n->scratch >= 0) {
        const flt_tensor *t = &g->values[n->scratch].t;
        r[k++] = (range){(uintptr_t)t->data, (uintptr_t)t->data + flt_tensor_nbytes(t), true};
    }
    return k;
}

/* Fill parts, sync and cum for g. Accesses since the last sync are kept in two
 * lists, those of single-part nodes (all on the caller's thread) and those of
 * shared nodes; a single-part node only conflicts with the second. */
static void schedule(const flt_graph *g, flt_graph_exec *x, int n_threads) {
    int max_parts = n_threads > 1 ? n_threads * FLT_PARTS_PER_THREAD : 1;
    range *multi = x->ranges, *single = multi + x->cap_ranges;
    int nm = 0, ns = 0, total = 0;
    range mine[FLT_NODE_MAX_SRC + 2];
    for (int i = 0; i < g->n_nodes; i++) {
        const flt_node *n = &g->nodes[i];
        int p = node_parts(g, n, max_parts, x->force_split, i);
        int k = node_ranges(g, n, mine);
        bool sync = false;
        for (int a = 0; a < k && !sync; a++) {
            for (int b = 0; b < nm && !sync; b++) sync = overlaps(&mine[a], &multi[b]);
            if (p > 1)
                for (int b = 0; b < ns && !sync; b++) sync = overlaps(&mine[a], &single[b]);
        }
        /* Each list holds at most FLT_NODE_MAX_SRC + 2 ranges per node since the
         * last sync, so cap_ranges per list is enough; the check is a guard. */
        if (nm + k > x->cap_ranges || ns + k > x->cap_ranges) sync = true;
        if (sync) nm = ns = 0;
        for (int a = 0; a < k; a++) {
            if (p > 1) multi[nm++] = mine[a];
            else single[ns++] = mine[a];
        }
        x->parts[i] = p;
        x->sync[i] = sync;
        x->cum[i] = total;
        total += p;
    }
    x->cum[g->n_nodes] = total;
}

typedef struct {
    const flt_graph *g;
    const flt_kernels *k;
    const flt_graph_exec *x;
} exec_ctx;

static void wait_done(atomic_int *done, int target) {
    int spins = 0;
    while (atomic_load_explicit(done, memory_order_acquire) < target) flt_pool_backoff(&spins);
}

/* A part a thread took before it could run it: a thread that has to wait for
 * its inputs first claims a part of the next product with a weight matrix and
 * prefetches that part's weights into its cache while it waits, so the time
 * spent waiting at a node boundary (for the other threads' last parts, or for
 * the small nodes the caller's thread runs alone) still moves weights from
 * memory. A wait long enough to start yielding the CPU (a loaded machine) puts
 * the part back, so a descheduled thread holds no work the others need; the
 * first thread to reach the node after that runs it. Which thread runs which
 * part never changes a result. */
typedef struct {
    int node, part;          /* node -1: none claimed */
    bool put_back;           /* in node_ctr.returned, for anyone to take */
    const char *pf, *pf_end; /* weights of the claimed part still to prefetch */
} claim;

#define NO_CLAIM ((claim){-1, 0, false, NULL, NULL})

/* At most this much of a claimed part is prefetched: about half of a 2 MiB L2,
 * so it is still there when the part runs. */
#define FLT_PREFETCH_MAX ((size_t)1 << 20)
/* Nodes looked ahead for a product to claim. */
#define FLT_CLAIM_LOOKAHEAD 16

static void claim_ahead(const exec_ctx *c, int i, claim *cl) {
    const flt_graph *g = c->g;
    const flt_graph_exec *x = c->x;
    node_ctr *ctr = x->counters;
    if (cl->node >= 0) return;
    for (int m = i; m < g->n_nodes && m < i + FLT_CLAIM_LOOKAHEAD; m++) {
        int p = x->parts[m];
        if (p == 1) continue;
        /* a part put back is one bit of a 64-bit mask */
        if (g->nodes[m].op != FLT_OP_MUL_MAT || p > 64) return;
        int j = atomic_fetch_add_explicit(&ctr[m].next, 1, memory_order_relaxed);
        if (j >= p) return;
        *cl = (claim){m, j, false, NULL, NULL};
        const void *ptr;
        size_t len;
        if (flt_cpu_node_weights(g, &g->nodes[m], c->k, j, p, &ptr, &len)) {
            cl->pf = ptr;
            cl->pf_end = cl->pf + (len < FLT_PREFETCH_MAX ? len : FLT_PREFETCH_MAX);
        }
        return;
    }
}

/* Ask for [p, end) in L2 (a hint: nothing waits for it). */
static void prefetch_l2(const char *p, const char *end) {
    for (; p < end; p += 64) __builtin_prefetch(p, 0, 2);
}

/* wait_done, prefetching the claimed part's weights (a few lines at a time, so
 * the wait still ends soon after `done` reaches target). */
static void wait_prefetching(const exec_ctx *c, atomic_int *done, int target, claim *cl) {
    int spins = 0;
    while (atomic_load_explicit(done, memory_order_acquire) < target) {
        if (cl->pf < cl->pf_end) {
            const char *e = cl->pf + 1024 < cl->pf_end ? cl->pf + 1024 : cl->pf_end;
            prefetch_l2(cl->pf, e);
            cl->pf = e;
            continue;
        }
        if ((spins >= FLT_POOL_WAIT_SPIN - 1 || c->x->put_back_claims) && cl->node >= 0 && !cl->put_back) {
            node_ctr *ctr = c->x->counters;
            atomic_fetch_or_explicit(&ctr[cl->node].returned, (uint64_t)1 << cl->part, memory_order_relaxed);
            cl->put_back = true;
        }
        flt_pool_backoff(&spins);
    }
}

/* Run the parts of node i put back by the threads that claimed them. */
static void run_returned(const exec_ctx *c, int i, atomic_int *done) {
    node_ctr *ctr = c->x->counters;
    uint64_t m;
    while ((m = atomic_load_explicit(&ctr[i].returned, memory_order_relaxed)) != 0) {
        const int j = __builtin_ctzll(m);
        const uint64_t bit = (uint64_t)1 << j;
        if (!(atomic_fetch_and_explicit(&ctr[i].returned, ~bit, memory_order_relaxed) & bit)) continue;
        flt_cpu_node(c->g, &c->g->nodes[i], c->k, j, c->x->parts[i]);
        atomic_fetch_add_explicit(done, 1, memory_order_release);
    }
}

/* The caller's thread runs the single-part nodes, and the small weights they
 * read (norm vectors) have been pushed out of its cache by the products since
 * the last token: near the end of the products before a run of single nodes it
 * prefetches them, so the single nodes, which the other threads wait for, do
 * not wait on memory. */
static void prefetch_singles(const exec_ctx *c, int i) {
    const flt_graph *g = c->g;
    for (int m = i; m < g->n_nodes && m < i + FLT_CLAIM_LOOKAHEAD && c->x->parts[m] == 1; m++) {
        const void *ptr;
        size_t len;
        if (!flt_cpu_node_weights(g, &g->nodes[m], c->k, 0, 1, &ptr, &len)) continue;
        prefetch_l2(ptr, (const char *)ptr + (len < ((size_t)64 << 10) ? len : (size_t)64 << 10));
    }
}

static void exec_job(void *arg, int ith, int nth) {
    (void)nth;
    const exec_ctx *c = arg;
    const flt_graph *g = c->g;
    const flt_graph_exec *x = c->x;
    node_ctr *ctr = x->counters;
    atomic_int *done = &((done_ctr *)x->done)->done;
    claim cl = NO_CLAIM;
    int pend = 0; /* single nodes run here and not yet counted in done */
    int pf_singles = -1; /* last node whose following single nodes' weights were prefetched */
    /* `done` counts finished parts, so "done >= cum[i]" means "every part of
     * every node before i is finished" only while no thread has gone past node
     * i: every thread stops at every sync point, including those of nodes it
     * does not run. A part claimed ahead is run when its thread reaches its
     * node, so that still holds. */
    for (int i = 0; i < g->n_nodes; i++) {
        int p = x->parts[i];
        if (pend && (p > 1 || x->sync[i])) {
            atomic_fetch_add_explicit(done, pend, memory_order_release);
            pend = 0;
        }
        if (x->sync[i] && atomic_load_explicit(done, memory_order_acquire) < x->cum[i]) {
            claim_ahead(c, i, &cl);
            wait_prefetching(c, done, x->cum[i], &cl);
        }
        if (p == 1) {
            if (ith != 0) continue;
            flt_cpu_node(g, &g->nodes[i], c->k, 0, 1);
            pend++;
            continue;
        }
        if (cl.node == i) {
            const uint64_t bit = (uint64_t)1 << cl.part;
            /* a part put back is this thread's again unless someone took it */
            if (!cl.put_back || (atomic_fetch_and_explicit(&ctr[i].returned, ~bit, memory_order_relaxed) & bit)) {
                flt_cpu_node(g, &g->nodes[i], c->k, cl.part, p);
                atomic_fetch_add_explicit(done, 1, memory_order_release);
            }
            cl = NO_CLAIM;
        }
        for (;;) {
            int j = atomic_fetch_add_explicit(&ctr[i].next, 1, memory_order_relaxed);
            if (j >= p) break;
            if (ith == 0 && j >= p - 2 && pf_singles < i) {
                prefetch_singles(c, i + 1);
                pf_singles = i;
            }
            flt_cpu_node(g, &g->nodes[i], c->k, j, p);
            atomic_fetch_add_explicit(done, 1, memory_order_release);
        }
        run_returned(c, i, done);
    }
    /* The caller returns only when every part is done (outputs are read next). */
    if (pend) atomic_fetch_add_explicit(done, pend, memory_order_release);
    if (ith == 0) wait_done(done, x->cum[g->n_nodes]);
}

flintrt_status flt_graph_run_exec(const flt_graph *g, flt_pool *pool, const flt_kernels *k, flt_graph_exec *x,
                                  flt_err *e) {
    int nt = flt_pool_size(pool);
    if (nt == 1 && !x->force_split) {
        for (int i = 0; i < g->n_nodes; i++) flt_cpu_node(g, &g->nodes[i], k, 0, 1);
        return FLINTRT_OK;
    }
    flintrt_status st = exec_reserve(x, g->n_nodes, e);
    if (st) return st;
    schedule(g, x, nt > 1 ? nt : 2);
    if (x->cum[g->n_nodes] == g->n_nodes) {
        /* Nothing worth sharing: the whole graph on this thread, no wake-up. */
        for (int i = 0; i < g->n_nodes; i++) flt_cpu_node(g, &g->nodes[i], k, 0, 1);
        return FLINTRT_OK;
    }
    node_ctr *ctr = x->counters;
    for (int i = 0; i < g->n_nodes; i++) {
        atomic_store_explicit(&ctr[i].next, 0, memory_order_relaxed);
        atomic_store_explicit(&ctr[i].returned, 0, memory_order_relaxed);
    }
    atomic_store_explicit(&((done_ctr *)x->done)->done, 0, memory_order_relaxed);
    exec_ctx c = {g, k, x};
    flt_pool_run_dynamic(pool, exec_job, &c);
    return FLINTRT_OK;
}

/* Fallback when the schedule cannot be allocated: every node on every thread,
 * a barrier after each. */
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
    flt_graph_exec x;
    flt_graph_exec_init(&x);
    flt_err e;
    if (flt_graph_run_exec(g, pool, k, &x, &e) != FLINTRT_OK) {
        run_ctx c = {g, pool, k};
        flt_pool_run(pool, run_all, &c);
    }
    flt_graph_exec_free(&x);
}
