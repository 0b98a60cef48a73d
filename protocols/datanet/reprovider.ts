// Provider announcements for the blocks a node serves. Helia does not announce by itself, and kad-dht
// provider records expire (48 h), so each set of blocks is re-announced on an interval well inside that
// TTL; a failed announcement, or one made with no peer connected (kad-dht "succeeds" silently with zero
// peers), is retried with exponential backoff.
import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { OpenLedgerError } from '../common/errors.ts'
import { mapConcurrent } from '../common/iterables.ts'

/** kad-dht keeps provider records 48 h; re-providing every 12 h leaves three chances before one expires. */
export const DEFAULT_REPROVIDE_INTERVAL_MS = 12 * 3600_000
export const DEFAULT_RETRY_MIN_MS = 1_000
export const DEFAULT_RETRY_MAX_MS = 5 * 60_000
/** Provider announcements at once: each one is a DHT walk to the K closest peers. */
export const DEFAULT_PROVIDE_CONCURRENCY = 8
export const DEFAULT_PROVIDE_TIMEOUT_MS = 60_000

export class ReprovideError extends OpenLedgerError<{ code: 'NO_PEERS'; key: string }> {}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const nodeTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return t
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
}

export interface ReproviderComponents {
  routing: { provide(cid: CID, options?: AbortOptions): Promise<void> }
  /** connected peers now; with none, an announcement is retried instead of counted as done */
  peerCount(): number
  logger: { debug(msg: string): void; warn(msg: string): void }
  timers: Timers
  now: () => number
}

export interface ReproviderInit {
  reprovideIntervalMs?: number
  retryMinMs?: number
  retryMaxMs?: number
  provideConcurrency?: number
  provideTimeoutMs?: number
}

export interface ReprovideState {
  lastProvidedAt: number | null
  lastError: string | null
}

interface Entry extends ReprovideState {
  blocks: CID[]
  attempt: number
  timer?: unknown
}

export class Reprovider {
  private readonly components: ReproviderComponents
  private readonly init: Required<ReproviderInit>
  private readonly entries = new Map<string, Entry>()
  private controller = new AbortController()

  constructor(components: ReproviderComponents, init: ReproviderInit = {}) {
    this.components = components
    this.init = {
      reprovideIntervalMs: init.reprovideIntervalMs ?? DEFAULT_REPROVIDE_INTERVAL_MS,
      retryMinMs: init.retryMinMs ?? DEFAULT_RETRY_MIN_MS,
      retryMaxMs: init.retryMaxMs ?? DEFAULT_RETRY_MAX_MS,
      provideConcurrency: init.provideConcurrency ?? DEFAULT_PROVIDE_CONCURRENCY,
      provideTimeoutMs: init.provideTimeoutMs ?? DEFAULT_PROVIDE_TIMEOUT_MS,
    }
  }

  /**
   * Announces `blocks` under `key` now (resolves once this first attempt is over, whatever its outcome),
   * then keeps re-announcing them until `cancel(key)`. Replaces what `key` announced before.
   */
  async provide(key: string, blocks: CID[]): Promise<void> {
    const old = this.entries.get(key)
    if (old) this.components.timers.clearTimeout(old.timer)
    const entry: Entry = {
      blocks,
      attempt: 0,
      lastProvidedAt: old?.lastProvidedAt ?? null,
      lastError: null,
    }
    this.entries.set(key, entry)
    await this.announce(key, entry)
  }

  state(key: string): ReprovideState {
    const e = this.entries.get(key)
    return { lastProvidedAt: e?.lastProvidedAt ?? null, lastError: e?.lastError ?? null }
  }

  cancel(key: string): void {
    const e = this.entries.get(key)
    if (!e) return
    this.components.timers.clearTimeout(e.timer)
    this.entries.delete(key)
  }

  /** Clears every timer and aborts announcements in flight; `provide` works again afterwards. */
  stop(reason: Error): void {
    this.controller.abort(reason)
    for (const key of [...this.entries.keys()]) this.cancel(key)
    this.controller = new AbortController()
  }

  private async announce(key: string, entry: Entry): Promise<void> {
    if (this.entries.get(key) !== entry) return
    const signal = this.controller.signal
    try {
      if (this.components.peerCount() === 0) {
        throw new ReprovideError({ code: 'NO_PEERS', key }, 'no connected peers to announce to')
      }
      await mapConcurrent(entry.blocks, this.init.provideConcurrency, async (cid) => {
        await this.components.routing.provide(cid, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.init.provideTimeoutMs)]),
        })
      })
      entry.lastProvidedAt = this.components.now()
      entry.attempt = 0
      entry.lastError = null
      this.components.logger.debug(`${key}: announced ${entry.blocks.length} blocks`)
      this.schedule(key, entry, this.init.reprovideIntervalMs)
    } catch (err) {
      if (signal.aborted || this.entries.get(key) !== entry) return
      const delay = Math.min(this.init.retryMaxMs, this.init.retryMinMs * 2 ** entry.attempt)
      entry.attempt++
      entry.lastError = `announcing failed: ${(err as Error).message}`
      this.components.logger.warn(`${key}: ${entry.lastError}; retrying in ${delay} ms`)
      this.schedule(key, entry, delay)
    }
  }

  private schedule(key: string, entry: Entry, delay: number) {
    this.components.timers.clearTimeout(entry.timer)
    entry.timer = this.components.timers.setTimeout(() => {
      void this.announce(key, entry)
    }, delay)
  }
}
