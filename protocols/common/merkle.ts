// Sorted-leaf Merkle tree, byte-for-byte the layout of OpenZeppelin's SimpleMerkleTree
// (@openzeppelin/merkle-tree), so that proofs verify with OpenZeppelin's MerkleProof on chain. OpenZeppelin's
// JS builder needs ~18 s for 100,000 leaves; this one hashes with hash-wasm keccak into one flat buffer and
// needs a small fraction of a second. Shared by the ledger state tree (consensus/merkle.ts) and the root of
// a Datanet version's contributions (protocols/datanet/contributions-root.ts).
//
//   node = keccak256(min(a, b) ‖ max(a, b))   (commutative); leaves are sorted by their hash.
// Callers hash their leaves once; that is safe as long as a leaf preimage is never 64 bytes long, so a leaf
// cannot be passed off as an inner node without a keccak collision.
import { createKeccak, type IHasher } from 'hash-wasm'
import type { Hex } from 'viem'

let hasherPromise: Promise<IHasher> | undefined
export function keccakHasher(): Promise<IHasher> {
  hasherPromise ??= createKeccak(256)
  return hasherPromise
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
export function toHex(bytes: Uint8Array, offset = 0, length = bytes.length - offset): Hex {
  let out = '0x'
  for (let i = offset; i < offset + length; i++) out += HEX[bytes[i]]
  return out as Hex
}

function hexNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 97 && code <= 102) return code - 87
  if (code >= 65 && code <= 70) return code - 55
  throw new TypeError('invalid hex digit')
}

/** Writes `hex` (no 0x, even length) right-aligned into buf[offset .. offset+width). */
export function writeHexRightAligned(buf: Uint8Array, offset: number, width: number, hex: string, start = 0) {
  const bytes = (hex.length - start) >> 1
  buf.fill(0, offset, offset + width - bytes)
  let o = offset + width - bytes
  for (let i = start; i < hex.length; i += 2)
    buf[o++] = (hexNibble(hex.charCodeAt(i)) << 4) | hexNibble(hex.charCodeAt(i + 1))
}

export function writeUint256(buf: Uint8Array, offset: number, value: bigint) {
  if (value < 0n || value >= 1n << 256n) throw new RangeError(`uint256 out of range: ${value}`)
  let hex = value.toString(16)
  if (hex.length % 2 === 1) hex = `0${hex}`
  writeHexRightAligned(buf, offset, 32, hex)
}

export function writeAddress(buf: Uint8Array, offset: number, address: string) {
  if (address.length !== 42 || address[0] !== '0' || (address[1] !== 'x' && address[1] !== 'X'))
    throw new TypeError(`not an address: ${address}`)
  writeHexRightAligned(buf, offset, 32, address, 2)
}

export function compareAt(a: Uint8Array, ai: number, b: Uint8Array, bi: number): number {
  for (let k = 0; k < 32; k++) {
    const d = a[ai + k] - b[bi + k]
    if (d !== 0) return d
  }
  return 0
}

/**
 * A sorted-leaf Merkle tree in OpenZeppelin's array layout: node i has children 2i+1 and 2i+2, the n
 * sorted leaves sit at the end of the array in reverse order (leaf j at index 2n-2-j).
 */
export class SortedMerkleTree {
  /** all 2n-1 nodes, 32 bytes each */
  private readonly nodes: Uint8Array
  readonly leafCount: number

  private constructor(nodes: Uint8Array, leafCount: number) {
    this.nodes = nodes
    this.leafCount = leafCount
  }

  /** Builds a tree from 32-byte leaf hashes (any order; they are sorted here). */
  static async fromLeafHashes(leaves: Uint8Array[] | Uint8Array): Promise<SortedMerkleTree> {
    const flat = leaves instanceof Uint8Array ? leaves : concat32(leaves)
    return SortedMerkleTree.build(flat, await keccakHasher()).tree
  }

  /** Builds the tree and also returns the sorted order (order[j] = input index of sorted leaf j). */
  static build(flat: Uint8Array, hasher: IHasher): { tree: SortedMerkleTree; order: Uint32Array } {
    if (flat.length % 32 !== 0) throw new TypeError('leaf hashes must be 32 bytes each')
    const n = flat.length / 32
    if (n === 0) throw new RangeError('a Merkle tree needs at least one leaf')
    const order = sortedOrder(flat, n)
    const total = 2 * n - 1
    const nodes = new Uint8Array(total * 32)
    for (let j = 0; j < n; j++)
      nodes.set(flat.subarray(order[j] * 32, order[j] * 32 + 32), (total - 1 - j) * 32)
    for (let i = total - 1 - n; i >= 0; i--) {
      const l = (2 * i + 1) * 32
      const r = l + 32
      hasher.init()
      if (compareAt(nodes, l, nodes, r) <= 0) {
        hasher.update(nodes.subarray(l, r + 32))
      } else {
        hasher.update(nodes.subarray(r, r + 32))
        hasher.update(nodes.subarray(l, l + 32))
      }
      nodes.set(hasher.digest('binary'), i * 32)
    }
    return { tree: new SortedMerkleTree(nodes, n), order }
  }

  get root(): Hex {
    return toHex(this.nodes, 0, 32)
  }

  /** The leaf hash at sorted position j. */
  leaf(j: number): Hex {
    return toHex(this.nodes, this.treeIndex(j) * 32, 32)
  }

  /** Proof for the leaf at sorted position j, bottom-up siblings, as OpenZeppelin's MerkleProof expects. */
  proof(j: number): Hex[] {
    let index = this.treeIndex(j)
    const out: Hex[] = []
    while (index > 0) {
      const sibling = index % 2 === 1 ? index + 1 : index - 1
      out.push(toHex(this.nodes, sibling * 32, 32))
      index = (index - 1) >> 1
    }
    return out
  }

  /**
   * The 2^depth nodes `depth` levels below the root, left to right (tree indices 2^depth − 1 …
   * 2^(depth+1) − 2). Every leaf lies at least that deep while 2^depth ≤ leafCount.
   */
  level(depth: number): Hex[] {
    if (!Number.isInteger(depth) || depth < 0 || 2 ** depth > this.leafCount) {
      throw new RangeError(`no complete level ${depth} in a tree of ${this.leafCount} leaves`)
    }
    const first = 2 ** depth - 1
    return Array.from({ length: 2 ** depth }, (_, k) => toHex(this.nodes, (first + k) * 32, 32))
  }

  /** The proof for leaf j up to its ancestor in `level(depth)`, and that ancestor's position there. */
  proofToLevel(j: number, depth: number): { proof: Hex[]; position: number } {
    this.level(depth) // checks depth
    let index = this.treeIndex(j)
    const out: Hex[] = []
    while (index >= 2 ** (depth + 1) - 1) {
      const sibling = index % 2 === 1 ? index + 1 : index - 1
      out.push(toHex(this.nodes, sibling * 32, 32))
      index = (index - 1) >> 1
    }
    return { proof: out, position: index - (2 ** depth - 1) }
  }

  /** Sorted position of a leaf hash, or -1. */
  indexOfLeaf(leaf: Hex): number {
    const target = fromHex32(leaf)
    let lo = 0
    let hi = this.leafCount - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const c = compareAt(this.nodes, this.treeIndex(mid) * 32, target, 0)
      if (c === 0) return mid
      if (c < 0) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }

  private treeIndex(j: number): number {
    if (!Number.isInteger(j) || j < 0 || j >= this.leafCount) throw new RangeError(`no leaf at position ${j}`)
    return 2 * this.leafCount - 2 - j
  }
}

/** Recomputes a root from a leaf and its proof (OpenZeppelin's MerkleProof.processProof). */
export async function processProof(leaf: Hex, proof: readonly Hex[]): Promise<Hex> {
  const hasher = await keccakHasher()
  let node = fromHex32(leaf)
  for (const p of proof) {
    const sibling = fromHex32(p)
    hasher.init()
    if (compareAt(node, 0, sibling, 0) <= 0) {
      hasher.update(node)
      hasher.update(sibling)
    } else {
      hasher.update(sibling)
      hasher.update(node)
    }
    node = hasher.digest('binary')
  }
  return toHex(node)
}

export function fromHex32(hex: Hex): Uint8Array {
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new TypeError(`not a 32-byte hex string: ${hex}`)
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(hex.slice(2 + 2 * i, 4 + 2 * i), 16)
  return out
}

function concat32(leaves: Uint8Array[]): Uint8Array {
  const flat = new Uint8Array(leaves.length * 32)
  leaves.forEach((leaf, i) => {
    if (leaf.length !== 32) throw new TypeError('leaf hashes must be 32 bytes each')
    flat.set(leaf, i * 32)
  })
  return flat
}

/**
 * Indexes of the n 32-byte values in `flat`, in ascending byte order. Sorting by the first 6 bytes as a
 * number (exact in a double) and breaking ties with a full compare keeps the comparator cheap.
 */
function sortedOrder(flat: Uint8Array, n: number): Uint32Array {
  const keys = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const o = i * 32
    keys[i] =
      flat[o] * 2 ** 40 +
      flat[o + 1] * 2 ** 32 +
      flat[o + 2] * 2 ** 24 +
      flat[o + 3] * 2 ** 16 +
      flat[o + 4] * 2 ** 8 +
      flat[o + 5]
  }
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  order.sort((a, b) => keys[a] - keys[b] || compareAt(flat, a * 32, flat, b * 32))
  return order
}
