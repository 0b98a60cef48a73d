// The interface every inference runtime implements (the embedded onnx backend here; an openai-http backend
// fronting vLLM or llama.cpp later), and the request checks they share. The infer protocol and the HTTP API
// speak to a backend only through this interface.
import type { InferenceLimits } from './constants.ts'
import { inferenceError } from './errors.ts'

/** A model or adapter a backend serves. Adapters name their base model as `parent`. */
export interface ServedModel {
  id: string
  kind: 'base' | 'adapter'
  /** the base model of an adapter; null for a base model */
  parent: string | null
  /** which runtime serves it ('onnx', 'openai-http') */
  backend: string
  /** in memory and ready: the base session, or an adapter resident in the cache */
  loaded: boolean
  /** an adapter that is never evicted */
  pinned: boolean
}

export interface InferenceRequest {
  /** the base model's id */
  model: string
  /** an adapter of that model; absent or null for the base alone */
  adapter?: string | null
  /** a text prompt, or ... */
  prompt?: string
  /** ... the prompt as token ids of the model's tokenizer (exactly one of the two) */
  promptTokenIds?: number[]
  /** tokens to generate at most (end-of-text or a stop string may end it sooner) */
  maxTokens: number
  /** 0 (the default) is greedy decoding */
  temperature?: number
  /** nucleus mass kept when sampling, in (0, 1]; default 1 */
  topP?: number
  /** seed of the sampling PRNG, an unsigned 32-bit integer; default 0 */
  seed?: number
  /** generation stops at the first of these strings, which is not part of the output */
  stop?: string[]
  /**
   * Resuming an answer another provider started (failover): the output tokens the client already holds
   * and the length of the text it already received. The backend continues after them, emits only the new
   * text, and counts only the new tokens as completion tokens; maxTokens still bounds the whole answer.
   */
  continuation?: Continuation
}

export interface Continuation {
  tokenIds: number[]
  /** UTF-16 units of the answer's text the client already has (a tail may have been held back) */
  textLength: number
}

export type StopReason = 'max_tokens' | 'stop' | 'end_of_text'

export interface Usage {
  promptTokens: number
  completionTokens: number
}

/** One generated token: its text (possibly empty while held back, see README) and its id. */
export interface GenerationChunk {
  type: 'chunk'
  text: string
  tokenIds: number[]
}

/** The last event of every generation that was not refused or aborted. */
export interface GenerationEnd {
  type: 'end'
  stopReason: StopReason
  usage: Usage
}

export type GenerationEvent = GenerationChunk | GenerationEnd

export interface GenerateOptions {
  /** aborting ends the generation with ABORTED (also while waiting for a slot or an adapter) */
  signal?: AbortSignal
}

/** What `load` and `unload` act on: a base model, or one of its adapters. */
export interface ModelTarget {
  model: string
  adapter?: string | null
}

export interface BackendStats {
  backend: string
  /** generations holding a slot */
  active: number
  /** generations waiting for one */
  queued: number
  maxConcurrent: number
  maxQueued: number
}

export interface InferenceBackend {
  /** the runtime's name, as in `ServedModel.backend` */
  readonly kind: string
  /** the base models and adapters served, with their parent and whether each is loaded */
  models(): ServedModel[]
  /**
   * Streams the generation: one `chunk` per token, then one `end` with the usage. Refusals (the typed
   * InferenceError codes, BUSY included) are thrown by the first `next()`, before any chunk; an abort
   * ends the stream with ABORTED; breaking out of the loop frees the slot.
   */
  generate(request: InferenceRequest, options?: GenerateOptions): AsyncIterable<GenerationEvent>
  /** makes a model or adapter ready (an adapter: fetched into the cache); idempotent */
  load(target: ModelTarget, options?: { signal?: AbortSignal }): Promise<void>
  /** frees it (an adapter leaves the cache, even when pinned); running generations finish first */
  unload(target: ModelTarget): Promise<void>
  stats(): BackendStats
  /** aborts every generation, frees the runtime; later calls are refused with BACKEND_CLOSED */
  close(): Promise<void>
}

/** A checked request: exactly one prompt form, every field within its bound. */
export interface CheckedRequest {
  model: string
  adapter: string | null
  prompt: string | null
  promptTokenIds: number[] | null
  maxTokens: number
  temperature: number
  topP: number
  seed: number
  stop: string[]
  continuation: Continuation | null
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8')

function invalid(field: string, reason: string): never {
  throw inferenceError('INVALID_REQUEST', `${field} ${reason}`, { field, reason })
}

/**
 * The checks every backend runs before any work, cheapest first: the request's shape, then its bounds.
 * Whether the model and adapter are served, and the token ids' range, are the backend's to check.
 */
export function checkRequest(request: InferenceRequest, limits: InferenceLimits): CheckedRequest {
  if (typeof request !== 'object' || request === null) invalid('request', 'must be an object')
  const { model, adapter, prompt, promptTokenIds, maxTokens, temperature, topP, seed, stop, continuation } =
    request
  if (typeof model !== 'string' || model.length === 0) invalid('model', 'must be a non-empty string')
  if (adapter !== undefined && adapter !== null && (typeof adapter !== 'string' || adapter.length === 0))
    invalid('adapter', 'must be a non-empty string when given')
  if ((prompt === undefined) === (promptTokenIds === undefined))
    invalid('prompt', 'or promptTokenIds must be given, not both')
  if (prompt !== undefined) {
    if (typeof prompt !== 'string') invalid('prompt', 'must be a string')
    // n UTF-16 units are at least n UTF-8 bytes: a huge prompt is refused without measuring all of it.
    const atLeast = prompt.length > limits.maxPromptBytes
    const bytes = atLeast ? prompt.length : utf8Length(prompt)
    if (bytes > limits.maxPromptBytes)
      throw inferenceError(
        'PROMPT_TOO_LARGE',
        `the prompt is ${atLeast ? 'at least ' : ''}${bytes} bytes, over the limit of ${limits.maxPromptBytes}`,
        { limit: limits.maxPromptBytes, actual: bytes },
      )
  } else {
    if (!Array.isArray(promptTokenIds)) invalid('promptTokenIds', 'must be an array of token ids')
    if (promptTokenIds.length > limits.maxPromptTokens)
      throw inferenceError(
        'PROMPT_TOO_LARGE',
        `the prompt is ${promptTokenIds.length} tokens, over the limit of ${limits.maxPromptTokens}`,
        { limit: limits.maxPromptTokens, actual: promptTokenIds.length },
      )
    for (const id of promptTokenIds)
      if (!Number.isInteger(id) || id < 0) invalid('promptTokenIds', 'must hold non-negative integers')
  }
  if (!Number.isInteger(maxTokens) || maxTokens < 0) invalid('maxTokens', 'must be a non-negative integer')
  if (maxTokens > limits.maxTokens)
    throw inferenceError(
      'MAX_TOKENS_TOO_LARGE',
      `maxTokens ${maxTokens} is over the limit of ${limits.maxTokens}`,
      { limit: limits.maxTokens, actual: maxTokens },
    )
  if (temperature !== undefined && !(Number.isFinite(temperature) && temperature >= 0))
    invalid('temperature', 'must be a finite number >= 0')
  if (topP !== undefined && !(topP > 0 && topP <= 1)) invalid('topP', 'must be in (0, 1]')
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff))
    invalid('seed', 'must be an unsigned 32-bit integer')
  if (stop !== undefined) {
    if (!Array.isArray(stop) || stop.length > limits.maxStopStrings)
      invalid('stop', `must be an array of at most ${limits.maxStopStrings} strings`)
    for (const s of stop)
      if (typeof s !== 'string' || utf8Length(s) > limits.maxStopBytes)
        invalid('stop', `must hold strings of at most ${limits.maxStopBytes} bytes`)
  }
  if (continuation !== undefined && continuation !== null) {
    if (typeof continuation !== 'object' || !Array.isArray(continuation.tokenIds))
      invalid('continuation', 'must be {tokenIds, textLength}')
    if (continuation.tokenIds.length > maxTokens)
      invalid('continuation', `holds more tokens than maxTokens ${maxTokens}`)
    for (const id of continuation.tokenIds)
      if (!Number.isInteger(id) || id < 0) invalid('continuation', 'must hold non-negative token ids')
    if (!Number.isInteger(continuation.textLength) || continuation.textLength < 0)
      invalid('continuation', 'textLength must be a non-negative integer')
  }
  return {
    model,
    adapter: adapter ?? null,
    prompt: prompt ?? null,
    promptTokenIds: promptTokenIds ?? null,
    maxTokens,
    temperature: temperature ?? 0,
    topP: topP ?? 1,
    seed: seed ?? 0,
    stop: (stop ?? []).filter((s) => s.length > 0),
    continuation: continuation ?? null,
  }
}
