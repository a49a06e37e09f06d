#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, then runs every
# unit, integration and system test (C++ and Node) under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
dir=${MOTIA_BUILD_DIR:-build}
[ "${MOTIA_SANITIZE:-0}" = 1 ] && dir=${MOTIA_BUILD_DIR:-build-asan}
ctest --test-dir "$dir" --output-on-failure --timeout 600 "$@"
