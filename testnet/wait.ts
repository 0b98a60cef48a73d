/** Polls `check` until it returns a truthy value or the deadline passes (never a fixed sleep). */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  opts: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value) return value
    } catch (err) {
      lastError = err
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100))
  }
  const detail = lastError ? `: ${(lastError as Error).message}` : ''
  throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${detail}`)
}

// biome-ignore lint/suspicious/noExplicitAny: test and runner code reads loosely typed JSON
export async function getJson<T = any>(url: string, timeoutMs = 2_000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`)
  return (await res.json()) as T
}
