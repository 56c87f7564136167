/* LD_PRELOAD shim for the llama.cpp peer (bench/compare.sh --llama-noamx):
 * answers its request for AMX tile state (arch_prctl ARCH_REQ_XCOMP_PERM) with
 * EPERM, so ggml falls back from its AMX buffer type to its AVX-512 repacked
 * kernels. On this VM the request succeeds but AMX instructions then die with
 * SIGILL, which kills llama.cpp's prompt processing of quantized files.
 * Build: cc -O2 -shared -fPIC bench/llama_noamx.c -o noamx.so (compare.sh does). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023

long syscall(long n, ...) {
    va_list ap;
    va_start(ap, n);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long), d = va_arg(ap, long),
         e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    if (n == SYS_arch_prctl && a == ARCH_REQ_XCOMP_PERM) {
        errno = EPERM;
        return -1;
    }
    /* everything else: the raw system call, as libc's syscall() would make it */
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    if (ret < 0 && ret > -4096) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}
