// What the chain and IPFS say about a Datanet: its on-chain record, its metadata and rules (fetched under the
// metadata CID recorded on chain, cached by CID since a CID's content never changes), and who curates it.
// The contributor, the curator and the publisher all read Datanets through this one place.
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import type { Address, Hex } from 'viem'
import { readBlock } from '../common/blocks.ts'
import { DatanetServiceError } from './errors.ts'
import type { DatanetInfo, DatanetVersion } from './registry.ts'
import { type DatanetMetadata, metadataSchema } from './rules.ts'

export const METADATA_MAX_BYTES = 64 * 1024
export const FETCH_TIMEOUT_MS = 30_000
/** Metadata of this many Datanets stays cached (a few KB each). */
const METADATA_CACHE_ENTRIES = 1024

/** The registry calls the Datanet service makes; DatanetRegistryClient (registry.ts) implements them. */
export interface DatanetRegistryPort {
  datanetCount(): Promise<number>
  getDatanet(id: bigint): Promise<DatanetInfo>
  isCurator(id: bigint, account: Address): Promise<boolean>
  getVersion(id: bigint, version: number): Promise<DatanetVersion>
  createDatanet(args: { metadataCid: string; contributionType: string; curators: Address[] }): Promise<bigint>
  publishVersion(
    id: bigint,
    args: { expectedVersion: number; manifestCid: string; contributionsRoot: Hex; count: number },
  ): Promise<number>
}

type BlockReader = {
  get(cid: CID, options?: { signal?: AbortSignal }): Iterable<Uint8Array> | AsyncIterable<Uint8Array>
}

export class DatanetDirectory {
  private readonly metadataCache = new Map<string, DatanetMetadata>()

  constructor(
    private readonly registry: DatanetRegistryPort,
    private readonly blockstore: BlockReader,
    private readonly account: Address,
  ) {}

  getDatanet(datanetId: bigint): Promise<DatanetInfo> {
    return this.registry.getDatanet(datanetId)
  }

  /** Whether `account` (this node's by default) owns or curates the Datanet. */
  async isCurator(datanetId: bigint, account: Address = this.account): Promise<boolean> {
    const info = await this.getDatanet(datanetId)
    return info.owner === account || (await this.registry.isCurator(datanetId, account))
  }

  remember(metadataCid: string, metadata: DatanetMetadata): void {
    if (this.metadataCache.size >= METADATA_CACHE_ENTRIES) {
      const oldest = this.metadataCache.keys().next().value
      if (oldest !== undefined) this.metadataCache.delete(oldest)
    }
    this.metadataCache.set(metadataCid, metadata)
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
      bytes = await readBlock(this.blockstore, cid, METADATA_MAX_BYTES, { signal })
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
    this.remember(info.metadataCid, parsed.data)
    return parsed.data
  }
}

function safeDecode(bytes: Uint8Array): unknown {
  try {
    return dagCbor.decode(bytes)
  } catch {
    return undefined
  }
}
