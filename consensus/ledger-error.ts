// The pure ledger's typed error: input it cannot apply (a malformed state, context or receipt). A receipt
// that is well formed but cannot be settled (unknown model, overspending client) is not an error: the
// ledger leaves it out and says why (LedgerRejection in ledger.ts), as the batch must still checkpoint.
import { OpenLedgerError } from '../protocols/common/errors.ts'

export type LedgerErrorCode =
  /** the fee split's basis points are not six uint16 summing to 10,000 */
  | 'LEDGER_BAD_FEE_SPLIT'
  /** treasury, owners, contributors, validators or funded balances malformed */
  | 'LEDGER_BAD_CONTEXT'
  /** the cumulative state is malformed: keys, indexes, amounts */
  | 'LEDGER_BAD_STATE'
  /** a receipt no verified receipt can be: negative fee, attribution weights above 1,000,000 ppm */
  | 'LEDGER_BAD_RECEIPT'
  /** two receipts of the batch carry one requestId */
  | 'LEDGER_DUPLICATE_REQUEST'
  /** a cumulative amount left the contract's uint128 */
  | 'LEDGER_OVERFLOW'

export class LedgerError extends OpenLedgerError<{ code: LedgerErrorCode }> {}

export const ledgerError = (code: LedgerErrorCode, message: string) => new LedgerError({ code }, message)
