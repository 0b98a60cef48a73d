// Amounts of OPEN as a person types them ("1.5"), in the token's smallest unit. viem's parseUnits reads the
// number but rounds digits beyond the token's decimals; a payment refuses them instead, so what is sent is
// exactly what was typed.
import { formatUnits, parseUnits } from 'viem'
import { LedgerCommandError } from './ledger-errors.ts'

const invalid = (text: string, why: string) =>
  new LedgerCommandError({ code: 'INVALID_AMOUNT' }, `amount ${JSON.stringify(text)}: ${why}`)

/** A positive amount of a token with `decimals`; throws INVALID_AMOUNT for anything else. */
export function parseOpenAmount(text: string, decimals: number): bigint {
  let amount: bigint
  try {
    amount = parseUnits(text, decimals)
  } catch {
    throw invalid(text, 'not a decimal number of OPEN (such as 1.5)')
  }
  const fraction = (text.split('.')[1] ?? '').replace(/0+$/, '')
  if (fraction.length > decimals) throw invalid(text, `OPEN has only ${decimals} decimals`)
  if (amount < 0n) throw invalid(text, 'must not be negative')
  if (amount === 0n) throw invalid(text, 'must be more than 0')
  return amount
}

export const formatOpen = (wei: bigint, decimals: number) => `${formatUnits(wei, decimals)} OPEN`
