import type { CID } from 'multiformats/cid'
import { OpenLedgerError } from './errors.ts'

export class BlockTooLargeError extends OpenLedgerError<{ code: 'BLOCK_TOO_LARGE'; cid: string }> {}

type BlockSource = {
  get(
    cid: CID,
    options?: { signal?: AbortSignal; offline?: boolean },
  ): Iterable<Uint8Array> | AsyncIterable<Uint8Array>
}

/** Reads one whole block (blockstores yield it in chunks), refusing blocks above `maxBytes`. */
export async function readBlock(
  store: BlockSource,
  cid: CID,
  maxBytes: number,
  options: { signal?: AbortSignal; offline?: boolean } = {},
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let length = 0
  for await (const chunk of store.get(cid, options)) {
    length += chunk.length
    if (length > maxBytes)
      throw new BlockTooLargeError(
        { code: 'BLOCK_TOO_LARGE', cid: cid.toString() },
        `block ${cid} is over ${maxBytes} bytes`,
      )
    chunks.push(chunk)
  }
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(length)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}
