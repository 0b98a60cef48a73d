/** Byte-wise equality (not constant-time: use it for digests and ids, not for secrets). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** A uint256 as minimal big-endian bytes (empty for 0), the wire form of amounts and ids. */
export function uint256ToBytes(value: bigint): Uint8Array<ArrayBuffer> {
  if (value === 0n) return new Uint8Array(0)
  let hex = value.toString(16)
  if (hex.length % 2 === 1) hex = `0${hex}`
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

/** The uint256 of minimal big-endian bytes; undefined when over 32 bytes or not minimal (a leading 0). */
export function uint256FromBytes(bytes: Uint8Array): bigint | undefined {
  if (bytes.length > 32 || (bytes.length > 0 && bytes[0] === 0)) return undefined
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`)
}
