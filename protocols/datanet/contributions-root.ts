// The Merkle root a Datanet version records on chain (DatanetRegistry.publishVersion's contributionsRoot),
// so anyone can prove that one contribution was part of the version a model trained on.
//
//   leaf = keccak256(abi.encode(uint256 index, address contributor, bytes32 keccak256(contentCid bytes), uint64 bytes))
//
// `index` is the entry's position in the manifest, so the root commits to the order as well as the set
// (the tree itself sorts leaves, OpenZeppelin's SimpleMerkleTree layout). A leaf preimage is 128 bytes, an
// inner node's 64, so hashing the leaf once cannot be confused with an inner node. A Solidity verifier is
// `MerkleProof.verify(proof, root, keccak256(abi.encode(index, contributor, keccak256(cid), bytes)))`.
import type { CID } from 'multiformats/cid'
import type { Address, Hex } from 'viem'
import { OpenLedgerError } from '../common/errors.ts'
import {
  keccakHasher,
  processProof,
  SortedMerkleTree,
  toHex,
  writeAddress,
  writeUint256,
} from '../common/merkle.ts'
import type { ManifestEntry } from './manifest.ts'

export class ContributionsRootError extends OpenLedgerError<{
  code: 'EMPTY_VERSION' | 'NO_SUCH_CONTRIBUTION' | 'INVALID_CONTRIBUTION'
}> {}

/** The fields of a manifest entry that the root commits to. */
export interface ContributionLeafInput {
  contributor: Address | string
  contentCid: CID
  bytes: number | bigint
}

export interface ContributionProof {
  index: number
  leaf: Hex
  proof: Hex[]
}

const LEAF_PREIMAGE_BYTES = 128
const UINT64_MAX = (1n << 64n) - 1n

function encodeLeafPreimage(
  buf: Uint8Array,
  index: number,
  entry: ContributionLeafInput,
  cidHash: Uint8Array,
) {
  const bytes = BigInt(entry.bytes)
  if (bytes < 0n || bytes > UINT64_MAX) {
    throw new ContributionsRootError(
      { code: 'INVALID_CONTRIBUTION' },
      `contribution ${index}: size ${bytes} is not a uint64`,
    )
  }
  writeUint256(buf, 0, BigInt(index))
  try {
    writeAddress(buf, 32, entry.contributor)
  } catch {
    throw new ContributionsRootError(
      { code: 'INVALID_CONTRIBUTION' },
      `contribution ${index}: contributor ${entry.contributor} is not an address`,
    )
  }
  buf.set(cidHash, 64)
  writeUint256(buf, 96, bytes)
}

/** keccak256(abi.encode(index, contributor, keccak256(contentCid.bytes), bytes)). */
export async function contributionLeaf(index: number, entry: ContributionLeafInput): Promise<Hex> {
  const hasher = await keccakHasher()
  return toHex(leafHash(hasher, new Uint8Array(LEAF_PREIMAGE_BYTES), index, entry))
}

function leafHash(
  hasher: Awaited<ReturnType<typeof keccakHasher>>,
  buf: Uint8Array,
  index: number,
  entry: ContributionLeafInput,
): Uint8Array {
  hasher.init()
  hasher.update(entry.contentCid.bytes)
  const cidHash = hasher.digest('binary')
  encodeLeafPreimage(buf, index, entry, cidHash)
  hasher.init()
  hasher.update(buf)
  return hasher.digest('binary')
}

/** The tree over a version's contributions, in manifest order. */
export class ContributionsTree {
  readonly tree: SortedMerkleTree
  /** position[i] = sorted position of the leaf of manifest entry i */
  private readonly position: Uint32Array

  private constructor(tree: SortedMerkleTree, position: Uint32Array) {
    this.tree = tree
    this.position = position
  }

  static async build(
    entries: readonly (ContributionLeafInput | ManifestEntry)[],
  ): Promise<ContributionsTree> {
    if (entries.length === 0)
      throw new ContributionsRootError({ code: 'EMPTY_VERSION' }, 'a version needs at least one contribution')
    const hasher = await keccakHasher()
    const flat = new Uint8Array(entries.length * 32)
    const buf = new Uint8Array(LEAF_PREIMAGE_BYTES)
    for (let i = 0; i < entries.length; i++) flat.set(leafHash(hasher, buf, i, entries[i]), i * 32)
    const { tree, order } = SortedMerkleTree.build(flat, hasher)
    const position = new Uint32Array(entries.length)
    for (let j = 0; j < order.length; j++) position[order[j]] = j
    return new ContributionsTree(tree, position)
  }

  get root(): Hex {
    return this.tree.root
  }

  get count(): number {
    return this.tree.leafCount
  }

  /** The proof for manifest entry `index`, as OpenZeppelin's MerkleProof.verify expects. */
  proof(index: number): ContributionProof {
    if (!Number.isInteger(index) || index < 0 || index >= this.position.length) {
      throw new ContributionsRootError(
        { code: 'NO_SUCH_CONTRIBUTION' },
        `no contribution at index ${index} (the version has ${this.position.length})`,
      )
    }
    const j = this.position[index]
    return { index, leaf: this.tree.leaf(j), proof: this.tree.proof(j) }
  }
}

/** The contributionsRoot of a version whose manifest lists `entries` in this order. */
export async function contributionsRoot(
  entries: readonly (ContributionLeafInput | ManifestEntry)[],
): Promise<Hex> {
  return (await ContributionsTree.build(entries)).root
}

/** True when contribution `entry` at manifest position `index` is in the version with `root`. */
export async function verifyContribution(
  root: Hex,
  index: number,
  entry: ContributionLeafInput,
  proof: readonly Hex[],
): Promise<boolean> {
  const leaf = await contributionLeaf(index, entry)
  return (await processProof(leaf, proof)) === root.toLowerCase()
}
