#!/usr/bin/env bash
# Kafka → search-ctr → Kafka on the local broker (scripts/kafka-broker.sh:
# Apache Kafka 4 in KRaft mode on 127.0.0.1). Prints:
#  - the produce rate of `generate --to` (EVENTS events, 4 partitions);
#  - the throughput of a bounded replay (--kafka-until-end) to a Kafka
#    output at -w 1 and -w 2: without -r, and with -r -s 1s for each sink
#    (--kafka-sink idempotent: the read-back sink; transactional);
#  - with RATE set, the live end-to-end latency at RATE events/s for each
#    sink (crates/cli/tests/kafka.rs, bench_kafka_latency, -r -s 1s, a
#    read_committed reader); RATE=auto: at half the exactly-once
#    throughput just measured for the same -w and sink.
#
#   EVENTS=200000 RATE=auto bash bench/kafka.sh
#   CARGO_TARGET_DIR=/work/target-bench EDDY_KAFKA_DIR=/tmp/bench-broker ...
#     (a release build that does not block others' target dir; a broker
#     state of its own)
#
# (RATE's latency test is built with cargo's test profile for --release.)
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-200000}
TARGET=${CARGO_TARGET_DIR:-target}
# BIN=target/debug/search-ctr to measure another build (then not rebuilt).
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p search-ctr
  BIN=$TARGET/release/search-ctr
fi
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; EVENTS=$EVENTS"
B=$(scripts/kafka-broker.sh start | tail -1)
T=bench-$$-$RANDOM
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f events/s (%.1f s)", n / (b - a), b - a }'; }

t0=$(now)
$BIN generate --events "$EVENTS" --to "kafka://$B/$T-in" --partitions 4
t1=$(now)
echo "produce (generate --to, 4 partitions): $(rate "$EVENTS" "$t0" "$t1")"
for w in 1 2; do
  t0=$(now)
  $BIN run -I "kafka://$B/$T-in" --kafka-until-end -o "kafka://$B/$T-out-$w" -w "$w" -q
  t1=$(now)
  echo "kafka -> search-ctr -> kafka, -w $w: $(rate "$EVENTS" "$t0" "$t1")"
  for sink in idempotent transactional; do
    store=$(mktemp -d)
    $BIN recovery init "$store/s" >/dev/null
    t0=$(now)
    $BIN run -I "kafka://$B/$T-in" --kafka-until-end -o "kafka://$B/$T-out-$sink-$w" -w "$w" \
      --kafka-sink "$sink" -r "$store/s" -s 1s -q
    t1=$(now)
    echo "kafka -> search-ctr -> kafka, -w $w, --kafka-sink $sink -r -s 1s (exactly-once): $(rate "$EVENTS" "$t0" "$t1")"
    declare "half_${sink}_$w=$(awk -v n="$EVENTS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", n / (b - a) / 2 }')"
    rm -rf "$store"
  done
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) after the throughput runs"
if [ -n "${RATE:-}" ]; then
  for w in 1 2; do
    for sink in idempotent transactional; do
      r=$RATE
      if [ "$r" = auto ]; then
        r=$(eval echo "\$half_${sink}_$w")
      fi
      echo "latency at $r events/s (-w $w, --kafka-sink $sink, -r -s 1s):"
      EDDY_KAFKA_BOOTSTRAP=$B EDDY_BENCH_RATE=$r EDDY_BENCH_WORKERS=$w EDDY_BENCH_SINK=$sink \
        cargo test --release -q -p search-ctr --test kafka bench_kafka_latency -- --ignored --nocapture 2>&1 |
        grep "kafka latency"
    done
  done
fi
