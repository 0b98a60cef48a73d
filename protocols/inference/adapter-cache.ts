// OpenLoRA's adapter cache: one resident base model serves many adapters, fetched on first use into an LRU
// bounded in bytes. lru-cache does the bookkeeping (`maxSize` + `sizeCalculation`; `fetchMethod` makes
// concurrent requests for one adapter share one load). Pinned adapters live beside the LRU, under their
// own byte bound, so they are never evicted. Metrics per adapter are plain counters; the node exports
// them to Prometheus.
//
// The loader is a function from adapter id to weights, so tests load from memory or a folder and the node
// fetches by CID. It is called with the cache's own signal (aborted on close), never a caller's: one
// caller giving up must not fail the others waiting on the same load.
import { LRUCache } from 'lru-cache'
import {
  DEFAULT_ADAPTER_CACHE_BYTES,
  DEFAULT_MAX_TRACKED_ADAPTERS,
  PRELOAD_CONCURRENCY,
} from './constants.ts'
import { abortedError, InferenceError, inferenceError } from './errors.ts'

export type AdapterLoader<T> = (id: string, options: { signal: AbortSignal }) => Promise<T>

export interface AdapterCacheOptions<T> {
  loader: AdapterLoader<T>
  /** bytes a loaded adapter holds in memory */
  sizeOf: (value: T) => number
  /** bound on the bytes of cached (unpinned) adapters */
  maxBytes?: number
  /** bound on the bytes of pinned adapters (default: maxBytes) */
  maxPinnedBytes?: number
  /** adapters whose metrics are kept (the oldest non-resident ones are dropped beyond it) */
  maxTrackedAdapters?: number
  /** milliseconds clock for load latency (default performance.now) */
  now?: () => number
}

/**
 * Counters of one adapter (or of all). Every `get` is one request and exactly one of: a hit (resident), a
 * miss (it started a load) or coalesced (it joined a load in flight). Loads and load failures count loader
 * calls, whoever made them (get, pin, preload); latency is over successful loads.
 */
export interface AdapterMetrics {
  requests: number
  hits: number
  misses: number
  coalesced: number
  loads: number
  loadFailures: number
  evictions: number
  loadMsTotal: number
  loadMsMax: number
  lastLoadMs: number
}

export interface AdapterState extends AdapterMetrics {
  resident: boolean
  pinned: boolean
  /** bytes in the cache (0 when not resident) */
  bytes: number
}

export interface AdapterCacheSnapshot {
  maxBytes: number
  /** bytes of cached (unpinned) adapters */
  bytes: number
  maxPinnedBytes: number
  pinnedBytes: number
  /** adapters resident, pinned ones included */
  resident: number
  pinned: number
  loading: number
  totals: AdapterMetrics
  adapters: Record<string, AdapterState>
}

export interface PreloadResult {
  loaded: string[]
  failed: Array<{ id: string; error: InferenceError }>
}

const emptyMetrics = (): AdapterMetrics => ({
  requests: 0,
  hits: 0,
  misses: 0,
  coalesced: 0,
  loads: 0,
  loadFailures: 0,
  evictions: 0,
  loadMsTotal: 0,
  loadMsMax: 0,
  lastLoadMs: 0,
})

type Counter = Exclude<keyof AdapterMetrics, 'loadMsTotal' | 'loadMsMax' | 'lastLoadMs'>

export class AdapterCache<T extends object> {
  readonly maxBytes: number
  readonly maxPinnedBytes: number
  private readonly lru: LRUCache<string, T>
  private readonly pinnedAdapters = new Map<string, { value: T; bytes: number }>()
  private pinnedTotal = 0
  private readonly inflight = new Set<string>()
  private readonly metrics = new Map<string, AdapterMetrics>()
  private readonly totals = emptyMetrics()
  private readonly maxTracked: number
  private readonly closing = new AbortController()
  private readonly now: () => number

  constructor(private readonly opts: AdapterCacheOptions<T>) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_ADAPTER_CACHE_BYTES
    this.maxPinnedBytes = opts.maxPinnedBytes ?? this.maxBytes
    this.maxTracked = opts.maxTrackedAdapters ?? DEFAULT_MAX_TRACKED_ADAPTERS
    for (const [name, v] of [
      ['maxBytes', this.maxBytes],
      ['maxPinnedBytes', this.maxPinnedBytes],
      ['maxTrackedAdapters', this.maxTracked],
    ] as const) {
      if (!(Number.isSafeInteger(v) && v >= 1))
        throw inferenceError('INVALID_REQUEST', `${name} must be a positive integer`, { field: name })
    }
    this.now = opts.now ?? (() => performance.now())
    this.lru = new LRUCache<string, T>({
      maxSize: this.maxBytes,
      sizeCalculation: (value) => this.sizeOf(value),
      fetchMethod: (id) => this.load(id),
      // A load in flight whose placeholder is evicted still hands its value to its waiters (uncached).
      ignoreFetchAbort: true,
      dispose: (_value, id, reason) => {
        if (reason === 'evict') this.count(id, 'evictions')
      },
    })
  }

  /** The adapter's weights: from the cache, or loaded now (one load for any number of concurrent calls). */
  async get(id: string, options: { signal?: AbortSignal } = {}): Promise<T> {
    this.assertOpen()
    const { signal } = options
    if (signal?.aborted) throw abortedError(signal, `loading adapter ${id}`)
    this.count(id, 'requests')
    const pinned = this.pinnedAdapters.get(id)
    if (pinned) {
      this.count(id, 'hits')
      return pinned.value
    }
    this.count(id, this.inflight.has(id) ? 'coalesced' : this.lru.has(id) ? 'hits' : 'misses')
    return this.settle(this.lru.fetch(id), id, signal)
  }

  /** Whether the adapter is in memory (cached or pinned); does not touch its recency. */
  has(id: string): boolean {
    return this.pinnedAdapters.has(id) || this.lru.has(id)
  }

  isPinned(id: string): boolean {
    return this.pinnedAdapters.has(id)
  }

  /** Loads the adapter if needed and keeps it out of eviction; ADAPTER_PIN_LIMIT over the pinned bound. */
  async pin(id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.assertOpen()
    if (this.pinnedAdapters.has(id)) return
    const value = await this.settle(this.lru.fetch(id), id, options.signal)
    if (this.pinnedAdapters.has(id)) return // pinned by a concurrent call meanwhile
    const bytes = this.sizeOf(value)
    if (this.pinnedTotal + bytes > this.maxPinnedBytes)
      throw inferenceError(
        'ADAPTER_PIN_LIMIT',
        `pinning adapter ${id} (${bytes} bytes) would take pinned adapters to ${this.pinnedTotal + bytes} bytes, over ${this.maxPinnedBytes}`,
        { adapter: id, limit: this.maxPinnedBytes, actual: this.pinnedTotal + bytes },
      )
    this.pinnedAdapters.set(id, { value, bytes })
    this.pinnedTotal += bytes
    this.lru.delete(id) // a move, not an eviction
  }

  /** Returns a pinned adapter to the LRU (as the most recently used); false when it was not pinned. */
  unpin(id: string): boolean {
    const entry = this.pinnedAdapters.get(id)
    if (!entry) return false
    this.pinnedAdapters.delete(id)
    this.pinnedTotal -= entry.bytes
    if (!this.closing.signal.aborted) this.lru.set(id, entry.value)
    return true
  }

  /** Drops the adapter from memory, pinned or not; false when it was not resident. */
  delete(id: string): boolean {
    const wasPinned = this.pinnedAdapters.has(id)
    if (wasPinned) {
      this.pinnedTotal -= this.pinnedAdapters.get(id)!.bytes
      this.pinnedAdapters.delete(id)
    }
    return this.lru.delete(id) || wasPinned
  }

  /** Loads each adapter (a few at once), pinning them if asked; reports failures instead of throwing. */
  async preload(
    ids: string[],
    options: { pin?: boolean; signal?: AbortSignal } = {},
  ): Promise<PreloadResult> {
    const result: PreloadResult = { loaded: [], failed: [] }
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++]
        try {
          if (options.pin) await this.pin(id, { signal: options.signal })
          else await this.settle(this.lru.fetch(id), id, options.signal)
          result.loaded.push(id)
        } catch (err) {
          result.failed.push({ id, error: asInferenceError(err, id) })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(PRELOAD_CONCURRENCY, ids.length) }, worker))
    return result
  }

  /** Ids of the resident adapters, pinned first, then from most to least recently used. */
  residentIds(): string[] {
    return [...this.pinnedAdapters.keys(), ...[...this.lru.keys()].filter((id) => this.lru.has(id))]
  }

  get bytes(): number {
    return this.lru.calculatedSize
  }

  get pinnedBytes(): number {
    return this.pinnedTotal
  }

  /** A plain copy of the metrics and the cache's state (prom-client wiring is the node's). */
  snapshot(): AdapterCacheSnapshot {
    const adapters: Record<string, AdapterState> = {}
    const state = (id: string): AdapterState => {
      const pinned = this.pinnedAdapters.get(id)
      const cached = this.lru.has(id)
      return {
        ...(this.metrics.get(id) ?? emptyMetrics()),
        resident: pinned !== undefined || cached,
        pinned: pinned !== undefined,
        bytes: pinned?.bytes ?? (cached ? this.sizeOf(this.lru.peek(id)!) : 0),
      }
    }
    for (const id of this.metrics.keys()) adapters[id] = state(id)
    for (const id of this.residentIds()) adapters[id] ??= state(id)
    return {
      maxBytes: this.maxBytes,
      bytes: this.bytes,
      maxPinnedBytes: this.maxPinnedBytes,
      pinnedBytes: this.pinnedTotal,
      resident: this.residentIds().length,
      pinned: this.pinnedAdapters.size,
      loading: this.inflight.size,
      totals: { ...this.totals },
      adapters,
    }
  }

  /** Aborts loads in flight and drops everything; later calls are refused with BACKEND_CLOSED. */
  close(): void {
    if (this.closing.signal.aborted) return
    this.closing.abort(new Error('adapter cache closed'))
    this.pinnedAdapters.clear()
    this.pinnedTotal = 0
    this.lru.clear()
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted) throw inferenceError('BACKEND_CLOSED', 'the adapter cache is closed')
  }

  private sizeOf(value: T): number {
    const bytes = this.opts.sizeOf(value)
    if (!(Number.isFinite(bytes) && bytes >= 0))
      throw inferenceError('ADAPTER_INVALID', `sizeOf returned ${bytes}, not a byte count`)
    return Math.max(1, Math.ceil(bytes))
  }

  /** lru-cache's fetchMethod: one call per load, shared by every caller that arrives while it runs. */
  private async load(id: string): Promise<T> {
    this.inflight.add(id)
    const started = this.now()
    try {
      let value: T
      try {
        value = await this.opts.loader(id, { signal: this.closing.signal })
      } catch (err) {
        throw asInferenceError(err, id)
      }
      const bytes = this.sizeOf(value)
      if (bytes > this.maxBytes)
        throw inferenceError(
          'ADAPTER_TOO_LARGE',
          `adapter ${id} holds ${bytes} bytes, more than the whole cache (${this.maxBytes})`,
          { adapter: id, limit: this.maxBytes, actual: bytes },
        )
      const ms = this.now() - started
      this.count(id, 'loads')
      for (const m of [this.tracked(id), this.totals]) {
        m.loadMsTotal += ms
        m.loadMsMax = Math.max(m.loadMsMax, ms)
        m.lastLoadMs = ms
      }
      return value
    } catch (err) {
      this.count(id, 'loadFailures')
      throw err
    } finally {
      this.inflight.delete(id)
    }
  }

  /** Waits for a load, or for the caller's signal, whichever comes first; the load goes on for others. */
  private async settle(pending: Promise<T | undefined>, id: string, signal?: AbortSignal): Promise<T> {
    const value = await new Promise<T | undefined>((resolve, reject) => {
      if (signal?.aborted) return reject(abortedError(signal, `loading adapter ${id}`))
      const onAbort = (): void => reject(abortedError(signal, `loading adapter ${id}`))
      signal?.addEventListener('abort', onAbort, { once: true })
      pending.then(
        (v) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(v)
        },
        (err) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      )
    })
    this.assertOpen() // a load that finished after close is not handed out
    // lru-cache resolves a fetch it gave up on with undefined.
    if (value === undefined) {
      throw inferenceError('ADAPTER_LOAD_FAILED', `adapter ${id} was not loaded`, { adapter: id })
    }
    return value
  }

  private tracked(id: string): AdapterMetrics {
    let m = this.metrics.get(id)
    if (m === undefined) {
      if (this.metrics.size >= this.maxTracked) this.forgetOne()
      m = emptyMetrics()
      this.metrics.set(id, m)
    }
    return m
  }

  /** Drops the metrics of the oldest tracked adapter that is not in memory (else simply the oldest). */
  private forgetOne(): void {
    let victim: string | undefined
    for (const id of this.metrics.keys()) {
      victim ??= id
      if (!this.has(id) && !this.inflight.has(id)) {
        victim = id
        break
      }
    }
    if (victim !== undefined) this.metrics.delete(victim)
  }

  private count(id: string, counter: Counter): void {
    this.tracked(id)[counter]++
    this.totals[counter]++
  }
}

function asInferenceError(err: unknown, id: string): InferenceError {
  if (err instanceof InferenceError) return err
  const reason = err instanceof Error ? err.message : String(err)
  const code = (err as { code?: unknown })?.code
  return new InferenceError(
    { code: 'ADAPTER_LOAD_FAILED', adapter: id, reason: typeof code === 'string' ? code : reason },
    `adapter ${id} could not be loaded: ${reason}`,
  )
}
