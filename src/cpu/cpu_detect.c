/* Choosing a kernel set. CPUID alone is not enough: the OS must also save the
 * YMM registers on context switches (XCR0 bits 1 and 2, read with XGETBV),
 * or AVX code corrupts state across threads. The choice is made once; the
 * pthread_once flags are the only mutable globals in the kernel code. */
#include "cpu/kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static bool detect_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
    if (!(fma && osxsave && avx && f16c)) return false;
    /* XGETBV by opcode bytes: the intrinsic would need the xsave target */
    unsigned xlo, xhi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(xlo), "=d"(xhi) : "c"(0));
    (void)xhi;
    if ((xlo & 0x6u) != 0x6u) return false;   /* XMM and YMM state enabled */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return b & (1u << 5);
}

/* Called only when detect_avx2() holds. A ZMM-using set also needs the OS to
 * save the opmask registers and all 512-bit state (XCR0 bits 5..7): a kernel
 * may expose CPUID AVX-512 yet not enable it (then using it faults). */
static bool detect_avx512(void) {
    unsigned a, b, c, d;
    unsigned xlo, xhi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(xlo), "=d"(xhi) : "c"(0));
    (void)xhi;
    if ((xlo & 0xe6u) != 0xe6u) return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
    const bool vnni = c & (1u << 11);
    return f && dq && bw && vl && vnni;
}
#else
static bool detect_avx2(void) { return false; }
static bool detect_avx512(void) { return false; }
#endif

static pthread_once_t features_once = PTHREAD_ONCE_INIT;
static bool has_avx2, has_avx512;

static void features_init(void) {
    has_avx2 = detect_avx2();
    has_avx512 = has_avx2 && detect_avx512();
}

bool flt_cpu_has_avx2(void) {
    pthread_once(&features_once, features_init);
    return has_avx2;
}

bool flt_cpu_has_avx512(void) {
    pthread_once(&features_once, features_init);
    return has_avx512;
}

const flt_kernels *flt_kernels_by_name(const char *name) {
    if (!name) return NULL;
    if (strcmp(name, "scalar") == 0) return flt_kernels_scalar();
    if (strcmp(name, "neon") == 0) return flt_kernels_neon_table();   /* NULL off AArch64 */
    if (strcmp(name, "avx2") == 0) return flt_cpu_has_avx2() ? flt_kernels_avx2_table() : NULL;
    if (strcmp(name, "avx512") == 0) return flt_cpu_has_avx512() ? flt_kernels_avx512_table() : NULL;
    return NULL;
}

int flt_kernels_list(const flt_kernels **out, int cap) {
    const flt_kernels *all[4];
    int n = 0;
    all[n++] = flt_kernels_scalar();
    if (flt_kernels_neon_table()) all[n++] = flt_kernels_neon_table();
    if (flt_cpu_has_avx2() && flt_kernels_avx2_table()) all[n++] = flt_kernels_avx2_table();
    if (flt_cpu_has_avx512() && flt_kernels_avx512_table()) all[n++] = flt_kernels_avx512_table();
    for (int i = 0; i < n && i < cap; i++) out[i] = all[i];
    return n;
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static const flt_kernels *default_set;

static void default_init(void) {
    const flt_kernels *forced = flt_kernels_by_name(getenv("FLINT_KERNELS"));
    if (forced) { default_set = forced; return; }
    const flt_kernels *sets[4];
    int n = flt_kernels_list(sets, 4);
    default_set = sets[(n < 4 ? n : 4) - 1];   /* the list is ordered worst to best */
}

const flt_kernels *flt_kernels_default(void) {
    pthread_once(&default_once, default_init);
    return default_set;
}
