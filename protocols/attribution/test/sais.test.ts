import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { suffixArray } from '../src/sais.ts'
import { bruteSuffixArray } from './reference.ts'

const test = suite('suffix array (SA-IS)')

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s
  }
}

function check(t: number[], K: number, label: string): void {
  assert.equal(Array.from(suffixArray(t, K)), bruteSuffixArray(t), label)
}

test('empty and tiny inputs', () => {
  check([], 1, 'empty')
  check([0], 1, 'one')
  check([3, 3], 4, 'two equal')
  check([1, 0], 2, 'descending')
})

test('random inputs of many lengths and alphabet sizes equal a brute-force sort', () => {
  const r = rng(7)
  for (let trial = 0; trial < 1500; trial++) {
    const n = r() % 200
    const K = [1, 2, 3, 4, 16, 1000, 40_000][r() % 7]
    const t = Array.from({ length: n }, () => r() % K)
    check(t, K, `trial ${trial}`)
  }
})

test('highly repetitive inputs', () => {
  for (const n of [1, 2, 3, 10, 64, 1000, 5000]) check(new Array(n).fill(0), 1, `run of ${n}`)
  for (const p of [2, 3, 7]) {
    check(
      Array.from({ length: 2000 }, (_, i) => i % p),
      p,
      `period ${p}`,
    )
  }
  // Fibonacci word and Thue-Morse sequence: classic worst cases for suffix sorting.
  let a = [0]
  let b = [0, 1]
  while (b.length < 3000) [a, b] = [b, [...b, ...a]]
  check(b, 2, 'fibonacci')
  check(
    Array.from({ length: 4096 }, (_, i) => popcount(i) & 1),
    2,
    'thue-morse',
  )
  // A random block copied many times, with separators between copies, like copy-cat contributions.
  const r = rng(11)
  const block = Array.from({ length: 50 }, () => 1 + (r() % 5))
  const t: number[] = []
  for (let c = 0; c < 40; c++) t.push(...block, 0)
  check(t, 6, 'copies with separators')
})

function popcount(x: number): number {
  let c = 0
  for (; x; x &= x - 1) c++
  return c
}

test('large random input is sorted (adjacent suffixes checked)', () => {
  const r = rng(3)
  const n = 100_000
  const t = new Uint32Array(n)
  for (let i = 0; i < n; i++) t[i] = r() % 50
  const sa = suffixArray(t, 50)
  const seen = new Uint8Array(n)
  for (const p of sa) seen[p]++
  assert.ok(
    seen.every((v) => v === 1),
    'a permutation',
  )
  for (let i = 1; i < n; i++) {
    let a = sa[i - 1]
    let b = sa[i]
    while (a < n && b < n && t[a] === t[b]) {
      a++
      b++
    }
    assert.ok(a === n || (b < n && t[a] < t[b]), `order at ${i}`)
  }
})

test.run()
