import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { TOKENIZER_VERSION, tokenIdOf, tokenize, tokenizer, tokenizeWithOffsets } from '../index.ts'
import { tokenizeReference } from '../src/tokenizer.ts'

const test = suite('tokenizer')

test('version id and fixed ids (pinned values: a change here needs a new tokenizer version)', () => {
  assert.is(TOKENIZER_VERSION, 'ol-tok-1')
  assert.is(tokenizer.version, TOKENIZER_VERSION)
  assert.equal(Array.from(tokenize('Hello, world!')), [1335831723, 688690635, 933488787, 604802540])
})

test('words and single punctuation marks; whitespace dropped; lower-cased', () => {
  assert.equal(Array.from(tokenize('Hello,  WORLD!\n')), ['hello', ',', 'world', '!'].map(tokenIdOf))
  assert.equal(
    Array.from(tokenize('fn main() { x_1 }')),
    ['fn', 'main', '(', ')', '{', 'x_1', '}'].map(tokenIdOf),
  )
})

test('Unicode normalized: NFKC, composed and decomposed forms, full-width letters, ligatures', () => {
  assert.equal(tokenize('café'), tokenize('cafe\u0301'))
  assert.equal(tokenize('ＡＢＣ ｄｅｆ'), tokenize('abc def'))
  assert.equal(tokenize('ﬁne'), tokenize('fine'))
  assert.equal(tokenize('½'), tokenize('1⁄2'))
  assert.equal(tokenize('Ärger\u00a0über'), tokenize('ärger über'))
})

test('fast ASCII path equals the general rule on random mixed text', () => {
  const alphabet = [
    'a',
    'Z',
    '9',
    '_',
    ' ',
    '\n',
    '\t',
    ',',
    '.',
    '(',
    'é',
    'e\u0301',
    'ß',
    '漢',
    '字',
    '—',
    'ﬁ',
    'Ａ',
    '\u00a0',
    '😀',
    '½',
    'İ',
  ]
  let s = 12345
  for (let trial = 0; trial < 2000; trial++) {
    let text = ''
    const len = trial % 40
    for (let i = 0; i < len; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0
      text += alphabet[s % alphabet.length]
    }
    assert.equal(Array.from(tokenize(text)), tokenizeReference(text).map(tokenIdOf), JSON.stringify(text))
  }
})

test('offsets point into the original text; id 0 is never produced', () => {
  const text = 'Some TEXT, with café and ½ cup.'
  const t = tokenizeWithOffsets(text)
  assert.equal(Array.from(t.ids), Array.from(tokenize(text)))
  const pieces = Array.from(t.starts, (s, i) => text.slice(s, t.ends[i]))
  assert.equal(pieces, ['Some', 'TEXT', ',', 'with', 'café', 'and', '½', '½', '½', 'cup', '.'])
  assert.ok(!t.ids.includes(0))
})

test.run()
