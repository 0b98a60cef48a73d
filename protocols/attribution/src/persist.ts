import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { endianness } from 'node:os'
import { join } from 'node:path'
import { createBLAKE3 } from 'hash-wasm'
import { TEMP_PREFIX, writeAtomic } from '../../common/atomic-file.ts'
import { type AttributionIndex, blockMinima } from './build.ts'
import type { ContributionRef } from './corpus.ts'
import { AttributionError } from './errors.ts'
import { TOKENIZER_VERSION } from './tokenizer.ts'

/**
 * On-disk index, one file `attribution-index.olx` in the Datanet version's directory:
 *
 *   magic "OLATTRIX" (8 bytes) | format version u32 LE | header length u32 LE | header JSON (UTF-8)
 *   | sections, each starting on an 8-byte boundary | BLAKE3-256 of every byte before it (32 bytes)
 *
 * The header names the tokenizer version, the corpus size, the token width (2 or 4 bytes) and each
 * section's [offset, byteLength]: tokens, sa (u32), vocab (u32), starts (u32), refs (JSON
 * [[id, contributor], ...]). Integers are little-endian. The checksum doubles as the index id.
 * Block minima are derived at load time rather than stored.
 */
export const INDEX_FILE = 'attribution-index.olx'
export const INDEX_FORMAT_VERSION = 1
const MAGIC = Buffer.from('OLATTRIX', 'ascii')
const CHECKSUM_BYTES = 32

interface Header {
  formatVersion: number
  tokenizerVersion: string
  n: number
  tokenWidth: 2 | 4
  vocabSize: number
  contributionCount: number
  sections: Record<'tokens' | 'sa' | 'vocab' | 'starts' | 'refs', [number, number]>
}

function assertLittleEndian(): void {
  if (endianness() !== 'LE')
    throw new Error('attribution index files are little-endian; big-endian hosts are unsupported')
}

const align8 = (x: number): number => (x + 7) & ~7

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
}

/**
 * Writes the index into `dir` atomically and durably (temp file, fsync, rename, fsync of the directory) and
 * sets `index.id`. Returns the id. A crash leaves the previous file (or none) and at most a temp file.
 */
export async function saveIndex(index: AttributionIndex, dir: string): Promise<string> {
  assertLittleEndian()
  await mkdir(dir, { recursive: true })
  const refs = Buffer.from(JSON.stringify(index.contributions.map((c) => [c.id, c.contributor])), 'utf8')
  const parts: [keyof Header['sections'], Uint8Array][] = [
    ['tokens', bytesOf(index.tokens)],
    ['sa', bytesOf(index.sa)],
    ['vocab', bytesOf(index.vocab)],
    ['starts', bytesOf(index.starts)],
    ['refs', refs],
  ]
  // The header's length depends on the offsets it lists: lay out with a generous fixed-size estimate.
  const sections = {} as Header['sections']
  const headerFor = (base: number): Buffer => {
    let off = base
    for (const [name, bytes] of parts) {
      sections[name] = [off, bytes.byteLength]
      off = align8(off + bytes.byteLength)
    }
    const header: Header = {
      formatVersion: INDEX_FORMAT_VERSION,
      tokenizerVersion: index.tokenizerVersion,
      n: index.n,
      tokenWidth: index.tokens.BYTES_PER_ELEMENT as 2 | 4,
      vocabSize: index.vocab.length,
      contributionCount: index.contributions.length,
      sections,
    }
    return Buffer.from(JSON.stringify(header), 'utf8')
  }
  let base = align8(16 + headerFor(0).length + 64)
  let header = headerFor(base)
  if (16 + header.length > base) {
    base = align8(16 + header.length + 64)
    header = headerFor(base)
  }
  const prefix = Buffer.alloc(base)
  MAGIC.copy(prefix, 0)
  prefix.writeUInt32LE(INDEX_FORMAT_VERSION, 8)
  prefix.writeUInt32LE(header.length, 12)
  header.copy(prefix, 16)

  const hasher = await createBLAKE3()
  hasher.init()
  let digest: Uint8Array | undefined
  await writeAtomic(join(dir, INDEX_FILE), async (fh) => {
    let pos = 0
    const write = async (bytes: Uint8Array): Promise<void> => {
      // Hash and write in slices so a large section does not need a second copy.
      for (let off = 0; off < bytes.byteLength; off += 1 << 24) {
        const slice = bytes.subarray(off, Math.min(bytes.byteLength, off + (1 << 24)))
        hasher.update(slice)
        let done = 0
        while (done < slice.byteLength) {
          const { bytesWritten } = await fh.write(slice, done, slice.byteLength - done, pos)
          done += bytesWritten
          pos += bytesWritten
        }
      }
    }
    await write(prefix)
    for (const [name, bytes] of parts) {
      await write(bytes)
      const pad = sections[name][0] + bytes.byteLength
      if (align8(pad) > pad) await write(new Uint8Array(align8(pad) - pad))
    }
    digest = hasher.digest('binary')
    await fh.write(digest, 0, digest.byteLength, pos)
  })
  index.id = Buffer.from(digest!).toString('hex')
  return index.id
}

function corrupt(path: string, reason: string): AttributionError {
  return new AttributionError(
    { code: 'INDEX_CORRUPT', path, reason },
    `attribution index ${path} is corrupt: ${reason}`,
  )
}

export interface LoadOptions {
  /** Verify the BLAKE3 checksum of the whole file (default true). */
  readonly verify?: boolean
}

/** Loads the index persisted in `dir`, checking magic, versions, layout and (by default) the checksum. */
export async function loadIndex(dir: string, options: LoadOptions = {}): Promise<AttributionIndex> {
  assertLittleEndian()
  const path = join(dir, INDEX_FILE)
  try {
    await stat(path)
  } catch {
    throw new AttributionError({ code: 'UNKNOWN_INDEX', dir }, `no attribution index in ${dir}`)
  }
  const file = await readFile(path)
  // Typed-array views need aligned offsets; readFile's buffer is normally its own allocation at offset 0.
  const buf = file.byteOffset % 8 === 0 ? file : Buffer.from(new Uint8Array(file))
  if (buf.length < 16 + CHECKSUM_BYTES || !buf.subarray(0, 8).equals(MAGIC)) throw corrupt(path, 'bad magic')
  const formatVersion = buf.readUInt32LE(8)
  if (formatVersion !== INDEX_FORMAT_VERSION) {
    throw new AttributionError(
      {
        code: 'INDEX_VERSION_MISMATCH',
        path,
        found: `format ${formatVersion}`,
        expected: `format ${INDEX_FORMAT_VERSION}`,
      },
      `attribution index ${path} has format ${formatVersion}, this node reads format ${INDEX_FORMAT_VERSION}`,
    )
  }
  const body = buf.length - CHECKSUM_BYTES
  let id = buf.subarray(body).toString('hex')
  if (options.verify !== false) {
    const hasher = await createBLAKE3()
    hasher.init()
    hasher.update(buf.subarray(0, body))
    const digest = hasher.digest('hex')
    if (digest !== id) throw corrupt(path, 'checksum mismatch')
    id = digest
  }
  const headerLen = buf.readUInt32LE(12)
  if (16 + headerLen > body) throw corrupt(path, 'header length out of range')
  let header: Header
  try {
    header = JSON.parse(buf.subarray(16, 16 + headerLen).toString('utf8'))
  } catch {
    throw corrupt(path, 'header is not JSON')
  }
  if (header.tokenizerVersion !== TOKENIZER_VERSION) {
    throw new AttributionError(
      {
        code: 'INDEX_VERSION_MISMATCH',
        path,
        found: String(header.tokenizerVersion),
        expected: TOKENIZER_VERSION,
      },
      `attribution index ${path} uses tokenizer ${header.tokenizerVersion}, this node uses ${TOKENIZER_VERSION}`,
    )
  }
  const n = header.n
  const width = header.tokenWidth
  if (!Number.isSafeInteger(n) || n < 0 || (width !== 2 && width !== 4))
    throw corrupt(path, 'bad header fields')
  const view = (name: keyof Header['sections'], elemBytes: number, expectedLength?: number): Uint8Array => {
    const s = header.sections?.[name]
    if (!Array.isArray(s) || s.length !== 2) throw corrupt(path, `missing section ${name}`)
    const [off, len] = s
    if (
      !Number.isSafeInteger(off) ||
      !Number.isSafeInteger(len) ||
      off < 16 + headerLen ||
      off + len > body
    ) {
      throw corrupt(path, `section ${name} out of range`)
    }
    if (off % 8 !== 0 || len % elemBytes !== 0) throw corrupt(path, `section ${name} misaligned`)
    if (expectedLength !== undefined && len !== expectedLength * elemBytes) {
      throw corrupt(path, `section ${name} has the wrong length`)
    }
    return buf.subarray(off, off + len)
  }
  const tokensBytes = view('tokens', width, n)
  const saBytes = view('sa', 4, n)
  const vocabBytes = view('vocab', 4, header.vocabSize)
  const startsBytes = view('starts', 4, header.contributionCount + 1)
  const refsBytes = view('refs', 1)
  const at = (b: Uint8Array) => [b.buffer, b.byteOffset, b.byteLength / 4] as const
  const tokens =
    width === 2
      ? new Uint16Array(tokensBytes.buffer, tokensBytes.byteOffset, n)
      : new Uint32Array(tokensBytes.buffer, tokensBytes.byteOffset, n)
  const sa = new Uint32Array(...at(saBytes))
  const vocab = new Uint32Array(...at(vocabBytes))
  const starts = new Uint32Array(...at(startsBytes))
  let contributions: ContributionRef[]
  try {
    const refs = JSON.parse(Buffer.from(refsBytes).toString('utf8')) as [string, string][]
    contributions = refs.map(([cid, contributor]) => ({ id: cid, contributor }))
  } catch {
    throw corrupt(path, 'contribution table is not JSON')
  }
  if (contributions.length !== header.contributionCount || starts[contributions.length] !== n) {
    throw corrupt(path, 'contribution table does not match the corpus')
  }
  const { blockMin, superMin } = blockMinima(sa)
  return {
    tokenizerVersion: header.tokenizerVersion,
    n,
    tokens,
    sa,
    vocab,
    starts,
    contributions,
    blockMin,
    superMin,
    id,
  }
}

/** Temp files of interrupted saves older than this are dead (a live save touches its file continuously). */
const STALE_TEMP_MS = 60 * 60_000

/**
 * A cache of one index in `dir`: loads it, verifying the whole-file checksum, and rebuilds it with `build`
 * when it is missing, truncated, corrupt or of another format or tokenizer version. A damaged file is
 * never trusted and never fatal; an interrupted build (which saveIndex leaves as a temp file at most) is
 * the same as no build. `built` says which happened.
 */
export async function loadOrBuildIndex(
  dir: string,
  build: () => AttributionIndex | Promise<AttributionIndex>,
): Promise<{ index: AttributionIndex; built: boolean }> {
  try {
    return { index: await loadIndex(dir), built: false }
  } catch (err) {
    const code = err instanceof AttributionError ? err.code : undefined
    if (code !== 'UNKNOWN_INDEX' && code !== 'INDEX_CORRUPT' && code !== 'INDEX_VERSION_MISMATCH') throw err
  }
  await removeStaleTemps(dir)
  const index = await build()
  await saveIndex(index, dir)
  return { index, built: true }
}

async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return
  }
  const now = Date.now()
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue
    const path = join(dir, name)
    const info = await stat(path).catch(() => undefined)
    if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true })
  }
}
