// The ledger state tree, built on the shared sorted-leaf Merkle tree in protocols/common/merkle.ts
// (byte-for-byte the layout of OpenZeppelin's SimpleMerkleTree, so that proofs verify with OpenZeppelin's
// MerkleProof in the Ledger contract, and much faster than OpenZeppelin's JS builder).
//
// Convention (the Ledger contract does exactly this):
//   leaf  = keccak256(abi.encode(address account, uint256 index, uint256 earned, uint256 spent))  (hashed once)
//   node  = keccak256(min(a, b) ‖ max(a, b))                                        (commutative)
// Leaves are sorted by their hash. Hashing the leaf once is safe: a leaf preimage is 128 bytes and an
// inner node preimage 64 bytes, so neither can be passed off as the other without a keccak collision.
// (OpenZeppelin's StandardMerkleTree hashes leaves twice to get the same guarantee for leaves of any length.)
import type { Address, Hex } from 'viem'
import {
  keccakHasher,
  processProof,
  SortedMerkleTree,
  toHex,
  writeAddress,
  writeUint256,
} from '../protocols/common/merkle.ts'

export { processProof, SortedMerkleTree }

export interface LedgerEntry {
  account: Address
  /**
   * The account's ledger index: assigned once, when the account first appears, and never reused. The
   * Ledger keeps claimed amounts by index, four to a storage word, so it must be unique in a tree.
   */
  index: number
  /** cumulative wei earned */
  earned: bigint
  /** cumulative wei spent */
  spent: bigint
}

/** The ledger state tree: one leaf per account, `keccak256(abi.encode(account, index, earned, spent))`. */
export class LedgerTree {
  readonly tree: SortedMerkleTree
  private readonly list: readonly LedgerEntry[]
  private readonly order: Uint32Array
  // By lowercase account, made on first use: a checkpoint needs only the root, and two 100,000-key maps
  // cost nearly as much as the leaves' keccak.
  private positionsMap: Map<string, number> | undefined
  private entriesMap: Map<string, LedgerEntry> | undefined

  private constructor(
    tree: SortedMerkleTree,
    list: readonly LedgerEntry[],
    order: Uint32Array,
    entries: Map<string, LedgerEntry> | undefined,
  ) {
    this.tree = tree
    this.list = list
    this.order = order
    this.entriesMap = entries
  }

  /**
   * Refuses a repeated account or index, unless `unique` says the caller has checked both (the consensus
   * ledger's state is a map by account whose indexes it checks), which saves building a map to find them.
   */
  static async build(
    entries: readonly LedgerEntry[],
    options: { unique?: boolean } = {},
  ): Promise<LedgerTree> {
    const hasher = await keccakHasher()
    const flat = new Uint8Array(entries.length * 32)
    const buf = new Uint8Array(LEAF_BYTES)
    const view = new DataView(buf.buffer)
    const byAccount = options.unique ? undefined : new Map<string, LedgerEntry>()
    const indexes = options.unique ? undefined : new Set<number>()
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]
      if (byAccount !== undefined && indexes !== undefined) {
        const key = e.account.toLowerCase()
        if (byAccount.has(key)) throw new Error(`duplicate ledger account ${e.account}`)
        if (indexes.has(e.index)) throw new Error(`duplicate ledger index ${e.index}`)
        indexes.add(e.index)
        byAccount.set(key, e)
      }
      encodeLeaf(buf, view, e)
      hasher.init()
      hasher.update(buf)
      flat.set(hasher.digest('binary'), i * 32)
    }
    const { tree, order } = SortedMerkleTree.build(flat, hasher)
    return new LedgerTree(tree, entries, order, byAccount)
  }

  private get positions(): Map<string, number> {
    if (this.positionsMap === undefined) {
      this.positionsMap = new Map()
      for (let j = 0; j < this.order.length; j++)
        this.positionsMap.set(this.list[this.order[j]].account.toLowerCase(), j)
    }
    return this.positionsMap
  }

  private get entries(): Map<string, LedgerEntry> {
    this.entriesMap ??= new Map(this.list.map((e) => [e.account.toLowerCase(), e]))
    return this.entriesMap
  }

  get root(): Hex {
    return this.tree.root
  }

  get size(): number {
    return this.tree.leafCount
  }

  entry(account: Address): LedgerEntry | undefined {
    return this.entries.get(account.toLowerCase())
  }

  /** The proof the Ledger contract's `claimFor(account, index, epoch, earned, spent, proof)` takes. */
  proof(account: Address): Hex[] {
    const j = this.positions.get(account.toLowerCase())
    if (j === undefined) throw new Error(`account ${account} is not in the ledger tree`)
    return this.tree.proof(j)
  }

  /**
   * For a batch (`claimMany(epoch, top, claims)`): `top` is `tree.level(depth)`, sent once; each account's
   * proof stops at its ancestor `top[topIndex]`.
   */
  proofToLevel(account: Address, depth: number): { proof: Hex[]; topIndex: number } {
    const j = this.positions.get(account.toLowerCase())
    if (j === undefined) throw new Error(`account ${account} is not in the ledger tree`)
    const { proof, position } = this.tree.proofToLevel(j, depth)
    return { proof, topIndex: position }
  }
}

/** `keccak256(abi.encode(account, index, earned, spent))`, the Ledger's leaf. */
export async function ledgerLeaf(entry: LedgerEntry): Promise<Hex> {
  const hasher = await keccakHasher()
  const buf = new Uint8Array(LEAF_BYTES)
  encodeLeaf(buf, new DataView(buf.buffer), entry)
  hasher.init()
  hasher.update(buf)
  return toHex(hasher.digest('binary'))
}

const LEAF_BYTES = 128
/** Ledger indexes are 32-bit: room for four billion accounts, and exact as a JavaScript number. */
const MAX_INDEX = 2 ** 32 - 1

function encodeLeaf(buf: Uint8Array, view: DataView, e: LedgerEntry) {
  if (!Number.isInteger(e.index) || e.index < 0 || e.index > MAX_INDEX) {
    throw new Error(`ledger index ${e.index} out of range`)
  }
  writeAddress(buf, 0, e.account)
  buf.fill(0, 32, 60)
  view.setUint32(60, e.index)
  writeAmount(buf, view, 64, e.earned)
  writeAmount(buf, view, 96, e.spent)
}

const UINT128 = 1n << 128n

/**
 * A uint256 word. Amounts are below 2^128 in practice (the Ledger keeps them in uint128), so they are
 * written as two 64-bit halves: the hex round trip of writeUint256 cost more than the leaf's keccak.
 */
function writeAmount(buf: Uint8Array, view: DataView, offset: number, value: bigint) {
  if (typeof value !== 'bigint' || value < 0n || value >= UINT128) return writeUint256(buf, offset, value)
  buf.fill(0, offset, offset + 16)
  view.setBigUint64(offset + 16, value >> 64n)
  view.setBigUint64(offset + 24, BigInt.asUintN(64, value))
}
