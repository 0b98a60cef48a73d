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

/** The inference stream protocol. */
export const INFER_PROTOCOL = '/openledger/infer/1.0.0'

/** Bounds and timings of /openledger/infer/1.0.0 on the serving side. */
export interface InferServiceLimits {
  /** answers streaming at once, from all peers (beyond it: BUSY) */
  maxStreams: number
  /** answers streaming at once to one peer (beyond it: BUSY) */
  maxStreamsPerPeer: number
  /** inbound infer streams one connection may hold open, answering or idle between requests: libp2p
   * resets more, so keep it above maxStreamsPerPeer (those between the two are answered BUSY) */
  maxInboundStreamsPerConnection: number
  /** infer streams open at once from all peers, answering or idle (beyond it: BUSY at once) */
  maxOpenStreams: number
  /** infer streams one peer may hold open, answering or idle (beyond it: BUSY at once) */
  maxOpenStreamsPerPeer: number
  /** a new stream's first request must arrive within this */
  requestTimeoutMs: number
  /** after an answer, the stream waits this long for the client's next request, then closes */
  keepAliveMs: number
  /** a frame the client does not take within this ends the answer (a client that stopped reading) */
  writeTimeoutMs: number
  /** requestIds remembered to refuse a replayed authorization (bounded count; kept until the deadline) */
  maxSeenRequests: number
}

export const DEFAULT_INFER_SERVICE_LIMITS: InferServiceLimits = {
  maxStreams: 64,
  maxStreamsPerPeer: 8,
  maxInboundStreamsPerConnection: 32,
  maxOpenStreams: 256,
  maxOpenStreamsPerPeer: 16,
  // A client writes its request as soon as the stream is open: a silent stream is let go quickly.
  requestTimeoutMs: 3_000,
  keepAliveMs: 15_000,
  writeTimeoutMs: 10_000,
  maxSeenRequests: 100_000,
}

/** Timings of one request on the client side. */
export interface InferClientTimeouts {
  dialMs: number
  /** until the first frame: the provider's queue wait and the prompt's first token */
  firstFrameMs: number
  /** between two frames */
  idleMs: number
}

export const DEFAULT_INFER_CLIENT_TIMEOUTS: InferClientTimeouts = {
  dialMs: 5_000,
  firstFrameMs: 60_000,
  idleMs: 30_000,
}
