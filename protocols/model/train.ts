// Training of the base model and of LoRA adapters: plain documents in, weights and measured metrics out.
// Deterministic for a seed: the PRNG drives initialisation and batch sampling, and every sum runs in a
// fixed order on one thread. No I/O here; progress is reported through a callback.
import { ADAPTER_DEFAULTS, HOLDOUT_FRACTION, PRESETS, type PresetName } from './constants.ts'
import { ModelError, ModelErrorCode } from './errors.ts'
import {
  Activations,
  backwardBase,
  backwardLora,
  crossEntropy,
  forward,
  initLora,
  initWeights,
  type LoraWeights,
  type MlpConfig,
  type MlpWeights,
  zeroGrads,
} from './mlp.ts'
import { Prng } from './prng.ts'
import { Tokenizer } from './tokenizer.ts'

/** One training document, e.g. one Datanet contribution. Order matters (it is part of determinism). */
export interface ModelDocument {
  id: string
  text: string
}

/** A Datanet version a model or adapter was trained on (recorded in the manifest, resolved elsewhere). */
export interface DatanetRef {
  datanetId: string
  version: number
}

export interface TrainedModel {
  config: MlpConfig
  tokenizer: Tokenizer
  weights: MlpWeights
}

export interface TrainingProgress {
  step: number
  steps: number
  loss: number
  tokensPerSec: number
}

export interface TrainMetrics {
  steps: number
  trainTokens: number
  /** Wall-clock seconds of the training loop. */
  seconds: number
  /** CPU seconds of the process during the loop (what the loop costs on a machine shared with others). */
  cpuSeconds: number
  tokensPerSec: number
  finalLoss: number
  heldOutTokens: number
  /** Perplexity per token of the held-out text under the model. */
  valPerplexity: number
  /** Perplexity of the same held-out tokens under an add-one unigram model of the training tokens. */
  unigramPerplexity: number
}

export interface TrainOptions {
  preset?: PresetName
  seed?: number
  steps?: number
  batchSize?: number
  learningRate?: number
  onProgress?: (p: TrainingProgress) => void
  /** How often onProgress is called, in steps. */
  progressEvery?: number
}

/** Splits documents into training and held-out parts: the held-out part is the corpus tail, cut at a newline. */
export function splitHoldout(
  docs: ModelDocument[],
  fraction = HOLDOUT_FRACTION,
): { train: ModelDocument[]; heldOut: ModelDocument[] } {
  const total = docs.reduce((s, d) => s + d.text.length, 0)
  let keep = Math.floor(total * (1 - fraction))
  const train: ModelDocument[] = []
  const heldOut: ModelDocument[] = []
  for (const doc of docs) {
    if (keep >= doc.text.length) {
      train.push(doc)
      keep -= doc.text.length
    } else if (keep <= 0) {
      heldOut.push(doc)
    } else {
      const nl = doc.text.lastIndexOf('\n', keep)
      const cut = nl > 0 ? nl + 1 : keep
      train.push({ id: doc.id, text: doc.text.slice(0, cut) })
      heldOut.push({ id: doc.id, text: doc.text.slice(cut) })
      keep = 0
    }
  }
  return { train, heldOut: heldOut.filter((d) => d.text.length > 0) }
}

/** Token stream of documents: each document is preceded by end-of-text, and the stream ends with one. */
export function tokenStream(tokenizer: Tokenizer, docs: ModelDocument[]): Int32Array {
  const out: number[] = []
  for (const doc of docs) {
    out.push(tokenizer.endOfTextId)
    for (const id of tokenizer.encode(doc.text)) out.push(id)
  }
  out.push(tokenizer.endOfTextId)
  return Int32Array.from(out)
}

/** The k tokens before position `t` of the stream; positions before the start read as end-of-text. */
function writeContext(
  stream: Int32Array,
  t: number,
  k: number,
  pad: number,
  out: Int32Array,
  at: number,
): void {
  for (let j = 0; j < k; j++) {
    const idx = t - k + j
    out[at + j] = idx < 0 ? pad : stream[idx]
  }
}

export function assertCorpus(docs: ModelDocument[]): void {
  if (docs.length === 0 || docs.every((d) => d.text.trim().length === 0)) {
    throw new ModelError(
      { code: ModelErrorCode.EMPTY_CORPUS },
      'the corpus is empty: no document has any text',
    )
  }
}

/** Mean perplexity per token of every target position (1..end) of `stream`, in fixed order. */
export function perplexity(model: TrainedModel, stream: Int32Array, lora: LoraWeights | null = null): number {
  const { config } = model
  const n = 256
  const act = new Activations(config, n, lora?.rank ?? 0)
  const targets = new Int32Array(n)
  let nll = 0
  let count = 0
  for (let start = 1; start < stream.length; start += n) {
    const m = Math.min(n, stream.length - start)
    const a = m === n ? act : new Activations(config, m, lora?.rank ?? 0)
    for (let i = 0; i < m; i++) {
      writeContext(
        stream,
        start + i,
        config.contextSize,
        model.tokenizer.endOfTextId,
        a.contexts,
        i * config.contextSize,
      )
      targets[i] = stream[start + i]
    }
    forward(config, model.weights, a, lora)
    nll += crossEntropy(a.logits, targets, m, config.vocabSize, null)
    count += m
  }
  return Math.exp(nll / count)
}

/** Add-one unigram model of `train` evaluated on the targets of `heldOut`: the baseline perplexity. */
export function unigramPerplexity(train: Int32Array, heldOut: Int32Array, vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1)
  for (let i = 1; i < train.length; i++) counts[train[i]]++
  const total = train.length - 1 + vocabSize
  let nll = 0
  for (let i = 1; i < heldOut.length; i++) nll -= Math.log(counts[heldOut[i]] / total)
  return Math.exp(nll / (heldOut.length - 1))
}

/** Adam over a list of parameter arrays, with bias correction. */
class Adam {
  private readonly m: Float32Array[]
  private readonly v: Float32Array[]
  private t = 0

  constructor(
    params: Float32Array[],
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.99,
    private readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => new Float32Array(p.length))
    this.v = params.map((p) => new Float32Array(p.length))
  }

  step(params: Float32Array[], grads: Float32Array[], lr: number): void {
    this.t++
    const c1 = 1 - this.beta1 ** this.t
    const c2 = 1 - this.beta2 ** this.t
    for (let p = 0; p < params.length; p++) {
      const w = params[p]
      const g = grads[p]
      const m = this.m[p]
      const v = this.v[p]
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]
        m[i] = this.beta1 * m[i] + (1 - this.beta1) * gi
        v[i] = this.beta2 * v[i] + (1 - this.beta2) * gi * gi
        w[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + this.eps)
      }
    }
  }
}

/** Linear warm-up over the first 5% of steps, then cosine decay to 10% of the peak rate. */
function learningRateAt(step: number, steps: number, peak: number): number {
  const warm = Math.max(1, Math.floor(steps * 0.05))
  if (step < warm) return (peak * (step + 1)) / warm
  const progress = (step - warm) / Math.max(1, steps - warm)
  return peak * (0.1 + 0.45 * (1 + Math.cos(Math.PI * progress)))
}

interface LoopOptions {
  steps: number
  batchSize: number
  learningRate: number
  rng: Prng
  onProgress?: (p: TrainingProgress) => void
  progressEvery: number
  params: Float32Array[]
  grads: Float32Array[]
  rank: number
  /** Runs backward for the batch whose dLogits are given (grads were zeroed before). */
  backward: (act: Activations, dLogits: Float32Array) => void
  lora: LoraWeights | null
}

function trainLoop(
  model: TrainedModel,
  stream: Int32Array,
  o: LoopOptions,
): { seconds: number; cpuSeconds: number; finalLoss: number } {
  const { config } = model
  const k = config.contextSize
  const act = new Activations(config, o.batchSize, o.rank)
  const targets = new Int32Array(o.batchSize)
  const dLogits = new Float32Array(o.batchSize * config.vocabSize)
  const adam = new Adam(o.params)
  const started = performance.now()
  const cpuStarted = process.cpuUsage()
  let lossAvg = 0
  for (let step = 0; step < o.steps; step++) {
    for (let i = 0; i < o.batchSize; i++) {
      const t = 1 + o.rng.nextInt(stream.length - 1)
      writeContext(stream, t, k, model.tokenizer.endOfTextId, act.contexts, i * k)
      targets[i] = stream[t]
    }
    forward(config, model.weights, act, o.lora)
    const loss = crossEntropy(act.logits, targets, o.batchSize, config.vocabSize, dLogits) / o.batchSize
    lossAvg = step === 0 ? loss : 0.95 * lossAvg + 0.05 * loss
    for (const g of o.grads) g.fill(0)
    o.backward(act, dLogits)
    clipGlobalNorm(o.grads, 1)
    adam.step(o.params, o.grads, learningRateAt(step, o.steps, o.learningRate))
    if (o.onProgress && ((step + 1) % o.progressEvery === 0 || step + 1 === o.steps)) {
      const seconds = (performance.now() - started) / 1000
      o.onProgress({
        step: step + 1,
        steps: o.steps,
        loss: lossAvg,
        tokensPerSec: ((step + 1) * o.batchSize) / seconds,
      })
    }
  }
  const cpu = process.cpuUsage(cpuStarted)
  return {
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    finalLoss: lossAvg,
  }
}

function clipGlobalNorm(grads: Float32Array[], maxNorm: number): void {
  let sq = 0
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i] * g[i]
  const norm = Math.sqrt(sq)
  if (norm <= maxNorm) return
  const f = maxNorm / norm
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= f
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) {
    throw new ModelError(
      { code: ModelErrorCode.INVALID_ARGUMENT, argument: name, reason: 'must be a positive integer' },
      `${name} must be a positive integer, got ${v}`,
    )
  }
  return v
}

function streamsFor(tokenizer: Tokenizer, docs: ModelDocument[], k: number) {
  const { train, heldOut } = splitHoldout(docs)
  const trainStream = tokenStream(tokenizer, train)
  const heldOutStream = tokenStream(tokenizer, heldOut)
  const needed = 4 * k
  if (trainStream.length < needed || heldOutStream.length < 3) {
    throw new ModelError(
      { code: ModelErrorCode.CORPUS_TOO_SMALL, tokens: trainStream.length + heldOutStream.length, needed },
      `the corpus is too small to train on: ${trainStream.length + heldOutStream.length} tokens`,
    )
  }
  return { train, trainStream, heldOutStream }
}

/** Trains a tokenizer and a base model on the documents; the last 10% of the text is held out. */
export function trainModel(
  docs: ModelDocument[],
  opts: TrainOptions = {},
): { model: TrainedModel; metrics: TrainMetrics } {
  assertCorpus(docs)
  const presetName = opts.preset ?? 'tiny'
  const preset = PRESETS[presetName]
  if (preset === undefined) {
    throw new ModelError(
      { code: ModelErrorCode.INVALID_ARGUMENT, argument: 'preset', reason: `unknown preset ${presetName}` },
      `unknown preset "${presetName}" (use ${Object.keys(PRESETS).join(' or ')})`,
    )
  }
  const steps = positiveInt('steps', opts.steps ?? preset.steps)
  const batchSize = positiveInt('batchSize', opts.batchSize ?? preset.batchSize)
  const rng = new Prng(opts.seed ?? 1)
  const { train } = splitHoldout(docs)
  const tokenizer = Tokenizer.train(
    train.map((d) => d.text),
    { vocabSize: preset.vocabSize },
  )
  const config: MlpConfig = { vocabSize: tokenizer.vocabSize, ...preset.model }
  const { trainStream, heldOutStream } = streamsFor(tokenizer, docs, config.contextSize)
  const model: TrainedModel = { config, tokenizer, weights: initWeights(config, rng) }
  const grads = zeroGrads(config)
  const keys = ['embed', 'hiddenW', 'hiddenB', 'outputW', 'outputB'] as const
  const { seconds, cpuSeconds, finalLoss } = trainLoop(model, trainStream, {
    steps,
    batchSize,
    learningRate: opts.learningRate ?? preset.learningRate,
    rng,
    onProgress: opts.onProgress,
    progressEvery: opts.progressEvery ?? 10,
    params: keys.map((k) => model.weights[k]),
    grads: keys.map((k) => grads[k]),
    rank: 0,
    backward: (act, dLogits) => backwardBase(config, model.weights, act, dLogits, grads),
    lora: null,
  })
  return {
    model,
    metrics: {
      steps,
      trainTokens: steps * batchSize,
      seconds,
      cpuSeconds,
      tokensPerSec: (steps * batchSize) / seconds,
      finalLoss,
      heldOutTokens: heldOutStream.length - 1,
      valPerplexity: perplexity(model, heldOutStream),
      unigramPerplexity: unigramPerplexity(trainStream, heldOutStream, config.vocabSize),
    },
  }
}

export interface AdaptOptions {
  rank?: number
  alpha?: number
  seed?: number
  steps?: number
  batchSize?: number
  learningRate?: number
  onProgress?: (p: TrainingProgress) => void
  progressEvery?: number
}

export interface AdaptMetrics {
  steps: number
  trainTokens: number
  seconds: number
  cpuSeconds: number
  tokensPerSec: number
  finalLoss: number
  heldOutTokens: number
  /** Held-out perplexity of the adapter's domain under the base model alone. */
  basePerplexity: number
  /** The same held-out tokens with the adapter applied. */
  adaptedPerplexity: number
}

/** Trains a LoRA adapter on the documents with the base weights frozen (they are only read). */
export function trainAdapter(
  base: TrainedModel,
  docs: ModelDocument[],
  opts: AdaptOptions = {},
): { adapter: LoraWeights; metrics: AdaptMetrics } {
  assertCorpus(docs)
  const rank = positiveInt('rank', opts.rank ?? ADAPTER_DEFAULTS.rank)
  const alpha = opts.alpha ?? ADAPTER_DEFAULTS.alpha
  const steps = positiveInt('steps', opts.steps ?? ADAPTER_DEFAULTS.steps)
  const batchSize = positiveInt('batchSize', opts.batchSize ?? ADAPTER_DEFAULTS.batchSize)
  const { config } = base
  const { trainStream, heldOutStream } = streamsFor(base.tokenizer, docs, config.contextSize)
  const rng = new Prng(opts.seed ?? 1)
  const adapter = initLora(config, rank, alpha, rng)
  const grads: LoraWeights = { ...initLora(config, rank, alpha, new Prng(0)) }
  const keys = ['hiddenA', 'hiddenB', 'outputA', 'outputB'] as const
  const { seconds, cpuSeconds, finalLoss } = trainLoop(base, trainStream, {
    steps,
    batchSize,
    learningRate: opts.learningRate ?? ADAPTER_DEFAULTS.learningRate,
    rng,
    onProgress: opts.onProgress,
    progressEvery: opts.progressEvery ?? 10,
    params: keys.map((k) => adapter[k]),
    grads: keys.map((k) => grads[k]),
    rank,
    backward: (act, dLogits) => backwardLora(config, base.weights, adapter, act, dLogits, grads),
    lora: adapter,
  })
  return {
    adapter,
    metrics: {
      steps,
      trainTokens: steps * batchSize,
      seconds,
      cpuSeconds,
      tokensPerSec: (steps * batchSize) / seconds,
      finalLoss,
      heldOutTokens: heldOutStream.length - 1,
      basePerplexity: perplexity(base, heldOutStream),
      adaptedPerplexity: perplexity(base, heldOutStream, adapter),
    },
  }
}
