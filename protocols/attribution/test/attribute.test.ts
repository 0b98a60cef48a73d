import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  AttributionError,
  attribute,
  buildCorpus,
  buildIndex,
  corpusFromTokens,
  DEFAULT_PARAMS,
  findInterval,
  indexBytesPerToken,
  PARAMS_V1,
  PARAMS_V2,
  PPM,
} from '../index.ts'
import { toDense } from '../src/search.ts'
import { bruteAttribute, bruteOccurrences, bruteSuffixArray } from './reference.ts'

const test = suite('span attribution')

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s
  }
}

const addr = (i: number) => `0x${i.toString(16).padStart(40, '0')}`

/** A random corpus over a small alphabet of large ids (so matches are long and ids exercise the vocab). */
function randomCorpus(r: () => number, alphabet: number[]) {
  const count = 1 + (r() % 8)
  const list = Array.from({ length: count }, (_, k) => {
    const len = r() % 40
    return {
      id: `c${k}`,
      contributor: addr(1 + (r() % 3)),
      tokens: Uint32Array.from({ length: len }, () => alphabet[r() % alphabet.length]),
    }
  })
  // Copy-cats: later contributions that repeat an earlier one's slice.
  if (count > 2 && list[0].tokens.length > 10) {
    list[count - 1].tokens = Uint32Array.from([
      ...list[count - 1].tokens.slice(0, 3),
      ...list[0].tokens.slice(2, 12),
    ])
  }
  return corpusFromTokens(list)
}

function randomQuery(r: () => number, tokens: Uint32Array, alphabet: number[]): number[] {
  const q: number[] = []
  const len = r() % 60
  while (q.length < len) {
    if (r() % 3 === 0 || tokens.length < 2)
      q.push(r() % 5 === 0 ? 999_999_999 : alphabet[r() % alphabet.length])
    else {
      const from = r() % tokens.length
      const l = 1 + (r() % 15)
      for (let i = from; i < Math.min(tokens.length, from + l); i++) if (tokens[i] !== 0) q.push(tokens[i])
    }
  }
  return q
}

test('suffix array, counts, spans and weights equal the brute-force reference on random corpora', () => {
  const r = rng(42)
  for (let trial = 0; trial < 300; trial++) {
    const alphabet = Array.from({ length: 2 + (r() % 5) }, () => 1 + (r() % 0xfffffffe))
    const corpus = randomCorpus(r, alphabet)
    const index = buildIndex(corpus)
    // Suffix array over dense ids sorts like the tokenizer ids.
    assert.equal(Array.from(index.sa), bruteSuffixArray(corpus.tokens), `sa ${trial}`)
    const knobs = {
      minSpan: 1 + (r() % 4),
      rarityHalfCount: 1 + (r() % 8),
      topK: 1 + (r() % 5),
      minEntryPpm: [0, 1000, 50_000][r() % 3],
      maxListedOccurrences: 1_000_000,
    }
    for (let k = 0; k < 5; k++) {
      const q = randomQuery(r, corpus.tokens, alphabet)
      // Counts of random substrings of the query.
      const dense = toDense(index, q)
      for (let i = 0; i + 3 <= q.length; i += 3) {
        if (dense.subarray(i, i + 3).some((d) => d <= 0)) continue
        const [lo, hi] = findInterval(index, dense, i, 3)
        assert.is(hi - lo, bruteOccurrences(corpus.tokens, q.slice(i, i + 3)).length, 'count')
      }
      // Both registered rules: ol-attr-1 (span ownership) stays reproducible beside ol-attr-2.
      for (const base of [PARAMS_V1, PARAMS_V2]) {
        const params = { ...knobs, version: base.version }
        const got = attribute(index, q, params)
        const want = bruteAttribute(corpus, q, { ...knobs, ownership: base.ownership })
        const label = `trial ${trial}.${k} ${base.version}`
        assert.equal(
          got.spans.map((s) => [s.start, s.end, s.count, s.rarity, s.ownerIndex, s.heldTokens]),
          want.spans.map((s) => [s.start, s.end, s.count, s.rarity, s.owner, s.held]),
          `spans ${label}`,
        )
        assert.equal(
          got.spans.map((s) => s.contributions),
          want.spans.map((s) => s.contributions.map((o) => corpus.contributions[o].id)),
          `span contributions ${label}`,
        )
        assert.equal(
          got.entries.map((e) => [e.contributionIndex, e.weightPpm, e.spans]),
          want.entries.map((e) => [e.owner, e.weight, e.spans]),
          `entries ${label}`,
        )
        assert.is(got.unattributedPpm, want.unattributedPpm, `remainder ${label}`)
        const sum = got.entries.reduce((s, e) => s + e.weightPpm, 0)
        assert.ok(sum <= PPM && got.entries.every((e) => Number.isInteger(e.weightPpm)))
      }
    }
  }
})

const A = addr(0xa)
const B = addr(0xb)
const C = addr(0xc)
const passage =
  'Ownership is a set of rules that govern how a Rust program manages memory while it runs, and the borrow checker enforces them at compile time.'

test('a copy-cat earns nothing for the text it copied; the original holds it', () => {
  const index = buildIndex(
    buildCorpus([
      { id: 'orig', contributor: A, text: `Chapter four. ${passage} More original words follow here.` },
      {
        id: 'other',
        contributor: B,
        text: 'Completely unrelated text about gardening tomatoes in a small greenhouse.',
      },
      { id: 'copycat', contributor: C, text: `My own intro. ${passage}` },
    ]),
  )
  const r = attribute(index, `As the book says, ${passage}`)
  assert.is(r.entries.length, 1)
  assert.is(r.entries[0].contributionId, 'orig')
  assert.ok(r.entries[0].weightPpm > 700_000, `weight ${r.entries[0].weightPpm}`)
  assert.equal(r.spans[0].contributions, ['orig', 'copycat'])
  assert.is(r.spans[0].count, 2)
})

test('boilerplate that occurs everywhere weighs almost nothing', () => {
  const boiler =
    'This contribution is licensed under the Creative Commons Attribution 4.0 International license.'
  const list = Array.from({ length: 200 }, (_, i) => ({
    id: `c${i}`,
    contributor: addr(i + 1),
    text: `${boiler} Entry number ${i} talks about topic ${i * 7} in its own words.`,
  }))
  const index = buildIndex(buildCorpus(list))
  const r = attribute(
    index,
    `${boiler} And then something new entirely, written fresh for this answer today.`,
  )
  const total = r.entries.reduce((s, e) => s + e.weightPpm, 0) + r.foldedPpm
  assert.ok(total < 5_000, `boilerplate weight ${total}`)
  assert.is(r.spans.length, 1)
  assert.is(r.spans[0].count, 200)
  assert.is(r.spans[0].contributions, null, 'too many occurrences to list')
})

test('several Datanet versions: a contribution repeated in a later version keeps its first position', () => {
  const v1 = [{ id: 'x', contributor: A, text: passage }]
  const v2 = [
    { id: 'x', contributor: A, text: passage },
    { id: 'y', contributor: B, text: 'Some other text entirely for the second version of the datanet here.' },
  ]
  const corpus = buildCorpus([v1, v2])
  assert.equal(
    corpus.contributions.map((c) => c.id),
    ['x', 'y'],
  )
  const r = attribute(buildIndex(corpus), passage)
  assert.is(r.entries[0].contributionId, 'x')
})

test('deterministic: rebuilt index and repeated queries give identical results; versioned params', () => {
  const list = [
    { id: 'a', contributor: A, text: passage },
    { id: 'b', contributor: B, text: `${passage} again` },
  ]
  const r1 = attribute(buildIndex(buildCorpus(list)), `x ${passage} y`)
  const r2 = attribute(buildIndex(buildCorpus(list)), `x ${passage} y`)
  assert.equal(r1, r2)
  assert.is(r1.paramsVersion, DEFAULT_PARAMS.version)
  assert.is(DEFAULT_PARAMS, PARAMS_V2)
  assert.is(
    attribute(buildIndex(buildCorpus(list)), passage, { version: 'ol-attr-1' }).paramsVersion,
    'ol-attr-1',
  )
  const custom = attribute(buildIndex(buildCorpus(list)), passage, { minSpan: 5 })
  assert.is(
    custom.paramsVersion,
    'custom:ol-attr-2:minSpan=5,rarityHalfCount=8,topK=10,minEntryPpm=5000,maxOutputTokens=65536,maxListedOccurrences=64,ownership=token',
  )
  // The rule is part of the set: ol-attr-2 with span ownership is not ol-attr-2.
  const v1Rule = attribute(buildIndex(buildCorpus(list)), passage, { ownership: 'span' })
  assert.match(v1Rule.paramsVersion, /^custom:ol-attr-2:.*,ownership=span$/)
  assert.match(
    attribute(buildIndex(buildCorpus(list)), passage, { version: 'ol-attr-1', topK: 3 }).paramsVersion,
    /^custom:ol-attr-1:minSpan=8,rarityHalfCount=8,topK=3,.*,ownership=span$/,
  )
})

test('typed errors: input too large, bad params, bad contributions', () => {
  const index = buildIndex(buildCorpus([{ id: 'a', contributor: A, text: passage }]))
  try {
    attribute(index, new Uint32Array(10), { maxOutputTokens: 5 })
    assert.unreachable()
  } catch (err) {
    assert.instance(err, AttributionError)
    assert.is((err as AttributionError).code, 'INPUT_TOO_LARGE')
  }
  assert.throws(
    () => attribute(index, 'x', { minSpan: 0 }),
    (e: AttributionError) => e.code === 'INVALID_PARAMS',
  )
  assert.throws(
    () => attribute(index, 'x', { ownership: 'shared' as 'span' }),
    (e: AttributionError) => e.code === 'INVALID_PARAMS',
  )
  assert.throws(
    () => buildCorpus([{ id: 'a', contributor: 'not-an-address', text: '' }]),
    (e: AttributionError) => e.code === 'INVALID_CONTRIBUTION',
  )
})

test('empty output and empty corpus', () => {
  const empty = buildIndex(buildCorpus([]))
  assert.is(attribute(empty, passage).unattributedPpm, PPM)
  const index = buildIndex(buildCorpus([{ id: 'a', contributor: A, text: passage }]))
  const r = attribute(index, '')
  assert.is(r.unattributedPpm, PPM)
  assert.is(r.entries.length, 0)
})

test('memory: at most 9 bytes per token', () => {
  const r = rng(5)
  const list = Array.from({ length: 50 }, (_, k) => ({
    id: `c${k}`,
    contributor: A,
    tokens: Uint32Array.from({ length: 2000 }, () => 1 + (r() % 30_000)),
  }))
  const bpt = indexBytesPerToken(buildIndex(corpusFromTokens(list)))
  assert.ok(bpt <= 9, `bytes per token ${bpt}`)
})

test.run()
