/* flint perplexity: perplexity of a model on a text, measured as llama-perplexity
 * measures it (src/llm/perplexity.c), and the KL divergence from a base model's
 * saved log-probabilities (--save-logits with the base, --kl-base with the other). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "formats/mmap.h"
#include "llm/perplexity.h"

static const char ppl_usage[] =
    "usage: flint perplexity -m MODEL -f TEXT [-c N] [-t N] [--chunks N]\n"
    "                        [--save-logits OUT] [--kl-base BASE]\n"
    "  -m, --model FILE       GGUF model\n"
    "  -f, --file TEXT        the text (tokenized with BOS, cut into chunks of N tokens;\n"
    "                         the second half of each chunk is scored)\n"
    "  -c, --ctx-size N       tokens per chunk (default 512, as llama-perplexity); the\n"
    "                         text must hold at least 2*N tokens\n"
    "  -t, --threads N        worker threads; 0: one per core (default 0)\n"
    "      --chunks N         score at most N chunks (default: all)\n"
    "      --save-logits OUT  write the log-probabilities of every scored position (a\n"
    "                         KL base file, format in docs/QUANTIZATION.md)\n"
    "      --kl-base BASE     report the KL divergence from BASE (made by --save-logits\n"
    "                         with the base model); uses BASE's tokens and chunk size,\n"
    "                         and checks them against TEXT when -f is given\n";

static void report_progress(void *user, int32_t done, int32_t total, double ppl) {
    (void)user;
    fprintf(stderr, "\rflint perplexity: [%d/%d] PPL so far %.4f", done, total, ppl);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

static flintrt_token *tokenize_file(const char *path, const flintrt_model *model, size_t *n_out, int *rc) {
    size_t len = 0;
    char *text = flint_read_file(path, (size_t)1 << 30, &len);
    if (!text) {
        *rc = flint_error("reading %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t n = 0;
    flintrt_status st = flintrt_tokenize(model, text, len, FLINTRT_TOKENIZE_ADD_BOS, NULL, 0, &n);
    flintrt_token *ids = NULL;
    if (st == FLINTRT_ERR_BUFFER_TOO_SMALL || st == FLINTRT_OK) {
        ids = malloc((n ? n : 1) * sizeof *ids);
        if (!ids) {
            free(text);
            *rc = flint_error("out of memory");
            return NULL;
        }
        st = flintrt_tokenize(model, text, len, FLINTRT_TOKENIZE_ADD_BOS, ids, n, &n);
    }
    free(text);
    if (st) {
        free(ids);
        *rc = flint_runtime_error(st);
        return NULL;
    }
    *n_out = n;
    return ids;
}

static void print_result(const flt_ppl_result *r, size_t n_tokens) {
    printf("perplexity: %zu tokens, %d chunks of %d, %lld scored positions\n", n_tokens, r->n_chunks, r->n_ctx,
           (long long)r->count);
    printf("Final estimate: PPL = %.4f +/- %.5f\n", r->ppl, r->ppl_err);
    if (!r->has_kld) return;
    printf("Mean PPL(Q)       : %10.6f +/- %10.6f\n", r->ppl, r->ppl_err);
    printf("Mean PPL(base)    : %10.6f +/- %10.6f\n", r->ppl_base, r->ppl_base_err);
    printf("Mean    KLD       : %10.6f +/- %10.6f\n", r->kld_mean, r->kld_err);
    printf("Maximum KLD       : %10.6f\n", r->kld_max);
    printf("99.0%%   KLD       : %10.6f\n", r->kld_p99);
    printf("Median  KLD       : %10.6f\n", r->kld_median);
    printf("Minimum KLD       : %10.6f\n", r->kld_min);
    printf("Same top token    : %6.3f +/- %5.3f %%\n", 100.0 * r->same_top, 100.0 * r->same_top_err);
}

int flint_cmd_perplexity(int argc, char **argv) {
    const char *cmd = "perplexity";
    const char *model_path = NULL, *text_path = NULL, *save_path = NULL, *base_path = NULL;
    int32_t n_threads = 0, n_ctx = 512, n_chunks = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VALUE() do { if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, ppl_usage, NULL); } while (0)
        if (flint_is_help(a)) {
            fputs(ppl_usage, stdout);
            return FLINT_EXIT_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            VALUE(); model_path = v;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            VALUE(); text_path = v;
        } else if (!strcmp(a, "--save-logits")) {
            VALUE(); save_path = v;
        } else if (!strcmp(a, "--kl-base")) {
            VALUE(); base_path = v;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            VALUE();
            if (!flint_parse_i32(cmd, a, v, 0, 4096, &n_threads)) return flint_usage_error(cmd, ppl_usage, NULL);
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            VALUE();
            if (!flint_parse_i32(cmd, a, v, 4, 1 << 20, &n_ctx)) return flint_usage_error(cmd, ppl_usage, NULL);
        } else if (!strcmp(a, "--chunks")) {
            VALUE();
            if (!flint_parse_i32(cmd, a, v, 1, INT32_MAX, &n_chunks)) return flint_usage_error(cmd, ppl_usage, NULL);
        } else {
            return flint_usage_error(cmd, ppl_usage, "unknown option '%s'", a);
        }
#undef VALUE
    }
    if (!model_path) return flint_usage_error(cmd, ppl_usage, "missing -m MODEL");
    if (!text_path && !base_path) return flint_usage_error(cmd, ppl_usage, "missing -f TEXT");
    if (save_path && !*save_path) return flint_usage_error(cmd, ppl_usage, "empty --save-logits name");

    int rc = FLINT_EXIT_OK;
    flintrt_model *model = NULL;
    flintrt_session *session = NULL;
    flintrt_token *ids = NULL;
    flt_mapped_file map = {0};
    flt_kldbase base;
    FILE *save = NULL;
    char *tmp = NULL;
    flt_err e;
    flt_err_clear(&e);
    flintrt_status st;

    if (base_path) {
        if ((st = flt_map_file(base_path, &map, &e)) || (st = flt_kldbase_parse(map.data, map.size, &base, &e))) {
            rc = flint_error("%s: %s: %s", base_path, flintrt_status_string(st), e.msg);
            goto out;
        }
        n_ctx = (int32_t)base.n_ctx;
    }
    if ((st = flintrt_model_load(model_path, NULL, &model))) {
        rc = flint_runtime_error(st);
        goto out;
    }
    size_t n_ids = 0;
    if (text_path) {
        if (!(ids = tokenize_file(text_path, model, &n_ids, &rc))) goto out;
    } else {
        n_ids = (size_t)base.n_chunks * base.n_ctx;
        ids = malloc(n_ids * sizeof *ids);
        if (!ids) {
            rc = flint_error("out of memory");
            goto out;
        }
        for (size_t i = 0; i < n_ids; i++) ids[i] = flt_kldbase_token(&base, i);
    }
    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.n_ctx = n_ctx;
    so.n_threads = n_threads;
    if ((st = flintrt_session_create(model, &so, &session))) {
        rc = flint_runtime_error(st);
        goto out;
    }
    if (save_path) {
        size_t tn = strlen(save_path) + 32;
        tmp = malloc(tn);
        if (!tmp) {
            rc = flint_error("out of memory");
            goto out;
        }
        snprintf(tmp, tn, "%s.tmp.%ld", save_path, (long)getpid());
        if (!(save = fopen(tmp, "wb"))) {
            rc = flint_error("creating %s: %s", tmp, strerror(errno));
            free(tmp);
            tmp = NULL;
            goto out;
        }
    }
    flt_ppl_params p = {0};
    p.n_ctx = n_ctx;
    p.n_chunks = n_chunks;
    p.save = save;
    p.base = base_path ? &base : NULL;
    if (isatty(STDERR_FILENO)) p.progress = report_progress;
    flt_ppl_result r;
    if ((st = flt_ppl_run(model, session, ids, n_ids, &p, &r, &e))) {
        rc = flint_error("%s: %s", flintrt_status_string(st), e.msg);
        goto out;
    }
    if (save) {
        int ok = fflush(save) == 0 && fsync(fileno(save)) == 0;
        ok = fclose(save) == 0 && ok;
        save = NULL;
        if (!ok || rename(tmp, save_path) != 0) {
            rc = flint_error("writing %s: %s", save_path, strerror(errno));
            goto out;
        }
        free(tmp);
        tmp = NULL;
    }
    print_result(&r, n_ids);
out:
    if (save) fclose(save);
    if (tmp) {
        remove(tmp);
        free(tmp);
    }
    free(ids);
    flintrt_session_free(session);
    flintrt_model_free(model);
    flt_unmap_file(&map);
    return rc;
}
