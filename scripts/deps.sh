#!/usr/bin/env bash
# Installs what otaledger needs to build, run and test on Debian bookworm.
# Idempotent: when every package is present it does nothing (no apt-get update).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libcaf-dev librocksdb-dev librdkafka-dev libfmt-dev
  libboost-dev libboost-test-dev nlohmann-json3-dev
  libzstd-dev libssl-dev libdivsufsort-dev libjemalloc-dev libabsl-dev
  mosquitto mosquitto-clients libmosquitto-dev
  kcat maven default-jre-headless curl clang-format
  swupdate cpio
  bsdiff xdelta3 zstd time
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "otaledger: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
