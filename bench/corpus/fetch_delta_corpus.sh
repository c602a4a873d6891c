#!/usr/bin/env bash
# Downloads the corpus of the `delta` benchmark: consecutive real releases of
# MCU firmware and Linux binaries, as (old, new) pairs, and writes
# manifest.tsv listing them. Nothing here is committed: the cache directory is
# git-ignored (.cache/ at the repository root).
#
#   bench/corpus/fetch_delta_corpus.sh [CACHE_DIR]
#       CACHE_DIR defaults to $OTALEDGER_DELTA_CORPUS, then <repo>/.cache/delta-corpus
#
# Sources (only package registries are reachable from our machines):
#   - MCU: the npm package @pybricks/firmware ships the Pybricks MicroPython
#     firmware for LEGO hubs (STM32 Cortex-M0/M4, nRF52-free; NXT: ARM7; EV3:
#     ARM9) as firmware-base.bin inside one zip per hub. Pairs: 7.27.0 -> 7.28.0
#     (consecutive releases) and 7.22.0 -> 7.27.0 (several releases apart).
#   - Linux: binaries from two consecutive Debian bookworm point/security
#     versions of a package (apt-get download; both versions must still be in
#     the configured suites, apt-cache madison shows them).
#
# manifest.tsv: one pair per line, tab-separated:
#   name  kind(mcu|linux)  old_path  new_path      (paths relative to CACHE_DIR)
# Re-running skips what is already there. Needs: npm, apt-get, dpkg-deb, python3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${1:-${OTALEDGER_DELTA_CORPUS:-$repo/.cache/delta-corpus}}"
mkdir -p "$cache"/npm "$cache"/deb "$cache"/pairs
cache="$(cd "$cache" && pwd)"
manifest="$cache/manifest.tsv.new"
: >"$manifest"

log() { echo "fetch_delta_corpus: $*" >&2; }

# ---- MCU firmware: @pybricks/firmware -------------------------------------
pybricks_version() { # VERSION -> extracts hub images into pairs/pybricks-VERSION/HUB.bin
  local v="$1" dir="$cache/pairs/pybricks-$1"
  [[ -f "$dir/.done" ]] && return 0
  mkdir -p "$dir"
  local tgz
  tgz="$(cd "$cache/npm" && npm pack --silent "@pybricks/firmware@$v" 2>/dev/null | tail -1)"
  [[ -n "$tgz" && -f "$cache/npm/$tgz" ]] || { log "npm pack @pybricks/firmware@$v failed"; return 1; }
  python3 - "$cache/npm/$tgz" "$dir" <<'PY'
import io, sys, tarfile, zipfile, pathlib
tgz, out = sys.argv[1], pathlib.Path(sys.argv[2])
with tarfile.open(tgz) as t:
    for m in t.getmembers():
        if m.name.startswith("package/build/") and m.name.endswith(".zip"):
            hub = pathlib.Path(m.name).stem
            with zipfile.ZipFile(io.BytesIO(t.extractfile(m).read())) as z:
                (out / f"{hub}.bin").write_bytes(z.read("firmware-base.bin"))
PY
  touch "$dir/.done"
}

pybricks_pair() { # OLD NEW
  local old="$1" new="$2"
  pybricks_version "$old" && pybricks_version "$new" || return 0
  for f in "$cache/pairs/pybricks-$new"/*.bin; do
    local hub
    hub="$(basename "$f" .bin)"
    [[ -f "$cache/pairs/pybricks-$old/$hub.bin" ]] || continue
    printf 'pybricks-%s-%s-%s\tmcu\tpairs/pybricks-%s/%s.bin\tpairs/pybricks-%s/%s.bin\n' \
      "$hub" "$old" "$new" "$old" "$hub" "$new" "$hub" >>"$manifest"
  done
}

# ---- Linux binaries: Debian package versions -------------------------------
deb_file() { # PACKAGE VERSION PATH_IN_PACKAGE -> prints the extracted path (relative)
  local pkg="$1" ver="$2" path="$3"
  local dir="deb/${pkg}_${ver//:/%3a}"
  if [[ ! -d "$cache/$dir" ]]; then
    (cd "$cache/deb" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) || {
      log "apt-get download $pkg=$ver failed (version no longer in the suites?)"
      return 1
    }
    local debfile
    debfile="$(ls -t "$cache"/deb/"${pkg}"_*.deb | head -1)"
    mkdir -p "$cache/$dir.tmp" && dpkg-deb -x "$debfile" "$cache/$dir.tmp" && mv "$cache/$dir.tmp" "$cache/$dir"
    rm -f "$debfile"
  fi
  [[ -f "$cache/$dir/$path" ]] || { log "$pkg $ver has no $path"; return 1; }
  echo "$dir/$path"
}

deb_pair() { # NAME PACKAGE OLD_VERSION NEW_VERSION PATH
  local name="$1" pkg="$2" old="$3" new="$4" path="$5" a b
  a="$(deb_file "$pkg" "$old" "$path")" || return 0
  b="$(deb_file "$pkg" "$new" "$path")" || return 0
  printf '%s\tlinux\t%s\t%s\n' "$name" "$a" "$b" >>"$manifest"
}

pybricks_pair 7.27.0 7.28.0
pybricks_pair 7.22.0 7.27.0

deb_pair sshd-9.2p1-deb12u9-u10 openssh-server '1:9.2p1-2+deb12u9' '1:9.2p1-2+deb12u10' usr/sbin/sshd
deb_pair libcrypto-3.0.20-3.0.22 libssl3 '3.0.20-1~deb12u2' '3.0.22-1~deb12u2' usr/lib/x86_64-linux-gnu/libcrypto.so.3
deb_pair libsystemd-shared-252.38-252.39 libsystemd-shared '252.38-1~deb12u1' '252.39-1~deb12u2' usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so
deb_pair git-2.39.5-deb12u2-u3 git '1:2.39.5-0+deb12u2' '1:2.39.5-0+deb12u3' usr/bin/git
deb_pair libc-2.36-deb12u7-u14 libc6 '2.36-9+deb12u7' '2.36-9+deb12u14' lib/x86_64-linux-gnu/libc.so.6

mv "$manifest" "$cache/manifest.tsv"
log "$(wc -l <"$cache/manifest.tsv") pairs listed in $cache/manifest.tsv"
