import type { AttributionIndex } from './build.ts'
import { contributionAt } from './corpus.ts'
import { AttributionError } from './errors.ts'
import { type AttributionParams, PPM, paramsVersionOf, RARITY_ONE, resolveParams } from './params.ts'
import { earliestOccurrence, findInterval, matchingStatistics, toDense } from './search.ts'
import { TOKENIZER_VERSION, tokenizeWithOffsets } from './tokenizer.ts'

/** One maximal span of the output that occurs in the corpus. */
export interface AttributedSpan {
  /** Output token range [start, end). */
  readonly start: number
  readonly end: number
  /** Character range in the output text (UTF-16 units), when the output was given as text. */
  readonly charStart: number | null
  readonly charEnd: number | null
  /** Occurrences of the span in the corpus. */
  readonly count: number
  /** Rarity factor in units of 1/65536 (see rarityOf). */
  readonly rarity: number
  /**
   * The contribution that holds the span: the earliest accepted one containing it whole. Under 'token'
   * ownership (ol-attr-2) it earns only those of the span's tokens no earlier contribution covers.
   */
  readonly ownerIndex: number
  readonly ownerId: string
  /** Output tokens counted under this span (overlaps go to the stronger span), whoever earned them. */
  readonly heldTokens: number
  /** Credit those tokens carried: sum of their covering-window rarities (units of 1/65536 token). */
  readonly credit: number
  /** Ids of every contribution containing the span, in acceptance order; null when count exceeds the listing cap. */
  readonly contributions: readonly string[] | null
}

export interface AttributionEntry {
  readonly contributionId: string
  readonly contributor: string
  /** Position of the contribution in acceptance order (the tie-break). */
  readonly contributionIndex: number
  readonly weightPpm: number
  /** Indices into the result's `spans` through which this contribution earned tokens. */
  readonly spans: readonly number[]
}

export interface AttributionResult {
  readonly paramsVersion: string
  readonly tokenizerVersion: string
  readonly indexId: string | null
  readonly outputTokens: number
  /** Heaviest first; ties by acceptance order. At most topK entries, each >= minEntryPpm. */
  readonly entries: readonly AttributionEntry[]
  /** 1,000,000 minus the sum of the entries' weights. */
  readonly unattributedPpm: number
  /** Part of unattributedPpm that was attributed but dropped by topK or minEntryPpm. */
  readonly foldedPpm: number
  readonly spans: readonly AttributedSpan[]
}

export type AttributionInput = string | Uint32Array | readonly number[]

/**
 * floor(65536 * H^2 / (H^2 + (count - 1)^2)): 1.0 for a unique span, about 1.0 for a handful of copies,
 * one half at H + 1 occurrences, and falling as 1/count^2 beyond, so text found everywhere is worth almost
 * nothing. (count - 1) is capped at 2^24, where the factor is 0 for any allowed H; every product stays
 * below 2^53.
 */
export function rarityOf(count: number, halfCount: number): number {
  const extra = Math.min(count - 1, 1 << 24)
  const h2 = halfCount * halfCount
  return Math.floor((h2 * RARITY_ONE) / (h2 + extra * extra))
}

/** out[p] = the minimum of v[i] over i in [p - w + 1, p] with v[i] >= 0 (monotonic deque), -1 if none. */
function slidingMin(v: Int32Array, w: number): Int32Array {
  const m = v.length
  const out = new Int32Array(m)
  const deque = new Int32Array(m)
  let head = 0
  let tail = 0
  for (let p = 0; p < m; p++) {
    if (v[p] >= 0) {
      while (tail > head && v[deque[tail - 1]] >= v[p]) tail--
      deque[tail++] = p
    }
    while (tail > head && deque[head] <= p - w) head++
    out[p] = tail > head ? v[deque[head]] : -1
  }
  return out
}

/**
 * Over the windows q[i..i+w) with i <= p < i+w that occur in the corpus (each found by one binary
 * search), for each output position p: `rarity`, the minimum window rarity, and, when asked,
 * `earliest`, the smallest corpus position of any such window (contributions are laid out in acceptance
 * order, so its contribution is the earliest accepted one with a w-token match covering p). -1 where no
 * window covers p.
 */
function coveringWindows(
  index: AttributionIndex,
  q: Int32Array,
  matchLength: Int32Array,
  w: number,
  halfCount: number,
  withEarliest: boolean,
): { rarity: Int32Array; earliest: Int32Array | null } {
  const m = q.length
  const rarity = new Int32Array(m).fill(-1)
  const earliest = withEarliest ? new Int32Array(m).fill(-1) : null
  for (let i = 0; i + w <= m; i++) {
    if (matchLength[i] < w) continue
    const [lo, hi] = findInterval(index, q, i, w)
    rarity[i] = rarityOf(hi - lo, halfCount)
    if (earliest) earliest[i] = earliestOccurrence(index, lo, hi)
  }
  return { rarity: slidingMin(rarity, w), earliest: earliest && slidingMin(earliest, w) }
}

/**
 * Attributes an output (text, or tokenizer ids) to the contributions of an index. Pure and
 * deterministic: integer arithmetic throughout and fixed tie-breaks, so every validator gets the same
 * bits from the same index, output and parameter set.
 */
export function attribute(
  index: AttributionIndex,
  output: AttributionInput,
  overrides: Partial<AttributionParams> = {},
): AttributionResult {
  const params = resolveParams(overrides)
  if (index.tokenizerVersion !== TOKENIZER_VERSION) {
    throw new AttributionError({
      code: 'TOKENIZER_MISMATCH',
      found: index.tokenizerVersion,
      expected: TOKENIZER_VERSION,
    })
  }
  let ids: ArrayLike<number>
  let charStarts: Uint32Array | null = null
  let charEnds: Uint32Array | null = null
  if (typeof output === 'string') {
    // Cheap guard before tokenizing: a token takes at least one code unit.
    if (output.length > params.maxOutputTokens * 64) {
      throw new AttributionError({
        code: 'INPUT_TOO_LARGE',
        tokens: output.length,
        max: params.maxOutputTokens,
      })
    }
    const t = tokenizeWithOffsets(output)
    ids = t.ids
    charStarts = t.starts
    charEnds = t.ends
  } else ids = output
  const m = ids.length
  if (m > params.maxOutputTokens) {
    throw new AttributionError({ code: 'INPUT_TOO_LARGE', tokens: m, max: params.maxOutputTokens })
  }
  const q = toDense(index, ids)
  const ms = matchingStatistics(index, q)

  // Maximal spans: a start whose match is not the tail of the previous start's match.
  interface RawSpan {
    start: number
    end: number
    count: number
    rarity: number
    owner: number
    lo: number
    hi: number
    held: number
    credit: number
  }
  const raw: RawSpan[] = []
  for (let i = 0; i < m; i++) {
    const len = ms.length[i]
    if (len < params.minSpan) continue
    if (i > 0 && len <= ms.length[i - 1] - 1) continue
    const lo = ms.lo[i]
    const hi = ms.hi[i]
    const count = hi - lo
    const owner = contributionAt(index.starts, earliestOccurrence(index, lo, hi))
    raw.push({
      start: i,
      end: i + len,
      count,
      rarity: rarityOf(count, params.rarityHalfCount),
      owner,
      lo,
      hi,
      held: 0,
      credit: 0,
    })
  }

  // Each output token is credited once, through the strongest span covering it: higher rarity, then
  // longer, then earlier in the output.
  const order = raw.map((_, i) => i)
  order.sort((a, b) => {
    const x = raw[a]
    const y = raw[b]
    return y.rarity - x.rarity || y.end - y.start - (x.end - x.start) || x.start - y.start
  })
  const nextFree = new Int32Array(m + 1)
  for (let i = 0; i <= m; i++) nextFree[i] = i
  const find = (i: number): number => {
    let r = i
    while (nextFree[r] !== r) r = nextFree[r]
    while (nextFree[i] !== r) {
      const up = nextFree[i]
      nextFree[i] = r
      i = up
    }
    return r
  }
  // A token's credit is the rarity of the most common minSpan-token window of the output that covers it
  // and occurs in the corpus (sliding-window minimum). A span made rare only by the token or two it adds
  // to common text (boilerplate plus a neighbouring word) is thus worth almost nothing, while every token
  // of a genuinely rare span keeps its full credit.
  const windows = coveringWindows(
    index,
    q,
    ms.length,
    params.minSpan,
    params.rarityHalfCount,
    params.ownership === 'token',
  )
  const tokenRarity = windows.rarity
  // The span a token is counted under is chosen as above under both rules; under 'span' ownership its
  // holder earns the token, under 'token' ownership the earliest contribution whose own minSpan-token
  // match covers it does (so the copied part of a span crossing a copy's join goes to the original).
  const credit = new Map<number, number>()
  const earnedVia = new Map<number, number[]>()
  for (const si of order) {
    const s = raw[si]
    let sum = 0
    for (let p = find(s.start); p < s.end; p = find(p)) {
      const owner = windows.earliest ? contributionAt(index.starts, windows.earliest[p]) : s.owner
      s.held++
      sum += tokenRarity[p]
      credit.set(owner, (credit.get(owner) ?? 0) + tokenRarity[p])
      const via = earnedVia.get(owner)
      if (via === undefined) earnedVia.set(owner, [si])
      else if (via[via.length - 1] !== si) via.push(si) // spans go one at a time: si is last if listed
      nextFree[p] = p + 1
    }
    s.credit = sum
  }

  // Weights: credit / (m * RARITY_ONE) of the whole, floored to parts per million (exact in BigInt).
  const denom = BigInt(m) * BigInt(RARITY_ONE)
  const weighted: { owner: number; weight: number }[] = []
  for (const [owner, c] of credit) {
    const weight = Number((BigInt(c) * BigInt(PPM)) / denom)
    if (weight > 0) weighted.push({ owner, weight })
  }
  weighted.sort((a, b) => b.weight - a.weight || a.owner - b.owner)
  let kept = 0
  let folded = 0
  const entries: AttributionEntry[] = []
  for (const w of weighted) {
    if (entries.length < params.topK && w.weight >= params.minEntryPpm) {
      const ref = index.contributions[w.owner]
      entries.push({
        contributionId: ref.id,
        contributor: ref.contributor,
        contributionIndex: w.owner,
        weightPpm: w.weight,
        spans: (earnedVia.get(w.owner) ?? []).sort((a, b) => a - b),
      })
      kept += w.weight
    } else folded += w.weight
  }

  const spans: AttributedSpan[] = raw.map((s) => {
    let contributions: string[] | null = null
    if (s.count <= params.maxListedOccurrences) {
      const owners = new Set<number>()
      for (let x = s.lo; x < s.hi; x++) owners.add(contributionAt(index.starts, index.sa[x]))
      contributions = [...owners].sort((a, b) => a - b).map((o) => index.contributions[o].id)
    }
    return {
      start: s.start,
      end: s.end,
      charStart: charStarts ? charStarts[s.start] : null,
      charEnd: charEnds ? charEnds[s.end - 1] : null,
      count: s.count,
      rarity: s.rarity,
      ownerIndex: s.owner,
      ownerId: index.contributions[s.owner].id,
      heldTokens: s.held,
      credit: s.credit,
      contributions,
    }
  })

  return {
    paramsVersion: paramsVersionOf(params),
    tokenizerVersion: index.tokenizerVersion,
    indexId: index.id,
    outputTokens: m,
    entries,
    unattributedPpm: PPM - kept,
    foldedPpm: folded,
    spans,
  }
}
