/* The trust policy on the ONNX load path (flintrt_graph_model_load): refusals
 * happen before the protobuf parser receives the bytes (counted with the
 * on_parse hook), a signed single-file model loads, external data is covered
 * only through a signed manifest (tampering with a weights file, the manifest
 * or the model is refused before parsing), and compute_digest lists every file.
 * Keys: tests/data/trust (made with Debian's minisign). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "harness.h"
#include "onnx_test_util.h"
#include "trust_test_util.h"
#include "trust/minisign.h"

/* ---- a model y = x + w (float[2]); w inline or in an external file ---- */

/* float[2] */
static void value_info(pbw *g, unsigned f, const char *name) {
    const int64_t dims[1] = {2};
    pb_value_info(g, f, name, 1, 1, dims);
}

static void build_model(pbw *model, const char *ext) {
    pbw g = {.n = 0}, node = {.n = 0}, init = {.n = 0};
    sfield(&node, 1, "x");
    sfield(&node, 1, "w");
    sfield(&node, 2, "y");
    sfield(&node, 4, "Add");
    mfield(&g, 1, &node);
    sfield(&g, 2, "g");
    vfield(&init, 1, 2);
    vfield(&init, 2, 1);
    sfield(&init, 8, "w");
    const float w[2] = {10.0f, 20.0f};
    if (ext) {
        pbw kv = {.n = 0};
        sfield(&kv, 1, "location");
        sfield(&kv, 2, ext);
        mfield(&init, 13, &kv);
        vfield(&init, 14, 1);
    } else {
        bfield(&init, 9, w, sizeof w);
    }
    mfield(&g, 5, &init);
    value_info(&g, 11, "x");
    value_info(&g, 12, "y");
    pb_model(model, 13, &g);
}

/* y = x + w for x = {1, 2}: w's values come through as loaded. */
static bool runs(flintrt_graph_model *m) {
    flintrt_graph_session *s = NULL;
    if (flintrt_graph_session_create(m, NULL, &s)) return false;
    const float x[2] = {1, 2};
    const int64_t dims[1] = {2};
    flintrt_tensor_view v = {.size = sizeof v};
    bool ok = !flintrt_graph_session_set_input(s, 0, FLINTRT_DTYPE_FLOAT32, 1, dims, x, sizeof x) &&
              !flintrt_graph_session_run(s) && !flintrt_graph_session_output(s, 0, &v) && v.nbytes == 8 &&
              ((const float *)v.data)[0] == 11.0f && ((const float *)v.data)[1] == 22.0f;
    flintrt_graph_session_free(s);
    return ok;
}

typedef struct counter {
    int parses;
} counter;
static void count_parse(void *user) { ((counter *)user)->parses++; }

static flintrt_status load(const char *path, bool sign, bool digest, const char *key, int *parses,
                           flintrt_graph_model **out) {
    flintrt_model_options o;
    flintrt_model_options_init(&o);
    const char *keys[1] = {key};
    o.require_signed = sign;
    o.compute_digest = digest;
    o.trusted_keys = keys;
    o.n_trusted_keys = key ? 1 : 0;
    counter c = {0};
    flt_load_hooks hooks = {count_parse, &c};
    flintrt_graph_model *m = NULL;
    flintrt_status st = flt_graph_model_load_ex(path, &o, &hooks, &m);
    *parses = c.parses;
    if (out) *out = m;
    else flintrt_graph_model_free(m);
    return st;
}

static void flip_byte(const char *path, size_t at) {
    size_t n;
    uint8_t *d = flt_test_read_file(path, &n);
    CHECK(d && at < n);
    if (!d || at >= n) { free(d); return; }
    d[at] ^= 0x01;
    CHECK(write_file(path, d, n) == 0);
    free(d);
}

/* the canonical manifest of the given files (in tmpdir), written to path */
static void write_manifest(const char *path, const char *const *names, size_t n) {
    flintrt_manifest_entry ent[4];
    char paths[4][512];
    for (size_t i = 0; i < n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s", tmp_path(names[i]));
        ent[i] = (flintrt_manifest_entry){names[i], paths[i]};
    }
    uint8_t sha[32];
    char text[2048];
    size_t len = 0;
    CHECK(flintrt_manifest_digest(ent, n, sha, text, sizeof text, &len) == FLINTRT_OK);
    CHECK(write_file(path, text, strlen(text)) == 0);
}

static void test_single_file(const char *key1, const char *key2, const char *sec1) {
    static pbw m;
    build_model(&m, NULL);
    const char *model = tmp_path("single.onnx");
    CHECK(write_file(model, m.b, m.n) == 0);
    int parses = -1;
    flintrt_graph_model *gm = NULL;

    /* no policy: loads, parser entered once */
    CHECK(load(model, false, false, NULL, &parses, &gm) == FLINTRT_OK && parses == 1 && gm && runs(gm));
    flintrt_graph_model_free(gm);

    /* unsigned: refused, parser never entered */
    flintrt_status st = load(model, true, false, key1, &parses, NULL);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "unsigned") && parses == 0, "%d %d %s", st,
           parses, flintrt_last_error());
    /* bytes no protobuf parser would accept: still reported as unsigned */
    const char *junk_path = tmp_path("junk.onnx");
    static const char junk[] = "\x0a\xff\xff\xff\xff\x0f not a model";
    CHECK(write_file(junk_path, junk, sizeof junk - 1) == 0);
    st = load(junk_path, true, false, key1, &parses, NULL);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "unsigned") && parses == 0, "%s",
           flintrt_last_error());
    if (!have_sodium) {
        CHECK(load(model, false, true, NULL, &parses, NULL) == FLINTRT_ERR_UNSUPPORTED && parses == 0);
        return;
    }
    /* signed garbage passes the policy and only then meets the parser: proves the order */
    sign_file(junk_path, sec1, "flint test: onnx v1");
    st = load(junk_path, true, false, key1, &parses, NULL);
    CHECKF(st != FLINTRT_OK && st != FLINTRT_ERR_SIGNATURE && parses == 1, "%d %d %s", st, parses, flintrt_last_error());

    /* signed: loads and runs; the digest is the file's SHA-256 */
    sign_file(model, sec1, "flint test: onnx v1");
    st = load(model, true, false, key1, &parses, &gm);
    CHECKF(st == FLINTRT_OK && parses == 1, "%d %s", st, flintrt_last_error());
    if (gm) {
        uint8_t d[32], f[32];
        const char *name = NULL;
        CHECK(runs(gm));
        CHECK(flintrt_graph_model_n_files(gm) == 1);
        CHECK(flintrt_graph_model_digest(gm, 0, &name, d) == FLINTRT_OK && name && !strcmp(name, "single.onnx"));
        CHECK(flintrt_file_sha256(model, f) == FLINTRT_OK && !memcmp(d, f, 32));
        const char *tc = flintrt_graph_model_trusted_comment(gm);
        CHECKF(tc && !strcmp(tc, "flint test: onnx v1"), "%s", tc ? tc : "(null)");
        CHECK(flintrt_graph_model_signer_key_id(gm) != NULL);
    }
    flintrt_graph_model_free(gm);
    /* another trusted key only: untrusted, before parsing */
    st = load(model, true, false, key2, &parses, NULL);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "untrusted key") && parses == 0, "%s",
           flintrt_last_error());
    /* one flipped byte: tampered, before parsing */
    flip_byte(model, m.n / 2);
    st = load(model, true, false, key1, &parses, NULL);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "tampered") && parses == 0, "%s",
           flintrt_last_error());
}

static void test_external(const char *key1, const char *sec1) {
    if (!have_sodium) return;
    static pbw m;
    build_model(&m, "weights.bin");
    const char *model = tmp_path("ext.onnx");
    const char *weights = tmp_path("weights.bin");
    const float w[2] = {10.0f, 20.0f};
    CHECK(write_file(model, m.b, m.n) == 0 && write_file(weights, w, sizeof w) == 0);
    int parses = -1;
    flintrt_graph_model *gm = NULL;

    /* digest only: both files digested, the manifest digest matches flintrt_manifest_digest */
    flintrt_status st = load(model, false, true, NULL, &parses, &gm);
    CHECKF(st == FLINTRT_OK, "%s", flintrt_last_error());
    if (gm) {
        CHECK(runs(gm));
        CHECK(flintrt_graph_model_n_files(gm) == 2);
        uint8_t d[32], f[32], md[32], want[32];
        const char *name = NULL;
        CHECK(flintrt_graph_model_digest(gm, 1, &name, d) == FLINTRT_OK && name && !strcmp(name, "weights.bin"));
        CHECK(flintrt_file_sha256(weights, f) == FLINTRT_OK && !memcmp(d, f, 32));
        flintrt_manifest_entry ent[2] = {{"ext.onnx", model}, {"weights.bin", weights}};
        CHECK(flintrt_manifest_digest(ent, 2, want, NULL, 0, NULL) == FLINTRT_OK);
        CHECK(flintrt_graph_model_manifest_digest(gm, md) == FLINTRT_OK && !memcmp(md, want, 32));
    }
    flintrt_graph_model_free(gm);
    gm = NULL;

    /* signed .onnx, no manifest: the weights are not covered */
    sign_file(model, sec1, "flint test: onnx v1");
    st = load(model, true, false, key1, &parses, NULL);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "not covered"), "%d %s", st,
           flintrt_last_error());

    /* a signed manifest listing both: loads and runs */
    const char *manifest = tmp_path("ext.onnx.manifest");
    const char *both[2] = {"ext.onnx", "weights.bin"};
    write_manifest(manifest, both, 2);
    sign_file(manifest, sec1, "flint test: onnx v1");
    st = load(model, true, false, key1, &parses, &gm);
    CHECKF(st == FLINTRT_OK && parses == 1, "%d %s", st, flintrt_last_error());
    if (gm) {
        CHECK(runs(gm));
        CHECK(flintrt_graph_model_n_files(gm) == 2);
        const char *tc = flintrt_graph_model_trusted_comment(gm);
        CHECK(tc && !strcmp(tc, "flint test: onnx v1"));
    }
    flintrt_graph_model_free(gm);
    gm = NULL;

    /* tampered weights: refused before the parser */
    flip_byte(weights, 1);
    st = load(model, true, false, key1, &parses, NULL);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "tampered") &&
           strstr(flintrt_last_error(), "weights.bin") && parses == 0, "%d %s", st, flintrt_last_error());
    flip_byte(weights, 1);
    /* tampered model */
    flip_byte(model, m.n - 3);
    st = load(model, true, false, key1, &parses, NULL);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "tampered") && parses == 0, "%s",
           flintrt_last_error());
    flip_byte(model, m.n - 3);
    /* tampered manifest (a digest edited after signing) */
    flip_byte(manifest, 0);
    st = load(model, true, false, key1, &parses, NULL);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "tampered") && parses == 0, "%s",
           flintrt_last_error());
    /* a signed manifest that leaves the weights out: not covered */
    const char *one[1] = {"ext.onnx"};
    write_manifest(manifest, one, 1);
    sign_file(manifest, sec1, "flint test: onnx v1");
    st = load(model, true, false, key1, &parses, NULL);
    CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "not covered") && parses == 1, "%d %s", st,
           flintrt_last_error());
    /* a signed manifest that is not canonical (unsorted) is refused */
    size_t n1, n2;
    char *t1 = NULL, *t2 = NULL;
    write_manifest(manifest, both, 2);
    char *text = flt_test_read_file(manifest, &n1);
    if (text && n1 > 4) {
        char *nl = memchr(text, '\n', n1);
        n2 = nl ? (size_t)(nl - text) + 1 : 0;
        t1 = malloc(n1);
        if (t1 && n2 && n2 < n1) {
            memcpy(t1, text + n2, n1 - n2);
            memcpy(t1 + (n1 - n2), text, n2);
            CHECK(write_file(manifest, t1, n1) == 0);
            sign_file(manifest, sec1, "flint test: onnx v1");
            st = load(model, true, false, key1, &parses, NULL);
            CHECKF(st == FLINTRT_ERR_SIGNATURE && strstr(flintrt_last_error(), "canonical") && parses == 0, "%s",
                   flintrt_last_error());
        }
    }
    free(t1);
    free(t2);
    free(text);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/flint-onnx-trust-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "mkdtemp failed\n");
        return 1;
    }
    char key1[1024], key2[1024], sec1[1024];
    snprintf(key1, sizeof key1, "%s", flt_test_data("trust/key1.pub"));
    snprintf(key2, sizeof key2, "%s", flt_test_data("trust/key2.pub"));
    snprintf(sec1, sizeof sec1, "%s", flt_test_data("trust/key1.key"));
    test_single_file(key1, key2, sec1);
    test_external(key1, sec1);
    const char *names[] = {"single.onnx", "single.onnx.minisig", "junk.onnx", "junk.onnx.minisig", "ext.onnx",
                           "ext.onnx.minisig", "weights.bin", "ext.onnx.manifest", "ext.onnx.manifest.minisig"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(tmp_path(names[i]));
    rmdir(tmpdir);
    return flt_test_finish();
}
