import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface SignedContribution {
  datanetId: string
  contentCid: string
  bytes: bigint
  license: string
  contributor: Uint8Array<ArrayBuffer>
  createdAt: bigint
  name: string
  signature: Uint8Array<ArrayBuffer>
}

export namespace SignedContribution {
  let _codec: Codec<SignedContribution>

  export const codec = (): Codec<SignedContribution> => {
    if (_codec == null) {
      _codec = message<SignedContribution>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.datanetId != null && obj.datanetId !== '')) {
          w.uint32(10)
          w.string(obj.datanetId)
        }

        if ((obj.contentCid != null && obj.contentCid !== '')) {
          w.uint32(18)
          w.string(obj.contentCid)
        }

        if ((obj.bytes != null && obj.bytes !== 0n)) {
          w.uint32(24)
          w.uint64(obj.bytes)
        }

        if ((obj.license != null && obj.license !== '')) {
          w.uint32(34)
          w.string(obj.license)
        }

        if ((obj.contributor != null && obj.contributor.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.contributor)
        }

        if ((obj.createdAt != null && obj.createdAt !== 0n)) {
          w.uint32(48)
          w.uint64(obj.createdAt)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(58)
          w.string(obj.name)
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
          datanetId: '',
          contentCid: '',
          bytes: 0n,
          license: '',
          contributor: uint8ArrayAlloc(0),
          createdAt: 0n,
          name: '',
          signature: uint8ArrayAlloc(0)
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
              obj.contentCid = reader.string()
              break
            }
            case 3: {
              obj.bytes = reader.uint64()
              break
            }
            case 4: {
              obj.license = reader.string()
              break
            }
            case 5: {
              obj.contributor = reader.bytes()
              break
            }
            case 6: {
              obj.createdAt = reader.uint64()
              break
            }
            case 7: {
              obj.name = reader.string()
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
                field: `${prefix}.datanetId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.contentCid`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.bytes`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.license`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.contributor`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.createdAt`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
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

  export interface SignedContributionDatanetIdFieldEvent {
    field: '$.datanetId'
    value: string
  }

  export interface SignedContributionContentCidFieldEvent {
    field: '$.contentCid'
    value: string
  }

  export interface SignedContributionBytesFieldEvent {
    field: '$.bytes'
    value: bigint
  }

  export interface SignedContributionLicenseFieldEvent {
    field: '$.license'
    value: string
  }

  export interface SignedContributionContributorFieldEvent {
    field: '$.contributor'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedContributionCreatedAtFieldEvent {
    field: '$.createdAt'
    value: bigint
  }

  export interface SignedContributionNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface SignedContributionSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SignedContribution>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedContribution.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedContribution>): SignedContribution {
    return decodeMessage(buf, SignedContribution.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedContribution>): Generator<SignedContributionDatanetIdFieldEvent | SignedContributionContentCidFieldEvent | SignedContributionBytesFieldEvent | SignedContributionLicenseFieldEvent | SignedContributionContributorFieldEvent | SignedContributionCreatedAtFieldEvent | SignedContributionNameFieldEvent | SignedContributionSignatureFieldEvent> {
    return streamMessage(buf, SignedContribution.codec(), opts)
  }
}
