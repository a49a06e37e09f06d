#!/usr/bin/env bash
# The example project through the built binary and real HTTP clients: routes,
# the API -> event -> state flow in a Node worker, errors, worker restarts,
# a clean shutdown, and state that survives a restart.
source "$(dirname "$0")/lib.sh"

cp -r "$MOTIA_SOURCE_DIR/examples/orders" "$WORK/project"
rm -rf "$WORK/project/.motia-actors"
start_server "$WORK/project"

expect "GET with path and query params" "$(req GET '/hello/ada?lang=fr')" '^200 .*"lang":"fr".*"message":"hello ada"'
expect "path params are percent-decoded exactly once" "$(req GET '/hello/a%2541%20b')" '"message":"hello a%41 b"'
expect "POST emits and answers 202" "$(req POST /orders '{"id":"o-1","item":"book"}')" '^202 .*"id":"o-1"'
eventually "both event steps handled the event" "req GET /orders/o-1" '^200 .*"notified":true.*"status":"recorded"'
expect "unknown route is a JSON 404" "$(req GET /nowhere)" '^404 \{"error":\{"code":"not_found"'
expect "wrong method is a 405" "$(req DELETE /orders)" '^405 .*method_not_allowed'
expect "malformed JSON is a 400 with a JSON error" "$(req POST /orders '{"id": ')" '^400 \{"error":\{"code":"bad_json"'
head -c 2000000 /dev/zero | tr '\0' 'a' >"$WORK/big.json"
expect "a body past the limit is a 413" "$(req POST /orders "@$WORK/big.json")" '^413 '
expect "handler-level validation still answers" "$(req POST /orders '{"id": 5}')" '^400 .*id and item must be strings'

# Kill the Node worker: the supervisor starts a new one and the API serves again.
worker=$(pgrep -f -P "$SERVER_PID" "bindings/node/bin/worker.js" | head -n 1)
[ -n "$worker" ] || fail "no node worker child found"
kill -9 "$worker"
eventually "a new worker serves after kill -9 of the old one" "req GET /hello/bob" '^200 .*hello bob'
new_worker=$(pgrep -f -P "$SERVER_PID" "bindings/node/bin/worker.js" | head -n 1)
[ -n "$new_worker" ] && [ "$new_worker" != "$worker" ] || fail "the worker was not replaced"
grep -q '"msg":"child exited, restarting"' "$WORK/server.log" || fail "the restart was not logged"
echo "ok - the worker restart was logged"

stop_server
echo "ok - SIGTERM drains and stops cleanly"
for pid in $(pgrep -f "bindings/node/bin/worker.js" || true); do
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$WORK/project" ] && fail "worker $pid left behind"
done
echo "ok - no worker left behind"

# State is in RocksDB under the project: a new process sees it.
start_server "$WORK/project"
expect "state survives a restart" "$(req GET /orders/o-1)" '^200 .*"status":"recorded"'
stop_server
echo "ok - orders system test passed"
