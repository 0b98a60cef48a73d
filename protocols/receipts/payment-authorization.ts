// PaymentAuthorization: the client's EIP-712 permission for one node to charge at most `maxFee` for one
// request (DESIGN.md, "Payments, ledger and checkpoints"; issue 12 adds `adapter`, included here from the
// start so the type never changes under signed data). The infer protocol carries it with every request;
// the serving node checks it before any work, and the receipts issue turns it into a receipt. A flat
// struct, so the hot path hashes it with the precomputed hasher and recovers with the native binding.
import { type Address, bytesToHex, type Hex, hexToBytes, type TypedDataDomain } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { OpenLedgerError } from '../common/errors.ts'
import { recoverDigestSigner } from '../common/signatures.ts'
import { createTypedDataHasher, type TypedDataHasher } from '../common/typed-data-hasher.ts'

export const paymentAuthorizationTypes = {
  PaymentAuthorization: [
    { name: 'client', type: 'address' },
    { name: 'node', type: 'address' },
    { name: 'model', type: 'uint256' },
    { name: 'adapter', type: 'uint256' },
    { name: 'maxFee', type: 'uint256' },
    { name: 'requestId', type: 'bytes32' },
    { name: 'deadline', type: 'uint64' },
  ],
} as const

export interface PaymentAuthorization {
  client: Address
  /** the serving node's account: no other node can charge under it */
  node: Address
  model: bigint
  /** 0n: the base model alone */
  adapter: bigint
  /** wei of OPEN */
  maxFee: bigint
  /** unique per client; validators keep seen ids until the deadline passes */
  requestId: Hex
  /** unix seconds */
  deadline: bigint
}

export interface SignedPaymentAuthorization {
  authorization: PaymentAuthorization
  /** 65 bytes r || s || v by `client` */
  signature: Hex
}

export type PaymentErrorCode =
  | 'PAYMENT_MALFORMED'
  | 'PAYMENT_WRONG_NODE'
  | 'PAYMENT_WRONG_MODEL'
  | 'PAYMENT_EXPIRED'
  | 'PAYMENT_DEADLINE_TOO_FAR'
  | 'PAYMENT_BAD_SIGNATURE'
  | 'PAYMENT_REPLAYED'

export class PaymentError extends OpenLedgerError<{ code: PaymentErrorCode }> {}

const paymentError = (code: PaymentErrorCode, message: string) => new PaymentError({ code }, message)

/** How far ahead a deadline may be: an authorization is for one request, not a standing permission. */
export const MAX_PAYMENT_DEADLINE_S = 60 * 60

const UINT64_MAX = (1n << 64n) - 1n
const UINT256_MAX = (1n << 256n) - 1n
const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const BYTES32 = /^0x[0-9a-fA-F]{64}$/

const hashers = new Map<string, TypedDataHasher>()

/** One precomputed hasher per domain (a node has one domain; tests a few). */
export function paymentHasher(domain: TypedDataDomain): TypedDataHasher {
  const key = `${domain.chainId}:${domain.verifyingContract}`
  let hasher = hashers.get(key)
  if (hasher === undefined) {
    hasher = createTypedDataHasher(domain, paymentAuthorizationTypes, 'PaymentAuthorization')
    if (hashers.size >= 16) hashers.clear()
    hashers.set(key, hasher)
  }
  return hasher
}

/** Shape and ranges; throws PAYMENT_MALFORMED. */
export function checkPaymentAuthorization(a: PaymentAuthorization): void {
  const bad = (field: string, why: string) => {
    throw paymentError('PAYMENT_MALFORMED', `payment authorization: ${field} ${why}`)
  }
  if (typeof a !== 'object' || a === null) bad('authorization', 'must be an object')
  if (typeof a.client !== 'string' || !ADDRESS.test(a.client)) bad('client', 'must be an address')
  if (typeof a.node !== 'string' || !ADDRESS.test(a.node)) bad('node', 'must be an address')
  for (const field of ['model', 'adapter', 'maxFee'] as const) {
    const v = a[field]
    if (typeof v !== 'bigint' || v < 0n || v > UINT256_MAX) bad(field, 'must be a uint256')
  }
  if (typeof a.requestId !== 'string' || !BYTES32.test(a.requestId)) bad('requestId', 'must be 32 bytes')
  if (typeof a.deadline !== 'bigint' || a.deadline < 0n || a.deadline > UINT64_MAX)
    bad('deadline', 'must be a uint64')
}

export async function signPaymentAuthorization(
  authorization: PaymentAuthorization,
  account: LocalAccount,
  domain: TypedDataDomain,
): Promise<SignedPaymentAuthorization> {
  checkPaymentAuthorization(authorization)
  if (authorization.client.toLowerCase() !== account.address.toLowerCase())
    throw paymentError('PAYMENT_MALFORMED', 'the client of an authorization must be the signing account')
  const signature = await account.signTypedData({
    domain,
    types: paymentAuthorizationTypes,
    primaryType: 'PaymentAuthorization',
    message: authorization,
  })
  return { authorization, signature }
}

/** A fresh random requestId. */
export function newRequestId(): Hex {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)))
}

export interface VerifyPaymentExpect {
  domain: TypedDataDomain
  /** the serving node's account */
  node: Address
  model: bigint
  adapter: bigint
  /** unix seconds (default: the clock) */
  nowS?: number
}

/**
 * Checks an authorization for a request this node is asked to serve, cheapest first and the signature
 * last: shape, node, model and adapter, deadline (not passed, not beyond MAX_PAYMENT_DEADLINE_S), then
 * the client's signature. Returns nothing; throws a PaymentError.
 */
export function verifyPaymentAuthorization(
  signed: SignedPaymentAuthorization,
  expect: VerifyPaymentExpect,
): void {
  const a = signed.authorization
  checkPaymentAuthorization(a)
  if (a.node.toLowerCase() !== expect.node.toLowerCase())
    throw paymentError('PAYMENT_WRONG_NODE', `the authorization is for node ${a.node}, not ${expect.node}`)
  if (a.model !== expect.model || a.adapter !== expect.adapter)
    throw paymentError(
      'PAYMENT_WRONG_MODEL',
      `the authorization is for model ${a.model} adapter ${a.adapter}, not ${expect.model} adapter ${expect.adapter}`,
    )
  const now = BigInt(Math.floor(expect.nowS ?? Date.now() / 1000))
  if (a.deadline <= now) throw paymentError('PAYMENT_EXPIRED', `the authorization expired at ${a.deadline}`)
  if (a.deadline > now + BigInt(MAX_PAYMENT_DEADLINE_S))
    throw paymentError(
      'PAYMENT_DEADLINE_TOO_FAR',
      `the deadline is more than ${MAX_PAYMENT_DEADLINE_S} s ahead`,
    )
  if (typeof signed.signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signed.signature))
    throw paymentError('PAYMENT_BAD_SIGNATURE', 'the signature must be 65 bytes')
  const signer = recoverDigestSigner(
    paymentHasher(expect.domain)(a as unknown as Record<string, unknown>),
    hexToBytes(signed.signature),
  )
  if (signer === undefined || signer.toLowerCase() !== a.client.toLowerCase())
    throw paymentError('PAYMENT_BAD_SIGNATURE', 'the authorization is not signed by its client')
}
