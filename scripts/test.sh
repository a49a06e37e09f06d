#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, then runs every
# unit, integration and system test (C++ and Node) under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
dir=${MOTIA_BUILD_DIR:-build}
if [ "${MOTIA_SANITIZE:-0}" = 1 ]; then
  dir=${MOTIA_BUILD_DIR:-build-asan}
  # UBSan only prints by default; a finding must fail the test that caused it.
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
ctest --test-dir "$dir" --output-on-failure --timeout 600 "$@"
