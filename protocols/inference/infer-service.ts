// The serving side of /openledger/infer/1.0.0. A stream carries requests one after another (the client
// keeps it for its next request, which saves the stream's setup; the stream closes after keepAliveMs
// without one). Per request, cheapest refusal first: the request frame within its size and time bounds,
// the answer limits (in total and per peer: BUSY), its shape, the payment authorization (for this node,
// this model, not expired, signed by its client, its requestId not seen before its deadline), then the
// backend, whose own refusals (UNKNOWN_MODEL, PROMPT_TOO_LARGE, BUSY, ...) travel back as an ERROR frame,
// which ends the stream. Idle streams are bounded by maxOpenStreams in all and by libp2p's inbound stream
// limit per connection. Chunks are written with backpressure: a client that stops reading is cut off after
// the write timeout and its generation aborted, so a slow reader holds a slot for a bounded time only.
import { setMaxListeners } from 'node:events'
import type { PeerId, Startable, Stream, StreamHandler } from '@libp2p/interface'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import * as lp from 'it-length-prefixed'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Address, TypedDataDomain } from 'viem'
import { OpenLedgerError } from '../common/errors.ts'
import {
  PaymentError,
  type SignedPaymentAuthorization,
  verifyPaymentAuthorization,
} from '../receipts/payment-authorization.ts'
import type { SignedReceipt } from '../receipts/receipt.ts'
import { encodeReceipt } from '../receipts/receipt-wire.ts'
import { ReplayGuard } from '../receipts/replay-guard.ts'
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
  /** after checkPayment passed: the request is over (served or not), its reservation may go */
  releasePayment?(paid: PaidRequest): void
  /**
   * Signs, stores and publishes the receipt of a served answer (the receipts issue); what it returns goes
   * back in the END frame. A failure here does not fail the answer the client already has.
   */
  issueReceipt?(
    paid: PaidRequest,
    end: Extract<GenerationEvent, { type: 'end' }>,
    text: string,
    attribution: AnswerAttribution | null,
  ): Promise<SignedReceipt | undefined>
  limits?: Partial<InferServiceLimits>
  now?: () => number
  onServed?(event: InferServedEvent): void
}

class ClientGone extends Error {}

export class InferService implements Startable {
  readonly limits: InferServiceLimits
  private readonly now: () => number
  private readonly seen: ReplayGuard
  private running = false
  /** answers in progress */
  private active = 0
  /** infer streams open, answering or idle between requests */
  private open = 0
  private readonly perPeer = new Map<string, number>()
  /** open streams (answering or idle) per peer */
  private readonly openPerPeer = new Map<string, number>()
  /** aborted at stop: every answer in flight ends */
  private lifecycle = new AbortController()

  readonly [Symbol.toStringTag] = 'openledger/infer'

  constructor(
    private readonly components: InferServiceComponents,
    private readonly init: InferServiceInit,
  ) {
    this.limits = { ...DEFAULT_INFER_SERVICE_LIMITS, ...init.limits }
    this.now = init.now ?? Date.now
    this.seen = new ReplayGuard({ maxEntries: this.limits.maxSeenRequests, now: this.now })
  }

  isStarted(): boolean {
    return this.running
  }

  async start(): Promise<void> {
    if (this.running) return
    this.lifecycle = new AbortController()
    // Every open stream listens on it (AbortSignal.any): bounded by maxOpenStreams.
    setMaxListeners(this.limits.maxOpenStreams + 16, this.lifecycle.signal)
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

  /** Infer streams open now, answering or waiting for a request. */
  get openStreams(): number {
    return this.open
  }

  /**
   * One stream: requests one after another, each answered to its end before the next is read. The first
   * must come within requestTimeoutMs; after an answer the stream waits keepAliveMs for the next, then
   * closes. Any refusal or failure ends the stream after its ERROR frame.
   */
  private async serve(stream: Stream, remote: PeerId): Promise<void> {
    const peer = remote.toString()
    const mine = this.openPerPeer.get(peer) ?? 0
    if (this.open >= this.limits.maxOpenStreams || mine >= this.limits.maxOpenStreamsPerPeer) {
      const which = this.open >= this.limits.maxOpenStreams ? 'in total' : 'from one peer'
      await this.refuse(
        stream,
        inferenceError('BUSY', `too many infer streams open ${which}; try another provider`),
      )
      this.init.onServed?.({ peer, outcome: 'refused', code: 'BUSY', durationMs: 0 })
      return
    }
    this.open++
    this.openPerPeer.set(peer, mine + 1)
    // Requests are read one frame at a time; the buffer bounds what a client may send ahead (room for an
    // oversized frame's first bytes, so its length is read and refused with a reason, not a reset).
    const frames = lpStream(stream, {
      maxDataLength: INFER_MAX_REQUEST_BYTES,
      maxBufferSize: 2 * INFER_MAX_REQUEST_BYTES,
    })
    const gone = new AbortController()
    const signal = AbortSignal.any([gone.signal, this.lifecycle.signal])
    const onClose = () => gone.abort(new ClientGone('the client closed the stream'))
    stream.addEventListener('close', onClose)
    try {
      for (let first = true; ; first = false) {
        const paid = await this.nextRequest(stream, frames, first, signal, peer)
        if (paid === undefined || !(await this.serveOne(stream, paid, peer, signal))) return
      }
    } finally {
      stream.removeEventListener('close', onClose)
      this.open--
      const left = (this.openPerPeer.get(peer) ?? 1) - 1
      if (left <= 0) this.openPerPeer.delete(peer)
      else this.openPerPeer.set(peer, left)
    }
  }

  /**
   * The next request frame, or undefined when the stream is over: the client closed it or went quiet
   * after an answer (closed here), or a first request broke the rules (refused here).
   */
  private async nextRequest(
    stream: Stream,
    frames: LengthPrefixedStream<Stream>,
    first: boolean,
    signal: AbortSignal,
    peer: string,
  ): Promise<PaidRequest | undefined> {
    const waitMs = first ? this.limits.requestTimeoutMs : this.limits.keepAliveMs
    const timeout = AbortSignal.timeout(waitMs)
    let frame: Uint8ArrayList
    try {
      frame = await frames.read({ signal: AbortSignal.any([signal, timeout]) })
    } catch (err) {
      const name = (err as Error).name
      let refusal: InferenceError | undefined
      if (signal.aborted) refusal = undefined
      else if (timeout.aborted)
        refusal = first ? inferenceError('TIMEOUT', `no request within ${waitMs} ms`) : undefined
      else if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError')
        refusal = inferenceError(
          'PROTOCOL_ERROR',
          `the request frame is over ${INFER_MAX_REQUEST_BYTES} bytes`,
        )
      else if (name === 'StreamBufferError')
        refusal = inferenceError('PROTOCOL_ERROR', 'the client sent more than one request ahead')
      else if (name !== 'UnexpectedEOFError')
        refusal = inferenceError('PROTOCOL_ERROR', `reading the request failed: ${(err as Error).message}`)
      else if (first) refusal = inferenceError('PROTOCOL_ERROR', 'the stream ended before a request')
      if (refusal) {
        await this.refuse(stream, refusal)
        this.init.onServed?.({ peer, outcome: 'refused', code: refusal.code, durationMs: 0 })
      } else if (!signal.aborted) await closeStream(stream, this.limits.writeTimeoutMs)
      else stream.abort(signal.reason as Error)
      return undefined
    }
    try {
      return decodeInferRequest(frame.subarray())
    } catch (err) {
      const refusal = err instanceof InferenceError ? err : inferenceError('PROTOCOL_ERROR', String(err))
      await this.refuse(stream, refusal)
      this.init.onServed?.({ peer, outcome: 'refused', code: refusal.code, durationMs: 0 })
      return undefined
    }
  }

  /** One request, refused or answered; true when the stream may carry the next one. */
  private async serveOne(
    stream: Stream,
    paid: PaidRequest,
    peer: string,
    signal: AbortSignal,
  ): Promise<boolean> {
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
      report({ outcome: 'refused', code: 'BUSY', model: paid.request.model })
      return false
    }
    this.active++
    this.perPeer.set(peer, held + 1)
    let reserved = false
    const progress = { tokens: 0 }
    try {
      await this.checkPayment(paid)
      reserved = true
      await this.answer(stream, paid, signal, report, progress)
      return true
    } catch (err) {
      // A refusal or failure before the first token served nothing: its id need not be remembered.
      if (reserved && progress.tokens === 0) this.seen.release(paid.payment.authorization.requestId)
      const code = err instanceof OpenLedgerError ? err.code : 'GENERATION_FAILED'
      if (err instanceof ClientGone || signal.reason instanceof ClientGone) {
        report({ outcome: 'client_gone', model: paid.request.model })
        stream.abort(err as Error)
      } else {
        const refusal = err instanceof InferenceError ? err : inferenceError('GENERATION_FAILED', String(err))
        await this.refuse(stream, refusal)
        report({
          outcome: code === 'GENERATION_FAILED' ? 'failed' : 'refused',
          code,
          model: paid.request.model,
        })
      }
      return false
    } finally {
      if (reserved) this.init.releasePayment?.(paid)
      this.active--
      const left = (this.perPeer.get(peer) ?? 1) - 1
      if (left <= 0) this.perPeer.delete(peer)
      else this.perPeer.set(peer, left)
    }
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
    const taken = this.seen.take(payment.authorization.requestId, Number(payment.authorization.deadline))
    if (taken === 'replayed')
      throw inferenceError('PAYMENT_INVALID', 'this requestId was already used', {
        reason: 'PAYMENT_REPLAYED',
      })
    // A live requestId is never forgotten to make room: a replay would be served twice.
    if (taken === 'full')
      throw inferenceError('BUSY', 'too many recent requests to remember; try another provider')
    try {
      await this.init.checkPayment?.(paid)
    } catch (err) {
      // Refused before any work: the id is not kept, so refusals cannot fill the guard.
      this.seen.release(payment.authorization.requestId)
      throw err
    }
  }

  private async answer(
    stream: Stream,
    paid: PaidRequest,
    signal: AbortSignal,
    report: (event: Omit<InferServedEvent, 'peer' | 'durationMs'>) => void,
    progress: { tokens: number },
  ): Promise<void> {
    const { request } = paid
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
          progress.tokens += event.tokenIds.length
          firstTokenMs ??= this.now() - arrived
          text += event.text
          await writer.write(encodeChunk(event.text, event.tokenIds))
          continue
        }
        const target = { model: request.model, adapter: request.adapter ?? null }
        const attribution = text.length > 0 ? (this.init.attribute?.(target, text) ?? null) : null
        const receipt = await this.init.issueReceipt?.(paid, event, text, attribution).catch(() => undefined)
        // The client holds the text: the receipt travels without it (the END frame stays small).
        const wire = receipt ? encodeReceipt({ ...receipt, output: '' }) : undefined
        await writer.write(encodeEnd(event, attribution, wire), true)
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
    } catch (e) {
      stream.abort(e as Error)
      return
    }
    await closeStream(stream, this.limits.writeTimeoutMs)
  }
}

/** How long a stream we are done with may stay half-open waiting for the peer's close. */
const LINGER_MS = 1_000

/**
 * Closes our side; a peer that keeps its side open (and could keep filling the read buffer nobody reads
 * any more) is reset after LINGER_MS.
 */
async function closeStream(stream: Stream, timeoutMs: number): Promise<void> {
  await stream.close({ signal: AbortSignal.timeout(timeoutMs) }).catch((err: Error) => stream.abort(err))
  if (stream.status !== 'open') return
  const linger = setTimeout(() => {
    if (stream.status === 'open') stream.abort(new Error('the peer kept a finished stream open'))
  }, LINGER_MS)
  linger.unref()
  stream.addEventListener('close', () => clearTimeout(linger), { once: true })
}

export type { SignedPaymentAuthorization }
