// The `openai-http` backend: the same interface as the embedded onnx backend, over an external
// OpenAI-compatible engine (vLLM, llama.cpp server, LoRAX) for GPU-scale serving. A generation is one
// streamed `POST /v1/completions`; its server-sent events become `chunk` events and one `end`. Adapters map
// to the engine's LoRA names (vLLM and LoRAX select a LoRA by the `model` field) and, when configured, are
// loaded at runtime with vLLM's `/v1/load_lora_adapter`, at most `maxLoadedAdapters` at once (least
// recently used unloaded first). The engine is not trusted: its bodies, events and streams are bounded in
// bytes, its output in tokens (the request's maxTokens), its answers in time, and every failure is a typed
// InferenceError.
import { createParser, type EventSourceMessage } from 'eventsource-parser'
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
  type StopReason,
  type Usage,
} from './backend.ts'
import { ADAPTER_ID_PATTERN, DEFAULT_INFERENCE_LIMITS, type InferenceLimits } from './constants.ts'
import { abortedError, InferenceError, type InferenceErrorCode, inferenceError } from './errors.ts'
import type { InferenceLogger } from './onnx-backend.ts'
import { GenerationQueue } from './queue.ts'

/** How one of our adapter ids (a registry id, or a local name) is known to the engine. */
export interface OpenAiHttpAdapter {
  /** the engine's name for the LoRA, sent as `model` (vLLM's `lora_name`, LoRAX's adapter id); default: our id */
  loraName?: string
  /** where the engine loads it from at runtime (vLLM's `lora_path`, a folder on the engine's machine) */
  path?: string
  /** fields merged into each request for this adapter (llama.cpp server: `{lora: [{id: 0, scale: 1}]}`) */
  requestFields?: Record<string, unknown>
}

export interface OpenAiHttpTimeouts {
  /** from sending a request until the engine's response headers (connecting included) */
  connectMs: number
  /** from the headers of a stream until its first event (the engine's queue and prompt processing) */
  firstByteMs: number
  /** between reads of a stream once its first event came */
  idleMs: number
  /** a whole non-streamed call (`/v1/models`, unloading, detokenizing, an error body) */
  requestMs: number
  /** loading an adapter at runtime (the engine may read or download it first) */
  loadMs: number
}

export const DEFAULT_OPENAI_HTTP_TIMEOUTS: OpenAiHttpTimeouts = {
  connectMs: 10_000,
  firstByteMs: 120_000,
  idleMs: 30_000,
  requestMs: 30_000,
  loadMs: 300_000,
}

/** Bounds on what the engine may send. */
export interface OpenAiHttpBounds {
  /** bytes of one server-sent event (all its lines) */
  maxEventBytes: number
  /** bytes of one whole stream (an engine sending empty events forever is cut off here) */
  maxStreamBytes: number
  /** bytes of a non-streamed body */
  maxBodyBytes: number
}

export const DEFAULT_OPENAI_HTTP_BOUNDS: OpenAiHttpBounds = {
  maxEventBytes: 64 * 1024,
  maxStreamBytes: 16 * 1024 * 1024,
  maxBodyBytes: 1024 * 1024,
}

export interface OpenAiHttpBackendOptions {
  /** the id this base model is served under (its registry id, or a local name) */
  modelId: string
  /** the engine's OpenAI base URL, as an OpenAI client takes it: `http://HOST:PORT/v1` */
  baseUrl: string
  /** sent as `Authorization: Bearer KEY` (vLLM and llama.cpp `--api-key`) */
  apiKey?: string
  /** the engine's name for the base model (vLLM `--served-model-name`); default: modelId */
  engineModel?: string
  /** our adapter id → the engine's LoRA (a string is the LoRA name) */
  adapters?: Record<string, OpenAiHttpAdapter | string>
  /**
   * Load adapters into the engine on first use (and on `load`) with `POST /v1/load_lora_adapter
   * {lora_name, lora_path}`, unload them with `/v1/unload_lora_adapter` (vLLM started with
   * VLLM_ALLOW_RUNTIME_LORA_UPDATING=True). Off (default): the engine already serves them (`--lora-modules`).
   */
  loadAdaptersAtRuntime?: boolean
  /** adapters held in the engine at once (runtime loading); default 8. Keep it >= limits.maxConcurrent */
  maxLoadedAdapters?: number
  /** adapters loaded by `create` (runtime loading only) */
  preload?: string[]
  /** ask for the generated token ids (vLLM's `return_token_ids`; others ignore it); default true */
  requestTokenIds?: boolean
  /** `create` checks that the engine serves the base model (GET /v1/models); default true */
  probe?: boolean
  limits?: Partial<InferenceLimits>
  timeouts?: Partial<OpenAiHttpTimeouts>
  bounds?: Partial<OpenAiHttpBounds>
  /** how long unload() lets running generations finish before ending them (default 30 s) */
  drainTimeoutMs?: number
  log?: InferenceLogger
}

interface EngineAdapter {
  loraName: string
  path: string | null
  requestFields: Record<string, unknown>
}

const silent: InferenceLogger = { info() {}, warn() {} }

/** A call's own abort controller with a re-armable deadline, so that a timeout can be told from an abort. */
class Deadline {
  readonly controller = new AbortController()
  private timer: NodeJS.Timeout | undefined
  /** what the engine did not do in time, once the deadline passed */
  expired: { what: string; ms: number } | null = null

  arm(ms: number, what: string): void {
    this.clear()
    this.timer = setTimeout(() => {
      this.expired = { what, ms }
      this.controller.abort(new Error(`the engine did not ${what} within ${ms} ms`))
    }, ms)
  }

  clear(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Ends the call: an open connection is closed. */
  close(): void {
    this.clear()
    this.controller.abort(new Error('engine call finished'))
  }
}

/**
 * Counts the bytes of the event being received across reads, so that one event never grows past the bound
 * (the parser would buffer it whole). A blank line ends an event; CR, LF and CRLF end lines. Those bytes
 * never occur inside a UTF-8 sequence, so raw bytes can be scanned.
 */
class EventSizeGuard {
  private eventBytes = 0
  private lineBytes = 0
  private afterCR = false

  constructor(private readonly max: number) {}

  /** false once the event being received is over the bound */
  push(bytes: Uint8Array): boolean {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]
      if (b === 0x0a && this.afterCR) {
        this.afterCR = false
        continue
      }
      this.afterCR = b === 0x0d
      if (b === 0x0a || b === 0x0d) {
        if (this.lineBytes === 0) this.eventBytes = 0
        this.lineBytes = 0
      } else {
        this.lineBytes++
        if (++this.eventBytes > this.max) return false
      }
    }
    return true
  }
}

const snippet = (s: string, n = 200): string => (s.length > n ? `${s.slice(0, n)}…` : s)

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0

const closedError = (): InferenceError => inferenceError('BACKEND_CLOSED', 'the backend is closed')

/** The message of an engine's error body: OpenAI's `{error: {message}}`, vLLM's `{message}`, or the text. */
function engineMessage(text: string): string {
  try {
    const body = JSON.parse(text)
    const m = body?.error?.message ?? body?.error ?? body?.message ?? body?.detail
    if (typeof m === 'string') return snippet(m, 500)
  } catch {}
  return snippet(text.trim(), 500) || '(no body)'
}

function garbage(what: string): InferenceError {
  return inferenceError('GENERATION_FAILED', `the engine sent ${what}`, { reason: 'malformed stream' })
}

function tooLarge(what: string, limit: number, actual?: number): InferenceError {
  return inferenceError('GENERATION_FAILED', `the engine's ${what} is over ${limit} bytes`, {
    limit,
    actual,
    reason: `${what} too large`,
  })
}

interface StreamEvent {
  /** the first choice's delta; null in an event without one (vLLM's last, carrying only the usage) */
  choice: {
    text: string
    tokenIds: number[] | null
    finishReason: string | null
    /** vLLM: the stop string or stop token id that ended it; null at end of text; undefined: not said */
    stopReason: unknown
  } | null
  usage: Usage | null
}

/** Reads one event's JSON: the first choice and the usage, or the error the engine reports. */
function parseStreamEvent(data: string): StreamEvent {
  let o: Record<string, unknown>
  try {
    o = JSON.parse(data)
  } catch {
    throw garbage(`an event that is not JSON: ${JSON.stringify(snippet(data, 80))}`)
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw garbage('an event that is not an object')
  if (o.error !== undefined && o.error !== null) {
    const reason = engineMessage(data)
    throw inferenceError('GENERATION_FAILED', `the engine failed: ${reason}`, { reason })
  }
  let usage: Usage | null = null
  if (o.usage !== undefined && o.usage !== null) {
    const u = o.usage as Record<string, unknown>
    if (!isCount(u.prompt_tokens) || !isCount(u.completion_tokens)) throw garbage('a malformed usage')
    usage = { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens }
  }
  if (!Array.isArray(o.choices)) throw garbage('an event without choices')
  // n = 1 was asked for: the first choice is the generation.
  const raw = o.choices[0] as Record<string, unknown> | undefined
  if (raw === undefined) return { choice: null, usage }
  if (typeof raw !== 'object' || raw === null) throw garbage('a malformed choice')
  const text = raw.text ?? ''
  if (typeof text !== 'string') throw garbage('a choice whose text is not a string')
  const tokenIds = raw.token_ids ?? null
  if (tokenIds !== null && !(Array.isArray(tokenIds) && tokenIds.every(isCount)))
    throw garbage('malformed token_ids')
  const finishReason = raw.finish_reason ?? null
  if (finishReason !== null && typeof finishReason !== 'string') throw garbage('a malformed finish_reason')
  return {
    choice: { text, tokenIds: tokenIds as number[] | null, finishReason, stopReason: raw.stop_reason },
    usage,
  }
}

/** OpenAI's finish_reason as our stop reason. */
function stopReasonOf(finish: string, stopReason: unknown, askedStops: boolean): StopReason {
  if (finish === 'length') return 'max_tokens'
  if (finish === 'stop') {
    if (typeof stopReason === 'string') return 'stop'
    if (stopReason === null || typeof stopReason === 'number') return 'end_of_text'
    // The engine does not say which (llama.cpp, LoRAX): with stop strings asked for, take it as one of them.
    return askedStops ? 'stop' : 'end_of_text'
  }
  throw inferenceError(
    'GENERATION_FAILED',
    `the engine ended the generation with finish_reason "${finish}"`,
    {
      reason: `finish_reason ${finish}`,
    },
  )
}

/** Resolves with `promise`, or rejects with ABORTED when `signal` aborts first (the shared work goes on). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError(signal, 'waiting'))
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal, 'waiting'))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** What one generation sends the engine, and what it owes the caller before the engine's text. */
interface Plan {
  prompt: string | number[]
  /** tokens the engine may generate: maxTokens less the continuation's */
  budget: number
  /** the continuation's text the client does not have yet (it was held back) */
  tail: string
  /** tokens of the prompt as the engine counts it that are the continuation's, not the prompt's */
  heldTokens: number
}

export class OpenAiHttpBackend implements InferenceBackend {
  readonly kind = 'openai-http'
  readonly modelId: string
  readonly engineModel: string
  /** the engine's OpenAI base URL, without a trailing slash */
  readonly baseUrl: string
  readonly limits: InferenceLimits
  readonly timeouts: OpenAiHttpTimeouts
  readonly bounds: OpenAiHttpBounds
  readonly loadAdaptersAtRuntime: boolean
  readonly maxLoadedAdapters: number
  private readonly adapters = new Map<string, EngineAdapter>()
  /** adapters the engine holds after a runtime load, least recently used first */
  private readonly loaded = new Set<string>()
  private readonly loading = new Map<string, Promise<void>>()
  private readonly unloading = new Map<string, Promise<void>>()
  /** generations holding a slot, per adapter: such an adapter is never evicted */
  private readonly inUse = new Map<string, number>()
  private readonly queue: GenerationQueue
  /** aborted when the base is unloaded (then replaced) or the backend closes */
  private lifecycle = new AbortController()
  private closed = false
  private baseLoaded = true
  private drainingBase = false
  private readonly waiters = new Set<() => void>()
  private readonly log: InferenceLogger

  constructor(private readonly options: OpenAiHttpBackendOptions) {
    const invalid = (field: string, message: string): never => {
      throw inferenceError('INVALID_REQUEST', message, { field })
    }
    if (typeof options.modelId !== 'string' || options.modelId.length === 0)
      invalid('modelId', 'modelId must be a non-empty string')
    let url: URL | null = null
    try {
      url = new URL(options.baseUrl)
    } catch {}
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      invalid('baseUrl', `baseUrl ${JSON.stringify(options.baseUrl)} is not an http(s) URL`)
    this.baseUrl = url!.href.replace(/\/+$/, '')
    this.modelId = options.modelId
    this.engineModel = options.engineModel ?? options.modelId
    this.loadAdaptersAtRuntime = options.loadAdaptersAtRuntime ?? false
    this.maxLoadedAdapters = options.maxLoadedAdapters ?? 8
    if (!(Number.isInteger(this.maxLoadedAdapters) && this.maxLoadedAdapters >= 1))
      invalid('maxLoadedAdapters', 'maxLoadedAdapters must be an integer >= 1')
    this.limits = { ...DEFAULT_INFERENCE_LIMITS, ...options.limits }
    this.timeouts = { ...DEFAULT_OPENAI_HTTP_TIMEOUTS, ...options.timeouts }
    this.bounds = { ...DEFAULT_OPENAI_HTTP_BOUNDS, ...options.bounds }
    this.queue = new GenerationQueue(this.limits.maxConcurrent, this.limits.maxQueued)
    this.log = options.log ?? silent
    for (const [id, spec] of Object.entries(options.adapters ?? {})) {
      if (!ADAPTER_ID_PATTERN.test(id)) invalid('adapters', `"${id}" is not an adapter id`)
      const s = typeof spec === 'string' ? { loraName: spec } : spec
      const adapter = {
        loraName: s.loraName ?? id,
        path: s.path ?? null,
        requestFields: s.requestFields ?? {},
      }
      if (adapter.loraName.length === 0) invalid('adapters', `adapter ${id}: loraName must not be empty`)
      if (this.loadAdaptersAtRuntime && adapter.path === null)
        invalid('adapters', `adapter ${id} needs a path to be loaded at runtime`)
      this.adapters.set(id, adapter)
    }
  }

  /** Probes the engine (unless `probe: false`), then loads the `preload` adapters (a failure is logged). */
  static async create(options: OpenAiHttpBackendOptions): Promise<OpenAiHttpBackend> {
    const backend = new OpenAiHttpBackend(options)
    if (options.probe !== false)
      await backend.probe().catch(async (err) => {
        await backend.close()
        throw err
      })
    for (const id of options.preload ?? []) {
      if (!backend.adapters.has(id)) {
        backend.log.warn({ adapter: id }, 'configured adapter is not offered; skipped')
        continue
      }
      await backend.load({ model: backend.modelId, adapter: id }).catch((err: InferenceError) => {
        backend.log.warn({ adapter: id, code: err.code, err: err.message }, 'adapter could not be preloaded')
      })
    }
    return backend
  }

  /**
   * GET /v1/models; MODEL_LOAD_FAILED when the engine cannot be reached or does not list the base model.
   * With runtime loading, our LoRAs the engine already lists count as loaded. Returns the ids it lists.
   */
  async probe(options: { signal?: AbortSignal } = {}): Promise<string[]> {
    this.assertOpen()
    const failed = (reason: string): InferenceError =>
      inferenceError('MODEL_LOAD_FAILED', `the engine at ${this.baseUrl} ${reason}`, {
        model: this.modelId,
        reason,
      })
    let answer: { status: number; text: string }
    try {
      answer = await this.request(
        'GET',
        `${this.baseUrl}/models`,
        undefined,
        this.timeouts.requestMs,
        options.signal,
      )
    } catch (err) {
      if (err instanceof InferenceError && err.code !== 'GENERATION_FAILED' && err.code !== 'TIMEOUT')
        throw err
      throw failed(`did not answer GET /models: ${(err as Error).message}`)
    }
    if (answer.status !== 200)
      throw failed(`answered GET /models with ${answer.status}: ${engineMessage(answer.text)}`)
    let ids: string[]
    try {
      const data = (JSON.parse(answer.text) as { data?: unknown }).data
      if (!Array.isArray(data)) throw new Error('no data')
      ids = data.map((m) => m?.id).filter((id): id is string => typeof id === 'string')
    } catch {
      throw failed('answered GET /models with something that is not a model list')
    }
    if (!ids.includes(this.engineModel))
      throw failed(`does not serve ${this.engineModel} (it lists ${snippet(ids.join(', '))})`)
    const listed = [...this.adapters].filter(([, a]) => ids.includes(a.loraName)).map(([id]) => id)
    if (this.loadAdaptersAtRuntime) for (const id of listed) this.loaded.add(id)
    else if (listed.length < this.adapters.size)
      // LoRAX and llama.cpp list no adapters, so a missing name is only worth a warning.
      this.log.warn(
        { adapters: [...this.adapters.keys()].filter((id) => !listed.includes(id)) },
        'adapters whose LoRA name the engine does not list',
      )
    return ids
  }

  models(): ServedModel[] {
    const entry = (id: string, parent: string | null, loaded: boolean): ServedModel => ({
      id,
      kind: parent === null ? 'base' : 'adapter',
      parent,
      backend: this.kind,
      loaded,
      pinned: false,
    })
    return [
      entry(this.modelId, null, this.baseLoaded && !this.closed),
      // Without runtime loading the engine was started with every adapter.
      ...[...this.adapters.keys()].map((id) =>
        entry(id, this.modelId, !this.loadAdaptersAtRuntime || this.loaded.has(id)),
      ),
    ]
  }

  stats(): BackendStats & { baseUrl: string; engineModel: string; loadedAdapters: number } {
    return {
      backend: this.kind,
      active: this.queue.active,
      queued: this.queue.queued,
      maxConcurrent: this.queue.maxConcurrent,
      maxQueued: this.queue.maxQueued,
      baseUrl: this.baseUrl,
      engineModel: this.engineModel,
      loadedAdapters: this.loaded.size,
    }
  }

  /** The request checks of generate(), without queueing: throws the typed refusal or returns the request. */
  validate(request: InferenceRequest): CheckedRequest {
    this.assertOpen()
    const checked = checkRequest(request, this.limits)
    this.assertTarget(checked)
    if (!this.baseLoaded || this.drainingBase)
      throw inferenceError('MODEL_NOT_LOADED', `model ${this.modelId} is not loaded`, { model: this.modelId })
    return checked
  }

  async *generate(request: InferenceRequest, options: GenerateOptions = {}): AsyncGenerator<GenerationEvent> {
    const checked = this.validate(request)
    const callerSignal = options.signal
    const signal = callerSignal
      ? AbortSignal.any([callerSignal, this.lifecycle.signal])
      : this.lifecycle.signal
    const stopped = (err: unknown): InferenceError => this.stopError(err, signal, callerSignal)
    const adapterId = checked.adapter
    let release: (() => void) | undefined
    try {
      release = await this.queue.acquire(signal).catch((err) => {
        throw stopped(err)
      })
      if (adapterId !== null) this.inUse.set(adapterId, (this.inUse.get(adapterId) ?? 0) + 1)
      const plan = await this.plan(checked, signal).catch((err) => {
        throw stopped(err)
      })
      if (plan.budget === 0) {
        // Nothing to generate (engines refuse max_tokens 0), so the engine is not asked.
        if (plan.tail !== '') yield { type: 'chunk', text: plan.tail, tokenIds: [] }
        const promptTokens = checked.promptTokenIds?.length ?? 0
        yield { type: 'end', stopReason: 'max_tokens', usage: { promptTokens, completionTokens: 0 } }
        return
      }
      const adapter = adapterId === null ? null : this.adapters.get(adapterId)!
      let response: Response
      let deadline: Deadline
      for (let attempt = 0; ; attempt++) {
        if (adapterId !== null && this.loadAdaptersAtRuntime)
          await raceAbort(this.ensureLoaded(adapterId), signal).catch((err) => {
            throw stopped(err)
          })
        try {
          ;({ response, deadline } = await this.open(checked, plan, adapter, signal, callerSignal))
          break
        } catch (err) {
          // The engine lost a LoRA we loaded (it restarted): load it again, once.
          const lost = attempt === 0 && adapterId !== null && this.loaded.has(adapterId)
          if (!(lost && err instanceof InferenceError && err.code === 'UNKNOWN_ADAPTER')) throw err
          this.loaded.delete(adapterId)
          this.log.warn({ adapter: adapterId }, 'the engine no longer holds this adapter; loading it again')
        }
      }
      yield* this.stream(response, deadline, checked, plan, signal, callerSignal)
    } finally {
      release?.()
      if (release && adapterId !== null) {
        const n = this.inUse.get(adapterId)! - 1
        if (n === 0) this.inUse.delete(adapterId)
        else this.inUse.set(adapterId, n)
      }
      for (const w of [...this.waiters]) w()
    }
  }

  /**
   * An adapter: loaded into the engine when runtime loading is on (concurrent loads of one share one
   * request), else nothing to do. The base: the engine holds it; after an unload this probes it again
   * (GET /v1/models) and serves again.
   */
  async load(target: ModelTarget, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.assertTarget(target)
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.lifecycle.signal])
      : this.lifecycle.signal
    if (target.adapter) {
      if (!this.loadAdaptersAtRuntime) return
      await raceAbort(this.ensureLoaded(target.adapter), signal).catch((err) => {
        throw this.stopError(err, signal, options.signal)
      })
      return
    }
    if (this.baseLoaded || this.drainingBase) return
    if (this.lifecycle.signal.aborted) this.lifecycle = new AbortController()
    await this.probe(options)
    this.baseLoaded = true
  }

  /**
   * An adapter (runtime loading): once the generations using it end (or the drain timeout passes), the
   * engine unloads it; a later request loads it again. The base: new requests are refused with
   * MODEL_NOT_LOADED, running ones finish (or are ended after the drain timeout); the engine keeps its
   * weights, it is not ours to stop.
   */
  async unload(target: ModelTarget): Promise<void> {
    this.assertTarget(target)
    const drainMs = this.options.drainTimeoutMs ?? 30_000
    const id = target.adapter
    if (id) {
      if (!this.loadAdaptersAtRuntime) return
      await this.loading.get(id)?.catch(() => {})
      await this.until(() => !this.inUse.has(id), drainMs)
      if (this.loaded.delete(id)) await this.unloadFromEngine(id)
      return
    }
    if (!this.baseLoaded || this.drainingBase) return
    this.drainingBase = true
    try {
      await this.until(() => this.queue.active === 0 && this.queue.queued === 0, drainMs)
      this.lifecycle.abort(new Error('model unloaded'))
      this.baseLoaded = false
    } finally {
      this.drainingBase = false
    }
  }

  /** Ends every generation (their engine requests are closed) and refuses everything after. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.lifecycle.abort(new Error('backend closed'))
    this.queue.failWaiting(closedError())
    for (const w of [...this.waiters]) w()
  }

  /**
   * The prompt the engine gets. A continuation (failover) resumes after the tokens the client holds: the
   * engine gets the prompt plus their text (token ids after token ids, else text after text), may generate
   * only what is left of maxTokens, and the part of their text the client has not received comes first.
   * Their text comes from the engine's own `/detokenize` (vLLM, llama.cpp server), beside `/v1`.
   */
  private async plan(req: CheckedRequest, signal: AbortSignal): Promise<Plan> {
    const prompt = req.promptTokenIds ?? req.prompt ?? ''
    const held = req.continuation?.tokenIds ?? []
    if (held.length === 0) return { prompt, budget: req.maxTokens, tail: '', heldTokens: 0 }
    const url = `${this.baseUrl.replace(/\/v1$/, '')}/detokenize`
    const answer = await this.request(
      'POST',
      url,
      { model: this.engineModel, tokens: held },
      this.timeouts.requestMs,
      signal,
    )
    let text: unknown
    try {
      const body = JSON.parse(answer.text)
      text = body.prompt ?? body.content // vLLM's field, llama.cpp's
    } catch {}
    if (answer.status !== 200 || typeof text !== 'string')
      throw inferenceError(
        'GENERATION_FAILED',
        `the engine did not detokenize the continuation (${answer.status}: ${engineMessage(answer.text)})`,
        { reason: 'detokenize failed' },
      )
    const textLength = req.continuation!.textLength
    if (textLength > text.length)
      throw inferenceError('INVALID_REQUEST', 'continuation.textLength is longer than its tokens decode to', {
        field: 'continuation',
      })
    return {
      prompt: typeof prompt === 'string' ? prompt + text : [...prompt, ...held],
      budget: req.maxTokens - held.length,
      tail: text.slice(textLength),
      heldTokens: held.length,
    }
  }

  /** Sends the streamed completion request; resolves once the engine answered 200 with an event stream. */
  private async open(
    req: CheckedRequest,
    plan: Plan,
    adapter: EngineAdapter | null,
    signal: AbortSignal,
    callerSignal: AbortSignal | undefined,
  ): Promise<{ response: Response; deadline: Deadline }> {
    const body: Record<string, unknown> = {
      ...adapter?.requestFields,
      // vLLM and LoRAX select the LoRA by `model`; llama.cpp ignores it (its adapter is in requestFields).
      model: adapter ? adapter.loraName : this.engineModel,
      prompt: plan.prompt,
      max_tokens: plan.budget,
      temperature: req.temperature,
      top_p: req.topP,
      seed: req.seed,
      n: 1,
      stream: true,
      stream_options: { include_usage: true },
    }
    if (req.stop.length > 0) body.stop = req.stop
    if (this.options.requestTokenIds !== false) body.return_token_ids = true
    const deadline = new Deadline()
    deadline.arm(this.timeouts.connectMs, 'answer the completion request')
    try {
      let response: Response
      try {
        response = await fetch(`${this.baseUrl}/completions`, {
          method: 'POST',
          headers: this.headers(),
          body: JSON.stringify(body),
          signal: AbortSignal.any([deadline.controller.signal, signal]),
        })
      } catch (err) {
        throw this.callError(err, deadline, signal, callerSignal)
      }
      if (
        response.status !== 200 ||
        !/^text\/event-stream/i.test(response.headers.get('content-type') ?? '')
      ) {
        deadline.arm(this.timeouts.requestMs, 'send its answer')
        const text = await this.readBody(response).catch((err) => {
          throw this.callError(err, deadline, signal, callerSignal)
        })
        if (response.status !== 200) throw this.engineRefusal(response.status, text, req)
        throw garbage(
          `a ${response.headers.get('content-type')} answer, not an event stream: ${snippet(text, 80)}`,
        )
      }
      deadline.clear()
      return { response, deadline }
    } catch (err) {
      deadline.close()
      throw err
    }
  }

  /** The engine's server-sent events as chunk events, then one end event. */
  private async *stream(
    response: Response,
    deadline: Deadline,
    req: CheckedRequest,
    plan: Plan,
    signal: AbortSignal,
    callerSignal: AbortSignal | undefined,
  ): AsyncGenerator<GenerationEvent> {
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    const events: EventSourceMessage[] = []
    const parser = createParser({ onEvent: (e) => events.push(e) })
    const guard = new EventSizeGuard(this.bounds.maxEventBytes)
    let received = 0
    let sawEvent = false
    let finish: { reason: string; stopReason: unknown } | null = null
    let usage: Usage | null = null
    /** tokens the engine generated: its token ids, else one per chunk of text (an engine may merge some) */
    let tokens = 0
    try {
      if (plan.tail !== '') yield { type: 'chunk', text: plan.tail, tokenIds: [] }
      for (let done = false; !done; ) {
        if (sawEvent) deadline.arm(this.timeouts.idleMs, 'send the next chunk')
        else deadline.arm(this.timeouts.firstByteMs, 'start streaming')
        let read: Awaited<ReturnType<typeof reader.read>>
        try {
          read = await reader.read()
        } catch (err) {
          throw this.callError(err, deadline, signal, callerSignal)
        } finally {
          deadline.clear()
        }
        if (read.done) {
          parser.feed(decoder.decode())
          done = true
        } else {
          received += read.value.byteLength
          if (received > this.bounds.maxStreamBytes)
            throw tooLarge('stream', this.bounds.maxStreamBytes, received)
          if (!guard.push(read.value)) throw tooLarge('event', this.bounds.maxEventBytes)
          parser.feed(decoder.decode(read.value, { stream: true }))
        }
        for (const e of events.splice(0)) {
          sawEvent = true
          if (e.data === '[DONE]') {
            done = true
            break
          }
          const { choice, usage: u } = parseStreamEvent(e.data)
          if (u !== null) usage = u
          if (choice === null) continue
          const ids = choice.tokenIds ?? []
          if (choice.text !== '' || ids.length > 0) {
            if (finish !== null) throw garbage('text after the finish_reason')
            tokens += choice.tokenIds === null ? 1 : ids.length
            if (tokens > plan.budget) throw garbage(`more tokens than max_tokens ${plan.budget}`)
            if (signal.aborted) throw this.stopError(null, signal, callerSignal)
            yield { type: 'chunk', text: choice.text, tokenIds: ids }
          }
          if (choice.finishReason !== null)
            finish = { reason: choice.finishReason, stopReason: choice.stopReason }
        }
      }
      if (finish === null)
        throw inferenceError(
          'GENERATION_FAILED',
          'the engine ended the stream before the generation finished',
          {
            reason: 'stream ended early',
          },
        )
      if (usage !== null && usage.completionTokens > plan.budget)
        throw garbage(`a usage of ${usage.completionTokens} tokens, over max_tokens ${plan.budget}`)
      const stopReason = stopReasonOf(finish.reason, finish.stopReason, req.stop.length > 0)
      if (signal.aborted) throw this.stopError(null, signal, callerSignal)
      yield {
        type: 'end',
        stopReason,
        // Without a usage (include_usage unsupported) the prompt's tokens are known only as token ids.
        usage: {
          promptTokens: usage
            ? Math.max(0, usage.promptTokens - plan.heldTokens)
            : (req.promptTokenIds?.length ?? 0),
          completionTokens: usage?.completionTokens ?? tokens,
        },
      }
    } finally {
      // Closes the connection when the stream did not run to its end (abort, break, failure).
      deadline.close()
      reader.cancel().catch(() => {})
    }
  }

  /** Loads an adapter into the engine once, shared by every caller while it runs; marks it recently used. */
  private ensureLoaded(id: string): Promise<void> {
    if (this.loaded.delete(id)) {
      this.loaded.add(id)
      return Promise.resolve()
    }
    let pending = this.loading.get(id)
    if (!pending) {
      pending = this.loadIntoEngine(id).finally(() => this.loading.delete(id))
      this.loading.set(id, pending)
    }
    return pending
  }

  private async loadIntoEngine(id: string): Promise<void> {
    const adapter = this.adapters.get(id)!
    await this.unloading.get(id)
    // Room first (this load counts among `loading`): the least recently used adapters no generation holds
    // leave the engine, so that it never holds more than maxLoadedAdapters of ours; BUSY if none can.
    while (this.loaded.size + this.loading.size > this.maxLoadedAdapters) {
      const victim = [...this.loaded].find((a) => !this.inUse.has(a))
      if (victim === undefined)
        throw inferenceError('BUSY', `all ${this.loaded.size} adapters loaded in the engine are in use`, {
          limit: this.maxLoadedAdapters,
          adapter: id,
        })
      this.loaded.delete(victim)
      await this.unloadFromEngine(victim)
    }
    const failed = (reason: string): InferenceError =>
      inferenceError('ADAPTER_LOAD_FAILED', `the engine did not load adapter ${id}: ${reason}`, {
        adapter: id,
        reason,
      })
    let answer: { status: number; text: string }
    try {
      answer = await this.request(
        'POST',
        `${this.baseUrl}/load_lora_adapter`,
        { lora_name: adapter.loraName, lora_path: adapter.path },
        this.timeouts.loadMs,
      )
    } catch (err) {
      throw this.closed ? closedError() : failed((err as Error).message)
    }
    const message = engineMessage(answer.text)
    // vLLM answers a second load of one name with 400 "... has already been loaded": it is there.
    if (answer.status !== 200 && !(answer.status === 400 && /already (been )?loaded/i.test(message)))
      throw failed(
        answer.status === 404
          ? `404 ${message} (runtime LoRA loading needs vLLM started with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True)`
          : `${answer.status} ${message}`,
      )
    if (this.closed) throw closedError()
    this.loaded.add(id)
    this.log.info({ adapter: id, loraName: adapter.loraName }, 'adapter loaded into the engine')
  }

  /** Asks the engine to drop a LoRA; its failure is logged, not thrown (nothing here depends on it). */
  private unloadFromEngine(id: string): Promise<void> {
    const loraName = this.adapters.get(id)!.loraName
    const warn = (err: string): void =>
      this.log.warn({ adapter: id, err }, 'the engine did not unload the adapter')
    const done = this.request(
      'POST',
      `${this.baseUrl}/unload_lora_adapter`,
      { lora_name: loraName },
      this.timeouts.requestMs,
    )
      .then((answer) => {
        // 404: the engine does not hold it (any more), which is what was asked.
        if (answer.status !== 200 && answer.status !== 404)
          warn(`${answer.status} ${engineMessage(answer.text)}`)
      })
      .catch((err: Error) => warn(err.message))
      .finally(() => {
        if (this.unloading.get(id) === done) this.unloading.delete(id)
      })
    this.unloading.set(id, done)
    return done
  }

  /** A non-streamed call with a bounded body and a deadline for all of it; ends on close. */
  private async request(
    method: 'GET' | 'POST',
    url: string,
    body: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ status: number; text: string }> {
    const deadline = new Deadline()
    const outer = signal ? AbortSignal.any([signal, this.lifecycle.signal]) : this.lifecycle.signal
    deadline.arm(timeoutMs, `answer ${method} ${url}`)
    try {
      const response = await fetch(url, {
        method,
        headers: this.headers(),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([deadline.controller.signal, outer]),
      })
      return { status: response.status, text: await this.readBody(response) }
    } catch (err) {
      throw this.callError(err, deadline, outer, signal)
    } finally {
      deadline.close()
    }
  }

  /** The whole body as text, refused beyond maxBodyBytes. */
  private async readBody(response: Response): Promise<string> {
    const max = this.bounds.maxBodyBytes
    const declared = Number(response.headers.get('content-length'))
    if (declared > max) {
      response.body?.cancel().catch(() => {})
      throw tooLarge('answer', max, declared)
    }
    if (response.body === null) return ''
    const reader = response.body.getReader()
    const parts: Uint8Array[] = []
    let size = 0
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        size += r.value.byteLength
        if (size > max) throw tooLarge('answer', max, size)
        parts.push(r.value)
      }
    } finally {
      reader.cancel().catch(() => {})
    }
    return Buffer.concat(parts).toString('utf8')
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json' }
    if (this.options.apiKey) h.authorization = `Bearer ${this.options.apiKey}`
    return h
  }

  /** An engine's non-200 answer to a completion request as our code. */
  private engineRefusal(status: number, text: string, req: CheckedRequest): InferenceError {
    const message = engineMessage(text)
    const refuse = (code: InferenceErrorCode, what: string): InferenceError =>
      inferenceError(code, `${what} (engine ${status}: ${message})`, {
        model: req.model,
        ...(req.adapter ? { adapter: req.adapter } : {}),
        reason: message,
      })
    if (status === 404)
      return req.adapter
        ? refuse('UNKNOWN_ADAPTER', `the engine does not serve adapter ${req.adapter}`)
        : refuse('UNKNOWN_MODEL', `the engine does not serve model ${req.model}`)
    if (status === 429 || status === 503) return refuse('BUSY', 'the engine is busy')
    if ((status === 400 || status === 413) && /context length|too long/i.test(message))
      return refuse('PROMPT_TOO_LARGE', "the prompt does not fit the engine's context")
    if (status === 400 || status === 422) return refuse('INVALID_REQUEST', 'the engine refused the request')
    if (status === 408 || status === 504) return refuse('TIMEOUT', 'the engine timed out')
    return refuse('GENERATION_FAILED', 'the engine failed')
  }

  /** A failed fetch or read: a deadline, our own stop (abort, unload, close), or the connection. */
  private callError(
    err: unknown,
    deadline: Deadline,
    signal: AbortSignal,
    callerSignal: AbortSignal | undefined,
  ): InferenceError {
    if (err instanceof InferenceError) return err
    if (deadline.expired) {
      const { what, ms } = deadline.expired
      return inferenceError('TIMEOUT', `the engine did not ${what} within ${ms} ms`, {
        limit: ms,
        reason: what,
      })
    }
    if (signal.aborted || callerSignal?.aborted) return this.stopError(null, signal, callerSignal)
    // fetch's TypeError carries the socket's error (ECONNREFUSED, ECONNRESET, ...) as its cause.
    const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause
    const reason = String(cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : err))
    return inferenceError('GENERATION_FAILED', `the engine at ${this.baseUrl} failed: ${reason}`, { reason })
  }

  /** The error for a generation stopped by a signal: the caller's abort, an unload, or close. */
  private stopError(
    err: unknown,
    signal: AbortSignal,
    callerSignal: AbortSignal | undefined,
  ): InferenceError {
    if (err instanceof InferenceError && err.code !== 'ABORTED') return err
    if (this.closed) return closedError()
    if (callerSignal?.aborted) return abortedError(callerSignal, 'generation')
    if (signal.aborted)
      return inferenceError('MODEL_NOT_LOADED', `model ${this.modelId} was unloaded`, { model: this.modelId })
    if (err instanceof InferenceError) return err
    return inferenceError('GENERATION_FAILED', String(err), { reason: String(err) })
  }

  private assertOpen(): void {
    if (this.closed) throw closedError()
  }

  private assertTarget(target: ModelTarget): void {
    this.assertOpen()
    if (target.model !== this.modelId)
      throw inferenceError('UNKNOWN_MODEL', `model ${target.model} is not served here`, {
        model: target.model,
      })
    if (target.adapter && !this.adapters.has(target.adapter))
      throw inferenceError(
        'UNKNOWN_ADAPTER',
        `adapter ${target.adapter} is not offered for model ${this.modelId}`,
        {
          model: this.modelId,
          adapter: target.adapter,
        },
      )
  }

  /** Resolves when `ready()` holds (checked as generations end), after `timeoutMs`, or on close. */
  private until(ready: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!ready() && !this.closed) return
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve()
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        resolve()
      }, timeoutMs)
      this.waiters.add(check)
      check()
    })
  }
}
