import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface ModelOffer {
  modelId: Uint8Array<ArrayBuffer>
  adapterId: Uint8Array<ArrayBuffer>
  warm: boolean
  tokensPerSec: number
  priceIn: Uint8Array<ArrayBuffer>
  priceOut: Uint8Array<ArrayBuffer>
}

export namespace ModelOffer {
  let _codec: Codec<ModelOffer>

  export const codec = (): Codec<ModelOffer> => {
    if (_codec == null) {
      _codec = message<ModelOffer>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.modelId != null && obj.modelId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.modelId)
        }

        if ((obj.adapterId != null && obj.adapterId.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.adapterId)
        }

        if ((obj.warm != null && obj.warm !== false)) {
          w.uint32(24)
          w.bool(obj.warm)
        }

        if ((obj.tokensPerSec != null && obj.tokensPerSec !== 0)) {
          w.uint32(32)
          w.uint32(obj.tokensPerSec)
        }

        if ((obj.priceIn != null && obj.priceIn.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.priceIn)
        }

        if ((obj.priceOut != null && obj.priceOut.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.priceOut)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          modelId: uint8ArrayAlloc(0),
          adapterId: uint8ArrayAlloc(0),
          warm: false,
          tokensPerSec: 0,
          priceIn: uint8ArrayAlloc(0),
          priceOut: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.modelId = reader.bytes()
              break
            }
            case 2: {
              obj.adapterId = reader.bytes()
              break
            }
            case 3: {
              obj.warm = reader.bool()
              break
            }
            case 4: {
              obj.tokensPerSec = reader.uint32()
              break
            }
            case 5: {
              obj.priceIn = reader.bytes()
              break
            }
            case 6: {
              obj.priceOut = reader.bytes()
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
                field: `${prefix}.modelId`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.adapterId`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.warm`,
                value: reader.bool()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.tokensPerSec`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.priceIn`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.priceOut`,
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

  export interface ModelOfferModelIdFieldEvent {
    field: '$.modelId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ModelOfferAdapterIdFieldEvent {
    field: '$.adapterId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ModelOfferWarmFieldEvent {
    field: '$.warm'
    value: boolean
  }

  export interface ModelOfferTokensPerSecFieldEvent {
    field: '$.tokensPerSec'
    value: number
  }

  export interface ModelOfferPriceInFieldEvent {
    field: '$.priceIn'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ModelOfferPriceOutFieldEvent {
    field: '$.priceOut'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ModelOffer>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ModelOffer.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ModelOffer>): ModelOffer {
    return decodeMessage(buf, ModelOffer.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ModelOffer>): Generator<ModelOfferModelIdFieldEvent | ModelOfferAdapterIdFieldEvent | ModelOfferWarmFieldEvent | ModelOfferTokensPerSecFieldEvent | ModelOfferPriceInFieldEvent | ModelOfferPriceOutFieldEvent> {
    return streamMessage(buf, ModelOffer.codec(), opts)
  }
}

export interface Gpu {
  name: string
  memoryMiB: number
}

export namespace Gpu {
  let _codec: Codec<Gpu>

  export const codec = (): Codec<Gpu> => {
    if (_codec == null) {
      _codec = message<Gpu>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(10)
          w.string(obj.name)
        }

        if ((obj.memoryMiB != null && obj.memoryMiB !== 0)) {
          w.uint32(16)
          w.uint32(obj.memoryMiB)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          name: '',
          memoryMiB: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.name = reader.string()
              break
            }
            case 2: {
              obj.memoryMiB = reader.uint32()
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
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.memoryMiB`,
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

  export interface GpuNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface GpuMemoryMiBFieldEvent {
    field: '$.memoryMiB'
    value: number
  }

  export function encode (obj: Partial<Gpu>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Gpu.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Gpu>): Gpu {
    return decodeMessage(buf, Gpu.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Gpu>): Generator<GpuNameFieldEvent | GpuMemoryMiBFieldEvent> {
    return streamMessage(buf, Gpu.codec(), opts)
  }
}

export interface Hardware {
  cpuModel: string
  cpuCores: number
  memoryMiB: number
  gpus: Gpu[]
}

export namespace Hardware {
  let _codec: Codec<Hardware>

  export const codec = (): Codec<Hardware> => {
    if (_codec == null) {
      _codec = message<Hardware>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.cpuModel != null && obj.cpuModel !== '')) {
          w.uint32(10)
          w.string(obj.cpuModel)
        }

        if ((obj.cpuCores != null && obj.cpuCores !== 0)) {
          w.uint32(16)
          w.uint32(obj.cpuCores)
        }

        if ((obj.memoryMiB != null && obj.memoryMiB !== 0)) {
          w.uint32(24)
          w.uint32(obj.memoryMiB)
        }

        if (obj.gpus != null && obj.gpus.length > 0) {
          for (const value of obj.gpus) {
            w.uint32(34)
            Gpu.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          cpuModel: '',
          cpuCores: 0,
          memoryMiB: 0,
          gpus: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.cpuModel = reader.string()
              break
            }
            case 2: {
              obj.cpuCores = reader.uint32()
              break
            }
            case 3: {
              obj.memoryMiB = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.gpus != null && obj.gpus.length === opts.limits.gpus) {
                throw new MaxLengthError('Decode error - repeated field "gpus" had too many elements')
              }

              obj.gpus.push(Gpu.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.gpus$
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
          gpus: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.cpuModel`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.cpuCores`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.memoryMiB`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.gpus != null && obj.gpus === opts.limits.gpus) {
                throw new MaxLengthError('Streaming decode error - repeated field "gpus" had too many elements')
              }

              for (const evt of Gpu.codec().stream(reader, reader.uint32(), `${prefix}.gpus[]`, {
                limits: opts.limits?.gpus$
              })) {
                yield {
                  ...evt,
                  index: obj.gpus
                }
              }

              obj.gpus++

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

  export interface HardwareCpuModelFieldEvent {
    field: '$.cpuModel'
    value: string
  }

  export interface HardwareCpuCoresFieldEvent {
    field: '$.cpuCores'
    value: number
  }

  export interface HardwareMemoryMiBFieldEvent {
    field: '$.memoryMiB'
    value: number
  }

  export interface HardwareGpusNameFieldEvent {
    field: '$.gpus[].name'
    value: string
    index: number
  }

  export interface HardwareGpusMemoryMiBFieldEvent {
    field: '$.gpus[].memoryMiB'
    value: number
    index: number
  }

  export function encode (obj: Partial<Hardware>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Hardware.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hardware>): Hardware {
    return decodeMessage(buf, Hardware.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hardware>): Generator<HardwareCpuModelFieldEvent | HardwareCpuCoresFieldEvent | HardwareMemoryMiBFieldEvent | HardwareGpusNameFieldEvent | HardwareGpusMemoryMiBFieldEvent> {
    return streamMessage(buf, Hardware.codec(), opts)
  }
}

export interface CapacityRecord {
  account: Uint8Array<ArrayBuffer>
  peerId: string
  state: number
  models: ModelOffer[]
  hardware?: Hardware
  queueDepth: number
  issuedAt: bigint
  expiresAt: bigint
  sequence: bigint
  signature: Uint8Array<ArrayBuffer>
  peerSignature: Uint8Array<ArrayBuffer>
}

export namespace CapacityRecord {
  let _codec: Codec<CapacityRecord>

  export const codec = (): Codec<CapacityRecord> => {
    if (_codec == null) {
      _codec = message<CapacityRecord>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.account != null && obj.account.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.account)
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(18)
          w.string(obj.peerId)
        }

        if ((obj.state != null && obj.state !== 0)) {
          w.uint32(24)
          w.uint32(obj.state)
        }

        if (obj.models != null && obj.models.length > 0) {
          for (const value of obj.models) {
            w.uint32(34)
            ModelOffer.codec().encode(value, w)
          }
        }

        if (obj.hardware != null) {
          w.uint32(42)
          Hardware.codec().encode(obj.hardware, w)
        }

        if ((obj.queueDepth != null && obj.queueDepth !== 0)) {
          w.uint32(48)
          w.uint32(obj.queueDepth)
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0n)) {
          w.uint32(56)
          w.uint64(obj.issuedAt)
        }

        if ((obj.expiresAt != null && obj.expiresAt !== 0n)) {
          w.uint32(64)
          w.uint64(obj.expiresAt)
        }

        if ((obj.sequence != null && obj.sequence !== 0n)) {
          w.uint32(72)
          w.uint64(obj.sequence)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(82)
          w.bytes(obj.signature)
        }

        if ((obj.peerSignature != null && obj.peerSignature.byteLength > 0)) {
          w.uint32(90)
          w.bytes(obj.peerSignature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          account: uint8ArrayAlloc(0),
          peerId: '',
          state: 0,
          models: [],
          queueDepth: 0,
          issuedAt: 0n,
          expiresAt: 0n,
          sequence: 0n,
          signature: uint8ArrayAlloc(0),
          peerSignature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.account = reader.bytes()
              break
            }
            case 2: {
              obj.peerId = reader.string()
              break
            }
            case 3: {
              obj.state = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.models != null && obj.models.length === opts.limits.models) {
                throw new MaxLengthError('Decode error - repeated field "models" had too many elements')
              }

              obj.models.push(ModelOffer.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.models$
              }))
              break
            }
            case 5: {
              obj.hardware = Hardware.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.hardware
              })
              break
            }
            case 6: {
              obj.queueDepth = reader.uint32()
              break
            }
            case 7: {
              obj.issuedAt = reader.uint64()
              break
            }
            case 8: {
              obj.expiresAt = reader.uint64()
              break
            }
            case 9: {
              obj.sequence = reader.uint64()
              break
            }
            case 10: {
              obj.signature = reader.bytes()
              break
            }
            case 11: {
              obj.peerSignature = reader.bytes()
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
          models: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.account`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.state`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.models != null && obj.models === opts.limits.models) {
                throw new MaxLengthError('Streaming decode error - repeated field "models" had too many elements')
              }

              for (const evt of ModelOffer.codec().stream(reader, reader.uint32(), `${prefix}.models[]`, {
                limits: opts.limits?.models$
              })) {
                yield {
                  ...evt,
                  index: obj.models
                }
              }

              obj.models++

              break
            }
            case 5: {
              yield * Hardware.codec().stream(reader, reader.uint32(), `${prefix}.hardware`, {
                limits: opts.limits?.hardware
              })

              break
            }
            case 6: {
              yield {
                field: `${prefix}.queueDepth`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.issuedAt`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.expiresAt`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.sequence`,
                value: reader.uint64()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.peerSignature`,
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

  export interface CapacityRecordAccountFieldEvent {
    field: '$.account'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CapacityRecordPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface CapacityRecordStateFieldEvent {
    field: '$.state'
    value: number
  }

  export interface CapacityRecordModelsModelIdFieldEvent {
    field: '$.models[].modelId'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CapacityRecordModelsAdapterIdFieldEvent {
    field: '$.models[].adapterId'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CapacityRecordModelsWarmFieldEvent {
    field: '$.models[].warm'
    value: boolean
    index: number
  }

  export interface CapacityRecordModelsTokensPerSecFieldEvent {
    field: '$.models[].tokensPerSec'
    value: number
    index: number
  }

  export interface CapacityRecordModelsPriceInFieldEvent {
    field: '$.models[].priceIn'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CapacityRecordModelsPriceOutFieldEvent {
    field: '$.models[].priceOut'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CapacityRecordHardwareCpuModelFieldEvent {
    field: '$.hardware.cpuModel'
    value: string
  }

  export interface CapacityRecordHardwareCpuCoresFieldEvent {
    field: '$.hardware.cpuCores'
    value: number
  }

  export interface CapacityRecordHardwareMemoryMiBFieldEvent {
    field: '$.hardware.memoryMiB'
    value: number
  }

  export interface CapacityRecordHardwareGpusNameFieldEvent {
    field: '$.hardware.gpus[].name'
    value: string
    index: number
  }

  export interface CapacityRecordHardwareGpusMemoryMiBFieldEvent {
    field: '$.hardware.gpus[].memoryMiB'
    value: number
    index: number
  }

  export interface CapacityRecordQueueDepthFieldEvent {
    field: '$.queueDepth'
    value: number
  }

  export interface CapacityRecordIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: bigint
  }

  export interface CapacityRecordExpiresAtFieldEvent {
    field: '$.expiresAt'
    value: bigint
  }

  export interface CapacityRecordSequenceFieldEvent {
    field: '$.sequence'
    value: bigint
  }

  export interface CapacityRecordSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CapacityRecordPeerSignatureFieldEvent {
    field: '$.peerSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<CapacityRecord>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CapacityRecord.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityRecord>): CapacityRecord {
    return decodeMessage(buf, CapacityRecord.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityRecord>): Generator<CapacityRecordAccountFieldEvent | CapacityRecordPeerIdFieldEvent | CapacityRecordStateFieldEvent | CapacityRecordModelsModelIdFieldEvent | CapacityRecordModelsAdapterIdFieldEvent | CapacityRecordModelsWarmFieldEvent | CapacityRecordModelsTokensPerSecFieldEvent | CapacityRecordModelsPriceInFieldEvent | CapacityRecordModelsPriceOutFieldEvent | CapacityRecordHardwareCpuModelFieldEvent | CapacityRecordHardwareCpuCoresFieldEvent | CapacityRecordHardwareMemoryMiBFieldEvent | CapacityRecordHardwareGpusNameFieldEvent | CapacityRecordHardwareGpusMemoryMiBFieldEvent | CapacityRecordQueueDepthFieldEvent | CapacityRecordIssuedAtFieldEvent | CapacityRecordExpiresAtFieldEvent | CapacityRecordSequenceFieldEvent | CapacityRecordSignatureFieldEvent | CapacityRecordPeerSignatureFieldEvent> {
    return streamMessage(buf, CapacityRecord.codec(), opts)
  }
}

export interface CapacityResponse {
  status: CapacityResponse.Status
  record?: CapacityRecord
}

export namespace CapacityResponse {
  export enum Status {
    OK = 'OK',
    UNAVAILABLE = 'UNAVAILABLE',
    BUSY = 'BUSY'
  }

  enum __StatusValues {
    OK = 0,
    UNAVAILABLE = 1,
    BUSY = 2
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<CapacityResponse>

  export const codec = (): Codec<CapacityResponse> => {
    if (_codec == null) {
      _codec = message<CapacityResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          CapacityResponse.Status.codec().encode(obj.status, w)
        }

        if (obj.record != null) {
          w.uint32(18)
          CapacityRecord.codec().encode(obj.record, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.OK
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = CapacityResponse.Status.codec().decode(reader)
              break
            }
            case 2: {
              obj.record = CapacityRecord.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.record
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
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: CapacityResponse.Status.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield * CapacityRecord.codec().stream(reader, reader.uint32(), `${prefix}.record`, {
                limits: opts.limits?.record
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

  export interface CapacityResponseStatusFieldEvent {
    field: '$.status'
    value: CapacityResponse.Status
  }

  export interface CapacityResponseRecordAccountFieldEvent {
    field: '$.record.account'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CapacityResponseRecordPeerIdFieldEvent {
    field: '$.record.peerId'
    value: string
  }

  export interface CapacityResponseRecordStateFieldEvent {
    field: '$.record.state'
    value: number
  }

  export interface CapacityResponseRecordModelsModelIdFieldEvent {
    field: '$.record.models[].modelId'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CapacityResponseRecordModelsAdapterIdFieldEvent {
    field: '$.record.models[].adapterId'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CapacityResponseRecordModelsWarmFieldEvent {
    field: '$.record.models[].warm'
    value: boolean
    index: number
  }

  export interface CapacityResponseRecordModelsTokensPerSecFieldEvent {
    field: '$.record.models[].tokensPerSec'
    value: number
    index: number
  }

  export interface CapacityResponseRecordModelsPriceInFieldEvent {
    field: '$.record.models[].priceIn'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CapacityResponseRecordModelsPriceOutFieldEvent {
    field: '$.record.models[].priceOut'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CapacityResponseRecordHardwareCpuModelFieldEvent {
    field: '$.record.hardware.cpuModel'
    value: string
  }

  export interface CapacityResponseRecordHardwareCpuCoresFieldEvent {
    field: '$.record.hardware.cpuCores'
    value: number
  }

  export interface CapacityResponseRecordHardwareMemoryMiBFieldEvent {
    field: '$.record.hardware.memoryMiB'
    value: number
  }

  export interface CapacityResponseRecordHardwareGpusNameFieldEvent {
    field: '$.record.hardware.gpus[].name'
    value: string
    index: number
  }

  export interface CapacityResponseRecordHardwareGpusMemoryMiBFieldEvent {
    field: '$.record.hardware.gpus[].memoryMiB'
    value: number
    index: number
  }

  export interface CapacityResponseRecordQueueDepthFieldEvent {
    field: '$.record.queueDepth'
    value: number
  }

  export interface CapacityResponseRecordIssuedAtFieldEvent {
    field: '$.record.issuedAt'
    value: bigint
  }

  export interface CapacityResponseRecordExpiresAtFieldEvent {
    field: '$.record.expiresAt'
    value: bigint
  }

  export interface CapacityResponseRecordSequenceFieldEvent {
    field: '$.record.sequence'
    value: bigint
  }

  export interface CapacityResponseRecordSignatureFieldEvent {
    field: '$.record.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CapacityResponseRecordPeerSignatureFieldEvent {
    field: '$.record.peerSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<CapacityResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CapacityResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityResponse>): CapacityResponse {
    return decodeMessage(buf, CapacityResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityResponse>): Generator<CapacityResponseStatusFieldEvent | CapacityResponseRecordAccountFieldEvent | CapacityResponseRecordPeerIdFieldEvent | CapacityResponseRecordStateFieldEvent | CapacityResponseRecordModelsModelIdFieldEvent | CapacityResponseRecordModelsAdapterIdFieldEvent | CapacityResponseRecordModelsWarmFieldEvent | CapacityResponseRecordModelsTokensPerSecFieldEvent | CapacityResponseRecordModelsPriceInFieldEvent | CapacityResponseRecordModelsPriceOutFieldEvent | CapacityResponseRecordHardwareCpuModelFieldEvent | CapacityResponseRecordHardwareCpuCoresFieldEvent | CapacityResponseRecordHardwareMemoryMiBFieldEvent | CapacityResponseRecordHardwareGpusNameFieldEvent | CapacityResponseRecordHardwareGpusMemoryMiBFieldEvent | CapacityResponseRecordQueueDepthFieldEvent | CapacityResponseRecordIssuedAtFieldEvent | CapacityResponseRecordExpiresAtFieldEvent | CapacityResponseRecordSequenceFieldEvent | CapacityResponseRecordSignatureFieldEvent | CapacityResponseRecordPeerSignatureFieldEvent> {
    return streamMessage(buf, CapacityResponse.codec(), opts)
  }
}
