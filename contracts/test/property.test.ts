// Property: random sequences of honest and byzantine actions never let the Ledger pay out more than was
// deposited, and its accounting always equals a simple model. Honest actors deposit, checkpoint, claim
// (against any of the recent roots, relayed by anyone, one by one or in batches) and withdraw; byzantine
// ones overdraw (checkpoints charge beyond deposits), race withdrawals against checkpoints, change stake
// between signing and submitting, and submit votes that are short of quorum, signed for another domain,
// on a wrong parent or for another validator set. Validator 4 never signs. Seeded: a failure reproduces.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Address, type Hex, keccak256, parseEther, toHex } from 'viem'
import { LedgerTree } from '../../consensus/merkle.ts'
import { openLedgerDomain } from '../../protocols/common/eip712.ts'
import { DEFAULTS } from '../deploy.ts'
import { type CheckpointMessage, orderSignatures, sortTotals } from '../typedData.ts'
import { ATTACK_GAS, createWorld, signerKey, toStruct, type World } from './helpers.ts'

const SEEDS = [1, 2, 3, 4, 5, 6]
const STEPS = 40
const VALIDATORS = [1, 2, 3, 4]
const SIGNING = [1, 2, 3] // validator 4 is silent: 3 of 4 equal stakes still make quorum
const CLIENTS = [5, 6, 7]
const EARNERS = [5, 8, 9] // a client may also earn
const HISTORY = 16n

let w: World
let snap: Hex
test.before(async () => {
  w = await createWorld()
  for (const i of VALIDATORS) await w.addValidator(i)
  await w.checkpoint(await w.nextMessage(), SIGNING.map(signerKey)) // epoch 1: every registrant so far
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

const min = (a: bigint, b: bigint) => (a < b ? a : b)
/** The Ledger counts claims in whole gwei: what a leaf can pay at most. */
const payable = (earned: bigint) => earned - (earned % 10n ** 9n)

for (const seed of SEEDS) {
  test(`random honest and byzantine actions keep the Ledger solvent and exact (seed ${seed})`, async () => {
    const rand = rng(seed)
    const signers = SIGNING.map(signerKey)
    const addr = (i: number) => w.as[i].address
    const { withdrawalDelay, escapeDelay } = DEFAULTS.ledgerParams
    const model = {
      funded: new Map(CLIENTS.map((c) => [c, 0n])),
      spent: new Map(CLIENTS.map((c) => [c, 0n])),
      reserved: new Map(CLIENTS.map((c) => [c, 0n])),
      unlockAt: new Map(CLIENTS.map((c) => [c, 0n])),
      earned: new Map(EARNERS.map((e) => [e, 0n])),
      claimed: new Map(EARNERS.map((e) => [e, 0n])),
      roots: new Map<bigint, { tree: LedgerTree; earned: Map<number, bigint> }>(),
      lastEpoch: await w.as[0].ledger.read.lastEpoch(),
      lastCheckpointAt: await w.as[0].ledger.read.lastCheckpointAt(),
      deposited: 0n,
      paidOut: 0n,
      byzantine: 0,
    }
    const startBalance = await w.as[0].token.read.balanceOf([w.addresses.ledger])
    const unit = parseEther('1')
    const now = async () => (await w.publicClient.getBlock()).timestamp
    const available = (c: number) => {
      const used = model.spent.get(c)! + model.reserved.get(c)!
      return model.funded.get(c)! > used ? model.funded.get(c)! - used : 0n
    }
    const treeFor = () =>
      LedgerTree.build(
        [...new Set([...CLIENTS, ...EARNERS])].map((i) => ({
          account: addr(i),
          index: i,
          earned: model.earned.get(i) ?? 0n,
          spent: model.spent.get(i) ?? 0n,
        })),
      )

    /** Charges clients (sometimes beyond what they hold: capped), pays the fees to earners, checkpoints. */
    async function checkpoint(opts: { overdraw: boolean; stakeChange: boolean }) {
      const changed: { client: Address; spent: bigint }[] = []
      let moved = 0n
      for (const c of CLIENTS) {
        if (rand(2) === 0) continue
        const funded = model.funded.get(c)!
        const settled = model.spent.get(c)!
        // Honest receipts stay within what was available when they were signed (a request made after
        // them may have reserved it meanwhile); an overdrawn client's go beyond its deposit.
        const room = opts.overdraw ? funded - settled + unit * BigInt(1 + rand(20)) : available(c)
        if (room === 0n) continue
        const signed = settled + (room * BigInt(1 + rand(100))) / 100n
        const capped = min(signed, funded)
        changed.push({ client: addr(c), spent: signed })
        model.spent.set(c, capped)
        moved += capped - settled
      }
      let left = moved
      EARNERS.forEach((e, k) => {
        const share = k === EARNERS.length - 1 ? left : (left * BigInt(rand(101))) / 100n
        left -= share
        model.earned.set(e, model.earned.get(e)! + share)
      })
      const tree = await treeFor()
      const totalEarned = [...model.earned.values()].reduce((a, b) => a + b, 0n)
      const message = await w.nextMessage({ stateRoot: tree.root, totals: sortTotals(changed), totalEarned })
      const args = await w.checkpointArgs(message, signers)
      if (opts.stakeChange) {
        // between signing and submitting, a validator raises its stake: the vote still lands
        const v = SIGNING[rand(SIGNING.length)]
        const amount = unit * BigInt(1 + rand(5))
        await w.fund(v, amount)
        await w.mined(w.as[v].token.write.approve([w.addresses.staking, amount]))
        await w.mined(w.as[v].staking.write.addStake([amount]))
      }
      const receipt = await w.mined(w.as[rand(10)].ledger.write.checkpoint(args, { gas: ATTACK_GAS }))
      model.lastEpoch = message.epoch
      model.lastCheckpointAt = (await w.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp
      model.roots.set(message.epoch, { tree, earned: new Map(model.earned) })
      model.roots.delete(message.epoch - HISTORY)
    }

    /** A byzantine submission: it must be mined, revert, and change nothing (checked by the invariants). */
    async function badCheckpoint() {
      model.byzantine++
      const message = await w.nextMessage({ stateRoot: keccak256(toHex(`byzantine-${rand(1e9)}`)) })
      const set = await w.setFor(message.epoch)
      const kind = rand(4)
      let bad: { message: CheckpointMessage; domain?: ReturnType<typeof openLedgerDomain>; keys: Hex[] }
      let error: string
      if (kind === 0) [bad, error] = [{ message, keys: signers.slice(0, 2) }, 'InsufficientQuorum']
      else if (kind === 1) {
        const domain = openLedgerDomain({ chainId: w.anvil.chainId + 1, ledger: w.addresses.ledger })
        ;[bad, error] = [{ message, domain, keys: signers }, 'SignerNotInSet']
      } else if (kind === 2)
        [bad, error] = [
          { message: { ...message, parentRoot: keccak256('0x01') }, keys: signers },
          'WrongParent',
        ]
      else
        [bad, error] = [
          { message: { ...message, validatorSetHash: keccak256('0x02') }, keys: signers },
          'ValidatorSetMismatch',
        ]
      const sigs = orderSignatures(set, await w.sign(bad.message, bad.keys, bad.domain))
      await w.minedRevert(
        (o) => w.as[9].ledger.write.checkpoint([toStruct(bad.message), set, sigs], o),
        error,
      )
    }

    /** Claims for earner `e` against a random recent root (or a forgotten one), relayed by anyone. */
    async function claim(e: number) {
      if (model.roots.size === 0) return
      const epochs = [...model.roots.keys()]
      const stale = rand(8) === 0 && model.lastEpoch > HISTORY
      const epoch = stale ? model.lastEpoch - HISTORY : epochs[rand(epochs.length)]
      const root = model.roots.get(epochs[epochs.length - 1])! // a forgotten root's proof: any shape
      const { tree, earned } = stale ? { tree: root.tree, earned: root.earned } : model.roots.get(epoch)!
      const entry = tree.entry(addr(e))!
      const relayer = w.as[rand(10)]
      const args = [addr(e), BigInt(e), epoch, entry.earned, entry.spent, tree.proof(addr(e))] as const
      if (stale) {
        await w.minedRevert((o) => relayer.ledger.write.claimFor(args, o), 'UnknownRoot')
        return
      }
      const due = payable(earned.get(e)!) - model.claimed.get(e)!
      if (due <= 0n) {
        await w.minedRevert((o) => relayer.ledger.write.claimFor(args, o), 'NothingToClaim')
        return
      }
      const before = await w.as[0].token.read.balanceOf([addr(e)])
      await w.mined(relayer.ledger.write.claimFor(args))
      assert.is(await w.as[0].token.read.balanceOf([addr(e)]), before + due)
      model.claimed.set(e, payable(earned.get(e)!))
      model.paidOut += due
    }

    async function claimAll() {
      const epoch = [...model.roots.keys()].pop()
      if (epoch === undefined) return
      const { tree, earned } = model.roots.get(epoch)!
      const depth = rand(3) // the tree has 5 leaves: levels 0 (the root), 1 and 2 are complete
      const claims = EARNERS.map((e) => {
        const { proof, topIndex } = tree.proofToLevel(addr(e), depth)
        return { ...tree.entry(addr(e))!, index: BigInt(e), topIndex: BigInt(topIndex), proof }
      })
      await w.mined(w.as[rand(10)].ledger.write.claimMany([epoch, tree.tree.level(depth), claims]))
      for (const e of EARNERS) {
        const due = payable(earned.get(e)!) - model.claimed.get(e)!
        if (due > 0n) {
          model.claimed.set(e, payable(earned.get(e)!))
          model.paidOut += due
        }
      }
    }

    async function withdraw(c: number) {
      const reserved = model.reserved.get(c)!
      if (reserved === 0n) {
        const free = available(c)
        if (free === 0n) return
        const amount = (free * BigInt(1 + rand(100))) / 100n
        await w.mined(w.as[c].ledger.write.requestWithdrawal([amount]))
        model.reserved.set(c, amount)
        const [, , , , unlockAt] = await w.as[0].ledger.read.clientBalance([addr(c)])
        assert.ok(unlockAt >= (await now()) + BigInt(withdrawalDelay) - 1n)
        model.unlockAt.set(c, unlockAt)
        return
      }
      // Keep clear of the boundaries: a block's time may run a few seconds ahead of the last one's.
      const unlock = model.unlockAt.get(c)!
      const escapeAt = model.lastCheckpointAt + BigInt(escapeDelay)
      let t = await now()
      if (t < unlock && unlock - t < 30n) await w.increaseTime(unlock - t)
      t = await now()
      if (t <= escapeAt && escapeAt - t < 30n) await w.increaseTime(escapeAt - t + 1n)
      t = await now()
      const hatchOpen = t > escapeAt
      if (!hatchOpen && t < unlock) {
        await w.minedRevert((o) => w.as[c].ledger.write.executeWithdrawal(o), 'WithdrawalLocked')
        return
      }
      if (!hatchOpen && model.lastCheckpointAt < unlock) {
        await w.minedRevert((o) => w.as[c].ledger.write.executeWithdrawal(o), 'AwaitingCheckpoint')
        return
      }
      const pay = min(reserved, model.funded.get(c)! - model.spent.get(c)!)
      const before = await w.as[0].token.read.balanceOf([addr(c)])
      await w.mined(w.as[c].ledger.write.executeWithdrawal())
      assert.is(await w.as[0].token.read.balanceOf([addr(c)]), before + pay)
      model.funded.set(c, model.funded.get(c)! - pay)
      model.reserved.set(c, 0n)
      model.paidOut += pay
    }

    for (let step = 0; step < STEPS; step++) {
      const op = rand(20)
      if (op < 4) {
        const c = CLIENTS[rand(CLIENTS.length)]
        const amount = unit * BigInt(1 + rand(50))
        await w.deposit(c, amount)
        model.funded.set(c, model.funded.get(c)! + amount)
        model.deposited += amount
      } else if (op < 9) {
        await checkpoint({ overdraw: rand(4) === 0, stakeChange: rand(5) === 0 })
      } else if (op < 11) {
        await badCheckpoint()
      } else if (op < 14) {
        await claim(EARNERS[rand(EARNERS.length)])
      } else if (op < 15) {
        await claimAll()
      } else if (op < 18) {
        await withdraw(CLIENTS[rand(CLIENTS.length)])
      } else if (op < 19) {
        await w.increaseTime(rand(withdrawalDelay))
      } else if (rand(3) === 0) {
        await w.increaseTime(escapeDelay) // checkpoints stall: the escape hatch opens
      }

      // invariants after every step
      const balance = await w.as[0].token.read.balanceOf([w.addresses.ledger])
      assert.is(
        balance - startBalance,
        model.deposited - model.paidOut,
        `step ${step}: balance ≠ deposits − payouts`,
      )
      const [totalSpent, lastEpoch] = await Promise.all([
        w.as[0].ledger.read.totalSpent(),
        w.as[0].ledger.read.lastEpoch(),
      ])
      assert.is(lastEpoch, model.lastEpoch, `step ${step}: epoch`)
      const modelSpent = CLIENTS.reduce((s, c) => s + model.spent.get(c)!, 0n)
      assert.is(totalSpent, modelSpent, `step ${step}: total spent`)
      const claimed = EARNERS.reduce((s, e) => s + model.claimed.get(e)!, 0n)
      assert.ok(claimed <= totalSpent, `step ${step}: claimed beyond settled spending`)
      for (const c of CLIENTS) {
        const [funded, spent, reserved] = await w.as[0].ledger.read.clientBalance([addr(c)])
        assert.equal(
          [funded, spent, reserved],
          [model.funded.get(c), model.spent.get(c), model.reserved.get(c)],
          `step ${step}: client ${c}`,
        )
      }
      for (const e of EARNERS)
        assert.is(await w.as[0].ledger.read.claimedOf([BigInt(e)]), model.claimed.get(e))
    }

    // Finally every earner claims exactly what the last root gives it, and a second claim pays nothing.
    await checkpoint({ overdraw: false, stakeChange: false })
    for (const e of EARNERS) {
      const { tree } = model.roots.get(model.lastEpoch)!
      const due = payable(model.earned.get(e)!) - model.claimed.get(e)!
      const args = [
        addr(e),
        BigInt(e),
        model.lastEpoch,
        model.earned.get(e)!,
        model.spent.get(e) ?? 0n,
        tree.proof(addr(e)),
      ] as const
      if (due > 0n) await w.mined(w.as[e].ledger.write.claimFor(args))
      model.claimed.set(e, payable(model.earned.get(e)!))
      model.paidOut += due
      await w.minedRevert((o) => w.as[e].ledger.write.claimFor(args, o), 'NothingToClaim')
      assert.is(await w.as[0].ledger.read.claimedOf([BigInt(e)]), payable(model.earned.get(e)!))
    }
    // What is left in the Ledger is exactly the clients' unspent deposits plus the earners' sub-gwei dust.
    const unspent = CLIENTS.reduce((sum, c) => sum + model.funded.get(c)! - model.spent.get(c)!, 0n)
    const dust = EARNERS.reduce((sum, e) => sum + model.earned.get(e)! - model.claimed.get(e)!, 0n)
    assert.ok(dust < BigInt(EARNERS.length) * 10n ** 9n)
    assert.is((await w.as[0].token.read.balanceOf([w.addresses.ledger])) - startBalance, unspent + dust)
    assert.ok(model.byzantine > 0, 'the run included byzantine submissions')
  })
}

test.run()
