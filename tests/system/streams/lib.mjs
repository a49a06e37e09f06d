// Helpers of the streams system test's Node scripts: HTTP calls, a raw `ws`
// client that records every message, polling waits with readable failures,
// and the real Motia client with its raw messages recorded.
import WebSocket from 'ws'
import { Stream } from '@motiadev/stream-client-node'

export const PORT = Number(process.env.PORT)
if (!PORT) {
  console.error('set PORT to the server under test')
  process.exit(2)
}
export const HTTP = `http://127.0.0.1:${PORT}`
export const WS = `ws://127.0.0.1:${PORT}`

export class Failure extends Error {}

export function fail(message) {
  throw new Failure(message)
}

export function ok(message) {
  console.log(`ok - ${message}`)
}

export const show = (v) => JSON.stringify(v)
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Deep equality of plain JSON values, object key order ignored. */
export function same(a, b) {
  return show(canonical(a)) === show(canonical(b))
}
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical)
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]))
  }
  return v
}

export function expectSame(what, actual, expected) {
  if (!same(actual, expected)) fail(`${what}: got ${show(actual)}, expected ${show(expected)}`)
}

/**
 * Polls `cond` every 5 ms until it returns a truthy value (returned), or fails
 * after `timeoutMs` with `what` and what `detail()` shows then.
 */
export async function waitFor(what, cond, detail = () => '', timeoutMs = 5000) {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = cond()
    if (v) return v
    if (Date.now() > end) fail(`${what}: not within ${timeoutMs} ms; ${detail()}`)
    await sleep(5)
  }
}

/** One HTTP call to the server; resolves {status, body} (body parsed when JSON). */
export async function http(method, path, body) {
  const res = await fetch(HTTP + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let parsed = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed }
}

/** http() that must answer `status`; returns the body. */
export async function call(method, path, body, status = 200) {
  const res = await http(method, path, body)
  if (res.status !== status) fail(`${method} ${path} ${show(body)}: got ${res.status} ${show(res.body)}, expected ${status}`)
  return res.body
}

/**
 * A raw WebSocket client that keeps every message (parsed) in `msgs`.
 * `opened` resolves on open and rejects with {status, body} when the upgrade
 * is refused with an HTTP response.
 */
export function rawClient(path = '/', { protocols, maxPayload } = {}) {
  const ws = new WebSocket(WS + path, protocols, maxPayload ? { maxPayload } : {})
  const c = { ws, msgs: [], closed: null, bad: [] }
  c.opened = new Promise((resolve, reject) => {
    ws.on('open', resolve)
    ws.on('unexpected-response', (req, res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => {
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body }))
        req.destroy()
      })
    })
    ws.on('error', reject)
  })
  c.opened.catch(() => {})
  ws.on('message', (data, isBinary) => {
    if (isBinary) return c.bad.push('a binary message')
    try {
      c.msgs.push(JSON.parse(data.toString()))
    } catch {
      c.bad.push(`not JSON: ${data.toString().slice(0, 200)}`)
    }
  })
  ws.on('close', (code, reason) => (c.closed = { code, reason: reason.toString() }))
  c.send = (v) => ws.send(typeof v === 'string' ? v : JSON.stringify(v))
  c.join = (streamName, groupId, id, subscriptionId = `sub-${Math.random().toString(36).slice(2)}`) => {
    const data = { streamName, groupId, subscriptionId }
    if (id !== undefined) data.id = id
    c.send({ type: 'join', data })
    return data
  }
  c.leave = (data) => c.send({ type: 'leave', data })
  // The first message from index `from` on that satisfies `pred`.
  c.find = (pred, from = 0) => c.msgs.slice(from).find(pred)
  c.waitMsg = (what, pred, from = 0, timeoutMs = 5000) =>
    waitFor(what, () => c.find(pred, from), () => `messages: ${show(c.msgs.slice(from)).slice(0, 1500)}${c.closed ? `; closed ${show(c.closed)}` : ''}`, timeoutMs)
  c.close = () => ws.close()
  return c
}

/** Matchers for server messages. */
export const is = {
  sync: (stream, group, id) => (m) => m.event?.type === 'sync' && m.streamName === stream && m.groupId === group && (m.id ?? undefined) === id,
  change: (type, stream, group, id) => (m) => m.event?.type === type && m.streamName === stream && m.groupId === group && m.id === id,
  error: (code) => (m) => m.event?.type === 'event' && m.event.event?.type === 'error' && m.event.event.data?.code === code,
}

/**
 * Motia's real client (`new Stream(url, {protocols})`) with every raw message
 * it routes recorded in `stream.raw` (the library itself is unchanged: its
 * socket callback looks the method up on the instance at each message).
 */
export function motiaStream(url, protocols) {
  const stream = new Stream(url, protocols ? { protocols } : undefined)
  // The node adapter adds no 'error' listener to its ws socket, so a
  // reconnect that finds the server down throws from an EventEmitter and the
  // client never retries. A no-op listener lets its own retry (2 s after each
  // close) run, as it does in a browser.
  const quiet = (adapter) => adapter.ws.on('error', () => {})
  quiet(stream.ws)
  const create = stream.createSocket.bind(stream)
  stream.createSocket = () => {
    const adapter = create()
    quiet(adapter)
    return adapter
  }
  stream.raw = []
  const route = stream.messageListener.bind(stream)
  stream.messageListener = (text) => {
    stream.raw.push(JSON.parse(text))
    route(text)
  }
  return stream
}

/** Records every state a subscription reports and every custom event by type. */
export function watch(subscription, eventTypes = []) {
  const w = { states: [], events: {} }
  subscription.addChangeListener((state) => w.states.push(structuredClone(state)))
  for (const type of eventTypes) {
    w.events[type] = []
    subscription.onEvent(type, (data) => w.events[type].push(structuredClone(data)))
  }
  return w
}

/** Timestamps must rise strictly per item (stream, group, id) in `msgs`. */
export function checkItemTimestamps(what, msgs) {
  const last = new Map()
  for (const m of msgs) {
    if (typeof m.timestamp !== 'number' || !Number.isFinite(m.timestamp)) fail(`${what}: message without a numeric timestamp: ${show(m)}`)
    if (!m.id) continue
    const key = `${m.streamName}\0${m.groupId}\0${m.id}`
    if (last.has(key) && m.timestamp <= last.get(key)) {
      fail(`${what}: timestamp ${m.timestamp} of ${show(m).slice(0, 300)} is not above the item's previous ${last.get(key)}`)
    }
    last.set(key, m.timestamp)
  }
}

/** Runs `main`, prints the failure and exits 1 on any error. */
export function run(main) {
  process.on('uncaughtException', (e) => {
    console.error(`FAIL: uncaught ${e?.stack || e}`)
    process.exit(1)
  })
  const watchdog = setTimeout(() => {
    console.error('FAIL: the script did not finish within its time limit')
    process.exit(1)
  }, Number(process.env.STREAMS_TEST_TIMEOUT_MS || 90000))
  watchdog.unref()
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(`FAIL: ${e instanceof Failure ? e.message : e?.stack || e}`)
      process.exit(1)
    },
  )
}
