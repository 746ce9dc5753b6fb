#!/usr/bin/env bash
# Nexmark query 11 on eddy against its plain single-threaded reference
# (bench/nexmark), on events the `nexmark` crate generates in memory.
#
#   bash bench/nexmark.sh [--events 10000000] [--workers 1,2] [--rounds 3]
#
# Each round runs the plain reference, then eddy with each worker count
# (taking turns, so a busy machine slows every system alike), under
# /usr/bin/time. Every run's row digest must equal the reference's (it
# stops otherwise). Per system, the best round's wall time gives events/s;
# CPU seconds (user + sys) give events per CPU-second; peak RSS is the
# largest seen. Writes a markdown table to bench/out/nexmark.md (machine,
# CPU model, date, commit, command) and prints it. NEXMARK_BENCH=path uses
# a prebuilt binary.
set -euo pipefail

EVENTS=10000000
WORKERS="1,2"
ROUNDS=3
COMMAND="bash bench/nexmark.sh${*:+ $*}"
while [ $# -gt 0 ]; do
    case "$1" in
        --events) EVENTS="$2"; shift 2 ;;
        --workers) WORKERS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
        *) echo "nexmark.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
mkdir -p bench/out
die() { echo "nexmark.sh: FAILED: $*" >&2; exit 1; }

if ! /usr/bin/time -f %e true >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq time >/dev/null
fi
BIN="${NEXMARK_BENCH:-}"
if [ -z "$BIN" ]; then
    cargo build --release -q -p nexmark-bench
    BIN=target/release/nexmark-bench
fi

RAW="$(mktemp)"
trap 'rm -f "$RAW"' EXIT
run_one() { # name, args...
    local name="$1"; shift
    local line stats
    line="$(/usr/bin/time -o "$RAW.t" -f '%e %U %S %M' "$BIN" --events "$EVENTS" "$@")" || die "$name: $(cat "$RAW.t")"
    stats="$(tail -1 "$RAW.t")"
    echo "$line" >&2
    local digest
    digest="$(sed -n 's/.*digest \([0-9a-f]*\),.*/\1/p' <<<"$line")"
    echo "$name $digest $stats" >>"$RAW"
}
for r in $(seq "$ROUNDS"); do
    run_one plain --system plain
    for w in ${WORKERS//,/ }; do
        run_one "eddy-w$w" --system eddy --workers "$w"
    done
done
REF="$(awk '$1 == "plain" { print $2; exit }' "$RAW")"
awk -v ref="$REF" '$2 != ref { bad = 1; print "digest of " $1 ": " $2 ", reference " ref > "/dev/stderr" } END { exit bad }' "$RAW" \
    || die "rows differ from the plain reference's"

CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
FAMILY="$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1)"
MODEL="$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1)"
{
    echo "### Nexmark q11, $EVENTS events ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "- Machine: $CPU (family $FAMILY, model $MODEL), \`nproc\` = $(nproc), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM"
    echo "- Commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)'); command: \`$COMMAND\`"
    echo "- Best of $ROUNDS rounds (systems take turns each round); rows digest $REF for every run"
    echo
    echo "| system | wall s | events/s | vs plain | CPU s (user + sys) | events per CPU-s | peak RSS MiB |"
    echo "|---|---|---|---|---|---|---|"
    awk -v n="$EVENTS" '
        { wall = $3; cpu = $4 + $5; rss = $6
          if (!($1 in best) || wall < best[$1]) { best[$1] = wall; bcpu[$1] = cpu }
          if (rss > peak[$1]) peak[$1] = rss
          if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
        END { for (i = 1; i <= k; i++) { s = order[i]
                printf "| %s | %.2f | %.0f | %.2f× | %.2f | %.0f | %.0f |\n", s, best[s], n / best[s],
                       best["plain"] / best[s], bcpu[s], n / bcpu[s], peak[s] / 1024 } }' "$RAW"
} | tee bench/out/nexmark.md
