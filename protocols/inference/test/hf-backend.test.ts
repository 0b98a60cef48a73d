// A Hugging Face-layout model through the `onnx` backend: a tiny random-weight GPT-2 written by
// tiny-gpt2.ts (config, byte-level tokenizer, a one-layer ONNX graph with optimum's KV-cache interface) is
// opened by openOnnxBackend, which picks HfBackend by the folder's layout. Its greedy tokens equal
// transformers.js's own generate({do_sample: false}); seeded sampling equals a full-recompute reference
// (no KV cache) with the project's sampler; streaming, end-of-text, stop strings, continuation, refusals,
// abort, BUSY, unload/close; and not one network call or socket from any of it.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp } from 'node:fs/promises'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { FILES, Prng, sampleToken, saveModel, trainModel } from '../../model/index.ts'
import { shakespeare } from '../../model/test/helpers.ts'
import type { GenerationEnd, GenerationEvent, InferenceRequest } from '../backend.ts'
import {
  HfBackend,
  type HfBackendOptions,
  isHuggingFaceLayout,
  loadTransformersOffline,
} from '../hf-backend.ts'
import { OnnxBackend } from '../onnx-backend.ts'
import { openOnnxBackend } from '../open-onnx-backend.ts'
import { codeOf } from './fixtures.ts'
import { type TinyGpt2, tinyGpt2 } from './tiny-gpt2.ts'

// Every way out of the process is counted: fetch (transformers.js's and the global one) and TCP connects.
const network = { fetches: 0, connects: 0 }
const realFetch = globalThis.fetch
globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
  network.fetches++
  return realFetch(...args)
}) as typeof fetch
const realConnect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  network.connects++
  return (realConnect as (...a: unknown[]) => net.Socket).apply(this, args)
} as typeof net.Socket.prototype.connect

type Transformers = Awaited<ReturnType<typeof loadTransformersOffline>>
type Tokenizer = Awaited<ReturnType<Transformers['AutoTokenizer']['from_pretrained']>>
// transformers.js's typings give the model class little; these are the calls the reference makes.
interface RefModel {
  generate(args: object): Promise<{ tolist(): bigint[][] }>
  forward(inputs: object): Promise<{ logits: { slice(...a: unknown[]): { data: Float32Array } } }>
  dispose(): Promise<unknown>
}

interface Ctx {
  gpt2: TinyGpt2
  t: Transformers
  tokenizer: Tokenizer
  ref: RefModel
  backend: HfBackend
}

const test = suite<Ctx>('hf backend')

const limits = { maxPromptBytes: 256, maxPromptTokens: 40, maxTokens: 100, maxConcurrent: 4, maxQueued: 4 }
const MODEL = 'tiny-gpt2'

function create(dir: string, extra: Partial<HfBackendOptions> = {}): Promise<HfBackend> {
  return HfBackend.create({
    modelId: MODEL,
    dir,
    executionProvider: 'cpu',
    intraOpNumThreads: 1,
    limits,
    ...extra,
  })
}

interface Collected {
  text: string
  tokens: number[]
  chunks: number
  /** the text received once each token's chunk was in */
  textAfter: number[]
  end: GenerationEnd
}

async function collect(events: AsyncIterable<GenerationEvent>): Promise<Collected> {
  const out: Omit<Collected, 'end'> & { end?: GenerationEnd } = {
    text: '',
    tokens: [],
    chunks: 0,
    textAfter: [],
  }
  for await (const e of events) {
    assert.ok(out.end === undefined, 'nothing after the end event')
    if (e.type === 'chunk') {
      out.text += e.text
      out.tokens.push(...e.tokenIds)
      out.chunks++
      if (e.tokenIds.length > 0) out.textAfter.push(out.text.length)
    } else out.end = e
  }
  assert.ok(out.end, 'an end event')
  return out as Collected
}

/** transformers.js's own greedy generation on the same folder: the new token ids, end-of-text included. */
async function referenceGreedy(ctx: Ctx, promptIds: number[], maxNewTokens: number): Promise<number[]> {
  const { Tensor } = ctx.t
  const n = promptIds.length
  const out = await ctx.ref.generate({
    input_ids: new Tensor('int64', BigInt64Array.from(promptIds.map(BigInt)), [1, n]),
    attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    do_sample: false,
    max_new_tokens: maxNewTokens,
  })
  return out.tolist()[0].slice(n).map(Number)
}

/** Sampling by recomputing the whole sequence every step (no KV cache), with the project's sampler. */
async function referenceSampled(
  ctx: Ctx,
  promptIds: number[],
  opts: { maxTokens: number; temperature: number; topP: number; seed: number },
): Promise<number[]> {
  const { Tensor } = ctx.t
  const rng = new Prng(opts.seed)
  const ids = [...promptIds]
  const tokens: number[] = []
  while (tokens.length < opts.maxTokens) {
    const { logits } = await ctx.ref.forward({
      input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    })
    const next = sampleToken(logits.slice(null, -1, null).data, opts.temperature, opts.topP, rng)
    if (next === ctx.gpt2.endOfTextId) break
    tokens.push(next)
    ids.push(next)
  }
  return tokens
}

const encode = (ctx: Ctx, text: string): number[] => ctx.tokenizer.encode(text)

test.before(async (ctx) => {
  const started = performance.now()
  ctx.gpt2 = await tinyGpt2()
  ctx.t = await loadTransformersOffline()
  ctx.tokenizer = await ctx.t.AutoTokenizer.from_pretrained(ctx.gpt2.dir, { local_files_only: true })
  ctx.ref = (await ctx.t.AutoModelForCausalLM.from_pretrained(ctx.gpt2.dir, {
    local_files_only: true,
    dtype: 'fp32',
    device: 'cpu',
    session_options: { intraOpNumThreads: 1 },
  })) as unknown as RefModel
  const opened = await openOnnxBackend({
    modelId: MODEL,
    dir: ctx.gpt2.dir,
    executionProvider: 'cpu',
    intraOpNumThreads: 1,
    limits,
  })
  assert.instance(opened, HfBackend)
  ctx.backend = opened as HfBackend
  console.log(
    `  setup (tiny GPT-2 written, reference and backend loaded) ${(performance.now() - started).toFixed(0)} ms`,
  )
})

test.after(async (ctx) => {
  await ctx.backend?.close()
  await ctx.ref?.dispose()
})

test('layout: the HF folder opens as HfBackend, the project folder as OnnxBackend; adapters refused', async (ctx) => {
  assert.ok(isHuggingFaceLayout(ctx.gpt2.dir))
  assert.equal(ctx.backend.models(), [
    { id: MODEL, kind: 'base', parent: null, backend: 'onnx', loaded: true, pinned: false },
  ])
  assert.is(ctx.backend.kind, 'onnx')
  assert.is(ctx.backend.executionProvider, 'cpu')
  // the project's own folder also has config.json and tokenizer.json, but a manifest and no onnx/
  const own = await mkdtemp(join(tmpdir(), 'openledger-own-layout-'))
  const { model } = trainModel(shakespeare(4000), { preset: 'tiny', seed: 1, steps: 1 })
  await saveModel(own, model)
  assert.ok(existsSync(join(own, FILES.config)) && existsSync(join(own, FILES.tokenizer)))
  assert.not.ok(isHuggingFaceLayout(own))
  const onnx = await openOnnxBackend({ modelId: 'own', dir: own, executionProvider: 'cpu' })
  try {
    assert.instance(onnx, OnnxBackend)
    const out = await collect(onnx.generate({ model: 'own', prompt: 'To', maxTokens: 3 }))
    assert.is(out.end.usage.completionTokens, out.tokens.length)
  } finally {
    await onnx.close()
  }
  assert.is(await codeOf(() => create(own)), 'MODEL_LOAD_FAILED')
  // adapters for an HF folder are refused at open, not ignored
  for (const extra of [
    { adapters: ['a'] },
    { adapterCache: { pinned: ['a'] } },
    { adapterCache: { preload: ['a'] } },
  ])
    assert.is(
      await codeOf(() =>
        openOnnxBackend({ modelId: MODEL, dir: ctx.gpt2.dir, executionProvider: 'cpu', ...extra }),
      ),
      'INVALID_REQUEST',
    )
  // a folder that is neither goes to OnnxBackend, which says what is missing
  const empty = await mkdtemp(join(tmpdir(), 'openledger-no-layout-'))
  await mkdir(join(empty, 'onnx'))
  assert.is(await codeOf(() => openOnnxBackend({ modelId: 'x', dir: empty })), 'MODEL_LOAD_FAILED')
})

test('greedy tokens equal transformers.js generate({do_sample: false}), as text and as token ids', async (ctx) => {
  const cases = [
    { prompt: 'Hello there, the world', maxTokens: 60 }, // runs into end-of-text
    { prompt: 'in the', maxTokens: 25 },
    { prompt: 'A', maxTokens: 100 },
    { prompt: '\u00e9t\u00e9 \u{1F980} re', maxTokens: 40 },
  ]
  let compared = 0
  for (const { prompt, maxTokens } of cases) {
    const ids = encode(ctx, prompt)
    const want = await referenceGreedy(ctx, ids, maxTokens)
    const ended = want.at(-1) === ctx.gpt2.endOfTextId
    const wantTokens = ended ? want.slice(0, -1) : want
    const got = await collect(ctx.backend.generate({ model: MODEL, prompt, maxTokens }))
    assert.equal(got.tokens, wantTokens, prompt)
    assert.is(got.end.stopReason, ended ? 'end_of_text' : 'max_tokens', prompt)
    assert.equal(got.end.usage, { promptTokens: ids.length, completionTokens: wantTokens.length })
    assert.is(got.text, ctx.tokenizer.decode(wantTokens, { skip_special_tokens: true }))
    const byIds = await collect(ctx.backend.generate({ model: MODEL, promptTokenIds: ids, maxTokens }))
    assert.equal(byIds.tokens, got.tokens, `${prompt} by ids`)
    compared += wantTokens.length
  }
  console.log(`  ${compared} greedy tokens compared with transformers.js's generate()`)
})

test('end-of-text ends the generation where the model emits it, and is not in the text', async (ctx) => {
  const from = ctx.gpt2.endOfTextFrom ?? 0
  for (const prompt of ['Hello there, the world', 'on', 'The answer is']) {
    const ids = encode(ctx, prompt)
    const got = await collect(ctx.backend.generate({ model: MODEL, prompt, maxTokens: 100 }))
    assert.is(got.end.stopReason, 'end_of_text')
    // the logits at position `from` are the first dominated by end-of-text
    assert.is(got.tokens.length, from - ids.length + 1, prompt)
    assert.not.ok(got.tokens.includes(ctx.gpt2.endOfTextId))
    assert.not.ok(got.text.includes('<|endoftext|>'))
  }
  // an empty prompt starts from the start token, which is not counted as a prompt token
  const empty = await collect(ctx.backend.generate({ model: MODEL, prompt: '', maxTokens: 10 }))
  const fromStart = await collect(
    ctx.backend.generate({ model: MODEL, promptTokenIds: [ctx.gpt2.endOfTextId], maxTokens: 10 }),
  )
  assert.equal(empty.tokens, fromStart.tokens)
  assert.equal(empty.end.usage, { promptTokens: 0, completionTokens: 10 })
  const none = await collect(ctx.backend.generate({ model: MODEL, prompt: 'x', maxTokens: 0 }))
  assert.equal([none.tokens, none.end.stopReason], [[], 'max_tokens'])
})

test('streaming: one chunk per token, pieces concatenate to the text, then one end with usage', async (ctx) => {
  const events: GenerationEvent[] = []
  for await (const e of ctx.backend.generate({
    model: MODEL,
    prompt: 'Stream \u{1F980}',
    maxTokens: 30,
    temperature: 1,
    seed: 4,
  }))
    events.push(e)
  const chunks = events.filter((e) => e.type === 'chunk')
  const tokens = chunks.flatMap((c) => c.tokenIds)
  assert.is(events.at(-1)?.type, 'end')
  assert.is(events.filter((e) => e.type === 'end').length, 1)
  assert.ok(chunks.every((c) => c.tokenIds.length <= 1))
  assert.ok(chunks.length === tokens.length || chunks.length === tokens.length + 1)
  assert.is(chunks.map((c) => c.text).join(''), ctx.tokenizer.decode(tokens, { skip_special_tokens: true }))
  const end = events.at(-1) as GenerationEnd
  assert.equal(end.usage, {
    promptTokens: encode(ctx, 'Stream \u{1F980}').length,
    completionTokens: tokens.length,
  })
  // the first chunk comes before the rest is generated: a reader that stops there frees the slot
  const it = ctx.backend.generate({ model: MODEL, prompt: 'Go', maxTokens: 100 })[Symbol.asyncIterator]()
  assert.is((await it.next()).value?.type, 'chunk')
  assert.is(ctx.backend.stats().active, 1)
  await it.return(undefined)
  assert.equal([ctx.backend.stats().active, ctx.backend.stats().queued], [0, 0])
})

test('seeded sampling: reproducible, seed-dependent, and equal to a full-recompute reference', async (ctx) => {
  const base = { model: MODEL, prompt: 'Once upon', maxTokens: 40 }
  const cases = [
    { temperature: 1, topP: 1, seed: 5 },
    { temperature: 0.7, topP: 0.9, seed: 123456789 },
    { temperature: 1.5, topP: 0.5, seed: 0 },
  ]
  const ids = encode(ctx, base.prompt)
  for (const opts of cases) {
    const a = await collect(ctx.backend.generate({ ...base, ...opts }))
    const b = await collect(ctx.backend.generate({ ...base, ...opts }))
    assert.equal(a.tokens, b.tokens, JSON.stringify(opts))
    assert.is(a.text, b.text)
    assert.equal(a.tokens, await referenceSampled(ctx, ids, { ...opts, maxTokens: base.maxTokens }))
  }
  const seeds = await Promise.all(
    [1, 2, 3].map(
      async (seed) => (await collect(ctx.backend.generate({ ...base, temperature: 1, seed }))).tokens,
    ),
  )
  assert.not.equal(seeds[0], seeds[1])
  assert.not.equal(seeds[1], seeds[2])
  // concurrent generations interleave on one session without disturbing each other
  const alone = await collect(ctx.backend.generate({ ...base, temperature: 1, seed: 2 }))
  assert.equal(seeds[1], alone.tokens)
})

test('stop strings end the text before the first one', async (ctx) => {
  const req = { model: MODEL, prompt: 'Hello there, the world', maxTokens: 60 }
  const full = await collect(ctx.backend.generate(req))
  const stop = full.text.slice(10, 12)
  const at = full.text.indexOf(stop)
  const got = await collect(ctx.backend.generate({ ...req, stop: ['never here', stop] }))
  assert.is(got.end.stopReason, 'stop')
  assert.is(got.text, full.text.slice(0, at))
  assert.equal(got.tokens, full.tokens.slice(0, got.tokens.length))
  assert.is(got.end.usage.completionTokens, got.tokens.length)
})

test('continuation resumes token-exact: only new tokens emitted and counted, maxTokens bounds the whole', async (ctx) => {
  const req = { model: MODEL, prompt: 'Hello there, the world', maxTokens: 30 }
  for (const maxTokens of [30, 100]) {
    const full = await collect(ctx.backend.generate({ ...req, maxTokens }))
    for (const k of [1, 12, 29]) {
      const continuation = { tokenIds: full.tokens.slice(0, k), textLength: full.textAfter[k - 1] }
      const rest = await collect(ctx.backend.generate({ ...req, maxTokens, continuation }))
      const label = `maxTokens ${maxTokens}, resumed after ${k}`
      assert.equal(rest.tokens, full.tokens.slice(k), label)
      assert.is(full.text.slice(0, continuation.textLength) + rest.text, full.text, label)
      assert.is(rest.end.stopReason, full.end.stopReason, label)
      assert.equal(rest.end.usage, {
        promptTokens: full.end.usage.promptTokens,
        completionTokens: full.tokens.length - k,
      })
    }
    // a client that holds the tokens but none of their text gets all of it
    const all = await collect(
      ctx.backend.generate({
        ...req,
        maxTokens,
        continuation: { tokenIds: full.tokens.slice(0, 5), textLength: 0 },
      }),
    )
    assert.is(all.text, full.text)
  }
  const full = await collect(ctx.backend.generate(req))
  // an empty continuation is a fresh start
  const fresh = await collect(ctx.backend.generate({ ...req, continuation: { tokenIds: [], textLength: 0 } }))
  assert.equal([fresh.tokens, fresh.text], [full.tokens, full.text])
  // a continuation that already used maxTokens ends at once
  const done = await collect(
    ctx.backend.generate({ ...req, continuation: { tokenIds: full.tokens, textLength: full.text.length } }),
  )
  assert.equal(
    [done.tokens, done.text, done.end.stopReason, done.end.usage.completionTokens],
    [[], '', 'max_tokens', 0],
  )
})

test('each bad request gets its typed error, and the backend keeps serving', async (ctx) => {
  const b = ctx.backend
  const refuse = (r: Partial<InferenceRequest>) => codeOf(() => collect(b.generate(r as InferenceRequest)))
  const good = { model: MODEL, prompt: 'Hi', maxTokens: 5 }
  assert.is(await refuse({ ...good, model: 'other' }), 'UNKNOWN_MODEL')
  assert.is(await refuse({ ...good, prompt: 'x'.repeat(257) }), 'PROMPT_TOO_LARGE')
  // 80 bytes, under the byte limit, but 80 byte-level tokens once encoded: over the 40-token limit
  assert.is(await refuse({ ...good, prompt: '\u{1F980}'.repeat(20) }), 'PROMPT_TOO_LARGE')
  assert.is(
    await refuse({ ...good, prompt: undefined, promptTokenIds: Array(41).fill(1) }),
    'PROMPT_TOO_LARGE',
  )
  assert.is(await refuse({ ...good, maxTokens: 101 }), 'MAX_TOKENS_TOO_LARGE')
  const vocab = ctx.gpt2.vocabSize
  assert.is(await refuse({ ...good, prompt: undefined, promptTokenIds: [1, vocab] }), 'INVALID_REQUEST')
  assert.is(await refuse({ ...good, continuation: { tokenIds: [vocab], textLength: 0 } }), 'INVALID_REQUEST')
  assert.is(await refuse({ ...good, continuation: { tokenIds: [70], textLength: 2 } }), 'INVALID_REQUEST')
  assert.is(
    await refuse({ ...good, continuation: { tokenIds: Array(6).fill(70), textLength: 0 } }),
    'INVALID_REQUEST',
  )
  assert.is(await refuse({ ...good, temperature: -1 }), 'INVALID_REQUEST')
  assert.is(await refuse({ ...good, topP: 0 }), 'INVALID_REQUEST')
  try {
    await collect(b.generate({ ...good, adapter: 'verse' }))
    assert.unreachable('an adapter request is refused')
  } catch (err) {
    const e = err as { code?: string; message: string; type?: { adapter?: string } }
    assert.is(e.code, 'UNKNOWN_ADAPTER')
    assert.is(e.type?.adapter, 'verse')
    assert.match(e.message, /adapters are not served for Hugging Face-layout models/)
  }
  assert.is(await codeOf(() => b.load({ model: MODEL, adapter: 'verse' })), 'UNKNOWN_ADAPTER')
  assert.is(await codeOf(() => b.load({ model: 'other' })), 'UNKNOWN_MODEL')
  // validate() refuses the same way without queueing
  assert.is(await codeOf(async () => b.validate({ ...good, maxTokens: 101 })), 'MAX_TOKENS_TOO_LARGE')
  assert.equal([b.stats().active, b.stats().queued], [0, 0])
  const after = await collect(b.generate(good))
  assert.is(after.end.usage.completionTokens, 5)
})

test("the model's positions bound prompt and generation", async () => {
  const short = await tinyGpt2({ nPositions: 16, endOfTextFrom: null, seed: 2 })
  const b = await create(short.dir, { limits: { ...limits, maxPromptTokens: 4096 } })
  try {
    const prompt = Array.from({ length: 10 }, (_, i) => 70 + i)
    const out = await collect(b.generate({ model: MODEL, promptTokenIds: prompt, maxTokens: 100 }))
    // positions 0..15: the token sampled at position 15 is the last, it could not be fed
    assert.is(out.tokens.length, 16 - 10 + 1)
    assert.is(out.end.stopReason, 'max_tokens')
    const full = await collect(
      b.generate({ model: MODEL, promptTokenIds: Array(16).fill(70), maxTokens: 100 }),
    )
    assert.is(full.tokens.length, 1)
    const over = await codeOf(() =>
      collect(b.generate({ model: MODEL, promptTokenIds: Array(17).fill(70), maxTokens: 1 })),
    )
    assert.is(over, 'PROMPT_TOO_LARGE')
  } finally {
    await b.close()
  }
})

test('abort mid-stream stops before the next token; a reader that breaks out frees its slot', async (ctx) => {
  const ac = new AbortController()
  const events = ctx.backend.generate(
    { model: MODEL, prompt: 'A', maxTokens: 100, temperature: 1, seed: 9 },
    { signal: ac.signal },
  )
  let chunks = 0
  let afterAbort = 0
  const err = await (async () => {
    for await (const e of events) {
      if (e.type !== 'chunk') continue
      if (ac.signal.aborted) afterAbort++
      if (++chunks === 3) ac.abort(new Error('client went away'))
    }
  })().catch((e) => e)
  assert.is(err?.code, 'ABORTED')
  assert.match(err.message, /client went away/)
  assert.is(afterAbort, 0)
  assert.equal([ctx.backend.stats().active, ctx.backend.stats().queued], [0, 0])
  for await (const _ of ctx.backend.generate({ model: MODEL, prompt: 'B', maxTokens: 50 })) break
  assert.is(ctx.backend.stats().active, 0)
  // an already-aborted signal is refused before any token
  assert.is(
    await codeOf(() =>
      collect(ctx.backend.generate({ model: MODEL, prompt: 'C', maxTokens: 5 }, { signal: ac.signal })),
    ),
    'ABORTED',
  )
})

test('BUSY when the slot is taken and there is no line; then it serves again', async (ctx) => {
  const b = await create(ctx.gpt2.dir, { limits: { ...limits, maxConcurrent: 1, maxQueued: 0 } })
  try {
    const req = { model: MODEL, prompt: 'Now', maxTokens: 20 }
    const first = b.generate(req)[Symbol.asyncIterator]()
    assert.is((await first.next()).value?.type, 'chunk')
    assert.is(await codeOf(() => collect(b.generate(req))), 'BUSY')
    await first.return(undefined)
    assert.is((await collect(b.generate(req))).tokens.length, 20)
  } finally {
    await b.close()
  }
})

test('unload and load; close ends running generations', async (ctx) => {
  const b = await create(ctx.gpt2.dir)
  const req = { model: MODEL, prompt: 'So', maxTokens: 10, seed: 1, temperature: 0.5 }
  const before = await collect(b.generate(req))
  await b.unload({ model: MODEL })
  assert.is(b.executionProvider, null)
  assert.is(b.models()[0].loaded, false)
  assert.is(await codeOf(() => collect(b.generate(req))), 'MODEL_NOT_LOADED')
  await b.load({ model: MODEL })
  assert.equal((await collect(b.generate(req))).tokens, before.tokens)
  const running = b.generate({ ...req, maxTokens: 100 })[Symbol.asyncIterator]()
  await running.next()
  await b.close()
  assert.is(await codeOf(() => running.next()), 'BACKEND_CLOSED')
  assert.is(await codeOf(() => collect(b.generate(req))), 'BACKEND_CLOSED')
  assert.is(await codeOf(() => b.load({ model: MODEL })), 'BACKEND_CLOSED')
})

test('execution provider: cuda is refused with its code where onnxruntime has no CUDA libraries', async (ctx) => {
  const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'))
  const cudaLib = join(
    ortDir,
    'bin/napi-v6',
    process.platform,
    process.arch,
    'libonnxruntime_providers_cuda.so',
  )
  if (existsSync(cudaLib)) {
    console.log('  CUDA libraries present: cuda refusal not checked here')
    return
  }
  assert.is(
    await codeOf(() => create(ctx.gpt2.dir, { executionProvider: 'cuda' })),
    'EXECUTION_PROVIDER_UNAVAILABLE',
  )
  const warnings: object[] = []
  const b = await create(ctx.gpt2.dir, {
    executionProvider: 'auto',
    log: { info() {}, warn: (o) => warnings.push(o) },
  })
  try {
    assert.is(b.executionProvider, 'cpu')
    assert.ok(warnings.some((w) => 'cudaUnavailable' in w))
  } finally {
    await b.close()
  }
})

test('offline: remote models off, a Hub id is not fetched, and nothing reached the network', async (ctx) => {
  const { env, AutoTokenizer } = ctx.t
  assert.is(env.allowRemoteModels, false)
  assert.is(env.useFSCache, false)
  const refusal = await env.fetch('https://huggingface.co/gpt2/resolve/main/config.json').catch((e) => e)
  assert.match(String(refusal?.message), /network access is disabled/)
  let refused = false
  await AutoTokenizer.from_pretrained('openai-community/gpt2').catch(() => {
    refused = true
  })
  assert.ok(refused, 'a Hub model id is not loaded')
  assert.equal(network, { fetches: 0, connects: 0 })
})

test.run()
