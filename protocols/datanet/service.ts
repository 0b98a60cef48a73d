// The Datanet service: contributions (sign, store in IPFS, gossip), curation on the owner's and curators'
// nodes (fetch, rules, duplicates, then a human decision), and publishing versions (manifest in Helia,
// Merkle root and manifest CID on chain). Storage, chain and network arrive as components.
import * as dagCbor from '@ipld/dag-cbor'
import type { PeerId, Startable } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Address, Hex, TypedDataDomain } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { readBlock } from '../common/blocks.ts'
import { type GossipTopic, GossipValidationError } from '../common/gossip.ts'
import { collectBytes, drain } from '../common/iterables.ts'
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
  type CurationResult,
  checkContent,
  curate,
  type KnownContribution,
  type RejectReason,
} from './curation.ts'
import { DatanetServiceError } from './errors.ts'
import { unixfsImportOptions } from './import-options.ts'
import {
  decodeManifest,
  encodeManifest,
  MANIFEST_FORMAT,
  MANIFEST_MAX_BYTES,
  type Manifest,
  type ManifestEntry,
} from './manifest.ts'
import { decodeSignature, encodeSignature } from './near-duplicates.ts'
import type { DatanetInfo, DatanetVersion } from './registry.ts'
import { type DatanetMetadata, metadataSchema } from './rules.ts'

export const METADATA_MAX_BYTES = 64 * 1024
export const FETCH_TIMEOUT_MS = 30_000

export type ContributionStatus = 'pending' | 'accepted' | 'rejected'

/** What a curator (or contributor) node keeps about one contribution: the signed record (its id as a
 * decimal string, since records are stored as JSON) and the curation outcome. */
export interface ContributionRecord extends Omit<Contribution, 'datanetId'> {
  datanetId: string
  status: ContributionStatus
  reason?: RejectReason
  message?: string
  receivedAt: number
  decidedAt?: number
  /** order of acceptance: the manifest lists contributions in this order */
  acceptSeq?: number
  publishedIn?: number
  textHash?: string
  minhash?: string
}

/** The registry calls this service makes; DatanetRegistryClient (registry.ts) implements them. */
export interface DatanetRegistryPort {
  datanetCount(): Promise<number>
  getDatanet(id: bigint): Promise<DatanetInfo>
  isCurator(id: bigint, account: Address): Promise<boolean>
  getVersion(id: bigint, version: number): Promise<DatanetVersion>
  createDatanet(args: { metadataCid: string; contributionType: string; curators: Address[] }): Promise<bigint>
  publishVersion(
    id: bigint,
    args: { manifestCid: string; contributionsRoot: Hex; count: number },
  ): Promise<number>
}

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

// One record per (Datanet, content, contributor): a second contributor's copy of the same content gets
// its own record, rejected as a duplicate, while a contributor resubmitting is idempotent.
const recordKey = (datanetId: bigint | string, cid: string, contributor: string) =>
  `${datanetId}/${cid}/${contributor}`

export class DatanetService implements Startable {
  private readonly c: DatanetServiceComponents
  private readonly now: () => number
  private readonly metadataCache = new Map<string, DatanetMetadata>()
  private readonly inFlight = new Set<string>()
  /** Curation work runs one at a time: fetching and fingerprinting are the expensive part. */
  private curationQueue: Promise<void> = Promise.resolve()
  private acceptSeq = 0

  constructor(components: DatanetServiceComponents) {
    this.c = components
    this.now = components.now ?? Date.now
  }

  async start(): Promise<void> {
    for await (const [, r] of this.c.store.entries())
      this.acceptSeq = Math.max(this.acceptSeq, r.acceptSeq ?? 0)
  }

  async stop(): Promise<void> {
    await this.curationQueue
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
    this.metadataCache.set(cid.toString(), parsed.data)
    this.provideLater(cid)
    return { datanetId, metadataCid: cid.toString() }
  }

  async getDatanet(datanetId: bigint): Promise<DatanetInfo> {
    return this.c.registry.getDatanet(datanetId)
  }

  /** The newest Datanets first, at most `limit`. */
  async listDatanets(limit = 100): Promise<(DatanetInfo & { datanetId: string })[]> {
    const count = await this.c.registry.datanetCount()
    const ids = Array.from({ length: Math.min(count, limit) }, (_, i) => BigInt(count - i))
    return Promise.all(ids.map(async (id) => ({ datanetId: id.toString(), ...(await this.getDatanet(id)) })))
  }

  /** The Datanet's metadata and rules, fetched from IPFS under the CID recorded on chain. */
  async metadata(
    datanetId: bigint,
    signal = AbortSignal.timeout(FETCH_TIMEOUT_MS),
  ): Promise<DatanetMetadata> {
    const info = await this.getDatanet(datanetId)
    const cached = this.metadataCache.get(info.metadataCid)
    if (cached) return cached
    let cid: CID
    try {
      cid = CID.parse(info.metadataCid)
    } catch {
      throw new DatanetServiceError(
        { code: 'METADATA_INVALID' },
        `Datanet ${datanetId} has a metadata CID that does not parse`,
      )
    }
    let bytes: Uint8Array
    try {
      bytes = await readBlock(this.c.blockstore, cid, METADATA_MAX_BYTES, { signal })
    } catch (err) {
      throw new DatanetServiceError(
        { code: 'METADATA_UNAVAILABLE' },
        `cannot fetch metadata ${cid} of Datanet ${datanetId}: ${(err as Error).message}`,
      )
    }
    const parsed = metadataSchema.safeParse(safeDecode(bytes))
    if (!parsed.success)
      throw new DatanetServiceError(
        { code: 'METADATA_INVALID' },
        `metadata ${cid} of Datanet ${datanetId} does not follow the schema`,
      )
    this.metadataCache.set(info.metadataCid, parsed.data)
    return parsed.data
  }

  async isCurator(datanetId: bigint, account: Address = this.c.account.address): Promise<boolean> {
    const info = await this.getDatanet(datanetId)
    return info.owner === account || (await this.c.registry.isCurator(datanetId, account))
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
    const record = await this.receive(contribution, true)
    await this.c.publish(CONTRIBUTIONS_TOPIC, encodeContribution(contribution))
    return record
  }

  // ---- Gossip

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
      handle: async (c: Contribution, _from: PeerId) => {
        await this.receive(c, false)
      },
    }
  }

  /** Records a verified contribution; on a curator node it is fetched and run through the rules. */
  private async receive(c: Contribution, own: boolean): Promise<ContributionRecord> {
    const key = recordKey(c.datanetId, c.contentCid, c.contributor)
    const existing = await this.c.store.get(key)
    if (existing) return existing
    const curator = await this.isCurator(c.datanetId).catch(() => false)
    if (!curator && !own) return baseRecord(c, this.now())
    if (!curator) {
      // The contributor's own copy: kept so `review` on its node can show what it submitted.
      const record = baseRecord(c, this.now())
      await this.c.store.put(key, record)
      return record
    }
    if (this.inFlight.has(key)) return baseRecord(c, this.now())
    this.inFlight.add(key)
    const work = this.curationQueue.then(() => this.curateOne(c).finally(() => this.inFlight.delete(key)))
    this.curationQueue = work.then(
      () => undefined,
      () => undefined,
    )
    return work
  }

  private async curateOne(c: Contribution): Promise<ContributionRecord> {
    const key = recordKey(c.datanetId, c.contentCid, c.contributor)
    const record = baseRecord(c, this.now())
    const { rules } = await this.metadata(c.datanetId)
    let content: Uint8Array | undefined
    if (c.bytes > rules.maxBytes) {
      Object.assign(record, {
        status: 'rejected',
        reason: 'TOO_LARGE',
        message: `${c.bytes} bytes is over the limit of ${rules.maxBytes}`,
      })
    } else {
      try {
        // Read at most one byte past the signed size, so a lying record cannot make us fetch more.
        content = await collectBytes(
          this.c.unixfs.cat(CID.parse(c.contentCid), {
            signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
            length: c.bytes + 1,
          }),
          c.bytes + 1,
        )
      } catch (err) {
        Object.assign(record, {
          status: 'rejected',
          reason: 'CONTENT_UNAVAILABLE',
          message: `content ${c.contentCid} could not be fetched: ${(err as Error).message}`,
        })
      }
    }
    if (content !== undefined) {
      const result = curate(c, content, rules, await this.known(c.datanetId), this.now())
      if (result.ok) {
        record.textHash = result.textHash
        record.minhash = encodeSignature(result.minhash)
        await drain(this.c.pins.add(CID.parse(c.contentCid)))
      } else {
        Object.assign(record, {
          status: 'rejected',
          reason: result.reason,
          message: result.message,
          decidedAt: this.now(),
        })
      }
    }
    await this.c.store.put(key, record)
    this.c.log.info(
      { datanetId: record.datanetId, cid: record.contentCid, status: record.status, reason: record.reason },
      'contribution curated',
    )
    return record
  }

  private async known(datanetId: bigint): Promise<KnownContribution[]> {
    const out: KnownContribution[] = []
    for (const r of await this.list(datanetId)) {
      out.push({
        contentCid: r.contentCid,
        contributor: r.contributor,
        receivedAt: r.receivedAt,
        textHash: r.textHash,
        minhash: r.minhash ? decodeSignature(r.minhash) : undefined,
        rejected: r.status === 'rejected',
      })
    }
    return out
  }

  // ---- Review

  async list(datanetId: bigint, status?: ContributionStatus): Promise<ContributionRecord[]> {
    const prefix = `${datanetId}/`
    const out: ContributionRecord[] = []
    for await (const [key, r] of this.c.store.entries()) {
      if (key.startsWith(prefix) && (status === undefined || r.status === status)) out.push(r)
    }
    return out.sort((a, b) => a.receivedAt - b.receivedAt || a.contentCid.localeCompare(b.contentCid))
  }

  async decide(
    datanetId: bigint,
    contentCid: string,
    accept: boolean,
    reason?: string,
  ): Promise<ContributionRecord> {
    if (!(await this.isCurator(datanetId))) {
      throw new DatanetServiceError(
        { code: 'NOT_CURATOR' },
        `this node's account ${this.c.account.address} is not a curator of Datanet ${datanetId}`,
      )
    }
    const matching = (await this.list(datanetId)).filter((r) => r.contentCid === contentCid)
    if (matching.length === 0)
      throw new DatanetServiceError(
        { code: 'UNKNOWN_CONTRIBUTION' },
        `no contribution ${contentCid} in Datanet ${datanetId}`,
      )
    // Duplicates are rejected on arrival, so at most one record per content is ever pending.
    const record = matching.find((r) => r.status === 'pending') ?? matching[0]!
    const key = recordKey(datanetId, contentCid, record.contributor)
    if (record.status !== 'pending') {
      throw new DatanetServiceError(
        { code: 'NOT_PENDING' },
        `contribution ${contentCid} is already ${record.status}${record.reason ? ` (${record.reason})` : ''}`,
      )
    }
    const decided: ContributionRecord = accept
      ? { ...record, status: 'accepted', decidedAt: this.now(), acceptSeq: ++this.acceptSeq }
      : {
          ...record,
          status: 'rejected',
          reason: 'CURATOR_REJECTED',
          message: reason ?? 'rejected by a curator',
          decidedAt: this.now(),
        }
    await this.c.store.put(key, decided)
    return decided
  }

  // ---- Versions

  async version(datanetId: bigint, version: number): Promise<DatanetVersion> {
    return this.c.registry.getVersion(datanetId, version)
  }

  async manifest(manifestCid: string, signal = AbortSignal.timeout(FETCH_TIMEOUT_MS)): Promise<Manifest> {
    const cid = CID.parse(manifestCid)
    return decodeManifest(cid, await readBlock(this.c.blockstore, cid, MANIFEST_MAX_BYTES, { signal }))
  }

  /** Builds the next version (previous contributions, then newly accepted ones) and records it on chain. */
  async publish(
    datanetId: bigint,
  ): Promise<{ version: number; manifestCid: string; contributionsRoot: Hex; count: number }> {
    const info = await this.getDatanet(datanetId)
    if (!(await this.isCurator(datanetId))) {
      throw new DatanetServiceError(
        { code: 'NOT_CURATOR' },
        `this node's account ${this.c.account.address} is not the owner or a curator of Datanet ${datanetId}`,
      )
    }
    const previous = info.versionCount > 0 ? await this.version(datanetId, info.versionCount) : undefined
    const previousManifest = previous ? await this.manifest(previous.manifestCid) : undefined
    const listed = new Set(previousManifest?.contributions.map((e) => e.contentCid.toString()))
    const fresh = (await this.list(datanetId, 'accepted'))
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
      previous: previous ? CID.parse(previous.manifestCid) : null,
      contributions: [
        ...(previousManifest?.contributions ?? []),
        ...fresh.map((r) => ({
          contributor: r.contributor,
          contentCid: CID.parse(r.contentCid),
          bytes: r.bytes,
          license: r.license,
          createdAt: r.createdAt,
          signature: hexBytes(r.signature),
        })),
      ],
    }
    const { cid, bytes } = await encodeManifest(manifest)
    await this.c.blockstore.put(cid, bytes)
    await drain(this.c.pins.add(cid, { signal: AbortSignal.timeout(5 * FETCH_TIMEOUT_MS) }))
    const contributionsRoot = await this.c.contributionsRoot(manifest.contributions)
    const version = await this.c.registry.publishVersion(datanetId, {
      manifestCid: cid.toString(),
      contributionsRoot,
      count: manifest.contributions.length,
    })
    for (const r of fresh)
      await this.c.store.put(recordKey(datanetId, r.contentCid, r.contributor), {
        ...r,
        publishedIn: version,
      })
    this.provideLater(cid)
    return { version, manifestCid: cid.toString(), contributionsRoot, count: manifest.contributions.length }
  }

  private provideLater(cid: CID): void {
    this.c.routing.provide(cid, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) }).catch((err) => {
      // The replicator re-provides served versions; a lone contributor's content is fetched over bitswap.
      this.c.log.debug({ cid: cid.toString(), err: (err as Error).message }, 'provide failed')
    })
  }
}

function baseRecord(c: Contribution, now: number): ContributionRecord {
  return {
    datanetId: c.datanetId.toString(),
    contentCid: c.contentCid,
    bytes: c.bytes,
    license: c.license,
    contributor: c.contributor,
    createdAt: c.createdAt,
    name: c.name,
    signature: c.signature,
    status: 'pending',
    receivedAt: now,
  }
}

function hexBytes(hex: Hex): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.slice(2), 'hex'))
}

function safeDecode(bytes: Uint8Array): unknown {
  try {
    return dagCbor.decode(bytes)
  } catch {
    return undefined
  }
}
