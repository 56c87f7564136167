#!/usr/bin/env bash
# The API example (linked against libflintrt.so) reproduces llama.cpp's greedy
# continuation of stories260K, and fails cleanly on a missing model.
set -u
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

model="$FLINT_SHARED/models/stories260K.gguf"
want="$FLINT_SHARED/reference/stories260K.greedy.txt"
got=$("$FLINT_EXAMPLE" "$model" "Once upon a time" 64 0 2>/dev/null)
if [ "$got" == "$(cat "$want")" ]; then ok; else bad "example output differs: $got"; fi

"$FLINT_EXAMPLE" /nonexistent.gguf "x" 2>/tmp/flint_ex_err.$$ && bad "missing model accepted" || ok
grep -q "nonexistent" /tmp/flint_ex_err.$$ && ok || bad "error does not name the file: $(cat /tmp/flint_ex_err.$$)"
rm -f /tmp/flint_ex_err.$$

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
