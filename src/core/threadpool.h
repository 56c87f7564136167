/* A fixed pool of worker threads that run one job at a time on all threads.
 * The caller's thread is worker 0, so a pool of 1 starts no thread at all.
 * Workers spin briefly before parking on a condition variable, so a job that
 * follows closely (the next token) starts without a wake-up delay; a barrier
 * lets one job step through a graph's nodes in order. */
#ifndef FLT_CORE_THREADPOOL_H
#define FLT_CORE_THREADPOOL_H

#include "core/error.h"

typedef struct flt_pool flt_pool;

/* Job body: runs once on each thread, ith in [0, nth). */
typedef void (*flt_pool_fn)(void *ctx, int ith, int nth);

flintrt_status flt_pool_new(int n_threads, flt_pool **out, flt_err *e);
void flt_pool_free(flt_pool *p);
int flt_pool_size(const flt_pool *p);

/* Run fn on every thread and return when all have finished. Not reentrant:
 * one job at a time per pool. */
void flt_pool_run(flt_pool *p, flt_pool_fn fn, void *ctx);

/* Called by every thread of a running job: returns when all have arrived. */
void flt_pool_barrier(flt_pool *p);

/* Split [0, n) into nth nearly equal contiguous parts; part ith is [*lo, *hi).
 * Depends only on (n, ith, nth). */
static inline void flt_split(long long n, int ith, int nth, long long *lo, long long *hi) {
    long long base = n / nth, rem = n % nth;
    *lo = ith * base + (ith < rem ? ith : rem);
    *hi = *lo + base + (ith < rem ? 1 : 0);
}

#endif
