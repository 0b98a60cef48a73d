// The pure ledger: the fee split to the wei on hand-computed cases; conservation (every wei of every fee
// lands in exactly one account) over seeded random batches; the same roots in any input order and address
// case; the overspend cap; unknown ids left out with their reasons; the state root is the LedgerTree of the
// returned entries (a leaf verifies with processProof); the receipts root is OpenZeppelin's over the
// receipts' EIP-712 digests; malformed input throws a LedgerError with its code.
import '../../protocols/common/polyfills.ts'
import { SimpleMerkleTree } from '@openzeppelin/merkle-tree'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Address, encodeAbiParameters, type Hex, hashTypedData, keccak256 } from 'viem'
import { openLedgerDomain } from '../../protocols/common/eip712.ts'
import {
  type AttributionShare,
  type Receipt,
  receiptTypes,
  type SignedReceipt,
} from '../../protocols/receipts/receipt.ts'
import type { FeeSplit } from '../fee-split.ts'
import { applyBatch, applyReceipts, EMPTY_LEDGER, type LedgerContext, type LedgerState } from '../ledger.ts'
import { LedgerError, type LedgerErrorCode } from '../ledger-error.ts'
import { LedgerTree, processProof } from '../merkle.ts'
import { EMPTY_ROOT } from '../receipts-root.ts'

const domain = openLedgerDomain({ chainId: 31337, ledger: '0x5fbDb2315678afeCB367F642D93ceB2f0aa7e4a1' })
const addr = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`
const upper = <T extends Hex>(hex: T): T => `0x${hex.slice(2).toUpperCase()}` as T
const requestId = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`

// Deterministic pseudo-random numbers (mulberry32), so a failure reproduces.
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const CLIENT = addr(0xc1)
const NODE = addr(0xa0)
const MODEL_OWNER = addr(0xb0)
const ADAPTER_OWNER = addr(0xb1)
const TREASURY = addr(0x7e)
const contributor = (i: number) => addr(0xd00 + i)

function receipt(o: {
  id: number
  fee: bigint
  client?: Address
  node?: Address
  model?: bigint
  adapter?: bigint
  attribution?: AttributionShare[]
}): Receipt {
  return {
    authorization: {
      client: o.client ?? CLIENT,
      node: o.node ?? NODE,
      model: o.model ?? 1n,
      adapter: o.adapter ?? 0n,
      maxFee: o.fee,
      requestId: requestId(o.id),
      deadline: 2_000_000_000n,
    },
    clientSignature: `0x${'11'.repeat(65)}`,
    fee: o.fee,
    inputTokens: 10,
    outputTokens: 20,
    outputHash: `0x${'22'.repeat(32)}`,
    attribution: o.attribution ?? [],
    attributionParams: 'ol-attr-2',
    servedAt: 1_900_000_000n,
  }
}

const share = (contributionIndex: number, weightPpm: number): AttributionShare => ({
  datanetId: 1n,
  version: 0n,
  contributionIndex: BigInt(contributionIndex),
  weightPpm,
})

const SPLIT: FeeSplit = {
  node: 5000,
  modelOwner: 1500,
  adapterOwner: 1000,
  contributors: 2000,
  validators: 300,
  treasury: 200,
}

function context(over: Partial<LedgerContext> = {}): LedgerContext {
  return {
    feeSplit: SPLIT,
    treasury: TREASURY,
    modelOwners: new Map([[1n, MODEL_OWNER]]),
    adapterOwners: new Map([[7n, ADAPTER_OWNER]]),
    contributors: new Map([[1n, new Map([[0n, Array.from({ length: 10 }, (_, i) => contributor(i))]])]]),
    // listed out of address order on purpose: the ledger orders them
    validators: [
      { address: addr(0xe3), stake: 4n },
      { address: addr(0xe1), stake: 2n },
      { address: addr(0xe2), stake: 3n },
    ],
    funded: new Map([[CLIENT, 10n ** 30n]]),
    domain,
    ...over,
  }
}

const earnedOf = (state: LedgerState, a: Address) => state.accounts.get(a.toLowerCase())?.earned
const codeOf = (fn: () => unknown): LedgerErrorCode | undefined => {
  try {
    fn()
  } catch (err) {
    assert.instance(err, LedgerError)
    return (err as LedgerError).code
  }
  return undefined
}

test('one receipt, split to the wei: floors per role, contributors by weight, validators by stake, rest to the treasury', () => {
  const r = receipt({
    id: 1,
    fee: 1_000_003n,
    adapter: 7n,
    attribution: [share(0, 500_000), share(1, 333_333), share(2, 100_000)], // 66,667 ppm unattributed
  })
  const { state, included, rejected, totals, totalEarned, totalFees, changes } = applyBatch(
    EMPTY_LEDGER,
    [r],
    context(),
  )
  assert.equal(included, [r])
  assert.equal(rejected, [])
  const e = (a: Address) => earnedOf(state, a)
  assert.is(e(NODE), 500_001n) // 1,000,003 × 5000 / 10000 = 500,001.5
  assert.is(e(MODEL_OWNER), 150_000n) // 150,000.45
  assert.is(e(ADAPTER_OWNER), 100_000n) // 100,000.3
  // contributors' pool 200,000 (200,000.6)
  assert.is(e(contributor(0)), 100_000n)
  assert.is(e(contributor(1)), 66_666n) // 66,666.6
  assert.is(e(contributor(2)), 20_000n)
  // validators' pool 30,000 (30,000.09) by stake 2 : 3 : 4
  assert.is(e(addr(0xe1)), 6_666n)
  assert.is(e(addr(0xe2)), 10_000n)
  assert.is(e(addr(0xe3)), 13_333n)
  // the treasury: 1,000,003 − 966,666 credited above
  assert.is(e(TREASURY), 33_337n)
  assert.is(state.accounts.get(CLIENT)?.spent, 1_000_003n)
  assert.is(state.accounts.get(CLIENT)?.earned, 0n)
  assert.is(totalFees, 1_000_003n)
  assert.is(totalEarned, 1_000_003n)
  assert.equal(totals, [{ client: CLIENT, spent: 1_000_003n }])
  // indexes in first-appearance order: client, node, model owner, adapter owner, contributors, then the
  // validators by address, then the treasury
  const order = [CLIENT, NODE, MODEL_OWNER, ADAPTER_OWNER, contributor(0), contributor(1), contributor(2)]
  order.push(addr(0xe1), addr(0xe2), addr(0xe3), TREASURY)
  assert.equal(
    order.map((a) => state.accounts.get(a)?.index),
    order.map((_, i) => i),
  )
  assert.is(state.nextIndex, order.length)
  assert.equal(
    changes.map((c) => c.account),
    order,
  )
  const treasury = changes.find((c) => c.account === TREASURY)!
  assert.equal(treasury.byRole, {
    node: 0n,
    modelOwner: 0n,
    adapterOwner: 0n,
    contributors: 0n,
    validators: 0n,
    treasury: 33_337n,
  })
})

test('no adapter and no attribution: both shares go to the treasury; the validator pool sums over the batch', () => {
  const receipts = [receipt({ id: 2, fee: 10_000n }), receipt({ id: 1, fee: 9_999n })]
  const { state } = applyBatch(
    EMPTY_LEDGER,
    receipts,
    context({ validators: [{ address: addr(0xe1), stake: 1n }] }),
  )
  // fee 10,000: node 5,000, model 1,500, validators 300; fee 9,999: node 4,999, model 1,499, validators 299
  assert.is(earnedOf(state, NODE), 9_999n)
  assert.is(earnedOf(state, MODEL_OWNER), 2_999n)
  assert.is(earnedOf(state, addr(0xe1)), 599n)
  assert.is(earnedOf(state, TREASURY), 19_999n - 9_999n - 2_999n - 599n)
  assert.is(earnedOf(state, ADAPTER_OWNER), undefined)
  // the first receipt by requestId names the client and node first
  assert.is(state.accounts.get(CLIENT)?.index, 0)
})

test('a second batch adds to the cumulative state; known accounts keep their index; the input is not modified', () => {
  const first = applyBatch(EMPTY_LEDGER, [receipt({ id: 1, fee: 1_000n })], context())
  const snapshot = new Map(first.state.accounts)
  const newNode = addr(0xa1)
  const second = applyBatch(first.state, [receipt({ id: 2, fee: 2_000n, node: newNode })], context())
  assert.equal(first.state.accounts, snapshot)
  assert.is(second.state.accounts.get(CLIENT)?.spent, 3_000n)
  assert.is(earnedOf(second.state, NODE), 500n)
  assert.is(earnedOf(second.state, newNode), 1_000n)
  assert.is(second.state.accounts.get(newNode)?.index, first.state.nextIndex)
  assert.is(second.state.nextIndex, first.state.nextIndex + 1)
  for (const [key, e] of first.state.accounts) assert.is(second.state.accounts.get(key)?.index, e.index)
  assert.equal(second.totals, [{ client: CLIENT, spent: 3_000n }])
  assert.is(second.totalEarned, 3_000n)
  assert.is(second.changes.find((c) => c.account === newNode)?.isNew, true)
  assert.is(second.changes.find((c) => c.account === CLIENT)?.spent, 2_000n)
})

/** A random batch over a few clients, nodes, models, adapters and contributions. */
function randomBatch(seed: number, n: number) {
  const rnd = random(seed)
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!
  const clients = Array.from({ length: 8 }, (_, i) => addr(0x1000 + i))
  const nodes = Array.from({ length: 5 }, (_, i) => addr(0x2000 + i))
  const contributors = Array.from({ length: 40 }, (_, i) => addr(0x3000 + i))
  const ctx = context({
    feeSplit: {
      node: 4321,
      modelOwner: 1234,
      adapterOwner: 777,
      contributors: 2500,
      validators: 901,
      treasury: 267,
    },
    modelOwners: new Map([
      [1n, addr(0x4001)],
      [2n, addr(0x4002)],
    ]),
    adapterOwners: new Map([
      [1n, addr(0x5001)],
      [2n, nodes[0]!], // one account in two roles
    ]),
    contributors: new Map([
      [
        1n,
        new Map([
          [0n, contributors.slice(0, 20)],
          [1n, contributors.slice(10, 40)],
        ]),
      ],
    ]),
    validators: [
      { address: addr(0x6001), stake: 7n * 10n ** 18n },
      { address: addr(0x6002), stake: 3n * 10n ** 18n + 1n },
      { address: clients[0]!, stake: 11n },
    ],
    funded: new Map(clients.map((c, i) => [c, BigInt(i) * 10n ** 19n])),
  })
  const receipts = Array.from({ length: n }, (_, i) => {
    const count = Math.floor(rnd() * 4)
    let left = 1_000_000
    const attribution: AttributionShare[] = []
    for (let k = 0; k < count; k++) {
      const version = rnd() < 0.5 ? 0n : 1n
      const w = 1 + Math.floor(rnd() * (left / 2))
      left -= w
      attribution.push({
        datanetId: 1n,
        version,
        contributionIndex: BigInt(k * 5 + Math.floor(rnd() * 5)),
        weightPpm: w,
      })
    }
    return receipt({
      id: Math.floor(rnd() * 2 ** 40) * 2 ** 12 + i, // unique
      fee: BigInt(Math.floor(rnd() * 2 ** 40)) * 10n ** 6n + BigInt(Math.floor(rnd() * 1000)),
      client: pick(clients),
      node: pick(nodes),
      model: pick([1n, 2n]),
      adapter: pick([0n, 0n, 1n, 2n]),
      attribution,
    })
  })
  return { receipts, ctx }
}

test('conservation over random batches: the earned deltas sum to the fees, to the wei', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const { receipts, ctx } = randomBatch(seed, 300)
    let state = EMPTY_LEDGER
    for (let part = 0; part < 3; part++) {
      const batch = applyBatch(state, receipts.slice(part * 100, part * 100 + 100), ctx)
      const earned = batch.changes.reduce((sum, c) => sum + c.earned, 0n)
      const spent = batch.changes.reduce((sum, c) => sum + c.spent, 0n)
      const fees = batch.included.reduce((sum, r) => sum + r.fee, 0n)
      assert.is(earned, fees, `seed ${seed}`)
      assert.is(spent, fees, `seed ${seed}`)
      assert.is(batch.totalFees, fees)
      for (const c of batch.changes)
        assert.is(
          c.earned,
          Object.values(c.byRole).reduce((s, x) => s + x, 0n),
        )
      state = batch.state
      // from an empty start, everything earned was spent by someone
      const all = [...state.accounts.values()]
      assert.is(
        all.reduce((s, e) => s + e.earned, 0n),
        all.reduce((s, e) => s + e.spent, 0n),
      )
      assert.is(
        batch.totalEarned,
        all.reduce((s, e) => s + e.earned, 0n),
      )
      for (const e of all) assert.ok(e.spent <= (ctx.funded.get(e.account) ?? 0n), 'never above funded')
    }
  }
})

test('the split equals a plain bigint recomputation, for fees from 1 wei to far above 2^52 (both arithmetic paths)', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const { receipts, ctx } = randomBatch(seed, 300)
    const rnd = random(seed + 1000)
    // log-uniform fees from 1 wei to ~2^80, within every client's reach
    const sized = receipts.map((r) => ({
      ...r,
      fee: BigInt(Math.floor(2 ** (rnd() * 40))) * BigInt(Math.floor(2 ** (rnd() * 40))),
    }))
    const funded = new Map([...ctx.funded.keys()].map((c) => [c, 1n << 100n]))
    const batch = applyBatch(EMPTY_LEDGER, sized, { ...ctx, funded })
    assert.is(batch.included.length, sized.length)
    const s = ctx.feeSplit
    const expected = new Map<string, Record<string, bigint>>()
    const credit = (who: Address, role: string, wei: bigint) => {
      const roles = expected.get(who.toLowerCase()) ?? {}
      roles[role] = (roles[role] ?? 0n) + wei
      expected.set(who.toLowerCase(), roles)
    }
    let pool = 0n
    let fees = 0n
    for (const r of sized) {
      const a = r.authorization
      const part = (bps: number) => (r.fee * BigInt(bps)) / 10_000n
      credit(a.node, 'node', part(s.node))
      credit(ctx.modelOwners.get(a.model)!, 'modelOwner', part(s.modelOwner))
      if (a.adapter !== 0n) credit(ctx.adapterOwners.get(a.adapter)!, 'adapterOwner', part(s.adapterOwner))
      for (const sh of r.attribution)
        credit(
          ctx.contributors.get(sh.datanetId)!.get(sh.version)![Number(sh.contributionIndex)]!,
          'contributors',
          (part(s.contributors) * BigInt(sh.weightPpm)) / 1_000_000n,
        )
      pool += part(s.validators)
      fees += r.fee
    }
    const stake = ctx.validators.reduce((sum, v) => sum + v.stake, 0n)
    for (const v of ctx.validators) credit(v.address, 'validators', (pool * v.stake) / stake)
    let credited = 0n
    for (const roles of expected.values()) for (const wei of Object.values(roles)) credited += wei
    credit(ctx.treasury, 'treasury', fees - credited)
    for (const c of batch.changes)
      for (const [role, wei] of Object.entries(c.byRole))
        assert.is(wei, expected.get(c.account)?.[role] ?? 0n, `seed ${seed} ${c.account} ${role}`)
  }
})

test('any input order and any address case give the same state, totals and roots', async () => {
  const { receipts, ctx } = randomBatch(99, 400)
  const reference = await applyReceipts(EMPTY_LEDGER, receipts, ctx)
  assert.ok(reference.rejected.length > 0 && reference.included.length > 0, 'the batch exercises both')
  const rnd = random(5)
  for (let trial = 0; trial < 5; trial++) {
    const shuffled = [...receipts]
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1))
      ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
    }
    // upper-case some addresses and request ids (the same accounts and requests)
    const recased = shuffled.map((r, i) =>
      i % 3 === 0
        ? {
            ...r,
            authorization: {
              ...r.authorization,
              client: upper(r.authorization.client),
              node: upper(r.authorization.node),
            },
          }
        : r,
    )
    const other = await applyReceipts(EMPTY_LEDGER, recased, ctx)
    assert.is(other.stateRoot, reference.stateRoot)
    assert.is(other.receiptsRoot, reference.receiptsRoot) // a digest encodes an address's value, not its case
    assert.equal(other.state.accounts, reference.state.accounts)
    assert.equal(other.totals, reference.totals)
    assert.equal(
      other.rejected.map((x) => x.requestId),
      reference.rejected.map((x) => x.requestId),
    )
  }
  const shuffledOnly = [...receipts].reverse()
  const reversed = await applyReceipts(EMPTY_LEDGER, shuffledOnly, ctx)
  assert.is(reversed.receiptsRoot, reference.receiptsRoot)
  assert.is(reversed.stateRoot, reference.stateRoot)
})

test('overspending: a receipt that would take the client above its funded amount is left out; later ones that fit are not', () => {
  const funded = new Map([[CLIENT, 250n]])
  const receipts = [
    receipt({ id: 3, fee: 100n }), // 200 → 300: over
    receipt({ id: 1, fee: 100n }),
    receipt({ id: 4, fee: 50n }), // 200 → 250: fits
    receipt({ id: 2, fee: 100n }),
  ]
  const batch = applyBatch(EMPTY_LEDGER, receipts, context({ funded }))
  assert.equal(
    batch.included.map((r) => r.authorization.requestId),
    [requestId(1), requestId(2), requestId(4)],
  )
  assert.equal(
    batch.rejected.map((x) => [x.requestId, x.reason]),
    [[requestId(3), 'OVERSPENT']],
  )
  assert.equal(batch.totals, [{ client: CLIENT, spent: 250n }])
  // the settled spending counts: the next batch has nothing left
  const next = applyBatch(batch.state, [receipt({ id: 5, fee: 1n })], context({ funded }))
  assert.equal(next.included, [])
  assert.is(next.rejected[0]?.reason, 'OVERSPENT')
  assert.equal(next.totals, [])
  assert.equal(next.changes, [])
  assert.is(next.state.accounts.get(CLIENT)?.spent, 250n)
  // a client with no deposit at all
  const stranger = applyBatch(EMPTY_LEDGER, [receipt({ id: 6, fee: 1n, client: addr(0x999) })], context())
  assert.is(stranger.rejected[0]?.reason, 'OVERSPENT')
  // a zero fee fits anyone and changes no spending
  const free = applyBatch(EMPTY_LEDGER, [receipt({ id: 7, fee: 0n, client: addr(0x999) })], context())
  assert.is(free.included.length, 1)
  assert.equal(free.totals, [])
})

test('unknown model, adapter or contribution: left out with the reason, credits nothing, takes no index', () => {
  const receipts = [
    receipt({ id: 1, fee: 100n, model: 2n }),
    receipt({ id: 2, fee: 100n, adapter: 8n }),
    receipt({ id: 3, fee: 100n, attribution: [{ ...share(0, 10), datanetId: 2n }] }),
    receipt({ id: 4, fee: 100n, attribution: [{ ...share(0, 10), version: 1n }] }),
    receipt({ id: 5, fee: 100n, attribution: [share(0, 10), share(10, 10)] }),
    receipt({ id: 6, fee: 100n, client: addr(0x123), node: addr(0x456) }),
  ]
  const batch = applyBatch(EMPTY_LEDGER, receipts, context({ funded: new Map([[addr(0x123), 100n]]) }))
  assert.equal(
    batch.rejected.map((x) => x.reason),
    [
      'UNKNOWN_MODEL',
      'UNKNOWN_ADAPTER',
      'UNKNOWN_CONTRIBUTION',
      'UNKNOWN_CONTRIBUTION',
      'UNKNOWN_CONTRIBUTION',
    ],
  )
  assert.equal(batch.included, [receipts[5]])
  assert.is(batch.state.accounts.get(addr(0x123))?.index, 0)
  assert.is(batch.state.accounts.get(addr(0x456))?.index, 1)
  assert.is(batch.state.accounts.get(CLIENT), undefined)
  assert.is(batch.state.accounts.get(contributor(0)), undefined)
  // nothing included: the state is unchanged and no validator or treasury leaf appears
  const none = applyBatch(EMPTY_LEDGER, receipts.slice(0, 5), context())
  assert.is(none.state.accounts.size, 0)
  assert.is(none.state.nextIndex, 0)
})

test('the state root is the LedgerTree of the returned entries, and each leaf proves into it', async () => {
  const { receipts, ctx } = randomBatch(7, 200)
  const update = await applyReceipts(EMPTY_LEDGER, receipts, ctx)
  const entries = [...update.state.accounts.values()]
  const tree = await LedgerTree.build(entries)
  assert.is(update.stateRoot, tree.root)
  for (const e of entries) {
    const leaf = keccak256(
      encodeAbiParameters(
        [{ type: 'address' }, { type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }],
        [e.account, BigInt(e.index), e.earned, e.spent],
      ),
    )
    assert.is(await processProof(leaf, update.tree!.proof(e.account)), update.stateRoot)
  }
  // the receipts root: OpenZeppelin's SimpleMerkleTree over viem's EIP-712 digests of the included receipts
  const digests = update.included.map((r) =>
    hashTypedData({ domain, types: receiptTypes, primaryType: 'Receipt', message: r }),
  )
  assert.is(update.receiptsRoot, SimpleMerkleTree.of(digests).root)
})

test('signed receipts are taken as well and give the same result', async () => {
  const { receipts, ctx } = randomBatch(3, 50)
  const signed: SignedReceipt[] = receipts.map((receipt) => ({
    receipt,
    nodeSignature: `0x${'33'.repeat(65)}`,
    output: 'x',
  }))
  const a = await applyReceipts(EMPTY_LEDGER, receipts, ctx)
  const b = await applyReceipts(EMPTY_LEDGER, signed, ctx)
  assert.is(b.stateRoot, a.stateRoot)
  assert.is(b.receiptsRoot, a.receiptsRoot)
  assert.is(
    b.included[0],
    signed.find((s) => s.receipt === a.included[0]),
  )
})

test('an empty batch changes nothing and has the empty receipts root', async () => {
  const first = await applyReceipts(EMPTY_LEDGER, [receipt({ id: 1, fee: 10n })], context())
  const empty = await applyReceipts(first.state, [], context())
  assert.is(empty.receiptsRoot, EMPTY_ROOT)
  assert.is(empty.stateRoot, first.stateRoot)
  assert.equal(empty.totals, [])
  assert.is(empty.totalEarned, 10n)
  const none = await applyReceipts(EMPTY_LEDGER, [], context())
  assert.is(none.stateRoot, EMPTY_ROOT)
  assert.is(none.tree, undefined)
})

test('malformed input throws a LedgerError with its code', () => {
  const ok = [receipt({ id: 1, fee: 100n, attribution: [share(0, 10)] })]
  const apply =
    (over: Partial<LedgerContext>, receipts = ok, state = EMPTY_LEDGER) =>
    () =>
      applyBatch(state, receipts, context(over))
  // fee split
  assert.is(codeOf(apply({ feeSplit: { ...SPLIT, treasury: 199 } })), 'LEDGER_BAD_FEE_SPLIT')
  assert.is(codeOf(apply({ feeSplit: { ...SPLIT, node: 4999.5, treasury: 200.5 } })), 'LEDGER_BAD_FEE_SPLIT')
  assert.is(codeOf(apply({ feeSplit: { ...SPLIT, node: -1, treasury: 5201 } })), 'LEDGER_BAD_FEE_SPLIT')
  // context
  assert.is(codeOf(apply({ treasury: '0x1234' })), 'LEDGER_BAD_CONTEXT')
  assert.is(codeOf(apply({ validators: [{ address: addr(1), stake: 0n }] })), 'LEDGER_BAD_CONTEXT')
  assert.is(
    codeOf(
      apply({
        validators: [
          { address: addr(0xab), stake: 1n },
          { address: upper(addr(0xab)), stake: 1n },
        ],
      }),
    ),
    'LEDGER_BAD_CONTEXT',
  )
  assert.is(codeOf(apply({ funded: new Map([[CLIENT, -1n]]) })), 'LEDGER_BAD_CONTEXT')
  assert.is(
    codeOf(apply({ modelOwners: new Map([[1 as unknown as bigint, MODEL_OWNER]]) })),
    'LEDGER_BAD_CONTEXT',
  )
  assert.is(codeOf(apply({ modelOwners: new Map([[1n, '0xnope' as Address]]) })), 'LEDGER_BAD_CONTEXT')
  // receipts
  assert.is(codeOf(apply({}, [receipt({ id: 1, fee: -1n })])), 'LEDGER_BAD_RECEIPT')
  assert.is(
    codeOf(apply({}, [receipt({ id: 1, fee: 1n, attribution: [share(0, 600_000), share(1, 400_001)] })])),
    'LEDGER_BAD_RECEIPT',
  )
  assert.is(
    codeOf(apply({}, [receipt({ id: 1, fee: 1n, attribution: [share(0, 0)] })])),
    'LEDGER_BAD_RECEIPT',
  )
  const badId = receipt({ id: 1, fee: 1n })
  badId.authorization.requestId = '0x1234'
  assert.is(codeOf(apply({}, [badId])), 'LEDGER_BAD_RECEIPT')
  badId.authorization.requestId = `0x${'0'.repeat(63)}g`
  assert.is(codeOf(apply({}, [badId])), 'LEDGER_BAD_RECEIPT')
  const upperId = receipt({ id: 0xabc, fee: 1n })
  upperId.authorization.requestId = upper(upperId.authorization.requestId)
  assert.is(codeOf(apply({}, [receipt({ id: 0xabc, fee: 2n }), upperId])), 'LEDGER_DUPLICATE_REQUEST')
  // state
  const { state } = applyBatch(EMPTY_LEDGER, ok, context())
  const broken = (accounts: Map<string, unknown>, nextIndex = accounts.size) =>
    codeOf(apply({}, ok, { accounts, nextIndex } as LedgerState))
  assert.is(broken(new Map(state.accounts), state.nextIndex + 1), 'LEDGER_BAD_STATE')
  const client = state.accounts.get(CLIENT)!
  assert.is(broken(new Map([...state.accounts, [CLIENT, { ...client, spent: -1n }]])), 'LEDGER_BAD_STATE')
  assert.is(broken(new Map([...state.accounts, [CLIENT, { ...client, index: 1 }]])), 'LEDGER_BAD_STATE')
  const upperKey = new Map(state.accounts)
  upperKey.delete(CLIENT)
  upperKey.set(upper(CLIENT), { ...client, account: upper(CLIENT) })
  assert.is(broken(upperKey), 'LEDGER_BAD_STATE')
  assert.is(
    codeOf(apply({}, ok, { accounts: {}, nextIndex: 0 } as unknown as LedgerState)),
    'LEDGER_BAD_STATE',
  )
})

test.run()
