// The OpenAI-compatible API as the official `openai` client (6.x) meets it: the node's real fastify app
// (access checks, body limits) in front of the real onnx backend serving model 1 with adapters 2 and 3,
// through the node's ServingGateway. Lists models and adapters (with `parent`), streams a chat completion
// and answers a completion whole, both equal to the backend's own generation and carrying `attribution`;
// refusals arrive in OpenAI's error shape with the right status, and those that retrying cannot fix are
// not retried; a reader that leaves mid-stream frees its slot; a flood is refused as busy (429) and the
// node keeps serving.
import '../../protocols/common/polyfills.ts'
import OpenAI from 'openai'
import { Registry } from 'prom-client'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { waitFor } from '../../protocols/capacity/test/fixtures.ts'
import type { InferenceRequest } from '../../protocols/inference/backend.ts'
import type { AnswerAttribution } from '../../protocols/inference/gateway.ts'
import { OnnxBackend } from '../../protocols/inference/onnx-backend.ts'
import { ServingGateway } from '../../protocols/inference/serving-gateway.ts'
import { attributor, tinyModel } from '../../protocols/inference/test/fixtures.ts'
import { shakespeare } from '../../protocols/model/test/helpers.ts'
import { registerOpenAiRoutes, renderChat } from '../api/openai.ts'
import { createApi } from '../api/server.ts'

interface Ctx {
  backend: OnnxBackend
  app: ReturnType<typeof createApi>
  url: string
  token: string
  requests: string[]
}

const test = suite<Ctx>('openai api')
const TOKEN = 'test-token-0123456789'

const client = (ctx: Ctx, opts: { apiKey?: string; maxRetries?: number } = {}) =>
  new OpenAI({ baseURL: `${ctx.url}/v1`, apiKey: opts.apiKey ?? TOKEN, maxRetries: opts.maxRetries ?? 2 })

async function direct(ctx: Ctx, request: InferenceRequest): Promise<string> {
  let text = ''
  for await (const e of ctx.backend.generate(request)) if (e.type === 'chunk') text += e.text
  return text
}

test.before(async (ctx) => {
  const model = await tinyModel()
  ctx.backend = await OnnxBackend.create({
    modelId: '1',
    dir: model.dir,
    adapters: ['2', '3'],
    adapterLoader: async (id) => (id === '2' ? model.adapters.rust : model.adapters.verse),
    executionProvider: 'cpu',
    limits: { maxConcurrent: 2, maxQueued: 2, maxTokens: 200, maxPromptBytes: 2048 },
  })
  const gateway = new ServingGateway({
    backends: new Map([['1', ctx.backend]]),
    attribute: attributor(shakespeare(60_000)[0]!.text),
    self: { peerId: '12D3KooWself', account: `0x${'22'.repeat(20)}` },
  })
  ctx.requests = []
  ctx.app = createApi(
    { ready: () => true, nodeInfo: () => ({}), peers: async () => [], metrics: new Registry() },
    [(app) => registerOpenAiRoutes(app, () => gateway)],
    { token: TOKEN, apiHost: '127.0.0.1', allowedHosts: [] },
  )
  ctx.app.addHook('onRequest', async (req) => void ctx.requests.push(`${req.method} ${req.url}`))
  await ctx.app.listen({ host: '127.0.0.1', port: 0 })
  const bound = ctx.app.server.address() as { port: number }
  ctx.url = `http://127.0.0.1:${bound.port}`
})

test.after(async (ctx) => {
  await ctx.app?.close()
  await ctx.backend?.close()
})

test('GET /v1/models lists the base model and its adapters with their parent', async (ctx) => {
  const models = []
  for await (const m of client(ctx).models.list()) models.push(m)
  const byId = Object.fromEntries(models.map((m) => [m.id, m as unknown as Record<string, unknown>]))
  assert.equal(Object.keys(byId).sort(), ['1', '2', '3'])
  assert.is(byId['1']!.parent, null)
  assert.is(byId['2']!.parent, '1')
  assert.is(byId['3']!.parent, '1')
  assert.is(byId['2']!.object, 'model')
})

test('a streamed chat completion equals the backend, ends with [DONE] and carries the attribution', async (ctx) => {
  const messages = [{ role: 'user' as const, content: 'What light through yonder window' }]
  const stream = await client(ctx).chat.completions.create({
    model: '3',
    messages,
    max_tokens: 40,
    temperature: 0,
    stream: true,
  })
  let text = ''
  let last: Record<string, unknown> | undefined
  let roles = 0
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta
    if (delta?.role) roles++
    text += delta?.content ?? ''
    last = chunk as unknown as Record<string, unknown>
  }
  const expected = await direct(ctx, {
    model: '1',
    adapter: '3',
    prompt: renderChat(messages),
    maxTokens: 40,
    temperature: 0,
  })
  assert.ok(expected.length > 0)
  assert.is(text, expected)
  assert.is(roles, 1)
  const attribution = last?.attribution as AnswerAttribution
  assert.ok(attribution, 'the final chunk carries the attribution')
  assert.is(typeof attribution.paramsVersion, 'string')
  assert.is((last!.choices as { finish_reason: string }[])[0]!.finish_reason, 'length')
  // The raw stream ends with [DONE] (the client hides it).
  const res = await fetch(`${ctx.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: '1', messages, max_tokens: 5, stream: true }),
  })
  assert.is(res.headers.get('content-type')?.split(';')[0], 'text/event-stream')
  assert.ok((await res.text()).trimEnd().endsWith('data: [DONE]'))
})

test('a completion answered whole: text, usage and attribution, equal to the backend', async (ctx) => {
  const prompt = 'To be, or not to be'
  const completion = await client(ctx, { maxRetries: 0 }).completions.create({
    model: '1',
    prompt,
    max_tokens: 30,
    temperature: 0,
  })
  const expected = await direct(ctx, { model: '1', prompt, maxTokens: 30, temperature: 0 })
  assert.is(completion.choices[0]!.text, expected)
  assert.is(completion.object, 'text_completion')
  assert.is(completion.usage?.completion_tokens, 30)
  assert.ok((completion.usage?.prompt_tokens ?? 0) > 0)
  const extra = completion as unknown as { attribution: AnswerAttribution; served_by: { local: boolean } }
  assert.ok(extra.attribution.outputTokens > 0)
  assert.is(extra.served_by.local, true)
  // Sampling with a seed is reproducible through the API.
  const sampled = () =>
    client(ctx, { maxRetries: 0 }).completions.create({
      model: '2',
      prompt,
      max_tokens: 20,
      temperature: 1,
      seed: 7,
    })
  assert.is((await sampled()).choices[0]!.text, (await sampled()).choices[0]!.text)
})

test("refusals in OpenAI's error shape; those a retry cannot fix are not retried", async (ctx) => {
  const c = client(ctx, { maxRetries: 2 })
  const cases: Array<[() => Promise<unknown>, number, string]> = [
    [() => c.completions.create({ model: '999', prompt: 'x', max_tokens: 2 }), 404, 'unknown_model'],
    [() => c.completions.create({ model: 'gpt-4', prompt: 'x', max_tokens: 2 }), 404, 'unknown_model'],
    [
      () => c.completions.create({ model: '1', prompt: 'x'.repeat(4000), max_tokens: 2 }),
      400,
      'prompt_too_large',
    ],
    [() => c.completions.create({ model: '1', prompt: 'x', max_tokens: 201 }), 400, 'max_tokens_too_large'],
    [() => c.completions.create({ model: '1', prompt: 'x', max_tokens: 2, top_p: 0 }), 400, 'bad_request'],
    [() => c.chat.completions.create({ model: '1', messages: [], max_tokens: 2 }), 400, 'bad_request'],
  ]
  for (const [call, status, code] of cases) {
    ctx.requests.length = 0
    const err = await call().then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.instance(err, OpenAI.APIError, code)
    const e = err as InstanceType<typeof OpenAI.APIError>
    assert.is(e.status, status, code)
    assert.is((e.error as { code: string }).code, code)
    assert.is(typeof (e.error as { message: string }).message, 'string')
    assert.is(ctx.requests.length, 1, `${code}: not retried`)
  }
  const unauthorized = await client(ctx, { apiKey: 'wrong', maxRetries: 0 })
    .completions.create({ model: '1', prompt: 'x', max_tokens: 2 })
    .catch((e: unknown) => e)
  assert.instance(unauthorized, OpenAI.AuthenticationError)
  assert.is(
    ((unauthorized as InstanceType<typeof OpenAI.APIError>).error as { code: string }).code,
    'unauthorized',
  )
  // Listing models needs no token (a public read, like the registry's).
  const open = await fetch(`${ctx.url}/v1/models`)
  assert.is(open.status, 200)
})

test('a reader that leaves mid-stream frees its slot; a flood is refused as busy and serving goes on', async (ctx) => {
  const stream = await client(ctx).completions.create({
    model: '1',
    prompt: 'Now is the winter',
    max_tokens: 200,
    temperature: 0,
    stream: true,
  })
  let chunks = 0
  for await (const _ of stream) if (++chunks >= 3) break
  await waitFor('the slot to be freed', () => ctx.backend.stats().active === 0, 10_000)

  const c = client(ctx, { maxRetries: 0 })
  const flood = await Promise.allSettled(
    Array.from({ length: 16 }, () => c.completions.create({ model: '1', prompt: 'Flood', max_tokens: 150 })),
  )
  const busy = flood.filter(
    (r) => r.status === 'rejected' && (r.reason as InstanceType<typeof OpenAI.APIError>).status === 429,
  )
  const served = flood.filter((r) => r.status === 'fulfilled')
  assert.ok(busy.length >= 16 - 4, `${busy.length} refused as busy`)
  assert.ok(served.length >= 1 && served.length <= 4, `${served.length} served`)
  assert.is(busy.length + served.length, 16)
  const after = await c.completions.create({ model: '1', prompt: 'Still here', max_tokens: 3 })
  assert.is(after.usage?.completion_tokens, 3)
})

test.run()
