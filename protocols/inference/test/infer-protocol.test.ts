// /openledger/infer/1.0.0 over real libp2p on loopback, with the real onnx backend: providers A and B
// serve model 1 (and adapters 2, 3 on A), C serves nothing. C gets answers equal to the backend's own,
// with usage and attribution; payments that are not for this node, expired, forged or replayed are
// refused; malformed and oversized frames, bad requests and floods are refused with typed errors while
// the providers keep serving; and when A stops mid-answer, C's NetworkInference finishes it from B, token
// for token what one provider alone would have said.
import '../../common/polyfills.ts'
import type { Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { CapacityService } from '../../capacity/capacity-protocol.ts'
import { advertise, providerKeys } from '../../capacity/discovery.ts'
import { domain, hardware, type Identity, identity, offer, waitFor } from '../../capacity/test/fixtures.ts'
import { startLibp2p, stopQuietly, type TestLibp2p } from '../../capacity/test/nodes.ts'
import { streamMessages } from '../../common/stream-messages.ts'
import { shakespeare } from '../../model/test/helpers.ts'
import { newRequestId, signPaymentAuthorization } from '../../receipts/payment-authorization.ts'
import type { GenerationEvent, InferenceRequest } from '../backend.ts'
import { INFER_PROTOCOL } from '../constants.ts'
import { inferenceError } from '../errors.ts'
import type { AnswerAttribution, AnswerEvent } from '../gateway.ts'
import { inferFrom, type ProviderEvent } from '../infer-client.ts'
import { type InferServedEvent, InferService } from '../infer-service.ts'
import { decodeInferResponse, encodeInferRequest, type PaidRequest } from '../infer-wire.ts'
import { NetworkInference } from '../network-inference.ts'
import { OnnxBackend } from '../onnx-backend.ts'
import { attributor, streamCodeOf, tinyModel } from './fixtures.ts'

interface Provider {
  id: Identity
  libp2p: TestLibp2p
  backend: OnnxBackend
  service: InferService
  capacity: CapacityService
  served: InferServedEvent[]
  /** chunks to send before failing (simulates a crash mid-answer); undefined = never */
  failAfter?: number
}

interface Ctx {
  a: Provider
  b: Provider
  c: { id: Identity; libp2p: TestLibp2p }
  all: TestLibp2p[]
  corpusText: string
}

const test = suite<Ctx>('infer protocol')

async function startProvider(ctx: Ctx, adapters: string[], limits = {}): Promise<Provider> {
  const model = await tinyModel()
  const id = await identity()
  const libp2p = await startLibp2p(id.peerKey)
  ctx.all.push(libp2p)
  const backend = await OnnxBackend.create({
    modelId: '1',
    dir: model.dir,
    adapters,
    adapterLoader: async (adapterId) => (adapterId === '2' ? model.adapters.rust : model.adapters.verse),
    executionProvider: 'cpu',
    limits: { maxConcurrent: 2, maxQueued: 2, ...limits },
  })
  const provider = { id, libp2p, backend, served: [] as InferServedEvent[] } as unknown as Provider
  provider.service = new InferService(
    { libp2p },
    {
      account: id.account.address,
      domain,
      generate: (request, options) => failing(provider, backend.generate(request, options)),
      attribute: attributor(ctx.corpusText),
      onServed: (e) => provider.served.push(e),
    },
  )
  await provider.service.start()
  provider.capacity = new CapacityService(
    { libp2p },
    {
      account: id.account,
      peerKey: id.peerKey,
      domain,
      hardware,
      state: 'online',
      models: [offer(1n), ...adapters.map((a) => offer(1n, BigInt(a)))],
    },
  )
  await provider.capacity.start()
  return provider
}

/** The backend's stream, cut after `failAfter` chunks by stopping the provider's whole libp2p node. */
async function* failing(
  p: Provider,
  events: AsyncIterable<GenerationEvent>,
): AsyncGenerator<GenerationEvent> {
  let chunks = 0
  for await (const e of events) {
    if (e.type === 'chunk' && p.failAfter !== undefined && chunks++ >= p.failAfter) {
      await p.libp2p.stop()
      throw inferenceError('GENERATION_FAILED', 'provider crashed')
    }
    yield e
  }
}

async function paid(
  ctx: Ctx,
  to: Provider,
  request: InferenceRequest,
  change: Partial<PaidRequest['payment']['authorization']> = {},
): Promise<PaidRequest> {
  const payment = await signPaymentAuthorization(
    {
      client: ctx.c.id.account.address,
      node: to.id.account.address,
      model: BigInt(request.model),
      adapter: request.adapter ? BigInt(request.adapter) : 0n,
      maxFee: 10n ** 18n,
      requestId: newRequestId(),
      deadline: BigInt(Math.floor(Date.now() / 1000) + 120),
      ...change,
    },
    ctx.c.id.account,
    domain,
  )
  return { request, payment }
}

async function collect(events: AsyncIterable<ProviderEvent | AnswerEvent | GenerationEvent>) {
  let text = ''
  const tokenIds: number[] = []
  let end: (ProviderEvent | AnswerEvent | GenerationEvent) & { type: 'end' } = undefined as never
  for await (const e of events) {
    if (e.type === 'chunk') {
      text += e.text
      tokenIds.push(...e.tokenIds)
    } else end = e
  }
  return { text, tokenIds, end }
}

const request = (change: Partial<InferenceRequest> = {}): InferenceRequest => ({
  model: '1',
  prompt: 'ROMEO:\nWhat light',
  maxTokens: 24,
  ...change,
})

test.before(async (ctx) => {
  ctx.all = []
  ctx.corpusText = shakespeare(60_000)[0]!.text
  ctx.a = await startProvider(ctx, ['2', '3'])
  ctx.b = await startProvider(ctx, [])
  const cid = await identity()
  const clib = await startLibp2p(cid.peerKey)
  ctx.all.push(clib)
  ctx.c = { id: cid, libp2p: clib }
  for (let i = 1; i < ctx.all.length; i++)
    for (let j = 0; j < i; j++) await ctx.all[i]!.dial(ctx.all[j]!.getMultiaddrs())
  for (const p of [ctx.a, ctx.b]) {
    const keys = providerKeys(p.capacity.current()!.record.models)
    await waitFor('providers to advertise', async () => {
      const r = await advertise(p.libp2p.contentRouting, keys, { signal: AbortSignal.timeout(10_000) })
      return r.failed.length === 0
    })
  }
})

test.after(async (ctx) => {
  for (const p of [ctx.a, ctx.b]) {
    await p?.service.stop().catch(() => {})
    await p?.capacity.stop().catch(() => {})
    await p?.backend.close().catch(() => {})
  }
  await Promise.all((ctx.all ?? []).map((n) => stopQuietly(n)))
})

test('an answer over libp2p equals the backend called directly, with usage and attribution', async (ctx) => {
  for (const adapter of [null, '2', '3']) {
    const direct = await collect(
      (async function* () {
        for await (const e of ctx.a.backend.generate(request({ adapter })))
          yield e.type === 'end' ? { ...e, attribution: null } : e
      })(),
    )
    const remote = await collect(
      inferFrom(ctx.c.libp2p, ctx.a.libp2p.peerId, await paid(ctx, ctx.a, request({ adapter }))),
    )
    assert.ok(direct.text.length > 0)
    assert.is(remote.text, direct.text, `adapter ${adapter}`)
    assert.equal(remote.tokenIds, direct.tokenIds)
    assert.equal(remote.end.usage, direct.end.usage)
    assert.is(remote.end.stopReason, direct.end.stopReason)
    const attribution = (remote.end as { attribution: AnswerAttribution | null }).attribution
    assert.ok(attribution, 'the final message carries the attribution')
    assert.is(attribution!.outputTokens > 0, true)
  }
  assert.ok(ctx.a.served.some((e) => e.outcome === 'served' && e.adapter === '3'))
})

test('payments not for this node, for another model, expired, forged or replayed are refused', async (ctx) => {
  const other = await identity()
  const cases: Array<[string, PaidRequest]> = [
    ['wrong node', await paid(ctx, ctx.a, request(), { node: other.account.address })],
    ['wrong model', await paid(ctx, ctx.a, request(), { model: 9n })],
    ['expired', await paid(ctx, ctx.a, request(), { deadline: BigInt(Math.floor(Date.now() / 1000) - 1) })],
    [
      'too far',
      await paid(ctx, ctx.a, request(), { deadline: BigInt(Math.floor(Date.now() / 1000) + 86_400) }),
    ],
  ]
  const forged = await paid(ctx, ctx.a, request())
  forged.payment.authorization = {
    ...forged.payment.authorization,
    maxFee: forged.payment.authorization.maxFee + 1n,
  }
  cases.push(['forged', forged])
  for (const [what, p] of cases)
    assert.is(await streamCodeOf(inferFrom(ctx.c.libp2p, ctx.a.libp2p.peerId, p)), 'PAYMENT_INVALID', what)
  const once = await paid(ctx, ctx.a, request({ maxTokens: 2 }))
  await collect(inferFrom(ctx.c.libp2p, ctx.a.libp2p.peerId, once))
  assert.is(
    await streamCodeOf(inferFrom(ctx.c.libp2p, ctx.a.libp2p.peerId, once)),
    'PAYMENT_INVALID',
    'replayed',
  )
})

test('bad requests get their typed refusal; malformed and oversized frames PROTOCOL_ERROR; A keeps serving', async (ctx) => {
  const c = ctx.c.libp2p
  const a = ctx.a.libp2p.peerId
  assert.is(
    await streamCodeOf(inferFrom(c, a, await paid(ctx, ctx.a, request({ adapter: '9' })))),
    'UNKNOWN_ADAPTER',
  )
  assert.is(
    await streamCodeOf(inferFrom(c, a, await paid(ctx, ctx.a, request({ maxTokens: 5000 })))),
    'MAX_TOKENS_TOO_LARGE',
  )
  assert.is(
    await streamCodeOf(inferFrom(c, a, await paid(ctx, ctx.a, request({ prompt: 'x'.repeat(20_000) })))),
    'PROMPT_TOO_LARGE',
  )
  const raw = async (bytes: Uint8Array, prefixed = true) => {
    const stream: Stream = await c.dialProtocol(a, INFER_PROTOCOL)
    stream.send(prefixed ? lp.encode.single(bytes) : bytes)
    for await (const frame of lp.decode(streamMessages(stream), { maxDataLength: 65_536 }))
      return decodeInferResponse(frame.subarray())
    return undefined
  }
  const junk = await raw(new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]))
  assert.equal(junk?.type === 'error' && junk.code, 'PROTOCOL_ERROR')
  const huge = await raw(new Uint8Array(70_000))
  assert.equal(huge?.type === 'error' && huge.code, 'PROTOCOL_ERROR')
  const noPayment = await raw(encodeInferRequest(await paid(ctx, ctx.a, request())).subarray(0, 8))
  assert.equal(noPayment?.type === 'error' && noPayment.code, 'PROTOCOL_ERROR')
  const after = await collect(inferFrom(c, a, await paid(ctx, ctx.a, request({ maxTokens: 4 }))))
  assert.is(after.end.usage.completionTokens, 4)
})

test('a client that goes away mid-answer frees the generation slot', async (ctx) => {
  const events = inferFrom(
    ctx.c.libp2p,
    ctx.a.libp2p.peerId,
    await paid(ctx, ctx.a, request({ maxTokens: 400 })),
  )
  let n = 0
  for await (const e of events) if (e.type === 'chunk' && ++n === 3) break
  await waitFor('the provider to notice and free its slot', () =>
    ctx.a.backend.stats().active === 0 && ctx.a.served.some((e) => e.outcome === 'client_gone')
      ? true
      : undefined,
  )
})

test('a flood is refused BUSY, bounded; every stream ends and A serves again after', async (ctx) => {
  const heapBefore = process.memoryUsage().heapUsed
  const results = await Promise.all(
    Array.from({ length: 24 }, async () => {
      try {
        await collect(
          inferFrom(ctx.c.libp2p, ctx.a.libp2p.peerId, await paid(ctx, ctx.a, request({ maxTokens: 16 }))),
        )
        return 'ok'
      } catch (err) {
        return (err as { code?: string }).code
      }
    }),
  )
  const busy = results.filter((r) => r === 'BUSY').length
  assert.ok(busy > 0, `some requests are refused as busy: ${results.join(',')}`)
  assert.ok(
    results.every((r) => r === 'ok' || r === 'BUSY'),
    results.join(','),
  )
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024)
  await waitFor('A to be idle', () => ctx.a.backend.stats().active === 0 && ctx.a.service.activeStreams === 0)
  const again = await collect(
    inferFrom(ctx.c.libp2p, ctx.a.libp2p.peerId, await paid(ctx, ctx.a, request({ maxTokens: 3 }))),
  )
  assert.is(again.end.usage.completionTokens, 3)
})

test('when the chosen provider dies mid-answer, the client finishes it from the other, token for token', async (ctx) => {
  const whole = await collect(ctx.b.backend.generate(request({ maxTokens: 40 })))
  const network = new NetworkInference({ libp2p: ctx.c.libp2p, domain, account: ctx.c.id.account })
  const providers = await waitFor('both providers to be discovered', async () => {
    network.forget()
    const found = await network.providers(1n, 0n)
    return found.length === 2 ? found : undefined
  })
  // the first-ranked provider is the one that fails
  const first = providers[0]!.peerId === ctx.a.libp2p.peerId.toString() ? ctx.a : ctx.b
  const second = first === ctx.a ? ctx.b : ctx.a
  first.failAfter = 10
  const answer = await collect(network.answer(request({ maxTokens: 40 })))
  assert.is(answer.text, whole.text)
  assert.equal(answer.tokenIds, whole.tokenIds)
  const end = answer.end as Extract<AnswerEvent, { type: 'end' }>
  assert.is(end.failovers, 1)
  assert.is(end.servedBy.peerId, second.libp2p.peerId.toString())
  assert.is(end.usage.completionTokens, 40)
  assert.ok(network.bans.isBanned(first.libp2p.peerId.toString()), 'the failed provider is banned')
  // the dead provider is gone from selection: unreachable when records are fetched again
  network.forget()
  const after = await network.providers(1n, 0n)
  assert.equal(
    after.map((p) => p.peerId),
    [second.libp2p.peerId.toString()],
  )
})

test.run()
