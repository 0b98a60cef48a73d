import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SeenCache } from '../seen-cache.ts'

test('entries expire after their TTL', () => {
  const clock = { now: 0 }
  const seen = new SeenCache<string>({ maxEntries: 10, ttlMs: 100, now: () => clock.now })
  seen.set('a', 'accept')
  clock.now = 99
  assert.is(seen.get('a'), 'accept')
  clock.now = 100
  assert.is(seen.get('a'), undefined)
  assert.is(seen.size, 0)
})

test('a full cache evicts its oldest entry and never grows past its maximum', () => {
  const seen = new SeenCache({ maxEntries: 3, ttlMs: 1e9 })
  for (let i = 0; i < 1000; i++) seen.set(`k${i}`, true)
  assert.is(seen.size, 3)
  assert.not.ok(seen.has('k996'))
  assert.ok(seen.has('k997') && seen.has('k999'))
})

test('inserting drops expired entries from the head', () => {
  const clock = { now: 0 }
  const seen = new SeenCache({ maxEntries: 100, ttlMs: 10, now: () => clock.now })
  for (let i = 0; i < 50; i++) seen.set(`k${i}`, true)
  clock.now = 20
  seen.set('fresh', true)
  assert.is(seen.size, 1)
})

test.run()
