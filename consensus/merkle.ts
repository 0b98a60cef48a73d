// The ledger state tree, built on the shared sorted-leaf Merkle tree in protocols/common/merkle.ts
// (byte-for-byte the layout of OpenZeppelin's SimpleMerkleTree, so that proofs verify with OpenZeppelin's
// MerkleProof in the Ledger contract, and much faster than OpenZeppelin's JS builder).
//
// Convention (the Ledger contract does exactly this):
//   leaf  = keccak256(abi.encode(address account, uint256 earned, uint256 spent))   (hashed once)
//   node  = keccak256(min(a, b) ‖ max(a, b))                                        (commutative)
// Leaves are sorted by their hash. Hashing the leaf once is safe: a leaf preimage is 96 bytes and an
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
  /** cumulative wei earned */
  earned: bigint
  /** cumulative wei spent */
  spent: bigint
}

/** The ledger state tree: one leaf per account, `keccak256(abi.encode(account, earned, spent))`. */
export class LedgerTree {
  readonly tree: SortedMerkleTree
  private readonly positions: Map<string, number>
  private readonly entries: Map<string, LedgerEntry>

  private constructor(
    tree: SortedMerkleTree,
    positions: Map<string, number>,
    entries: Map<string, LedgerEntry>,
  ) {
    this.tree = tree
    this.positions = positions
    this.entries = entries
  }

  static async build(entries: readonly LedgerEntry[]): Promise<LedgerTree> {
    const hasher = await keccakHasher()
    const flat = new Uint8Array(entries.length * 32)
    const buf = new Uint8Array(96)
    const byAccount = new Map<string, LedgerEntry>()
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]
      const key = e.account.toLowerCase()
      if (byAccount.has(key)) throw new Error(`duplicate ledger account ${e.account}`)
      byAccount.set(key, e)
      encodeLeaf(buf, e)
      hasher.init()
      hasher.update(buf)
      flat.set(hasher.digest('binary'), i * 32)
    }
    const { tree, order } = SortedMerkleTree.build(flat, hasher)
    const positions = new Map<string, number>()
    for (let j = 0; j < order.length; j++) positions.set(entries[order[j]].account.toLowerCase(), j)
    return new LedgerTree(tree, positions, byAccount)
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

  /** The proof the Ledger contract's `claim(earned, spent, proof)` takes for this account. */
  proof(account: Address): Hex[] {
    const j = this.positions.get(account.toLowerCase())
    if (j === undefined) throw new Error(`account ${account} is not in the ledger tree`)
    return this.tree.proof(j)
  }
}

/** `keccak256(abi.encode(account, earned, spent))`, the Ledger's leaf. */
export async function ledgerLeaf(entry: LedgerEntry): Promise<Hex> {
  const hasher = await keccakHasher()
  const buf = new Uint8Array(96)
  encodeLeaf(buf, entry)
  hasher.init()
  hasher.update(buf)
  return toHex(hasher.digest('binary'))
}

function encodeLeaf(buf: Uint8Array, e: LedgerEntry) {
  writeAddress(buf, 0, e.account)
  writeUint256(buf, 32, e.earned)
  writeUint256(buf, 64, e.spent)
}
