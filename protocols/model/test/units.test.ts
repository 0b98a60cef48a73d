import * as ort from 'onnxruntime-node'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hasCode } from '../../common/errors.ts'
import { ModelErrorCode } from '../errors.ts'
import { generateWith } from '../generate.ts'
import {
  Activations,
  assertAdapterFits,
  forward,
  initLora,
  initWeights,
  type LoraWeights,
  type MlpConfig,
  zeroLora,
} from '../mlp.ts'
import { adapterFeeds, exportOnnx } from '../onnx.ts'
import { Prng } from '../prng.ts'
import { decodeSafetensors, encodeSafetensors } from '../safetensors.ts'
import { Tokenizer } from '../tokenizer.ts'
import { trainAdapter, trainModel } from '../train.ts'
import { maxAbsDiff, rustBook, shakespeare } from './helpers.ts'

const config: MlpConfig = { vocabSize: 300, contextSize: 5, embedDim: 12, hiddenSize: 40 }

function randomAdapter(rng: Prng, rank: number): LoraWeights {
  const lora = initLora(config, rank, 2 * rank, rng)
  for (const b of [lora.hiddenB, lora.outputB])
    for (let i = 0; i < b.length; i++) b[i] = rng.nextGaussian() * 0.2
  return lora
}

function randomContexts(rng: Prng, n: number): Int32Array {
  const c = new Int32Array(n * config.contextSize)
  for (let i = 0; i < c.length; i++) c[i] = rng.nextInt(config.vocabSize)
  return c
}

async function ortLogits(
  session: ort.InferenceSession,
  contexts: Int32Array,
  n: number,
  lora: LoraWeights | null,
) {
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor(
      'int64',
      BigInt64Array.from(contexts, (v) => BigInt(v)),
      [n, config.contextSize],
    ),
  }
  if (lora)
    for (const [k, t] of Object.entries(adapterFeeds(config, lora)))
      feeds[k] = new ort.Tensor('float32', t.data, t.dims)
  return (await session.run(feeds)).logits.data as Float32Array
}

function tsLogits(
  contexts: Int32Array,
  n: number,
  weights: ReturnType<typeof initWeights>,
  lora: LoraWeights | null,
) {
  const act = new Activations(config, n, lora?.rank ?? 0)
  act.contexts.set(contexts)
  forward(config, weights, act, lora)
  return act.logits
}

const tokenizer = suite('tokenizer')

tokenizer('byte-level BPE round-trips any text and is deterministic', () => {
  const docs = shakespeare(50_000)
  const a = Tokenizer.train([docs[0].text], { vocabSize: 400 })
  const b = Tokenizer.train([docs[0].text], { vocabSize: 400 })
  assert.equal(a.tokens, b.tokens)
  assert.is(a.vocabSize, 400)
  const foreign = 'fn main() { println!("héllo, 世界 🦀"); }\n\t<|endoftext|>'
  assert.is(a.decode(a.encode(foreign)), foreign)
  assert.is(a.decode(a.encode(docs[0].text)), docs[0].text)
  assert.ok(a.encode(docs[0].text).length < docs[0].text.length / 1.5, 'merges compress the training text')
})

tokenizer('tokenizer.json (Hugging Face format) round-trips to the same encoding', () => {
  const text = shakespeare(30_000)[0].text
  const a = Tokenizer.train([text], { vocabSize: 350 })
  const json = JSON.parse(JSON.stringify(a.toJSON()))
  assert.is(json.model.type, 'BPE')
  assert.is(json.pre_tokenizer.type, 'ByteLevel')
  const b = Tokenizer.fromJSON(json)
  assert.equal(b.encode(text), a.encode(text))
  assert.is(b.endOfTextId, a.endOfTextId)
})

tokenizer('a tokenizer.json that is not byte-level BPE is refused', () => {
  try {
    Tokenizer.fromJSON({ model: { type: 'WordPiece' } })
    assert.unreachable()
  } catch (err) {
    assert.ok(hasCode(err, ModelErrorCode.FORMAT_INVALID))
  }
})

tokenizer.run()

const safetensors = suite('safetensors')

safetensors('round-trips tensors and metadata, data 8-byte aligned', () => {
  const rng = new Prng(5)
  const t = [
    { name: 'b', shape: [2, 3], data: Float32Array.from({ length: 6 }, () => rng.nextGaussian()) },
    { name: 'a', shape: [4], data: Float32Array.of(1, -2, 3.5, 0) },
  ]
  const bytes = encodeSafetensors(t, { format: 'test' })
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true))
  assert.is((8 + headerLen) % 8, 0)
  const back = decodeSafetensors(bytes)
  assert.equal(back.metadata, { format: 'test' })
  assert.equal(Array.from(back.tensors.get('b')!.data), Array.from(t[0].data))
  assert.equal(back.tensors.get('a')!.shape, [4])
})

safetensors('truncated or malformed files give FORMAT_INVALID', () => {
  const good = encodeSafetensors([{ name: 'a', shape: [4], data: new Float32Array(4) }])
  for (const bad of [
    good.subarray(0, 5),
    good.subarray(0, good.length - 4),
    Uint8Array.of(255, 255, 255, 255, 0, 0, 0, 0, 1),
  ]) {
    try {
      decodeSafetensors(bad)
      assert.unreachable()
    } catch (err) {
      assert.ok(hasCode(err, ModelErrorCode.FORMAT_INVALID), String(err))
    }
  }
})

safetensors.run()

const onnx = suite('onnx export')

onnx('onnxruntime matches the TypeScript forward pass within 1e-4, with and without an adapter', async () => {
  const rng = new Prng(11)
  const weights = initWeights(config, rng)
  const session = await ort.InferenceSession.create(exportOnnx(config, weights))
  const n = 33
  const contexts = randomContexts(rng, n)
  for (const lora of [zeroLora(config), randomAdapter(rng, 4), randomAdapter(rng, 1)]) {
    const diff = maxAbsDiff(await ortLogits(session, contexts, n, lora), tsLogits(contexts, n, weights, lora))
    assert.ok(diff < 1e-4, `max |onnx - ts| = ${diff}`)
  }
  await session.release()
})

onnx('a zero adapter gives the base logits exactly (TypeScript and onnxruntime)', async () => {
  const rng = new Prng(12)
  const weights = initWeights(config, rng)
  const n = 16
  const contexts = randomContexts(rng, n)
  const zeroB = randomAdapter(rng, 3)
  zeroB.hiddenB.fill(0)
  zeroB.outputB.fill(0)
  const base = tsLogits(contexts, n, weights, null).slice()
  assert.equal(Array.from(tsLogits(contexts, n, weights, zeroB)), Array.from(base))
  const withInputs = await ort.InferenceSession.create(exportOnnx(config, weights))
  const bare = await ort.InferenceSession.create(exportOnnx(config, weights, { adapterInputs: false }))
  const viaZero = await ortLogits(withInputs, contexts, n, zeroB)
  const viaBare = await ortLogits(bare, contexts, n, null)
  assert.equal(Array.from(viaZero), Array.from(viaBare))
})

onnx('an adapter whose shapes do not fit the base is refused', () => {
  const other = initLora({ ...config, hiddenSize: 41 }, 2, 2, new Prng(1))
  try {
    assertAdapterFits(config, other)
    assert.unreachable()
  } catch (err) {
    assert.ok(hasCode(err, ModelErrorCode.ADAPTER_SHAPE_MISMATCH))
  }
})

onnx.run()

const misc = suite('training and sampling guards')

misc('training is deterministic for a seed', () => {
  const docs = shakespeare(20_000)
  const a = trainModel(docs, { seed: 7, steps: 15 })
  const b = trainModel(docs, { seed: 7, steps: 15 })
  const c = trainModel(docs, { seed: 8, steps: 15 })
  assert.equal(Array.from(a.model.weights.outputW), Array.from(b.model.weights.outputW))
  assert.is(a.metrics.valPerplexity, b.metrics.valPerplexity)
  assert.not.equal(
    Array.from(a.model.weights.outputW.subarray(0, 50)),
    Array.from(c.model.weights.outputW.subarray(0, 50)),
  )
  const x = trainAdapter(a.model, rustBook(10_000), { seed: 3, steps: 5 })
  const y = trainAdapter(a.model, rustBook(10_000), { seed: 3, steps: 5 })
  assert.equal(Array.from(x.adapter.outputB), Array.from(y.adapter.outputB))
  assert.equal(Array.from(a.model.weights.outputW), Array.from(b.model.weights.outputW), 'base stays frozen')
})

misc('empty corpora and bad arguments give typed errors', () => {
  for (const docs of [[], [{ id: 'x', text: '   \n' }]]) {
    try {
      trainModel(docs, { steps: 1 })
      assert.unreachable()
    } catch (err) {
      assert.ok(hasCode(err, ModelErrorCode.EMPTY_CORPUS), String(err))
    }
  }
  try {
    trainModel([{ id: 'x', text: 'a b' }], { steps: 1 })
    assert.unreachable()
  } catch (err) {
    assert.ok(hasCode(err, ModelErrorCode.CORPUS_TOO_SMALL), String(err))
  }
  const base = trainModel(shakespeare(5_000), { steps: 1 }).model
  for (const bad of [
    () => trainModel(shakespeare(5_000), { preset: 'huge' as 'tiny' }),
    () => trainAdapter(base, rustBook(5_000), { rank: 0 }),
  ]) {
    try {
      bad()
      assert.unreachable()
    } catch (err) {
      assert.ok(hasCode(err, ModelErrorCode.INVALID_ARGUMENT), String(err))
    }
  }
  try {
    trainAdapter(base, [], { rank: 2 })
    assert.unreachable()
  } catch (err) {
    assert.ok(hasCode(err, ModelErrorCode.EMPTY_CORPUS))
  }
})

misc('sampling: same seed gives the same tokens; stop strings and limits hold', async () => {
  const tok = Tokenizer.train([shakespeare(20_000)[0].text], { vocabSize: 300 })
  const rng = new Prng(2)
  const weights = initWeights(config, rng)
  const model = { config, weights }
  const logits = (ctx: Int32Array) => tsLogits(ctx, 1, model.weights, null).slice()
  const opts = { maxTokens: 20, temperature: 1, topP: 0.9, seed: 42 }
  const a = await generateWith(tok, config.contextSize, logits, 'ROMEO:', opts)
  const b = await generateWith(tok, config.contextSize, logits, 'ROMEO:', opts)
  assert.equal(a.tokens, b.tokens)
  assert.ok(a.tokens.length <= 20)
  const greedy = await generateWith(tok, config.contextSize, logits, 'ROMEO:', { maxTokens: 10 })
  assert.equal(
    greedy.tokens,
    (await generateWith(tok, config.contextSize, logits, 'ROMEO:', { maxTokens: 10, seed: 9 })).tokens,
  )
  if (a.text.length > 2) {
    const stop = a.text.slice(1, 3)
    const s = await generateWith(tok, config.contextSize, logits, 'ROMEO:', { ...opts, stop: [stop] })
    assert.is(s.stopReason, 'stop')
    assert.not.ok(s.text.includes(stop))
  }
  try {
    await generateWith(tok, config.contextSize, logits, 'x', { maxTokens: 5, topP: 0 })
    assert.unreachable()
  } catch (err) {
    assert.ok(hasCode(err, ModelErrorCode.INVALID_ARGUMENT))
  }
})

misc.run()
