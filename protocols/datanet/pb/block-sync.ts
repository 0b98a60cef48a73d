import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface BlockSyncRequest {
  root: Uint8Array<ArrayBuffer>
  cids: Uint8Array<ArrayBuffer>[]
}

export namespace BlockSyncRequest {
  let _codec: Codec<BlockSyncRequest>

  export const codec = (): Codec<BlockSyncRequest> => {
    if (_codec == null) {
      _codec = message<BlockSyncRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.root != null && obj.root.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.root)
        }

        if (obj.cids != null && obj.cids.length > 0) {
          for (const value of obj.cids) {
            w.uint32(18)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          root: uint8ArrayAlloc(0),
          cids: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.root = reader.bytes()
              break
            }
            case 2: {
              if (opts.limits?.cids != null && obj.cids.length === opts.limits.cids) {
                throw new MaxLengthError('Decode error - repeated field "cids" had too many elements')
              }

              obj.cids.push(reader.bytes())
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
          cids: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.root`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              if (opts.limits?.cids != null && obj.cids === opts.limits.cids) {
                throw new MaxLengthError('Streaming decode error - repeated field "cids" had too many elements')
              }

              yield {
                field: `${prefix}.cids[]`,
                index: obj.cids,
                value: reader.bytes()
              }

              obj.cids++

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

  export interface BlockSyncRequestRootFieldEvent {
    field: '$.root'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BlockSyncRequestCidsFieldEvent {
    field: '$.cids[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<BlockSyncRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BlockSyncRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlockSyncRequest>): BlockSyncRequest {
    return decodeMessage(buf, BlockSyncRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlockSyncRequest>): Generator<BlockSyncRequestRootFieldEvent | BlockSyncRequestCidsFieldEvent> {
    return streamMessage(buf, BlockSyncRequest.codec(), opts)
  }
}

export interface BlockSyncResponse {
  status: BlockSyncResponse.Status
  cid: Uint8Array<ArrayBuffer>
  data: Uint8Array<ArrayBuffer>
  message: string
}

export namespace BlockSyncResponse {
  export enum Status {
    BLOCK = 'BLOCK',
    OK = 'OK',
    NOT_FOUND = 'NOT_FOUND',
    ERROR = 'ERROR',
    BUSY = 'BUSY',
    INVALID_REQUEST = 'INVALID_REQUEST',
    NOT_UNDER_ROOT = 'NOT_UNDER_ROOT',
    OVER_BUDGET = 'OVER_BUDGET',
    TIMEOUT = 'TIMEOUT'
  }

  enum __StatusValues {
    BLOCK = 0,
    OK = 1,
    NOT_FOUND = 2,
    ERROR = 3,
    BUSY = 4,
    INVALID_REQUEST = 5,
    NOT_UNDER_ROOT = 6,
    OVER_BUDGET = 7,
    TIMEOUT = 8
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<BlockSyncResponse>

  export const codec = (): Codec<BlockSyncResponse> => {
    if (_codec == null) {
      _codec = message<BlockSyncResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          BlockSyncResponse.Status.codec().encode(obj.status, w)
        }

        if ((obj.cid != null && obj.cid.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.cid)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.data)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(34)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.BLOCK,
          cid: uint8ArrayAlloc(0),
          data: uint8ArrayAlloc(0),
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = BlockSyncResponse.Status.codec().decode(reader)
              break
            }
            case 2: {
              obj.cid = reader.bytes()
              break
            }
            case 3: {
              obj.data = reader.bytes()
              break
            }
            case 4: {
              obj.message = reader.string()
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
                value: BlockSyncResponse.Status.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.cid`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.message`,
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

  export interface BlockSyncResponseStatusFieldEvent {
    field: '$.status'
    value: BlockSyncResponse.Status
  }

  export interface BlockSyncResponseCidFieldEvent {
    field: '$.cid'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BlockSyncResponseDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BlockSyncResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<BlockSyncResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BlockSyncResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlockSyncResponse>): BlockSyncResponse {
    return decodeMessage(buf, BlockSyncResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlockSyncResponse>): Generator<BlockSyncResponseStatusFieldEvent | BlockSyncResponseCidFieldEvent | BlockSyncResponseDataFieldEvent | BlockSyncResponseMessageFieldEvent> {
    return streamMessage(buf, BlockSyncResponse.codec(), opts)
  }
}
