/* flintrt_sandbox_enter: in a forked child (the filter cannot be lifted), load a
 * model, enter the sandbox, then check that socket(), execve() and opening a file
 * for writing fail with EPERM while reading a file and generating text still work.
 * The child reports one bit per failed check through its exit status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flintrt.h"
#include "harness.h"
#include "llm/synth.h"

enum {
    BAD_SOCKET = 1 << 0,
    BAD_EXEC = 1 << 1,
    BAD_OPEN_WRITE = 1 << 2,
    BAD_OPEN_CREATE = 1 << 3,
    BAD_READ = 1 << 4,
    BAD_GENERATE = 1 << 5,
    BAD_ENTER = 1 << 6,
    BAD_UNLINK = 1 << 7,
};

static int count_tokens(flintrt_token t, const char *p, size_t n, void *user) {
    (void)t, (void)p, (void)n;
    ++*(int *)user;
    return 0;
}

static int child(const char *model_path, const char *existing) {
    int bad = 0;
    flintrt_model *m = NULL;
    if (flintrt_model_load(model_path, NULL, &m) != FLINTRT_OK) return 0x7f;
    if (flintrt_sandbox_enter(FLINTRT_SANDBOX_ALL) != FLINTRT_OK) return BAD_ENTER;
    errno = 0;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (!(s < 0 && errno == EPERM)) bad |= BAD_SOCKET;
    errno = 0;
    int sv[2];
    if (!(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 && errno == EPERM)) bad |= BAD_SOCKET;
    char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
    errno = 0;
    if (!(execve("/bin/true", argv, envp) < 0 && errno == EPERM)) bad |= BAD_EXEC;
    errno = 0;
    int fd = open(existing, O_WRONLY);
    if (!(fd < 0 && errno == EPERM)) bad |= BAD_OPEN_WRITE;
    errno = 0;
    fd = open(existing, O_RDONLY | O_APPEND);
    if (!(fd < 0 && errno == EPERM)) bad |= BAD_OPEN_WRITE;
    char fresh[700];
    snprintf(fresh, sizeof fresh, "%s.new", existing);
    errno = 0;
    fd = open(fresh, O_RDWR | O_CREAT, 0600);
    if (!(fd < 0 && errno == EPERM)) bad |= BAD_OPEN_CREATE;
    errno = 0;
    if (!(unlink(existing) < 0 && errno == EPERM)) bad |= BAD_UNLINK;
    /* reading still works */
    fd = open(existing, O_RDONLY);
    char buf[8] = {0};
    if (fd < 0 || read(fd, buf, 5) != 5 || memcmp(buf, "hello", 5) != 0) bad |= BAD_READ;
    if (fd >= 0) close(fd);
    /* and so does generation (threads, memory, writes to open descriptors) */
    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.n_threads = 2;
    so.n_ctx = 64;
    flintrt_session *sess = NULL;
    int n = 0;
    flintrt_generate_params gp;
    flintrt_generate_params_init(&gp);
    gp.max_tokens = 8;
    gp.stop_at_eos = 0;
    gp.on_token = count_tokens;
    gp.user = &n;
    if (flintrt_session_create(m, &so, &sess) != FLINTRT_OK || flintrt_generate(sess, "Once", &gp, NULL) != FLINTRT_OK ||
        n != 8)
        bad |= BAD_GENERATE;
    flintrt_session_free(sess);
    flintrt_model_free(m);
    return bad;
}

int main(void) {
    char dir[] = "/tmp/flint-sandbox-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char model[600], existing[600];
    snprintf(model, sizeof model, "%s/model.gguf", dir);
    snprintf(existing, sizeof existing, "%s/existing.txt", dir);
    flt_synth_params p;
    CHECK(flt_synth_preset("tiny", &p));
    flt_err e;
    flt_err_clear(&e);
    CHECKF(flt_synth_llama(&p, model, &e) == FLINTRT_OK, "%s", e.msg);
    FILE *f = fopen(existing, "w");
    CHECK(f && fputs("hello\n", f) >= 0 && fclose(f) == 0);

    CHECK(flintrt_sandbox_enter(0) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(flintrt_sandbox_enter(1u << 10) == FLINTRT_ERR_INVALID_ARGUMENT);

    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(child(model, existing));
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status), "child did not exit normally (status %d)", status);
    int bad = WIFEXITED(status) ? WEXITSTATUS(status) : 0xff;
    CHECKF(bad != 0x7f, "child could not load the model");
    CHECKF(!(bad & BAD_ENTER), "sandbox_enter failed in the child");
    CHECKF(!(bad & BAD_SOCKET), "socket()/socketpair() were not refused with EPERM");
    CHECKF(!(bad & BAD_EXEC), "execve() was not refused with EPERM");
    CHECKF(!(bad & BAD_OPEN_WRITE), "open() for writing was not refused with EPERM");
    CHECKF(!(bad & BAD_OPEN_CREATE), "open(O_CREAT) was not refused with EPERM");
    CHECKF(!(bad & BAD_UNLINK), "unlink() was not refused with EPERM");
    CHECKF(!(bad & BAD_READ), "reading a file failed inside the sandbox");
    CHECKF(!(bad & BAD_GENERATE), "generation failed inside the sandbox");

    /* the parent is not sandboxed: the file is still there and writable */
    f = fopen(existing, "a");
    CHECK(f != NULL);
    if (f) fclose(f);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return flt_test_finish();
}
