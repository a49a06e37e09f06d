#!/usr/bin/env bash
# Dead letters through the CLI: a JS event step that fails its last attempt
# lands in the dead-letter store; `motia-actors dlq` lists and shows it while
# the runtime runs (admin API) and after it stopped (the data dir directly);
# an offline redrive runs it on the next start; purge empties the store.
source "$(dirname "$0")/lib.sh"

P="$WORK/project"
mkdir -p "$P/steps"
cat >"$P/steps/kick.step.js" <<'JS'
exports.config = { type: 'api', name: 'kick', path: '/kick', method: 'POST', emits: ['job'] }
exports.handler = async (req, ctx) => { await ctx.emit({ topic: 'job', data: req.body }); return { status: 202, body: {} } }
JS
cat >"$P/steps/job.step.js" <<'JS'
const fs = require('fs')
exports.config = { type: 'event', name: 'job', subscribes: ['job'], emits: [],
  infrastructure: { queue: { maxRetries: 1, backoffType: 'fixed', backoffDelayMs: 20 } } }
exports.handler = async (data, ctx) => {
  if (fs.existsSync(__dirname + '/../broken')) throw new Error('downstream is down for ' + data.id)
  await ctx.state.set('jobs', data.id, { attempt: ctx.attempt })
}
JS
touch "$P/broken"
dlq() { "$MOTIA_BIN" dlq "$@"; }

start_server "$P"
expect "kick answers 202" "$(req POST /kick '{"id":"j-1"}')" '^202 '
eventually "the job is dead-lettered after 2 attempts" "req GET /_motia/dlq" '"count":1'
out=$(dlq list "$P" --port "$PORT")
[[ $out =~ job.*job.*2.*downstream\ is\ down\ for\ j-1 ]] || fail "dlq list (online): $out"
echo "ok - dlq list through the running runtime"
id=$(dlq list "$P" --port "$PORT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
dlq show "$P" --port "$PORT" --id "$id" | grep -q '"messageId"' || fail "dlq show (online)"
echo "ok - dlq show through the running runtime"
stop_server

out=$(dlq list "$P")
[[ $out =~ "1 dead letter" ]] || fail "dlq list (offline): $out"
echo "ok - dlq list on the data dir after the runtime stopped"
dlq show "$P" --id 999999 >/dev/null 2>&1 && fail "show of an unknown id succeeded"
code=0; dlq redrive "$P" >/dev/null 2>&1 || code=$?
[ "$code" -eq 2 ] || fail "redrive without --id/--step/--all should exit 2, got $code"
echo "ok - bad dlq invocations are refused"
rm "$P/broken"
expect "offline redrive" "$(dlq redrive "$P" --id "$id")" 'redriven 1 dead letter'
start_server "$P"
eventually "the redriven job runs after the next start" "req GET /_motia/dlq" '"count":0'
touch "$P/broken"
expect "kick again" "$(req POST /kick '{"id":"j-2"}')" '^202 '
eventually "the second job is dead-lettered" "req GET /_motia/dlq" '"count":1'
expect "purge through the running runtime" "$(dlq purge "$P" --port "$PORT" --all)" 'purged 1 dead letter'
expect "the store is empty" "$(req GET /_motia/dlq)" '"count":0'
stop_server
echo "ok - dlq system test passed"
