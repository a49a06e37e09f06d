#!/usr/bin/env bash
# Schemas of api steps: bodySchema is enforced (400 with the failing paths);
# responseSchema is checked in development mode (a warning per mismatch, the
# client still gets the response) and skipped in production mode.
source "$(dirname "$0")/lib.sh"

P="$WORK/project"
mkdir -p "$P/steps"
cat >"$P/steps/greet.step.ts" <<'TS'
import type { ApiRouteConfig, Handlers } from 'motia'
export const config: ApiRouteConfig = {
  type: 'api', name: 'greet', path: '/greet', method: 'POST', emits: [],
  bodySchema: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
  responseSchema: { 200: { type: 'object', required: ['greeting'], properties: { greeting: { type: 'string' } } } },
}
export const handler: Handlers['greet'] = async (req) =>
  req.body.name === 'bug' ? { status: 200, body: { greting: 'typo' } } : { status: 200, body: { greeting: `hi ${req.body.name}` } }
TS

start_server "$P"
expect "a body that fits is served" "$(req POST /greet '{"name":"ada"}')" '^200 \{"greeting":"hi ada"\}'
expect "a body that breaks bodySchema is a 400 with the path" "$(req POST /greet '{"name":5}')" '^400 .*"code":"invalid_body".*/name'
expect "a response that breaks responseSchema still reaches the client" "$(req POST /greet '{"name":"bug"}')" '^200 .*greting'
eventually "and is logged in development mode" "grep -c 'does not match the step.s responseSchema' $WORK/server.log" '^1$'
grep -q 'does not match.*greeting' "$WORK/server.log" || fail "the warning does not name the missing field"
stop_server

echo '{ "mode": "production" }' >"$P/motia-actors.json"
start_server "$P"
expect "production mode serves the same response" "$(req POST /greet '{"name":"bug"}')" '^200 .*greting'
sleep 0.2
grep -q 'responseSchema' "$WORK/server.log" && fail "production mode still checked responses"
echo "ok - production mode skips the responseSchema check"
stop_server
echo "ok - schemas system test passed"
