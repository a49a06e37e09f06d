#!/usr/bin/env bash
# The command line: help, version, the steps listing, bad arguments and a
# project with invalid step configs (refused with file and reason).
source "$(dirname "$0")/lib.sh"

out=$("$MOTIA_BIN" --help)
expect "--help shows usage" "$out" 'motia-actors run \[DIR\]'
expect "--version prints the version" "$("$MOTIA_BIN" --version)" '^motia-actors [0-9]+\.[0-9]+\.[0-9]+$'
code=0; "$MOTIA_BIN" run --port nope >/dev/null 2>&1 || code=$?
expect "a bad flag exits 2" "$code" '^2$'
code=0; err=$("$MOTIA_BIN" frobnicate 2>&1) || code=$?
expect "an unknown command exits 2 with a reason" "$code $err" "^2 .*unknown command 'frobnicate'"

table=$("$MOTIA_BIN" steps "$MOTIA_SOURCE_DIR/examples/orders")
expect "steps lists routes" "$table" 'POST /orders'
expect "steps lists subscriptions" "$table" 'on order.created'
json=$("$MOTIA_BIN" steps "$MOTIA_SOURCE_DIR/examples/orders" --json)
count=$(printf '%s' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), sorted(s["kind"] for s in d))')
expect "steps --json lists every step" "$count" "^7 \['api', 'api', 'api', 'cron', 'event', 'event', 'noop'\]$"

mkdir -p "$WORK/bad/steps"
cat >"$WORK/bad/steps/a.step.js" <<'JS'
exports.config = { type: 'cron', name: 'tick', cron: '* * * *' }
exports.handler = async () => {}
JS
cat >"$WORK/bad/steps/b.step.js" <<'JS'
exports.config = { type: 'api', name: 'tick', path: '/x', method: 'FETCH' }
exports.handler = async () => ({ status: 200 })
JS
code=0; err=$("$MOTIA_BIN" run "$WORK/bad" --port 0 2>&1) || code=$?
expect "an invalid project exits 1" "$code" '^1$'
expect "the bad cron is named with its file" "$err" "a.step.js: 'cron' \"\* \* \* \*\" is invalid"
expect "the bad method is named with its file" "$err" "b.step.js: 'method' FETCH is not one of"

echo '{"http": {"prot": 1}}' >"$WORK/bad/motia-actors.json"
code=0; err=$("$MOTIA_BIN" run "$WORK/bad" 2>&1) || code=$?
expect "a typo in the project config is refused" "$code $err" "^1 .*unknown setting 'prot'"
echo "ok - cli system test passed"
