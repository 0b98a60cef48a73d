// Who may use the API. The node's API acts with the operator's account and disk, so (after geth's
// authenticated API and Kubo's localhost API) every request passes, in this order:
//   1. Host: one of the names the API is reached under (api_host, localhost, 127.0.0.1, [::1], with the
//      bound port, plus `api_allowed_hosts`), else 403 FORBIDDEN_HOST. A DNS-rebinding page reaches the
//      socket under its own name, so it stops here.
//   2. Origin: absent, or the API's own origin (http(s):// + an allowed host), else 403 FORBIDDEN_ORIGIN;
//      `Sec-Fetch-Site: cross-site|same-site` is refused the same way, which also catches the requests a
//      browser sends without an Origin (an <img>, a link).
//   3. Bearer token (DIR/api-token), compared in constant time, on every route except PUBLIC_ROUTES, else
//      401 UNAUTHORIZED.
//   4. A POST carries `content-type: application/json` (or, on the upload route, application/octet-stream)
//      and a JSON object body, else 415/400: a form post or a bodyless POST never reaches a handler.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { apiError, toHttpError } from './errors.ts'
import { isOpenAiPath, openAiError } from './openai-errors.ts'

/**
 * Routes open without the token: health and metrics (monitoring), and reads of public network state
 * (what is on chain, what peers gossip), which a read-only dashboard may show. Everything else needs the
 * token: every write, the jobs (they show local paths and what the operator is doing), and content
 * (GET /v1/content/:cid makes the node fetch and store blocks from the network).
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  'GET /healthz',
  'GET /metrics',
  'GET /v1/node',
  'GET /v1/peers',
  'GET /v1/datanets',
  'GET /v1/datanets/:id',
  'GET /v1/datanets/:id/versions/:v',
  'GET /v1/datanets/:id/contributions',
  'GET /v1/datanets/:id/status',
  'GET /v1/registry/models',
  'GET /v1/registry/models/:id',
  // The OpenAI-compatible list of what this node serves (POST completions need the token: the node pays).
  'GET /v1/models',
  // Receipts are public gossip.
  'GET /v1/receipts',
])

/** Routes whose body is not JSON, with the one content type each accepts. */
export const RAW_BODY_ROUTES: ReadonlyMap<string, string> = new Map([
  ['POST /v1/datanets/:id/contributions', 'application/octet-stream'],
])

export interface ApiAccess {
  token: string
  /** The configured api_host (0.0.0.0 and :: add no name). */
  apiHost: string
  /** Extra `host` or `host:port` values a browser or proxy may use (config api_allowed_hosts). */
  allowedHosts: readonly string[]
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', ''])
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

/** Host header values accepted on `port`. */
export function allowedHostValues(access: ApiAccess, port: number): Set<string> {
  const names = ['localhost', '127.0.0.1', '[::1]']
  if (!WILDCARDS.has(access.apiHost)) names.push(bracketed(access.apiHost.toLowerCase()))
  const out = new Set<string>()
  for (const name of names) {
    out.add(`${name}:${port}`)
    if (port === 80) out.add(name)
  }
  for (const extra of access.allowedHosts) out.add(extra.toLowerCase())
  return out
}

function hostAllowed(host: string, allowed: Set<string>): boolean {
  const h = host.toLowerCase()
  if (allowed.has(h)) return true
  // An allow-list entry without a port admits that name on any port.
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0]!
  return allowed.has(name)
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** Constant-time comparison (of digests, so the lengths match and the token's length does not leak). */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected))
}

function bearer(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i)
  return match?.[1]
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase()
}

function refuse(reply: FastifyReply, err: Error, headers: Record<string, string> = {}) {
  const { status, body } = isOpenAiPath(reply.request.url) ? openAiError(err) : toHttpError(err)
  for (const [k, v] of Object.entries(headers)) reply.header(k, v)
  return reply.code(status).send(body)
}

/** Adds the checks above as fastify hooks; `port()` is the bound port (known once listening). */
export function registerAccessChecks(app: FastifyInstance, access: ApiAccess, port: () => number): void {
  let allowed: Set<string> | undefined
  let allowedPort = -1
  const allowedNow = () => {
    const p = port()
    if (!allowed || p !== allowedPort) {
      allowed = allowedHostValues(access, p)
      allowedPort = p
    }
    return allowed
  }

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const hosts = allowedNow()
    const host = req.headers.host
    if (!host || !hostAllowed(host, hosts)) {
      return refuse(
        reply,
        apiError(
          'FORBIDDEN_HOST',
          `Host ${JSON.stringify(host ?? '')} is not one this API answers to (add it to api_allowed_hosts)`,
        ),
      )
    }
    const origin = req.headers.origin
    if (origin !== undefined) {
      let originHost: string | undefined
      try {
        const url = new URL(origin)
        if (url.protocol === 'http:' || url.protocol === 'https:') originHost = url.host
      } catch {
        // `null` (sandboxed frames, files) and garbage are foreign.
      }
      if (!originHost || !hostAllowed(originHost, hosts))
        return refuse(reply, apiError('FORBIDDEN_ORIGIN', `Origin ${origin} may not use this API`))
    }
    const site = req.headers['sec-fetch-site']
    if (site === 'cross-site' || site === 'same-site')
      return refuse(reply, apiError('FORBIDDEN_ORIGIN', `a ${site} request may not use this API`))

    const method = req.method === 'HEAD' ? 'GET' : req.method
    const route = req.routeOptions.url
    // Unknown routes fall through to a 404 that does nothing.
    if (route === undefined) return
    const key = `${method} ${route}`
    if (!PUBLIC_ROUTES.has(key)) {
      const given = bearer(req.headers.authorization)
      if (given === undefined || !tokenMatches(given, access.token)) {
        return refuse(
          reply,
          apiError(
            'UNAUTHORIZED',
            given === undefined
              ? 'this route needs the API token (Authorization: Bearer <DIR/api-token>)'
              : 'wrong API token',
          ),
          { 'www-authenticate': 'Bearer' },
        )
      }
    }
    if (BODY_METHODS.has(method)) {
      const wanted = RAW_BODY_ROUTES.get(key) ?? 'application/json'
      const got = mediaType(req.headers['content-type'])
      if (got !== wanted) {
        return refuse(
          reply,
          apiError(
            'UNSUPPORTED_MEDIA_TYPE',
            `${method} ${route} takes content-type ${wanted}${got ? `, not ${got}` : ' (none was sent)'}`,
          ),
        )
      }
    }
  })

  // After parsing: a JSON route's body must be an object (`{}` when there is nothing to say).
  app.addHook('preValidation', async (req: FastifyRequest, reply: FastifyReply) => {
    const method = req.method
    const route = req.routeOptions.url
    if (!BODY_METHODS.has(method) || route === undefined) return
    if (RAW_BODY_ROUTES.has(`${method} ${route}`)) return
    const body = req.body
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      return refuse(
        reply,
        apiError('BODY_REQUIRED', `${method} ${route} takes a JSON object body ({} for none)`),
      )
  })
}
