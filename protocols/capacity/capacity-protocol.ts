// /openledger/capacity/1.0.0: a node answers every stream with its current signed CapacityRecord, as one
// length-prefixed CapacityResponse frame (at most CAPACITY_MAX_FRAME_BYTES), and closes. The client reads
// that one bounded frame within a timeout and trusts nothing in it until it verifies: both signatures,
// the PeerId equal to the peer it dialed, not expired, not dated in the future.
//
// CapacityService holds the node's record: it re-signs it every refresh period (each record lives
// LIFETIME_PER_REFRESH periods, so one lost refresh is harmless), re-signs at once on update(), and
// withdraw() publishes state draining before the node stops. The encoded frame is made once per signing
// and written as is to every asker; answers at once are bounded (BUSY beyond that), and a peer that does
// not take its frame within the write timeout is cut off.
import type { AbortOptions, PeerId, PrivateKey, Startable, Stream, StreamHandler } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import * as lp from 'it-length-prefixed'
import type { Address, TypedDataDomain } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { OpenLedgerError } from '../common/errors.ts'
import { streamMessages as messages } from '../common/stream-messages.ts'
import {
  CAPACITY_DECODE_LIMITS,
  type CapacityRecord,
  type CapacityState,
  decodeError,
  fromCapacityPb,
  type HardwareInfo,
  type ModelOffer,
  type SignedCapacityRecord,
  signCapacityRecord,
  toCapacityPb,
  verifyCapacityRecord,
} from './capacity-record.ts'
import {
  CAPACITY_MAX_FRAME_BYTES,
  CAPACITY_MAX_LIFETIME_S,
  CAPACITY_PROTOCOL,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_FETCH_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_STREAMS,
  DEFAULT_REFRESH_MS,
  DEFAULT_WRITE_TIMEOUT_MS,
  LIFETIME_PER_REFRESH,
  MAX_INBOUND_STREAMS_PER_CONNECTION,
} from './constants.ts'
import { CapacityError, capacityError } from './errors.ts'
import { CapacityResponse } from './pb/capacity.ts'

const Status = CapacityResponse.Status

// --- client -----------------------------------------------------------------------------------------

/** What the client uses of libp2p. */
export interface CapacityDialer {
  dialProtocol(peer: PeerId, protocol: string, options?: AbortOptions): Promise<Stream>
}

export interface FetchCapacityOptions extends AbortOptions {
  domain: TypedDataDomain
  /** the whole fetch: dial, then the frame (default DEFAULT_FETCH_TIMEOUT_MS) */
  timeoutMs?: number
  /** the dial alone (default DEFAULT_DIAL_TIMEOUT_MS) */
  dialTimeoutMs?: number
  /** unix milliseconds (default Date.now) */
  now?: () => number
}

export interface FetchedCapacity extends SignedCapacityRecord {
  /** the recovered account (equal to record.account) */
  signer: Address
  /** the peer it came from (equal to record.peerId) */
  peerId: string
  /** dial to verified record, in milliseconds: a measure of the peer's round trip */
  latencyMs: number
}

/**
 * Fetches and verifies `peer`'s current capacity record. Throws a CapacityError: CAPACITY_UNREACHABLE (no
 * dial, or no such protocol there), CAPACITY_TIMEOUT, CAPACITY_BUSY, CAPACITY_UNAVAILABLE,
 * CAPACITY_STREAM_ENDED, CAPACITY_OVERSIZED, CAPACITY_MALFORMED, or any verification code. An abort of
 * the caller's own signal is rethrown as is.
 */
export async function fetchCapacity(
  libp2p: CapacityDialer,
  peer: PeerId,
  options: FetchCapacityOptions,
): Promise<FetchedCapacity> {
  const peerText = peer.toString()
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS
  const timeout = AbortSignal.timeout(timeoutMs)
  const total = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  const started = performance.now()
  const failure = (err: unknown, what: string): unknown => {
    if (options.signal?.aborted) return options.signal.reason
    if (timeout.aborted)
      return capacityError('CAPACITY_TIMEOUT', `${what} ${peerText} took over ${timeoutMs} ms`, peerText)
    if (err instanceof OpenLedgerError) return err
    return capacityError(
      'CAPACITY_UNREACHABLE',
      `${what} ${peerText} failed: ${(err as Error).message}`,
      peerText,
    )
  }

  let stream: Stream
  try {
    const dialTimeout = AbortSignal.timeout(options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS)
    stream = await libp2p.dialProtocol(peer, CAPACITY_PROTOCOL, {
      signal: AbortSignal.any([total, dialTimeout]),
    })
  } catch (err) {
    throw failure(err, 'dialing')
  }
  const onAbort = () => stream.abort(new Error('capacity fetch aborted'))
  if (total.aborted) onAbort()
  else total.addEventListener('abort', onAbort, { once: true })
  let response: CapacityResponse | undefined
  try {
    for await (const frame of lp.decode(messages(stream), { maxDataLength: CAPACITY_MAX_FRAME_BYTES })) {
      try {
        response = CapacityResponse.decode(frame, { limits: { record: CAPACITY_DECODE_LIMITS } })
      } catch (err) {
        throw withPeer(decodeError(err), peerText)
      }
      break
    }
  } catch (err) {
    stream.abort(err as Error)
    total.removeEventListener('abort', onAbort)
    if (
      (err as Error).name === 'InvalidDataLengthError' ||
      (err as Error).name === 'InvalidDataLengthLengthError'
    )
      throw capacityError(
        'CAPACITY_OVERSIZED',
        `${peerText} sent a frame over ${CAPACITY_MAX_FRAME_BYTES} bytes`,
        peerText,
      )
    throw failure(err, 'reading from')
  }
  total.removeEventListener('abort', onAbort)
  if (response === undefined) {
    stream.abort(new Error('no frame'))
    throw failure(
      capacityError('CAPACITY_STREAM_ENDED', `${peerText} closed the stream without a record`, peerText),
      'reading from',
    )
  }
  // Our end is done: nothing more is read, nothing was written.
  stream.close({ signal: AbortSignal.timeout(1_000) }).catch((err) => stream.abort(err))

  if (response.status === Status.BUSY)
    throw capacityError('CAPACITY_BUSY', `${peerText} answers too many capacity requests now`, peerText)
  if (response.status !== Status.OK || response.record === undefined)
    throw capacityError('CAPACITY_UNAVAILABLE', `${peerText} has no capacity record to give`, peerText)
  try {
    const signed = fromCapacityPb(response.record)
    const signer = await verifyCapacityRecord(signed.record, signed, {
      domain: options.domain,
      now: (options.now ?? Date.now)(),
      expectedPeerId: peer,
    })
    return { ...signed, signer, peerId: peerText, latencyMs: performance.now() - started }
  } catch (err) {
    throw err instanceof CapacityError ? withPeer(err, peerText) : err
  }
}

function withPeer(err: CapacityError, peer: string): CapacityError {
  return new CapacityError({ ...err.type, peer }, `${peer}: ${err.message}`)
}

// --- responder --------------------------------------------------------------------------------------

/** What the service uses of libp2p (a test can hand it fakes). */
export interface CapacityServiceComponents {
  libp2p: {
    handle(protocol: string, handler: StreamHandler, options?: { maxInboundStreams?: number }): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
}

/** What a node offers; the service adds PeerId, account, times and sequence when it signs. */
export interface CapacityOffer {
  state: CapacityState
  models: ModelOffer[]
  hardware: HardwareInfo
  queueDepth: number
}

export interface CapacityServiceInit {
  account: LocalAccount
  /** the node's libp2p private key (its PeerId's key) */
  peerKey: PrivateKey
  domain: TypedDataDomain
  hardware: HardwareInfo
  models?: ModelOffer[]
  /** default 'joining'; set 'online' through update() once the models are loaded */
  state?: CapacityState
  queueDepth?: number
  /** default DEFAULT_REFRESH_MS; each record lives LIFETIME_PER_REFRESH times this (at most 10 minutes) */
  refreshMs?: number
  maxConcurrentStreams?: number
  writeTimeoutMs?: number
  /** unix milliseconds (default Date.now) */
  now?: () => number
  onError?: (err: unknown) => void
}

export interface CapacityServiceCounters {
  /** records written */
  served: number
  /** streams answered BUSY */
  busy: number
  /** streams cut off (the peer did not take its frame in time, or the stream broke) */
  failed: number
  /** records signed */
  signed: number
}

export class CapacityService implements Startable {
  private readonly components: CapacityServiceComponents
  private readonly init: CapacityServiceInit
  private readonly now: () => number
  private readonly refreshMs: number
  private readonly lifetimeMs: number
  private readonly maxConcurrent: number
  private readonly writeTimeoutMs: number
  private offer: CapacityOffer
  private signed?: SignedCapacityRecord
  private frame?: Uint8Array
  private sequence = 0n
  private signing: Promise<unknown> = Promise.resolve()
  private timer?: NodeJS.Timeout
  private running = false
  private active = 0
  private readonly stats: CapacityServiceCounters = { served: 0, busy: 0, failed: 0, signed: 0 }
  private readonly busyFrame = lp.encode.single(CapacityResponse.encode({ status: Status.BUSY })).subarray()
  private readonly unavailableFrame = lp.encode
    .single(CapacityResponse.encode({ status: Status.UNAVAILABLE }))
    .subarray()

  readonly [Symbol.toStringTag] = 'openledger/capacity'

  constructor(components: CapacityServiceComponents, init: CapacityServiceInit) {
    this.components = components
    this.init = init
    this.now = init.now ?? Date.now
    this.refreshMs = init.refreshMs ?? DEFAULT_REFRESH_MS
    this.lifetimeMs = this.refreshMs * LIFETIME_PER_REFRESH
    if (!(this.refreshMs > 0) || this.lifetimeMs > CAPACITY_MAX_LIFETIME_S * 1000)
      throw new RangeError(
        `refreshMs must be above 0 and at most ${CAPACITY_MAX_LIFETIME_S / LIFETIME_PER_REFRESH} s`,
      )
    this.maxConcurrent = init.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS
    this.writeTimeoutMs = init.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS
    this.offer = {
      state: init.state ?? 'joining',
      models: init.models ?? [],
      hardware: init.hardware,
      queueDepth: init.queueDepth ?? 0,
    }
  }

  get peerId(): PeerId {
    return peerIdFromPrivateKey(this.init.peerKey)
  }

  isStarted(): boolean {
    return this.running
  }

  async start(): Promise<void> {
    if (this.running) return
    await this.refresh()
    await this.components.libp2p.handle(CAPACITY_PROTOCOL, (stream) => this.serve(stream), {
      maxInboundStreams: MAX_INBOUND_STREAMS_PER_CONNECTION,
    })
    this.running = true
    this.timer = setInterval(() => {
      this.refresh().catch((err) => this.init.onError?.(err))
    }, this.refreshMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    if (!this.running) return
    this.running = false
    await this.components.libp2p.unhandle(CAPACITY_PROTOCOL)
    await this.signing.catch(() => {})
    this.signed = undefined
    this.frame = undefined
  }

  /** The record served now (undefined before start and after stop). */
  current(): SignedCapacityRecord | undefined {
    return this.signed
  }

  counters(): CapacityServiceCounters {
    return { ...this.stats }
  }

  /** Changes what the record says and re-signs it at once. */
  async update(change: Partial<CapacityOffer>): Promise<SignedCapacityRecord> {
    this.offer = { ...this.offer, ...change }
    return this.refresh()
  }

  /** Publishes state draining: askers from now on learn this node takes no new work. Call before stop(). */
  async withdraw(): Promise<SignedCapacityRecord> {
    return this.update({ state: 'draining' })
  }

  /** Re-signs the current offer with a fresh issue time, expiry and a higher sequence. */
  refresh(): Promise<SignedCapacityRecord> {
    // One signing at a time, so sequences rise in the order the offers were set.
    const next = this.signing.catch(() => {}).then(() => this.signNow())
    this.signing = next
    return next
  }

  private async signNow(): Promise<SignedCapacityRecord> {
    const nowMs = this.now()
    const issuedAt = Math.floor(nowMs / 1000)
    // Milliseconds of the clock, or one more than the last: higher across restarts as long as the clock is.
    this.sequence = BigInt(nowMs) > this.sequence ? BigInt(nowMs) : this.sequence + 1n
    const record: CapacityRecord = {
      account: this.init.account.address,
      peerId: this.peerId.toString(),
      ...this.offer,
      issuedAt,
      // From the clock in ms, not the floored issue second: a record always lives its whole lifetime.
      expiresAt: Math.max(issuedAt + 1, Math.floor((nowMs + this.lifetimeMs) / 1000)),
      sequence: this.sequence,
    }
    const signed = await signCapacityRecord(record, {
      account: this.init.account,
      peerKey: this.init.peerKey,
      domain: this.init.domain,
    })
    const message = CapacityResponse.encode({ status: Status.OK, record: toCapacityPb(signed) })
    if (message.length > CAPACITY_MAX_FRAME_BYTES)
      throw new CapacityError(
        { code: 'CAPACITY_OVERSIZED' },
        `the capacity record is ${message.length} bytes, over ${CAPACITY_MAX_FRAME_BYTES}`,
      )
    const frame = lp.encode.single(message).subarray()
    this.signed = signed
    this.frame = frame
    this.stats.signed++
    return signed
  }

  private async serve(stream: Stream): Promise<void> {
    if (this.active >= this.maxConcurrent) {
      this.stats.busy++
      await this.write(stream, this.busyFrame)
      return
    }
    this.active++
    try {
      if (await this.write(stream, this.frame ?? this.unavailableFrame)) this.stats.served++
    } finally {
      this.active--
    }
  }

  /** Writes one frame and closes, within the write timeout; a peer that does not take it is cut off. */
  private async write(stream: Stream, frame: Uint8Array): Promise<boolean> {
    const signal = AbortSignal.timeout(this.writeTimeoutMs)
    try {
      if (!stream.send(frame)) await stream.onDrain({ signal })
      await stream.close({ signal })
      return true
    } catch (err) {
      this.stats.failed++
      stream.abort(err as Error)
      return false
    }
  }
}
