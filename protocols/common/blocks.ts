import type { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { equalBytes } from './bytes.ts'
import { OpenLedgerError } from './errors.ts'

export class BlockTooLargeError extends OpenLedgerError<{ code: 'BLOCK_TOO_LARGE'; cid: string }> {}
export class BlockVerifyError extends OpenLedgerError<{
  code: 'BLOCK_CID_MISMATCH' | 'UNSUPPORTED_HASH'
  cid: string
}> {}

type BlockSource = {
  get(
    cid: CID,
    options?: { signal?: AbortSignal; offline?: boolean },
  ): Iterable<Uint8Array> | AsyncIterable<Uint8Array>
}

export type BlockBytes = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | Promise<Uint8Array>

/** Joins a block that a blockstore yields in chunks; stops with BlockTooLargeError past `maxBytes`. */
export async function collectBlock(
  value: BlockBytes,
  maxBytes = Number.POSITIVE_INFINITY,
  cid?: CID,
): Promise<Uint8Array> {
  const v = await value
  if (v instanceof Uint8Array) return v
  const parts: Uint8Array[] = []
  let length = 0
  for await (const part of v as AsyncIterable<Uint8Array>) {
    length += part.length
    if (length > maxBytes) {
      throw new BlockTooLargeError(
        { code: 'BLOCK_TOO_LARGE', cid: String(cid) },
        `block ${cid} is over ${maxBytes} bytes`,
      )
    }
    parts.push(part)
  }
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** Reads one whole block, refusing blocks above `maxBytes`. */
export async function readBlock(
  store: BlockSource,
  cid: CID,
  maxBytes: number,
  options: { signal?: AbortSignal; offline?: boolean } = {},
): Promise<Uint8Array> {
  return collectBlock(store.get(cid, options), maxBytes, cid)
}

/** Checks a block's bytes against its CID's multihash (sha2-256, or identity for inlined blocks). */
export async function verifyBlock(cid: CID, bytes: Uint8Array): Promise<void> {
  const code = cid.multihash.code
  let digest: Uint8Array
  if (code === sha256.code) digest = (await sha256.digest(bytes)).digest
  else if (code === identity.code) digest = identity.digest(bytes).digest
  else
    throw new BlockVerifyError(
      { code: 'UNSUPPORTED_HASH', cid: cid.toString() },
      `block ${cid} uses hash 0x${code.toString(16)}, which this node does not verify`,
    )
  if (!equalBytes(digest, cid.multihash.digest))
    throw new BlockVerifyError(
      { code: 'BLOCK_CID_MISMATCH', cid: cid.toString() },
      `block ${cid} does not match its CID`,
    )
}
