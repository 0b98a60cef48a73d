// The OpenLoRA cache over a local loader (bytes in memory): the byte bound and LRU order, one load for
// concurrent requests, pinning, preloading, metrics, and failures that are reported and never cached.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { AdapterCache } from '../adapter-cache.ts'
import { InferenceError } from '../errors.ts'
import { codeOf } from './fixtures.ts'

const test = suite('adapter cache')

interface Fake {
  cache: AdapterCache<Uint8Array>
  calls: string[]
  /** adapters the loader knows, with their size in bytes */
  sizes: Map<string, number>
  failOnce: Set<string>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function fake(
  opts: { maxBytes?: number; maxPinnedBytes?: number; delayMs?: number; maxTracked?: number } = {},
): Fake {
  const f: Fake = { calls: [], sizes: new Map(), failOnce: new Set() } as unknown as Fake
  f.cache = new AdapterCache<Uint8Array>({
    maxBytes: opts.maxBytes ?? 100,
    maxPinnedBytes: opts.maxPinnedBytes,
    maxTrackedAdapters: opts.maxTracked,
    sizeOf: (v) => v.byteLength,
    loader: async (id) => {
      f.calls.push(id)
      if (opts.delayMs) await sleep(opts.delayMs)
      if (f.failOnce.delete(id)) throw new Error(`fetch of ${id} timed out`)
      const size = f.sizes.get(id)
      if (size === undefined) throw new InferenceError({ code: 'UNKNOWN_ADAPTER', adapter: id }, `no ${id}`)
      return new Uint8Array(size).fill(id.charCodeAt(0))
    },
  })
  for (const id of ['a', 'b', 'c', 'd', 'e', 'p', 'q']) f.sizes.set(id, 40)
  return f
}

test('the byte bound holds and the least recently used adapter is evicted', async () => {
  const { cache, calls } = fake({ maxBytes: 100 })
  await cache.get('a')
  await cache.get('b')
  await cache.get('a') // a is now more recent than b
  await cache.get('c') // 120 bytes > 100: b goes
  assert.ok(cache.bytes <= 100, `${cache.bytes} bytes`)
  assert.ok(cache.has('a') && cache.has('c') && !cache.has('b'))
  assert.equal(cache.residentIds(), ['c', 'a'])
  await cache.get('b') // reloaded: a is the least recent now
  assert.ok(!cache.has('a'))
  assert.equal(calls, ['a', 'b', 'c', 'b'])
  const s = cache.snapshot()
  assert.is(s.adapters.b.evictions, 1)
  assert.is(s.adapters.a.evictions, 1)
  assert.is(s.adapters.a.hits, 1)
  assert.is(s.totals.evictions, 2)
  assert.is(s.bytes, 80)
  assert.is(s.adapters.c.bytes, 40)
  assert.is(s.adapters.a.bytes, 0)
})

test('concurrent requests for one adapter share one load', async () => {
  const { cache, calls } = fake({ delayMs: 20 })
  const values = await Promise.all(Array.from({ length: 8 }, () => cache.get('a')))
  assert.equal(calls, ['a'])
  for (const v of values) assert.is(v, values[0])
  await cache.get('a')
  const m = cache.snapshot().adapters.a
  assert.equal(
    { requests: m.requests, misses: m.misses, coalesced: m.coalesced, hits: m.hits, loads: m.loads },
    { requests: 9, misses: 1, coalesced: 7, hits: 1, loads: 1 },
  )
  // one load: its latency is the total, the last and the largest (how long it took is for benches)
  assert.ok(
    m.loadMsMax === m.lastLoadMs && m.loadMsTotal === m.lastLoadMs && m.lastLoadMs >= 0,
    JSON.stringify(m),
  )
})

test('a caller that aborts gets ABORTED; the shared load goes on for the others', async () => {
  const { cache, calls } = fake({ delayMs: 30 })
  const ac = new AbortController()
  const first = cache.get('a', { signal: ac.signal })
  const second = cache.get('a')
  setTimeout(() => ac.abort(new Error('client left')), 5)
  assert.is(await codeOf(() => first), 'ABORTED')
  assert.is((await second).byteLength, 40)
  assert.equal(calls, ['a'])
  assert.ok(cache.has('a'))
})

test('pinned adapters are never evicted; the pinned bytes have their own bound', async () => {
  const { cache } = fake({ maxBytes: 100, maxPinnedBytes: 80 })
  await cache.pin('p')
  await cache.pin('q')
  assert.is(cache.pinnedBytes, 80)
  for (const id of ['a', 'b', 'c', 'd', 'e', 'a', 'b']) await cache.get(id)
  assert.ok(cache.has('p') && cache.has('q') && cache.isPinned('p'))
  assert.ok(cache.bytes <= 100)
  assert.is(await codeOf(() => cache.pin('c')), 'ADAPTER_PIN_LIMIT')
  assert.ok(!cache.isPinned('c'))
  await cache.get('p')
  const s = cache.snapshot()
  assert.is(s.adapters.p.hits, 1)
  assert.is(s.adapters.p.evictions, 0)
  assert.is(s.adapters.p.loads, 1)
  assert.ok(s.adapters.p.pinned && s.adapters.p.resident)
  assert.is(s.pinned, 2)
  // unpinned, it joins the LRU as the most recent and can be evicted like any other
  assert.ok(cache.unpin('p'))
  assert.is(cache.pinnedBytes, 40)
  for (const id of ['c', 'd', 'e']) await cache.get(id)
  assert.ok(!cache.has('p'))
  assert.is(cache.snapshot().adapters.p.evictions, 1)
})

test('preload loads a list (pinning if asked) and reports what failed', async () => {
  const { cache, calls } = fake({ maxBytes: 200 })
  const pinned = await cache.preload(['p', 'nope'], { pin: true })
  assert.equal(pinned.loaded, ['p'])
  assert.is(pinned.failed.length, 1)
  assert.is(pinned.failed[0].error.code, 'UNKNOWN_ADAPTER')
  const warm = await cache.preload(['a', 'b', 'c'])
  assert.equal([...warm.loaded].sort(), ['a', 'b', 'c'])
  assert.ok(cache.isPinned('p') && cache.has('a') && cache.has('b') && cache.has('c'))
  assert.equal([...calls].sort(), ['a', 'b', 'c', 'nope', 'p'])
  const s = cache.snapshot()
  assert.is(s.totals.requests, 0, 'preloading is not a request')
  assert.is(s.totals.loads, 4)
  assert.is(s.totals.loadFailures, 1)
})

test('a loader failure is reported, counted and not cached: the next request loads again', async () => {
  const { cache, calls, failOnce } = fake()
  failOnce.add('a')
  const err = await cache.get('a').catch((e) => e)
  assert.instance(err, InferenceError)
  assert.is(err.code, 'ADAPTER_LOAD_FAILED')
  assert.match(err.message, /timed out/)
  assert.ok(!cache.has('a'))
  assert.is((await cache.get('a')).byteLength, 40)
  assert.equal(calls, ['a', 'a'])
  assert.is(await codeOf(() => cache.get('zzz')), 'UNKNOWN_ADAPTER')
  const s = cache.snapshot()
  assert.equal(
    { requests: s.adapters.a.requests, misses: s.adapters.a.misses, loads: s.adapters.a.loads },
    { requests: 2, misses: 2, loads: 1 },
  )
  assert.is(s.adapters.a.loadFailures, 1)
  assert.is(s.adapters.zzz.loadFailures, 1)
  assert.ok(!s.adapters.zzz.resident)
})

test('an adapter larger than the whole cache is refused, not cached', async () => {
  const { cache, sizes } = fake({ maxBytes: 100 })
  sizes.set('huge', 101)
  await cache.get('a')
  assert.is(await codeOf(() => cache.get('huge')), 'ADAPTER_TOO_LARGE')
  assert.ok(!cache.has('huge') && cache.has('a'))
  assert.is(cache.bytes, 40)
})

test('metrics of adapters that come and go stay bounded', async () => {
  const { cache } = fake({ maxTracked: 3 })
  await cache.get('a')
  for (let i = 0; i < 50; i++) await codeOf(() => cache.get(`unknown-${i}`))
  const s = cache.snapshot()
  assert.ok(Object.keys(s.adapters).length <= 3, Object.keys(s.adapters).join())
  assert.ok(s.adapters.a, 'the resident adapter keeps its metrics')
  assert.is(s.totals.requests, 51)
  assert.is(s.totals.loadFailures, 50)
})

test('delete drops an adapter, pinned or not; close refuses later calls', async () => {
  const { cache } = fake()
  await cache.pin('p')
  await cache.get('a')
  assert.ok(cache.delete('p') && cache.delete('a'))
  assert.ok(!cache.delete('a'))
  assert.is(cache.pinnedBytes + cache.bytes, 0)
  assert.is(cache.snapshot().totals.evictions, 0, 'a delete is not an eviction')
  cache.close()
  assert.is(await codeOf(() => cache.get('a')), 'BACKEND_CLOSED')
})

test('close during a load fails its waiters instead of leaving them hanging', async () => {
  const { cache } = fake({ delayMs: 30 })
  const pending = cache.get('a')
  cache.close()
  assert.is(await codeOf(() => pending), 'BACKEND_CLOSED')
})

test.run()
