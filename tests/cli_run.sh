#!/usr/bin/env bash
# End-to-end checks of `flint run`, `flint tokenize` and `flint eval` against the
# llama.cpp references in $FLINT_SHARED (see reference/README.md, tokenizers/README.md).
# Env: FLINT_BIN (the built flint), FLINT_SHARED (the shared folder).
set -u
export LC_ALL=C
FLINT_BIN=${FLINT_BIN:-build/flint}
FLINT_SHARED=${FLINT_SHARED:-../shared}
if [[ ! -x $FLINT_BIN ]]; then
    echo "cli_run: FLINT_BIN '$FLINT_BIN' is not an executable" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

model=$FLINT_SHARED/models/stories260K.gguf
ref=$FLINT_SHARED/reference/llm

# tsv_get FILE KEY — the value of KEY (escapes left as they are).
tsv_get() { awk -F '\t' -v k="$2" '$1 == k { print substr($0, length($1) + 2); exit }' "$1"; }

# --- run: greedy continuations, byte for byte, with 1 and 2 threads ---
for k in 0 1 2; do
    tsv=$ref/stories260K.p$k.greedy.tsv
    if [[ ! -r $tsv ]]; then fail "missing $tsv"; continue; fi
    prompt=$(tsv_get "$tsv" prompt)
    # generated_text escapes exactly \n, \t and \\, so every backslash starts one
    # of those and printf %b restores the raw bytes.
    printf '%b' "$(tsv_get "$tsv" generated_text)" >"$tmp/expect.$k"
    # flint run ends its output with one newline, like a text file
    [[ $(tail -c 1 "$tmp/expect.$k" | od -An -c | tr -d ' ') == '\n' ]] || printf '\n' >>"$tmp/expect.$k"
    for t in 1 2; do
        "$FLINT_BIN" run -m "$model" -p "$prompt" -n 64 --temp 0 -t "$t" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [[ $rc -ne 0 ]]; then
            fail "run p$k -t $t: exit $rc: $(head -c 300 "$tmp/err")"
        elif ! cmp -s "$tmp/out" "$tmp/expect.$k"; then
            fail "run p$k -t $t: output differs from the reference"
            echo "    got:  $(head -c 200 "$tmp/out" | od -c | head -3)" >&2
            echo "    want: $(head -c 200 "$tmp/expect.$k" | od -c | head -3)" >&2
        elif [[ $(grep -c '^flint: prompt ' "$tmp/err") -ne 1 ]] || ! grep -q 'generated 64 tokens' "$tmp/err"; then
            fail "run p$k -t $t: no single summary line with 64 generated tokens on stderr: $(cat "$tmp/err")"
        else
            ok
        fi
    done
done

# `flint run` prints exactly reference/stories260K.greedy.txt (the continuation of prompt 0)
if [[ -r $FLINT_SHARED/reference/stories260K.greedy.txt ]]; then
    "$FLINT_BIN" run -m "$model" -p "Once upon a time" -n 64 --temp 0 >"$tmp/out" 2>/dev/null
    if cmp -s "$tmp/out" "$FLINT_SHARED/reference/stories260K.greedy.txt"; then ok
    else fail "flint run output differs from stories260K.greedy.txt"; fi
fi

# --- run: sampling is reproducible for a seed and independent of the thread count ---
run_sampled() { "$FLINT_BIN" run -m "$model" -p "Once upon a time" -n 48 --temp 1.0 --seed "$1" -t "$2" 2>/dev/null; }
a=$(run_sampled 1234 1); b=$(run_sampled 1234 2); c=$(run_sampled 1234 1); d=$(run_sampled 99 1)
if [[ -n $a && $a == "$b" && $a == "$c" ]]; then ok; else fail "sampling with --seed 1234 is not reproducible"; fi
if [[ -n $d && $a != "$d" ]]; then ok; else fail "seeds 1234 and 99 gave the same sampled text"; fi
"$FLINT_BIN" run -m "$model" -p "Once upon a time" -n 8 >"$tmp/out" 2>"$tmp/err"
if [[ $? -eq 0 ]] && grep -qE 'seed [0-9]+' "$tmp/err"; then ok; else fail "default run: no seed in the summary"; fi
"$FLINT_BIN" run -m "$model" -p "Once upon a time" -n 0 --temp 0 >"$tmp/out" 2>"$tmp/err"
if [[ $? -eq 0 && ! -s $tmp/out ]]; then ok; else fail "-n 0 should succeed and print nothing"; fi

# --- tokenize: the reference prompts (with BOS) ---
for k in 0 1 2; do
    tsv=$ref/stories260K.p$k.greedy.tsv
    [[ -r $tsv ]] || continue
    want=$(tsv_get "$tsv" prompt_ids)
    got=$("$FLINT_BIN" tokenize -m "$model" -p "$(tsv_get "$tsv" prompt)" 2>"$tmp/err")
    if [[ $? -eq 0 && $got == "$want" ]]; then ok; else fail "tokenize p$k: got '$got', want '$want' $(head -c 200 "$tmp/err")"; fi
done
got=$("$FLINT_BIN" tokenize -m "$model" -p "" 2>/dev/null)
if [[ $got == "1" ]]; then ok; else fail "tokenize '' should print just BOS (1), got '$got'"; fi
got=$("$FLINT_BIN" tokenize -m "$model" -p "" --no-bos 2>/dev/null; echo "rc=$?")
if [[ $got == $'\nrc=0' ]]; then ok; else fail "tokenize '' --no-bos should print an empty line, got '$got'"; fi

# --- tokenize: llama.cpp's vocab test vectors (vocab-only GGUF; .out has no BOS) ---
# X.gguf.inp holds strings each followed by "\n__ggml_vocab_test__\n"; line i of
# X.gguf.out the ids of string i. Strings go through files (-f) to keep every byte.
check_vocab() {
    local vocab=$1 gguf=$FLINT_SHARED/tokenizers/$1.gguf
    local inp=$gguf.inp out=$gguf.out
    if [[ ! -r $gguf || ! -r $inp || ! -r $out ]]; then fail "missing $gguf(.inp/.out)"; return; fi
    mapfile -t want_lines <"$out"
    local i=0 cur="" have=0 line bad=0
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ $line == "__ggml_vocab_test__" ]]; then
            printf '%s' "$cur" >"$tmp/text.$i"
            i=$((i + 1)); cur=""; have=0
        elif [[ $have -eq 0 ]]; then
            cur=$line; have=1
        else
            cur+=$'\n'"$line"
        fi
    done <"$inp"
    if [[ $i -ne ${#want_lines[@]} ]]; then fail "$vocab: $i strings but ${#want_lines[@]} id lines"; return; fi
    for ((j = 0; j < i; j++)); do
        local want got
        want=$(echo ${want_lines[$j]})   # unquoted: collapse the leading/extra spaces
        got=$("$FLINT_BIN" tokenize -m "$gguf" -f "$tmp/text.$j" --no-bos 2>"$tmp/err")
        if [[ $? -eq 0 && $got == "$want" ]]; then
            ok
        else
            bad=$((bad + 1))
            fail "$vocab string $j ($(head -c 40 "$tmp/text.$j" | od -An -c | head -1 | tr -s ' ')): got '$got', want '$want' $(head -c 200 "$tmp/err")"
        fi
    done
}
check_vocab ggml-vocab-llama-spm

# --- eval: n_ids x n_vocab floats; the last row is the reference position ---
ids=$(tsv_get "$ref/stories260K.p0.greedy.tsv" prompt_ids)
n_vocab=$(tsv_get "$ref/stories260K.p0.greedy.tsv" n_vocab)
n_ids=$(echo $ids | wc -w)
"$FLINT_BIN" eval -m "$model" --ids "$ids" -o "$tmp/logits.f32" -t 2 >"$tmp/out" 2>"$tmp/err"
rc=$?
size=$(stat -c %s "$tmp/logits.f32" 2>/dev/null || echo 0)
if [[ $rc -eq 0 && $size -eq $((n_ids * n_vocab * 4)) ]]; then ok
else fail "eval: exit $rc, $size bytes, want $((n_ids * n_vocab * 4)): $(head -c 300 "$tmp/err")"; fi
if command -v python3 >/dev/null && [[ $rc -eq 0 ]]; then
    # The last row against llama.cpp's logits at the prompt's last position.
    if python3 - "$tmp/logits.f32" "$ref/stories260K.p0.logits.f32" "$n_vocab" <<'EOF'
import struct, sys, math
got = open(sys.argv[1], 'rb').read(); ref = open(sys.argv[2], 'rb').read(); n = int(sys.argv[3])
g = struct.unpack('<%df' % n, got[-4 * n:]); r = struct.unpack('<%df' % n, ref[:4 * n])
mean = sum(r) / n; sd = math.sqrt(sum((x - mean) ** 2 for x in r) / n)
worst = max(abs(a - b) for a, b in zip(g, r)) / sd
print("eval last row: max |d|/sd = %.4f" % worst, file=sys.stderr)
sys.exit(0 if worst <= 0.05 else 1)
EOF
    then ok; else fail "eval: the last row differs from stories260K.p0.logits.f32"; fi
fi
expect_rc() { local want=$1; shift; "$FLINT_BIN" "$@" >/dev/null 2>"$tmp/err"; local rc=$?
    if [[ $rc -eq $want ]]; then ok; else fail "flint $*: exit $rc, want $want"; fi; }
expect_rc 2 eval -m "$model" --ids "1 $n_vocab" -o "$tmp/x.f32"
expect_rc 1 run -m "$FLINT_SHARED/tokenizers/ggml-vocab-llama-spm.gguf" -p "hi" -n 4 --temp 0

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
