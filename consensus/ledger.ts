// The pure ledger (issue 13; DESIGN.md, "Payments, ledger and checkpoints"): applies one epoch's batch of
// verified receipts to the cumulative state and gives the new state, the sorted Merkle state root and the
// receipts root a checkpoint commits to. Data in, data out: no I/O, clock or randomness, so every validator
// that holds the same batch and reads the same chain state at the snapshot block gets the same bits.
// The rules (fee split, caps, index order) are listed in consensus/README.md.
//
// Three passes, because a million receipts visited in requestId order are a million cache misses: (1) in
// input order, resolve each receipt's accounts to dense slots (ledger-slots.ts) and its ids against the
// context into flat arrays; (2) in canonical order, only what order decides: the spending cap and the new
// accounts' indexes; (3) in input order again, credit the split, which is a sum and so independent of order.
// The treasury's share is what the others did not get, computed once at the end.
import type { Address, Hex, TypedDataDomain } from 'viem'
import { PPM, type Receipt, type SignedReceipt } from '../protocols/receipts/receipt.ts'
import { canonicalOrder } from './canonical-order.ts'
import { BPS, checkFeeSplit, type FeeRole, type FeeSplit } from './fee-split.ts'
import { checkContext, checkState, fundedByAccount, UINT128 } from './ledger-checks.ts'
import { ledgerError } from './ledger-error.ts'
import { Slots, SMALL } from './ledger-slots.ts'
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
  checkState(state)
  if (state.accounts.size === 0) return undefined
  // The state was checked: one entry per account (a map key), indexes 0 … n − 1 each once.
  return LedgerTree.build([...state.accounts.values()], { unique: true })
}

const BPS_N = BigInt(BPS)
const PPM_N = BigInt(PPM)
const SMALL_N = BigInt(SMALL)

// A receipt's fate, found in pass 1 or 2.
const INCLUDED = 0
const UNKNOWN_MODEL = 1
const UNKNOWN_ADAPTER = 2
const UNKNOWN_CONTRIBUTION = 3
const OVERSPENT = 4
const REASONS: (LedgerRejectReason | undefined)[] = [
  undefined,
  'UNKNOWN_MODEL',
  'UNKNOWN_ADAPTER',
  'UNKNOWN_CONTRIBUTION',
  'OVERSPENT',
]

const receiptOf = (item: Receipt | SignedReceipt): Receipt => ('receipt' in item ? item.receipt : item)

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
  const n = receipts.length
  const slots = new Slots(state.accounts, state.nextIndex)

  // ---- pass 1, input order: ids, fees, and every account as a slot ----
  const requestIds: Hex[] = new Array(n)
  const fees: bigint[] = new Array(n)
  const fate = new Uint8Array(n)
  const clientOf = new Int32Array(n)
  const nodeOf = new Int32Array(n)
  const modelOwnerOf = new Int32Array(n)
  const adapterOwnerOf = new Int32Array(n).fill(-1)
  const sharesFrom = new Int32Array(n + 1) // receipt i's shares are shareSlot[sharesFrom[i] .. sharesFrom[i + 1])
  let shareSlot = new Int32Array(4 * n + 16) // grown by doubling (four shares a receipt is typical)
  let shareWeight = new Int32Array(shareSlot.length)
  let shareCount = 0
  const clients = new Map<string, number>()
  const nodes = new Map<string, number>()
  const modelOwners = new Map<bigint, number>() // model id → slot, −1 unknown
  const adapterOwners = new Map<bigint, number>()
  const versionSlots = new Map<readonly Address[], Int32Array>() // contributor slot + 1 by index, 0 unseen
  let lastDatanet: bigint | undefined
  let lastVersion: bigint | undefined
  let lastSlots: Int32Array | undefined
  for (let i = 0; i < n; i++) {
    sharesFrom[i] = shareCount
    const r = receiptOf(receipts[i]!)
    const a = r.authorization
    requestIds[i] = a.requestId
    const fee = r.fee
    if (typeof fee !== 'bigint' || fee < 0n)
      throw ledgerError('LEDGER_BAD_RECEIPT', `receipt ${a.requestId}: fee ${fee} is not a uint256`)
    fees[i] = fee
    let model = modelOwners.get(a.model)
    if (model === undefined) {
      const owner = context.modelOwners.get(a.model)
      model = owner === undefined ? -1 : slots.idOf(owner, 'LEDGER_BAD_CONTEXT')
      modelOwners.set(a.model, model)
    }
    if (model < 0) {
      fate[i] = UNKNOWN_MODEL
      continue
    }
    modelOwnerOf[i] = model
    if (a.adapter !== 0n) {
      let adapter = adapterOwners.get(a.adapter)
      if (adapter === undefined) {
        const owner = context.adapterOwners.get(a.adapter)
        adapter = owner === undefined ? -1 : slots.idOf(owner, 'LEDGER_BAD_CONTEXT')
        adapterOwners.set(a.adapter, adapter)
      }
      if (adapter < 0) {
        fate[i] = UNKNOWN_ADAPTER
        continue
      }
      adapterOwnerOf[i] = adapter
    }
    const shares = r.attribution
    let weight = 0
    for (let k = 0; k < shares.length; k++) {
      const share = shares[k]!
      const w = share.weightPpm
      if (!Number.isInteger(w) || w <= 0 || w > PPM)
        throw ledgerError(
          'LEDGER_BAD_RECEIPT',
          `receipt ${a.requestId}: share weight ${w} is not 1..${PPM} ppm`,
        )
      weight += w
      if (share.datanetId !== lastDatanet || share.version !== lastVersion) {
        const list = context.contributors.get(share.datanetId)?.get(share.version)
        lastSlots = undefined
        if (list !== undefined) {
          lastSlots = versionSlots.get(list)
          if (lastSlots === undefined) {
            lastSlots = new Int32Array(list.length)
            versionSlots.set(list, lastSlots)
          }
        }
        lastDatanet = share.datanetId
        lastVersion = share.version
      }
      const at = Number(share.contributionIndex)
      if (lastSlots === undefined || !(at >= 0 && at < lastSlots.length)) {
        fate[i] = UNKNOWN_CONTRIBUTION
        break
      }
      let contributor = lastSlots[at]! - 1
      if (contributor < 0) {
        const list = context.contributors.get(share.datanetId)!.get(share.version)!
        contributor = slots.idOf(list[at]!, 'LEDGER_BAD_CONTEXT')
        lastSlots[at] = contributor + 1
      }
      if (shareCount === shareSlot.length) {
        const slotsGrown = new Int32Array(2 * shareCount)
        const weightsGrown = new Int32Array(2 * shareCount)
        slotsGrown.set(shareSlot)
        weightsGrown.set(shareWeight)
        shareSlot = slotsGrown
        shareWeight = weightsGrown
      }
      shareSlot[shareCount] = contributor
      shareWeight[shareCount++] = w
    }
    if (weight > PPM)
      throw ledgerError(
        'LEDGER_BAD_RECEIPT',
        `receipt ${a.requestId}: attribution weights sum to ${weight} ppm`,
      )
    if (fate[i] !== INCLUDED) {
      shareCount = sharesFrom[i]!
      continue
    }
    // Small caches per role first: a batch's clients and nodes are few next to all its accounts.
    let client = clients.get(a.client)
    if (client === undefined) {
      client = slots.idOf(a.client, 'LEDGER_BAD_RECEIPT')
      clients.set(a.client, client)
    }
    let node = nodes.get(a.node)
    if (node === undefined) {
      node = slots.idOf(a.node, 'LEDGER_BAD_RECEIPT')
      nodes.set(a.node, node)
    }
    clientOf[i] = client
    nodeOf[i] = node
  }
  sharesFrom[n] = shareCount

  // ---- pass 2, canonical order: the spending cap, and indexes in first-appearance order ----
  const order = canonicalOrder(requestIds)
  const included: R[] = []
  const rejected: LedgerRejection<R>[] = []
  for (let k = 0; k < n; k++) {
    const i = order[k]!
    if (fate[i] === INCLUDED) {
      const client = clientOf[i]!
      let cap = slots.funded[client]
      if (cap === undefined) slots.funded[client] = cap = funded.get(slots.account[client]!) ?? 0n
      const spent = slots.spent[client]! + fees[i]!
      if (spent > cap) fate[i] = OVERSPENT
      else {
        slots.spent[client] = spent
        // New accounts get indexes in this order: client, node, model owner, adapter owner, contributors.
        slots.include(client)
        slots.include(nodeOf[i]!)
        slots.include(modelOwnerOf[i]!)
        if (adapterOwnerOf[i]! >= 0) slots.include(adapterOwnerOf[i]!)
        for (let s = sharesFrom[i]!; s < sharesFrom[i + 1]!; s++) slots.include(shareSlot[s]!)
        included.push(receipts[i]!)
        continue
      }
    }
    const r = receiptOf(receipts[i]!)
    rejected.push({
      receipt: receipts[i]!,
      requestId: r.authorization.requestId,
      reason: REASONS[fate[i]!]!,
      detail: rejectionDetail(r, fate[i]!, context, slots.funded[clientOf[i]!]),
    })
  }

  // ---- pass 3, input order: the split, per receipt, rounded down ----
  const nodeBps = split.node
  const modelBps = split.modelOwner
  const adapterBps = split.adapterOwner
  const contributorsBps = split.contributors
  const validatorsBps = split.validators
  let validatorsPool = 0n
  let validatorsSmall = 0
  let totalFees = 0n
  let feesSmall = 0
  for (let i = 0; i < n; i++) {
    if (fate[i] !== INCLUDED) continue
    const fee = fees[i]!
    const from = sharesFrom[i]!
    const to = sharesFrom[i + 1]!
    if (fee < SMALL_N) {
      // fee × bps / 10,000 as (q × bps) + (r × bps) / 10,000 with fee = 10,000 q + r: every product stays
      // below 2^53, so the double arithmetic is exact.
      const f = Number(fee)
      const r = f % BPS
      const q = (f - r) / BPS
      slots.node.addSmall(nodeOf[i]!, q * nodeBps + Math.floor((r * nodeBps) / BPS))
      slots.modelOwner.addSmall(modelOwnerOf[i]!, q * modelBps + Math.floor((r * modelBps) / BPS))
      if (adapterOwnerOf[i]! >= 0)
        slots.adapterOwner.addSmall(adapterOwnerOf[i]!, q * adapterBps + Math.floor((r * adapterBps) / BPS))
      if (to > from) {
        const pool = q * contributorsBps + Math.floor((r * contributorsBps) / BPS)
        const low = pool % PPM
        const high = (pool - low) / PPM
        for (let s = from; s < to; s++) {
          const w = shareWeight[s]!
          slots.contributors.addSmall(shareSlot[s]!, high * w + Math.floor((low * w) / PPM))
        }
      }
      validatorsSmall += q * validatorsBps + Math.floor((r * validatorsBps) / BPS)
      feesSmall += f
      if (validatorsSmall >= SMALL) {
        validatorsPool += BigInt(validatorsSmall)
        validatorsSmall = 0
      }
      if (feesSmall >= SMALL) {
        totalFees += BigInt(feesSmall)
        feesSmall = 0
      }
    } else {
      slots.node.add(nodeOf[i]!, (fee * BigInt(nodeBps)) / BPS_N)
      slots.modelOwner.add(modelOwnerOf[i]!, (fee * BigInt(modelBps)) / BPS_N)
      if (adapterOwnerOf[i]! >= 0)
        slots.adapterOwner.add(adapterOwnerOf[i]!, (fee * BigInt(adapterBps)) / BPS_N)
      const pool = (fee * BigInt(contributorsBps)) / BPS_N
      for (let s = from; s < to; s++)
        slots.contributors.add(shareSlot[s]!, (pool * BigInt(shareWeight[s]!)) / PPM_N)
      validatorsPool += (fee * BigInt(validatorsBps)) / BPS_N
      totalFees += fee
    }
  }
  validatorsPool += BigInt(validatorsSmall)
  totalFees += BigInt(feesSmall)

  // ---- the validators' pool by stake, once per batch; the treasury takes every wei not credited ----
  const validatorShare = new Map<number, bigint>()
  let treasury = -1
  if (included.length > 0) {
    // In address order, which is also the order new validators get their indexes.
    const validators = [...context.validators].sort((x, y) => compareAddress(x.address, y.address))
    let totalStake = 0n
    for (const v of validators) totalStake += v.stake
    for (const v of validators) {
      const slot = slots.idOf(v.address, 'LEDGER_BAD_CONTEXT')
      slots.include(slot)
      validatorShare.set(slot, (validatorsPool * v.stake) / totalStake)
    }
    treasury = slots.idOf(context.treasury, 'LEDGER_BAD_CONTEXT')
    slots.include(treasury)
  }

  const touched: number[] = []
  for (let slot = 0; slot < slots.size; slot++) if (slots.index[slot]! >= 0) touched.push(slot)
  touched.sort((x, y) => slots.index[x]! - slots.index[y]!)
  const changes: AccountChange[] = new Array(touched.length)
  let credited = 0n
  let treasuryChange: AccountChange | undefined
  for (let k = 0; k < touched.length; k++) {
    const slot = touched[k]!
    const byRole = {
      node: slots.node.total(slot),
      modelOwner: slots.modelOwner.total(slot),
      adapterOwner: slots.adapterOwner.total(slot),
      contributors: slots.contributors.total(slot),
      validators: validatorShare.get(slot) ?? 0n,
      treasury: 0n,
    }
    credited +=
      byRole.node + byRole.modelOwner + byRole.adapterOwner + byRole.contributors + byRole.validators
    const base = slots.base[slot]
    changes[k] = {
      account: slots.account[slot]!,
      index: slots.index[slot]!,
      isNew: base === undefined,
      spent: slots.spent[slot]! - (base?.spent ?? 0n),
      earned: 0n, // below, once the treasury's share is known
      byRole,
    }
    if (slot === treasury) treasuryChange = changes[k]
  }
  if (treasuryChange !== undefined) {
    treasuryChange.byRole.treasury = totalFees - credited
    // Floors only ever leave wei over; a negative remainder would be a bug in the rules above.
    if (totalFees < credited) throw new Error(`ledger: credited ${credited} of ${totalFees} wei in fees`)
  }

  const accounts = new Map(state.accounts)
  const totals: Spend[] = []
  for (let k = 0; k < touched.length; k++) {
    const slot = touched[k]!
    const c = changes[k]!
    const r = c.byRole
    c.earned = r.node + r.modelOwner + r.adapterOwner + r.contributors + r.validators + r.treasury
    const spent = slots.spent[slot]!
    accounts.set(c.account, {
      account: c.account,
      index: c.index,
      earned: (slots.base[slot]?.earned ?? 0n) + c.earned,
      spent,
    })
    if (c.spent !== 0n) totals.push({ client: c.account, spent })
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
    state: { accounts, nextIndex: slots.nextIndex },
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

/** Why a receipt was left out, in words (rare: worked out again from the receipt). */
function rejectionDetail(
  r: Receipt,
  fate: number,
  context: LedgerContext,
  funded: bigint | undefined,
): string {
  const a = r.authorization
  if (fate === UNKNOWN_MODEL) return `model ${a.model} is not registered`
  if (fate === UNKNOWN_ADAPTER) return `adapter ${a.adapter} is not registered`
  if (fate === UNKNOWN_CONTRIBUTION) {
    const s = r.attribution.find(
      (s) =>
        context.contributors.get(s.datanetId)?.get(s.version)?.[Number(s.contributionIndex)] === undefined,
    )
    return `no contribution ${s?.contributionIndex} in Datanet ${s?.datanetId} v${s?.version}`
  }
  return `client ${a.client} would spend above its funded ${funded ?? 0n} wei`
}
