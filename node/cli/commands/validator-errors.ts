// The typed errors of `openledger validator`, and the one place that turns a Staking (or OPEN) revert
// into one of them by the custom error's name. The configuration, account and amount errors the payment
// commands share (NO_CHAIN, NO_ACCOUNT, INVALID_AMOUNT, ...) stay LedgerCommandErrors: the same session
// and the same amount parser raise them.
import { formatUnits } from 'viem'
import { decodeRevert, failureMessage } from '../../../protocols/common/contract-errors.ts'
import { OpenLedgerError } from '../../../protocols/common/errors.ts'
import { isoTime } from './ledger-errors.ts'

export type ValidatorCommandErrorCode =
  | 'ALREADY_REGISTERED' // the staker is in the set already
  | 'BANNED' // slashed for equivocation: never registers again
  | 'SIGNER_TAKEN' // the signer key is bound to another staker
  | 'BELOW_MINIMUM_STAKE' // register, or what an unstake would leave bonded
  | 'VALIDATOR_SET_FULL' // the set is full and the stake does not exceed its smallest
  | 'INSUFFICIENT_WALLET_BALANCE' // register: the staker's wallet holds less OPEN
  | 'NOT_ACTIVE' // unstake: the staker is not in the set
  | 'INSUFFICIENT_STAKE' // unstake: more than is bonded
  | 'NOTHING_TO_WITHDRAW'
  | 'UNBONDING_NOT_FINISHED' // withdraw: before the unbonding delay has passed
  | 'AWAITING_EPOCH' // withdraw: an epoch whose set still counts the stake is not checkpointed yet
  | 'INVALID_STAKER_KEY' // --staker-key-file unreadable or not a private key
  | 'PROOF_INVALID' // a proof of possession failed its local check (nothing was sent)
  | 'STAKING_MISMATCH' // staking_address differs from the Ledger's Staking
  | 'CONTRACT_REVERTED' // any other named revert
  | 'TRANSACTION_REVERTED' // simulated fine, then reverted when mined (the state moved in between)
  | 'CHAIN_FAILED' // the RPC failed or answered something that is not a revert

export class ValidatorCommandError extends OpenLedgerError<{
  code: ValidatorCommandErrorCode
  /** the contract's custom error, when the chain refused */
  revert?: string
  /** unix seconds the unbonding stake becomes withdrawable (UNBONDING_NOT_FINISHED) */
  unbondingEnd?: number
  /** the epoch that must be checkpointed before a withdrawal (AWAITING_EPOCH) */
  releaseEpoch?: number
}> {}

/** A failed simulation or call as a ValidatorCommandError: named reverts get their own code and words. */
export function stakingFailure(err: unknown, decimals: number): ValidatorCommandError {
  const revert = decodeRevert(err)
  if (!revert)
    return new ValidatorCommandError(
      { code: 'CHAIN_FAILED' },
      `the chain call failed: ${failureMessage(err)}`,
    )
  const open = (wei: unknown) => `${formatUnits(wei as bigint, decimals)} OPEN`
  const fail = (code: ValidatorCommandErrorCode, message: string, extra: object = {}) =>
    new ValidatorCommandError({ code, revert: revert.name, ...extra }, message)
  const [a, b] = revert.args
  switch (revert.name) {
    case 'AlreadyRegistered':
      return fail('ALREADY_REGISTERED', `${a} is already a validator: see \`openledger validator status\``)
    case 'Banned':
      return fail('BANNED', `${a} was slashed for equivocation and can never register again`)
    case 'SignerTaken':
      return fail(
        'SIGNER_TAKEN',
        `the signer ${a} is bound to the staker ${b}; only that staker can register it`,
      )
    case 'BelowMinimumStake':
      return fail('BELOW_MINIMUM_STAKE', `a stake of ${open(a)} is below the minimum of ${open(b)}`)
    case 'ValidatorSetFull':
      return fail(
        'VALIDATOR_SET_FULL',
        `the set is full (${a} validators): a new stake must exceed its smallest, ${open(b)}`,
      )
    case 'ERC20InsufficientBalance':
      return fail('INSUFFICIENT_WALLET_BALANCE', `the wallet of ${a} holds ${open(b)}, less than the stake`)
    case 'NotActive':
      return fail('NOT_ACTIVE', `${a} is not an active validator`)
    case 'InsufficientStake':
      return fail('INSUFFICIENT_STAKE', `cannot unstake ${open(a)}: ${open(b)} is bonded`)
    case 'NothingToWithdraw':
      return fail('NOTHING_TO_WITHDRAW', 'nothing is unbonding: `openledger validator unstake` first')
    case 'UnbondingNotFinished':
      return fail(
        'UNBONDING_NOT_FINISHED',
        `the unbonding stake is withdrawable from ${isoTime(a as bigint)} (chain time)`,
        { unbondingEnd: Number(a) },
      )
    case 'AwaitingEpoch':
      return fail(
        'AWAITING_EPOCH',
        `the unbonding stake still counts in epoch ${a}'s validator set: it is withdrawable once epoch ${a} is checkpointed`,
        { releaseEpoch: Number(a) },
      )
    case 'InvalidSignerProof':
    case 'InvalidPeerId':
    case 'InvalidPeerIdProof':
      return fail('PROOF_INVALID', `Staking refused the registration's proofs (${revert.name})`)
    default:
      return fail(
        'CONTRACT_REVERTED',
        `the contract refused with ${revert.name}(${revert.args.map(String).join(', ')}): ${failureMessage(err)}`,
      )
  }
}
