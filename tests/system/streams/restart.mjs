// The streams system test's restart part. Runs across a restart of the server
// on the same port and data dir, driven by streams.test.sh through two files:
//   phase 1: writes items, keeps Motia's real client subscribed (item and
//            group), records the newest timestamp seen, then creates $READY;
//   (the test script stops the server with SIGTERM, starts it again on the
//    same port and data dir, then creates $GO)
//   phase 2: the real client reconnects by itself (after 2 s) and re-joins:
//            its group sync holds the items written before the restart, a new
//            set reaches the item subscription (so its timestamp is above the
//            pre-restart one, or the client would drop it); a fresh raw
//            socket's join syncs the items; a new set's timestamp is larger.
import fs from 'node:fs'
import {
  WS, call, checkItemTimestamps, expectSame, fail, is, motiaStream, ok, rawClient, run, same, show, sleep, waitFor, watch,
} from './lib.mjs'

const READY = process.env.READY
const GO = process.env.GO
if (!READY || !GO) {
  console.error('set READY and GO to the files of the handshake with streams.test.sh')
  process.exit(2)
}

run(async () => {
  // Phase 1
  const groupStream = motiaStream(WS, ['user-token'])
  const g = watch(groupStream.subscribeGroup('todo', 'rs'))
  const itemStream = motiaStream(WS)
  const it = watch(itemStream.subscribeItem('todo', 'rs', 'a'))
  await waitFor('both subscriptions synced', () => g.states.length >= 1 && it.states.length >= 1, () => show([groupStream.raw, itemStream.raw]))

  await call('POST', '/todo/rs/b', { title: 'B' })
  // Concurrent sets of one item push its timestamps up (several per ms).
  await Promise.all(Array.from({ length: 40 }, (_, k) => call('POST', '/todo/rs/a', { title: `pre-${k}` })))
  const a = await call('GET', '/todo/rs/a')
  await waitFor('the item subscription has the last pre-restart value', () => same(it.states.at(-1), a), () => show(it.states.slice(-2)))
  await waitFor('the group subscription has both items', () => g.states.at(-1)?.length === 2 && g.states.at(-1).some((x) => same(x, a)),
    () => show(g.states.at(-1)))
  checkItemTimestamps('before the restart (item socket)', itemStream.raw)
  const before = Math.max(...itemStream.raw.map((m) => m.timestamp), ...groupStream.raw.map((m) => m.timestamp))
  const itemStatesBefore = it.states.length
  const groupRawBefore = groupStream.raw.length
  ok(`before the restart: 2 items, newest timestamp ${before}`)
  fs.writeFileSync(READY, JSON.stringify({ before }))

  await waitFor('the test script restarts the server', () => fs.existsSync(GO), () => '', 40000)

  // Phase 2: the real client reconnects 2 s after the close and re-joins.
  const resync = await waitFor('the real client re-joins the group after the restart and gets a sync',
    () => groupStream.raw.slice(groupRawBefore).find(is.sync('todo', 'rs')), () => show(groupStream.raw.slice(groupRawBefore)), 15000)
  const B = { id: 'b', title: 'B' }
  expectSame('the group sync after the restart holds the items of before', [...resync.event.data].sort((x, y) => (x.id < y.id ? -1 : 1)), [a, B])
  if (resync.timestamp < before) fail(`group sync after the restart has timestamp ${resync.timestamp} < ${before} of before: the client drops it`)
  ok('the real client reconnects, re-joins and its group sync holds the snapshot')

  await waitFor('the item subscription re-joined', () => itemStream.raw.filter(is.sync('todo', 'rs', 'a')).length >= 2,
    () => show(itemStream.raw.slice(-3)), 15000)
  const post = { id: 'a', title: 'post-restart' }
  await call('POST', '/todo/rs/a', { title: 'post-restart' })
  await waitFor('a set after the restart reaches the re-joined item subscription (its timestamp is newer)',
    () => same(it.states.at(-1), post), () => show({ states: it.states.slice(itemStatesBefore - 1), raw: itemStream.raw.slice(-3) }))
  const update = itemStream.raw.at(-1)
  if (!is.change('update', 'todo', 'rs', 'a')(update)) fail(`a set of an item restored from the snapshot should be an update: ${show(update)}`)
  if (!(update.timestamp > before)) fail(`timestamp after the restart ${update.timestamp} is not above ${before} of before`)
  await waitFor('and the group subscription', () => g.states.at(-1)?.some((x) => same(x, post)), () => show(g.states.at(-1)))
  checkItemTimestamps('across the restart (item socket)', itemStream.raw)
  ok('a set after the restart is an update with a larger timestamp, seen by the real client')

  const fresh = rawClient('/')
  await fresh.opened
  fresh.join('todo', 'rs')
  const sync = await fresh.waitMsg('a fresh join after the restart', is.sync('todo', 'rs'))
  expectSame('fresh group sync', [...sync.event.data].sort((x, y) => (x.id < y.id ? -1 : 1)), [post, B])
  fresh.join('todo', 'rs', 'b')
  const bsync = await fresh.waitMsg('a fresh item join after the restart', is.sync('todo', 'rs', 'b'))
  expectSame('fresh item sync', bsync.event.data, B)
  if (!(bsync.timestamp > before)) fail(`item sync timestamp ${bsync.timestamp} after the restart is not above ${before}`)
  fresh.close()
  groupStream.close()
  itemStream.close()
  await sleep(50)
  ok('a fresh subscriber syncs the snapshot after the restart')
})
