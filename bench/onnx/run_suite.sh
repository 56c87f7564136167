#!/usr/bin/env bash
# ONNX Runtime as a peer on the ONNX backend suite, and the gap to Flint.
#   bench/onnx/run_suite.sh [FLINT_BIN] [REPORT.md]
# Env: ORT_DIR   folder holding node_modules/onnxruntime-node (default /tmp/ort;
#                set up with: mkdir -p /tmp/ort && cd /tmp/ort &&
#                ONNXRUNTIME_NODE_INSTALL=skip npm i onnxruntime-node@1.30.0)
#      DATA      libonnx-testdata data folder (default /usr/share/libonnx-testdata/data)
#      WORK      scratch folder (default $ORT_DIR/work; rebuilt on every run)
# Writes $WORK/ort_pass.txt, ort_fail.json, flint_pass.txt, flint_out.txt and the
# report (default $WORK/gap.md). Takes seconds (ORT runs with one thread).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
flint=${1:-$here/../../build/flint}
report=${2:-}
ORT_DIR=${ORT_DIR:-/tmp/ort}
DATA=${DATA:-/usr/share/libonnx-testdata/data}
WORK=${WORK:-$ORT_DIR/work}
python=/usr/bin/python3
dirs=("$DATA/node" "$DATA/pytorch-converted" "$DATA/pytorch-operator" "$DATA/simple")
[ -d "$ORT_DIR/node_modules/onnxruntime-node" ] || { echo "no onnxruntime-node under $ORT_DIR (see bench/onnx/README.md)"; exit 2; }
[ -x "$flint" ] || { echo "no flint binary at $flint"; exit 2; }
report=${report:-$WORK/gap.md}

rm -rf "$WORK"
mkdir -p "$WORK"
$python "$here/ort_prepare.py" "$WORK" "${dirs[@]}"
NODE_PATH="$ORT_DIR/node_modules" node "$here/ort_run.js" "$WORK/manifests.txt" 2> "$WORK/ort_stderr.txt"
$python "$here/ort_compare.py" "$WORK" "$WORK/ort_pass.txt" "$WORK/ort_fail.json" > "$WORK/ort_compare.txt"
echo "ORT:   $(tail -n 1 "$WORK/ort_compare.txt")"
"$flint" onnx-test --pass-list "$WORK/flint_pass.txt" "${dirs[@]}" > "$WORK/flint_out.txt" 2>&1 || true
echo "Flint: $(tail -n 1 "$WORK/flint_out.txt")"
$python "$here/gap.py" "$WORK/ort_pass.txt" "$WORK/ort_fail.json" "$WORK/flint_pass.txt" "$WORK/flint_out.txt" \
    "${dirs[@]}" > "$report"
echo "ORT passes, Flint not: $(comm -23 <(sort "$WORK/ort_pass.txt") <(sort "$WORK/flint_pass.txt") | wc -l)  (report: $report)"
