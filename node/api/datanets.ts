// Datanet routes. Reads are open (auth.ts PUBLIC_ROUTES); the writes (create, contribute, decide, publish,
// serve) act with this node's account and need the API token. Serving is a background job (jobs.ts).
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import {
  isPrintableField,
  LICENSE_MAX_LENGTH,
  NAME_MAX_LENGTH,
} from '../../protocols/datanet/contribution.ts'
import type { DatanetReplicator } from '../../protocols/datanet/replicator.ts'
import type { DatanetService } from '../../protocols/datanet/service.ts'
import { apiError } from './errors.ts'
import { accepted, type JobManager } from './jobs.ts'
import { parseRequest } from './request.ts'

/** Upper bound of a contribution upload; each Datanet's own rules usually set a lower one. */
export const CONTRIBUTION_UPLOAD_LIMIT = 64 * 1024 * 1024

const idParam = z.object({
  id: z.string().regex(/^[1-9]\d{0,76}$/, { error: 'Datanet id must be a positive integer' }),
})
const versionParam = z.object({
  v: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, { error: 'version must be a positive integer' })
    .transform(Number),
})
/**
 * The upload's file name and licence: one string each (a repeated query parameter is an array), no longer
 * than the contributions topic accepts and printable, so nothing is signed and gossiped that every peer
 * would REJECT.
 */
const printable = { error: 'must hold no control characters or bidirectional overrides' }
const contributeQuery = z.object({
  name: z
    .string({ error: 'query parameter "name" (the file name) is required, once' })
    .min(1)
    .max(NAME_MAX_LENGTH)
    .refine(isPrintableField, printable),
  license: z.string().min(1).max(LICENSE_MAX_LENGTH).refine(isPrintableField, printable).optional(),
})
const createBody = z.object({
  metadata: z.unknown(),
  curators: z.array(z.string().regex(/^0x[0-9a-fA-F]{40}$/)).default([]),
})

export function registerDatanetRoutes(
  app: FastifyInstance,
  getService: () => DatanetService | undefined,
  getReplicator: () => DatanetReplicator | undefined,
  jobs: JobManager,
): void {
  const service = () => {
    const s = getService()
    if (!s)
      throw apiError(
        'CHAIN_NOT_CONFIGURED',
        'this node has no chain configured (chain_rpc, datanet_registry_address)',
      )
    return s
  }
  const id = (params: unknown) => BigInt(parseRequest(idParam, params).id)

  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: CONTRIBUTION_UPLOAD_LIMIT },
    (_req, body, done) => done(null, body),
  )

  app.get('/v1/datanets', async () => ({ datanets: await service().listDatanets() }))
  app.post('/v1/datanets', async (req, reply) => {
    const body = parseRequest(createBody, req.body)
    const created = await service().createDatanet(body.metadata, body.curators as `0x${string}`[])
    return reply.code(201).send({ datanetId: created.datanetId.toString(), metadataCid: created.metadataCid })
  })
  app.get('/v1/datanets/:id', async (req) => {
    const datanetId = id(req.params)
    const s = service()
    const [info, metadata] = await Promise.all([
      s.getDatanet(datanetId),
      s.metadata(datanetId).catch(() => null),
    ])
    return { datanetId: datanetId.toString(), ...info, metadata, curator: await s.isCurator(datanetId) }
  })
  app.get('/v1/datanets/:id/versions/:v', async (req) => {
    const datanetId = id(req.params)
    const { v } = parseRequest(versionParam, { v: (req.params as { v: string }).v })
    const version = await service().version(datanetId, v)
    const manifest = await service()
      .manifest(version.manifestCid)
      .catch(() => null)
    return {
      datanetId: datanetId.toString(),
      ...version,
      contributions:
        manifest?.contributions.map((e) => ({
          ...e,
          contentCid: e.contentCid.toString(),
          signature: `0x${Buffer.from(e.signature).toString('hex')}`,
        })) ?? null,
    }
  })
  app.post('/v1/datanets/:id/contributions', async (req, reply) => {
    const datanetId = id(req.params)
    const query = parseRequest(contributeQuery, req.query ?? {})
    if (!Buffer.isBuffer(req.body))
      throw apiError('UNSUPPORTED_MEDIA_TYPE', 'send the content as application/octet-stream')
    const record = await service().contribute(datanetId, query.name, new Uint8Array(req.body), query.license)
    return reply.code(201).send(record)
  })
  app.get('/v1/datanets/:id/contributions', async (req) => {
    const status = (req.query as { status?: string }).status
    if (status !== undefined && !['pending', 'accepted', 'rejected'].includes(status)) {
      throw apiError('BAD_REQUEST', 'status must be pending, accepted or rejected')
    }
    return { contributions: await service().list(id(req.params), status as 'pending' | undefined) }
  })
  app.post('/v1/datanets/:id/contributions/:cid/accept', async (req) => {
    return service().decide(id(req.params), (req.params as { cid: string }).cid, true)
  })
  app.post('/v1/datanets/:id/contributions/:cid/reject', async (req) => {
    const reason = parseRequest(z.object({ reason: z.string().min(1).max(500) }), req.body ?? {}).reason
    return service().decide(id(req.params), (req.params as { cid: string }).cid, false, reason)
  })
  app.post('/v1/datanets/:id/publish', async (req) => service().publish(id(req.params)))

  const replicator = () => {
    service()
    const r = getReplicator()
    if (!r) throw apiError('NOT_READY', 'replication is not running')
    return r
  }
  // Serving fetches the whole latest version, pins it and announces it: a background job whose result
  // says what is held. It is resumable: after a restart it runs again and finds the blocks already held.
  jobs.define('datanet.serve', {
    resumable: true,
    run: async (params, ctx) => {
      const result = await replicator().serve(params.datanetId!, { signal: ctx.signal })
      if (!result) return { waiting: 'no version published yet' }
      ctx.progress({ unit: 'blocks', done: result.blocks, total: result.blocks })
      return result
    },
  })
  app.post('/v1/datanets/:id/serve', async (req, reply) => {
    const datanetId = id(req.params).toString()
    replicator() // refuse at once (503) when replication is not running, rather than in the job
    const job = await jobs.submit('datanet.serve', { datanetId }, datanetId)
    return reply.code(202).send(accepted(job))
  })
  app.get('/v1/datanets/:id/status', async (req) => replicator().status(id(req.params)))
}
