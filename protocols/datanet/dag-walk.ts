// Walking a Datanet version's DAG: the manifest, the previous manifests, every contribution's UnixFS
// blocks. Every block is checked against its CID, and, when a byte budget is given (version-budget.ts),
// counted against it before its links are followed, so a DAG larger than its manifests allow stops the
// walk. Block sync (both ends) and the replicator's bitswap walk share `admitBlock`.
import type { AbortOptions } from '@libp2p/interface'
import { createUnsafe } from 'multiformats/block'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { verifyBlock } from '../common/blocks.ts'
import { mapConcurrent } from '../common/iterables.ts'
import { decodeManifest } from './manifest.ts'
import type { VersionByteBudget } from './version-budget.ts'

export interface CodecSource {
  getCodec(
    code: number,
  ):
    | Promise<{ decode(bytes: Uint8Array): unknown; code: number }>
    | { decode(bytes: Uint8Array): unknown; code: number }
}

/** The CIDs a block links to (none for raw leaves). */
export async function linksOf(cid: CID, bytes: Uint8Array, codecs: CodecSource): Promise<CID[]> {
  if (cid.code === raw.code) return []
  const codec = await codecs.getCodec(cid.code)
  return [...createUnsafe({ cid, bytes, codec: codec as never }).links()].map(([, link]) => link)
}

/**
 * Counts a block against the budget: a manifest's format is checked (and its allowance added) where the
 * budget expects a manifest, then the block's size is charged. Throws ManifestError or ByteBudgetError.
 */
export async function accountBlock(cid: CID, bytes: Uint8Array, budget: VersionByteBudget): Promise<void> {
  if (budget.expectsManifest(cid)) budget.addManifest(bytes.length, await decodeManifest(cid, bytes))
  budget.charge(cid, bytes.length)
}

/**
 * Checks a block before anything is done with it: its bytes against its CID, then (with a budget)
 * `accountBlock`. Returns the block's links. Throws BlockVerifyError, ManifestError or ByteBudgetError.
 */
export async function admitBlock(
  cid: CID,
  bytes: Uint8Array,
  codecs: CodecSource,
  budget?: VersionByteBudget,
): Promise<CID[]> {
  await verifyBlock(cid, bytes)
  if (budget) await accountBlock(cid, bytes, budget)
  return linksOf(cid, bytes, codecs)
}

export interface DagWalkSource extends CodecSource {
  /** one whole block; offline: only from the local store */
  getBlock(cid: CID, options: AbortOptions & { offline?: boolean }): Promise<Uint8Array>
  has(cid: CID, options: AbortOptions): Promise<boolean>
}

export interface DagWalkOptions extends AbortOptions {
  /** true: count blocks not held here as missing instead of fetching them */
  offline: boolean
  /** blocks read at once */
  concurrency: number
  budget?: VersionByteBudget
}

export interface DagWalkResult {
  /** blocks held (or fetched), verified, breadth-first */
  blocks: CID[]
  bytes: number
  /** blocks linked from a held block but not held here (offline walks) */
  missing: number
  /** distinct blocks known: held plus missing */
  known: number
}

/** Breadth-first walk of the DAGs under `roots`, `concurrency` blocks at a time. */
export async function walkDag(
  roots: CID[],
  source: DagWalkSource,
  options: DagWalkOptions,
): Promise<DagWalkResult> {
  const seen = new Set<string>()
  const order: CID[] = []
  let bytes = 0
  let missing = 0
  let frontier = roots.filter((c) => {
    const k = c.toString()
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
  while (frontier.length > 0) {
    const next: CID[] = []
    await mapConcurrent(frontier, options.concurrency, async (cid) => {
      if (options.offline && !(await source.has(cid, { signal: options.signal }))) {
        missing++
        return
      }
      const block = await source.getBlock(cid, { signal: options.signal, offline: options.offline })
      const links = await admitBlock(cid, block, source, options.budget)
      order.push(cid)
      bytes += block.length
      for (const link of links) {
        const k = link.toString()
        if (seen.has(k)) continue
        seen.add(k)
        next.push(link)
      }
    })
    frontier = next
  }
  return { blocks: order, bytes, missing, known: seen.size }
}
