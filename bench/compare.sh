#!/usr/bin/env bash
# Flint and llama.cpp side by side on the same GGUF files, same thread count,
# alternating runs (the order flips every round, so drifting machine load hits
# both alike), medians over the rounds, the ratios, and the memory-bandwidth
# roofline (bytes of weights per token ÷ STREAM read bandwidth measured here).
#
#   bench/compare.sh --llama /path/to/llama.cpp/build/bin [options] MODEL.gguf...
#     --flint PATH    flint binary (default: build/flint)
#     -t N            threads for both (default 2)
#     --rounds R      alternating rounds (default 5)
#     -p N            prompt tokens for the pp test (default 512; 0 skips pp)
#     -n N            generated tokens for the tg test (default 128)
#     -r N            repetitions inside each flint/llama-bench run (default 3)
#     --out DIR       keep the raw results there (default: a temporary folder)
#     --no-stream     skip the bandwidth measurement
#     --llama-noamx W run llama-bench with bench/llama_noamx.c preloaded for W =
#                     pp (prompt tests only) or all: its AMX path dies with SIGILL
#                     on some VMs (prompts of quantized files), and the shim makes
#                     it use its AVX-512 repacked kernels instead
#     --flint-args A  extra arguments for flint bench (e.g. "--no-repack")
#
# Builds nothing from llama.cpp (see bench/README.md for building the peer).
# Peak memory is the maximum resident set size of the generation-only runs
# (/usr/bin/time -v), the same measurement for both programs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
flint=$root/build/flint
llama=""
threads=2 rounds=5 np=512 ng=128 reps=3 out="" stream=1 noamx=0 fargs=""
models=()
while [ $# -gt 0 ]; do
    case $1 in
        --llama) llama=$2; shift 2 ;;
        --flint) flint=$2; shift 2 ;;
        -t) threads=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        -p) np=$2; shift 2 ;;
        -n) ng=$2; shift 2 ;;
        -r) reps=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-stream) stream=0; shift ;;
        --llama-noamx) noamx=$2; shift 2 ;;
        --flint-args) fargs=$2; shift 2 ;;
        -h|--help) sed -n 2,24p "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) models+=("$1"); shift ;;
    esac
done
[ -n "$llama" ] || { echo "--llama DIR (a llama.cpp build/bin folder) is required" >&2; exit 2; }
lb=$llama/llama-bench
[ -x "$lb" ] || { echo "no llama-bench in $llama" >&2; exit 2; }
[ -x "$flint" ] || { echo "no flint binary at $flint (build first or pass --flint)" >&2; exit 2; }
[ ${#models[@]} -gt 0 ] || { echo "no models given" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (GNU time) for peak memory" >&2; exit 2; }
if [ -z "$out" ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; else mkdir -p "$out"; fi
res=$out/results.tsv
: >"$res"
preload=""
if [ "$noamx" = pp ] || [ "$noamx" = all ]; then
    cc -O2 -shared -fPIC "$root/bench/llama_noamx.c" -o "$out/noamx.so"
    preload=$out/noamx.so
fi

run_stream() {
    [ "$stream" = 1 ] || return 0
    if [ ! -x "$out/stream" ]; then
        cc -O3 -march=native -pthread "$root/bench/stream.c" -o "$out/stream" 2>/dev/null ||
            cc -O3 -pthread "$root/bench/stream.c" -o "$out/stream"
    fi
    "$out/stream" 1024 1 "$threads" | while read -r _ t _ g _ _; do
        printf 'stream\t-\t%s\tread_GBps\t%s\n' "$t" "$g" >>"$res"
    done
}

# One program, one test; appends "prog model test metric value" rows.
run_one() {
    local prog=$1 m=$2 kind=$3 p n rc=0
    if [ "$kind" = tg ]; then p=0; n=$ng; else p=$np; n=0; fi
    local log=$out/last.$prog.$kind.out tlog=$out/last.$prog.$kind.time
    if [ "$prog" = flint ]; then
        # shellcheck disable=SC2086
        /usr/bin/time -v -o "$tlog" "$flint" bench -m "$m" -t "$threads" -p "$p" -n "$n" -r "$reps" $fargs --json >"$log" 2>&1 || rc=$?
    else
        local pre=""
        if [ "$noamx" = all ] || { [ "$noamx" = pp ] && [ "$kind" = pp ]; }; then pre=$preload; fi
        LD_PRELOAD=$pre /usr/bin/time -v -o "$tlog" "$lb" -m "$m" -t "$threads" -p "$p" -n "$n" -r "$reps" -o jsonl >"$log" 2>&1 || rc=$?
    fi
    local name; name=$(basename "$m")
    if [ $rc -ne 0 ]; then
        printf '%s\t%s\t%s\tfailed\t%s\n' "$prog" "$name" "$kind" "$rc" >>"$res"
        return 0
    fi
    python3 - "$prog" "$name" "$kind" "$log" "$tlog" >>"$res" <<'EOF'
import json, re, sys
prog, name, kind, log, tlog = sys.argv[1:]
ts = None; bpt = None
for line in open(log, errors="replace"):
    line = line.strip()
    if not line.startswith("{"): continue
    o = json.loads(line)
    if prog == "flint":
        ts = o["tg_tokens_per_s"] if kind == "tg" else o["pp_tokens_per_s"]
        bpt = o.get("bytes_per_token")
    elif (o.get("n_gen", 0) > 0) == (kind == "tg"):
        ts = o["avg_ts"]
rss = None
for line in open(tlog, errors="replace"):
    mm = re.search(r"Maximum resident set size \(kbytes\): (\d+)", line)
    if mm: rss = int(mm.group(1)) * 1024
if ts is not None: print(f"{prog}\t{name}\t{kind}\tts\t{ts}")
if bpt is not None: print(f"{prog}\t{name}\t{kind}\tbytes_per_token\t{bpt}")
if rss is not None and kind == "tg": print(f"{prog}\t{name}\t{kind}\tpeak_rss\t{rss}")
EOF
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/load.txt"
run_stream
for ((r = 1; r <= rounds; r++)); do
    for m in "${models[@]}"; do
        if ((r % 2)); then order="flint llama"; else order="llama flint"; fi
        for kind in tg pp; do
            [ "$kind" = pp ] && [ "$np" = 0 ] && continue
            [ "$kind" = tg ] && [ "$ng" = 0 ] && continue
            for prog in $order; do run_one "$prog" "$m" "$kind"; done
        done
    done
    echo "round $r of $rounds done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
run_stream
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/load.txt"

python3 - "$res" "$threads" "$np" "$ng" <<'EOF'
import statistics as st, sys
res, threads, np_, ng = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = [l.rstrip("\n").split("\t") for l in open(res) if l.strip()]
def med(prog, name, kind, metric):
    v = [float(r[4]) for r in rows if r[0] == prog and r[1] == name and r[2] == kind and r[3] == metric]
    return (st.median(v), len(v)) if v else (None, 0)
bw = {}
for r in rows:
    if r[0] == "stream": bw.setdefault(r[2], []).append(float(r[4]))
bwT = max(bw[threads]) if threads in bw else None
for t, v in sorted(bw.items()):
    print(f"STREAM read bandwidth, {t} thread(s): best {max(v):.2f} GB/s (runs: {', '.join(f'{x:.2f}' for x in v)})")
names = sorted({r[1] for r in rows if r[0] != "stream"})
fails = [r for r in rows if r[3] == "failed"]
hdr = f"| model | flint tg{ng} | llama tg{ng} | tg ratio | roofline t/s | flint % roofline | llama % roofline |"
if np_ != "0": hdr += f" flint pp{np_} | llama pp{np_} | pp ratio |"
hdr += " flint peak MiB | llama peak MiB |"
print(); print(hdr); print("|" + "---|" * (hdr.count("|") - 1))
def f(x, d=2): return "–" if x is None else f"{x:.{d}f}"
for n in names:
    ft, k1 = med("flint", n, "tg", "ts"); lt, k2 = med("llama", n, "tg", "ts")
    bpt, _ = med("flint", n, "tg", "bytes_per_token")
    roof = bwT * 1e9 / bpt if bwT and bpt else None
    line = f"| {n} | {f(ft)} | {f(lt)} | {f(ft/lt if ft and lt else None)} | {f(roof)} | {f(100*ft/roof if ft and roof else None,1)} | {f(100*lt/roof if lt and roof else None,1)} |"
    if np_ != "0":
        fp, _ = med("flint", n, "pp", "ts"); lp, _ = med("llama", n, "pp", "ts")
        line += f" {f(fp)} | {f(lp)} | {f(fp/lp if fp and lp else None)} |"
    fr, _ = med("flint", n, "tg", "peak_rss"); lr, _ = med("llama", n, "tg", "peak_rss")
    line += f" {f(fr/2**20 if fr else None,1)} | {f(lr/2**20 if lr else None,1)} |"
    print(line)
print(f"\nmedians over the rounds; {threads} threads; roofline t/s = STREAM bandwidth ({threads} threads) / bytes of weights per token")
for r in fails: print(f"note: {r[0]} {r[2]} on {r[1]} failed (exit status {r[4]})")
EOF
