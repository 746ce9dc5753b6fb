#!/usr/bin/env bash
# Memory per tracked user: peak RSS of search-ctr (1 and 2 workers) and of
# the plain baseline over logs with more and more users at the same number
# of events per user; the slope of peak RSS over users is the cost of one
# user (bytes), the figure issue "speed and memory" bounds at 200 B.
#
#   bash bench/memory.sh [--users 100000,1000000,4000000] [--per-user 10]
#                        [--systems eddy-w1,eddy-w2,baseline]
#
# Every system's rows are compared with the baseline's (as multisets) first;
# a difference stops the script. Writes bench/out/memory.md and prints it.
# SEARCH_CTR=... BASELINE=... use prebuilt binaries.
set -euo pipefail

USERS="100000,1000000,4000000"
PER_USER=10
SYSTEMS="eddy-w1,eddy-w2,baseline"
COMMAND="bash bench/memory.sh${*:+ $*}"
while [ $# -gt 0 ]; do
    case "$1" in
        --users) USERS="$2"; shift 2 ;;
        --per-user) PER_USER="$2"; shift 2 ;;
        --systems) SYSTEMS="$2"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
        *) echo "memory.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="bench/out"
mkdir -p "$OUT"
export LC_ALL=C
die() { echo "memory.sh: FAILED: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }
/usr/bin/time -v true >/dev/null 2>&1 || die "GNU time is needed at /usr/bin/time (bench/run.sh installs it)"

if [ -z "${SEARCH_CTR:-}" ] || [ -z "${BASELINE:-}" ]; then
    log "building release binaries"
    cargo build --release -q -p search-ctr -p baseline
    TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
fi
SEARCH_CTR="${SEARCH_CTR:-$TARGET_DIR/release/search-ctr}"
BASELINE="${BASELINE:-$TARGET_DIR/release/baseline}"

RAW="$OUT/memory.tsv"
: >"$RAW"
# peak SYSTEM USERS OUTFILE -- CMD...: appends "users system rss_kb wall_s".
peak() {
    local system="$1" users="$2" outfile="$3"; shift 4
    local tv="$OUT/memtime-$system-$users.txt"
    rm -f "$outfile"
    /usr/bin/time -v -o "$tv" "$@" >/dev/null 2>"$OUT/memlog-$system-$users.txt" ||
        { cat "$OUT/memlog-$system-$users.txt" >&2; die "$system on $users users failed"; }
    local rss wall
    rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tv")
    wall=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tv")
    printf '%s\t%s\t%s\t%s\n' "$users" "$system" "$rss" "$wall" >>"$RAW"
}

IFS=',' read -r -a LIST <<<"$USERS"
for users in "${LIST[@]}"; do
    n=$((users * PER_USER))
    f="$OUT/users-$users-x$PER_USER.jsonl"
    if [ ! -s "$f" ] || [ "$(wc -l <"$f")" -ne "$n" ]; then
        log "generating $f ($n events, $users users)"
        "$SEARCH_CTR" generate --events "$n" --users "$users" --seed 42 --disorder 2s \
            --late-rate 0 --invalid-rate 0 --out "$f"
    fi
    ref="$OUT/memrows-baseline-$users.sorted"
    log "baseline, $users users"
    peak baseline "$users" "$OUT/memrows-baseline-$users.jsonl" -- \
        "$BASELINE" --input "$f" --output "$OUT/memrows-baseline-$users.jsonl" --gap 30m --wait 10s
    sort "$OUT/memrows-baseline-$users.jsonl" >"$ref"
    for w in 1 2; do
        [[ ",$SYSTEMS," == *",eddy-w$w,"* ]] || continue
        o="$OUT/memrows-eddy-w$w-$users.jsonl"
        log "search-ctr -w $w, $users users"
        peak "eddy-w$w" "$users" "$o" -- "$SEARCH_CTR" run --input "$f" --gap 30m --wait 10s \
            --format jsonl --output "$o" --quiet -w "$w"
        sort "$o" | cmp -s - "$ref" || die "search-ctr -w $w and the baseline disagree on $users users"
        rm -f "$o"
    done
    # Rows are only compared (at 4 M users each copy is ~1 GB).
    rm -f "$OUT/memrows-baseline-$users.jsonl" "$ref"
done

CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet 2>/dev/null || echo '+dirty')"
CPU="$CPU" COMMAND="$COMMAND" COMMIT="$COMMIT" PER_USER="$PER_USER" NPROC="$(nproc)" \
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" python3 - "$RAW" >"$OUT/memory.md" <<'PY'
import os, sys
from collections import defaultdict
rss = defaultdict(dict)
for line in open(sys.argv[1]):
    users, system, kb, wall = line.rstrip("\n").split("\t")
    rss[system][int(users)] = (int(kb) * 1024, wall)
users = sorted({u for s in rss.values() for u in s})
e = os.environ
print(f"Peak RSS by users at {e['PER_USER']} events per user — {e['DATE']}, {e['CPU']} ({e['NPROC']} cores), commit {e['COMMIT']}")
print(f"Command: `{e['COMMAND']}`\n")
print("| system | " + " | ".join(f"{u:,} users" for u in users) + " | bytes per user (slope) |")
print("|---|" + "---:|" * (len(users) + 1))
for system in sorted(rss):
    pts = [(u, rss[system][u][0]) for u in users if u in rss[system]]
    n = len(pts)
    mx = sum(u for u, _ in pts) / n
    my = sum(r for _, r in pts) / n
    den = sum((u - mx) ** 2 for u, _ in pts)
    slope = sum((u - mx) * (r - my) for u, r in pts) / den if den else float("nan")
    cells = " | ".join(f"{rss[system][u][0] / 1e6:.0f} MB" if u in rss[system] else "–" for u in users)
    print(f"| {system} | {cells} | {slope:.0f} |")
PY
cat "$OUT/memory.md"
