// Who proposes the checkpoint of (epoch, round): a stake-weighted draw over the epoch's fixed validator
// set, computed the same on every validator from public data alone (the set's hash, the epoch, the round).
//
// draw = keccak256(abi.encode(setHash, epoch, round)) mod totalStake, then the validator whose cumulative
// stake range (in the set's own order, the order Staking commits and the Ledger verifies) holds the draw.
// Over many (epoch, round) pairs each validator proposes in proportion to its stake; a round that gets no
// quorum in time moves to round + 1, a fresh draw, so one absent or byzantine proposer cannot stall an
// epoch. Nobody can steer the draw: the set hash is fixed before the epoch starts.
import { encodeAbiParameters, type Hex, hexToBigInt, keccak256 } from 'viem'
import type { ValidatorEntry } from '../contracts/typedData.ts'
import { OpenLedgerError } from '../protocols/common/errors.ts'

export class ProposerError extends OpenLedgerError<{ code: 'EMPTY_VALIDATOR_SET' | 'BAD_EPOCH_ROUND' }> {}

/** The draw for (epoch, round): a uint256 from the set's hash. */
export function proposerDraw(setHash: Hex, epoch: bigint, round: number): bigint {
  if (epoch < 0n || epoch >= 1n << 64n || !Number.isInteger(round) || round < 0 || round > 2 ** 32 - 1)
    throw new ProposerError({ code: 'BAD_EPOCH_ROUND' }, `(epoch ${epoch}, round ${round}) is out of range`)
  return hexToBigInt(
    keccak256(
      encodeAbiParameters(
        [{ type: 'bytes32' }, { type: 'uint64' }, { type: 'uint32' }],
        [setHash, epoch, round],
      ),
    ),
  )
}

/** The position in `validators` of the proposer for (epoch, round). */
export function proposerIndex(
  validators: readonly ValidatorEntry[],
  setHash: Hex,
  epoch: bigint,
  round: number,
): number {
  let total = 0n
  for (const v of validators) total += v.stake
  if (validators.length === 0 || total === 0n)
    throw new ProposerError({ code: 'EMPTY_VALIDATOR_SET' }, `no validator holds stake in epoch ${epoch}`)
  let point = proposerDraw(setHash, epoch, round) % total
  for (let i = 0; i < validators.length; i++) {
    const stake = validators[i]!.stake
    if (point < stake) return i
    point -= stake
  }
  throw new Error('unreachable: the draw is below the total stake')
}
