// A Datanet version's manifest: one dag-cbor block listing every accepted contribution in order (each
// version lists the whole dataset, previous versions' contributions first, so a version is self-contained
// and `pins.add(manifestCid)` fetches all of it), with a link to the previous manifest.
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { equalBytes } from '../common/bytes.ts'
import { OpenLedgerError } from '../common/errors.ts'

export const MANIFEST_FORMAT = 1
/** A manifest is one block; bitswap moves blocks of up to 2 MiB, and ~300 bytes per entry fits ~6,000. */
export const MANIFEST_MAX_BYTES = 2 * 1024 * 1024

export class ManifestError extends OpenLedgerError<{
  code: 'MANIFEST_CID_MISMATCH' | 'MANIFEST_INVALID' | 'MANIFEST_TOO_LARGE'
}> {}

export interface ManifestEntry {
  contributor: string // 0x address, checksummed
  contentCid: CID
  bytes: number
  license: string
  createdAt: number // unix seconds
  signature: Uint8Array // EIP-712 Contribution signature, 65 bytes
}

export interface Manifest {
  format: number
  datanetId: string // decimal uint256
  version: number
  previous: CID | null
  contributions: ManifestEntry[]
}

export async function encodeManifest(manifest: Manifest): Promise<{ cid: CID; bytes: Uint8Array }> {
  const bytes = dagCbor.encode(manifest)
  if (bytes.length > MANIFEST_MAX_BYTES) {
    throw new ManifestError(
      { code: 'MANIFEST_TOO_LARGE' },
      `manifest is ${bytes.length} bytes (limit ${MANIFEST_MAX_BYTES})`,
    )
  }
  return { cid: CID.createV1(dagCbor.code, await sha256.digest(bytes)), bytes }
}

/** Decodes a manifest block and checks it against the CID it was fetched under. */
export async function decodeManifest(cid: CID, bytes: Uint8Array): Promise<Manifest> {
  if (bytes.length > MANIFEST_MAX_BYTES)
    throw new ManifestError({ code: 'MANIFEST_TOO_LARGE' }, `manifest block is ${bytes.length} bytes`)
  const digest = await sha256.digest(bytes)
  if (
    cid.code !== dagCbor.code ||
    cid.multihash.code !== sha256.code ||
    !equalBytes(cid.multihash.digest, digest.digest)
  ) {
    throw new ManifestError(
      { code: 'MANIFEST_CID_MISMATCH' },
      `manifest content does not match its CID ${cid}`,
    )
  }
  let value: Manifest
  try {
    value = dagCbor.decode<Manifest>(bytes)
  } catch (err) {
    throw new ManifestError(
      { code: 'MANIFEST_INVALID' },
      `manifest ${cid} is not dag-cbor: ${(err as Error).message}`,
    )
  }
  if (
    value?.format !== MANIFEST_FORMAT ||
    !Array.isArray(value.contributions) ||
    typeof value.datanetId !== 'string'
  ) {
    throw new ManifestError({ code: 'MANIFEST_INVALID' }, `manifest ${cid} has an unknown format`)
  }
  for (const entry of value.contributions) {
    if (
      CID.asCID(entry?.contentCid) === null ||
      typeof entry.contributor !== 'string' ||
      !Number.isSafeInteger(entry.bytes)
    ) {
      throw new ManifestError({ code: 'MANIFEST_INVALID' }, `manifest ${cid} has a malformed entry`)
    }
  }
  return value
}
