/* Replays the fuzz corpus as an ordinary test, so every seed and every input that
 * once found a bug runs on each `ctest`, with or without clang or libFuzzer.
 *
 * Convention for fuzz harnesses:
 * - fuzz/fuzz_X.c defines `int flt_fuzz_X(const uint8_t *data, size_t size)` (the
 *   body: return 0; crash, e.g. __builtin_trap(), on a broken invariant) and the
 *   libFuzzer entry point LLVMFuzzerTestOneInput under `#ifndef FLT_FUZZ_NO_MAIN`.
 * - Its seeds and regression inputs live in fuzz/corpus/X/ (one input per file,
 *   small: a few KiB).
 * - The harness files are #included below into this one translation unit, so keep
 *   their helpers `static` and prefixed with the harness name (fz_X_...).
 * - To add a harness: add its #include line and one row to FLT_FUZZ_TARGETS below.
 *
 * The corpus folder comes from $FLINT_FUZZ_CORPUS (ctest sets it); "fuzz/corpus"
 * relative to the working directory otherwise. Each input is copied into a buffer
 * of exactly its size, so sanitizer builds catch over-reads. */
#define FLT_FUZZ_NO_MAIN
#include "../fuzz/fuzz_gguf.c"
#include "../fuzz/fuzz_tokenizer.c"
#include "../fuzz/fuzz_onnx.c"
#include "../fuzz/fuzz_npy.c"
#include "../fuzz/fuzz_kldbase.c"
#include "../fuzz/fuzz_minisig.c"
#include "../fuzz/fuzz_minikey.c"
#include "../fuzz/fuzz_onnxvalue.c"

#define FLT_FUZZ_TARGETS(X) \
    X(gguf) \
    X(tokenizer) \
    X(onnx) \
    X(npy) \
    X(kldbase) \
    X(minisig) \
    X(minikey) \
    X(onnxvalue)

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct fuzz_target {
    const char *name;
    int (*fn)(const uint8_t *data, size_t size);
} fuzz_target;

#define FLT_FUZZ_ROW(x) {#x, flt_fuzz_##x},
static const fuzz_target k_targets[] = {FLT_FUZZ_TARGETS(FLT_FUZZ_ROW)};

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every regular file of dir through fn; returns the number replayed. */
static int replay_dir(const char *dir, const fuzz_target *t) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **p = realloc(names, cap * sizeof *names);
            if (!p) abort();
            names = p;
        }
        names[n] = malloc(strlen(de->d_name) + 1);
        if (!names[n]) abort();
        strcpy(names[n++], de->d_name);
    }
    closedir(d);
    if (n > 1) qsort(names, n, sizeof *names, by_name); /* a stable order for logs */
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        int pn = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (pn < 0 || (size_t)pn >= sizeof path) {
            CHECKF(0, "path too long: %s/%s", dir, names[i]);
            free(names[i]);
            continue;
        }
        size_t size = 0;
        uint8_t *buf = flt_test_read_file(path, &size);
        if (buf) {
            uint8_t *exact = malloc(size ? size : 1);
            if (!exact) abort();
            memcpy(exact, buf, size);
            free(buf);
            int rc = t->fn(exact, size);
            CHECKF(rc == 0, "%s: %s returned %d", path, t->name, rc);
            /* and every proper prefix of small inputs */
            for (size_t len = 0; size <= 4096 && len < size; len++) {
                uint8_t *pre = malloc(len ? len : 1);
                if (!pre) abort();
                memcpy(pre, exact, len);
                t->fn(pre, len);
                free(pre);
            }
            free(exact);
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int main(void) {
    const char *root = getenv("FLINT_FUZZ_CORPUS");
    if (!root || !*root) root = "fuzz/corpus";
    for (size_t i = 0; i < sizeof k_targets / sizeof k_targets[0]; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", root, k_targets[i].name);
        int n = replay_dir(dir, &k_targets[i]);
        CHECKF(n > 0, "no corpus for fuzz target '%s' in %s", k_targets[i].name, dir);
        printf("fuzz target %s: %d inputs replayed\n", k_targets[i].name, n);
    }
    return flt_test_finish();
}
