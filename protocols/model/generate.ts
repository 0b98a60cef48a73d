// Generation: greedy, or temperature with top-p (nucleus) sampling from a seeded PRNG, up to a token
// limit, stopping early at end-of-text or at a stop string. The same loop runs over onnxruntime-node (how
// a node serves) or over the TypeScript forward pass (the reference and the benchmark's baseline).
import * as ort from 'onnxruntime-node'
import { ModelError, ModelErrorCode } from './errors.ts'
import { type LoadedAdapter, type LoadedModel, loadAdapter, loadModel, resolveAdapterDir } from './folder.ts'
import { Activations, assertAdapterFits, forward, type LoraWeights, type MlpConfig, zeroLora } from './mlp.ts'
import { adapterFeeds, ONNX_IO } from './onnx.ts'
import { Prng } from './prng.ts'
import type { Tokenizer } from './tokenizer.ts'
import type { TrainedModel } from './train.ts'

export interface GenerateOptions {
  maxTokens: number
  /** 0 (the default) is greedy decoding. */
  temperature?: number
  /** Nucleus mass kept when sampling, in (0, 1]; default 1. */
  topP?: number
  seed?: number
  /** Generation stops at the first of these strings; it is not part of the returned text. */
  stop?: string[]
}

export type StopReason = 'max_tokens' | 'stop' | 'end_of_text'

export interface GenerateResult {
  text: string
  /** Generated token ids (after the prompt), up to and excluding end-of-text. */
  tokens: number[]
  promptTokens: number
  stopReason: StopReason
}

/** Next-token logits for one context window of exactly contextSize tokens. */
export type LogitsFn = (context: Int32Array) => Promise<Float32Array> | Float32Array

function checkOptions(o: GenerateOptions): void {
  const bad = (argument: string, reason: string): never => {
    throw new ModelError({ code: ModelErrorCode.INVALID_ARGUMENT, argument, reason }, `${argument} ${reason}`)
  }
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 0) bad('maxTokens', 'must be a non-negative integer')
  if (o.temperature !== undefined && !(o.temperature >= 0)) bad('temperature', 'must be >= 0')
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) bad('topP', 'must be in (0, 1]')
}

/** Picks the next token: argmax when temperature is 0 (lowest id wins ties), else top-p sampling. */
export function sampleToken(logits: Float32Array, temperature: number, topP: number, rng: Prng): number {
  const V = logits.length
  if (temperature <= 0) {
    let best = 0
    for (let j = 1; j < V; j++) if (logits[j] > logits[best]) best = j
    return best
  }
  let max = Number.NEGATIVE_INFINITY
  for (let j = 0; j < V; j++) if (logits[j] > max) max = logits[j]
  const probs = new Float64Array(V)
  let sum = 0
  for (let j = 0; j < V; j++) {
    probs[j] = Math.exp((logits[j] - max) / temperature)
    sum += probs[j]
  }
  const order = Array.from({ length: V }, (_, j) => j).sort((a, b) => probs[b] - probs[a] || a - b)
  let kept = 0
  let mass = 0
  while (kept < V && (kept === 0 || mass < topP * sum)) mass += probs[order[kept++]]
  let u = rng.nextFloat() * mass
  for (let i = 0; i < kept; i++) {
    u -= probs[order[i]]
    if (u < 0) return order[i]
  }
  return order[kept - 1]
}

export async function generateWith(
  tokenizer: Tokenizer,
  contextSize: number,
  logitsFn: LogitsFn,
  prompt: string,
  opts: GenerateOptions,
): Promise<GenerateResult> {
  checkOptions(opts)
  const eot = tokenizer.endOfTextId
  const promptIds = tokenizer.encode(prompt)
  const history = [...new Array<number>(contextSize).fill(eot), ...promptIds]
  const rng = new Prng(opts.seed ?? 0)
  const stops = (opts.stop ?? []).filter((s) => s.length > 0)
  const tokens: number[] = []
  const context = new Int32Array(contextSize)
  while (tokens.length < opts.maxTokens) {
    context.set(history.slice(history.length - contextSize))
    const next = sampleToken(await logitsFn(context), opts.temperature ?? 0, opts.topP ?? 1, rng)
    if (next === eot)
      return {
        text: tokenizer.decode(tokens),
        tokens,
        promptTokens: promptIds.length,
        stopReason: 'end_of_text',
      }
    tokens.push(next)
    history.push(next)
    if (stops.length > 0) {
      const text = tokenizer.decode(tokens)
      const cut = Math.min(...stops.map((s) => text.indexOf(s)).filter((i) => i >= 0))
      if (Number.isFinite(cut))
        return { text: text.slice(0, cut), tokens, promptTokens: promptIds.length, stopReason: 'stop' }
    }
  }
  return { text: tokenizer.decode(tokens), tokens, promptTokens: promptIds.length, stopReason: 'max_tokens' }
}

/** The TypeScript forward pass as a LogitsFn (reference implementation and benchmark baseline). */
export function tsLogitsFn(model: TrainedModel, lora: LoraWeights | null = null): LogitsFn {
  if (lora) assertAdapterFits(model.config, lora)
  const act = new Activations(model.config, 1, lora?.rank ?? 0)
  return (context) => {
    act.contexts.set(context)
    forward(model.config, model.weights, act, lora)
    return act.logits.slice()
  }
}

/**
 * A model folder loaded into one onnxruntime session. Adapters are graph inputs, so the same session
 * serves the base (a zero adapter) and every adapter without reloading.
 */
export class OnnxLanguageModel {
  private readonly zero: LoraWeights

  private constructor(
    readonly model: LoadedModel,
    private readonly session: ort.InferenceSession,
  ) {
    this.zero = zeroLora(model.config)
  }

  static async load(
    dir: string,
    sessionOptions: ort.InferenceSession.SessionOptions = {},
  ): Promise<OnnxLanguageModel> {
    const model = await loadModel(dir)
    let session: ort.InferenceSession
    try {
      session = await ort.InferenceSession.create(model.onnx, { intraOpNumThreads: 1, ...sessionOptions })
    } catch (err) {
      throw new ModelError(
        { code: ModelErrorCode.FORMAT_INVALID, file: 'model.onnx', reason: String(err) },
        `onnxruntime could not load model.onnx: ${String(err)}`,
      )
    }
    return new OnnxLanguageModel(model, session)
  }

  get config(): MlpConfig {
    return this.model.config
  }

  get tokenizer(): Tokenizer {
    return this.model.tokenizer
  }

  /** Loads an adapter by name (under adapters/) or folder path, checked against this base. */
  async loadAdapter(nameOrPath: string): Promise<LoadedAdapter> {
    return loadAdapter(await resolveAdapterDir(this.model.dir, nameOrPath), this.model)
  }

  /** Logits [n, V] for n context windows [n, k]; no adapter means the base (a zero adapter). */
  async logits(contexts: Int32Array, n: number, adapter: LoraWeights | null = null): Promise<Float32Array> {
    const lora = adapter ?? this.zero
    assertAdapterFits(this.config, lora)
    const k = this.config.contextSize
    if (contexts.length !== n * k) {
      throw new ModelError(
        { code: ModelErrorCode.INVALID_ARGUMENT, argument: 'contexts', reason: `expected ${n * k} ids` },
        `expected ${n}×${k} context ids, got ${contexts.length}`,
      )
    }
    const feeds: Record<string, ort.Tensor> = {
      [ONNX_IO.inputIds]: new ort.Tensor(
        'int64',
        BigInt64Array.from(contexts, (v) => BigInt(v)),
        [n, k],
      ),
    }
    for (const [name, t] of Object.entries(adapterFeeds(this.config, lora))) {
      feeds[name] = new ort.Tensor('float32', t.data, t.dims)
    }
    const out = await this.session.run(feeds)
    return out[ONNX_IO.logits].data as Float32Array
  }

  generate(
    prompt: string,
    opts: GenerateOptions & { adapter?: LoraWeights | null },
  ): Promise<GenerateResult> {
    const adapter = opts.adapter ?? null
    return generateWith(
      this.tokenizer,
      this.config.contextSize,
      (ctx) => this.logits(ctx, 1, adapter),
      prompt,
      opts,
    )
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}
