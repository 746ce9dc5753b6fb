#!/usr/bin/env bash
# Runs two search-ctr binaries on the same generated logs with the same
# options and compares every output byte for byte (a refactoring must not
# change them). Usage: scripts/compare-outputs.sh OLD_BINARY NEW_BINARY
set -euo pipefail
old=$1 new=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$new" generate --events 200000 --users 5000 --seed 7 --late-rate 0.01 --invalid-rate 0.001 --out "$dir/in.jsonl"
"$new" generate --events 100000 --users 3000 --seed 9 --profile search --out "$dir/search.jsonl"
cases=(
  "plain|-I $dir/in.jsonl --on-invalid skip"
  "csv|-I $dir/in.jsonl --on-invalid skip --format csv -w 2"
  "text|-I $dir/in.jsonl --on-invalid skip --format text"
  "late|-I $dir/in.jsonl --on-invalid skip --late-output @/late.jsonl --dead-letter @/dead.jsonl -w 2"
  "gap|-I $dir/in.jsonl --on-invalid skip --gap 5m --wait 1s --horizon off"
  "analytics|-I $dir/search.jsonl --query-output @/q.jsonl --position-output @/p.jsonl --judgment-output @/j.jsonl -w 2"
  "analytics-csv|-I $dir/search.jsonl --format csv --query-output @/q.csv --analytics-window 1h"
  "stdin|-I - --on-invalid skip"
)
status=0
for case in "${cases[@]}"; do
  name=${case%%|*} args=${case#*|}
  for which in old new; do
    bin=${!which}
    out="$dir/$which-$name"
    mkdir -p "$out"
    # shellcheck disable=SC2086
    "$bin" run ${args//@/$out} -o "$out/rows" -q <"$dir/in.jsonl"
  done
  for f in "$dir/old-$name"/*; do
    if cmp -s "$f" "$dir/new-$name/$(basename "$f")"; then
      echo "same  $name/$(basename "$f") ($(wc -c <"$f") bytes)"
    else
      echo "DIFF  $name/$(basename "$f")"
      status=1
    fi
  done
done
exit $status
