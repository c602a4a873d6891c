#!/usr/bin/env bash
# The README's first command: install, build, and run the server on an
# embedded RocksDB store in ./data (no Kafka needed). Extra arguments are
# passed to `otaledger serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
exec ./build/cli/otaledger serve --data ./data "$@"
