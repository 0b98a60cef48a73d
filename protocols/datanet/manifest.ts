// A Datanet version's manifest: one dag-cbor block listing every accepted contribution in order (each
// version lists the whole dataset, previous versions' contributions first, so a version is self-contained
// and `pins.add(manifestCid)` fetches all of it), with a link to the previous manifest.
//
// Format 2 carries each entry's `name`: with it an entry holds every field of the signed EIP-712
// Contribution (the Datanet id is the manifest's), so anyone can re-verify each signature from the manifest
// alone. Format 1 (before names were signed) is still read, so versions published then stay readable.
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { bytesToHex, getAddress } from 'viem'
import { equalBytes } from '../common/bytes.ts'
import { OpenLedgerError } from '../common/errors.ts'
import type { Contribution } from './contribution.ts'

export const MANIFEST_FORMAT = 2
/** Formats this node reads. */
export const MANIFEST_FORMATS_READ: readonly number[] = [1, 2]
/** A manifest is one block; bitswap moves blocks of up to 2 MiB, and ~300 bytes per entry fits ~6,000. */
export const MANIFEST_MAX_BYTES = 2 * 1024 * 1024

export class ManifestError extends OpenLedgerError<{
  code: 'MANIFEST_CID_MISMATCH' | 'MANIFEST_INVALID' | 'MANIFEST_TOO_LARGE'
}> {}

export interface ManifestEntry {
  contributor: string // 0x address, checksummed
  contentCid: CID
  /** the signed file name; absent only in format-1 manifests */
  name?: string
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

/**
 * The signed Contribution an entry of a format-2 manifest stands for: pass it to `verifyContribution`
 * (contribution.ts) to check the contributor's signature from the manifest alone.
 */
export function entryContribution(manifest: Pick<Manifest, 'datanetId'>, entry: ManifestEntry): Contribution {
  if (entry.name === undefined)
    throw new ManifestError(
      { code: 'MANIFEST_INVALID' },
      'a format-1 manifest entry has no name: its signature cannot be checked',
    )
  return {
    datanetId: BigInt(manifest.datanetId),
    contentCid: entry.contentCid.toString(),
    name: entry.name,
    bytes: entry.bytes,
    license: entry.license,
    contributor: getAddress(entry.contributor),
    createdAt: entry.createdAt,
    signature: bytesToHex(entry.signature),
  }
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
    !MANIFEST_FORMATS_READ.includes(value?.format) ||
    !Array.isArray(value.contributions) ||
    typeof value.datanetId !== 'string'
  ) {
    throw new ManifestError({ code: 'MANIFEST_INVALID' }, `manifest ${cid} has an unknown format`)
  }
  for (const entry of value.contributions) {
    if (
      CID.asCID(entry?.contentCid) === null ||
      typeof entry.contributor !== 'string' ||
      !Number.isSafeInteger(entry.bytes) ||
      (value.format >= 2 && typeof entry.name !== 'string')
    ) {
      throw new ManifestError({ code: 'MANIFEST_INVALID' }, `manifest ${cid} has a malformed entry`)
    }
  }
  return value
}
