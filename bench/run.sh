#!/usr/bin/env bash
# End-to-end benchmark of search-ctr against a plain single-threaded Rust
# baseline (bench/baseline) and Bytewax 0.21.1 (bench/bytewax/ctr_flow.py),
# on the same generated search logs.
#
#   bash bench/run.sh [--events 1000000,10000000] [--runs 3] [--users 100000]
#                     [--bytewax-events 1000000] [--systems LIST]
#                     [--processes 2]
#
# --users is the same for every size, so that memory compared across sizes
# shows growth with events read, not with the number of users.
# --systems picks among eddy-w1,eddy-w2,eddy-p2,baseline,bytewax (default: all;
# the baseline always runs: its rows are the reference). eddy-pN is N
# search-ctr processes × 1 worker on this machine (a cluster over loopback,
# `-i`/`-a` as in README "Scaling out"); --processes LIST (default 2) adds
# eddy-pN for each N listed. Its wall time is from the start of the first
# process to the exit of the last, its CPU time the sum over all processes,
# its peak RSS the largest process's. --bytewax-events lists
# the sizes Bytewax runs on ("none": no size). SEARCH_CTR=... BASELINE=...
# in the environment use prebuilt binaries and skip the build.
#
# It installs what it needs (GNU time, a venv with bytewax==0.21.1 at
# bench/.venv), builds the release binaries, generates
# bench/out/events-N.jsonl, runs every system --runs times per size, checks
# that every output holds the same rows as the baseline's (as multisets) and
# fails loudly otherwise, then writes the medians as a markdown table to
# bench/out/results.md and prints it.
set -euo pipefail

EVENTS="1000000,10000000"
RUNS=3
USERS=100000
BYTEWAX_EVENTS="1000000"
SYSTEMS="eddy-w1,eddy-w2,eddy-p2,baseline,bytewax"
PROCESSES=""
COMMAND="bash bench/run.sh${*:+ $*}"

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --events) EVENTS="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --users) USERS="$2"; shift 2 ;;
        --bytewax-events) BYTEWAX_EVENTS="$2"; shift 2 ;;
        --systems) SYSTEMS="$2"; shift 2 ;;
        --processes) PROCESSES="$2"; shift 2 ;;
        -h|--help) usage ;;
        *) echo "run.sh: unknown argument $1" >&2; usage ;;
    esac
done
[ "$RUNS" -ge 1 ] 2>/dev/null || { echo "run.sh: --runs must be >= 1" >&2; exit 2; }
[ "$BYTEWAX_EVENTS" = none ] && BYTEWAX_EVENTS=""
for p in ${PROCESSES//,/ }; do
    [ "$p" -ge 2 ] 2>/dev/null || { echo "run.sh: --processes takes counts >= 2, not $p" >&2; exit 2; }
    SYSTEMS+=",eddy-p$p"
done
# The process counts to run: every eddy-pN among the systems.
PCOUNTS="$(tr ',' '\n' <<<"$SYSTEMS" | sed -n 's/^eddy-p\([0-9][0-9]*\)$/\1/p' | sort -nu | tr '\n' ' ')"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="bench/out"
mkdir -p "$OUT"
RAW="$OUT/raw.tsv"
export LC_ALL=C

has_system() { [[ ",$SYSTEMS," == *",$1,"* ]]; }
bytewax_size() { [[ ",$BYTEWAX_EVENTS," == *",$1,"* ]]; }
die() { echo "run.sh: FAILED: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

# --- Tools -----------------------------------------------------------------
if ! /usr/bin/time -v true >/dev/null 2>&1; then
    log "installing GNU time"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq time >/dev/null
    /usr/bin/time -v true >/dev/null 2>&1 || die "GNU time is not available at /usr/bin/time"
fi

PY="bench/.venv/bin/python"
need_bytewax=""
if has_system bytewax && [ -n "$BYTEWAX_EVENTS" ]; then need_bytewax=1; fi
if [ -n "$need_bytewax" ]; then
    if ! "$PY" -c 'import bytewax, importlib.metadata as m; assert m.version("bytewax") == "0.21.1"' 2>/dev/null; then
        log "creating bench/.venv with bytewax==0.21.1"
        python3 -m venv bench/.venv
        "$PY" -m pip install -q --upgrade pip >/dev/null
        "$PY" -m pip install -q "bytewax==0.21.1"
    fi
fi

# SEARCH_CTR / BASELINE in the environment point at prebuilt binaries instead.
if [ -z "${SEARCH_CTR:-}" ] || [ -z "${BASELINE:-}" ]; then
    log "building release binaries"
    cargo build --release -q -p search-ctr -p baseline
    TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
fi
SEARCH_CTR="${SEARCH_CTR:-$TARGET_DIR/release/search-ctr}"
BASELINE="${BASELINE:-$TARGET_DIR/release/baseline}"
[ -x "$SEARCH_CTR" ] || die "$SEARCH_CTR was not built"
[ -x "$BASELINE" ] || die "$BASELINE was not built"

now() { date +%s.%N; }

# measure SYSTEM N RUN OUTFILE -- CMD...: runs CMD under GNU time, appends a
# line to $RAW: size system run wall_s rss_kb cpu_s (user + sys, summed over
# CMD and every child it waited for).
measure() {
    local system="$1" n="$2" run="$3" outfile="$4"; shift 5
    local tv="$OUT/time-$system-$n.txt" t0 t1
    rm -f "$outfile"
    t0=$(now)
    if ! /usr/bin/time -v -o "$tv" "$@" >"$OUT/log-$system-$n.txt" 2>&1; then
        cat "$OUT/log-$system-$n.txt" >&2
        die "$system on $n events exited with an error (log above)"
    fi
    t1=$(now)
    local rss
    rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tv")
    [ -n "$rss" ] || die "no peak RSS in $tv"
    local user sys
    user=$(sed -n 's/^[[:space:]]*User time (seconds): //p' "$tv")
    sys=$(sed -n 's/^[[:space:]]*System time (seconds): //p' "$tv")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$system" "$run" \
        "$(python3 -c "print(f'{$t1 - $t0:.3f}')")" "$rss" \
        "$(python3 -c "print(f'{${user:-0} + ${sys:-0}:.2f}')")" >>"$RAW"
    [ -f "$outfile" ] || die "$system wrote no output file $outfile"
}

# check SYSTEM N OUTFILE: same rows as the baseline's, as multisets.
check() {
    local system="$1" n="$2" outfile="$3" ref="$OUT/rows-baseline-$n.sorted"
    sort "$outfile" >"$OUT/rows-$system-$n.sorted"
    if ! cmp -s "$ref" "$OUT/rows-$system-$n.sorted"; then
        echo "run.sh: $system and baseline disagree on $n events:" >&2
        echo "  rows: baseline $(wc -l <"$ref"), $system $(wc -l <"$OUT/rows-$system-$n.sorted")" >&2
        echo "  only in baseline: $(comm -23 "$ref" "$OUT/rows-$system-$n.sorted" | wc -l)," \
            "only in $system: $(comm -13 "$ref" "$OUT/rows-$system-$n.sorted" | wc -l); first differences:" >&2
        diff "$ref" "$OUT/rows-$system-$n.sorted" | head -6 >&2
        die "outputs differ; no speed is reported"
    fi
}

: >"$RAW"
GEN_INFO=""
IFS=',' read -r -a SIZES <<<"$EVENTS"
for n in "${SIZES[@]}"; do
    f="$OUT/events-$n.jsonl"
    users=$USERS
    log "generating $f ($n events, $users users)"
    t0=$(now)
    "$SEARCH_CTR" generate --events "$n" --users "$users" --seed 42 --disorder 2s \
        --late-rate 0 --invalid-rate 0 --out "$f"
    t1=$(now)
    lines=$(wc -l <"$f")
    [ "$lines" -eq "$n" ] || die "$f has $lines lines, expected $n"
    GEN_INFO+="$n"$'\t'"$(python3 -c "print(f'{$t1 - $t0:.3f}')")"$'\t'"$(stat -c %s "$f")"$'\n'
    cat "$f" >/dev/null # warm the page cache for every system alike

    # The baseline runs first: its rows are the reference.
    for run in $(seq 1 "$RUNS"); do
        o="$OUT/rows-baseline-$n.jsonl"
        log "baseline, $n events, run $run/$RUNS"
        measure baseline "$n" "$run" "$o" -- "$BASELINE" --input "$f" --output "$o" --gap 30m --wait 10s
        if [ "$run" -eq 1 ]; then
            sort "$o" >"$OUT/rows-baseline-$n.sorted"
        else
            check baseline "$n" "$o"
        fi
    done
    for w in 1 2; do
        has_system "eddy-w$w" || continue
        for run in $(seq 1 "$RUNS"); do
            o="$OUT/rows-eddy-w$w-$n.jsonl"
            log "search-ctr -w $w, $n events, run $run/$RUNS"
            measure "eddy-w$w" "$n" "$run" "$o" -- "$SEARCH_CTR" run --input "$f" --gap 30m --wait 10s \
                --format jsonl --output "$o" --quiet -w "$w"
            check "eddy-w$w" "$n" "$o"
        done
    done
    for p in $PCOUNTS; do
        for run in $(seq 1 "$RUNS"); do
            o="$OUT/rows-eddy-p$p-$n.jsonl"
            addrs="$(python3 -c "
import socket
socks = [socket.socket() for _ in range($p)]
for s in socks: s.bind(('127.0.0.1', 0))
print(','.join('127.0.0.1:%d' % s.getsockname()[1] for s in socks))")"
            log "search-ctr $p processes x 1 worker ($addrs), $n events, run $run/$RUNS"
            # Process 0 writes the rows; the others write none. Every
            # process's exit status counts.
            measure "eddy-p$p" "$n" "$run" "$o" -- bash -c '
                bin="$1" f="$2" o="$3" p="$4" addrs="$5"; pids=()
                for i in $(seq 0 $((p - 1))); do
                    out="$o"; [ "$i" -gt 0 ] && out="$o.process$i"
                    "$bin" run --input "$f" --gap 30m --wait 10s --format jsonl --output "$out" \
                        --quiet -w 1 -i "$i" -a "$addrs" &
                    pids+=($!)
                done
                status=0
                for pid in "${pids[@]}"; do wait "$pid" || status=1; done
                exit $status' eddy-p "$SEARCH_CTR" "$f" "$o" "$p" "$addrs"
            check "eddy-p$p" "$n" "$o"
        done
    done
    if has_system bytewax && bytewax_size "$n"; then
        for run in $(seq 1 "$RUNS"); do
            o="$OUT/rows-bytewax-$n.jsonl"
            log "bytewax (1 worker), $n events, run $run/$RUNS"
            measure bytewax "$n" "$run" "$o" -- env CTR_INPUT="$f" CTR_OUTPUT="$o" \
                "$PY" -m bytewax.run bench/bytewax/ctr_flow:flow
            check bytewax "$n" "$o"
        done
    fi
    log "all outputs on $n events agree ($(wc -l <"$OUT/rows-baseline-$n.sorted") rows)"
done

# --- Report ----------------------------------------------------------------
CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
# "AMD EPYC" alone names no generation: add the family and model numbers.
CPU="$CPU (family $(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1), model $(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1))"
MEM="$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
BYTEWAX_VERSION=""
[ -n "$need_bytewax" ] && BYTEWAX_VERSION="$("$PY" -c 'import importlib.metadata as m; print(m.version("bytewax"))') (Python $("$PY" -c 'import platform; print(platform.python_version())'))"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet 2>/dev/null || echo '+dirty')"

GEN_INFO="$GEN_INFO" RUNS="$RUNS" USERS="$USERS" CPU="$CPU" MEM="$MEM" COMMAND="$COMMAND" \
NPROC="$(nproc)" DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" KERNEL="$(uname -sr)" \
RUSTC="$(rustc --version)" BYTEWAX_VERSION="$BYTEWAX_VERSION" COMMIT="$COMMIT" \
python3 - "$RAW" >"$OUT/results.md" <<'EOF'
import os, statistics, sys
from collections import defaultdict

runs = defaultdict(list)
for line in open(sys.argv[1]):
    n, system, _run, wall, rss, cpu = line.split("\t")
    runs[(int(n), system)].append((float(wall), int(rss), float(cpu)))
med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in runs.items()}
rows = {}
for n in sorted({n for n, _ in med}):
    path = f"bench/out/rows-baseline-{n}.sorted"
    rows[n] = sum(1 for _ in open(path))
gen = {}
for line in os.environ["GEN_INFO"].strip().splitlines():
    n, secs, size = line.split("\t")
    gen[int(n)] = (float(secs), int(size))

env = os.environ
names = {"eddy-w1": "search-ctr `-w 1`", "eddy-w2": "search-ctr `-w 2`",
         "baseline": "baseline (plain Rust, 1 thread)", "bytewax": "Bytewax 0.21.1 (1 worker)"}
pcounts = sorted({int(s[len("eddy-p"):]) for _, s in med if s.startswith("eddy-p")})
for p in pcounts:
    names[f"eddy-p{p}"] = f"search-ctr {p} processes × `-w 1` (loopback)"
order = ["eddy-w1", "eddy-w2"] + [f"eddy-p{p}" for p in pcounts] + ["baseline", "bytewax"]
out = []
out.append("# search-ctr end-to-end benchmark\n")
out.append(f"- Date: {env['DATE']}; commit `{env['COMMIT']}`")
out.append(f"- Machine: {env['CPU']}, `nproc` = {env['NPROC']}, {env['MEM']} RAM, {env['KERNEL']}")
out.append(f"- Toolchain: {env['RUSTC']}" + (f"; Bytewax {env['BYTEWAX_VERSION']}" if env['BYTEWAX_VERSION'] else ""))
out.append(f"- Command: `{env['COMMAND']}`")
out.append(f"- Input: `search-ctr generate --events N --users {env['USERS']} --seed 42 --disorder 2s --late-rate 0` "
           "(JSON Lines, ~100 bytes per event, sorted by time with up to 2 s of disorder); "
           "every system reads the same file from the page cache and writes JSON Lines rows "
           "(gap 30 min, wait 10 s).")
out.append(f"- Each figure is the median of {env['RUNS']} runs: wall-clock seconds (process start to exit), "
           "events per second (input lines ÷ wall time), peak RSS (`/usr/bin/time -v`, "
           "Maximum resident set size), CPU seconds (user + sys, `/usr/bin/time -v`). "
           "Several processes: wall time from the first start to the last exit, CPU summed "
           "over the processes, peak RSS of the largest.")
out.append("- Every run's rows were checked equal, as a multiset, to the baseline's before this table was written.\n")
out.append("| events | input | system | wall s | events/s | CPU s | peak RSS MiB |")
out.append("|---:|---:|---|---:|---:|---:|---:|")
for n in sorted(rows):
    for s in order:
        if (n, s) not in med:
            continue
        wall, rss, cpu = med[(n, s)]
        out.append(f"| {n:,} | {gen[n][1] / 1e6:,.0f} MB | {names[s]} | {wall:.2f} | {n / wall:,.0f} "
                   f"| {cpu:.2f} | {rss / 1024:,.0f} |")
out.append("")
out.append("Ratios (throughput of search-ctr ÷ throughput of the other; > 1 means search-ctr is faster):\n")
out.append("| events | search-ctr | ÷ baseline | ÷ Bytewax |")
out.append("|---:|---|---:|---:|")
for n in sorted(rows):
    for s in ("eddy-w1", "eddy-w2"):
        if (n, s) not in med:
            continue
        mine = med[(n, s)][0]
        vs_base = f"{med[(n, 'baseline')][0] / mine:.2f}×" if (n, "baseline") in med else "–"
        vs_bw = f"{med[(n, 'bytewax')][0] / mine:.1f}×" if (n, "bytewax") in med else "–"
        out.append(f"| {n:,} | {names[s]} | {vs_base} | {vs_bw} |")
out.append("")
cross = [(n, p) for n in sorted(rows) for p in pcounts if (n, f"eddy-p{p}") in med and (n, f"eddy-w{p}") in med]
if cross:
    out.append("Processes against threads (p processes × 1 worker ÷ 1 process × p workers; "
               "throughput from wall time, and CPU time of the threads ÷ CPU time of the processes; "
               "> 1 means the processes are as fast or faster):\n")
    out.append("| events | configuration | throughput ratio | CPU ratio |")
    out.append("|---:|---|---:|---:|")
    for n, p in cross:
        procs, threads = med[(n, f"eddy-p{p}")], med[(n, f"eddy-w{p}")]
        out.append(f"| {n:,} | {p} processes ÷ `-w {p}` | {threads[0] / procs[0]:.2f}× | {threads[2] / procs[2]:.2f}× |")
    out.append("")
out.append("Rows per size: " + ", ".join(f"{n:,} events → {r:,} session rows" for n, r in sorted(rows.items())) + ".")
out.append("Generation (`search-ctr generate`, to a file): " + ", ".join(
    f"{n:,} events in {s:.2f} s ({n / s:,.0f} events/s)" for n, (s, _) in sorted(gen.items())) + ".")
print("\n".join(out))
EOF
cat "$OUT/results.md"
