#!/usr/bin/env bash
# Load-independent figures for one search-ctr build: instructions (callgrind,
# the same on a busy machine as on a quiet one) and peak RSS.
#
#   bash bench/callgrind.sh BIN LOG [WORKERS]
#
# BIN: a search-ctr binary (best `cargo build --profile profiling -p search-ctr`,
# line tables for callgrind_annotate); LOG: a search log (~300k events keeps
# a run near a minute under valgrind). Prints "instructions <Ir>" and
# "peak_rss_kb <kB>" (the RSS of a run without valgrind), then the 25
# functions with the most instructions (inclusive of nothing: self cost).
set -euo pipefail
BIN="${1:?usage: bench/callgrind.sh BIN LOG [WORKERS]}"
LOG="${2:?usage: bench/callgrind.sh BIN LOG [WORKERS]}"
W="${3:-1}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" -- \
    "$BIN" run --input "$LOG" --gap 30m --wait 10s --format jsonl --output "$OUT/rows.jsonl" \
    --quiet -w "$W" 2>"$OUT/vg.log"
ir=$(sed -n 's/^summary: //p' "$OUT/cg.out")
# CG_KEEP=FILE keeps the callgrind profile (callgrind_annotate --tree=caller FILE).
[ -n "${CG_KEEP:-}" ] && cp "$OUT/cg.out" "$CG_KEEP"
echo "instructions $ir"
/usr/bin/time -v -o "$OUT/time.txt" "$BIN" run --input "$LOG" --gap 30m --wait 10s --format jsonl \
    --output "$OUT/rows.jsonl" --quiet -w "$W"
echo "peak_rss_kb $(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$OUT/time.txt")"
callgrind_annotate "$OUT/cg.out" 2>/dev/null | sed -n '/^Ir/,$p' | head -30
