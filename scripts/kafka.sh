#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, one node that is broker and controller)
# on loopback, for the tests and benchmarks that need one.
#
#   scripts/kafka.sh install   download the broker jars from Maven Central once
#                              (mvn dependency:copy-dependencies on a generated pom)
#   scripts/kafka.sh start     write server.properties, format the storage on the
#                              first start, start the broker in the background,
#                              wait until it answers metadata requests, write a pid file
#   scripts/kafka.sh stop      stop it (SIGTERM, then SIGKILL after a deadline)
#   scripts/kafka.sh status    exit 0 when it runs and answers
#   scripts/kafka.sh brokers   print the bootstrap address (127.0.0.1:PORT)
#   scripts/kafka.sh clean     stop it and delete its data (the next start formats anew)
#
# Every subcommand is idempotent: install does nothing when the jars are cached,
# start does nothing when the broker already runs, stop does nothing when it does not.
# Data survives stop/start (tests stop the broker mid-run and expect it back).
#
# Environment (all optional):
#   OTALEDGER_CACHE                  cache root. Default: $PWD/.cache
#   OTALEDGER_KAFKA_VERSION          Apache Kafka version. Default: 3.9.2
#   OTALEDGER_KAFKA_PORT             client port, or "auto" for a free one. Default: 19092
#   OTALEDGER_KAFKA_CONTROLLER_PORT  KRaft controller port, or "auto". Default: 19093
#   OTALEDGER_KAFKA_DIR              run directory (config, data, logs, pid).
#                                    Default: $OTALEDGER_CACHE/kafka/run
#   OTALEDGER_KAFKA_PARTITIONS       partitions of auto-created topics. Default: 4
#   OTALEDGER_KAFKA_HEAP             JVM heap. Default: 512m
#   OTALEDGER_KAFKA_START_TIMEOUT    seconds to wait for the broker to answer. Default: 120
set -euo pipefail

cache=${OTALEDGER_CACHE:-$PWD/.cache}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
version=${OTALEDGER_KAFKA_VERSION:-3.9.2}
scala=2.13
home=$cache/kafka/$version
libs=$home/libs
run=${OTALEDGER_KAFKA_DIR:-$cache/kafka/run}
pidfile=$run/kafka.pid
heap=${OTALEDGER_KAFKA_HEAP:-512m}
start_timeout=${OTALEDGER_KAFKA_START_TIMEOUT:-120}
partitions=${OTALEDGER_KAFKA_PARTITIONS:-4}

log() { echo "kafka.sh: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed (scripts/deps.sh installs it)"
}

# A TCP port nobody listens on (bind to port 0 and read the port back).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}

port_in_use() {
  # bash's /dev/tcp: connecting succeeds only when something listens.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_install() {
  if [ -f "$home/.installed" ] && [ -d "$libs" ]; then
    log "Kafka $version is installed in $home"
    return 0
  fi
  need mvn
  need java
  log "downloading Kafka $version (broker jars and dependencies) from Maven Central into $home"
  rm -rf "$home.tmp"
  mkdir -p "$home.tmp"
  # The broker is kafka_<scala> with its runtime dependencies; reload4j is the
  # logging backend the Kafka distribution ships (slf4j binding + log4j 1.2 API).
  cat >"$home.tmp/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.otaledger</groupId>
  <artifactId>kafka-broker-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_${scala}</artifactId>
      <version>${version}</version>
      <exclusions>
        <exclusion><groupId>ch.qos.logback</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>log4j</groupId><artifactId>log4j</artifactId></exclusion>
        <exclusion><groupId>org.slf4j</groupId><artifactId>slf4j-log4j12</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId>
      <artifactId>reload4j</artifactId>
      <version>1.2.25</version>
    </dependency>
  </dependencies>
</project>
EOF
  # A private local repository keeps the download inside the cache (CI caches one folder).
  if ! mvn -B -q -f "$home.tmp/pom.xml" -Dmaven.repo.local="$cache/kafka/m2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$home.tmp/libs" >"$home.tmp/mvn.log" 2>&1; then
    tail -n 40 "$home.tmp/mvn.log" >&2
    die "mvn could not download Kafka $version (log: $home.tmp/mvn.log)"
  fi
  ls "$home.tmp/libs"/kafka_${scala}-"${version}".jar >/dev/null 2>&1 ||
    die "the download has no kafka_${scala}-${version}.jar"
  rm -rf "$home"
  mv "$home.tmp" "$home"
  date -u +%FT%TZ >"$home/.installed"
  log "Kafka $version installed: $(ls "$libs" | wc -l) jars in $libs"
}

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A recycled pid belongs to another program: check it is our broker.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka.Kafka' || return 1
  echo "$pid"
}

brokers() {
  [ -f "$run/brokers" ] && cat "$run/brokers" && return 0
  echo "127.0.0.1:${OTALEDGER_KAFKA_PORT:-19092}"
}

answers() {
  kcat -L -b "$1" -m 5 >/dev/null 2>&1
}

write_config() {
  local port=$1 cport=$2
  cat >"$run/server.properties" <<EOF
# Written by scripts/kafka.sh: one KRaft node, broker and controller, on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${cport}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${run}/data
num.partitions=${partitions}
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
log.retention.hours=168
log.segment.bytes=67108864
EOF
  cat >"$run/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${run}/logs/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
EOF
}

java_cmd() {
  java -Xms128m -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$run/log4j.properties" -Dkafka.logs.dir="$run/logs" \
    -cp "$libs/*" "$@"
}

cmd_start() {
  need java
  need kcat
  [ -f "$home/.installed" ] || cmd_install
  mkdir -p "$run/logs"
  local pid
  if pid=$(running_pid); then
    if answers "$(brokers)"; then
      log "Kafka already runs (pid $pid) on $(brokers)"
      echo "OTALEDGER_KAFKA_BROKERS=$(brokers)"
      return 0
    fi
    log "pid $pid does not answer; restarting it"
    cmd_stop
  fi
  rm -f "$pidfile"

  # Ports: a formatted data dir keeps the ports it was started with, so a
  # restart (stop/start mid-test) comes back on the same address.
  local port cport
  if [ -f "$run/ports" ]; then
    read -r port cport <"$run/ports"
  else
    port=${OTALEDGER_KAFKA_PORT:-19092}
    cport=${OTALEDGER_KAFKA_CONTROLLER_PORT:-19093}
    [ "$port" = auto ] && port=$(free_port)
    [ "$cport" = auto ] && cport=$(free_port)
  fi
  for p in "$port" "$cport"; do
    port_in_use "$p" && die "port $p on 127.0.0.1 is taken by another program (set OTALEDGER_KAFKA_PORT / OTALEDGER_KAFKA_CONTROLLER_PORT, or \"auto\")"
  done
  write_config "$port" "$cport"

  if [ ! -f "$run/data/meta.properties" ]; then
    rm -rf "$run/data"
    mkdir -p "$run/data"
    local cluster_id
    cluster_id=$(java_cmd kafka.tools.StorageTool random-uuid 2>>"$run/logs/format.log" | tail -n 1)
    [ -n "$cluster_id" ] || die "kafka.tools.StorageTool random-uuid failed (see $run/logs/format.log)"
    if ! java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$run/server.properties" \
      >>"$run/logs/format.log" 2>&1; then
      tail -n 20 "$run/logs/format.log" >&2
      die "formatting the storage failed"
    fi
    echo "$cluster_id" >"$run/cluster-id"
  fi
  echo "$port $cport" >"$run/ports"
  echo "127.0.0.1:$port" >"$run/brokers"

  log "starting Kafka $version on 127.0.0.1:$port (controller $cport, data $run/data)"
  # setsid: the broker outlives this shell and does not get the terminal's signals.
  setsid bash -c "exec java -Xms128m -Xmx$heap -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration=file:$run/log4j.properties -Dkafka.logs.dir=$run/logs \
    -cp '$libs/*' kafka.Kafka '$run/server.properties'" \
    </dev/null >"$run/logs/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" >"$pidfile"

  local deadline=$((SECONDS + start_timeout))
  until answers "127.0.0.1:$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pidfile"
      tail -n 30 "$run/logs/stdout.log" "$run/logs/server.log" >&2 2>/dev/null || true
      die "the broker exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$run/logs/server.log" >&2 2>/dev/null || true
      cmd_stop
      die "the broker did not answer on 127.0.0.1:$port within ${start_timeout}s"
    fi
    sleep 0.5
  done
  log "Kafka runs (pid $pid) on 127.0.0.1:$port"
  echo "OTALEDGER_KAFKA_BROKERS=127.0.0.1:$port"
}

cmd_stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pidfile"
    log "Kafka is not running"
    return 0
  fi
  log "stopping Kafka (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "pid $pid ignored SIGTERM for 30s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  # Reap: wait until the process is gone so the ports are free for a restart.
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$pidfile"
  log "Kafka stopped"
}

cmd_status() {
  local pid
  if pid=$(running_pid) && answers "$(brokers)"; then
    echo "running pid=$pid brokers=$(brokers)"
    return 0
  fi
  echo "stopped"
  return 1
}

cmd_clean() {
  cmd_stop
  rm -rf "$run"
  log "deleted $run"
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
brokers) brokers ;;
clean) cmd_clean ;;
-h | --help | help)
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  ;;
*)
  echo "usage: scripts/kafka.sh install|start|stop|status|brokers|clean (see --help)" >&2
  exit 2
  ;;
esac
