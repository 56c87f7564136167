#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "core/checked.h"

/* An idle worker spins this long before parking: long enough to bridge the gap
 * between two tokens of a generation loop, short enough not to steal a core. */
#define FLT_POOL_SPIN_NS 300000

/* Fields written by different threads live on separate cache lines. */
struct flt_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    flt_pool_fn fn;
    void *ctx;
    bool dynamic;
    alignas(64) atomic_uint_fast64_t gen; /* bumped for each job */
    atomic_bool quit;
    alignas(64) atomic_int parked;        /* workers waiting on cv */
    alignas(64) atomic_int pending;       /* static job: workers that have not finished fn */
    alignas(64) atomic_int active;        /* workers inside the current job */
    alignas(64) atomic_bool open;         /* the current job accepts workers */
    alignas(64) atomic_int bar_count;     /* sense-reversing barrier */
    alignas(64) atomic_int bar_sense;
};

typedef struct {
    flt_pool *p;
    int ith;
} worker_arg;

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void flt_pool_backoff(int *spins) {
    if (++*spins < FLT_POOL_WAIT_SPIN) cpu_relax();
    else sched_yield();
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Wait until a job newer than `seen` is posted (or quit); spins, then parks. */
static uint_fast64_t wait_job(flt_pool *p, uint_fast64_t seen) {
    uint_fast64_t g;
    long long t0 = 0;
    for (unsigned spins = 0;; spins++) {
        g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen || atomic_load_explicit(&p->quit, memory_order_relaxed)) return g;
        cpu_relax();
        if ((spins & 63) != 63) continue;
        long long t = now_ns();
        if (!t0) t0 = t;
        else if (t - t0 > FLT_POOL_SPIN_NS) break;
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->parked, 1);
    while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->quit)) pthread_cond_wait(&p->cv, &p->mu);
    atomic_fetch_sub(&p->parked, 1);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *arg) {
    worker_arg *wa = arg;
    flt_pool *p = wa->p;
    int ith = wa->ith;
    free(wa);
    uint_fast64_t seen = 0;
    for (;;) {
        uint_fast64_t g = wait_job(p, seen);
        if (atomic_load(&p->quit)) return NULL;
        /* Join, then check the job is still open (both sequentially consistent:
         * the caller closes, then counts who joined). A job cannot end while we
         * are counted in `active`, so fn and ctx stay valid until we leave. */
        atomic_fetch_add(&p->active, 1);
        if (!atomic_load(&p->open)) {
            atomic_fetch_sub(&p->active, 1);
            seen = g;
            continue;
        }
        seen = atomic_load(&p->gen); /* the job we joined, perhaps newer than g */
        bool dynamic = p->dynamic;
        p->fn(p->ctx, ith, p->n);
        if (!dynamic) atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
        atomic_fetch_sub_explicit(&p->active, 1, memory_order_release);
    }
}

flintrt_status flt_pool_new(int n_threads, flt_pool **out, flt_err *e) {
    if (n_threads < 1 || n_threads > 1024)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "thread count %d outside 1..1024", n_threads);
    flt_pool *p = NULL;
    if (posix_memalign((void **)&p, 64, sizeof *p)) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "thread pool");
    *p = (flt_pool){0};
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->quit, false);
    atomic_init(&p->parked, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->active, 0);
    atomic_init(&p->open, false);
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
    for (int i = 1; i < p->n && p->threads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}

int flt_pool_size(const flt_pool *p) { return p->n; }

static void post(flt_pool *p, flt_pool_fn fn, void *ctx, bool dynamic) {
    p->fn = fn;
    p->ctx = ctx;
    p->dynamic = dynamic;
    atomic_store(&p->pending, dynamic ? 0 : p->n - 1);
    atomic_store(&p->open, true);
    atomic_fetch_add(&p->gen, 1);
    /* A worker registers in `parked` before re-checking gen under the mutex,
     * so either it sees the new job or we see it parked and wake it. */
    if (atomic_load(&p->parked) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static void finish(flt_pool *p) {
    int spins = 0;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) flt_pool_backoff(&spins);
    atomic_store(&p->open, false);
    spins = 0;
    while (atomic_load_explicit(&p->active, memory_order_acquire) > 0) flt_pool_backoff(&spins);
}

void flt_pool_run(flt_pool *p, flt_pool_fn fn, void *ctx) {
    if (p->n == 1) { fn(ctx, 0, 1); return; }
    post(p, fn, ctx, false);
    fn(ctx, 0, p->n);
    finish(p);
}

void flt_pool_run_dynamic(flt_pool *p, flt_pool_fn fn, void *ctx) {
    if (p->n == 1) { fn(ctx, 0, 1); return; }
    post(p, fn, ctx, true);
    fn(ctx, 0, p->n);
    finish(p);
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
    while (atomic_load_explicit(&p->bar_sense, memory_order_acquire) == sense) flt_pool_backoff(&spins);
}
