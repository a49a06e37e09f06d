// The streams system test's main part against a running server (PORT):
// Motia's real node client (@motiadev/stream-client-node) on an item and a
// group, changes driven over HTTP through JS and Python steps, custom events,
// access control and authentication, bad input on raw sockets, and many
// concurrent subscribers. Prints `ok - ...` per check; exits 1 on the first
// failure with what was expected and what came.
import {
  WS, call, checkItemTimestamps, expectSame, fail, http, is, motiaStream, ok, rawClient, run, same, show,
  sleep, waitFor, watch,
} from './lib.mjs'

const sortById = (items) => [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

async function realClient() {
  // Group g1 starts with one item, so the group's sync is not empty.
  expectSame('set of a new item answers the item with its id', await call('POST', '/todo/g1/b', { title: 'B' }), { id: 'b', title: 'B' })

  // Two sockets (one per subscription): a socket on both the item and its
  // group would see each item message twice (Motia does the same).
  const groupStream = motiaStream(WS, ['user-token'])
  const group = groupStream.subscribeGroup('todo', 'g1')
  const g = watch(group, ['ping'])
  const itemStream = motiaStream(`${WS}/ws?token=someone`)
  const item = itemStream.subscribeItem('todo', 'g1', 'a')
  const it = watch(item, ['ping'])

  const B = { id: 'b', title: 'B' }
  await waitFor('the group subscription gets its sync', () => g.states.length >= 1, () => show(groupStream.raw))
  expectSame('group state after the sync on join', g.states, [[B]])
  const gsync = groupStream.raw[0]
  if (gsync.event.type !== 'sync' || gsync.streamName !== 'todo' || gsync.groupId !== 'g1' || 'id' in gsync && gsync.id != null) {
    fail(`the group's first message should be its sync without an id: ${show(gsync)}`)
  }
  if (Math.abs(gsync.timestamp - Date.now()) > 60000) fail(`sync timestamp is not epoch ms: ${show(gsync)}`)
  ok('real client: group sync on join holds the existing item')

  await waitFor('the item subscription gets its sync', () => itemStream.raw.length >= 1, () => show(itemStream.raw))
  const isync = itemStream.raw[0]
  if (!is.sync('todo', 'g1', 'a')(isync) || isync.event.data !== null) {
    fail(`the item's first message should be a sync with data null (no such item yet): ${show(isync)}`)
  }
  ok('real client: item sync on join (data null for a missing item)')

  // create, update, update from Python
  const A1 = { id: 'a', title: 'A' }
  expectSame('set answers the stored item', await call('POST', '/todo/g1/a', { title: 'A' }), A1)
  await waitFor('create reaches the item', () => same(it.states.at(-1), A1), () => show({ states: it.states, raw: itemStream.raw }))
  await waitFor('create reaches the group', () => g.states.length >= 2, () => show({ states: g.states, raw: groupStream.raw }))
  expectSame('group state after create', sortById(g.states.at(-1)), [A1, B])
  expectSame('create message (item socket)', itemStream.raw.at(-1).event, { type: 'create', data: A1 })
  expectSame('create message (group socket)', groupStream.raw.at(-1).event, { type: 'create', data: A1 })
  if (groupStream.raw.at(-1).id !== 'a') fail(`an item change carries the item's id: ${show(groupStream.raw.at(-1))}`)
  ok('real client: create reaches item and group subscribers')

  const A2 = { id: 'a', title: 'A2', done: true }
  await call('POST', '/todo/g1/a', { title: 'A2', done: true })
  await waitFor('update reaches the item', () => same(it.states.at(-1), A2), () => show({ states: it.states, raw: itemStream.raw }))
  await waitFor('update reaches the group', () => g.states.length >= 3, () => show({ states: g.states, raw: groupStream.raw }))
  expectSame('group state after update', sortById(g.states.at(-1)), [A2, B])
  expectSame('update message', itemStream.raw.at(-1).event, { type: 'update', data: A2 })
  ok('real client: update (set of an existing id) replaces the item')

  const A3 = { id: 'a', title: 'A3', by: 'python' }
  const py = await call('POST', '/py/todo/g1/a', { title: 'A3' })
  expectSame('the Python step: set, get and get_group', py, { item: A3, get: A3, groupSize: 2 })
  await waitFor('a Python step\'s set reaches the item', () => same(it.states.at(-1), A3), () => show({ states: it.states, raw: itemStream.raw }))
  await waitFor('a Python step\'s set reaches the group', () => g.states.length >= 4, () => show(g.states))
  expectSame('group state after the Python update', sortById(g.states.at(-1)), [A3, B])
  ok('real client: a Python step writes to the TS-defined stream')

  // custom events: to the group, then to the item (reaches the group too)
  expectSame('send to the group', await call('POST', '/todo/g1/send', { type: 'ping', data: { n: 1 } }, 202), { sent: 'ping' })
  await waitFor('a group event reaches onEvent', () => g.events.ping.length >= 1, () => show(groupStream.raw.slice(-3)))
  expectSame('group events after a group send', g.events.ping, [{ n: 1 }])
  const gev = groupStream.raw.at(-1)
  if (gev.id != null || !same(gev.event, { type: 'event', event: { type: 'ping', data: { n: 1 } } })) fail(`group send message: ${show(gev)}`)
  await call('POST', '/todo/g1/send', { id: 'a', type: 'ping', data: { n: 2 } }, 202)
  await waitFor('an item event reaches the item\'s onEvent', () => it.events.ping.length >= 1, () => show(itemStream.raw.slice(-3)))
  expectSame('item events', it.events.ping, [{ n: 2 }])
  await waitFor('an item event reaches the group\'s onEvent too', () => g.events.ping.length >= 2, () => show(groupStream.raw.slice(-3)))
  expectSame('group events after an item send', g.events.ping, [{ n: 1 }, { n: 2 }])
  expectSame('events change no state', [it.states.length, g.states.length], [4, 4])
  ok('real client: custom events by onEvent, group send and item send')

  // An event right after a change of the same item: the item client drops a
  // message whose timestamp is not above the last one, so both must arrive.
  await call('POST', '/todo/g1/a', { title: 'A4' })
  await call('POST', '/todo/g1/send', { id: 'a', type: 'ping', data: { n: 3 } }, 202)
  await waitFor('an event right after an update is not dropped by the item client', () => it.events.ping.length >= 2,
    () => show({ events: it.events, raw: itemStream.raw.slice(-3) }))

  // A burst of concurrent sets of one item: many land in the same millisecond,
  // and the client keeps only strictly newer timestamps.
  const burst = Array.from({ length: 30 }, (_, k) => `burst-${k}`)
  await Promise.all(burst.map((title) => call('POST', '/todo/g1/a', { title })))
  const final = await call('GET', '/todo/g1/a')
  await waitFor('the item subscription reaches the final state of the burst', () => same(it.states.at(-1), final),
    () => show({ final, last: it.states.slice(-3) }))
  const burstStates = it.states.slice(5)
  if (burstStates.length !== burst.length || new Set(burstStates.map((s) => s.title)).size !== burst.length) {
    fail(`the item client saw ${burstStates.length} of ${burst.length} burst updates (messages with a timestamp not above the previous one are dropped): ${show(burstStates.map((s) => s.title))}; raw timestamps ${show(itemStream.raw.slice(-burst.length - 1).map((m) => m.timestamp))}`)
  }
  await waitFor('the group subscription reaches the final state of the burst', () => same(sortById(g.states.at(-1)), [final, B]), () => show(g.states.at(-1)))
  if (g.states.length !== 5 + burst.length) fail(`the group client applied ${g.states.length - 5} of ${burst.length} burst updates`)
  checkItemTimestamps('item socket', itemStream.raw)
  checkItemTimestamps('group socket', groupStream.raw)
  ok(`real client: ${burst.length} concurrent sets of one item all applied, timestamps strictly rising`)

  // delete: item state null, the group without it; a second delete sends nothing
  expectSame('delete answers the removed item', await call('DELETE', '/todo/g1/a'), final)
  await waitFor('delete reaches the item', () => it.states.at(-1) === null && it.states.length === 6 + burst.length, () => show(it.states.slice(-2)))
  await waitFor('delete reaches the group', () => same(g.states.at(-1), [B]), () => show(g.states.slice(-2)))
  expectSame('delete message', groupStream.raw.at(-1).event, { type: 'delete', data: final })
  const afterDelete = groupStream.raw.length
  await call('DELETE', '/todo/g1/a', undefined, 404)
  expectSame('get after delete', (await http('GET', '/todo/g1/a')).status, 404)

  // re-create after delete; a new item in the group
  const again = { id: 'a', title: 'again' }
  await call('POST', '/todo/g1/a', { title: 'again' })
  await waitFor('re-create reaches the item', () => same(it.states.at(-1), again), () => show(it.states.slice(-2)))
  await waitFor('re-create reaches the group', () => same(sortById(g.states.at(-1)), [again, B]), () => show(g.states.slice(-2)))
  const next = groupStream.raw.slice(afterDelete)
  expectSame('messages after a delete of a missing item (none) and a re-create', next.map((m) => m.event.type), ['create'])
  ok('real client: delete (item null, group without it), nothing for a missing item, re-create')

  const C = { id: 'c', title: 'C' }
  await call('POST', '/todo/g1/c', { title: 'C' })
  await waitFor('a second new item reaches the group', () => g.states.at(-1).length === 3, () => show(g.states.at(-1)))
  expectSame('getGroup by id order', await call('GET', '/todo/g1'), [again, B, C])
  expectSame('get of an item', await call('GET', '/todo/g1/c'), C)

  // Every state each subscription went through, in order.
  const expectItem = [null, A1, A2, A3, { id: 'a', title: 'A4' }, ...burstStates, null, again]
  expectSame('the item subscription\'s states in order', it.states, expectItem)
  const groupItems = g.states.map((s) => s.map((x) => x.id).join(','))
  const expectGroup = ['b', 'b,a', 'b,a', 'b,a', 'b,a', ...burst.map(() => 'b,a'), 'b', 'b,a', 'b,a,c']
  expectSame('the group subscription\'s item ids in order', groupItems, expectGroup)
  expectSame('the group subscription\'s item a in order', g.states.slice(0, 5 + burst.length).map((s) => s.find((x) => x.id === 'a') ?? null),
    [null, A1, A2, A3, { id: 'a', title: 'A4' }, ...burstStates])
  ok('real client: the sequence of states of both subscriptions')

  groupStream.close()
  itemStream.close()
}

// docs/streams.md: a connection holding an item and its group gets each item
// message once; Motia's client routes it to both subscriptions.
async function sharedSocket() {
  const raw = rawClient('/')
  await raw.opened
  raw.join('todo', 'shared')
  raw.join('todo', 'shared', 'k')
  await raw.waitMsg('group sync', is.sync('todo', 'shared'))
  await raw.waitMsg('item sync', is.sync('todo', 'shared', 'k'))
  await call('POST', '/todo/shared/k', { title: 'K' })
  await call('POST', '/todo/shared/send', { id: 'k', type: 'ping', data: { n: 1 } }, 202)
  await call('POST', '/todo/shared/m', { title: 'M' })
  await raw.waitMsg('a later change of another item', is.change('create', 'todo', 'shared', 'm'))
  const forK = raw.msgs.filter((m) => m.id === 'k' && m.event.type !== 'sync').map((m) => m.event.type)
  expectSame('messages of item k on a socket joined to k and its group (each once)', forK, ['create', 'event'])
  raw.close()

  const stream = motiaStream(WS)
  const g = watch(stream.subscribeGroup('todo', 'shared'), ['ping'])
  const it = watch(stream.subscribeItem('todo', 'shared', 'k'), ['ping'])
  await waitFor('both subscriptions synced on one socket', () => g.states.length && it.states.length, () => show(stream.raw))
  await call('POST', '/todo/shared/send', { id: 'k', type: 'ping', data: { n: 2 } }, 202)
  await call('POST', '/todo/shared/k', { title: 'K2' })
  await waitFor('the update reaches both', () => it.states.at(-1)?.title === 'K2' && g.states.at(-1).some((x) => x.title === 'K2'),
    () => show(stream.raw.slice(-3)))
  expectSame('item events on a shared socket', it.events.ping, [{ n: 2 }])
  expectSame('group events on a shared socket', g.events.ping, [{ n: 2 }])
  expectSame('item states on a shared socket', it.states, [{ id: 'k', title: 'K' }, { id: 'k', title: 'K2' }])
  stream.close()
  ok('one socket on an item and its group gets each message once; the real client routes it to both')
}

async function access() {
  // A user may not watch `secret`; the client library swallows the error, a raw socket shows it.
  await call('POST', '/todo/secret/x', { title: 'hidden' })
  const user = rawClient('/', { protocols: ['user-token', 'second'] })
  await user.opened
  if (user.ws.protocol !== 'user-token') fail(`the server should echo the first offered subprotocol: got '${user.ws.protocol}'`)
  ok('the first offered Sec-WebSocket-Protocol is echoed')
  user.join('todo', 'secret')
  const denied = await user.waitMsg('a group join of `secret` without the admin token is denied', is.error('STREAM_ACCESS_DENIED'))
  if (denied.streamName !== 'todo' || denied.groupId !== 'secret' || typeof denied.event.event.data.message !== 'string') {
    fail(`access denied message: ${show(denied)}`)
  }
  user.join('todo', 'secret', 'x')
  const deniedItem = await user.waitMsg('an item join in `secret` is denied', (m) => is.error('STREAM_ACCESS_DENIED')(m) && m.id === 'x')
  if (user.find((m) => m.event?.type === 'sync')) fail(`a denied join got a sync: ${show(user.msgs)}`)
  // The denied socket stays usable and gets nothing of `secret`.
  user.join('todo', 'open')
  await user.waitMsg('a join of another group after a denial', is.sync('todo', 'open'))
  await call('POST', '/todo/secret/x', { title: 'hidden2' })
  await call('POST', '/todo/open/y', { title: 'Y' })
  await user.waitMsg('changes of the allowed group arrive', is.change('create', 'todo', 'open', 'y'))
  const leaked = user.msgs.filter((m) => m.groupId === 'secret' && !is.error('STREAM_ACCESS_DENIED')(m))
  if (leaked.length) fail(`a denied subscriber got messages of the group: ${show(leaked)}`)
  void deniedItem
  ok('canAccess (async, TS) denies `secret` to a user: STREAM_ACCESS_DENIED, no sync, no changes')

  // The admin token, as subprotocol (real client) and as query (raw).
  const adminStream = motiaStream(WS, ['admin'])
  const w = watch(adminStream.subscribeGroup('todo', 'secret'))
  await waitFor('the admin sees `secret`', () => w.states.length >= 1, () => show(adminStream.raw))
  expectSame('admin sync of `secret`', w.states[0], [{ id: 'x', title: 'hidden2' }])
  await call('POST', '/todo/secret/x', { title: 'hidden3' })
  await waitFor('the admin gets changes of `secret`', () => same(w.states.at(-1), [{ id: 'x', title: 'hidden3' }]), () => show(w.states))
  adminStream.close()
  const q = rawClient('/ws?token=admin')
  await q.opened
  q.join('todo', 'secret', 'x')
  const s = await q.waitMsg('an admin (token in the query) joins an item of `secret`', is.sync('todo', 'secret', 'x'))
  expectSame('item sync', s.event.data, { id: 'x', title: 'hidden3' })
  q.close()
  ok('the admin token (subprotocol or ?token=) opens `secret`; canAccess gets the authContext')

  // The Python-defined stream with a Python canAccess.
  user.join('presence', 'closed')
  await user.waitMsg('presence `closed` is denied to a user (Python canAccess)', (m) => is.error('STREAM_ACCESS_DENIED')(m) && m.streamName === 'presence')
  user.join('presence', 'lobby')
  await user.waitMsg('presence `lobby` is open', is.sync('presence', 'lobby'))
  const py = await call('POST', '/py/presence/lobby/u1', { online: true })
  expectSame('Python set of the Python stream', py.item, { id: 'u1', online: true, by: 'python' })
  const created = await user.waitMsg('a change of the Python stream arrives', is.change('create', 'presence', 'lobby', 'u1'))
  expectSame('create data', created.event.data, { id: 'u1', online: true, by: 'python' })
  ok('a Python stream: canAccess in Python, sets from a Python step reach subscribers')

  // Leave: nothing more of that group.
  const sub = user.join('todo', 'leaving')
  await user.waitMsg('join `leaving`', is.sync('todo', 'leaving'))
  user.leave(sub)
  user.join('todo', 'after-leave')
  await user.waitMsg('join after leave', is.sync('todo', 'after-leave'))
  const mark = user.msgs.length
  await call('POST', '/todo/leaving/z', { title: 'Z' })
  await call('POST', '/todo/after-leave/z', { title: 'Z' })
  await user.waitMsg('changes of a joined group', is.change('create', 'todo', 'after-leave', 'z'), mark)
  const after = user.msgs.slice(mark).filter((m) => m.groupId === 'leaving')
  if (after.length) fail(`messages after leave: ${show(after)}`)
  ok('leave stops the group\'s messages')
  user.close()

  // A refused upgrade: the hook throws for token `bad`.
  for (const [how, client] of [['subprotocol', () => rawClient('/', { protocols: ['bad'] })], ['query', () => rawClient('/?token=bad')]]) {
    const c = client()
    const err = await c.opened.then(() => fail(`token bad (${how}) was accepted`), (e) => e)
    if (err.status !== 401) fail(`token bad (${how}): expected an HTTP 401, got ${err.status ?? ''} ${err.message}`)
    let body
    try { body = JSON.parse(err.body) } catch { fail(`401 body is not JSON: ${err.body}`) }
    if (body?.error?.code !== 'unauthorized') fail(`401 body: ${err.body}`)
  }
  ok('a token the hook refuses gets HTTP 401 (subprotocol and query)')
}

async function badInput() {
  const c = rawClient('/')
  await c.opened
  c.send('{"type": "join", "data": ')
  await c.waitMsg('malformed JSON gets BAD_MESSAGE', is.error('BAD_MESSAGE'))
  let from = c.msgs.length
  c.send('[1,2,3]')
  await c.waitMsg('a JSON array gets BAD_MESSAGE', is.error('BAD_MESSAGE'), from)
  from = c.msgs.length
  c.send({ type: 'join', data: { streamName: 'todo', subscriptionId: 's' } })
  await c.waitMsg('a join without groupId gets BAD_MESSAGE', is.error('BAD_MESSAGE'), from)
  from = c.msgs.length
  c.send({ type: 'dance', data: { streamName: 'todo', groupId: 'g1', subscriptionId: 's' } })
  await c.waitMsg('a type other than join/leave gets BAD_MESSAGE', is.error('BAD_MESSAGE'), from)
  from = c.msgs.length
  c.join('nope', 'g')
  const nf = await c.waitMsg('an unknown stream gets STREAM_NOT_FOUND', is.error('STREAM_NOT_FOUND'), from)
  if (nf.streamName !== 'nope' || nf.groupId !== 'g') fail(`STREAM_NOT_FOUND message: ${show(nf)}`)
  c.join('todo', 'g1')
  await c.waitMsg('the connection still serves after bad messages', is.sync('todo', 'g1'), from)
  if (c.closed) fail(`the connection was closed: ${show(c.closed)}`)
  if (c.bad.length) fail(`the server sent non-JSON text: ${show(c.bad)}`)
  ok('bad messages: BAD_MESSAGE / STREAM_NOT_FOUND, the connection stays open')

  c.send('x'.repeat(70 * 1024))
  await waitFor('a 70 KiB message closes the connection with 1009', () => c.closed, () => show(c.msgs.slice(-2)))
  if (c.closed.code !== 1009) fail(`oversized message: closed with ${show(c.closed)}, expected code 1009`)
  ok('an oversized message closes with 1009')

  const b = rawClient('/')
  await b.opened
  b.ws.send(Buffer.from([1, 2, 3]), { binary: true })
  await waitFor('a binary message closes the connection with 1003', () => b.closed, () => show(b.msgs))
  if (b.closed.code !== 1003) fail(`binary message: closed with ${show(b.closed)}, expected code 1003`)
  ok('a binary message closes with 1003')

  const d = rawClient('/')
  await d.opened
  d.join('todo', 'g1')
  await d.waitMsg('a new connection serves after the oversized one', is.sync('todo', 'g1'))
  d.close()
  expectSame('HTTP still serves', (await http('GET', '/todo/g1')).status, 200)
  ok('the server stays up')
}

async function crowd() {
  const N = 300
  const SETS = 200
  const ITEMS = 10
  const clients = Array.from({ length: N }, () => rawClient('/'))
  await Promise.all(clients.map((c) => c.opened))
  clients.forEach((c) => c.join('todo', 'crowd'))
  await waitFor(`${N} subscribers get their sync`, () => clients.every((c) => c.msgs.length >= 1),
    () => `${clients.filter((c) => c.msgs.length >= 1).length} of ${N}`)
  for (const c of clients) {
    if (!is.sync('todo', 'crowd')(c.msgs[0]) || !same(c.msgs[0].event.data, [])) fail(`crowd sync: ${show(c.msgs[0])}`)
  }
  const t0 = Date.now()
  // Sequential sets, so the order of the changes is known.
  for (let k = 0; k < SETS; k++) await call('POST', `/todo/crowd/i${k % ITEMS}`, { title: `t${k}` })
  await waitFor(`every subscriber gets all ${SETS} changes`, () => clients.every((c) => c.msgs.length >= SETS + 1),
    () => `received: min ${Math.min(...clients.map((c) => c.msgs.length - 1))}, max ${Math.max(...clients.map((c) => c.msgs.length - 1))}`,
    20000)
  const took = Date.now() - t0
  await sleep(100)
  clients.forEach((c, n) => {
    const got = c.msgs.slice(1)
    if (got.length !== SETS) fail(`client ${n}: ${got.length} changes, expected ${SETS}`)
    got.forEach((m, k) => {
      const want = { type: k < ITEMS ? 'create' : 'update', data: { id: `i${k % ITEMS}`, title: `t${k}` } }
      if (!same(m.event, want) || m.id !== `i${k % ITEMS}`) fail(`client ${n}, change ${k}: got ${show(m)}, expected event ${show(want)}`)
    })
    checkItemTimestamps(`crowd client ${n}`, got)
  })
  clients.forEach((c) => c.close())
  ok(`${N} subscribers each got all ${SETS} changes in order, per-item timestamps rising (${took} ms)`)
}

// With the hook in motia.config.ts (streamAuth.authenticate) instead of motia-actors.json.
async function authOnly() {
  const c = rawClient('/', { protocols: ['bad'] })
  const err = await c.opened.then(() => fail('token bad was accepted'), (e) => e)
  if (err.status !== 401) fail(`token bad: expected an HTTP 401, got ${err.status ?? ''} ${err.message}`)
  const admin = rawClient('/', { protocols: ['admin'] })
  await admin.opened
  admin.join('todo', 'secret')
  const s = await admin.waitMsg('the admin joins `secret`', is.sync('todo', 'secret'))
  if (!s.event.data.length) fail(`the admin's sync of secret is empty: ${show(s)}`)
  const user = rawClient('/?token=someone')
  await user.opened
  user.join('todo', 'secret')
  await user.waitMsg('a user is denied `secret`', is.error('STREAM_ACCESS_DENIED'))
  admin.close()
  user.close()
  ok('the hook of motia.config.ts (streamAuth.authenticate): 401 for bad, the admin context reaches canAccess')
}

run(async () => {
  if (process.argv[2] === 'auth') return authOnly()
  await realClient()
  await sharedSocket()
  await access()
  await badInput()
  await crowd()
})
