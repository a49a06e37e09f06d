#!/usr/bin/env bash
# Streams with Python on every hook: the WebSocket authenticate hook and a
# stream's canAccess are Python functions, and a Python step writes the item.
# The client is a raw `ws` client (tests/system/streams/node_modules).
source "$(dirname "$0")/lib.sh"

node_modules="$(cd "$MOTIA_SOURCE_DIR" && pwd)/tests/system/streams/node_modules"
[ -d "$node_modules/ws" ] || fail "run scripts/setup.sh first: $node_modules/ws is missing"

cp -r "$MOTIA_SOURCE_DIR/tests/system/streams_python" "$WORK/project"
start_server "$WORK/project" --data-dir "$WORK/data"
grep -q "streams: board (python)" "$WORK/server.log" || fail "the summary does not list the Python stream"
grep -q "auth auth.py" "$WORK/server.log" || fail "the summary does not name the auth hook"
mkdir "$WORK/client"
cp "$MOTIA_SOURCE_DIR/tests/system/streams_python/client.mjs" "$WORK/client/"
ln -s "$node_modules" "$WORK/client/node_modules"
PORT=$PORT node "$WORK/client/client.mjs" || fail "the client failed"
stop_server
echo "ok - streams_python system test passed"
