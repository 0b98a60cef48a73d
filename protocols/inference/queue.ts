// A bounded set of generation slots with a bounded waiting line: a request takes a free slot, else waits
// in arrival order, else (the line is full) is refused with BUSY at once. Under a flood the backend sheds
// load instead of growing a queue; a waiter whose signal aborts leaves the line.
import { abortedError, inferenceError } from './errors.ts'

interface Waiter {
  grant: (release: () => void) => void
  fail: (err: Error) => void
}

export class GenerationQueue {
  private running = 0
  private readonly waiting: Waiter[] = []
  private idleWaiters: Array<() => void> = []

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueued: number,
  ) {
    if (
      !(
        Number.isInteger(maxConcurrent) &&
        maxConcurrent >= 1 &&
        Number.isInteger(maxQueued) &&
        maxQueued >= 0
      )
    )
      throw inferenceError('INVALID_REQUEST', 'maxConcurrent must be >= 1 and maxQueued >= 0', {
        field: 'limits',
      })
  }

  get active(): number {
    return this.running
  }

  get queued(): number {
    return this.waiting.length
  }

  /** Resolves with a release function once a slot is held; BUSY when the line is full; ABORTED on abort. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortedError(signal, 'waiting for a generation slot'))
    if (this.running < this.maxConcurrent) {
      this.running++
      return Promise.resolve(this.releaser())
    }
    if (this.waiting.length >= this.maxQueued)
      return Promise.reject(
        inferenceError(
          'BUSY',
          `busy: ${this.running} generations running and ${this.waiting.length} waiting (the limit)`,
          { limit: this.maxQueued, actual: this.waiting.length },
        ),
      )
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter)
        if (i >= 0) this.waiting.splice(i, 1)
        reject(abortedError(signal, 'waiting for a generation slot'))
        this.notifyIfIdle()
      }
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(release)
        },
        fail: (err) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiting.push(waiter)
    })
  }

  /** Refuses every waiter with `err` (on close); running generations keep their slots until released. */
  failWaiting(err: Error): void {
    for (const w of this.waiting.splice(0)) w.fail(err)
    this.notifyIfIdle()
  }

  /** Resolves when no generation runs or waits (a backend draining before unload), or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      this.idleWaiters.push(done)
    })
  }

  private notifyIfIdle(): void {
    if (this.running !== 0 || this.waiting.length !== 0) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      // The slot passes straight to the next waiter, so a newcomer cannot overtake the line.
      if (next) next.grant(this.releaser())
      else {
        this.running--
        this.notifyIfIdle()
      }
    }
  }
}
