// Publishing a Datanet version: the manifest (the previous version's contributions, then the ones accepted
// since, in acceptance order) goes into Helia, its contributions root and CID go on chain.
//
// Two publishes of one Datanet never race: on one node they take turns (a lock per Datanet), so the second
// sees the first's version and answers NOTHING_TO_PUBLISH when nothing new was accepted; across nodes (two
// curators publishing at once) the chain call carries the version number the manifest was built for, and
// the contract refuses the later one with VERSION_CONFLICT. Either way no two versions list the same
// contributions as new.
import type { CID } from 'multiformats/cid'
import { CID as CIDs } from 'multiformats/cid'
import { type Address, type Hex, hexToBytes } from 'viem'
import { readBlock } from '../common/blocks.ts'
import { hasCode } from '../common/errors.ts'
import { drain } from '../common/iterables.ts'
import { KeyedLock } from '../common/keyed-lock.ts'
import type { ContributionRecord, ContributionRecords } from './contribution-records.ts'
import type { DatanetDirectory, DatanetRegistryPort } from './datanet-directory.ts'
import { FETCH_TIMEOUT_MS } from './datanet-directory.ts'
import { DatanetServiceError } from './errors.ts'
import {
  decodeManifest,
  encodeManifest,
  MANIFEST_FORMAT,
  MANIFEST_MAX_BYTES,
  type Manifest,
  type ManifestEntry,
} from './manifest.ts'
import type { DatanetVersion } from './registry.ts'

export interface PublishedVersion {
  version: number
  manifestCid: string
  contributionsRoot: Hex
  count: number
}

export interface PublisherComponents {
  directory: Pick<DatanetDirectory, 'getDatanet' | 'isCurator'>
  registry: Pick<DatanetRegistryPort, 'getVersion' | 'publishVersion'>
  records: ContributionRecords
  blockstore: {
    get(cid: CID, options?: { signal?: AbortSignal }): Iterable<Uint8Array> | AsyncIterable<Uint8Array>
    put(cid: CID, bytes: Uint8Array): Promise<CID> | CID
  }
  pins: { add(cid: CID, options?: { signal?: AbortSignal }): AsyncIterable<CID> }
  contributionsRoot(entries: ManifestEntry[]): Promise<Hex>
  /** Announces a CID on the DHT in the background. */
  provide(cid: CID): void
  account: { address: Address }
}

export class Publisher {
  private readonly lock = new KeyedLock()

  constructor(private readonly c: PublisherComponents) {}

  version(datanetId: bigint, version: number): Promise<DatanetVersion> {
    return this.c.registry.getVersion(datanetId, version)
  }

  async manifest(manifestCid: string, signal = AbortSignal.timeout(FETCH_TIMEOUT_MS)): Promise<Manifest> {
    const cid = CIDs.parse(manifestCid)
    return decodeManifest(cid, await readBlock(this.c.blockstore, cid, MANIFEST_MAX_BYTES, { signal }))
  }

  /** Builds the next version and records it on chain; one publish per Datanet at a time on this node. */
  publish(datanetId: bigint): Promise<PublishedVersion> {
    return this.lock.run(datanetId.toString(), () => this.publishLocked(datanetId))
  }

  private async publishLocked(datanetId: bigint): Promise<PublishedVersion> {
    if (!(await this.c.directory.isCurator(datanetId))) {
      throw new DatanetServiceError(
        { code: 'NOT_CURATOR' },
        `this node's account ${this.c.account.address} is not the owner or a curator of Datanet ${datanetId}`,
      )
    }
    const info = await this.c.directory.getDatanet(datanetId)
    const previous = info.versionCount > 0 ? await this.version(datanetId, info.versionCount) : undefined
    const previousManifest = previous ? await this.manifest(previous.manifestCid) : undefined
    const listed = new Set(previousManifest?.contributions.map((e) => e.contentCid.toString()))
    const fresh = (await this.c.records.list(datanetId, 'accepted'))
      .filter((r) => !listed.has(r.contentCid))
      .sort((a, b) => (a.acceptSeq ?? 0) - (b.acceptSeq ?? 0))
    if (fresh.length === 0)
      throw new DatanetServiceError(
        { code: 'NOTHING_TO_PUBLISH' },
        `no accepted contributions since version ${info.versionCount}`,
      )
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      datanetId: datanetId.toString(),
      version: info.versionCount + 1,
      previous: previous ? CIDs.parse(previous.manifestCid) : null,
      contributions: [...(previousManifest?.contributions ?? []), ...fresh.map(manifestEntry)],
    }
    const { cid, bytes } = await encodeManifest(manifest)
    await this.c.blockstore.put(cid, bytes)
    await drain(this.c.pins.add(cid, { signal: AbortSignal.timeout(5 * FETCH_TIMEOUT_MS) }))
    const contributionsRoot = await this.c.contributionsRoot(manifest.contributions)
    const version = await this.c.registry
      .publishVersion(datanetId, {
        expectedVersion: manifest.version,
        manifestCid: cid.toString(),
        contributionsRoot,
        count: manifest.contributions.length,
      })
      .catch((err) => {
        if (hasCode(err, 'VERSION_CONFLICT'))
          throw new DatanetServiceError(
            { code: 'VERSION_CONFLICT' },
            `someone published version ${manifest.version} of Datanet ${datanetId} first; publish again to build on it`,
          )
        throw err
      })
    for (const r of fresh) await this.c.records.put({ ...r, publishedIn: version })
    this.c.provide(cid)
    return { version, manifestCid: cid.toString(), contributionsRoot, count: manifest.contributions.length }
  }
}

/** A record as a manifest entry: every signed field, so the entry's signature verifies from the manifest. */
export function manifestEntry(r: ContributionRecord): ManifestEntry {
  return {
    contributor: r.contributor,
    contentCid: CIDs.parse(r.contentCid),
    name: r.name,
    bytes: r.bytes,
    license: r.license,
    createdAt: r.createdAt,
    signature: hexToBytes(r.signature),
  }
}
