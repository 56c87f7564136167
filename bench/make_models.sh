#!/usr/bin/env bash
# Generate the CPU speed issue's benchmark models (random weights, fixed seed,
# llama.cpp's SentencePiece tokenizer) into OUT_DIR, which must lie outside the
# repository. The same flint build and arguments always give the same bytes.
#
#   bench/make_models.sh OUT_DIR [--flint PATH] [--shapes "135m 1b"] [--types "F16 Q8_0 Q4_0 Q4_K_M"]
#
# Files: OUT_DIR/flint-<shape>-<type>.gguf. F16, Q8_0 and Q4_0 come straight from
# `flint synth`; Q4_K_M is `flint quantize` of the F16 file (as llama-quantize
# would make it from an F16 export). Sizes: 135m ~270 MiB (F16), 1b ~2.1 GiB (F16).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 OUT_DIR [--flint PATH] [--shapes LIST] [--types LIST]" >&2; exit 2; }
out=$1; shift
flint=${FLINT_BIN:-$root/build/flint}
shapes="135m 1b"
types="F16 Q8_0 Q4_0 Q4_K_M"
while [ $# -gt 0 ]; do
    case $1 in
        --flint) flint=$2; shift 2 ;;
        --shapes) shapes=$2; shift 2 ;;
        --types) types=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
vocab=${FLINT_VOCAB:-$root/../shared/tokenizers/ggml-vocab-llama-spm.gguf}
[ -x "$flint" ] || { echo "no flint binary at $flint (build first or pass --flint)" >&2; exit 2; }
[ -f "$vocab" ] || { echo "no tokenizer at $vocab (set FLINT_VOCAB)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
case "$out/" in "$root"/*) echo "refusing to write models inside the repository ($root)" >&2; exit 2 ;; esac

for shape in $shapes; do
    for type in $types; do
        f="$out/flint-$shape-$type.gguf"
        if [ -s "$f" ]; then echo "have $f"; continue; fi
        case $type in
            F16|Q8_0|Q4_0)
                "$flint" synth -o "$f" --shape "$shape" --type "$type" --vocab "$vocab" --force ;;
            *)
                src="$out/flint-$shape-F16.gguf"
                [ -s "$src" ] || "$flint" synth -o "$src" --shape "$shape" --type F16 --vocab "$vocab" --force
                "$flint" quantize "$src" "$f" "$type" --force ;;
        esac
        echo "made $f"
    done
done
