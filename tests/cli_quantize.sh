#!/usr/bin/env bash
# flint quantize and flint perplexity from the command line: byte-identity with
# llama-quantize's files for the deterministic types, -t 1 == -t 2, the input is
# never overwritten, an existing output only with --force, unknown types are usage
# errors listing the valid ones, norms stay F32, the output runs; perplexity runs,
# saves a KL base and reads it back (self-KLD 0, 100 % same top token), and refuses
# a malformed base.
# Env: FLINT_BIN (the built flint), FLINT_SHARED (the shared models).
set -u

FLINT=${FLINT_BIN:-flint}
SHARED=${FLINT_SHARED:-/work/shared}
HERE=$(cd "$(dirname "$0")" && pwd)
TEXT="$HERE/../bench/data/stories.txt"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cli_quantize.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

. "$(dirname "$0")/cli_lib.sh"

F32="$SHARED/models/tiny-llama-F32.gguf"
cp "$F32" "$TMP/in.gguf"
sum_in=$(cksum <"$TMP/in.gguf")

for t in Q8_0 Q4_0 Q4_1 Q5_0 Q5_1; do
    expect_rc 0 "quantize $t -t 1" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/$t-1.gguf" $t -t 1
    expect_rc 0 "quantize $t -t 2" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/$t-2.gguf" $t -t 2
    cmp -s "$TMP/$t-1.gguf" "$TMP/$t-2.gguf" && ok || bad "$t: -t 1 and -t 2 differ"
    cmp "$TMP/$t-2.gguf" "$SHARED/models/tiny-llama-$t.gguf" >"$TMP/cmp" 2>&1 && ok \
        || bad "$t: not byte-identical to llama-quantize's file: $(cat "$TMP/cmp")"
done
# the type name is case-insensitive, as llama-quantize's
expect_rc 0 "quantize q4_k_m" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/Q4_K_M.gguf" q4_k_m
"$FLINT" inspect "$TMP/Q4_K_M.gguf" >"$TMP/insp"
grep -Eq 'blk\.0\.attn_norm\.weight +F32 ' "$TMP/insp" && ok || bad "Q4_K_M: attn_norm is not F32"
grep -Eq 'output_norm\.weight +F32 ' "$TMP/insp" && ok || bad "Q4_K_M: output_norm is not F32"
grep -Eq 'output\.weight +Q6_K ' "$TMP/insp" && ok || bad "Q4_K_M: output.weight is not Q6_K"
grep -Eq 'general\.file_type +UINT32 +15$' "$TMP/insp" && ok || bad "Q4_K_M: file_type is not 15"
grep -Eq 'general\.quantization_version +UINT32 +2$' "$TMP/insp" && ok || bad "Q4_K_M: quantization_version is not 2"
expect_rc 0 "run the Q4_K_M output" -- "$FLINT" run -m "$TMP/Q4_K_M.gguf" -p "Once upon a time" -n 4 --temp 0
ls "$TMP" | grep -q '\.tmp\.' && bad "a temporary file was left behind" || ok

# never the input; an existing output only with --force
expect_rc 1 "output = input" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/in.gguf" Q8_0 --force
grep -q "is the input" "$TMP/err" && ok || bad "output = input: message does not say so"
ln -s "$TMP/in.gguf" "$TMP/sym.gguf"
expect_rc 1 "output = symlink to input" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/sym.gguf" Q8_0 --force
ln "$TMP/in.gguf" "$TMP/hard.gguf"
expect_rc 1 "output = hard link to input" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/hard.gguf" Q8_0 --force
expect_rc 1 "output = input via another path" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/./in.gguf" Q8_0 --force
[ "$(cksum <"$TMP/in.gguf")" = "$sum_in" ] && ok || bad "the input changed"
expect_rc 1 "existing output" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/Q4_0-1.gguf" Q8_0
cmp -s "$TMP/Q4_0-1.gguf" "$SHARED/models/tiny-llama-Q4_0.gguf" && ok || bad "an existing output was replaced without --force"
expect_rc 0 "existing output --force" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/Q4_0-1.gguf" Q8_0 --force
cmp -s "$TMP/Q4_0-1.gguf" "$SHARED/models/tiny-llama-Q8_0.gguf" && ok || bad "--force did not replace the output"

# usage errors
expect_rc 2 "unknown type" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/x.gguf" Q9_9
grep -q "unknown type 'Q9_9'" "$TMP/err" && grep -q "Q4_K_M" "$TMP/err" && grep -q "IQ4_XS" "$TMP/err" && ok \
    || bad "unknown type: message does not list the valid types"
expect_rc 2 "missing type" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/x.gguf"
expect_rc 2 "bad -t" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/x.gguf" Q8_0 -t x
expect_rc 2 "unknown option" -- "$FLINT" quantize "$TMP/in.gguf" "$TMP/x.gguf" Q8_0 --bogus
expect_rc 1 "missing input" -- "$FLINT" quantize "$TMP/none.gguf" "$TMP/x.gguf" Q8_0
[ -e "$TMP/x.gguf" ] && bad "a failed run left an output" || ok
expect_rc 0 "help" -- "$FLINT" quantize --help
grep -q "Q5_K_M" "$TMP/out" && ok || bad "help does not list the types"

# perplexity
S260="$SHARED/models/stories260K.gguf"
expect_rc 0 "perplexity" -- "$FLINT" perplexity -m "$S260" -f "$TEXT" -c 128 -t 2
ppl=$(sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- .*/\1/p' "$TMP/out")
awk -v p="$ppl" 'BEGIN { exit !(p > 1 && p < 100) }' && ok || bad "stories260K PPL '$ppl' is not a plausible value"
expect_rc 0 "perplexity --save-logits" -- "$FLINT" perplexity -m "$S260" -f "$TEXT" -c 128 --save-logits "$TMP/base.kld"
[ -s "$TMP/base.kld" ] && ok || bad "--save-logits wrote nothing"
expect_rc 0 "perplexity --kl-base (self)" -- "$FLINT" perplexity -m "$S260" -f "$TEXT" --kl-base "$TMP/base.kld"
grep -Eq 'Mean +KLD +: +-?0\.0000' "$TMP/out" && ok || bad "self KLD is not 0: $(grep KLD "$TMP/out" | head -1)"
grep -Eq 'Same top token +: +100\.000' "$TMP/out" && ok || bad "self top-1 agreement is not 100 %"
expect_rc 0 "perplexity --kl-base without -f" -- "$FLINT" perplexity -m "$S260" --kl-base "$TMP/base.kld"
head -c 1000 "$TEXT" >"$TMP/short.txt"
expect_rc 1 "perplexity, text too short" -- "$FLINT" perplexity -m "$S260" -f "$TMP/short.txt"
printf 'Tom and Lily played in the park. ' >"$TMP/other.txt"
for i in $(seq 1 200); do printf 'Tom and Lily played in the park. ' >>"$TMP/other.txt"; done
expect_rc 1 "perplexity --kl-base, another text" -- "$FLINT" perplexity -m "$S260" -f "$TMP/other.txt" --kl-base "$TMP/base.kld"
head -c 100 "$TMP/base.kld" >"$TMP/trunc.kld"
expect_rc 1 "perplexity --kl-base, truncated base" -- "$FLINT" perplexity -m "$S260" --kl-base "$TMP/trunc.kld"
expect_rc 1 "perplexity --kl-base, not a base" -- "$FLINT" perplexity -m "$S260" --kl-base "$S260"
expect_rc 2 "perplexity without -f" -- "$FLINT" perplexity -m "$S260"
expect_rc 2 "perplexity -c 2" -- "$FLINT" perplexity -m "$S260" -f "$TEXT" -c 2

cli_finish
