// The mempool on a real level database on disk: receipts persist with their indexes and come back after a
// reopen (pending fees and seen ids rebuilt); concurrent receipts of one client never pass its spendable
// balance together; duplicates are 'known', a full pool 'full'; listing by client, epoch, node and model;
// settled receipts leave but their ids stay refused; a stored value that does not decode is skipped.
import '../../common/polyfills.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Mempool, type MempoolOptions } from '../mempool.ts'
import type { SignedReceipt } from '../receipt.ts'
import { account, makeReceipt } from './fixtures.ts'

interface Ctx {
  dir: string
  level: Level<Uint8Array, Uint8Array>
}
const test = suite<Ctx>('mempool')

const options = (change: Partial<MempoolOptions> = {}): MempoolOptions => ({
  prefix: 0x20,
  maxReceipts: 1000,
  epochOf: (servedAt) => servedAt / 60n,
  ...change,
})

const openLevel = async (dir: string) => {
  const level = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await level.open()
  return level
}

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'openledger-mempool-'))
  ctx.level = await openLevel(ctx.dir)
})
test.after.each(async (ctx) => {
  await ctx.level.close()
  await rm(ctx.dir, { recursive: true, force: true })
})

/** requestIds, sorted */
const ids = (xs: SignedReceipt[]) => xs.map((x) => x.receipt.authorization.requestId).sort()

const client = account()
const other = account()
const nodeA = account()
const nodeB = account()

test('receipts persist with their indexes and come back after a reopen', async (ctx) => {
  const pool = await Mempool.open(ctx.level, options())
  const receipts: SignedReceipt[] = []
  for (let i = 0; i < 5; i++) {
    const r = await makeReceipt({
      client: i < 3 ? client : other,
      node: i % 2 ? nodeA : nodeB,
      fee: 100n + BigInt(i),
    })
    assert.is(await pool.add(r), 'added')
    receipts.push(r)
  }
  assert.is(pool.pendingOf(client.address), 100n + 101n + 102n)
  await ctx.level.close()
  ctx.level = await openLevel(ctx.dir)
  const again = await Mempool.open(ctx.level, options())
  assert.is(again.size, 5)
  assert.is(again.pendingOf(client.address), 303n)
  assert.is(again.pendingOf(other.address), 207n)
  for (const r of receipts) {
    assert.ok(again.has(r.receipt.authorization.requestId))
    assert.equal(await again.get(r.receipt.authorization.requestId), r)
  }
  assert.is(await again.add(receipts[0]!), 'known', 'a duplicate after the reopen is known')
})

test('concurrent receipts of one client never pass its spendable balance together', async (ctx) => {
  const pool = await Mempool.open(ctx.level, options())
  const receipts = await Promise.all(
    Array.from({ length: 10 }, (_, i) => makeReceipt({ client, node: i % 2 ? nodeA : nodeB, fee: 1000n })),
  )
  const results = await Promise.all(receipts.map((r) => pool.add(r, 3500n)))
  assert.is(results.filter((r) => r === 'added').length, 3, results.join(','))
  assert.is(results.filter((r) => r === 'overspent').length, 7)
  assert.is(pool.pendingOf(client.address), 3000n)
  assert.is((await pool.list({ client: client.address })).length, 3, 'only the added ones are stored')
})

test('duplicates are known, a full pool refuses', async (ctx) => {
  const pool = await Mempool.open(ctx.level, options({ maxReceipts: 2 }))
  const [a, b, c] = await Promise.all([1, 2, 3].map(() => makeReceipt({ client, node: nodeA })))
  assert.is(await pool.add(a!), 'added')
  assert.is(await pool.add(a!), 'known')
  assert.is(await pool.add(b!), 'added')
  assert.is(await pool.add(c!), 'full')
  assert.not.ok(pool.has(c!.receipt.authorization.requestId), 'a refused receipt is not remembered')
})

test('listing by client, epoch, node and model', async (ctx) => {
  const pool = await Mempool.open(ctx.level, options())
  const nowS = 1_800_000_000
  const r1 = await makeReceipt({ client, node: nodeA, nowS, model: 1n })
  const r2 = await makeReceipt({ client, node: nodeB, nowS: nowS + 120, model: 2n })
  const r3 = await makeReceipt({ client: other, node: nodeA, nowS: nowS + 120, model: 1n })
  for (const r of [r1, r2, r3]) assert.is(await pool.add(r), 'added')
  const idsOf = (...xs: SignedReceipt[]) => ids(xs)
  assert.equal(ids(await pool.list({ client: client.address })), idsOf(r1, r2))
  assert.equal(ids(await pool.list({ epoch: BigInt(nowS + 120) / 60n })), idsOf(r2, r3))
  assert.equal(ids(await pool.list({ node: nodeA.address })), idsOf(r1, r3))
  assert.equal(ids(await pool.list({ model: 1n, client: other.address })), idsOf(r3))
  assert.equal(ids(await pool.list()), idsOf(r1, r2, r3))
  assert.is((await pool.list({}, 2)).length, 2, 'the limit holds')
})

test('settled receipts leave; their ids stay refused; pending fees drop', async (ctx) => {
  const pool = await Mempool.open(ctx.level, options())
  const a = await makeReceipt({ client, node: nodeA, fee: 40n })
  const b = await makeReceipt({ client, node: nodeA, fee: 60n })
  await pool.add(a)
  await pool.add(b)
  assert.is(await pool.removeCheckpointed([a.receipt.authorization.requestId]), 1)
  assert.is(pool.size, 1)
  assert.is(pool.pendingOf(client.address), 60n)
  assert.is(await pool.get(a.receipt.authorization.requestId), undefined)
  assert.equal(ids(await pool.list({ client: client.address })), [b.receipt.authorization.requestId])
  assert.is(await pool.add(a), 'known', 'a settled receipt cannot come back')
  await ctx.level.close()
  ctx.level = await openLevel(ctx.dir)
  const again = await Mempool.open(ctx.level, options())
  assert.is(again.size, 1)
  assert.is(again.pendingOf(client.address), 60n)
})
test('a stored value that does not decode is skipped and reported at open', async (ctx) => {
  const pool = await Mempool.open(ctx.level, options())
  await pool.add(await makeReceipt({ client, node: nodeA, fee: 5n }))
  await ctx.level.put(Uint8Array.of(0x20, ...new Uint8Array(32).fill(7)), Uint8Array.of(0xff, 0xff, 0xff))
  const reported: Error[] = []
  const again = await Mempool.open(ctx.level, options({ onInvalid: (_, err) => reported.push(err) }))
  assert.is(again.size, 1)
  assert.is(again.pendingOf(client.address), 5n)
  assert.is(reported.length, 1)
})

test.run()
