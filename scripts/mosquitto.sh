#!/usr/bin/env bash
# Mosquitto (Debian's package) on loopback for the tests and the simulator:
#   scripts/mosquitto.sh install|start|stop|status
# Listens on 127.0.0.1:${OTALEDGER_MQTT_PORT:-11883}, anonymous access, no
# persistence; state under ${OTALEDGER_CACHE:-.cache}/mosquitto.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${OTALEDGER_MQTT_PORT:-11883}
dir=${OTALEDGER_CACHE:-$PWD/.cache}/mosquitto
pidfile=$dir/mosquitto.pid

case "${1:-}" in
  install)
    command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || bash scripts/deps.sh
    ;;
  start)
    mkdir -p "$dir"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then exit 0; fi
    cat >"$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 100000
max_inflight_messages 1000
CONF
    bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
    "$bin" -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
        echo "mosquitto listening on 127.0.0.1:$port"
        exit 0
      fi
      sleep 0.1
    done
    echo "mosquitto did not start; log:" >&2
    cat "$dir/mosquitto.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    fi
    ;;
  status)
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && echo running || echo stopped
    ;;
  *)
    echo "usage: $0 install|start|stop|status" >&2
    exit 2
    ;;
esac
