// The `openai-http` backend against a stand-in engine: a real HTTP server on loopback that speaks vLLM's
// OpenAI completions API (SSE `data: {...}` events, a usage event, `data: [DONE]`), `/v1/models`,
// `/v1/load_lora_adapter`, `/v1/unload_lora_adapter` and `/detokenize`. Its "model" continues a fixed
// text from the prompt's length (one character per token, token id = char code, `|` is end-of-text), so a
// resumed answer must equal the uninterrupted one. Proves: answers and usage as the engine sent them,
// adapters mapped to LoRA names and loaded once under concurrency, the LRU of loaded LoRAs, engine
// failures and misbehaviour as typed errors, timeouts, aborts closing the engine's request, continuation,
// and the request limits.
import '../../common/polyfills.ts'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { GenerationEnd, GenerationEvent, InferenceRequest } from '../backend.ts'
import { InferenceError } from '../errors.ts'
import { OpenAiHttpBackend, type OpenAiHttpBackendOptions } from '../openai-http-backend.ts'

const BASE = 'base-engine'
const EOS = '|'
const textOf = (model: string): string =>
  model === BASE ? `the quick brown fox jumps over the lazy dog${EOS}` : `${model} sings a summer song${EOS}`
const ids = (s: string): number[] => [...s].map((c) => c.charCodeAt(0))

interface Deferred<T = void> {
  promise: Promise<T>
  resolve: (v: T) => void
}
function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** a request body as the engine reads it */
type Body = any
type Script = (body: Body, res: ServerResponse) => void

const sse = (res: ServerResponse, data: unknown): boolean =>
  res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' })
  res.flushHeaders()
}

const event = (model: string, choice: object | null, usage: object | null = null): object => ({
  id: 'cmpl-test',
  object: 'text_completion',
  created: 0,
  model,
  choices: choice ? [{ index: 0, logprobs: null, finish_reason: null, stop_reason: null, ...choice }] : [],
  usage,
})

class StandInEngine {
  readonly server: Server
  url = ''
  /** every request, in arrival order */
  log: Array<{ path: string; body: Body }> = []
  /** model names it serves: the base, and LoRAs (started with them, or loaded at runtime) */
  served = new Set<string>()
  /** replaces the completion handler for one test */
  script: Script | null = null
  /** load requests wait for it when set */
  loadGate: Promise<void> | null = null
  loadArrived = deferred()
  loadStatus = 200
  sendUsage = true
  /**
   * Each completion response, and when its connection closed (with whether the engine had finished it).
   * A response never closed fails the test after 10 s rather than hanging it.
   */
  streams: Array<{ closed: Promise<boolean> }> = []

  constructor() {
    this.server = createServer((req, res) => {
      let raw = ''
      req.setEncoding('utf8')
      req.on('data', (c) => {
        raw += c
      })
      req.on('end', () => this.handle(req, res, raw ? JSON.parse(raw) : undefined))
    })
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`
    return this
  }

  reset(): void {
    this.log = []
    this.served = new Set([BASE, 'verse-lora'])
    this.script = null
    this.loadGate = null
    this.loadArrived = deferred()
    this.loadStatus = 200
    this.sendUsage = true
    this.streams = []
  }

  paths(prefix: string): Body[] {
    return this.log.filter((r) => r.path === prefix).map((r) => r.body)
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise((r) => this.server.close(r))
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body: Body): Promise<void> {
    const path = req.url ?? ''
    this.log.push({ path, body })
    if (path === '/v1/models' && req.method === 'GET')
      return json(res, 200, { object: 'list', data: [...this.served].map((id) => ({ id, object: 'model' })) })
    if (path === '/detokenize') return json(res, 200, { prompt: String.fromCharCode(...body.tokens) })
    if (path === '/v1/load_lora_adapter') {
      this.loadArrived.resolve()
      await this.loadGate
      if (this.loadStatus !== 200) return json(res, this.loadStatus, { message: 'disk on fire' })
      if (this.served.has(body.lora_name))
        return json(res, 400, { message: `The lora adapter '${body.lora_name}' has already been loaded.` })
      this.served.add(body.lora_name)
      return void res.end(`Success: LoRA adapter '${body.lora_name}' added successfully.`)
    }
    if (path === '/v1/unload_lora_adapter') {
      this.served.delete(body.lora_name)
      return void res.end('Success')
    }
    if (path !== '/v1/completions') return json(res, 404, { detail: 'Not Found' })
    const closed = deferred<boolean>()
    const failsafe = setTimeout(() => closed.resolve(true), 10_000)
    res.on('close', () => {
      clearTimeout(failsafe)
      closed.resolve(res.writableFinished)
    })
    this.streams.push({ closed: closed.promise })
    if (this.script) return this.script(body, res)
    this.complete(body, res)
  }

  /** vLLM's streamed completion: one event per token with its id, the finish, the usage, [DONE]. */
  private complete(body: Body, res: ServerResponse): void {
    const { model } = body
    if (!this.served.has(model)) {
      json(res, 404, { object: 'error', message: `The model \`${model}\` does not exist.`, code: 404 })
      return
    }
    const prompt: string = typeof body.prompt === 'string' ? body.prompt : String.fromCharCode(...body.prompt)
    const source = textOf(model)
    let out = ''
    let finish = 'length'
    let stopReason: string | null = null
    let generated = 0
    while (generated < body.max_tokens) {
      const c = source[(prompt.length + generated) % source.length]
      generated++
      if (c === EOS) {
        finish = 'stop'
        break
      }
      out += c
      const stop = (body.stop ?? []).find((s: string) => out.endsWith(s))
      if (stop) {
        out = out.slice(0, -stop.length)
        finish = 'stop'
        stopReason = stop
        break
      }
    }
    sseHead(res)
    const chars = [...out]
    chars.forEach((c, i) => {
      const first = i === 0 && body.return_token_ids ? { prompt_token_ids: ids(prompt) } : {}
      const tokenIds = body.return_token_ids ? { token_ids: [c.charCodeAt(0)] } : {}
      sse(res, event(model, { text: c, ...tokenIds, ...first }))
    })
    sse(res, event(model, { text: '', finish_reason: finish, stop_reason: stopReason }))
    if (this.sendUsage && body.stream_options?.include_usage)
      sse(
        res,
        event(model, null, {
          prompt_tokens: prompt.length,
          completion_tokens: generated,
          total_tokens: prompt.length + generated,
        }),
      )
    sse(res, '[DONE]')
    res.end()
  }
}

/** What the engine would answer for `prompt`: the continuation of its text, up to end-of-text or n tokens. */
function expected(prompt: string, n: number, model = BASE): string {
  const source = textOf(model)
  let out = ''
  for (let i = 0; i < n; i++) {
    const c = source[(prompt.length + i) % source.length]
    if (c === EOS) break
    out += c
  }
  return out
}

async function collect(
  stream: AsyncIterable<GenerationEvent>,
): Promise<{ text: string; tokenIds: number[]; chunks: number; end: GenerationEnd }> {
  let text = ''
  const tokenIds: number[] = []
  let chunks = 0
  for await (const e of stream) {
    if (e.type === 'end') return { text, tokenIds, chunks, end: e }
    text += e.text
    tokenIds.push(...e.tokenIds)
    chunks++
  }
  throw new Error('the stream ended without an end event')
}

async function refusal(fn: () => Promise<unknown>): Promise<InferenceError> {
  try {
    await fn()
  } catch (err) {
    if (err instanceof InferenceError) return err
    throw err
  }
  throw new Error('expected a refusal, but it succeeded')
}

const reasonOf = (e: InferenceError): string | undefined => e.type.reason

const engine = new StandInEngine()
const opened: OpenAiHttpBackend[] = []

async function backend(options: Partial<OpenAiHttpBackendOptions> = {}): Promise<OpenAiHttpBackend> {
  const b = await OpenAiHttpBackend.create({
    modelId: '1',
    engineModel: BASE,
    baseUrl: engine.url,
    ...options,
  })
  opened.push(b)
  return b
}

const ask = (r: Partial<InferenceRequest> = {}): InferenceRequest => ({
  model: '1',
  prompt: 'Once',
  maxTokens: 12,
  ...r,
})

const test = suite('openai-http backend')

test.before(async () => {
  await engine.start()
})
test.before.each(() => engine.reset())
test.after.each(async () => {
  for (const b of opened.splice(0)) await b.close()
})
test.after(() => engine.stop())

test('streams the engine answer: text, token ids, usage and the request it sent', async () => {
  const b = await backend({ apiKey: 'sekret' })
  assert.equal(engine.paths('/v1/models').length, 1, 'create probed /v1/models')
  const r = await collect(b.generate(ask({ prompt: 'Once upon', maxTokens: 12, temperature: 0.7, seed: 9 })))
  const want = expected('Once upon', 12)
  assert.is(r.text, want)
  assert.equal(r.tokenIds, ids(want))
  assert.is(r.chunks, 12, 'one chunk per token')
  assert.equal(r.end, {
    type: 'end',
    stopReason: 'max_tokens',
    usage: { promptTokens: 9, completionTokens: 12 },
  })
  const [sent] = engine.paths('/v1/completions')
  assert.equal(
    {
      model: sent.model,
      prompt: sent.prompt,
      max_tokens: sent.max_tokens,
      stream: sent.stream,
      usage: sent.stream_options,
      ids: sent.return_token_ids,
      t: sent.temperature,
      seed: sent.seed,
    },
    {
      model: BASE,
      prompt: 'Once upon',
      max_tokens: 12,
      stream: true,
      usage: { include_usage: true },
      ids: true,
      t: 0.7,
      seed: 9,
    },
  )

  // end of text, a stop string, token ids as the prompt, and an engine that sends no usage
  const eot = await collect(b.generate(ask({ prompt: 'x'.repeat(30), maxTokens: 40 })))
  assert.is(eot.text, expected('x'.repeat(30), 40))
  assert.is(eot.end.stopReason, 'end_of_text')
  const stop = await collect(b.generate(ask({ prompt: '', maxTokens: 40, stop: ['fox'] })))
  assert.is(stop.text, 'the quick brown ')
  assert.is(stop.end.stopReason, 'stop')
  assert.equal(engine.paths('/v1/completions').at(-1).stop, ['fox'])
  engine.sendUsage = false
  const tokens = await collect(
    b.generate(ask({ prompt: undefined, promptTokenIds: ids('abcd'), maxTokens: 5 })),
  )
  assert.equal(engine.paths('/v1/completions').at(-1).prompt, ids('abcd'))
  assert.is(tokens.text, expected('abcd', 5))
  assert.equal(tokens.end.usage, { promptTokens: 4, completionTokens: 5 }, 'counted without a usage event')
  const zero = await collect(b.generate(ask({ maxTokens: 0 })))
  assert.equal([zero.text, zero.end.stopReason], ['', 'max_tokens'])
  assert.is(engine.paths('/v1/completions').length, 4, 'maxTokens 0 does not ask the engine')
  assert.is(b.stats().active, 0)
})

test('create refuses an engine that does not serve the model, or is not there', async () => {
  const missing = await refusal(() => backend({ engineModel: 'other-model' }))
  assert.is(missing.code, 'MODEL_LOAD_FAILED')
  assert.match(missing.message, 'does not serve other-model')
  // a port nothing listens on any more
  const closed = createServer()
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
  const nowhere = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/v1`
  await new Promise((r) => closed.close(r))
  const down = await refusal(() => backend({ baseUrl: nowhere }))
  assert.is(down.code, 'MODEL_LOAD_FAILED')
  assert.match(down.message, 'ECONNREFUSED')
  const b = await backend({ baseUrl: nowhere, probe: false })
  const e = await refusal(() => collect(b.generate(ask())))
  assert.is(e.code, 'GENERATION_FAILED')
  assert.match(e.message, 'ECONNREFUSED')
})

test("adapters are sent as the engine's LoRA names", async () => {
  const b = await backend({ adapters: { '7': 'verse-lora', '8': 'gone-lora' } })
  const r = await collect(b.generate(ask({ adapter: '7', prompt: '', maxTokens: 10 })))
  assert.is(engine.paths('/v1/completions')[0].model, 'verse-lora')
  assert.is(r.text, expected('', 10, 'verse-lora'))
  assert.is.not(r.text, expected('', 10))
  assert.equal(
    b.models().map((m) => [m.id, m.kind, m.parent, m.backend]),
    [
      ['1', 'base', null, 'openai-http'],
      ['7', 'adapter', '1', 'openai-http'],
      ['8', 'adapter', '1', 'openai-http'],
    ],
  )
  assert.is((await refusal(() => collect(b.generate(ask({ adapter: '9' }))))).code, 'UNKNOWN_ADAPTER')
  assert.is(engine.paths('/v1/completions').length, 1, 'an adapter not offered never reaches the engine')
  const gone = await refusal(() => collect(b.generate(ask({ adapter: '8' }))))
  assert.is(gone.code, 'UNKNOWN_ADAPTER', "the engine's 404")
  assert.match(gone.message, 'does not exist')
})

test('runtime loading: one load for concurrent requests, then none', async () => {
  const b = await backend({
    loadAdaptersAtRuntime: true,
    adapters: { '42': { loraName: 'sql-lora', path: '/loras/sql' } },
  })
  assert.equal(b.models()[1].loaded, false)
  const gate = deferred()
  engine.loadGate = gate.promise
  const runs = [1, 2, 3].map(() => collect(b.generate(ask({ adapter: '42', prompt: 'ab', maxTokens: 6 }))))
  const loading = b.load({ model: '1', adapter: '42' })
  await engine.loadArrived.promise
  gate.resolve()
  const answers = await Promise.all(runs)
  await loading
  assert.equal(engine.paths('/v1/load_lora_adapter'), [{ lora_name: 'sql-lora', lora_path: '/loras/sql' }])
  for (const a of answers) assert.is(a.text, expected('ab', 6, 'sql-lora'))
  assert.ok(engine.paths('/v1/completions').every((c) => c.model === 'sql-lora'))
  await collect(b.generate(ask({ adapter: '42' })))
  assert.is(engine.paths('/v1/load_lora_adapter').length, 1, 'loaded once')
  assert.equal(b.models()[1].loaded, true)

  // the engine restarted and lost it: loaded again, once, and the request still answered
  engine.served.delete('sql-lora')
  const again = await collect(b.generate(ask({ adapter: '42', prompt: 'ab', maxTokens: 6 })))
  assert.is(again.text, expected('ab', 6, 'sql-lora'))
  assert.is(engine.paths('/v1/load_lora_adapter').length, 2)

  await b.unload({ model: '1', adapter: '42' })
  assert.equal(engine.paths('/v1/unload_lora_adapter'), [{ lora_name: 'sql-lora' }])
  assert.equal(b.models()[1].loaded, false)
})

test('runtime loading: at most maxLoadedAdapters, least recently used unloaded first', async () => {
  const adapters = Object.fromEntries(
    ['a', 'b', 'c'].map((id) => [id, { loraName: `${id}-lora`, path: `/l/${id}` }]),
  )
  const b = await backend({ loadAdaptersAtRuntime: true, maxLoadedAdapters: 2, adapters })
  for (const id of ['a', 'b', 'c', 'b', 'a']) {
    const r = await collect(b.generate(ask({ adapter: id, prompt: '', maxTokens: 3 })))
    assert.is(r.text, expected('', 3, `${id}-lora`))
  }
  assert.equal(
    engine.log
      .filter((r) => r.path.includes('load_lora'))
      .map((r) => `${r.path.slice(4, 6)} ${r.body.lora_name}`),
    ['lo a-lora', 'lo b-lora', 'un a-lora', 'lo c-lora', 'un c-lora', 'lo a-lora'],
  )
  assert.equal(
    b.models().map((m) => m.loaded),
    [true, true, true, false],
  )
  assert.is(b.stats().loadedAdapters, 2)
})

test('a failed load is ADAPTER_LOAD_FAILED and the next request loads again', async () => {
  const b = await backend({ loadAdaptersAtRuntime: true, adapters: { '5': { path: '/l/5' } } })
  engine.loadStatus = 500
  const e = await refusal(() => collect(b.generate(ask({ adapter: '5' }))))
  assert.is(e.code, 'ADAPTER_LOAD_FAILED')
  assert.match(e.message, 'disk on fire')
  engine.loadStatus = 200
  await collect(b.generate(ask({ adapter: '5' })))
  assert.equal(
    engine.paths('/v1/load_lora_adapter').map((l) => l.lora_name),
    ['5', '5'],
  )
  assert.is(engine.paths('/v1/completions')[0].model, '5', 'the LoRA name defaults to the adapter id')
})

test("the engine's failures and garbage are typed errors, and the backend keeps serving", async () => {
  const b = await backend({
    bounds: { maxEventBytes: 1024, maxBodyBytes: 4096 },
    // not what ends these cases: only so that a broken bound fails the test soon instead of hanging it
    timeouts: { firstByteMs: 5000, idleMs: 5000 },
  })
  const cases: Array<[string, Script, string, string?]> = [
    ['500', (_, res) => json(res, 500, { error: { message: 'CUDA out of memory' } }), 'GENERATION_FAILED'],
    ['503', (_, res) => json(res, 503, { message: 'overloaded' }), 'BUSY'],
    [
      'context',
      (_, res) => json(res, 400, { message: "This model's maximum context length is 2048 tokens." }),
      'PROMPT_TOO_LARGE',
    ],
    ['400', (_, res) => json(res, 400, { message: 'temperature must be < 2' }), 'INVALID_REQUEST'],
    [
      'error body too large',
      (_, res) => json(res, 500, { message: 'x'.repeat(10_000) }),
      'GENERATION_FAILED',
      'answer too large',
    ],
    ['not SSE', (_, res) => json(res, 200, { choices: [] }), 'GENERATION_FAILED', 'malformed stream'],
    [
      'not JSON',
      (_, res) => {
        sseHead(res)
        sse(res, '{"choices": [{"text": "a"')
      },
      'GENERATION_FAILED',
      'malformed stream',
    ],
    [
      'no choices',
      (_, res) => {
        sseHead(res)
        sse(res, { id: 'x' })
      },
      'GENERATION_FAILED',
      'malformed stream',
    ],
    [
      'bad token ids',
      (body, res) => {
        sseHead(res)
        sse(res, event(body.model, { text: 'a', token_ids: [-1] }))
      },
      'GENERATION_FAILED',
      'malformed stream',
    ],
    [
      'error event',
      (body, res) => {
        sseHead(res)
        sse(res, event(body.model, { text: 'a', token_ids: [97] }))
        sse(res, { error: { message: 'engine died' } })
      },
      'GENERATION_FAILED',
      'engine died',
    ],
    [
      'oversized event',
      (_, res) => {
        sseHead(res)
        // one event's first 2 kB, and never its end: refused without waiting for the rest
        res.write(`data: {"choices": [{"text": "${'a'.repeat(2048)}`)
      },
      'GENERATION_FAILED',
      'event too large',
    ],
    [
      'ended early',
      (body, res) => {
        sseHead(res)
        sse(res, event(body.model, { text: 'a', token_ids: [97] }))
        res.end()
      },
      'GENERATION_FAILED',
      'stream ended early',
    ],
    [
      'more tokens than asked',
      (body, res) => {
        sseHead(res)
        for (let i = 0; i < body.max_tokens + 1; i++)
          sse(res, event(body.model, { text: 'a', token_ids: [97] }))
      },
      'GENERATION_FAILED',
      'malformed stream',
    ],
    [
      'usage over max_tokens',
      (body, res) => {
        sseHead(res)
        sse(res, event(body.model, { text: 'a', token_ids: [97], finish_reason: 'length' }))
        sse(res, event(body.model, null, { prompt_tokens: 1, completion_tokens: 1000 }))
        sse(res, '[DONE]')
        res.end()
      },
      'GENERATION_FAILED',
      'malformed stream',
    ],
    [
      'text after finish',
      (body, res) => {
        sseHead(res)
        sse(res, event(body.model, { text: 'a', finish_reason: 'stop' }))
        sse(res, event(body.model, { text: 'b' }))
      },
      'GENERATION_FAILED',
      'malformed stream',
    ],
  ]
  for (const [name, script, code, reason] of cases) {
    engine.script = script
    const e = await refusal(() => collect(b.generate(ask({ maxTokens: 4 }))))
    assert.is(e.code, code, `${name}: ${e.message}`)
    if (reason) assert.ok(e.message.includes(reason) || reasonOf(e) === reason, `${name}: ${e.message}`)
  }
  // every response the backend gave up on was closed
  assert.ok((await Promise.all(engine.streams.map((s) => s.closed))).length === cases.length)
  engine.script = null
  assert.is((await collect(b.generate(ask({ prompt: '', maxTokens: 3 })))).text, 'the')
  assert.is(b.stats().active, 0)
})

test('an engine that stalls is a TIMEOUT, and its request is closed', async () => {
  const b = await backend({ timeouts: { connectMs: 150, firstByteMs: 150, idleMs: 150 } })
  const stalls: Array<[string, Script, number]> = [
    ['no headers', () => {}, 0],
    ['no first event', (_, res) => sseHead(res), 0],
    [
      'no next event',
      (body, res) => {
        sseHead(res)
        sse(res, event(body.model, { text: 'a', token_ids: [97] }))
      },
      1,
    ],
  ]
  for (const [name, script, chunksBefore] of stalls) {
    engine.script = script
    const chunks: GenerationEvent[] = []
    const e = await refusal(async () => {
      for await (const c of b.generate(ask())) chunks.push(c)
    })
    assert.is(e.code, 'TIMEOUT', `${name}: ${e.message}`)
    assert.is(chunks.length, chunksBefore, name)
    assert.is(
      await engine.streams.at(-1)!.closed,
      false,
      `${name}: the engine's request was closed unfinished`,
    )
  }
})

test("the caller's abort and a break close the engine's request", async () => {
  const b = await backend()
  engine.script = (body, res) => {
    sseHead(res)
    for (const c of 'abc') sse(res, event(body.model, { text: c, token_ids: [c.charCodeAt(0)] }))
  }
  const controller = new AbortController()
  const stream = b.generate(ask(), { signal: controller.signal })[Symbol.asyncIterator]()
  assert.is(((await stream.next()).value as { text: string }).text, 'a')
  assert.is(((await stream.next()).value as { text: string }).text, 'b')
  controller.abort(new Error('client left'))
  assert.is(await engine.streams[0].closed, false, 'closed at the abort, before the next read')
  const e = await refusal(() => stream.next())
  assert.is(e.code, 'ABORTED')
  assert.match(e.message, 'client left')

  for await (const c of b.generate(ask())) if (c.type === 'chunk') break
  assert.is(await engine.streams[1].closed, false)
  assert.is(b.stats().active, 0)
})

test('continuation: the engine gets the prompt plus the text held, and only the rest is emitted', async () => {
  const b = await backend()
  const full = (await collect(b.generate(ask({ prompt: 'Once ', maxTokens: 20 })))).text
  // The client holds 8 tokens but received only 6 characters of their text (2 were held back).
  const continuation = { tokenIds: ids(full.slice(0, 8)), textLength: 6 }
  const resumed = await collect(b.generate(ask({ prompt: 'Once ', maxTokens: 20, continuation })))
  assert.is(full.slice(0, 6) + resumed.text, full, 'one whole answer')
  assert.equal(resumed.end.usage, { promptTokens: 5, completionTokens: 12 })
  assert.equal(engine.paths('/detokenize').at(-1), { model: BASE, tokens: ids(full.slice(0, 8)) })
  const sent = engine.paths('/v1/completions').at(-1)
  assert.equal([sent.prompt, sent.max_tokens], [`Once ${full.slice(0, 8)}`, 12])

  // token ids after token ids
  const byIds = await collect(
    b.generate(ask({ prompt: undefined, promptTokenIds: ids('Once '), maxTokens: 20, continuation })),
  )
  assert.is(full.slice(0, 6) + byIds.text, full)
  assert.equal(engine.paths('/v1/completions').at(-1).prompt, ids(`Once ${full.slice(0, 8)}`))

  // nothing left to generate: only the held-back text, and the engine is not asked to generate
  const asked = engine.paths('/v1/completions').length
  const rest = await collect(b.generate(ask({ prompt: 'Once ', maxTokens: 8, continuation })))
  assert.equal([rest.text, rest.end.stopReason], [full.slice(6, 8), 'max_tokens'])
  assert.is(engine.paths('/v1/completions').length, asked)

  const bad = await refusal(() =>
    collect(b.generate(ask({ maxTokens: 20, continuation: { tokenIds: ids('ab'), textLength: 3 } }))),
  )
  assert.is(bad.code, 'INVALID_REQUEST')
})

test('limits, BUSY, unload and close', async () => {
  const b = await backend({
    limits: { maxConcurrent: 1, maxQueued: 0, maxTokens: 50, maxPromptBytes: 64 },
    drainTimeoutMs: 50,
  })
  const refused = async (r: Partial<InferenceRequest>) =>
    (await refusal(() => collect(b.generate(ask(r))))).code
  assert.is(await refused({ maxTokens: 51 }), 'MAX_TOKENS_TOO_LARGE')
  assert.is(await refused({ prompt: 'x'.repeat(65) }), 'PROMPT_TOO_LARGE')
  assert.is(await refused({ model: '2' }), 'UNKNOWN_MODEL')
  assert.is(await refused({ temperature: -1 }), 'INVALID_REQUEST')
  assert.is(engine.paths('/v1/completions').length, 0, 'refused before the engine is asked')

  engine.script = (body, res) => {
    sseHead(res)
    sse(res, event(body.model, { text: 'a', token_ids: [97] }))
  }
  const running = b.generate(ask())[Symbol.asyncIterator]()
  await running.next()
  assert.is(await refused({}), 'BUSY')
  assert.equal([b.stats().active, b.stats().queued], [1, 0])

  // unload: new requests refused; the running one is ended after the drain timeout
  const unloaded = b.unload({ model: '1' })
  assert.is(await refused({}), 'MODEL_NOT_LOADED')
  await unloaded
  assert.is((await refusal(() => running.next())).code, 'MODEL_NOT_LOADED')
  engine.script = null
  await b.load({ model: '1' })
  assert.is((await collect(b.generate(ask({ prompt: '', maxTokens: 3 })))).text, 'the')

  engine.script = (body, res) => {
    sseHead(res)
    sse(res, event(body.model, { text: 'a', token_ids: [97] }))
  }
  const open = b.generate(ask())[Symbol.asyncIterator]()
  await open.next()
  await b.close()
  assert.is((await refusal(() => open.next())).code, 'BACKEND_CLOSED')
  assert.is(await engine.streams.at(-1)!.closed, false)
  assert.is(await refused({}), 'BACKEND_CLOSED')
})

test.run()
