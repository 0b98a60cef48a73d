// Signature recovery on the hot path (gossip validation): the native secp256k1 binding, loaded explicitly
// so that a missing binary is a loud failure at start, never a silent 30x slower JavaScript fallback.
// Hashing (the EIP-712 digest and the public key → address step) runs on hash-wasm's keccak through
// typed-data-hasher.ts. viem stays the reference (and is used to sign); tests check this module against it
// for equality.
import { createRequire } from 'node:module'
import type secp256k1Api from 'secp256k1'
import {
  type Address,
  type HashTypedDataParameters,
  type Hex,
  hashTypedData,
  hexToBytes,
  type TypedData,
} from 'viem'
import { keccak256Bytes, type TypedDataHasher } from './typed-data-hasher.ts'

const require = createRequire(import.meta.url)
// `secp256k1/bindings.js` is the native addon alone (the package's index falls back to elliptic.js).
const secp256k1: typeof secp256k1Api = require('secp256k1/bindings.js')

// One output buffer for the uncompressed public key: the binding writes into it instead of allocating.
const publicKey = new Uint8Array(65)

/** Half the secp256k1 group order, big-endian: a canonical signature's s is at most this (EIP-2). */
const HALF_ORDER = Buffer.from('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', 'hex')

/**
 * Recovers the 20-byte address that signed a 32-byte digest with a 65-byte (r, s, v) signature;
 * undefined when the signature does not parse or recover (a malformed signature is the sender's fault).
 *
 * Only the canonical form is accepted, the one OpenZeppelin's ECDSA (our contracts) accepts and viem
 * writes: s in the lower half of the order and v = 27 or 28. libsecp256k1's recovery alone also accepts
 * (r, n - s) with the other recovery id and v = 0/1, so one signed message would have four byte forms
 * that all recover its signer: a relay could pass a replay under the seen-cache (keyed by the signature)
 * and make a stored record look "differently signed" to the supersede rule.
 */
export function recoverDigestSignerBytes(digest: Uint8Array, signature: Uint8Array): Uint8Array | undefined {
  if (signature.length !== 65 || digest.length !== 32) return undefined
  const v = signature[64]!
  if (v !== 27 && v !== 28) return undefined
  const recid = v - 27
  if (Buffer.compare(signature.subarray(32, 64), HALF_ORDER) > 0) return undefined
  try {
    secp256k1.ecdsaRecover(signature.subarray(0, 64), recid, digest, false, publicKey)
  } catch {
    return undefined
  }
  return keccak256Bytes(publicKey.subarray(1)).subarray(12)
}

const asciiEncoder = new TextEncoder()

// Checksummed forms of recently seen addresses: gossip names the same clients and nodes over and over,
// and each form costs a keccak. Bounded; cleared whole when full (cheaper than an LRU, and refilled fast).
const CHECKSUM_CACHE_SIZE = 4096
const checksummed = new Map<string, Address>()

/** EIP-55 checksummed form of a 20-byte address, hashed with hash-wasm (viem's getAddress hashes in JS). */
export function checksumAddress(bytes: Uint8Array): Address {
  const lower = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
  const known = checksummed.get(lower)
  if (known !== undefined) return known
  const address = checksumHex(lower)
  if (checksummed.size >= CHECKSUM_CACHE_SIZE) checksummed.clear()
  checksummed.set(lower, address)
  return address
}

function checksumHex(lower: string): Address {
  const hash = keccak256Bytes(asciiEncoder.encode(lower))
  let out = '0x'
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 15
    const c = lower[i]!
    out += nibble >= 8 ? c.toUpperCase() : c
  }
  return out as Address
}

/** Recovers the checksummed address that signed a 32-byte digest; undefined when it does not recover. */
export function recoverDigestSigner(digest: Uint8Array, signature: Uint8Array): Address | undefined {
  const bytes = recoverDigestSignerBytes(digest, signature)
  return bytes === undefined ? undefined : checksumAddress(bytes)
}

/** The hot path: hashes a flat struct with a precomputed hasher and recovers its signer's 20 bytes. */
export function recoverWithHasher(
  hasher: TypedDataHasher,
  message: Record<string, unknown>,
  signature: Uint8Array,
): Uint8Array | undefined {
  return recoverDigestSignerBytes(hasher(message), signature)
}

/** EIP-712 recovery for any typed data (viem hashes; the native library recovers). Off the hot path:
 * gossip validators use a TypedDataHasher and recoverWithHasher. */
export function recoverTypedDataSigner<const T extends TypedData | Record<string, unknown>, P extends string>(
  params: HashTypedDataParameters<T, P>,
  signature: Hex | Uint8Array,
): Address | undefined {
  const digest = hexToBytes(hashTypedData(params as HashTypedDataParameters))
  const sig = typeof signature === 'string' ? hexToBytes(signature) : signature
  return recoverDigestSigner(digest, sig)
}
