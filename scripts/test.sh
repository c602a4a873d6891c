#!/usr/bin/env bash
# The README's second command (and what CI runs): install, build, start the
# real brokers the tests need (Kafka in KRaft mode, Mosquitto) on loopback,
# run every CTest test not labelled `slow`, and stop the brokers again.
# Extra arguments are passed to ctest (e.g. -L unit, -R storage).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/deps.sh
bash scripts/build.sh

export OTALEDGER_CACHE=${OTALEDGER_CACHE:-$root/.cache}
services=()
cleanup() {
  for s in "${services[@]}"; do bash "$root/scripts/$s.sh" stop || true; done
}
trap cleanup EXIT

for s in kafka mosquitto; do
  if [ -f "scripts/$s.sh" ]; then
    bash "scripts/$s.sh" install
    bash "scripts/$s.sh" start
    services+=("$s")
  fi
done
if [[ " ${services[*]} " == *" kafka "* ]]; then
  export OTALEDGER_KAFKA_BROKERS=${OTALEDGER_KAFKA_BROKERS:-127.0.0.1:19092}
  export OTALEDGER_REQUIRE_KAFKA=1
fi
if [[ " ${services[*]} " == *" mosquitto "* ]]; then
  export OTALEDGER_MQTT_URL=${OTALEDGER_MQTT_URL:-mqtt://127.0.0.1:11883}
  export OTALEDGER_REQUIRE_MQTT=1
fi

cd build
ctest --output-on-failure -LE slow -j2 "$@"
