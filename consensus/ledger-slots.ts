// The working set of one batch: every account it names gets a dense id ("slot") on first sight, and the
// amounts credited to it per role are summed there. Adding wei is the hot path, so amounts below 2^52 are
// summed as doubles (every integer below 2^53 is exact) and moved into a bigint only when the sum passes
// 2^52: no bigint is allocated per credit.
import type { Address } from 'viem'
import { type LedgerErrorCode, ledgerError } from './ledger-error.ts'
import type { LedgerEntry } from './merkle.ts'

/** Amounts below this are credited as numbers (`addSmall`). */
export const SMALL = 2 ** 52

const ADDRESS = /^0x[0-9a-fA-F]{40}$/

/** Wei credited to each slot for one role. */
export class Credits {
  private small = new Float64Array(1024)
  private readonly big: bigint[] = []

  /** `wei`: an integer below SMALL. */
  addSmall(slot: number, wei: number): void {
    const sum = this.small[slot]! + wei
    if (sum < SMALL) this.small[slot] = sum
    else {
      this.big[slot] = (this.big[slot] ?? 0n) + BigInt(sum)
      this.small[slot] = 0
    }
  }

  add(slot: number, wei: bigint): void {
    this.big[slot] = (this.big[slot] ?? 0n) + wei
  }

  total(slot: number): bigint {
    return (this.big[slot] ?? 0n) + BigInt(this.small[slot]!)
  }

  reserve(slots: number): void {
    if (slots <= this.small.length) return
    const grown = new Float64Array(Math.max(slots, 2 * this.small.length))
    grown.set(this.small)
    this.small = grown
  }
}

export class Slots {
  /** lowercase address by slot */
  readonly account: Address[] = []
  /** the account's entry in the state the batch starts from */
  readonly base: (LedgerEntry | undefined)[] = []
  /** the account's ledger index once an included receipt names it; −1 until then */
  readonly index: number[] = []
  /** cumulative spending so far */
  readonly spent: bigint[] = []
  /** the client's funded amount, read on first use */
  readonly funded: (bigint | undefined)[] = []
  readonly node = new Credits()
  readonly modelOwner = new Credits()
  readonly adapterOwner = new Credits()
  readonly contributors = new Credits()
  /** by address as given and in lowercase */
  private readonly ids = new Map<string, number>()
  private readonly accounts: ReadonlyMap<string, LedgerEntry>
  nextIndex: number

  constructor(accounts: ReadonlyMap<string, LedgerEntry>, nextIndex: number) {
    this.accounts = accounts
    this.nextIndex = nextIndex
  }

  get size(): number {
    return this.account.length
  }

  /** The address's slot, made on first sight; a malformed address throws `code`. */
  idOf(address: string, code: LedgerErrorCode): number {
    const known = this.ids.get(address)
    if (known !== undefined) return known
    if (typeof address !== 'string' || !ADDRESS.test(address))
      throw ledgerError(code, `not an address: ${String(address)}`)
    const lower = address.toLowerCase() as Address
    let slot = this.ids.get(lower)
    if (slot === undefined) {
      slot = this.account.length
      const base = this.accounts.get(lower)
      this.account.push(lower)
      this.base.push(base)
      this.index.push(-1)
      this.spent.push(base?.spent ?? 0n)
      this.funded.push(undefined)
      for (const credits of [this.node, this.modelOwner, this.adapterOwner, this.contributors])
        credits.reserve(slot + 1)
      this.ids.set(lower, slot)
    }
    this.ids.set(address, slot)
    return slot
  }

  /** Gives the account its ledger index (its old one, or the next) when a receipt first includes it. */
  include(slot: number): void {
    if (this.index[slot]! < 0) this.index[slot] = this.base[slot]?.index ?? this.nextIndex++
  }
}
