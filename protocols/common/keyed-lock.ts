// One holder per key at a time, in arrival order (an async mutex per key). Keys with no holder and no one
// waiting take no memory, so the map stays as large as the work in progress.
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>()

  /** Runs `fn` once every earlier holder of `key` has finished; returns what it returns. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const tail = previous.then(() => released)
    this.tails.set(key, tail)
    await previous
    try {
      return await fn()
    } finally {
      release()
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }

  /** Whether someone holds or waits for `key`. */
  busy(key: string): boolean {
    return this.tails.has(key)
  }
}
