// The curation queue alone, with runs the test releases by hand: fairness, bounds and drop policy, one run
// per key, and stop.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CurationQueue, type CurationQueueOptions } from '../curation-queue.ts'

interface Item {
  id: string
  version?: number
}

/** A queue whose runs wait until the test releases them; records the order runs started in. */
function harness(options: Partial<CurationQueueOptions> = {}) {
  const started: string[] = []
  const release = new Map<string, () => void>()
  const signals: AbortSignal[] = []
  const queue = new CurationQueue<Item, string>(
    { maxLength: 100, maxPerContributor: 100, concurrency: 1, ...options },
    (item, signal) => {
      started.push(item.version === undefined ? item.id : `${item.id}@${item.version}`)
      signals.push(signal)
      return new Promise<string>((resolve, reject) => {
        release.set(item.id, () => resolve(`done ${item.id}@${item.version ?? 0}`))
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
      })
    },
    (queued, incoming) => (incoming.version ?? 0) > (queued.version ?? 0),
  )
  const finish = async (id: string) => {
    const r = release.get(id)
    assert.ok(r, `${id} is not running`)
    r!()
    // let the queue start the next run
    for (let i = 0; i < 5; i++) await Promise.resolve()
  }
  return { queue, started, finish, signals }
}

test('lanes are served round-robin: one contributor with many items does not starve another', async () => {
  const { queue, started, finish } = harness()
  queue.push('x', 'X', { id: 'x' }) // runs at once
  for (const id of ['a1', 'a2', 'a3']) queue.push(id, 'A', { id })
  queue.push('b1', 'B', { id: 'b1' })
  await finish('x')
  await finish('a1')
  await finish('b1')
  await finish('a2')
  await finish('a3')
  assert.equal(started, ['x', 'a1', 'b1', 'a2', 'a3'])
})

test('bounds: a full lane refuses its contributor; a full queue sheds the longest lane first', async () => {
  const { queue } = harness({ maxLength: 4, maxPerContributor: 3 })
  queue.push('x', 'X', { id: 'x' }) // at work, not waiting
  const a = ['a1', 'a2', 'a3'].map((id) => queue.push(id, 'A', { id }))
  assert.ok(a.every((r) => r.queued))
  assert.equal(queue.push('a4', 'A', { id: 'a4' }), { queued: false, reason: 'CONTRIBUTOR_QUEUE_FULL' })
  assert.ok(queue.push('b1', 'B', { id: 'b1' }).queued)
  assert.is(queue.length, 4)
  // Full: C's first item pushes out A's newest, not B's.
  assert.ok(queue.push('c1', 'C', { id: 'c1' }).queued)
  assert.is(queue.length, 4)
  const a3 = a[2]!
  assert.is(a3.queued && (await a3.done), undefined, "A's newest item was dropped")
  // B and C now hold one item each and A two: another from B still sheds A's newest...
  assert.ok(queue.push('b2', 'B', { id: 'b2' }).queued)
  // ...and once every lane is as long as the arriving item's, the arriving item is refused.
  assert.equal(queue.push('b3', 'B', { id: 'b3' }), { queued: false, reason: 'QUEUE_FULL' })
  assert.is(queue.dropped, 4)
  await queue.stop()
})

test('one key at a time: a newer item replaces a waiting one, an item for a running key waits its turn', async () => {
  const { queue, started, finish } = harness()
  const first = queue.push('k', 'A', { id: 'k', version: 1 })
  const later = queue.push('k', 'A', { id: 'k', version: 2 }) // k@1 is running: k@2 waits for it
  const latest = queue.push('k', 'A', { id: 'k', version: 3 }) // replaces k@2
  assert.equal(queue.push('k', 'A', { id: 'k', version: 3 }), { queued: false, reason: 'NOT_NEWER' })
  assert.equal(started, ['k@1'])
  await finish('k')
  assert.equal(started, ['k@1', 'k@3'])
  await finish('k')
  assert.is(first.queued && (await first.done), 'done k@1')
  assert.is(later.queued && (await later.done), 'done k@3')
  assert.is(latest.queued && (await latest.done), 'done k@3')
})

test('stop aborts the runs in progress, forgets waiting items and refuses new ones', async () => {
  const { queue, signals } = harness({ concurrency: 2 })
  const running = [queue.push('a', 'A', { id: 'a' }), queue.push('b', 'B', { id: 'b' })]
  const waiting = queue.push('c', 'C', { id: 'c' })
  await queue.stop()
  assert.ok(signals.length === 2 && signals.every((s) => s.aborted))
  for (const r of running) {
    assert.ok(r.queued)
    await r.done.then(
      () => assert.unreachable('an aborted run does not succeed'),
      () => undefined,
    )
  }
  assert.is(waiting.queued && (await waiting.done), undefined)
  assert.equal(queue.push('d', 'D', { id: 'd' }), { queued: false, reason: 'STOPPED' })
  assert.is(queue.length, 0)
  assert.is(queue.active, 0)
})

test.run()
