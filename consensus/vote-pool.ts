// Checkpoint votes as they arrive (issue 13): each is checked against the epoch's fixed validator set,
// tallied by checkpoint digest, and reported as a quorum once its signers hold more than two thirds of the
// set's stake (the Ledger's rule: signedStake * 3 > totalStake * 2). Two votes of one signer for one
// (epoch, round) with different digests are equivocation: the pool keeps the first and returns both as
// evidence, which anyone may submit to `Ledger.slashEquivocation`.
//
// Bounded: only the epochs the caller keeps (prune), at most `maxRounds` rounds per epoch, and at most one
// vote per (signer, epoch, round) besides the evidence. Signatures are recovered once per vote (a few per
// epoch) with the native binding, canonical signatures only.
import { type Address, type Hex, hexToBytes, type TypedDataDomain } from 'viem'
import {
  type CheckpointMessage,
  checkpointDigest,
  orderSignatures,
  type ValidatorEntry,
} from '../contracts/typedData.ts'
import { OpenLedgerError } from '../protocols/common/errors.ts'
import { recoverDigestSigner } from '../protocols/common/signatures.ts'
import type { Vote } from './consensus-wire.ts'

export type VotePoolErrorCode =
  | 'VOTE_BAD_SIGNATURE'
  | 'VOTE_NOT_IN_SET'
  | 'VOTE_SET_MISMATCH'
  | 'VOTE_ROUND_TOO_HIGH'

export class VotePoolError extends OpenLedgerError<{ code: VotePoolErrorCode }> {}

/** The validator set fixed for one epoch, as Staking committed it. */
export interface EpochSet {
  validators: readonly ValidatorEntry[]
  hash: Hex
  totalStake: bigint
}

export interface Equivocation {
  signer: Address
  first: Vote
  second: Vote
}

export interface Quorum {
  checkpoint: CheckpointMessage
  digest: Hex
  votes: { signer: Address; signature: Hex }[]
  signedStake: bigint
}

export type AddVoteResult =
  | { result: 'added'; signer: Address; quorum?: Quorum }
  | { result: 'duplicate'; signer: Address }
  | { result: 'equivocation'; signer: Address; evidence: Equivocation }

interface RoundVotes {
  bySigner: Map<string, { digest: Hex; vote: Vote }>
  byDigest: Map<
    Hex,
    { checkpoint: CheckpointMessage; votes: Map<string, { signer: Address; signature: Hex }>; stake: bigint }
  >
}

export const DEFAULT_MAX_ROUNDS = 64

export class VotePool {
  private readonly rounds = new Map<string, RoundVotes>()
  private readonly maxRounds: number

  constructor(
    private readonly domain: TypedDataDomain,
    options: { maxRounds?: number } = {},
  ) {
    this.maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS
  }

  /** Checks and tallies one vote; throws a VotePoolError for a vote that does not count. */
  add(vote: Vote, set: EpochSet): AddVoteResult {
    const cp = vote.checkpoint
    if (cp.round >= this.maxRounds)
      throw new VotePoolError({ code: 'VOTE_ROUND_TOO_HIGH' }, `round ${cp.round} is past ${this.maxRounds}`)
    if (cp.validatorSetHash.toLowerCase() !== set.hash.toLowerCase())
      throw new VotePoolError(
        { code: 'VOTE_SET_MISMATCH' },
        `the vote commits to another validator set than epoch ${cp.epoch}'s`,
      )
    const digest = checkpointDigest(this.domain, cp)
    // The canonical form only (low s, v 27/28), the one the Ledger's ECDSA accepts: a vote it would refuse
    // must not count toward a quorum that is then submitted.
    const recovered = recoverDigestSigner(hexToBytes(digest), hexToBytes(vote.signature))
    if (recovered === undefined)
      throw new VotePoolError({ code: 'VOTE_BAD_SIGNATURE' }, 'the vote signature does not recover')
    const signer = recovered
    const member = set.validators.find((v) => v.signer.toLowerCase() === signer.toLowerCase())
    if (member === undefined)
      throw new VotePoolError(
        { code: 'VOTE_NOT_IN_SET' },
        `${signer} is not in epoch ${cp.epoch}'s validator set`,
      )
    const key = `${cp.epoch}:${cp.round}`
    let round = this.rounds.get(key)
    if (round === undefined) {
      round = { bySigner: new Map(), byDigest: new Map() }
      this.rounds.set(key, round)
    }
    const id = signer.toLowerCase()
    const earlier = round.bySigner.get(id)
    if (earlier !== undefined)
      return earlier.digest === digest
        ? { result: 'duplicate', signer }
        : { result: 'equivocation', signer, evidence: { signer, first: earlier.vote, second: vote } }
    round.bySigner.set(id, { digest, vote })
    let tally = round.byDigest.get(digest)
    if (tally === undefined) {
      tally = { checkpoint: cp, votes: new Map(), stake: 0n }
      round.byDigest.set(digest, tally)
    }
    tally.votes.set(id, { signer, signature: vote.signature })
    tally.stake += member.stake
    const quorum = tally.stake * 3n > set.totalStake * 2n
    return {
      result: 'added',
      signer,
      quorum: quorum
        ? { checkpoint: tally.checkpoint, digest, votes: [...tally.votes.values()], signedStake: tally.stake }
        : undefined,
    }
  }

  /** Signers who voted in (epoch, round), and for which digest. */
  votesOf(epoch: bigint, round: number): Map<string, Hex> {
    const r = this.rounds.get(`${epoch}:${round}`)
    return new Map([...(r?.bySigner ?? new Map()).entries()].map(([k, v]) => [k, v.digest]))
  }

  /** Drops every round of epochs below `epoch`. */
  prune(epoch: bigint): void {
    for (const key of [...this.rounds.keys()]) if (BigInt(key.split(':')[0]!) < epoch) this.rounds.delete(key)
  }
}

/** The `signatures` argument of `Ledger.checkpoint` for a quorum: each signer's index, sorted by signer. */
export function quorumSignatures(set: EpochSet, quorum: Quorum) {
  return orderSignatures(set.validators, quorum.votes)
}
