// A bounded work queue for one gossip topic (Lodestar's gossipQueues): FIFO or LIFO, a maximum length, a
// drop policy when full, and a cap on work in progress. It never grows past its maximum, whatever a flood
// sends: the excess is handed to `onDrop` (the router IGNOREs it). stop() aborts the signal given to work
// in progress, drops everything still queued, and returns at once: it never waits for a backlog.
// With `keyOf` (the peer a message came from) a full queue sheds from the peer holding the most queued
// items, so a flood from one peer displaces its own messages and never an honest peer's one message.
import type { GossipQueuePolicy } from '../protocols/common/gossip.ts'

export type DropReason = 'full' | 'stopped'

export interface GossipQueueHooks<T> {
  run(item: T, signal: AbortSignal): Promise<void>
  onDrop?(item: T, reason: DropReason): void
  onLength?(length: number): void
  /** Fairness key (the sending peer): when full, the key with the most queued items is shed first. */
  keyOf?(item: T): string
}

export class GossipQueue<T> {
  private readonly items: T[] = []
  private readonly controller = new AbortController()
  private running = 0
  private stopped = false
  private idleWaiters: (() => void)[] = []
  private pumpScheduled = false
  /** Queued items per fairness key (only with hooks.keyOf). */
  private readonly perKey = new Map<string, number>()

  constructor(
    readonly policy: GossipQueuePolicy,
    private readonly hooks: GossipQueueHooks<T>,
  ) {
    if (policy.maxLength < 1 || policy.concurrency < 1)
      throw new RangeError('a gossip queue needs maxLength and concurrency of at least 1')
  }

  /** Items waiting (not counting work in progress). */
  get length(): number {
    return this.items.length
  }

  get inProgress(): number {
    return this.running
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** Queues `item`; returns false when it was dropped itself (queue full with drop 'newest', or stopped). */
  push(item: T): boolean {
    if (this.stopped) {
      this.hooks.onDrop?.(item, 'stopped')
      return false
    }
    if (this.items.length >= this.policy.maxLength) {
      const heaviest = this.heaviestKey()
      const fromHeaviest = heaviest !== undefined && this.hooks.keyOf!(item) === heaviest
      if (this.policy.drop === 'newest' && (heaviest === undefined || fromHeaviest)) {
        this.hooks.onDrop?.(item, 'full')
        return false
      }
      // Oldest first: of the heaviest key with keyOf, of the whole queue without it.
      const at = heaviest === undefined ? 0 : this.items.findIndex((i) => this.hooks.keyOf!(i) === heaviest)
      const [shed] = this.items.splice(at, 1)
      this.count(shed as T, -1)
      this.hooks.onDrop?.(shed as T, 'full')
    }
    this.items.push(item)
    this.count(item, 1)
    this.hooks.onLength?.(this.items.length)
    // Work starts on a later microtask, so a burst of messages is queued (and ordered) before any starts.
    if (!this.pumpScheduled) {
      this.pumpScheduled = true
      queueMicrotask(() => {
        this.pumpScheduled = false
        this.pump()
      })
    }
    return true
  }

  /** Resolves when nothing is queued or in progress (for tests and benches). */
  onIdle(): Promise<void> {
    if (this.items.length === 0 && this.running === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.controller.abort(new Error('gossip queue stopped'))
    const dropped = this.items.splice(0)
    this.perKey.clear()
    this.hooks.onLength?.(0)
    for (const item of dropped) this.hooks.onDrop?.(item, 'stopped')
    this.settle()
  }

  private pump(): void {
    while (!this.stopped && this.running < this.policy.concurrency && this.items.length > 0) {
      const item = (this.policy.order === 'LIFO' ? this.items.pop() : this.items.shift()) as T
      this.count(item, -1)
      this.hooks.onLength?.(this.items.length)
      this.running++
      Promise.resolve()
        .then(() => this.hooks.run(item, this.controller.signal))
        .catch(() => {})
        .finally(() => {
          this.running--
          this.pump()
          this.settle()
        })
    }
  }

  private count(item: T, delta: number): void {
    if (!this.hooks.keyOf) return
    const key = this.hooks.keyOf(item)
    const n = (this.perKey.get(key) ?? 0) + delta
    if (n > 0) this.perKey.set(key, n)
    else this.perKey.delete(key)
  }

  /** The key with the most queued items (undefined without keyOf); O(keys), paid only when full. */
  private heaviestKey(): string | undefined {
    if (!this.hooks.keyOf) return undefined
    let best: string | undefined
    let most = 0
    for (const [key, n] of this.perKey) {
      if (n > most) {
        best = key
        most = n
      }
    }
    return best
  }

  private settle(): void {
    if (this.running > 0 || (this.items.length > 0 && !this.stopped)) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }
}
