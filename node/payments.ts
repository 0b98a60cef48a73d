// Payments, wired (issue 12): the receipt mempool in the node's database, the openledger/receipts/1 topic,
// and the serving side of a paid answer. Before serving, a request's maxFee must fit in what its client
// can still spend: the Ledger's available balance (deposits minus settled spending minus reservations for
// withdrawal) less the receipts this node holds that no checkpoint has settled, less the maxFee of the
// client's requests this node is serving right now (reserved until each ends, so concurrent requests
// cannot together pass the balance). After serving, the node signs the receipt (the registered prices x
// tokens, capped by maxFee), stores it durably, returns it to the client and publishes it.
//
// Chain reads (balances, prices) are cached per block, so a burst of receipts costs one read per client
// and model per block. Epochs in the mempool's index are servedAt / the Ledger's epochDuration until the
// consensus issue brings its own clock.
import type { Logger } from 'pino'
import type { Address, TypedDataDomain } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { ledgerAbi } from '../contracts/generated/Ledger.ts'
import { ChainReadCache } from '../protocols/common/chain-cache.ts'
import type { GenerationEvent } from '../protocols/inference/backend.ts'
import { inferenceError } from '../protocols/inference/errors.ts'
import type { AnswerAttribution } from '../protocols/inference/gateway.ts'
import type { PaidRequest } from '../protocols/inference/infer-wire.ts'
import { defaultMaxFee } from '../protocols/inference/network-inference.ts'
import { registeredPrices } from '../protocols/model/prices.ts'
import type { ModelRegistryClient } from '../protocols/model/registry.ts'
import { Mempool, type MempoolLevel } from '../protocols/receipts/mempool.ts'
import {
  type AttributionShare,
  feeFor,
  outputHashOf,
  type Prices,
  type SignedReceipt,
  signReceipt,
  sortShares,
} from '../protocols/receipts/receipt.ts'
import {
  type ClientBalance,
  type PricesLookup,
  RECEIPT_DEADLINE_SKEW_S,
  RECEIPTS_TOPIC,
  receiptsTopic,
} from '../protocols/receipts/receipt-gossip.ts'
import { encodeReceipt } from '../protocols/receipts/receipt-wire.ts'
import type { ChainClients } from './chain.ts'
import type { GossipRouter } from './gossip.ts'

/** Receipts the mempool holds at most (each a few hundred bytes plus its output). */
export const MEMPOOL_MAX_RECEIPTS = 1_000_000
/** Clients and models whose chain reads are cached per block. */
const CHAIN_CACHE_MAX = 16_384

export interface PaymentsInit {
  /** the node database's level for our repositories, and the first of the mempool's three key prefixes */
  level: MempoolLevel
  prefix: number
  chain: ChainClients
  ledger: Address
  registry: ModelRegistryClient
  account: LocalAccount
  domain: TypedDataDomain
  gossip: GossipRouter
  /** recomputes an answer's attribution for a (model, adapter) the way its serving node must have */
  attribute?(
    target: { model: string; adapter: string | null },
    text: string,
  ): Promise<AnswerAttribution | null>
  log: Logger
}

export class Payments {
  private readonly inflight = new Map<string, bigint>()
  private readonly balances: ChainReadCache<ClientBalance>
  private readonly priceReads: ChainReadCache<PricesLookup>

  private constructor(
    private readonly init: PaymentsInit,
    readonly mempool: Mempool,
  ) {
    const head = () => init.chain.publicClient.getBlockNumber({ cacheTime: 0 })
    this.balances = new ChainReadCache({ head, headPollMs: 1000, maxEntries: CHAIN_CACHE_MAX })
    this.priceReads = new ChainReadCache({ head, headPollMs: 1000, maxEntries: CHAIN_CACHE_MAX })
  }

  static async start(init: PaymentsInit): Promise<Payments> {
    const params = (await init.chain.publicClient.readContract({
      address: init.ledger,
      abi: ledgerAbi,
      functionName: 'params',
    })) as readonly [number, number, number, number, number]
    const epochDuration = BigInt(params[1])
    const mempool = await Mempool.open(init.level, {
      prefix: init.prefix,
      maxReceipts: MEMPOOL_MAX_RECEIPTS,
      epochOf: (servedAt) => servedAt / epochDuration,
      graceS: RECEIPT_DEADLINE_SKEW_S,
      onInvalid: (_key, err) => init.log.warn({ err: err.message }, 'skipped an unreadable stored receipt'),
    })
    const payments = new Payments(init, mempool)
    init.gossip.register(
      receiptsTopic({
        domain: init.domain,
        mempool,
        prices: (model, adapter, signal) => payments.prices(model, adapter, signal),
        balance: (client, signal) => payments.balance(client, signal),
        verifyAttribution: init.attribute ? (signed) => payments.verifyAttribution(signed) : undefined,
        onAttributionMismatch: (node) =>
          init.log.warn({ node }, 'a receipt’s attribution did not match its recomputation'),
      }),
    )
    init.log.info({ receipts: mempool.size, epochDuration: Number(epochDuration) }, 'receipt mempool open')
    return payments
  }

  /** The client's balance in the Ledger, read once per block. */
  balance(client: Address, signal?: AbortSignal): Promise<ClientBalance> {
    return this.balances.get(
      client.toLowerCase(),
      async () => {
        const [funded, spent, reserved] = (await this.init.chain.publicClient.readContract({
          address: this.init.ledger,
          abi: ledgerAbi,
          functionName: 'clientBalance',
          args: [client],
        })) as readonly [bigint, bigint, bigint, bigint, bigint]
        return { funded, spent, reserved }
      },
      signal,
    )
  }

  /** Registered prices of (model, adapter), base plus adapter, read once per block. */
  prices(model: bigint, adapter: bigint, signal?: AbortSignal): Promise<PricesLookup> {
    return this.priceReads.get(
      `${model}:${adapter}`,
      () => registeredPrices(this.init.registry, model, adapter),
      signal,
    )
  }

  /** What a client can still spend here: available on chain, less pending receipts and requests in flight. */
  private spendableFrom(client: Address, b: ClientBalance): bigint {
    const unspent = b.funded > b.spent ? b.funded - b.spent : 0n
    const available = unspent > b.reserved ? unspent - b.reserved : 0n
    const held = this.mempool.pendingOf(client) + (this.inflight.get(client.toLowerCase()) ?? 0n)
    return available > held ? available - held : 0n
  }

  /** InferService's check before any work: maxFee must fit; it stays reserved until releasePayment. */
  async checkPayment(paid: PaidRequest): Promise<void> {
    const a = paid.payment.authorization
    // The infer service's replay guard lives in memory; the mempool remembers across a restart.
    if (this.mempool.has(a.requestId))
      throw inferenceError('PAYMENT_INVALID', 'a receipt for this requestId exists already', {
        reason: 'PAYMENT_REPLAYED',
      })
    let balance: ClientBalance
    let prices: PricesLookup
    try {
      ;[balance, prices] = await Promise.all([this.balance(a.client), this.prices(a.model, a.adapter)])
    } catch (err) {
      throw inferenceError('BUSY', `cannot read the chain now: ${(err as Error).message}`)
    }
    if ('unknown' in prices)
      throw inferenceError(
        prices.unknown === 'model' ? 'UNKNOWN_MODEL' : 'UNKNOWN_ADAPTER',
        `no ${prices.unknown} ${prices.unknown === 'model' ? a.model : a.adapter} in the registry`,
      )
    // The authorization must cover what this request may cost (its prompt and the tokens still to come at
    // the registered prices), or a client could pay less than the prices, down to nothing with maxFee 0.
    const request = paid.request
    const toCome = Math.max(1, request.maxTokens - (request.continuation?.tokenIds.length ?? 0))
    const least = defaultMaxFee(prices, { ...request, maxTokens: toCome })
    if (a.maxFee < least)
      throw inferenceError(
        'PAYMENT_INVALID',
        `maxFee ${a.maxFee} is below this request's cost bound ${least}`,
        {
          reason: 'MAX_FEE_TOO_LOW',
        },
      )
    // From here on synchronous: a concurrent request of this client sees this reservation.
    const spendable = this.spendableFrom(a.client, balance)
    if (a.maxFee > spendable)
      throw inferenceError(
        'INSUFFICIENT_BALANCE',
        `client ${a.client} can spend ${spendable} wei here, below the request's maxFee ${a.maxFee}; deposit more with \`openledger deposit\``,
      )
    const key = a.client.toLowerCase()
    this.inflight.set(key, (this.inflight.get(key) ?? 0n) + a.maxFee)
  }

  releasePayment(paid: PaidRequest): void {
    const a = paid.payment.authorization
    const key = a.client.toLowerCase()
    const left = (this.inflight.get(key) ?? 0n) - a.maxFee
    if (left > 0n) this.inflight.set(key, left)
    else this.inflight.delete(key)
  }

  /** Signs, stores (durably) and publishes the receipt of a served answer. */
  async issueReceipt(
    paid: PaidRequest,
    end: Extract<GenerationEvent, { type: 'end' }>,
    text: string,
    attribution: AnswerAttribution | null,
  ): Promise<SignedReceipt | undefined> {
    const a = paid.payment.authorization
    const prices = await this.prices(a.model, a.adapter)
    if ('unknown' in prices) return undefined
    const signed = await signReceipt(
      {
        authorization: a,
        clientSignature: paid.payment.signature,
        fee: feeFor(prices as Prices, end.usage.promptTokens, end.usage.completionTokens, a.maxFee),
        inputTokens: end.usage.promptTokens,
        outputTokens: end.usage.completionTokens,
        outputHash: outputHashOf(text),
        attribution: sharesOf(attribution),
        attributionParams: attribution?.paramsVersion ?? 'none',
        servedAt: BigInt(Math.floor(Date.now() / 1000)),
      },
      text,
      this.init.account,
      this.init.domain,
    )
    // Our own in-flight reservation is this request's: the mempool checks against the chain balance only.
    const added = await this.mempool.add(signed)
    if (added !== 'added') {
      this.init.log.warn({ requestId: a.requestId, added }, 'the receipt of a served answer was not stored')
      return undefined
    }
    await this.init.gossip
      .publish(RECEIPTS_TOPIC, encodeReceipt(signed))
      .catch((err) => this.init.log.debug({ err: (err as Error).message }, 'publishing a receipt failed'))
    return signed
  }

  /** Recomputes a receipt's attribution from its model's registered Datanet versions and compares. */
  private async verifyAttribution(signed: SignedReceipt): Promise<'match' | 'mismatch' | 'unavailable'> {
    const a = signed.receipt.authorization
    const target = { model: a.model.toString(), adapter: a.adapter === 0n ? null : a.adapter.toString() }
    const recomputed = await this.init.attribute!(target, signed.output)
    if (recomputed === null) return 'unavailable'
    const expected = sharesOf(recomputed)
    const got = signed.receipt.attribution
    const same =
      signed.receipt.attributionParams === recomputed.paramsVersion &&
      expected.length === got.length &&
      expected.every(
        (s, i) =>
          s.datanetId === got[i]!.datanetId &&
          s.version === got[i]!.version &&
          s.contributionIndex === got[i]!.contributionIndex &&
          s.weightPpm === got[i]!.weightPpm,
      )
    return same ? 'match' : 'mismatch'
  }
}

/** An answer's attribution as a receipt's shares, in the canonical order. */
export function sharesOf(attribution: AnswerAttribution | null): AttributionShare[] {
  if (attribution === null) return []
  return sortShares(
    attribution.entries.map((e) => ({
      datanetId: BigInt(e.datanetId),
      version: BigInt(e.datanetVersion),
      contributionIndex: BigInt(e.contributionIndex),
      weightPpm: e.weightPpm,
    })),
  )
}
