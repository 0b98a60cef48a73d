// The typed errors of the payment commands (deposit, withdraw, balance), and the one place that turns a
// Ledger or token revert into one of them by the custom error's name, so a user reads "locked until
// <time>" rather than a hex selector, and a test asserts on a code.
import { formatUnits } from 'viem'
import { decodeRevert, failureMessage } from '../../../protocols/common/contract-errors.ts'
import { OpenLedgerError } from '../../../protocols/common/errors.ts'

export type LedgerCommandErrorCode =
  | 'NO_CHAIN' // chain_rpc not configured
  | 'NO_LEDGER' // ledger_address not configured, or no contract there
  | 'NO_ACCOUNT' // a command that signs was given no data dir, or its password file is unreadable
  | 'INVALID_AMOUNT' // malformed, zero, negative, or finer than the token's decimals
  | 'INVALID_ADDRESS'
  | 'INSUFFICIENT_WALLET_BALANCE' // deposit: the wallet holds less OPEN than asked
  | 'INSUFFICIENT_AVAILABLE' // withdraw request: more than the Ledger's available balance
  | 'NO_PENDING_WITHDRAWAL'
  | 'WITHDRAWAL_LOCKED' // before unlockAt
  | 'AWAITING_CHECKPOINT' // after unlockAt, but no checkpoint has landed since
  | 'CONTRACT_REVERTED' // any other named revert
  | 'TRANSACTION_REVERTED' // simulated fine, then reverted when mined (the state moved in between)
  | 'CHAIN_FAILED' // the RPC failed or answered something that is not a revert

export class LedgerCommandError extends OpenLedgerError<{
  code: LedgerCommandErrorCode
  /** the contract's custom error, when the chain refused */
  revert?: string
  /** unix seconds the reserved amount unlocks at (WITHDRAWAL_LOCKED, AWAITING_CHECKPOINT) */
  unlockAt?: number
}> {}

export const isoTime = (unixSeconds: bigint | number) => new Date(Number(unixSeconds) * 1000).toISOString()

/** What the messages need to speak in OPEN and in time left. */
export interface RevertContext {
  decimals: number
  /** the chain's latest block time, to say how long a lock still runs */
  chainTime?: bigint
}

/** A failed simulation or call as a LedgerCommandError: named reverts get their own code and words. */
export function ledgerFailure(err: unknown, ctx: RevertContext): LedgerCommandError {
  const revert = decodeRevert(err)
  if (!revert)
    return new LedgerCommandError({ code: 'CHAIN_FAILED' }, `the chain call failed: ${failureMessage(err)}`)
  const open = (wei: unknown) => `${formatUnits(wei as bigint, ctx.decimals)} OPEN`
  const fail = (code: LedgerCommandErrorCode, message: string, unlockAt?: bigint) =>
    new LedgerCommandError(
      { code, revert: revert.name, ...(unlockAt === undefined ? {} : { unlockAt: Number(unlockAt) }) },
      message,
    )
  const [a, b] = revert.args
  switch (revert.name) {
    case 'WithdrawalLocked': {
      const left =
        ctx.chainTime === undefined
          ? ''
          : `, ${(a as bigint) - ctx.chainTime} s after the chain's latest block`
      return fail(
        'WITHDRAWAL_LOCKED',
        `the withdrawal is locked until ${isoTime(a as bigint)}${left}; after that it also waits for a checkpoint landed at or after that time`,
        a as bigint,
      )
    }
    case 'AwaitingCheckpoint':
      return fail(
        'AWAITING_CHECKPOINT',
        `the withdrawal unlocked at ${isoTime(a as bigint)}, but no checkpoint has landed since; it can be executed once one does (receipts signed before the request settle first)`,
        a as bigint,
      )
    case 'NoPendingWithdrawal':
      return fail(
        'NO_PENDING_WITHDRAWAL',
        'no withdrawal is pending: request one with `openledger withdraw request AMOUNT`',
      )
    case 'InsufficientAvailable':
      return fail(
        'INSUFFICIENT_AVAILABLE',
        `asked for ${open(a)}, but only ${open(b)} is available (deposited − spent − reserved)`,
      )
    case 'ZeroAmount':
      return fail('INVALID_AMOUNT', 'the amount must be more than 0')
    default:
      return fail(
        'CONTRACT_REVERTED',
        `the contract refused with ${revert.name}(${revert.args.map(String).join(', ')}): ${failureMessage(err)}`,
      )
  }
}
