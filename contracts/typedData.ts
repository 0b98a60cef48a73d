// EIP-712 typed data for checkpoint votes, exactly what Ledger.sol hashes (CHECKPOINT_TYPEHASH), so the
// consensus code signs with viem (`signTypedData`) and the contract verifies the same bytes. The domain is
// the network's one domain, `openLedgerDomain({chainId, ledger})` from protocols/common/eip712.ts; it is
// passed in rather than imported so contracts/ stays the bottom layer (see DESIGN.md "Layout").
import {
  type Address,
  type Hex,
  hashTypedData,
  parseSignature,
  recoverTypedDataAddress,
  signatureToCompactSignature,
  type TypedDataDomain,
} from 'viem'

export const CHECKPOINT_PRIMARY_TYPE = 'Checkpoint'

export const checkpointTypes = {
  Checkpoint: [
    { name: 'epoch', type: 'uint64' },
    { name: 'round', type: 'uint32' },
    { name: 'parentRoot', type: 'bytes32' },
    { name: 'stateRoot', type: 'bytes32' },
    { name: 'receiptsRoot', type: 'bytes32' },
    { name: 'receiptsCid', type: 'string' },
    { name: 'totals', type: 'Spend[]' },
  ],
  Spend: [
    { name: 'client', type: 'address' },
    { name: 'spent', type: 'uint128' },
  ],
} as const

/** A client's cumulative spending after the checkpoint. */
export interface Spend {
  client: Address
  spent: bigint
}

/** The Ledger's `Checkpoint` struct and the vote message; `totals` sorted by client address. */
export interface CheckpointMessage {
  epoch: bigint
  round: number
  parentRoot: Hex
  stateRoot: Hex
  receiptsRoot: Hex
  receiptsCid: string
  totals: readonly Spend[]
}

/** One active-set entry, as `Staking.activeValidators()` returns it. */
export interface ValidatorEntry {
  signer: Address
  stake: bigint
}

/** The Ledger's `Signature` struct: position of the signer in the validator set, EIP-2098 compact sig. */
export interface IndexedSignature {
  index: bigint
  r: Hex
  vs: Hex
}

export interface CompactSignature {
  r: Hex
  vs: Hex
}

/** The argument for viem's `signTypedData` / `account.signTypedData`. */
export function checkpointTypedData(domain: TypedDataDomain, message: CheckpointMessage) {
  return {
    domain,
    types: checkpointTypes,
    primaryType: CHECKPOINT_PRIMARY_TYPE,
    message: { ...message, totals: [...message.totals] },
  } as const
}

export function checkpointDigest(domain: TypedDataDomain, message: CheckpointMessage): Hex {
  return hashTypedData(checkpointTypedData(domain, message))
}

export function recoverCheckpointSigner(domain: TypedDataDomain, message: CheckpointMessage, signature: Hex) {
  return recoverTypedDataAddress({ ...checkpointTypedData(domain, message), signature })
}

/** 65-byte signature → EIP-2098 {r, vs}, the form the Ledger takes. */
export function toCompactSignature(signature: Hex): CompactSignature {
  const { r, yParityAndS } = signatureToCompactSignature(parseSignature(signature))
  return { r, vs: yParityAndS }
}

/** Sorts clients' spending by address, as `checkpoint` requires (each client once). */
export function sortTotals(totals: readonly Spend[]): Spend[] {
  return [...totals].sort((a, b) => compareAddresses(a.client, b.client))
}

/**
 * Turns collected votes into the `signatures` argument of `Ledger.checkpoint`: each signer located in the
 * validator set, sorted by signer address. Votes from signers outside the set are dropped.
 */
export function orderSignatures(
  validators: readonly ValidatorEntry[],
  votes: readonly { signer: Address; signature: Hex }[],
): IndexedSignature[] {
  const position = new Map(validators.map((v, i) => [v.signer.toLowerCase(), i]))
  return votes
    .filter((v) => position.has(v.signer.toLowerCase()))
    .sort((a, b) => compareAddresses(a.signer, b.signer))
    .map((v) => ({
      index: BigInt(position.get(v.signer.toLowerCase())!),
      ...toCompactSignature(v.signature),
    }))
}

export function compareAddresses(a: Address, b: Address): number {
  const x = BigInt(a)
  const y = BigInt(b)
  return x < y ? -1 : x > y ? 1 : 0
}
