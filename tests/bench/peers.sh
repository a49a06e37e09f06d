#!/usr/bin/env bash
# Installs the benchmark's peers from the package registries into
# tests/bench/.peers/ (gitignored). Idempotent: a part whose manifest has not
# changed since its last successful install is skipped, so a second run is
# quiet and takes a second. A part that cannot be installed is reported and
# left out; bench.py then skips what needs it and says why.
#
#   .peers/motia/     Motia 0.17 (npm), a project dir for `motia start`
#   .peers/fastify/   fastify + BullMQ (npm), resolved by peers/fastify-*.js
#   .peers/venv/      Python venv with matplotlib, for the plot
#   redis-server      Debian package, system-wide (apt-get when missing)
#
# Usage: bash tests/bench/peers.sh [--no-motia] [--no-fastify] [--no-plot]
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
peers=${BENCH_PEERS_DIR:-$here/.peers}
want_motia=1 want_fastify=1 want_plot=1
for arg in "$@"; do
  case $arg in
    --no-motia) want_motia=0 ;;
    --no-fastify) want_fastify=0 ;;
    --no-plot) want_plot=0 ;;
    *) echo "peers.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

# The pinned versions; changing one reinstalls that part.
MOTIA_VERSION=0.17.6-beta.187
FASTIFY_VERSION=5.12.8
BULLMQ_VERSION=5.81.5
MATPLOTLIB_VERSION=3.10.8

mkdir -p "$peers"
failed=()

note() { echo "peers: $*"; }

# Runs "$@" with its output in a log; shows the log's tail only on failure.
quietly() {
  local log=$1; shift
  if ! timeout 900 "$@" >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    return 1
  fi
}

# A part is installed when its stamp holds the manifest it was installed from.
stamp_ok() { [ -f "$1/.stamp" ] && cmp -s "$1/.stamp" "$1/.manifest"; }
stamp() { cp "$1/.manifest" "$1/.stamp"; }

install_redis() {
  command -v redis-server >/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then
    note "redis-server is missing and this is not root: install the Debian package redis-server"
    return 1
  fi
  note "installing redis-server (apt-get) ..."
  # policy-rc.d (where present) keeps apt from starting a system-wide instance;
  # the benchmark starts its own on a free loopback port either way.
  quietly "$peers/apt.log" apt-get install -y -q --no-install-recommends redis-server ||
    { quietly "$peers/apt.log" apt-get update -q &&
      quietly "$peers/apt.log" apt-get install -y -q --no-install-recommends redis-server; }
}

# npm project in $1 from the package.json text in $2 (and extra files after).
install_npm() {
  local dir=$1 manifest=$2
  mkdir -p "$dir"
  printf '%s\n' "$manifest" >"$dir/.manifest"
  stamp_ok "$dir" && return 0
  note "installing $(basename "$dir") peer (npm) ..."
  printf '%s\n' "$manifest" >"$dir/package.json"
  rm -rf "$dir/node_modules" "$dir/package-lock.json"
  # redis-memory-server (Motia's dependency) would download and build Redis
  # at install: point it at the Debian binary instead.
  REDISMS_SYSTEM_BINARY=$(command -v redis-server || echo /usr/bin/redis-server) \
    REDISMS_DISABLE_POSTINSTALL=1 MOTIA_ANALYTICS_DISABLED=true \
    quietly "$dir/npm-install.log" npm install --no-audit --no-fund --loglevel=error \
    --prefix "$dir" || return 1
  stamp "$dir"
}

install_motia() {
  local dir=$peers/motia v=$MOTIA_VERSION
  # Every @motiadev package pinned to the same beta: `latest` is 0.2.x and
  # caret ranges resolve to versions that do not exist.
  install_npm "$dir" "{
  \"name\": \"motia-bench-peer\",
  \"private\": true,
  \"type\": \"module\",
  \"dependencies\": {
    \"motia\": \"$v\", \"@motiadev/core\": \"$v\", \"@motiadev/workbench\": \"$v\",
    \"@motiadev/adapter-bullmq-events\": \"$v\", \"@motiadev/adapter-redis-state\": \"$v\",
    \"@motiadev/adapter-redis-cron\": \"$v\", \"@motiadev/adapter-redis-streams\": \"$v\"
  },
  \"overrides\": {
    \"@motiadev/core\": \"$v\", \"@motiadev/workbench\": \"$v\",
    \"@motiadev/adapter-bullmq-events\": \"$v\", \"@motiadev/adapter-redis-state\": \"$v\",
    \"@motiadev/adapter-redis-cron\": \"$v\", \"@motiadev/adapter-redis-streams\": \"$v\",
    \"@motiadev/stream-client-node\": \"$v\"
  }
}" || return 1
  # Without a config `motia start` tries to install plugins that are not on the
  # registry; plugins only add workbench panels.
  printf '%s\n' "import { defineConfig } from 'motia'" "" \
    "export default defineConfig({ plugins: [] })" >"$dir/motia.config.ts"
  [ -x "$dir/node_modules/.bin/motia" ] || { note "motia installed without its CLI"; return 1; }
}

install_fastify() {
  install_npm "$peers/fastify" "{
  \"name\": \"fastify-bench-peer\",
  \"private\": true,
  \"dependencies\": { \"fastify\": \"$FASTIFY_VERSION\", \"bullmq\": \"$BULLMQ_VERSION\" }
}"
}

install_venv() {
  local dir=$peers/venv
  mkdir -p "$dir"
  printf 'matplotlib==%s\n' "$MATPLOTLIB_VERSION" >"$dir/.manifest"
  stamp_ok "$dir" && [ -x "$dir/bin/python" ] && return 0
  note "installing matplotlib $MATPLOTLIB_VERSION into a venv (pip) ..."
  rm -rf "$dir/bin" "$dir/lib" "$dir/include" "$dir/pyvenv.cfg"
  quietly "$dir/venv.log" python3 -m venv "$dir" || return 1
  quietly "$dir/pip.log" "$dir/bin/python" -m pip install -q -r "$dir/.manifest" || return 1
  stamp "$dir"
}

install_redis || failed+=("redis-server")
if [ "$want_motia" = 1 ]; then
  if command -v redis-server >/dev/null; then
    install_motia || failed+=("motia")
  else
    failed+=("motia (needs redis-server)")
  fi
fi
[ "$want_fastify" = 1 ] && { install_fastify || failed+=("fastify"); }
[ "$want_plot" = 1 ] && { install_venv || failed+=("matplotlib"); }

if [ ${#failed[@]} -gt 0 ]; then
  note "not installed: ${failed[*]} (the benchmark skips what needs them)"
fi
exit 0
