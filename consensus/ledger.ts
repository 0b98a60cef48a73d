// The pure ledger (issue 13; DESIGN.md, "Payments, ledger and checkpoints"): applies one epoch's batch of
// verified receipts to the cumulative state and gives the new state, the sorted Merkle state root and the
// receipts root a checkpoint commits to. Data in, data out: no I/O, clock or randomness, so every validator
// that holds the same batch and reads the same chain state at the snapshot block gets the same bits.
// The rules (fee split, caps, index order) are listed in consensus/README.md.
//
// Hot loop: one object per account touched ("slot"), found through one Map keyed by the address string as
// given (and its lowercase form), role amounts accumulated there; the treasury's share is whatever the
// others did not get, computed once at the end instead of per receipt.
import type { Address, Hex, TypedDataDomain } from 'viem'
import { PPM, type Receipt, type SignedReceipt } from '../protocols/receipts/receipt.ts'
import { BPS, checkFeeSplit, type FeeRole, type FeeSplit } from './fee-split.ts'
import { type LedgerErrorCode, ledgerError } from './ledger-error.ts'
import { type LedgerEntry, LedgerTree } from './merkle.ts'
import { EMPTY_ROOT, receiptsRoot } from './receipts-root.ts'

/** The cumulative ledger: one leaf per account that ever earned or spent. */
export interface LedgerState {
  /** by lowercase address; each entry's `account` is that same lowercase address */
  readonly accounts: ReadonlyMap<string, LedgerEntry>
  /**
   * The index the next new account gets. Accounts are never removed (amounts are cumulative), so the
   * indexes in use are exactly 0 … nextIndex − 1 and nextIndex equals the number of accounts.
   */
  readonly nextIndex: number
}

export const EMPTY_LEDGER: LedgerState = { accounts: new Map(), nextIndex: 0 }

export interface EpochValidator {
  address: Address
  /** wei of OPEN staked, fixed for the epoch */
  stake: bigint
}

/** Chain state at the batch's snapshot block, read by the caller. Addresses in any case. */
export interface LedgerContext {
  /** the epoch's split (Ledger.feeSplitFor(epoch)) */
  feeSplit: FeeSplit
  treasury: Address
  /** model id → owner */
  modelOwners: ReadonlyMap<bigint, Address>
  /** adapter id → owner */
  adapterOwners: ReadonlyMap<bigint, Address>
  /** datanetId → version → the contributor of each accepted contribution, by contributionIndex */
  contributors: ReadonlyMap<bigint, ReadonlyMap<bigint, readonly Address[]>>
  /** the epoch's validator set */
  validators: readonly EpochValidator[]
  /** each client's `funded` (deposits minus executed withdrawals); a client not listed holds nothing */
  funded: ReadonlyMap<Address, bigint>
  /** the EIP-712 domain the receipts were signed under (for the receipts root) */
  domain: TypedDataDomain
}

export type LedgerRejectReason = 'UNKNOWN_MODEL' | 'UNKNOWN_ADAPTER' | 'UNKNOWN_CONTRIBUTION' | 'OVERSPENT'

/** A receipt the batch leaves out (it settles nothing); the reasons are chain facts, not malformed input. */
export interface LedgerRejection<R> {
  receipt: R
  requestId: Hex
  reason: LedgerRejectReason
  detail: string
}

/** As the Ledger contract's Spend: a client's cumulative spending after the checkpoint. */
export interface Spend {
  client: Address
  spent: bigint
}

/** What one account gained or spent in this batch (for `rewards show`): deltas, earned split by role. */
export interface AccountChange {
  account: Address
  index: number
  /** the account first appeared in this batch */
  isNew: boolean
  spent: bigint
  earned: bigint
  byRole: Record<FeeRole, bigint>
}

export interface LedgerBatch<R> {
  state: LedgerState
  /** the receipts settled, in canonical order (by requestId) */
  included: R[]
  rejected: LedgerRejection<R>[]
  /** as Checkpoint.totals: sorted by client address, only clients whose spending changed */
  totals: Spend[]
  /** sum of `earned` over every account of the new state (Checkpoint.totalEarned) */
  totalEarned: bigint
  /** sum of the included receipts' fees: exactly what the earned amounts grew by */
  totalFees: bigint
  /** every account an included receipt (or the batch's validator and treasury shares) named, in index order */
  changes: AccountChange[]
}

export interface LedgerUpdate<R> extends LedgerBatch<R> {
  /** the sorted Merkle root of the new state's leaves; EMPTY_ROOT for an empty ledger */
  stateRoot: Hex
  /** the sorted Merkle root of the included receipts' EIP-712 digests; EMPTY_ROOT for none */
  receiptsRoot: Hex
  /** the new state's tree (for proofs); undefined for an empty ledger */
  tree: LedgerTree | undefined
}

/** Applies the batch and computes both roots. */
export async function applyReceipts<R extends Receipt | SignedReceipt>(
  state: LedgerState,
  receipts: readonly R[],
  context: LedgerContext,
): Promise<LedgerUpdate<R>> {
  const batch = applyBatch(state, receipts, context)
  const tree = await ledgerTree(batch.state)
  return {
    ...batch,
    stateRoot: tree?.root ?? EMPTY_ROOT,
    receiptsRoot: await receiptsRoot(batch.included, context.domain),
    tree,
  }
}

/** The state's tree, or undefined while the ledger is empty. */
export async function ledgerTree(state: LedgerState): Promise<LedgerTree | undefined> {
  if (state.accounts.size === 0) return undefined
  return LedgerTree.build([...state.accounts.values()])
}

const UINT128 = 1n << 128n
const BPS_N = BigInt(BPS)
const PPM_N = BigInt(PPM)
const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const LOWER_ADDRESS = /^0x[0-9a-f]{40}$/
const BYTES32 = /^0x[0-9a-fA-F]{64}$/

/** One account's working figures while a batch is applied. */
class Slot {
  /** its ledger index once an included receipt names it; −1 until then */
  index = -1
  spent: bigint
  funded: bigint | undefined = undefined
  node = 0n
  modelOwner = 0n
  adapterOwner = 0n
  contributors = 0n
  validators = 0n
  treasury = 0n

  constructor(
    readonly account: Address,
    readonly base: LedgerEntry | undefined,
  ) {
    this.spent = base?.spent ?? 0n
  }
}

/**
 * The batch applied to `state` (which is not modified). Throws a LedgerError for malformed input; leaves out
 * (in `rejected`) receipts for an unknown model, adapter or contribution, or that would take their client's
 * spending above its funded amount.
 */
export function applyBatch<R extends Receipt | SignedReceipt>(
  state: LedgerState,
  receipts: readonly R[],
  context: LedgerContext,
): LedgerBatch<R> {
  const split = context.feeSplit
  checkFeeSplit(split)
  checkState(state)
  checkContext(context)
  const funded = fundedByAccount(context.funded)
  const order = canonicalOrder(receipts)
  const nodeBps = BigInt(split.node)
  const modelBps = BigInt(split.modelOwner)
  const adapterBps = BigInt(split.adapterOwner)
  const contributorsBps = BigInt(split.contributors)
  const validatorsBps = BigInt(split.validators)

  const slots = new Map<string, Slot>()
  const list: Slot[] = []
  let nextIndex = state.nextIndex
  const slotOf = (address: string, code: LedgerErrorCode): Slot => {
    let slot = slots.get(address)
    if (slot !== undefined) return slot
    if (typeof address !== 'string' || !ADDRESS.test(address))
      throw ledgerError(code, `not an address: ${String(address)}`)
    const lower = address.toLowerCase() as Address
    slot = slots.get(lower)
    if (slot === undefined) {
      slot = new Slot(lower, state.accounts.get(lower))
      slots.set(lower, slot)
      list.push(slot)
    }
    slots.set(address, slot)
    return slot
  }
  const include = (slot: Slot) => {
    if (slot.index < 0) slot.index = slot.base !== undefined ? slot.base.index : nextIndex++
  }

  const included: R[] = []
  const rejected: LedgerRejection<R>[] = []
  const reject = (item: R, r: Receipt, reason: LedgerRejectReason, detail: string) =>
    rejected.push({ receipt: item, requestId: r.authorization.requestId, reason, detail })
  const contributorSlots: Slot[] = [] // the receipt at hand's, reused
  let totalFees = 0n
  let validatorsPool = 0n

  for (let k = 0; k < order.length; k++) {
    const item = receipts[order[k]!]!
    const r: Receipt = 'receipt' in item ? item.receipt : item
    const a = r.authorization
    const fee = r.fee
    if (typeof fee !== 'bigint' || fee < 0n)
      throw ledgerError('LEDGER_BAD_RECEIPT', `receipt ${a.requestId}: fee ${fee} is not a uint256`)
    const modelOwner = context.modelOwners.get(a.model)
    if (modelOwner === undefined) {
      reject(item, r, 'UNKNOWN_MODEL', `model ${a.model} is not registered`)
      continue
    }
    let adapterOwner: Address | undefined
    if (a.adapter !== 0n) {
      adapterOwner = context.adapterOwners.get(a.adapter)
      if (adapterOwner === undefined) {
        reject(item, r, 'UNKNOWN_ADAPTER', `adapter ${a.adapter} is not registered`)
        continue
      }
    }
    const shares = r.attribution
    let weight = 0
    let unknown = -1
    for (let i = 0; i < shares.length; i++) {
      const share = shares[i]!
      const w = share.weightPpm
      if (!Number.isInteger(w) || w <= 0 || w > PPM)
        throw ledgerError(
          'LEDGER_BAD_RECEIPT',
          `receipt ${a.requestId}: share weight ${w} is not 1..${PPM} ppm`,
        )
      weight += w
      const version = context.contributors.get(share.datanetId)?.get(share.version)
      const at = Number(share.contributionIndex)
      const contributor = version !== undefined && at >= 0 && at < version.length ? version[at] : undefined
      if (contributor === undefined) {
        unknown = i
        break
      }
      contributorSlots[i] = slotOf(contributor, 'LEDGER_BAD_CONTEXT')
    }
    if (unknown >= 0) {
      const s = shares[unknown]!
      reject(
        item,
        r,
        'UNKNOWN_CONTRIBUTION',
        `no contribution ${s.contributionIndex} in Datanet ${s.datanetId} v${s.version}`,
      )
      continue
    }
    if (weight > PPM)
      throw ledgerError(
        'LEDGER_BAD_RECEIPT',
        `receipt ${a.requestId}: attribution weights sum to ${weight} ppm`,
      )
    const client = slotOf(a.client, 'LEDGER_BAD_RECEIPT')
    if (client.funded === undefined) client.funded = funded.get(client.account) ?? 0n
    const spent = client.spent + fee
    if (spent > client.funded) {
      reject(item, r, 'OVERSPENT', `client ${a.client} would spend ${spent} of ${client.funded} funded`)
      continue
    }

    // Included. Indexes go to new accounts in this order: client, node, model owner, adapter owner,
    // contributors in attribution order.
    client.spent = spent
    include(client)
    const node = slotOf(a.node, 'LEDGER_BAD_RECEIPT')
    include(node)
    node.node += (fee * nodeBps) / BPS_N
    const model = slotOf(modelOwner, 'LEDGER_BAD_CONTEXT')
    include(model)
    model.modelOwner += (fee * modelBps) / BPS_N
    if (adapterOwner !== undefined) {
      const adapter = slotOf(adapterOwner, 'LEDGER_BAD_CONTEXT')
      include(adapter)
      adapter.adapterOwner += (fee * adapterBps) / BPS_N
    }
    if (shares.length > 0) {
      const pool = (fee * contributorsBps) / BPS_N
      for (let i = 0; i < shares.length; i++) {
        const contributor = contributorSlots[i]!
        include(contributor)
        contributor.contributors += (pool * BigInt(shares[i]!.weightPpm)) / PPM_N
      }
    }
    validatorsPool += (fee * validatorsBps) / BPS_N
    totalFees += fee
    included.push(item)
  }

  let treasury: Slot | undefined
  if (included.length > 0) {
    // The validators' pool is split once per batch, by stake, in address order (which is also the order
    // new validators get their indexes); then the treasury, which takes every wei not credited above.
    const validators = [...context.validators].sort((x, y) => compareAddress(x.address, y.address))
    let totalStake = 0n
    for (const v of validators) totalStake += v.stake
    for (const v of validators) {
      const slot = slotOf(v.address, 'LEDGER_BAD_CONTEXT')
      include(slot)
      slot.validators += (validatorsPool * v.stake) / totalStake
    }
    treasury = slotOf(context.treasury, 'LEDGER_BAD_CONTEXT')
    include(treasury)
  }

  const touched = list.filter((slot) => slot.index >= 0).sort((x, y) => x.index - y.index)
  let credited = 0n
  for (const s of touched) credited += s.node + s.modelOwner + s.adapterOwner + s.contributors + s.validators
  if (treasury !== undefined) {
    treasury.treasury = totalFees - credited
    // Floors only ever leave wei over; a negative remainder would be a bug in the rules above.
    if (treasury.treasury < 0n) throw new Error(`ledger: credited ${credited} of ${totalFees} wei in fees`)
  }

  const accounts = new Map(state.accounts)
  const changes: AccountChange[] = []
  const totals: Spend[] = []
  for (const s of touched) {
    const earned = s.node + s.modelOwner + s.adapterOwner + s.contributors + s.validators + s.treasury
    const before = s.base
    accounts.set(s.account, {
      account: s.account,
      index: s.index,
      earned: (before?.earned ?? 0n) + earned,
      spent: s.spent,
    })
    const spentDelta = s.spent - (before?.spent ?? 0n)
    if (spentDelta !== 0n) totals.push({ client: s.account, spent: s.spent })
    changes.push({
      account: s.account,
      index: s.index,
      isNew: before === undefined,
      spent: spentDelta,
      earned,
      byRole: {
        node: s.node,
        modelOwner: s.modelOwner,
        adapterOwner: s.adapterOwner,
        contributors: s.contributors,
        validators: s.validators,
        treasury: s.treasury,
      },
    })
  }
  totals.sort((x, y) => compareAddress(x.client, y.client))
  for (const t of totals)
    if (t.spent >= UINT128)
      throw ledgerError('LEDGER_OVERFLOW', `${t.client} spent ${t.spent}, above uint128`)
  let totalEarned = 0n
  for (const e of accounts.values()) totalEarned += e.earned
  if (totalEarned >= UINT128)
    throw ledgerError('LEDGER_OVERFLOW', `total earned ${totalEarned} is above uint128`)

  return {
    state: { accounts, nextIndex },
    included,
    rejected,
    totals,
    totalEarned,
    totalFees,
    changes,
  }
}

/** Lowercase addresses of equal length compare as the numbers they are. */
const compareAddress = (x: string, y: string): number => {
  const a = x.toLowerCase()
  const b = y.toLowerCase()
  return a < b ? -1 : a > b ? 1 : 0
}

function checkState(state: LedgerState): void {
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

function checkContext(context: LedgerContext): void {
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
function fundedByAccount(funded: ReadonlyMap<Address, bigint>): Map<string, bigint> {
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

/**
 * Receipt positions sorted by requestId (as a 256-bit number), so arrival order never matters; a repeated
 * requestId throws LEDGER_DUPLICATE_REQUEST. Sorts on the first 48 bits as a double (exact) and compares the
 * whole id only on ties, which keeps the comparator cheap.
 */
function canonicalOrder(receipts: readonly (Receipt | SignedReceipt)[]): Uint32Array {
  const n = receipts.length
  const keys = new Float64Array(n)
  const ids: string[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const item = receipts[i]!
    const id = ('receipt' in item ? item.receipt : item).authorization.requestId
    if (typeof id !== 'string' || !BYTES32.test(id))
      throw ledgerError('LEDGER_BAD_RECEIPT', `requestId ${String(id)} is not 32 bytes`)
    ids[i] = id
    keys[i] = Number.parseInt(id.slice(2, 14), 16)
  }
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  order.sort((a, b) => keys[a]! - keys[b]! || compareHex(ids[a]!, ids[b]!))
  for (let k = 1; k < n; k++) {
    const a = order[k - 1]!
    const b = order[k]!
    if (keys[a] === keys[b] && compareHex(ids[a]!, ids[b]!) === 0)
      throw ledgerError('LEDGER_DUPLICATE_REQUEST', `requestId ${ids[b]} appears twice in the batch`)
  }
  return order
}

/** Compares two 0x-hex strings of equal length, case-insensitively (| 0x20 lowercases A-F, keeps digits). */
function compareHex(a: string, b: string): number {
  for (let i = 2; i < a.length; i++) {
    const d = (a.charCodeAt(i) | 0x20) - (b.charCodeAt(i) | 0x20)
    if (d !== 0) return d
  }
  return 0
}
