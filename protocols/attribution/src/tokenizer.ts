/**
 * The attribution tokenizer, version `ol-tok-1`. Text is cut into segments (a maximal run of letters,
 * marks, digits and `_`, or one other non-space code point); each segment is NFKC-normalized and
 * lower-cased (String.prototype.toLowerCase, which is locale-independent) and cut again by the same rule,
 * since normalization can split a segment ("½" becomes "1⁄2"). A token's id is the 32-bit FNV-1a hash of
 * its UTF-16 code units, with 0 mapped to 1: id 0 is reserved for contribution boundaries. No vocabulary
 * file is involved, so every machine derives the same ids from the same text. Two distinct tokens can
 * share an id (about one pair in 100,000 distinct tokens); that only makes two words interchangeable.
 *
 * Pure ASCII segments take a fast path that computes the same result without allocating strings.
 */
export const TOKENIZER_VERSION = 'ol-tok-1'

/** Token id of the boundary between two contributions; the tokenizer never emits it. */
export const SEPARATOR_ID = 0

export interface Tokenized {
  readonly ids: Uint32Array
  /** Start offset (UTF-16 code units into the original text) of each token. */
  readonly starts: Uint32Array
  /** End offset (exclusive) of each token. */
  readonly ends: Uint32Array
}

export interface Tokenizer {
  readonly version: string
  tokenize(text: string): Uint32Array
  tokenizeWithOffsets(text: string): Tokenized
}

const SEGMENT = /[\p{L}\p{M}\p{N}_]+|[^\s\p{L}\p{M}\p{N}_]/uy
const SEGMENT_ALL = /[\p{L}\p{M}\p{N}_]+|[^\s\p{L}\p{M}\p{N}_]/gu
const SPACE = /\s+/uy

const SPACE_CLASS = 0
const WORD_CLASS = 1
const PUNCT_CLASS = 2
const ASCII_CLASS = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  ASCII_CLASS[c] = /\s/.test(ch) ? SPACE_CLASS : /[A-Za-z0-9_]/.test(ch) ? WORD_CLASS : PUNCT_CLASS
}

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

function hashString(s: string): number {
  let h = FNV_OFFSET
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME)
  return h >>> 0 || 1
}

/** Hash of one token string exactly as the tokenizer computes it (the string must already be normalized). */
export const tokenIdOf = hashString

class Output {
  ids: Uint32Array
  starts: Uint32Array | null
  ends: Uint32Array | null
  length = 0

  constructor(capacity: number, offsets: boolean) {
    this.ids = new Uint32Array(capacity)
    this.starts = offsets ? new Uint32Array(capacity) : null
    this.ends = offsets ? new Uint32Array(capacity) : null
  }

  push(id: number, start: number, end: number): void {
    if (this.length === this.ids.length) this.grow()
    this.ids[this.length] = id
    if (this.starts) {
      this.starts[this.length] = start
      this.ends![this.length] = end
    }
    this.length++
  }

  private grow(): void {
    const cap = Math.max(16, this.ids.length * 2)
    const ids = new Uint32Array(cap)
    ids.set(this.ids)
    this.ids = ids
    if (this.starts) {
      const s = new Uint32Array(cap)
      s.set(this.starts)
      this.starts = s
      const e = new Uint32Array(cap)
      e.set(this.ends!)
      this.ends = e
    }
  }
}

function run(text: string, out: Output): void {
  const len = text.length
  let i = 0
  while (i < len) {
    const c = text.charCodeAt(i)
    if (c < 128) {
      const cls = ASCII_CLASS[c]
      if (cls === SPACE_CLASS) {
        i++
        continue
      }
      if (cls === PUNCT_CLASS) {
        out.push(Math.imul(FNV_OFFSET ^ c, FNV_PRIME) >>> 0 || 1, i, i + 1)
        i++
        continue
      }
      let h = FNV_OFFSET
      let j = i
      let d = c
      while (true) {
        h = Math.imul(h ^ (d >= 65 && d <= 90 ? d + 32 : d), FNV_PRIME)
        j++
        if (j >= len) break
        d = text.charCodeAt(j)
        if (d >= 128 || ASCII_CLASS[d] !== WORD_CLASS) break
      }
      if (j >= len || text.charCodeAt(j) < 128) {
        out.push(h >>> 0 || 1, i, j)
        i = j
        continue
      }
      // The run continues into non-ASCII text: redo it on the general path.
    }
    SPACE.lastIndex = i
    if (SPACE.test(text)) {
      i = SPACE.lastIndex
      continue
    }
    SEGMENT.lastIndex = i
    const m = SEGMENT.exec(text)
    if (m === null) {
      // Unreachable for well-formed strings; skip one code unit so the loop always advances.
      i++
      continue
    }
    const seg = m[0]
    const end = i + seg.length
    const norm = seg.normalize('NFKC').toLowerCase()
    for (const part of norm.matchAll(SEGMENT_ALL)) out.push(hashString(part[0]), i, end)
    i = end
  }
}

export function tokenize(text: string): Uint32Array {
  const out = new Output(Math.max(16, text.length >>> 2), false)
  run(text, out)
  return out.ids.slice(0, out.length)
}

export function tokenizeWithOffsets(text: string): Tokenized {
  const out = new Output(Math.max(16, text.length >>> 2), true)
  run(text, out)
  return {
    ids: out.ids.slice(0, out.length),
    starts: out.starts!.slice(0, out.length),
    ends: out.ends!.slice(0, out.length),
  }
}

export const tokenizer: Tokenizer = Object.freeze({
  version: TOKENIZER_VERSION,
  tokenize,
  tokenizeWithOffsets,
})

/** The segmentation rule on the general path only; tests compare the fast path against it. */
export function tokenizeReference(text: string): string[] {
  const out: string[] = []
  for (const m of text.matchAll(SEGMENT_ALL)) {
    for (const part of m[0].normalize('NFKC').toLowerCase().matchAll(SEGMENT_ALL)) out.push(part[0])
  }
  return out
}
