#!/usr/bin/env bash
# flint synth: synthetic models load, inspect, tokenize and run; the same seed
# gives the same bytes; bad arguments are usage errors (exit 2).
# Env: FLINT_BIN (the built flint), FLINT_SHARED (reference files; optional).
set -u

FLINT=${FLINT_BIN:-flint}
SHARED=${FLINT_SHARED:-/work/shared}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cli_synth.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

. "$(dirname "$0")/cli_lib.sh"

for t in F32 F16 BF16 Q8_0 Q4_0; do
    m="$TMP/tiny-$t.gguf"
    expect_rc 0 "synth tiny $t" -- "$FLINT" synth -o "$m" --shape tiny --type "$t"
    [ -s "$m" ] || { bad "synth tiny $t wrote nothing"; continue; }
    ls "$TMP" | grep -q '\.tmp\.' && bad "synth tiny $t left a temporary file" || ok

    expect_rc 0 "inspect tiny $t" -- "$FLINT" inspect "$m"
    for name in token_embd.weight output_norm.weight output.weight blk.0.attn_q.weight blk.1.ffn_down.weight; do
        grep -q "$name" "$TMP/out" && ok || bad "inspect tiny $t: no $name"
    done
    grep -Eq "blk\.0\.attn_q\.weight +$t " "$TMP/out" && ok || bad "inspect tiny $t: attn_q is not $t"
    grep -Eq "blk\.0\.attn_norm\.weight +F32 " "$TMP/out" && ok || bad "inspect tiny $t: attn_norm is not F32"

    expect_rc 0 "run tiny $t" -- "$FLINT" run -m "$m" -p "Once upon a time" -n 8 --temp 0
    [ -s "$TMP/out" ] && ok || bad "run tiny $t printed nothing"
done

# General.file_type as llama.cpp numbers it.
"$FLINT" inspect "$TMP/tiny-Q8_0.gguf" | grep -Eq 'general\.file_type +UINT32 +7$' && ok || bad "Q8_0 file_type is not 7"
"$FLINT" inspect "$TMP/tiny-BF16.gguf" | grep -Eq 'general\.file_type +UINT32 +32$' && ok || bad "BF16 file_type is not 32"

# The built-in vocab splits English into word pieces: "▁Once ▁upon ▁a ▁time" after BOS.
ids=$("$FLINT" tokenize -m "$TMP/tiny-F32.gguf" -p "Once upon a time")
set -- $ids
[ $# -eq 5 ] && [ "$1" = 1 ] && ok || bad "tokenize 'Once upon a time' gave '$ids', expected BOS + 4 words"

# Determinism: same seed, same bytes; another seed, other bytes.
expect_rc 0 "synth again" -- "$FLINT" synth -o "$TMP/again.gguf" --type Q4_0
cmp -s "$TMP/tiny-Q4_0.gguf" "$TMP/again.gguf" && ok || bad "same seed gave different bytes"
expect_rc 0 "synth seed 7" -- "$FLINT" synth -o "$TMP/seed7.gguf" --type Q4_0 --seed 7
cmp -s "$TMP/tiny-Q4_0.gguf" "$TMP/seed7.gguf" && bad "different seeds gave identical bytes" || ok
expect_rc 0 "synth seed 7 again" -- "$FLINT" synth -o "$TMP/seed7b.gguf" --type Q4_0 --seed 7
cmp -s "$TMP/seed7.gguf" "$TMP/seed7b.gguf" && ok || bad "seed 7 twice gave different bytes"

# --ctx is recorded.
expect_rc 0 "synth --ctx 96" -- "$FLINT" synth -o "$TMP/ctx.gguf" --ctx 96
"$FLINT" inspect "$TMP/ctx.gguf" | grep -Eq 'llama\.context_length +UINT32 +96$' && ok || bad "--ctx 96 not recorded"

# Overwrite protection.
cp "$TMP/ctx.gguf" "$TMP/ctx.before"
expect_rc 1 "existing output without --force" -- "$FLINT" synth -o "$TMP/ctx.gguf"
cmp -s "$TMP/ctx.gguf" "$TMP/ctx.before" && ok || bad "existing output was modified without --force"
expect_rc 0 "existing output with --force" -- "$FLINT" synth -o "$TMP/ctx.gguf" --force
cmp -s "$TMP/ctx.gguf" "$TMP/tiny-F32.gguf" && ok || bad "--force did not replace the file"

# Usage errors.
expect_rc 2 "missing -o" -- "$FLINT" synth
expect_rc 2 "unknown shape" -- "$FLINT" synth -o "$TMP/x.gguf" --shape huge
expect_rc 2 "unknown type" -- "$FLINT" synth -o "$TMP/x.gguf" --type Q5_K
expect_rc 2 "bad seed" -- "$FLINT" synth -o "$TMP/x.gguf" --seed 12x
expect_rc 2 "bad ctx" -- "$FLINT" synth -o "$TMP/x.gguf" --ctx 0
expect_rc 2 "unknown option" -- "$FLINT" synth -o "$TMP/x.gguf" --bogus
expect_rc 2 "-o without value" -- "$FLINT" synth -o
[ -e "$TMP/x.gguf" ] && bad "a failed synth left x.gguf" || ok
expect_rc 0 "--help" -- "$FLINT" synth --help
grep -q "usage: flint synth" "$TMP/out" && ok || bad "--help prints no usage"

# A vocab file that is not GGUF: runtime error, nothing written.
echo "not a gguf" >"$TMP/junk.gguf"
expect_rc 1 "--vocab junk" -- "$FLINT" synth -o "$TMP/y.gguf" --vocab "$TMP/junk.gguf"
[ -e "$TMP/y.gguf" ] && bad "--vocab junk left y.gguf" || ok

# The tokenizer of a real model, copied with --vocab.
VOCAB="$SHARED/tokenizers/ggml-vocab-llama-spm.gguf"
if [ -f "$VOCAB" ]; then
    expect_rc 0 "synth --vocab llama-spm" -- "$FLINT" synth -o "$TMP/spm.gguf" --type Q8_0 --vocab "$VOCAB"
    "$FLINT" inspect "$TMP/spm.gguf" >"$TMP/insp"
    grep -Eq 'token_embd\.weight +Q8_0 +\[64, 32000\]' "$TMP/insp" && ok || bad "--vocab: token_embd is not [64, 32000]"
    grep -q 'array of 32000 STRING' "$TMP/insp" && ok || bad "--vocab: tokenizer.ggml.tokens is not 32000 strings"
    want=$("$FLINT" tokenize -m "$VOCAB" -p "Hello world, once upon a time")
    got=$("$FLINT" tokenize -m "$TMP/spm.gguf" -p "Hello world, once upon a time")
    [ -n "$got" ] && [ "$got" = "$want" ] && ok || bad "--vocab: tokenize gave '$got', the vocab file '$want'"
    expect_rc 0 "run --vocab model" -- "$FLINT" run -m "$TMP/spm.gguf" -p "Once upon a time" -n 8 --temp 0
else
    echo "skip: $VOCAB not found"
fi

cli_finish
