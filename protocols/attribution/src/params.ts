import { AttributionError } from './errors.ts'

/**
 * The knobs of span scoring. A validator recomputes an attribution with exactly the parameter set named
 * by `version`, so a set is never edited in place: a change gets a new version id.
 */
export interface AttributionParams {
  /** Id of this parameter set; results carry it as `paramsVersion`. */
  readonly version: string
  /** Shortest span (in tokens) that counts as a match. */
  readonly minSpan: number
  /** H: a span's rarity factor is H^2 / (H^2 + (count - 1)^2), one half at H + 1 occurrences. */
  readonly rarityHalfCount: number
  /** Entries returned, heaviest first. */
  readonly topK: number
  /** Entries lighter than this (parts per million) are folded into the unattributed remainder. */
  readonly minEntryPpm: number
  /** Outputs longer than this many tokens are refused (INPUT_TOO_LARGE). */
  readonly maxOutputTokens: number
  /** A span lists the contributions it occurs in only when it has at most this many occurrences. */
  readonly maxListedOccurrences: number
  /**
   * Who earns a matched output token. 'span' (ol-attr-1): the holder of the strongest maximal span
   * covering it, i.e. the earliest contribution containing that whole span, so a copy that appends its
   * own text holds every token of a span crossing the join. 'token' (ol-attr-2): the earliest
   * contribution with a match of at least minSpan tokens covering the token itself, so a later
   * contribution earns only the tokens no earlier one covers.
   */
  readonly ownership: Ownership
}

export type Ownership = 'span' | 'token'

/** Fixed-point scale of the rarity factor (1.0 = RARITY_ONE). */
export const RARITY_ONE = 65536
export const PPM = 1_000_000

export const PARAMS_V1: AttributionParams = Object.freeze({
  version: 'ol-attr-1',
  minSpan: 8,
  rarityHalfCount: 8,
  topK: 10,
  minEntryPpm: 5_000,
  maxOutputTokens: 65_536,
  maxListedOccurrences: 64,
  ownership: 'span',
})

/** ol-attr-1 with per-token ownership: copied text stays with the original across a copy's joins. */
export const PARAMS_V2: AttributionParams = Object.freeze({
  ...PARAMS_V1,
  version: 'ol-attr-2',
  ownership: 'token',
})

/** Registered parameter sets by version id; validators look the receipt's `paramsVersion` up here. */
export const PARAMS_BY_VERSION: ReadonlyMap<string, AttributionParams> = new Map([
  [PARAMS_V1.version, PARAMS_V1],
  [PARAMS_V2.version, PARAMS_V2],
])

export const DEFAULT_PARAMS = PARAMS_V2

const KEYS = [
  'minSpan',
  'rarityHalfCount',
  'topK',
  'minEntryPpm',
  'maxOutputTokens',
  'maxListedOccurrences',
] as const

/** Fills missing fields from the defaults and checks every value is an integer in range. */
export function resolveParams(overrides: Partial<AttributionParams> = {}): AttributionParams {
  const base = overrides.version !== undefined ? PARAMS_BY_VERSION.get(overrides.version) : undefined
  const p = { ...(base ?? DEFAULT_PARAMS), ...overrides }
  for (const k of KEYS) {
    const v = p[k]
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new AttributionError({ code: 'INVALID_PARAMS', reason: `${k} must be a non-negative integer` })
    }
  }
  if (p.ownership !== 'span' && p.ownership !== 'token') {
    throw new AttributionError({ code: 'INVALID_PARAMS', reason: "ownership must be 'span' or 'token'" })
  }
  if (p.minSpan < 1) throw new AttributionError({ code: 'INVALID_PARAMS', reason: 'minSpan must be >= 1' })
  if (p.rarityHalfCount < 1 || p.rarityHalfCount > 65_536) {
    throw new AttributionError({ code: 'INVALID_PARAMS', reason: 'rarityHalfCount must be in [1, 65536]' })
  }
  if (p.minEntryPpm > PPM) throw new AttributionError({ code: 'INVALID_PARAMS', reason: 'minEntryPpm > 1e6' })
  // m * RARITY_ONE * PPM must stay a safe integer in the weight arithmetic.
  if (p.maxOutputTokens > 65_536 || p.maxOutputTokens < 1) {
    throw new AttributionError({ code: 'INVALID_PARAMS', reason: 'maxOutputTokens must be in [1, 65536]' })
  }
  return Object.freeze(p)
}

/**
 * The id a result carries: the registered version when the set equals it field for field, otherwise
 * `custom:` and the fields in a fixed order, so a custom set is still reproducible from the result.
 */
export function paramsVersionOf(p: AttributionParams): string {
  const registered = PARAMS_BY_VERSION.get(p.version)
  if (registered && KEYS.every((k) => registered[k] === p[k]) && registered.ownership === p.ownership) {
    return p.version
  }
  return `custom:${p.version}:${KEYS.map((k) => `${k}=${p[k]}`).join(',')},ownership=${p.ownership}`
}
