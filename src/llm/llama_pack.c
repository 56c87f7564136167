/* Repacking a llama model's matrices at load time for the kernel set that will
 * run them (cpu/packed.h). The packed copies live in one anonymous mapping
 * owned by the model; as each matrix is packed, the pages of its plain bytes
 * are handed back to the OS (they stay in the file mapping and fault back in
 * if anything reads them again: embedding rows, another kernel set), so the
 * resident set holds each weight once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/checked.h"
#include "llm/llama.h"

typedef struct {
    flt_tensor *t;
    const flt_packed_kernel *pk;
    int64_t np;  /* panels */
    size_t size; /* packed bytes: np panels */
    size_t off;  /* in the mapping, page-aligned */
    void *dst;
} pack_item;

/* Drop the whole pages inside [p, p + n) from this process (file pages only). */
static void release_pages(const void *p, size_t n) {
    const long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0) return;
    uintptr_t lo = ((uintptr_t)p + (uintptr_t)ps - 1) & ~((uintptr_t)ps - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~((uintptr_t)ps - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* Load-time threads share the matrices through a counter; each packs whole
 * matrices (a 1.1B model has ~150, plenty to balance). */
typedef struct {
    pack_item *items;
    int n;
    bool release_plain;
    atomic_int next;
} pack_job;

static void *pack_worker(void *arg) {
    pack_job *j = arg;
    for (;;) {
        const int i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n) break;
        const pack_item *it = &j->items[i];
        const flt_tensor *t = it->t;
        it->pk->pack(t->data, flt_tensor_row_bytes(t), t->shape[0], t->shape[1], 0, it->np, it->dst);
        if (j->release_plain) release_pages(t->data, flt_tensor_nbytes(t));
    }
    return NULL;
}

static int collect(flt_llama *m, const flt_kernels *k, pack_item *items, int cap) {
    int n = 0;
    for (int32_t l = -1; l < m->hp.n_layer; l++) {
        flt_llama_layer *L = l >= 0 ? &m->layers[l] : NULL;
        flt_tensor *lt[7] = {&m->output};
        int nl = 1;
        if (L) {
            flt_tensor *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
            memcpy(lt, mats, sizeof mats);
            nl = 7;
        }
        for (int i = 0; i < nl && n < cap; i++) {
            flt_tensor *t = lt[i];
            const flt_packed_kernel *pk = k->packed[t->dtype];
            if (!pk || t->ndim != 2 || !flt_tensor_is_contiguous(t) || pk->panel_bytes(t->shape[1]) == 0) continue;
            items[n++] = (pack_item){t, pk, (t->shape[0] + pk->panel_rows - 1) / pk->panel_rows, 0, 0, NULL};
        }
    }
    return n;
}

flintrt_status flt_llama_pack(flt_llama *m, const flt_kernels *k, bool release_plain, flt_err *e) {
    if (m->packed) return FLINTRT_OK;
    const int cap = 1 + 7 * m->hp.n_layer;
    pack_item *items = flt_calloc_array((size_t)cap, sizeof *items);
    if (!items) return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "repacking: %d matrices", cap);
    const int n = collect(m, k, items, cap);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        pack_item *it = &items[i];
        size_t bytes;
        if (!flt_mul_size((size_t)it->np, it->pk->panel_bytes(it->t->shape[1]), &it->size) ||
            !flt_add_size(it->size, 4095, &bytes)) {
            free(items);
            return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "repacking: matrix too large");
        }
        bytes &= ~(size_t)4095; /* each matrix starts on its own page */
        it->off = total;
        if (!flt_add_size(total, bytes, &total)) {
            free(items);
            return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "repacking: sizes overflow");
        }
    }
    if (n == 0 || total == 0) {
        free(items);
        return FLINTRT_OK;
    }
    /* 2 MiB-aligned and marked for transparent huge pages: the products
     * stream these bytes, and with 4 KiB pages every page costs a TLB walk
     * and stops the hardware prefetchers at its boundary. */
    const size_t huge = (size_t)2 << 20;
    size_t mapped;
    if (!flt_add_size(total, huge, &mapped)) {
        free(items);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "repacking: sizes overflow");
    }
    void *map = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        free(items);
        return flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "repacking: %zu bytes for the packed weights", total);
    }
    char *base = (char *)(((uintptr_t)map + huge - 1) & ~(uintptr_t)(huge - 1));
#ifdef MADV_HUGEPAGE
    (void)madvise(base, total, MADV_HUGEPAGE); /* a hint: without it, 4 KiB pages work too */
#endif
    for (int i = 0; i < n; i++) {
        items[i].dst = base + items[i].off;
        m->bytes_per_token += items[i].size;
        m->bytes_per_token -= flt_tensor_nbytes(items[i].t);
    }
    pack_job job = {items, n, release_plain, 0};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nth = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu, started = 0;
    pthread_t tid[8];
    for (int i = 1; i < nth; i++)
        if (pthread_create(&tid[started], NULL, pack_worker, &job) == 0) started++;
    pack_worker(&job);
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
    for (int i = 0; i < n; i++) {
        flt_tensor *t = items[i].t;
        t->packed = items[i].dst;
        t->packed_for = k;
    }
    /* The packed weights are never written again. */
    (void)mprotect(base, total, PROT_READ);
    m->packed = map;
    m->packed_bytes = mapped;
    free(items);
    return FLINTRT_OK;
}
