// The replay guard on a controlled clock: an id is refused until its deadline passes, then forgotten;
// ids arriving in any deadline order are pruned each at its own deadline; a full guard refuses new ids
// and never forgets a live one to make room.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ReplayGuard } from '../replay-guard.ts'

const clock = (startS: number) => {
  let ms = startS * 1000
  return { now: () => ms, advance: (s: number) => (ms += s * 1000) }
}

test('an id is refused until its deadline, then forgotten', () => {
  const c = clock(1_000)
  const guard = new ReplayGuard({ maxEntries: 10, now: c.now })
  assert.is(guard.take('a', 1_030), 'fresh')
  assert.is(guard.take('a', 1_030), 'replayed')
  c.advance(29)
  assert.is(guard.take('a', 1_030), 'replayed', 'one second before the deadline it is still live')
  c.advance(1)
  assert.not.ok(guard.has('a'), 'at the deadline the authorization is expired, so the id is dropped')
  assert.is(guard.size, 0)
})

test('ids in any deadline order are each pruned at their own deadline', () => {
  const c = clock(5_000)
  const guard = new ReplayGuard({ maxEntries: 100, now: c.now })
  const deadlines = [5_600, 5_010, 5_300, 5_010, 5_900, 5_001]
  for (const [i, d] of deadlines.entries()) assert.is(guard.take(`id${i}`, d), 'fresh')
  c.advance(10)
  assert.is(guard.size, 3, 'the three ids due by 5,010 are gone')
  assert.ok(guard.has('id0') && guard.has('id2') && guard.has('id4'))
  c.advance(3_600) // a long quiet gap: everything is due
  assert.is(guard.size, 0)
})

test('a full guard refuses new ids and keeps every live one', () => {
  const c = clock(0)
  const guard = new ReplayGuard({ maxEntries: 3, now: c.now })
  for (const id of ['a', 'b', 'c']) assert.is(guard.take(id, 100), 'fresh')
  assert.is(guard.take('d', 100), 'full')
  assert.is(guard.take('a', 100), 'replayed', 'a live id is never evicted to make room')
  c.advance(100)
  assert.is(guard.take('d', 200), 'fresh', 'room again once the others expired')
})

test('a deadline already past is held for the current second, never dropped before it is checked', () => {
  const c = clock(50)
  const guard = new ReplayGuard({ maxEntries: 3, now: c.now })
  assert.is(guard.take('late', 10), 'fresh')
  assert.is(guard.take('late', 10), 'replayed')
})

test.run()
