// The curation work queue: bounded, fair between contributors, a fixed number of items at work at once, and
// stoppable. Curating an item fetches content from the network (seconds, up to the item's time limit when
// nobody has it), so a flood of valid-looking contributions must wait in a queue of bounded size and must not
// starve other contributors (after Lodestar's gossip queues: bounded, with a drop policy).
//
// - Fairness: items wait in one FIFO lane per contributor and lanes are served round-robin, so one
//   contributor's hundred items delay another's single item by at most one item per busy slot.
// - Bounds: a lane holds at most `maxPerContributor` items (more from that contributor are refused), the
//   queue at most `maxLength`. When full, the newest item of the longest lane is dropped to make room, or the
//   arriving item is refused when its own lane is (one of) the longest: a flood sheds its own work first.
// - One key at a time: a second item for a key that is waiting replaces it (when `supersedes` says so); one
//   for a key at work waits until that run ends, so two runs never write the same record concurrently.
// - Stop: aborts the signal every run received, forgets what waits (their `done` resolve to undefined) and
//   returns once the runs in progress have settled.
// A dropped or refused item leaves no trace: the caller stored nothing for it yet.

export interface CurationQueueOptions {
  /** Items waiting, all lanes together. */
  maxLength: number
  /** Items waiting from one contributor. */
  maxPerContributor: number
  /** Items at work at once (≥ 1). */
  concurrency: number
}

export const DEFAULT_CURATION_QUEUE: CurationQueueOptions = {
  maxLength: 1024,
  maxPerContributor: 32,
  concurrency: 2,
}

export type QueueRefusal = 'QUEUE_FULL' | 'CONTRIBUTOR_QUEUE_FULL' | 'STOPPED' | 'NOT_NEWER'

export type PushResult<R> =
  | { queued: true; done: Promise<R | undefined> }
  | { queued: false; reason: QueueRefusal }

interface Entry<T, R> {
  key: string
  lane: string
  item: T
  resolve(result: R | undefined): void
  reject(err: unknown): void
  /** callers that pushed an item this one replaced: they learn this one's outcome */
  waiters: Entry<T, R>[]
}

export class CurationQueue<T, R> {
  private readonly lanes = new Map<string, Entry<T, R>[]>()
  /** lanes with waiting items, in serving order */
  private readonly rotation: string[] = []
  private readonly waiting = new Map<string, Entry<T, R>>()
  private readonly running = new Map<string, Promise<void>>()
  /** items for a key at work, pushed back into the queue when that run ends */
  private readonly next = new Map<string, Entry<T, R>>()
  private readonly controller = new AbortController()
  private size = 0
  dropped = 0

  constructor(
    private readonly options: CurationQueueOptions,
    private readonly run: (item: T, signal: AbortSignal) => Promise<R>,
    /** Whether `incoming` should replace `queued` for the same key (defaults to always). */
    private readonly supersedes: (queued: T, incoming: T) => boolean = () => true,
  ) {
    if (!(options.concurrency >= 1)) throw new RangeError('curation concurrency must be at least 1')
  }

  /** Items waiting (not counting those at work). */
  get length(): number {
    return this.size
  }

  get active(): number {
    return this.running.size
  }

  push(key: string, lane: string, item: T): PushResult<R> {
    if (this.controller.signal.aborted) return { queued: false, reason: 'STOPPED' }
    let resolve!: (result: R | undefined) => void
    let reject!: (err: unknown) => void
    const promise = new Promise<R | undefined>((res, rej) => {
      resolve = res
      reject = rej
    })
    // A caller that does not wait for the outcome must not turn a failed run into an unhandled rejection.
    promise.catch(() => {})
    const entry: Entry<T, R> = { key, lane, item, resolve, reject, waiters: [] }

    const replaced = this.waiting.get(key) ?? this.next.get(key)
    if (replaced) {
      if (!this.supersedes(replaced.item, item)) return { queued: false, reason: 'NOT_NEWER' }
      // Same slot, newer message: whoever waited for the old one learns the new one's outcome.
      replaced.item = item
      replaced.waiters.push(entry)
      return { queued: true, done: promise }
    }
    if (this.running.has(key)) {
      this.next.set(key, entry)
      return { queued: true, done: promise }
    }
    const own = this.lanes.get(lane)
    if ((own?.length ?? 0) >= this.options.maxPerContributor) return this.refuse('CONTRIBUTOR_QUEUE_FULL')
    if (this.size >= this.options.maxLength) {
      const longest = this.longestLane()
      if (longest === undefined || (this.lanes.get(longest)?.length ?? 0) <= (own?.length ?? 0))
        return this.refuse('QUEUE_FULL')
      this.evictNewest(longest)
    }
    this.enqueue(entry)
    this.pump()
    return { queued: true, done: promise }
  }

  /** Aborts every run, forgets every waiting item, and resolves once the runs in progress have ended. */
  async stop(): Promise<void> {
    this.controller.abort(new Error('curation stopped'))
    for (const entry of [...this.waiting.values(), ...this.next.values()]) settle(entry, undefined)
    this.lanes.clear()
    this.rotation.length = 0
    this.waiting.clear()
    this.next.clear()
    this.size = 0
    await Promise.allSettled([...this.running.values()])
  }

  private refuse(reason: QueueRefusal): PushResult<R> {
    this.dropped++
    return { queued: false, reason }
  }

  private enqueue(entry: Entry<T, R>): void {
    const lane = this.lanes.get(entry.lane)
    if (lane) lane.push(entry)
    else {
      this.lanes.set(entry.lane, [entry])
      this.rotation.push(entry.lane)
    }
    this.waiting.set(entry.key, entry)
    this.size++
  }

  private longestLane(): string | undefined {
    let best: string | undefined
    let length = 0
    for (const [name, lane] of this.lanes) {
      if (lane.length > length) {
        best = name
        length = lane.length
      }
    }
    return best
  }

  private evictNewest(laneName: string): void {
    const lane = this.lanes.get(laneName)!
    const victim = lane.pop()!
    this.forgetLaneIfEmpty(laneName)
    this.waiting.delete(victim.key)
    this.size--
    this.dropped++
    settle(victim, undefined)
  }

  private forgetLaneIfEmpty(laneName: string): void {
    if ((this.lanes.get(laneName)?.length ?? 0) > 0) return
    this.lanes.delete(laneName)
    const at = this.rotation.indexOf(laneName)
    if (at >= 0) this.rotation.splice(at, 1)
  }

  private takeNext(): Entry<T, R> | undefined {
    const laneName = this.rotation.shift()
    if (laneName === undefined) return undefined
    const lane = this.lanes.get(laneName)!
    const entry = lane.shift()!
    if (lane.length > 0) this.rotation.push(laneName)
    else this.lanes.delete(laneName)
    this.waiting.delete(entry.key)
    this.size--
    return entry
  }

  private pump(): void {
    while (this.running.size < this.options.concurrency && !this.controller.signal.aborted) {
      const entry = this.takeNext()
      if (!entry) return
      const work = this.start(entry)
      this.running.set(entry.key, work)
    }
  }

  private async start(entry: Entry<T, R>): Promise<void> {
    try {
      settle(entry, await this.run(entry.item, this.controller.signal))
    } catch (err) {
      for (const e of [entry, ...entry.waiters]) e.reject(err)
    } finally {
      this.running.delete(entry.key)
      const follow = this.next.get(entry.key)
      if (follow && !this.controller.signal.aborted) {
        this.next.delete(entry.key)
        this.enqueue(follow)
      }
      this.pump()
    }
  }
}

function settle<T, R>(entry: Entry<T, R>, result: R | undefined): void {
  entry.resolve(result)
  for (const w of entry.waiters) w.resolve(result)
}
