import type { AttributionIndex } from './build.ts'
import { MIN_BLOCK, MIN_BLOCK_BITS } from './build.ts'

/** Dense id for a query token that never occurs in the corpus: it matches nothing. */
export const ABSENT = -1

/** Maps tokenizer ids to the index's dense ids (binary search in the vocabulary); ABSENT if unknown. */
export function toDense(index: AttributionIndex, ids: ArrayLike<number>): Int32Array {
  const vocab = index.vocab
  const out = new Int32Array(ids.length)
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i]
    let lo = 1
    let hi = vocab.length - 1
    let found = ABSENT
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const v = vocab[mid]
      if (v === t) {
        found = mid
        break
      }
      if (v < t) lo = mid + 1
      else hi = mid - 1
    }
    out[i] = t === 0 ? ABSENT : found
  }
  return out
}

/**
 * Suffix-array interval [lo, hi) of the suffixes starting with q[qs .. qs+k) (every token present).
 * Binary search with the usual shortcut: a suffix shares at least min(lcp(lo), lcp(hi)) tokens with the
 * pattern, so comparisons start there.
 */
export function findInterval(
  index: AttributionIndex,
  q: Int32Array,
  qs: number,
  k: number,
): [number, number] {
  const { sa, tokens, n } = index
  // Lower bound: first suffix >= pattern.
  let lo = -1
  let hi = n
  let llo = 0
  let lhi = 0
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1
    const pos = sa[mid]
    let d = Math.min(llo, lhi)
    let sign = 0
    while (d < k) {
      const p = pos + d
      const a = p < n ? tokens[p] : -1
      const b = q[qs + d]
      if (a !== b) {
        sign = a < b ? -1 : 1
        break
      }
      d++
    }
    if (sign < 0) {
      lo = mid
      llo = d
    } else {
      hi = mid
      lhi = d
    }
  }
  const first = hi
  // Upper bound: first suffix whose k-prefix is greater than the pattern.
  lo = first - 1
  hi = n
  llo = k
  lhi = 0
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1
    const pos = sa[mid]
    let d = Math.min(llo, lhi)
    let sign = 0
    while (d < k) {
      const p = pos + d
      const a = p < n ? tokens[p] : -1
      const b = q[qs + d]
      if (a !== b) {
        sign = a < b ? -1 : 1
        break
      }
      d++
    }
    if (sign <= 0) {
      lo = mid
      llo = d
    } else {
      hi = mid
      lhi = d
    }
  }
  return [first, hi]
}

/**
 * Narrows [lo, hi) (suffixes sharing a k-token prefix, so sorted by their token at depth k) to those whose
 * token at depth k is c. Returns the new interval; empty when lo === hi.
 */
function narrow(index: AttributionIndex, lo: number, hi: number, k: number, c: number): [number, number] {
  const { sa, tokens, n } = index
  let a = lo
  let b = hi
  while (a < b) {
    const mid = (a + b) >>> 1
    const p = sa[mid] + k
    const v = p < n ? tokens[p] : -1
    if (v < c) a = mid + 1
    else b = mid
  }
  const first = a
  b = hi
  while (a < b) {
    const mid = (a + b) >>> 1
    const p = sa[mid] + k
    const v = p < n ? tokens[p] : -1
    if (v <= c) a = mid + 1
    else b = mid
  }
  return [first, a]
}

export interface MatchingStatistics {
  /** length[i]: tokens of the longest prefix of q[i..] that occurs in the corpus. */
  readonly length: Int32Array
  /** SA interval of that prefix (lo inclusive, hi exclusive). */
  readonly lo: Int32Array
  readonly hi: Int32Array
}

/**
 * Matching statistics of the query against the corpus. Uses length[i+1] >= length[i] - 1: each start
 * re-finds the known prefix by one binary search, then extends it token by token.
 */
export function matchingStatistics(index: AttributionIndex, q: Int32Array): MatchingStatistics {
  const m = q.length
  const length = new Int32Array(m)
  const los = new Int32Array(m)
  const his = new Int32Array(m)
  let k = 0
  let lo = 0
  let hi = index.n
  for (let i = 0; i < m; i++) {
    if (i > 0) {
      if (k > 0) k--
      if (k > 0) [lo, hi] = findInterval(index, q, i, k)
      else {
        lo = 0
        hi = index.n
      }
    }
    while (i + k < m) {
      const c = q[i + k]
      if (c <= 0) break
      const [a, b] = narrow(index, lo, hi, k, c)
      if (a >= b) break
      lo = a
      hi = b
      k++
    }
    length[i] = k
    los[i] = k > 0 ? lo : 0
    his[i] = k > 0 ? hi : 0
  }
  return { length, lo: los, hi: his }
}

/** Smallest corpus position among sa[lo..hi): the earliest occurrence of the interval's pattern. */
export function earliestOccurrence(index: AttributionIndex, lo: number, hi: number): number {
  const { sa, blockMin, superMin } = index
  let best = 0xffffffff
  let i = lo
  while (i < hi && (i & (MIN_BLOCK - 1)) !== 0) {
    if (sa[i] < best) best = sa[i]
    i++
  }
  let b = i >>> MIN_BLOCK_BITS
  const bEnd = hi >>> MIN_BLOCK_BITS
  while (b < bEnd && (b & (MIN_BLOCK - 1)) !== 0) {
    if (blockMin[b] < best) best = blockMin[b]
    b++
  }
  let sb = b >>> MIN_BLOCK_BITS
  const sbEnd = bEnd >>> MIN_BLOCK_BITS
  while (sb < sbEnd) {
    if (superMin[sb] < best) best = superMin[sb]
    sb++
  }
  b = Math.max(b, sbEnd << MIN_BLOCK_BITS)
  while (b < bEnd) {
    if (blockMin[b] < best) best = blockMin[b]
    b++
  }
  i = Math.max(i, bEnd << MIN_BLOCK_BITS)
  while (i < hi) {
    if (sa[i] < best) best = sa[i]
    i++
  }
  return best
}
