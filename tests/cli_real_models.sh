#!/usr/bin/env bash
# Real models from outside the conformance suite: tests/data/make_real_models.py
# builds a small CNN and a small transformer encoder with PyTorch (fixed seeds,
# random weights), exports them to ONNX (opset 17) and saves PyTorch's outputs;
# `flint run` must reproduce every output within 1e-4 (max |flint - torch|).
# The models are generated here, in the test's build folder, not committed.
# Needs /usr/bin/python3 with numpy, onnx and torch (Debian: python3-numpy,
# python3-onnx, python3-torch; .ci/run installs them).
set -uo pipefail
flint=${FLINT_BIN:?}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
tol=1e-4
work=${FLINT_REAL_MODELS_DIR:-$PWD/real_models}
. "$(dirname "$0")/cli_lib.sh"

if ! $python -c 'import numpy, onnx, torch' 2>/dev/null; then
    echo "$python lacks numpy/onnx/torch: apt-get install python3-numpy python3-onnx python3-torch"
    echo "0 passed, 1 failed"
    exit 1
fi
rm -rf "$work"
mkdir -p "$work"
if ! $python "$here/data/make_real_models.py" "$work" > "$work/make.log" 2>&1; then
    bad "make_real_models.py failed:"; tail -5 "$work/make.log"
    echo "$pass passed, $fail failed"; exit 1
fi
grep '^/' "$work/make.log" | sed "s|$work/||"

for m in cnn transformer; do
    d="$work/$m"
    args=()
    for f in "$d"/input_*.npy; do
        n=$(basename "$f" .npy); args+=(-i "${n#input_}=$f")
    done
    if ! "$flint" run -m "$d/model.onnx" "${args[@]}" -o "$d/out" > "$d/run.txt" 2>&1; then
        bad "$m: flint run failed: $(tail -n 3 "$d/run.txt")"
        continue
    fi
    # every expected_<name>.npy against out/<name>.npy: same dtype and shape,
    # max |flint - torch| <= tol (and no NaN where torch has none)
    if $python - "$d" "$tol" "$m" <<'PY'
import glob, os, sys
import numpy as np
d, tol, m = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ok = True
for e in sorted(glob.glob(os.path.join(d, "expected_*.npy"))):
    name = os.path.basename(e)[len("expected_"):-4]
    ref = np.load(e)
    got_path = os.path.join(d, "out", name + ".npy")
    if not os.path.exists(got_path):
        print("%s/%s: flint wrote no output" % (m, name)); ok = False; continue
    got = np.load(got_path)
    if got.dtype != ref.dtype or got.shape != ref.shape:
        print("%s/%s: got %s%s, expected %s%s" % (m, name, got.dtype, got.shape, ref.dtype, ref.shape)); ok = False; continue
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    mx = float(np.max(diff)) if diff.size else 0.0
    bad = not np.isfinite(got).all() or not (mx <= tol)
    print("%s/%s: %s max |flint - torch| = %.3g (max |torch| = %.3g)%s" %
          (m, name, list(ref.shape), mx, float(np.max(np.abs(ref))), "  > %g" % tol if bad else ""))
    ok = ok and not bad
sys.exit(0 if ok else 1)
PY
    then ok; else bad "$m: outputs differ from PyTorch by more than $tol"; fi
done
cli_finish
