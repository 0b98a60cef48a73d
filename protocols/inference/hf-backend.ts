// Hugging Face-layout ONNX language models in the embedded `onnx` backend, through @huggingface/transformers
// (transformers.js, which runs them on the same onnxruntime-node 1.30.0 as the project's own models). A
// folder holds config.json, tokenizer.json (+ tokenizer_config.json, generation_config.json) and
// onnx/model.onnx as optimum exports it (`--task text-generation-with-past`): inputs input_ids,
// attention_mask, position_ids and past_key_values.N.key/value, outputs logits and present.N.key/value.
//
// Offline, always: remote models are off, every path is absolute, the file cache is off, and transformers.js's
// `env.fetch` refuses, so nothing it does can reach the network (these settings are process-wide; this node
// never wants anything else from it). transformers.js is imported on first use (about 0.3 s), so a node or a
// test that never opens such a folder does not pay for it.
//
// Generation is our own loop over transformers.js's per-token steps, not its `generate()`: each step is
// exactly what `generate()` does per token (`prepare_inputs_for_generation`, `forward`,
// `_update_model_kwargs_for_generation`: the KV cache, attention mask and position ids as transformers.js
// keeps them), but the loop is ours so that (1) each token is yielded as soon as it is sampled (an async
// generator, where `generate()` pushes into a streamer callback with no back-pressure), (2) the abort signal
// is checked between tokens and a consumer that stops pulling stops the model, (3) sampling uses the
// project's seeded `sampleToken`/`Prng` (reproducible for a seed, nucleus `topP`; transformers.js samples
// with Math.random and has no top-p warper), and (4) generations interleave token by token on one session
// like the OnnxBackend's. Greedy decoding is the same argmax (first maximum) as `generate()`'s, so the tokens
// equal `generate({do_sample: false})`'s (tested). The model's generation_config.json sampling defaults
// (temperature, repetition_penalty, ...) are not applied: the request's parameters are the whole recipe.
// A continuation (failover) is fed as prompt + the tokens the client holds, as the OnnxBackend does: the
// same greedy tokens as the uninterrupted answer; the sampling PRNG starts afresh from the seed, as there.
//
// Adapters are not served for this layout: a request naming one gets UNKNOWN_ADAPTER. An adapter has to be a
// *required* graph input (onnxruntime silently ignores a feed for an input that has an initializer, and any
// unknown feed name), and transformers.js feeds only the inputs it knows (`forward_params`, then the
// session's input names); optimum's exports have no adapter inputs at all (LoRA weights are merged before
// export), so there is nothing to feed them into. Serving LoRA on an HF model means exporting a graph with
// adapter inputs and pushing their names into `model.forward_params`: later work.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { DataType, PreTrainedTokenizer, Tensor } from '@huggingface/transformers'
import { FILES, Prng, sampleToken } from '../model/index.ts'
import {
  type BackendStats,
  type CheckedRequest,
  checkRequest,
  type GenerateOptions,
  type GenerationEvent,
  type InferenceBackend,
  type InferenceRequest,
  type ModelTarget,
  type ServedModel,
} from './backend.ts'
import { DEFAULT_INFERENCE_LIMITS, type InferenceLimits } from './constants.ts'
import { abortedError, InferenceError, inferenceError } from './errors.ts'
import type { ExecutionProvider, ExecutionProviderChoice, InferenceLogger } from './onnx-backend.ts'
import { GenerationQueue } from './queue.ts'
import { TextStream } from './text-stream.ts'

/** The files that make a folder a Hugging Face-layout model (the ONNX file depends on `dtype`). */
export const HF_FILES = {
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  generationConfig: 'generation_config.json',
  onnxFolder: 'onnx',
  /** the fp32 export; other dtypes add transformers.js's suffix (model_quantized.onnx, model_fp16.onnx, ...) */
  onnx: 'model.onnx',
  /** the project's own layout has this manifest (and config.json, tokenizer.json too); an HF folder does not */
  openledgerManifest: FILES.manifest,
} as const

/** transformers.js's file suffix per dtype (its DEFAULT_DTYPE_SUFFIX_MAPPING, which it does not export). */
const DTYPE_SUFFIX: Partial<Record<DataType, string>> = {
  fp32: '',
  fp16: '_fp16',
  int8: '_int8',
  uint8: '_uint8',
  q8: '_quantized',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
}

export interface HfBackendOptions {
  /** the id this model is served under (its registry id, or a local name) */
  modelId: string
  /** the model folder in Hugging Face layout */
  dir: string
  /** which export under DIR/onnx: fp32 (default) is model.onnx, q8 model_quantized.onnx, fp16 model_fp16.onnx */
  dtype?: DataType
  executionProvider?: ExecutionProviderChoice
  cudaDeviceId?: number
  /** onnxruntime intra-op threads (default: onnxruntime's, one per physical core) */
  intraOpNumThreads?: number
  limits?: Partial<InferenceLimits>
  /** how long unload() lets running generations finish before ending them (default 30 s) */
  drainTimeoutMs?: number
  log?: InferenceLogger
}

const silent: InferenceLogger = { info() {}, warn() {} }

/** The ONNX file name of a dtype under DIR/onnx. */
export function hfOnnxFile(dtype: DataType = 'fp32'): string {
  const suffix = DTYPE_SUFFIX[dtype]
  if (suffix === undefined)
    throw inferenceError('INVALID_REQUEST', `dtype ${dtype} is not supported for served models`, {
      field: 'dtype',
    })
  return `model${suffix}.onnx`
}

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/**
 * Whether `dir` holds a Hugging Face-layout language model: config.json, tokenizer.json and an ONNX export
 * under onnx/ (model.onnx, or a quantized/fp16 variant), and not the project's own manifest.
 */
export function isHuggingFaceLayout(dir: string): boolean {
  if (isFile(join(dir, HF_FILES.openledgerManifest))) return false
  if (!isFile(join(dir, HF_FILES.config)) || !isFile(join(dir, HF_FILES.tokenizer))) return false
  let names: string[]
  try {
    names = readdirSync(join(dir, HF_FILES.onnxFolder))
  } catch {
    return false
  }
  const exports = new Set(Object.keys(DTYPE_SUFFIX).map((d) => hfOnnxFile(d as DataType)))
  return names.some((n) => exports.has(n) && isFile(join(dir, HF_FILES.onnxFolder, n)))
}

type Transformers = typeof import('@huggingface/transformers')
let transformers: Promise<Transformers> | undefined

/**
 * transformers.js, imported once and set so that it never reaches the network from this process: local
 * files only, no caches, no fetch.
 */
export function loadTransformersOffline(): Promise<Transformers> {
  transformers ??= import('@huggingface/transformers').then((t) => {
    configureOffline(t)
    return t
  })
  return transformers
}

function configureOffline({ env }: Transformers): void {
  env.allowRemoteModels = false
  env.allowLocalModels = true
  env.useFSCache = false
  env.useBrowserCache = false
  env.useWasmCache = false
  env.fetch = (async (input: unknown) => {
    throw new Error(`network access is disabled for @huggingface/transformers (asked for ${String(input)})`)
  }) as typeof fetch
}

type ModelInputs = Record<string, unknown>
type Outputs = Record<string, Tensor> & { logits: Tensor }

/** The parts of transformers.js's PreTrainedModel this backend uses (its typings say `any` for most). */
interface CausalLm {
  config: Record<string, unknown> & { is_encoder_decoder?: boolean; model_type?: string | null }
  can_generate: boolean
  generation_config: { eos_token_id?: number | number[] | null } | null
  prepare_inputs_for_generation(ids: bigint[][], inputs: ModelInputs, generationConfig: unknown): ModelInputs
  forward(inputs: ModelInputs): Promise<Outputs>
  _update_model_kwargs_for_generation(args: {
    generated_input_ids: bigint[][]
    outputs: Outputs
    model_inputs: ModelInputs
    is_encoder_decoder: boolean
  }): ModelInputs
  dispose(): Promise<unknown>
}

interface OpenedHfModel {
  model: CausalLm
  tokenizer: PreTrainedTokenizer
  /** transformers.js's Tensor class, for the inputs of the first step */
  Tensor: Transformers['Tensor']
  executionProvider: ExecutionProvider
  /** ids that end a generation (generation_config.json, else config.json, else the tokenizer's) */
  endOfText: Set<number>
  /** the logits' width: token ids at or above it are refused */
  vocabSize: number
  /** positions the model has; a generation stops ('max_tokens') when they are used up */
  maxPositions: number
  /** fed in place of an empty prompt (a model needs at least one token) */
  startId: number | null
}

const firstLine = (s: string): string => s.split('\n')[0].slice(0, 300)
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

function modelLoadFailed(err: unknown, dir: string): InferenceError {
  if (err instanceof InferenceError && err.code === 'MODEL_LOAD_FAILED') return err
  return inferenceError(
    'MODEL_LOAD_FAILED',
    `the model in ${dir} could not be loaded: ${firstLine(message(err))}`,
    { reason: firstLine(message(err)) },
  )
}

const idList = (v: unknown): number[] =>
  (Array.isArray(v) ? v : [v]).filter((x): x is number => Number.isInteger(x) && x >= 0)

function describe(
  model: CausalLm,
  tokenizer: PreTrainedTokenizer,
  executionProvider: ExecutionProvider,
  dir: string,
  Tensor: Transformers['Tensor'],
): OpenedHfModel {
  const config = model.config
  if (config.is_encoder_decoder || !model.can_generate)
    throw inferenceError(
      'MODEL_LOAD_FAILED',
      `the model in ${dir} (${config.model_type}) is not a decoder-only language model`,
      { reason: 'not a causal language model' },
    )
  const eos = idList(model.generation_config?.eos_token_id ?? config.eos_token_id ?? tokenizer.eos_token_id)
  const vocabSize = Number(config.vocab_size)
  const positions = idList(config.max_position_embeddings ?? config.n_positions ?? config.n_ctx)
  const [start] = idList(config.bos_token_id ?? tokenizer.bos_token_id ?? eos[0])
  return {
    model,
    tokenizer,
    Tensor,
    executionProvider,
    endOfText: new Set(eos),
    vocabSize: Number.isInteger(vocabSize) && vocabSize > 0 ? vocabSize : Number.POSITIVE_INFINITY,
    maxPositions: positions[0] ?? Number.POSITIVE_INFINITY,
    startId: start ?? null,
  }
}

/**
 * Loads tokenizer and model from DIR with transformers.js, on CUDA when asked or when `auto` finds
 * onnxruntime's CUDA execution provider usable (transformers.js's `device: 'cuda'`, with CPU behind it for
 * any node CUDA does not implement), else on CPU; logs which one and why.
 */
export async function openHfModel(
  dir: string,
  opts: {
    dtype?: DataType
    executionProvider?: ExecutionProviderChoice
    cudaDeviceId?: number
    intraOpNumThreads?: number
  },
  log: InferenceLogger = silent,
): Promise<OpenedHfModel> {
  const { AutoModelForCausalLM, AutoTokenizer, Tensor } = await loadTransformersOffline()
  const path = resolve(dir) // absolute: transformers.js reads it as a path, never as a Hub model id
  const dtype = opts.dtype ?? 'fp32'
  const onnxFile = join(path, HF_FILES.onnxFolder, hfOnnxFile(dtype))
  if (!isHuggingFaceLayout(path) || !existsSync(onnxFile))
    throw inferenceError(
      'MODEL_LOAD_FAILED',
      `${dir} is not a Hugging Face-layout model folder (config.json, tokenizer.json, onnx/${hfOnnxFile(dtype)})`,
      { reason: 'not a Hugging Face-layout folder' },
    )
  let tokenizer: PreTrainedTokenizer
  try {
    tokenizer = await AutoTokenizer.from_pretrained(path, { local_files_only: true })
  } catch (err) {
    throw modelLoadFailed(err, dir)
  }
  const threads = opts.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: opts.intraOpNumThreads }
  const load = async (device: ExecutionProvider): Promise<CausalLm> =>
    (await AutoModelForCausalLM.from_pretrained(path, {
      local_files_only: true,
      dtype,
      device,
      session_options: {
        ...threads,
        // 'cpu' after 'cuda' takes any node the CUDA provider does not implement.
        executionProviders:
          device === 'cuda' ? [{ name: 'cuda', deviceId: opts.cudaDeviceId ?? 0 }, 'cpu'] : ['cpu'],
      },
    })) as unknown as CausalLm
  const choice = opts.executionProvider ?? 'auto'
  let cudaFailure: string | undefined
  if (choice !== 'cpu') {
    try {
      const model = await load('cuda')
      log.info({ executionProvider: 'cuda', deviceId: opts.cudaDeviceId ?? 0, dir }, 'onnx backend on CUDA')
      return describeOrDispose(model, tokenizer, 'cuda', dir, Tensor)
    } catch (err) {
      if (err instanceof InferenceError) throw err
      cudaFailure = message(err)
    }
  }
  let model: CausalLm
  try {
    model = await load('cpu')
  } catch (err) {
    throw modelLoadFailed(err, dir)
  }
  if (choice === 'cuda') {
    // The model loads on CPU, so what failed was CUDA itself.
    await model.dispose()
    throw inferenceError(
      'EXECUTION_PROVIDER_UNAVAILABLE',
      `the CUDA execution provider cannot be used here: ${firstLine(cudaFailure ?? '')}`,
      { reason: firstLine(cudaFailure ?? '') },
    )
  }
  if (cudaFailure === undefined) log.info({ executionProvider: 'cpu', dir }, 'onnx backend on CPU')
  else
    log.warn(
      { executionProvider: 'cpu', cudaUnavailable: firstLine(cudaFailure), dir },
      'onnx backend on CPU: the CUDA execution provider could not be used',
    )
  return describeOrDispose(model, tokenizer, 'cpu', dir, Tensor)
}

async function describeOrDispose(
  model: CausalLm,
  tokenizer: PreTrainedTokenizer,
  executionProvider: ExecutionProvider,
  dir: string,
  Tensor: Transformers['Tensor'],
): Promise<OpenedHfModel> {
  try {
    return describe(model, tokenizer, executionProvider, dir, Tensor)
  } catch (err) {
    await model.dispose()
    throw err
  }
}

/** The text of generated tokens, special tokens (end-of-text) left out (transformers.js refuses no tokens). */
const decode = (opened: OpenedHfModel, tokens: number[]): string =>
  tokens.length === 0 ? '' : opened.tokenizer.decode(tokens, { skip_special_tokens: true })

/** A checked request with its prompt as token ids. */
interface Prepared {
  checked: CheckedRequest
  /** the request's prompt tokens, as counted in the usage */
  promptIds: number[]
  /** what the model reads first: the prompt (the start token for an empty one), then a continuation's tokens */
  prefix: number[]
}

export class HfBackend implements InferenceBackend {
  readonly kind = 'onnx'
  readonly modelId: string
  readonly limits: InferenceLimits
  private opened: OpenedHfModel | null
  private readonly queue: GenerationQueue
  /** aborted when the model is unloaded (then replaced) or the backend closes */
  private lifecycle = new AbortController()
  private closed = false
  private unloading = false
  private readonly runs = new Set<Promise<unknown>>()

  private constructor(
    private readonly options: HfBackendOptions,
    opened: OpenedHfModel,
    private readonly log: InferenceLogger,
  ) {
    this.modelId = options.modelId
    this.opened = opened
    this.limits = { ...DEFAULT_INFERENCE_LIMITS, ...options.limits }
    this.queue = new GenerationQueue(this.limits.maxConcurrent, this.limits.maxQueued)
  }

  /** Loads the folder's tokenizer and model (CUDA or CPU). */
  static async create(options: HfBackendOptions): Promise<HfBackend> {
    if (typeof options.modelId !== 'string' || options.modelId.length === 0)
      throw inferenceError('INVALID_REQUEST', 'modelId must be a non-empty string', { field: 'modelId' })
    const limits = { ...DEFAULT_INFERENCE_LIMITS, ...options.limits }
    // the queue checks its bounds before the model is loaded
    new GenerationQueue(limits.maxConcurrent, limits.maxQueued)
    const log = options.log ?? silent
    const opened = await openHfModel(options.dir, options, log)
    return new HfBackend(options, opened, log)
  }

  /** The execution provider the session runs on; null while the model is unloaded. */
  get executionProvider(): ExecutionProvider | null {
    return this.opened?.executionProvider ?? null
  }

  models(): ServedModel[] {
    return [
      {
        id: this.modelId,
        kind: 'base',
        parent: null,
        backend: this.kind,
        loaded: this.opened !== null,
        pinned: false,
      },
    ]
  }

  stats(): BackendStats & { executionProvider: ExecutionProvider | null } {
    return {
      backend: this.kind,
      active: this.queue.active,
      queued: this.queue.queued,
      maxConcurrent: this.queue.maxConcurrent,
      maxQueued: this.queue.maxQueued,
      executionProvider: this.executionProvider,
    }
  }

  /**
   * Checks a request as generate() would, without queueing it: throws the typed refusal, or returns the
   * request with its defaults filled in (a text prompt is encoded to check its token count).
   */
  validate(request: InferenceRequest): CheckedRequest {
    return this.prepare(request).checked
  }

  async *generate(request: InferenceRequest, options: GenerateOptions = {}): AsyncGenerator<GenerationEvent> {
    const prepared = this.prepare(request)
    const lifecycle = this.lifecycle.signal
    const signal = options.signal ? AbortSignal.any([options.signal, lifecycle]) : lifecycle
    let release: (() => void) | undefined
    try {
      release = await this.queue.acquire(signal).catch((err) => {
        throw this.stopError(err, signal, options.signal)
      })
      const opened = this.opened
      if (opened === null || lifecycle.aborted) throw this.stopError(null, signal, options.signal)
      yield* this.run(opened, prepared, signal, options.signal)
    } finally {
      release?.()
    }
  }

  async load(target: ModelTarget): Promise<void> {
    this.assertTarget(target)
    if (this.opened !== null || this.unloading) return
    this.opened = await openHfModel(this.options.dir, this.options, this.log)
    this.lifecycle = new AbortController()
  }

  async unload(target: ModelTarget): Promise<void> {
    this.assertTarget(target)
    const opened = this.opened
    if (opened === null || this.unloading) return
    this.unloading = true
    try {
      await this.queue.idle(this.options.drainTimeoutMs ?? 30_000)
      this.lifecycle.abort(new Error('model unloaded'))
      await this.release(opened)
    } finally {
      this.unloading = false
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.lifecycle.abort(new Error('backend closed'))
    this.queue.failWaiting(inferenceError('BACKEND_CLOSED', 'the backend is closed'))
    if (this.opened) await this.release(this.opened)
  }

  private prepare(request: InferenceRequest): Prepared {
    if (this.closed) throw inferenceError('BACKEND_CLOSED', 'the backend is closed')
    const checked = checkRequest(request, this.limits)
    if (checked.model !== this.modelId)
      throw inferenceError('UNKNOWN_MODEL', `model ${checked.model} is not served here`, {
        model: checked.model,
      })
    if (checked.adapter !== null) throw this.noAdapters(checked.adapter)
    const opened = this.opened
    if (opened === null || this.unloading)
      throw inferenceError('MODEL_NOT_LOADED', `model ${this.modelId} is not loaded`, { model: this.modelId })
    for (const [field, ids] of [
      ['promptTokenIds', checked.promptTokenIds],
      ['continuation', checked.continuation?.tokenIds],
    ] as const)
      if (ids?.some((id) => id >= opened.vocabSize))
        throw inferenceError(
          'INVALID_REQUEST',
          `${field} must hold ids below the vocabulary size ${opened.vocabSize}`,
          { field },
        )
    const resumed = checked.continuation?.tokenIds ?? []
    if (checked.continuation !== null && checked.continuation.textLength > decode(opened, resumed).length)
      throw inferenceError('INVALID_REQUEST', 'continuation.textLength is longer than its tokens decode to', {
        field: 'continuation',
      })
    const promptIds = checked.promptTokenIds ?? opened.tokenizer.encode(checked.prompt ?? '')
    const limit = Math.min(this.limits.maxPromptTokens, opened.maxPositions)
    if (promptIds.length > limit)
      throw inferenceError(
        'PROMPT_TOO_LARGE',
        `the prompt is ${promptIds.length} tokens, over the limit of ${limit}`,
        { limit, actual: promptIds.length },
      )
    let start = promptIds
    if (promptIds.length === 0) {
      // A causal LM needs at least one token to predict from: the start of text, as at a document's start.
      if (opened.startId === null)
        throw inferenceError('INVALID_REQUEST', `model ${this.modelId} needs a non-empty prompt`, {
          field: 'prompt',
        })
      start = [opened.startId]
    }
    return { checked, promptIds, prefix: [...start, ...resumed] }
  }

  /** One event per token: transformers.js's per-token steps, the project's sampler. */
  private async *run(
    opened: OpenedHfModel,
    { checked: req, promptIds, prefix }: Prepared,
    signal: AbortSignal,
    callerSignal: AbortSignal | undefined,
  ): AsyncGenerator<GenerationEvent> {
    const { model, Tensor } = opened
    // A resumed answer continues after the tokens the client holds; only new tokens are emitted and counted.
    const resumed = req.continuation?.tokenIds ?? []
    const rng = new Prng(req.seed)
    const text = new TextStream(req.stop, req.continuation?.textLength ?? 0)
    const tokens: number[] = [...resumed]
    const usage = () => ({ promptTokens: promptIds.length, completionTokens: tokens.length - resumed.length })
    const all: bigint[][] = [prefix.map(BigInt)]
    let inputs: ModelInputs = {
      input_ids: new Tensor('int64', BigInt64Array.from(all[0]), [1, prefix.length]),
      attention_mask: new Tensor('int64', new BigInt64Array(prefix.length).fill(1n), [1, prefix.length]),
    }
    try {
      // every fed token needs a position: the last sampled one can only be fed while one is left
      while (tokens.length < req.maxTokens && all[0].length <= opened.maxPositions) {
        if (signal.aborted) throw this.stopError(null, signal, callerSignal)
        inputs = model.prepare_inputs_for_generation(all, inputs, model.generation_config ?? {})
        const outputs = await this.forward(model, inputs)
        if (signal.aborted) throw this.stopError(null, signal, callerSignal)
        // the last position's logits, as generate() takes them (float16 logits widened)
        const logits = outputs.logits.slice(null, -1, null).to('float32').data as Float32Array
        const next = sampleToken(logits, req.temperature, req.topP, rng)
        if (opened.endOfText.has(next)) {
          const rest = text.finish(decode(opened, tokens))
          if (rest) yield { type: 'chunk', text: rest, tokenIds: [] }
          yield { type: 'end', stopReason: 'end_of_text', usage: usage() }
          return
        }
        tokens.push(next)
        all[0].push(BigInt(next))
        const { piece, stopped } = text.push(decode(opened, tokens))
        yield { type: 'chunk', text: piece, tokenIds: [next] }
        if (stopped) {
          yield { type: 'end', stopReason: 'stop', usage: usage() }
          return
        }
        inputs = model._update_model_kwargs_for_generation({
          generated_input_ids: [[BigInt(next)]],
          outputs,
          model_inputs: inputs,
          is_encoder_decoder: false,
        })
      }
      const rest = text.finish(decode(opened, tokens))
      if (rest) yield { type: 'chunk', text: rest, tokenIds: [] }
      yield { type: 'end', stopReason: 'max_tokens', usage: usage() }
    } finally {
      // frees KV tensors held on a device (a no-op for CPU ones), as generate() does when it ends
      await (inputs.past_key_values as { dispose?: () => Promise<void> } | undefined)?.dispose?.()
    }
  }

  /** One forward pass, tracked so that close and unload never release the session under a run. */
  private async forward(model: CausalLm, inputs: ModelInputs): Promise<Outputs> {
    const run = model.forward(inputs)
    this.runs.add(run)
    try {
      return await run
    } catch (err) {
      throw inferenceError('GENERATION_FAILED', `onnxruntime failed: ${firstLine(message(err))}`, {
        reason: firstLine(message(err)),
      })
    } finally {
      this.runs.delete(run)
    }
  }

  private noAdapters(adapter: string): InferenceError {
    return inferenceError(
      'UNKNOWN_ADAPTER',
      `adapter ${adapter} is not offered for model ${this.modelId}: adapters are not served for Hugging Face-layout models (their ONNX export has no adapter inputs)`,
      { model: this.modelId, adapter },
    )
  }

  /** The error for a generation stopped by a signal: the caller's abort, an unload, or close. */
  private stopError(err: unknown, signal: AbortSignal, callerSignal: AbortSignal | undefined): Error {
    if (err instanceof InferenceError && err.code !== 'ABORTED') return err
    if (this.closed) return inferenceError('BACKEND_CLOSED', 'the backend is closed')
    if (callerSignal?.aborted) return abortedError(callerSignal, 'generation')
    if (signal.aborted || this.opened === null)
      return inferenceError('MODEL_NOT_LOADED', `model ${this.modelId} was unloaded`, { model: this.modelId })
    return err instanceof Error ? err : new Error(String(err))
  }

  private assertTarget(target: ModelTarget): void {
    if (this.closed) throw inferenceError('BACKEND_CLOSED', 'the backend is closed')
    if (target.model !== this.modelId)
      throw inferenceError('UNKNOWN_MODEL', `model ${target.model} is not served here`, {
        model: target.model,
      })
    if (target.adapter) throw this.noAdapters(target.adapter)
  }

  private async release(opened: OpenedHfModel): Promise<void> {
    this.opened = null
    await Promise.allSettled([...this.runs])
    await opened.model.dispose()
  }
}
