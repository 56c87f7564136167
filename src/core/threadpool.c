#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/checked.h"

/* Spin iterations before a worker parks, and before a barrier waiter yields. */
#define FLT_POOL_SPIN 20000
#define FLT_BARRIER_SPIN 2000

struct flt_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint_fast64_t gen;   /* bumped for each job */
    atomic_int pending;         /* workers (excluding the caller) still running */
    atomic_int parked;          /* workers waiting on cv */
    atomic_bool quit;
    flt_pool_fn fn;
    void *ctx;
    /* sense-reversing barrier */
    atomic_int bar_count;
    atomic_int bar_sense;
};

typedef struct {
    flt_pool *p;
    int ith;
} worker_arg;

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *arg) {
    worker_arg *wa = arg;
    flt_pool *p = wa->p;
    int ith = wa->ith;
    free(wa);
    uint_fast64_t seen = 0;
    for (;;) {
        uint_fast64_t g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
               !atomic_load(&p->quit)) {
            if (++spins < FLT_POOL_SPIN) { cpu_relax(); continue; }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->parked, 1);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->parked, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        if (atomic_load(&p->quit)) return NULL;
        seen = g;
        p->fn(p->ctx, ith, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
    }
}

flintrt_status flt_pool_new(int n_threads, flt_pool **out, flt_err *e) {
    if (n_threads < 1 || n_threads > 1024)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "thread count %d outside 1..1024", n_threads);
    flt_pool *p = calloc(1, sizeof *p);
    if (!p) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "thread pool");
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->parked, 0);
    atomic_init(&p->quit, false);
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_sense, 0);
    p->threads = flt_calloc_array((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) { flt_pool_free(p); return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "thread pool"); }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) { p->n = i; flt_pool_free(p); return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "thread pool"); }
        wa->p = p;
        wa->ith = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            p->n = i;
            flt_pool_free(p);
            return flt_fail(e, FLINTRT_ERR_INTERNAL, "could not start worker thread %d", i);
        }
    }
    *out = p;
    return FLINTRT_OK;
}

void flt_pool_free(flt_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}

int flt_pool_size(const flt_pool *p) { return p->n; }

void flt_pool_run(flt_pool *p, flt_pool_fn fn, void *ctx) {
    if (p->n == 1) { fn(ctx, 0, 1); return; }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->pending, p->n - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    if (atomic_load(&p->parked) > 0) pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n);
    int spins = 0;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {
        if (++spins < FLT_BARRIER_SPIN) cpu_relax();
        else sched_yield();
    }
}

void flt_pool_barrier(flt_pool *p) {
    if (p->n == 1) return;
    int sense = atomic_load_explicit(&p->bar_sense, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == p->n - 1) {
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        atomic_store_explicit(&p->bar_sense, !sense, memory_order_release);
        return;
    }
    int spins = 0;
    while (atomic_load_explicit(&p->bar_sense, memory_order_acquire) == sense) {
        if (++spins < FLT_BARRIER_SPIN) cpu_relax();
        else sched_yield();
    }
}
