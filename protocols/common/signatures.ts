// Signature recovery on the hot path (gossip validation): the native secp256k1 binding, loaded explicitly
// so that a missing binary is a loud failure at start, never a silent 30x slower JavaScript fallback.
// viem stays the reference (and is used to sign); tests check this module against it for equality.
import { createRequire } from 'node:module'
import type secp256k1Api from 'secp256k1'
import {
  type Address,
  getAddress,
  type HashTypedDataParameters,
  hashTypedData,
  type Hex,
  hexToBytes,
  keccak256,
  type TypedData,
} from 'viem'

const require = createRequire(import.meta.url)
// `secp256k1/bindings.js` is the native addon alone (the package's index falls back to elliptic.js).
const secp256k1: typeof secp256k1Api = require('secp256k1/bindings.js')

/** Recovers the address that signed a 32-byte digest with a 65-byte (r, s, v) signature; undefined
 * when the signature does not parse or recover (a malformed signature is the sender's fault, not ours). */
export function recoverDigestSigner(digest: Uint8Array, signature: Uint8Array): Address | undefined {
  if (signature.length !== 65 || digest.length !== 32) return undefined
  const v = signature[64]!
  const recid = v >= 27 ? v - 27 : v
  if (recid !== 0 && recid !== 1) return undefined
  let pub: Uint8Array
  try {
    pub = secp256k1.ecdsaRecover(signature.subarray(0, 64), recid, digest, false)
  } catch {
    return undefined
  }
  const hash = keccak256(pub.subarray(1))
  return getAddress(`0x${hash.slice(26)}`)
}

/** EIP-712 recovery: hashes the typed data and recovers its signer with the native library. */
export function recoverTypedDataSigner<const T extends TypedData | Record<string, unknown>, P extends string>(
  params: HashTypedDataParameters<T, P>,
  signature: Hex | Uint8Array,
): Address | undefined {
  const digest = hexToBytes(hashTypedData(params as HashTypedDataParameters))
  const sig = typeof signature === 'string' ? hexToBytes(signature) : signature
  return recoverDigestSigner(digest, sig)
}
