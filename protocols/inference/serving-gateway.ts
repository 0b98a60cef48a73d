// The node's InferenceGateway: a request for a model this node serves runs on its own backend (the
// attribution computed here), anything else is forwarded to the best provider in the network with
// failover (NetworkInference). Model names are registry ids: a base model's, or an adapter's, whose
// registry entry names its base, so an OpenAI client can select an adapter by `model` alone (as vLLM does).
import type { GenerationEvent, InferenceBackend, InferenceRequest, ServedModel } from './backend.ts'
import { inferenceError } from './errors.ts'
import type { AnswerAttribution, AnswerEvent, InferenceGateway, ResolvedModel, ServedBy } from './gateway.ts'
import { isDecimalId } from './infer-wire.ts'
import type { NetworkInference } from './network-inference.ts'

export interface ServingGatewayInit {
  /** this node's backends, by the base model id each serves */
  backends: ReadonlyMap<string, InferenceBackend>
  /** the network path; without it only local models are answered */
  network?: Pick<NetworkInference, 'answer'>
  /** an id's base model from the registry: null for a base model, undefined when the id is unknown */
  baseOf?(id: string, options: { signal?: AbortSignal }): Promise<string | null | undefined>
  /** the attribution of text this node generated for (model, adapter) */
  attribute?(target: { model: string; adapter: string | null }, text: string): AnswerAttribution | null
  self: Omit<ServedBy, 'local'>
}

export class ServingGateway implements InferenceGateway {
  constructor(private readonly init: ServingGatewayInit) {}

  async listModels(): Promise<ServedModel[]> {
    return [...this.init.backends.values()].flatMap((b) => b.models())
  }

  async resolveModel(name: string, options: { signal?: AbortSignal } = {}): Promise<ResolvedModel> {
    const served = (await this.listModels()).find((m) => m.id === name)
    if (served) return { model: served.parent ?? served.id, adapter: served.parent ? served.id : null }
    if (isDecimalId(name) && this.init.baseOf) {
      const base = await this.init.baseOf(name, options)
      if (base === null) return { model: name, adapter: null }
      if (base !== undefined) return { model: base, adapter: name }
    }
    throw inferenceError('UNKNOWN_MODEL', `model "${name}" is not served here and not in the registry`, {
      model: name,
    })
  }

  /** The local backend that serves (model, adapter), if any. */
  private localBackend(request: InferenceRequest): InferenceBackend | undefined {
    const backend = this.init.backends.get(request.model)
    if (!backend || !request.adapter) return backend
    return backend.models().some((m) => m.id === request.adapter && m.parent === request.model)
      ? backend
      : undefined
  }

  async *answer(
    request: InferenceRequest,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<AnswerEvent> {
    const backend = this.localBackend(request)
    if (backend) {
      yield* this.answerLocally(backend, request, options.signal)
      return
    }
    if (!this.init.network)
      throw inferenceError(
        request.adapter && this.init.backends.has(request.model) ? 'UNKNOWN_ADAPTER' : 'UNKNOWN_MODEL',
        `this node does not serve model ${request.model}${request.adapter ? ` adapter ${request.adapter}` : ''}`,
        { model: request.model, adapter: request.adapter ?? undefined },
      )
    yield* this.init.network.answer(request, options)
  }

  private async *answerLocally(
    backend: InferenceBackend,
    request: InferenceRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<AnswerEvent> {
    let text = ''
    let announced = false
    for await (const event of backend.generate(request, { signal }) as AsyncIterable<GenerationEvent>) {
      if (event.type === 'chunk') {
        text += event.text
        if (!announced) {
          announced = true
          yield { ...event, servedBy: { ...this.init.self, local: true } }
        } else yield event
        continue
      }
      const target = { model: request.model, adapter: request.adapter ?? null }
      yield {
        ...event,
        attribution: this.init.attribute?.(target, text) ?? null,
        servedBy: { ...this.init.self, local: true },
        failovers: 0,
      }
    }
  }
}
