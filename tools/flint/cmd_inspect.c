/* flint inspect FILE: print a GGUF file's header, metadata and tensor table.
 * Exit status: 0 ok, 1 the file cannot be read or is malformed, 2 usage error. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "formats/gguf.h"
#include "formats/mmap.h"
#include "trust/digest.h"
#include "trust/policy.h"
#include "trust_flags.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: flint inspect FILE [--require-signed --trusted-key KEY ...]\n"
            "  Print a GGUF file's SHA-256, version, alignment, metadata (type and value; long\n"
            "  arrays abbreviated) and tensor table (name, type, shape, file offset, bytes).\n"
            "%s", FLINT_TRUST_USAGE);
}

/* Names from the file are untrusted: printable ASCII as is, anything else \xNN.
 * Returns the number of columns printed. */
static int print_name(const char *p, size_t n) {
    int cols = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            putchar(c);
            cols += 1;
        } else {
            printf("\\x%02x", c);
            cols += 4;
        }
    }
    return cols;
}

static void pad(int cols, int width) {
    for (int i = cols; i < width; i++) putchar(' ');
}

int flint_cmd_inspect(int argc, char **argv) {
    if (flint_onnx_in_args(argc, argv, false)) return flint_cmd_inspect_onnx(argc, argv);
    flint_trust_flags tf;
    if (!flint_trust_flags_init(&tf, "inspect")) return 2;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (flint_is_help(a)) {
            usage(stdout);
            flint_trust_flags_free(&tf);
            return 0;
        }
        int r = flint_trust_flags_parse(&tf, "inspect", argc, argv, &i);
        if (r == 1) continue;
        if (r < 0 || (a[0] == '-' && a[1] != '\0') || a[0] == '\0' || path) {
            if (r == 0 && a[0] == '-') fprintf(stderr, "flint inspect: unknown option '%s'\n", a);
            else if (r == 0 && path) fprintf(stderr, "flint inspect: one FILE only ('%s')\n", a);
            usage(stderr);
            flint_trust_flags_free(&tf);
            return 2;
        }
        path = a;
    }
    if (!path || !flint_trust_flags_check(&tf, "inspect")) {
        usage(stderr);
        flint_trust_flags_free(&tf);
        return 2;
    }
    flintrt_model_options mo;
    flintrt_model_options_init(&mo);
    flint_trust_flags_apply(&tf, &mo);
    flt_trust_policy policy;
    flt_trust_policy_from_options(&mo, &policy);
    policy.compute_digest = true; /* inspect always shows the digest */
    flt_err e;
    flt_err_clear(&e);
    flt_mapped_file map;
    flt_trust_result trust;
    memset(&trust, 0, sizeof trust);
    flintrt_status st = flt_map_file(path, &map, &e);
    if (!st) {
        /* the policy (and the digest) see the bytes before the parser does */
        st = flt_trust_check(path, map.data, map.size, &policy, &trust, &e);
        if (st == FLINTRT_ERR_UNSUPPORTED && !policy.require_signed) st = FLINTRT_OK; /* no libsodium: no digest */
    }
    flint_trust_flags_free(&tf);
    flt_gguf *g = NULL;
    if (!st) st = flt_gguf_open_memory(map.data, map.size, &g, &e);
    if (st != FLINTRT_OK) {
        fprintf(stderr, "flint inspect: %s%s%s\n", st == FLINTRT_ERR_SIGNATURE ? "" : path,
                st == FLINTRT_ERR_SIGNATURE ? "" : ": ", e.msg);
        flt_trust_result_free(&trust);
        flt_unmap_file(&map);
        return 1;
    }

    printf("file:        %s\n", path);
    if (trust.has_digest) {
        char hex[65];
        flt_hex(trust.sha256, 32, hex);
        printf("sha256:      %s\n", hex);
    } else {
        printf("sha256:      - (Flint was built without libsodium)\n");
    }
    if (trust.verified) {
        printf("signature:   verified, key %s\ntrusted comment: ", trust.key_id);
        flint_print_escaped(stdout, trust.trusted_comment);
        putchar('\n');
    }
    uint64_t n_kv = flt_gguf_n_kv(g), n_t = flt_gguf_n_tensors(g);
    printf("format:      GGUF version %" PRIu32 "\n", flt_gguf_version(g));
    printf("alignment:   %" PRIu64 "\n", flt_gguf_alignment(g));
    if (n_t)
        printf("data offset: %" PRIu64 "\n", flt_gguf_data_offset(g));
    else
        printf("data offset: - (no tensors)\n");
    printf("file size:   %" PRIu64 " bytes\n", flt_gguf_file_size(g));

    printf("\nmetadata (%" PRIu64 " keys):\n", n_kv);
    int kw = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        int l = (int)flt_gguf_key(g, i).n;
        if (l > kw) kw = l;
    }
    if (kw > 48) kw = 48;
    char val[200];
    for (uint64_t i = 0; i < n_kv; i++) {
        flt_str k = flt_gguf_key(g, i);
        flt_gguf_vtype t = flt_gguf_kv_type(g, i);
        char tname[40];
        if (t == FLT_GGUF_ARRAY)
            snprintf(tname, sizeof tname, "ARRAY[%s]", flt_gguf_vtype_name(flt_gguf_arr_type(g, i)));
        else
            snprintf(tname, sizeof tname, "%s", flt_gguf_vtype_name(t));
        flt_gguf_kv_render(g, i, val, sizeof val);
        printf("  ");
        pad(print_name(k.p, k.n), kw);
        printf("  %-15s %s\n", tname, val);
    }

    printf("\ntensors (%" PRIu64 "):\n", n_t);
    int nw = 4;
    for (uint64_t i = 0; i < n_t; i++) {
        int l = (int)flt_gguf_tensor_at(g, i)->name.n;
        if (l > nw) nw = l;
    }
    if (nw > 48) nw = 48;
    printf("  ");
    pad(printf("name"), nw);
    printf("  %-8s %-28s %14s %14s\n", "type", "shape", "file offset", "bytes");
    uint64_t total_bytes = 0, total_params = 0;
    for (uint64_t i = 0; i < n_t; i++) {
        const flt_gguf_tensor *t = flt_gguf_tensor_at(g, i);
        const flt_ggml_type_info *ti = flt_ggml_type(t->type);
        char shape[96];
        size_t o = 0;
        uint64_t nel = 1;
        shape[o++] = '[';
        for (uint32_t j = 0; j < t->n_dims; j++) {
            o += (size_t)snprintf(shape + o, sizeof shape - o, "%s%" PRId64, j ? ", " : "", t->ne[j]);
            if (o >= sizeof shape) o = sizeof shape - 1;
            nel *= (uint64_t)t->ne[j]; /* validated on open: no overflow */
        }
        snprintf(shape + o, sizeof shape - o, "]");
        printf("  ");
        pad(print_name(t->name.p, t->name.n), nw);
        printf("  %-8s %-28s %14" PRIu64 " %14" PRIu64 "\n", ti ? ti->name : "?", shape,
               flt_gguf_data_offset(g) + t->offset, t->size);
        total_bytes += t->size;
        total_params += nel;
    }
    printf("\ntotal: %" PRIu64 " tensors, %" PRIu64 " parameters, %" PRIu64 " bytes of tensor data\n",
           n_t, total_params, total_bytes);
    flt_gguf_close(g);
    flt_unmap_file(&map);
    flt_trust_result_free(&trust);
    return 0;
}
