#!/usr/bin/env bash
# flint onnx-test over Debian's libonnx-testdata (node, pytorch-converted,
# pytorch-operator, simple): no crash, and every test listed in
# tests/data/onnx_expected_pass.txt still passes (the ratchet: add tests there
# as operators land, never remove one). Also runs once with --segments (every
# node in planned segments) and checks `flint run`/`flint inspect` on a model.
set -uo pipefail
flint=${FLINT_BIN:?}
data=${FLINT_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
expected=${FLINT_TESTDATA:?}/onnx_expected_pass.txt
corpus=$(cd "$(dirname "$0")/.." && pwd)/fuzz/corpus/onnx
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/cli_lib.sh"

if [ ! -d "$data/node" ]; then
    echo "libonnx-testdata is not installed ($data): apt-get install libonnx-testdata"
    echo "0 passed, 1 failed"
    exit 1
fi
dirs=("$data/node" "$data/pytorch-converted" "$data/pytorch-operator" "$data/simple")
for mode in default segments; do
    extra=()
    [ "$mode" = segments ] && extra=(--segments -t 3)
    "$flint" onnx-test "${extra[@]}" --pass-list "$work/pass-$mode.txt" "${dirs[@]}" > "$work/out-$mode.txt" 2>&1
    rc=$?
    if [ $rc -gt 1 ]; then bad "onnx-test ($mode) exited with $rc (crash?)"; tail -5 "$work/out-$mode.txt"; continue; fi
    tail -n 1 "$work/out-$mode.txt" | grep -Eq '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' && ok || bad "no closing line ($mode)"
    missing=$(comm -23 <(sort "$expected") <(sort "$work/pass-$mode.txt"))
    if [ -n "$missing" ]; then
        bad "($mode) tests that used to pass fail now:"
        for t in $missing; do grep -E "^FAIL $t:" "$work/out-$mode.txt" || echo "  $t"; done
    else
        ok
    fi
    echo "onnx-test ($mode): $(tail -n 1 "$work/out-$mode.txt")"
done

# flint run with .npy in and out, on the addmul model (y = (x + w) * b)
python=/usr/bin/python3
if $python -c 'import numpy' 2>/dev/null; then
    $python -c "import numpy as np; np.save('$work/x.npy', np.arange(6, dtype=np.float32).reshape(2, 3))"
    if "$flint" run -m "$corpus/addmul.onnx" -i x="$work/x.npy" -o "$work/out" > "$work/run.txt" 2>&1; then
        $python -c "
import numpy as np, sys
y = np.load('$work/out/y.npy'); x = np.arange(6, dtype=np.float32).reshape(2, 3)
w = np.arange(6, dtype=np.float32).reshape(2, 3); b = np.array([0.5, -1, 2], np.float32)
sys.exit(0 if y.dtype == np.float32 and np.array_equal(y, (x + w) * b) else 1)" && ok || bad "run: wrong output"
    else
        bad "flint run failed: $(cat "$work/run.txt")"
    fi
else
    echo "(numpy missing: flint run .npy check skipped)"
fi
"$flint" run -m "$corpus/addmul.onnx" > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "run without inputs: expected exit 2"
"$flint" inspect "$corpus/misc.onnx" > "$work/inspect.txt" 2>&1 && grep -q "MatMul" "$work/inspect.txt" && grep -q "ai.onnx:13" "$work/inspect.txt" && ok || bad "inspect"
printf 'garbage' > "$work/bad.onnx"
"$flint" inspect "$work/bad.onnx" > /dev/null 2>&1; [ $? -eq 1 ] && ok || bad "inspect of garbage: expected exit 1"
cli_finish
