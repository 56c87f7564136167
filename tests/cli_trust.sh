#!/usr/bin/env bash
# Trust from the command line: interop with Debian's minisign in both directions,
# refusals (flipped byte anywhere, wrong key, legacy, unsigned), the load policy on
# run/inspect/eval/tokenize with flags and environment defaults, digests vs sha256sum,
# and `flint run --sandbox`.
# Env: FLINT_BIN (the built flint). minisign missing: the interop part is skipped.
set -u

FLINT=${FLINT_BIN:-flint}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cli_trust.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
unset FLINT_REQUIRE_SIGNED FLINT_TRUSTED_KEYS

. "$(dirname "$0")/cli_lib.sh"
err_has() { grep -q -- "$2" "$TMP/err" && ok || { bad "$1: stderr lacks '$2'"; sed 's/^/  | /' "$TMP/err" | head -3; }; }

M="$TMP/model.gguf"
expect_rc 0 "synth" -- "$FLINT" synth -o "$M" --shape tiny
size=$(stat -c %s "$M")

# Without libsodium every trust call is unsupported: check that much and stop.
if ! "$FLINT" keygen -W -p "$TMP/f.pub" -s "$TMP/f.key" >/dev/null 2>"$TMP/err"; then
    err_has "keygen without libsodium" "libsodium"
    expect_rc 0 "load without a policy still works" -- "$FLINT" run -m "$M" -p "x" -n 2 --temp 0
    echo "flint built without libsodium: signature tests skipped"
    cli_finish
    exit
fi
[ "$(stat -c %a "$TMP/f.key")" = 600 ] && ok || bad "secret key mode is not 0600"
expect_rc 1 "keygen refuses to overwrite" -- "$FLINT" keygen -W -p "$TMP/f.pub" -s "$TMP/f.key"
expect_rc 2 "keygen without -W" -- "$FLINT" keygen -p "$TMP/g.pub" -s "$TMP/g.key"
"$FLINT" keygen -W -p "$TMP/other.pub" -s "$TMP/other.key" >/dev/null 2>&1 || bad "keygen other"
FPUB_B64=$(tail -n 1 "$TMP/f.pub")

# inspect shows the SHA-256 sha256sum computes
expect_rc 0 "inspect" -- "$FLINT" inspect "$M"
want=$(sha256sum "$M" | cut -d' ' -f1)
grep -q "^sha256: *$want\$" "$TMP/out" && ok || bad "inspect sha256 differs from sha256sum ($want)"
expect_rc 0 "run --digest" -- "$FLINT" run -m "$M" -p "x" -n 2 --temp 0 --digest
err_has "run --digest" "sha256 $want"

# flint sign -> flint verify, with the trusted comment
expect_rc 0 "flint sign" -- "$FLINT" sign "$M" -s "$TMP/f.key" -t "model: tiny v1"
[ -s "$M.minisig" ] && ok || bad "flint sign wrote no $M.minisig"
expect_rc 0 "flint verify -p" -- "$FLINT" verify "$M" -p "$TMP/f.pub"
grep -q "^trusted comment: model: tiny v1$" "$TMP/out" && ok || bad "verify did not print the trusted comment"
expect_rc 0 "flint verify -P" -- "$FLINT" verify "$M" -P "$FPUB_B64"
expect_rc 1 "flint verify, wrong key" -- "$FLINT" verify "$M" -p "$TMP/other.pub"
err_has "wrong key" "untrusted key"
expect_rc 2 "verify without a key" -- "$FLINT" verify "$M"

# one flipped byte anywhere: first, inside the header, middle, last
for off in 0 7 $((size / 2)) $((size - 1)); do
    cp "$M" "$TMP/flip.gguf"
    b=$(od -An -tu1 -j "$off" -N1 "$M" | tr -d ' ')
    printf "$(printf '\\%03o' $(((b ^ 1) & 255)))" | dd of="$TMP/flip.gguf" bs=1 seek="$off" conv=notrunc status=none
    cmp -s "$M" "$TMP/flip.gguf" && bad "byte $off not flipped"
    expect_rc 1 "flipped byte $off" -- "$FLINT" verify "$TMP/flip.gguf" -p "$TMP/f.pub" -x "$M.minisig"
    err_has "flipped byte $off" "tampered"
    expect_rc 1 "run policy, flipped byte $off" -- "$FLINT" run -m "$TMP/flip.gguf" -p x -n 1 --require-signed \
        --trusted-key "$TMP/f.pub" --signature "$M.minisig"
    err_has "run policy, flipped byte $off" "tampered"
done

# the load policy on run/inspect/eval/tokenize, flags and environment
expect_rc 0 "run --require-signed" -- "$FLINT" run -m "$M" -p "x" -n 2 --temp 0 --require-signed --trusted-key "$TMP/f.pub"
err_has "run --require-signed" "trusted comment: model: tiny v1"
expect_rc 0 "tokenize --require-signed" -- "$FLINT" tokenize -m "$M" -p "hi" --require-signed --trusted-key "$FPUB_B64"
expect_rc 0 "eval --require-signed" -- "$FLINT" eval -m "$M" --ids "1 2" -o "$TMP/l.f32" --require-signed --trusted-key "$TMP/f.pub"
expect_rc 0 "inspect --require-signed" -- "$FLINT" inspect "$M" --require-signed --trusted-key "$TMP/f.pub"
grep -q "^trusted comment: model: tiny v1$" "$TMP/out" && ok || bad "inspect did not show the trusted comment"
expect_rc 1 "run, untrusted signer" -- "$FLINT" run -m "$M" -p x -n 1 --require-signed --trusted-key "$TMP/other.pub"
err_has "run, untrusted signer" "untrusted key"
expect_rc 2 "--require-signed without a key" -- "$FLINT" run -m "$M" -p x -n 1 --require-signed
cp "$M" "$TMP/unsigned.gguf"
expect_rc 1 "unsigned, env policy" -- env FLINT_REQUIRE_SIGNED=1 FLINT_TRUSTED_KEYS="$TMP/other.pub:$TMP/f.pub" \
    "$FLINT" tokenize -m "$TMP/unsigned.gguf" -p hi
err_has "unsigned, env policy" "unsigned"
expect_rc 0 "signed, env policy (second key)" -- env FLINT_REQUIRE_SIGNED=1 FLINT_TRUSTED_KEYS="$TMP/other.pub:$TMP/f.pub" \
    "$FLINT" tokenize -m "$M" -p hi
expect_rc 2 "bad FLINT_REQUIRE_SIGNED" -- env FLINT_REQUIRE_SIGNED=yes "$FLINT" tokenize -m "$M" -p hi
# a file no parser would accept is refused as unsigned, not as a malformed GGUF
printf 'GGUF\377\377\377\377garbage' >"$TMP/garbage.gguf"
expect_rc 1 "garbage under the policy" -- "$FLINT" inspect "$TMP/garbage.gguf" --require-signed --trusted-key "$TMP/f.pub"
err_has "garbage under the policy" "unsigned"
grep -qi "version\|magic" "$TMP/err" && bad "garbage reached the GGUF parser under the policy" || ok
expect_rc 1 "garbage without the policy" -- "$FLINT" inspect "$TMP/garbage.gguf"
err_has "garbage without the policy" "GGUF"

# the sandbox: generation works after it is entered
expect_rc 0 "run --sandbox" -- "$FLINT" run -m "$M" -p "x" -n 4 --temp 0 --sandbox
[ -s "$TMP/out" ] && ok || bad "run --sandbox generated nothing"

if ! command -v minisign >/dev/null 2>&1; then
    echo "SKIP: minisign is not installed (apt-get install minisign): interop with it not tested"
else
    # minisign -G -W + minisign -S -> flint verify
    minisign -G -W -p "$TMP/ms.pub" -s "$TMP/ms.key" >/dev/null 2>&1 || bad "minisign -G"
    cp "$M" "$TMP/ms.gguf"
    minisign -S -s "$TMP/ms.key" -m "$TMP/ms.gguf" -t "signed by minisign" >/dev/null 2>&1 || bad "minisign -S"
    expect_rc 0 "minisign -S -> flint verify" -- "$FLINT" verify "$TMP/ms.gguf" -p "$TMP/ms.pub"
    grep -q "^trusted comment: signed by minisign$" "$TMP/out" && ok || bad "trusted comment from minisign"
    expect_rc 0 "minisign -S -> flint run --require-signed" -- "$FLINT" run -m "$TMP/ms.gguf" -p x -n 1 \
        --require-signed --trusted-key "$TMP/ms.pub"
    expect_rc 1 "minisign -S, wrong key" -- "$FLINT" verify "$TMP/ms.gguf" -p "$TMP/f.pub"
    err_has "minisign -S, wrong key" "untrusted key"
    printf 'x' | dd of="$TMP/ms.gguf" bs=1 seek=$((size / 3)) conv=notrunc status=none
    expect_rc 1 "minisign -S, flipped byte" -- "$FLINT" verify "$TMP/ms.gguf" -p "$TMP/ms.pub"
    err_has "minisign -S, flipped byte" "tampered"
    # flint sign -> minisign -V
    expect_rc 0 "flint sign -> minisign -V" -- minisign -V -m "$M" -p "$TMP/f.pub"
    grep -q "model: tiny v1" "$TMP/out" && ok || bad "minisign -V did not show the trusted comment"
    cp "$M" "$TMP/tamper.gguf"
    cp "$M.minisig" "$TMP/tamper.gguf.minisig"
    printf 'x' >>"$TMP/tamper.gguf"
    expect_rc 1 "minisign -V refuses what flint refuses" -- minisign -V -m "$TMP/tamper.gguf" -p "$TMP/f.pub"
    # flint signs with a key minisign made, and minisign signs with a key flint made
    expect_rc 0 "flint sign with a minisign key" -- "$FLINT" sign "$M" -s "$TMP/ms.key" -x "$TMP/m2.minisig"
    expect_rc 0 "... minisign -V" -- minisign -V -m "$M" -p "$TMP/ms.pub" -x "$TMP/m2.minisig"
    expect_rc 0 "minisign -S with a flint key" -- minisign -S -s "$TMP/f.key" -m "$M" -x "$TMP/m3.minisig"
    expect_rc 0 "... flint verify" -- "$FLINT" verify "$M" -p "$TMP/f.pub" -x "$TMP/m3.minisig"
    # legacy signatures: refused unless allowed
    minisign -S -l -s "$TMP/ms.key" -m "$M" -x "$TMP/legacy.minisig" >/dev/null 2>&1 || bad "minisign -S -l"
    expect_rc 1 "legacy refused" -- "$FLINT" verify "$M" -p "$TMP/ms.pub" -x "$TMP/legacy.minisig"
    err_has "legacy refused" "legacy"
    expect_rc 0 "legacy allowed" -- "$FLINT" verify "$M" -p "$TMP/ms.pub" -x "$TMP/legacy.minisig" --allow-legacy
    expect_rc 1 "legacy refused by run" -- "$FLINT" run -m "$M" -p x -n 1 --require-signed --trusted-key "$TMP/ms.pub" \
        --signature "$TMP/legacy.minisig"
    expect_rc 0 "legacy allowed by run" -- "$FLINT" run -m "$M" -p x -n 1 --require-signed --trusted-key "$TMP/ms.pub" \
        --signature "$TMP/legacy.minisig" --allow-legacy
fi

# an encrypted minisign key (fixture) signs with its password
if [ -n "${FLINT_TESTDATA:-}" ] && [ -f "$FLINT_TESTDATA/trust/enc.key" ]; then
    expect_rc 1 "encrypted key, no password" -- "$FLINT" sign "$M" -s "$FLINT_TESTDATA/trust/enc.key" -x "$TMP/e.minisig"
    expect_rc 0 "encrypted key" -- "$FLINT" sign "$M" -s "$FLINT_TESTDATA/trust/enc.key" -x "$TMP/e.minisig" \
        --password-file "$FLINT_TESTDATA/trust/enc.password"
    expect_rc 0 "encrypted key: verify" -- "$FLINT" verify "$M" -p "$FLINT_TESTDATA/trust/enc.pub" -x "$TMP/e.minisig"
fi

cli_finish
