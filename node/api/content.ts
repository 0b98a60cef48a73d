// GET /v1/content/:cid: UnixFS file bytes from this node's Helia (fetched over bitswap when absent), so
// tools (attribution indexes, model training) can read a Datanet version through the node. It needs the
// API token: it makes the node fetch and store blocks from the network.
import type { FastifyInstance } from 'fastify'
import { CID } from 'multiformats/cid'
import { OpenLedgerError } from '../../protocols/common/errors.ts'
import { apiError } from './errors.ts'

export const CONTENT_MAX_BYTES = 64 * 1024 * 1024
export const CONTENT_TIMEOUT_MS = 30_000

type Cat = (cid: CID, options: { signal: AbortSignal }) => AsyncIterable<Uint8Array>

export function registerContentRoutes(app: FastifyInstance, getCat: () => Cat | undefined): void {
  app.get('/v1/content/:cid', async (req, reply) => {
    let cid: CID
    try {
      cid = CID.parse((req.params as { cid: string }).cid)
    } catch {
      throw apiError('BAD_CID', 'not a CID')
    }
    const cat = getCat()
    if (!cat) throw apiError('NOT_READY', 'the node is starting')
    const chunks: Uint8Array[] = []
    let length = 0
    const signal = AbortSignal.timeout(CONTENT_TIMEOUT_MS)
    try {
      for await (const chunk of cat(cid, { signal })) {
        length += chunk.length
        if (length > CONTENT_MAX_BYTES)
          throw apiError('CONTENT_TOO_LARGE', `${cid} is over ${CONTENT_MAX_BYTES} bytes`)
        chunks.push(chunk)
      }
    } catch (err) {
      if (err instanceof OpenLedgerError) throw err
      // Our timeout, or the network failing to deliver: upstream. Anything else (a local store failing)
      // is ours and goes to the error handler as a 500.
      if (signal.aborted || (err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError')
        throw apiError('CONTENT_UNAVAILABLE', `${cid}: not received within ${CONTENT_TIMEOUT_MS} ms`)
      // @helia/unixfs: the CID names a directory or something that is not UnixFS.
      if (/NotAFile|NotUnixFS|NoContent/.test((err as Error).name))
        throw apiError('BAD_CID', `${cid} is not a UnixFS file: ${(err as Error).message}`)
      throw err
    }
    reply.header('content-type', 'application/octet-stream')
    return reply.send(Buffer.concat(chunks))
  })
}
