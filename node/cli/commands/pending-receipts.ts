// "Pending in receipts": fees the network has accepted from a client that no checkpoint has settled yet.
// They live in the nodes' mempools, not on chain, so the balance view asks a node for them with
// `GET /v1/receipts?client=ADDRESS` (issue 12's mempool route, which prunes receipts once checkpointed).
// Expected answer: `{"receipts": [...]}`, each entry a signed receipt (`{receipt: {fee}}`) or a receipt
// (`{fee}`), fees in wei as decimal strings or safe integers, plus, preferably, `pending`: the mempool's
// own per-client total, which stays exact when the list is cut at a page limit. Without it the figure is
// the sum of the listed fees. A node that does not offer the route (404), no node answering, or an answer
// of any other shape leaves the figure unknown (null) with the reason: it is never guessed.
import type { Address } from 'viem'
import { ApiError, type ApiTarget, callApi } from '../api-client.ts'

export interface PendingReceipts {
  /** wei; null when unknown */
  pendingInReceipts: bigint | null
  /** how many receipts were summed */
  receipts: number | null
  /** the URL asked */
  source: string
  /** why the figure is unknown */
  unknownBecause: string | null
}

/** A short wait: the balance is read from the chain either way, the node only adds this one figure. */
const PENDING_TIMEOUT_MS = 5_000

function feeOf(entry: unknown): bigint | undefined {
  const receipt = (entry as { receipt?: unknown })?.receipt ?? entry
  const fee = (receipt as { fee?: unknown })?.fee
  if (typeof fee === 'string' && /^\d+$/.test(fee)) return BigInt(fee)
  if (typeof fee === 'number' && Number.isSafeInteger(fee) && fee >= 0) return BigInt(fee)
  return undefined
}

export async function pendingInReceipts(api: ApiTarget, client: Address): Promise<PendingReceipts> {
  const path = `/v1/receipts?client=${client}`
  const source = `${api.url.replace(/\/$/, '')}${path}`
  const unknown = (why: string): PendingReceipts => ({
    pendingInReceipts: null,
    receipts: null,
    source,
    unknownBecause: why,
  })
  let body: unknown
  try {
    body = await callApi(api, 'GET', path, { timeoutMs: PENDING_TIMEOUT_MS })
  } catch (err) {
    if (err instanceof ApiError && err.type.status === 404)
      return unknown('the node API does not offer GET /v1/receipts (404): its mempool is not available')
    if (err instanceof ApiError) return unknown(err.message)
    throw err
  }
  const list = (body as { receipts?: unknown })?.receipts
  if (!Array.isArray(list)) return unknown('the node answered without a receipts list')
  const stated = (body as { pending?: unknown }).pending
  if (stated !== undefined) {
    if (typeof stated !== 'string' || !/^\d+$/.test(stated))
      return unknown('the node answered a pending total that is not wei as a decimal string')
    return { pendingInReceipts: BigInt(stated), receipts: list.length, source, unknownBecause: null }
  }
  let total = 0n
  for (const entry of list) {
    const fee = feeOf(entry)
    if (fee === undefined) return unknown('the node answered a receipt without a fee in wei')
    total += fee
  }
  return { pendingInReceipts: total, receipts: list.length, source, unknownBecause: null }
}
