// A bounded work queue for one gossip topic (Lodestar's gossipQueues): FIFO or LIFO, a maximum length, a
// drop policy when full, and a cap on work in progress. It never grows past its maximum, whatever a flood
// sends: the excess is handed to `onDrop` (the router IGNOREs it). stop() aborts the signal given to work
// in progress, drops everything still queued, and returns at once: it never waits for a backlog.
import type { GossipQueuePolicy } from '../protocols/common/gossip.ts'

export type DropReason = 'full' | 'stopped'

export interface GossipQueueHooks<T> {
  run(item: T, signal: AbortSignal): Promise<void>
  onDrop?(item: T, reason: DropReason): void
  onLength?(length: number): void
}

export class GossipQueue<T> {
  private readonly items: T[] = []
  private readonly controller = new AbortController()
  private running = 0
  private stopped = false
  private idleWaiters: (() => void)[] = []
  private pumpScheduled = false

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
      if (this.policy.drop === 'newest') {
        this.hooks.onDrop?.(item, 'full')
        return false
      }
      this.hooks.onDrop?.(this.items.shift() as T, 'full')
    }
    this.items.push(item)
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
    this.hooks.onLength?.(0)
    for (const item of dropped) this.hooks.onDrop?.(item, 'stopped')
    this.settle()
  }

  private pump(): void {
    while (!this.stopped && this.running < this.policy.concurrency && this.items.length > 0) {
      const item = (this.policy.order === 'LIFO' ? this.items.pop() : this.items.shift()) as T
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

  private settle(): void {
    if (this.running > 0 || (this.items.length > 0 && !this.stopped)) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }
}
