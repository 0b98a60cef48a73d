// `npm run bench -- model [--quick]`: the model factory on real text, tiny preset.
// - training tokens/s (wall and CPU seconds, since the machine is shared), held-out perplexity of the
//   model against an add-one unigram model of the same training tokens on the same held-out text;
// - a LoRA adapter on the Rust book: held-out perplexity of that domain with and without the adapter;
// - max |onnxruntime − TypeScript| logits on random contexts, base and adapter;
// - generation tokens/s through onnxruntime-node, with the TypeScript forward pass as the baseline in the
//   same run (same loop, same sampling), so the onnx figure reads as a ratio.
// --quick trains on a 400 kB slice of Shakespeare and 250 kB of the Rust book; the full run uses all of both.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { attribute, buildCorpus, buildIndex } from '../protocols/attribution/index.ts'
import {
  Activations,
  FILES,
  forward,
  generateWith,
  type ModelDocument,
  OnnxLanguageModel,
  Prng,
  saveAdapter,
  saveModel,
  trainAdapter,
  trainModel,
  tsLogitsFn,
} from '../protocols/model/index.ts'
import { RUST_BOOK_DIR, SHAKESPEARE_FILE } from '../testnet/corpora/index.ts'

const quick = process.argv.includes('--quick')
const SHAKESPEARE_CHARS = quick ? 400_000 : Number.POSITIVE_INFINITY
const RUST_CHARS = quick ? 250_000 : Number.POSITIVE_INFINITY
const GEN_TOKENS = quick ? 200 : 500

async function corpora(): Promise<{ base: ModelDocument[]; rust: ModelDocument[] }> {
  const text = await readFile(SHAKESPEARE_FILE, 'utf8')
  const base = [{ id: 'tinyshakespeare', text: text.slice(0, SHAKESPEARE_CHARS) }]
  const rust: ModelDocument[] = []
  let total = 0
  for (const name of (await readdir(RUST_BOOK_DIR)).filter((f) => f.endsWith('.md')).sort()) {
    if (total >= RUST_CHARS) break
    const t = (await readFile(join(RUST_BOOK_DIR, name), 'utf8')).slice(0, RUST_CHARS - total)
    rust.push({ id: name, text: t })
    total += t.length
  }
  return { base, rust }
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since)
  return (u.user + u.system) / 1e6
}

const round = (x: number, d = 2): number => Number(x.toFixed(d))

const { base, rust } = await corpora()
let cpu = process.cpuUsage()
let wall = performance.now()
const trained = trainModel(base, { preset: 'tiny', seed: 1 })
const trainAll = { wallSeconds: (performance.now() - wall) / 1000, cpuSeconds: cpuSeconds(cpu) }
cpu = process.cpuUsage()
wall = performance.now()
const adapted = trainAdapter(trained.model, rust, { rank: 8, seed: 2 })
const adaptAll = { wallSeconds: (performance.now() - wall) / 1000, cpuSeconds: cpuSeconds(cpu) }

const dir = await mkdtemp(join(tmpdir(), 'openledger-bench-model-'))
await saveModel(dir, trained.model, { training: { preset: 'tiny', seed: 1 } })
const lm = await OnnxLanguageModel.load(dir)
const adapterDir = join(dir, FILES.adapters, 'rust')
await mkdir(adapterDir, { recursive: true })
await saveAdapter(adapterDir, adapted.adapter, {
  config: lm.config,
  baseWeightsCid: lm.model.manifest.files[FILES.weights],
})
const adapter = (await lm.loadAdapter('rust')).weights

// ONNX vs TypeScript on random contexts
const rng = new Prng(7)
const n = 256
const contexts = new Int32Array(n * lm.config.contextSize)
for (let i = 0; i < contexts.length; i++) contexts[i] = rng.nextInt(lm.config.vocabSize)
const maxDiff = async (lora: typeof adapter | null): Promise<number> => {
  const act = new Activations(lm.config, n, lora?.rank ?? 0)
  act.contexts.set(contexts)
  forward(lm.config, lm.model.weights, act, lora)
  const o = await lm.logits(contexts, n, lora)
  let m = 0
  for (let i = 0; i < o.length; i++) m = Math.max(m, Math.abs(o[i] - act.logits[i]))
  return m
}

// generation throughput: onnxruntime vs the TypeScript forward pass, same loop and sampling
async function timeGeneration(
  run: () => Promise<{ tokens: number[] }>,
): Promise<{ tokensPerSec: number; tokens: number }> {
  await run() // warm-up
  const reps = 3
  let tokens = 0
  const started = performance.now()
  for (let r = 0; r < reps; r++) tokens += (await run()).tokens.length
  return { tokensPerSec: tokens / ((performance.now() - started) / 1000), tokens }
}
const genOpts = { maxTokens: GEN_TOKENS, temperature: 0.8, topP: 0.95, seed: 3 }
const onnxBase = await timeGeneration(() => lm.generate('\n', genOpts))
const tsBase = await timeGeneration(() =>
  generateWith(lm.tokenizer, lm.config.contextSize, tsLogitsFn(lm.model), '\n', genOpts),
)
const onnxAdapter = await timeGeneration(() => lm.generate('fn main() {\n', { ...genOpts, adapter }))
const tsAdapter = await timeGeneration(() =>
  generateWith(lm.tokenizer, lm.config.contextSize, tsLogitsFn(lm.model, adapter), 'fn main() {\n', genOpts),
)

// attributable spans in generated text: the engine's default minSpan (8 tokens) and 4 tokens
const index = buildIndex(
  buildCorpus(base.map((d) => ({ id: d.id, contributor: `0x${'11'.repeat(20)}`, text: d.text }))),
)
const samples: string[] = []
for (const seed of [1, 2, 3, 4, 5]) {
  samples.push((await lm.generate('\n', { maxTokens: 100, temperature: 0.8, topP: 0.9, seed })).text)
}
const spansOf = (minSpan: number) =>
  samples.flatMap((t) => attribute(index, t, { minSpan }).spans.map((s) => t.slice(s.charStart!, s.charEnd!)))
const spans = spansOf(8)
const shortSpans = spansOf(4)

const m = trained.metrics
const a = adapted.metrics
const result = {
  benchmark: 'model',
  quick,
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavg: loadavg().map((x) => round(x)),
    note: 'shared with other work: wall times include waiting for a core; CPU seconds do not',
  },
  corpus: {
    baseChars: base.reduce((s, d) => s + d.text.length, 0),
    adapterChars: rust.reduce((s, d) => s + d.text.length, 0),
    adapterDocuments: rust.length,
  },
  model: {
    preset: 'tiny',
    config: lm.config,
    parameters: Object.values(lm.model.weights).reduce((s, w) => s + w.length, 0),
  },
  training: {
    steps: m.steps,
    tokens: m.trainTokens,
    loopWallSeconds: round(m.seconds),
    loopCpuSeconds: round(m.cpuSeconds),
    tokensPerSec: Math.round(m.tokensPerSec),
    tokensPerCpuSecond: Math.round(m.trainTokens / m.cpuSeconds),
    totalWallSeconds: round(trainAll.wallSeconds),
    totalCpuSeconds: round(trainAll.cpuSeconds),
    note: 'total = tokenizer training + tokenization + training loop + held-out evaluation',
  },
  perplexity: {
    heldOutTokens: m.heldOutTokens,
    model: round(m.valPerplexity),
    unigramBaseline: round(m.unigramPerplexity),
    ratio: round(m.unigramPerplexity / m.valPerplexity),
  },
  adapter: {
    rank: adapted.adapter.rank,
    steps: a.steps,
    tokensPerSec: Math.round(a.tokensPerSec),
    loopCpuSeconds: round(a.cpuSeconds),
    totalWallSeconds: round(adaptAll.wallSeconds),
    totalCpuSeconds: round(adaptAll.cpuSeconds),
    heldOutTokens: a.heldOutTokens,
    perplexityWithoutAdapter: round(a.basePerplexity),
    perplexityWithAdapter: round(a.adaptedPerplexity),
  },
  onnxVsTypescriptMaxAbsDiff: { base: await maxDiff(null), adapter: await maxDiff(adapter), contexts: n },
  generation: {
    tokensPerRun: GEN_TOKENS,
    onnxTokensPerSec: Math.round(onnxBase.tokensPerSec),
    typescriptTokensPerSec: Math.round(tsBase.tokensPerSec),
    onnxOverTypescript: round(onnxBase.tokensPerSec / tsBase.tokensPerSec),
    withAdapter: {
      onnxTokensPerSec: Math.round(onnxAdapter.tokensPerSec),
      typescriptTokensPerSec: Math.round(tsAdapter.tokensPerSec),
    },
  },
  attribution: {
    samples: samples.length,
    tokensPerSample: 100,
    spansOf8Tokens: spans.length,
    spansOf4Tokens: shortSpans.length,
    examples: [...spans, ...shortSpans].slice(0, 5),
  },
}
await lm.release()
await rm(dir, { recursive: true, force: true })
console.log(JSON.stringify(result, null, 2))
await mkdir('results', { recursive: true })
await writeFile('results/model.json', `${JSON.stringify(result, null, 2)}\n`)
