// Model routes. Reads are open (auth.ts PUBLIC_ROUTES); register and fetch act with this node's account and
// on its own disk, so they need the API token. Register reads a folder the operator names on the node's
// disk; registering an adapter (POST /v1/registry/models/:id/adapters) reads one adapter folder and registers it as
// a model of its own on base model :id. Fetch writes only under the node's data dir (DIR/models/NAME;
// NAME is one plain folder name, never a path), as a background job (jobs.ts); the CLI copies the folder
// elsewhere when asked to.
import { mkdir } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { ModelService } from '../../protocols/model/service.ts'
import { apiError } from './errors.ts'
import { accepted, type JobManager } from './jobs.ts'
import { parseRequest } from './request.ts'

const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine(isAbsolute, { error: 'must be an absolute path on the node' })
const price = z.string().regex(/^\d+(\.\d{1,18})?$/, { error: 'OPEN per 1,000 tokens, e.g. "0.5"' })
const idParam = z.object({
  id: z.string().regex(/^[1-9]\d{0,76}$/, { error: 'model id must be a positive integer' }),
})
/** One folder name: no separators, no `..`, no leading dot (the service's partial folders start with one). */
export const MODEL_FOLDER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/
const folderName = z
  .string()
  .regex(MODEL_FOLDER_NAME, {
    error: 'must be a folder name (letters, digits, . _ -; no path): the model goes to DATA_DIR/models/NAME',
  })
  .refine((name) => !name.includes('..'), { error: 'must not contain ".."' })
const registerBody = z.object({ dir: absolutePath, priceIn: price, priceOut: price })
/** `dir`: one adapter folder (adapter_model.safetensors, adapter_config.json); its name is kept. */
const registerAdapterBody = registerBody
const fetchBody = z.strictObject({ name: folderName.optional() })
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) })

export interface ModelRouteOptions {
  jobs: JobManager
  /** DATA_DIR/models: the only place fetch writes to. */
  modelsDir: string
}

export function registerModelRoutes(
  app: FastifyInstance,
  getService: () => ModelService | undefined,
  { jobs, modelsDir }: ModelRouteOptions,
): void {
  const service = () => {
    const s = getService()
    if (!s) {
      throw apiError(
        'CHAIN_NOT_CONFIGURED',
        'this node has no model registry configured (chain_rpc, model_registry_address)',
      )
    }
    return s
  }

  // Not resumable: a fetch cut short leaves nothing (the service writes to a partial folder first), but
  // running it again unasked could collide with a folder the operator has since created; it is marked
  // interrupted and the operator starts it again.
  jobs.define('model.fetch', {
    resumable: false,
    run: async (params, ctx) => {
      await mkdir(modelsDir, { recursive: true })
      return service().fetch({
        modelId: params.modelId!,
        outDir: join(modelsDir, params.name!),
        signal: ctx.signal,
        onProgress: (bytes) => ctx.progress({ unit: 'bytes', done: bytes }),
      })
    },
  })

  app.get('/v1/registry/models', async (req) => ({
    models: await service().list(parseRequest(listQuery, req.query ?? {})),
  }))
  app.get('/v1/registry/models/:id', async (req) => service().show(parseRequest(idParam, req.params).id))
  app.post('/v1/registry/models', async (req, reply) => {
    const body = parseRequest(registerBody, req.body ?? {})
    return reply.code(201).send(await service().register(body))
  })
  app.post('/v1/registry/models/:id/adapters', async (req, reply) => {
    const { id } = parseRequest(idParam, req.params)
    const body = parseRequest(registerAdapterBody, req.body ?? {})
    return reply.code(201).send(await service().registerAdapter({ baseModelId: id, ...body }))
  })
  app.post('/v1/registry/models/:id/fetch', async (req, reply) => {
    const { id } = parseRequest(idParam, req.params)
    const { name = `model-${id}` } = parseRequest(fetchBody, req.body ?? {})
    service()
    // The folder is what a fetch owns: keyed by name, so two fetches never race to rename into one folder
    // (the loser failed as a local I/O error, 500). The same model again is the job already at work.
    const job = await jobs.submit('model.fetch', { modelId: id, name }, name)
    if (job.params.modelId !== id)
      throw apiError(
        'FOLDER_IN_USE',
        `DATA_DIR/models/${name} is being fetched for model ${job.params.modelId} (job ${job.id}); choose another name`,
      )
    return reply.code(202).send(accepted(job))
  })
}
