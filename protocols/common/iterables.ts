// Small helpers over async iterables that several services need (pins.add yields CIDs to drain, UnixFS
// yields chunks to join, replication walks many blocks with bounded concurrency).

/** Consumes an iterable for its side effects (Helia's `pins.add` does its work as it is iterated). */
export async function drain(source: AsyncIterable<unknown> | Iterable<unknown>): Promise<void> {
  for await (const _ of source) {
    // nothing to keep
  }
}

/** Collects at most `max` items, then stops the source. */
export async function collect<T>(source: AsyncIterable<T>, max: number): Promise<T[]> {
  const out: T[] = []
  if (max <= 0) return out
  for await (const item of source) {
    out.push(item)
    if (out.length >= max) break
  }
  return out
}

/** Joins byte chunks, stopping the source once at least `maxBytes` were read (the result may be longer
 * than `maxBytes` by part of one chunk, so a caller can tell "exactly max" from "more than max"). */
export async function collectBytes(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let length = 0
  for await (const chunk of source) {
    chunks.push(chunk)
    length += chunk.length
    if (length >= maxBytes) break
  }
  return Buffer.concat(chunks)
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order; the first error wins. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  let failed: unknown
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++
      try {
        out[i] = await fn(items[i] as T)
      } catch (err) {
        failed ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failed !== undefined) throw failed
  return out
}
