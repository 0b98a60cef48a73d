// Shared pieces of the capacity tests: keys, a domain, a record, and "this throws with that code".
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import * as assert from 'uvu/assert'
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { openLedgerDomain } from '../../common/eip712.ts'
import { hasCode } from '../../common/errors.ts'
import type { CapacityRecord, HardwareInfo, ModelOffer } from '../capacity-record.ts'

export const domain = openLedgerDomain({
  chainId: 31337,
  ledger: '0x5fbDb2315678afeCB367F642D93ceB2f0aa7e4a1',
})

export interface Identity {
  account: PrivateKeyAccount
  peerKey: PrivateKey
  peerId: string
}

export async function identity(): Promise<Identity> {
  const peerKey = await generateKeyPair('Ed25519')
  return {
    account: privateKeyToAccount(generatePrivateKey()),
    peerKey,
    peerId: peerIdFromPrivateKey(peerKey).toString(),
  }
}

export const hardware: HardwareInfo = {
  cpuModel: 'AMD EPYC 9654 96-Core Processor',
  cpuCores: 16,
  memoryMiB: 131_072,
  gpus: [{ name: 'NVIDIA H200', memoryMiB: 143_771 }],
}

export function offer(modelId: bigint, adapterId = 0n, extra: Partial<ModelOffer> = {}): ModelOffer {
  return {
    modelId,
    adapterId,
    warm: true,
    tokensPerSec: 120,
    priceIn: 1_000_000_000n,
    priceOut: 2_000_000_000n,
    ...extra,
  }
}

export function recordFor(id: Identity, change: Partial<CapacityRecord> = {}): CapacityRecord {
  const issuedAt = Math.floor(Date.now() / 1000)
  return {
    account: id.account.address,
    peerId: id.peerId,
    state: 'online',
    models: [offer(1n), offer(1n, 7n, { warm: false })],
    hardware,
    queueDepth: 3,
    issuedAt,
    expiresAt: issuedAt + 120,
    sequence: 1n,
    ...change,
  }
}

/** Runs `fn` and asserts it throws an OpenLedgerError with `code`. */
export async function rejects(fn: () => unknown, code: string, message?: RegExp): Promise<Error> {
  try {
    await fn()
  } catch (err) {
    assert.ok(hasCode(err, code), `expected ${code}, got ${(err as Error).name}: ${(err as Error).message}`)
    if (message) assert.match((err as Error).message, message)
    return err as Error
  }
  assert.unreachable(`expected ${code}, nothing was thrown`)
  throw new Error('unreachable')
}

/** Waits until `check` returns something other than undefined/false, polling, with a deadline. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  deadlineMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
}
