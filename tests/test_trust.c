/* Trust: base64, SHA-256 and manifest digests, minisign files made by Debian's
 * minisign (tests/data/trust), and the load policy: refusals before any parser runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "harness.h"
#include "llm/synth.h"
#include "trust/base64.h"
#include "trust/digest.h"
#include "trust/minisign.h"
#include "trust/policy.h"
#include "trust_test_util.h"

/* flt_test_data's result copied into one of 8 rotating buffers, so several paths can live at once */
static const char *td(const char *rel) {
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s", flt_test_data(rel));
    return buf[k];
}

static void test_base64(void) {
    /* RFC 4648 section 10 test vectors */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        flt_base64_encode((const uint8_t *)plain[i], strlen(plain[i]), out);
        CHECKF(!strcmp(out, enc[i]), "encode '%s' -> '%s'", plain[i], out);
        uint8_t dec[16];
        size_t n = 99;
        CHECK(flt_base64_decode(enc[i], strlen(enc[i]), dec, sizeof dec, &n) && n == strlen(plain[i]) &&
              !memcmp(dec, plain[i], n));
    }
    uint8_t d[16];
    size_t n;
    static const char *const bad[] = {"Zg=", "Zg=a", "Z===", "Zh==", "Zm9=", "Zm 9", "Zm9v\n", "=Zm9", "Zg==Zg==", "Zm-_"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(!flt_base64_decode(bad[i], strlen(bad[i]), d, sizeof d, &n), "accepted '%s'", bad[i]);
    CHECK(!flt_base64_decode("Zm9vYmFy", 8, d, 5, &n)); /* 6 bytes into 5 */
}

static void test_sha256(void) {
    uint8_t h[32];
    char hex[65];
    flt_err e;
    flt_err_clear(&e);
    flintrt_status st = flt_digest_buffer("abc", 3, h, NULL, &e);
    if (!have_sodium) {
        CHECK(st == FLINTRT_ERR_UNSUPPORTED && strstr(e.msg, "libsodium"));
        return;
    }
    CHECK(st == FLINTRT_OK);
    flt_hex(h, 32, hex); /* FIPS 180-2 appendix B.1 */
    CHECKF(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "%s", hex);
    /* two-block message (B.2) through the file reader */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK(write_file(tmp_path("b2.txt"), m, strlen(m)) == 0);
    CHECK(flintrt_file_sha256(tmp_path("b2.txt"), h) == FLINTRT_OK);
    flt_hex(h, 32, hex);
    CHECKF(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), "%s", hex);
    CHECK(flintrt_file_sha256(tmp_path("missing"), h) == FLINTRT_ERR_IO);
}

static void test_manifest(void) {
    const char *why;
    static const char *const good[] = {"model.onnx", "a/b.bin", "shards/model-00001-of-00002.safetensors", "..x", "x.."};
    static const char *const badn[] = {"", "/abs", "a//b", "a/./b", "../x", "a/..", "a\\b", "a/", "tab\there", "."};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) CHECKF(flt_manifest_name_ok(good[i], &why), "%s", good[i]);
    for (size_t i = 0; i < sizeof badn / sizeof badn[0]; i++) CHECKF(!flt_manifest_name_ok(badn[i], &why), "%s", badn[i]);

    /* canonical text: sorted bytewise ('B' < 'a' < 'b'), sha256sum's two-space format */
    flt_manifest_item items[3] = {{"b.bin", {0}}, {"a/x.bin", {0}}, {"B.bin", {0}}};
    for (int i = 0; i < 3; i++) memset(items[i].sha256, 0x11 * (i + 1), 32);
    char *text;
    size_t len;
    flt_err e;
    flt_err_clear(&e);
    CHECK(flt_manifest_build(items, 3, &text, &len, NULL, &e) == FLINTRT_OK);
    char want[400];
    snprintf(want, sizeof want, "%064d  B.bin\n%064d  a/x.bin\n%064d  b.bin\n", 0, 0, 0);
    memset(want, '3', 64);
    memset(want + 72, '2', 64);
    memset(want + 146, '1', 64);
    CHECKF(text && !strcmp(text, want), "manifest:\n%s", text ? text : "(null)");
    CHECK(len == strlen(want));
    free(text);
    flt_manifest_item dup[2] = {{"x", {0}}, {"x", {0}}};
    CHECK(flt_manifest_build(dup, 2, &text, &len, NULL, &e) == FLINTRT_ERR_INVALID_ARGUMENT && strstr(e.msg, "twice"));

    if (!have_sodium) return;
    /* the public call hashes the files; its digest is SHA-256 of the manifest text */
    CHECK(write_file(tmp_path("m1"), "one\n", 4) == 0);
    CHECK(write_file(tmp_path("m2"), "two\n", 4) == 0);
    flintrt_manifest_entry ents[2] = {{"z/two.bin", tmp_path("m2")}, {"one.bin", tmp_path("m1")}};
    uint8_t md[32], h1[32], h2[32], ht[32];
    char buf[512];
    size_t n = 0;
    CHECK(flintrt_manifest_digest(ents, 2, md, buf, sizeof buf, &n) == FLINTRT_OK);
    CHECK(flintrt_file_sha256(tmp_path("m1"), h1) == FLINTRT_OK && flintrt_file_sha256(tmp_path("m2"), h2) == FLINTRT_OK);
    char x1[65], x2[65];
    flt_hex(h1, 32, x1);
    flt_hex(h2, 32, x2);
    snprintf(want, sizeof want, "%s  one.bin\n%s  z/two.bin\n", x1, x2);
    CHECKF(!strcmp(buf, want) && n == strlen(want), "%s", buf);
    CHECK(flt_digest_buffer(want, strlen(want), ht, NULL, &e) == FLINTRT_OK && !memcmp(ht, md, 32));
    CHECK(flintrt_manifest_digest(ents, 2, md, buf, 10, &n) == FLINTRT_ERR_BUFFER_TOO_SMALL && n == strlen(want));
    flintrt_manifest_entry evil[1] = {{"../escape", tmp_path("m1")}};
    CHECK(flintrt_manifest_digest(evil, 1, md, NULL, 0, NULL) == FLINTRT_ERR_INVALID_ARGUMENT);
}

/* Files made by Debian's minisign parse, and verify where libsodium is present. */
static void test_minisign_fixtures(void) {
    size_t n;
    char *pub = read_text(td("trust/key1.pub"), &n);
    flt_minisign_pubkey pk, pk_bare;
    flt_err e;
    flt_err_clear(&e);
    CHECKF(pub && flt_minisign_pubkey_parse(pub, n, &pk, &e) == FLINTRT_OK, "%s", e.msg);
    /* the key id in minisign's comment is the stored id, bytes reversed */
    char id[17];
    flt_minisign_keyid_hex(pk.keynum, id);
    CHECKF(pub && strstr(pub, id), "key id %s not in '%s'", id, pub ? pub : "");
    const char *line2 = pub ? strchr(pub, '\n') + 1 : "";
    CHECK(flt_minisign_pubkey_parse(line2, strlen(line2), &pk_bare, &e) == FLINTRT_OK && !memcmp(&pk, &pk_bare, sizeof pk));
    free(pub);

    char *sigt = read_text(td("trust/data.bin.minisig"), &n);
    flt_minisign_sig *sig = malloc(sizeof *sig);
    CHECK(sig && sigt && flt_minisign_sig_parse(sigt, n, sig, &e) == FLINTRT_OK);
    CHECK(sig->prehashed && !strcmp(sig->trusted_comment, "flint fixture: trusted comment"));
    /* damaged signature files are refused by the parser */
    char *mut = malloc(n + 1);
    memcpy(mut, sigt, n + 1);
    mut[0] = 'U';
    CHECK(flt_minisign_sig_parse(mut, n, sig, &e) == FLINTRT_ERR_FORMAT);
    memcpy(mut, sigt, n + 1);
    char *l2 = strchr(mut, '\n') + 1;
    l2[3] = '!';
    CHECK(flt_minisign_sig_parse(mut, n, sig, &e) == FLINTRT_ERR_FORMAT);
    CHECK(flt_minisign_sig_parse(sigt, n - 10, sig, &e) == FLINTRT_ERR_FORMAT); /* truncated global signature */
    free(mut);
    free(sigt);
    free(sig);

    flintrt_model_options o;
    flintrt_model_options_init(&o);
    const char *keys[1] = {td("trust/key1.pub")};
    o.trusted_keys = keys;
    o.n_trusted_keys = 1;
    char comment[200];
    size_t cn = 0;
    flintrt_status st = flintrt_verify_file(td("trust/data.bin"), &o, comment, sizeof comment, &cn);
    if (!have_sodium) {
        CHECKF(st == FLINTRT_ERR_UNSUPPORTED, "%d %s", st, flintrt_last_error());
        return;
    }
    CHECKF(st == FLINTRT_OK, "%s", flintrt_last_error());
    CHECK(!strcmp(comment, "flint fixture: trusted comment") && cn == strlen(comment));
    /* legacy (minisign -l) refused unless allowed */
    char legacy[512], data_path[512];
    snprintf(legacy, sizeof legacy, "%s", td("trust/data.bin.legacy.minisig"));
    snprintf(data_path, sizeof data_path, "%s", td("trust/data.bin"));
    o.signature_path = legacy;
    st = flintrt_verify_file(td("trust/data.bin"), &o, comment, sizeof comment, &cn);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "legacy"), "%s", flintrt_last_error());
    o.allow_legacy = 1;
    st = flintrt_verify_file(td("trust/data.bin"), &o, comment, sizeof comment, &cn);
    CHECKF(st == FLINTRT_OK && !strcmp(comment, "legacy fixture"), "%s", flintrt_last_error());
    /* the other key does not verify it */
    keys[0] = td("trust/key2.pub");
    o.signature_path = NULL;
    st = flintrt_verify_file(td("trust/data.bin"), &o, comment, sizeof comment, &cn);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "untrusted key"), "%s", flintrt_last_error());
    /* a changed trusted comment breaks the global signature, not the file signature */
    size_t sn;
    char *s = read_text(td("trust/data.bin.minisig"), &sn);
    char *tc = s ? strstr(s, "fixture") : NULL;
    if (tc) tc[0] = 'F';
    CHECK(s && write_file(tmp_path("tc.minisig"), s, sn) == 0);
    free(s);
    keys[0] = td("trust/key1.pub");
    o.signature_path = tmp_path("tc.minisig");
    st = flintrt_verify_file(td("trust/data.bin"), &o, comment, sizeof comment, &cn);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "trusted comment"), "%s", flintrt_last_error());

    /* secret keys: minisign -W (zero checksum) and an encrypted one (scrypt) */
    flt_minisign_seckey sk;
    char *skt = read_text(td("trust/key1.key"), &n);
    CHECKF(skt && flt_minisign_seckey_parse(skt, n, NULL, &sk, &e) == FLINTRT_OK, "%s", e.msg);
    flt_minisign_pubkey derived;
    flt_minisign_seckey_public(&sk, &derived);
    CHECK(!memcmp(&derived, &pk, sizeof pk));
    free(skt);
    skt = read_text(td("trust/enc.key"), &n);
    CHECK(skt && flt_minisign_seckey_parse(skt, n, NULL, &sk, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(skt && flt_minisign_seckey_parse(skt, n, "wrong", &sk, &e) == FLINTRT_ERR_INVALID_ARGUMENT &&
          strstr(e.msg, "wrong password"));
    CHECKF(skt && flt_minisign_seckey_parse(skt, n, "pw123", &sk, &e) == FLINTRT_OK, "%s", e.msg);
    char *enc_pub = read_text(td("trust/enc.pub"), &n);
    flt_minisign_pubkey epk;
    CHECK(enc_pub && flt_minisign_pubkey_parse(enc_pub, n, &epk, &e) == FLINTRT_OK);
    flt_minisign_seckey_public(&sk, &derived);
    CHECK(!memcmp(&derived, &epk, sizeof epk));
    free(enc_pub);
    free(skt);
}

typedef struct counter {
    int parses;
} counter;
static void count_parse(void *user) { ((counter *)user)->parses++; }

/* load with the policy through the test hook; returns the status, *parses the parser entries */
static flintrt_status load(const char *path, const char *key, const char *sig_path, int *parses) {
    flintrt_model_options o;
    flintrt_model_options_init(&o);
    const char *keys[1] = {key};
    o.require_signed = 1;
    o.trusted_keys = keys;
    o.n_trusted_keys = 1;
    o.signature_path = sig_path;
    counter c = {0};
    flt_load_hooks hooks = {count_parse, &c};
    flintrt_model *m = NULL;
    flintrt_status st = flt_model_load_ex(path, &o, &hooks, &m);
    if (!st) {
        const char *tc = flintrt_model_trusted_comment(m);
        CHECKF(tc && !strcmp(tc, "flint test: model v1"), "%s", tc ? tc : "(null)");
        uint8_t d[32], f[32];
        CHECK(flintrt_model_digest(m, 0, NULL, d) == FLINTRT_OK);
        CHECK(flintrt_file_sha256(path, f) == FLINTRT_OK && !memcmp(d, f, 32));
    }
    flintrt_model_free(m);
    *parses = c.parses;
    return st;
}

static void test_policy(void) {
    char model[512], garbage[512], flipped[512]; /* tmp_path's buffers rotate */
    snprintf(model, sizeof model, "%s", tmp_path("model.gguf"));
    snprintf(garbage, sizeof garbage, "%s", tmp_path("garbage.gguf"));
    snprintf(flipped, sizeof flipped, "%s", tmp_path("flipped.gguf"));
    flt_synth_params p;
    CHECK(flt_synth_preset("tiny", &p));
    flt_err e;
    flt_err_clear(&e);
    CHECKF(flt_synth_llama(&p, model, &e) == FLINTRT_OK, "%s", e.msg);
    char key1[512], key2[512], seckey1[512]; /* flt_test_data returns one static buffer */
    snprintf(key1, sizeof key1, "%s", flt_test_data("trust/key1.pub"));
    snprintf(key2, sizeof key2, "%s", flt_test_data("trust/key2.pub"));
    snprintf(seckey1, sizeof seckey1, "%s", flt_test_data("trust/key1.key"));
    int parses = -1;

    /* unsigned: refused, parser never entered */
    flintrt_status st = load(model, key1, NULL, &parses);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "unsigned") && parses == 0, "%d %d %s", st, parses,
           flintrt_last_error());
    /* a header no parser would accept is reported as unsigned, not as a GGUF error */
    static const char junk[] = "GGUF\xff\xff\xff\xff not a header at all";
    CHECK(write_file(garbage, junk, sizeof junk - 1) == 0);
    st = load(garbage, key1, NULL, &parses);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "unsigned") && parses == 0, "%s",
           flintrt_last_error());
    if (!have_sodium) {
        return;
    }
    /* signed garbage passes the policy and only then meets the parser: proves the order */
    sign_file(garbage, seckey1, "flint test: model v1");
    st = load(garbage, key1, NULL, &parses);
    CHECKF(st != FLINTRT_OK && st != FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "GGUF") && parses == 1,
           "%d %d %s", st, parses, flintrt_last_error());

    sign_file(model, seckey1, "flint test: model v1");
    st = load(model, key1, NULL, &parses);
    CHECKF(st == FLINTRT_OK && parses == 1, "%d %s", st, flintrt_last_error());
    /* base64 key instead of a file */
    size_t n;
    char *pub = read_text(key1, &n);
    char b64[64] = "";
    if (pub) sscanf(strchr(pub, '\n') + 1, "%63s", b64);
    free(pub);
    st = load(model, b64, NULL, &parses);
    CHECKF(st == FLINTRT_OK, "%s", flintrt_last_error());
    /* wrong key */
    st = load(model, key2, NULL, &parses);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "untrusted key") && parses == 0, "%s",
           flintrt_last_error());
    /* one flipped byte: first, in the header, in the middle, last */
    size_t size;
    uint8_t *bytes = flt_test_read_file(model, &size);
    CHECK(bytes && size > 100);
    char sig_path[600];
    snprintf(sig_path, sizeof sig_path, "%s.minisig", model);
    size_t where[] = {0, 9, size / 2, size - 1};
    for (int i = 0; bytes && i < 4; i++) {
        bytes[where[i]] ^= 0x01;
        CHECK(write_file(flipped, bytes, size) == 0);
        bytes[where[i]] ^= 0x01;
        st = load(flipped, key1, sig_path, &parses);
        CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "tampered") && parses == 0,
               "byte %zu: %d %s", where[i], st, flintrt_last_error());
    }
    free(bytes);
    /* a malformed signature file is a refusal too */
    static const char bad_sig[] = "untrusted comment: x\nnot base64\n";
    CHECK(write_file(tmp_path("bad.minisig"), bad_sig, sizeof bad_sig - 1) == 0);
    st = load(model, key1, tmp_path("bad.minisig"), &parses);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "malformed signature") && parses == 0, "%s",
           flintrt_last_error());
    /* no policy: no trusted comment, digest only when asked */
    flintrt_model *m = NULL;
    CHECKF(flintrt_model_load(model, NULL, &m) == FLINTRT_OK, "%s", flintrt_last_error());
    uint8_t d[32];
    CHECK(flintrt_model_trusted_comment(m) == NULL && flintrt_model_digest(m, 0, NULL, d) == FLINTRT_ERR_NOT_FOUND);
    flintrt_model_free(m);
    flintrt_model_options o;
    flintrt_model_options_init(&o);
    o.compute_digest = 1;
    CHECK(flintrt_model_load(model, &o, &m) == FLINTRT_OK);
    const char *name = NULL;
    uint8_t f[32], md[32], md2[32];
    CHECK(flintrt_model_digest(m, 0, &name, d) == FLINTRT_OK && name && !strcmp(name, "model.gguf"));
    CHECK(flintrt_file_sha256(model, f) == FLINTRT_OK && !memcmp(d, f, 32));
    CHECK(flintrt_model_n_files(m) == 1 && flintrt_model_digest(m, 1, NULL, d) == FLINTRT_ERR_INVALID_ARGUMENT);
    flintrt_manifest_entry ent = {"model.gguf", model};
    CHECK(flintrt_model_manifest_digest(m, md) == FLINTRT_OK);
    CHECK(flintrt_manifest_digest(&ent, 1, md2, NULL, 0, NULL) == FLINTRT_OK && !memcmp(md, md2, 32));
    flintrt_model_free(m);
    /* an old caller's smaller options struct: the trust fields read as off */
    o.size = offsetof(flintrt_model_options, compute_digest);
    o.require_signed = 1;
    CHECK(flintrt_model_load(model, &o, &m) == FLINTRT_OK);
    CHECK(flintrt_model_digest(m, 0, NULL, d) == FLINTRT_ERR_NOT_FOUND);
    flintrt_model_free(m);
    /* require_signed without keys is the caller's mistake */
    flintrt_model_options_init(&o);
    o.require_signed = 1;
    CHECK(flintrt_model_load(model, &o, &m) == FLINTRT_ERR_INVALID_ARGUMENT);
    CHECK(!strcmp(flintrt_status_string(FLINTRT_ERR_SIGNATURE), "signature refused"));
}

/* keys written by Flint read back; signatures made by Flint verify */
static void test_roundtrip(void) {
    if (!have_sodium) return;
    flt_minisign_pubkey pk, pk2;
    flt_minisign_seckey sk, sk2;
    flt_err e;
    flt_err_clear(&e);
    char *pt = NULL, *st = NULL, *sig = NULL;
    CHECK(flt_minisign_keygen(&pk, &sk, &e) == FLINTRT_OK);
    CHECK(flt_minisign_pubkey_format(&pk, &pt, &e) == FLINTRT_OK);
    CHECK(flt_minisign_seckey_format(&sk, &st, &e) == FLINTRT_OK);
    CHECK(pt && flt_minisign_pubkey_parse(pt, strlen(pt), &pk2, &e) == FLINTRT_OK && !memcmp(&pk, &pk2, sizeof pk));
    CHECK(st && flt_minisign_seckey_parse(st, strlen(st), NULL, &sk2, &e) == FLINTRT_OK && !memcmp(&sk, &sk2, sizeof sk));
    uint8_t ph[64];
    CHECK(flt_minisign_prehash("data", 4, ph, &e) == FLINTRT_OK);
    CHECK(flt_minisign_sign(&sk, ph, "c", &sig, &e) == FLINTRT_OK);
    flt_minisign_sig *s = malloc(sizeof *s);
    CHECK(s && sig && flt_minisign_sig_parse(sig, strlen(sig), s, &e) == FLINTRT_OK);
    CHECK(flt_minisign_verify(s, &pk, "data", 4, ph, false, &e) == FLINTRT_OK);
    ph[0] ^= 1;
    CHECK(flt_minisign_verify(s, &pk, "data", 4, ph, false, &e) == FLINTRT_ERR_SIGNATURE);
    CHECK(flt_minisign_sign(&sk, ph, "two\nlines", &sig, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    free(s);
    free(pt);
    free(st);
    free(sig);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "%s/flint-trust-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_base64();
    test_sha256();
    test_manifest();
    test_minisign_fixtures();
    test_roundtrip();
    test_policy();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return flt_test_finish();
}
