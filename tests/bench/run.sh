#!/usr/bin/env bash
# The benchmarks of issue 6: motia-actors against Motia 0.17, fastify (+ BullMQ
# and Redis for the flow), plain Node and plain Python, in one run, alternated,
# with medians and same-round ratios (see README.md).
#
# Usage: bash tests/bench/run.sh [options]
#   --quick            1 round of short cells (~5 min; smoke test, figures rough)
#   --only SCENARIO    get | flow | startup (repeatable)
#   --systems A,B      only these systems (--list shows them)
#   --soak             the flow at 70% of its maximum for 10 min per system
#                      (default system: ours-js-process; outside the 15 min)
#   --rounds N         rounds (default 3)
#   --no-build         use the binaries already in the build dir
#   --no-peers         do not install peers (use what .peers/ holds)
#   --list             list the systems and exit
# Environment: MOTIA_BUILD_DIR (default <repo>/build), MOTIA_JOBS (default 2),
#   BENCH_ARGS (more bench.py options, e.g. "--get-seconds 8").
# Prints the report; writes tests/bench/results/latest.{txt,json} and throughput.png.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${MOTIA_BUILD_DIR:-$root/build}
do_build=1 do_peers=1
bench_args=()

while [ $# -gt 0 ]; do
  case $1 in
    --quick) bench_args+=(--rounds 1 --get-seconds 2 --flow-seconds 2 --drain-timeout 30) ;;
    --only | --systems | --rounds) [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      bench_args+=("$1" "$2"); shift ;;
    --soak | --list) bench_args+=("$1") ;;
    --no-build) do_build=0 ;;
    --no-peers) do_peers=0 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

for tool in wrk node npm python3 cmake; do
  command -v "$tool" >/dev/null || { echo "run.sh: '$tool' is not installed" >&2; exit 2; }
done

# Build only the two programs measured; configure like scripts/build.sh if new.
if [ "$do_build" = 1 ]; then
  export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  if ! cmake --build "$build" --target help | grep -q 'motia-bench-native'; then
    echo "run.sh: $build has no motia-bench-native target;" \
      "is it configured with MOTIA_TESTS=OFF? (or pass --no-build)" >&2
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

# Peers: Motia 0.17, fastify + BullMQ, redis-server, matplotlib (idempotent).
if [ "$do_peers" = 1 ]; then
  bash "$here/peers.sh"
fi

# The binaries sit at the top of the build dir and in tests/bench/: take the
# first executable of each name. A missing one is skipped by bench.py.
find_bin() {
  find "$build" -maxdepth 4 -type f -name "$1" -perm -u+x -print -quit 2>/dev/null || true
}
motia=$(find_bin motia-actors)
native=$(find_bin motia-bench-native)

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
if grep -q '^MOTIA_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  build_type="$build_type+sanitizers (figures are not representative)"
fi

# bench.py owns every process it starts and stops them on exit, Ctrl-C or SIGTERM.
# shellcheck disable=SC2086  # BENCH_ARGS is a list of words on purpose
exec python3 "$here/bench.py" --motia-actors "$motia" --native "$native" \
  --peers "$here/.peers" --build-info "${build_type:-unknown}" "${bench_args[@]}" ${BENCH_ARGS:-}
