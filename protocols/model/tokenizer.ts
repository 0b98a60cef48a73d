// Byte-level BPE tokenizer learned from the training corpus (the GPT-2 scheme: bytes mapped to printable
// characters, the GPT-2 pre-tokenization regex, merges ranked in the order they were learned).
//
// Why byte-level BPE rather than the attribution tokenizer or plain words: every string is encodable (the
// adapter's second domain has characters the base corpus never saw, and a word vocabulary would map them to
// an unknown token), the vocabulary stays small (the output layer is the dominant training cost on CPU),
// and `tokenizer.json` in the Hugging Face `tokenizers` format lets standard tools read it. Model output is
// decoded to text before attribution, so the attribution engine keeps its own tokenizer.
import { ModelError, ModelErrorCode } from './errors.ts'

export const END_OF_TEXT = '<|endoftext|>'
const PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu
const PAIR_BASE = 65536

/** GPT-2's reversible map from bytes to printable characters, so a token is a plain JSON string. */
function byteAlphabet(): string[] {
  const printable: number[] = []
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b)
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b)
  for (let b = 0xae; b <= 0xff; b++) printable.push(b)
  const chars = new Array<string>(256)
  let extra = 0
  for (let b = 0; b < 256; b++) {
    chars[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++)
  }
  return chars
}
const BYTE_CHARS = byteAlphabet()
const CHAR_TO_BYTE = new Map(BYTE_CHARS.map((c, b) => [c, b]))
const utf8 = new TextEncoder()

export interface TokenizerTrainOptions {
  /** Total vocabulary: 256 byte tokens, the learned merges, and the end-of-text token. */
  vocabSize: number
}

export class Tokenizer {
  /** id → token string (byte-alphabet characters, or the special token). */
  readonly tokens: string[]
  /** Learned merges as [left id, right id], in rank order; merge i produced token `mergedIds[i]`. */
  readonly merges: Array<[number, number]>
  readonly endOfTextId: number
  private readonly byteIds: Int32Array
  private readonly tokenBytes: Uint8Array[]
  private readonly ranks = new Map<number, number>()
  private readonly mergedIds: number[]
  private readonly cache = new Map<string, number[]>()

  constructor(tokens: string[], merges: Array<[number, number]>) {
    this.tokens = tokens
    this.merges = merges
    const ids = new Map(tokens.map((t, i) => [t, i]))
    const eot = ids.get(END_OF_TEXT)
    if (eot === undefined) throw invalid(`no ${END_OF_TEXT} token`)
    this.endOfTextId = eot
    this.byteIds = new Int32Array(256)
    for (let b = 0; b < 256; b++) {
      const id = ids.get(BYTE_CHARS[b])
      if (id === undefined) throw invalid(`byte ${b} has no token`)
      this.byteIds[b] = id
    }
    this.tokenBytes = tokens.map((t, i) => (i === eot ? new Uint8Array(0) : tokenToBytes(t)))
    this.mergedIds = merges.map(([a, b], rank) => {
      const merged = ids.get(tokens[a] + tokens[b])
      if (merged === undefined) throw invalid(`merge ${rank} produces a token missing from the vocabulary`)
      this.ranks.set(a * PAIR_BASE + b, rank)
      return merged
    })
  }

  get vocabSize(): number {
    return this.tokens.length
  }

  /** Learns merges from the texts, in order; ties break on the smaller pair of ids, so it is deterministic. */
  static train(texts: string[], { vocabSize }: TokenizerTrainOptions): Tokenizer {
    if (!Number.isInteger(vocabSize) || vocabSize < 257 || vocabSize > PAIR_BASE) {
      throw new ModelError(
        {
          code: ModelErrorCode.INVALID_ARGUMENT,
          argument: 'vocabSize',
          reason: 'must be an integer in [257, 65536]',
        },
        `vocabSize ${vocabSize} must be an integer in [257, 65536]`,
      )
    }
    const wordCounts = new Map<string, number>()
    for (const text of texts) {
      for (const match of text.matchAll(PRETOKENIZE)) {
        wordCounts.set(match[0], (wordCounts.get(match[0]) ?? 0) + 1)
      }
    }
    const words: number[][] = []
    const freqs: number[] = []
    for (const [word, count] of wordCounts) {
      words.push(Array.from(utf8.encode(word)))
      freqs.push(count)
    }
    const pairCounts = new Map<number, number>()
    const addPairs = (w: number[], f: number): void => {
      for (let i = 0; i + 1 < w.length; i++) {
        const key = w[i] * PAIR_BASE + w[i + 1]
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + f)
      }
    }
    for (let i = 0; i < words.length; i++) addPairs(words[i], freqs[i])

    const tokens = BYTE_CHARS.slice()
    const merges: Array<[number, number]> = []
    const targetMerges = vocabSize - 257
    while (merges.length < targetMerges) {
      let bestKey = -1
      let bestCount = 1
      for (const [key, count] of pairCounts) {
        if (count > bestCount || (count === bestCount && bestKey >= 0 && key < bestKey)) {
          bestKey = key
          bestCount = count
        }
      }
      if (bestKey < 0) break // nothing occurs twice any more: a smaller vocabulary is all the corpus supports
      const a = Math.floor(bestKey / PAIR_BASE)
      const b = bestKey % PAIR_BASE
      const merged = tokens.length
      tokens.push(tokens[a] + tokens[b])
      merges.push([a, b])
      for (let wi = 0; wi < words.length; wi++) {
        const w = words[wi]
        let has = false
        for (let i = 0; i + 1 < w.length; i++) {
          if (w[i] === a && w[i + 1] === b) {
            has = true
            break
          }
        }
        if (!has) continue
        addPairs(w, -freqs[wi])
        const out: number[] = []
        for (let i = 0; i < w.length; i++) {
          if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
            out.push(merged)
            i++
          } else out.push(w[i])
        }
        words[wi] = out
        addPairs(out, freqs[wi])
      }
      for (const [key, count] of pairCounts) if (count <= 0) pairCounts.delete(key)
    }
    tokens.push(END_OF_TEXT)
    return new Tokenizer(tokens, merges)
  }

  encode(text: string): number[] {
    const out: number[] = []
    for (const match of text.matchAll(PRETOKENIZE)) {
      const word = match[0]
      let ids = this.cache.get(word)
      if (ids === undefined) {
        ids = this.encodeWord(word)
        if (this.cache.size < 200_000) this.cache.set(word, ids)
      }
      for (const id of ids) out.push(id)
    }
    return out
  }

  private encodeWord(word: string): number[] {
    let w = Array.from(utf8.encode(word), (b) => this.byteIds[b])
    while (w.length > 1) {
      let bestRank = Number.POSITIVE_INFINITY
      for (let i = 0; i + 1 < w.length; i++) {
        const rank = this.ranks.get(w[i] * PAIR_BASE + w[i + 1])
        if (rank !== undefined && rank < bestRank) bestRank = rank
      }
      if (bestRank === Number.POSITIVE_INFINITY) break
      const [a, b] = this.merges[bestRank]
      const merged = this.mergedIds[bestRank]
      const out: number[] = []
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(merged)
          i++
        } else out.push(w[i])
      }
      w = out
    }
    return w
  }

  /** Text of the ids; the end-of-text token decodes to nothing. Invalid UTF-8 becomes U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    let total = 0
    for (let i = 0; i < ids.length; i++) total += this.tokenBytes[ids[i]]?.length ?? 0
    const bytes = new Uint8Array(total)
    let at = 0
    for (let i = 0; i < ids.length; i++) {
      const tb = this.tokenBytes[ids[i]]
      if (tb === undefined) continue
      bytes.set(tb, at)
      at += tb.length
    }
    return new TextDecoder().decode(bytes)
  }

  /** The Hugging Face `tokenizers` JSON form (BPE model, ByteLevel pre-tokenizer and decoder). */
  toJSON(): Record<string, unknown> {
    const vocab: Record<string, number> = {}
    this.tokens.forEach((t, i) => {
      if (i !== this.endOfTextId) vocab[t] = i
    })
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [
        {
          id: this.endOfTextId,
          content: END_OF_TEXT,
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: true,
        },
      ],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: this.merges.map(([a, b]) => `${this.tokens[a]} ${this.tokens[b]}`),
      },
    }
  }

  static fromJSON(json: unknown): Tokenizer {
    const j = json as {
      model?: { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]> }
      added_tokens?: Array<{ id: number; content: string }>
    }
    if (j?.model?.type !== 'BPE' || typeof j.model.vocab !== 'object' || !Array.isArray(j.model.merges)) {
      throw invalid('not a byte-level BPE tokenizer.json')
    }
    const entries = Object.entries(j.model.vocab)
    for (const added of j.added_tokens ?? []) entries.push([added.content, added.id])
    const tokens = new Array<string>(entries.length)
    for (const [t, id] of entries) {
      if (!Number.isInteger(id) || id < 0 || id >= entries.length || tokens[id] !== undefined) {
        throw invalid(`token ids are not a permutation of 0..${entries.length - 1}`)
      }
      tokens[id] = t
    }
    const ids = new Map(tokens.map((t, i) => [t, i]))
    const merges = j.model.merges.map((m): [number, number] => {
      const [l, r] = typeof m === 'string' ? m.split(' ') : m
      const a = ids.get(l)
      const b = ids.get(r)
      if (a === undefined || b === undefined) throw invalid(`merge "${l} ${r}" names an unknown token`)
      return [a, b]
    })
    return new Tokenizer(tokens, merges)
  }
}

function tokenToBytes(token: string): Uint8Array {
  const out = new Uint8Array(token.length)
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token[i])
    if (b === undefined) throw invalid(`token "${token}" has a character outside the byte alphabet`)
    out[i] = b
  }
  return out
}

function invalid(reason: string): ModelError {
  return new ModelError(
    { code: ModelErrorCode.FORMAT_INVALID, file: 'tokenizer.json', reason },
    `tokenizer.json: ${reason}`,
  )
}
