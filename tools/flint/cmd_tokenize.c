/* flint tokenize: print the token ids of a text, space-separated, on one line.
 * Loads only the tokenizer (vocab-only), so it works on vocab-only GGUF files and
 * is cheap on full models. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "trust_flags.h"
#include "flintrt.h"

static const char tokenize_usage[] =
    "usage: flint tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos] [--special]\n"
    "  -m, --model FILE     GGUF model or vocab-only GGUF\n"
    "  -p, --prompt TEXT    text to tokenize (may be empty)\n"
    "  -f, --file FILE      read the text from FILE (bytes as is)\n"
    "      --no-bos         do not add BOS (by default added if the vocabulary has one)\n"
    "      --special        recognise control tokens written in the text (<s>, ...)\n"
    FLINT_TRUST_USAGE
    "output: the ids, space-separated, on one line\n";

#define MAX_TEXT_FILE ((size_t)1 << 30)

int flint_cmd_tokenize(int argc, char **argv) {
    const char *cmd = "tokenize";
    const char *model_path = NULL, *text_arg = NULL, *text_file = NULL;
    uint32_t flags = FLINTRT_TOKENIZE_ADD_BOS;

    flint_trust_flags tf;
    int trust_rc;
    if (!flint_trust_flags_init(&tf, cmd)) return FLINT_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (flint_is_help(a)) {
            fputs(tokenize_usage, stdout);
            return FLINT_EXIT_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, tokenize_usage, NULL);
            model_path = v;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, tokenize_usage, NULL);
            text_arg = v;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, tokenize_usage, NULL);
            text_file = v;
        } else if (!strcmp(a, "--no-bos")) {
            flags &= ~(uint32_t)FLINTRT_TOKENIZE_ADD_BOS;
        } else if (!strcmp(a, "--special")) {
            flags |= FLINTRT_TOKENIZE_PARSE_SPECIAL;
        } else if ((trust_rc = flint_trust_flags_parse(&tf, cmd, argc, argv, &i)) != 0) {
            if (trust_rc < 0) return flint_usage_error(cmd, tokenize_usage, NULL);
        } else {
            return flint_usage_error(cmd, tokenize_usage, "unknown option '%s'", a);
        }
    }
    if (!model_path) return flint_usage_error(cmd, tokenize_usage, "missing -m MODEL");
    if (!flint_trust_flags_check(&tf, cmd)) return flint_usage_error(cmd, tokenize_usage, NULL);
    if (!text_arg && !text_file) return flint_usage_error(cmd, tokenize_usage, "missing -p TEXT or -f FILE");
    if (text_arg && text_file) return flint_usage_error(cmd, tokenize_usage, "give either -p or -f, not both");

    const char *text = text_arg;
    size_t len = text_arg ? strlen(text_arg) : 0;
    char *file_text = NULL;
    if (text_file) {
        file_text = flint_read_file(text_file, MAX_TEXT_FILE, &len);
        if (!file_text) return flint_error("reading %s: %s", text_file, strerror(errno));
        text = file_text;
    }

    int rc = FLINT_EXIT_OK;
    flintrt_model *model = NULL;
    flintrt_token *ids = NULL;
    flintrt_model_options mo;
    flintrt_model_options_init(&mo);
    mo.vocab_only = 1;
    flint_trust_flags_apply(&tf, &mo);
    flintrt_status st = flintrt_model_load(model_path, &mo, &model);
    if (st != FLINTRT_OK) {
        rc = flint_runtime_error(st);
        goto done;
    }

    /* Two-call pattern: a first guess (about one token per byte, plus BOS), then
     * exactly the size the library asks for. */
    size_t cap = len + 2, n = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        free(ids);
        ids = malloc(cap * sizeof *ids);
        if (!ids) {
            rc = flint_error("out of memory for %zu token ids", cap);
            goto done;
        }
        st = flintrt_tokenize(model, text, len, flags, ids, cap, &n);
        if (st != FLINTRT_ERR_BUFFER_TOO_SMALL) break;
        cap = n;
    }
    if (st != FLINTRT_OK) {
        rc = flint_runtime_error(st);
        goto done;
    }
    for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
    putchar('\n');
    if (fflush(stdout) != 0 || ferror(stdout)) rc = flint_error("writing to stdout: %s", strerror(errno));

done:
    free(ids);
    flintrt_model_free(model);
    free(file_text);
    return rc;
}
