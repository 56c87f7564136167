#!/usr/bin/env bash
# flint onnx-test over tests/data/onnx_ops (made by tests/data/make_onnx_op_tests.py
# with numpy references: recurrent layers, quantization, Scan, sequences):
# every test passes with 1 and 3 threads, eagerly and in planned segments.
set -uo pipefail
flint=${FLINT_BIN:?}
data=${FLINT_TESTDATA:?}/onnx_ops
pass=0 fail=0
n=$(find "$data" -name model.onnx | wc -l)
for mode in "-t 1" "-t 3" "--segments -t 1" "--segments -t 3"; do
    # shellcheck disable=SC2086
    out=$("$flint" onnx-test $mode "$data" 2>&1)
    rc=$?
    last=$(printf '%s\n' "$out" | tail -n 1)
    if [ $rc -eq 0 ] && [ "$last" = "$n passed, 0 failed, 0 skipped" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: onnx-test $mode (rc $rc):"
        printf '%s\n' "$out" | grep -v '^PASS' | head -20
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
