/* A fixed pool of worker threads that run one job at a time.
 * The caller's thread is worker 0, so a pool of 1 starts no thread at all.
 * Workers spin for a bounded time before parking on a condition variable, so
 * a job that follows closely (the next op, the next token) starts without a
 * wake-up delay, while an idle pool costs no CPU; every wait inside a job also
 * spins only briefly and then yields, so the pool degrades gracefully when the
 * machine has more runnable threads than cores.
 *
 * Two kinds of job:
 * - flt_pool_run: every thread runs fn exactly once (static splits by ith);
 * - flt_pool_run_dynamic: fn runs on the caller and on whichever workers
 *   arrive while the job is open; fn must finish the whole job alone if need
 *   be (work handed out through shared counters), so a descheduled worker
 *   never holds the caller back. */
#ifndef FLT_CORE_THREADPOOL_H
#define FLT_CORE_THREADPOOL_H

#include "core/error.h"

typedef struct flt_pool flt_pool;

/* Job body: ith in [0, nth) names the thread. */
typedef void (*flt_pool_fn)(void *ctx, int ith, int nth);

flintrt_status flt_pool_new(int n_threads, flt_pool **out, flt_err *e);
void flt_pool_free(flt_pool *p);
int flt_pool_size(const flt_pool *p);

/* Run fn on every thread and return when all have finished. Not reentrant:
 * one job at a time per pool. */
void flt_pool_run(flt_pool *p, flt_pool_fn fn, void *ctx);

/* Run fn on the caller (ith 0) and on the workers that join before the caller's
 * fn returns; returns once every thread that joined has left fn. */
void flt_pool_run_dynamic(flt_pool *p, flt_pool_fn fn, void *ctx);

/* Called by every thread of a flt_pool_run job: returns when all have arrived. */
void flt_pool_barrier(flt_pool *p);

/* Bounded busy-wait helper for waits inside a job: call with a counter that
 * starts at 0; it spins with a pause at first and then, once the counter has
 * reached FLT_POOL_WAIT_SPIN, yields the CPU. A pause is 10-150 cycles
 * depending on the core, so the spinning lasts a few microseconds. */
#define FLT_POOL_WAIT_SPIN 256
void flt_pool_backoff(int *spins);

/* Split [0, n) into nth nearly equal contiguous parts; part ith is [*lo, *hi).
 * Depends only on (n, ith, nth). */
static inline void flt_split(long long n, int ith, int nth, long long *lo, long long *hi) {
    long long base = n / nth, rem = n % nth;
    *lo = ith * base + (ith < rem ? ith : rem);
    *hi = *lo + base + (ith < rem ? 1 : 0);
}

#endif
