// NetworkInference against hostile providers, over real libp2p: each provider is a real InferService with
// a signed capacity record on the DHT, but its generation is scripted to misbehave. The client bounds what
// a provider streams (never more tokens than asked, never more text than tokens carry), does not ban
// honest providers for a refusal that a poisoned continuation caused, asks a second provider before
// accepting a request fault, refuses a prompt no request frame can hold without dialing anyone, and pays
// at the registry's prices rather than a provider's claim.
import '../../common/polyfills.ts'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { CapacityService } from '../../capacity/capacity-protocol.ts'
import { advertise, PeerBans, providerKeys } from '../../capacity/discovery.ts'
import { domain, hardware, type Identity, identity, offer, waitFor } from '../../capacity/test/fixtures.ts'
import { startLibp2p, stopQuietly, type TestLibp2p } from '../../capacity/test/nodes.ts'
import type { GenerationEvent, InferenceRequest } from '../backend.ts'
import { inferenceError } from '../errors.ts'
import type { AnswerEvent } from '../gateway.ts'
import { InferService } from '../infer-service.ts'
import type { PaidRequest } from '../infer-wire.ts'
import { NetworkInference } from '../network-inference.ts'
import { streamCodeOf } from './fixtures.ts'

type Script = (request: InferenceRequest) => AsyncGenerator<GenerationEvent>

interface Provider {
  id: Identity
  libp2p: TestLibp2p
  script: Script
  seen: PaidRequest[]
}

interface Ctx {
  providers: Provider[]
  client: { id: Identity; libp2p: TestLibp2p }
  all: TestLibp2p[]
  stops: Array<() => Promise<void>>
}

const test = suite<Ctx>('hostile providers')

/** An honest provider: one token per step, token id = position, up to maxTokens. */
const honest: Script = async function* (request) {
  const start = request.continuation?.tokenIds.length ?? 0
  for (let i = start; i < request.maxTokens; i++) yield { type: 'chunk', text: `t${i} `, tokenIds: [i] }
  yield {
    type: 'end',
    stopReason: 'max_tokens',
    usage: { promptTokens: 3, completionTokens: request.maxTokens - start },
  }
}

async function startProvider(ctx: Ctx, price: bigint): Promise<Provider> {
  const id = await identity()
  const libp2p = await startLibp2p(id.peerKey)
  ctx.all.push(libp2p)
  const provider: Provider = { id, libp2p, script: honest, seen: [] }
  const service = new InferService(
    { libp2p },
    {
      account: id.account.address,
      domain,
      generate: (request) => provider.script(request),
      checkPayment: async (paid) => void provider.seen.push(paid),
    },
  )
  await service.start()
  const capacity = new CapacityService(
    { libp2p },
    {
      account: id.account,
      peerKey: id.peerKey,
      domain,
      hardware,
      state: 'online',
      models: [offer(1n, 0n, { priceIn: price, priceOut: price })],
    },
  )
  await capacity.start()
  ctx.stops.push(async () => {
    await service.stop()
    await capacity.stop()
  })
  return provider
}

function client(ctx: Ctx, init: Partial<ConstructorParameters<typeof NetworkInference>[0]> = {}) {
  return new NetworkInference({
    libp2p: ctx.client.libp2p,
    domain,
    account: ctx.client.id.account,
    bans: new PeerBans(),
    ...init,
  })
}

async function run(events: AsyncIterable<AnswerEvent>) {
  let text = ''
  let end: AnswerEvent | undefined
  for await (const e of events) {
    if (e.type === 'chunk') text += e.text
    else end = e
  }
  return { text, end: end as Extract<AnswerEvent, { type: 'end' }> }
}

const request = (maxTokens = 8): InferenceRequest => ({ model: '1', prompt: 'hi', maxTokens })

test.before(async (ctx) => {
  ctx.all = []
  ctx.stops = []
  // Provider 0 is the cheapest, so it is tried first; 1 and 2 are honest.
  ctx.providers = [await startProvider(ctx, 1n), await startProvider(ctx, 5n), await startProvider(ctx, 5n)]
  const cid = await identity()
  ctx.client = { id: cid, libp2p: await startLibp2p(cid.peerKey) }
  ctx.all.push(ctx.client.libp2p)
  for (let i = 1; i < ctx.all.length; i++)
    for (let j = 0; j < i; j++) await ctx.all[i]!.dial(ctx.all[j]!.getMultiaddrs())
  for (const p of ctx.providers)
    await waitFor('providers to advertise', async () => {
      const r = await advertise(p.libp2p.contentRouting, providerKeys([offer(1n)]), {
        signal: AbortSignal.timeout(10_000),
      })
      return r.failed.length === 0
    })
})

test.after(async (ctx) => {
  for (const stop of ctx.stops ?? []) await stop().catch(() => {})
  await Promise.all((ctx.all ?? []).map((n) => stopQuietly(n)))
})

test('a provider streaming past maxTokens is cut off, banned, and the answer finishes elsewhere', async (ctx) => {
  const [hostile] = ctx.providers
  hostile!.script = async function* () {
    for (let i = 0; ; i++) yield { type: 'chunk', text: `x${i} `, tokenIds: [i] }
  }
  const c = client(ctx)
  const { text, end } = await run(c.answer(request(8)))
  assert.is(end.usage.completionTokens, 8)
  assert.is.not(end.servedBy.peerId, hostile!.libp2p.peerId.toString())
  assert.is(end.failovers, 1)
  assert.ok(c.bans.isBanned(hostile!.libp2p.peerId.toString()))
  assert.ok(text.length < 200, text)
})

test('text its tokens cannot carry is cut off the same way', async (ctx) => {
  const [hostile] = ctx.providers
  hostile!.script = async function* () {
    yield { type: 'chunk', text: 'y'.repeat(60_000), tokenIds: [] }
  }
  const c = client(ctx)
  const { end } = await run(c.answer(request(4)))
  assert.is(end.failovers, 1)
  assert.ok(c.bans.isBanned(hostile!.libp2p.peerId.toString()))
})

test('a poisoned continuation never gets the honest providers banned', async (ctx) => {
  const [hostile, h1, h2] = ctx.providers
  hostile!.script = async function* () {
    yield { type: 'chunk', text: 'bad', tokenIds: [999_999] }
    throw inferenceError('GENERATION_FAILED', 'crashed on purpose')
  }
  // The honest ones refuse the continuation (a token outside their vocabulary), as a real backend does.
  for (const p of [h1!, h2!])
    p.script = async function* (r) {
      if (r.continuation?.tokenIds.some((t) => t > 1000))
        throw inferenceError('INVALID_REQUEST', 'token id outside the vocabulary')
      yield* honest(r)
    }
  const c = client(ctx)
  assert.is(await streamCodeOf(c.answer(request(8))), 'INVALID_REQUEST')
  assert.ok(c.bans.isBanned(hostile!.libp2p.peerId.toString()))
  for (const p of [h1!, h2!]) assert.not.ok(c.bans.isBanned(p.libp2p.peerId.toString()))
})

test('a request fault from one provider is checked with a second before the request is refused', async (ctx) => {
  const [liar, h1, h2] = ctx.providers
  liar!.script = async function* () {
    yield* [] // refuses before any chunk
    throw inferenceError('INVALID_REQUEST', 'no, I will not')
  }
  for (const p of [h1!, h2!]) p.script = honest
  const c = client(ctx)
  const { end } = await run(c.answer(request(5)))
  assert.is(end.usage.completionTokens, 5)
  assert.is.not(end.servedBy.peerId, liar!.libp2p.peerId.toString())
})

test('a prompt no request frame can hold is refused before any provider is dialed', async (ctx) => {
  const before = ctx.providers.map((p) => p.seen.length)
  const c = client(ctx)
  assert.is(
    await streamCodeOf(c.answer({ model: '1', prompt: 'z'.repeat(70_000), maxTokens: 2 })),
    'PROMPT_TOO_LARGE',
  )
  assert.equal(
    ctx.providers.map((p) => p.seen.length),
    before,
  )
  for (const p of ctx.providers) assert.not.ok(c.bans.isBanned(p.libp2p.peerId.toString()))
})

test("the fee authorized comes from the registry's prices, not the provider's claim", async (ctx) => {
  for (const p of ctx.providers) p.script = honest
  const [cheap] = ctx.providers
  // The cheapest provider claims 1 wei per 1,000 tokens; the registry says 1,000.
  const c = client(ctx, { pricesOf: async () => ({ priceIn: 1000n, priceOut: 1000n }) })
  const before = cheap!.seen.length
  await run(c.answer(request(10)))
  const paid = cheap!.seen.slice(before)[0]!
  // prompt bound 3 bytes ("hi" + 1) + 10 output tokens, at 1,000 per 1,000 tokens.
  assert.is(paid.payment.authorization.maxFee, 13n)
})

test.run()
