// Remembers payment authorizations' requestIds until their deadlines pass, so a replayed authorization is
// refused for as long as it could be used at all (after its deadline the signature check refuses it
// anyway). Unlike a seen-cache that evicts its oldest entry when full, a full guard never forgets a live
// id: it refuses to take new ones, and the caller turns that into BUSY. Ids are bucketed by deadline
// second, so pruning walks seconds once each, whatever the ids' arrival order.
export type ReplayCheck = 'fresh' | 'replayed' | 'full'

export interface ReplayGuardOptions {
  /** live ids held at most (memory: about 150 bytes each) */
  maxEntries: number
  /** ms clock (default Date.now) */
  now?: () => number
}

export class ReplayGuard {
  private readonly deadlines = new Map<string, number>()
  private readonly bySecond = new Map<number, string[]>()
  private readonly maxEntries: number
  private readonly now: () => number
  /** every bucket at or before this second is gone */
  private prunedThrough: number

  constructor(options: ReplayGuardOptions) {
    if (options.maxEntries < 1) throw new RangeError('maxEntries must be at least 1')
    this.maxEntries = options.maxEntries
    this.now = options.now ?? Date.now
    this.prunedThrough = this.nowS()
  }

  /** Live ids held now. */
  get size(): number {
    this.prune()
    return this.deadlines.size
  }

  /** Whether `id` was taken and its deadline has not passed. */
  has(id: string): boolean {
    this.prune()
    return this.deadlines.has(id)
  }

  /** Takes `id` until `deadlineS` (unix seconds) unless it is held already or the guard is full. */
  take(id: string, deadlineS: number): ReplayCheck {
    this.prune()
    if (this.deadlines.has(id)) return 'replayed'
    if (this.deadlines.size >= this.maxEntries) return 'full'
    // A deadline already past would be pruned at once; keep it for the current second instead.
    const second = Math.max(Math.floor(deadlineS), this.prunedThrough + 1)
    this.deadlines.set(id, second)
    const bucket = this.bySecond.get(second)
    if (bucket) bucket.push(id)
    else this.bySecond.set(second, [id])
    return 'fresh'
  }

  /** Forgets `id` (a request refused before anything was served: its authorization may be used again). */
  release(id: string): void {
    const second = this.deadlines.get(id)
    if (second === undefined) return
    this.deadlines.delete(id)
    const bucket = this.bySecond.get(second)
    if (bucket === undefined) return
    const at = bucket.indexOf(id)
    if (at >= 0) bucket.splice(at, 1)
    if (bucket.length === 0) this.bySecond.delete(second)
  }

  private nowS(): number {
    return Math.floor(this.now() / 1000)
  }

  private prune(): void {
    const nowS = this.nowS()
    if (nowS <= this.prunedThrough) return
    if (this.bySecond.size === 0) {
      this.prunedThrough = nowS
      return
    }
    // Each second is walked once; a long quiet gap is jumped when there are few buckets.
    if (nowS - this.prunedThrough > this.bySecond.size) {
      for (const [second, ids] of this.bySecond) if (second <= nowS) this.drop(second, ids)
    } else
      for (let s = this.prunedThrough + 1; s <= nowS; s++) {
        const ids = this.bySecond.get(s)
        if (ids) this.drop(s, ids)
      }
    this.prunedThrough = nowS
  }

  private drop(second: number, ids: string[]): void {
    for (const id of ids) this.deadlines.delete(id)
    this.bySecond.delete(second)
  }
}
