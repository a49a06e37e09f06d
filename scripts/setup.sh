#!/usr/bin/env bash
# Installs everything motia-actors needs to build, test and run on Debian 12:
# system packages (apt) and the Node worker's npm dependencies. Idempotent and
# quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake ninja-build ccache pkg-config curl python3
  libcaf-dev libboost-dev libboost-test-dev libmsgpack-cxx-dev libfmt-dev nlohmann-json3-dev libvalijson-dev
  librocksdb-dev libgflags-dev libsnappy-dev zlib1g-dev libbz2-dev liblz4-dev libzstd-dev
  wrk
)
# Keep a Node.js that is already installed (it may not come from Debian).
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies, reinstalled only when a lock file changes: the Node worker's,
# and the streams system test's (Motia's stream client, ws, zod; also the ws of
# the stream benchmark's baseline server).
for node_dir in bindings/node tests/system/streams; do
  stamp="$node_dir/node_modules/.motia-lock-stamp"
  if [ ! -f "$stamp" ] || ! cmp -s "$node_dir/package-lock.json" "$stamp"; then
    echo "setup: installing npm dependencies of $node_dir"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$node_dir/package-lock.json" "$stamp"
  fi
done

# The Python worker (bindings/python) needs msgpack in the python3 on PATH,
# which is the interpreter the runtime starts for Python steps.
if ! python3 -c 'import msgpack' 2>/dev/null; then
  echo "setup: installing msgpack for $(command -v python3)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'msgpack>=1.0' 2>/dev/null \
    || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-msgpack >/dev/null
fi
