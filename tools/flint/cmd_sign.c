/* flint sign MODEL: write MODEL.minisig, a prehashed ("ED") minisign signature that
 * `minisign -V` and `flint verify` accept. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "formats/mmap.h"
#include "trust/minisign.h"
#include "trust/policy.h"

static const char sign_usage[] =
    "usage: flint sign MODEL [-s SEC] [-t COMMENT] [-x SIGFILE] [--password-file FILE]\n"
    "  -s FILE               secret key (default flint.key; minisign keys work too)\n"
    "  -t COMMENT            trusted comment, signed with the file (one line;\n"
    "                        default \"timestamp:<seconds>\\tfile:<name>\\thashed\")\n"
    "  -x FILE               signature file (default MODEL.minisig)\n"
    "      --password-file F the password of an encrypted (minisign -G) secret key,\n"
    "                        first line of F\n";

static int fail_e(const flt_err *e) { return flint_error("%s: %s", flintrt_status_string(e->status), e->msg); }

int flint_cmd_sign(int argc, char **argv) {
    const char *cmd = "sign";
    const char *model = NULL, *sec = "flint.key", *comment = NULL, *sig_path = NULL, *pw_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VALUE() do { if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, sign_usage, NULL); } while (0)
        if (flint_is_help(a)) {
            fputs(sign_usage, stdout);
            return FLINT_EXIT_OK;
        } else if (!strcmp(a, "-s")) {
            VALUE(); sec = v;
        } else if (!strcmp(a, "-t")) {
            VALUE(); comment = v;
        } else if (!strcmp(a, "-x")) {
            VALUE(); sig_path = v;
        } else if (!strcmp(a, "--password-file")) {
            VALUE(); pw_file = v;
        } else if (a[0] == '-' && a[1]) {
            return flint_usage_error(cmd, sign_usage, "unknown option '%s'", a);
        } else if (!model) {
            model = a;
        } else {
            return flint_usage_error(cmd, sign_usage, "one MODEL only ('%s')", a);
        }
#undef VALUE
    }
    if (!model || !*model) return flint_usage_error(cmd, sign_usage, "missing MODEL");
    if (comment && (strchr(comment, '\n') || strchr(comment, '\r')))
        return flint_usage_error(cmd, sign_usage, "-t: the trusted comment must be one line");

    flt_err e;
    flt_err_clear(&e);
    char *password = NULL;
    if (pw_file) {
        size_t n;
        password = flint_read_file(pw_file, 4096, &n);
        if (!password) return flint_error("reading %s: %s", pw_file, strerror(errno));
        password[strcspn(password, "\r\n")] = '\0';
    }
    char *text = NULL;
    size_t len = 0;
    flt_minisign_seckey sk;
    flintrt_status st = flt_trust_read_small(sec, FLT_MINISIGN_FILE_MAX, &text, &len, &e);
    if (!st) st = flt_minisign_seckey_parse(text, len, password, &sk, &e);
    if (text) memset(text, 0, len);
    free(text);
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    if (st) {
        flt_err_prefix(&e, "%s", sec);
        return fail_e(&e);
    }

    char default_comment[600];
    if (!comment) {
        const char *base = strrchr(model, '/');
        base = base ? base + 1 : model;
        snprintf(default_comment, sizeof default_comment, "timestamp:%lld\tfile:%.400s\thashed", (long long)time(NULL),
                 base);
        comment = default_comment;
    }
    flt_mapped_file map;
    uint8_t prehash[64];
    char *sig = NULL;
    st = flt_map_file(model, &map, &e);
    if (!st) {
        st = flt_minisign_prehash(map.data, map.size, prehash, &e);
        flt_unmap_file(&map);
    }
    if (!st) st = flt_minisign_sign(&sk, prehash, comment, &sig, &e);
    memset(&sk, 0, sizeof sk);
    if (st) return fail_e(&e);

    char *default_path = NULL;
    if (!sig_path) {
        default_path = malloc(strlen(model) + sizeof ".minisig");
        if (!default_path) {
            free(sig);
            return flint_error("out of memory");
        }
        strcpy(default_path, model);
        strcat(default_path, ".minisig");
        sig_path = default_path;
    }
    int rc = FLINT_EXIT_OK;
    FILE *f = fopen(sig_path, "wb");
    if (!f) {
        rc = flint_error("cannot create %s: %s", sig_path, strerror(errno));
    } else {
        size_t n = strlen(sig);
        int bad = fwrite(sig, 1, n, f) != n;
        if (fclose(f) != 0) bad = 1;
        if (bad) rc = flint_error("writing %s failed", sig_path);
        else fprintf(stderr, "flint: signature written to %s\n", sig_path);
    }
    free(default_path);
    free(sig);
    return rc;
}
