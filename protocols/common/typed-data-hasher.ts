// EIP-712 hashing for the flat structs we sign (Contribution, NodeStatus) on the gossip hot path. viem's
// hashTypedData re-derives the type hash and the domain separator and validates through generic code for
// every message (~5,500 hashes/s here); this hasher precomputes both once per (domain, struct), encodes
// each field straight into one reused buffer and hashes with hash-wasm's keccak. Tests check it for
// equality against viem's hashTypedData over random messages of every struct we sign; viem stays the
// reference and is still what signs.
//
// Only flat structs: string, bytes, address, bool, bytes1..32 and uint8..256 fields. A nested struct or an
// array field is refused when the hasher is made, not silently hashed wrong.
import { createKeccak } from 'hash-wasm'
import { domainSeparator, type TypedDataDomain } from 'viem'
import { OpenLedgerError } from './errors.ts'

export class TypedDataHashError extends OpenLedgerError<{
  code: 'UNSUPPORTED_TYPE' | 'BAD_FIELD'
  field?: string
}> {}

// One keccak instance for this module. Every use below is init → update → digest with no await in
// between, so sharing it is safe on one thread.
const keccak = await createKeccak(256)

/** keccak256 of `data`, synchronously, through hash-wasm. */
export function keccak256Bytes(data: Uint8Array): Uint8Array {
  keccak.init()
  keccak.update(data)
  return keccak.digest('binary')
}

const encoder = new TextEncoder()

export interface TypedDataField {
  readonly name: string
  readonly type: string
}

type FieldEncoder = (value: unknown, out: Uint8Array, offset: number) => void

function badField(field: string, message: string): never {
  throw new TypedDataHashError({ code: 'BAD_FIELD', field }, `${field}: ${message}`)
}

function writeUint(field: string, bits: number, value: unknown, out: Uint8Array, offset: number): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) badField(field, `${value} is not a uint${bits}`)
    if (bits < 53 && value >= 2 ** bits) badField(field, `${value} does not fit uint${bits}`)
    const high = Math.floor(value / 0x1_0000_0000)
    const low = value >>> 0
    const end = offset + 32
    out[end - 1] = low & 0xff
    out[end - 2] = (low >>> 8) & 0xff
    out[end - 3] = (low >>> 16) & 0xff
    out[end - 4] = low >>> 24
    out[end - 5] = high & 0xff
    out[end - 6] = (high >>> 8) & 0xff
    out[end - 7] = (high >>> 16) & 0xff
    out[end - 8] = high >>> 24
    return
  }
  if (typeof value !== 'bigint') badField(field, `expected a number or bigint, got ${typeof value}`)
  if (value < 0n || value >> BigInt(bits) !== 0n) badField(field, `${value} does not fit uint${bits}`)
  let v = value
  for (let i = offset + 31; v > 0n; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
}

function toBytes(field: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(value))
    return Buffer.from(value.slice(2), 'hex')
  return badField(field, 'expected bytes or 0x-prefixed even-length hex')
}

function fieldEncoder(field: TypedDataField): FieldEncoder {
  const { name, type } = field
  if (type === 'string')
    return (value, out, offset) => {
      if (typeof value !== 'string') badField(name, 'expected a string')
      out.set(keccak256Bytes(encoder.encode(value)), offset)
    }
  if (type === 'bytes') return (value, out, offset) => out.set(keccak256Bytes(toBytes(name, value)), offset)
  if (type === 'address')
    return (value, out, offset) => {
      const bytes = toBytes(name, value)
      if (bytes.length !== 20) badField(name, 'an address is 20 bytes')
      out.set(bytes, offset + 12)
    }
  if (type === 'bool')
    return (value, out, offset) => {
      if (typeof value !== 'boolean') badField(name, 'expected a boolean')
      out[offset + 31] = value ? 1 : 0
    }
  const uint = /^uint(\d+)$/.exec(type)
  if (uint) {
    const bits = Number(uint[1])
    if (bits < 8 || bits > 256 || bits % 8 !== 0)
      throw new TypedDataHashError({ code: 'UNSUPPORTED_TYPE', field: name }, `no type ${type}`)
    return (value, out, offset) => writeUint(name, bits, value, out, offset)
  }
  const fixed = /^bytes(\d+)$/.exec(type)
  if (fixed) {
    const size = Number(fixed[1])
    if (size < 1 || size > 32)
      throw new TypedDataHashError({ code: 'UNSUPPORTED_TYPE', field: name }, `no type ${type}`)
    return (value, out, offset) => {
      const bytes = toBytes(name, value)
      if (bytes.length !== size) badField(name, `a ${type} is ${size} bytes`)
      out.set(bytes, offset)
    }
  }
  throw new TypedDataHashError(
    { code: 'UNSUPPORTED_TYPE', field: name },
    `${name}: ${type} is not a flat EIP-712 field type (structs, arrays and intN are not supported here)`,
  )
}

/** The 32-byte EIP-712 digest of a message of one flat struct type under one domain. */
export type TypedDataHasher = (message: Record<string, unknown>) => Uint8Array

export function createTypedDataHasher(
  domain: TypedDataDomain,
  types: Record<string, readonly TypedDataField[]>,
  primaryType: string,
): TypedDataHasher {
  const fields = types[primaryType]
  if (fields === undefined)
    throw new TypedDataHashError({ code: 'UNSUPPORTED_TYPE' }, `no struct ${primaryType} in the types`)
  const encoders = fields.map(fieldEncoder)
  const names = fields.map((f) => f.name)
  const typeHash = keccak256Bytes(
    encoder.encode(`${primaryType}(${fields.map((f) => `${f.type} ${f.name}`).join(',')})`),
  )
  const separator = Buffer.from(domainSeparator({ domain }).slice(2), 'hex')
  const struct = new Uint8Array(32 * (fields.length + 1))
  const envelope = new Uint8Array(2 + 32 + 32)
  envelope[0] = 0x19
  envelope[1] = 0x01
  envelope.set(separator, 2)
  return (message) => {
    struct.fill(0)
    struct.set(typeHash, 0)
    for (let i = 0; i < encoders.length; i++) encoders[i]!(message[names[i]!], struct, 32 * (i + 1))
    envelope.set(keccak256Bytes(struct), 34)
    return keccak256Bytes(envelope)
  }
}
