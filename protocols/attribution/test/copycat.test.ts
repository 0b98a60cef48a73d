// Copy-cats that add their own text to a copied passage (issue 12): under ol-attr-2 each output token goes
// to the earliest contribution whose own match of at least minSpan tokens covers it, so the original keeps
// the copied tokens across the copy's joins and the copy earns only the text it wrote. Real text: a
// paragraph of the Rust book the repository carries, in a corpus of the book's chapters 3 and 4.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RUST_BOOK_DIR } from '../../../testnet/corpora/index.ts'
import {
  type AttributionResult,
  attribute,
  buildCorpus,
  buildIndex,
  type Contribution,
  PARAMS_V2,
  PPM,
  RARITY_ONE,
  rarityOf,
  tokenize,
} from '../index.ts'

const test = suite('copy-cats adding their own text (ol-attr-2)')

const addr = (i: number) => `0x${i.toString(16).padStart(40, '0')}`
const COPYCAT = addr(0xc0c0)

const chapters: Contribution[] = readdirSync(RUST_BOOK_DIR)
  .filter((f) => /^ch0[34]-.*\.md$/.test(f))
  .sort()
  .map((f, i) => ({ id: f, contributor: addr(1 + i), text: readFileSync(join(RUST_BOOK_DIR, f), 'utf8') }))
const ORIGINAL = 'ch04-01-what-is-ownership.md'
// "_Ownership_ is a set of rules that govern how a Rust program manages memory. All programs have to ..."
const paragraph = chapters
  .find((c) => c.id === ORIGINAL)!
  .text.split(/\n\s*\n/)[1]
  .replace(/\s+/g, ' ')
// The paragraph's six sentences, for the interleaved copy.
const sentences = paragraph.match(/[^.!?]+[.!?]/g)!.map((s) => s.trim())
const own = [
  'In my experience this rule alone saves whole afternoons of debugging on embedded boards.',
  'Seasoned kernel hackers tend to grumble about it during their first fortnight, then quietly adopt it.',
  'Pair it with plenty of small unit tests and the compiler becomes a patient tutor.',
]

const tokens = (text: string) => tokenize(text).length
const weightOf = (r: AttributionResult, id: string) =>
  r.entries.find((e) => e.contributionId === id)?.weightPpm ?? 0

/** Weight of n of m output tokens whose most common covering window occurs `count` times (floored ppm). */
const ppmOf = (n: number, count: number, m: number) =>
  Number(
    (BigInt(n) * BigInt(rarityOf(count, PARAMS_V2.rarityHalfCount)) * BigInt(PPM)) /
      (BigInt(m) * BigInt(RARITY_ONE)),
  )

/**
 * The exact weights when the output is the copy itself: each copied token occurs twice (original and
 * copy), so its credit is rarityOf(2); each token the copy wrote occurs once (full credit).
 */
function expected(copied: number, written: number): { original: number; copy: number } {
  const m = copied + written
  return { original: ppmOf(copied, 2, m), copy: ppmOf(written, 1, m) }
}

function indexWith(...copies: string[]) {
  return buildIndex(
    buildCorpus([...chapters, ...copies.map((text, i) => ({ id: `copy-${i}`, contributor: COPYCAT, text }))]),
  )
}

test('the corpus is what the expectations assume: the paragraph occurs once, the written text nowhere', () => {
  const index = indexWith()
  const r = attribute(index, paragraph)
  assert.is(r.spans.length, 1)
  assert.is(r.spans[0].count, 1)
  assert.equal(r.spans[0].contributions, [ORIGINAL])
  assert.is(r.spans[0].end - r.spans[0].start, tokens(paragraph))
  for (const s of own) assert.is(attribute(index, s).spans.length, 0, s)
  assert.is(sentences.length, 6)
})

test('appended sentence: the original gets the copied tokens, the copy only its sentence (ol-attr-1 gave the copy all)', () => {
  const copy = `${paragraph} ${own[0]}`
  const index = indexWith(copy)
  const r = attribute(index, copy)
  assert.is(r.paramsVersion, 'ol-attr-2')
  // One maximal span, the whole output, held whole by the copy; its tokens are split at the join.
  assert.is(r.spans.length, 1)
  assert.is(r.spans[0].ownerId, 'copy-0')
  const want = expected(tokens(paragraph), tokens(own[0]))
  assert.is(weightOf(r, ORIGINAL), want.original)
  assert.is(weightOf(r, 'copy-0'), want.copy)
  assert.ok(want.original > 6 * want.copy, `${want.original} vs ${want.copy}`)
  assert.is(r.entries.length, 2)
  assert.is(r.unattributedPpm, PPM - want.original - want.copy)
  assert.equal(
    r.entries.map((e) => e.spans),
    [[0], [0]],
  )

  // The old rule, still registered and unchanged: the copy holds the whole span, the original nothing.
  const v1 = attribute(index, copy, { version: 'ol-attr-1' })
  assert.is(v1.paramsVersion, 'ol-attr-1')
  assert.equal(
    v1.entries.map((e) => e.contributionId),
    ['copy-0'],
  )
  assert.is(weightOf(v1, ORIGINAL), 0)
})

test('prepended sentence: the original keeps the copied tokens', () => {
  const copy = `${own[1]} ${paragraph}`
  const r = attribute(indexWith(copy), copy)
  const want = expected(tokens(paragraph), tokens(own[1]))
  assert.is(weightOf(r, ORIGINAL), want.original)
  assert.is(weightOf(r, 'copy-0'), want.copy)
  assert.is(r.entries[0].contributionId, ORIGINAL)
})

test('interleaved sentences: each copied stretch goes to the original, each written one to the copy', () => {
  const parts = [
    own[0],
    sentences.slice(0, 2).join(' '),
    own[1],
    sentences.slice(2, 4).join(' '),
    own[2],
    sentences.slice(4).join(' '),
  ]
  const copy = parts.join(' ')
  const r = attribute(indexWith(copy), copy)
  // The full stop ending the second and third written sentences is followed, as in the original, by the
  // original's next sentence: the original's own 8-token match (". Some languages have garbage
  // collection that regularly") covers it, so it is the original's token, not the copy's.
  const stops = 2
  const copied = tokens(parts[1]) + tokens(parts[3]) + tokens(parts[5]) + stops
  const written = tokens(parts[0]) + tokens(parts[2]) + tokens(parts[4]) - stops
  assert.is(copied + written, r.outputTokens)
  const want = expected(copied, written)
  assert.is(weightOf(r, ORIGINAL), want.original)
  assert.is(weightOf(r, 'copy-0'), want.copy)
  assert.is(r.entries[0].contributionId, ORIGINAL)
})

test('a copy of a copy earns only what neither earlier contribution covers; quoting part of it too', () => {
  const first = `${paragraph} ${own[0]}`
  const second = `${first} ${own[1]}`
  const index = indexWith(first, second)
  const r = attribute(index, second)
  // The paragraph occurs three times now, the first sentence twice, the second once.
  const m = tokens(second)
  assert.is(weightOf(r, ORIGINAL), ppmOf(tokens(paragraph), 3, m))
  assert.is(weightOf(r, 'copy-0'), ppmOf(tokens(own[0]), 2, m))
  assert.is(weightOf(r, 'copy-1'), ppmOf(tokens(own[1]), 1, m))

  // An answer quoting the paragraph's end and the first copy's opening words across the join: the
  // copied tokens stay with the original; the copy earns its five words, no more.
  const tail = sentences.slice(3).join(' ')
  const quote = `As the book puts it, ${tail} In my experience this rule`
  const q = attribute(index, quote)
  assert.is(weightOf(q, ORIGINAL), ppmOf(tokens(tail), 3, tokens(quote)))
  assert.is(weightOf(q, 'copy-0'), ppmOf(5, 2, tokens(quote)))
  assert.is(weightOf(q, 'copy-1'), 0)
})

test('deterministic: the same bits from a rebuilt index', () => {
  const copy = `${own[2]} ${paragraph} ${own[0]}`
  const a = attribute(indexWith(copy), `Quoting: ${copy}`)
  const b = attribute(indexWith(copy), `Quoting: ${copy}`)
  assert.equal(a, b)
  assert.ok(a.entries.every((e) => Number.isInteger(e.weightPpm)))
})

test.run()
