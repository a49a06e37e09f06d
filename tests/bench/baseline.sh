# Sourced by run.sh for `--baseline REV`: builds motia-actors as it was at REV,
# so the benchmark can measure it beside the current tree in the same run.
#
# REV is exported with `git archive` (nothing is registered in the repository,
# no worktree to prune) into $MOTIA_BENCH_BASELINES/<sha> (default
# ~/.cache/motia-bench/<sha>), and built there in build/ with the same layout as
# <repo>/build, so ccache (CCACHE_BASEDIR = the export) serves the translation
# units whose command and inputs match the current tree's (not motia_core's,
# which compile the runner paths in, nor those using motia_runtime's precompiled
# header, which embeds its path). A second run with the same REV only checks
# that the build is up to date. Only the programs are used: the step projects
# and every script come from the current tree.
#
# Needs from run.sh: $root, $do_build, $listing, MOTIA_JOBS; sets base_rev
# (REV's short hash), base_motia and base_native (paths of its binaries).

baseline_build() {
  local rev=$1 sha dir log
  if ! sha=$(git -C "$root" rev-parse --verify --quiet "$rev^{commit}"); then
    echo "run.sh: --baseline: '$rev' is not a commit of this repository" >&2
    return 2
  fi
  base_rev=$(git -C "$root" rev-parse --short "$sha")
  base_motia="" base_native=""
  [ "$listing" = 1 ] && return 0
  dir=${MOTIA_BENCH_BASELINES:-${XDG_CACHE_HOME:-$HOME/.cache}/motia-bench}/$sha
  if [ "$(cat "$dir/.motia-bench-rev" 2>/dev/null)" != "$sha" ]; then
    echo "baseline: exporting $base_rev to $dir ..."
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    git -C "$root" archive --format=tar "$sha" | tar -x -C "$dir" || return 1
    echo "$sha" >"$dir/.motia-bench-rev"
  fi
  # The Node worker's npm dependencies, as scripts/setup.sh installs them.
  local node_dir=$dir/bindings/node
  if [ -f "$node_dir/package-lock.json" ] &&
    ! cmp -s "$node_dir/package-lock.json" "$node_dir/node_modules/.motia-lock-stamp"; then
    echo "baseline: npm ci in $node_dir ..."
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || return 1
    cp "$node_dir/package-lock.json" "$node_dir/node_modules/.motia-lock-stamp"
  fi
  if [ "$do_build" = 1 ]; then
    log=$dir/build/bench-build.log
    mkdir -p "$dir/build"
    echo "baseline: building motia-actors motia-bench-native of $base_rev in $dir/build (log: $log) ..."
    # The same cache as the current tree's build, paths relative to the export.
    if ! (export CCACHE_BASEDIR=$dir
      { [ -f "$dir/build/build.ninja" ] ||
        cmake -S "$dir" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release; } &&
        cmake --build "$dir/build" -j "${MOTIA_JOBS:-2}" --target motia-actors &&
        { cmake --build "$dir/build" -j "${MOTIA_JOBS:-2}" --target motia-bench-native ||
          echo "baseline: $base_rev has no motia-bench-native: its native systems are skipped"; }
    ) >"$log" 2>&1; then
      tail -n 40 "$log" >&2
      echo "run.sh: the build of the baseline $base_rev failed (see $log)" >&2
      return 1
    fi
    grep '^baseline:' "$log" || true
  fi
  base_motia=$(find "$dir/build" -maxdepth 4 -type f -name motia-actors -perm -u+x -print -quit 2>/dev/null)
  base_native=$(find "$dir/build" -maxdepth 4 -type f -name motia-bench-native -perm -u+x -print -quit 2>/dev/null)
  if [ -z "$base_motia" ]; then
    echo "run.sh: no motia-actors built for the baseline in $dir/build (drop --no-build)" >&2
    return 1
  fi
  echo "baseline: $base_rev: $base_motia"
}
