/* Fuzz target: the minisign public- and secret-key file parsers. Secret keys are
 * parsed without a password, so an encrypted key stops before scrypt (whose cost
 * the file chooses; capped, but too slow for fuzzing).
 * Invariants (trap on violation):
 *  - a parsed public key formats to a file that parses back to the same key;
 *  - a parsed secret key's public half formats and parses back the same way;
 *  - every failure carries a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trust/minisign.h"

int flt_fuzz_minikey(const uint8_t *data, size_t size);

static void fz_minikey_roundtrip(const flt_minisign_pubkey *pk) {
    char *text = NULL;
    flt_err e;
    flt_err_clear(&e);
    if (flt_minisign_pubkey_format(pk, &text, &e) != FLINTRT_OK) __builtin_trap();
    flt_minisign_pubkey back;
    if (flt_minisign_pubkey_parse(text, strlen(text), &back, &e) != FLINTRT_OK) __builtin_trap();
    if (memcmp(&back, pk, sizeof back) != 0) __builtin_trap();
    free(text);
}

int flt_fuzz_minikey(const uint8_t *data, size_t size) {
    flt_err e;
    flt_err_clear(&e);
    flt_minisign_pubkey pk;
    if (flt_minisign_pubkey_parse((const char *)data, size, &pk, &e) == FLINTRT_OK)
        fz_minikey_roundtrip(&pk);
    else if (!e.msg[0])
        __builtin_trap();
    flt_err_clear(&e);
    flt_minisign_seckey sk;
    if (flt_minisign_seckey_parse((const char *)data, size, NULL, &sk, &e) == FLINTRT_OK) {
        flt_minisign_seckey_public(&sk, &pk);
        fz_minikey_roundtrip(&pk);
    } else if (!e.msg[0]) {
        __builtin_trap();
    }
    return 0;
}

#ifndef FLT_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return flt_fuzz_minikey(data, size); }
#endif
