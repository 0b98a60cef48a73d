// One EIP-712 domain for everything the network signs (payments, receipts, contributions, capacity
// records, checkpoint votes). Chain id and Ledger address in the domain stop replay across networks.
import type { Address, TypedDataDomain } from 'viem'

export const EIP712_NAME = 'OpenLedger'
export const EIP712_VERSION = '1'

export interface DomainParams {
  chainId: number
  ledger: Address
}

export function openLedgerDomain({ chainId, ledger }: DomainParams): TypedDataDomain {
  return { name: EIP712_NAME, version: EIP712_VERSION, chainId, verifyingContract: ledger }
}
