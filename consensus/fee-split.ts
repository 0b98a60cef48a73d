// The fee split, in basis points, exactly as the Ledger contract's FeeSplit struct holds it (six uint16
// summing to 10,000); consensus reads it from the contract at the snapshot block (`feeSplitFor(epoch)`).
import { ledgerError } from './ledger-error.ts'

export interface FeeSplit {
  node: number
  modelOwner: number
  adapterOwner: number
  contributors: number
  validators: number
  treasury: number
}

export const FEE_ROLES = [
  'node',
  'modelOwner',
  'adapterOwner',
  'contributors',
  'validators',
  'treasury',
] as const
export type FeeRole = (typeof FEE_ROLES)[number]

export const BPS = 10_000

/** Throws LEDGER_BAD_FEE_SPLIT unless every share is a uint16 and they sum to 10,000 (the contract's rule). */
export function checkFeeSplit(split: FeeSplit): void {
  let sum = 0
  for (const role of FEE_ROLES) {
    const bps = split?.[role]
    if (!Number.isInteger(bps) || bps < 0 || bps > 0xffff)
      throw ledgerError(
        'LEDGER_BAD_FEE_SPLIT',
        `fee split: ${role} must be a uint16 of basis points, not ${bps}`,
      )
    sum += bps
  }
  if (sum !== BPS)
    throw ledgerError('LEDGER_BAD_FEE_SPLIT', `fee split sums to ${sum} basis points, not ${BPS}`)
}
