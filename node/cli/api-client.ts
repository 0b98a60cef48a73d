// The CLI's client for a running node's HTTP API. Errors come back as {error, reason, message} and are
// rethrown as ApiError so the CLI prints one line.
import { OpenLedgerError } from '../../protocols/common/errors.ts'

export class ApiError extends OpenLedgerError<{ code: string; status: number; reason?: string }> {}

export const DEFAULT_API = 'http://127.0.0.1:9401'
export const API_TIMEOUT_MS = 300_000

export function apiOption(): [string, string, string] {
  return [
    '--api <url>',
    'HTTP API of the node to act through (env OPENLEDGER_API)',
    process.env.OPENLEDGER_API ?? DEFAULT_API,
  ]
}

// biome-ignore lint/suspicious/noExplicitAny: API bodies are JSON; callers that care name the type
export async function callApi<T = any>(
  api: string,
  method: string,
  path: string,
  init: {
    json?: unknown
    body?: RequestInit['body']
    headers?: Record<string, string>
    duplex?: 'half'
  } = {},
): Promise<T> {
  let res: Response
  try {
    res = await fetch(`${api.replace(/\/$/, '')}${path}`, {
      method,
      headers:
        init.json !== undefined ? { 'content-type': 'application/json', ...init.headers } : init.headers,
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
      ...(init.duplex ? { duplex: init.duplex } : {}),
    } as RequestInit)
  } catch (err) {
    throw new ApiError(
      { code: 'API_UNREACHABLE', status: 0 },
      `cannot reach the node API at ${api}: ${(err as Error).cause ?? (err as Error).message}`,
    )
  }
  const text = await res.text()
  let body: { error?: string; reason?: string; message?: string } | undefined
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = { message: text }
  }
  if (!res.ok) {
    const code = body?.error ?? `HTTP_${res.status}`
    const reason = body?.reason ? ` [${body.reason}]` : ''
    throw new ApiError(
      { code, status: res.status, reason: body?.reason },
      `${code}${reason}: ${body?.message ?? res.statusText}`,
    )
  }
  return body as T
}
