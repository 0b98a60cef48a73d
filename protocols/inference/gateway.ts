// What the node's front doors (the OpenAI-compatible HTTP API, `openledger infer` through the API) call to
// get an answer: served here when this node serves the model, else forwarded over `/openledger/infer/1.0.0`
// to the best provider in the network, with failover. The HTTP routes know nothing of libp2p.
import type { SignedReceipt } from '../receipts/receipt.ts'
import type { GenerationChunk, GenerationEnd, InferenceRequest, ServedModel } from './backend.ts'

/** One contribution's share of an answer, as it travels to clients (weights in parts per million). */
export interface AnswerAttributionEntry {
  datanetId: string
  datanetVersion: number
  contributionIndex: number
  contributionId: string
  contributor: string
  weightPpm: number
}

/** The attribution the serving node computed for the whole answer. */
export interface AnswerAttribution {
  paramsVersion: string
  outputTokens: number
  unattributedPpm: number
  entries: AnswerAttributionEntry[]
}

export interface ServedBy {
  peerId: string
  account: string
  /** answered by this node's own backend */
  local: boolean
}

/** The last event of an answer: the backend's end plus who served it and the attribution. */
export interface AnswerEnd extends GenerationEnd {
  attribution: AnswerAttribution | null
  servedBy: ServedBy
  /** providers that failed before this one finished (mid-stream failover resumes from their tokens) */
  failovers: number
  /** the serving node's signed receipt for the last provider's part (null: served locally, or none) */
  receipt?: SignedReceipt | null
}

/** A chunk of an answer; `servedBy` names the provider on the first chunk from each (a failover shows). */
export interface AnswerChunk extends GenerationChunk {
  servedBy?: ServedBy
}

export type AnswerEvent = AnswerChunk | AnswerEnd

/** A name a client used (`model` in the OpenAI API), resolved to a base model and maybe an adapter. */
export interface ResolvedModel {
  model: string
  adapter: string | null
}

export interface InferenceGateway {
  /** base models and adapters this node serves (adapters carry `parent`) */
  listModels(): Promise<ServedModel[]>
  /**
   * Maps a client's model name to (base, adapter): a served base or adapter id, or a registry id known on
   * chain (an adapter's registry entry names its base). UNKNOWN_MODEL when it is none of these.
   */
  resolveModel(name: string, options?: { signal?: AbortSignal }): Promise<ResolvedModel>
  /**
   * Streams chunks then one AnswerEnd. Refusals are InferenceErrors thrown by the first `next()` (before
   * any chunk): UNKNOWN_MODEL, UNKNOWN_ADAPTER, PROMPT_TOO_LARGE, MAX_TOKENS_TOO_LARGE, INVALID_REQUEST,
   * BUSY, NO_PROVIDER, PROVIDERS_FAILED, TIMEOUT. Breaking out of the loop (or the signal) ends the work.
   */
  answer(request: InferenceRequest, options?: { signal?: AbortSignal }): AsyncIterable<AnswerEvent>
}
