import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface ReceiptAuthorization {
  client: Uint8Array<ArrayBuffer>
  node: Uint8Array<ArrayBuffer>
  model: Uint8Array<ArrayBuffer>
  adapter: Uint8Array<ArrayBuffer>
  maxFee: Uint8Array<ArrayBuffer>
  requestId: Uint8Array<ArrayBuffer>
  deadline: bigint
  signature: Uint8Array<ArrayBuffer>
}

export namespace ReceiptAuthorization {
  let _codec: Codec<ReceiptAuthorization>

  export const codec = (): Codec<ReceiptAuthorization> => {
    if (_codec == null) {
      _codec = message<ReceiptAuthorization>((obj, w, opts = {}) => {
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

  export interface ReceiptAuthorizationClientFieldEvent {
    field: '$.client'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptAuthorizationNodeFieldEvent {
    field: '$.node'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptAuthorizationModelFieldEvent {
    field: '$.model'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptAuthorizationAdapterFieldEvent {
    field: '$.adapter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptAuthorizationMaxFeeFieldEvent {
    field: '$.maxFee'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptAuthorizationRequestIdFieldEvent {
    field: '$.requestId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptAuthorizationDeadlineFieldEvent {
    field: '$.deadline'
    value: bigint
  }

  export interface ReceiptAuthorizationSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ReceiptAuthorization>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ReceiptAuthorization.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptAuthorization>): ReceiptAuthorization {
    return decodeMessage(buf, ReceiptAuthorization.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptAuthorization>): Generator<ReceiptAuthorizationClientFieldEvent | ReceiptAuthorizationNodeFieldEvent | ReceiptAuthorizationModelFieldEvent | ReceiptAuthorizationAdapterFieldEvent | ReceiptAuthorizationMaxFeeFieldEvent | ReceiptAuthorizationRequestIdFieldEvent | ReceiptAuthorizationDeadlineFieldEvent | ReceiptAuthorizationSignatureFieldEvent> {
    return streamMessage(buf, ReceiptAuthorization.codec(), opts)
  }
}

export interface ReceiptShare {
  datanetId: Uint8Array<ArrayBuffer>
  version: bigint
  contributionIndex: bigint
  weightPpm: number
}

export namespace ReceiptShare {
  let _codec: Codec<ReceiptShare>

  export const codec = (): Codec<ReceiptShare> => {
    if (_codec == null) {
      _codec = message<ReceiptShare>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.datanetId != null && obj.datanetId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.datanetId)
        }

        if ((obj.version != null && obj.version !== 0n)) {
          w.uint32(16)
          w.uint64(obj.version)
        }

        if ((obj.contributionIndex != null && obj.contributionIndex !== 0n)) {
          w.uint32(24)
          w.uint64(obj.contributionIndex)
        }

        if ((obj.weightPpm != null && obj.weightPpm !== 0)) {
          w.uint32(32)
          w.uint32(obj.weightPpm)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          datanetId: uint8ArrayAlloc(0),
          version: 0n,
          contributionIndex: 0n,
          weightPpm: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.datanetId = reader.bytes()
              break
            }
            case 2: {
              obj.version = reader.uint64()
              break
            }
            case 3: {
              obj.contributionIndex = reader.uint64()
              break
            }
            case 4: {
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
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.contributionIndex`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
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

  export interface ReceiptShareDatanetIdFieldEvent {
    field: '$.datanetId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptShareVersionFieldEvent {
    field: '$.version'
    value: bigint
  }

  export interface ReceiptShareContributionIndexFieldEvent {
    field: '$.contributionIndex'
    value: bigint
  }

  export interface ReceiptShareWeightPpmFieldEvent {
    field: '$.weightPpm'
    value: number
  }

  export function encode (obj: Partial<ReceiptShare>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ReceiptShare.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptShare>): ReceiptShare {
    return decodeMessage(buf, ReceiptShare.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptShare>): Generator<ReceiptShareDatanetIdFieldEvent | ReceiptShareVersionFieldEvent | ReceiptShareContributionIndexFieldEvent | ReceiptShareWeightPpmFieldEvent> {
    return streamMessage(buf, ReceiptShare.codec(), opts)
  }
}

export interface SignedReceipt {
  authorization?: ReceiptAuthorization
  fee: Uint8Array<ArrayBuffer>
  inputTokens: number
  outputTokens: number
  outputHash: Uint8Array<ArrayBuffer>
  attribution: ReceiptShare[]
  attributionParams: string
  servedAt: bigint
  nodeSignature: Uint8Array<ArrayBuffer>
  output: string
}

export namespace SignedReceipt {
  let _codec: Codec<SignedReceipt>

  export const codec = (): Codec<SignedReceipt> => {
    if (_codec == null) {
      _codec = message<SignedReceipt>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.authorization != null) {
          w.uint32(10)
          ReceiptAuthorization.codec().encode(obj.authorization, w)
        }

        if ((obj.fee != null && obj.fee.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.fee)
        }

        if ((obj.inputTokens != null && obj.inputTokens !== 0)) {
          w.uint32(24)
          w.uint32(obj.inputTokens)
        }

        if ((obj.outputTokens != null && obj.outputTokens !== 0)) {
          w.uint32(32)
          w.uint32(obj.outputTokens)
        }

        if ((obj.outputHash != null && obj.outputHash.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.outputHash)
        }

        if (obj.attribution != null && obj.attribution.length > 0) {
          for (const value of obj.attribution) {
            w.uint32(50)
            ReceiptShare.codec().encode(value, w)
          }
        }

        if ((obj.attributionParams != null && obj.attributionParams !== '')) {
          w.uint32(58)
          w.string(obj.attributionParams)
        }

        if ((obj.servedAt != null && obj.servedAt !== 0n)) {
          w.uint32(64)
          w.uint64(obj.servedAt)
        }

        if ((obj.nodeSignature != null && obj.nodeSignature.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.nodeSignature)
        }

        if ((obj.output != null && obj.output !== '')) {
          w.uint32(82)
          w.string(obj.output)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          fee: uint8ArrayAlloc(0),
          inputTokens: 0,
          outputTokens: 0,
          outputHash: uint8ArrayAlloc(0),
          attribution: [],
          attributionParams: '',
          servedAt: 0n,
          nodeSignature: uint8ArrayAlloc(0),
          output: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.authorization = ReceiptAuthorization.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.authorization
              })
              break
            }
            case 2: {
              obj.fee = reader.bytes()
              break
            }
            case 3: {
              obj.inputTokens = reader.uint32()
              break
            }
            case 4: {
              obj.outputTokens = reader.uint32()
              break
            }
            case 5: {
              obj.outputHash = reader.bytes()
              break
            }
            case 6: {
              if (opts.limits?.attribution != null && obj.attribution.length === opts.limits.attribution) {
                throw new MaxLengthError('Decode error - repeated field "attribution" had too many elements')
              }

              obj.attribution.push(ReceiptShare.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.attribution$
              }))
              break
            }
            case 7: {
              obj.attributionParams = reader.string()
              break
            }
            case 8: {
              obj.servedAt = reader.uint64()
              break
            }
            case 9: {
              obj.nodeSignature = reader.bytes()
              break
            }
            case 10: {
              obj.output = reader.string()
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
          attribution: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * ReceiptAuthorization.codec().stream(reader, reader.uint32(), `${prefix}.authorization`, {
                limits: opts.limits?.authorization
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.fee`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.inputTokens`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.outputTokens`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.outputHash`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              if (opts.limits?.attribution != null && obj.attribution === opts.limits.attribution) {
                throw new MaxLengthError('Streaming decode error - repeated field "attribution" had too many elements')
              }

              for (const evt of ReceiptShare.codec().stream(reader, reader.uint32(), `${prefix}.attribution[]`, {
                limits: opts.limits?.attribution$
              })) {
                yield {
                  ...evt,
                  index: obj.attribution
                }
              }

              obj.attribution++

              break
            }
            case 7: {
              yield {
                field: `${prefix}.attributionParams`,
                value: reader.string()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.servedAt`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.nodeSignature`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.output`,
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

  export interface SignedReceiptAuthorizationClientFieldEvent {
    field: '$.authorization.client'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedReceiptAuthorizationNodeFieldEvent {
    field: '$.authorization.node'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedReceiptAuthorizationModelFieldEvent {
    field: '$.authorization.model'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedReceiptAuthorizationAdapterFieldEvent {
    field: '$.authorization.adapter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedReceiptAuthorizationMaxFeeFieldEvent {
    field: '$.authorization.maxFee'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedReceiptAuthorizationRequestIdFieldEvent {
    field: '$.authorization.requestId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedReceiptAuthorizationDeadlineFieldEvent {
    field: '$.authorization.deadline'
    value: bigint
  }

  export interface SignedReceiptAuthorizationSignatureFieldEvent {
    field: '$.authorization.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedReceiptFeeFieldEvent {
    field: '$.fee'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedReceiptInputTokensFieldEvent {
    field: '$.inputTokens'
    value: number
  }

  export interface SignedReceiptOutputTokensFieldEvent {
    field: '$.outputTokens'
    value: number
  }

  export interface SignedReceiptOutputHashFieldEvent {
    field: '$.outputHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedReceiptAttributionDatanetIdFieldEvent {
    field: '$.attribution[].datanetId'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SignedReceiptAttributionVersionFieldEvent {
    field: '$.attribution[].version'
    value: bigint
    index: number
  }

  export interface SignedReceiptAttributionContributionIndexFieldEvent {
    field: '$.attribution[].contributionIndex'
    value: bigint
    index: number
  }

  export interface SignedReceiptAttributionWeightPpmFieldEvent {
    field: '$.attribution[].weightPpm'
    value: number
    index: number
  }

  export interface SignedReceiptAttributionParamsFieldEvent {
    field: '$.attributionParams'
    value: string
  }

  export interface SignedReceiptServedAtFieldEvent {
    field: '$.servedAt'
    value: bigint
  }

  export interface SignedReceiptNodeSignatureFieldEvent {
    field: '$.nodeSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedReceiptOutputFieldEvent {
    field: '$.output'
    value: string
  }

  export function encode (obj: Partial<SignedReceipt>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedReceipt.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedReceipt>): SignedReceipt {
    return decodeMessage(buf, SignedReceipt.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedReceipt>): Generator<SignedReceiptAuthorizationClientFieldEvent | SignedReceiptAuthorizationNodeFieldEvent | SignedReceiptAuthorizationModelFieldEvent | SignedReceiptAuthorizationAdapterFieldEvent | SignedReceiptAuthorizationMaxFeeFieldEvent | SignedReceiptAuthorizationRequestIdFieldEvent | SignedReceiptAuthorizationDeadlineFieldEvent | SignedReceiptAuthorizationSignatureFieldEvent | SignedReceiptFeeFieldEvent | SignedReceiptInputTokensFieldEvent | SignedReceiptOutputTokensFieldEvent | SignedReceiptOutputHashFieldEvent | SignedReceiptAttributionDatanetIdFieldEvent | SignedReceiptAttributionVersionFieldEvent | SignedReceiptAttributionContributionIndexFieldEvent | SignedReceiptAttributionWeightPpmFieldEvent | SignedReceiptAttributionParamsFieldEvent | SignedReceiptServedAtFieldEvent | SignedReceiptNodeSignatureFieldEvent | SignedReceiptOutputFieldEvent> {
    return streamMessage(buf, SignedReceipt.codec(), opts)
  }
}
