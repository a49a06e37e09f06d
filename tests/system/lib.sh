# Helpers for system tests: start the built binary on a free port, wait for
# it, make requests with curl, and fail with a readable message.
set -euo pipefail

: "${MOTIA_BIN:?set MOTIA_BIN to the motia-actors binary}"
WORK=$(mktemp -d /tmp/motia-system.XXXXXX)
SERVER_PID=""
PORT=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  [ -f "$WORK/server.log" ] && { echo "--- server log (tail) ---" >&2; tail -n 40 "$WORK/server.log" >&2; }
  exit 1
}

# start_server DIR [ARGS...]: runs `motia-actors run DIR --port 0` and waits
# until it prints its address; sets SERVER_PID and PORT.
start_server() {
  local dir=$1
  shift
  : >"$WORK/server.log"
  "$MOTIA_BIN" run "$dir" --port 0 "$@" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    PORT=$(sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$WORK/server.log" | tail -n 1)
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited during start-up"
    sleep 0.05
  done
  fail "server did not start within 10 s"
}

# stop_server: SIGTERM, then expect a clean exit (code 0) within 15 s.
stop_server() {
  kill -TERM "$SERVER_PID"
  local code=0
  for _ in $(seq 1 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$SERVER_PID" 2>/dev/null && fail "server did not stop within 15 s of SIGTERM"
  wait "$SERVER_PID" || code=$?
  SERVER_PID=""
  [ "$code" -eq 0 ] || fail "server exited with code $code after SIGTERM"
  grep -q '"msg":"stopped cleanly"' "$WORK/server.log" || fail "no 'stopped cleanly' in the log"
}

# req METHOD PATH [BODY]: prints "STATUS BODY" (one line).
req() {
  local out
  out=$(curl -s -o "$WORK/body" -w '%{http_code}' -X "$1" -H 'content-type: application/json' \
    ${3:+--data-binary "$3"} "http://127.0.0.1:$PORT$2") || true
  echo "$out $(cat "$WORK/body" 2>/dev/null)"
}

# expect DESCRIPTION ACTUAL PATTERN: ACTUAL must match the extended regex.
expect() {
  [[ $2 =~ $3 ]] || fail "$1: got '$2', expected /$3/"
  echo "ok - $1"
}

# eventually DESCRIPTION CMD PATTERN: retries CMD for up to 10 s.
eventually() {
  local out
  for _ in $(seq 1 100); do
    out=$(eval "$2")
    [[ $out =~ $3 ]] && { echo "ok - $1"; return 0; }
    sleep 0.1
  done
  fail "$1: last got '$out', expected /$3/"
}
