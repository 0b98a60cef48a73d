import type { ContributionRef, Corpus } from './corpus.ts'
import { AttributionError } from './errors.ts'
import { suffixArray } from './sais.ts'
import { TOKENIZER_VERSION } from './tokenizer.ts'

/**
 * The queryable index of a corpus. Token ids are stored densely: `vocab` lists the distinct tokenizer ids
 * in ascending order (vocab[0] = 0, the separator), and tokens[i] is the rank of corpus token i in vocab,
 * so the order of suffixes is the same under dense and tokenizer ids. With fewer than 65,536 distinct
 * tokens, tokens take 2 bytes each, otherwise 4; the suffix array takes 4.
 */
export interface AttributionIndex {
  readonly tokenizerVersion: string
  /** Corpus length in tokens, separators included. */
  readonly n: number
  readonly tokens: Uint16Array | Uint32Array
  readonly sa: Uint32Array
  readonly vocab: Uint32Array
  readonly starts: Uint32Array
  readonly contributions: readonly ContributionRef[]
  /** Minimum of sa over each block of MIN_BLOCK entries (the earliest occurrence in a range). */
  readonly blockMin: Uint32Array
  /** Minimum of sa over each block of MIN_BLOCK^2 entries. */
  readonly superMin: Uint32Array
  /** Checksum of the persisted file (hex), once saved or loaded; null for an index only in memory. */
  id: string | null
}

export const MIN_BLOCK_BITS = 6
export const MIN_BLOCK = 1 << MIN_BLOCK_BITS

/**
 * Maps tokenizer ids to ranks among the distinct ids, with an open-addressing table: natural text has
 * tens of thousands of distinct tokens, so the table stays in cache and the two passes are cheap.
 */
export function denseTokens(tokens: Uint32Array): { dense: Uint16Array | Uint32Array; vocab: Uint32Array } {
  let bits = 12
  let keys = new Uint32Array(1 << bits)
  let count = 0
  const insertAll = (from: Uint32Array, limit: number): boolean => {
    const mask = (1 << bits) - 1
    const shift = 32 - bits
    for (let i = 0; i < limit; i++) {
      const t = from[i]
      if (t === 0) continue
      let h = Math.imul(t, 0x9e3779b1) >>> shift
      while (true) {
        const k = keys[h]
        if (k === t) break
        if (k === 0) {
          keys[h] = t
          if (++count * 2 > mask) return false
          break
        }
        h = (h + 1) & mask
      }
    }
    return true
  }
  // Grow and restart the pass whenever the table passes half full (restarting keeps the code simple and
  // costs at most one extra pass over a prefix per doubling).
  while (!insertAll(tokens, tokens.length)) {
    const old = keys
    bits++
    keys = new Uint32Array(1 << bits)
    count = 0
    insertAll(old, old.length)
  }
  const vocab = new Uint32Array(count + 1)
  let v = 1
  for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) vocab[v++] = keys[i]
  vocab.sort()
  const ranks = new Uint32Array(keys.length)
  const mask = (1 << bits) - 1
  const shift = 32 - bits
  const slot = (t: number): number => {
    let h = Math.imul(t, 0x9e3779b1) >>> shift
    while (keys[h] !== t) h = (h + 1) & mask
    return h
  }
  for (let d = 1; d < vocab.length; d++) ranks[slot(vocab[d])] = d
  const n = tokens.length
  const dense = vocab.length <= 0x10000 ? new Uint16Array(n) : new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    const t = tokens[i]
    if (t === 0) continue
    let h = Math.imul(t, 0x9e3779b1) >>> shift
    while (keys[h] !== t) h = (h + 1) & mask
    dense[i] = ranks[h]
  }
  return { dense, vocab }
}

export function blockMinima(sa: Uint32Array): { blockMin: Uint32Array; superMin: Uint32Array } {
  const n = sa.length
  const blockMin = new Uint32Array(Math.ceil(n / MIN_BLOCK))
  for (let b = 0; b < blockMin.length; b++) {
    let m = 0xffffffff
    const end = Math.min(n, (b + 1) * MIN_BLOCK)
    for (let i = b * MIN_BLOCK; i < end; i++) if (sa[i] < m) m = sa[i]
    blockMin[b] = m
  }
  const superMin = new Uint32Array(Math.ceil(blockMin.length / MIN_BLOCK))
  for (let b = 0; b < superMin.length; b++) {
    let m = 0xffffffff
    const end = Math.min(blockMin.length, (b + 1) * MIN_BLOCK)
    for (let i = b * MIN_BLOCK; i < end; i++) if (blockMin[i] < m) m = blockMin[i]
    superMin[b] = m
  }
  return { blockMin, superMin }
}

/** Builds the suffix-array index of a corpus (linear time: SA-IS). */
export function buildIndex(corpus: Corpus): AttributionIndex {
  if (corpus.tokenizerVersion !== TOKENIZER_VERSION) {
    throw new AttributionError({
      code: 'TOKENIZER_MISMATCH',
      found: corpus.tokenizerVersion,
      expected: TOKENIZER_VERSION,
    })
  }
  const { dense, vocab } = denseTokens(corpus.tokens)
  const sa = suffixArray(dense, vocab.length)
  const { blockMin, superMin } = blockMinima(sa)
  return {
    tokenizerVersion: corpus.tokenizerVersion,
    n: dense.length,
    tokens: dense,
    sa,
    vocab,
    starts: corpus.starts,
    contributions: corpus.contributions,
    blockMin,
    superMin,
    id: null,
  }
}

/** Bytes the index holds in memory, per corpus token. */
export function indexBytesPerToken(index: AttributionIndex): number {
  const bytes =
    index.tokens.byteLength +
    index.sa.byteLength +
    index.vocab.byteLength +
    index.starts.byteLength +
    index.blockMin.byteLength +
    index.superMin.byteLength
  return index.n === 0 ? 0 : bytes / index.n
}
