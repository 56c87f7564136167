/* FLINT_KERNELS is read once, at the first flt_kernels_default() call, so each
 * setting needs a fresh process: this binary checks "scalar" in-process (set
 * before the first call), then re-runs itself for the fallback cases. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpu/kernels.h"
#include "harness.h"

static const char *best_name(void) {
    const flt_kernels *sets[8];
    const int n = flt_kernels_list(sets, 8);
    return sets[(n < 8 ? n : 8) - 1]->name;
}

/* Child mode: argv = self, "--child", expected default name. */
static int child(const char *expect) {
    return strcmp(flt_kernels_default()->name, expect) == 0 ? 0 : 1;
}

static int run_child(const char *self, const char *env_value, const char *expect) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (env_value) setenv("FLINT_KERNELS", env_value, 1);
        else unsetenv("FLINT_KERNELS");
        execl(self, self, "--child", expect, (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--child") == 0) return child(argv[2]);

    setenv("FLINT_KERNELS", "scalar", 1);
    CHECK(flt_kernels_default() == flt_kernels_scalar());
    unsetenv("FLINT_KERNELS");
    CHECK(flt_kernels_default() == flt_kernels_scalar());   /* chosen once, kept */

    const char *best = best_name();
    CHECKF(run_child(argv[0], "scalar", "scalar") == 0, "FLINT_KERNELS=scalar");
    CHECKF(run_child(argv[0], NULL, best) == 0, "unset -> %s", best);
    CHECKF(run_child(argv[0], "bogus", best) == 0, "unknown value -> %s", best);
    CHECKF(run_child(argv[0], "", best) == 0, "empty value -> %s", best);
    /* "avx2" where this CPU can't run it must fall back, not fail */
    CHECKF(run_child(argv[0], "avx2", flt_kernels_by_name("avx2") ? "avx2" : best) == 0, "FLINT_KERNELS=avx2");
    return flt_test_finish();
}
