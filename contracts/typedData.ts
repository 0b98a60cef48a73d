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
    { name: 'validatorSetHash', type: 'bytes32' },
    { name: 'feeSplit', type: 'FeeSplit' },
    { name: 'totalEarned', type: 'uint128' },
    { name: 'totals', type: 'Spend[]' },
  ],
  FeeSplit: [
    { name: 'node', type: 'uint16' },
    { name: 'modelOwner', type: 'uint16' },
    { name: 'adapterOwner', type: 'uint16' },
    { name: 'contributors', type: 'uint16' },
    { name: 'validators', type: 'uint16' },
    { name: 'treasury', type: 'uint16' },
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

/** Shares of every fee in basis points (sum 10,000), as `Ledger.feeSplitFor(epoch)` returns them. */
export interface FeeSplitMessage {
  node: number
  modelOwner: number
  adapterOwner: number
  contributors: number
  validators: number
  treasury: number
}

/**
 * The Ledger's `Checkpoint` struct and the vote message; `totals` sorted by client address. The vote
 * commits to the epoch's validator set (`Staking.setHashFor(epoch)`), its fee split
 * (`Ledger.feeSplitFor(epoch)`) and the sum of `earned` over the state tree's leaves.
 */
export interface CheckpointMessage {
  epoch: bigint
  round: number
  parentRoot: Hex
  stateRoot: Hex
  receiptsRoot: Hex
  receiptsCid: string
  validatorSetHash: Hex
  feeSplit: FeeSplitMessage
  totalEarned: bigint
  totals: readonly Spend[]
}

/** One validator-set entry, as `Staking.activeValidators()` and `ValidatorSetCommitted` carry it. */
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
    message: { ...message, feeSplit: { ...message.feeSplit }, totals: [...message.totals] },
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
