#!/usr/bin/env bash
# Streams end to end with Motia's real npm client (@motiadev/stream-client-node
# 0.17.6-beta.187, installed by scripts/setup.sh into tests/system/streams/):
# the fixture project (a TS stream with zod and canAccess, a Python stream, JS
# and Python steps writing to them, an authenticate hook) served by the built
# binary; streams/client.mjs checks sync/create/update/delete/events as the
# client sees them, access control, 401s, bad input and 300 concurrent
# subscribers; streams/restart.mjs checks that snapshots and timestamps survive
# a SIGTERM restart on the same data dir, and that the client reconnects; last,
# the auth hook from motia.config.ts (streamAuth) instead of motia-actors.json.
source "$(dirname "$0")/lib.sh"

here="$MOTIA_SOURCE_DIR/tests/system/streams"
command -v node >/dev/null || fail "node is not installed"
[ -d "$here/node_modules/@motiadev/stream-client-node" ] && [ -d "$here/node_modules/zod" ] ||
  fail "npm dependencies of tests/system/streams are missing: run scripts/setup.sh"

client=""
trap '[ -n "$client" ] && kill "$client" 2>/dev/null; cleanup' EXIT

P="$WORK/project"
cp -r "$here/project" "$P"
rm -rf "$P/.motia-actors"
# The TS stream imports zod: the project resolves it from the test's npm package.
ln -s "$here/node_modules" "$P/node_modules"

# req with the JSON body's keys sorted (the server's key order is not part of the contract).
sorted_req() {
  local out
  out=$(req "$@")
  echo "${out%% *} $(node -e 'const s = (v) => Array.isArray(v) ? v.map(s) : v && typeof v === "object" ?
    Object.fromEntries(Object.keys(v).sort().map((k) => [k, s(v[k])])) : v
    try { console.log(JSON.stringify(s(JSON.parse(process.argv[1])))) } catch { console.log(process.argv[1]) }' "${out#* }")"
}

start_server "$P"
grep -q '"level":"error"' "$WORK/server.log" && fail "errors logged at start-up"
expect "HTTP serves" "$(req GET /todo/empty)" '^200 \[\]$'

PORT=$PORT timeout 120 node "$here/client.mjs" || fail "client.mjs failed (see above)"
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died during the client checks"
expect "HTTP still serves after the WebSocket checks" "$(sorted_req GET /todo/g1/c)" '^200 \{"id":"c","title":"C"\}$'

# Restart on the same port and data dir while restart.mjs keeps its clients.
rm -f "$WORK/ready" "$WORK/go"
PORT=$PORT READY="$WORK/ready" GO="$WORK/go" timeout 120 node "$here/restart.mjs" &
client=$!
for _ in $(seq 1 300); do
  [ -f "$WORK/ready" ] && break
  kill -0 "$client" 2>/dev/null || { wait "$client" || true; fail "restart.mjs ended before the restart"; }
  sleep 0.1
done
[ -f "$WORK/ready" ] || fail "restart.mjs was not ready within 30 s"
old_port=$PORT
stop_server
echo "ok - SIGTERM with WebSocket clients connected stops cleanly"
start_server "$P" --port "$old_port"
[ "$PORT" = "$old_port" ] || fail "restarted on port $PORT, not $old_port"
touch "$WORK/go"
code=0
wait "$client" || code=$?
client=""
[ "$code" -eq 0 ] || fail "restart.mjs failed (exit $code, see above)"
expect "getGroup after the restart" "$(sorted_req GET /todo/rs)" '^200 \[\{"id":"a","title":"post-restart"\},\{"id":"b","title":"B"\}\]$'

stop_server

# The same hook from Motia's own project config instead of motia-actors.json.
rm "$P/motia-actors.json" "$P/stream_auth.js"
cat >"$P/motia.config.ts" <<'TS'
import { config } from 'motia'

export default config({
  streamAuth: {
    authenticate: async (req: { headers: Record<string, string | undefined>; url: string }) => {
      const token = new URL(req.url, 'http://localhost').searchParams.get('token') ||
        (req.headers['sec-websocket-protocol'] || '').split(',')[0].trim()
      if (token === 'bad') throw new Error('invalid token')
      return token === 'admin' ? { role: 'admin' } : { role: 'user' }
    },
  },
})
TS
start_server "$P"
grep -q 'auth motia.config.ts' "$WORK/server.log" || fail "the summary does not name motia.config.ts as the auth hook"
PORT=$PORT timeout 60 node "$here/client.mjs" auth || fail "client.mjs auth failed (see above)"
stop_server
echo "ok - streams system test passed"
