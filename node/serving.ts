// Serving, wired: the models in `serve_models` are fetched from the ModelRegistry (once, into
// DATA_DIR/models/model-ID) and opened on the onnx backend, or, when `engine_urls` names them, answered
// by an external OpenAI-compatible engine (the openai-http backend); the adapters in `serve_adapters` are fetched by
// CID on first use into the backend's byte-bounded cache (pinned and preloaded from config). The node then
// signs its CapacityRecord (joining, then online with measured tokens/s and the registry's prices),
// provides its model keys on the DHT (again every `capacity_reprovide_interval_ms`: provider records live
// 48 h), answers /openledger/infer/1.0.0, and withdraws (draining) when it stops. Every node, serving or
// not, gets a gateway that forwards what it does not serve to the best provider in the network.
import { setMaxListeners } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { PrivateKey } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { LocalAccount, TypedDataDomain } from 'viem'
import { CapacityService } from '../protocols/capacity/capacity-protocol.ts'
import type { ModelOffer } from '../protocols/capacity/capacity-record.ts'
import { advertise, providerKeys } from '../protocols/capacity/discovery.ts'
import { detectHardware } from '../protocols/capacity/hardware.ts'
import type { InferenceBackend } from '../protocols/inference/backend.ts'
import { inferenceError } from '../protocols/inference/errors.ts'
import type { AnswerAttribution } from '../protocols/inference/gateway.ts'
import { InferService } from '../protocols/inference/infer-service.ts'
import { NetworkInference } from '../protocols/inference/network-inference.ts'
import { OnnxBackend } from '../protocols/inference/onnx-backend.ts'
import { openOnnxBackend } from '../protocols/inference/open-onnx-backend.ts'
import { OpenAiHttpBackend } from '../protocols/inference/openai-http-backend.ts'
import { ServingGateway } from '../protocols/inference/serving-gateway.ts'
import { loadAdapter } from '../protocols/model/folder.ts'
import { registeredPrices } from '../protocols/model/prices.ts'
import type { ModelRegistryClient, RegisteredModel } from '../protocols/model/registry.ts'
import type { ModelService } from '../protocols/model/service.ts'
import type { Prices } from '../protocols/receipts/receipt.ts'
import { ConfigError, engineUrlOf, type NodeConfig } from './config.ts'
import type { NodeMetrics } from './metrics.ts'
import type { Network } from './network.ts'
import type { Payments } from './payments.ts'
import { type AttributionSources, ServingAttribution } from './serving-attribution.ts'

export interface ServingInit {
  config: NodeConfig
  dataDir: string
  network: Network
  account: LocalAccount
  peerKey: PrivateKey
  domain: TypedDataDomain
  /** absent without a chain: the node can still forward requests, but serves nothing */
  models?: ModelService
  registry?: ModelRegistryClient
  metrics: NodeMetrics
  log: Logger
  /** reads the Datanet versions a served model was trained on; without it answers carry no attribution */
  attributionSources?: AttributionSources
  /** paid serving (node/payments.ts): balance check before, receipt after; without it answers are unpaid */
  payments?: Pick<Payments, 'checkPayment' | 'releasePayment' | 'issueReceipt'>
}

/** Attribution indexes built at once for receipts of models this node does not serve. */
const MAX_PREPARING = 4

/** Tokens generated to measure a model's speed for the capacity record. */
const SPEED_PROBE_TOKENS = 32
/** How often a failed DHT advertisement is retried (a node alone on the network has nobody to tell). */
const ADVERTISE_RETRY_MS = 5_000

export class Serving {
  readonly backends = new Map<string, InferenceBackend>()
  readonly network: NetworkInference
  readonly gateway: ServingGateway
  capacity?: CapacityService
  infer?: InferService
  private offers: ModelOffer[] = []
  private advertiseTimer?: NodeJS.Timeout
  private readonly lifecycle = new AbortController()
  private readonly attribution?: ServingAttribution
  /** the attribution hook the gateway and the infer service share (undefined without Datanet sources) */
  private readonly attribute?: ServingAttribution['attribute']
  /** indexes being built for recomputeAttribution, by target */
  private readonly preparing = new Map<string, Promise<void>>()
  private readonly prices = new Map<
    string,
    { prices: { priceIn: bigint; priceOut: bigint }; until: number }
  >()

  constructor(private readonly init: ServingInit) {
    // Every DHT query of an advertisement round and every fetch listens on it (bounded by the keys served).
    setMaxListeners(256, this.lifecycle.signal)
    if (init.attributionSources)
      this.attribution = new ServingAttribution(
        init.attributionSources,
        join(init.dataDir, 'attribution'),
        init.log.child({ module: 'attribution' }),
      )
    this.attribute = this.attribution?.attribute.bind(this.attribution)
    const libp2p = init.network.libp2p
    this.network = new NetworkInference({
      libp2p,
      domain: init.domain,
      account: init.account,
      onFailover: (f) => init.log.warn(f, 'inference provider failed; trying the next'),
      pricesOf: init.registry ? (model, adapter) => this.pricesOf(model, adapter) : undefined,
    })
    this.gateway = new ServingGateway({
      backends: this.backends,
      network: this.network,
      baseOf: (id) => this.baseOf(id),
      attribute: this.attribute,
      self: { peerId: libp2p.peerId.toString(), account: init.account.address },
    })
  }

  async start(): Promise<void> {
    const { config, log } = this.init
    if (config.serve_models.length === 0) return
    if (!this.init.models || !this.init.registry)
      throw new Error('serve_models needs a chain and a model registry (chain_rpc, model_registry_address)')
    for (const entry of config.engine_urls) {
      const modelId = entry.slice(0, entry.indexOf('='))
      if (!config.serve_models.includes(modelId))
        throw new ConfigError(
          { code: 'CONFIG_INVALID', key: 'engine_urls' },
          `engine_urls names model ${modelId}, which serve_models does not list`,
        )
    }
    const libp2p = this.init.network.libp2p
    this.capacity = new CapacityService(
      { libp2p },
      {
        account: this.init.account,
        peerKey: this.init.peerKey,
        domain: this.init.domain,
        hardware: await detectHardware(),
        state: 'joining',
        refreshMs: config.capacity_refresh_ms,
        onError: (err) => log.warn({ err: (err as Error).message }, 'capacity record refresh failed'),
      },
    )
    await this.capacity.start()
    for (const modelId of config.serve_models) {
      const entry = await this.init.registry.getModel(modelId)
      const adapters = await this.adaptersOf(modelId)
      const backend = await this.openBackend(
        modelId,
        adapters.map((a) => a.modelId.toString()),
      )
      this.backends.set(modelId, backend)
      await this.prepareAttribution(entry, adapters)
      const tokensPerSec = await measureSpeed(backend, modelId)
      this.offers.push(offerOf(entry, undefined, tokensPerSec))
      for (const adapter of adapters) this.offers.push(offerOf(entry, adapter, tokensPerSec))
      log.info({ modelId, adapters: adapters.length, tokensPerSec }, 'serving model')
    }
    const payments = this.init.payments
    this.infer = new InferService(
      { libp2p },
      {
        account: this.init.account.address,
        domain: this.init.domain,
        generate: (request, options) => {
          const backend = this.backends.get(request.model)
          // Thrown here, it is the stream's refusal like any backend's (the service awaits inside a try).
          if (!backend)
            throw inferenceError('UNKNOWN_MODEL', `this node does not serve model ${request.model}`, {
              model: request.model,
            })
          return backend.generate(request, options)
        },
        attribute: this.attribute,
        checkPayment: payments ? (paid) => payments.checkPayment(paid) : undefined,
        releasePayment: payments ? (paid) => payments.releasePayment(paid) : undefined,
        issueReceipt: payments ? (...args) => payments.issueReceipt(...args) : undefined,
        onServed: (e) => this.init.metrics.inferServed.inc({ outcome: e.outcome, code: e.code ?? '' }),
      },
    )
    await this.infer.start()
    await this.capacity.update({ state: 'online', models: this.currentOffers() })
    this.advertiseLoop()
  }

  /**
   * The attribution a (model, adapter) answer must carry, recomputed as its serving node computed it (a
   * validator checking a receipt). The target's index is built in the background on first use, from the
   * Datanet versions the registry lists for it; until it is ready the answer is null ('unavailable').
   */
  async recomputeAttribution(
    target: { model: string; adapter: string | null },
    text: string,
  ): Promise<AnswerAttribution | null> {
    if (!this.attribution || !this.init.registry) return null
    if (this.attribution.isPrepared(target)) return this.attribute!(target, text)
    const key = `${target.model}:${target.adapter ?? ''}`
    if (!this.preparing.has(key) && this.preparing.size < MAX_PREPARING) {
      const registry = this.init.registry
      const build = (async () => {
        const base = await registry.getModel(target.model)
        const adapter = target.adapter === null ? undefined : await registry.getModel(target.adapter)
        const versions = [...base.trainedOn, ...(adapter?.trainedOn ?? [])].map((t) => ({
          datanetId: t.datanetId.toString(),
          version: t.version,
        }))
        await this.attribution!.prepare(target, versions)
      })()
      this.preparing.set(key, build)
      build
        .catch((err) =>
          this.init.log.warn({ ...target, err: (err as Error).message }, 'no attribution index'),
        )
        .finally(() => this.preparing.delete(key))
    }
    return null
  }

  /** Indexes for the base (its Datanet versions) and each adapter (the base's and its own). A failure is
   * logged and leaves that target's answers without attribution rather than keeping the model offline. */
  private async prepareAttribution(base: RegisteredModel, adapters: RegisteredModel[]): Promise<void> {
    if (!this.attribution) return
    const versions = (m: RegisteredModel) =>
      m.trainedOn.map((t) => ({ datanetId: t.datanetId.toString(), version: t.version }))
    const targets = [
      { target: { model: base.modelId.toString(), adapter: null }, versions: versions(base) },
      ...adapters.map((a) => ({
        target: { model: base.modelId.toString(), adapter: a.modelId.toString() },
        versions: [...versions(base), ...versions(a)],
      })),
    ]
    for (const { target, versions } of targets)
      await this.attribution
        .prepare(target, versions)
        .catch((err) =>
          this.init.log.warn(
            { ...target, err: (err as Error).message },
            'no attribution index for this model',
          ),
        )
  }

  /** The offers with `warm` as it is now (an adapter is warm while resident in the cache). */
  private currentOffers(): ModelOffer[] {
    const served = [...this.backends.values()].flatMap((b) => b.models())
    return this.offers.map((o) => {
      const id = o.adapterId === 0n ? o.modelId.toString() : o.adapterId.toString()
      return { ...o, warm: served.find((m) => m.id === id)?.loaded ?? false }
    })
  }

  private async adaptersOf(modelId: string): Promise<RegisteredModel[]> {
    const out: RegisteredModel[] = []
    for (const id of this.init.config.serve_adapters) {
      const entry = await this.init.registry!.getModel(id)
      if (entry.baseModelId.toString() === modelId) out.push(entry)
    }
    return out
  }

  /** The project's own model folder, or a Hugging Face-layout one (no adapters), on the onnx backend. */
  private async openBackend(modelId: string, adapters: string[]): Promise<InferenceBackend> {
    const { config, dataDir, log } = this.init
    const engineUrl = engineUrlOf(config, modelId)
    if (engineUrl !== undefined)
      // The engine holds the weights and its LoRA modules, under the registry ids as names (vLLM:
      // --served-model-name ID --lora-modules ADAPTER_ID=PATH); nothing is fetched here.
      return OpenAiHttpBackend.create({
        modelId,
        baseUrl: engineUrl,
        apiKey: config.engine_api_key,
        adapters: Object.fromEntries(adapters.map((a) => [a, a])),
        log: log.child({ model: modelId, backend: 'openai-http' }),
      })
    const modelsDir = join(dataDir, 'models')
    const dir = join(modelsDir, `model-${modelId}`)
    if (!existsSync(dir)) {
      await mkdir(modelsDir, { recursive: true })
      await this.init.models!.fetch({ modelId, outDir: dir, signal: this.lifecycle.signal })
    }
    const adaptersDir = join(dataDir, 'adapters')
    let backend: InferenceBackend | undefined
    // Fetched by CID on first use; a folder a verified fetch wrote before is read back from disk.
    const loader = async (adapterId: string, { signal }: { signal?: AbortSignal }) => {
      const base = (backend as OnnxBackend).loadedModel()
      const outDir = join(adaptersDir, adapterId)
      if (existsSync(outDir)) return (await loadAdapter(outDir, base)).weights
      await mkdir(adaptersDir, { recursive: true })
      const fetched = await this.init.models!.fetchAdapter({
        adapterId,
        baseModelId: modelId,
        base,
        outDir,
        signal,
      })
      return fetched.weights
    }
    const served = new Set(adapters)
    // A model served without adapters passes none of their options: a Hugging Face-layout folder (which
    // serves no adapters) refuses any of them rather than ignore them.
    const withAdapters =
      adapters.length === 0
        ? { adapters }
        : {
            adapters,
            adapterLoader: loader,
            // Pinned and preloaded adapters are loaded below, once the loader can see the opened base.
            adapterCache: { maxBytes: config.adapter_cache_mib * 2 ** 20 },
          }
    backend = await openOnnxBackend({
      modelId,
      dir,
      ...withAdapters,
      executionProvider: config.execution_provider,
      log: log.child({ model: modelId }),
    })
    const opened = backend
    if (opened instanceof OnnxBackend) {
      this.init.metrics.bindAdapterCache(modelId, () => opened.adapterCache.snapshot())
      for (const [ids, pin] of [
        [config.pin_adapters, true],
        [config.preload_adapters, false],
      ] as const) {
        const result = await opened.adapterCache.preload(
          ids.filter((a) => served.has(a)),
          { pin },
        )
        for (const f of result.failed)
          log.warn(
            { adapter: f.id, code: f.error.code, err: f.error.message },
            'adapter could not be preloaded',
          )
      }
    }
    return opened
  }

  /** Provides every model key now (retrying failures soon), then again every reprovide interval. */
  private advertiseLoop(): void {
    const keys = providerKeys(this.offers)
    const run = async () => {
      if (this.lifecycle.signal.aborted) return
      const contentRouting = this.init.network.libp2p.contentRouting
      const result = await advertise(contentRouting, keys, { signal: this.lifecycle.signal }).catch(
        () => undefined,
      )
      if (this.lifecycle.signal.aborted) return
      const failed = result === undefined || result.failed.length > 0
      if (failed) this.init.log.debug({ failed: result?.failed.length }, 'model keys not provided yet')
      // Fresh `warm` flags ride along with each round.
      await this.capacity?.update({ models: this.currentOffers() }).catch(() => {})
      this.advertiseTimer = setTimeout(
        run,
        failed ? ADVERTISE_RETRY_MS : this.init.config.capacity_reprovide_interval_ms,
      )
      this.advertiseTimer.unref()
    }
    void run()
  }

  /** Registered prices of (model, adapter), base + adapter, cached for a minute (prices change rarely). */
  private async pricesOf(model: bigint, adapter: bigint): Promise<Prices> {
    const key = `${model}:${adapter}`
    const cached = this.prices.get(key)
    if (cached && cached.until > Date.now()) return cached.prices
    const prices = await registeredPrices(this.init.registry!, model, adapter)
    if ('unknown' in prices)
      throw prices.unknown === 'model'
        ? inferenceError('UNKNOWN_MODEL', `model ${model} is not a registered base model`, {
            model: model.toString(),
          })
        : inferenceError('UNKNOWN_ADAPTER', `model ${adapter} is not an adapter of model ${model}`, {
            adapter: adapter.toString(),
          })
    if (this.prices.size >= 1024) this.prices.clear()
    this.prices.set(key, { prices, until: Date.now() + 60_000 })
    return prices
  }

  /** An id's base in the registry: null for a base, undefined when unknown (or no registry). */
  private async baseOf(id: string): Promise<string | null | undefined> {
    if (!this.init.registry) return undefined
    try {
      const entry = await this.init.registry.getModel(id)
      return entry.baseModelId === 0n ? null : entry.baseModelId.toString()
    } catch {
      return undefined
    }
  }

  /** Withdraws the record (draining), stops answering, frees the models. */
  async stop(): Promise<void> {
    this.lifecycle.abort()
    clearTimeout(this.advertiseTimer)
    await this.capacity?.withdraw().catch(() => {})
    await this.infer?.stop().catch(() => {})
    this.network.close()
    await this.capacity?.stop().catch(() => {})
    for (const backend of this.backends.values()) await backend.close().catch(() => {})
    this.backends.clear()
  }
}

function offerOf(
  base: RegisteredModel,
  adapter: RegisteredModel | undefined,
  tokensPerSec: number,
): ModelOffer {
  return {
    modelId: base.modelId,
    adapterId: adapter?.modelId ?? 0n,
    warm: adapter === undefined,
    tokensPerSec,
    // An adapter's answer pays the base model's price and the adapter's.
    priceIn: base.pricePerKInput + (adapter?.pricePerKInput ?? 0n),
    priceOut: base.pricePerKOutput + (adapter?.pricePerKOutput ?? 0n),
  }
}

/** Output tokens per second of one greedy generation (the record's advertised speed). */
async function measureSpeed(backend: InferenceBackend, modelId: string): Promise<number> {
  const started = performance.now()
  let tokens = 0
  for await (const e of backend.generate({ model: modelId, prompt: 'The', maxTokens: SPEED_PROBE_TOKENS }))
    if (e.type === 'end') tokens = e.usage.completionTokens
  const seconds = (performance.now() - started) / 1000
  return tokens > 0 && seconds > 0 ? Math.round(tokens / seconds) : 0
}
