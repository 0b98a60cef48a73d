// The model folder, laid out like a Hugging Face model so standard tools can read it:
//   config.json  tokenizer.json  tokenizer_config.json  generation_config.json
//   model.onnx  model.safetensors  openledger.json (manifest)  adapters/NAME/{adapter_model.safetensors,
//   adapter_config.json}
// The manifest records the Datanet versions the model was trained on and the CID (CIDv1, raw codec,
// sha2-256) of every file, so a folder fetched from anywhere is checked byte for byte before it is used.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { FILES, MANIFEST_FORMAT, MODEL_TYPE } from './constants.ts'
import { ModelError, ModelErrorCode } from './errors.ts'
import { baseTensorSpecs, type LoraWeights, loraTensorSpecs, type MlpConfig, type MlpWeights } from './mlp.ts'
import { exportOnnx } from './onnx.ts'
import { decodeSafetensors, encodeSafetensors } from './safetensors.ts'
import { Tokenizer } from './tokenizer.ts'
import type { DatanetRef, TrainedModel } from './train.ts'

export interface ModelManifest {
  format: typeof MANIFEST_FORMAT
  modelType: typeof MODEL_TYPE
  /** The exact Datanet versions the base model was trained on. */
  datanets: DatanetRef[]
  /** File name → CID of its bytes. */
  files: Record<string, string>
  /** Deterministic facts about training (seed, preset, steps, perplexities); no timings. */
  training: Record<string, string | number>
}

export interface AdapterConfig {
  peft_type: 'LORA'
  r: number
  lora_alpha: number
  target_modules: string[]
  openledger: {
    format: typeof MANIFEST_FORMAT
    /** CID of the base model.safetensors this adapter was trained against. */
    baseWeightsCid: string
    /** CID of adapter_model.safetensors. */
    weightsCid: string
    datanets: DatanetRef[]
    layout: string
    training: Record<string, string | number>
  }
}

export interface LoadedModel extends TrainedModel {
  dir: string
  manifest: ModelManifest
  onnx: Uint8Array
}

/** CIDv1 (raw codec, sha2-256) of the bytes; for files up to one chunk it equals Helia's raw-leaf CID. */
export async function cidOf(bytes: Uint8Array): Promise<string> {
  return CID.createV1(raw.code, await sha256.digest(bytes)).toString()
}

const json = (v: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`)

export function hfConfig(config: MlpConfig, eot: number): Record<string, unknown> {
  return {
    architectures: ['OpenLedgerMlpLM'],
    model_type: MODEL_TYPE,
    vocab_size: config.vocabSize,
    context_size: config.contextSize,
    embed_dim: config.embedDim,
    hidden_size: config.hiddenSize,
    hidden_act: 'tanh',
    bos_token_id: eot,
    eos_token_id: eot,
    pad_token_id: eot,
    torch_dtype: 'float32',
    weight_layout: 'projection weights are [in, out]: Y = X·W + b',
  }
}

export interface SaveModelOptions {
  datanets?: DatanetRef[]
  training?: Record<string, string | number>
}

/** Writes the model folder (creating it) and returns its manifest. */
export async function saveModel(
  dir: string,
  model: TrainedModel,
  opts: SaveModelOptions = {},
): Promise<ModelManifest> {
  const { config, tokenizer, weights } = model
  const eot = tokenizer.endOfTextId
  const files: Array<[string, Uint8Array]> = [
    [FILES.config, json(hfConfig(config, eot))],
    [FILES.tokenizer, json(tokenizer.toJSON())],
    [
      FILES.tokenizerConfig,
      json({
        tokenizer_class: 'PreTrainedTokenizerFast',
        bos_token: '<|endoftext|>',
        eos_token: '<|endoftext|>',
        pad_token: '<|endoftext|>',
        model_max_length: config.contextSize,
        clean_up_tokenization_spaces: false,
      }),
    ],
    [
      FILES.generationConfig,
      json({ bos_token_id: eot, eos_token_id: eot, pad_token_id: eot, max_new_tokens: 64 }),
    ],
    [FILES.weights, encodeSafetensors(weightTensors(config, weights), { format: MODEL_TYPE })],
    [FILES.onnx, exportOnnx(config, weights)],
  ]
  await mkdir(dir, { recursive: true })
  const cids: Record<string, string> = {}
  for (const [name, bytes] of files) {
    await writeFile(join(dir, name), bytes)
    cids[name] = await cidOf(bytes)
  }
  const manifest: ModelManifest = {
    format: MANIFEST_FORMAT,
    modelType: MODEL_TYPE,
    datanets: opts.datanets ?? [],
    files: cids,
    training: opts.training ?? {},
  }
  await writeFile(join(dir, FILES.manifest), json(manifest))
  return manifest
}

function weightTensors(config: MlpConfig, w: MlpWeights) {
  return baseTensorSpecs(config).map((s) => ({ name: s.name, shape: s.shape, data: w[s.key] }))
}

async function readOrMissing(path: string, file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelError({ code: ModelErrorCode.FILE_MISSING, file }, `${file} is missing (${path})`)
    }
    throw err
  }
}

function parseJson(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new ModelError(
      { code: ModelErrorCode.FORMAT_INVALID, file, reason: 'not JSON' },
      `${file} is not valid JSON`,
    )
  }
}

async function verifyCid(bytes: Uint8Array, expected: string, file: string): Promise<void> {
  const actual = await cidOf(bytes)
  if (actual !== expected) {
    throw new ModelError(
      { code: ModelErrorCode.FILE_CORRUPTED, file, expected, actual },
      `${file} is corrupted: its CID is ${actual} but the manifest records ${expected}`,
    )
  }
}

/** Files a model folder may hold besides those its manifest lists. */
const ALLOWED_EXTRA = new Set<string>([FILES.manifest, FILES.adapters, 'README.md'])

export async function readManifest(dir: string): Promise<ModelManifest> {
  return parseManifest(await readOrMissing(join(dir, FILES.manifest), FILES.manifest))
}

/** `openledger.json` from its bytes (e.g. read from IPFS), checked for format. */
export function parseManifest(bytes: Uint8Array): ModelManifest {
  const manifest = parseJson(bytes, FILES.manifest) as ModelManifest
  if (manifest?.format !== MANIFEST_FORMAT || typeof manifest.files !== 'object' || manifest.files === null) {
    throw new ModelError(
      {
        code: ModelErrorCode.FORMAT_INVALID,
        file: FILES.manifest,
        reason: `format is not ${MANIFEST_FORMAT}`,
      },
      `${FILES.manifest} is not an OpenLedger model manifest (${MANIFEST_FORMAT})`,
    )
  }
  return manifest
}

/** Loads a model folder, checking every file against the manifest's CIDs and the weights against config.json. */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const manifest = await readManifest(dir)
  for (const name of await readdir(dir)) {
    if (!ALLOWED_EXTRA.has(name) && !(name in manifest.files)) {
      throw new ModelError(
        { code: ModelErrorCode.FILE_UNKNOWN, file: name },
        `${name} in ${dir} is not listed in ${FILES.manifest}; remove it or re-export the model`,
      )
    }
  }
  const bytes = new Map<string, Uint8Array>()
  for (const [name, cid] of Object.entries(manifest.files)) {
    const b = await readOrMissing(join(dir, name), name)
    await verifyCid(b, cid, name)
    bytes.set(name, b)
  }
  const need = (name: string): Uint8Array => {
    const b = bytes.get(name)
    if (b === undefined)
      throw new ModelError(
        { code: ModelErrorCode.FILE_MISSING, file: name },
        `${FILES.manifest} does not list ${name}`,
      )
    return b
  }
  const config = parseModelConfig(need(FILES.config))
  const tokenizer = Tokenizer.fromJSON(parseJson(need(FILES.tokenizer), FILES.tokenizer))
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new ModelError(
      {
        code: ModelErrorCode.FORMAT_INVALID,
        file: FILES.tokenizer,
        reason: 'vocabulary size differs from config.json',
      },
      `${FILES.tokenizer} has ${tokenizer.vocabSize} tokens but config.json says ${config.vocabSize}`,
    )
  }
  const { tensors } = decodeSafetensors(need(FILES.weights), FILES.weights)
  const weights = {} as MlpWeights
  for (const spec of baseTensorSpecs(config)) {
    const t = tensors.get(spec.name)
    if (t === undefined || t.shape.join(',') !== spec.shape.join(',')) {
      throw new ModelError(
        {
          code: ModelErrorCode.FORMAT_INVALID,
          file: FILES.weights,
          reason: `tensor ${spec.name} missing or misshapen`,
        },
        `${FILES.weights}: tensor ${spec.name} should have shape [${spec.shape}], found ${t ? `[${t.shape}]` : 'none'}`,
      )
    }
    weights[spec.key] = t.data
  }
  return { dir, manifest, config, tokenizer, weights, onnx: need(FILES.onnx) }
}

/** The model's shape from the bytes of its config.json. */
export function parseModelConfig(bytes: Uint8Array): MlpConfig {
  const cfg = parseJson(bytes, FILES.config) as Record<string, number> | null
  const config: MlpConfig = {
    vocabSize: cfg?.vocab_size as number,
    contextSize: cfg?.context_size as number,
    embedDim: cfg?.embed_dim as number,
    hiddenSize: cfg?.hidden_size as number,
  }
  if (
    cfg?.model_type !== (MODEL_TYPE as unknown) ||
    !Object.values(config).every((v) => Number.isInteger(v) && v > 0)
  ) {
    throw new ModelError(
      { code: ModelErrorCode.FORMAT_INVALID, file: FILES.config, reason: `not a ${MODEL_TYPE} config` },
      `${FILES.config} does not describe a ${MODEL_TYPE} model`,
    )
  }
  return config
}

export interface SaveAdapterOptions {
  datanets?: DatanetRef[]
  training?: Record<string, string | number>
}

/** Writes adapter_model.safetensors and adapter_config.json (PEFT-like) into `dir`. */
export async function saveAdapter(
  dir: string,
  adapter: LoraWeights,
  base: { config: MlpConfig; baseWeightsCid: string },
  opts: SaveAdapterOptions = {},
): Promise<AdapterConfig> {
  const tensors = loraTensorSpecs(base.config, adapter.rank).map((s) => ({
    name: s.name,
    shape: s.shape,
    data: adapter[s.key],
  }))
  const bytes = encodeSafetensors(tensors, { format: MODEL_TYPE, lora_alpha: String(adapter.alpha) })
  const config: AdapterConfig = {
    peft_type: 'LORA',
    r: adapter.rank,
    lora_alpha: adapter.alpha,
    target_modules: ['hidden', 'output'],
    openledger: {
      format: MANIFEST_FORMAT,
      baseWeightsCid: base.baseWeightsCid,
      weightsCid: await cidOf(bytes),
      datanets: opts.datanets ?? [],
      layout: 'A [in, r], B [r, out]: Y = X·W + (lora_alpha / r)·(X·A)·B + b',
      training: opts.training ?? {},
    },
  }
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, FILES.adapterWeights), bytes)
  await writeFile(join(dir, FILES.adapterConfig), json(config))
  return config
}

export interface LoadedAdapter {
  dir: string
  config: AdapterConfig
  weights: LoraWeights
  /** Whether the adapter was trained against this exact base (same model.safetensors CID). */
  baseMatches: boolean
}

/** Loads an adapter folder and checks its CID and that every tensor fits the base model's shapes. */
export async function loadAdapter(
  dir: string,
  base: { config: MlpConfig; manifest: ModelManifest },
): Promise<LoadedAdapter> {
  const config = parseJson(
    await readOrMissing(join(dir, FILES.adapterConfig), FILES.adapterConfig),
    FILES.adapterConfig,
  ) as AdapterConfig
  if (
    config?.peft_type !== 'LORA' ||
    config.openledger?.format !== MANIFEST_FORMAT ||
    !Number.isInteger(config.r)
  ) {
    throw new ModelError(
      {
        code: ModelErrorCode.FORMAT_INVALID,
        file: FILES.adapterConfig,
        reason: 'not an OpenLedger LoRA adapter config',
      },
      `${join(dir, FILES.adapterConfig)} is not an OpenLedger LoRA adapter config`,
    )
  }
  const bytes = await readOrMissing(join(dir, FILES.adapterWeights), FILES.adapterWeights)
  await verifyCid(bytes, config.openledger.weightsCid, FILES.adapterWeights)
  const { tensors } = decodeSafetensors(bytes, FILES.adapterWeights)
  const weights = { rank: config.r, alpha: config.lora_alpha } as LoraWeights
  for (const spec of loraTensorSpecs(base.config, config.r)) {
    const t = tensors.get(spec.name)
    if (t === undefined || t.shape.join(',') !== spec.shape.join(',')) {
      throw new ModelError(
        {
          code: ModelErrorCode.ADAPTER_SHAPE_MISMATCH,
          tensor: spec.name,
          expected: spec.shape,
          actual: t?.shape ?? [],
        },
        `adapter tensor ${spec.name} has shape [${t?.shape ?? 'missing'}] but the base model needs [${spec.shape}]`,
      )
    }
    weights[spec.key] = t.data
  }
  return {
    dir,
    config,
    weights,
    baseMatches: config.openledger.baseWeightsCid === base.manifest.files[FILES.weights],
  }
}

/** An adapter argument is a folder path, or the name of a folder under the model's adapters/. */
export async function resolveAdapterDir(modelDir: string, nameOrPath: string): Promise<string> {
  const candidates = [nameOrPath, join(modelDir, FILES.adapters, nameOrPath)]
  for (const c of candidates) {
    try {
      await readFile(join(c, FILES.adapterConfig))
      return c
    } catch {}
  }
  throw new ModelError(
    { code: ModelErrorCode.FILE_MISSING, file: join(nameOrPath, FILES.adapterConfig) },
    `no adapter "${nameOrPath}": neither ${candidates.join(' nor ')} holds ${FILES.adapterConfig}`,
  )
}
