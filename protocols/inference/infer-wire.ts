// The wire form of /openledger/infer/1.0.0 (pb/infer.proto) to and from the types the backends and the
// gateway use. Decoding trusts nothing: lists are bounded while protons decodes, ids must be decimal, and
// every value that does not fit its type is a PROTOCOL_ERROR.
import { bytesToHex, type Hex, hexToBytes } from 'viem'
import { uint256FromBytes, uint256ToBytes } from '../common/bytes.ts'
import { checksumAddress } from '../common/signatures.ts'
import type { SignedPaymentAuthorization } from '../receipts/payment-authorization.ts'
import type { GenerationEvent, InferenceRequest, StopReason } from './backend.ts'
import { inferenceError } from './errors.ts'
import type { AnswerAttribution } from './gateway.ts'
import { InferRequest, InferResponse } from './pb/infer.ts'

/** The request as it travels: the backend request plus the client's payment authorization. */
export interface PaidRequest {
  request: InferenceRequest
  payment: SignedPaymentAuthorization
}

/** Frame bounds (bytes), and the list bounds protons enforces while decoding. */
export const INFER_MAX_REQUEST_BYTES = 64 * 1024
export const INFER_MAX_RESPONSE_BYTES = 64 * 1024
const REQUEST_LIMITS = {
  promptTokenIds: 8192,
  stop: 16,
  continuation: { tokenIds: 8192 },
}
const RESPONSE_LIMITS = { tokenIds: 1024, attribution: { entries: 1024 } }

const DECIMAL_ID = /^(0|[1-9][0-9]{0,77})$/
const STOP_REASONS: ReadonlySet<string> = new Set<StopReason>(['max_tokens', 'stop', 'end_of_text'])

const protocolError = (message: string) => inferenceError('PROTOCOL_ERROR', message)

/** A registry id as decimal text (the form model and adapter ids take on the wire). */
export function isDecimalId(id: string): boolean {
  return DECIMAL_ID.test(id) && BigInt(id) < 1n << 256n
}

export function encodeInferRequest({ request, payment }: PaidRequest): Uint8Array {
  const a = payment.authorization
  const tokens = request.promptTokenIds
  return InferRequest.encode({
    model: request.model,
    adapter: request.adapter ?? undefined,
    prompt: request.prompt,
    promptTokenIds: tokens ?? [],
    promptIsTokens: tokens !== undefined,
    maxTokens: request.maxTokens,
    temperature: request.temperature ?? 0,
    topP: request.topP ?? 1,
    seed: request.seed ?? 0,
    stop: request.stop ?? [],
    continuation: request.continuation ?? undefined,
    payment: {
      client: Uint8Array.from(hexToBytes(a.client)),
      node: Uint8Array.from(hexToBytes(a.node)),
      model: uint256ToBytes(a.model),
      adapter: uint256ToBytes(a.adapter),
      maxFee: uint256ToBytes(a.maxFee),
      requestId: Uint8Array.from(hexToBytes(a.requestId)),
      deadline: a.deadline,
      signature: Uint8Array.from(hexToBytes(payment.signature)),
    },
  })
}

/** Decodes and shapes a request; field bounds are the backend's checkRequest's, the payment's its verifier's. */
export function decodeInferRequest(bytes: Uint8Array): PaidRequest {
  let pb: InferRequest
  try {
    pb = InferRequest.decode(bytes, { limits: REQUEST_LIMITS })
  } catch (err) {
    throw protocolError(`the request does not decode: ${(err as Error).message}`)
  }
  if (!isDecimalId(pb.model)) throw protocolError('model must be a decimal registry id')
  if (pb.adapter !== undefined && !isDecimalId(pb.adapter))
    throw protocolError('adapter must be a decimal registry id')
  const p = pb.payment
  if (p === undefined) throw protocolError('the request carries no payment authorization')
  if (p.client.length !== 20 || p.node.length !== 20 || p.requestId.length !== 32)
    throw protocolError('payment: client and node are 20 bytes, requestId 32')
  const model = uint256FromBytes(p.model)
  const adapter = uint256FromBytes(p.adapter)
  const maxFee = uint256FromBytes(p.maxFee)
  if (model === undefined || adapter === undefined || maxFee === undefined)
    throw protocolError('payment: model, adapter and maxFee are minimal uint256 bytes')
  const request: InferenceRequest = {
    model: pb.model,
    adapter: pb.adapter ?? null,
    maxTokens: pb.maxTokens,
    temperature: pb.temperature,
    topP: pb.topP,
    seed: pb.seed,
    stop: pb.stop,
  }
  if (pb.promptIsTokens) request.promptTokenIds = pb.promptTokenIds
  else request.prompt = pb.prompt ?? ''
  if (pb.continuation !== undefined) request.continuation = pb.continuation
  return {
    request,
    payment: {
      authorization: {
        client: checksumAddress(p.client),
        node: checksumAddress(p.node),
        model,
        adapter,
        maxFee,
        requestId: bytesToHex(p.requestId) as Hex,
        deadline: p.deadline,
      },
      signature: bytesToHex(p.signature),
    },
  }
}

export function encodeChunk(text: string, tokenIds: number[]): Uint8Array {
  return InferResponse.encode({
    kind: InferResponse.Kind.CHUNK,
    text,
    tokenIds,
    stopReason: '',
    promptTokens: 0,
    completionTokens: 0,
    errorCode: '',
    errorMessage: '',
  })
}

/** The END frame; `receipt` is the signed receipt's wire form without its output (the client has the text). */
export function encodeEnd(
  end: Extract<GenerationEvent, { type: 'end' }>,
  attribution: AnswerAttribution | null,
  receipt?: Uint8Array,
): Uint8Array {
  return InferResponse.encode({
    kind: InferResponse.Kind.END,
    text: '',
    tokenIds: [],
    stopReason: end.stopReason,
    promptTokens: end.usage.promptTokens,
    completionTokens: end.usage.completionTokens,
    attribution: attribution ?? undefined,
    receipt: receipt ? Uint8Array.from(receipt) : undefined,
    errorCode: '',
    errorMessage: '',
  })
}

export function encodeError(code: string, message: string): Uint8Array {
  return InferResponse.encode({
    kind: InferResponse.Kind.ERROR,
    text: '',
    tokenIds: [],
    stopReason: '',
    promptTokens: 0,
    completionTokens: 0,
    errorCode: code,
    errorMessage: message.slice(0, 1024),
  })
}

export type DecodedResponse =
  | { type: 'chunk'; text: string; tokenIds: number[] }
  | {
      type: 'end'
      stopReason: StopReason
      usage: { promptTokens: number; completionTokens: number }
      attribution: AnswerAttribution | null
      /** the provider's signed receipt, wire form without the output (checked by the caller) */
      receipt: Uint8Array | null
    }
  | { type: 'error'; code: string; message: string }

export function decodeInferResponse(bytes: Uint8Array): DecodedResponse {
  let pb: InferResponse
  try {
    pb = InferResponse.decode(bytes, { limits: RESPONSE_LIMITS })
  } catch (err) {
    throw protocolError(`a response frame does not decode: ${(err as Error).message}`)
  }
  switch (pb.kind) {
    case InferResponse.Kind.CHUNK:
      return { type: 'chunk', text: pb.text, tokenIds: pb.tokenIds }
    case InferResponse.Kind.END: {
      if (!STOP_REASONS.has(pb.stopReason)) throw protocolError(`unknown stop reason "${pb.stopReason}"`)
      const a = pb.attribution
      return {
        type: 'end',
        stopReason: pb.stopReason as StopReason,
        usage: { promptTokens: pb.promptTokens, completionTokens: pb.completionTokens },
        attribution:
          a === undefined
            ? null
            : {
                paramsVersion: a.paramsVersion,
                outputTokens: a.outputTokens,
                unattributedPpm: a.unattributedPpm,
                entries: a.entries.map((e) => ({ ...e })),
              },
        receipt: pb.receipt ?? null,
      }
    }
    case InferResponse.Kind.ERROR:
      return { type: 'error', code: pb.errorCode, message: pb.errorMessage }
    default:
      throw protocolError(`unknown response kind ${pb.kind}`)
  }
}
