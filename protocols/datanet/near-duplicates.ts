// Exact and near-duplicate detection for text contributions. Exact: the CID, and a hash of the normalized
// text (Unicode NFKC, case-folded, whitespace collapsed) so re-encoded or re-spaced copies are caught.
// Near: MinHash over word 5-shingles (Broder 1997); the fraction of equal minima estimates the Jaccard
// similarity of the shingle sets with standard error ~1/sqrt(128) ≈ 0.09 at 128 hashes.
import { createHash } from 'node:crypto'

export const MINHASH_SIZE = 128
export const SHINGLE_WORDS = 5

export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim()
}

export function normalizedTextHash(text: string): string {
  return createHash('sha256').update(normalizeText(text)).digest('hex')
}

/** Strict UTF-8 decoding: invalid byte sequences throw instead of becoming U+FFFD. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

// Each shingle is hashed to 32 bits (FNV-1a, then a murmur3 finalizer to mix), and permuted by
// MINHASH_SIZE seeded affine maps x -> (a·x + b) mod 2^32 with odd a: each is a bijection, and the
// seeds are fixed so every node computes the same signatures.
const COEFFS: [number, number][] = (() => {
  const out: [number, number][] = []
  let seed = createHash('sha256').update('openledger-minhash-v1').digest()
  for (let i = 0; i < MINHASH_SIZE; i++) {
    seed = createHash('sha256').update(seed).digest()
    out.push([(seed.readUInt32BE(0) | 1) >>> 0, seed.readUInt32BE(4)])
  }
  return out
})()

function mix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return mix(h >>> 0)
}

/** Returns the MinHash signature of `text`'s word shingles (empty text: all 0xffffffff). */
export function minhash(text: string): Uint32Array {
  const words = normalizeText(text).split(' ').filter(Boolean)
  const shingles = new Set<number>()
  if (words.length < SHINGLE_WORDS) shingles.add(fnv1a(words.join(' ')))
  for (let i = 0; i + SHINGLE_WORDS <= words.length; i++)
    shingles.add(fnv1a(words.slice(i, i + SHINGLE_WORDS).join(' ')))
  const sig = new Uint32Array(MINHASH_SIZE).fill(0xffffffff)
  for (const x of shingles) {
    for (let i = 0; i < MINHASH_SIZE; i++) {
      const [a, b] = COEFFS[i]!
      const v = mix((Math.imul(a, x) + b) >>> 0)
      if (v < sig[i]!) sig[i] = v
    }
  }
  return sig
}

export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  let equal = 0
  for (let i = 0; i < MINHASH_SIZE; i++) if (a[i] === b[i]) equal++
  return equal / MINHASH_SIZE
}

export function encodeSignature(sig: Uint32Array): string {
  return Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).toString('base64')
}

export function decodeSignature(text: string): Uint32Array {
  const buf = Buffer.from(text, 'base64')
  return new Uint32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength))
}
