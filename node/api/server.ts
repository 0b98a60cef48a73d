// The node's HTTP API (fastify): health, identity, peers, network state and Prometheus metrics.
// Handlers read from the running node through a narrow interface, so routes stay free of wiring.
// Access checks (Host, Origin, token, content type) are in auth.ts; error statuses in errors.ts.
import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { type ApiAccess, registerAccessChecks } from './auth.ts'
import { apiError, toHttpError } from './errors.ts'

export interface ApiSources {
  /** false while the node is still starting or already stopping */
  ready(): boolean
  nodeInfo(): Record<string, unknown>
  peers(): Promise<unknown[]>
  metrics: Registry
}

/** Request bodies above this are refused with 413 before parsing. */
export const API_BODY_LIMIT = 1 << 20

export function createApi(
  sources: ApiSources,
  extraRoutes: ((app: FastifyInstance) => void)[],
  access: ApiAccess,
): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: API_BODY_LIMIT,
    connectionTimeout: 30_000,
    requestTimeout: 300_000,
  })
  registerAccessChecks(app, access, () => {
    const bound = app.server.address()
    return typeof bound === 'object' && bound !== null ? bound.port : 0
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
  app.setNotFoundHandler(async (req, reply) => {
    const { status, body } = toHttpError(apiError('NOT_FOUND', `no route ${req.method} ${req.url}`))
    return reply.code(status).send(body)
  })
  app.setErrorHandler(async (err, _req, reply) => {
    const { status, body } = toHttpError(err)
    return reply.code(status).send(body)
  })
  return app
}
