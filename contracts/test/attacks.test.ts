// Attacks on the issue-10 contracts found by a review after the first rewrite: a lone first registrant
// owning epoch 1, a relayer omitting an honest validator's votes to get it jailed, a withdrawal outrunning
// receipts behind an early checkpoint, and a validator leaving a fixed set with its stake. Each test runs
// the attack (transactions sent with a fixed gas limit, so they are mined whatever they do) and asserts the
// outcome the contracts promise; each failed before its fix. "holds:" tests prove a suspicion safe.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Address, encodeAbiParameters, type Hex, keccak256, parseEther } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { LedgerTree } from '../../consensus/merkle.ts'
import { DEFAULTS } from '../deploy.ts'
import {
  type CheckpointMessage,
  orderSignatures,
  sortTotals,
  toCompactSignature,
  type ValidatorEntry,
} from '../typedData.ts'
import { ATTACK_GAS, createWorld, MIN_STAKE, signerKey, toStruct, type World } from './helpers.ts'

const VALIDATORS = [1, 2, 3, 4]
const CLIENT = 5
const EARNER = 7
const OUTSIDER = 9

let w: World
let snap: Hex
const keys = VALIDATORS.map(signerKey)
const quorum = keys.slice(0, 3) // 3 of 4 equal stakes: 75% > 2/3

// Every test starts at genesis: nothing registered, no checkpoint.
test.before(async () => {
  w = await createWorld()
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

const addr = (i: number) => w.as[i].address
const lastEpoch = () => w.as[0].ledger.read.lastEpoch()
const balanceOf = (a: Address) => w.as[0].token.read.balanceOf([a])

/** The launch the other tests use: validators 1-4 register and sign epoch 1. */
async function bootstrap() {
  for (const i of VALIDATORS) await w.addValidator(i)
  await w.checkpoint(await w.nextMessage(), quorum)
}

/** Sends a transaction with a fixed gas limit and returns whether it succeeded (no estimation, no throw). */
async function tryMined(send: (opts: { gas: bigint }) => Promise<Hex>): Promise<boolean> {
  let hash: Hex
  try {
    hash = await send({ gas: ATTACK_GAS })
  } catch {
    return false // refused before mining (e.g. a function that no longer exists)
  }
  const receipt = await w.publicClient.waitForTransactionReceipt({ hash })
  return receipt.status === 'success'
}

/** Submits `message` signed by `signers`, against the epoch's set, mined whatever happens. */
async function trySubmit(message: CheckpointMessage, signers: Hex[], from = 0) {
  const set = await w.setFor(message.epoch).catch(() => [] as ValidatorEntry[])
  const sigs = orderSignatures(set, await w.sign(message, signers))
  return tryMined((o) => w.as[from].ledger.write.checkpoint([toStruct(message), set, sigs], o))
}

// ------------------------------------------------------------------ genesis

test('attack: genesis front-run: a lone first registrant owns epoch 1 and halts the chain for good', async () => {
  // The attacker registers first, with the minimum stake; the honest validators follow with 4x more each.
  await w.addValidator(OUTSIDER)
  for (const i of VALIDATORS) await w.addValidator(i, 4n * MIN_STAKE)
  const honestStake = 16n * MIN_STAKE
  const [, total] = await w.as[0].staking.read.activeValidators()
  assert.is(total, honestStake + MIN_STAKE)
  // The honest 94% sign epoch 1 and it lands: every registration before the first checkpoint joined it.
  await trySubmit(await w.nextMessage(), keys)
  assert.is((await w.setFor(1n)).length, 5)
  assert.is(await lastEpoch(), 1n, 'epoch 1 did not land: the first registrant holds the chain hostage')
})

test('attack: genesis front-run: the lone first registrant signs away every deposit made before epoch 1', async () => {
  // A client funds its account before the network has produced its first checkpoint.
  await w.deposit(CLIENT, parseEther('100'))
  await w.addValidator(OUTSIDER)
  for (const i of VALIDATORS) await w.addValidator(i, 4n * MIN_STAKE)
  // The attacker alone signs epoch 1: the client spent everything, and the attacker earned it.
  const tree = await LedgerTree.build([
    { account: addr(OUTSIDER), index: OUTSIDER, earned: parseEther('100'), spent: 0n },
  ])
  const message = await w.nextMessage({
    stateRoot: tree.root,
    totalEarned: parseEther('100'),
    totals: [{ client: addr(CLIENT), spent: parseEther('100') }],
  })
  const before = await balanceOf(addr(OUTSIDER))
  await trySubmit(message, [signerKey(OUTSIDER)], OUTSIDER)
  await tryMined((o) =>
    w.as[OUTSIDER].ledger.write.claimFor(
      [addr(OUTSIDER), BigInt(OUTSIDER), 1n, parseEther('100'), 0n, tree.proof(addr(OUTSIDER))],
      o,
    ),
  )
  const [, spent] = await w.as[0].ledger.read.clientBalance([addr(CLIENT)])
  assert.is(spent, 0n, 'the client never spent anything, yet its deposit was settled as spent')
  assert.is(await balanceOf(addr(OUTSIDER)), before, 'a 6% staker took the client deposit')
})

// ------------------------------------------------------------------ jailing

test('attack: signature omission: whoever relays checkpoints drops an honest validator and then jails it', async () => {
  await bootstrap()
  const window = DEFAULTS.ledgerParams.inactivityWindow
  const victim = privateKeyToAccount(keys[3]).address
  const victimVotes = new Map<bigint, Hex>()
  // All four validators sign every checkpoint (the victim's vote is in gossip for anyone to see), but the
  // relayer (an outsider, no stake) submits first with only the three others: 75% is a quorum.
  for (let k = 0; k < window; k++) {
    const message = await w.nextMessage()
    const set = await w.setFor(message.epoch)
    const votes = await w.sign(message, keys)
    victimVotes.set(message.epoch, votes.find((v) => v.signer === victim)!.signature)
    assert.ok(
      votes.some((v) => v.signer === victim),
      'the victim signed',
    )
    const sigs = orderSignatures(
      set,
      votes.filter((v) => v.signer !== victim),
    )
    await w.mined(w.as[OUTSIDER].ledger.write.checkpoint([toStruct(message), set, sigs], { gas: ATTACK_GAS }))
  }
  // The victim watches the Checkpointed events, sees its votes missing and adds them (addSignatures).
  const evidence = await w.participation(window, victim)
  const set = evidence.sets[0]
  const position = BigInt(set.findIndex((v) => v.signer === victim))
  for (const [k, record] of evidence.recent.entries()) {
    const epoch = (await lastEpoch()) - BigInt(k)
    const signature = victimVotes.get(epoch)!
    await tryMined((o) =>
      w.as[4].ledger.write.addSignatures(
        [
          epoch,
          set,
          record.signedBitmap,
          record.digest,
          [{ index: position, ...toCompactSignature(signature) }],
        ],
        o,
      ),
    )
  }
  const after = await w.participation(window, victim)
  await tryMined((o) => w.as[OUTSIDER].ledger.write.jailInactive([addr(4), after.sets, after.recent], o))
  await tryMined((o) =>
    w.as[OUTSIDER].ledger.write.jailInactive([addr(4), evidence.sets, evidence.recent], o),
  )
  const [, , , , active] = await w.as[0].staking.read.getValidator([addr(4)])
  assert.ok(active, 'a validator that signed every checkpoint was jailed for inactivity')
})

// ------------------------------------------------------------------ withdrawals

test('attack: quick checkpoint then a stall: a withdrawal outruns receipts and reverts the signed checkpoint', async () => {
  await bootstrap()
  await w.deposit(CLIENT, parseEther('100'))
  // The client signed payment authorizations worth 60 (deadline within authorizationWindow), then asks for
  // all 100 back. A checkpoint lands a moment later; its snapshot predates the receipts.
  await w.mined(w.as[CLIENT].ledger.write.requestWithdrawal([parseEther('100')]))
  await w.checkpoint(await w.nextMessage(), quorum)
  // The next epoch, which carries the 60, is signed by everyone, but lands late (slow round, congestion,
  // or a third of the stake dragging its feet) — later than withdrawalDelay after the request.
  const tree = await LedgerTree.build([
    { account: addr(EARNER), index: EARNER, earned: parseEther('60'), spent: 0n },
    { account: addr(CLIENT), index: CLIENT, earned: 0n, spent: parseEther('60') },
  ])
  const message = await w.nextMessage({
    stateRoot: tree.root,
    totalEarned: parseEther('60'),
    totals: sortTotals([{ client: addr(CLIENT), spent: parseEther('60') }]),
  })
  const args = await w.checkpointArgs(message, keys)
  await w.increaseTime(DEFAULTS.ledgerParams.withdrawalDelay)
  assert.is(await w.as[0].ledger.read.escapeOpen(), false, 'not the escape hatch')
  const before = await balanceOf(addr(CLIENT))
  await tryMined((o) => w.as[CLIENT].ledger.write.executeWithdrawal(o))
  const paid = (await balanceOf(addr(CLIENT))) - before
  await tryMined((o) => w.as[0].ledger.write.checkpoint(args, o))
  assert.is(
    await lastEpoch(),
    message.epoch,
    `the client withdrew ${paid} wei, then the signed checkpoint with its 60 OPEN of receipts reverted ` +
      '(EarningsExceedSpending): the earners are never paid and every validator must sign again',
  )
})

// ------------------------------------------------------------------ staking

test('attack: stall, exit and withdraw: a validator of a fixed set keeps its vote with nothing at stake', async () => {
  await bootstrap()
  // Validator 4 is in the set of epoch 2, fixed. It leaves at once; epoch 2 does not land for a week.
  await w.mined(w.as[4].staking.write.requestUnstake([MIN_STAKE]))
  assert.ok((await w.setFor(2n)).some((v) => v.signer === privateKeyToAccount(keys[3]).address))
  await w.increaseTime(DEFAULTS.unbondingDelay + 1n)
  await tryMined((o) => w.as[4].staking.write.withdraw(o))
  // Its stake still counts in epoch 2's quorum; it now signs two different epoch-2 votes.
  const a = await w.nextMessage({ stateRoot: keccak256('0x01') })
  const b = await w.nextMessage({ stateRoot: keccak256('0x02') })
  const [va] = await w.sign(a, [keys[3]])
  const [vb] = await w.sign(b, [keys[3]])
  const supply = await w.as[0].token.read.totalSupply()
  await tryMined((o) =>
    w.as[OUTSIDER].ledger.write.slashEquivocation(
      [toStruct(a), toCompactSignature(va.signature), toStruct(b), toCompactSignature(vb.signature)],
      o,
    ),
  )
  const burned = supply - (await w.as[0].token.read.totalSupply())
  // A vote of epoch 2 carrying its 25% still lands (with validators 2 and 3).
  const landed = await trySubmit(a, [keys[1], keys[2], keys[3]])
  assert.ok(
    burned > 0n,
    `the equivocation burned nothing: the stake behind a vote of a fixed set left before the set did (its vote ${landed ? 'still counted' : 'did not count'})`,
  )
})

// ------------------------------------------------------------------ what held

test('holds: a leaf with the largest index (2^256 - 1) pays once and touches only its own quarter', async () => {
  await bootstrap()
  await w.deposit(CLIENT, parseEther('10'))
  const max = 2n ** 256n - 1n
  const earned = parseEther('5') + 123n // not a gwei multiple
  // A one-leaf tree: root = leaf (consensus/merkle.ts caps indexes at 2^32 - 1; the contract does not).
  const leaf = keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }],
      [addr(EARNER), max, earned, 0n],
    ),
  )
  await w.checkpoint(
    await w.nextMessage({
      stateRoot: leaf,
      totalEarned: earned,
      totals: [{ client: addr(CLIENT), spent: parseEther('10') }],
    }),
    quorum,
  )
  const epoch = await lastEpoch()
  const before = await balanceOf(addr(EARNER))
  await w.mined(w.as[OUTSIDER].ledger.write.claimFor([addr(EARNER), max, epoch, earned, 0n, []]))
  assert.is((await balanceOf(addr(EARNER))) - before, parseEther('5'))
  assert.is(await w.as[0].ledger.read.claimedOf([max]), parseEther('5'))
  for (const i of [max - 1n, max - 2n, max - 3n, 0n, max >> 2n])
    assert.is(await w.as[0].ledger.read.claimedOf([i]), 0n)
  await w.minedRevert(
    (o) => w.as[OUTSIDER].ledger.write.claimFor([addr(EARNER), max, epoch, earned, 0n, []], o),
    'NothingToClaim',
  )
  // the same leaf as a one-node level in claimMany pays nothing more (skipped)
  await w.mined(
    w.as[OUTSIDER].ledger.write.claimMany([
      epoch,
      [leaf],
      [{ account: addr(EARNER), index: max, earned, spent: 0n, topIndex: 0n, proof: [] }],
    ]),
  )
  assert.is((await balanceOf(addr(EARNER))) - before, parseEther('5'))
})

test.run()
