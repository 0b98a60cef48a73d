// EIP-712 hashing for the flat structs we sign (Contribution, NodeStatus) on the gossip hot path. viem's
// hashTypedData re-derives the type hash and the domain separator and validates through generic code for
// every message (~5,500 hashes/s here); this hasher precomputes both once per (domain, struct), encodes
// each field straight into one reused buffer and hashes with hash-wasm's keccak. Tests check it for
// equality against viem's hashTypedData over random messages of every struct we sign; viem stays the
// reference and is still what signs.
//
// Fields: string, bytes, address, bool, bytes1..32 and uint8..256, a struct of the same `types`, and an
// array of such structs (a Receipt holds its PaymentAuthorization and its attribution entries); a struct
// field may be given as its 32-byte hashStruct instead. Arrays of
// atomic values, intN and recursive structs are refused when the hasher is made, not silently hashed
// wrong.
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
  if (typeof value === 'string' && value.length % 2 === 0 && value.startsWith('0x')) {
    // Buffer's hex decoder stops at the first non-hex pair: a short result means the string was not hex
    // (cheaper than a regex over a 130-character signature on the hot path).
    const bytes = Buffer.from(value.slice(2), 'hex')
    if (bytes.length * 2 === value.length - 2) return bytes
  }
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

/** The 32-byte EIP-712 digest of a message of one struct type under one domain. */
export type TypedDataHasher = (message: Record<string, unknown>) => Uint8Array
/** EIP-712 hashStruct of a message of one struct type (no domain). */
export type StructHasher = (message: Record<string, unknown>) => Uint8Array

type Types = Record<string, readonly TypedDataField[]>

/** EIP-712 encodeType: the struct, then every struct it references (transitively), sorted by name. */
function encodeType(types: Types, primaryType: string): string {
  const found = new Set<string>()
  const visit = (name: string) => {
    for (const f of types[name] ?? []) {
      const base = f.type.endsWith('[]') ? f.type.slice(0, -2) : f.type
      if (types[base] !== undefined && base !== primaryType && !found.has(base)) {
        found.add(base)
        visit(base)
      }
    }
  }
  visit(primaryType)
  const one = (name: string) => `${name}(${types[name]!.map((f) => `${f.type} ${f.name}`).join(',')})`
  return [primaryType, ...[...found].sort()].map(one).join('')
}

function structFieldEncoder(types: Types, field: TypedDataField, path: string[]): FieldEncoder | undefined {
  const { name, type } = field
  const isArray = type.endsWith('[]')
  const base = isArray ? type.slice(0, -2) : type
  if (types[base] === undefined) return undefined
  if (path.includes(base))
    throw new TypedDataHashError({ code: 'UNSUPPORTED_TYPE', field: name }, `${name}: ${base} is recursive`)
  const inner = structHasher(types, base, [...path, base])
  if (!isArray)
    return (value, out, offset) => {
      // Its 32-byte hashStruct, when the caller computed it already (a receipt's authorization is hashed
      // for the client's signature, then again inside the receipt).
      if (value instanceof Uint8Array && value.length === 32) return out.set(value, offset)
      if (typeof value !== 'object' || value === null) badField(name, `expected a ${base}`)
      out.set(inner(value as Record<string, unknown>), offset)
    }
  return (value, out, offset) => {
    if (!Array.isArray(value)) badField(name, `expected an array of ${base}`)
    const hashes = new Uint8Array(32 * value.length)
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      if (typeof item !== 'object' || item === null) badField(`${name}[${i}]`, `expected a ${base}`)
      hashes.set(inner(item as Record<string, unknown>), 32 * i)
    }
    out.set(keccak256Bytes(hashes), offset)
  }
}

function structHasher(types: Types, primaryType: string, path: string[]): StructHasher {
  const fields = types[primaryType]
  if (fields === undefined)
    throw new TypedDataHashError({ code: 'UNSUPPORTED_TYPE' }, `no struct ${primaryType} in the types`)
  const encoders = fields.map((f) => structFieldEncoder(types, f, path) ?? fieldEncoder(f))
  const names = fields.map((f) => f.name)
  const typeHash = keccak256Bytes(encoder.encode(encodeType(types, primaryType)))
  return (message) => {
    // A buffer per call: a nested struct of the same type may be hashed while this one is being filled.
    const struct = new Uint8Array(32 * (fields.length + 1))
    struct.set(typeHash, 0)
    for (let i = 0; i < encoders.length; i++) encoders[i]!(message[names[i]!], struct, 32 * (i + 1))
    return keccak256Bytes(struct)
  }
}

export function createStructHasher(types: Types, primaryType: string): StructHasher {
  return structHasher(types, primaryType, [primaryType])
}

export function createTypedDataHasher(
  domain: TypedDataDomain,
  types: Types,
  primaryType: string,
): TypedDataHasher {
  const hashStruct = createStructHasher(types, primaryType)
  const digestOf = typedDataDigest(domain)
  return (message) => digestOf(hashStruct(message))
}

/** The EIP-712 digest `keccak256(0x1901 ‖ domainSeparator ‖ structHash)` under one domain. */
export function typedDataDigest(domain: TypedDataDomain): (structHash: Uint8Array) => Uint8Array {
  const envelope = new Uint8Array(2 + 32 + 32)
  envelope[0] = 0x19
  envelope[1] = 0x01
  envelope.set(Buffer.from(domainSeparator({ domain }).slice(2), 'hex'), 2)
  return (structHash) => {
    envelope.set(structHash, 34)
    return keccak256Bytes(envelope)
  }
}
