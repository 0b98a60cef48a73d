// The client side of /openledger/infer/1.0.0 for one provider: open a stream (or take an idle one from
// the pool: a stream carries one request after another), write the request, read the answer frame by
// frame. Every frame is bounded in size, the first within firstFrameMs (the provider's queue and
// prompt), each next one within idleMs; whatever the provider sends is decoded and checked before it is
// believed. A refusal arrives as an InferenceError with the provider's code (BUSY, UNKNOWN_MODEL, ...);
// a provider that breaks the protocol or goes silent is PROTOCOL_ERROR or TIMEOUT, and an unreachable one
// PROVIDERS_FAILED with reason 'unreachable'. Failover across providers is network-inference.ts's job.
import type { AbortOptions, PeerId } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import type { GenerationChunk } from './backend.ts'
import { DEFAULT_INFER_CLIENT_TIMEOUTS, INFER_PROTOCOL, type InferClientTimeouts } from './constants.ts'
import { InferenceError, type InferenceErrorCode, inferenceError } from './errors.ts'
import {
  type InferDialer,
  type InferStream,
  type InferStreamPool,
  responseFrames,
} from './infer-stream-pool.ts'
import {
  type DecodedResponse,
  decodeInferResponse,
  encodeInferRequest,
  INFER_MAX_RESPONSE_BYTES,
  type PaidRequest,
} from './infer-wire.ts'

export type { InferDialer }

export type ProviderEvent = GenerationChunk | Extract<DecodedResponse, { type: 'end' }>

export interface InferFromOptions extends AbortOptions {
  timeouts?: Partial<InferClientTimeouts>
  /** takes an idle stream to the provider and parks it again after the answer; without one, a stream per
   * request */
  pool?: InferStreamPool
}

/** Codes a provider may answer with; anything else it sends is a protocol error. */
const PROVIDER_CODES: ReadonlySet<string> = new Set<InferenceErrorCode>([
  'UNKNOWN_MODEL',
  'UNKNOWN_ADAPTER',
  'PROMPT_TOO_LARGE',
  'MAX_TOKENS_TOO_LARGE',
  'INVALID_REQUEST',
  'BUSY',
  'BACKEND_CLOSED',
  'MODEL_NOT_LOADED',
  'MODEL_LOAD_FAILED',
  'ADAPTER_LOAD_FAILED',
  'ADAPTER_INVALID',
  'ADAPTER_TOO_LARGE',
  'GENERATION_FAILED',
  'PROTOCOL_ERROR',
  'TIMEOUT',
  'PAYMENT_INVALID',
  'INSUFFICIENT_BALANCE',
])

/**
 * Streams one provider's answer: chunks, then the end (usage, attribution). Throws an InferenceError; an
 * abort of the caller's signal is rethrown as its reason. Breaking out of the loop aborts the stream, which
 * ends the provider's generation. With a pool, a request on a reused stream that the provider closed
 * before answering anything (its keep-alive ran out as the request left) is sent again once on a new
 * stream: nothing of it was read, so its payment authorization was not used.
 */
export async function* inferFrom(
  libp2p: InferDialer,
  peer: PeerId,
  paid: PaidRequest,
  options: InferFromOptions = {},
): AsyncGenerator<ProviderEvent> {
  const request = lp.encode.single(encodeInferRequest(paid)).subarray()
  for (let attempt = 0; ; attempt++) {
    const entry = await open(libp2p, peer, options)
    const stale = entry.reused && attempt === 0
    const answer = answerOn(entry, peer, request, options)
    let frames = 0
    try {
      for await (const event of answer) {
        frames++
        yield event
      }
      return
    } catch (err) {
      if (stale && frames === 0 && err instanceof StreamGone) continue
      if (err instanceof StreamGone) throw inferenceError('PROTOCOL_ERROR', err.message)
      throw err
    }
  }
}

async function open(libp2p: InferDialer, peer: PeerId, options: InferFromOptions): Promise<InferStream> {
  const dial = AbortSignal.timeout({ ...DEFAULT_INFER_CLIENT_TIMEOUTS, ...options.timeouts }.dialMs)
  const signal = options.signal ? AbortSignal.any([options.signal, dial]) : dial
  try {
    if (options.pool) return await options.pool.acquire(peer, { signal })
    const stream = await libp2p.dialProtocol(peer, INFER_PROTOCOL, { signal })
    return { stream, frames: responseFrames(stream), reused: false }
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason
    throw inferenceError('PROVIDERS_FAILED', `${peer} could not be reached: ${(err as Error).message}`, {
      reason: 'unreachable',
    })
  }
}

/** The stream ended or broke before the answer's end (a protocol error, unless it can be retried). */
class StreamGone extends Error {}

async function* answerOn(
  entry: InferStream,
  peer: PeerId,
  request: Uint8Array,
  options: InferFromOptions,
): AsyncGenerator<ProviderEvent> {
  const t = { ...DEFAULT_INFER_CLIENT_TIMEOUTS, ...options.timeouts }
  const { stream, frames } = entry
  const peerText = peer.toString()
  // One timer for "the next frame is late": firstFrameMs for the first, idleMs after each frame.
  let timedOut = false
  let timer: NodeJS.Timeout | undefined
  const arm = (ms: number) => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      timedOut = true
      stream.abort(new Error('provider timed out'))
    }, ms)
  }
  const onAbort = () => stream.abort(new Error('inference aborted'))
  options.signal?.addEventListener('abort', onAbort, { once: true })
  let finished = false
  try {
    stream.send(request)
    arm(t.firstFrameMs)
    while (true) {
      const frame = await frames.read()
      arm(t.idleMs)
      const message = decodeInferResponse(frame.subarray())
      if (message.type === 'error') {
        const code = PROVIDER_CODES.has(message.code)
          ? (message.code as InferenceErrorCode)
          : 'PROTOCOL_ERROR'
        throw inferenceError(code, `${peerText}: ${message.message}`, { reason: message.code })
      }
      if (message.type === 'end') {
        finished = true
        clearTimeout(timer)
        yield message
        return
      }
      // Our own reader's pause is not the provider's silence: the idle timer runs only while we wait.
      clearTimeout(timer)
      yield { type: 'chunk', text: message.text, tokenIds: message.tokenIds }
      arm(t.idleMs)
    }
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason
    if (timedOut) throw inferenceError('TIMEOUT', `${peerText} sent nothing in time`)
    const name = (err as Error).name
    if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError')
      throw inferenceError(
        'PROTOCOL_ERROR',
        `${peerText} sent a frame over ${INFER_MAX_RESPONSE_BYTES} bytes`,
      )
    if (err instanceof InferenceError) throw err
    if (name === 'UnexpectedEOFError')
      throw new StreamGone(`${peerText} ended the stream before the answer's end`)
    throw new StreamGone(`${peerText}: ${(err as Error).message}`)
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
    if (!finished) stream.abort(new Error('answer not read to its end'))
    else if (options.pool) options.pool.release(peer, entry)
    else stream.close({ signal: AbortSignal.timeout(1_000) }).catch((e) => stream.abort(e))
  }
}
