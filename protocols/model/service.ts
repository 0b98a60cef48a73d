// The model registry service: publishes a model folder to IPFS and the ModelRegistry, and fetches a
// registered model by id onto disk on a node that has never seen it.
//
// Layout in IPFS (UnixFS, CIDv1, raw leaves, 1 MiB chunks: Helia's defaults, so a file of one chunk has
// the same CID as in openledger.json):
//   artifact CID  → directory of the base folder's files (openledger.json, config.json, model.onnx, ...;
//                   never adapters/), so the artifact CID covers the manifest and the manifest every file
//   adapter CID   → directory holding one folder NAME/ with adapter_model.safetensors and
//                   adapter_config.json; the wrapping keeps the adapter's name, which the chain does not store
// Bytes from the network are checked twice: bitswap checks every block against its CID, and after writing,
// `loadModel` / `loadAdapter` check every file against the manifest. A model that fails is removed whole.
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { UnixFS } from '@helia/unixfs'
import type { CID } from 'multiformats/cid'
import { formatUnits, parseUnits } from 'viem'
import { parseCid as parseCidText } from '../common/cid.ts'
import { OpenLedgerError } from '../common/errors.ts'
import { collect, drain } from '../common/iterables.ts'
import { FILES } from './constants.ts'
import { ModelError, ModelErrorCode } from './errors.ts'
import { cidOf, loadAdapter, loadModel } from './folder.ts'
import type { ModelId, ModelRegistryPort, RegisteredModel, TrainedOn } from './registry.ts'
import { toModelId, UINT128_MAX } from './registry.ts'
import type { DatanetRef } from './train.ts'

export type ModelServiceErrorCode =
  /** A price is not a decimal amount of OPEN that fits the contract's uint128 wei. */
  | 'MODEL_INVALID_PRICE'
  /** A Datanet id in a manifest is not an on-chain id (e.g. a name), so it cannot be registered. */
  | 'UNKNOWN_DATANET_VERSION'
  /** An adapter under adapters/ was trained against another base model. */
  | 'ADAPTER_BASE_MISMATCH'
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
  /** Whole fetch (artifact and adapters), in ms. */
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

    const pinnedHere: CID[] = []
    let modelId: bigint
    try {
      for (const cid of roots) {
        if (await this.c.pins.isPinned(cid)) continue
        await drain(this.c.pins.add(cid))
        pinnedHere.push(cid)
      }
      modelId = await this.c.registry.registerModel({
        artifactCid: artifact.toString(),
        adapterCids: adapterRoots.map(String),
        trainedOn,
        pricePerKInput,
        pricePerKOutput,
      })
    } catch (err) {
      for (const cid of pinnedHere) await drain(this.c.pins.rm(cid)).catch(() => {})
      throw err
    }
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
    await assertEmptyOrAbsent(input.outDir)
    const timeout = AbortSignal.timeout(this.opts.fetchTimeoutMs)
    const signal = input.signal ? AbortSignal.any([timeout, input.signal]) : timeout
    const partial = join(
      dirname(input.outDir),
      `.${basename(input.outDir)}.partial-${randomBytes(4).toString('hex')}`,
    )
    const budget = { bytes: 0, files: 0, written: 0, onProgress: input.onProgress }
    try {
      await mkdir(partial, { recursive: true })
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
        const root = parseCid(text, modelId)
        const entries = await collect(this.c.unixfs.ls(root, { signal }), 2)
        const entry = entries[0]
        if (entries.length !== 1 || !entry || !SAFE_NAME.test(entry.name) || adapters.includes(entry.name)) {
          throw new ModelServiceError(
            { code: 'ARTIFACT_INVALID', modelId },
            `adapter ${text} of model ${modelId} is not a directory holding exactly one named adapter folder`,
          )
        }
        const target = join(partial, FILES.adapters, entry.name)
        await mkdir(target, { recursive: true })
        await this.fetchFiles(entry.cid, target, { modelId, signal, budget, allowed: ADAPTER_FILES })
        adapters.push(entry.name)
      }

      try {
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
      } catch (err) {
        if (err instanceof ModelError) {
          throw new ModelServiceError(
            {
              code: 'FETCHED_MODEL_INVALID',
              modelId,
              reason: err.code,
              file: (err.type as { file?: string }).file,
            },
            `model ${modelId} (${model.artifactCid}) fails verification: ${err.message}`,
          )
        }
        throw err
      }

      if (await exists(input.outDir)) await rmdir(input.outDir) // empty: checked above
      await rename(partial, input.outDir)
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
    } catch (err) {
      await rm(partial, { recursive: true, force: true })
      if (timeout.aborted && !(err instanceof OpenLedgerError)) {
        throw new ModelServiceError(
          { code: 'MODEL_FETCH_TIMEOUT', modelId },
          `model ${modelId}: its blocks did not arrive within ${this.opts.fetchTimeoutMs} ms (is a node providing ${model.artifactCid} reachable?)`,
        )
      }
      throw err
    }
  }

  async list(opts: { limit?: number } = {}): Promise<ModelView[]> {
    return (await this.c.registry.list(opts)).map(toView)
  }

  async show(modelId: ModelId): Promise<ModelView> {
    return toView(await this.c.registry.getModel(toModelId(modelId)))
  }

  /** Writes every file of a UnixFS directory into `dir`, refusing sub-directories and odd names. */
  private async fetchFiles(
    root: CID,
    dir: string,
    ctx: {
      modelId: string
      signal: AbortSignal
      budget: { bytes: number; files: number; written: number; onProgress?: (bytes: number) => void }
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
    if (!SAFE_NAME.test(name)) {
      throw new ModelServiceError(
        { code: 'ARTIFACT_INVALID', file: name },
        `adapter folder name ${JSON.stringify(name)} is not a plain name (letters, digits, . _ -)`,
      )
    }
    const adapterDir = join(dir, FILES.adapters, name)
    const adapter = await loadAdapter(adapterDir, model)
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
    adapters.push({ name, files })
    datanets.push(...adapter.config.openledger.datanets)
  }
  return { base, adapters, datanets }
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
