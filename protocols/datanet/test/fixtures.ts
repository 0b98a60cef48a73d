// Test content for replication tests: deterministic bytes, imported in 64 KiB chunks so a few hundred KB
// make multi-block UnixFS DAGs.
import { fixedSize } from 'ipfs-unixfs-importer/chunker'

export const smallChunks = () => ({ rawLeaves: true, chunker: fixedSize({ chunkSize: 64 * 1024 }) })

/** `length` pseudo-random bytes from `seed` (an LCG: the same bytes on every run). */
export function content(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed * 2654435761
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}
