// End to end on real text with the tiny preset: train on Shakespeare, adapt to the Rust book, export the
// folder, load it as a node that never saw the model would (from its files only), and generate.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { attribute, buildCorpus, buildIndex } from '../../attribution/index.ts'
import { hasCode } from '../../common/errors.ts'
import { FILES } from '../constants.ts'
import { ModelErrorCode } from '../errors.ts'
import { loadAdapter, loadModel, saveAdapter, saveModel } from '../folder.ts'
import { OnnxLanguageModel, tsLogitsFn } from '../generate.ts'
import { Activations, forward, initLora, zeroLora } from '../mlp.ts'
import { Prng } from '../prng.ts'
import { type DatanetRef, trainAdapter, trainModel } from '../train.ts'
import { maxAbsDiff, rustBook, shakespeare } from './helpers.ts'

const test = suite('model pipeline (tiny preset)')

const baseDocs = shakespeare(400_000)
const adapterDocs = rustBook(250_000)
const datanets: DatanetRef[] = [{ datanetId: 'shakespeare', version: 1 }]
let dir = ''
let trained: ReturnType<typeof trainModel>
let adapted: ReturnType<typeof trainAdapter>

let baseOutputBeforeAdapter: number[] = []

// The suite's setup makes the folder every test reads (base model, then an adapter on a second domain),
// so one failing assertion does not leave the others without their input. Training time is measured by
// `npm run bench -- model`, never asserted here.
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openledger-model-'))
  trained = trainModel(baseDocs, { preset: 'tiny', seed: 1 })
  await saveModel(dir, trained.model, { datanets, training: { preset: 'tiny', seed: 1 } })
  baseOutputBeforeAdapter = Array.from(trained.model.weights.outputW)
  adapted = trainAdapter(trained.model, adapterDocs, { rank: 8, seed: 2 })
  const loaded = await loadModel(dir)
  await saveAdapter(
    join(dir, FILES.adapters, 'rust'),
    adapted.adapter,
    {
      config: loaded.config,
      baseWeightsCid: loaded.manifest.files[FILES.weights],
    },
    { datanets: [{ datanetId: 'rust-book', version: 3 }] },
  )
})

test.after(async () => {
  await rm(dir, { recursive: true, force: true })
})

test('tiny base model: validation perplexity well below the unigram baseline', () => {
  const m = trained.metrics
  console.log(
    `  base: loop ${m.seconds.toFixed(1)} s wall / ${m.cpuSeconds.toFixed(1)} s CPU, ${Math.round(m.tokensPerSec)} tok/s, ` +
      `val ppl ${m.valPerplexity.toFixed(1)} vs unigram ${m.unigramPerplexity.toFixed(1)} on ${m.heldOutTokens} held-out tokens`,
  )
  assert.ok(
    m.valPerplexity < 0.5 * m.unigramPerplexity,
    `model ${m.valPerplexity} vs unigram ${m.unigramPerplexity}`,
  )
})

test('LoRA adapter lowers perplexity on its own domain; base stays frozen', () => {
  const m = adapted.metrics
  console.log(
    `  adapter: held-out rust-book ppl ${m.basePerplexity.toFixed(1)} base → ${m.adaptedPerplexity.toFixed(1)} adapted`,
  )
  assert.ok(m.adaptedPerplexity < 0.8 * m.basePerplexity)
  assert.equal(Array.from(trained.model.weights.outputW), baseOutputBeforeAdapter)
})

test('loaded folder: onnxruntime matches the TypeScript forward pass within 1e-4 (base, zero and trained adapter)', async () => {
  const lm = await OnnxLanguageModel.load(dir)
  const { config } = lm
  const rng = new Prng(99)
  const n = 64
  const contexts = new Int32Array(n * config.contextSize)
  for (let i = 0; i < contexts.length; i++) contexts[i] = rng.nextInt(config.vocabSize)
  const adapter = (await lm.loadAdapter('rust')).weights
  const ts = (lora: typeof adapter | null) => {
    const act = new Activations(config, n, lora?.rank ?? 0)
    act.contexts.set(contexts)
    forward(config, lm.model.weights, act, lora)
    return act.logits
  }
  const base = ts(null).slice()
  const dBase = maxAbsDiff(await lm.logits(contexts, n), base)
  const dAdapter = maxAbsDiff(await lm.logits(contexts, n, adapter), ts(adapter))
  console.log(`  max |onnx - ts|: base ${dBase.toExponential(2)}, adapter ${dAdapter.toExponential(2)}`)
  assert.ok(dBase < 1e-4 && dAdapter < 1e-4)
  assert.equal(Array.from(ts(zeroLora(config, 4))), Array.from(base), 'zero adapter == base exactly (TS)')
  const zeroB = {
    ...adapter,
    hiddenB: new Float32Array(adapter.hiddenB.length),
    outputB: new Float32Array(adapter.outputB.length),
  }
  assert.equal(Array.from(ts(zeroB)), Array.from(base), 'B = 0 adapter == base exactly (TS)')
  assert.equal(
    Array.from(await lm.logits(contexts, n, zeroB)),
    Array.from(await lm.logits(contexts, n)),
    'and in onnxruntime',
  )
  await lm.release()
})

test('generation: a fresh load gives the same tokens for the same seed, and the output is attributable', async () => {
  const copy = `${dir}-copy`
  await cp(dir, copy, { recursive: true }) // another node's copy, fetched by CID
  const a = await OnnxLanguageModel.load(dir)
  const b = await OnnxLanguageModel.load(copy)
  const opts = { maxTokens: 60, temperature: 0.8, topP: 0.9, seed: 1234 }
  const ga = await a.generate('KING HENRY:\n', opts)
  const gb = await b.generate('KING HENRY:\n', opts)
  assert.equal(ga.tokens, gb.tokens)
  assert.is(ga.tokens.length, 60)
  const greedy = await a.generate('ROMEO:\n', { maxTokens: 40 })
  const greedyTs = await (await import('../generate.ts')).generateWith(
    a.tokenizer,
    a.config.contextSize,
    tsLogitsFn(a.model),
    'ROMEO:\n',
    { maxTokens: 40 },
  )
  assert.equal(greedy.tokens, greedyTs.tokens, 'onnxruntime and TypeScript agree on greedy tokens')
  const adapter = (await a.loadAdapter('rust')).weights
  const rust = await a.generate('fn main() {\n', { maxTokens: 30, adapter })
  console.log(
    `  sample: ${JSON.stringify(ga.text.slice(0, 120))}\n  greedy: ${JSON.stringify(greedy.text.slice(0, 120))}\n  rust adapter: ${JSON.stringify(rust.text.slice(0, 80))}`,
  )
  const index = buildIndex(
    buildCorpus(baseDocs.map((d) => ({ id: d.id, contributor: `0x${'11'.repeat(20)}`, text: d.text }))),
  )
  const outputs = [greedy.text]
  for (const seed of [1, 2, 3, 4, 5]) {
    outputs.push((await a.generate('\n', { maxTokens: 100, temperature: 0.8, topP: 0.9, seed })).text)
  }
  // The tiny model (≈3 bits/char after 30 CPU-seconds) rarely strings together 8 exact words, the engine's
  // default minSpan; spans of 4 attribution tokens (words and punctuation) are what it reproduces.
  const spansOf = (minSpan: number) =>
    outputs.flatMap((text) =>
      attribute(index, text, { minSpan }).spans.map((s) => text.slice(s.charStart!, s.charEnd!)),
    )
  const found = spansOf(4)
  console.log(
    `  attribution: ${spansOf(8).length} spans of >= 8 tokens, ${found.length} of >= 4 in 6 generations: ${JSON.stringify(found.slice(0, 4))}`,
  )
  assert.ok(found.length > 0, 'generated text contains spans of the training text')
  await a.release()
  await b.release()
  await rm(copy, { recursive: true, force: true })
})

test('bad folders: corrupted file, unknown file, missing file, misfit adapter', async () => {
  const bad = `${dir}-bad`
  const expectCode = async (code: string, fn: () => Promise<unknown>) => {
    try {
      await fn()
      assert.unreachable(`expected ${code}`)
    } catch (err) {
      assert.ok(hasCode(err, code), `expected ${code}, got ${String(err)}`)
    }
  }
  await cp(dir, bad, { recursive: true })
  const onnx = await readFile(join(bad, FILES.onnx))
  onnx[onnx.length - 10] ^= 0xff
  await writeFile(join(bad, FILES.onnx), onnx)
  await expectCode(ModelErrorCode.FILE_CORRUPTED, () => loadModel(bad))
  await expectCode(ModelErrorCode.FILE_CORRUPTED, () => OnnxLanguageModel.load(bad))
  await cp(join(dir, FILES.onnx), join(bad, FILES.onnx))
  await writeFile(join(bad, 'extra.bin'), 'x')
  await expectCode(ModelErrorCode.FILE_UNKNOWN, () => loadModel(bad))
  await rm(join(bad, 'extra.bin'))
  await rm(join(bad, FILES.weights))
  await expectCode(ModelErrorCode.FILE_MISSING, () => loadModel(bad))
  await expectCode(ModelErrorCode.FILE_MISSING, () => loadModel(join(bad, 'nowhere')))
  const base = await loadModel(dir)
  const misfit = initLora({ ...base.config, hiddenSize: base.config.hiddenSize + 1 }, 4, 8, new Prng(1))
  await saveAdapter(join(bad, 'misfit'), misfit, {
    config: { ...base.config, hiddenSize: base.config.hiddenSize + 1 },
    baseWeightsCid: 'x',
  })
  await expectCode(ModelErrorCode.ADAPTER_SHAPE_MISMATCH, () => loadAdapter(join(bad, 'misfit'), base))
  const adapterFile = join(dir, FILES.adapters, 'rust', FILES.adapterWeights)
  await cp(join(dir, FILES.adapters, 'rust'), join(bad, 'rust'), { recursive: true })
  const bytes = await readFile(adapterFile)
  bytes[bytes.length - 1] ^= 1
  await writeFile(join(bad, 'rust', FILES.adapterWeights), bytes)
  await expectCode(ModelErrorCode.FILE_CORRUPTED, () => loadAdapter(join(bad, 'rust'), base))
  const lm = await OnnxLanguageModel.load(dir)
  await expectCode(ModelErrorCode.ADAPTER_SHAPE_MISMATCH, () =>
    lm.generate('x', { maxTokens: 2, adapter: misfit }),
  )
  await expectCode(ModelErrorCode.FILE_MISSING, () => lm.loadAdapter('no-such-adapter'))
  await lm.release()
  await rm(bad, { recursive: true, force: true })
})

test.run()
