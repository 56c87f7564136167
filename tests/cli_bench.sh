#!/usr/bin/env bash
# flint bench: the JSON rows hold the fields the CPU speed issue asks for, with
# values consistent with the model (bytes per token from the file, rates > 0,
# GB/s = bytes per token × tokens/s), lists pair up row by row, and bad
# arguments are usage errors (exit 2). No timing thresholds: speeds vary.
# Env: FLINT_BIN (the built flint), FLINT_SHARED (reference files).
set -u

FLINT=${FLINT_BIN:-flint}
SHARED=${FLINT_SHARED:-/work/shared}
M="$SHARED/models/stories260K.gguf"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cli_bench.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

. "$(dirname "$0")/cli_lib.sh"

if [ ! -f "$M" ]; then echo "0 passed, 1 failed (no $M)"; exit 1; fi

expect_rc 0 "json run" -- "$FLINT" bench -m "$M" -t 2 -p 16,8 -n 8 -r 2 --json --kv f32
python3 - "$TMP/out" "$M" <<'PY' && ok || bad "json rows"
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(rows) == 2, rows
need = ["model", "threads", "n_prompt", "n_gen", "pp_tokens_per_s", "tg_tokens_per_s", "peak_rss_bytes",
        "bytes_per_token", "tg_gb_per_s", "pp_stdev", "tg_stdev", "kv_type"]
for r in rows:
    for k in need: assert k in r, k
    assert r["model"] == "stories260K.gguf" and r["threads"] == 2 and r["kv_type"] == "f32"
    assert r["pp_tokens_per_s"] > 0 and r["tg_tokens_per_s"] > 0
    assert 0 < r["bytes_per_token"] <= os.path.getsize(sys.argv[2])
    assert abs(r["tg_gb_per_s"] - r["bytes_per_token"] * r["tg_tokens_per_s"] / 1e9) <= 1e-3 * max(1, r["tg_gb_per_s"])
    assert r["peak_rss_bytes"] > r["bytes_per_token"]
assert [r["n_prompt"] for r in rows] == [16, 8] and [r["n_gen"] for r in rows] == [8, 8]
PY

expect_rc 0 "table run" -- "$FLINT" bench -m "$M" -t 1 -p 0 -n 4 -r 1
grep -q "tg4" "$TMP/out" && grep -q "peak resident memory" "$TMP/out" && ok || bad "table lacks tg4 or peak memory"
grep -q "pp" "$TMP/out" && bad "-p 0 still ran a prompt test" || ok

expect_rc 0 "depth run" -- "$FLINT" bench -m "$M" -t 2 -p 8 -n 4 -d 20 -r 1 --json
python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); assert r["n_depth"] == 20 and r["tg_tokens_per_s"] > 0' "$TMP/out" && ok || bad "depth row"

expect_rc 2 "no model" -- "$FLINT" bench -p 8
expect_rc 2 "bad list" -- "$FLINT" bench -m "$M" -p 8,x
expect_rc 2 "lists of different lengths" -- "$FLINT" bench -m "$M" -p 1,2 -n 1,2,3
expect_rc 2 "nothing to do" -- "$FLINT" bench -m "$M" -p 0 -n 0
expect_rc 2 "bad kv" -- "$FLINT" bench -m "$M" --kv q8
expect_rc 1 "missing file" -- "$FLINT" bench -m "$TMP/none.gguf" -p 0 -n 1

cli_finish
