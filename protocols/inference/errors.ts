import { OpenLedgerError } from '../common/errors.ts'

/**
 * Codes for everything inference refuses. Each is what a user reads, what a metric is labelled with, and
 * what the infer protocol and the HTTP API map to a status (BUSY is the one a client should retry).
 */
export type InferenceErrorCode =
  /** the backend does not serve this model */
  | 'UNKNOWN_MODEL'
  /** the model is served, but this adapter is not offered for it */
  | 'UNKNOWN_ADAPTER'
  /** the prompt is over the byte limit, or over the token limit once encoded (or as token ids) */
  | 'PROMPT_TOO_LARGE'
  /** maxTokens is over the limit */
  | 'MAX_TOKENS_TOO_LARGE'
  /** a field is missing, of the wrong type or out of range (temperature, topP, seed, stop, token ids) */
  | 'INVALID_REQUEST'
  /** every generation slot is taken and the waiting queue is full: refused rather than queued */
  | 'BUSY'
  /** the caller's signal aborted the generation (or the wait for a slot or an adapter) */
  | 'ABORTED'
  /** the backend was closed */
  | 'BACKEND_CLOSED'
  /** the base model is not loaded (unloaded by the operator) */
  | 'MODEL_NOT_LOADED'
  /** the model folder could not be loaded (`reason` carries the model factory's code) */
  | 'MODEL_LOAD_FAILED'
  /** the execution provider that was required (cuda) cannot be used on this machine */
  | 'EXECUTION_PROVIDER_UNAVAILABLE'
  /** the adapter loader failed (network, missing file); nothing was cached, the next request retries */
  | 'ADAPTER_LOAD_FAILED'
  /** the loaded adapter does not fit this base model (shapes, or trained on other base weights) */
  | 'ADAPTER_INVALID'
  /** one adapter is larger than the whole cache */
  | 'ADAPTER_TOO_LARGE'
  /** pinning this adapter would take pinned adapters over their byte bound */
  | 'ADAPTER_PIN_LIMIT'
  /** the runtime failed while generating */
  | 'GENERATION_FAILED'
  /** no node in the network offers this model (or adapter) with a live, valid capacity record */
  | 'NO_PROVIDER'
  /** every provider tried failed or refused (each one is banned for a while) */
  | 'PROVIDERS_FAILED'
  /** a provider broke the protocol: a malformed or oversized frame, a stream that ended without an answer */
  | 'PROTOCOL_ERROR'
  /** no answer (or no next chunk) within the deadline */
  | 'TIMEOUT'
  /** the request's payment authorization is malformed, expired, not for this node or badly signed */
  | 'PAYMENT_INVALID'
  /** the client's deposit, less its pending receipts and reserved withdrawals, is below the request's maxFee */
  | 'INSUFFICIENT_BALANCE'

export interface InferenceErrorType {
  code: InferenceErrorCode
  model?: string
  adapter?: string
  /** the bound that was exceeded, and the value that exceeded it */
  limit?: number
  actual?: number
  field?: string
  reason?: string
}

export class InferenceError extends OpenLedgerError<InferenceErrorType> {}

export function inferenceError(
  code: InferenceErrorCode,
  message: string,
  details: Omit<InferenceErrorType, 'code'> = {},
): InferenceError {
  return new InferenceError({ code, ...details }, message)
}

/** ABORTED carrying the signal's reason, so a caller can tell its own abort from a close. */
export function abortedError(signal: AbortSignal | undefined, what: string): InferenceError {
  const reason = signal?.reason instanceof Error ? signal.reason.message : String(signal?.reason ?? 'aborted')
  return inferenceError('ABORTED', `${what} aborted: ${reason}`, { reason })
}
