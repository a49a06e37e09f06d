// The baseline of the streams fan-out benchmark (stream_fanout.cpp): a plain
// Node `ws` server that speaks just enough of Motia's stream protocol (join ->
// a sync, then every message to every joined socket) and broadcasts the same
// ~100-byte `update`s as motia-bench-streams' generator, at the rate that
// POST /start {rate, seconds, items} asks for (open loop, catching up when
// late; t0 = process.hrtime.bigint(), CLOCK_MONOTONIC ns, taken just before
// the broadcast; due = when the schedule wanted it). Each message is
// serialized once and sent to every socket.
//
//   node stream_baseline.mjs [--port 0]   prints "listening on http://127.0.0.1:PORT"
//
// `ws` comes from the streams system test's npm package (scripts/setup.sh) or
// the benchmark peers' Motia install (peers.sh).
import http from 'node:http'
import { createRequire } from 'node:module'

function loadWs() {
  const places = ['../system/streams/', '.peers/motia/']
  for (const place of places) {
    try {
      return createRequire(new URL(place + 'package.json', import.meta.url))('ws')
    } catch {
      // not installed there: try the next place
    }
  }
  console.error('stream_baseline.mjs: the ws package is missing; run scripts/setup.sh')
  process.exit(2)
}
const { WebSocketServer, WebSocket } = loadWs()

const portArg = process.argv.indexOf('--port')
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 0
const PAD = 'x'.repeat(80)
const room = new Set()
let running = false

function broadcast(k, items, due) {
  const id = `i${k % items}`
  const t0 = process.hrtime.bigint()
  const text = `{"event":{"data":{"due":${due},"id":"${id}","pad":"${PAD}","seq":${k},"t0":${t0}},"type":"${k < items ? 'create' : 'update'}"},"groupId":"g","id":"${id}","streamName":"ticks","timestamp":${Date.now()}}`
  for (const ws of room) if (ws.readyState === WebSocket.OPEN) ws.send(text)
}

function start(rate, seconds, items) {
  const sets = Math.round(rate * seconds)
  const begin = process.hrtime.bigint()
  let k = 0
  running = true
  const tick = () => {
    const upTo = Math.min(sets, Math.floor((Number(process.hrtime.bigint() - begin) / 1e9) * rate) + 1)
    for (; k < upTo; k++) broadcast(k, items, begin + BigInt(Math.round((k * 1e9) / rate)))
    if (k < sets) setTimeout(tick, 1)
    else running = false
  }
  tick()
  return sets
}

const server = http.createServer((req, res) => {
  let body = ''
  req.on('data', (d) => (body += d))
  req.on('end', () => {
    const answer = (status, value) => {
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' })
      res.end(JSON.stringify(value))
    }
    if (req.method !== 'POST' || req.url !== '/start') return answer(404, { error: 'not found' })
    if (running) return answer(409, { error: 'a generator is running' })
    let b
    try {
      b = JSON.parse(body || '{}')
    } catch {
      return answer(400, { error: 'bad JSON' })
    }
    const rate = Number(b.rate ?? 100), seconds = Number(b.seconds ?? 5), items = Number(b.items ?? 100)
    if (!(rate > 0 && seconds > 0 && items > 0)) return answer(400, { error: 'rate, seconds and items must be positive' })
    answer(200, { sets: start(rate, seconds, items) })
  })
})

const wss = new WebSocketServer({ server, maxPayload: 64 * 1024 })
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let m
    try {
      m = JSON.parse(data.toString())
    } catch {
      return
    }
    const d = m?.data ?? {}
    if (m?.type === 'join') {
      ws.send(JSON.stringify({ timestamp: Date.now(), streamName: d.streamName, groupId: d.groupId, event: { type: 'sync', data: [] } }))
      room.add(ws)
    } else if (m?.type === 'leave') {
      room.delete(ws)
    }
  })
  ws.on('close', () => room.delete(ws))
})

server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`))
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
