// The wire form of openledger/consensus/1 (pb/consensus.proto): votes and proposals. Decoding trusts
// nothing: the size is bounded before protons reads, lists while it reads, and every value that does not
// fit the contract's type is CONSENSUS_MALFORMED. Signatures are checked by the vote pool, not here.
//
// A proposal is the round's proposer's own vote plus `snapshotBlock` (the chain state its receipts are
// checked against), which the proposer signs as EIP-712 `Proposal {epoch, round, snapshotBlock,
// checkpointDigest}`: every field a validator decides on is signed by someone.
import { type Address, getAddress, type Hex, hashTypedData, type TypedDataDomain, toHex } from 'viem'
import { type CheckpointMessage, checkpointDigest } from '../contracts/typedData.ts'
import { uint256FromBytes, uint256ToBytes } from '../protocols/common/bytes.ts'
import { OpenLedgerError } from '../protocols/common/errors.ts'
import { ConsensusMessage as ConsensusMessagePb } from './pb/consensus.ts'

export class ConsensusWireError extends OpenLedgerError<{ code: 'CONSENSUS_MALFORMED' }> {}

/** The most clients one checkpoint settles (each is about 45 bytes on the wire). */
export const MAX_CHECKPOINT_TOTALS = 20_000
export const MAX_RECEIPTS_CID_LENGTH = 128
export const CONSENSUS_MAX_BYTES = 64 * 1024 + MAX_CHECKPOINT_TOTALS * 48

export interface Vote {
  checkpoint: CheckpointMessage
  /** 65 bytes: the signer's EIP-712 Checkpoint signature */
  signature: Hex
}

export interface Proposal extends Vote {
  snapshotBlock: bigint
  /** 65 bytes: EIP-712 Proposal by the same signer */
  proposalSignature: Hex
}

export type ConsensusMessage = { kind: 'vote'; vote: Vote } | { kind: 'proposal'; proposal: Proposal }

export const proposalTypes = {
  Proposal: [
    { name: 'epoch', type: 'uint64' },
    { name: 'round', type: 'uint32' },
    { name: 'snapshotBlock', type: 'uint64' },
    { name: 'checkpointDigest', type: 'bytes32' },
  ],
} as const

/** The EIP-712 digest a proposer signs for its proposal. */
export function proposalDigest(
  domain: TypedDataDomain,
  checkpoint: CheckpointMessage,
  snapshotBlock: bigint,
): Hex {
  return hashTypedData({
    domain,
    types: proposalTypes,
    primaryType: 'Proposal',
    message: {
      epoch: checkpoint.epoch,
      round: checkpoint.round,
      snapshotBlock,
      checkpointDigest: checkpointDigest(domain, checkpoint),
    },
  })
}

const bytes = (hex: Hex): Uint8Array<ArrayBuffer> => Uint8Array.from(Buffer.from(hex.slice(2), 'hex'))

export function encodeConsensusMessage(m: ConsensusMessage): Uint8Array {
  const vote = m.kind === 'vote' ? m.vote : m.proposal
  const cp = vote.checkpoint
  return ConsensusMessagePb.encode({
    checkpoint: {
      epoch: cp.epoch,
      round: cp.round,
      parentRoot: bytes(cp.parentRoot),
      stateRoot: bytes(cp.stateRoot),
      receiptsRoot: bytes(cp.receiptsRoot),
      receiptsCid: cp.receiptsCid,
      validatorSetHash: bytes(cp.validatorSetHash),
      feeSplit: { ...cp.feeSplit },
      totalEarned: uint256ToBytes(cp.totalEarned),
      totals: cp.totals.map((t) => ({ client: bytes(t.client), spent: uint256ToBytes(t.spent) })),
    },
    voteSignature: bytes(vote.signature),
    snapshotBlock: m.kind === 'proposal' ? m.proposal.snapshotBlock : 0n,
    proposalSignature: m.kind === 'proposal' ? bytes(m.proposal.proposalSignature) : new Uint8Array(0),
  })
}

const malformed = (why: string) =>
  new ConsensusWireError({ code: 'CONSENSUS_MALFORMED' }, `consensus message: ${why}`)
const UINT128_MAX = (1n << 128n) - 1n
const BPS = 10_000

export function decodeConsensusMessage(data: Uint8Array): ConsensusMessage {
  if (data.length > CONSENSUS_MAX_BYTES) throw malformed(`${data.length} bytes, over ${CONSENSUS_MAX_BYTES}`)
  let pb: ConsensusMessagePb
  try {
    pb = ConsensusMessagePb.decode(data, { limits: { checkpoint: { totals: MAX_CHECKPOINT_TOTALS } } })
  } catch (err) {
    throw malformed(`does not decode: ${(err as Error).message}`)
  }
  const c = pb.checkpoint
  if (c === undefined || c.feeSplit === undefined) throw malformed('no checkpoint')
  if (c.totals.length > MAX_CHECKPOINT_TOTALS) throw malformed(`over ${MAX_CHECKPOINT_TOTALS} totals`)
  if (c.round > 2 ** 32 - 1) throw malformed('round is a uint32')
  for (const field of ['parentRoot', 'stateRoot', 'receiptsRoot', 'validatorSetHash'] as const)
    if (c[field].length !== 32) throw malformed(`${field} is 32 bytes`)
  if (c.receiptsCid.length > MAX_RECEIPTS_CID_LENGTH) throw malformed('receiptsCid is too long')
  const split = c.feeSplit
  const shares = [
    split.node,
    split.modelOwner,
    split.adapterOwner,
    split.contributors,
    split.validators,
    split.treasury,
  ]
  if (shares.some((s) => s > BPS) || shares.reduce((a, b) => a + b, 0) !== BPS)
    throw malformed('the fee split is basis points summing to 10,000')
  const uint128 = (field: string, value: Uint8Array): bigint => {
    const v = uint256FromBytes(value)
    if (v === undefined || v > UINT128_MAX) throw malformed(`${field} is not a minimal uint128`)
    return v
  }
  let previous = -1n
  const totals = c.totals.map((t, i) => {
    if (t.client.length !== 20) throw malformed('a total names no 20-byte client')
    const key = BigInt(toHex(t.client))
    if (key <= previous) throw malformed(`totals are sorted by client, each once (at ${i})`)
    previous = key
    return { client: getAddress(toHex(t.client)) as Address, spent: uint128('spent', t.spent) }
  })
  if (pb.voteSignature.length !== 65) throw malformed('the vote signature is 65 bytes')
  const checkpoint: CheckpointMessage = {
    epoch: c.epoch,
    round: c.round,
    parentRoot: toHex(c.parentRoot),
    stateRoot: toHex(c.stateRoot),
    receiptsRoot: toHex(c.receiptsRoot),
    receiptsCid: c.receiptsCid,
    validatorSetHash: toHex(c.validatorSetHash),
    feeSplit: { ...split },
    totalEarned: uint128('totalEarned', c.totalEarned),
    totals,
  }
  const vote = { checkpoint, signature: toHex(pb.voteSignature) }
  if (pb.proposalSignature.length === 0) {
    if (pb.snapshotBlock !== 0n) throw malformed('a vote carries no snapshot block')
    return { kind: 'vote', vote }
  }
  if (pb.proposalSignature.length !== 65) throw malformed('the proposal signature is 65 bytes')
  return {
    kind: 'proposal',
    proposal: { ...vote, snapshotBlock: pb.snapshotBlock, proposalSignature: toHex(pb.proposalSignature) },
  }
}
