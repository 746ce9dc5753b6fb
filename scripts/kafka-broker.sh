#!/usr/bin/env bash
# Apache Kafka 4 on 127.0.0.1 for the tests and for trying search-ctr on
# Kafka: one JVM in KRaft mode (broker and controller in one process), no
# Docker, nothing downloaded outside Maven Central.
#
#   scripts/kafka-broker.sh start    start it (idempotent); the last line is HOST:PORT
#   scripts/kafka-broker.sh stop     stop it (idempotent); its data stays
#   scripts/kafka-broker.sh status   HOST:PORT and exit 0 when running, else exit 1
#
# Needs Java 17 or newer (`java` on the PATH, or $JAVA_HOME) and Maven
# (`mvn`). The jars (Kafka $KAFKA_VERSION and its dependencies, ~45 MB)
# are fetched once by Maven from Maven Central (scripts/kafka-broker/pom.xml)
# into ${EDDY_CACHE:-~/.cache/eddy}/kafka-$KAFKA_VERSION/libs; later starts
# take a few seconds. The state (config, log directory, ports, pid, log)
# is in ${EDDY_KAFKA_DIR:-target/kafka-broker}: storage is formatted once,
# the port is chosen free at the first start (or $EDDY_KAFKA_PORT) and
# kept, so a restarted broker has the same address and the same topics; the
# controller's port (internal) is chosen and kept the same way.
# Replication factors of the internal topics (consumer offsets,
# transaction state, share-group state) are 1: one node. The heap is
# $EDDY_KAFKA_HEAP (default 512m).
set -euo pipefail

KAFKA_VERSION=4.1.1
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${EDDY_CACHE:-$HOME/.cache/eddy}
LIBS=$CACHE/kafka-$KAFKA_VERSION/libs
DIR=${EDDY_KAFKA_DIR:-$REPO/target/kafka-broker}
HEAP=${EDDY_KAFKA_HEAP:-512m}
HOST=127.0.0.1

say() { echo "kafka-broker: $*" >&2; }

java_bin() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    say "no java: Apache Kafka $KAFKA_VERSION needs Java 17 or newer (set JAVA_HOME or put java on the PATH)"
    return 1
  fi
}

check_java() {
  local java major
  java=$(java_bin)
  major=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  major=${major#1.}
  if [ -z "$major" ] || [ "$major" -lt 17 ]; then
    say "$java is Java ${major:-?}; Apache Kafka $KAFKA_VERSION needs Java 17 or newer (set JAVA_HOME)"
    return 1
  fi
}

running_pid() {
  [ -f "$DIR/pid" ] || return 1
  local pid
  pid=$(cat "$DIR/pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

accepts() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# A port nothing listens on, below Linux's ephemeral range (32768-60999)
# so that no client connection holds it either.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 12000))
    if ! accepts "$port"; then
      echo "$port"
      return 0
    fi
  done
  say "no free port found"
  return 1
}

# The jars, once: Maven resolves kafka_2.13's runtime dependencies from
# Maven Central (its local repository is Maven's usual ~/.m2) and copies
# them here; a partial copy is never taken for a finished one.
fetch() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || {
    say "no mvn: Maven fetches Apache Kafka's jars from Maven Central (apt-get install maven)"
    return 1
  }
  say "fetching Apache Kafka $KAFKA_VERSION's jars with Maven into $LIBS (once)"
  local tmp=$LIBS.tmp-$$
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! mvn -B -q -Dstyle.color=never -f "$REPO/scripts/kafka-broker/pom.xml" \
    -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >&2; then
    rm -rf "$tmp"
    say "Maven could not fetch the jars (is Maven Central reachable?)"
    return 1
  fi
  touch "$tmp/.complete"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
}

# The node's configuration, written at every start from the kept ports.
configure() {
  local port=$1 controller=$2
  cat >"$DIR/server.properties" <<EOF
# Written by scripts/kafka-broker.sh at each start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$controller
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$HOST:$port,CONTROLLER://$HOST:$controller
advertised.listeners=PLAINTEXT://$HOST:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/data
num.partitions=1
# One node: every internal topic has one replica, and few partitions (each
# is made when first used; 50, the default, makes the first use slow).
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Tests make many small topics: small segments and indexes.
log.segment.bytes=16777216
log.index.size.max.bytes=1048576
EOF
  cat >"$DIR/log4j2.properties" <<'EOF'
status = error
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
# The line the script waits for ("Kafka Server started").
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
EOF
}

classpath() {
  echo "$LIBS/*"
}

start() {
  mkdir -p "$DIR"
  local port controller pid java
  if pid=$(running_pid); then
    port=$(cat "$DIR/port")
    if accepts "$port"; then
      echo "$HOST:$port"
      return 0
    fi
  fi
  java=$(java_bin)
  check_java
  fetch
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
  # The controller's port (clients never see it): kept, or chosen anew when
  # something else took it.
  controller=$(cat "$DIR/controller-port" 2>/dev/null || true)
  if [ -z "$controller" ] || [ "$controller" = "$port" ] || accepts "$controller"; then
    controller=$(free_port)
  fi
  echo "$controller" >"$DIR/controller-port"
  configure "$port" "$controller"
  if [ ! -f "$DIR/data/meta.properties" ]; then
    say "formatting the storage in $DIR/data (once)"
    local cluster
    cluster=$("$java" -cp "$(classpath)" kafka.tools.StorageTool random-uuid)
    "$java" -cp "$(classpath)" -Dlog4j2.configurationFile="$DIR/log4j2.properties" \
      kafka.tools.StorageTool format -t "$cluster" -c "$DIR/server.properties" >&2
  fi
  local mark=0
  [ -f "$DIR/broker.log" ] && mark=$(wc -c <"$DIR/broker.log")
  (
    cd "$DIR"
    nohup "$java" -Xms128m -Xmx"$HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$DIR/log4j2.properties" \
      -cp "$(classpath)" kafka.Kafka "$DIR/server.properties" \
      >>"$DIR/broker.log" 2>&1 </dev/null &
    echo $! >"$DIR/pid"
  )
  pid=$(cat "$DIR/pid")
  for _ in $(seq 1 1200); do
    if ! kill -0 "$pid" 2>/dev/null; then
      if [ "${EDDY_KAFKA_RETRY:-0}" -lt 3 ] &&
        tail -c +"$((mark + 1))" "$DIR/broker.log" | grep -q "BindException"; then
        # A port taken between the check and the bind (the controller's, or
        # a client's): once more, with a new controller port.
        say "a port was taken at start; trying again"
        rm -f "$DIR/controller-port" "$DIR/pid"
        EDDY_KAFKA_RETRY=$((${EDDY_KAFKA_RETRY:-0} + 1)) start
        return
      fi
      say "the broker exited at start; the end of $DIR/broker.log:"
      tail -20 "$DIR/broker.log" >&2
      return 1
    fi
    if tail -c +"$((mark + 1))" "$DIR/broker.log" | grep -q "Kafka Server started" && accepts "$port"; then
      say "Apache Kafka $KAFKA_VERSION running (pid $pid, data $DIR/data, log $DIR/broker.log)"
      echo "$HOST:$port"
      return 0
    fi
    sleep 0.1
  done
  say "the broker did not start within 120 s; see $DIR/broker.log"
  return 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$DIR/pid"
    return 0
  fi
  # SIGTERM: a controlled shutdown (logs flushed, clean restart).
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
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
