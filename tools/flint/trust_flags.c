/* Load-policy options and their environment defaults (see trust_flags.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "trust_flags.h"

static bool add_key(flint_trust_flags *t, const char *cmd, const char *k) {
    if (!*k) return true; /* "a::b" */
    if (t->n_keys == FLINT_TRUST_MAX_KEYS) {
        fprintf(stderr, "flint %s: more than %d trusted keys\n", cmd, FLINT_TRUST_MAX_KEYS);
        return false;
    }
    t->keys[t->n_keys++] = k;
    return true;
}

bool flint_trust_flags_init(flint_trust_flags *t, const char *cmd) {
    memset(t, 0, sizeof *t);
    const char *req = getenv("FLINT_REQUIRE_SIGNED");
    if (req && *req) {
        if (!strcmp(req, "1")) t->require_signed = true;
        else if (strcmp(req, "0") != 0) {
            fprintf(stderr, "flint %s: FLINT_REQUIRE_SIGNED must be 1 or 0, not '%s'\n", cmd, req);
            return false;
        }
    }
    const char *keys = getenv("FLINT_TRUSTED_KEYS");
    if (keys && *keys) {
        if (strlen(keys) >= sizeof t->env_keys) {
            fprintf(stderr, "flint %s: FLINT_TRUSTED_KEYS is longer than %zu bytes\n", cmd, sizeof t->env_keys - 1);
            return false;
        }
        strcpy(t->env_keys, keys);
        for (char *p = t->env_keys;;) {
            char *colon = strchr(p, ':');
            if (colon) *colon = '\0';
            if (!add_key(t, cmd, p)) return false;
            if (!colon) break;
            p = colon + 1;
        }
    }
    return true;
}

int flint_trust_flags_parse(flint_trust_flags *t, const char *cmd, int argc, char **argv, int *i) {
    const char *a = argv[*i], *v;
    if (!strcmp(a, "--require-signed")) {
        t->require_signed = true;
    } else if (!strcmp(a, "--allow-legacy")) {
        t->allow_legacy = true;
    } else if (!strcmp(a, "--trusted-key")) {
        if (!(v = flint_arg_value(cmd, argc, argv, i))) return -1;
        if (!*v) {
            fprintf(stderr, "flint %s: --trusted-key: empty value\n", cmd);
            return -1;
        }
        if (!add_key(t, cmd, v)) return -1;
    } else if (!strcmp(a, "--signature")) {
        if (!(v = flint_arg_value(cmd, argc, argv, i))) return -1;
        t->signature_path = v;
    } else {
        return 0;
    }
    return 1;
}

bool flint_trust_flags_check(const flint_trust_flags *t, const char *cmd) {
    if (t->require_signed && t->n_keys == 0) {
        fprintf(stderr, "flint %s: a signature is required but no key is trusted (--trusted-key KEY or FLINT_TRUSTED_KEYS)\n", cmd);
        return false;
    }
    return true;
}

void flint_trust_flags_apply(const flint_trust_flags *t, flintrt_model_options *mo) {
    mo->require_signed = t->require_signed;
    mo->trusted_keys = t->keys;
    mo->n_trusted_keys = t->n_keys;
    mo->signature_path = t->signature_path;
    mo->allow_legacy = t->allow_legacy;
}

void flint_trust_flags_free(flint_trust_flags *t) { (void)t; }

void flint_print_escaped(FILE *f, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f || *p == '\\') fprintf(f, "\\x%02x", *p);
        else fputc(*p, f);
    }
}
