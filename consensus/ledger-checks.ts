// Checks of the ledger's input that need no receipt: the cumulative state and the chain context. Each
// throws a LedgerError with its code.
import type { Address } from 'viem'
import type { LedgerContext, LedgerState } from './ledger.ts'
import { ledgerError } from './ledger-error.ts'

export const UINT128 = 1n << 128n
const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const LOWER_ADDRESS = /^0x[0-9a-f]{40}$/

export function checkState(state: LedgerState): void {
  const bad = (why: string): never => {
    throw ledgerError('LEDGER_BAD_STATE', `ledger state: ${why}`)
  }
  const accounts = state?.accounts
  if (!(accounts instanceof Map)) bad('accounts must be a Map')
  const n = accounts.size
  if (state.nextIndex !== n) bad(`nextIndex ${state.nextIndex} is not the number of accounts, ${n}`)
  const seen = new Uint8Array(n)
  for (const [key, e] of accounts) {
    if (typeof key !== 'string' || !LOWER_ADDRESS.test(key) || e?.account !== key)
      bad(`${String(key)} is not a lowercase address keying its own entry`)
    if (!Number.isInteger(e.index) || e.index < 0 || e.index >= n || seen[e.index] === 1)
      bad(`${key} has index ${e.index}, out of range or used twice`)
    seen[e.index] = 1
    if (typeof e.earned !== 'bigint' || e.earned < 0n || e.earned >= UINT128)
      bad(`${key} has earned ${e.earned}, not a uint128`)
    if (typeof e.spent !== 'bigint' || e.spent < 0n || e.spent >= UINT128)
      bad(`${key} has spent ${e.spent}, not a uint128`)
  }
}

export function checkContext(context: LedgerContext): void {
  const bad = (why: string): never => {
    throw ledgerError('LEDGER_BAD_CONTEXT', `ledger context: ${why}`)
  }
  if (typeof context.treasury !== 'string' || !ADDRESS.test(context.treasury))
    bad('treasury is not an address')
  for (const [name, owners] of [
    ['modelOwners', context.modelOwners],
    ['adapterOwners', context.adapterOwners],
  ] as const) {
    if (!(owners instanceof Map)) bad(`${name} must be a Map`)
    for (const id of owners.keys()) if (typeof id !== 'bigint') bad(`${name} must be keyed by bigint ids`)
  }
  if (!(context.contributors instanceof Map)) bad('contributors must be a Map')
  for (const [datanet, versions] of context.contributors) {
    if (typeof datanet !== 'bigint' || !(versions instanceof Map))
      bad('contributors: datanetId → version map')
    for (const [version, list] of versions)
      if (typeof version !== 'bigint' || !Array.isArray(list)) bad('contributors: version → address list')
  }
  const seen = new Set<string>()
  for (const v of context.validators) {
    if (typeof v?.address !== 'string' || !ADDRESS.test(v.address)) bad('a validator address is malformed')
    if (typeof v.stake !== 'bigint' || v.stake <= 0n) bad(`validator ${v.address} has stake ${v.stake}`)
    const key = v.address.toLowerCase()
    if (seen.has(key)) bad(`validator ${v.address} is listed twice`)
    seen.add(key)
  }
}

/** `funded` by lowercase address, checked. */
export function fundedByAccount(funded: ReadonlyMap<Address, bigint>): Map<string, bigint> {
  if (!(funded instanceof Map))
    throw ledgerError('LEDGER_BAD_CONTEXT', 'ledger context: funded must be a Map')
  const out = new Map<string, bigint>()
  for (const [address, amount] of funded) {
    if (typeof address !== 'string' || !ADDRESS.test(address))
      throw ledgerError('LEDGER_BAD_CONTEXT', `ledger context: funded is keyed by ${String(address)}`)
    if (typeof amount !== 'bigint' || amount < 0n || amount >= UINT128)
      throw ledgerError('LEDGER_BAD_CONTEXT', `ledger context: ${address} funded ${amount}, not a uint128`)
    const key = address.toLowerCase()
    if (out.has(key) && out.get(key) !== amount)
      throw ledgerError('LEDGER_BAD_CONTEXT', `ledger context: ${address} funded twice`)
    out.set(key, amount)
  }
  return out
}
