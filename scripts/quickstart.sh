#!/usr/bin/env bash
# Installs what is needed, builds, and runs the example project
# (examples/orders: JS steps, RocksDB state under examples/orders/.motia-actors).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec build/motia-actors run examples/orders "$@"
