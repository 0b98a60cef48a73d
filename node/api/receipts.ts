// GET /v1/receipts?client=&node=&model=&limit=: the receipts this node's mempool holds (accepted, not yet
// settled by a checkpoint), newest index order, at most `limit` (default 100, at most 1,000). With
// `client`, also `pending`: the sum of that client's pending fees, whatever the limit, which is what a
// balance view subtracts. Public, like the gossip it comes from; the answers' texts are left out (their
// hashes are in the receipts).
import type { FastifyInstance } from 'fastify'
import type { Hex } from 'viem'
import { z } from 'zod'
import type { Mempool } from '../../protocols/receipts/mempool.ts'
import type { SignedReceipt } from '../../protocols/receipts/receipt.ts'
import { apiError } from './errors.ts'
import { parseRequest } from './request.ts'

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, { error: 'must be a 0x-prefixed 20-byte address' })
const query = z.object({
  client: address.optional(),
  node: address.optional(),
  model: z
    .string()
    .regex(/^[1-9]\d{0,76}$/, { error: 'must be a registry id (a positive integer)' })
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})

export function registerReceiptRoutes(app: FastifyInstance, getMempool: () => Mempool | undefined): void {
  app.get('/v1/receipts', async (req) => {
    const q = parseRequest(query, req.query ?? {})
    const mempool = getMempool()
    if (!mempool)
      throw apiError(
        'CHAIN_NOT_CONFIGURED',
        'receipts need chain_rpc, ledger_address and model_registry_address',
      )
    const receipts = await mempool.list(
      {
        client: q.client as Hex | undefined,
        node: q.node as Hex | undefined,
        model: q.model === undefined ? undefined : BigInt(q.model),
      },
      q.limit,
    )
    return {
      receipts: receipts.map(view),
      ...(q.client === undefined ? {} : { pending: mempool.pendingOf(q.client as Hex).toString() }),
    }
  })
}

function view({ receipt: r, nodeSignature, output }: SignedReceipt) {
  const a = r.authorization
  return {
    requestId: a.requestId,
    client: a.client,
    node: a.node,
    model: a.model.toString(),
    adapter: a.adapter === 0n ? null : a.adapter.toString(),
    maxFee: a.maxFee.toString(),
    deadline: Number(a.deadline),
    fee: r.fee.toString(),
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    outputHash: r.outputHash,
    outputBytes: Buffer.byteLength(output, 'utf8'),
    attribution: r.attribution.map((s) => ({
      datanetId: s.datanetId.toString(),
      version: Number(s.version),
      contributionIndex: Number(s.contributionIndex),
      weightPpm: s.weightPpm,
    })),
    attributionParams: r.attributionParams,
    servedAt: Number(r.servedAt),
    clientSignature: r.clientSignature,
    nodeSignature,
  }
}
