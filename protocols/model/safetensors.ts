// safetensors (https://huggingface.co/docs/safetensors): 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, __metadata__: {string: string}}, then the raw little-endian data.
// Only F32 is written or read: every tensor of this model is float32.
import { ModelError, ModelErrorCode } from './errors.ts'

export interface NamedTensor {
  name: string
  shape: number[]
  data: Float32Array
}

export function encodeSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const header: Record<string, unknown> = {}
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata
  let offset = 0
  for (const t of sorted) {
    const size = t.shape.reduce((a, b) => a * b, 1)
    if (size !== t.data.length)
      throw new Error(`tensor ${t.name}: shape ${t.shape} does not hold ${t.data.length} values`)
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * size] }
    offset += 4 * size
  }
  let json = JSON.stringify(header)
  // pad the header with spaces so the data starts 8-byte aligned, as the reference implementation does
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' '
  const headerBytes = new TextEncoder().encode(json)
  const out = new Uint8Array(8 + headerBytes.length + offset)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(headerBytes.length), true)
  out.set(headerBytes, 8)
  let at = 8 + headerBytes.length
  for (const t of sorted) {
    for (let i = 0; i < t.data.length; i++) view.setFloat32(at + 4 * i, t.data[i], true)
    at += 4 * t.data.length
  }
  return out
}

export interface DecodedSafetensors {
  tensors: Map<string, NamedTensor>
  metadata: Record<string, string>
}

export function decodeSafetensors(bytes: Uint8Array, file = 'safetensors'): DecodedSafetensors {
  const bad = (reason: string): ModelError =>
    new ModelError(
      { code: ModelErrorCode.FORMAT_INVALID, file, reason },
      `${file}: not a valid safetensors file (${reason})`,
    )
  if (bytes.length < 8) throw bad('shorter than its 8-byte header length')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLen = view.getBigUint64(0, true)
  if (headerLen > BigInt(bytes.length - 8)) throw bad('header length runs past the end of the file')
  const dataStart = 8 + Number(headerLen)
  let header: Record<string, unknown>
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)))
  } catch {
    throw bad('header is not JSON')
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw bad('header is not an object')
  const dataLen = bytes.length - dataStart
  const tensors = new Map<string, NamedTensor>()
  let metadata: Record<string, string> = {}
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>
      continue
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    if (e.dtype !== 'F32') throw bad(`tensor ${name} has dtype ${String(e.dtype)}; only F32 is supported`)
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(`tensor ${name} has an invalid shape`)
    }
    const [begin, end] = Array.isArray(e.data_offsets) ? e.data_offsets : []
    const size = (e.shape as number[]).reduce((a, b) => a * b, 1)
    if (
      !Number.isInteger(begin) ||
      !Number.isInteger(end) ||
      begin < 0 ||
      end > dataLen ||
      end - begin !== 4 * size
    ) {
      throw bad(`tensor ${name} has data offsets that do not fit its shape or the file`)
    }
    const data = new Float32Array(size)
    for (let i = 0; i < size; i++) data[i] = view.getFloat32(dataStart + begin + 4 * i, true)
    tensors.set(name, { name, shape: e.shape as number[], data })
  }
  return { tensors, metadata }
}
