// /openledger/capacity/1.0.0 between real libp2p nodes over TCP loopback: a record fetched and verified,
// refreshed, updated and withdrawn; and every hostile or broken responder (an oversized frame, junk, a
// replayed record, an expired one, silence, no frame, busy, no protocol) refused with its code, without
// hanging. The hostile responder is a raw handler swapped in on one node; timeouts are short by option.
import '../../common/polyfills.ts'
import type { Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { CapacityService, fetchCapacity } from '../capacity-protocol.ts'
import { toCapacityPb } from '../capacity-record.ts'
import { CAPACITY_MAX_FRAME_BYTES, CAPACITY_PROTOCOL } from '../constants.ts'
import { CapacityResponse } from '../pb/capacity.ts'
import { domain, hardware, type Identity, identity, offer, rejects, waitFor } from './fixtures.ts'
import { startLibp2p, stopQuietly, type TestLibp2p } from './nodes.ts'

interface Ctx {
  server: TestLibp2p
  serverId: Identity
  service: CapacityService
  client: TestLibp2p
  hostile: TestLibp2p
  /** the hostile node's keys: a service on it must sign with the key of the PeerId it runs on */
  hostileId: Identity
  held: Stream[]
}

const test = suite<Ctx>('capacity protocol')

test.before(async (ctx) => {
  ctx.held = []
  ctx.serverId = await identity()
  ctx.server = await startLibp2p(ctx.serverId.peerKey)
  ctx.client = await startLibp2p()
  ctx.hostileId = await identity()
  ctx.hostile = await startLibp2p(ctx.hostileId.peerKey)
  ctx.service = new CapacityService(
    { libp2p: ctx.server },
    {
      account: ctx.serverId.account,
      peerKey: ctx.serverId.peerKey,
      domain,
      hardware,
      models: [offer(1n), offer(1n, 7n, { warm: false })],
      refreshMs: 2_000,
    },
  )
  await ctx.service.start()
  await ctx.client.dial(ctx.server.getMultiaddrs())
  await ctx.client.dial(ctx.hostile.getMultiaddrs())
})

test.after(async (ctx) => {
  for (const s of ctx.held ?? []) s.abort(new Error('test over'))
  await ctx.service?.stop().catch(() => {})
  await Promise.all([stopQuietly(ctx.server), stopQuietly(ctx.client), stopQuietly(ctx.hostile)])
})

/** Swaps in a raw responder on the hostile node. */
async function respondWith(ctx: Ctx, handler: (stream: Stream) => void | Promise<void>): Promise<void> {
  await ctx.hostile.handle(CAPACITY_PROTOCOL, (stream) => handler(stream), { force: true })
}

test('a client fetches the record and verifies it against the peer it dialed', async (ctx) => {
  const fetched = await fetchCapacity(ctx.client, ctx.server.peerId, { domain })
  assert.is(fetched.peerId, ctx.server.peerId.toString())
  assert.is(fetched.signer, ctx.serverId.account.address)
  assert.is(fetched.record.state, 'joining')
  assert.equal(fetched.record.hardware, hardware)
  assert.equal(
    fetched.record.models.map((m) => [m.modelId, m.adapterId, m.warm]),
    [
      [1n, 0n, true],
      [1n, 7n, false],
    ],
  )
  assert.type(
    fetched.latencyMs,
    'number',
    'the round trip is reported (its value is measured in bench/, not here)',
  )
  // each record lives twice the refresh period (2 s), counted from the clock in ms, in whole seconds
  const lifetime = fetched.record.expiresAt - fetched.record.issuedAt
  assert.ok(lifetime === 4 || lifetime === 5, String(lifetime))
  assert.is(ctx.service.counters().served, 1)
})

test('the record is re-signed every refresh period with a higher sequence', async (ctx) => {
  const first = await fetchCapacity(ctx.client, ctx.server.peerId, { domain })
  const later = await waitFor('a refreshed record', async () => {
    const next = await fetchCapacity(ctx.client, ctx.server.peerId, { domain })
    return next.record.sequence > first.record.sequence ? next : undefined
  })
  assert.ok(later.record.issuedAt >= first.record.issuedAt)
})

test('update() and withdraw() are served at once', async (ctx) => {
  await ctx.service.update({ state: 'online', queueDepth: 5 })
  const online = await fetchCapacity(ctx.client, ctx.server.peerId, { domain })
  assert.is(online.record.state, 'online')
  assert.is(online.record.queueDepth, 5)
  await ctx.service.withdraw()
  const draining = await fetchCapacity(ctx.client, ctx.server.peerId, { domain })
  assert.is(draining.record.state, 'draining')
  assert.ok(draining.record.sequence > online.record.sequence)
  await ctx.service.update({ state: 'online' })
})

test('CAPACITY_PEER_MISMATCH: another peer replays a valid signed record', async (ctx) => {
  const signed = ctx.service.current()!
  const frame = CapacityResponse.encode({ status: CapacityResponse.Status.OK, record: toCapacityPb(signed) })
  await respondWith(ctx, async (stream) => {
    stream.send(lp.encode.single(frame))
    await stream.close()
  })
  await rejects(() => fetchCapacity(ctx.client, ctx.hostile.peerId, { domain }), 'CAPACITY_PEER_MISMATCH')
})

test('CAPACITY_OVERSIZED: a frame over 64 KiB is refused from its length prefix', async (ctx) => {
  await respondWith(ctx, async (stream) => {
    stream.send(lp.encode.single(new Uint8Array(CAPACITY_MAX_FRAME_BYTES + 1)))
    await stream.close().catch(() => {})
  })
  await rejects(
    () => fetchCapacity(ctx.client, ctx.hostile.peerId, { domain, timeoutMs: 5_000 }),
    'CAPACITY_OVERSIZED',
  )
  // a prefix that claims a huge frame and never sends it is refused the same way, at once
  await respondWith(ctx, (stream) => {
    stream.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]))
    ctx.held.push(stream)
  })
  await rejects(
    () => fetchCapacity(ctx.client, ctx.hostile.peerId, { domain, timeoutMs: 5_000 }),
    'CAPACITY_OVERSIZED',
  )
})

test('CAPACITY_MALFORMED and CAPACITY_STREAM_ENDED: junk, or no frame at all', async (ctx) => {
  await respondWith(ctx, async (stream) => {
    stream.send(lp.encode.single(Uint8Array.from([0x12, 0xff, 0xff, 0xff])))
    await stream.close()
  })
  await rejects(() => fetchCapacity(ctx.client, ctx.hostile.peerId, { domain }), 'CAPACITY_MALFORMED')
  await respondWith(ctx, async (stream) => {
    await stream.close()
  })
  await rejects(() => fetchCapacity(ctx.client, ctx.hostile.peerId, { domain }), 'CAPACITY_STREAM_ENDED')
})

test('CAPACITY_TIMEOUT: a peer that accepts the stream and never answers', async (ctx) => {
  await respondWith(ctx, (stream) => {
    ctx.held.push(stream)
  })
  const started = Date.now()
  await rejects(
    () => fetchCapacity(ctx.client, ctx.hostile.peerId, { domain, timeoutMs: 500 }),
    'CAPACITY_TIMEOUT',
  )
  // a hang guard, not a timing: the fetch ended on its own timeout, not the test's
  assert.ok(Date.now() - started < 10_000)
  // the caller's own abort is the caller's reason, not a capacity error
  const controller = new AbortController()
  const pending = fetchCapacity(ctx.client, ctx.hostile.peerId, { domain, signal: controller.signal })
  setTimeout(() => controller.abort(new Error('caller gave up')), 100)
  try {
    await pending
    assert.unreachable()
  } catch (err) {
    assert.is((err as Error).message, 'caller gave up')
  }
})

test('CAPACITY_EXPIRED: a node whose clock is 20 minutes behind serves records already expired', async (ctx) => {
  await ctx.hostile.unhandle(CAPACITY_PROTOCOL)
  const skewed = new CapacityService(
    { libp2p: ctx.hostile },
    {
      account: ctx.hostileId.account,
      peerKey: ctx.hostileId.peerKey,
      domain,
      hardware,
      now: () => Date.now() - 20 * 60_000,
    },
  )
  await skewed.start()
  try {
    await rejects(() => fetchCapacity(ctx.client, ctx.hostile.peerId, { domain }), 'CAPACITY_EXPIRED')
  } finally {
    await skewed.stop()
  }
})

test('CAPACITY_BUSY past the concurrent-stream limit, CAPACITY_UNREACHABLE without the protocol', async (ctx) => {
  const busy = new CapacityService(
    { libp2p: ctx.hostile },
    {
      account: ctx.hostileId.account,
      peerKey: ctx.hostileId.peerKey,
      domain,
      hardware,
      maxConcurrentStreams: 0,
    },
  )
  await busy.start()
  try {
    await rejects(() => fetchCapacity(ctx.client, ctx.hostile.peerId, { domain }), 'CAPACITY_BUSY')
    assert.is(busy.counters().busy, 1)
  } finally {
    await busy.stop()
  }
  await rejects(() => fetchCapacity(ctx.client, ctx.hostile.peerId, { domain }), 'CAPACITY_UNREACHABLE')
})

test('a stopped node is unreachable, and its service serves nothing', async (ctx) => {
  await ctx.service.stop()
  assert.is(ctx.service.current(), undefined)
  await rejects(() => fetchCapacity(ctx.client, ctx.server.peerId, { domain }), 'CAPACITY_UNREACHABLE')
  await ctx.server.stop()
  await rejects(
    () => fetchCapacity(ctx.client, ctx.server.peerId, { domain, dialTimeoutMs: 2_000 }),
    'CAPACITY_UNREACHABLE',
  )
})

test.run()
