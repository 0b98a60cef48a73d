// The client side of /openledger/infer/1.0.0 for one provider: dial, write the request, read the answer
// frame by frame. Every frame is bounded in size, the first within firstFrameMs (the provider's queue and
// prompt), each next one within idleMs; whatever the provider sends is decoded and checked before it is
// believed. A refusal arrives as an InferenceError with the provider's code (BUSY, UNKNOWN_MODEL, ...);
// a provider that breaks the protocol or goes silent is PROTOCOL_ERROR or TIMEOUT, and an unreachable one
// PROVIDERS_FAILED with reason 'unreachable'. Failover across providers is network-inference.ts's job.
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { streamMessages } from '../common/stream-messages.ts'
import type { GenerationChunk } from './backend.ts'
import { DEFAULT_INFER_CLIENT_TIMEOUTS, INFER_PROTOCOL, type InferClientTimeouts } from './constants.ts'
import { InferenceError, type InferenceErrorCode, inferenceError } from './errors.ts'
import {
  type DecodedResponse,
  decodeInferResponse,
  encodeInferRequest,
  INFER_MAX_RESPONSE_BYTES,
  type PaidRequest,
} from './infer-wire.ts'

export interface InferDialer {
  dialProtocol(peer: PeerId, protocol: string, options?: AbortOptions): Promise<Stream>
}

export type ProviderEvent = GenerationChunk | Extract<DecodedResponse, { type: 'end' }>

export interface InferFromOptions extends AbortOptions {
  timeouts?: Partial<InferClientTimeouts>
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
])

/**
 * Streams one provider's answer: chunks, then the end (usage, attribution). Throws an InferenceError; an
 * abort of the caller's signal is rethrown as its reason. Breaking out of the loop aborts the stream, which
 * ends the provider's generation.
 */
export async function* inferFrom(
  libp2p: InferDialer,
  peer: PeerId,
  paid: PaidRequest,
  options: InferFromOptions = {},
): AsyncGenerator<ProviderEvent> {
  const t = { ...DEFAULT_INFER_CLIENT_TIMEOUTS, ...options.timeouts }
  const peerText = peer.toString()
  const request = encodeInferRequest(paid)
  let stream: Stream
  try {
    const dial = AbortSignal.timeout(t.dialMs)
    stream = await libp2p.dialProtocol(peer, INFER_PROTOCOL, {
      signal: options.signal ? AbortSignal.any([options.signal, dial]) : dial,
    })
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason
    throw inferenceError('PROVIDERS_FAILED', `${peerText} could not be reached: ${(err as Error).message}`, {
      reason: 'unreachable',
    })
  }

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
    stream.send(lp.encode.single(request))
    arm(t.firstFrameMs)
    for await (const frame of lp.decode(streamMessages(stream), {
      maxDataLength: INFER_MAX_RESPONSE_BYTES,
    })) {
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
    throw inferenceError('PROTOCOL_ERROR', `${peerText} ended the stream before the answer's end`)
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
    throw inferenceError('PROTOCOL_ERROR', `${peerText}: ${(err as Error).message}`)
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
    if (finished) stream.close({ signal: AbortSignal.timeout(1_000) }).catch((e) => stream.abort(e))
    else stream.abort(new Error('answer not read to its end'))
  }
}
