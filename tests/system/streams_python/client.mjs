// Python authenticate hook and Python canAccess, driven by a raw `ws` client.
import WebSocket from 'ws'

const PORT = Number(process.env.PORT)
const url = (token) => `ws://127.0.0.1:${PORT}/live?token=${token}`
const fail = (m) => { console.error(`FAIL: ${m}`); process.exit(1) }
const ok = (m) => console.log(`ok - ${m}`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function refused(token) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url(token))
    ws.on('open', () => fail(`token ${token} was accepted`))
    ws.on('unexpected-response', (req, res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode, body }))
    })
    ws.on('error', () => {})
  })
}

function open(token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url(token))
    ws.messages = []
    ws.on('message', (m) => ws.messages.push(JSON.parse(m.toString())))
    ws.on('open', () => resolve(ws))
    ws.on('error', reject)
  })
}

async function until(ws, n, what) {
  for (let i = 0; i < 500 && ws.messages.length < n; i++) await sleep(10)
  if (ws.messages.length < n) fail(`${what}: got ${JSON.stringify(ws.messages)}`)
  return ws.messages[n - 1]
}

const pin = (user, id, body) =>
  fetch(`http://127.0.0.1:${PORT}/pin/${user}/${id}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  }).then((r) => r.json())

const bad = await refused('bad')
if (bad.status !== 401 || !JSON.parse(bad.body).error.message.includes("unknown token 'bad'"))
  fail(`refusal: ${JSON.stringify(bad)}`)
ok('the Python hook refuses a bad token with 401 and its message')

const ada = await open('ada')
ada.send(JSON.stringify({ type: 'join', data: { streamName: 'board', groupId: 'ada', subscriptionId: 'mine' } }))
const sync = await until(ada, 1, 'sync of the own group')
if (sync.event.type !== 'sync' || JSON.stringify(sync.event.data) !== '[]') fail(`sync: ${JSON.stringify(sync)}`)
ok('the Python canAccess admits the own group, with a sync')

ada.send(JSON.stringify({ type: 'join', data: { streamName: 'board', groupId: 'bob', subscriptionId: 'theirs' } }))
const denied = await until(ada, 2, 'denial of another group')
if (denied.event.event?.data?.code !== 'STREAM_ACCESS_DENIED' || denied.groupId !== 'bob')
  fail(`denial: ${JSON.stringify(denied)}`)
ok('the Python canAccess denies another user\'s group (STREAM_ACCESS_DENIED)')

const item = await pin('ada', 'p1', { text: 'hello' })
if (item.id !== 'p1' || item.text !== 'hello') fail(`set returned ${JSON.stringify(item)}`)
await pin('bob', 'p2', { text: 'not for ada' })
const created = await until(ada, 3, 'create from the Python step')
if (created.event.type !== 'create' || created.id !== 'p1' || created.event.data.text !== 'hello')
  fail(`create: ${JSON.stringify(created)}`)
await sleep(300)
if (ada.messages.length !== 3) fail(`ada saw another group's change: ${JSON.stringify(ada.messages)}`)
ok('a Python step\'s set reaches the subscriber; the denied group\'s does not')
ada.close()
