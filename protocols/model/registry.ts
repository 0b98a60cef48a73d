// A typed client for the ModelRegistry contract. Every write is simulated first (eth_call with the
// sender's account), so a refused registration (unknown Datanet version, empty field, not the owner, a
// retired base, ...) fails here with a typed ModelRegistryError and never costs a transaction; custom
// reverts from reads become the same errors. Adapters are models too: `registerAdapter` gives one an entry
// of its own (ids shared with base models), and `baseModelId` tells them apart (0n for a base model).
import { type Address, parseEventLogs } from 'viem'
import { modelRegistryAbi } from '../../contracts/generated/index.ts'
import { ContractCalls, type ContractClientInit } from '../common/contract-calls.ts'
import { decodeRevert, failureMessage, parseContractId } from '../common/contract-errors.ts'
import { OpenLedgerError } from '../common/errors.ts'

export type ModelRegistryErrorCode =
  | 'UNKNOWN_MODEL'
  | 'NOT_MODEL_OWNER'
  | 'MODEL_RETIRED'
  | 'UNKNOWN_DATANET_VERSION'
  | 'MODEL_EMPTY_FIELD'
  /** registerAdapter: the base model id was never registered */
  | 'UNKNOWN_BASE_MODEL'
  /** registerAdapter: the base model is retired, so nothing new may be served on it */
  | 'BASE_MODEL_RETIRED'
  /** registerAdapter: the named base is itself an adapter (adapters do not stack) */
  | 'BASE_IS_ADAPTER'
  | 'MODEL_INVALID_ARGUMENT'
  | 'MODEL_NO_WALLET'
  | 'MODEL_TX_REVERTED'
  | 'MODEL_CHAIN_ERROR'

export class ModelRegistryError extends OpenLedgerError<{
  code: ModelRegistryErrorCode
  modelId?: string
  baseModelId?: string
  datanetId?: string
  version?: number
}> {}

export type ModelId = bigint | number | string

/** One `{datanetId, version}` the model was trained on; attribution pays its contributors. */
export interface TrainedOn {
  datanetId: bigint
  version: number
}

export interface RegisteredModel {
  modelId: bigint
  owner: Address
  retired: boolean
  /** 0n for a base model; for an adapter, the base model it runs on */
  baseModelId: bigint
  /** wei of OPEN per 1,000 input tokens */
  pricePerKInput: bigint
  /** wei of OPEN per 1,000 output tokens */
  pricePerKOutput: bigint
  /** for an adapter: the adapter's CID */
  artifactCid: string
  /** adapters bundled with a base model (always empty for an adapter) */
  adapterCids: string[]
  trainedOn: TrainedOn[]
}

export interface RegisterModelInput {
  artifactCid: string
  adapterCids: string[]
  trainedOn: TrainedOn[]
  pricePerKInput: bigint
  pricePerKOutput: bigint
}

export interface RegisterAdapterInput {
  baseModelId: ModelId
  adapterCid: string
  trainedOn: TrainedOn[]
  pricePerKInput: bigint
  pricePerKOutput: bigint
}

/** The registry calls ModelService makes; ModelRegistryClient implements them and a test may fake them. */
export interface ModelRegistryPort {
  registerModel(input: RegisterModelInput): Promise<bigint>
  registerAdapter(input: RegisterAdapterInput): Promise<bigint>
  getModel(modelId: ModelId): Promise<RegisteredModel>
  isServable(modelId: ModelId): Promise<boolean>
  list(opts?: { limit?: number }): Promise<RegisteredModel[]>
}

export type ModelRegistryClientInit = ContractClientInit

export const UINT128_MAX = (1n << 128n) - 1n
const UINT32_MAX = 0xffffffff
/** `list()` reads at most this many models unless told otherwise. */
export const LIST_DEFAULT_LIMIT = 100

export class ModelRegistryClient implements ModelRegistryPort {
  readonly address: Address
  private readonly calls: ContractCalls
  private readonly publicClient: ModelRegistryClientInit['publicClient']

  constructor(init: ModelRegistryClientInit) {
    this.calls = new ContractCalls(init, modelRegistryAbi, {
      toError: toModelRegistryError,
      noWallet: (action) =>
        new ModelRegistryError(
          { code: 'MODEL_NO_WALLET' },
          `${action} needs an account: this registry client was built without a wallet`,
        ),
      reverted: (action, hash, id) =>
        new ModelRegistryError(
          { code: 'MODEL_TX_REVERTED', modelId: id?.toString() },
          `${action} transaction ${hash} reverted`,
        ),
    })
    this.publicClient = init.publicClient
    this.address = init.address
  }

  /**
   * Registers a model owned by the wallet's account and returns its id (from the ModelRegistered event).
   * Every Datanet version must exist: the simulation refuses an unknown one before anything is sent.
   */
  async registerModel(input: RegisterModelInput): Promise<bigint> {
    if (!input.artifactCid || input.adapterCids.some((c) => !c)) {
      throw new ModelRegistryError(
        { code: 'MODEL_EMPTY_FIELD' },
        'a model needs an artifact CID, and every adapter CID must be non-empty',
      )
    }
    checkPrice('pricePerKInput', input.pricePerKInput)
    checkPrice('pricePerKOutput', input.pricePerKOutput)
    const trainedOn = checkTrainedOn(input.trainedOn)
    const receipt = await this.calls.write(
      'registerModel',
      [input.artifactCid, input.adapterCids, trainedOn, input.pricePerKInput, input.pricePerKOutput],
      undefined,
    )
    const [event] = parseEventLogs({
      abi: modelRegistryAbi,
      logs: receipt.logs,
      eventName: 'ModelRegistered',
    })
    if (!event) {
      throw new ModelRegistryError(
        { code: 'MODEL_CHAIN_ERROR' },
        `registerModel ${receipt.transactionHash} emitted no ModelRegistered event`,
      )
    }
    return event.args.modelId
  }

  /**
   * Registers a LoRA adapter of a live base model, owned by the wallet's account (anyone may publish one
   * for any base), and returns its id (from AdapterRegistered; adapters share the models' id space). The
   * base must exist (UNKNOWN_BASE_MODEL), be live (BASE_MODEL_RETIRED) and not be an adapter itself
   * (BASE_IS_ADAPTER); the simulation refuses these before anything is sent.
   */
  async registerAdapter(input: RegisterAdapterInput): Promise<bigint> {
    const baseModelId = toBaseModelId(input.baseModelId)
    if (!input.adapterCid) {
      throw new ModelRegistryError(
        { code: 'MODEL_EMPTY_FIELD', baseModelId: baseModelId.toString() },
        'an adapter needs a CID',
      )
    }
    checkPrice('pricePerKInput', input.pricePerKInput)
    checkPrice('pricePerKOutput', input.pricePerKOutput)
    const trainedOn = checkTrainedOn(input.trainedOn)
    const receipt = await this.calls.write(
      'registerAdapter',
      [baseModelId, input.adapterCid, trainedOn, input.pricePerKInput, input.pricePerKOutput],
      undefined,
    )
    const [event] = parseEventLogs({
      abi: modelRegistryAbi,
      logs: receipt.logs,
      eventName: 'AdapterRegistered',
    })
    if (!event) {
      throw new ModelRegistryError(
        { code: 'MODEL_CHAIN_ERROR', baseModelId: baseModelId.toString() },
        `registerAdapter ${receipt.transactionHash} emitted no AdapterRegistered event`,
      )
    }
    return event.args.adapterId
  }

  /** Owner only (of the model or adapter), and not once retired. */
  async updatePrice(modelId: ModelId, pricePerKInput: bigint, pricePerKOutput: bigint): Promise<void> {
    const id = toModelId(modelId)
    checkPrice('pricePerKInput', pricePerKInput)
    checkPrice('pricePerKOutput', pricePerKOutput)
    await this.calls.write('updatePrice', [id, pricePerKInput, pricePerKOutput], id)
  }

  /**
   * Owner only; final: validators stop accepting receipts for the model. Retiring a base model also makes
   * its adapters unservable (`isServable`).
   */
  async retire(modelId: ModelId): Promise<void> {
    const id = toModelId(modelId)
    await this.calls.write('retire', [id], id)
  }

  async getModel(modelId: ModelId): Promise<RegisteredModel> {
    const id = toModelId(modelId)
    const m = await this.calls.read('getModel', [id], id)
    return {
      modelId: id,
      owner: m.owner,
      retired: m.retired,
      baseModelId: m.baseModelId,
      pricePerKInput: m.pricePerKInput,
      pricePerKOutput: m.pricePerKOutput,
      artifactCid: m.artifactCid,
      adapterCids: [...m.adapterCids],
      trainedOn: m.trainedOn.map((r: { datanetId: bigint; version: number }) => ({
        datanetId: r.datanetId,
        version: Number(r.version),
      })),
    }
  }

  /**
   * Whether requests for the model may be served and paid: it exists and is not retired, and for an
   * adapter, its base is not retired either. False for an id never registered.
   */
  async isServable(modelId: ModelId): Promise<boolean> {
    const id = toModelId(modelId)
    return this.calls.read('isServable', [id], id)
  }

  /** How many models were ever registered (ids run 1..modelCount; adapters and retired ones included). */
  async modelCount(): Promise<number> {
    return Number(await this.calls.read('modelCount', [], undefined))
  }

  /** The newest models first, at most `limit`. */
  async list(opts: { limit?: number } = {}): Promise<RegisteredModel[]> {
    const limit = opts.limit ?? LIST_DEFAULT_LIMIT
    if (!Number.isInteger(limit) || limit < 1) {
      throw new ModelRegistryError(
        { code: 'MODEL_INVALID_ARGUMENT' },
        `list limit ${limit} is not a positive integer`,
      )
    }
    const count = await this.modelCount()
    const ids = Array.from({ length: Math.min(limit, count) }, (_, i) => BigInt(count - i))
    return Promise.all(ids.map((id) => this.getModel(id)))
  }
}

function checkTrainedOn(refs: TrainedOn[]): TrainedOn[] {
  return refs.map((ref) => {
    if (typeof ref.datanetId !== 'bigint' || ref.datanetId <= 0n || ref.datanetId >= 1n << 256n) {
      throw new ModelRegistryError(
        { code: 'UNKNOWN_DATANET_VERSION', datanetId: String(ref.datanetId), version: ref.version },
        `Datanet ${ref.datanetId} does not exist (ids start at 1)`,
      )
    }
    if (!Number.isInteger(ref.version) || ref.version < 1 || ref.version > UINT32_MAX) {
      throw new ModelRegistryError(
        { code: 'UNKNOWN_DATANET_VERSION', datanetId: ref.datanetId.toString(), version: ref.version },
        `Datanet ${ref.datanetId} has no version ${ref.version} (versions start at 1)`,
      )
    }
    return { datanetId: ref.datanetId, version: ref.version }
  })
}

function checkPrice(name: string, value: bigint): void {
  if (typeof value !== 'bigint' || value < 0n || value > UINT128_MAX) {
    throw new ModelRegistryError(
      { code: 'MODEL_INVALID_ARGUMENT' },
      `${name} ${String(value)} is not a uint128 amount of wei`,
    )
  }
}

export function toModelId(modelId: ModelId): bigint {
  const id = parseContractId(modelId)
  if (id === undefined) {
    throw new ModelRegistryError(
      { code: 'UNKNOWN_MODEL', modelId: String(modelId) },
      `model id ${JSON.stringify(String(modelId))} is not a model id (ids start at 1)`,
    )
  }
  return id
}

function toBaseModelId(baseModelId: ModelId): bigint {
  const id = parseContractId(baseModelId)
  if (id === undefined) {
    throw new ModelRegistryError(
      { code: 'UNKNOWN_BASE_MODEL', baseModelId: String(baseModelId) },
      `base model id ${JSON.stringify(String(baseModelId))} is not a model id (ids start at 1)`,
    )
  }
  return id
}

/** Maps the contract's custom errors to ModelRegistryError; anything else becomes MODEL_CHAIN_ERROR. */
export function toModelRegistryError(err: unknown, action: string, id?: bigint): ModelRegistryError {
  if (err instanceof ModelRegistryError) return err
  const modelId = id?.toString()
  const revert = decodeRevert(err)
  if (revert) {
    const { args } = revert
    switch (revert.name) {
      case 'UnknownModel':
        return new ModelRegistryError(
          { code: 'UNKNOWN_MODEL', modelId: String(args[0] ?? modelId) },
          `model ${args[0] ?? modelId} does not exist`,
        )
      case 'NotModelOwner':
        return new ModelRegistryError(
          { code: 'NOT_MODEL_OWNER', modelId: String(args[0]) },
          `${args[1]} is not the owner of model ${args[0]}: only the owner may change it`,
        )
      case 'ModelRetired':
        return new ModelRegistryError(
          { code: 'MODEL_RETIRED', modelId: String(args[0]) },
          `model ${args[0]} is retired: it can no longer be changed`,
        )
      case 'UnknownDatanetVersion':
        return new ModelRegistryError(
          { code: 'UNKNOWN_DATANET_VERSION', datanetId: String(args[0]), version: Number(args[1]) },
          `Datanet ${args[0]} has no version ${args[1]} on chain: a model can only name published Datanet versions`,
        )
      case 'UnknownBaseModel':
        return new ModelRegistryError(
          { code: 'UNKNOWN_BASE_MODEL', baseModelId: String(args[0]) },
          `model ${args[0]} does not exist: an adapter needs a registered base model`,
        )
      case 'BaseModelRetired':
        return new ModelRegistryError(
          { code: 'BASE_MODEL_RETIRED', baseModelId: String(args[0]) },
          `base model ${args[0]} is retired: no new adapter may be registered on it`,
        )
      case 'BaseIsAdapter':
        return new ModelRegistryError(
          { code: 'BASE_IS_ADAPTER', baseModelId: String(args[0]) },
          `model ${args[0]} is itself an adapter: an adapter's base must be a base model`,
        )
      case 'EmptyField':
        return new ModelRegistryError(
          { code: 'MODEL_EMPTY_FIELD', modelId },
          `${action}: a required field (artifact or adapter CID) is empty`,
        )
    }
  }
  return new ModelRegistryError(
    { code: 'MODEL_CHAIN_ERROR', modelId },
    `${action} failed: ${failureMessage(err)}`,
  )
}
