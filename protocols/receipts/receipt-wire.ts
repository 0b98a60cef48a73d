// The wire and stored form of a signed receipt (pb/receipt.proto). Decoding trusts nothing: the message's
// size is bounded before protons reads it, lists while it reads, and every value that does not fit its
// type is RECEIPT_MALFORMED; what it returns still goes through checkReceipt and the signatures.
import { type Hex, hexToBytes } from 'viem'
import { uint256FromBytes, uint256ToBytes } from '../common/bytes.ts'
import { checksumAddress } from '../common/signatures.ts'
import { SignedReceipt as SignedReceiptPb } from './pb/receipt.ts'
import { MAX_RECEIPT_OUTPUT_BYTES, MAX_RECEIPT_SHARES, receiptError, type SignedReceipt } from './receipt.ts'

/** A whole receipt message: the output plus room for the signed fields. */
export const RECEIPT_MAX_BYTES = MAX_RECEIPT_OUTPUT_BYTES + 8 * 1024

const LIMITS = { attribution: MAX_RECEIPT_SHARES }
const UINT32_MAX = 2 ** 32 - 1

const bytes = (hex: Hex): Uint8Array<ArrayBuffer> => Uint8Array.from(hexToBytes(hex))
/** Buffer's native hex encoder: viem's bytesToHex builds the string in JavaScript (the decode hot path). */
const bytesToHex = (b: Uint8Array): Hex =>
  `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}` as Hex

export function encodeReceipt({ receipt: r, nodeSignature, output }: SignedReceipt): Uint8Array {
  const a = r.authorization
  return SignedReceiptPb.encode({
    authorization: {
      client: bytes(a.client),
      node: bytes(a.node),
      model: uint256ToBytes(a.model),
      adapter: uint256ToBytes(a.adapter),
      maxFee: uint256ToBytes(a.maxFee),
      requestId: bytes(a.requestId),
      deadline: a.deadline,
      signature: bytes(r.clientSignature),
    },
    fee: uint256ToBytes(r.fee),
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    outputHash: bytes(r.outputHash),
    attribution: r.attribution.map((s) => ({
      datanetId: uint256ToBytes(s.datanetId),
      version: s.version,
      contributionIndex: s.contributionIndex,
      weightPpm: s.weightPpm,
    })),
    attributionParams: r.attributionParams,
    servedAt: r.servedAt,
    nodeSignature: bytes(nodeSignature),
    output,
  })
}

const malformed = (why: string) => receiptError('RECEIPT_MALFORMED', `receipt: ${why}`)

export function decodeReceipt(data: Uint8Array): SignedReceipt {
  if (data.length > RECEIPT_MAX_BYTES) throw malformed(`${data.length} bytes, over ${RECEIPT_MAX_BYTES}`)
  let pb: SignedReceiptPb
  try {
    pb = SignedReceiptPb.decode(data, { limits: LIMITS })
  } catch (err) {
    throw malformed(`does not decode: ${(err as Error).message}`)
  }
  const a = pb.authorization
  if (a === undefined) throw malformed('no authorization')
  if (a.client.length !== 20 || a.node.length !== 20) throw malformed('client and node are 20 bytes')
  if (a.requestId.length !== 32 || pb.outputHash.length !== 32)
    throw malformed('requestId and outputHash are 32 bytes')
  if (a.signature.length !== 65 || pb.nodeSignature.length !== 65) throw malformed('signatures are 65 bytes')
  const uint = (field: string, value: Uint8Array): bigint => {
    const v = uint256FromBytes(value)
    if (v === undefined) throw malformed(`${field} is not a minimal uint256`)
    return v
  }
  if (pb.inputTokens > UINT32_MAX || pb.outputTokens > UINT32_MAX) throw malformed('token counts are uint32')
  return {
    receipt: {
      authorization: {
        client: checksumAddress(a.client),
        node: checksumAddress(a.node),
        model: uint('model', a.model),
        adapter: uint('adapter', a.adapter),
        maxFee: uint('maxFee', a.maxFee),
        requestId: bytesToHex(a.requestId),
        deadline: a.deadline,
      },
      clientSignature: bytesToHex(a.signature),
      fee: uint('fee', pb.fee),
      inputTokens: pb.inputTokens,
      outputTokens: pb.outputTokens,
      outputHash: bytesToHex(pb.outputHash),
      attribution: pb.attribution.map((s) => ({
        datanetId: uint('datanetId', s.datanetId),
        version: s.version,
        contributionIndex: s.contributionIndex,
        weightPpm: s.weightPpm,
      })),
      attributionParams: pb.attributionParams,
      servedAt: pb.servedAt,
    },
    nodeSignature: bytesToHex(pb.nodeSignature),
    output: pb.output,
  }
}
