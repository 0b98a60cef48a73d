import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ChainReadCache } from '../chain-cache.ts'

function setup(headPollMs = 0) {
  const state = { head: 1n, headReads: 0, now: 0, headFails: false }
  const cache = new ChainReadCache<string>({
    head: async () => {
      state.headReads++
      if (state.headFails) throw new Error('rpc down')
      return state.head
    },
    headPollMs,
    maxEntries: 3,
    now: () => state.now,
  })
  return { state, cache }
}

test('repeated reads within one block load once; a new head loads again', async () => {
  const { state, cache } = setup()
  let loads = 0
  const load = async () => `v${++loads}`
  assert.is(await cache.get('a', load), 'v1')
  assert.is(await cache.get('a', load), 'v1')
  state.head = 2n
  assert.is(await cache.get('a', load), 'v2')
  assert.is(cache.block, 2n)
})

test('concurrent reads of one key share one load', async () => {
  const { cache } = setup()
  let loads = 0
  const load = () => new Promise<string>((r) => setTimeout(() => r(`v${++loads}`), 5))
  const values = await Promise.all(Array.from({ length: 10 }, () => cache.get('a', load)))
  assert.equal(new Set(values), new Set(['v1']))
  assert.is(loads, 1)
})

test('a failed load is not cached; the cache is bounded in entries', async () => {
  const { cache } = setup()
  await cache.get('x', () => Promise.reject(new Error('boom'))).catch(() => {})
  assert.is(await cache.get('x', async () => 'ok'), 'ok')
  for (const k of ['a', 'b', 'c', 'd']) await cache.get(k, async () => k)
  assert.is(cache.size, 3)
})

test('the head is asked at most once per poll interval, and a failing head keeps the cache', async () => {
  const { state, cache } = setup(1000)
  let loads = 0
  const load = async () => `v${++loads}`
  for (let i = 0; i < 20; i++) await cache.get('a', load)
  assert.is(state.headReads, 1)
  state.now = 1000
  state.headFails = true
  assert.is(await cache.get('a', load), 'v1')
  assert.is(state.headReads, 2)
})

test.run()
