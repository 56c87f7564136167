/* flint synth: write a Llama-architecture GGUF model with random weights from a
 * fixed seed (src/llm/synth.c), so a fresh machine has a model to run and
 * benchmarks have realistic shapes without downloading anything.
 *
 * The file is written under a temporary name next to the output and moved into
 * place only when complete, so an interrupted run never leaves a truncated
 * model under the requested name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "formats/gguf.h"
#include "llm/synth.h"

static const char synth_usage[] =
    "usage: flint synth -o OUT.gguf [--shape tiny|135m|1b] [--type T] [--seed N]\n"
    "                   [--vocab VOCAB.gguf] [--ctx N] [--force]\n"
    "  -o, --output FILE   where to write the model (refuses to overwrite without --force)\n"
    "      --shape NAME    tiny (n_embd 64, 2 layers; the default), 135m (SmolLM-135M's\n"
    "                      shape), 1b (TinyLlama-1.1B's shape)\n"
    "      --type T        F32 (default), F16, BF16, Q8_0 or Q4_0 for the 2-D weights;\n"
    "                      norms are always F32\n"
    "      --seed N        weights are random from this seed (default 20261127); the same\n"
    "                      arguments always give the same bytes\n"
    "      --vocab FILE    copy the tokenizer (every tokenizer.* key) from this GGUF file,\n"
    "                      e.g. a vocab-only ggml-vocab-*.gguf; default: a small built-in\n"
    "                      SentencePiece vocab of English words\n"
    "      --ctx N         context length to record (default: the shape's)\n"
    "      --force         replace OUT if it exists\n";

typedef struct progress_state {
    int last_pct;
} progress_state;

static void report_progress(void *user, uint64_t done, uint64_t total) {
    progress_state *ps = user;
    int pct = total ? (int)(done * 100 / total) : 100;
    if (pct == ps->last_pct) return;
    ps->last_pct = pct;
    /* All weights exist before the file is written: say so, as writing a large
     * model to a slow disk takes a while after 100%. */
    fprintf(stderr, "\rflint synth: generating weights %3d%% (%.1f / %.1f MiB)%s", pct, (double)done / 1048576.0,
            (double)total / 1048576.0, done == total ? ", writing..." : "");
    fflush(stderr);
}

static bool parse_type(const char *s, flt_dtype *out) {
    static const struct { const char *name; flt_dtype t; } types[] = {
        {"F32", FLT_F32}, {"F16", FLT_F16}, {"BF16", FLT_BF16}, {"Q8_0", FLT_Q8_0}, {"Q4_0", FLT_Q4_0},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcasecmp(s, types[i].name)) {
            *out = types[i].t;
            return true;
        }
    return false;
}

/* Move the finished temporary file to its name. Without --force, link() makes
 * "fail if it exists" atomic, even against a file created while we worked. */
static int publish(const char *tmp, const char *out, bool force) {
    if (force) {
        if (rename(tmp, out) != 0) return flint_error("renaming %s to %s: %s", tmp, out, strerror(errno));
        return FLINT_EXIT_OK;
    }
    if (link(tmp, out) == 0) {
        unlink(tmp);
        return FLINT_EXIT_OK;
    }
    if (errno == EEXIST) return flint_error("%s exists (use --force to replace it)", out);
    /* Filesystems without hard links: check, then rename (a small race, as any tool has). */
    struct stat sb;
    if (stat(out, &sb) == 0) return flint_error("%s exists (use --force to replace it)", out);
    if (rename(tmp, out) != 0) return flint_error("renaming %s to %s: %s", tmp, out, strerror(errno));
    return FLINT_EXIT_OK;
}

int flint_cmd_synth(int argc, char **argv) {
    const char *cmd = "synth";
    const char *out = NULL, *shape = "tiny", *type_s = "F32", *vocab_path = NULL;
    uint64_t seed = FLT_SYNTH_DEFAULT_SEED;
    int32_t ctx = 0;
    bool force = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (flint_is_help(a)) {
            fputs(synth_usage, stdout);
            return FLINT_EXIT_OK;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, synth_usage, NULL);
            out = v;
        } else if (!strcmp(a, "--shape")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, synth_usage, NULL);
            shape = v;
        } else if (!strcmp(a, "--type")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, synth_usage, NULL);
            type_s = v;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, synth_usage, NULL);
            if (!flint_parse_u64(cmd, a, v, &seed)) return flint_usage_error(cmd, synth_usage, NULL);
        } else if (!strcmp(a, "--vocab")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, synth_usage, NULL);
            vocab_path = v;
        } else if (!strcmp(a, "--ctx")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, synth_usage, NULL);
            if (!flint_parse_i32(cmd, a, v, 1, 1 << 24, &ctx)) return flint_usage_error(cmd, synth_usage, NULL);
        } else if (!strcmp(a, "--force")) {
            force = true;
        } else {
            return flint_usage_error(cmd, synth_usage, a[0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'", a);
        }
    }
    if (!out || !*out) return flint_usage_error(cmd, synth_usage, "missing -o OUT.gguf");
    flt_synth_params p;
    if (!flt_synth_preset(shape, &p))
        return flint_usage_error(cmd, synth_usage, "unknown shape '%s' (tiny, 135m or 1b)", shape);
    if (!parse_type(type_s, &p.type))
        return flint_usage_error(cmd, synth_usage, "unknown type '%s' (F32, F16, BF16, Q8_0 or Q4_0)", type_s);
    p.seed = seed;
    if (ctx) p.n_ctx = ctx;
    char name[64];
    snprintf(name, sizeof name, "flint-synth-%s", shape);
    p.name = name;

    /* Refuse early, before minutes of work; publish() checks again atomically. */
    struct stat sb;
    if (!force && stat(out, &sb) == 0) return flint_error("%s exists (use --force to replace it)", out);

    flt_err e;
    flt_err_clear(&e);
    flt_gguf *vocab = NULL;
    if (vocab_path) {
        if (flt_gguf_open(vocab_path, &vocab, &e) != FLINTRT_OK) return flint_error("--vocab %s: %s", vocab_path, e.msg);
        p.vocab = vocab;
    }

    progress_state ps = {-1};
    bool tty = isatty(STDERR_FILENO);
    if (tty) {
        p.progress = report_progress;
        p.progress_user = &ps;
    }

    int rc = FLINT_EXIT_OK;
    size_t tn = strlen(out) + sizeof ".tmp.XXXXXX";
    char *tmp = malloc(tn);
    if (!tmp) {
        flt_gguf_close(vocab);
        return flint_error("out of memory");
    }
    snprintf(tmp, tn, "%s.tmp.XXXXXX", out);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = flint_error("creating a temporary file next to %s: %s", out, strerror(errno));
        goto done;
    }
    /* mkstemp makes the file private (0600); a model is an ordinary file, so give
     * it the permissions creat() would have under the user's umask. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    close(fd);

    double t0 = flint_now();
    flintrt_status st = flt_synth_llama(&p, tmp, &e);
    if (tty && ps.last_pct >= 0) fputc('\n', stderr);
    if (st != FLINTRT_OK) {
        unlink(tmp);
        rc = flint_error("%s", e.msg);
        goto done;
    }
    double secs = flint_now() - t0;
    rc = publish(tmp, out, force);
    if (rc != FLINT_EXIT_OK) {
        unlink(tmp);
        goto done;
    }
    if (stat(out, &sb) == 0)
        printf("wrote %s: llama %s %s, seed %llu, %.1f MiB in %.2f s\n", out, shape, flt_dtype_info(p.type)->name,
               (unsigned long long)seed, (double)sb.st_size / 1048576.0, secs);

done:
    free(tmp);
    flt_gguf_close(vocab);
    return rc;
}
