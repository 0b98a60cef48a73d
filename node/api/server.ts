// The node's HTTP API (fastify): health, identity, peers, network state and Prometheus metrics.
// Handlers read from the running node through a narrow interface, so routes stay free of wiring.
import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { OpenLedgerError } from '../../protocols/common/errors.ts'
import { MODEL_STATUS_BY_CODE } from './models.ts'

export interface ApiSources {
  /** false while the node is still starting or already stopping */
  ready(): boolean
  nodeInfo(): Record<string, unknown>
  peers(): Promise<unknown[]>
  metrics: Registry
}

/** Request bodies above this are refused with 413 before parsing. */
export const API_BODY_LIMIT = 1 << 20

/** HTTP status for a typed error's code; the code itself goes to the client as `error`. */
const STATUS_BY_CODE: Record<string, number> = {
  UNKNOWN_DATANET: 404,
  UNKNOWN_VERSION: 404,
  NO_VERSIONS: 404,
  UNKNOWN_CONTRIBUTION: 404,
  NOT_CURATOR: 403,
  NOT_OWNER: 403,
  NOTHING_TO_PUBLISH: 409,
  NOT_PENDING: 409,
  METADATA_UNAVAILABLE: 504,
  MANIFEST_CID_MISMATCH: 502,
  MANIFEST_INVALID: 502,
  BLOCK_CID_MISMATCH: 502,
  UNSUPPORTED_HASH: 502,
  NOT_SERVED: 404,
  NO_PEERS: 503,
  FETCH_FAILED: 504,
  ...MODEL_STATUS_BY_CODE,
}

export function httpStatusFor(err: OpenLedgerError<{ code: string; reason?: string }>): number {
  if (err.code === 'CONTRIBUTION_REFUSED') return err.type.reason === 'TOO_LARGE' ? 413 : 422
  return STATUS_BY_CODE[err.code] ?? 400
}

export function createApi(
  sources: ApiSources,
  extraRoutes: ((app: FastifyInstance) => void)[] = [],
): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: API_BODY_LIMIT,
    connectionTimeout: 30_000,
    requestTimeout: 300_000,
  })
  app.get('/healthz', async (_req, reply) =>
    sources.ready() ? { status: 'ok' } : reply.code(503).send({ status: 'starting' }),
  )
  app.get('/v1/node', async () => sources.nodeInfo())
  app.get('/v1/peers', async () => ({ peers: await sources.peers() }))
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', sources.metrics.contentType)
    return sources.metrics.metrics()
  })
  for (const add of extraRoutes) add(app)
  app.setNotFoundHandler(async (req, reply) =>
    reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` }),
  )
  app.setErrorHandler(async (err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    if (err instanceof OpenLedgerError) {
      const typed = err as OpenLedgerError<{ code: string; reason?: string }>
      return reply
        .code(httpStatusFor(typed))
        .send({ error: typed.code, reason: typed.type.reason, message: typed.message })
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    return reply.code(status).send({ error: err.code ?? 'INTERNAL', message: err.message })
  })
  return app
}
