#!/usr/bin/env bash
# Configures and builds motia-actors into build/ (or $MOTIA_BUILD_DIR).
# MOTIA_SANITIZE=1 builds with ASan+UBSan into build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${MOTIA_BUILD_DIR:-build}
args=(-G Ninja -DCMAKE_BUILD_TYPE=Release)
if [ "${MOTIA_SANITIZE:-0}" = 1 ]; then
  dir=${MOTIA_BUILD_DIR:-build-asan}
  args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DMOTIA_SANITIZE=ON)
fi
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths are rewritten relative to the tree, so worktrees and clones share one cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
# Not include_file_mtime/ctime: a header edited during a compile would be cached
# under its new hash with an object built from the old one.
export CCACHE_SLOPPINESS=pch_defines,time_macros
[ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" "${args[@]}" >/dev/null
# Each CAF or Beast translation unit takes 1-2 GB to compile: two jobs fit here.
cmake --build "$dir" -j "${MOTIA_JOBS:-2}"
