// Discovery over a real kad-dht on loopback, 4 nodes: A serves model 1, B serves model 1 and its adapter 7,
// D serves model 1 from a clock 20 minutes behind (its records are expired as they are made), and C, which
// serves nothing, finds the providers through the DHT, fetches and verifies their records, drops D's, and
// ranks A and B. Then B withdraws (draining: dropped) and stops (unreachable: dropped and banned).
// Waits are on conditions with deadlines; every node is stopped in `after`, failures or not.
import '../../common/polyfills.ts'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { CapacityService } from '../capacity-protocol.ts'
import type { ModelOffer } from '../capacity-record.ts'
import {
  advertise,
  type FindProvidersResult,
  findProviders,
  modelProviderKey,
  PeerBans,
  providerKeys,
  rankProviders,
} from '../discovery.ts'
import { domain, hardware, type Identity, identity, offer, waitFor } from './fixtures.ts'
import { startLibp2p, stopQuietly, type TestLibp2p } from './nodes.ts'

interface TestNode {
  name: string
  id: Identity
  libp2p: TestLibp2p
  service?: CapacityService
  models: ModelOffer[]
}

interface Ctx {
  nodes: TestNode[]
  a: TestNode
  b: TestNode
  c: TestNode
  d: TestNode
}

const test = suite<Ctx>('capacity discovery')

async function startNode(
  ctx: Ctx,
  name: string,
  models: ModelOffer[],
  now?: () => number,
): Promise<TestNode> {
  const id = await identity()
  const libp2p = await startLibp2p(id.peerKey)
  const node: TestNode = { name, id, libp2p, models }
  ctx.nodes.push(node)
  if (models.length > 0) {
    node.service = new CapacityService(
      { libp2p },
      { account: id.account, peerKey: id.peerKey, domain, hardware, models, state: 'online', now },
    )
    await node.service.start()
  }
  return node
}

function dhtSize(node: TestNode): number {
  return (node.libp2p.services.dht as any).routingTable.size
}

/** Providers C finds for a model, retried until `ok` holds (DHT provider records spread asynchronously). */
async function findUntil(
  ctx: Ctx,
  what: string,
  modelId: bigint,
  ok: (r: FindProvidersResult) => boolean,
  options: { adapterId?: bigint; bans?: PeerBans } = {},
): Promise<FindProvidersResult> {
  return waitFor(
    what,
    async () => {
      const result = await findProviders(ctx.c.libp2p, modelId, {
        domain,
        timeoutMs: 5_000,
        fetchTimeoutMs: 5_000,
        ...options,
      })
      return ok(result) ? result : undefined
    },
    60_000,
  )
}

const peerIds = (r: FindProvidersResult) => r.providers.map((p) => p.peerId).sort()

test.before(async (ctx) => {
  ctx.nodes = []
  ctx.a = await startNode(ctx, 'A', [offer(1n, 0n, { priceIn: 1_000n, priceOut: 1_000n })])
  ctx.b = await startNode(ctx, 'B', [
    offer(1n, 0n, { priceIn: 2_000n, priceOut: 2_000n }),
    offer(1n, 7n, { priceIn: 3_000n, priceOut: 3_000n, warm: false }),
  ])
  ctx.c = await startNode(ctx, 'C', [])
  ctx.d = await startNode(ctx, 'D', [offer(1n)], () => Date.now() - 20 * 60_000)
  // a full mesh: each node dials the ones started before it
  for (let i = 1; i < ctx.nodes.length; i++)
    for (let j = 0; j < i; j++) await ctx.nodes[i]!.libp2p.dial(ctx.nodes[j]!.libp2p.getMultiaddrs())
  await waitFor('every DHT routing table to hold the 3 other nodes', () =>
    ctx.nodes.every((n) => dhtSize(n) >= 3),
  )
})

test.after(async (ctx) => {
  for (const node of ctx.nodes ?? []) await node.service?.stop().catch(() => {})
  await Promise.all((ctx.nodes ?? []).map((n) => stopQuietly(n.libp2p)))
})

test('providers advertise their model keys (and adapter keys) on the DHT', async (ctx) => {
  for (const node of [ctx.a, ctx.b, ctx.d]) {
    const keys = providerKeys(node.models)
    await waitFor(`${node.name} to advertise`, async () => {
      const result = await advertise(node.libp2p.contentRouting, keys, {
        signal: AbortSignal.timeout(10_000),
      })
      return result.failed.length === 0 && result.provided.length === keys.length
    })
  }
  assert.is(providerKeys(ctx.b.models).length, 2)
  assert.ok(providerKeys(ctx.b.models)[1]!.equals(modelProviderKey(1n, 7n)))
})

test('a node that serves nothing finds both live providers, drops the expired one, and ranks them', async (ctx) => {
  const want = [ctx.a, ctx.b].map((n) => n.id.peerId).sort()
  const result = await findUntil(
    ctx,
    'C to find A and B and refuse D',
    1n,
    (r) =>
      JSON.stringify(peerIds(r)) === JSON.stringify(want) &&
      r.rejected.some((x) => x.peerId === ctx.d.id.peerId),
  )
  const expired = result.rejected.find((x) => x.peerId === ctx.d.id.peerId)!
  assert.is(expired.code, 'CAPACITY_EXPIRED')
  for (const p of result.providers) {
    assert.is(p.signer, ctx.nodes.find((n) => n.id.peerId === p.peerId)!.id.account.address)
    assert.ok(result.latencyMs.has(p.peerId))
  }
  const ranked = rankProviders(result.providers, { modelId: 1n, latencyMs: result.latencyMs })
  assert.equal(
    ranked.map((r) => r.provider.peerId),
    [ctx.a.id.peerId, ctx.b.id.peerId],
    'A is cheaper',
  )
  assert.is(ranked[0]!.price, 2_000n)

  // a limit of one stops the search at the first usable provider
  const one = await findProviders(ctx.c.libp2p, 1n, { domain, limit: 1, timeoutMs: 5_000 })
  assert.is(one.providers.length, 1)
})

test('an adapter is found only at the provider that lists it', async (ctx) => {
  const result = await findUntil(ctx, 'C to find adapter 7 at B', 1n, (r) => r.providers.length === 1, {
    adapterId: 7n,
  })
  assert.equal(peerIds(result), [ctx.b.id.peerId])
  const ranked = rankProviders(result.providers, { modelId: 1n, adapterId: 7n, latencyMs: result.latencyMs })
  assert.is(ranked[0]!.offer.warm, false)
  // nobody offers model 2
  const none = await findProviders(ctx.c.libp2p, 2n, { domain, timeoutMs: 3_000 })
  assert.equal(none.providers, [])
})

test('a provider that withdraws, then stops, is dropped, and a failing one is banned', async (ctx) => {
  await ctx.b.service!.withdraw()
  const draining = await findUntil(ctx, 'B to be refused as draining', 1n, (r) =>
    r.rejected.some((x) => x.peerId === ctx.b.id.peerId),
  )
  assert.equal(peerIds(draining), [ctx.a.id.peerId])
  const refusal = draining.rejected.find((x) => x.peerId === ctx.b.id.peerId)!
  assert.is(refusal.code, 'CAPACITY_NOT_OFFERED')
  assert.match(refusal.message, /draining/)

  await ctx.b.service!.stop()
  await ctx.b.libp2p.stop()
  const bans = new PeerBans({ banMs: 60_000 })
  // B's provider record outlives B (48 hours on the DHT): the dial fails, and B is banned
  const stopped = await findUntil(
    ctx,
    'B to be refused as unreachable',
    1n,
    (r) => r.rejected.some((x) => x.peerId === ctx.b.id.peerId && x.code === 'CAPACITY_UNREACHABLE'),
    { bans },
  )
  assert.equal(peerIds(stopped), [ctx.a.id.peerId])
  assert.ok(bans.isBanned(ctx.b.id.peerId))
  // the expired D is banned too (a peer serving expired records is at fault)
  assert.ok(bans.isBanned(ctx.d.id.peerId))
  const next = await findUntil(ctx, 'banned B to be skipped', 1n, (r) => r.banned.includes(ctx.b.id.peerId), {
    bans,
  })
  assert.equal(peerIds(next), [ctx.a.id.peerId])
  assert.not.ok(next.rejected.some((x) => x.peerId === ctx.b.id.peerId))
})

test.run()
