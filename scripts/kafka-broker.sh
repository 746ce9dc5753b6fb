#!/usr/bin/env bash
# A real Kafka-protocol broker on 127.0.0.1 for the tests and for trying
# search-ctr on Kafka, without Docker and without downloads outside the
# registries: tansu (crates.io) with SQLite storage.
#
#   scripts/kafka-broker.sh start    start it (idempotent); the last line is HOST:PORT
#   scripts/kafka-broker.sh stop     stop it (idempotent); its data stays
#   scripts/kafka-broker.sh status   HOST:PORT and exit 0 when running, else exit 1
#
# The binary is built once (cargo install, ~50 min on 2 cores, 1.7 GB peak
# memory) into ${EDDY_CACHE:-~/.cache/eddy}/tansu-0.6.0/bin/tansu. The state
# (SQLite file, log, pid, port) is in ${EDDY_KAFKA_DIR:-target/kafka-broker};
# the port is chosen free at the first start (or $EDDY_KAFKA_PORT) and kept,
# so a restarted broker has the same address. Why tansu with SQLite: its
# memory storage reports wrong high watermarks; SQLite passed produce,
# consume, seeks, watermarks and restarts (issue 13).
set -euo pipefail

VERSION=0.6.0
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${EDDY_CACHE:-$HOME/.cache/eddy}
ROOT=$CACHE/tansu-$VERSION
BIN=$ROOT/bin/tansu
DIR=${EDDY_KAFKA_DIR:-$REPO/target/kafka-broker}
HOST=127.0.0.1

say() { echo "kafka-broker: $*" >&2; }

running_pid() {
  [ -f "$DIR/pid" ] || return 1
  local pid
  pid=$(cat "$DIR/pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

accepts() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 30000))
    if ! accepts "$port"; then
      echo "$port"
      return 0
    fi
  done
  say "no free port found"
  return 1
}

build() {
  [ -x "$BIN" ] && return 0
  say "building tansu $VERSION into $ROOT (once; about 50 minutes on 2 cores)"
  mkdir -p "$ROOT"
  cargo install tansu --version "$VERSION" --locked --features dynostore,libsql --root "$ROOT" >&2
}

start() {
  mkdir -p "$DIR"
  local port pid
  if pid=$(running_pid); then
    port=$(cat "$DIR/port")
    if accepts "$port"; then
      echo "$HOST:$port"
      return 0
    fi
  fi
  build
  if [ -n "${EDDY_KAFKA_PORT:-}" ]; then
    port=$EDDY_KAFKA_PORT
  elif [ -s "$DIR/port" ]; then
    port=$(cat "$DIR/port")
  else
    port=$(free_port)
  fi
  if accepts "$port"; then
    say "port $port is taken by another program; set EDDY_KAFKA_PORT or remove $DIR/port"
    return 1
  fi
  echo "$port" >"$DIR/port"
  # tansu resolves sqlite://NAME against its working directory.
  (
    cd "$DIR"
    nohup "$BIN" broker \
      --listener-url "tcp://$HOST:$port" \
      --advertised-listener-url "tcp://$HOST:$port" \
      --storage-engine "sqlite://tansu.db" \
      >>"$DIR/broker.log" 2>&1 </dev/null &
    echo $! >"$DIR/pid"
  )
  pid=$(cat "$DIR/pid")
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "the broker exited at start; the end of $DIR/broker.log:"
      tail -20 "$DIR/broker.log" >&2
      return 1
    fi
    if accepts "$port"; then
      say "running (pid $pid, data $DIR/tansu.db, log $DIR/broker.log)"
      echo "$HOST:$port"
      return 0
    fi
    sleep 0.1
  done
  say "the broker did not accept connections within 30 s; see $DIR/broker.log"
  return 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$DIR/pid"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$DIR/pid"
  say "stopped"
}

status() {
  if running_pid >/dev/null && accepts "$(cat "$DIR/port")"; then
    echo "$HOST:$(cat "$DIR/port")"
    return 0
  fi
  echo "not running" >&2
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
