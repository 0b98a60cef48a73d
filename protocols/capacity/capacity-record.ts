// A node's CapacityRecord: what it serves (models, adapters, which are warm, measured tokens/s, prices),
// its state, hardware and queue depth, valid for a short window. DHT provider records live 48 hours and
// only say who *may* serve a model; this signed, short-lived record says who is up now.
//
// Two signatures over one EIP-712 digest (as in protocols/status): the account's (secp256k1: who earns
// and is paid) and the PeerId's own libp2p key (with a context prefix), so a record cannot be served under
// another PeerId. The record has nested structs and arrays, which the flat-struct hasher does not do, so
// viem hashes it; recovery runs on the native secp256k1 binding. A discovery verifies a few dozen records,
// far from a hot path.
//
// Verification checks the cheap things first (bounds, shape, PeerId, time) and the signatures last.
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { type Address, getAddress, type Hex, hashTypedData, hexToBytes, type TypedDataDomain } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { equalBytes } from '../common/bytes.ts'
import { checksumAddress, recoverDigestSignerBytes } from '../common/signatures.ts'
import {
  CAPACITY_MAX_GPUS,
  CAPACITY_MAX_LIFETIME_S,
  CAPACITY_MAX_MODELS,
  CAPACITY_MAX_SKEW_MS,
  CAPACITY_MAX_STRING_BYTES,
  CAPACITY_PEER_SIGNATURE_CONTEXT,
} from './constants.ts'
import { CapacityError, type CapacityErrorCode } from './errors.ts'
import { CapacityRecord as CapacityRecordPb } from './pb/capacity.ts'

export const CAPACITY_STATES = ['joining', 'online', 'draining'] as const
export type CapacityState = (typeof CAPACITY_STATES)[number]

export interface ModelOffer {
  modelId: bigint
  /** 0n = the base model itself */
  adapterId: bigint
  /** loaded and ready (a cold one is loaded on first use) */
  warm: boolean
  /** measured output tokens per second */
  tokensPerSec: number
  /** wei per 1,000 input tokens */
  priceIn: bigint
  /** wei per 1,000 output tokens */
  priceOut: bigint
}

export interface GpuInfo {
  name: string
  memoryMiB: number
}

export interface HardwareInfo {
  cpuModel: string
  cpuCores: number
  memoryMiB: number
  gpus: GpuInfo[]
}

export interface CapacityRecord {
  account: Address
  peerId: string
  state: CapacityState
  models: ModelOffer[]
  hardware: HardwareInfo
  queueDepth: number
  /** unix seconds */
  issuedAt: number
  /** unix seconds, at most CAPACITY_MAX_LIFETIME_S after issuedAt */
  expiresAt: number
  /** a higher sequence supersedes a lower one from the same PeerId */
  sequence: bigint
}

export interface CapacitySignatures {
  /** the account's EIP-712 signature, 65 bytes (r, s, v) */
  signature: Uint8Array
  /** the libp2p key's signature over the context prefix and the same digest (64 bytes for ed25519) */
  peerSignature: Uint8Array
}

export interface SignedCapacityRecord extends CapacitySignatures {
  record: CapacityRecord
}

export const capacityRecordTypes = {
  CapacityRecord: [
    { name: 'account', type: 'address' },
    { name: 'peerId', type: 'string' },
    { name: 'state', type: 'uint8' },
    { name: 'models', type: 'ModelOffer[]' },
    { name: 'hardware', type: 'Hardware' },
    { name: 'queueDepth', type: 'uint32' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'expiresAt', type: 'uint64' },
    { name: 'sequence', type: 'uint64' },
  ],
  ModelOffer: [
    { name: 'modelId', type: 'uint256' },
    { name: 'adapterId', type: 'uint256' },
    { name: 'warm', type: 'bool' },
    { name: 'tokensPerSec', type: 'uint32' },
    { name: 'priceIn', type: 'uint256' },
    { name: 'priceOut', type: 'uint256' },
  ],
  Hardware: [
    { name: 'cpuModel', type: 'string' },
    { name: 'cpuCores', type: 'uint16' },
    { name: 'memoryMiB', type: 'uint32' },
    { name: 'gpus', type: 'Gpu[]' },
  ],
  Gpu: [
    { name: 'name', type: 'string' },
    { name: 'memoryMiB', type: 'uint32' },
  ],
} as const

const UINT16_MAX = 0xffff
const UINT32_MAX = 0xffff_ffff
const UINT64_MAX = (1n << 64n) - 1n
const UINT256_MAX = (1n << 256n) - 1n

function fail(code: CapacityErrorCode, message: string, field?: string): never {
  throw new CapacityError(field === undefined ? { code } : { code, field }, message)
}

const utf8 = new TextEncoder()

function checkString(field: string, value: unknown): void {
  if (typeof value !== 'string') fail('CAPACITY_MALFORMED', `${field} must be a string`, field)
  if (utf8.encode(value).length > CAPACITY_MAX_STRING_BYTES)
    fail('CAPACITY_OVERSIZED', `${field} is over ${CAPACITY_MAX_STRING_BYTES} bytes`, field)
}

function checkUint(field: string, value: unknown, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
    fail('CAPACITY_MALFORMED', `${field} must be an integer from 0 to ${max}`, field)
}

function checkBigUint(field: string, value: unknown, max: bigint): void {
  if (typeof value !== 'bigint' || value < 0n || value > max)
    fail('CAPACITY_MALFORMED', `${field} must be a bigint from 0 to ${max}`, field)
}

/**
 * Checks every bound and field of a record (no time, no signature): CAPACITY_OVERSIZED for a list or
 * string over its bound, CAPACITY_MALFORMED for anything else out of place. Signing checks the same, so
 * a node never publishes a record its peers would refuse.
 */
export function checkCapacityRecord(record: CapacityRecord): void {
  if (typeof record !== 'object' || record === null) fail('CAPACITY_MALFORMED', 'not a record')
  if (typeof record.account !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(record.account))
    fail('CAPACITY_MALFORMED', 'account must be a 20-byte hex address', 'account')
  checkString('peerId', record.peerId)
  if (!CAPACITY_STATES.includes(record.state))
    fail('CAPACITY_MALFORMED', `state must be one of ${CAPACITY_STATES.join(', ')}`, 'state')
  if (!Array.isArray(record.models)) fail('CAPACITY_MALFORMED', 'models must be a list', 'models')
  if (record.models.length > CAPACITY_MAX_MODELS)
    fail('CAPACITY_OVERSIZED', `more than ${CAPACITY_MAX_MODELS} models`, 'models')
  const offered = new Set<string>()
  for (const m of record.models) {
    checkBigUint('models.modelId', m.modelId, UINT256_MAX)
    checkBigUint('models.adapterId', m.adapterId, UINT256_MAX)
    if (typeof m.warm !== 'boolean')
      fail('CAPACITY_MALFORMED', 'models.warm must be a boolean', 'models.warm')
    checkUint('models.tokensPerSec', m.tokensPerSec, UINT32_MAX)
    checkBigUint('models.priceIn', m.priceIn, UINT256_MAX)
    checkBigUint('models.priceOut', m.priceOut, UINT256_MAX)
    const key = `${m.modelId}/${m.adapterId}`
    if (offered.has(key))
      fail('CAPACITY_MALFORMED', `model ${m.modelId} adapter ${m.adapterId} is listed twice`, 'models')
    offered.add(key)
  }
  const hw = record.hardware
  if (typeof hw !== 'object' || hw === null) fail('CAPACITY_MALFORMED', 'hardware is missing', 'hardware')
  checkString('hardware.cpuModel', hw.cpuModel)
  checkUint('hardware.cpuCores', hw.cpuCores, UINT16_MAX)
  checkUint('hardware.memoryMiB', hw.memoryMiB, UINT32_MAX)
  if (!Array.isArray(hw.gpus)) fail('CAPACITY_MALFORMED', 'hardware.gpus must be a list', 'hardware.gpus')
  if (hw.gpus.length > CAPACITY_MAX_GPUS)
    fail('CAPACITY_OVERSIZED', `more than ${CAPACITY_MAX_GPUS} GPUs`, 'hardware.gpus')
  for (const gpu of hw.gpus) {
    checkString('hardware.gpus.name', gpu.name)
    checkUint('hardware.gpus.memoryMiB', gpu.memoryMiB, UINT32_MAX)
  }
  checkUint('queueDepth', record.queueDepth, UINT32_MAX)
  checkUint('issuedAt', record.issuedAt, Number.MAX_SAFE_INTEGER)
  checkUint('expiresAt', record.expiresAt, Number.MAX_SAFE_INTEGER)
  checkBigUint('sequence', record.sequence, UINT64_MAX)
  if (record.expiresAt <= record.issuedAt)
    fail('CAPACITY_MALFORMED', 'expiresAt must be after issuedAt', 'expiresAt')
  if (record.expiresAt - record.issuedAt > CAPACITY_MAX_LIFETIME_S)
    fail('CAPACITY_MALFORMED', `a record may live at most ${CAPACITY_MAX_LIFETIME_S} s`, 'expiresAt')
}

function typedMessage(record: CapacityRecord) {
  return {
    account: record.account,
    peerId: record.peerId,
    state: CAPACITY_STATES.indexOf(record.state),
    models: record.models.map((m) => ({
      modelId: m.modelId,
      adapterId: m.adapterId,
      warm: m.warm,
      tokensPerSec: m.tokensPerSec,
      priceIn: m.priceIn,
      priceOut: m.priceOut,
    })),
    hardware: {
      cpuModel: record.hardware.cpuModel,
      cpuCores: record.hardware.cpuCores,
      memoryMiB: record.hardware.memoryMiB,
      gpus: record.hardware.gpus.map((g) => ({ name: g.name, memoryMiB: g.memoryMiB })),
    },
    queueDepth: record.queueDepth,
    issuedAt: BigInt(record.issuedAt),
    expiresAt: BigInt(record.expiresAt),
    sequence: record.sequence,
  }
}

/** The 32-byte EIP-712 digest of a record (checked first: this never hashes a record out of bounds). */
export function capacityDigest(record: CapacityRecord, domain: TypedDataDomain): Uint8Array {
  checkCapacityRecord(record)
  return hexToBytes(
    hashTypedData({
      domain,
      types: capacityRecordTypes,
      primaryType: 'CapacityRecord',
      message: typedMessage(record),
    }),
  )
}

const contextBytes = utf8.encode(CAPACITY_PEER_SIGNATURE_CONTEXT)

/** What the libp2p key signs: the context string, then the 32-byte EIP-712 digest. */
export function capacityPeerSignaturePayload(digest: Uint8Array): Uint8Array {
  const out = new Uint8Array(contextBytes.length + digest.length)
  out.set(contextBytes, 0)
  out.set(digest, contextBytes.length)
  return out
}

export interface SignCapacityInit {
  /** the node's account: must be the record's account */
  account: LocalAccount
  /** the node's libp2p key: must be the key of the record's PeerId */
  peerKey: PrivateKey
  domain: TypedDataDomain
}

/** Signs a record with the account (EIP-712) and with the libp2p key over the same digest. */
export async function signCapacityRecord(
  record: CapacityRecord,
  { account, peerKey, domain }: SignCapacityInit,
): Promise<SignedCapacityRecord> {
  checkCapacityRecord(record)
  if (getAddress(record.account) !== getAddress(account.address))
    throw new RangeError(`the record's account ${record.account} is not the signing account`)
  if (peerIdFromPrivateKey(peerKey).toString() !== record.peerId)
    throw new RangeError(`the record's PeerId ${record.peerId} is not the key's`)
  const signature = await account.signTypedData({
    domain,
    types: capacityRecordTypes,
    primaryType: 'CapacityRecord',
    message: typedMessage(record),
  })
  const digest = capacityDigest(record, domain)
  const peerSignature = await peerKey.sign(capacityPeerSignaturePayload(digest))
  return {
    record,
    signature: hexToBytes(signature as Hex),
    peerSignature: Uint8Array.from(peerSignature),
  }
}

export interface VerifyCapacityOptions {
  domain: TypedDataDomain
  /** unix milliseconds (default Date.now()) */
  now?: number
  /** the PeerId the record came from: it must name this one */
  expectedPeerId?: PeerId | string
}

/**
 * Verifies a record and returns its signer (the record's account), or throws a CapacityError:
 * CAPACITY_OVERSIZED / CAPACITY_MALFORMED (bounds, fields), CAPACITY_PEER_MISMATCH, CAPACITY_FUTURE,
 * CAPACITY_EXPIRED, CAPACITY_BAD_PEER_SIGNATURE, CAPACITY_BAD_SIGNATURE, in that order.
 */
export async function verifyCapacityRecord(
  record: CapacityRecord,
  { signature, peerSignature }: CapacitySignatures,
  options: VerifyCapacityOptions,
): Promise<Address> {
  checkCapacityRecord(record)
  if (!(signature instanceof Uint8Array) || signature.length !== 65)
    fail('CAPACITY_BAD_SIGNATURE', 'the account signature must be 65 bytes', 'signature')
  // ed25519 signatures are 64 bytes; secp256k1 libp2p keys sign in DER, at most 72.
  if (!(peerSignature instanceof Uint8Array) || peerSignature.length < 64 || peerSignature.length > 72)
    fail('CAPACITY_BAD_PEER_SIGNATURE', 'the libp2p signature must be 64 to 72 bytes', 'peerSignature')
  let peerId: PeerId
  try {
    peerId = peerIdFromString(record.peerId)
  } catch {
    fail('CAPACITY_MALFORMED', 'peerId does not parse', 'peerId')
  }
  // Only PeerIds that embed their public key (ed25519, secp256k1) can be checked without a lookup.
  const publicKey = peerId.publicKey
  if (publicKey === undefined) fail('CAPACITY_MALFORMED', 'peerId does not embed its public key', 'peerId')
  if (options.expectedPeerId !== undefined && options.expectedPeerId.toString() !== record.peerId)
    fail('CAPACITY_PEER_MISMATCH', `the record is for ${record.peerId}, not ${options.expectedPeerId}`)

  const now = options.now ?? Date.now()
  if (record.issuedAt * 1000 > now + CAPACITY_MAX_SKEW_MS)
    fail('CAPACITY_FUTURE', `the record is issued at ${record.issuedAt}, in the future`)
  if (record.expiresAt * 1000 <= now) fail('CAPACITY_EXPIRED', `the record expired at ${record.expiresAt}`)

  // Signatures last: they are the expensive checks.
  const digest = capacityDigest(record, options.domain)
  let bound = false
  try {
    bound = await publicKey.verify(capacityPeerSignaturePayload(digest), peerSignature)
  } catch {
    bound = false
  }
  if (!bound) fail('CAPACITY_BAD_PEER_SIGNATURE', `the record is not signed by the key of ${record.peerId}`)
  const signer = recoverDigestSignerBytes(digest, signature)
  if (signer === undefined || !equalBytes(signer, hexToBytes(record.account as Hex)))
    fail('CAPACITY_BAD_SIGNATURE', `the record is not signed by ${record.account}`)
  return checksumAddress(signer)
}

/** True when `next` supersedes `previous` (both from the same PeerId): a higher sequence. */
export function supersedes(next: CapacityRecord, previous: CapacityRecord | undefined): boolean {
  return previous === undefined || next.sequence > previous.sequence
}

/** True when the record lists this model (adapterId 0n or absent: the base model). */
export function offers(record: CapacityRecord, modelId: bigint, adapterId = 0n): boolean {
  return record.models.some((m) => m.modelId === modelId && m.adapterId === adapterId)
}

// --- wire form --------------------------------------------------------------------------------------

function uint256Bytes(value: bigint): Uint8Array<ArrayBuffer> {
  if (value === 0n) return new Uint8Array(0)
  let hex = value.toString(16)
  if (hex.length % 2 === 1) hex = `0${hex}`
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

function uint256From(field: string, bytes: Uint8Array): bigint {
  if (bytes.length > 32) fail('CAPACITY_MALFORMED', `${field} is over 32 bytes`, field)
  if (bytes.length > 0 && bytes[0] === 0)
    fail('CAPACITY_MALFORMED', `${field} is not in minimal form (leading zero byte)`, field)
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`)
}

function safeSeconds(field: string, value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail('CAPACITY_MALFORMED', `${field} is out of range`, field)
  return Number(value)
}

/** The protobuf message of a signed record (for CapacityResponse, or alone). */
export function toCapacityPb(signed: SignedCapacityRecord): CapacityRecordPb {
  const { record } = signed
  return {
    account: Uint8Array.from(hexToBytes(record.account as Hex)),
    peerId: record.peerId,
    state: CAPACITY_STATES.indexOf(record.state),
    models: record.models.map((m) => ({
      modelId: uint256Bytes(m.modelId),
      adapterId: uint256Bytes(m.adapterId),
      warm: m.warm,
      tokensPerSec: m.tokensPerSec,
      priceIn: uint256Bytes(m.priceIn),
      priceOut: uint256Bytes(m.priceOut),
    })),
    hardware: {
      cpuModel: record.hardware.cpuModel,
      cpuCores: record.hardware.cpuCores,
      memoryMiB: record.hardware.memoryMiB,
      gpus: record.hardware.gpus.map((g) => ({ name: g.name, memoryMiB: g.memoryMiB })),
    },
    queueDepth: record.queueDepth,
    issuedAt: BigInt(record.issuedAt),
    expiresAt: BigInt(record.expiresAt),
    sequence: record.sequence,
    signature: Uint8Array.from(signed.signature),
    peerSignature: Uint8Array.from(signed.peerSignature),
  }
}

/**
 * A signed record from its protobuf message; CAPACITY_MALFORMED when a field cannot be one (the bounds and
 * signatures are checked by verifyCapacityRecord, which every caller runs next).
 */
export function fromCapacityPb(pb: CapacityRecordPb): SignedCapacityRecord {
  if (pb.account.length !== 20) fail('CAPACITY_MALFORMED', 'account must be 20 bytes', 'account')
  const state = CAPACITY_STATES[pb.state]
  if (state === undefined) fail('CAPACITY_MALFORMED', `unknown state ${pb.state}`, 'state')
  if (pb.hardware === undefined) fail('CAPACITY_MALFORMED', 'hardware is missing', 'hardware')
  const record: CapacityRecord = {
    account: checksumAddress(pb.account),
    peerId: pb.peerId,
    state,
    models: pb.models.map((m) => ({
      modelId: uint256From('models.modelId', m.modelId),
      adapterId: uint256From('models.adapterId', m.adapterId),
      warm: m.warm,
      tokensPerSec: m.tokensPerSec,
      priceIn: uint256From('models.priceIn', m.priceIn),
      priceOut: uint256From('models.priceOut', m.priceOut),
    })),
    hardware: {
      cpuModel: pb.hardware.cpuModel,
      cpuCores: pb.hardware.cpuCores,
      memoryMiB: pb.hardware.memoryMiB,
      gpus: pb.hardware.gpus.map((g) => ({ name: g.name, memoryMiB: g.memoryMiB })),
    },
    queueDepth: pb.queueDepth,
    issuedAt: safeSeconds('issuedAt', pb.issuedAt),
    expiresAt: safeSeconds('expiresAt', pb.expiresAt),
    sequence: pb.sequence,
  }
  return { record, signature: pb.signature, peerSignature: pb.peerSignature }
}

/** protons decode limits: list bounds are enforced while decoding, before anything is allocated for them. */
export const CAPACITY_DECODE_LIMITS = {
  models: CAPACITY_MAX_MODELS,
  hardware: { gpus: CAPACITY_MAX_GPUS },
}

export function encodeCapacityRecord(signed: SignedCapacityRecord): Uint8Array {
  return CapacityRecordPb.encode(toCapacityPb(signed))
}

/** Decodes a record's wire form: CAPACITY_OVERSIZED past a list bound, CAPACITY_MALFORMED otherwise. */
export function decodeCapacityRecord(bytes: Uint8Array): SignedCapacityRecord {
  let pb: CapacityRecordPb
  try {
    pb = CapacityRecordPb.decode(bytes, { limits: CAPACITY_DECODE_LIMITS })
  } catch (err) {
    throw decodeError(err)
  }
  return fromCapacityPb(pb)
}

export function decodeError(err: unknown): CapacityError {
  const message = (err as Error).message ?? String(err)
  if ((err as Error).name === 'MaxLengthError')
    return new CapacityError({ code: 'CAPACITY_OVERSIZED' }, `capacity record: ${message}`)
  return new CapacityError({ code: 'CAPACITY_MALFORMED' }, `capacity record does not decode: ${message}`)
}
