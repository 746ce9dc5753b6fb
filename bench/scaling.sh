#!/usr/bin/env bash
# Scaling and recovery overhead of search-ctr on one machine: the same
# generated log run with -w 1, 2, 4, … workers, then with --recovery-dir at
# two snapshot intervals; every run's rows must be byte-identical to the
# 1-worker run's (the output is the same line for line for any worker
# count), or the script fails.
#
#   bash bench/scaling.sh [--events 10000000] [--users 100000]
#                         [--workers 1,2,4,8,16] [--recovery-workers N]
#
# SEARCH_CTR=path uses a prebuilt binary (else it builds the release one).
# Prints a markdown table (wall seconds, events/s, speed-up over 1 worker).
set -euo pipefail

EVENTS=10000000
USERS=100000
WORKERS="1,2,4,8,16"
RWORKERS=""
COMMAND="bash bench/scaling.sh${*:+ $*}"
while [ $# -gt 0 ]; do
    case "$1" in
        --events) EVENTS="$2"; shift 2 ;;
        --users) USERS="$2"; shift 2 ;;
        --workers) WORKERS="$2"; shift 2 ;;
        --recovery-workers) RWORKERS="$2"; shift 2 ;;
        *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="${SCALING_OUT:-bench/out/scaling}"
mkdir -p "$OUT"
if [ -z "${SEARCH_CTR:-}" ]; then
    cargo build --release -p search-ctr >&2
    SEARCH_CTR=target/release/search-ctr
fi
LOG="$OUT/events-$EVENTS.jsonl"
[ -s "$LOG" ] || "$SEARCH_CTR" generate --events "$EVENTS" --users "$USERS" --out "$LOG"
RWORKERS="${RWORKERS:-${WORKERS##*,}}"

# seconds (3 decimals) of one run: run_timed NAME ARGS…
run_timed() {
    local name="$1"; shift
    local start end
    start=$(date +%s.%N)
    "$SEARCH_CTR" run -I "$LOG" -o "$OUT/$name.jsonl" -q "$@"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
# row LABEL SECONDS: a table row against the 1-worker time in $base
row() {
    awk -v l="$1" -v t="$2" -v n="$EVENTS" -v b="$base" 'BEGIN { printf "| %s | %s | %.0f | %.2f× |\n", l, t, n / t, b / t }'
}

echo "| run | wall (s) | events/s | speed-up vs 1 worker |"
echo "|---|---|---|---|"
base=""
for w in ${WORKERS//,/ }; do
    t=$(run_timed "w$w" -w "$w")
    cmp -s "$OUT/w$w.jsonl" "$OUT/w${WORKERS%%,*}.jsonl" || { echo "scaling.sh: FAILED: -w $w rows differ" >&2; exit 1; }
    [ -n "$base" ] || base="$t"
    row "-w $w" "$t"
done
for s in 10s 1s; do
    rm -rf "$OUT/state"
    "$SEARCH_CTR" recovery init "$OUT/state" >/dev/null
    t=$(run_timed "r$s" -w "$RWORKERS" -r "$OUT/state" -s "$s")
    cmp -s "$OUT/r$s.jsonl" "$OUT/w${WORKERS%%,*}.jsonl" || { echo "scaling.sh: FAILED: recovery rows differ" >&2; exit 1; }
    taken=$("$SEARCH_CTR" recovery inspect "$OUT/state" | awk '$1 == "epoch" { n = $2 } END { print n }')
    row "-w $RWORKERS -r DIR -s $s ($taken snapshots)" "$t"
done
echo
echo "$EVENTS events, $USERS users; \`$COMMAND\` on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))."
