// A read cache for chain state on the gossip path: one RPC per (key, block) however many messages ask.
// Reads are keyed; concurrent loads of one key share one promise; the cache holds at most `maxEntries`
// keys (oldest evicted) and is emptied when the chain head moves, so an answer is never older than the
// block it was read at. The head comes from a function the caller supplies (viem's getBlockNumber, say),
// asked at most once per `headPollMs`; a failing head read keeps the cache rather than hammering the RPC.
export interface ChainReadCacheOptions {
  /** The current chain head (block number). */
  head: (signal?: AbortSignal) => Promise<bigint>
  /** The head is asked at most once per this many ms. */
  headPollMs: number
  maxEntries: number
  now?: () => number
}

export class ChainReadCache<V> {
  private readonly values = new Map<string, Promise<V>>()
  private readonly opts: ChainReadCacheOptions
  private readonly now: () => number
  private headBlock?: bigint
  private headCheckedAt = Number.NEGATIVE_INFINITY
  private headLoad?: Promise<void>
  /** Loads run (not answered from the cache); for tests and metrics. */
  loads = 0

  constructor(opts: ChainReadCacheOptions) {
    this.opts = opts
    this.now = opts.now ?? Date.now
  }

  get size(): number {
    return this.values.size
  }

  /** The block the cached values were read at (undefined before the first head read). */
  get block(): bigint | undefined {
    return this.headBlock
  }

  /** The value for `key`: from the cache if read at the current head, else from `load` (deduplicated). */
  async get(key: string, load: (signal?: AbortSignal) => Promise<V>, signal?: AbortSignal): Promise<V> {
    await this.refreshHead(signal)
    let value = this.values.get(key)
    if (value === undefined) {
      if (this.values.size >= this.opts.maxEntries) {
        const oldest = this.values.keys().next().value
        if (oldest !== undefined) this.values.delete(oldest)
      }
      this.loads++
      value = load(signal)
      this.values.set(key, value)
      // A failed read is not an answer: the next ask loads again.
      value.catch(() => {
        if (this.values.get(key) === value) this.values.delete(key)
      })
    }
    return value
  }

  private async refreshHead(signal?: AbortSignal): Promise<void> {
    if (this.now() - this.headCheckedAt < this.opts.headPollMs) return
    this.headLoad ??= (async () => {
      try {
        const head = await this.opts.head(signal)
        if (head !== this.headBlock) {
          this.values.clear()
          this.headBlock = head
        }
      } catch {
        // Keep serving what was read at the last known head until the next poll.
      } finally {
        this.headCheckedAt = this.now()
        this.headLoad = undefined
      }
    })()
    await this.headLoad
  }
}
