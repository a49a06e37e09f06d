#!/usr/bin/env bash
# At-least-once delivery under kill -9 (issue #3): N events through a JS flow
# api -> A -> B while the runtime, then its Node worker, is killed at random
# points of the load. Every acknowledged id must complete at least once;
# duplicates are allowed, counted and reported. The load and the checks are in
# durability_driver.py; this script starts, kills and restarts processes.
# Set DURABILITY_SEED to replay the same kill points.
source "$(dirname "$0")/lib.sh"

DRIVER="$(dirname "$0")/durability_driver.py"
N1=${DURABILITY_N1:-10000}  # phase 1: runtime killed
N2=${DURABILITY_N2:-3000}   # phase 2: Node worker killed
KILLS=${DURABILITY_KILLS:-3}  # at most 9: supervision allows 10 worker restarts a minute
SEED=${DURABILITY_SEED:-$$}
RANDOM=$SEED
DRIVER_PID=""
stop_driver() {
  if [ -n "$DRIVER_PID" ]; then kill "$DRIVER_PID" 2>/dev/null || true; fi
}
trap 'stop_driver; cleanup' EXIT
started_at=$SECONDS
# Every wait is capped by what is left of 280 s, so a failure is reported
# before ctest's 300 s timeout kills the test silently.
budget() { local left=$((280 - (SECONDS - started_at))); echo $((left < $1 ? (left > 1 ? left : 1) : $1)); }
echo "# seed $SEED (DURABILITY_SEED=$SEED replays the kill points)"

# The project: POST /ev {id} -> topic a -> step A -> topic b -> step B, which
# appends the id to $DONE_FILE (one O_APPEND write per completion).
mkdir -p "$WORK/project/steps"
cat >"$WORK/project/steps/ingest.step.js" <<'EOF'
exports.config = { type: 'api', name: 'ingest', path: '/ev', method: 'POST', emits: ['a'], flows: ['durability'] }
exports.handler = async (req, ctx) => {
  const { id } = req.body ?? {}
  await ctx.emit({ topic: 'a', data: { id } })
  return { status: 200, body: { id } }
}
EOF
cat >"$WORK/project/steps/a.step.js" <<'EOF'
exports.config = {
  type: 'event', name: 'step-a', subscribes: ['a'], emits: ['b'], flows: ['durability'],
  infrastructure: { queue: { maxRetries: 10, backoffType: 'fixed', backoffDelayMs: 50 } },
}
exports.handler = async (data, ctx) => { await ctx.emit({ topic: 'b', data: { id: data.id } }) }
EOF
cat >"$WORK/project/steps/b.step.js" <<'EOF'
const fs = require('fs')
exports.config = {
  type: 'event', name: 'step-b', subscribes: ['b'], emits: [], flows: ['durability'],
  infrastructure: { queue: { maxRetries: 10, backoffType: 'fixed', backoffDelayMs: 50 } },
}
exports.handler = async (data) => { fs.appendFileSync(process.env.DONE_FILE, data.id + '\n') }
EOF
export DONE_FILE="$WORK/done.txt"
: >"$DONE_FILE"

# Node workers of this project still alive (their cwd is the project).
project_workers() {
  local pid
  for pid in $(pgrep -f "bindings/node/bin/worker.js" || true); do
    [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$WORK/project" ] && echo "$pid"
  done
  return 0
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# restart_server: starts the runtime again on $PORT with the same project and
# data dir, appending to server.log; retries while the port cannot be bound.
restart_server() {
  local attempt lines
  for attempt in $(seq 1 20); do
    # The binary may be relinked by a concurrent build: wait for it.
    for _ in $(seq 1 600); do [ -x "$MOTIA_BIN" ] && break; sleep 0.1; done
    lines=$(wc -l <"$WORK/server.log")
    "$MOTIA_BIN" run "$WORK/project" --port "$PORT" >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
      if awk -v n="$lines" -v s="listening on http://127.0.0.1:$PORT" 'NR > n && index($0, s) { f = 1 } END { exit !f }' "$WORK/server.log"; then
        [ "$(req GET /_motia/health)" = '200 {"status":"ok"}' ] && return 0
      fi
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      fail "restarted runtime did not answer on port $PORT within 15 s"
    fi
    wait "$SERVER_PID" || true
    echo "# restart attempt $attempt exited during start-up (port $PORT busy?), retrying"
    sleep 0.2
  done
  fail "could not restart the runtime on port $PORT"
}

# kill_runtime: kill -9 the runtime, wait until its orphaned worker has gone
# (it reads EOF on its socket and exits) and the port is free, restart.
kill_runtime() {
  kill -9 "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 200); do
    [ -z "$(project_workers)" ] && ! port_in_use && break
    sleep 0.05
  done
  [ -z "$(project_workers)" ] || fail "worker(s) $(project_workers | xargs) survived kill -9 of the runtime by 10 s"
  restart_server
}

# kill_worker: kill -9 the runtime's Node worker and wait for its successor.
kill_worker() {
  local old new
  old=$(pgrep -f -P "$SERVER_PID" "bindings/node/bin/worker.js" | head -n 1 || true)
  [ -n "$old" ] || fail "no node worker child of $SERVER_PID"
  kill -9 "$old"
  for _ in $(seq 1 400); do
    new=$(pgrep -f -P "$SERVER_PID" "bindings/node/bin/worker.js" | head -n 1 || true)
    [ -n "$new" ] && [ "$new" != "$old" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the runtime exited after its worker was killed"
    sleep 0.05
  done
  fail "the worker was not replaced within 20 s of kill -9"
}

# chaos_phase NAME FIRST COUNT KILL_FN: runs the driver over ids
# [FIRST, FIRST+COUNT) and calls KILL_FN at $KILLS random points of the load
# (kill k when a random share of the ids in the k-th of $KILLS windows between
# 10 % and 90 % is acknowledged), then checks that every id completed.
chaos_phase() {
  local name=$1 first=$2 count=$3 kill_fn=$4 k target acked progress="$WORK/progress.$2" t0=$SECONDS
  local span=$((80 / KILLS))
  python3 "$DRIVER" load --port "$PORT" --first "$first" --count "$count" --progress "$progress" \
    --deadline "$(budget 120)" &
  DRIVER_PID=$!
  for k in $(seq 1 "$KILLS"); do
    target=$((count * (10 + span * (k - 1) + RANDOM % (span * 2 / 3 + 1)) / 100))
    for _ in $(seq 1 6000); do
      acked=0
      [ -f "$progress" ] && read -r acked <"$progress"
      [ "${acked:-0}" -ge "$target" ] && break
      kill -0 "$DRIVER_PID" 2>/dev/null || break
      sleep 0.01
    done
    kill -0 "$DRIVER_PID" 2>/dev/null || fail "$name: the load ended before kill $k"
    [ "${acked:-0}" -ge "$target" ] || fail "$name: no progress to $target acknowledged ids in 60 s (at ${acked:-0})"
    "$kill_fn"
    echo "ok - $name: kill $k at $acked/$count acknowledged, serving again"
  done
  wait "$DRIVER_PID" || { DRIVER_PID=""; fail "$name: the load did not finish"; }
  DRIVER_PID=""
  echo "ok - $name: all $count ids acknowledged ($((SECONDS - t0)) s)"
  python3 "$DRIVER" check --port "$PORT" --first "$first" --count "$count" --done-file "$DONE_FILE" \
    --timeout "$(budget 120)" ||
    fail "$name: not every acknowledged id completed (driver output above)"
  echo "ok - $name: every acknowledged id completed at least once ($((SECONDS - t0)) s)"
}

start_server "$WORK/project"
chaos_phase "runtime kill -9" 0 "$N1" kill_runtime
chaos_phase "worker kill -9" "$N1" "$N2" kill_worker

metrics=$(req GET /_motia/metrics)
expect "metrics answer 200 JSON" "$metrics" '^200 \{.*"emits":[0-9]+.*"restarts":[0-9]+.*"steps":\{'
echo "# metrics: ${metrics#200 }"
python3 - "${metrics#200 }" "$KILLS" <<'EOF' || fail "metrics do not match the phase just run"
import json, sys
m, kills = json.loads(sys.argv[1]), int(sys.argv[2])
assert m["restarts"] >= kills, "restarts %d < %d worker kills" % (m["restarts"], kills)
assert m["queue"] == {"pending": 0, "deadLetters": 0, "depth": {}}, m["queue"]
assert m["steps"]["step-b"]["deadLettered"] == 0
EOF
echo "ok - metrics count the worker restarts and an empty queue"
dlq=$(req GET /_motia/dlq)
python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1]) != {"items": [], "count": 0})' "${dlq#200 }" &&
  [[ $dlq == 200\ * ]] || fail "dead-letter list is not empty: $dlq"
echo "ok - the dead-letter list is empty"

stop_server
echo "ok - SIGTERM drains and stops cleanly"
[ -z "$(project_workers)" ] || fail "worker(s) $(project_workers | xargs) left behind"
echo "ok - no worker left behind"
echo "ok - durability system test passed ($((SECONDS - started_at)) s)"
