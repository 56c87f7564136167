/* flintrt_sandbox_enter: a seccomp-BPF filter, written out by hand (no libseccomp:
 * the program is ~60 instructions and a dependency would be larger than it), that
 * makes socket creation, program execution and opening files for writing fail with
 * EPERM for the rest of the process's life. docs/SECURITY.md lists the calls. */
#include "api/api_internal.h"

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define FLT_AUDIT_ARCH AUDIT_ARCH_X86_64
#else
#define FLT_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define MAX_INSNS 160
#define RET_EPERM (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define RET_ENOSYS (SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA))

/* Low 32 bits of syscall argument k (the open flags fit in them). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(k) (offsetof(struct seccomp_data, args) + 8 * (k))
#else
#define ARG_LO(k) (offsetof(struct seccomp_data, args) + 8 * (k) + 4)
#endif

typedef struct prog {
    struct sock_filter f[MAX_INSNS];
    unsigned n;
    bool overflow;
} prog;

static void emit(prog *p, struct sock_filter s) {
    if (p->n == MAX_INSNS) {
        p->overflow = true;
        return;
    }
    p->f[p->n++] = s;
}

/* if (nr == n) return ret; */
static void deny(prog *p, long nr, uint32_t ret) {
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1));
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ret));
}

/* if (nr == n) return (arg k & mask) ? EPERM : ALLOW; */
static void deny_flags(prog *p, long nr, int k, uint32_t mask) {
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 4));
    emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)ARG_LO(k)));
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, mask, 0, 1));
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, RET_EPERM));
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

static void build(prog *p, uint32_t flags) {
    /* another ABI (i386 int 0x80 on x86_64) would number the calls differently: refuse it all */
    emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)offsetof(struct seccomp_data, arch)));
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FLT_AUDIT_ARCH, 1, 0));
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, RET_EPERM));
    emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)offsetof(struct seccomp_data, nr)));
#if defined(__x86_64__)
    /* x32 calls are the x86_64 numbers with bit 30 set: refuse them all */
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, RET_EPERM));
#endif
    /* io_uring performs opens, socket creation and more without passing through here */
    deny(p, __NR_io_uring_setup, RET_EPERM);
    if (flags & FLINTRT_SANDBOX_NO_NETWORK) {
        deny(p, __NR_socket, RET_EPERM);
        deny(p, __NR_socketpair, RET_EPERM);
    }
    if (flags & FLINTRT_SANDBOX_NO_EXEC) {
        deny(p, __NR_execve, RET_EPERM);
        deny(p, __NR_execveat, RET_EPERM);
    }
    if (flags & FLINTRT_SANDBOX_NO_WRITE) {
        const uint32_t wr = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
#ifdef __NR_open
        deny_flags(p, __NR_open, 1, wr);
#endif
        deny_flags(p, __NR_openat, 2, wr);
        /* openat2 keeps its flags in memory a filter cannot read: ENOSYS makes callers fall back to openat */
        deny(p, __NR_openat2, RET_ENOSYS);
        static const long calls[] = {
#ifdef __NR_creat
            __NR_creat,
#endif
#ifdef __NR_rename
            __NR_rename,
#endif
#ifdef __NR_renameat
            __NR_renameat,
#endif
            __NR_renameat2,
#ifdef __NR_unlink
            __NR_unlink,
#endif
            __NR_unlinkat,
#ifdef __NR_rmdir
            __NR_rmdir,
#endif
#ifdef __NR_link
            __NR_link,
#endif
            __NR_linkat,
#ifdef __NR_symlink
            __NR_symlink,
#endif
            __NR_symlinkat,
#ifdef __NR_mkdir
            __NR_mkdir,
#endif
            __NR_mkdirat,
#ifdef __NR_mknod
            __NR_mknod,
#endif
            __NR_mknodat,
            __NR_truncate,
#ifdef __NR_chmod
            __NR_chmod,
#endif
            __NR_fchmodat,
#ifdef __NR_chown
            __NR_chown,
#endif
#ifdef __NR_lchown
            __NR_lchown,
#endif
            __NR_fchownat,
        };
        for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) deny(p, calls[i], RET_EPERM);
    }
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

FLINTRT_API flintrt_status flintrt_sandbox_enter(uint32_t flags) {
    if (flags == 0 || (flags & ~(uint32_t)FLINTRT_SANDBOX_ALL))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "sandbox_enter: flags must be a non-empty combination of FLINTRT_SANDBOX_*");
    prog p;
    memset(&p, 0, sizeof p);
    build(&p, flags);
    if (p.overflow) return flt_api_fail(FLINTRT_ERR_INTERNAL, "sandbox: filter program too long");
    struct sock_fprog fp = {.len = (unsigned short)p.n, .filter = p.f};
    /* no_new_privs: required for an unprivileged filter, and no set-uid program may run after */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return flt_api_fail(FLINTRT_ERR_UNSUPPORTED, "sandbox: PR_SET_NO_NEW_PRIVS failed: %s", strerror(errno));
    /* TSYNC: every thread of the process, not only the caller */
    long r = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp);
    if (r != 0 && errno == ENOSYS) r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0);
    if (r > 0) return flt_api_fail(FLINTRT_ERR_UNSUPPORTED, "sandbox: thread %ld could not take the filter", r);
    if (r != 0) return flt_api_fail(FLINTRT_ERR_UNSUPPORTED, "sandbox: seccomp filter refused: %s", strerror(errno));
    return FLINTRT_OK;
}

#else

FLINTRT_API flintrt_status flintrt_sandbox_enter(uint32_t flags) {
    (void)flags;
    return flt_api_fail(FLINTRT_ERR_UNSUPPORTED, "sandbox: seccomp filters exist only on Linux (x86_64, aarch64)");
}

#endif
