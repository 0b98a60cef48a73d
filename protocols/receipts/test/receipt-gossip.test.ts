// The receipts topic's validation on a real mempool (level on disk) with a scripted chain view: every
// attack of issue 12 is refused with its action and reason and leaves the mempool as it was; honest
// receipts are stored before they are accepted; two nodes serving one client at once never get more than
// its balance accepted in total.
import '../../common/polyfills.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { Level } from 'level'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { GossipValidationError } from '../../common/gossip.ts'
import { Mempool } from '../mempool.ts'
import { paymentAuthorizationTypes } from '../payment-authorization.ts'
import { type SignedReceipt, signReceipt } from '../receipt.ts'
import { type ClientBalance, receiptsTopic } from '../receipt-gossip.ts'
import { encodeReceipt, RECEIPT_MAX_BYTES } from '../receipt-wire.ts'
import { account, domain, makeReceipt } from './fixtures.ts'

const client = account()
const poor = account()
const nodeA = account()
const nodeB = account()
const from = peerIdFromString('12D3KooWLRPJAA5o6v7uvFM7rNPGq2fUTeHvfhGrcFrV4Sfs7n4u')

interface Ctx {
  dir: string
  level: Level<Uint8Array, Uint8Array>
  mempool: Mempool
  balances: Map<string, ClientBalance>
  mismatches: string[]
  /** the attribution a validator recomputes, by requestId (default: what the receipt says) */
  recomputed: Map<string, 'match' | 'mismatch'>
  topic: ReturnType<typeof receiptsTopic>
}
const test = suite<Ctx>('receipts topic')

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'openledger-receipts-topic-'))
  ctx.level = new Level(ctx.dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await ctx.level.open()
  ctx.mempool = await Mempool.open(ctx.level, { prefix: 0x20, maxReceipts: 10_000, epochOf: (s) => s / 60n })
  ctx.balances = new Map([
    [client.address, { funded: 10n ** 18n, spent: 0n, reserved: 0n }],
    [poor.address, { funded: 5_000n, spent: 1_000n, reserved: 1_500n }],
  ])
  ctx.mismatches = []
  ctx.recomputed = new Map()
  ctx.topic = receiptsTopic({
    domain,
    mempool: ctx.mempool,
    // model 1: 1,000 in and 2,000 out per 1,000 tokens; its adapter 5 adds 1,000 out
    prices: async (model, adapter) => {
      if (model !== 1n) return { unknown: 'model' }
      if (adapter !== 0n && adapter !== 5n) return { unknown: 'adapter' }
      return { priceIn: 1_000n, priceOut: adapter === 5n ? 3_000n : 2_000n }
    },
    balance: async (who) => ctx.balances.get(who) ?? { funded: 0n, spent: 0n, reserved: 0n },
    verifyAttribution: async (s) => ctx.recomputed.get(s.receipt.authorization.requestId) ?? 'match',
    onAttributionMismatch: (node) => ctx.mismatches.push(node),
  })
})
test.after.each(async (ctx) => {
  await ctx.level.close()
  await rm(ctx.dir, { recursive: true, force: true })
})

/** 12 in + 24 out at model 1's prices: 12 + 48 = 60 wei at most */
const FULL_FEE = 60n

async function verdict(ctx: Ctx, signed: SignedReceipt | Uint8Array): Promise<string> {
  try {
    const message = signed instanceof Uint8Array ? ctx.topic.decode(signed) : signed
    await ctx.topic.validate(message, from)
    return 'ACCEPT'
  } catch (err) {
    if (!(err instanceof GossipValidationError)) throw err
    return `${err.type.action} ${err.code}`
  }
}

/** Runs `attack` and checks the mempool did not change. */
async function refused(ctx: Ctx, what: string, signed: SignedReceipt | Uint8Array, expected: string) {
  const size = ctx.mempool.size
  const pending = ctx.mempool.pendingOf(client.address)
  assert.is(await verdict(ctx, signed), expected, what)
  assert.is(ctx.mempool.size, size, `${what}: nothing stored`)
  assert.is(ctx.mempool.pendingOf(client.address), pending, `${what}: pending fees unchanged`)
}

test('an honest receipt is stored, then accepted; its replay is ignored', async (ctx) => {
  const signed = await makeReceipt({ client, node: nodeA, fee: FULL_FEE })
  assert.is(await verdict(ctx, encodeReceipt(signed)), 'ACCEPT')
  assert.is(ctx.mempool.size, 1)
  assert.equal(await ctx.mempool.get(signed.receipt.authorization.requestId), signed)
  await refused(ctx, 'a replay', encodeReceipt(signed), 'IGNORE RECEIPT_SEEN')
})

test('each attack is refused with its reason and stores nothing', async (ctx) => {
  const ok = await makeReceipt({ client, node: nodeA, fee: FULL_FEE })
  const resign = (s: SignedReceipt, change: object, output = s.output) =>
    signReceipt({ ...s.receipt, ...change }, output, nodeA, domain)
  await refused(
    ctx,
    'fee above maxFee',
    await makeReceipt({ client, node: nodeA, maxFee: 10n, fee: 11n }),
    'REJECT RECEIPT_FEE_ABOVE_MAX',
  )
  await refused(
    ctx,
    'fee above the prices',
    await resign(ok, { fee: FULL_FEE + 1n }),
    'REJECT RECEIPT_FEE_ABOVE_PRICE',
  )
  // the client's signature replaced by another key's over the same authorization; the node signs that
  const forger = account()
  const forgedClient = await forger.signTypedData({
    domain,
    types: paymentAuthorizationTypes,
    primaryType: 'PaymentAuthorization',
    message: ok.receipt.authorization,
  })
  await refused(
    ctx,
    'forged client signature',
    await resign(ok, { clientSignature: forgedClient }),
    'REJECT RECEIPT_BAD_CLIENT_SIGNATURE',
  )
  const otherNode = await makeReceipt({ client, node: nodeB, fee: FULL_FEE })
  await refused(
    ctx,
    'forged node signature',
    { ...ok, nodeSignature: otherNode.nodeSignature },
    'REJECT RECEIPT_BAD_NODE_SIGNATURE',
  )
  await refused(
    ctx,
    'unknown model',
    await makeReceipt({ client, node: nodeA, model: 9n }),
    'REJECT RECEIPT_UNKNOWN_MODEL',
  )
  await refused(
    ctx,
    'adapter of another model',
    await makeReceipt({ client, node: nodeA, adapter: 6n }),
    'REJECT RECEIPT_UNKNOWN_ADAPTER',
  )
  const tampered = await makeReceipt({ client, node: nodeA, fee: FULL_FEE })
  ctx.recomputed.set(tampered.receipt.authorization.requestId, 'mismatch')
  await refused(ctx, 'tampered attribution', tampered, 'REJECT RECEIPT_ATTRIBUTION_MISMATCH')
  assert.equal(ctx.mismatches, [nodeA.address], 'the mismatch is counted against the serving node')
  await refused(
    ctx,
    'output that does not hash',
    { ...ok, output: `${ok.output}.` },
    'REJECT RECEIPT_OUTPUT_MISMATCH',
  )
  await refused(ctx, 'malformed bytes', Uint8Array.of(1, 2, 3, 250, 251), 'REJECT RECEIPT_MALFORMED')
  await refused(ctx, 'oversized bytes', new Uint8Array(RECEIPT_MAX_BYTES + 1), 'REJECT RECEIPT_MALFORMED')
  const expired = await makeReceipt({ client, node: nodeA, nowS: Math.floor(Date.now() / 1000) - 3600 })
  await refused(ctx, 'expired', expired, 'IGNORE RECEIPT_EXPIRED')
  // and the honest one still goes through afterwards
  assert.is(await verdict(ctx, ok), 'ACCEPT')
})

test('spending reserved for withdrawal, or beyond the balance, is refused', async (ctx) => {
  // poor: 5,000 funded, 1,000 spent, 1,500 reserved: 4,000 unspent, 2,500 spendable
  const within = await makeReceipt({
    client: poor,
    node: nodeA,
    fee: 2_000n,
    maxFee: 10n ** 6n,
    change: { outputTokens: 2_000 },
  })
  assert.is(await verdict(ctx, within), 'ACCEPT')
  const intoReserved = await makeReceipt({
    client: poor,
    node: nodeA,
    fee: 1_000n,
    change: { outputTokens: 2_000 },
  })
  assert.is(await verdict(ctx, intoReserved), 'IGNORE RECEIPT_SPENDS_RESERVED')
  const beyond = await makeReceipt({
    client: poor,
    node: nodeB,
    fee: 2_001n,
    change: { outputTokens: 2_000 },
  })
  assert.is(await verdict(ctx, beyond), 'IGNORE RECEIPT_CLIENT_OVERSPENT')
  assert.is(ctx.mempool.pendingOf(poor.address), 2_000n)
})

test('two nodes serving one client at once: at most its balance is accepted in total', async (ctx) => {
  ctx.balances.set(poor.address, { funded: 10_000n, spent: 0n, reserved: 0n })
  const receipts = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      makeReceipt({
        client: poor,
        node: i % 2 ? nodeA : nodeB,
        fee: 1_500n,
        change: { outputTokens: 1_000 },
      }),
    ),
  )
  const verdicts = await Promise.all(receipts.map((r) => verdict(ctx, r)))
  const accepted = verdicts.filter((v) => v === 'ACCEPT').length
  assert.is(accepted, 6, verdicts.join(','))
  assert.ok(verdicts.every((v) => v === 'ACCEPT' || v === 'IGNORE RECEIPT_CLIENT_OVERSPENT'))
  assert.is(ctx.mempool.pendingOf(poor.address), 9_000n)
})

test.run()
