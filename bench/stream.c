/* STREAM-style read bandwidth: how fast this machine streams a large array
 * from memory into the cores, the bound on token generation (every weight is
 * read once per token). Not part of the library; bench/compare.sh builds it:
 *
 *   cc -O3 -march=native -pthread bench/stream.c -o stream && ./stream [MiB] [threads...]
 *
 * Each measurement sums a 1 GiB array (default, on transparent huge pages
 * where the OS gives them) of 64-bit words split into
 * one contiguous share per thread, best of 7 passes after a warm-up (STREAM's
 * convention: the best pass is the one least disturbed by other processes).
 * Prints one line per thread count: "threads N read_GBps X". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

typedef struct {
    const uint64_t *a;
    size_t n;
    uint64_t sum;
    pthread_barrier_t *bar;
    double t0, t1;
} job;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Four independent accumulators: integer adds vectorize without changing the
 * result, so the loop runs at load speed. */
static uint64_t sum_words(const uint64_t *a, size_t n) {
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i];
        s1 += a[i + 1];
        s2 += a[i + 2];
        s3 += a[i + 3];
    }
    for (; i < n; i++) s0 += a[i];
    return s0 + s1 + s2 + s3;
}

static void *run(void *arg) {
    job *j = arg;
    pthread_barrier_wait(j->bar);
    j->t0 = now();
    j->sum = sum_words(j->a, j->n);
    j->t1 = now();
    return NULL;
}

static double measure(const uint64_t *a, size_t n, int nth, uint64_t *check) {
    pthread_t th[256];
    job jobs[256];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)nth);
    for (int i = 0; i < nth; i++) {
        size_t lo = n * (size_t)i / (size_t)nth, hi = n * (size_t)(i + 1) / (size_t)nth;
        jobs[i] = (job){.a = a + lo, .n = hi - lo, .bar = &bar};
        if (i) pthread_create(&th[i], NULL, run, &jobs[i]);
    }
    run(&jobs[0]);
    for (int i = 1; i < nth; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    double t0 = jobs[0].t0, t1 = jobs[0].t1;
    uint64_t s = 0;
    for (int i = 0; i < nth; i++) {
        if (jobs[i].t0 < t0) t0 = jobs[i].t0;
        if (jobs[i].t1 > t1) t1 = jobs[i].t1;
        s += jobs[i].sum;
    }
    *check = s;
    return (double)n * sizeof(uint64_t) / (t1 - t0) / 1e9;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    if (mib < 16 || mib > (1u << 20)) { fprintf(stderr, "usage: stream [MiB >= 16] [threads...]\n"); return 2; }
    size_t n = mib * 1024 * 1024 / sizeof(uint64_t);
    uint64_t *a = NULL;
    /* 2 MiB-aligned and marked for transparent huge pages, as Flint's packed
     * weights are: with 4 KiB pages the prefetchers stop at every page and
     * the figure understates what the memory system delivers. */
    if (posix_memalign((void **)&a, (size_t)2 << 20, n * sizeof *a)) { fprintf(stderr, "stream: out of memory\n"); return 1; }
#ifdef MADV_HUGEPAGE
    (void)madvise(a, n * sizeof *a, MADV_HUGEPAGE);
#endif
    for (size_t i = 0; i < n; i++) a[i] = i * 0x9E3779B97F4A7C15ull; /* touch every page */
    int counts[64], nc = 0;
    for (int i = 2; i < argc && nc < 64; i++) {
        int t = atoi(argv[i]);
        if (t < 1 || t > 256) { fprintf(stderr, "stream: thread count %s outside 1..256\n", argv[i]); return 2; }
        counts[nc++] = t;
    }
    if (!nc) { counts[nc++] = 1; counts[nc++] = 2; }
    for (int c = 0; c < nc; c++) {
        uint64_t check, ref = 0;
        measure(a, n, counts[c], &ref); /* warm-up */
        double best = 0;
        for (int r = 0; r < 7; r++) {
            double g = measure(a, n, counts[c], &check);
            if (check != ref) { fprintf(stderr, "stream: sums differ between passes\n"); return 1; }
            if (g > best) best = g;
        }
        printf("threads %d read_GBps %.2f array_MiB %zu\n", counts[c], best, mib);
    }
    free(a);
    return 0;
}
