// The receipts root a checkpoint commits to: the sorted Merkle root (OpenZeppelin's SimpleMerkleTree layout,
// protocols/common/merkle.ts) over the EIP-712 digest of each receipt the batch settled, the digest the
// serving node signed. Sorted leaves make it independent of order. A digest is keccak of a 66-byte
// preimage (0x1901 ‖ domain ‖ struct), so it cannot pass for an inner node's 64-byte one.
import type { Hex, TypedDataDomain } from 'viem'
import { SortedMerkleTree } from '../protocols/common/merkle.ts'
import { type Receipt, receiptHasher, type SignedReceipt } from '../protocols/receipts/receipt.ts'

/** The root of a batch that settled nothing. */
export const EMPTY_ROOT: Hex = `0x${'00'.repeat(32)}`

/** The receipts' EIP-712 digests, 32 bytes each, in one buffer (in the given order). */
export function receiptDigests(
  receipts: readonly (Receipt | SignedReceipt)[],
  domain: TypedDataDomain,
): Uint8Array {
  const hash = receiptHasher(domain)
  const flat = new Uint8Array(32 * receipts.length)
  for (let i = 0; i < receipts.length; i++) {
    const item = receipts[i]!
    const receipt = 'receipt' in item ? item.receipt : item
    flat.set(hash(receipt as unknown as Record<string, unknown>), 32 * i)
  }
  return flat
}

/** Sorted Merkle root over the receipts' digests; EMPTY_ROOT for none. */
export async function receiptsRoot(
  receipts: readonly (Receipt | SignedReceipt)[],
  domain: TypedDataDomain,
): Promise<Hex> {
  if (receipts.length === 0) return EMPTY_ROOT
  return (await SortedMerkleTree.fromLeafHashes(receiptDigests(receipts, domain))).root
}
