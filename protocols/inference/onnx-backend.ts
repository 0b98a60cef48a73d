// The embedded `onnx` backend for the project's own model family (protocols/model): one resident base
// model in one onnxruntime session, every adapter fed as graph inputs of that same session (OpenLoRA), the
// adapters themselves held in an AdapterCache. Generation streams token by token with the same sampling
// loop as protocols/model's `generateWith` (same tokens for the same seed), checks the abort signal
// between tokens, and runs at most `maxConcurrent` generations with a bounded waiting line (BUSY beyond).
import { setMaxListeners } from 'node:events'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { InferenceSession } from 'onnxruntime-node'
import {
  assertAdapterFits,
  FILES,
  type LoadedModel,
  type LoraWeights,
  loadAdapter,
  ModelError,
  ModelErrorCode,
  OnnxLanguageModel,
  Prng,
  sampleToken,
} from '../model/index.ts'
import { AdapterCache, type AdapterCacheSnapshot, type AdapterLoader } from './adapter-cache.ts'
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
import { ADAPTER_ID_PATTERN, DEFAULT_INFERENCE_LIMITS, type InferenceLimits } from './constants.ts'
import { abortedError, InferenceError, inferenceError } from './errors.ts'
import { GenerationQueue } from './queue.ts'
import { TextStream } from './text-stream.ts'

/** `auto` uses CUDA when onnxruntime's CUDA libraries load, else CPU; `cuda` refuses to fall back. */
export type ExecutionProviderChoice = 'auto' | 'cpu' | 'cuda'
export type ExecutionProvider = 'cpu' | 'cuda'

export interface InferenceLogger {
  info(o: object, m?: string): void
  warn(o: object, m?: string): void
}

export interface OnnxBackendOptions {
  /** the id this model is served under (its registry id, or a local name) */
  modelId: string
  /** the model folder (protocols/model layout), verified file by file when loaded */
  dir: string
  /** adapter ids offered for this model; default: the folders under DIR/adapters */
  adapters?: string[]
  /** where adapter weights come from; default: DIR/adapters/ID, checked against this base */
  adapterLoader?: AdapterLoader<LoraWeights>
  adapterCache?: {
    maxBytes?: number
    maxPinnedBytes?: number
    maxTrackedAdapters?: number
    /** loaded at start and never evicted */
    pinned?: string[]
    /** loaded at start into the LRU */
    preload?: string[]
  }
  executionProvider?: ExecutionProviderChoice
  cudaDeviceId?: number
  /** onnxruntime intra-op threads (default 1: generations interleave, each step is small) */
  intraOpNumThreads?: number
  limits?: Partial<InferenceLimits>
  /** how long unload() lets running generations finish before ending them (default 30 s) */
  drainTimeoutMs?: number
  log?: InferenceLogger
}

const silent: InferenceLogger = { info() {}, warn() {} }

/** Bytes of an adapter's weights in memory. */
export function loraBytes(lora: LoraWeights): number {
  return lora.hiddenA.byteLength + lora.hiddenB.byteLength + lora.outputA.byteLength + lora.outputB.byteLength
}

/** Adapter folders under DIR/adapters (those holding an adapter_config.json), sorted. */
export async function listAdapterFolders(dir: string): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(join(dir, FILES.adapters))
  } catch {
    return []
  }
  const found: string[] = []
  for (const name of names.sort()) {
    if (!ADAPTER_ID_PATTERN.test(name)) continue
    const config = await stat(join(dir, FILES.adapters, name, FILES.adapterConfig)).catch(() => null)
    if (config?.isFile()) found.push(name)
  }
  return found
}

/** Loads adapters from `DIR/adapters/ID`, verifying the weights' CID and that they were trained on this base. */
export function folderAdapterLoader(model: LoadedModel): AdapterLoader<LoraWeights> {
  return async (id) => {
    if (!ADAPTER_ID_PATTERN.test(id))
      throw inferenceError('UNKNOWN_ADAPTER', `"${id}" is not an adapter id`, { adapter: id })
    const adapter = await loadAdapter(join(model.dir, FILES.adapters, id), model)
    if (!adapter.baseMatches)
      throw inferenceError('ADAPTER_INVALID', `adapter ${id} was trained on other base weights`, {
        adapter: id,
        reason: 'base weights CID differs',
      })
    return adapter.weights
  }
}

interface OpenedModel {
  lm: OnnxLanguageModel
  executionProvider: ExecutionProvider
}

/** A failure to create the onnxruntime session (as opposed to a folder that does not verify). */
function isSessionFailure(err: unknown): boolean {
  if (!(err instanceof ModelError) || err.code !== ModelErrorCode.FORMAT_INVALID) return false
  return (err.type as { file?: string }).file === FILES.onnx
}

function sessionFailureReason(err: ModelError): string {
  return (err.type as { reason?: string }).reason ?? err.message
}

function modelLoadFailed(err: unknown, dir: string): InferenceError {
  const reason = err instanceof ModelError ? err.code : err instanceof Error ? err.message : String(err)
  return inferenceError('MODEL_LOAD_FAILED', `the model in ${dir} could not be loaded: ${String(err)}`, {
    reason,
  })
}

/**
 * Opens the model folder on CUDA when asked or when `auto` finds onnxruntime's CUDA execution provider
 * usable (its libraries installed, a GPU present), else on CPU; logs which one and why.
 */
export async function openModel(
  dir: string,
  opts: { executionProvider?: ExecutionProviderChoice; cudaDeviceId?: number; intraOpNumThreads?: number },
  log: InferenceLogger = silent,
): Promise<OpenedModel> {
  const choice = opts.executionProvider ?? 'auto'
  const base: InferenceSession.SessionOptions = { intraOpNumThreads: opts.intraOpNumThreads ?? 1 }
  let cudaFailure: string | undefined
  if (choice !== 'cpu') {
    try {
      const lm = await OnnxLanguageModel.load(dir, {
        ...base,
        // 'cpu' after 'cuda' takes any node the CUDA provider does not implement.
        executionProviders: [{ name: 'cuda', deviceId: opts.cudaDeviceId ?? 0 }, 'cpu'],
      })
      log.info({ executionProvider: 'cuda', deviceId: opts.cudaDeviceId ?? 0, dir }, 'onnx backend on CUDA')
      return { lm, executionProvider: 'cuda' }
    } catch (err) {
      if (!isSessionFailure(err)) throw modelLoadFailed(err, dir)
      cudaFailure = sessionFailureReason(err as ModelError)
      if (choice === 'cuda')
        throw inferenceError(
          'EXECUTION_PROVIDER_UNAVAILABLE',
          `the CUDA execution provider cannot be used here: ${cudaFailure}`,
          { reason: cudaFailure },
        )
    }
  }
  let lm: OnnxLanguageModel
  try {
    lm = await OnnxLanguageModel.load(dir, { ...base, executionProviders: ['cpu'] })
  } catch (err) {
    throw modelLoadFailed(err, dir)
  }
  if (cudaFailure === undefined) log.info({ executionProvider: 'cpu', dir }, 'onnx backend on CPU')
  else
    log.warn(
      { executionProvider: 'cpu', cudaUnavailable: firstLine(cudaFailure), dir },
      'onnx backend on CPU: the CUDA execution provider could not be used',
    )
  return { lm, executionProvider: 'cpu' }
}

const firstLine = (s: string): string => s.split('\n')[0].slice(0, 300)

export class OnnxBackend implements InferenceBackend {
  readonly kind = 'onnx'
  readonly modelId: string
  readonly limits: InferenceLimits
  readonly adapterCache: AdapterCache<LoraWeights>
  private opened: OpenedModel | null
  private readonly offered: Set<string>
  private readonly queue: GenerationQueue
  /** aborted when the base is unloaded (then replaced) or the backend closes */
  private lifecycle = new AbortController()
  private closed = false
  private unloading = false
  private readonly runs = new Set<Promise<unknown>>()

  private constructor(
    private readonly options: OnnxBackendOptions,
    opened: OpenedModel,
    adapters: string[],
    private readonly log: InferenceLogger,
  ) {
    this.modelId = options.modelId
    this.opened = opened
    this.offered = new Set(adapters)
    this.limits = { ...DEFAULT_INFERENCE_LIMITS, ...options.limits }
    this.queue = new GenerationQueue(this.limits.maxConcurrent, this.limits.maxQueued)
    this.boundListeners()
    const config = opened.lm.config
    const model = opened.lm.model
    const load = options.adapterLoader ?? folderAdapterLoader(model)
    this.adapterCache = new AdapterCache<LoraWeights>({
      maxBytes: options.adapterCache?.maxBytes,
      maxPinnedBytes: options.adapterCache?.maxPinnedBytes,
      maxTrackedAdapters: options.adapterCache?.maxTrackedAdapters,
      sizeOf: loraBytes,
      loader: async (id, opts) => {
        const weights = await load(id, opts)
        try {
          assertAdapterFits(config, weights)
        } catch (err) {
          throw inferenceError(
            'ADAPTER_INVALID',
            `adapter ${id} does not fit model ${this.modelId}: ${err}`,
            {
              adapter: id,
              reason: err instanceof ModelError ? err.code : String(err),
            },
          )
        }
        return weights
      },
    })
  }

  /** Loads the model folder (CUDA or CPU), then pins and preloads the configured adapters. */
  static async create(options: OnnxBackendOptions): Promise<OnnxBackend> {
    if (typeof options.modelId !== 'string' || options.modelId.length === 0)
      throw inferenceError('INVALID_REQUEST', 'modelId must be a non-empty string', { field: 'modelId' })
    const adapters = options.adapters ?? (await listAdapterFolders(options.dir))
    for (const id of adapters)
      if (!ADAPTER_ID_PATTERN.test(id))
        throw inferenceError('INVALID_REQUEST', `"${id}" is not an adapter id`, { field: 'adapters' })
    const log = options.log ?? silent
    const opened = await openModel(options.dir, options, log)
    const backend = new OnnxBackend(options, opened, adapters, log)
    const { pinned = [], preload = [] } = options.adapterCache ?? {}
    for (const [ids, pin] of [
      [pinned, true],
      [preload, false],
    ] as const) {
      const unknown = ids.filter((id) => !backend.offered.has(id))
      const result = await backend.adapterCache.preload(
        ids.filter((id) => backend.offered.has(id)),
        { pin },
      )
      for (const id of unknown) log.warn({ adapter: id }, 'configured adapter is not offered; skipped')
      for (const f of result.failed)
        log.warn(
          { adapter: f.id, code: f.error.code, err: f.error.message },
          'adapter could not be preloaded',
        )
    }
    return backend
  }

  /** The execution provider the session runs on; null while the base is unloaded. */
  get executionProvider(): ExecutionProvider | null {
    return this.opened?.executionProvider ?? null
  }

  /** The loaded base model (its config and manifest check an adapter); MODEL_NOT_LOADED once unloaded. */
  loadedModel(): LoadedModel {
    if (this.opened === null)
      throw inferenceError('MODEL_NOT_LOADED', `model ${this.modelId} is not loaded`, { model: this.modelId })
    return this.opened.lm.model
  }

  models(): ServedModel[] {
    const base: ServedModel = {
      id: this.modelId,
      kind: 'base',
      parent: null,
      backend: this.kind,
      loaded: this.opened !== null,
      pinned: false,
    }
    return [
      base,
      ...[...this.offered].map(
        (id): ServedModel => ({
          id,
          kind: 'adapter',
          parent: this.modelId,
          backend: this.kind,
          loaded: this.adapterCache.has(id),
          pinned: this.adapterCache.isPinned(id),
        }),
      ),
    ]
  }

  stats(): BackendStats & {
    executionProvider: ExecutionProvider | null
    adapterBytes: number
    pinnedAdapterBytes: number
  } {
    return {
      backend: this.kind,
      active: this.queue.active,
      queued: this.queue.queued,
      maxConcurrent: this.queue.maxConcurrent,
      maxQueued: this.queue.maxQueued,
      executionProvider: this.executionProvider,
      adapterBytes: this.adapterCache.bytes,
      pinnedAdapterBytes: this.adapterCache.pinnedBytes,
    }
  }

  /** Per-adapter metrics and the cache's state, as a plain object. */
  adapterMetrics(): AdapterCacheSnapshot {
    return this.adapterCache.snapshot()
  }

  /**
   * Checks a request as generate() would, without queueing it: throws the typed refusal, or returns the
   * request with its defaults filled in. The infer protocol can refuse before it reads more.
   */
  validate(request: InferenceRequest): CheckedRequest {
    if (this.closed) throw inferenceError('BACKEND_CLOSED', 'the backend is closed')
    const checked = checkRequest(request, this.limits)
    if (checked.model !== this.modelId)
      throw inferenceError('UNKNOWN_MODEL', `model ${checked.model} is not served here`, {
        model: checked.model,
      })
    if (checked.adapter !== null && !this.offered.has(checked.adapter))
      throw inferenceError(
        'UNKNOWN_ADAPTER',
        `adapter ${checked.adapter} is not offered for model ${this.modelId}`,
        { model: this.modelId, adapter: checked.adapter },
      )
    if (this.opened === null || this.unloading)
      throw inferenceError('MODEL_NOT_LOADED', `model ${this.modelId} is not loaded`, { model: this.modelId })
    const vocab = this.opened.lm.config.vocabSize
    for (const [field, ids] of [
      ['promptTokenIds', checked.promptTokenIds],
      ['continuation', checked.continuation?.tokenIds],
    ] as const)
      if (ids?.some((id) => id >= vocab))
        throw inferenceError('INVALID_REQUEST', `${field} must hold ids below the vocabulary size ${vocab}`, {
          field,
        })
    if (checked.continuation !== null) {
      const resumed = this.opened.lm.tokenizer.decode(checked.continuation.tokenIds)
      if (checked.continuation.textLength > resumed.length)
        throw inferenceError(
          'INVALID_REQUEST',
          'continuation.textLength is longer than its tokens decode to',
          {
            field: 'continuation',
          },
        )
    }
    return checked
  }

  /** Every generation in a slot or in line listens on the lifecycle signal (a bounded number, more than
   * Node's default warning threshold of 10). */
  private boundListeners(): void {
    setMaxListeners(this.limits.maxConcurrent + this.limits.maxQueued + 8, this.lifecycle.signal)
  }

  async *generate(request: InferenceRequest, options: GenerateOptions = {}): AsyncGenerator<GenerationEvent> {
    const checked = this.validate(request)
    const lifecycle = this.lifecycle.signal
    const signal = options.signal ? AbortSignal.any([options.signal, lifecycle]) : lifecycle
    let release: (() => void) | undefined
    try {
      release = await this.queue.acquire(signal).catch((err) => {
        throw this.stopError(err, signal, options.signal)
      })
      const adapter =
        checked.adapter === null
          ? null
          : await this.adapterCache.get(checked.adapter, { signal }).catch((err) => {
              throw this.stopError(err, signal, options.signal)
            })
      const opened = this.opened
      if (opened === null || lifecycle.aborted) throw this.stopError(null, signal, options.signal)
      yield* this.run(opened.lm, checked, adapter, signal, options.signal)
    } finally {
      release?.()
    }
  }

  async load(target: ModelTarget, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.assertTarget(target)
    if (target.adapter) {
      const result = await this.adapterCache.preload([target.adapter], { signal: options.signal })
      if (result.failed.length > 0) throw result.failed[0].error
      return
    }
    if (this.opened !== null || this.unloading) return
    this.opened = await openModel(this.options.dir, this.options, this.log)
    this.lifecycle = new AbortController()
    this.boundListeners()
  }

  async unload(target: ModelTarget): Promise<void> {
    this.assertTarget(target)
    if (target.adapter) {
      this.adapterCache.delete(target.adapter)
      return
    }
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
    const stop = new Error('backend closed')
    this.lifecycle.abort(stop)
    this.queue.failWaiting(inferenceError('BACKEND_CLOSED', 'the backend is closed'))
    this.adapterCache.close()
    if (this.opened) await this.release(this.opened)
  }

  /** The sampling loop of protocols/model's generateWith, one event per token. */
  private async *run(
    lm: OnnxLanguageModel,
    req: CheckedRequest,
    adapter: LoraWeights | null,
    signal: AbortSignal,
    callerSignal: AbortSignal | undefined,
  ): AsyncGenerator<GenerationEvent> {
    const { tokenizer } = lm
    const k = lm.config.contextSize
    const eot = tokenizer.endOfTextId
    const promptIds = req.promptTokenIds ?? tokenizer.encode(req.prompt ?? '')
    if (promptIds.length > this.limits.maxPromptTokens)
      throw inferenceError(
        'PROMPT_TOO_LARGE',
        `the prompt is ${promptIds.length} tokens, over the limit of ${this.limits.maxPromptTokens}`,
        { limit: this.limits.maxPromptTokens, actual: promptIds.length },
      )
    // A resumed answer continues after the tokens the client holds; only new tokens are emitted and counted.
    const resumed = req.continuation?.tokenIds ?? []
    const window = [...new Array<number>(k).fill(eot), ...promptIds, ...resumed].slice(-k)
    const context = new Int32Array(k)
    const rng = new Prng(req.seed)
    const text = new TextStream(req.stop, req.continuation?.textLength ?? 0)
    const tokens: number[] = [...resumed]
    const usage = () => ({ promptTokens: promptIds.length, completionTokens: tokens.length - resumed.length })
    while (tokens.length < req.maxTokens) {
      if (signal.aborted) throw this.stopError(null, signal, callerSignal)
      context.set(window)
      const logits = await this.logits(lm, context, adapter)
      if (signal.aborted) throw this.stopError(null, signal, callerSignal)
      const next = sampleToken(logits, req.temperature, req.topP, rng)
      if (next === eot) {
        const rest = text.finish(tokenizer.decode(tokens))
        if (rest) yield { type: 'chunk', text: rest, tokenIds: [] }
        yield { type: 'end', stopReason: 'end_of_text', usage: usage() }
        return
      }
      tokens.push(next)
      window.shift()
      window.push(next)
      const { piece, stopped } = text.push(tokenizer.decode(tokens))
      yield { type: 'chunk', text: piece, tokenIds: [next] }
      if (stopped) {
        yield { type: 'end', stopReason: 'stop', usage: usage() }
        return
      }
    }
    const rest = text.finish(tokenizer.decode(tokens))
    if (rest) yield { type: 'chunk', text: rest, tokenIds: [] }
    yield { type: 'end', stopReason: 'max_tokens', usage: usage() }
  }

  /** One session run, tracked so that close and unload never release a session under a run. */
  private async logits(
    lm: OnnxLanguageModel,
    context: Int32Array,
    adapter: LoraWeights | null,
  ): Promise<Float32Array> {
    const run = lm.logits(context, 1, adapter)
    this.runs.add(run)
    try {
      return await run
    } catch (err) {
      throw inferenceError('GENERATION_FAILED', `onnxruntime failed: ${err}`, { reason: String(err) })
    } finally {
      this.runs.delete(run)
    }
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
    if (target.adapter && !this.offered.has(target.adapter))
      throw inferenceError(
        'UNKNOWN_ADAPTER',
        `adapter ${target.adapter} is not offered for model ${this.modelId}`,
        { model: this.modelId, adapter: target.adapter },
      )
  }

  private async release(opened: OpenedModel): Promise<void> {
    this.opened = null
    await Promise.allSettled([...this.runs])
    await opened.lm.release()
  }
}
