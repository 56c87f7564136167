/* flint keygen: make a minisign-compatible Ed25519 key pair.
 * The secret key is written unencrypted (like `minisign -G -W`), mode 0600; -W must be
 * given so nobody gets an unencrypted key by surprise. Flint reads encrypted minisign
 * keys (flint sign --password-file) but does not write them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "trust/minisign.h"

static const char keygen_usage[] =
    "usage: flint keygen -W [-p PUB] [-s SEC] [-f]\n"
    "  -p FILE   public key file (default flint.pub)\n"
    "  -s FILE   secret key file (default flint.key), written with mode 0600\n"
    "  -W        write the secret key without a password (the only kind Flint writes;\n"
    "            use `minisign -G` for a password-protected key: `flint sign` reads it)\n"
    "  -f        overwrite existing key files\n";

/* Write text to path: new file only unless force; mode applies to a new file. */
static int write_text(const char *path, const char *text, int mode, int force) {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, mode);
    if (fd < 0) {
        if (errno == EEXIST) return flint_error("%s exists (use -f to overwrite)", path);
        return flint_error("cannot create %s: %s", path, strerror(errno));
    }
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = errno;
            close(fd);
            return flint_error("writing %s: %s", path, strerror(err));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) return flint_error("writing %s: %s", path, strerror(errno));
    return FLINT_EXIT_OK;
}

int flint_cmd_keygen(int argc, char **argv) {
    const char *cmd = "keygen";
    const char *pub = "flint.pub", *sec = "flint.key";
    int no_password = 0, force = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (flint_is_help(a)) {
            fputs(keygen_usage, stdout);
            return FLINT_EXIT_OK;
        } else if (!strcmp(a, "-p")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, keygen_usage, NULL);
            pub = v;
        } else if (!strcmp(a, "-s")) {
            if (!(v = flint_arg_value(cmd, argc, argv, &i))) return flint_usage_error(cmd, keygen_usage, NULL);
            sec = v;
        } else if (!strcmp(a, "-W")) {
            no_password = 1;
        } else if (!strcmp(a, "-f")) {
            force = 1;
        } else {
            return flint_usage_error(cmd, keygen_usage, "unknown option '%s'", a);
        }
    }
    if (!no_password)
        return flint_usage_error(cmd, keygen_usage, "Flint writes only unencrypted secret keys: give -W to confirm");
    if (!*pub || !*sec || !strcmp(pub, sec)) return flint_usage_error(cmd, keygen_usage, "give two different file names");
    flt_minisign_pubkey pk;
    flt_minisign_seckey sk;
    flt_err e;
    flt_err_clear(&e);
    char *pub_text = NULL, *sec_text = NULL;
    int rc = FLINT_EXIT_OK;
    if (flt_minisign_keygen(&pk, &sk, &e) || flt_minisign_pubkey_format(&pk, &pub_text, &e) ||
        flt_minisign_seckey_format(&sk, &sec_text, &e)) {
        rc = flint_error("%s: %s", flintrt_status_string(e.status), e.msg);
    } else {
        rc = write_text(sec, sec_text, 0600, force);
        if (rc == FLINT_EXIT_OK) rc = write_text(pub, pub_text, 0644, force);
        if (rc == FLINT_EXIT_OK) {
            char id[17];
            flt_minisign_keyid_hex(pk.keynum, id);
            printf("key id %s\nsecret key: %s (unencrypted: keep it private)\npublic key: %s\n", id, sec, pub);
            /* the second line of the .pub file is the key as -P / --trusted-key takes it */
            const char *nl = strchr(pub_text, '\n');
            if (nl) printf("%s", nl + 1);
        }
    }
    if (sec_text) {
        memset(sec_text, 0, strlen(sec_text));
        free(sec_text);
    }
    memset(&sk, 0, sizeof sk);
    free(pub_text);
    return rc;
}
