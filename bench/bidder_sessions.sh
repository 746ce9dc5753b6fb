#!/usr/bin/env bash
# Per-bidder sessions (Nexmark q11's shape: gap 10 s, bids 1 ms of event
# time apart, 1 M bidders) on eddy's plain fold_window, with the clock
# following the input's progress (issue 24) and without it (`off`, the
# rule before): bids counted, wall time and peak RSS for 1 and 2 workers.
#
#   BIDS=5000000 BIDDERS=1000000 bash bench/bidder_sessions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIDS=${BIDS:-5000000}
BIDDERS=${BIDDERS:-1000000}
cargo build --release -q -p eddy --example bidder_sessions
BIN=${CARGO_TARGET_DIR:-target}/release/examples/bidder_sessions
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
for w in 1 2; do
  for h in on off; do
    /usr/bin/time -f "  wall %e s, peak RSS %M KB" "$BIN" "$BIDS" "$BIDDERS" "$w" "$h" 2>&1
  done
done
