// Brute-force reference implementations the tests compare the engine against. Deliberately simple and
// slow: quadratic scans, no suffix array.
import type { Corpus } from '../src/corpus.ts'
import { PPM, RARITY_ONE } from '../src/params.ts'

export function bruteSuffixArray(t: ArrayLike<number>): number[] {
  const n = t.length
  const idx = Array.from({ length: n }, (_, i) => i)
  idx.sort((a, b) => {
    while (a < n && b < n) {
      if (t[a] !== t[b]) return t[a] - t[b]
      a++
      b++
    }
    return a < n ? 1 : b < n ? -1 : 0
  })
  return idx
}

/** Positions where pattern occurs in tokens. */
export function bruteOccurrences(tokens: ArrayLike<number>, pattern: ArrayLike<number>): number[] {
  const out: number[] = []
  outer: for (let j = 0; j + pattern.length <= tokens.length; j++) {
    for (let d = 0; d < pattern.length; d++) if (tokens[j + d] !== pattern[d]) continue outer
    out.push(j)
  }
  return out
}

export function bruteMatchLengths(tokens: ArrayLike<number>, q: ArrayLike<number>): number[] {
  const L: number[] = []
  for (let i = 0; i < q.length; i++) {
    let best = 0
    for (let j = 0; j < tokens.length; j++) {
      let d = 0
      while (i + d < q.length && j + d < tokens.length && q[i + d] !== 0 && tokens[j + d] === q[i + d]) d++
      if (d > best) best = d
    }
    L.push(best)
  }
  return L
}

function ownerOf(starts: Uint32Array, pos: number): number {
  let k = 0
  while (k + 1 < starts.length - 1 && starts[k + 1] <= pos) k++
  return k
}

export interface RefParams {
  minSpan: number
  rarityHalfCount: number
  topK: number
  minEntryPpm: number
  /** 'span' (ol-attr-1) or 'token' (ol-attr-2); see AttributionParams.ownership. */
  ownership: 'span' | 'token'
}

export function bruteAttribute(corpus: Corpus, q: ArrayLike<number>, p: RefParams) {
  const L = bruteMatchLengths(corpus.tokens, q)
  const rarityOf = (count: number) =>
    Number(
      (BigInt(p.rarityHalfCount) ** 2n * BigInt(RARITY_ONE)) /
        (BigInt(p.rarityHalfCount) ** 2n + BigInt(count - 1) ** 2n),
    )
  const spans: {
    start: number
    end: number
    count: number
    rarity: number
    owner: number
    held: number
    contributions: number[]
  }[] = []
  for (let i = 0; i < q.length; i++) {
    if (L[i] < p.minSpan) continue
    if (i > 0 && L[i] <= L[i - 1] - 1) continue
    const pattern = Array.from(q).slice(i, i + L[i])
    const occ = bruteOccurrences(corpus.tokens, pattern)
    const owners = [...new Set(occ.map((pos) => ownerOf(corpus.starts, pos)))].sort((a, b) => a - b)
    spans.push({
      start: i,
      end: i + L[i],
      count: occ.length,
      rarity: rarityOf(occ.length),
      owner: ownerOf(corpus.starts, Math.min(...occ)),
      held: 0,
      contributions: owners,
    })
  }
  const windowRarity: number[] = []
  // Earliest accepted contribution containing each window (acceptance order = contribution index).
  const windowFirst: number[] = []
  for (let i = 0; i + p.minSpan <= q.length; i++) {
    const occ = bruteOccurrences(corpus.tokens, Array.from(q).slice(i, i + p.minSpan))
    windowRarity.push(occ.length > 0 ? rarityOf(occ.length) : -1)
    windowFirst.push(occ.length > 0 ? Math.min(...occ.map((pos) => ownerOf(corpus.starts, pos))) : -1)
  }
  const credit = new Map<number, bigint>()
  const via = new Map<number, Set<number>>() // owner -> indices of the spans its tokens were counted under
  for (let t = 0; t < q.length; t++) {
    let tokenRarity = Number.POSITIVE_INFINITY
    let first = Number.POSITIVE_INFINITY
    for (let i = Math.max(0, t - p.minSpan + 1); i <= t && i < windowRarity.length; i++) {
      if (windowRarity[i] >= 0) tokenRarity = Math.min(tokenRarity, windowRarity[i])
      if (windowFirst[i] >= 0) first = Math.min(first, windowFirst[i])
    }
    let best: (typeof spans)[number] | null = null
    for (const s of spans) {
      if (s.start > t || s.end <= t) continue
      if (
        best === null ||
        s.rarity > best.rarity ||
        (s.rarity === best.rarity && s.end - s.start > best.end - best.start) ||
        (s.rarity === best.rarity && s.end - s.start === best.end - best.start && s.start < best.start)
      ) {
        best = s
      }
    }
    if (best) {
      best.held++
      const owner = p.ownership === 'token' ? first : best.owner
      credit.set(owner, (credit.get(owner) ?? 0n) + BigInt(tokenRarity))
      via.set(owner, (via.get(owner) ?? new Set()).add(spans.indexOf(best)))
    }
  }
  const weights = [...credit.entries()]
    .map(([owner, c]) => ({
      owner,
      weight: Number((c * BigInt(PPM)) / (BigInt(q.length) * BigInt(RARITY_ONE))),
    }))
    .filter((w) => w.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.owner - b.owner)
  const entries = weights
    .filter((w) => w.weight >= p.minEntryPpm)
    .slice(0, p.topK)
    .map((w) => ({ ...w, spans: [...(via.get(w.owner) ?? [])].sort((a, b) => a - b) }))
  const kept = entries.reduce((s, e) => s + e.weight, 0)
  return { spans, entries, unattributedPpm: PPM - kept }
}
