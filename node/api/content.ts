// GET /v1/content/:cid: UnixFS file bytes from this node's Helia (fetched over bitswap when absent), so
// tools (attribution indexes, model training) can read a Datanet version through the node.
import type { FastifyInstance } from 'fastify'
import { CID } from 'multiformats/cid'

export const CONTENT_MAX_BYTES = 64 * 1024 * 1024
export const CONTENT_TIMEOUT_MS = 30_000

type Cat = (cid: CID, options: { signal: AbortSignal }) => AsyncIterable<Uint8Array>

export function registerContentRoutes(app: FastifyInstance, getCat: () => Cat | undefined): void {
  app.get('/v1/content/:cid', async (req, reply) => {
    let cid: CID
    try {
      cid = CID.parse((req.params as { cid: string }).cid)
    } catch {
      return reply.code(400).send({ error: 'BAD_CID', message: 'not a CID' })
    }
    const cat = getCat()
    if (!cat) return reply.code(503).send({ error: 'NOT_READY', message: 'the node is starting' })
    const chunks: Uint8Array[] = []
    let length = 0
    try {
      for await (const chunk of cat(cid, { signal: AbortSignal.timeout(CONTENT_TIMEOUT_MS) })) {
        length += chunk.length
        if (length > CONTENT_MAX_BYTES)
          return reply
            .code(413)
            .send({ error: 'CONTENT_TOO_LARGE', message: `over ${CONTENT_MAX_BYTES} bytes` })
        chunks.push(chunk)
      }
    } catch (err) {
      return reply
        .code(504)
        .send({ error: 'CONTENT_UNAVAILABLE', message: `${cid}: ${(err as Error).message}` })
    }
    reply.header('content-type', 'application/octet-stream')
    return reply.send(Buffer.concat(chunks))
  })
}
