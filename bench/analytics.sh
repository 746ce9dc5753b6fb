#!/usr/bin/env bash
# The cost of search analytics: a run with all three analytics outputs on
# against a sessions-only run of the same binary on the same file, at 1
# and 2 workers (issue "search analytics": throughput with analytics ≥ 70 %
# of sessions only).
#
#   bash bench/analytics.sh [--events 2000000] [--rounds 3] [BIN ...]
#
# BIN: search-ctr binaries to compare (default: a release build of this
# tree). Each round runs every binary, worker count and mode once, in turn
# (so load drifts hit all alike); each figure is the best of the rounds:
# wall seconds and user + sys CPU seconds (`/usr/bin/time`). The log is
# `search-ctr generate --profile search --events N --seed 42`, made once
# into bench/out. Every binary's four outputs are checked equal to the
# first binary's. Prints a Markdown table and writes bench/out/analytics.md.
set -euo pipefail

EVENTS=2000000
ROUNDS=3
BINS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --events) EVENTS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
        -*) echo "analytics.sh: unknown argument $1" >&2; exit 2 ;;
        *) BINS+=("$1"); shift ;;
    esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/bench/out"
mkdir -p "$OUT"
if [ ${#BINS[@]} -eq 0 ]; then
    (cd "$ROOT" && cargo build --release -q -p search-ctr)
    BINS=("${CARGO_TARGET_DIR:-$ROOT/target}/release/search-ctr")
fi
LOG="$OUT/search-$EVENTS.jsonl"
[ -f "$LOG" ] || "${BINS[0]}" generate --profile search --events "$EVENTS" --seed 42 --out "$LOG"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# run BIN_INDEX WORKERS MODE → "wall cpu" (MODE: s = sessions only, a = analytics)
run() {
    local bin="${BINS[$1]}" d="$WORK/$1-$2-$3" extra=()
    mkdir -p "$d"
    [ "$3" = a ] && extra=(--query-output "$d/q" --position-output "$d/p" --judgment-output "$d/j")
    /usr/bin/time -f "%e %U %S" -o "$d/time" "$bin" run -q -I "$LOG" -o "$d/s" -w "$2" "${extra[@]}"
    awk '{printf "%s %.2f\n", $1, $2 + $3}' "$d/time"
}

declare -A WALL CPU
for round in $(seq 1 "$ROUNDS"); do
    for i in "${!BINS[@]}"; do
        for w in 1 2; do
            for m in s a; do
                read -r wall cpu < <(run "$i" "$w" "$m")
                k="$i-$w-$m"
                if [ -z "${WALL[$k]:-}" ] || awk "BEGIN{exit !($wall < ${WALL[$k]})}"; then WALL[$k]=$wall; fi
                if [ -z "${CPU[$k]:-}" ] || awk "BEGIN{exit !($cpu < ${CPU[$k]})}"; then CPU[$k]=$cpu; fi
            done
        done
    done
    echo "round $round of $ROUNDS done" >&2
done

for i in "${!BINS[@]}"; do
    for f in s q p j; do
        for w in 1 2; do
            m=a; [ "$f" = s ] && m=s
            cmp -s "$WORK/0-1-$m/$f" "$WORK/$i-$w-$m/$f" || { echo "analytics.sh: ${BINS[$i]} -w $w: output $f differs" >&2; exit 1; }
        done
    done
done

{
    echo "Analytics cost — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $EVENTS events (\`generate --profile search --seed 42\`), best of $ROUNDS"
    echo "Command: \`bash bench/analytics.sh --events $EVENTS --rounds $ROUNDS ...\`"
    echo
    echo "| binary | workers | sessions only: wall / CPU s | analytics: wall / CPU s | ratio, wall | ratio, CPU |"
    echo "|---|---:|---|---|---:|---:|"
    for i in "${!BINS[@]}"; do
        for w in 1 2; do
            s="$i-$w-s" a="$i-$w-a"
            awk -v b="${BINS[$i]}" -v w="$w" -v sw="${WALL[$s]}" -v sc="${CPU[$s]}" -v aw="${WALL[$a]}" -v ac="${CPU[$a]}" \
                'BEGIN{printf "| %s | %d | %.2f / %.2f | %.2f / %.2f | %.1f %% | %.1f %% |\n", b, w, sw, sc, aw, ac, 100*sw/aw, 100*sc/ac}'
        done
    done
} | tee "$OUT/analytics.md"
