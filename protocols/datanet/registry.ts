// A typed client for the DatanetRegistry contract. Every write is simulated first (eth_call with the
// sender's account), so a refused call (unknown Datanet, not a curator, ...) fails here with a typed
// DatanetError and never costs a transaction; custom reverts from reads become the same errors.
import { CID } from 'multiformats/cid'
import { type Address, type Hex, parseEventLogs } from 'viem'
import { datanetRegistryAbi } from '../../contracts/generated/index.ts'
import { ContractCalls, type ContractClientInit } from '../common/contract-calls.ts'
import { decodeRevert, failureMessage, parseContractId } from '../common/contract-errors.ts'
import { OpenLedgerError } from '../common/errors.ts'

export type DatanetErrorCode =
  | 'UNKNOWN_DATANET'
  | 'UNKNOWN_VERSION'
  | 'NO_VERSIONS'
  | 'NOT_OWNER'
  | 'NOT_CURATOR'
  | 'VERSION_CONFLICT'
  | 'EMPTY_FIELD'
  | 'INVALID_ARGUMENT'
  | 'NO_WALLET'
  | 'TX_REVERTED'
  | 'CHAIN_ERROR'

export class DatanetError extends OpenLedgerError<{
  code: DatanetErrorCode
  datanetId?: string
  version?: number
}> {}

export type DatanetId = bigint | number | string

export interface DatanetInfo {
  owner: Address
  versionCount: number
  metadataCid: string
  contributionType: string
}

export interface DatanetVersion {
  version: number
  manifestCid: string
  contributionsRoot: Hex
  contributionCount: number
  /** unix seconds (block timestamp) */
  publishedAt: number
  publisher: Address
}

export interface PublishVersionInput {
  /**
   * The number this version gets, i.e. the versionCount the manifest was built on plus one. The contract
   * refuses the publish (VERSION_CONFLICT) when someone published in between. Omitted, the client reads
   * the current count and publishes on top of it: fine for a caller that builds nothing on the previous
   * version, never for one whose manifest repeats it (the Datanet publisher always passes it).
   */
  expectedVersion?: number
  manifestCid: CID | string
  contributionsRoot: Hex
  count: number | bigint
}

/** What the replicator needs from the chain: read-only, so a test can hand it a fake. */
export interface DatanetVersionReader {
  /** The newest version number; throws DatanetError NO_VERSIONS when none is published yet. */
  latestVersion(datanetId: DatanetId): Promise<number>
  getVersion(datanetId: DatanetId, version: number): Promise<DatanetVersion>
}

export type DatanetRegistryClientInit = ContractClientInit

const UINT64_MAX = (1n << 64n) - 1n

export class DatanetRegistryClient implements DatanetVersionReader {
  readonly address: Address
  private readonly calls: ContractCalls
  private readonly publicClient: DatanetRegistryClientInit['publicClient']

  constructor(init: DatanetRegistryClientInit) {
    this.calls = new ContractCalls(init, datanetRegistryAbi, {
      toError: toDatanetError,
      noWallet: (action) =>
        new DatanetError(
          { code: 'NO_WALLET' },
          `${action} needs an account: this registry client was built without a wallet`,
        ),
      reverted: (action, hash, id) =>
        new DatanetError(
          { code: 'TX_REVERTED', datanetId: id?.toString() },
          `${action} transaction ${hash} reverted`,
        ),
    })
    this.publicClient = init.publicClient
    this.address = init.address
  }

  /** Creates a Datanet owned by the wallet's account; returns its id (from the DatanetCreated event). */
  async createDatanet(input: {
    metadataCid: string
    contributionType: string
    curators?: Address[]
  }): Promise<bigint> {
    if (!input.metadataCid || !input.contributionType) {
      throw new DatanetError(
        { code: 'EMPTY_FIELD' },
        'a Datanet needs a metadata CID and a contribution type',
      )
    }
    const receipt = await this.calls.write(
      'createDatanet',
      [input.metadataCid, input.contributionType, input.curators ?? []],
      undefined,
    )
    const [event] = parseEventLogs({
      abi: datanetRegistryAbi,
      logs: receipt.logs,
      eventName: 'DatanetCreated',
    })
    if (!event)
      throw new DatanetError(
        { code: 'CHAIN_ERROR' },
        `createDatanet ${receipt.transactionHash} emitted no DatanetCreated event`,
      )
    return event.args.datanetId
  }

  /** Owner only: allows or removes a curator. */
  async setCurator(datanetId: DatanetId, curator: Address, allowed = true): Promise<void> {
    const id = toId(datanetId)
    await this.calls.write('setCurator', [id, curator, allowed], id)
  }

  /**
   * Publishes the next version (owner or curator only) and returns its number. A refused publish is
   * caught by the simulation and throws before any transaction is sent.
   */
  async publishVersion(datanetId: DatanetId, input: PublishVersionInput): Promise<number> {
    const id = toId(datanetId)
    const manifestCid =
      typeof input.manifestCid === 'string' ? input.manifestCid : input.manifestCid.toString()
    try {
      CID.parse(manifestCid)
    } catch {
      throw new DatanetError(
        { code: 'INVALID_ARGUMENT', datanetId: id.toString() },
        `manifest CID ${JSON.stringify(manifestCid)} is not a CID`,
      )
    }
    if (!/^0x[0-9a-fA-F]{64}$/.test(input.contributionsRoot)) {
      throw new DatanetError(
        { code: 'INVALID_ARGUMENT', datanetId: id.toString() },
        `contributions root ${input.contributionsRoot} is not 32 bytes of hex`,
      )
    }
    const count = BigInt(input.count)
    if (count < 0n || count > UINT64_MAX) {
      throw new DatanetError(
        { code: 'INVALID_ARGUMENT', datanetId: id.toString() },
        `contribution count ${count} is not a uint64`,
      )
    }
    const expectedVersion = input.expectedVersion ?? (await this.getDatanet(id)).versionCount + 1
    if (!Number.isInteger(expectedVersion) || expectedVersion < 1 || expectedVersion > 0xffffffff) {
      throw new DatanetError(
        { code: 'INVALID_ARGUMENT', datanetId: id.toString() },
        `expected version ${expectedVersion} is not a version number (versions start at 1)`,
      )
    }
    const receipt = await this.calls.write(
      'publishVersion',
      [id, expectedVersion, manifestCid, input.contributionsRoot, count],
      id,
    )
    const [event] = parseEventLogs({
      abi: datanetRegistryAbi,
      logs: receipt.logs,
      eventName: 'VersionPublished',
    })
    if (!event)
      throw new DatanetError(
        { code: 'CHAIN_ERROR' },
        `publishVersion ${receipt.transactionHash} emitted no VersionPublished event`,
      )
    return event.args.version
  }

  /** How many Datanets exist; ids run from 1 to this number. */
  async datanetCount(): Promise<number> {
    try {
      return Number(
        await this.publicClient.readContract({
          address: this.address,
          abi: datanetRegistryAbi,
          functionName: 'datanetCount',
        }),
      )
    } catch (err) {
      throw toDatanetError(err, 'datanetCount')
    }
  }

  async getDatanet(datanetId: DatanetId): Promise<DatanetInfo> {
    const id = toId(datanetId)
    const d = await this.calls.read('getDatanet', [id], id)
    return {
      owner: d.owner,
      versionCount: d.versionCount,
      metadataCid: d.metadataCid,
      contributionType: d.contributionType,
    }
  }

  async isCurator(datanetId: DatanetId, account: Address): Promise<boolean> {
    const id = toId(datanetId)
    return this.calls.read('isCurator', [id, account], id)
  }

  async getVersion(datanetId: DatanetId, version: number): Promise<DatanetVersion> {
    const id = toId(datanetId)
    if (!Number.isInteger(version) || version < 1 || version > 0xffffffff) {
      throw new DatanetError(
        { code: 'UNKNOWN_VERSION', datanetId: id.toString(), version },
        `Datanet ${id} has no version ${version} (versions start at 1)`,
      )
    }
    const v = await this.calls.read('getVersion', [id, version], id)
    return {
      version,
      manifestCid: v.manifestCid,
      contributionsRoot: v.contributionsRoot,
      contributionCount: Number(v.contributionCount),
      publishedAt: Number(v.publishedAt),
      publisher: v.publisher,
    }
  }

  async latestVersion(datanetId: DatanetId): Promise<number> {
    const { versionCount } = await this.getDatanet(datanetId)
    if (versionCount === 0) {
      throw new DatanetError(
        { code: 'NO_VERSIONS', datanetId: toId(datanetId).toString() },
        `Datanet ${datanetId} has no published version yet`,
      )
    }
    return versionCount
  }

  /** Every version of a Datanet, oldest first (for `datanet status`). */
  async listVersions(datanetId: DatanetId): Promise<DatanetVersion[]> {
    const { versionCount } = await this.getDatanet(datanetId)
    return Promise.all(Array.from({ length: versionCount }, (_, i) => this.getVersion(datanetId, i + 1)))
  }
}

function toId(datanetId: DatanetId): bigint {
  const id = parseContractId(datanetId)
  if (id === undefined) {
    throw new DatanetError(
      { code: 'UNKNOWN_DATANET', datanetId: String(datanetId) },
      `Datanet id ${JSON.stringify(String(datanetId))} is not a Datanet id (ids start at 1)`,
    )
  }
  return id
}

/** Maps the contract's custom errors to DatanetError; anything else becomes CHAIN_ERROR with viem's short message. */
export function toDatanetError(err: unknown, action: string, id?: bigint): DatanetError {
  if (err instanceof DatanetError) return err
  const datanetId = id?.toString()
  const revert = decodeRevert(err)
  if (revert) {
    const { args } = revert
    switch (revert.name) {
      case 'UnknownDatanet':
        return new DatanetError(
          { code: 'UNKNOWN_DATANET', datanetId: String(args[0] ?? datanetId) },
          `Datanet ${args[0] ?? datanetId} does not exist`,
        )
      case 'UnknownVersion':
        return new DatanetError(
          { code: 'UNKNOWN_VERSION', datanetId: String(args[0]), version: Number(args[1]) },
          `Datanet ${args[0]} has no version ${args[1]}`,
        )
      case 'NotOwner':
        return new DatanetError(
          { code: 'NOT_OWNER', datanetId: String(args[0]) },
          `${args[1]} is not the owner of Datanet ${args[0]}`,
        )
      case 'NotCurator':
        return new DatanetError(
          { code: 'NOT_CURATOR', datanetId: String(args[0]) },
          `${args[1]} is neither owner nor curator of Datanet ${args[0]}: only they may publish versions`,
        )
      case 'VersionConflict':
        return new DatanetError(
          { code: 'VERSION_CONFLICT', datanetId: String(args[0]), version: Number(args[2]) },
          `Datanet ${args[0]} moved on: this version was built as ${args[1]}, the next is ${args[2]} (publish again)`,
        )
      case 'EmptyField':
        return new DatanetError({ code: 'EMPTY_FIELD', datanetId }, `${action}: a required field is empty`)
    }
  }
  return new DatanetError({ code: 'CHAIN_ERROR', datanetId }, `${action} failed: ${failureMessage(err)}`)
}
