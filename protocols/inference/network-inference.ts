// Answers from the network: find the providers of a model (DHT provider records, then each one's signed
// capacity record), rank them (price, load, latency), and stream from the best one over
// /openledger/infer/1.0.0 with a payment authorization signed for that provider. When a provider fails,
// before or during its answer, it is banned for a while and the next one continues: mid-stream, the
// request carries the tokens already received as a continuation, so the client gets one whole answer.
// Refusals that are the request's own fault (prompt or max tokens over the limit, bad fields) end the
// answer once a second provider agrees, and never ban; BUSY skips the provider for a few seconds. What a
// provider streams is bounded (tokens, text per token, a deadline for the whole answer), and the fee each
// authorization allows comes from the registry's prices when the node can read them.
import { peerIdFromString } from '@libp2p/peer-id'
import type { TypedDataDomain } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import type { FetchedCapacity } from '../capacity/capacity-protocol.ts'
import type { ModelOffer } from '../capacity/capacity-record.ts'
import { type DiscoveryLibp2p, findProviders, PeerBans, rankProviders } from '../capacity/discovery.ts'
import {
  newRequestId,
  type SignedPaymentAuthorization,
  signPaymentAuthorization,
} from '../receipts/payment-authorization.ts'
import { checkReceipt, type SignedReceipt, verifyReceiptSignatures } from '../receipts/receipt.ts'
import { decodeReceipt } from '../receipts/receipt-wire.ts'
import type { InferenceRequest } from './backend.ts'
import type { InferClientTimeouts } from './constants.ts'
import { InferenceError, inferenceError } from './errors.ts'
import type { AnswerEvent } from './gateway.ts'
import { type InferDialer, inferFrom } from './infer-client.ts'
import { InferStreamPool } from './infer-stream-pool.ts'
import { INFER_MAX_REQUEST_BYTES, isDecimalId } from './infer-wire.ts'

/** Refusals that another provider would give too: the request itself is at fault. */
const REQUEST_FAULTS: ReadonlySet<string> = new Set([
  'PROMPT_TOO_LARGE',
  'MAX_TOKENS_TOO_LARGE',
  'INVALID_REQUEST',
  'INSUFFICIENT_BALANCE',
])
/** A busy provider is skipped briefly, so a few that always say BUSY cannot use up every attempt. */
const BUSY_BAN_MS = 5_000
/** The most UTF-8 bytes one token's text may have (a byte-level vocabulary's longest merges are far less). */
const MAX_TEXT_BYTES_PER_TOKEN = 256
/** Room in a request frame for everything besides the prompt (payment, ids, fields). */
const REQUEST_FRAME_OVERHEAD = 2048
/** A whole answer, failovers included, ends within this (default). */
export const DEFAULT_ANSWER_TIMEOUT_MS = 10 * 60_000

export interface NetworkInferenceInit {
  libp2p: DiscoveryLibp2p & InferDialer
  domain: TypedDataDomain
  /** the client's account: signs each provider's payment authorization */
  account: LocalAccount
  bans?: PeerBans
  /** providers tried for one answer (default 4) */
  maxAttempts?: number
  /** how long a discovery's result is reused (default 10 s; records past their expiry are dropped anyway) */
  providerCacheMs?: number
  discoveryTimeoutMs?: number
  timeouts?: Partial<InferClientTimeouts>
  /** seconds an authorization is valid (default 300) */
  paymentLifetimeS?: number
  /** the most this client pays for one answer; default the provider's prices x the request's bound */
  maxFee?(offer: ModelOffer, request: InferenceRequest): bigint
  /** the registered prices (wei per 1,000 tokens; base + adapter); a provider's own record is not trusted */
  pricesOf?(modelId: bigint, adapterId: bigint): Promise<{ priceIn: bigint; priceOut: bigint }>
  /** a whole answer's deadline, failovers included (default 10 minutes) */
  answerTimeoutMs?: number
  now?: () => number
  onFailover?(info: { peerId: string; code: string; message: string; tokensSoFar: number }): void
}

/** priceIn x prompt bound + priceOut x maxTokens, per 1,000 tokens, rounded up. A byte-level tokenizer
 * never makes more tokens than the prompt has UTF-8 bytes. */
export function defaultMaxFee(
  offer: Pick<ModelOffer, 'priceIn' | 'priceOut'>,
  request: InferenceRequest,
): bigint {
  const promptBound = BigInt(
    request.promptTokenIds?.length ?? Buffer.byteLength(request.prompt ?? '', 'utf8') + 1,
  )
  const total = offer.priceIn * promptBound + offer.priceOut * BigInt(request.maxTokens)
  return (total + 999n) / 1000n
}

interface CachedProviders {
  providers: FetchedCapacity[]
  latencyMs: Map<string, number>
  until: number
}

export class NetworkInference {
  readonly bans: PeerBans
  /** idle infer streams per provider, reused by the next request */
  readonly streams: InferStreamPool
  private readonly now: () => number
  private readonly cache = new Map<string, CachedProviders>()

  constructor(private readonly init: NetworkInferenceInit) {
    this.bans = init.bans ?? new PeerBans()
    this.now = init.now ?? Date.now
    this.streams = new InferStreamPool(init.libp2p)
  }

  /** Closes the idle streams (the node is stopping). */
  close(): void {
    this.streams.close()
  }

  /** Ranked live providers of (model, adapter), best first; discovery runs when the cache has none usable. */
  async providers(modelId: bigint, adapterId: bigint, signal?: AbortSignal): Promise<FetchedCapacity[]> {
    const key = `${modelId}:${adapterId}`
    const nowS = this.now() / 1000
    const usable = (c: CachedProviders) =>
      c.providers.filter((p) => p.record.expiresAt > nowS && !this.bans.isBanned(p.peerId))
    const cached = this.cache.get(key)
    let entry = cached && cached.until > this.now() && usable(cached).length > 0 ? cached : undefined
    if (entry === undefined) {
      const found = await findProviders(this.init.libp2p, modelId, {
        domain: this.init.domain,
        adapterId,
        bans: this.bans,
        timeoutMs: this.init.discoveryTimeoutMs,
        signal,
      })
      entry = {
        providers: found.providers,
        latencyMs: found.latencyMs,
        until: this.now() + (this.init.providerCacheMs ?? 10_000),
      }
      if (this.cache.size >= 1024) this.cache.clear()
      this.cache.set(key, entry)
    }
    const ranked = rankProviders(usable(entry), { modelId, adapterId, latencyMs: entry.latencyMs })
    return ranked.map((r) => r.provider)
  }

  /** Forgets cached discoveries (a test or an operator's refresh). */
  forget(): void {
    this.cache.clear()
  }

  async *answer(
    request: InferenceRequest,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<AnswerEvent> {
    if (!isDecimalId(request.model))
      throw inferenceError(
        'UNKNOWN_MODEL',
        `model "${request.model}" is not a registry id, and not served here`,
        {
          model: request.model,
        },
      )
    if (request.adapter && !isDecimalId(request.adapter))
      throw inferenceError('UNKNOWN_ADAPTER', `adapter "${request.adapter}" is not a registry id`, {
        adapter: request.adapter,
      })
    // A request no provider can take is refused here, before anyone is dialed (or banned for refusing it).
    const held = request.continuation?.tokenIds.length ?? 0
    const requestBytes =
      Buffer.byteLength(request.prompt ?? '', 'utf8') + 5 * ((request.promptTokenIds?.length ?? 0) + held)
    if (requestBytes > INFER_MAX_REQUEST_BYTES - REQUEST_FRAME_OVERHEAD)
      throw inferenceError(
        'PROMPT_TOO_LARGE',
        `the request is ${requestBytes} bytes; a request frame holds at most ${INFER_MAX_REQUEST_BYTES}`,
        { field: 'prompt' },
      )
    const modelId = BigInt(request.model)
    const adapterId = request.adapter ? BigInt(request.adapter) : 0n
    const providers = await this.providers(modelId, adapterId, options.signal)
    if (providers.length === 0)
      throw inferenceError(
        'NO_PROVIDER',
        `no node in the network serves model ${modelId}${adapterId ? ` adapter ${adapterId}` : ''} now`,
        { model: request.model, adapter: request.adapter ?? undefined },
      )
    // Prices come from the registry when the node can read it, never from what a provider claims.
    const prices = await this.init.pricesOf?.(modelId, adapterId)
    const deadline = AbortSignal.timeout(this.init.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS)
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline
    const tokenIds = [...(request.continuation?.tokenIds ?? [])]
    let textLength = request.continuation?.textLength ?? 0
    let textBytes = 0
    const resumedFrom = tokenIds.length
    let failovers = 0
    let requestFaults = 0
    let last: InferenceError | undefined
    const maxAttempts = this.init.maxAttempts ?? 4
    let attempts = 0
    for (const provider of providers) {
      if (attempts >= maxAttempts) break
      if (this.bans.isBanned(provider.peerId)) continue
      attempts++
      const offer = provider.record.models.find((m) => m.modelId === modelId && m.adapterId === adapterId)!
      const priced = prices ? { ...offer, ...prices } : offer
      const attempt: InferenceRequest = {
        ...request,
        continuation: tokenIds.length > 0 ? { tokenIds: [...tokenIds], textLength } : undefined,
      }
      // On a failover, pay only for the tokens still to come.
      const remaining = { ...request, maxTokens: Math.max(1, request.maxTokens - tokenIds.length) }
      const payment = await signPaymentAuthorization(
        {
          client: this.init.account.address,
          node: provider.record.account,
          model: modelId,
          adapter: adapterId,
          maxFee: (this.init.maxFee ?? defaultMaxFee)(priced, remaining),
          requestId: newRequestId(),
          deadline: BigInt(Math.floor(this.now() / 1000) + (this.init.paymentLifetimeS ?? 300)),
        },
        this.init.account,
        this.init.domain,
      )
      let announced = false
      /** what this provider sent: its receipt's output */
      let servedText = ''
      const servedBy = { peerId: provider.peerId, account: provider.record.account, local: false }
      try {
        for await (const event of inferFrom(
          this.init.libp2p,
          peerIdFromString(provider.peerId),
          { request: attempt, payment },
          { signal, timeouts: this.init.timeouts, pool: this.streams },
        )) {
          if (event.type === 'chunk') {
            // A provider is untrusted: no more tokens than asked for, no text its tokens cannot carry.
            // Checked before anything of the chunk is kept, so the next provider resumes from clean state.
            const bytes = Buffer.byteLength(event.text, 'utf8')
            const tokens = tokenIds.length + event.tokenIds.length
            if (tokens > request.maxTokens)
              throw inferenceError(
                'PROTOCOL_ERROR',
                `${provider.peerId} sent more than ${request.maxTokens} tokens`,
              )
            if (textBytes + bytes > (tokens + 1) * MAX_TEXT_BYTES_PER_TOKEN)
              throw inferenceError(
                'PROTOCOL_ERROR',
                `${provider.peerId} sent more text than its tokens carry`,
              )
            tokenIds.push(...event.tokenIds)
            servedText += event.text
            textLength += event.text.length
            textBytes += bytes
            const first = !announced
            announced = true
            yield first ? { ...event, servedBy } : event
            continue
          }
          const promptBound =
            request.promptTokenIds?.length ?? Buffer.byteLength(request.prompt ?? '', 'utf8') + 1
          yield {
            type: 'end',
            stopReason:
              event.stopReason === 'max_tokens' && tokenIds.length < request.maxTokens
                ? 'stop'
                : event.stopReason,
            usage: {
              promptTokens: Math.min(event.usage.promptTokens, promptBound),
              completionTokens: tokenIds.length - resumedFrom,
            },
            attribution: event.attribution,
            servedBy,
            failovers,
            receipt: receiptFor(event.receipt, servedText, payment, this.init.domain),
          }
          return
        }
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason
        if (deadline.aborted)
          throw inferenceError(
            'TIMEOUT',
            `no whole answer within ${this.init.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS} ms`,
          )
        if (!(err instanceof InferenceError)) throw err
        if (REQUEST_FAULTS.has(err.code)) {
          // Never a reason to ban: with tokens held, the fault is in what an earlier (banned) provider sent;
          // before any, a second provider must agree before the request is refused.
          if (tokenIds.length > resumedFrom || ++requestFaults >= 2) throw err
        } else if (err.code === 'BUSY') this.bans.ban(provider.peerId, BUSY_BAN_MS)
        else this.bans.ban(provider.peerId)
        failovers++
        last = err
        this.init.onFailover?.({
          peerId: provider.peerId,
          code: err.code,
          message: err.message,
          tokensSoFar: tokenIds.length,
        })
      }
    }
    throw inferenceError(
      'PROVIDERS_FAILED',
      `${attempts} provider(s) of model ${modelId} failed; the last: ${last?.message ?? 'none could be tried'}`,
      { model: request.model, reason: last?.code },
    )
  }
}

/**
 * The provider's receipt, checked as a validator would (shape, fee within what we authorized, the text we
 * received hashing to its outputHash, both signatures) and for our own authorization; null when it sent
 * none or one that fails (the answer stands; an unpaid receipt is the provider's loss, not ours).
 */
function receiptFor(
  wire: Uint8Array | null,
  output: string,
  payment: SignedPaymentAuthorization,
  domain: TypedDataDomain,
): SignedReceipt | null {
  if (wire === null) return null
  try {
    const signed = { ...decodeReceipt(wire), output }
    const a = signed.receipt.authorization
    if (a.requestId.toLowerCase() !== payment.authorization.requestId.toLowerCase()) return null
    if (signed.receipt.clientSignature.toLowerCase() !== payment.signature.toLowerCase()) return null
    checkReceipt(signed)
    verifyReceiptSignatures(signed, domain)
    return signed
  } catch {
    return null
  }
}
