#!/usr/bin/env bash
# The benchmark of issue 2: GET /hello served by a JS step on motia-actors, by a
# native C++ step, and by plain Node, measured side by side (see README.md).
#
# Usage: bash tests/bench/run.sh [--quick] [--no-build]
#   --quick     one round instead of three
#   --no-build  use the binaries already in the build dir
# Environment: MOTIA_BUILD_DIR (default <repo>/build), BENCH_ROUNDS,
#   BENCH_DURATION (seconds per wrk run, default 10), MOTIA_JOBS (default 2).
# Prints the report and writes it to tests/bench/results/latest.txt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${MOTIA_BUILD_DIR:-$root/build}
rounds=${BENCH_ROUNDS:-3}
duration=${BENCH_DURATION:-10}
do_build=1

for arg in "$@"; do
  case $arg in
    --quick) rounds=1 ;;
    --no-build) do_build=0 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

for tool in wrk node python3 cmake; do
  command -v "$tool" >/dev/null || { echo "run.sh: '$tool' is not installed" >&2; exit 2; }
done

# Build only the two programs measured; configure like scripts/build.sh if new.
if [ "$do_build" = 1 ]; then
  export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
  if ! grep -Eq '^[[:space:]]*add_subdirectory\([[:space:]]*"?bench"?[[:space:]]*\)' "$root/tests/CMakeLists.txt"; then
    echo "run.sh: tests/CMakeLists.txt needs add_subdirectory(bench)" \
      "(or pass --no-build with MOTIA_BUILD_DIR holding both binaries)" >&2
    exit 2
  fi
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  targets=$(cmake --build "$build" --target help)
  if ! grep -q 'motia-bench-native' <<<"$targets"; then
    echo "run.sh: $build has no motia-bench-native target;" \
      "is it configured with MOTIA_TESTS=OFF?" >&2
    exit 2
  fi
  # Compiler chatter goes to a log; it is shown only if the build fails.
  log="$build/bench-build.log"
  echo "building motia-actors and motia-bench-native in $build (log: $log) ..."
  if ! cmake --build "$build" -j "${MOTIA_JOBS:-2}" --target motia-actors motia-bench-native \
    >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "run.sh: the build failed (see $log)" >&2
    exit 1
  fi
fi

# The binaries sit at the top of the build dir and in tests/bench/, unless the
# tree is laid out differently: take the first executable of each name.
find_bin() {
  find "$build" -maxdepth 4 -type f -name "$1" -perm -u+x -print -quit
}
motia=$(find_bin motia-actors)
native=$(find_bin motia-bench-native)
if [ -z "$motia" ] || [ -z "$native" ]; then
  echo "run.sh: motia-actors or motia-bench-native not found under $build" >&2
  exit 2
fi

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
if grep -q '^MOTIA_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  build_type="$build_type+sanitizers (figures are not representative)"
fi

# bench.py owns every process it starts and stops them on exit, Ctrl-C or SIGTERM.
exec python3 "$here/bench.py" --rounds "$rounds" --duration "$duration" \
  --motia "$motia" --native "$native" --build-info "${build_type:-unknown}"
