// A seen-cache in front of signature work (Lodestar's seen caches): remembers a key (a message id, a
// payload hash or a signed digest) with a value for a bounded time and a bounded count, so a duplicate or
// replayed message is answered from memory, never re-verified. Entries are kept in insertion order; with
// one TTL per cache that is also expiry order, so expired entries are dropped from the head on insert and
// a full cache evicts its oldest entry. Memory is O(maxEntries) whatever a flood sends.
export interface SeenCacheOptions {
  maxEntries: number
  ttlMs: number
  now?: () => number
}

export class SeenCache<V = true> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>()
  private readonly maxEntries: number
  private readonly ttlMs: number
  private readonly now: () => number

  constructor(opts: SeenCacheOptions) {
    if (opts.maxEntries < 1) throw new RangeError('maxEntries must be at least 1')
    this.maxEntries = opts.maxEntries
    this.ttlMs = opts.ttlMs
    this.now = opts.now ?? Date.now
  }

  get size(): number {
    return this.entries.size
  }

  /** The value stored for `key`, or undefined when never seen or expired. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value
  }

  has(key: string): boolean {
    return this.get(key) !== undefined
  }

  /** Stores `key` (a re-insert refreshes its age); evicts expired entries, then the oldest if full. */
  set(key: string, value: V): void {
    const now = this.now()
    this.entries.delete(key)
    this.prune(now)
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    this.entries.set(key, { value, expiresAt: now + this.ttlMs })
  }

  delete(key: string): void {
    this.entries.delete(key)
  }

  clear(): void {
    this.entries.clear()
  }

  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) return
      this.entries.delete(key)
    }
  }
}
