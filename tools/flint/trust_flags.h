/* The load-policy options shared by `flint run`, `inspect`, `eval` and `tokenize`,
 * with their environment defaults:
 *   FLINT_REQUIRE_SIGNED=1        as --require-signed ("0" or unset: off)
 *   FLINT_TRUSTED_KEYS=K1:K2:...  trusted keys (base64 or .pub paths), added to --trusted-key
 * The library never reads these variables: the tool turns them into model options. */
#ifndef FLINT_TOOL_TRUST_FLAGS_H
#define FLINT_TOOL_TRUST_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "flintrt.h"

#define FLINT_TRUST_MAX_KEYS 64

#define FLINT_TRUST_USAGE                                                                      \
    "      --require-signed      refuse the model unless MODEL.minisig verifies with a trusted\n" \
    "                            key (env FLINT_REQUIRE_SIGNED=1)\n"                              \
    "      --trusted-key KEY     a trusted minisign public key: base64 or a .pub file; repeat\n"  \
    "                            for more (env FLINT_TRUSTED_KEYS=KEY:KEY)\n"                     \
    "      --signature FILE      the signature file (default MODEL.minisig)\n"                     \
    "      --allow-legacy        accept legacy (non-prehashed) minisign signatures\n"

typedef struct flint_trust_flags {
    bool require_signed;
    bool allow_legacy;
    const char *signature_path;
    const char *keys[FLINT_TRUST_MAX_KEYS];
    size_t n_keys;
    char env_keys[8192]; /* copy of FLINT_TRUSTED_KEYS, split in place */
} flint_trust_flags;

/* Defaults from the environment. False (message printed) on a bad value. */
bool flint_trust_flags_init(flint_trust_flags *t, const char *cmd);
/* If argv[*i] is one of the options above, consume it (and its value) and return 1;
 * 0 if it is not ours; -1 on a usage error (message printed). */
int flint_trust_flags_parse(flint_trust_flags *t, const char *cmd, int argc, char **argv, int *i);
/* After parsing: --require-signed without any key is a usage error (false, printed). */
bool flint_trust_flags_check(const flint_trust_flags *t, const char *cmd);
/* Set the policy fields of mo (pointers borrow from t). */
void flint_trust_flags_apply(const flint_trust_flags *t, flintrt_model_options *mo);
void flint_trust_flags_free(flint_trust_flags *t); /* nothing to release today; kept for symmetry */

/* Print text with control bytes and backslashes as \xNN (tabs kept): for trusted
 * comments, which are authenticated but not sanitised. */
void flint_print_escaped(FILE *f, const char *s);

#endif
