// Model routes. Reads are public; register and fetch act with this node's account and on its own disk
// (the folder paths are the node's), so they are for the operator: the API listens on 127.0.0.1 unless
// configured otherwise.
import { isAbsolute } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { ModelService } from '../../protocols/model/service.ts'
import { httpError, parseRequest } from './request.ts'

/** HTTP status of each model error code; merged into STATUS_BY_CODE in server.ts (unlisted codes are 400). */
export const MODEL_STATUS_BY_CODE: Record<string, number> = {
  UNKNOWN_MODEL: 404,
  NOT_MODEL_OWNER: 403,
  MODEL_RETIRED: 409,
  UNKNOWN_DATANET_VERSION: 422,
  MODEL_EMPTY_FIELD: 400,
  MODEL_INVALID_ARGUMENT: 400,
  MODEL_INVALID_PRICE: 400,
  MODEL_NO_WALLET: 503,
  MODEL_TX_REVERTED: 502,
  MODEL_CHAIN_ERROR: 502,
  ADAPTER_BASE_MISMATCH: 422,
  OUT_DIR_NOT_EMPTY: 409,
  ARTIFACT_INVALID: 502,
  MODEL_TOO_LARGE: 413,
  MODEL_FETCH_TIMEOUT: 504,
  FETCHED_MODEL_INVALID: 502,
  // A local folder refused by loadModel at registration (protocols/model/errors.ts).
  MODEL_FILE_CORRUPTED: 422,
  MODEL_FILE_MISSING: 422,
  MODEL_FILE_UNKNOWN: 422,
  MODEL_FORMAT_INVALID: 422,
  MODEL_ADAPTER_SHAPE_MISMATCH: 422,
}

const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine(isAbsolute, { error: 'must be an absolute path on the node' })
const price = z.string().regex(/^\d+(\.\d{1,18})?$/, { error: 'OPEN per 1,000 tokens, e.g. "0.5"' })
const idParam = z.object({
  id: z.string().regex(/^[1-9]\d{0,76}$/, { error: 'model id must be a positive integer' }),
})
const registerBody = z.object({ dir: absolutePath, priceIn: price, priceOut: price })
const fetchBody = z.object({ outDir: absolutePath })
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) })

export function registerModelRoutes(app: FastifyInstance, getService: () => ModelService | undefined): void {
  const service = () => {
    const s = getService()
    if (!s) {
      throw httpError(
        503,
        'CHAIN_NOT_CONFIGURED',
        'this node has no model registry configured (chain_rpc, model_registry_address)',
      )
    }
    return s
  }

  app.get('/v1/models', async (req) => ({
    models: await service().list(parseRequest(listQuery, req.query ?? {})),
  }))
  app.get('/v1/models/:id', async (req) => service().show(parseRequest(idParam, req.params).id))
  app.post('/v1/models', async (req, reply) => {
    const body = parseRequest(registerBody, req.body ?? {})
    return reply.code(201).send(await service().register(body))
  })
  app.post('/v1/models/:id/fetch', async (req) => {
    const { id } = parseRequest(idParam, req.params)
    const { outDir } = parseRequest(fetchBody, req.body ?? {})
    return service().fetch({ modelId: id, outDir })
  })
}
