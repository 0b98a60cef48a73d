// The model registry service: publishes a model folder to IPFS and the ModelRegistry, and fetches a
// registered model by id onto disk on a node that has never seen it. Adapters are models too: one adapter
// folder can be registered on its own against a registered base (`registerAdapter`), and a serving node
// fetches one such adapter by its id (`fetchAdapter`), checked against the base it has loaded.
//
// Layout in IPFS (UnixFS, CIDv1, raw leaves, 1 MiB chunks: Helia's defaults, so a file of one chunk has
// the same CID as in openledger.json):
//   artifact CID  → directory of the base folder's files (openledger.json, config.json, model.onnx, ...;
//                   never adapters/), so the artifact CID covers the manifest and the manifest every file
//   adapter CID   → directory holding one folder NAME/ with adapter_model.safetensors and
//                   adapter_config.json; the wrapping keeps the adapter's name, which the chain does not store.
//                   Bundled adapters (a base's adapterCids) and registered adapters (an entry of their own,
//                   whose artifactCid is this CID) have the same layout.
// Bytes from the network are checked twice: bitswap checks every block against its CID, and after writing,
// `loadModel` / `loadAdapter` check every file against the manifest. A model that fails is removed whole.
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { UnixFS } from '@helia/unixfs'
import type { CID } from 'multiformats/cid'
import { formatUnits, parseUnits } from 'viem'
import { parseCid as parseCidText } from '../common/cid.ts'
import { hasCode, OpenLedgerError } from '../common/errors.ts'
import { collect, drain } from '../common/iterables.ts'
import { FILES } from './constants.ts'
import { ModelError, ModelErrorCode } from './errors.ts'
import {
  cidOf,
  type LoadedModel,
  loadAdapter,
  loadModel,
  type ModelManifest,
  parseManifest,
  parseModelConfig,
} from './folder.ts'
import type { LoraWeights, MlpConfig } from './mlp.ts'
import type { ModelId, ModelRegistryPort, RegisteredModel, TrainedOn } from './registry.ts'
import { ModelRegistryError, toModelId, UINT128_MAX } from './registry.ts'
import type { DatanetRef } from './train.ts'

export type ModelServiceErrorCode =
  /** A price is not a decimal amount of OPEN that fits the contract's uint128 wei. */
  | 'MODEL_INVALID_PRICE'
  /** A Datanet id in a manifest is not an on-chain id (e.g. a name), so it cannot be registered. */
  | 'UNKNOWN_DATANET_VERSION'
  /** An adapter was trained against another base model (its baseWeightsCid is not the base's weights). */
  | 'ADAPTER_BASE_MISMATCH'
  /** fetchAdapter: the id is a base model, not an adapter. */
  | 'NOT_AN_ADAPTER'
  /** fetchAdapter: the adapter is registered on another base model than the one expected. */
  | 'ADAPTER_NOT_FOR_BASE'
  /** fetchAdapter: the adapter or its base is retired, so it may no longer be served. */
  | 'ADAPTER_NOT_SERVABLE'
  /** fetch: the id is an adapter; fetch its base, then the adapter with fetchAdapter. */
  | 'MODEL_IS_ADAPTER'
  /** The fetch target already holds files; fetching never overwrites them. */
  | 'OUT_DIR_NOT_EMPTY'
  /** The registered CIDs do not lead to a model folder of the expected shape. */
  | 'ARTIFACT_INVALID'
  /** The model is larger than the fetch limit. */
  | 'MODEL_TOO_LARGE'
  /** The blocks did not arrive in time (no provider reachable, or too slow). */
  | 'MODEL_FETCH_TIMEOUT'
  /** The fetched folder fails `loadModel`/`loadAdapter` (reason: their code, e.g. MODEL_FILE_CORRUPTED). */
  | 'FETCHED_MODEL_INVALID'

export class ModelServiceError extends OpenLedgerError<{
  code: ModelServiceErrorCode
  modelId?: string
  reason?: string
  file?: string
}> {}

/** Limits and timeouts of `fetch`; the defaults suit the `small` preset with room to spare. */
export interface ModelServiceOptions {
  /** Whole fetch (artifact and adapters; one adapter for fetchAdapter), in ms. */
  fetchTimeoutMs?: number
  /** Sum of all fetched file sizes. */
  maxModelBytes?: number
  /** Entries in the artifact directory. */
  maxFiles?: number
  /** Adapters a model may carry. */
  maxAdapters?: number
  /** DHT provide of each new root, in ms; providing is best effort. */
  provideTimeoutMs?: number
}

export const MODEL_SERVICE_DEFAULTS: Required<ModelServiceOptions> = {
  fetchTimeoutMs: 5 * 60_000,
  maxModelBytes: 2 * 1024 ** 3,
  maxFiles: 32,
  maxAdapters: 64,
  provideTimeoutMs: 10_000,
}

type Signal = { signal?: AbortSignal }
export interface ModelServiceComponents {
  /** `unixfs(helia)` from @helia/unixfs */
  unixfs: Pick<UnixFS, 'addAll' | 'ls' | 'stat' | 'cat'>
  pins: {
    add(cid: CID, options?: Signal): AsyncIterable<CID>
    rm(cid: CID, options?: Signal): AsyncIterable<CID>
    isPinned(cid: CID, options?: Signal): Promise<boolean>
  }
  routing: { provide(cid: CID, options?: Signal): Promise<void> }
  registry: ModelRegistryPort
  log: {
    info(o: object, m?: string): void
    warn(o: object, m?: string): void
    debug(o: object, m?: string): void
  }
}

/** A registered model as the API and CLI show it (JSON-safe: ids and wei as decimal strings). */
export interface ModelView {
  modelId: string
  owner: string
  retired: boolean
  /** "0" for a base model; for an adapter, its base model's id */
  baseModelId: string
  /** OPEN per 1,000 input / output tokens, decimal */
  priceIn: string
  priceOut: string
  /** the same in wei, as the contract stores them */
  pricePerKInput: string
  pricePerKOutput: string
  artifactCid: string
  adapterCids: string[]
  trainedOn: Array<{ datanetId: string; version: number }>
}

export interface RegisterResult {
  modelId: string
  artifactCid: string
  adapterCids: string[]
  adapters: string[]
  trainedOn: Array<{ datanetId: string; version: number }>
  bytes: number
}

export interface RegisterAdapterResult {
  adapterId: string
  baseModelId: string
  adapterCid: string
  /** the adapter folder's name, kept in IPFS (the directory wraps a folder of that name) */
  name: string
  trainedOn: Array<{ datanetId: string; version: number }>
  bytes: number
}

/** What fetchAdapter checks an adapter against: the base model the serving node has loaded. */
export type AdapterBase = Pick<LoadedModel, 'config' | 'manifest'>

export interface FetchAdapterResult {
  adapterId: string
  baseModelId: string
  adapterCid: string
  name: string
  /** the adapter folder (adapter_model.safetensors, adapter_config.json) */
  dir: string
  /** the verified weights, ready for a backend */
  weights: LoraWeights
  files: number
  bytes: number
}

export interface FetchResult {
  modelId: string
  dir: string
  artifactCid: string
  adapters: string[]
  files: number
  bytes: number
}

interface FolderFile {
  path: string
  content: Uint8Array
}

type Budget = { bytes: number; files: number; written: number; onProgress?: (bytes: number) => void }

/** openledger.json and config.json of a base, read to check an adapter against it: a few kB in practice. */
const BASE_DESCRIPTION_MAX_BYTES = 1024 * 1024

/** Names allowed for files and adapter folders coming from the network (no separators, no dot-dot). */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/
const ADAPTER_FILES = new Set<string>([FILES.adapterWeights, FILES.adapterConfig])

export class ModelService {
  private readonly c: ModelServiceComponents
  private readonly opts: Required<ModelServiceOptions>

  constructor(components: ModelServiceComponents, options: ModelServiceOptions = {}) {
    this.c = components
    this.opts = { ...MODEL_SERVICE_DEFAULTS, ...options }
  }

  /**
   * Verifies the folder (every file against its manifest CID, every adapter against the base), adds it to
   * Helia, pins it, registers it on chain, then provides it on the DHT. A refused registration (an unknown
   * Datanet version, say) sends nothing and leaves nothing pinned.
   */
  async register(input: { dir: string; priceIn: string; priceOut: string }): Promise<RegisterResult> {
    const pricePerKInput = parsePrice('priceIn', input.priceIn)
    const pricePerKOutput = parsePrice('priceOut', input.priceOut)
    const folder = await readModelFolder(input.dir)
    const trainedOn = toTrainedOn(folder.datanets)

    const artifact = await addDirectory(this.c.unixfs, folder.base)
    const adapterRoots: CID[] = []
    for (const a of folder.adapters) adapterRoots.push(await addDirectory(this.c.unixfs, a.files, a.name))
    const roots = [artifact, ...adapterRoots]

    const modelId = await this.pinAndRegister(roots, () =>
      this.c.registry.registerModel({
        artifactCid: artifact.toString(),
        adapterCids: adapterRoots.map(String),
        trainedOn,
        pricePerKInput,
        pricePerKOutput,
      }),
    )
    await this.provide(roots)
    const bytes = [...folder.base, ...folder.adapters.flatMap((a) => a.files)].reduce(
      (n, f) => n + f.content.length,
      0,
    )
    this.c.log.info(
      {
        modelId: modelId.toString(),
        artifactCid: artifact.toString(),
        adapters: folder.adapters.length,
        bytes,
      },
      'model registered',
    )
    return {
      modelId: modelId.toString(),
      artifactCid: artifact.toString(),
      adapterCids: adapterRoots.map(String),
      adapters: folder.adapters.map((a) => a.name),
      trainedOn: trainedOn.map((t) => ({ datanetId: t.datanetId.toString(), version: t.version })),
      bytes,
    }
  }

  /**
   * Reads the model's CIDs from the registry, fetches the artifact and its adapters (to outDir/adapters/NAME)
   * over bitswap, and verifies every file against the manifest before the folder appears at `outDir`.
   * Files are written to a sibling temporary folder first, so a failed fetch leaves no folder behind.
   */
  async fetch(input: {
    modelId: ModelId
    outDir: string
    signal?: AbortSignal
    /** Called as file bytes arrive, with the running total (the model's size is not known up front). */
    onProgress?: (bytesWritten: number) => void
  }): Promise<FetchResult> {
    const model = await this.c.registry.getModel(input.modelId)
    const modelId = model.modelId.toString()
    if (model.baseModelId !== 0n) {
      throw new ModelServiceError(
        { code: 'MODEL_IS_ADAPTER', modelId },
        `model ${modelId} is an adapter of model ${model.baseModelId}: fetch model ${model.baseModelId}, then the adapter with fetchAdapter`,
      )
    }
    return this.intoFolder({ ...input, modelId, cid: model.artifactCid }, async (partial, signal, budget) => {
      const artifact = parseCid(model.artifactCid, modelId)
      await this.fetchFiles(artifact, partial, { modelId, signal, budget, allowed: null })
      if (model.adapterCids.length > this.opts.maxAdapters) {
        throw new ModelServiceError(
          { code: 'ARTIFACT_INVALID', modelId },
          `model ${modelId} lists ${model.adapterCids.length} adapters, more than the limit of ${this.opts.maxAdapters}`,
        )
      }
      const adapters: string[] = []
      for (const text of model.adapterCids) {
        const entry = await this.adapterFolderIn(parseCid(text, modelId), { modelId, signal, cid: text })
        if (adapters.includes(entry.name)) {
          throw new ModelServiceError(
            { code: 'ARTIFACT_INVALID', modelId, file: entry.name },
            `model ${modelId} lists two adapters named ${entry.name}`,
          )
        }
        const target = join(partial, FILES.adapters, entry.name)
        await mkdir(target, { recursive: true })
        await this.fetchFiles(entry.cid, target, { modelId, signal, budget, allowed: ADAPTER_FILES })
        adapters.push(entry.name)
      }

      await verifyFetched(modelId, model.artifactCid, async () => {
        const loaded = await loadModel(partial)
        for (const name of adapters) {
          const adapter = await loadAdapter(join(partial, FILES.adapters, name), loaded)
          if (!adapter.baseMatches) {
            throw new ModelServiceError(
              { code: 'ADAPTER_BASE_MISMATCH', modelId, file: name },
              `adapter ${name} of model ${modelId} was trained against another base model`,
            )
          }
        }
        this.warnIfTrainedOnDiffers(model, loaded.manifest.datanets)
      })
      this.c.log.info(
        { modelId, dir: input.outDir, bytes: budget.bytes, adapters: adapters.length },
        'model fetched',
      )
      return {
        modelId,
        dir: input.outDir,
        artifactCid: model.artifactCid,
        adapters,
        files: budget.files,
        bytes: budget.bytes,
      }
    })
  }

  /**
   * Registers one adapter folder (adapter_model.safetensors, adapter_config.json) as a model of its own on
   * the registered base `baseModelId`, owned by this node's account. The base must be a live base model;
   * the adapter is checked against it before anything is published: the base's `openledger.json` and
   * `config.json` are read from its artifact in IPFS (two small files, not the whole model), and
   * `loadAdapter` checks the adapter's CIDs, its tensor shapes against the base's config, and that it was
   * trained against the base's weights. The folder's name is kept in IPFS, as for bundled adapters; its
   * Datanet versions come from its adapter_config.json. A refused registration sends nothing and leaves
   * nothing pinned.
   */
  async registerAdapter(input: {
    baseModelId: ModelId
    dir: string
    priceIn: string
    priceOut: string
    signal?: AbortSignal
  }): Promise<RegisterAdapterResult> {
    const pricePerKInput = parsePrice('priceIn', input.priceIn)
    const pricePerKOutput = parsePrice('priceOut', input.priceOut)
    const base = await this.liveBase(input.baseModelId)
    const baseModelId = base.modelId.toString()
    const dir = resolve(input.dir)
    const name = basename(dir)
    const timeout = AbortSignal.timeout(this.opts.fetchTimeoutMs)
    const signal = input.signal ? AbortSignal.any([timeout, input.signal]) : timeout
    let description: AdapterBase
    try {
      description = await this.readBaseDescription(base, signal)
    } catch (err) {
      if (timeout.aborted && !(err instanceof OpenLedgerError)) {
        throw new ModelServiceError(
          { code: 'MODEL_FETCH_TIMEOUT', modelId: baseModelId },
          `base model ${baseModelId}: its manifest did not arrive within ${this.opts.fetchTimeoutMs} ms (is a node providing ${base.artifactCid} reachable?)`,
        )
      }
      throw err
    }
    const adapter = await readAdapterFolder(dir, name, description)
    const trainedOn = toTrainedOn(adapter.datanets)
    const root = await addDirectory(this.c.unixfs, adapter.files, name)
    const adapterId = await this.pinAndRegister([root], () =>
      this.c.registry.registerAdapter({
        baseModelId: base.modelId,
        adapterCid: root.toString(),
        trainedOn,
        pricePerKInput,
        pricePerKOutput,
      }),
    )
    await this.provide([root])
    const bytes = adapter.files.reduce((n, f) => n + f.content.length, 0)
    this.c.log.info(
      { adapterId: adapterId.toString(), baseModelId, adapterCid: root.toString(), name, bytes },
      'adapter registered',
    )
    return {
      adapterId: adapterId.toString(),
      baseModelId,
      adapterCid: root.toString(),
      name,
      trainedOn: trainedOn.map((t) => ({ datanetId: t.datanetId.toString(), version: t.version })),
      bytes,
    }
  }

  /**
   * Fetches one registered adapter by its id for a node serving `baseModelId` (loaded as `base`): the
   * registry entry must be an adapter of that base and servable (neither it nor its base retired); its CID
   * is fetched over bitswap like a bundled adapter (a directory holding one named folder) into `outDir`
   * (absent or empty; written through a hidden sibling folder, removed on any failure), and `loadAdapter`
   * checks its files, its shapes and that it was trained against this base's weights.
   */
  async fetchAdapter(input: {
    adapterId: ModelId
    baseModelId: ModelId
    base: AdapterBase
    outDir: string
    signal?: AbortSignal
  }): Promise<FetchAdapterResult> {
    const expectedBase = toModelId(input.baseModelId)
    const entry = await this.c.registry.getModel(input.adapterId)
    const adapterId = entry.modelId.toString()
    if (entry.baseModelId === 0n) {
      throw new ModelServiceError(
        { code: 'NOT_AN_ADAPTER', modelId: adapterId },
        `model ${adapterId} is a base model, not an adapter`,
      )
    }
    if (entry.baseModelId !== expectedBase) {
      throw new ModelServiceError(
        { code: 'ADAPTER_NOT_FOR_BASE', modelId: adapterId, reason: entry.baseModelId.toString() },
        `adapter ${adapterId} is registered for base model ${entry.baseModelId}, not ${expectedBase}`,
      )
    }
    if (!(await this.c.registry.isServable(entry.modelId))) {
      throw new ModelServiceError(
        { code: 'ADAPTER_NOT_SERVABLE', modelId: adapterId },
        `adapter ${adapterId} may no longer be served: it or its base model ${expectedBase} is retired`,
      )
    }
    return this.intoFolder(
      { ...input, modelId: adapterId, cid: entry.artifactCid },
      async (partial, signal, budget) => {
        const folder = await this.adapterFolderIn(parseCid(entry.artifactCid, adapterId), {
          modelId: adapterId,
          signal,
          cid: entry.artifactCid,
        })
        await this.fetchFiles(folder.cid, partial, {
          modelId: adapterId,
          signal,
          budget,
          allowed: ADAPTER_FILES,
        })
        const loaded = await verifyFetched(adapterId, entry.artifactCid, () =>
          loadAdapter(partial, input.base),
        )
        if (!loaded.baseMatches) {
          throw new ModelServiceError(
            { code: 'ADAPTER_BASE_MISMATCH', modelId: adapterId, file: folder.name },
            `adapter ${adapterId} (${folder.name}) was trained against another base model than the one loaded as model ${expectedBase}`,
          )
        }
        this.c.log.info(
          { adapterId, baseModelId: expectedBase.toString(), dir: input.outDir, bytes: budget.bytes },
          'adapter fetched',
        )
        return {
          adapterId,
          baseModelId: expectedBase.toString(),
          adapterCid: entry.artifactCid,
          name: folder.name,
          dir: input.outDir,
          weights: loaded.weights,
          files: budget.files,
          bytes: budget.bytes,
        }
      },
    )
  }

  async list(opts: { limit?: number } = {}): Promise<ModelView[]> {
    return (await this.c.registry.list(opts)).map(toView)
  }

  async show(modelId: ModelId): Promise<ModelView> {
    return toView(await this.c.registry.getModel(toModelId(modelId)))
  }

  /**
   * Runs `work` on a hidden sibling of `outDir` (which must be absent or empty) under one deadline and one
   * byte budget, then renames it to `outDir`; any failure removes it, and blocks that did not arrive in
   * time become MODEL_FETCH_TIMEOUT.
   */
  private async intoFolder<T>(
    input: {
      modelId: string
      cid: string
      outDir: string
      signal?: AbortSignal
      onProgress?: (bytesWritten: number) => void
    },
    work: (partial: string, signal: AbortSignal, budget: Budget) => Promise<T>,
  ): Promise<T> {
    await assertEmptyOrAbsent(input.outDir)
    const timeout = AbortSignal.timeout(this.opts.fetchTimeoutMs)
    const signal = input.signal ? AbortSignal.any([timeout, input.signal]) : timeout
    const partial = join(
      dirname(input.outDir),
      `.${basename(input.outDir)}.partial-${randomBytes(4).toString('hex')}`,
    )
    const budget: Budget = { bytes: 0, files: 0, written: 0, onProgress: input.onProgress }
    try {
      await mkdir(partial, { recursive: true })
      const result = await work(partial, signal, budget)
      if (await exists(input.outDir)) await rmdir(input.outDir) // empty: checked above
      await rename(partial, input.outDir)
      return result
    } catch (err) {
      await rm(partial, { recursive: true, force: true })
      if (timeout.aborted && !(err instanceof OpenLedgerError)) {
        throw new ModelServiceError(
          { code: 'MODEL_FETCH_TIMEOUT', modelId: input.modelId },
          `model ${input.modelId}: its blocks did not arrive within ${this.opts.fetchTimeoutMs} ms (is a node providing ${input.cid} reachable?)`,
        )
      }
      throw err
    }
  }

  /** An adapter CID is a directory holding exactly one folder, named plainly: returns that folder. */
  private async adapterFolderIn(
    root: CID,
    ctx: { modelId: string; signal: AbortSignal; cid: string },
  ): Promise<{ name: string; cid: CID }> {
    const entries = await collect(this.c.unixfs.ls(root, { signal: ctx.signal }), 2)
    const entry = entries[0]
    if (entries.length !== 1 || !entry || !SAFE_NAME.test(entry.name)) {
      throw new ModelServiceError(
        { code: 'ARTIFACT_INVALID', modelId: ctx.modelId },
        `adapter ${ctx.cid} of model ${ctx.modelId} is not a directory holding exactly one named adapter folder`,
      )
    }
    return { name: entry.name, cid: entry.cid }
  }

  /** The registered base `id`, which must be a live base model (the contract checks the same again). */
  private async liveBase(id: ModelId): Promise<RegisteredModel> {
    let base: RegisteredModel
    try {
      base = await this.c.registry.getModel(id)
    } catch (err) {
      if (!hasCode(err, 'UNKNOWN_MODEL')) throw err
      throw new ModelRegistryError(
        { code: 'UNKNOWN_BASE_MODEL', baseModelId: String(id) },
        `model ${String(id)} does not exist: an adapter needs a registered base model`,
      )
    }
    const baseModelId = base.modelId.toString()
    if (base.baseModelId !== 0n) {
      throw new ModelRegistryError(
        { code: 'BASE_IS_ADAPTER', baseModelId },
        `model ${baseModelId} is itself an adapter: an adapter's base must be a base model`,
      )
    }
    if (base.retired) {
      throw new ModelRegistryError(
        { code: 'BASE_MODEL_RETIRED', baseModelId },
        `base model ${baseModelId} is retired: no new adapter may be registered on it`,
      )
    }
    return base
  }

  /**
   * A registered base's `openledger.json` and `config.json`, read from its artifact directory in IPFS: what
   * `loadAdapter` checks an adapter against. The artifact CID covers the manifest; config.json is checked
   * against the manifest's CID for it.
   */
  private async readBaseDescription(base: RegisteredModel, signal: AbortSignal): Promise<AdapterBase> {
    const modelId = base.modelId.toString()
    const root = parseCid(base.artifactCid, modelId)
    const entries = await collect(this.c.unixfs.ls(root, { signal }), this.opts.maxFiles + 1)
    const read = async (file: string): Promise<Uint8Array> => {
      const entry = entries.find((e) => e.name === file)
      if (!entry) {
        throw new ModelServiceError(
          { code: 'ARTIFACT_INVALID', modelId, file },
          `the artifact of base model ${modelId} (${base.artifactCid}) holds no ${file}`,
        )
      }
      const chunks: Uint8Array[] = []
      let size = 0
      for await (const chunk of this.c.unixfs.cat(entry.cid, { signal })) {
        size += chunk.length
        if (size > BASE_DESCRIPTION_MAX_BYTES) {
          throw new ModelServiceError(
            { code: 'ARTIFACT_INVALID', modelId, file },
            `${file} of base model ${modelId} is larger than ${BASE_DESCRIPTION_MAX_BYTES} bytes`,
          )
        }
        chunks.push(chunk)
      }
      return Buffer.concat(chunks)
    }
    try {
      const manifest: ModelManifest = parseManifest(await read(FILES.manifest))
      const configBytes = await read(FILES.config)
      if ((await cidOf(configBytes)) !== manifest.files[FILES.config]) {
        throw new ModelError(
          { code: ModelErrorCode.FILE_CORRUPTED, file: FILES.config },
          `${FILES.config} does not match the CID ${FILES.manifest} records for it`,
        )
      }
      const config: MlpConfig = parseModelConfig(configBytes)
      return { manifest, config }
    } catch (err) {
      if (err instanceof ModelError) {
        throw new ModelServiceError(
          { code: 'ARTIFACT_INVALID', modelId, reason: err.code, file: (err.type as { file?: string }).file },
          `base model ${modelId} (${base.artifactCid}) is not a model folder: ${err.message}`,
        )
      }
      throw err
    }
  }

  /** Pins the roots, then registers; a refused registration unpins what was pinned here. */
  private async pinAndRegister(roots: CID[], register: () => Promise<bigint>): Promise<bigint> {
    const pinnedHere: CID[] = []
    try {
      for (const cid of roots) {
        if (await this.c.pins.isPinned(cid)) continue
        await drain(this.c.pins.add(cid))
        pinnedHere.push(cid)
      }
      return await register()
    } catch (err) {
      for (const cid of pinnedHere) await drain(this.c.pins.rm(cid)).catch(() => {})
      throw err
    }
  }

  /** Writes every file of a UnixFS directory into `dir`, refusing sub-directories and odd names. */
  private async fetchFiles(
    root: CID,
    dir: string,
    ctx: {
      modelId: string
      signal: AbortSignal
      budget: Budget
      allowed: Set<string> | null
    },
  ): Promise<void> {
    const { modelId, signal, budget } = ctx
    const entries = await collect(this.c.unixfs.ls(root, { signal }), this.opts.maxFiles + 1)
    if (entries.length > this.opts.maxFiles) {
      throw new ModelServiceError(
        { code: 'ARTIFACT_INVALID', modelId },
        `${root} holds more than ${this.opts.maxFiles} entries: not a model folder`,
      )
    }
    for (const entry of entries) {
      if (!SAFE_NAME.test(entry.name) || (ctx.allowed && !ctx.allowed.has(entry.name))) {
        throw new ModelServiceError(
          { code: 'ARTIFACT_INVALID', modelId, file: entry.name },
          `${root} holds an unexpected entry ${JSON.stringify(entry.name)}`,
        )
      }
      const info = await this.c.unixfs.stat(entry.cid, { signal })
      if (info.type === 'directory') {
        throw new ModelServiceError(
          { code: 'ARTIFACT_INVALID', modelId, file: entry.name },
          `${root}/${entry.name} is a directory; a model artifact holds only files (adapters are registered separately)`,
        )
      }
      this.charge(budget, Number(info.size), modelId)
      let written = 0
      const limit = Number(info.size)
      const self = this
      const source = async function* () {
        for await (const chunk of self.c.unixfs.cat(entry.cid, { signal })) {
          written += chunk.length
          budget.written += chunk.length
          budget.onProgress?.(budget.written)
          // The stat size comes from the network too: hold the stream to it.
          if (written > limit) self.charge(budget, written - limit, modelId)
          yield chunk
        }
      }
      await pipeline(source(), createWriteStream(join(dir, entry.name), { flags: 'wx' }), { signal })
      budget.files++
    }
  }

  private charge(budget: { bytes: number }, n: number, modelId: string): void {
    budget.bytes += n
    if (budget.bytes > this.opts.maxModelBytes) {
      throw new ModelServiceError(
        { code: 'MODEL_TOO_LARGE', modelId },
        `model ${modelId} is larger than the fetch limit of ${this.opts.maxModelBytes} bytes`,
      )
    }
  }

  private warnIfTrainedOnDiffers(model: RegisteredModel, manifestDatanets: DatanetRef[]): void {
    const onChain = new Set(model.trainedOn.map((t) => `${t.datanetId}@${t.version}`))
    const missing = manifestDatanets.filter((d) => !onChain.has(`${d.datanetId}@${d.version}`))
    if (missing.length > 0) {
      this.c.log.warn(
        { modelId: model.modelId.toString(), missing },
        'the manifest names Datanet versions the registry entry does not',
      )
    }
  }

  private async provide(roots: CID[]): Promise<void> {
    await Promise.all(
      roots.map(async (cid) => {
        try {
          await this.c.routing.provide(cid, { signal: AbortSignal.timeout(this.opts.provideTimeoutMs) })
        } catch (err) {
          this.c.log.warn(
            { cid: cid.toString(), err: (err as Error).message },
            'providing a model root failed',
          )
        }
      }),
    )
  }
}

interface ModelFolder {
  base: FolderFile[]
  adapters: Array<{ name: string; files: FolderFile[] }>
  datanets: DatanetRef[]
}

/**
 * Reads a model folder for publishing: `loadModel` checks it, then the exact bytes published are checked
 * again against the manifest (the folder may change in between). Only files the manifest lists are
 * published (plus openledger.json and README.md), and only the two known files of each adapter.
 */
export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const model = await loadModel(dir)
  const base: FolderFile[] = []
  for (const [name, cid] of Object.entries(model.manifest.files)) {
    const content = new Uint8Array(await readFile(join(dir, name)))
    const actual = await cidOf(content)
    if (actual !== cid) {
      throw new ModelError(
        { code: ModelErrorCode.FILE_CORRUPTED, file: name, expected: cid, actual },
        `${name} changed while it was being registered`,
      )
    }
    base.push({ path: name, content })
  }
  base.push({ path: FILES.manifest, content: new Uint8Array(await readFile(join(dir, FILES.manifest))) })
  try {
    base.push({ path: 'README.md', content: new Uint8Array(await readFile(join(dir, 'README.md'))) })
  } catch {}

  const datanets = [...model.manifest.datanets]
  const adapters: ModelFolder['adapters'] = []
  let names: string[] = []
  try {
    names = (await readdir(join(dir, FILES.adapters), { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
  } catch {}
  for (const name of names) {
    const adapter = await readAdapterFolder(join(dir, FILES.adapters, name), name, model)
    adapters.push({ name, files: adapter.files })
    datanets.push(...adapter.datanets)
  }
  return { base, adapters, datanets }
}

/**
 * Reads one adapter folder for publishing under `name`: `loadAdapter` checks it against the base (CIDs,
 * shapes, trained against the base's weights), then the exact bytes published are checked again.
 */
async function readAdapterFolder(
  adapterDir: string,
  name: string,
  base: AdapterBase,
): Promise<{ files: FolderFile[]; datanets: DatanetRef[] }> {
  if (!SAFE_NAME.test(name)) {
    throw new ModelServiceError(
      { code: 'ARTIFACT_INVALID', file: name },
      `adapter folder name ${JSON.stringify(name)} is not a plain name (letters, digits, . _ -)`,
    )
  }
  const adapter = await loadAdapter(adapterDir, base)
  if (!adapter.baseMatches) {
    throw new ModelServiceError(
      { code: 'ADAPTER_BASE_MISMATCH', file: name },
      `adapter ${name} was trained against another base model (baseWeightsCid ${adapter.config.openledger.baseWeightsCid})`,
    )
  }
  const files: FolderFile[] = []
  for (const file of [FILES.adapterWeights, FILES.adapterConfig]) {
    files.push({ path: file, content: new Uint8Array(await readFile(join(adapterDir, file))) })
  }
  if ((await cidOf(files[0]!.content)) !== adapter.config.openledger.weightsCid) {
    throw new ModelError(
      { code: ModelErrorCode.FILE_CORRUPTED, file: join(name, FILES.adapterWeights) },
      `adapter ${name}: ${FILES.adapterWeights} changed while it was being registered`,
    )
  }
  return { files, datanets: adapter.config.openledger.datanets ?? [] }
}

/** Runs the fetched folder's checks; a ModelError from loadModel/loadAdapter becomes FETCHED_MODEL_INVALID. */
async function verifyFetched<T>(modelId: string, cid: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check()
  } catch (err) {
    if (err instanceof ModelError) {
      throw new ModelServiceError(
        {
          code: 'FETCHED_MODEL_INVALID',
          modelId,
          reason: err.code,
          file: (err.type as { file?: string }).file,
        },
        `model ${modelId} (${cid}) fails verification: ${err.message}`,
      )
    }
    throw err
  }
}

/**
 * Adds files as one UnixFS directory and returns its CID; with `wrapIn`, the files sit in a folder of that
 * name inside the returned directory. Exported so tests can publish folders `register` would refuse.
 */
export async function addDirectory(
  fs: ModelServiceComponents['unixfs'],
  files: FolderFile[],
  wrapIn?: string,
): Promise<CID> {
  const prefix = wrapIn ? `${wrapIn}/` : ''
  let root: CID | undefined
  for await (const entry of fs.addAll(
    files.map((f) => ({ path: `${prefix}${f.path}`, content: f.content })),
    { wrapWithDirectory: true },
  )) {
    if (entry.path === '') root = entry.cid
  }
  if (!root) throw new Error('UnixFS import produced no root directory')
  return root
}

/** `openledger.json` ids are strings; on chain they are uint256 and versions uint32. Duplicates are dropped. */
function toTrainedOn(refs: DatanetRef[]): TrainedOn[] {
  const seen = new Set<string>()
  const out: TrainedOn[] = []
  for (const ref of refs) {
    const id = String(ref.datanetId)
    if (!/^[1-9]\d{0,76}$/.test(id) || !Number.isInteger(ref.version) || ref.version < 1) {
      throw new ModelServiceError(
        { code: 'UNKNOWN_DATANET_VERSION', reason: `${id}@${ref.version}` },
        `Datanet ${JSON.stringify(id)} version ${ref.version} in the model's manifest is not an on-chain Datanet version (ids and versions start at 1)`,
      )
    }
    const key = `${id}@${ref.version}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ datanetId: BigInt(id), version: ref.version })
  }
  return out
}

/** A price is decimal OPEN per 1,000 tokens (the contract's unit), e.g. "0.5"; returned in wei. */
export function parsePrice(name: string, text: string): bigint {
  const value = String(text ?? '').trim()
  if (!/^\d+(\.\d{1,18})?$/.test(value)) {
    throw new ModelServiceError(
      { code: 'MODEL_INVALID_PRICE', reason: name },
      `${name} ${JSON.stringify(text)} is not a decimal amount of OPEN per 1,000 tokens (e.g. 0.5)`,
    )
  }
  const wei = parseUnits(value, 18)
  if (wei > UINT128_MAX) {
    throw new ModelServiceError(
      { code: 'MODEL_INVALID_PRICE', reason: name },
      `${name} ${value} OPEN is too large`,
    )
  }
  return wei
}

function toView(m: RegisteredModel): ModelView {
  return {
    modelId: m.modelId.toString(),
    owner: m.owner,
    retired: m.retired,
    baseModelId: m.baseModelId.toString(),
    priceIn: formatUnits(m.pricePerKInput, 18),
    priceOut: formatUnits(m.pricePerKOutput, 18),
    pricePerKInput: m.pricePerKInput.toString(),
    pricePerKOutput: m.pricePerKOutput.toString(),
    artifactCid: m.artifactCid,
    adapterCids: m.adapterCids,
    trainedOn: m.trainedOn.map((t) => ({ datanetId: t.datanetId.toString(), version: t.version })),
  }
}

function parseCid(text: string, modelId: string): CID {
  const cid = parseCidText(text)
  if (cid === undefined)
    throw new ModelServiceError(
      { code: 'ARTIFACT_INVALID', modelId },
      `model ${modelId} is registered with ${JSON.stringify(text)}, which is not a CID`,
    )
  return cid
}

async function assertEmptyOrAbsent(dir: string): Promise<void> {
  let entries: string[]
  try {
    if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' })
    entries = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new ModelServiceError({ code: 'OUT_DIR_NOT_EMPTY', file: dir }, `${dir} exists and is not a folder`)
  }
  if (entries.length > 0) {
    throw new ModelServiceError(
      { code: 'OUT_DIR_NOT_EMPTY', file: dir },
      `${dir} is not empty: fetch into a new or empty folder`,
    )
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}
