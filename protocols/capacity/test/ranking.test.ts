// Provider keys, ranking and bans, without a network.
import '../../common/polyfills.ts'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { CapacityRecord } from '../capacity-record.ts'
import { modelKeyString, modelProviderKey, PeerBans, providerKeys, rankProviders } from '../discovery.ts'
import { type Identity, identity, offer, recordFor } from './fixtures.ts'

const test = suite<{ ids: Identity[] }>('capacity ranking')

test.before(async (ctx) => {
  ctx.ids = await Promise.all([identity(), identity(), identity(), identity(), identity()])
})

test('a model key is the raw sha2-256 CID of openledger:model:<id>; an adapter has its own', async () => {
  const expected = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('openledger:model:1')))
  assert.ok(modelProviderKey(1n).equals(expected))
  assert.ok(modelProviderKey(1n, 0n).equals(expected))
  assert.is(modelKeyString(1n, 7n), 'openledger:model:1:adapter:7')
  assert.not.ok(modelProviderKey(1n, 7n).equals(expected))
  assert.not.ok(modelProviderKey(2n).equals(expected))
  const keys = providerKeys([offer(1n), offer(1n, 7n), offer(1n, 8n), offer(2n, 9n)]).map(String)
  assert.equal(
    keys.sort(),
    [
      modelProviderKey(1n),
      modelProviderKey(1n, 7n),
      modelProviderKey(1n, 8n),
      modelProviderKey(2n),
      modelProviderKey(2n, 9n),
    ]
      .map(String)
      .sort(),
  )
})

test('ranking: price, then load, then latency, then warm; unusable records left out', ({ ids }) => {
  const [a, b, c, d, e] = ids as [Identity, Identity, Identity, Identity, Identity]
  const wrap = (record: CapacityRecord) => ({ record })
  const records = [
    // dearest
    wrap(recordFor(a, { models: [offer(1n, 0n, { priceIn: 5n, priceOut: 5n })], queueDepth: 0 })),
    // cheap but loaded: 10 queued at 10 tokens/s
    wrap(
      recordFor(b, {
        models: [offer(1n, 0n, { priceIn: 1n, priceOut: 1n, tokensPerSec: 10 })],
        queueDepth: 10,
      }),
    ),
    // cheap, idle, far
    wrap(recordFor(c, { models: [offer(1n, 0n, { priceIn: 1n, priceOut: 1n, warm: true })], queueDepth: 0 })),
    // cheap, idle, near, cold
    wrap(
      recordFor(d, { models: [offer(1n, 0n, { priceIn: 2n, priceOut: 0n, warm: false })], queueDepth: 0 }),
    ),
    // draining: left out
    wrap(recordFor(e, { state: 'draining', models: [offer(1n, 0n, { priceIn: 0n, priceOut: 0n })] })),
  ]
  const latencyMs = new Map([
    [c.peerId, 40],
    [d.peerId, 5],
    [b.peerId, 1],
  ])
  const ranked = rankProviders(records, { modelId: 1n, latencyMs })
  assert.equal(
    ranked.map((r) => r.provider.record.peerId),
    [d.peerId, c.peerId, b.peerId, a.peerId],
  )
  assert.is(ranked[2]!.load, 1)
  assert.is(ranked[0]!.price, 2n)
  // equal latency (none measured): warm before cold
  const noLatency = rankProviders(records, { modelId: 1n })
  assert.equal(
    noLatency.slice(0, 2).map((r) => r.provider.record.peerId),
    [c.peerId, d.peerId],
  )
  // an adapter: only the records listing it
  const withAdapter = [
    wrap(recordFor(a, { models: [offer(1n), offer(1n, 7n)] })),
    wrap(recordFor(b, { models: [offer(1n)] })),
  ]
  assert.equal(
    rankProviders(withAdapter, { modelId: 1n, adapterId: 7n }).map((r) => r.provider.record.peerId),
    [a.peerId],
  )
  assert.equal(rankProviders(withAdapter, { modelId: 2n }), [])
  // unmeasured throughput ranks as the most loaded
  const unmeasured = [
    wrap(recordFor(a, { models: [offer(1n, 0n, { tokensPerSec: 0 })], queueDepth: 0 })),
    wrap(recordFor(b, { models: [offer(1n, 0n, { tokensPerSec: 1 })], queueDepth: 100 })),
  ]
  assert.equal(
    rankProviders(unmeasured, { modelId: 1n }).map((r) => r.provider.record.peerId),
    [b.peerId, a.peerId],
  )
})

test('bans end after their time and the map stays bounded', () => {
  let now = 1_000
  const bans = new PeerBans({ banMs: 100, maxPeers: 3, now: () => now })
  bans.ban('a')
  assert.ok(bans.isBanned('a'))
  now += 100
  assert.not.ok(bans.isBanned('a'))
  assert.is(bans.size, 0)
  for (const p of ['a', 'b', 'c', 'd']) bans.ban(p)
  assert.is(bans.size, 3)
  assert.not.ok(bans.isBanned('a'), 'the oldest ban went first')
  assert.ok(bans.isBanned('d'))
  bans.ban('b', 10_000)
  now += 150
  bans.prune()
  assert.is(bans.size, 1)
  assert.ok(bans.isBanned('b'))
  bans.unban('b')
  assert.not.ok(bans.isBanned('b'))
})

test.run()
