// The embedded onnx backend over a tiny model with two trained adapters: the same tokens as
// protocols/model's own generation for the same seed, streaming, every refusal with its code while the
// backend keeps serving, abort, BUSY, adapters through the cache, load/unload, close, and the execution
// provider it chose.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type GenerateOptions, OnnxLanguageModel } from '../../model/index.ts'
import type { GenerationEnd, GenerationEvent, InferenceRequest } from '../backend.ts'
import { OnnxBackend, type OnnxBackendOptions } from '../onnx-backend.ts'
import { codeOf, type TinyModel, tinyModel } from './fixtures.ts'

interface Ctx {
  fx: TinyModel
  ref: OnnxLanguageModel
  backend: OnnxBackend
}

const test = suite<Ctx>('onnx backend')

const limits = { maxPromptBytes: 256, maxPromptTokens: 128, maxTokens: 400, maxConcurrent: 4, maxQueued: 4 }

function create(ctx: Ctx, extra: Partial<OnnxBackendOptions> = {}): Promise<OnnxBackend> {
  return OnnxBackend.create({ modelId: 'tiny', dir: ctx.fx.dir, executionProvider: 'cpu', limits, ...extra })
}

interface Collected {
  text: string
  tokens: number[]
  chunks: number
  end: GenerationEnd
}

async function collect(events: AsyncIterable<GenerationEvent>): Promise<Collected> {
  const out = { text: '', tokens: [] as number[], chunks: 0, end: undefined as GenerationEnd | undefined }
  for await (const e of events) {
    assert.ok(out.end === undefined, 'nothing after the end event')
    if (e.type === 'chunk') {
      out.text += e.text
      out.tokens.push(...e.tokenIds)
      out.chunks++
    } else out.end = e
  }
  assert.ok(out.end, 'an end event')
  return out as Collected
}

test.before(async (ctx) => {
  const started = performance.now()
  ctx.fx = await tinyModel()
  console.log(`  fixture: tiny model + 2 adapters trained and saved in ${ctx.fx.trainSeconds.toFixed(1)} s`)
  ctx.ref = await OnnxLanguageModel.load(ctx.fx.dir)
  ctx.backend = await create(ctx)
  console.log(`  setup ${((performance.now() - started) / 1000).toFixed(1)} s`)
})

test.after(async (ctx) => {
  await ctx.backend?.close()
  await ctx.ref?.release()
})

test('models(): the base and its adapters, each with its parent', (ctx) => {
  const models = ctx.backend.models()
  assert.equal(
    models.map((m) => [m.id, m.kind, m.parent, m.backend]),
    [
      ['tiny', 'base', null, 'onnx'],
      ['broken', 'adapter', 'tiny', 'onnx'],
      ['foreign', 'adapter', 'tiny', 'onnx'],
      ['rust', 'adapter', 'tiny', 'onnx'],
      ['verse', 'adapter', 'tiny', 'onnx'],
    ],
  )
  assert.ok(models[0].loaded)
  assert.is(ctx.backend.executionProvider, 'cpu')
})

test('same tokens and text as protocols/model for the same seed: base and each adapter', async (ctx) => {
  const cases: Array<{ prompt: string } & GenerateOptions> = [
    { prompt: 'ROMEO:\n', maxTokens: 30 },
    { prompt: 'KING HENRY:\n', maxTokens: 60, temperature: 0.9, topP: 0.95, seed: 7 },
    { prompt: 'First Citizen:\n', maxTokens: 80, temperature: 1.2, seed: 11, stop: ['\n\n', 'the'] },
    { prompt: '', maxTokens: 0 },
  ]
  let compared = 0
  for (const adapter of [null, 'rust', 'verse'] as const) {
    const weights = adapter === null ? null : ctx.fx.adapters[adapter]
    for (const { prompt, ...opts } of cases) {
      const want = await ctx.ref.generate(prompt, { ...opts, adapter: weights })
      const got = await collect(ctx.backend.generate({ model: 'tiny', adapter, prompt, ...opts }))
      const label = `${adapter ?? 'base'} ${JSON.stringify(opts)}`
      assert.equal(got.tokens, want.tokens, label)
      assert.is(got.text, want.text, label)
      assert.is(got.end.stopReason, want.stopReason, label)
      assert.equal(got.end.usage, { promptTokens: want.promptTokens, completionTokens: want.tokens.length })
      compared += want.tokens.length
      // the prompt as token ids gives the same generation
      const ids = ctx.ref.tokenizer.encode(prompt)
      const byIds = await collect(
        ctx.backend.generate({ model: 'tiny', adapter, promptTokenIds: ids, ...opts }),
      )
      assert.equal(byIds.tokens, want.tokens, `${label} by ids`)
    }
  }
  console.log(`  ${compared} tokens compared over 3 × ${cases.length} cases`)
})

test('streaming: one chunk per token, in order', async (ctx) => {
  const got = await collect(
    ctx.backend.generate({ model: 'tiny', prompt: 'To be', maxTokens: 25, temperature: 0.8, seed: 3 }),
  )
  assert.ok(got.tokens.length > 0)
  assert.ok(got.chunks >= got.tokens.length && got.chunks <= got.tokens.length + 1)
})

test('different adapters give different outputs', async (ctx) => {
  const run = async (adapter: string | null) =>
    (
      await collect(
        ctx.backend.generate({
          model: 'tiny',
          adapter,
          prompt: 'The ',
          maxTokens: 40,
          seed: 5,
          temperature: 0.7,
        }),
      )
    ).tokens
  const [base, rust, verse] = await Promise.all([run(null), run('rust'), run('verse')])
  assert.not.equal(base, rust)
  assert.not.equal(base, verse)
  assert.not.equal(rust, verse)
})

test('each bad request gets its typed error, and the backend keeps serving', async (ctx) => {
  const b = ctx.backend
  const refuse = (r: Partial<InferenceRequest>) => codeOf(() => collect(b.generate(r as InferenceRequest)))
  const good = { model: 'tiny', prompt: 'Hi', maxTokens: 5 }
  assert.is(await refuse({ ...good, model: 'other' }), 'UNKNOWN_MODEL')
  assert.is(await refuse({ ...good, adapter: 'nope' }), 'UNKNOWN_ADAPTER')
  assert.is(await refuse({ ...good, adapter: '../../etc' }), 'UNKNOWN_ADAPTER')
  assert.is(await refuse({ ...good, prompt: 'x'.repeat(257) }), 'PROMPT_TOO_LARGE')
  // under the byte limit, over the token limit once encoded (one token per byte-ish character)
  assert.is(await refuse({ ...good, prompt: '\u{1F980}'.repeat(60) }), 'PROMPT_TOO_LARGE')
  assert.is(
    await refuse({ ...good, promptTokenIds: Array(129).fill(1), prompt: undefined }),
    'PROMPT_TOO_LARGE',
  )
  assert.is(await refuse({ ...good, maxTokens: 401 }), 'MAX_TOKENS_TOO_LARGE')
  assert.is(await refuse({ ...good, promptTokenIds: [1, 1_000_000], prompt: undefined }), 'INVALID_REQUEST')
  assert.is(await refuse({ ...good, temperature: Number.NaN }), 'INVALID_REQUEST')
  assert.is(await refuse({ ...good, adapter: 'broken' }), 'ADAPTER_LOAD_FAILED')
  assert.is(await refuse({ ...good, adapter: 'foreign' }), 'ADAPTER_INVALID')
  assert.equal(b.stats().active + b.stats().queued, 0)
  const after = await collect(b.generate({ ...good, adapter: 'rust' }))
  assert.is(after.end.usage.completionTokens, after.tokens.length)
  assert.ok(!b.adapterCache.has('broken') && !b.adapterCache.has('foreign'))
})

test('abort mid-stream stops within one token', async (ctx) => {
  const ac = new AbortController()
  const events = ctx.backend.generate(
    { model: 'tiny', adapter: 'verse', prompt: 'A', maxTokens: 400, temperature: 1, seed: 9 },
    { signal: ac.signal },
  )
  let chunks = 0
  let abortedAt = 0
  let chunksAfterAbort = 0
  const err = await (async () => {
    for await (const e of events) {
      if (e.type !== 'chunk') continue
      chunks++
      if (abortedAt) chunksAfterAbort++
      if (chunks === 5) {
        setTimeout(() => {
          abortedAt = performance.now()
          ac.abort(new Error('client went away'))
        }, 0)
        await new Promise((r) => setTimeout(r, 5))
      }
    }
  })().catch((e) => e)
  const stopMs = performance.now() - abortedAt
  assert.is(err?.code, 'ABORTED')
  assert.ok(chunksAfterAbort <= 1, `${chunksAfterAbort} chunks after the abort`)
  assert.equal([ctx.backend.stats().active, ctx.backend.stats().queued], [0, 0])
  console.log(`  aborted after ${chunks} chunks; stopped ${stopMs.toFixed(2)} ms after the abort`)
  // a consumer that breaks out frees its slot too
  for await (const _ of ctx.backend.generate({ model: 'tiny', prompt: 'B', maxTokens: 100 })) break
  assert.is(ctx.backend.stats().active, 0)
})

test('BUSY when every slot is taken and the line is full; a waiter can abort; then it serves again', async (ctx) => {
  const b = await create(ctx, { limits: { ...limits, maxConcurrent: 1, maxQueued: 1 } })
  try {
    const req = { model: 'tiny', prompt: 'Now', maxTokens: 20 }
    const first = b.generate(req)[Symbol.asyncIterator]()
    assert.is((await first.next()).value.type, 'chunk') // holds the only slot while its reader pauses
    const second = b.generate(req)[Symbol.asyncIterator]()
    const secondNext = second.next() // waits in the line
    await new Promise((r) => setTimeout(r, 5))
    assert.equal([b.stats().active, b.stats().queued], [1, 1])
    assert.is(await codeOf(() => collect(b.generate(req))), 'BUSY')
    const ac = new AbortController()
    const third = b.generate(req, { signal: ac.signal })[Symbol.asyncIterator]()
    assert.is(await codeOf(() => third.next()), 'BUSY')
    await first.return(undefined) // the reader leaves: the slot passes to the waiter
    assert.is((await secondNext).value.type, 'chunk')
    await second.return(undefined)
    assert.equal([b.stats().active, b.stats().queued], [0, 0])
    // a waiter that aborts leaves the line
    const holder = b.generate(req)[Symbol.asyncIterator]()
    await holder.next()
    const waiter = b.generate(req, { signal: ac.signal })[Symbol.asyncIterator]()
    const waiting = waiter.next()
    await new Promise((r) => setTimeout(r, 5))
    ac.abort(new Error('gave up'))
    assert.is(await codeOf(() => waiting), 'ABORTED')
    await holder.return(undefined)
    assert.equal([b.stats().active, b.stats().queued], [0, 0])
    assert.is((await collect(b.generate(req))).end.type, 'end')
  } finally {
    await b.close()
  }
})

test('adapters through the cache: loaded on first use, evicted by the byte bound, pinned kept, metrics', async (ctx) => {
  const rustBytes = 4 * (192 * 4 + 4 * 160 + 160 * 4 + 4 * ctx.ref.config.vocabSize)
  const b = await create(ctx, { adapterCache: { maxBytes: 2 * rustBytes + 1024, preload: ['rust'] } })
  try {
    assert.ok(b.adapterCache.has('rust'))
    assert.is(b.adapterCache.bytes, rustBytes)
    const req = (adapter: string) =>
      collect(b.generate({ model: 'tiny', adapter, prompt: 'x', maxTokens: 3 }))
    await req('rust')
    await req('verse') // rank 8, twice rust's bytes: both do not fit, rust is evicted
    assert.ok(b.adapterCache.has('verse') && !b.adapterCache.has('rust'))
    await Promise.all([req('rust'), req('rust'), req('rust')])
    const m = b.adapterMetrics()
    assert.equal(
      [m.adapters.rust.requests, m.adapters.rust.hits, m.adapters.rust.loads, m.adapters.rust.evictions],
      [4, 1, 2, 1],
    )
    assert.is(m.adapters.rust.misses + m.adapters.rust.coalesced, 3)
    assert.is(m.adapters.verse.evictions, 1)
    assert.ok(m.bytes <= m.maxBytes)
    const listed = Object.fromEntries(b.models().map((x) => [x.id, x.loaded]))
    assert.equal([listed.rust, listed.verse], [true, false])
    await b.unload({ model: 'tiny', adapter: 'rust' })
    assert.ok(!b.adapterCache.has('rust'))
    await b.load({ model: 'tiny', adapter: 'verse' })
    assert.ok(b.adapterCache.has('verse'))
    assert.is(await codeOf(() => b.load({ model: 'tiny', adapter: 'broken' })), 'ADAPTER_LOAD_FAILED')
  } finally {
    await b.close()
  }
  const pinned = await create(ctx, { adapterCache: { maxBytes: 2 * rustBytes + 1024, pinned: ['rust'] } })
  try {
    for (const adapter of ['verse', 'rust', 'verse'])
      await collect(pinned.generate({ model: 'tiny', adapter, prompt: 'x', maxTokens: 2 }))
    assert.ok(pinned.adapterCache.isPinned('rust') && pinned.models().find((x) => x.id === 'rust')?.pinned)
    assert.is(pinned.adapterMetrics().adapters.rust.loads, 1)
  } finally {
    await pinned.close()
  }
})

test('unload and load of the base; close ends running generations', async (ctx) => {
  const b = await create(ctx)
  const req = { model: 'tiny', prompt: 'So', maxTokens: 10, seed: 1, temperature: 0.5 }
  const before = await collect(b.generate(req))
  await b.unload({ model: 'tiny' })
  assert.is(b.executionProvider, null)
  assert.is(b.models()[0].loaded, false)
  assert.is(await codeOf(() => collect(b.generate(req))), 'MODEL_NOT_LOADED')
  await b.load({ model: 'tiny' })
  assert.equal((await collect(b.generate(req))).tokens, before.tokens)
  const running = b.generate({ ...req, maxTokens: 400 })[Symbol.asyncIterator]()
  await running.next()
  await b.close()
  assert.is(await codeOf(() => running.next()), 'BACKEND_CLOSED')
  assert.is(await codeOf(() => collect(b.generate(req))), 'BACKEND_CLOSED')
  assert.is(await codeOf(() => b.load({ model: 'tiny' })), 'BACKEND_CLOSED')
})

test('execution provider: auto picks CUDA only where its libraries load, else CPU and says why', async (ctx) => {
  const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'))
  const cudaLib = join(
    ortDir,
    'bin/napi-v6',
    process.platform,
    process.arch,
    'libonnxruntime_providers_cuda.so',
  )
  const logs: Array<{ level: string; o: object; m?: string }> = []
  const log = {
    info: (o: object, m?: string) => logs.push({ level: 'info', o, m }),
    warn: (o: object, m?: string) => logs.push({ level: 'warn', o, m }),
  }
  const b = await create(ctx, { executionProvider: 'auto', log })
  try {
    const ep = b.executionProvider
    console.log(`  auto → ${ep}; ${logs.map((l) => `${l.level}: ${l.m} ${JSON.stringify(l.o)}`).join(' | ')}`)
    assert.ok(ep === 'cpu' || ep === 'cuda')
    if (!existsSync(cudaLib)) {
      assert.is(ep, 'cpu')
      assert.ok(logs.some((l) => l.level === 'warn' && 'cudaUnavailable' in l.o))
      assert.is(
        await codeOf(() => create(ctx, { executionProvider: 'cuda' })),
        'EXECUTION_PROVIDER_UNAVAILABLE',
      )
    }
    const out = await collect(b.generate({ model: 'tiny', prompt: 'Go', maxTokens: 5 }))
    assert.is(out.end.type, 'end')
  } finally {
    await b.close()
  }
})

test.run()
