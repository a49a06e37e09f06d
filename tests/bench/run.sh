#!/usr/bin/env bash
# The benchmarks of issue 6: motia-actors against Motia 0.17, fastify (+ BullMQ
# and Redis for the flow), plain Node and plain Python, in one run, alternated,
# with medians and same-round ratios (see README.md).
#
# Usage: bash tests/bench/run.sh [options]
#   --quick            1 round of short cells (~5 min; smoke test, figures rough)
#   --only SCENARIO    get | flow | startup | streams (repeatable). streams is
#                      the fan-out of stream_fanout.cpp (1,000 subscribers on
#                      one group, ours against a plain Node ws broadcast); it
#                      runs only when named (about 4 min at 3 rounds)
#   --systems A,B      only these systems (--list shows them)
#   --baseline REV     also measure motia-actors built from git revision REV
#                      (an export of REV, Release, ccache, in
#                      $MOTIA_BENCH_BASELINES/<sha>, default ~/.cache/motia-bench):
#                      every system of ours gets a twin "@REV" alternated with
#                      it, and the issue-12 table prints before and after.
#                      Leaves Motia 0.17 out unless --systems names it
#   --soak             the flow at 70% of its maximum for 10 min per system
#                      (default system: ours-js-process, and its @REV twin
#                      with --baseline; outside the 15 min)
#   --soak-minutes M   the soak's length (implies --soak; e.g. 3 for a short one)
#   --rounds N         rounds (default 3)
#   --no-build         use the binaries already in the build dir
#   --no-peers         do not install peers (use what .peers/ holds)
#   --list             list the systems and exit
# Environment: MOTIA_BUILD_DIR (default <repo>/build), MOTIA_JOBS (default 2),
#   BENCH_ARGS (more bench.py options, e.g. "--get-seconds 8"),
#   STREAMS_ARGS (more motia-bench-streams options, e.g. "--rates 100,400 --subscribers 500").
# Prints the report; writes tests/bench/results/latest.{txt,json} and throughput.png
# (streams: results/streams.{txt,json}).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${MOTIA_BUILD_DIR:-$root/build}
do_build=1 do_peers=1 baseline="" listing=0
bench_args=()
streams_args=()
want_streams=0 want_bench=1 only_given=0

while [ $# -gt 0 ]; do
  case $1 in
    --quick) bench_args+=(--rounds 1 --get-seconds 2 --flow-seconds 2 --drain-timeout 30)
      streams_args+=(--rounds 1 --seconds 2 --rates 100,400) ;;
    --only | --systems | --rounds) [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      if [ "$1 $2" = "--only streams" ]; then
        want_streams=1
      else
        bench_args+=("$1" "$2")
        [ "$1" = --rounds ] && streams_args+=(--rounds "$2")
        [ "$1" = --only ] && only_given=2
      fi
      [ "$1" = --only ] && [ "$only_given" = 0 ] && only_given=1
      shift ;;
    --soak) bench_args+=("$1") ;;
    --list) bench_args+=("$1"); listing=1 ;;
    --soak-minutes) [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      bench_args+=(--soak --soak-minutes "$2"); shift ;;
    --baseline) [ $# -ge 2 ] || { echo "run.sh: $1 needs a git revision" >&2; exit 2; }
      baseline=$2; shift ;;
    --no-build) do_build=0 ;;
    --no-peers) do_peers=0 ;;
    -h | --help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
# `--only streams` alone runs no bench.py scenario.
[ "$only_given" = 1 ] && want_bench=0

tools=(node npm cmake)
[ "$want_bench" = 1 ] && tools+=(wrk python3)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || { echo "run.sh: '$tool' is not installed" >&2; exit 2; }
done

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime

# Build only the programs measured; configure like scripts/build.sh if new.
if [ "$do_build" = 1 ] && [ "$listing" = 0 ]; then
  # Paths relative to the tree, so the baseline's build (same layout) shares the cache.
  export CCACHE_BASEDIR=$root
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  if ! cmake --build "$build" --target help | grep -q 'motia-bench-native'; then
    echo "run.sh: $build has no motia-bench-native target;" \
      "is it configured with MOTIA_TESTS=OFF? (or pass --no-build)" >&2
    exit 2
  fi
  targets=()
  [ "$want_bench" = 1 ] && targets+=(motia-actors motia-bench-native motia-bench-malloc-count)
  [ "$want_streams" = 1 ] && targets+=(motia-bench-streams)
  # Compiler chatter goes to a log; it is shown only if the build fails.
  log="$build/bench-build.log"
  echo "building ${targets[*]} in $build (log: $log) ..."
  if ! cmake --build "$build" -j "${MOTIA_JOBS:-2}" --target "${targets[@]}" \
    >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "run.sh: the build failed (see $log)" >&2
    exit 1
  fi
fi

# Peers: Motia 0.17, fastify + BullMQ, redis-server, matplotlib (idempotent).
# The streams cell needs only the ws package (tests/system/streams, scripts/setup.sh).
if [ "$do_peers" = 1 ] && [ "$listing" = 0 ] && { [ "$want_bench" = 1 ] || [ ! -d "$root/tests/system/streams/node_modules/ws" ]; }; then
  bash "$here/peers.sh"
fi

# The binaries sit at the top of the build dir and in tests/bench/: take the
# first executable of each name. A missing one is skipped by bench.py.
find_bin() {
  find "$build" -maxdepth 4 -type f -name "$1" -perm -u+x -print -quit 2>/dev/null || true
}
motia=$(find_bin motia-actors)
native=$(find_bin motia-bench-native)
malloc_lib=$(find "$build" -maxdepth 4 -type f -name malloc_count.so -print -quit 2>/dev/null || true)
base_args=()
if [ -n "$baseline" ] && [ "$want_bench" = 1 ]; then
  # shellcheck source=baseline.sh
  source "$here/baseline.sh"
  baseline_build "$baseline" || exit $?
  base_args=(--baseline-rev "$base_rev" --baseline-motia-actors "$base_motia" --baseline-native "$base_native")
fi

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
if grep -q '^MOTIA_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  build_type="$build_type+sanitizers (figures are not representative)"
fi

# The streams cell: motia-bench-streams runs the ladder itself (its servers are
# its children, stopped after each cell) and prints its table.
run_streams() {
  local bin
  bin=$(find_bin motia-bench-streams)
  [ -n "$bin" ] || { echo "run.sh: no motia-bench-streams in $build (build it, or drop --no-build)" >&2; return 1; }
  mkdir -p "$here/results"
  echo "streams: $bin (build: ${build_type:-unknown})"
  # shellcheck disable=SC2086  # STREAMS_ARGS is a list of words on purpose
  "$bin" run --baseline "$here/stream_baseline.mjs" --out "$here/results/streams.json" \
    "${streams_args[@]}" ${STREAMS_ARGS:-} | tee "$here/results/streams.txt"
  return "${PIPESTATUS[0]}"
}

# bench.py owns every process it starts and stops them on exit, Ctrl-C or SIGTERM.
if [ "$want_streams" = 0 ]; then
  # shellcheck disable=SC2086  # BENCH_ARGS is a list of words on purpose
  exec python3 "$here/bench.py" --motia-actors "$motia" --native "$native" \
    --malloc-lib "$malloc_lib" "${base_args[@]}" \
    --peers "$here/.peers" --build-info "${build_type:-unknown}" "${bench_args[@]}" ${BENCH_ARGS:-}
fi
status=0
if [ "$want_bench" = 1 ]; then
  # shellcheck disable=SC2086
  python3 "$here/bench.py" --motia-actors "$motia" --native "$native" \
    --malloc-lib "$malloc_lib" "${base_args[@]}" \
    --peers "$here/.peers" --build-info "${build_type:-unknown}" "${bench_args[@]}" ${BENCH_ARGS:-} || status=$?
fi
run_streams || status=$?
exit "$status"
