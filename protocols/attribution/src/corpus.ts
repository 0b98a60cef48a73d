import { AttributionError } from './errors.ts'
import { SEPARATOR_ID, TOKENIZER_VERSION, tokenize } from './tokenizer.ts'

/** One accepted Datanet contribution, in acceptance order. */
export interface Contribution {
  /** Content id (CID) or any unique string. */
  readonly id: string
  /** 0x-prefixed 20-byte address of the contributor. */
  readonly contributor: string
  readonly text: string
}

export interface ContributionRef {
  readonly id: string
  readonly contributor: string
}

/**
 * Every contribution's tokens, concatenated in acceptance order, each followed by one SEPARATOR_ID token
 * so that no span can cross from one contribution into the next. Contribution k occupies
 * tokens[starts[k] .. starts[k+1] - 1) and the separator sits at starts[k+1] - 1.
 */
export interface Corpus {
  readonly tokenizerVersion: string
  readonly tokens: Uint32Array
  /** Length contributions.length + 1; starts[contributions.length] === tokens.length. */
  readonly starts: Uint32Array
  readonly contributions: readonly ContributionRef[]
}

/** SA-IS works in Int32Array (with -1 marks), so positions stay below 2^31. */
export const MAX_CORPUS_TOKENS = 0x7fff_ff00

const ADDRESS = /^0x[0-9a-fA-F]{40}$/

function flatten(input: readonly Contribution[] | readonly (readonly Contribution[])[]): Contribution[] {
  if (input.length > 0 && Array.isArray(input[0])) return (input as Contribution[][]).flat()
  return input as Contribution[]
}

function checkRef(c: { id: unknown; contributor: unknown }, index: number): void {
  if (typeof c.id !== 'string' || c.id.length === 0) {
    throw new AttributionError({
      code: 'INVALID_CONTRIBUTION',
      index,
      reason: 'id must be a non-empty string',
    })
  }
  if (typeof c.contributor !== 'string' || !ADDRESS.test(c.contributor)) {
    throw new AttributionError({
      code: 'INVALID_CONTRIBUTION',
      index,
      reason: 'contributor must be a 0x-prefixed 20-byte hex address',
    })
  }
}

/**
 * Builds the corpus of one Datanet version, or of several (pass one list per version, oldest first: a
 * contribution id seen again in a later version keeps its first position, i.e. its original acceptance).
 */
export function buildCorpus(input: readonly Contribution[] | readonly (readonly Contribution[])[]): Corpus {
  const list = flatten(input)
  const seen = new Set<string>()
  const lists: { id: string; contributor: string; tokens: Uint32Array }[] = []
  list.forEach((c, index) => {
    checkRef(c, index)
    if (typeof c.text !== 'string') {
      throw new AttributionError({ code: 'INVALID_CONTRIBUTION', index, reason: 'text must be a string' })
    }
    if (seen.has(c.id)) return
    seen.add(c.id)
    lists.push({ id: c.id, contributor: c.contributor.toLowerCase(), tokens: tokenize(c.text) })
  })
  return corpusFromTokens(lists)
}

/** Builds a corpus from contributions already tokenized with the current tokenizer (ids must be non-zero). */
export function corpusFromTokens(
  list: readonly { id: string; contributor: string; tokens: Uint32Array }[],
): Corpus {
  let total = 0
  list.forEach((c, index) => {
    checkRef(c, index)
    total += c.tokens.length + 1
  })
  if (total > MAX_CORPUS_TOKENS) {
    throw new AttributionError({ code: 'CORPUS_TOO_LARGE', tokens: total, max: MAX_CORPUS_TOKENS })
  }
  const tokens = new Uint32Array(total)
  const starts = new Uint32Array(list.length + 1)
  const contributions: ContributionRef[] = []
  const seen = new Set<string>()
  let pos = 0
  list.forEach((c, index) => {
    if (seen.has(c.id)) {
      throw new AttributionError({ code: 'INVALID_CONTRIBUTION', index, reason: `duplicate id ${c.id}` })
    }
    seen.add(c.id)
    if (c.tokens.includes(SEPARATOR_ID)) {
      throw new AttributionError({ code: 'INVALID_CONTRIBUTION', index, reason: 'token id 0 is reserved' })
    }
    starts[index] = pos
    tokens.set(c.tokens, pos)
    pos += c.tokens.length
    tokens[pos++] = SEPARATOR_ID
    contributions.push({ id: c.id, contributor: c.contributor.toLowerCase() })
  })
  starts[list.length] = pos
  return { tokenizerVersion: TOKENIZER_VERSION, tokens, starts, contributions }
}

/** Index of the contribution holding corpus position `pos` (binary search over `starts`). */
export function contributionAt(starts: Uint32Array, pos: number): number {
  let lo = 0
  let hi = starts.length - 2
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (starts[mid] <= pos) lo = mid
    else hi = mid - 1
  }
  return lo
}
