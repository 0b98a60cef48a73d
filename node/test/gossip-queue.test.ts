// The gossip queues and router without gossipsub: a fake pubsub records what the router reports. Drops
// under overload (IGNOREd, memory bounded), FIFO and LIFO order, the concurrency cap, verdicts remembered,
// and stop() aborting everything at once without waiting for a backlog.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { GossipsubMessage } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type GossipTopic, gossipReject } from '../../protocols/common/gossip.ts'
import { type GossipPubsub, GossipRouter } from '../gossip.ts'
import { GossipQueue } from '../gossip-queue.ts'
import { createMetrics } from '../metrics.ts'

function gate() {
  let open!: () => void
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

test('FIFO serves in arrival order, LIFO newest first', async () => {
  for (const order of ['FIFO', 'LIFO'] as const) {
    const seen: number[] = []
    const q = new GossipQueue<number>(
      { order, maxLength: 10, drop: 'oldest', concurrency: 1 },
      { run: async (n) => void seen.push(n) },
    )
    for (let i = 0; i < 5; i++) q.push(i)
    await q.onIdle()
    assert.equal(seen, order === 'FIFO' ? [0, 1, 2, 3, 4] : [4, 3, 2, 1, 0], order)
  }
})

test('a full queue drops by its policy and never grows past its maximum', async () => {
  for (const drop of ['oldest', 'newest'] as const) {
    const g = gate()
    const ran: number[] = []
    const dropped: number[] = []
    let maxSeen = 0
    const q = new GossipQueue<number>(
      { order: 'FIFO', maxLength: 3, drop, concurrency: 1 },
      {
        run: async (n) => {
          ran.push(n)
          await g.opened
        },
        onDrop: (n, reason) => {
          assert.is(reason, 'full')
          dropped.push(n)
        },
        onLength: (n) => {
          maxSeen = Math.max(maxSeen, n)
        },
      },
    )
    q.push(0)
    await Promise.resolve() // 0 starts and blocks
    await Promise.resolve()
    for (let i = 1; i <= 100; i++) q.push(i)
    assert.is(q.length, 3)
    assert.ok(maxSeen <= 3)
    assert.is(dropped.length, 97)
    g.open()
    await q.onIdle()
    assert.equal(ran, drop === 'oldest' ? [0, 98, 99, 100] : [0, 1, 2, 3], drop)
  }
})

test('a full queue with a fairness key sheds the flooding peer, never the honest one', async () => {
  for (const [drop, order] of [
    ['oldest', 'LIFO'],
    ['oldest', 'FIFO'],
    ['newest', 'FIFO'],
  ] as const) {
    const g = gate()
    const ran: string[] = []
    const dropped: string[] = []
    const q = new GossipQueue<string>(
      { order, maxLength: 8, drop, concurrency: 1 },
      {
        run: async (item) => {
          ran.push(item)
          await g.opened
        },
        onDrop: (item) => void dropped.push(item),
        keyOf: (item) => item.split(':')[0]!,
      },
    )
    q.push('attacker:0')
    await Promise.resolve()
    await Promise.resolve()
    // The honest message arrives early in the flood, and again in the middle of it.
    for (let i = 1; i <= 500; i++) {
      q.push(`attacker:${i}`)
      if (i === 3) q.push('honest:a')
      if (i === 250) q.push('honest:b')
    }
    assert.is(q.length, 8)
    assert.is(dropped.length, 501 + 2 - 1 - 8)
    assert.not.ok(
      dropped.some((d) => d.startsWith('honest')),
      `${drop}/${order}: ${dropped.filter((d) => d.startsWith('honest'))}`,
    )
    g.open()
    await q.onIdle()
    assert.ok(ran.includes('honest:a') && ran.includes('honest:b'), `${drop}/${order}`)
  }
})

test('work in progress never exceeds the concurrency cap', async () => {
  let running = 0
  let peak = 0
  const q = new GossipQueue<number>(
    { order: 'FIFO', maxLength: 100, drop: 'newest', concurrency: 3 },
    {
      run: async () => {
        running++
        peak = Math.max(peak, running)
        await new Promise((r) => setTimeout(r, 1))
        running--
      },
    },
  )
  for (let i = 0; i < 30; i++) q.push(i)
  await q.onIdle()
  assert.is(peak, 3)
})

test('stop() aborts running work, drops the queue and returns without waiting', async () => {
  const never = new Promise<void>(() => {})
  const signals: AbortSignal[] = []
  const dropped: [number, string][] = []
  const q = new GossipQueue<number>(
    { order: 'FIFO', maxLength: 100, drop: 'newest', concurrency: 2 },
    {
      run: async (_n, signal) => {
        signals.push(signal)
        await never // a validator stuck on a read that never answers
      },
      onDrop: (n, reason) => dropped.push([n, reason]),
    },
  )
  for (let i = 0; i < 10; i++) q.push(i)
  await new Promise((r) => setImmediate(r))
  assert.is(signals.length, 2)
  q.stop()
  assert.ok(signals.every((s) => s.aborted))
  assert.is(dropped.length, 8)
  assert.ok(dropped.every(([, reason]) => reason === 'stopped'))
  assert.not.ok(q.push(99), 'a stopped queue takes nothing')
  assert.is(q.length, 0)
})

// ---- The router over a fake pubsub

type MessageListener = (evt: CustomEvent<GossipsubMessage>) => void

class FakePubsub implements GossipPubsub {
  private readonly listeners = new Set<MessageListener>()
  readonly reports: { msgId: string; result: TopicValidatorResult }[] = []
  readonly subscribed: string[] = []
  opts = { asyncValidation: true }
  addEventListener(_type: 'gossipsub:message', listener: MessageListener): void {
    this.listeners.add(listener)
  }
  removeEventListener(_type: 'gossipsub:message', listener: MessageListener): void {
    this.listeners.delete(listener)
  }
  reportMessageValidationResult(msgId: string, _from: string, result: TopicValidatorResult): void {
    this.reports.push({ msgId, result })
  }
  subscribe(topic: string): void {
    this.subscribed.push(topic)
  }
  async publish(): Promise<{ recipients: unknown[] }> {
    return { recipients: [] }
  }
  getScore(): number {
    return -42
  }
  deliver(topic: string, data: Uint8Array, msgId: string, from: GossipsubMessage['propagationSource']): void {
    const detail = {
      msg: { type: 'unsigned', topic, data },
      msgId,
      propagationSource: from,
    } as GossipsubMessage
    const event = new CustomEvent('gossipsub:message', { detail })
    for (const listener of this.listeners) listener(event)
  }
  results(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const r of this.reports) out[r.result] = (out[r.result] ?? 0) + 1
    return out
  }
}

async function routerSetup(validate: GossipTopic<string>['validate']) {
  const pubsub = new FakePubsub()
  const metrics = createMetrics()
  const router = new GossipRouter(pubsub, metrics, pino({ level: 'silent' }))
  const handled: string[] = []
  router.register<string>({
    topic: 't',
    maxBytes: 16,
    queue: { order: 'LIFO', maxLength: 4, drop: 'oldest', concurrency: 1 },
    handlerQueue: { order: 'FIFO', maxLength: 100, drop: 'oldest', concurrency: 1 },
    decode: (bytes) => {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
      if (text.startsWith('!')) throw new Error('not a message')
      return text
    },
    validate,
    handle: async (m) => void handled.push(m),
  })
  const from = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  return { pubsub, router, handled, from, metrics }
}

test('the router sheds a flood as IGNORE, keeps its queue bounded and still serves what it kept', async () => {
  const g = gate()
  const { pubsub, router, handled, from, metrics } = await routerSetup(async (m) => {
    await g.opened
    if (m.startsWith('bad')) gossipReject('BAD', 'bad')
  })
  for (let i = 0; i < 200; i++) pubsub.deliver('t', new TextEncoder().encode(`m${i}`), `id${i}`, from)
  await new Promise((r) => setImmediate(r))
  assert.ok(router.queueLengths().t!.validation <= 4)
  g.open()
  await router.onIdle()
  const results = pubsub.results()
  // The burst arrives before any work starts: the four newest are kept (LIFO), the rest dropped.
  assert.is(results.accept, 4, 'the four newest kept')
  assert.is(results.ignore, 196, 'the rest dropped as IGNORE, never REJECT')
  assert.equal(handled, ['m199', 'm198', 'm197', 'm196'])
  const text = await metrics.registry.metrics()
  assert.match(text, /openledger_gossip_dropped_total\{topic="t",queue="validation",reason="full"\} 196/)
  assert.is(router.peerScore(from.toString()), -42)
  router.stop()
})

test('the router: oversized and undecodable are REJECTed, a REJECTed id replayed is REJECTed unread', async () => {
  let validations = 0
  const { pubsub, router, from } = await routerSetup(async (m) => {
    validations++
    if (m.startsWith('bad')) gossipReject('BAD', 'bad')
  })
  const send = async (text: string, id: string) => {
    pubsub.deliver('t', new TextEncoder().encode(text), id, from)
    await router.onIdle()
    return pubsub.reports.at(-1)!.result
  }
  assert.is(await send('x'.repeat(17), 'big'), TopicValidatorResult.Reject)
  assert.is(await send('!junk', 'junk'), TopicValidatorResult.Reject)
  assert.is(await send('bad1', 'b1'), TopicValidatorResult.Reject)
  assert.is(validations, 1)
  assert.is(await send('bad1', 'b1'), TopicValidatorResult.Reject)
  assert.is(validations, 1, 'the verdict came from the seen-cache')
  assert.is(await send('ok', 'ok'), TopicValidatorResult.Accept)
  assert.is(
    await send('ok', 'ok'),
    TopicValidatorResult.Ignore,
    'an accepted id replayed is not forwarded again',
  )
  pubsub.deliver('other', new Uint8Array(1), 'o', from)
  assert.is(pubsub.reports.at(-1)!.result, TopicValidatorResult.Ignore, 'a topic we do not serve')
  router.stop()
})

test('router.stop() aborts validators in progress and IGNOREs the backlog without waiting', async () => {
  const signals: AbortSignal[] = []
  const { pubsub, router, from } = await routerSetup(async (_m, _from, signal) => {
    signals.push(signal!)
    await new Promise<void>(() => {}) // stuck
  })
  for (let i = 0; i < 3; i++) pubsub.deliver('t', new TextEncoder().encode(`m${i}`), `id${i}`, from)
  await new Promise((r) => setImmediate(r))
  router.stop()
  assert.is(signals.length, 1)
  assert.ok(signals[0]!.aborted)
  assert.is(pubsub.results().ignore, 2, 'the queued two')
  pubsub.deliver('t', new TextEncoder().encode('late'), 'late', from)
  assert.is(pubsub.reports.length, 2, 'a stopped router has stopped listening')
})

test('the router refuses a gossipsub that forwards before validation', () => {
  const pubsub = new FakePubsub()
  pubsub.opts = { asyncValidation: false }
  assert.throws(() => new GossipRouter(pubsub, createMetrics(), pino({ level: 'silent' })))
})

test.run()
