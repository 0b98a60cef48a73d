// How many bytes a Datanet version may take, derived from its verified manifests. A peer (block sync) or
// the network (bitswap) hands us blocks one by one; each is checked against its CID, but only a byte
// budget stops a DAG that is much larger than the manifest says (a peer padding a sync, or a contribution
// whose content is not what its entry declares) before it fills the disk.
//
// The manifest lists each contribution's byte length (signed by the contributor and checked against the
// content at curation). A contribution's UnixFS DAG holds exactly those data bytes plus links and framing:
// about 64 bytes per chunk (a 36-byte CID, its size and the protobuf tags in the parent, a dag-pb wrapper
// when leaves are not raw) plus 1/174 more per tree level. Allowing 1/16 of the length on top covers
// every chunk size of at least 1 KiB (the node imports 1 MiB chunks, Helia's default is 256 KiB); the
// fixed allowance per contribution covers the root node of a small file. A manifest is counted by its own
// size once it is verified; the root and each verified manifest's `previous` link are the manifests.
import type { CID } from 'multiformats/cid'
import { OpenLedgerError } from '../common/errors.ts'
import type { Manifest } from './manifest.ts'

/** UnixFS links and framing allowed per contribution, as a fraction of its bytes (1/16). */
export const UNIXFS_OVERHEAD_DIVISOR = 16
/** UnixFS framing allowed per contribution on top of the fraction (the root node of a small file). */
export const UNIXFS_OVERHEAD_PER_CONTRIBUTION = 4096

export class ByteBudgetError extends OpenLedgerError<{ code: 'BUDGET_EXCEEDED'; cid: string }> {}

/** The most bytes a contribution of `bytes` declared bytes may take as a UnixFS DAG. */
export function contributionByteBound(bytes: number): number {
  return bytes + Math.ceil(bytes / UNIXFS_OVERHEAD_DIVISOR) + UNIXFS_OVERHEAD_PER_CONTRIBUTION
}

/**
 * The byte budget of the DAG under one manifest. Feed it every verified manifest (`addManifest`), then
 * `charge` each block before storing it: a block past the budget is refused.
 */
export class VersionByteBudget {
  private allowedBytes = 0
  private usedBytes = 0
  private readonly manifests = new Set<string>()
  private readonly contributions = new Set<string>()

  constructor(root: CID) {
    this.manifests.add(root.toString())
  }

  get allowed(): number {
    return this.allowedBytes
  }

  get used(): number {
    return this.usedBytes
  }

  /** Whether the block under `cid` must be a manifest (the root, or a verified manifest's `previous`). */
  expectsManifest(cid: CID): boolean {
    return this.manifests.has(cid.toString())
  }

  /** Adds a verified manifest: its own size, and the bound of every contribution not counted yet. */
  addManifest(bytes: number, manifest: Manifest): void {
    this.allowedBytes += bytes
    for (const entry of manifest.contributions) {
      const key = entry.contentCid.toString()
      if (this.contributions.has(key)) continue
      this.contributions.add(key)
      this.allowedBytes += contributionByteBound(entry.bytes)
    }
    if (manifest.previous) this.manifests.add(manifest.previous.toString())
  }

  /** Counts a block of `bytes` under `cid`; throws BUDGET_EXCEEDED (nothing counted) past the budget. */
  charge(cid: CID, bytes: number): void {
    if (this.usedBytes + bytes > this.allowedBytes) {
      throw new ByteBudgetError(
        { code: 'BUDGET_EXCEEDED', cid: cid.toString() },
        `block ${cid} (${bytes} bytes) passes the version's budget: ${this.usedBytes} of ${this.allowedBytes} bytes used`,
      )
    }
    this.usedBytes += bytes
  }
}
