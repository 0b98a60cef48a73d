// openledger/receipts/1: signed receipts, validated cheapest check first and signatures last (issue 12),
// then stored in the mempool before they are forwarded (a receipt is accepted only once it is durable).
//
//   size (the gossip layer, before decoding) and decoding ........................ REJECT
//   requestId already accepted (held, or settled before its deadline) ............ IGNORE
//   deadline passed (beyond the clock skew allowed) .............................. IGNORE
//   shape, fee above maxFee, served after the deadline, output hash .............. REJECT
//   unknown model, or an adapter not registered for that model ................... REJECT
//   fee above the registered prices x tokens ..................................... REJECT
//   client's balance: pending receipts plus this fee above what it holds ......... IGNORE
//   a signature that is not the client's or the node's ........................... REJECT
//   attribution recomputed by this validator (all, or a sample) does not match ... REJECT
//   our own failures (chain unreachable, a full mempool, a failed write) ......... IGNORE
//
// Overspending is IGNORE, not REJECT as the issue first put it: whether a receipt overspends depends on
// which of a client's receipts a validator saw first, so honest relays forwarding two receipts of one
// double-spending client would be punished for it. Both receipts are refused all the same wherever they
// do not fit (at most the client's balance is ever accepted), and the reason is counted.
import type { PeerId } from '@libp2p/interface'
import type { Address, TypedDataDomain } from 'viem'
import { type GossipQueuePolicy, type GossipTopic, gossipIgnore, gossipReject } from '../common/gossip.ts'
import type { AddResult, Mempool } from './mempool.ts'
import {
  checkReceipt,
  type Prices,
  priceFee,
  ReceiptError,
  type SignedReceipt,
  verifyReceiptSignatures,
} from './receipt.ts'
import { decodeReceipt, RECEIPT_MAX_BYTES } from './receipt-wire.ts'

export const RECEIPTS_TOPIC = 'openledger/receipts/1'

/** How far a receipt's deadline may be behind our clock before it is not news. */
export const RECEIPT_DEADLINE_SKEW_S = 60

/** Validation: arrival order (a receipt's turn decides what its client can still spend), oldest dropped. */
export const RECEIPTS_QUEUE: GossipQueuePolicy = {
  order: 'FIFO',
  maxLength: 4096,
  drop: 'oldest',
  concurrency: 16,
}
/** Nothing waits after validation: the mempool write is part of it. */
export const RECEIPTS_HANDLER_QUEUE: GossipQueuePolicy = {
  order: 'FIFO',
  maxLength: 256,
  drop: 'oldest',
  concurrency: 4,
}

/** A client's balance in the Ledger contract (wei): deposits, settled spending, reserved for withdrawal. */
export interface ClientBalance {
  funded: bigint
  spent: bigint
  reserved: bigint
}

export type PricesLookup = Prices | { unknown: 'model' | 'adapter' }

export interface ReceiptsTopicInit {
  domain: TypedDataDomain
  mempool: Mempool
  /** the registered prices of (model, adapter): base plus adapter (adapter 0n: the base alone) */
  prices(model: bigint, adapter: bigint, signal?: AbortSignal): Promise<PricesLookup>
  balance(client: Address, signal?: AbortSignal): Promise<ClientBalance>
  /**
   * Recomputes the receipt's attribution from the model's registered Datanet versions: 'match',
   * 'mismatch', or 'unavailable' (no index here, which accepts the receipt unchecked). Called for the share
   * of receipts `attributionSampleRate` picks; absent, attribution is not re-verified.
   */
  verifyAttribution?(
    signed: SignedReceipt,
    signal?: AbortSignal,
  ): Promise<'match' | 'mismatch' | 'unavailable'>
  /** 0..1 (default 1): the share of receipts whose attribution this validator recomputes */
  attributionSampleRate?: number
  /** ms clock (default Date.now) */
  now?: () => number
  /** after a receipt is stored and accepted (never for this node's own publications) */
  onReceipt?(signed: SignedReceipt, from: PeerId): void
  /** a receipt whose attribution did not match: counted against its serving node */
  onAttributionMismatch?(node: Address, signed: SignedReceipt): void
}

/** The bytes a receipt was decoded from: the mempool stores them as they came, not re-encoded. */
const wireOf = new WeakMap<SignedReceipt, Uint8Array>()

export function receiptsTopic(init: ReceiptsTopicInit): GossipTopic<SignedReceipt> {
  const now = init.now ?? Date.now
  const rate = init.attributionSampleRate ?? 1

  async function validateReceipt(signed: SignedReceipt, signal?: AbortSignal): Promise<void> {
    const r = signed.receipt
    const a = r.authorization
    if (init.mempool.has(a.requestId))
      gossipIgnore('RECEIPT_SEEN', 'a receipt for this requestId was accepted')
    if (a.deadline + BigInt(RECEIPT_DEADLINE_SKEW_S) < BigInt(Math.floor(now() / 1000)))
      gossipIgnore('RECEIPT_EXPIRED', 'the authorization’s deadline has passed')
    try {
      checkReceipt(signed)
    } catch (err) {
      if (err instanceof ReceiptError) gossipReject(err.code, err.message)
      throw err
    }
    let prices: PricesLookup
    try {
      prices = await init.prices(a.model, a.adapter, signal)
    } catch {
      gossipIgnore('RECEIPT_CHAIN_UNAVAILABLE', 'cannot read the model registry')
    }
    if ('unknown' in prices)
      gossipReject(
        prices.unknown === 'model' ? 'RECEIPT_UNKNOWN_MODEL' : 'RECEIPT_UNKNOWN_ADAPTER',
        prices.unknown === 'model'
          ? `no model ${a.model}`
          : `adapter ${a.adapter} is not one of model ${a.model}`,
      )
    const most = priceFee(prices, r.inputTokens, r.outputTokens)
    if (r.fee > most) gossipReject('RECEIPT_FEE_ABOVE_PRICE', `fee ${r.fee} is above the prices' ${most}`)
    let balance: ClientBalance
    try {
      balance = await init.balance(a.client, signal)
    } catch {
      gossipIgnore('RECEIPT_CHAIN_UNAVAILABLE', 'cannot read the client’s balance')
    }
    const unspent = balance.funded > balance.spent ? balance.funded - balance.spent : 0n
    const spendable = unspent > balance.reserved ? unspent - balance.reserved : 0n
    const pending = init.mempool.pendingOf(a.client)
    if (pending + r.fee > unspent)
      gossipIgnore('RECEIPT_CLIENT_OVERSPENT', `the client has ${unspent} wei unspent, ${pending} pending`)
    if (pending + r.fee > spendable)
      gossipIgnore('RECEIPT_SPENDS_RESERVED', 'the fee reaches into an amount reserved for withdrawal')
    try {
      verifyReceiptSignatures(signed, init.domain)
    } catch (err) {
      if (err instanceof ReceiptError) gossipReject(err.code, err.message)
      throw err
    }
    if (init.verifyAttribution && sampled(rate)) {
      let verdict: 'match' | 'mismatch' | 'unavailable'
      try {
        verdict = await init.verifyAttribution(signed, signal)
      } catch {
        verdict = 'unavailable'
      }
      if (verdict === 'mismatch') {
        init.onAttributionMismatch?.(a.node, signed)
        gossipReject('RECEIPT_ATTRIBUTION_MISMATCH', 'the attribution does not match its recomputation')
      }
    }
    let added: AddResult
    try {
      added = await init.mempool.add(signed, spendable, wireOf.get(signed))
    } catch {
      gossipIgnore('RECEIPT_STORE_FAILED', 'the mempool could not store the receipt')
    }
    if (added === 'known') gossipIgnore('RECEIPT_SEEN', 'a receipt for this requestId was accepted')
    if (added === 'full') gossipIgnore('RECEIPT_MEMPOOL_FULL', 'the mempool is full')
    if (added === 'overspent')
      gossipIgnore('RECEIPT_CLIENT_OVERSPENT', 'the client’s pending receipts leave no room for this fee')
  }

  return {
    topic: RECEIPTS_TOPIC,
    maxBytes: RECEIPT_MAX_BYTES,
    queue: RECEIPTS_QUEUE,
    handlerQueue: RECEIPTS_HANDLER_QUEUE,
    decode(bytes) {
      try {
        const signed = decodeReceipt(bytes)
        wireOf.set(signed, bytes)
        return signed
      } catch (err) {
        if (err instanceof ReceiptError) gossipReject(err.code, err.message)
        throw err
      }
    },
    validate: (signed, _from, signal) => validateReceipt(signed, signal),
    async handle(signed, from) {
      init.onReceipt?.(signed, from)
    },
  }
}

/** Whether this validator recomputes this receipt's attribution: its own coin, so neither a node nor a
 * colluding client (who picks the requestId) can tell which receipts go unchecked; across N validators a
 * receipt escapes every check with probability (1 - rate)^N. */
function sampled(rate: number): boolean {
  return rate >= 1 || Math.random() < rate
}
