// The CLI's client for a running node's HTTP API. Errors come back as {error, reason, message} and are
// rethrown as ApiError so the CLI prints one line; a node that cannot be reached (API_UNREACHABLE), one
// that does not answer in time (API_TIMEOUT) and one that answers with an error (its code) read apart.
//
// The API token (node/api/auth.ts) comes from, in order: `--api-token`, the node's data dir (`--node-dir`,
// file DIR/api-token), then OPENLEDGER_API_TOKEN. Flags beat the environment, as for the node's config.
// Without one, the open read routes still work; a route that needs it answers 401 and the CLI says how
// to pass it.
import type { Command } from 'commander'
import { OpenLedgerError } from '../../protocols/common/errors.ts'

export class ApiError extends OpenLedgerError<{ code: string; status: number; reason?: string }> {}

export const DEFAULT_API = 'http://127.0.0.1:9401'
export const API_TIMEOUT_MS = 300_000
export const TOKEN_ENV = 'OPENLEDGER_API_TOKEN'

/** A node's API and the token to use with it. A bare URL uses OPENLEDGER_API_TOKEN, if set. */
export interface ApiTarget {
  url: string
  token?: string
}

export function apiOption(): [string, string, string] {
  return [
    '--api <url>',
    'HTTP API of the node to act through (env OPENLEDGER_API)',
    process.env.OPENLEDGER_API ?? DEFAULT_API,
  ]
}

/**
 * Adds --api-token and --node-dir (where the token is read from) to a command that calls the API. Not
 * --dir: some commands that call the API already use --dir for a folder of their own (a model folder).
 */
export function addTokenOptions(cmd: Command): Command {
  return cmd
    .option(
      '--api-token <token>',
      `API token of the node (default: read from --node-dir, then env ${TOKEN_ENV})`,
    )
    .option('--node-dir <dir>', "the node's data dir, to read its API token from DIR/api-token")
}

/** The target a command's options name: --api (or OPENLEDGER_API), and the token by the order above. */
export async function apiTarget(opts: {
  api?: string
  apiToken?: string
  nodeDir?: string
}): Promise<ApiTarget> {
  return { url: opts.api ?? process.env.OPENLEDGER_API ?? DEFAULT_API, token: await apiToken(opts) }
}

/** The token by the order above; undefined when none is given anywhere. */
export async function apiToken(opts: { apiToken?: string; nodeDir?: string }): Promise<string | undefined> {
  if (opts.apiToken) return opts.apiToken
  if (opts.nodeDir) {
    const { readApiToken, paths } = await import('../datadir.ts')
    const token = await readApiToken(opts.nodeDir)
    if (token === undefined)
      throw new ApiError(
        { code: 'API_TOKEN_MISSING', status: 0 },
        `no API token at ${paths(opts.nodeDir).apiToken} (start the node once, or run \`openledger init\`)`,
      )
    return token
  }
  return process.env[TOKEN_ENV] || undefined
}

function asTarget(api: ApiTarget | string): ApiTarget {
  return typeof api === 'string' ? { url: api, token: process.env[TOKEN_ENV] || undefined } : api
}

/** Tells a connection failure from a timeout; `cause` carries the socket error (ECONNREFUSED, ...). */
function transportError(err: unknown, url: string, timeoutMs: number): ApiError {
  const e = err as Error & { cause?: { code?: string; message?: string } }
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return new ApiError(
      { code: 'API_TIMEOUT', status: 0 },
      `the node API at ${url} did not answer within ${Math.round(timeoutMs / 1000)} s`,
    )
  const cause = e.cause?.code ?? e.cause?.message ?? e.message
  return new ApiError(
    { code: 'API_UNREACHABLE', status: 0 },
    `cannot connect to the node API at ${url}: ${cause}`,
  )
}

/** Every fetch the CLI makes to the node: the token, the timeout, and the error taxonomy above. */
export async function requestApi(
  api: ApiTarget | string,
  method: string,
  path: string,
  init: {
    json?: unknown
    body?: RequestInit['body']
    headers?: Record<string, string>
    duplex?: 'half'
    timeoutMs?: number
  } = {},
): Promise<Response> {
  const target = asTarget(api)
  const url = target.url.replace(/\/$/, '')
  const timeoutMs = init.timeoutMs ?? API_TIMEOUT_MS
  const headers: Record<string, string> = { ...init.headers }
  if (init.json !== undefined) headers['content-type'] = 'application/json'
  if (target.token) headers.authorization = `Bearer ${target.token}`
  let res: Response
  try {
    res = await fetch(`${url}${path}`, {
      method,
      headers,
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
      signal: AbortSignal.timeout(timeoutMs),
      ...(init.duplex ? { duplex: init.duplex } : {}),
    } as RequestInit)
  } catch (err) {
    throw transportError(err, url, timeoutMs)
  }
  if (!res.ok) {
    let text = ''
    try {
      text = await res.text()
    } catch (err) {
      throw transportError(err, url, timeoutMs)
    }
    let body: { error?: string; reason?: string; message?: string } | undefined
    try {
      body = text ? JSON.parse(text) : undefined
    } catch {
      body = { message: text }
    }
    // The OpenAI-compatible routes answer {error: {message, type, param, code}}.
    const openAi = body?.error as unknown as { code?: string; message?: string } | undefined
    if (typeof openAi === 'object' && openAi !== null)
      body = { error: openAi.code?.toUpperCase(), message: openAi.message }
    const code = body?.error ?? `HTTP_${res.status}`
    const reason = body?.reason ? ` [${body.reason}]` : ''
    const hint =
      res.status === 401 && !target.token
        ? ` (pass --node-dir DIR, the node's data dir, or --api-token TOKEN, or set ${TOKEN_ENV})`
        : ''
    throw new ApiError(
      { code, status: res.status, reason: body?.reason },
      `${code}${reason}: ${body?.message ?? res.statusText}${hint}`,
    )
  }
  return res
}

// biome-ignore lint/suspicious/noExplicitAny: API bodies are JSON; callers that care name the type
export async function callApi<T = any>(
  api: ApiTarget | string,
  method: string,
  path: string,
  init: Parameters<typeof requestApi>[3] = {},
): Promise<T> {
  const res = await requestApi(api, method, path, init)
  let text: string
  try {
    text = await res.text()
  } catch (err) {
    throw transportError(err, asTarget(api).url, init.timeoutMs ?? API_TIMEOUT_MS)
  }
  if (!text) return undefined as T
  try {
    return JSON.parse(text) as T
  } catch {
    return { message: text } as T
  }
}
