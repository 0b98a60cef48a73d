// Receipt: the serving node's EIP-712 statement that it answered one authorized request, for this fee,
// with this attribution (DESIGN.md, "Payments, ledger and checkpoints"; issue 12). It embeds the client's
// PaymentAuthorization and its signature, so one receipt proves both sides: the client allowed at most
// maxFee to this node, and the node claims `fee` for tokens it produced. Validators check it without
// trusting anyone: the fee against the registry's prices and maxFee, both signatures, the output's hash,
// and (recomputed from the registered Datanet versions) the attribution.
//
// The fee is what the registered prices (wei per 1,000 tokens, base model plus adapter) give for the
// tokens, rounded down, and never above maxFee: a node may charge less, never more.
import { type Address, bytesToHex, type Hex, type TypedDataDomain } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { OpenLedgerError } from '../common/errors.ts'
import { recoverDigestSignerBytes } from '../common/signatures.ts'
import {
  createStructHasher,
  keccak256Bytes,
  type TypedDataHasher,
  typedDataDigest,
} from '../common/typed-data-hasher.ts'
import {
  checkPaymentAuthorization,
  type PaymentAuthorization,
  paymentAuthorizationTypes,
} from './payment-authorization.ts'

export const receiptTypes = {
  Receipt: [
    { name: 'authorization', type: 'PaymentAuthorization' },
    { name: 'clientSignature', type: 'bytes' },
    { name: 'fee', type: 'uint256' },
    { name: 'inputTokens', type: 'uint32' },
    { name: 'outputTokens', type: 'uint32' },
    { name: 'outputHash', type: 'bytes32' },
    { name: 'attribution', type: 'AttributionShare[]' },
    { name: 'attributionParams', type: 'string' },
    { name: 'servedAt', type: 'uint64' },
  ],
  AttributionShare: [
    { name: 'datanetId', type: 'uint256' },
    { name: 'version', type: 'uint64' },
    { name: 'contributionIndex', type: 'uint64' },
    { name: 'weightPpm', type: 'uint32' },
  ],
  PaymentAuthorization: paymentAuthorizationTypes.PaymentAuthorization,
} as const

/** One contribution's share of an answer, in parts per million of the answer's weight. */
export interface AttributionShare {
  datanetId: bigint
  version: bigint
  /** the contribution's position in that Datanet version's accepted contributions */
  contributionIndex: bigint
  weightPpm: number
}

export interface Receipt {
  authorization: PaymentAuthorization
  /** the client's 65-byte signature of `authorization` */
  clientSignature: Hex
  /** wei of OPEN charged */
  fee: bigint
  inputTokens: number
  outputTokens: number
  /** keccak256 of the answer's UTF-8 text */
  outputHash: Hex
  /** sorted by (datanetId, version, contributionIndex), each once; weights sum to at most 1,000,000 */
  attribution: AttributionShare[]
  /** the attribution parameter set (e.g. ol-attr-2): validators recompute with it */
  attributionParams: string
  /** unix seconds */
  servedAt: bigint
}

export interface SignedReceipt {
  receipt: Receipt
  /** 65 bytes by receipt.authorization.node */
  nodeSignature: Hex
  /** the answer's text (validators recompute the attribution from it) */
  output: string
}

export type ReceiptErrorCode =
  | 'RECEIPT_MALFORMED'
  | 'RECEIPT_FEE_ABOVE_MAX'
  | 'RECEIPT_FEE_ABOVE_PRICE'
  | 'RECEIPT_OUTPUT_MISMATCH'
  | 'RECEIPT_SERVED_AFTER_DEADLINE'
  | 'RECEIPT_BAD_CLIENT_SIGNATURE'
  | 'RECEIPT_BAD_NODE_SIGNATURE'

export class ReceiptError extends OpenLedgerError<{ code: ReceiptErrorCode }> {}

export const receiptError = (code: ReceiptErrorCode, message: string) => new ReceiptError({ code }, message)

/** Bounds that keep a receipt small: the attribution's entries, its parameter id, the output's bytes. */
export const MAX_RECEIPT_SHARES = 32
export const MAX_PARAMS_ID_LENGTH = 32
export const MAX_RECEIPT_OUTPUT_BYTES = 64 * 1024
export const PPM = 1_000_000

const UINT32_MAX = 2 ** 32 - 1
const UINT64_MAX = (1n << 64n) - 1n
const UINT256_MAX = (1n << 256n) - 1n
const BYTES32 = /^0x[0-9a-fA-F]{64}$/
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/
const PARAMS_ID = /^[a-z0-9][a-z0-9._-]*$/

/** Registered prices in wei per 1,000 tokens (the base model's plus the adapter's). */
export interface Prices {
  priceIn: bigint
  priceOut: bigint
}

/** The most a node may charge for these tokens: the prices' fee rounded down. */
export function priceFee(prices: Prices, inputTokens: number, outputTokens: number): bigint {
  return (prices.priceIn * BigInt(inputTokens) + prices.priceOut * BigInt(outputTokens)) / 1000n
}

/** What the serving node charges: the price fee, capped by what the client allowed. */
export function feeFor(prices: Prices, inputTokens: number, outputTokens: number, maxFee: bigint): bigint {
  const fee = priceFee(prices, inputTokens, outputTokens)
  return fee < maxFee ? fee : maxFee
}

/** keccak256 of the output's UTF-8, as the receipt's outputHash. */
export function outputHashOf(output: string): Hex {
  return bytesToHex(keccak256Bytes(Buffer.from(output, 'utf8')))
}

/**
 * Shape and the rules that need no chain state and no signature: field ranges, the attribution's order and
 * weights, fee ≤ maxFee, served before the deadline, the output's size and hash. Throws a ReceiptError.
 */
export function checkReceipt(signed: SignedReceipt): void {
  const r = signed.receipt
  const bad = (why: string): never => {
    throw receiptError('RECEIPT_MALFORMED', `receipt: ${why}`)
  }
  try {
    checkPaymentAuthorization(r.authorization)
  } catch (err) {
    bad((err as Error).message)
  }
  if (!SIGNATURE.test(r.clientSignature)) bad('clientSignature must be 65 bytes')
  if (!SIGNATURE.test(signed.nodeSignature)) bad('nodeSignature must be 65 bytes')
  if (typeof r.fee !== 'bigint' || r.fee < 0n || r.fee > UINT256_MAX) bad('fee must be a uint256')
  for (const field of ['inputTokens', 'outputTokens'] as const)
    if (!Number.isInteger(r[field]) || r[field] < 0 || r[field] > UINT32_MAX) bad(`${field} must be a uint32`)
  if (!BYTES32.test(r.outputHash)) bad('outputHash must be 32 bytes')
  if (typeof r.servedAt !== 'bigint' || r.servedAt < 0n || r.servedAt > UINT64_MAX)
    bad('servedAt must be a uint64')
  if (r.attributionParams.length > MAX_PARAMS_ID_LENGTH || !PARAMS_ID.test(r.attributionParams))
    bad('attributionParams must be a parameter-set id')
  if (r.attribution.length > MAX_RECEIPT_SHARES) bad(`more than ${MAX_RECEIPT_SHARES} attribution shares`)
  let total = 0
  let previous: AttributionShare | undefined
  for (const share of r.attribution) {
    if (share.datanetId <= 0n || share.datanetId > UINT256_MAX) bad('a share names no Datanet')
    if (share.version < 0n || share.version > UINT64_MAX || share.contributionIndex < 0n)
      bad('a share has a version or index out of range')
    if (share.contributionIndex > UINT64_MAX) bad('a share has an index out of range')
    if (!Number.isInteger(share.weightPpm) || share.weightPpm <= 0 || share.weightPpm > PPM)
      bad('a share weight must be 1..1,000,000 ppm')
    if (previous !== undefined && compareShares(previous, share) >= 0)
      bad('attribution shares must be sorted by (datanetId, version, contributionIndex), each once')
    total += share.weightPpm
    previous = share
  }
  if (total > PPM) bad('attribution weights sum above 1,000,000 ppm')
  if (Buffer.byteLength(signed.output, 'utf8') > MAX_RECEIPT_OUTPUT_BYTES)
    bad(`the output is over ${MAX_RECEIPT_OUTPUT_BYTES} bytes`)
  if (r.fee > r.authorization.maxFee)
    throw receiptError(
      'RECEIPT_FEE_ABOVE_MAX',
      `fee ${r.fee} is above the authorized ${r.authorization.maxFee}`,
    )
  if (r.servedAt > r.authorization.deadline)
    throw receiptError('RECEIPT_SERVED_AFTER_DEADLINE', 'served after the authorization expired')
  if (outputHashOf(signed.output).toLowerCase() !== r.outputHash.toLowerCase())
    throw receiptError('RECEIPT_OUTPUT_MISMATCH', 'the output does not hash to outputHash')
}

function compareShares(a: AttributionShare, b: AttributionShare): number {
  if (a.datanetId !== b.datanetId) return a.datanetId < b.datanetId ? -1 : 1
  if (a.version !== b.version) return a.version < b.version ? -1 : 1
  if (a.contributionIndex !== b.contributionIndex) return a.contributionIndex < b.contributionIndex ? -1 : 1
  return 0
}

/** Shares in the canonical order a receipt requires. */
export function sortShares(shares: AttributionShare[]): AttributionShare[] {
  return [...shares].sort(compareShares)
}

const paymentStruct = createStructHasher(paymentAuthorizationTypes, 'PaymentAuthorization')
const receiptStruct = createStructHasher(receiptTypes, 'Receipt')
const digests = new Map<string, (structHash: Uint8Array) => Uint8Array>()

/** The EIP-712 digest under one domain, cached per domain (a node has one; tests a few). */
function digestFor(domain: TypedDataDomain): (structHash: Uint8Array) => Uint8Array {
  const key = `${domain.chainId}:${domain.verifyingContract}`
  let digest = digests.get(key)
  if (digest === undefined) {
    digest = typedDataDigest(domain)
    if (digests.size >= 16) digests.clear()
    digests.set(key, digest)
  }
  return digest
}

/** The receipt's EIP-712 digest (what the node signs). */
export function receiptHasher(domain: TypedDataDomain): TypedDataHasher {
  const digest = digestFor(domain)
  return (message) => digest(receiptStruct(message))
}

/** The serving node signs (viem, the reference encoder) after it served the request. */
export async function signReceipt(
  receipt: Receipt,
  output: string,
  account: LocalAccount,
  domain: TypedDataDomain,
): Promise<SignedReceipt> {
  if (receipt.authorization.node.toLowerCase() !== account.address.toLowerCase())
    throw receiptError('RECEIPT_MALFORMED', 'only the authorization’s node may sign its receipt')
  const nodeSignature = await account.signTypedData({
    domain,
    types: receiptTypes,
    primaryType: 'Receipt',
    message: receipt,
  })
  return { receipt, nodeSignature, output }
}

/** 0x-hex (checked by checkReceipt) as bytes, with Buffer's decoder (viem's is slower on the hot path). */
const hexBytes = (hex: Hex): Buffer => Buffer.from(hex.slice(2), 'hex')

const sameAddress = (bytes: Uint8Array | undefined, address: Address): boolean =>
  bytes !== undefined && hexBytes(address).equals(bytes)

/**
 * Both signatures, with the precomputed hashers and the native recovery: the client's over its
 * authorization, the node's over the receipt. Throws RECEIPT_BAD_CLIENT_SIGNATURE or ..._NODE_....
 */
export function verifyReceiptSignatures(signed: SignedReceipt, domain: TypedDataDomain): void {
  const r = signed.receipt
  const digest = digestFor(domain)
  // The authorization is hashed once: its struct hash signs for the client and fills the receipt's field.
  const authorization = paymentStruct(r.authorization as unknown as Record<string, unknown>)
  const client = recoverDigestSignerBytes(digest(authorization), hexBytes(r.clientSignature))
  if (!sameAddress(client, r.authorization.client))
    throw receiptError('RECEIPT_BAD_CLIENT_SIGNATURE', 'the authorization is not signed by its client')
  const node = recoverDigestSignerBytes(
    digest(receiptStruct({ ...r, authorization } as unknown as Record<string, unknown>)),
    hexBytes(signed.nodeSignature),
  )
  if (!sameAddress(node, r.authorization.node))
    throw receiptError('RECEIPT_BAD_NODE_SIGNATURE', 'the receipt is not signed by its serving node')
}
