// GET /v1/providers?model=ID[&adapter=ID][&fresh=true]: the live providers of a model (or one of its
// adapters) as this node's client sees them, best first: found through the DHT, their signed capacity
// records fetched and checked (stale, unsigned and mismatched ones dropped, banned peers left out). It
// makes the node search and dial, so it needs the API token.
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { NetworkInference } from '../../protocols/inference/network-inference.ts'
import { apiError } from './errors.ts'
import { parseRequest } from './request.ts'

const id = z.string().regex(/^[1-9]\d{0,76}$/, { error: 'must be a registry id (a positive integer)' })
const query = z.object({
  model: id,
  adapter: id.optional(),
  fresh: z.enum(['true', 'false']).optional(),
})

export function registerInferenceRoutes(
  app: FastifyInstance,
  getNetwork: () => NetworkInference | undefined,
): void {
  app.get('/v1/providers', async (req) => {
    const q = parseRequest(query, req.query ?? {})
    const network = getNetwork()
    if (!network) throw apiError('NOT_READY', 'inference is not running yet')
    if (q.fresh === 'true') network.forget()
    const providers = await network.providers(BigInt(q.model), BigInt(q.adapter ?? 0))
    return {
      providers: providers.map((p) => ({
        peerId: p.peerId,
        account: p.record.account,
        state: p.record.state,
        queueDepth: p.record.queueDepth,
        expiresAt: p.record.expiresAt,
        latencyMs: Math.round(p.latencyMs * 10) / 10,
        banned: network.bans.isBanned(p.peerId),
        hardware: p.record.hardware,
        models: p.record.models.map((m) => ({
          modelId: m.modelId.toString(),
          adapterId: m.adapterId.toString(),
          warm: m.warm,
          tokensPerSec: m.tokensPerSec,
          priceIn: m.priceIn.toString(),
          priceOut: m.priceOut.toString(),
        })),
      })),
    }
  })
}
