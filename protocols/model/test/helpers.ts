// Test fixtures: small slices of the real corpora carried in testnet/corpora (see its README).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RUST_BOOK_DIR, SHAKESPEARE_FILE } from '../../../testnet/corpora/index.ts'
import type { ModelDocument } from '../train.ts'

/** The first `chars` characters of tiny Shakespeare, as one document. */
export function shakespeare(chars: number): ModelDocument[] {
  const text = readFileSync(SHAKESPEARE_FILE, 'utf8')
  return [{ id: 'tinyshakespeare', text: text.slice(0, chars) }]
}

/** Rust book sections in file-name order, one document each, until `chars` characters are taken. */
export function rustBook(chars: number): ModelDocument[] {
  const dir = RUST_BOOK_DIR
  const docs: ModelDocument[] = []
  let total = 0
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()) {
    if (total >= chars) break
    const text = readFileSync(join(dir, name), 'utf8').slice(0, chars - total)
    docs.push({ id: name, text })
    total += text.length
  }
  return docs
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}
