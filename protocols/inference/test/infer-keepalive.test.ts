// A stream carries one request after another: over real libp2p on loopback with the real onnx backend, a
// client's InferStreamPool sends sequential requests on one stream (the provider sees one stream open),
// each answer equal to the backend's own; a replayed authorization is refused on a reused stream too; the
// provider closes an idle stream after its keep-alive and the pool drops it; idle streams are bounded in
// all (BUSY at once beyond maxOpenStreams) and time out when no request comes; refused requests do not
// fill the replay guard; a client that sends far ahead of its answers is cut off, and the provider keeps
// serving.
import '../../common/polyfills.ts'
import type { Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { domain, type Identity, identity, waitFor } from '../../capacity/test/fixtures.ts'
import { startLibp2p, stopQuietly, type TestLibp2p } from '../../capacity/test/nodes.ts'
import { streamMessages } from '../../common/stream-messages.ts'
import { newRequestId, signPaymentAuthorization } from '../../receipts/payment-authorization.ts'
import type { InferenceRequest } from '../backend.ts'
import { INFER_PROTOCOL } from '../constants.ts'
import { inferenceError } from '../errors.ts'
import { inferFrom } from '../infer-client.ts'
import { type InferServedEvent, InferService } from '../infer-service.ts'
import { InferStreamPool } from '../infer-stream-pool.ts'
import {
  decodeInferResponse,
  encodeInferRequest,
  INFER_MAX_REQUEST_BYTES,
  type PaidRequest,
} from '../infer-wire.ts'
import { OnnxBackend } from '../onnx-backend.ts'
import { streamCodeOf, tinyModel } from './fixtures.ts'

interface Ctx {
  provider: { id: Identity; libp2p: TestLibp2p; backend: OnnxBackend; service: InferService }
  served: InferServedEvent[]
  client: { id: Identity; libp2p: TestLibp2p }
}

const test = suite<Ctx>('infer keep-alive')

const KEEP_ALIVE_MS = 400
const REQUEST_TIMEOUT_MS = 600
const MAX_OPEN_STREAMS = 3
const MAX_SEEN = 40
const UNPAID_TOKENS = 13

const request = (change: Partial<InferenceRequest> = {}): InferenceRequest => ({
  model: '1',
  prompt: 'ROMEO:\nWhat light',
  maxTokens: 12,
  ...change,
})

async function paid(ctx: Ctx, req: InferenceRequest): Promise<PaidRequest> {
  const payment = await signPaymentAuthorization(
    {
      client: ctx.client.id.account.address,
      node: ctx.provider.id.account.address,
      model: BigInt(req.model),
      adapter: 0n,
      maxFee: 10n ** 18n,
      requestId: newRequestId(),
      deadline: BigInt(Math.floor(Date.now() / 1000) + 120),
    },
    ctx.client.id.account,
    domain,
  )
  return { request: req, payment }
}

async function textOf(events: AsyncIterable<{ type: string; text?: string }>): Promise<string> {
  let text = ''
  for await (const e of events) if (e.type === 'chunk') text += e.text
  return text
}

test.before(async (ctx) => {
  const model = await tinyModel()
  const id = await identity()
  const libp2p = await startLibp2p(id.peerKey)
  const backend = await OnnxBackend.create({
    modelId: '1',
    dir: model.dir,
    executionProvider: 'cpu',
    limits: { maxConcurrent: 2, maxQueued: 2 },
  })
  ctx.served = []
  const service = new InferService(
    { libp2p },
    {
      account: id.account.address,
      domain,
      generate: (req, options) => backend.generate(req, options),
      onServed: (e) => ctx.served.push(e),
      // A request for UNPAID_TOKENS tokens stands for one its client cannot pay for.
      checkPayment: async (paid) => {
        if (paid.request.maxTokens === UNPAID_TOKENS)
          throw inferenceError('INSUFFICIENT_BALANCE', 'no deposit')
      },
      limits: {
        keepAliveMs: KEEP_ALIVE_MS,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        maxOpenStreams: MAX_OPEN_STREAMS,
        maxSeenRequests: MAX_SEEN,
      },
    },
  )
  await service.start()
  ctx.provider = { id, libp2p, backend, service }
  const cid = await identity()
  ctx.client = { id: cid, libp2p: await startLibp2p(cid.peerKey) }
  await ctx.client.libp2p.dial(libp2p.getMultiaddrs())
})

test.after(async (ctx) => {
  await ctx.provider?.service.stop()
  await ctx.provider?.backend.close()
  await stopQuietly(ctx.provider?.libp2p)
  await stopQuietly(ctx.client?.libp2p)
})

const idle = (ctx: Ctx) =>
  waitFor('the provider to have no infer stream open', () =>
    ctx.provider.service.openStreams === 0 ? true : undefined,
  )

test('sequential requests share one stream; each answer equals the backend own', async (ctx) => {
  const pool = new InferStreamPool(ctx.client.libp2p, { idleMs: 60_000 })
  const peer = ctx.provider.libp2p.peerId
  try {
    const prompts = ['ROMEO:\nWhat light', 'To be, or not to be', 'First Citizen:\n']
    for (const prompt of prompts) {
      const own = await textOf(ctx.provider.backend.generate(request({ prompt })))
      const answer = await textOf(
        inferFrom(ctx.client.libp2p, peer, await paid(ctx, request({ prompt })), { pool }),
      )
      assert.is(answer, own, prompt)
      assert.is(pool.size, 1, 'the stream is parked for the next request')
      assert.is(ctx.provider.service.openStreams, 1, 'the provider holds one stream, not one per request')
    }
    // a replay on the reused stream is refused, and ends that stream
    const once = await paid(ctx, request())
    await textOf(inferFrom(ctx.client.libp2p, peer, once, { pool }))
    assert.is(await streamCodeOf(inferFrom(ctx.client.libp2p, peer, once, { pool })), 'PAYMENT_INVALID')
    assert.is(ctx.served.at(-1)?.code, 'PAYMENT_INVALID')
    assert.is(pool.size, 0, 'a stream that carried a refusal is not parked')
  } finally {
    pool.close()
  }
  await idle(ctx)
})

test('the provider closes an idle stream after its keep-alive; the pool drops it and dials anew', async (ctx) => {
  const pool = new InferStreamPool(ctx.client.libp2p, { idleMs: 60_000 })
  const peer = ctx.provider.libp2p.peerId
  try {
    await textOf(inferFrom(ctx.client.libp2p, peer, await paid(ctx, request()), { pool }))
    assert.is(pool.size, 1)
    await idle(ctx)
    await waitFor('the pool to drop the closed stream', () => (pool.size === 0 ? true : undefined))
    const again = await textOf(inferFrom(ctx.client.libp2p, peer, await paid(ctx, request()), { pool }))
    assert.ok(again.length > 0)
    assert.is(pool.size, 1)
  } finally {
    pool.close()
  }
  await idle(ctx)
})

test('idle streams are bounded: BUSY at once beyond maxOpenStreams; silent ones time out', async (ctx) => {
  const silent: Stream[] = []
  try {
    for (let i = 0; i < MAX_OPEN_STREAMS; i++)
      silent.push(await ctx.client.libp2p.dialProtocol(ctx.provider.libp2p.peerId, INFER_PROTOCOL))
    await waitFor('the provider to hold the silent streams', () =>
      ctx.provider.service.openStreams === MAX_OPEN_STREAMS ? true : undefined,
    )
    assert.is(
      await streamCodeOf(
        inferFrom(ctx.client.libp2p, ctx.provider.libp2p.peerId, await paid(ctx, request())),
      ),
      'BUSY',
    )
    // each silent stream gets TIMEOUT after requestTimeoutMs, which frees its place
    for (const stream of silent) {
      let reply: string | undefined
      for await (const frame of lp.decode(streamMessages(stream), { maxDataLength: 65_536 })) {
        const message = decodeInferResponse(frame.subarray())
        reply = message.type === 'error' ? message.code : message.type
      }
      assert.is(reply, 'TIMEOUT')
    }
    await idle(ctx)
    const after = await textOf(
      inferFrom(ctx.client.libp2p, ctx.provider.libp2p.peerId, await paid(ctx, request())),
    )
    assert.ok(after.length > 0)
  } finally {
    for (const stream of silent) stream.abort(new Error('test over'))
  }
  await idle(ctx)
})

test('refused requests do not fill the replay guard: paid ones are still served after many refusals', async (ctx) => {
  const peer = ctx.provider.libp2p.peerId
  for (let i = 0; i < 3 * MAX_SEEN; i++)
    assert.is(
      await streamCodeOf(
        inferFrom(ctx.client.libp2p, peer, await paid(ctx, request({ maxTokens: UNPAID_TOKENS }))),
      ),
      'INSUFFICIENT_BALANCE',
    )
  for (let i = 0; i < 3; i++)
    assert.ok((await textOf(inferFrom(ctx.client.libp2p, peer, await paid(ctx, request())))).length > 0)
  await idle(ctx)
})

test('a client that sends far ahead of its answers is cut off; the provider keeps serving', async (ctx) => {
  ctx.served.length = 0
  const stream = await ctx.client.libp2p.dialProtocol(ctx.provider.libp2p.peerId, INFER_PROTOCOL)
  const frame = lp.encode.single(encodeInferRequest(await paid(ctx, request({ maxTokens: 200 })))).subarray()
  // one real request, then junk beyond what the provider buffers ahead of its reading
  stream.send(frame)
  const junk = new Uint8Array(3 * INFER_MAX_REQUEST_BYTES)
  for (let at = 0; at < junk.length; at += 16 * 1024) stream.send(junk.subarray(at, at + 16 * 1024))
  let reset = false
  try {
    for await (const _ of streamMessages(stream)) {
      // read whatever the answer had time to send
    }
  } catch {
    reset = true
  }
  assert.ok(reset || stream.status !== 'open', 'the flooding stream is ended')
  await idle(ctx)
  assert.is(ctx.served.at(-1)?.outcome, 'client_gone', 'its answer was cut off, not finished')
  await waitFor('the generation to stop', () =>
    ctx.provider.backend.stats().active === 0 ? true : undefined,
  )
  const after = await textOf(
    inferFrom(ctx.client.libp2p, ctx.provider.libp2p.peerId, await paid(ctx, request())),
  )
  assert.ok(after.length > 0)
})

test.run()
