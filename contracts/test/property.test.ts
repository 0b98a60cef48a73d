// Property: random sequences of deposits, checkpoints, claims and withdrawals never pay out more than
// was deposited, the Ledger's token balance always equals deposits minus payouts, and at the end every
// account can claim exactly what the last root gives it. Seeded, so a failure reproduces.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Address, type Hex, parseEther } from 'viem'
import { LedgerTree } from '../../consensus/merkle.ts'
import { sortTotals } from '../typedData.ts'
import { createWorld, expectRevert, signerKey, type World } from './helpers.ts'

const SEEDS = [1, 2]
const STEPS = 45
const VALIDATORS = [1, 2, 3, 4]
const CLIENTS = [5, 6, 7]
const EARNERS = [5, 8, 9] // a client may also earn

let w: World
let snap: Hex
test.before(async () => {
  w = await createWorld()
  for (const i of VALIDATORS) await w.addValidator(i)
})
test.after(async () => {
  await w?.stop()
})
test.before.each(async () => {
  snap = await w.snapshot()
})
test.after.each(async () => {
  await w.revert(snap)
})

function rng(seed: number) {
  let s = seed >>> 0 || 1
  return (n: number) => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) % n
  }
}

for (const seed of SEEDS) {
  test(`random deposits, checkpoints, claims and withdrawals stay solvent (seed ${seed})`, async () => {
    const rand = rng(seed)
    const keys = VALIDATORS.map(signerKey)
    const addr = (i: number) => w.as[i].address
    const model = {
      funded: new Map<number, bigint>(CLIENTS.map((c) => [c, 0n])),
      spent: new Map<number, bigint>(CLIENTS.map((c) => [c, 0n])),
      earned: new Map<number, bigint>(EARNERS.map((e) => [e, 0n])),
      claimed: new Map<number, bigint>(EARNERS.map((e) => [e, 0n])),
      pending: new Map<number, { amount: bigint; unlock: bigint }>(),
      epoch: 0n,
      deposited: 0n,
      paidOut: 0n,
    }
    const startBalance = await w.as[0].token.read.balanceOf([w.addresses.ledger])
    let tree: LedgerTree | undefined
    const unit = parseEther('1')

    const accounts = () => [...new Set([...CLIENTS, ...EARNERS])]
    const buildTree = () =>
      LedgerTree.build(
        accounts().map((i) => ({
          account: addr(i),
          earned: model.earned.get(i) ?? 0n,
          spent: model.spent.get(i) ?? 0n,
        })),
      )

    async function checkpoint() {
      // charge some clients part of their free balance and hand the fees to earners
      const changed: { client: Address; spent: bigint }[] = []
      let moved = 0n
      for (const c of CLIENTS) {
        const free = model.funded.get(c)! - model.spent.get(c)!
        if (free === 0n || rand(2) === 0) continue
        const charge = (free * BigInt(1 + rand(100))) / 100n
        model.spent.set(c, model.spent.get(c)! + charge)
        changed.push({ client: addr(c), spent: model.spent.get(c)! })
        moved += charge
      }
      let left = moved
      EARNERS.forEach((e, k) => {
        const share = k === EARNERS.length - 1 ? left : (left * BigInt(rand(101))) / 100n
        left -= share
        model.earned.set(e, model.earned.get(e)! + share)
      })
      tree = await buildTree()
      await w.checkpoint(
        await w.nextMessage({ stateRoot: tree.root, totals: sortTotals(changed) }),
        keys.slice(0, 3),
      )
      model.epoch += 1n
    }

    async function claim(e: number) {
      const due = model.earned.get(e)! - model.claimed.get(e)!
      if (!tree) return
      const entry = tree.entry(addr(e))!
      const args = [entry.earned, entry.spent, tree.proof(addr(e))] as const
      if (due === 0n) {
        await expectRevert(w.as[e].ledger.write.claim(args), 'NothingToClaim')
        return
      }
      const before = await w.as[0].token.read.balanceOf([addr(e)])
      await w.mined(w.as[e].ledger.write.claim(args))
      assert.is(await w.as[0].token.read.balanceOf([addr(e)]), before + due)
      model.claimed.set(e, model.earned.get(e)!)
      model.paidOut += due
    }

    for (let step = 0; step < STEPS; step++) {
      const op = rand(10)
      if (op < 3) {
        const c = CLIENTS[rand(CLIENTS.length)]
        const amount = unit * BigInt(1 + rand(50))
        await w.deposit(c, amount)
        model.funded.set(c, model.funded.get(c)! + amount)
        model.deposited += amount
      } else if (op < 6) {
        await checkpoint()
      } else if (op < 8) {
        await claim(EARNERS[rand(EARNERS.length)])
      } else {
        const c = CLIENTS[rand(CLIENTS.length)]
        const pending = model.pending.get(c)
        if (pending && model.epoch >= pending.unlock) {
          const free = model.funded.get(c)! - model.spent.get(c)!
          if (free === 0n) {
            await expectRevert(w.as[c].ledger.write.executeWithdrawal(), 'InsufficientFreeBalance')
          } else {
            const pay = pending.amount < free ? pending.amount : free
            const before = await w.as[0].token.read.balanceOf([addr(c)])
            await w.mined(w.as[c].ledger.write.executeWithdrawal())
            assert.is(await w.as[0].token.read.balanceOf([addr(c)]), before + pay)
            model.funded.set(c, model.funded.get(c)! - pay)
            model.paidOut += pay
            model.pending.delete(c)
          }
        } else if (pending) {
          await expectRevert(w.as[c].ledger.write.executeWithdrawal(), 'WithdrawalNotReady')
        } else {
          const free = model.funded.get(c)! - model.spent.get(c)!
          if (free > 0n) {
            const amount = (free * BigInt(1 + rand(100))) / 100n
            await w.mined(w.as[c].ledger.write.requestWithdrawal([amount]))
            model.pending.set(c, {
              amount,
              unlock: model.epoch + (await w.as[0].ledger.read.withdrawalDelayEpochs()),
            })
          }
        }
      }
      // invariants after every step
      const balance = await w.as[0].token.read.balanceOf([w.addresses.ledger])
      assert.is(
        balance - startBalance,
        model.deposited - model.paidOut,
        `step ${step}: balance ≠ deposits − payouts`,
      )
      assert.ok(model.paidOut <= model.deposited)
      const [totalSpent, totalClaimed] = await Promise.all([
        w.as[0].ledger.read.totalSpent(),
        w.as[0].ledger.read.totalClaimed(),
      ])
      assert.ok(totalClaimed <= totalSpent, `step ${step}: claimed beyond spent`)
      for (const c of CLIENTS) {
        const [funded, spent] = await w.as[0].ledger.read.clientBalance([addr(c)])
        assert.equal([funded, spent], [model.funded.get(c), model.spent.get(c)], `step ${step}: client ${c}`)
      }
    }

    // Finally every account claims exactly what the last root gives it.
    await checkpoint()
    for (const e of EARNERS) {
      await claim(e)
      assert.is(await w.as[0].ledger.read.claimed([addr(e)]), model.earned.get(e))
      await expectRevert(
        w.as[e].ledger.write.claim([model.earned.get(e)!, model.spent.get(e) ?? 0n, tree!.proof(addr(e))]),
        'NothingToClaim',
      )
    }
    // What is left in the Ledger is exactly the clients' unspent deposits.
    const unspent = CLIENTS.reduce((sum, c) => sum + model.funded.get(c)! - model.spent.get(c)!, 0n)
    assert.is((await w.as[0].token.read.balanceOf([w.addresses.ledger])) - startBalance, unspent)
  })
}

test.run()
