// Limits and defaults of the inference backends and the adapter cache, in one place.

/** Bounds on one request and on the work a backend takes on at once. */
export interface InferenceLimits {
  /** UTF-8 bytes of a text prompt. */
  maxPromptBytes: number
  /** Tokens of a prompt, given as token ids or once a text prompt is encoded. */
  maxPromptTokens: number
  /** The largest maxTokens a request may ask for. */
  maxTokens: number
  /** Generations running at once (they interleave token by token on one session). */
  maxConcurrent: number
  /** Generations waiting for a slot; one more is refused with BUSY. */
  maxQueued: number
  /** Stop strings per request, and UTF-8 bytes of each. */
  maxStopStrings: number
  maxStopBytes: number
}

export const DEFAULT_INFERENCE_LIMITS: InferenceLimits = {
  maxPromptBytes: 16 * 1024,
  maxPromptTokens: 4096,
  maxTokens: 1024,
  maxConcurrent: 4,
  maxQueued: 16,
  maxStopStrings: 4,
  maxStopBytes: 64,
}

/** Bytes of adapter weights the cache keeps (pinned adapters are bounded separately). */
export const DEFAULT_ADAPTER_CACHE_BYTES = 256 * 1024 * 1024

/** Adapters whose metrics are remembered; beyond it the oldest non-resident adapter's are dropped. */
export const DEFAULT_MAX_TRACKED_ADAPTERS = 10_000

/** Adapters loaded at once by `preload`. */
export const PRELOAD_CONCURRENCY = 4

/** An adapter id: a plain name or a decimal registry id; never a path. */
export const ADAPTER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
