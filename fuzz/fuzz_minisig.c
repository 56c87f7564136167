/* Fuzz target: the minisign signature-file parser (and, on what parses, verification
 * against a fixed key, which must refuse: the key never signed anything).
 * Invariants (trap on violation):
 *  - a parsed signature's trusted comment is NUL-free, within the cap, and its
 *    length field agrees with strlen;
 *  - verification of an input by a key that signed nothing never succeeds;
 *  - every failure carries a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trust/minisign.h"

int flt_fuzz_minisig(const uint8_t *data, size_t size);

int flt_fuzz_minisig(const uint8_t *data, size_t size) {
    flt_minisign_sig *sig = malloc(sizeof *sig);
    if (!sig) return 0;
    flt_err e;
    flt_err_clear(&e);
    flintrt_status st = flt_minisign_sig_parse((const char *)data, size, sig, &e);
    if (st != FLINTRT_OK) {
        if (!e.msg[0]) __builtin_trap();
        free(sig);
        return 0;
    }
    if (sig->trusted_comment_len > FLT_MINISIGN_TRUSTED_COMMENT_MAX) __builtin_trap();
    if (strlen(sig->trusted_comment) != sig->trusted_comment_len) __builtin_trap();
    /* a key whose id matches the signature's but that signed nothing: must refuse */
    flt_minisign_pubkey pk;
    memcpy(pk.keynum, sig->keynum, sizeof pk.keynum);
    memset(pk.pk, 0x5a, sizeof pk.pk);
    uint8_t prehash[64];
    memset(prehash, 0, sizeof prehash);
    flt_err_clear(&e);
    st = flt_minisign_verify(sig, &pk, data, size, prehash, true, &e);
    if (st == FLINTRT_OK) __builtin_trap();
    if (!e.msg[0]) __builtin_trap();
    free(sig);
    return 0;
}

#ifndef FLT_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return flt_fuzz_minisig(data, size); }
#endif
