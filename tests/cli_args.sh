#!/usr/bin/env bash
# The flint CLI's error behaviour that needs no model engine: exit statuses
# (0 ok, 1 runtime failure, 2 usage error) and messages.
# Env: FLINT_BIN (the built flint).
set -u
FLINT_BIN=${FLINT_BIN:-build/flint}
if [[ ! -x $FLINT_BIN ]]; then
    echo "cli_args: FLINT_BIN '$FLINT_BIN' is not an executable" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect RC PATTERN ARGS... — run flint ARGS, require exit status RC and PATTERN
# (fixed string, case-insensitive) in stderr. Usage errors (2) must also show usage
# and runtime errors (1) the "flint: error:" prefix; neither may write to stdout.
expect() {
    local want_rc=$1 pattern=$2
    shift 2
    "$FLINT_BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? why=""
    if [[ $rc -ne $want_rc ]]; then
        why="exit $rc, want $want_rc"
    elif [[ -n $pattern ]] && ! grep -qiF -- "$pattern" "$tmp/err"; then
        why="stderr lacks '$pattern'"
    elif [[ $want_rc -eq 2 ]] && ! grep -q "usage:" "$tmp/err"; then
        why="no usage on stderr"
    elif [[ $want_rc -eq 1 ]] && ! grep -q "^flint: error: " "$tmp/err"; then
        why="no 'flint: error:' line"
    elif [[ $want_rc -ne 0 && -s $tmp/out ]]; then
        why="wrote to stdout on failure"
    fi
    if [[ -z $why ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: flint $*: $why" >&2
        sed 's/^/    stderr: /' "$tmp/err" | head -5 >&2
    fi
}

# expect_out RC REGEX ARGS... — exit status RC and stdout matching REGEX (grep -E).
expect_out() {
    local want_rc=$1 regex=$2
    shift 2
    "$FLINT_BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [[ $rc -eq $want_rc ]] && grep -qE -- "$regex" "$tmp/out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: flint $*: exit $rc (want $want_rc), stdout: $(head -c 200 "$tmp/out")" >&2
    fi
}

missing=$tmp/no-such-model.gguf
garbage=$tmp/garbage.gguf
printf 'this is not a GGUF file at all, just some text\n' >"$garbage"
truncated=$tmp/truncated.gguf
printf 'GGUF\003\000\000' >"$truncated"
prompt_file=$tmp/prompt.txt
printf 'Once upon a time' >"$prompt_file"

# --- dispatcher ---
expect 2 "usage:"
expect 2 "unknown command" bogus
expect 2 "unknown command" --bogus
expect 2 "unknown command" help bogus
expect_out 0 '^flint [0-9]+\.[0-9]+\.[0-9]+' --version
expect_out 0 '^flint [0-9]+\.[0-9]+\.[0-9]+' version
expect_out 0 'usage:' help
expect_out 0 'usage:' --help
expect_out 0 'usage: flint run' help run
expect_out 0 'usage: flint tokenize' tokenize --help
expect_out 0 'usage: flint eval' eval -h
expect_out 0 'usage: flint run' run -h

# --- run: arguments ---
expect 2 "missing -m" run
expect 2 "missing -m" run -p "hello"
expect 2 "missing -p" run -m "$missing"
expect 2 "needs a value" run -m
expect 2 "needs a value" run -m "$missing" -p
expect 2 "either -p or -f" run -m "$missing" -p x -f "$prompt_file"
expect 2 "unknown option '--bogus'" run -m "$missing" -p x --bogus
expect 2 "-n: 'abc' is not an integer" run -m "$missing" -p x -n abc
expect 2 "-n: empty value" run -m "$missing" -p x -n ""
expect 2 "-n: -5 is out of range" run -m "$missing" -p x -n -5
expect 2 "-n: '12x' is not an integer" run -m "$missing" -p x -n 12x
expect 2 "-n: ' 7' is not an integer" run -m "$missing" -p x -n " 7"
expect 2 "-n: 99999999999999999999 is out of range" run -m "$missing" -p x -n 99999999999999999999
expect 2 "--temp: 1e999 is out of range" run -m "$missing" -p x --temp 1e999
expect 2 "--temp: nan is out of range" run -m "$missing" -p x --temp nan
expect 2 "--temp: inf is out of range" run -m "$missing" -p x --temp inf
expect 2 "--temp: -0.5 is out of range" run -m "$missing" -p x --temp -0.5
expect 2 "--temp: 'warm' is not a number" run -m "$missing" -p x --temp warm
expect 2 "--top-k: '1.5' is not an integer" run -m "$missing" -p x --top-k 1.5
expect 2 "--top-k: -1 is out of range" run -m "$missing" -p x --top-k -1
expect 2 "--top-p: 0 is out of range" run -m "$missing" -p x --top-p 0
expect 2 "--top-p: 1.5 is out of range" run -m "$missing" -p x --top-p 1.5
expect 2 "--min-p: -0.1 is out of range" run -m "$missing" -p x --min-p -0.1
expect 2 "--repeat-penalty: 0 is out of range" run -m "$missing" -p x --repeat-penalty 0
expect 2 "--repeat-last-n: -1 is out of range" run -m "$missing" -p x --repeat-last-n -1
expect 2 "--seed: '-1' is not a non-negative integer" run -m "$missing" -p x --seed -1
expect 2 "--seed: 18446744073709551616 is out of range" run -m "$missing" -p x --seed 18446744073709551616
expect 2 "-t: 'many' is not an integer" run -m "$missing" -p x -t many
expect 2 "-t: -2 is out of range" run -m "$missing" -p x -t -2
expect 2 "-c: ' ' is not an integer" run -m "$missing" -p x -c " "
expect 2 "-c: -1 is out of range" run -m "$missing" -p x -c -1

# --- run: files ---
expect 1 "no-such-model.gguf" run -m "$missing" -p "hello"
expect 1 "" run -m /dev/null -p "hello"
expect 1 "" run -m "$garbage" -p "hello"
expect 1 "" run -m "$truncated" -p "hello"
expect 1 "" run -m "$tmp" -p "hello"
expect 1 "reading" run -m "$garbage" -f "$tmp/no-such-prompt.txt"

# --- tokenize ---
expect 2 "missing -m" tokenize -p "hello"
expect 2 "missing -p" tokenize -m "$missing"
expect 2 "unknown option '--bos'" tokenize -m "$missing" -p x --bos
expect 2 "either -p or -f" tokenize -m "$missing" -p x -f "$prompt_file"
expect 1 "no-such-model.gguf" tokenize -m "$missing" -p "hello"
expect 1 "" tokenize -m /dev/null -p "hello"
expect 1 "" tokenize -m "$garbage" -p "hello"
expect 1 "reading" tokenize -m "$garbage" -f "$tmp/no-such-text.txt"

# --- eval ---
expect 2 "missing -m" eval --ids "1 2" -o "$tmp/o.f32"
expect 2 "missing --ids" eval -m "$missing" -o "$tmp/o.f32"
expect 2 "missing -o" eval -m "$missing" --ids "1 2"
expect 2 "--ids: 'x' is not an integer" eval -m "$missing" --ids "1 x 3" -o "$tmp/o.f32"
expect 2 "--ids: -4 is out of range" eval -m "$missing" --ids "1 -4" -o "$tmp/o.f32"
expect 2 "--ids: no token ids" eval -m "$missing" --ids "  " -o "$tmp/o.f32"
expect 2 "--ids: '1e3' is not an integer" eval -m "$missing" --ids "1e3" -o "$tmp/o.f32"
expect 2 "-t: 'x' is not an integer" eval -m "$missing" --ids "1" -o "$tmp/o.f32" -t x
expect 1 "no-such-model.gguf" eval -m "$missing" --ids "1 2" -o "$tmp/o.f32"
expect 1 "" eval -m "$garbage" --ids "1 2" -o "$tmp/o.f32"
if [[ -e $tmp/o.f32 ]] || compgen -G "$tmp/o.f32.tmp*" >/dev/null; then
    failed=$((failed + 1)); echo "FAIL: eval left an output file behind after failing" >&2
else
    passed=$((passed + 1))
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
