// The Datanet service: the one object the node's API and CLI talk to. It creates Datanets, signs and
// gossips this node's contributions, and hands the rest to the parts that do the work:
//   datanet-directory.ts  a Datanet's chain record, metadata and rules, curators
//   curator.ts            received contributions: bounded curation queue, rules, human decisions
//   publisher.ts          versions: manifest, contributions root, chain call (one publish at a time)
//   contribution-records.ts  what is stored about each contribution
// Storage, chain and network arrive as components.
import * as dagCbor from '@ipld/dag-cbor'
import type { Startable } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Address, Hex, TypedDataDomain } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { type GossipTopic, GossipValidationError } from '../common/gossip.ts'
import { drain } from '../common/iterables.ts'
import type { KeyValueStore } from '../common/store.ts'
import {
  CONTRIBUTION_MAX_BYTES,
  CONTRIBUTIONS_TOPIC,
  type Contribution,
  ContributionFormatError,
  decodeContribution,
  encodeContribution,
  signContribution,
  verifyContribution,
} from './contribution.ts'
import {
  type ContributionRecord,
  ContributionRecords,
  type ContributionStatus,
} from './contribution-records.ts'
import { type CurationResult, checkContent } from './curation.ts'
import { Curator, type CuratorOptions } from './curator.ts'
import { DatanetDirectory, type DatanetRegistryPort, FETCH_TIMEOUT_MS } from './datanet-directory.ts'
import { DatanetServiceError } from './errors.ts'
import { unixfsImportOptions } from './import-options.ts'
import type { Manifest, ManifestEntry } from './manifest.ts'
import { type PublishedVersion, Publisher } from './publisher.ts'
import type { DatanetInfo, DatanetVersion } from './registry.ts'
import { type DatanetMetadata, metadataSchema } from './rules.ts'

export type { ContributionRecord, ContributionStatus } from './contribution-records.ts'
export type { DatanetRegistryPort } from './datanet-directory.ts'
export { FETCH_TIMEOUT_MS, METADATA_MAX_BYTES } from './datanet-directory.ts'

type BlockGet = { signal?: AbortSignal; offline?: boolean }
export interface DatanetServiceComponents {
  blockstore: {
    get(cid: CID, options?: BlockGet): Iterable<Uint8Array> | AsyncIterable<Uint8Array>
    put(cid: CID, bytes: Uint8Array): Promise<CID> | CID
    has(cid: CID, options?: { signal?: AbortSignal }): Promise<boolean> | boolean
  }
  unixfs: {
    addBytes(bytes: Uint8Array, options?: ReturnType<typeof unixfsImportOptions>): Promise<CID>
    cat(cid: CID, options?: { signal?: AbortSignal; length?: number }): AsyncIterable<Uint8Array>
  }
  pins: {
    add(cid: CID, options?: { signal?: AbortSignal }): AsyncIterable<CID>
    isPinned(cid: CID): Promise<boolean>
  }
  routing: { provide(cid: CID, options?: { signal?: AbortSignal }): Promise<void> }
  registry: DatanetRegistryPort
  contributionsRoot(entries: ManifestEntry[]): Promise<Hex>
  account: LocalAccount
  domain: TypedDataDomain
  publish(topic: string, data: Uint8Array): Promise<number>
  store: KeyValueStore<string, ContributionRecord>
  log: {
    info(o: object, m?: string): void
    warn(o: object, m?: string): void
    debug(o: object, m?: string): void
  }
  now?: () => number
}

export class DatanetService implements Startable {
  private readonly c: DatanetServiceComponents
  private readonly now: () => number
  private readonly directory: DatanetDirectory
  readonly curator: Curator
  private readonly publisher: Publisher

  constructor(components: DatanetServiceComponents, curation: Partial<CuratorOptions> = {}) {
    this.c = components
    this.now = components.now ?? Date.now
    this.directory = new DatanetDirectory(
      components.registry,
      components.blockstore,
      components.account.address,
    )
    const records = new ContributionRecords(components.store)
    this.curator = new Curator(
      {
        directory: this.directory,
        records,
        unixfs: components.unixfs,
        pins: components.pins,
        account: components.account,
        log: components.log,
        now: components.now,
      },
      curation,
    )
    this.publisher = new Publisher({
      directory: this.directory,
      registry: components.registry,
      records,
      blockstore: components.blockstore,
      pins: components.pins,
      contributionsRoot: components.contributionsRoot,
      provide: (cid) => this.provideLater(cid),
      account: components.account,
    })
  }

  async start(): Promise<void> {
    await this.curator.start()
  }

  /** Aborts curation in progress and returns promptly; stored records are never half-written. */
  async stop(): Promise<void> {
    await this.curator.stop()
  }

  // ---- Datanets and their rules

  async createDatanet(
    metadata: unknown,
    curators: Address[],
  ): Promise<{ datanetId: bigint; metadataCid: string }> {
    const parsed = metadataSchema.safeParse(metadata)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      throw new DatanetServiceError(
        { code: 'METADATA_INVALID' },
        `metadata ${issue.path.join('.')}: ${issue.message}`,
      )
    }
    const bytes = dagCbor.encode(parsed.data)
    const cid = CID.createV1(dagCbor.code, await sha256.digest(bytes))
    await this.c.blockstore.put(cid, bytes)
    await drain(this.c.pins.add(cid))
    const datanetId = await this.c.registry.createDatanet({
      metadataCid: cid.toString(),
      contributionType: parsed.data.rules.contributionType,
      curators,
    })
    this.directory.remember(cid.toString(), parsed.data)
    this.provideLater(cid)
    return { datanetId, metadataCid: cid.toString() }
  }

  getDatanet(datanetId: bigint): Promise<DatanetInfo> {
    return this.directory.getDatanet(datanetId)
  }

  /** The newest Datanets first, at most `limit`. */
  async listDatanets(limit = 100): Promise<(DatanetInfo & { datanetId: string })[]> {
    const count = await this.c.registry.datanetCount()
    const ids = Array.from({ length: Math.min(count, limit) }, (_, i) => BigInt(count - i))
    return Promise.all(ids.map(async (id) => ({ datanetId: id.toString(), ...(await this.getDatanet(id)) })))
  }

  metadata(datanetId: bigint, signal?: AbortSignal): Promise<DatanetMetadata> {
    return this.directory.metadata(datanetId, signal)
  }

  isCurator(datanetId: bigint, account?: Address): Promise<boolean> {
    return this.directory.isCurator(datanetId, account)
  }

  // ---- Contributing

  /** Adds the content to IPFS, signs the record and gossips it; the same checks a curator runs first. */
  async contribute(
    datanetId: bigint,
    name: string,
    content: Uint8Array,
    license?: string,
  ): Promise<ContributionRecord> {
    const { rules } = await this.metadata(datanetId)
    const checked = checkContent(name, content, rules)
    if (!checked.ok) {
      const refusal = checked as Extract<CurationResult, { ok: false }>
      throw new DatanetServiceError({ code: 'CONTRIBUTION_REFUSED', reason: refusal.reason }, refusal.message)
    }
    const cid = await this.c.unixfs.addBytes(content, unixfsImportOptions())
    await drain(this.c.pins.add(cid))
    const contribution = await signContribution(this.c.account, this.c.domain, {
      datanetId,
      contentCid: cid.toString(),
      bytes: content.length,
      license: license ?? rules.license,
      createdAt: Math.floor(this.now() / 1000),
      name,
    })
    this.provideLater(cid)
    const record = await this.curator.receive(contribution, true)
    await this.c.publish(CONTRIBUTIONS_TOPIC, encodeContribution(contribution))
    return record
  }

  // ---- Gossip

  /** The contributions topic (until the gossip pipeline's own topic, contribution-gossip.ts, is wired). */
  topic(): GossipTopic<Contribution> {
    return {
      topic: CONTRIBUTIONS_TOPIC,
      maxBytes: CONTRIBUTION_MAX_BYTES,
      decode: decodeContribution,
      validate: async (c) => {
        try {
          await verifyContribution(this.c.domain, c, Math.floor(this.now() / 1000))
        } catch (err) {
          if (err instanceof ContributionFormatError) {
            const action = err.fault === 'FROM_FUTURE' ? 'IGNORE' : 'REJECT'
            throw new GossipValidationError({ code: `CONTRIBUTION_${err.fault}`, action }, err.message)
          }
          throw err
        }
        // A Datanet id the chain does not know is not worth forwarding (it may be created later: IGNORE).
        const exists = await this.c.registry.getDatanet(c.datanetId).then(
          () => true,
          () => false,
        )
        if (!exists)
          throw new GossipValidationError(
            { code: 'CONTRIBUTION_UNKNOWN_DATANET', action: 'IGNORE' },
            `no Datanet ${c.datanetId}`,
          )
      },
      handle: (c, from, signal) => this.curator.onContribution(c, from, signal),
    }
  }

  // ---- Review

  list(datanetId: bigint, status?: ContributionStatus): Promise<ContributionRecord[]> {
    return this.curator.list(datanetId, status)
  }

  decide(
    datanetId: bigint,
    contentCid: string,
    accept: boolean,
    reason?: string,
  ): Promise<ContributionRecord> {
    return this.curator.decide(datanetId, contentCid, accept, reason)
  }

  // ---- Versions

  version(datanetId: bigint, version: number): Promise<DatanetVersion> {
    return this.publisher.version(datanetId, version)
  }

  manifest(manifestCid: string, signal?: AbortSignal): Promise<Manifest> {
    return this.publisher.manifest(manifestCid, signal)
  }

  publish(datanetId: bigint): Promise<PublishedVersion> {
    return this.publisher.publish(datanetId)
  }

  private provideLater(cid: CID): void {
    this.c.routing.provide(cid, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) }).catch((err) => {
      // The replicator re-provides served versions; a lone contributor's content is fetched over bitswap.
      this.c.log.debug({ cid: cid.toString(), err: (err as Error).message }, 'provide failed')
    })
  }
}
