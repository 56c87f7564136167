/* flint eval: evaluate given token ids as one sequence (nothing added: no BOS) and
 * write every position's logits, n_ids x n_vocab little-endian float32, row i being
 * the logits after token i. The file appears only when complete (temp + rename). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "trust_flags.h"
#include "flintrt.h"

static const char eval_usage[] =
    "usage: flint eval -m MODEL --ids \"ID ID ...\" -o OUT.f32 [-t N] [-c N]\n"
    "  -m, --model FILE     GGUF model\n"
    "      --ids LIST       token ids separated by spaces (no BOS is added)\n"
    "  -o, --output FILE    where to write n_ids x n_vocab little-endian float32\n"
    "  -t, --threads N      worker threads; 0: one per core (default 0)\n"
    "  -c, --ctx-size N     context length; 0: the model's (default 0)\n"
    FLINT_TRUST_USAGE;

/* Parse whitespace-separated ids into a malloc'd array. Prints and returns NULL on error. */
static flintrt_token *parse_ids(const char *cmd, const char *list, size_t *n_out) {
    size_t cap = 16, n = 0;
    flintrt_token *ids = malloc(cap * sizeof *ids);
    if (!ids) {
        fprintf(stderr, "flint %s: out of memory\n", cmd);
        return NULL;
    }
    const char *p = list;
    char word[32];
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',') p++;
        if (!*p) break;
        size_t w = 0;
        while (p[w] && p[w] != ' ' && p[w] != '\t' && p[w] != '\n' && p[w] != '\r' && p[w] != ',') w++;
        if (w >= sizeof word) {
            fprintf(stderr, "flint %s: --ids: '%.*s' is not a token id\n", cmd, (int)w, p);
            free(ids);
            return NULL;
        }
        memcpy(word, p, w);
        word[w] = '\0';
        p += w;
        int32_t id;
        if (!flint_parse_i32(cmd, "--ids", word, 0, INT32_MAX, &id)) {
            free(ids);
            return NULL;
        }
        if (n == cap) {
            flintrt_token *nid = (cap > SIZE_MAX / 2 / sizeof *ids) ? NULL : realloc(ids, 2 * cap * sizeof *ids);
            if (!nid) {
                fprintf(stderr, "flint %s: out of memory\n", cmd);
                free(ids);
                return NULL;
            }
            ids = nid;
            cap *= 2;
        }
        ids[n++] = id;
    }
    if (n == 0) {
        fprintf(stderr, "flint %s: --ids: no token ids given\n", cmd);
        free(ids);
        return NULL;
    }
    *n_out = n;
    return ids;
}

static int host_is_little_endian(void) {
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Write floats little-endian to path through path.tmp.<pid> + rename. */
static int write_f32_file(const char *path, float *data, size_t n) {
    if (!host_is_little_endian()) {
        for (size_t i = 0; i < n; i++) {
            unsigned char b[4];
            memcpy(b, &data[i], 4);
            unsigned char r[4] = {b[3], b[2], b[1], b[0]};
            memcpy(&data[i], r, 4);
        }
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) return flint_error("out of memory");
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int rc = flint_error("creating %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    int ok = fwrite(data, sizeof *data, n, f) == n;
    int err = errno;
    if (fflush(f) != 0) { ok = 0; err = errno; }
    if (ok && fsync(fileno(f)) != 0) { ok = 0; err = errno; }
    if (fclose(f) != 0 && ok) { ok = 0; err = errno; }
    if (ok && rename(tmp, path) != 0) { ok = 0; err = errno; }
    if (!ok) {
        remove(tmp);
        int rc = flint_error("writing %s: %s", path, strerror(err));
        free(tmp);
        return rc;
    }
    free(tmp);
    return FLINT_EXIT_OK;
}

int flint_cmd_eval(int argc, char **argv) {
    const char *cmd = "eval";
    const char *model_path = NULL, *ids_arg = NULL, *out_path = NULL;
    int32_t n_threads = 0, n_ctx = 0;

    flint_trust_flags tf;
    int trust_rc;
    if (!flint_trust_flags_init(&tf, cmd)) return FLINT_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VALUE() do { if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, eval_usage, NULL); } while (0)
        if (flint_is_help(a)) {
            fputs(eval_usage, stdout);
            return FLINT_EXIT_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            VALUE(); model_path = v;
        } else if (!strcmp(a, "--ids")) {
            VALUE(); ids_arg = v;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            VALUE(); out_path = v;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            VALUE();
            if (!flint_parse_i32(cmd, a, v, 0, 4096, &n_threads)) return flint_usage_error(cmd, eval_usage, NULL);
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            VALUE();
            if (!flint_parse_i32(cmd, a, v, 0, INT32_MAX, &n_ctx)) return flint_usage_error(cmd, eval_usage, NULL);
        } else if ((trust_rc = flint_trust_flags_parse(&tf, cmd, argc, argv, &i)) != 0) {
            if (trust_rc < 0) return flint_usage_error(cmd, eval_usage, NULL);
        } else {
            return flint_usage_error(cmd, eval_usage, "unknown option '%s'", a);
        }
#undef VALUE
    }
    if (!model_path) return flint_usage_error(cmd, eval_usage, "missing -m MODEL");
    if (!flint_trust_flags_check(&tf, cmd)) return flint_usage_error(cmd, eval_usage, NULL);
    if (!ids_arg) return flint_usage_error(cmd, eval_usage, "missing --ids \"ID ID ...\"");
    if (!out_path || !*out_path) return flint_usage_error(cmd, eval_usage, "missing -o OUT.f32");
    size_t n_ids = 0;
    flintrt_token *ids = parse_ids(cmd, ids_arg, &n_ids);
    if (!ids) return flint_usage_error(cmd, eval_usage, NULL);

    int rc = FLINT_EXIT_OK;
    flintrt_model *model = NULL;
    flintrt_session *session = NULL;
    float *logits = NULL;
    flintrt_model_options mo;
    flintrt_model_options_init(&mo);
    flint_trust_flags_apply(&tf, &mo);
    flintrt_status st = flintrt_model_load(model_path, &mo, &model);
    if (st != FLINTRT_OK) {
        rc = flint_runtime_error(st);
        goto done;
    }
    const int32_t n_vocab = flintrt_model_n_vocab(model);
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] >= n_vocab) {
            fprintf(stderr, "flint eval: --ids: token %d (position %zu) is outside the vocabulary [0, %d)\n",
                    (int)ids[i], i, (int)n_vocab);
            rc = flint_usage_error(cmd, eval_usage, NULL);
            goto done;
        }
    }
    if (n_vocab <= 0 || n_ids > SIZE_MAX / sizeof(float) / (size_t)n_vocab) {
        rc = flint_error("%zu x %d logits do not fit in memory", n_ids, (int)n_vocab);
        goto done;
    }
    size_t n_floats = n_ids * (size_t)n_vocab;
    logits = malloc(n_floats * sizeof *logits);
    if (!logits) {
        rc = flint_error("out of memory for %zu x %d logits", n_ids, (int)n_vocab);
        goto done;
    }

    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.n_threads = n_threads;
    so.n_ctx = n_ctx;
    st = flintrt_session_create(model, &so, &session);
    if (st != FLINTRT_OK) {
        rc = flint_runtime_error(st);
        goto done;
    }
    double t0 = flint_now();
    st = flintrt_session_eval(session, ids, n_ids, logits, n_floats);
    double dt = flint_now() - t0;
    if (st != FLINTRT_OK) {
        rc = flint_runtime_error(st);
        goto done;
    }
    rc = write_f32_file(out_path, logits, n_floats);
    if (rc == FLINT_EXIT_OK)
        fprintf(stderr, "flint: evaluated %zu tokens in %.3f s (%.1f tok/s), wrote %zu x %d floats to %s\n", n_ids,
                dt, dt > 0 ? (double)n_ids / dt : 0.0, n_ids, (int)n_vocab, out_path);

done:
    free(logits);
    flintrt_session_free(session);
    flintrt_model_free(model);
    free(ids);
    return rc;
}
