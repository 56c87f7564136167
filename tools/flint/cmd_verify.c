/* flint verify MODEL: check MODEL.minisig (a minisign signature) against a public
 * key and print the trusted comment. Exit 0 verified, 1 refused or unreadable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "trust_flags.h"

static const char verify_usage[] =
    "usage: flint verify MODEL [-p KEYFILE | -P BASE64]... [-x SIGFILE] [--allow-legacy] [-q]\n"
    "  -p FILE         a trusted public key file (minisign .pub); repeat for more\n"
    "  -P KEY          a trusted public key as its base64 line (\"RWQ...\")\n"
    "  -x FILE         signature file (default MODEL.minisig)\n"
    "      --allow-legacy  accept legacy (non-prehashed) signatures (`minisign -l`)\n"
    "  -q              print nothing on success\n"
    "  Keys also come from FLINT_TRUSTED_KEYS=KEY:KEY (base64 or files).\n";

int flint_cmd_verify(int argc, char **argv) {
    const char *cmd = "verify";
    const char *model = NULL;
    int quiet = 0;
    flint_trust_flags t;
    if (!flint_trust_flags_init(&t, cmd)) return FLINT_EXIT_USAGE;
    int rc = FLINT_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (flint_is_help(a)) {
            fputs(verify_usage, stdout);
            goto done;
        } else if (!strcmp(a, "-p") || !strcmp(a, "-P")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i)) || !*v) goto usage;
            if (t.n_keys == FLINT_TRUST_MAX_KEYS) {
                rc = flint_usage_error(cmd, verify_usage, "too many keys");
                goto done;
            }
            t.keys[t.n_keys++] = v;
        } else if (!strcmp(a, "-x")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) goto usage;
            t.signature_path = v;
        } else if (!strcmp(a, "--allow-legacy")) {
            t.allow_legacy = true;
        } else if (!strcmp(a, "-q")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            rc = flint_usage_error(cmd, verify_usage, "unknown option '%s'", a);
            goto done;
        } else if (!model) {
            model = a;
        } else {
            rc = flint_usage_error(cmd, verify_usage, "one MODEL only ('%s')", a);
            goto done;
        }
    }
    if (!model || !*model) {
        rc = flint_usage_error(cmd, verify_usage, "missing MODEL");
        goto done;
    }
    if (!t.n_keys) {
        rc = flint_usage_error(cmd, verify_usage, "no key: give -p FILE or -P BASE64 (or FLINT_TRUSTED_KEYS)");
        goto done;
    }
    flintrt_model_options mo;
    flintrt_model_options_init(&mo);
    flint_trust_flags_apply(&t, &mo);
    size_t n = 0;
    char comment[8192];
    flintrt_status st = flintrt_verify_file(model, &mo, comment, sizeof comment, &n);
    if (st) {
        rc = flint_runtime_error(st);
        goto done;
    }
    if (!quiet) {
        printf("signature verified\ntrusted comment: ");
        flint_print_escaped(stdout, comment);
        putchar('\n');
    }
    goto done;
usage:
    rc = flint_usage_error(cmd, verify_usage, NULL);
done:
    flint_trust_flags_free(&t);
    return rc;
}
