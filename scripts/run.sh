#!/usr/bin/env bash
# The README's first command: install, build, and run the server on an
# embedded RocksDB store in ./data (no Kafka needed). Extra arguments are
# passed to `otaledger serve`.
#
#   scripts/run.sh --demo [N]   the same, plus a demo: a catalog, N simulated
#                               devices (default 1000) on the network and a
#                               started upgrade task over them, with a live
#                               progress bar (`otaledger serve --simulate N`).
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--demo" ]; then
    n=1000
    if [ $# -gt 1 ] && [[ "$2" =~ ^[0-9]+$ ]]; then n=$2; shift; fi
    args+=(--simulate "$n")
  else
    args+=("$1")
  fi
  shift
done
bash scripts/deps.sh
bash scripts/build.sh
exec ./build/cli/otaledger serve --data ./data "${args[@]}"
