import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface NodeStatus {
  peerId: string
  account: Uint8Array<ArrayBuffer>
  version: string
  apiUrl: string
  timestamp: bigint
  signature: Uint8Array<ArrayBuffer>
  peerSignature: Uint8Array<ArrayBuffer>
  chainId: bigint
  ledger: Uint8Array<ArrayBuffer>
}

export namespace NodeStatus {
  let _codec: Codec<NodeStatus>

  export const codec = (): Codec<NodeStatus> => {
    if (_codec == null) {
      _codec = message<NodeStatus>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(10)
          w.string(obj.peerId)
        }

        if ((obj.account != null && obj.account.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.account)
        }

        if ((obj.version != null && obj.version !== '')) {
          w.uint32(26)
          w.string(obj.version)
        }

        if ((obj.apiUrl != null && obj.apiUrl !== '')) {
          w.uint32(34)
          w.string(obj.apiUrl)
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(40)
          w.uint64(obj.timestamp)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.signature)
        }

        if ((obj.peerSignature != null && obj.peerSignature.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.peerSignature)
        }

        if ((obj.chainId != null && obj.chainId !== 0n)) {
          w.uint32(64)
          w.uint64(obj.chainId)
        }

        if ((obj.ledger != null && obj.ledger.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.ledger)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peerId: '',
          account: uint8ArrayAlloc(0),
          version: '',
          apiUrl: '',
          timestamp: 0n,
          signature: uint8ArrayAlloc(0),
          peerSignature: uint8ArrayAlloc(0),
          chainId: 0n,
          ledger: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peerId = reader.string()
              break
            }
            case 2: {
              obj.account = reader.bytes()
              break
            }
            case 3: {
              obj.version = reader.string()
              break
            }
            case 4: {
              obj.apiUrl = reader.string()
              break
            }
            case 5: {
              obj.timestamp = reader.uint64()
              break
            }
            case 6: {
              obj.signature = reader.bytes()
              break
            }
            case 7: {
              obj.peerSignature = reader.bytes()
              break
            }
            case 8: {
              obj.chainId = reader.uint64()
              break
            }
            case 9: {
              obj.ledger = reader.bytes()
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
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.account`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.version`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.apiUrl`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.timestamp`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.peerSignature`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.chainId`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.ledger`,
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

  export interface NodeStatusPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface NodeStatusAccountFieldEvent {
    field: '$.account'
    value: Uint8Array<ArrayBuffer>
  }

  export interface NodeStatusVersionFieldEvent {
    field: '$.version'
    value: string
  }

  export interface NodeStatusApiUrlFieldEvent {
    field: '$.apiUrl'
    value: string
  }

  export interface NodeStatusTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export interface NodeStatusSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface NodeStatusPeerSignatureFieldEvent {
    field: '$.peerSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface NodeStatusChainIdFieldEvent {
    field: '$.chainId'
    value: bigint
  }

  export interface NodeStatusLedgerFieldEvent {
    field: '$.ledger'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<NodeStatus>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, NodeStatus.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NodeStatus>): NodeStatus {
    return decodeMessage(buf, NodeStatus.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NodeStatus>): Generator<NodeStatusPeerIdFieldEvent | NodeStatusAccountFieldEvent | NodeStatusVersionFieldEvent | NodeStatusApiUrlFieldEvent | NodeStatusTimestampFieldEvent | NodeStatusSignatureFieldEvent | NodeStatusPeerSignatureFieldEvent | NodeStatusChainIdFieldEvent | NodeStatusLedgerFieldEvent> {
    return streamMessage(buf, NodeStatus.codec(), opts)
  }
}
