import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface PaymentAuthorization {
  client: Uint8Array<ArrayBuffer>
  node: Uint8Array<ArrayBuffer>
  model: Uint8Array<ArrayBuffer>
  adapter: Uint8Array<ArrayBuffer>
  maxFee: Uint8Array<ArrayBuffer>
  requestId: Uint8Array<ArrayBuffer>
  deadline: bigint
  signature: Uint8Array<ArrayBuffer>
}

export namespace PaymentAuthorization {
  let _codec: Codec<PaymentAuthorization>

  export const codec = (): Codec<PaymentAuthorization> => {
    if (_codec == null) {
      _codec = message<PaymentAuthorization>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.client != null && obj.client.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.client)
        }

        if ((obj.node != null && obj.node.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.node)
        }

        if ((obj.model != null && obj.model.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.model)
        }

        if ((obj.adapter != null && obj.adapter.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.adapter)
        }

        if ((obj.maxFee != null && obj.maxFee.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.maxFee)
        }

        if ((obj.requestId != null && obj.requestId.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.requestId)
        }

        if ((obj.deadline != null && obj.deadline !== 0n)) {
          w.uint32(56)
          w.uint64(obj.deadline)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          client: uint8ArrayAlloc(0),
          node: uint8ArrayAlloc(0),
          model: uint8ArrayAlloc(0),
          adapter: uint8ArrayAlloc(0),
          maxFee: uint8ArrayAlloc(0),
          requestId: uint8ArrayAlloc(0),
          deadline: 0n,
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.client = reader.bytes()
              break
            }
            case 2: {
              obj.node = reader.bytes()
              break
            }
            case 3: {
              obj.model = reader.bytes()
              break
            }
            case 4: {
              obj.adapter = reader.bytes()
              break
            }
            case 5: {
              obj.maxFee = reader.bytes()
              break
            }
            case 6: {
              obj.requestId = reader.bytes()
              break
            }
            case 7: {
              obj.deadline = reader.uint64()
              break
            }
            case 8: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.client`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.node`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.model`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.adapter`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.maxFee`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.requestId`,
                value: reader.bytes()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.deadline`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface PaymentAuthorizationClientFieldEvent {
    field: '$.client'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PaymentAuthorizationNodeFieldEvent {
    field: '$.node'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PaymentAuthorizationModelFieldEvent {
    field: '$.model'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PaymentAuthorizationAdapterFieldEvent {
    field: '$.adapter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PaymentAuthorizationMaxFeeFieldEvent {
    field: '$.maxFee'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PaymentAuthorizationRequestIdFieldEvent {
    field: '$.requestId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PaymentAuthorizationDeadlineFieldEvent {
    field: '$.deadline'
    value: bigint
  }

  export interface PaymentAuthorizationSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<PaymentAuthorization>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PaymentAuthorization.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PaymentAuthorization>): PaymentAuthorization {
    return decodeMessage(buf, PaymentAuthorization.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PaymentAuthorization>): Generator<PaymentAuthorizationClientFieldEvent | PaymentAuthorizationNodeFieldEvent | PaymentAuthorizationModelFieldEvent | PaymentAuthorizationAdapterFieldEvent | PaymentAuthorizationMaxFeeFieldEvent | PaymentAuthorizationRequestIdFieldEvent | PaymentAuthorizationDeadlineFieldEvent | PaymentAuthorizationSignatureFieldEvent> {
    return streamMessage(buf, PaymentAuthorization.codec(), opts)
  }
}

export interface Continuation {
  tokenIds: number[]
  textLength: number
}

export namespace Continuation {
  let _codec: Codec<Continuation>

  export const codec = (): Codec<Continuation> => {
    if (_codec == null) {
      _codec = message<Continuation>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.tokenIds != null && obj.tokenIds.length > 0) {
          for (const value of obj.tokenIds) {
            w.uint32(8)
            w.uint32(value)
          }
        }

        if ((obj.textLength != null && obj.textLength !== 0)) {
          w.uint32(16)
          w.uint32(obj.textLength)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          tokenIds: [],
          textLength: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.tokenIds != null && obj.tokenIds.length === opts.limits.tokenIds) {
                throw new MaxLengthError('Decode error - repeated field "tokenIds" had too many elements')
              }

              obj.tokenIds.push(reader.uint32())
              break
            }
            case 2: {
              obj.textLength = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          tokenIds: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.tokenIds != null && obj.tokenIds === opts.limits.tokenIds) {
                throw new MaxLengthError('Streaming decode error - repeated field "tokenIds" had too many elements')
              }

              yield {
                field: `${prefix}.tokenIds[]`,
                index: obj.tokenIds,
                value: reader.uint32()
              }

              obj.tokenIds++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.textLength`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ContinuationTokenIdsFieldEvent {
    field: '$.tokenIds[]'
    index: number
    value: number
  }

  export interface ContinuationTextLengthFieldEvent {
    field: '$.textLength'
    value: number
  }

  export function encode (obj: Partial<Continuation>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Continuation.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Continuation>): Continuation {
    return decodeMessage(buf, Continuation.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Continuation>): Generator<ContinuationTokenIdsFieldEvent | ContinuationTextLengthFieldEvent> {
    return streamMessage(buf, Continuation.codec(), opts)
  }
}

export interface InferRequest {
  model: string
  adapter?: string
  prompt?: string
  promptTokenIds: number[]
  promptIsTokens: boolean
  maxTokens: number
  temperature: number
  topP: number
  seed: number
  stop: string[]
  continuation?: Continuation
  payment?: PaymentAuthorization
}

export namespace InferRequest {
  let _codec: Codec<InferRequest>

  export const codec = (): Codec<InferRequest> => {
    if (_codec == null) {
      _codec = message<InferRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.model != null && obj.model !== '')) {
          w.uint32(10)
          w.string(obj.model)
        }

        if (obj.adapter != null) {
          w.uint32(18)
          w.string(obj.adapter)
        }

        if (obj.prompt != null) {
          w.uint32(26)
          w.string(obj.prompt)
        }

        if (obj.promptTokenIds != null && obj.promptTokenIds.length > 0) {
          for (const value of obj.promptTokenIds) {
            w.uint32(32)
            w.uint32(value)
          }
        }

        if ((obj.promptIsTokens != null && obj.promptIsTokens !== false)) {
          w.uint32(40)
          w.bool(obj.promptIsTokens)
        }

        if ((obj.maxTokens != null && obj.maxTokens !== 0)) {
          w.uint32(48)
          w.uint32(obj.maxTokens)
        }

        if ((obj.temperature != null && obj.temperature !== 0)) {
          w.uint32(57)
          w.double(obj.temperature)
        }

        if ((obj.topP != null && obj.topP !== 0)) {
          w.uint32(65)
          w.double(obj.topP)
        }

        if ((obj.seed != null && obj.seed !== 0)) {
          w.uint32(72)
          w.uint32(obj.seed)
        }

        if (obj.stop != null && obj.stop.length > 0) {
          for (const value of obj.stop) {
            w.uint32(82)
            w.string(value)
          }
        }

        if (obj.continuation != null) {
          w.uint32(90)
          Continuation.codec().encode(obj.continuation, w)
        }

        if (obj.payment != null) {
          w.uint32(98)
          PaymentAuthorization.codec().encode(obj.payment, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          model: '',
          promptTokenIds: [],
          promptIsTokens: false,
          maxTokens: 0,
          temperature: 0,
          topP: 0,
          seed: 0,
          stop: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.model = reader.string()
              break
            }
            case 2: {
              obj.adapter = reader.string()
              break
            }
            case 3: {
              obj.prompt = reader.string()
              break
            }
            case 4: {
              if (opts.limits?.promptTokenIds != null && obj.promptTokenIds.length === opts.limits.promptTokenIds) {
                throw new MaxLengthError('Decode error - repeated field "promptTokenIds" had too many elements')
              }

              obj.promptTokenIds.push(reader.uint32())
              break
            }
            case 5: {
              obj.promptIsTokens = reader.bool()
              break
            }
            case 6: {
              obj.maxTokens = reader.uint32()
              break
            }
            case 7: {
              obj.temperature = reader.double()
              break
            }
            case 8: {
              obj.topP = reader.double()
              break
            }
            case 9: {
              obj.seed = reader.uint32()
              break
            }
            case 10: {
              if (opts.limits?.stop != null && obj.stop.length === opts.limits.stop) {
                throw new MaxLengthError('Decode error - repeated field "stop" had too many elements')
              }

              obj.stop.push(reader.string())
              break
            }
            case 11: {
              obj.continuation = Continuation.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.continuation
              })
              break
            }
            case 12: {
              obj.payment = PaymentAuthorization.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.payment
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          promptTokenIds: 0,
          stop: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.model`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.adapter`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.prompt`,
                value: reader.string()
              }
              break
            }
            case 4: {
              if (opts.limits?.promptTokenIds != null && obj.promptTokenIds === opts.limits.promptTokenIds) {
                throw new MaxLengthError('Streaming decode error - repeated field "promptTokenIds" had too many elements')
              }

              yield {
                field: `${prefix}.promptTokenIds[]`,
                index: obj.promptTokenIds,
                value: reader.uint32()
              }

              obj.promptTokenIds++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.promptIsTokens`,
                value: reader.bool()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.maxTokens`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.temperature`,
                value: reader.double()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.topP`,
                value: reader.double()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.seed`,
                value: reader.uint32()
              }
              break
            }
            case 10: {
              if (opts.limits?.stop != null && obj.stop === opts.limits.stop) {
                throw new MaxLengthError('Streaming decode error - repeated field "stop" had too many elements')
              }

              yield {
                field: `${prefix}.stop[]`,
                index: obj.stop,
                value: reader.string()
              }

              obj.stop++

              break
            }
            case 11: {
              yield * Continuation.codec().stream(reader, reader.uint32(), `${prefix}.continuation`, {
                limits: opts.limits?.continuation
              })

              break
            }
            case 12: {
              yield * PaymentAuthorization.codec().stream(reader, reader.uint32(), `${prefix}.payment`, {
                limits: opts.limits?.payment
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface InferRequestModelFieldEvent {
    field: '$.model'
    value: string
  }

  export interface InferRequestAdapterFieldEvent {
    field: '$.adapter'
    value: string
  }

  export interface InferRequestPromptFieldEvent {
    field: '$.prompt'
    value: string
  }

  export interface InferRequestPromptTokenIdsFieldEvent {
    field: '$.promptTokenIds[]'
    index: number
    value: number
  }

  export interface InferRequestPromptIsTokensFieldEvent {
    field: '$.promptIsTokens'
    value: boolean
  }

  export interface InferRequestMaxTokensFieldEvent {
    field: '$.maxTokens'
    value: number
  }

  export interface InferRequestTemperatureFieldEvent {
    field: '$.temperature'
    value: number
  }

  export interface InferRequestTopPFieldEvent {
    field: '$.topP'
    value: number
  }

  export interface InferRequestSeedFieldEvent {
    field: '$.seed'
    value: number
  }

  export interface InferRequestStopFieldEvent {
    field: '$.stop[]'
    index: number
    value: string
  }

  export interface InferRequestContinuationTokenIdsFieldEvent {
    field: '$.continuation.tokenIds[]'
    index: number
    value: number
  }

  export interface InferRequestContinuationTextLengthFieldEvent {
    field: '$.continuation.textLength'
    value: number
  }

  export interface InferRequestPaymentClientFieldEvent {
    field: '$.payment.client'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferRequestPaymentNodeFieldEvent {
    field: '$.payment.node'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferRequestPaymentModelFieldEvent {
    field: '$.payment.model'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferRequestPaymentAdapterFieldEvent {
    field: '$.payment.adapter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferRequestPaymentMaxFeeFieldEvent {
    field: '$.payment.maxFee'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferRequestPaymentRequestIdFieldEvent {
    field: '$.payment.requestId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferRequestPaymentDeadlineFieldEvent {
    field: '$.payment.deadline'
    value: bigint
  }

  export interface InferRequestPaymentSignatureFieldEvent {
    field: '$.payment.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<InferRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferRequest>): InferRequest {
    return decodeMessage(buf, InferRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferRequest>): Generator<InferRequestModelFieldEvent | InferRequestAdapterFieldEvent | InferRequestPromptFieldEvent | InferRequestPromptTokenIdsFieldEvent | InferRequestPromptIsTokensFieldEvent | InferRequestMaxTokensFieldEvent | InferRequestTemperatureFieldEvent | InferRequestTopPFieldEvent | InferRequestSeedFieldEvent | InferRequestStopFieldEvent | InferRequestContinuationTokenIdsFieldEvent | InferRequestContinuationTextLengthFieldEvent | InferRequestPaymentClientFieldEvent | InferRequestPaymentNodeFieldEvent | InferRequestPaymentModelFieldEvent | InferRequestPaymentAdapterFieldEvent | InferRequestPaymentMaxFeeFieldEvent | InferRequestPaymentRequestIdFieldEvent | InferRequestPaymentDeadlineFieldEvent | InferRequestPaymentSignatureFieldEvent> {
    return streamMessage(buf, InferRequest.codec(), opts)
  }
}

export interface AttributionEntry {
  datanetId: string
  datanetVersion: number
  contributionIndex: number
  contributionId: string
  contributor: string
  weightPpm: number
}

export namespace AttributionEntry {
  let _codec: Codec<AttributionEntry>

  export const codec = (): Codec<AttributionEntry> => {
    if (_codec == null) {
      _codec = message<AttributionEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.datanetId != null && obj.datanetId !== '')) {
          w.uint32(10)
          w.string(obj.datanetId)
        }

        if ((obj.datanetVersion != null && obj.datanetVersion !== 0)) {
          w.uint32(16)
          w.uint32(obj.datanetVersion)
        }

        if ((obj.contributionIndex != null && obj.contributionIndex !== 0)) {
          w.uint32(24)
          w.uint32(obj.contributionIndex)
        }

        if ((obj.contributionId != null && obj.contributionId !== '')) {
          w.uint32(34)
          w.string(obj.contributionId)
        }

        if ((obj.contributor != null && obj.contributor !== '')) {
          w.uint32(42)
          w.string(obj.contributor)
        }

        if ((obj.weightPpm != null && obj.weightPpm !== 0)) {
          w.uint32(48)
          w.uint32(obj.weightPpm)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          datanetId: '',
          datanetVersion: 0,
          contributionIndex: 0,
          contributionId: '',
          contributor: '',
          weightPpm: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.datanetId = reader.string()
              break
            }
            case 2: {
              obj.datanetVersion = reader.uint32()
              break
            }
            case 3: {
              obj.contributionIndex = reader.uint32()
              break
            }
            case 4: {
              obj.contributionId = reader.string()
              break
            }
            case 5: {
              obj.contributor = reader.string()
              break
            }
            case 6: {
              obj.weightPpm = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.datanetId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.datanetVersion`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.contributionIndex`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.contributionId`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.contributor`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.weightPpm`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AttributionEntryDatanetIdFieldEvent {
    field: '$.datanetId'
    value: string
  }

  export interface AttributionEntryDatanetVersionFieldEvent {
    field: '$.datanetVersion'
    value: number
  }

  export interface AttributionEntryContributionIndexFieldEvent {
    field: '$.contributionIndex'
    value: number
  }

  export interface AttributionEntryContributionIdFieldEvent {
    field: '$.contributionId'
    value: string
  }

  export interface AttributionEntryContributorFieldEvent {
    field: '$.contributor'
    value: string
  }

  export interface AttributionEntryWeightPpmFieldEvent {
    field: '$.weightPpm'
    value: number
  }

  export function encode (obj: Partial<AttributionEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, AttributionEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AttributionEntry>): AttributionEntry {
    return decodeMessage(buf, AttributionEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AttributionEntry>): Generator<AttributionEntryDatanetIdFieldEvent | AttributionEntryDatanetVersionFieldEvent | AttributionEntryContributionIndexFieldEvent | AttributionEntryContributionIdFieldEvent | AttributionEntryContributorFieldEvent | AttributionEntryWeightPpmFieldEvent> {
    return streamMessage(buf, AttributionEntry.codec(), opts)
  }
}

export interface Attribution {
  paramsVersion: string
  outputTokens: number
  unattributedPpm: number
  entries: AttributionEntry[]
}

export namespace Attribution {
  let _codec: Codec<Attribution>

  export const codec = (): Codec<Attribution> => {
    if (_codec == null) {
      _codec = message<Attribution>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.paramsVersion != null && obj.paramsVersion !== '')) {
          w.uint32(10)
          w.string(obj.paramsVersion)
        }

        if ((obj.outputTokens != null && obj.outputTokens !== 0)) {
          w.uint32(16)
          w.uint32(obj.outputTokens)
        }

        if ((obj.unattributedPpm != null && obj.unattributedPpm !== 0)) {
          w.uint32(24)
          w.uint32(obj.unattributedPpm)
        }

        if (obj.entries != null && obj.entries.length > 0) {
          for (const value of obj.entries) {
            w.uint32(34)
            AttributionEntry.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          paramsVersion: '',
          outputTokens: 0,
          unattributedPpm: 0,
          entries: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.paramsVersion = reader.string()
              break
            }
            case 2: {
              obj.outputTokens = reader.uint32()
              break
            }
            case 3: {
              obj.unattributedPpm = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              obj.entries.push(AttributionEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.entries$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          entries: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.paramsVersion`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.outputTokens`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.unattributedPpm`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.entries != null && obj.entries === opts.limits.entries) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              for (const evt of AttributionEntry.codec().stream(reader, reader.uint32(), `${prefix}.entries[]`, {
                limits: opts.limits?.entries$
              })) {
                yield {
                  ...evt,
                  index: obj.entries
                }
              }

              obj.entries++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AttributionParamsVersionFieldEvent {
    field: '$.paramsVersion'
    value: string
  }

  export interface AttributionOutputTokensFieldEvent {
    field: '$.outputTokens'
    value: number
  }

  export interface AttributionUnattributedPpmFieldEvent {
    field: '$.unattributedPpm'
    value: number
  }

  export interface AttributionEntriesDatanetIdFieldEvent {
    field: '$.entries[].datanetId'
    value: string
    index: number
  }

  export interface AttributionEntriesDatanetVersionFieldEvent {
    field: '$.entries[].datanetVersion'
    value: number
    index: number
  }

  export interface AttributionEntriesContributionIndexFieldEvent {
    field: '$.entries[].contributionIndex'
    value: number
    index: number
  }

  export interface AttributionEntriesContributionIdFieldEvent {
    field: '$.entries[].contributionId'
    value: string
    index: number
  }

  export interface AttributionEntriesContributorFieldEvent {
    field: '$.entries[].contributor'
    value: string
    index: number
  }

  export interface AttributionEntriesWeightPpmFieldEvent {
    field: '$.entries[].weightPpm'
    value: number
    index: number
  }

  export function encode (obj: Partial<Attribution>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Attribution.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Attribution>): Attribution {
    return decodeMessage(buf, Attribution.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Attribution>): Generator<AttributionParamsVersionFieldEvent | AttributionOutputTokensFieldEvent | AttributionUnattributedPpmFieldEvent | AttributionEntriesDatanetIdFieldEvent | AttributionEntriesDatanetVersionFieldEvent | AttributionEntriesContributionIndexFieldEvent | AttributionEntriesContributionIdFieldEvent | AttributionEntriesContributorFieldEvent | AttributionEntriesWeightPpmFieldEvent> {
    return streamMessage(buf, Attribution.codec(), opts)
  }
}

export interface InferResponse {
  kind: InferResponse.Kind
  text: string
  tokenIds: number[]
  stopReason: string
  promptTokens: number
  completionTokens: number
  attribution?: Attribution
  receipt?: Uint8Array<ArrayBuffer>
  errorCode: string
  errorMessage: string
}

export namespace InferResponse {
  export enum Kind {
    CHUNK = 'CHUNK',
    END = 'END',
    ERROR = 'ERROR'
  }

  enum __KindValues {
    CHUNK = 0,
    END = 1,
    ERROR = 2
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  let _codec: Codec<InferResponse>

  export const codec = (): Codec<InferResponse> => {
    if (_codec == null) {
      _codec = message<InferResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(8)
          InferResponse.Kind.codec().encode(obj.kind, w)
        }

        if ((obj.text != null && obj.text !== '')) {
          w.uint32(18)
          w.string(obj.text)
        }

        if (obj.tokenIds != null && obj.tokenIds.length > 0) {
          for (const value of obj.tokenIds) {
            w.uint32(24)
            w.uint32(value)
          }
        }

        if ((obj.stopReason != null && obj.stopReason !== '')) {
          w.uint32(34)
          w.string(obj.stopReason)
        }

        if ((obj.promptTokens != null && obj.promptTokens !== 0)) {
          w.uint32(40)
          w.uint32(obj.promptTokens)
        }

        if ((obj.completionTokens != null && obj.completionTokens !== 0)) {
          w.uint32(48)
          w.uint32(obj.completionTokens)
        }

        if (obj.attribution != null) {
          w.uint32(58)
          Attribution.codec().encode(obj.attribution, w)
        }

        if (obj.receipt != null) {
          w.uint32(82)
          w.bytes(obj.receipt)
        }

        if ((obj.errorCode != null && obj.errorCode !== '')) {
          w.uint32(66)
          w.string(obj.errorCode)
        }

        if ((obj.errorMessage != null && obj.errorMessage !== '')) {
          w.uint32(74)
          w.string(obj.errorMessage)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: Kind.CHUNK,
          text: '',
          tokenIds: [],
          stopReason: '',
          promptTokens: 0,
          completionTokens: 0,
          errorCode: '',
          errorMessage: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = InferResponse.Kind.codec().decode(reader)
              break
            }
            case 2: {
              obj.text = reader.string()
              break
            }
            case 3: {
              if (opts.limits?.tokenIds != null && obj.tokenIds.length === opts.limits.tokenIds) {
                throw new MaxLengthError('Decode error - repeated field "tokenIds" had too many elements')
              }

              obj.tokenIds.push(reader.uint32())
              break
            }
            case 4: {
              obj.stopReason = reader.string()
              break
            }
            case 5: {
              obj.promptTokens = reader.uint32()
              break
            }
            case 6: {
              obj.completionTokens = reader.uint32()
              break
            }
            case 7: {
              obj.attribution = Attribution.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.attribution
              })
              break
            }
            case 10: {
              obj.receipt = reader.bytes()
              break
            }
            case 8: {
              obj.errorCode = reader.string()
              break
            }
            case 9: {
              obj.errorMessage = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          tokenIds: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.kind`,
                value: InferResponse.Kind.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.text`,
                value: reader.string()
              }
              break
            }
            case 3: {
              if (opts.limits?.tokenIds != null && obj.tokenIds === opts.limits.tokenIds) {
                throw new MaxLengthError('Streaming decode error - repeated field "tokenIds" had too many elements')
              }

              yield {
                field: `${prefix}.tokenIds[]`,
                index: obj.tokenIds,
                value: reader.uint32()
              }

              obj.tokenIds++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.stopReason`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.promptTokens`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.completionTokens`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield * Attribution.codec().stream(reader, reader.uint32(), `${prefix}.attribution`, {
                limits: opts.limits?.attribution
              })

              break
            }
            case 10: {
              yield {
                field: `${prefix}.receipt`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.errorCode`,
                value: reader.string()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.errorMessage`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface InferResponseKindFieldEvent {
    field: '$.kind'
    value: InferResponse.Kind
  }

  export interface InferResponseTextFieldEvent {
    field: '$.text'
    value: string
  }

  export interface InferResponseTokenIdsFieldEvent {
    field: '$.tokenIds[]'
    index: number
    value: number
  }

  export interface InferResponseStopReasonFieldEvent {
    field: '$.stopReason'
    value: string
  }

  export interface InferResponsePromptTokensFieldEvent {
    field: '$.promptTokens'
    value: number
  }

  export interface InferResponseCompletionTokensFieldEvent {
    field: '$.completionTokens'
    value: number
  }

  export interface InferResponseAttributionParamsVersionFieldEvent {
    field: '$.attribution.paramsVersion'
    value: string
  }

  export interface InferResponseAttributionOutputTokensFieldEvent {
    field: '$.attribution.outputTokens'
    value: number
  }

  export interface InferResponseAttributionUnattributedPpmFieldEvent {
    field: '$.attribution.unattributedPpm'
    value: number
  }

  export interface InferResponseAttributionEntriesDatanetIdFieldEvent {
    field: '$.attribution.entries[].datanetId'
    value: string
    index: number
  }

  export interface InferResponseAttributionEntriesDatanetVersionFieldEvent {
    field: '$.attribution.entries[].datanetVersion'
    value: number
    index: number
  }

  export interface InferResponseAttributionEntriesContributionIndexFieldEvent {
    field: '$.attribution.entries[].contributionIndex'
    value: number
    index: number
  }

  export interface InferResponseAttributionEntriesContributionIdFieldEvent {
    field: '$.attribution.entries[].contributionId'
    value: string
    index: number
  }

  export interface InferResponseAttributionEntriesContributorFieldEvent {
    field: '$.attribution.entries[].contributor'
    value: string
    index: number
  }

  export interface InferResponseAttributionEntriesWeightPpmFieldEvent {
    field: '$.attribution.entries[].weightPpm'
    value: number
    index: number
  }

  export interface InferResponseReceiptFieldEvent {
    field: '$.receipt'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferResponseErrorCodeFieldEvent {
    field: '$.errorCode'
    value: string
  }

  export interface InferResponseErrorMessageFieldEvent {
    field: '$.errorMessage'
    value: string
  }

  export function encode (obj: Partial<InferResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferResponse>): InferResponse {
    return decodeMessage(buf, InferResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferResponse>): Generator<InferResponseKindFieldEvent | InferResponseTextFieldEvent | InferResponseTokenIdsFieldEvent | InferResponseStopReasonFieldEvent | InferResponsePromptTokensFieldEvent | InferResponseCompletionTokensFieldEvent | InferResponseAttributionParamsVersionFieldEvent | InferResponseAttributionOutputTokensFieldEvent | InferResponseAttributionUnattributedPpmFieldEvent | InferResponseAttributionEntriesDatanetIdFieldEvent | InferResponseAttributionEntriesDatanetVersionFieldEvent | InferResponseAttributionEntriesContributionIndexFieldEvent | InferResponseAttributionEntriesContributionIdFieldEvent | InferResponseAttributionEntriesContributorFieldEvent | InferResponseAttributionEntriesWeightPpmFieldEvent | InferResponseReceiptFieldEvent | InferResponseErrorCodeFieldEvent | InferResponseErrorMessageFieldEvent> {
    return streamMessage(buf, InferResponse.codec(), opts)
  }
}
