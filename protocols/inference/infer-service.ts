// The serving side of /openledger/infer/1.0.0. Per stream, cheapest refusal first: the stream limits (in
// total and per peer: BUSY), one request frame within its size and time bounds, its shape, the payment
// authorization (for this node, this model, not expired, signed by its client, its requestId not seen
// before), then the backend, whose own refusals (UNKNOWN_MODEL, PROMPT_TOO_LARGE, BUSY, ...) travel back
// as an ERROR frame. Chunks are written with backpressure: a client that stops reading is cut off after
// the write timeout and its generation aborted, so a slow reader holds a slot for a bounded time only.
import type { PeerId, Startable, Stream, StreamHandler } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import type { Address, TypedDataDomain } from 'viem'
import { OpenLedgerError } from '../common/errors.ts'
import { SeenCache } from '../common/seen-cache.ts'
import { streamMessages } from '../common/stream-messages.ts'
import {
  MAX_PAYMENT_DEADLINE_S,
  PaymentError,
  type SignedPaymentAuthorization,
  verifyPaymentAuthorization,
} from '../receipts/payment-authorization.ts'
import type { GenerateOptions, GenerationEvent, InferenceRequest } from './backend.ts'
import { DEFAULT_INFER_SERVICE_LIMITS, INFER_PROTOCOL, type InferServiceLimits } from './constants.ts'
import { InferenceError, inferenceError } from './errors.ts'
import { FrameWriter } from './frame-writer.ts'
import type { AnswerAttribution } from './gateway.ts'
import {
  decodeInferRequest,
  encodeChunk,
  encodeEnd,
  encodeError,
  INFER_MAX_REQUEST_BYTES,
  type PaidRequest,
} from './infer-wire.ts'

export interface InferServiceComponents {
  libp2p: {
    handle(protocol: string, handler: StreamHandler, options?: { maxInboundStreams?: number }): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
}

/** How an answer ended, for metrics and logs. */
export type InferOutcome = 'served' | 'refused' | 'failed' | 'client_gone'

export interface InferServedEvent {
  peer: string
  outcome: InferOutcome
  /** the InferenceError code of a refusal or failure */
  code?: string
  model?: string
  adapter?: string | null
  promptTokens?: number
  completionTokens?: number
  /** first token after the request arrived, in ms */
  firstTokenMs?: number
  durationMs: number
}

export interface InferServiceInit {
  /** this node's account: an authorization must name it */
  account: Address
  domain: TypedDataDomain
  /** runs a checked request on this node's backends */
  generate(request: InferenceRequest, options: GenerateOptions): AsyncIterable<GenerationEvent>
  /** the attribution of the text this node generated (null when the model has no index) */
  attribute?(target: { model: string; adapter: string | null }, text: string): AnswerAttribution | null
  /** further checks of the authorization before any work (the client's balance, in the receipts issue) */
  checkPayment?(paid: PaidRequest): Promise<void>
  limits?: Partial<InferServiceLimits>
  now?: () => number
  onServed?(event: InferServedEvent): void
}

class ClientGone extends Error {}

export class InferService implements Startable {
  readonly limits: InferServiceLimits
  private readonly now: () => number
  private readonly seen: SeenCache
  private running = false
  private active = 0
  private readonly perPeer = new Map<string, number>()
  /** aborted at stop: every answer in flight ends */
  private lifecycle = new AbortController()

  readonly [Symbol.toStringTag] = 'openledger/infer'

  constructor(
    private readonly components: InferServiceComponents,
    private readonly init: InferServiceInit,
  ) {
    this.limits = { ...DEFAULT_INFER_SERVICE_LIMITS, ...init.limits }
    this.now = init.now ?? Date.now
    // A requestId is refused again until its deadline has passed, and a deadline is at most this far ahead.
    this.seen = new SeenCache({
      maxEntries: this.limits.maxSeenRequests,
      ttlMs: MAX_PAYMENT_DEADLINE_S * 1000,
      now: this.now,
    })
  }

  isStarted(): boolean {
    return this.running
  }

  async start(): Promise<void> {
    if (this.running) return
    this.lifecycle = new AbortController()
    await this.components.libp2p.handle(
      INFER_PROTOCOL,
      (stream, connection) => this.serve(stream, connection.remotePeer),
      {
        maxInboundStreams: this.limits.maxInboundStreamsPerConnection,
      },
    )
    this.running = true
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    await this.components.libp2p.unhandle(INFER_PROTOCOL)
    this.lifecycle.abort(new Error('the node is stopping'))
  }

  /** Answers streaming now. */
  get activeStreams(): number {
    return this.active
  }

  private async serve(stream: Stream, remote: PeerId): Promise<void> {
    const peer = remote.toString()
    const started = this.now()
    const report = (event: Omit<InferServedEvent, 'peer' | 'durationMs'>) =>
      this.init.onServed?.({ peer, durationMs: this.now() - started, ...event })
    const held = this.perPeer.get(peer) ?? 0
    if (this.active >= this.limits.maxStreams || held >= this.limits.maxStreamsPerPeer) {
      const which = this.active >= this.limits.maxStreams ? 'in total' : 'to one peer'
      await this.refuse(
        stream,
        inferenceError('BUSY', `too many answers streaming ${which}; try another provider`),
      )
      report({ outcome: 'refused', code: 'BUSY' })
      return
    }
    this.active++
    this.perPeer.set(peer, held + 1)
    const abort = new AbortController()
    const signal = AbortSignal.any([abort.signal, this.lifecycle.signal])
    const onClose = () => abort.abort(new ClientGone('the client closed the stream'))
    stream.addEventListener('close', onClose)
    let paid: PaidRequest | undefined
    try {
      paid = await this.readRequest(stream, signal)
      await this.checkPayment(paid)
      await this.answer(stream, paid, signal, report)
    } catch (err) {
      const code = err instanceof OpenLedgerError ? err.code : 'GENERATION_FAILED'
      if (err instanceof ClientGone || signal.reason instanceof ClientGone) {
        report({ outcome: 'client_gone', model: paid?.request.model })
        stream.abort(err as Error)
      } else {
        const refusal = err instanceof InferenceError ? err : inferenceError('GENERATION_FAILED', String(err))
        await this.refuse(stream, refusal)
        report({
          outcome: code === 'GENERATION_FAILED' ? 'failed' : 'refused',
          code,
          model: paid?.request.model,
        })
      }
    } finally {
      stream.removeEventListener('close', onClose)
      this.active--
      const left = (this.perPeer.get(peer) ?? 1) - 1
      if (left <= 0) this.perPeer.delete(peer)
      else this.perPeer.set(peer, left)
    }
  }

  /** One length-prefixed request frame within the size bound and the request timeout. */
  private async readRequest(stream: Stream, signal: AbortSignal): Promise<PaidRequest> {
    const timeout = AbortSignal.timeout(this.limits.requestTimeoutMs)
    const both = AbortSignal.any([signal, timeout])
    const onAbort = () => stream.abort(new Error('no request in time'))
    both.addEventListener('abort', onAbort, { once: true })
    try {
      for await (const frame of lp.decode(streamMessages(stream), { maxDataLength: INFER_MAX_REQUEST_BYTES }))
        return decodeInferRequest(frame.subarray())
    } catch (err) {
      if (timeout.aborted)
        throw inferenceError('TIMEOUT', `no request within ${this.limits.requestTimeoutMs} ms`)
      if (signal.aborted) throw signal.reason
      if (err instanceof InferenceError) throw err
      const name = (err as Error).name
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError')
        throw inferenceError('PROTOCOL_ERROR', `the request frame is over ${INFER_MAX_REQUEST_BYTES} bytes`)
      throw inferenceError('PROTOCOL_ERROR', `reading the request failed: ${(err as Error).message}`)
    } finally {
      both.removeEventListener('abort', onAbort)
    }
    throw inferenceError('PROTOCOL_ERROR', 'the stream ended before a request')
  }

  private async checkPayment(paid: PaidRequest): Promise<void> {
    const { request, payment } = paid
    try {
      verifyPaymentAuthorization(payment, {
        domain: this.init.domain,
        node: this.init.account,
        model: BigInt(request.model),
        adapter: request.adapter ? BigInt(request.adapter) : 0n,
        nowS: Math.floor(this.now() / 1000),
      })
    } catch (err) {
      if (err instanceof PaymentError)
        throw inferenceError('PAYMENT_INVALID', err.message, { reason: err.code })
      throw err
    }
    if (this.seen.has(payment.authorization.requestId))
      throw inferenceError('PAYMENT_INVALID', 'this requestId was already used', {
        reason: 'PAYMENT_REPLAYED',
      })
    this.seen.set(payment.authorization.requestId, true)
    await this.init.checkPayment?.(paid)
  }

  private async answer(
    stream: Stream,
    { request }: PaidRequest,
    signal: AbortSignal,
    report: (event: Omit<InferServedEvent, 'peer' | 'durationMs'>) => void,
  ): Promise<void> {
    const arrived = this.now()
    let firstTokenMs: number | undefined
    let text = ''
    const writer = new FrameWriter(
      stream,
      signal,
      this.limits.writeTimeoutMs,
      () => new ClientGone(`the client took no data for ${this.limits.writeTimeoutMs} ms`),
    )
    try {
      for await (const event of this.init.generate(request, { signal })) {
        if (event.type === 'chunk') {
          firstTokenMs ??= this.now() - arrived
          text += event.text
          await writer.write(encodeChunk(event.text, event.tokenIds))
          continue
        }
        const target = { model: request.model, adapter: request.adapter ?? null }
        const attribution = text.length > 0 ? (this.init.attribute?.(target, text) ?? null) : null
        await writer.write(encodeEnd(event, attribution), true)
        await stream
          .close({ signal: AbortSignal.timeout(this.limits.writeTimeoutMs) })
          .catch((err) => stream.abort(err))
        report({
          outcome: 'served',
          model: request.model,
          adapter: request.adapter ?? null,
          promptTokens: event.usage.promptTokens,
          completionTokens: event.usage.completionTokens,
          firstTokenMs,
        })
        return
      }
    } catch (err) {
      // Tokens already produced go out before the error frame that follows.
      writer.flush()
      throw err
    }
    writer.flush()
    throw inferenceError('GENERATION_FAILED', 'the backend ended without an end event')
  }

  /** An ERROR frame, then close; a stream that cannot take it is aborted. */
  private async refuse(stream: Stream, err: InferenceError): Promise<void> {
    try {
      stream.send(lp.encode.single(encodeError(err.code, err.message)))
      await stream.close({ signal: AbortSignal.timeout(this.limits.writeTimeoutMs) })
    } catch (e) {
      stream.abort(e as Error)
    }
  }
}

export type { SignedPaymentAuthorization }
