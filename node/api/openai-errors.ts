// Errors of the OpenAI-compatible routes in OpenAI's shape, {error: {message, type, param, code}}, with the
// statuses OpenAI clients expect. `retry` is false for refusals that the same request again cannot fix:
// the route then sends `x-should-retry: false`, which the official client obeys instead of retrying every
// 408, 409, 429 and 5xx. BUSY (429) is the one meant to be retried.
import { OpenLedgerError } from '../../protocols/common/errors.ts'
import type { InferenceErrorCode } from '../../protocols/inference/errors.ts'
import { toHttpError } from './errors.ts'

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string }
}

/** status, OpenAI error type, and whether a retry may help, per inference code. */
const BY_CODE: Record<InferenceErrorCode, [number, string, boolean]> = {
  UNKNOWN_MODEL: [404, 'invalid_request_error', false],
  UNKNOWN_ADAPTER: [404, 'invalid_request_error', false],
  PROMPT_TOO_LARGE: [400, 'invalid_request_error', false],
  MAX_TOKENS_TOO_LARGE: [400, 'invalid_request_error', false],
  INVALID_REQUEST: [400, 'invalid_request_error', false],
  PAYMENT_INVALID: [402, 'invalid_request_error', false],
  INSUFFICIENT_BALANCE: [402, 'insufficient_quota', false],
  BUSY: [429, 'rate_limit_error', true],
  ABORTED: [499, 'invalid_request_error', false],
  TIMEOUT: [504, 'server_error', true],
  NO_PROVIDER: [503, 'server_error', false],
  PROVIDERS_FAILED: [502, 'server_error', false],
  PROTOCOL_ERROR: [502, 'server_error', false],
  BACKEND_CLOSED: [503, 'server_error', false],
  MODEL_NOT_LOADED: [503, 'server_error', false],
  MODEL_LOAD_FAILED: [500, 'server_error', false],
  EXECUTION_PROVIDER_UNAVAILABLE: [500, 'server_error', false],
  ADAPTER_LOAD_FAILED: [502, 'server_error', false],
  ADAPTER_INVALID: [502, 'server_error', false],
  ADAPTER_TOO_LARGE: [507, 'server_error', false],
  ADAPTER_PIN_LIMIT: [507, 'server_error', false],
  GENERATION_FAILED: [500, 'server_error', false],
}

const typeByStatus = (status: number) =>
  status === 401
    ? 'authentication_error'
    : status === 403
      ? 'permission_error'
      : status === 404
        ? 'not_found_error'
        : status === 429
          ? 'rate_limit_error'
          : status >= 500
            ? 'server_error'
            : 'invalid_request_error'

export function openAiError(err: unknown): { status: number; body: OpenAiErrorBody; retry: boolean } {
  if (err instanceof OpenLedgerError && err.type.code in BY_CODE) {
    const type = err.type as { code: InferenceErrorCode; field?: string }
    const [status, kind, retry] = BY_CODE[type.code]
    return {
      status,
      retry,
      body: {
        error: { message: err.message, type: kind, param: type.field ?? null, code: type.code.toLowerCase() },
      },
    }
  }
  // The node's own errors (request checks, registry reads), in its status table, OpenAI's shape.
  const { status, body } = toHttpError(err)
  const reason = body.reason && /^[a-z_.]+$/.test(body.reason) ? body.reason : null
  return {
    status,
    // Only the server's own transient states are worth retrying.
    retry: status === 503 && body.error === 'NOT_READY',
    body: {
      error: {
        message: body.message,
        type: typeByStatus(status),
        param: reason,
        code: body.error.toLowerCase(),
      },
    },
  }
}

/** Paths of the OpenAI-compatible routes, whose access refusals (401, 403, 415) take OpenAI's shape too. */
export function isOpenAiPath(url: string): boolean {
  const path = url.split('?')[0]!
  return path === '/v1/models' || path === '/v1/completions' || path === '/v1/chat/completions'
}
