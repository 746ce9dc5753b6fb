#!/usr/bin/env bash
# Two single-threaded commands run at the same time, one per core, so that
# both see the same machine: on a shared VM whose speed drifts from minute
# to minute, their ratio holds where two runs one after the other do not.
#
#   bash bench/paired.sh [--rounds 3] A-COMMAND... --- B-COMMAND...
#
# Each round starts A and B together (A first in odd rounds, B first in
# even ones) and prints their wall seconds and peak RSS (GNU time); the
# last line gives the mean of B's wall time over A's. The commands' own
# output goes to /dev/null; a command that fails stops the script. Both
# should be single-threaded (a 2-worker run would take both cores).
#
# Example (BENCHMARKS.md, "The engine's own cost per event"):
#   bash bench/paired.sh --rounds 3 target/release/nexmark-bench --events 10000000 --system plain \
#       --- target/release/nexmark-bench --events 10000000 --system eddy
set -euo pipefail

ROUNDS=3
if [ "${1:-}" = --rounds ]; then ROUNDS="$2"; shift 2; fi
A=()
while [ $# -gt 0 ] && [ "$1" != --- ]; do A+=("$1"); shift; done
[ "${1:-}" = --- ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
shift
B=("$@")
[ ${#A[@]} -gt 0 ] && [ ${#B[@]} -gt 0 ] || { echo "paired.sh: two commands, split by ---" >&2; exit 2; }
/usr/bin/time -f %e true >/dev/null 2>&1 || { echo "paired.sh: needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
sum_a=0; sum_b=0
for r in $(seq "$ROUNDS"); do
    run() { /usr/bin/time -o "$TMP/$1" -f '%e %M' "${@:2}" >/dev/null 2>"$TMP/$1.err"; }
    if [ $((r % 2)) -eq 1 ]; then
        run a "${A[@]}" & pa=$!; run b "${B[@]}" & pb=$!
    else
        run b "${B[@]}" & pb=$!; run a "${A[@]}" & pa=$!
    fi
    wait "$pa" || { echo "paired.sh: A failed: $(tail -3 "$TMP/a.err") $(head -1 "$TMP/a")" >&2; exit 1; }
    wait "$pb" || { echo "paired.sh: B failed: $(tail -3 "$TMP/b.err") $(head -1 "$TMP/b")" >&2; exit 1; }
    read -r wa ma < <(tail -1 "$TMP/a")
    read -r wb mb < <(tail -1 "$TMP/b")
    echo "round $r: A ${wa} s (${ma} KB) | B ${wb} s (${mb} KB)"
    sum_a=$(python3 -c "print($sum_a + $wa)"); sum_b=$(python3 -c "print($sum_b + $wb)")
done
python3 -c "print(f'B / A wall: {$sum_b / $sum_a:.3f} (mean of $ROUNDS rounds)')"
