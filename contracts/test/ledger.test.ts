// The Ledger on a real anvil chain: deposits, reserved withdrawals, checkpoints that commit to the epoch's
// validator set and fee split, claims against recent roots, slashing, jailing, the escape hatch, bounded
// parameters and re-entrancy. Every attack is sent with a fixed gas limit (`minedRevert`), so it is mined
// and reverts on chain, and the state after it is compared with the state before.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Address, encodeFunctionData, type Hex, keccak256, parseEther, zeroAddress } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { LedgerTree } from '../../consensus/merkle.ts'
import { openLedgerDomain } from '../../protocols/common/eip712.ts'
import { connect, DEFAULTS } from '../deploy.ts'
import { ledgerAbi, ledgerBytecode, reentrantTokenAbi, reentrantTokenBytecode } from '../generated/index.ts'
import {
  type CheckpointMessage,
  checkpointDigest,
  type IndexedSignature,
  orderSignatures,
  sortTotals,
  toCompactSignature,
  type ValidatorEntry,
} from '../typedData.ts'
import { ATTACK_GAS, createWorld, MIN_STAKE, signerKey, toStruct, type World } from './helpers.ts'

const VALIDATORS = [1, 2, 3, 4]
const CLIENT = 5
const CLIENT2 = 6
const EARNER = 7
const EARNER2 = 8
const OUTSIDER = 9

let w: World
let snap: Hex
const keys = VALIDATORS.map(signerKey)
const quorum = keys.slice(0, 3) // 3 of 4 equal stakes: 75% > 2/3

test.before(async () => {
  w = await createWorld()
  for (const i of VALIDATORS) await w.addValidator(i)
  // Until epoch 1 is checkpointed every registration joins its set (nobody could have signed it yet).
  await w.checkpoint(await w.nextMessage(), quorum)
  await w.deposit(CLIENT, parseEther('100'))
  await w.deposit(CLIENT2, parseEther('50'))
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
const watched = () => [CLIENT, CLIENT2, EARNER, EARNER2, OUTSIDER].map(addr)
type Send = (opts: { gas: bigint }) => Promise<Hex>

/** Mines `send`, which must revert with `error`, and checks no token or ledger state moved. */
async function attack(send: Send, error: string) {
  const before = await w.state(watched())
  const stakingBefore = await w.as[0].staking.read.setHashFor([(await lastEpoch()) + 1n])
  const args = await w.minedRevert(send, error)
  assert.equal(await w.state(watched()), before, `${error}: state changed`)
  assert.is(await w.as[0].staking.read.setHashFor([(await lastEpoch()) + 1n]), stakingBefore)
  return args
}

const lastEpoch = () => w.as[0].ledger.read.lastEpoch()
const balanceOf = (a: Address) => w.as[0].token.read.balanceOf([a])
const client = async (i: number) => {
  const [funded, spent, reserved, available, unlockAt] = await w.as[0].ledger.read.clientBalance([addr(i)])
  return { funded, spent, reserved, available, unlockAt }
}

/** Submits `message` with explicit signatures and set (default: the epoch's), mined with `gas`. */
function submit(message: CheckpointMessage, sigs: IndexedSignature[], set: ValidatorEntry[]): Send {
  return (opts) => w.as[0].ledger.write.checkpoint([toStruct(message), set, sigs], opts)
}
/** Signs `message` with `signers` and submits it against the epoch's set. */
function signedBy(message: CheckpointMessage, signers: Hex[]): Send {
  return async (opts) => w.as[0].ledger.write.checkpoint(await w.checkpointArgs(message, signers), opts)
}

/** Checkpoints a ledger tree with the given client totals; returns it with its epoch. */
async function checkpointTree(
  entries: { account: Address; earned: bigint; spent: bigint }[],
  totals: { client: Address; spent: bigint }[] = [],
) {
  const tree = await LedgerTree.build(entries.map((e) => ({ ...e, index: Number(w.ledgerIndex(e.account)) })))
  const totalEarned = entries.reduce((s, e) => s + e.earned, 0n)
  const message = await w.nextMessage({ stateRoot: tree.root, totals: sortTotals(totals), totalEarned })
  await w.checkpoint(message, quorum)
  return { tree, epoch: message.epoch }
}

async function asTimelock() {
  const timelock = w.addresses.timelock
  await w.testClient.impersonateAccount({ address: timelock })
  await w.testClient.setBalance({ address: timelock, value: parseEther('1') })
  return { account: timelock, chain: w.publicClient.chain } as const
}

// ------------------------------------------------------------------ deposits

test('deposit credits the client and moves tokens into the Ledger; zero is refused', async () => {
  const before = await balanceOf(w.addresses.ledger)
  await w.deposit(CLIENT, parseEther('5'))
  assert.is(await balanceOf(w.addresses.ledger), before + parseEther('5'))
  const c = await client(CLIENT)
  assert.equal([c.funded, c.spent, c.reserved, c.available], [parseEther('105'), 0n, 0n, parseEther('105')])
  await attack((o) => w.as[CLIENT].ledger.write.deposit([0n], o), 'ZeroAmount')
})

async function permitSignature(i: number, amount: bigint, deadline: bigint) {
  const owner = w.anvil.accounts[i]
  const nonce = await w.as[0].token.read.nonces([owner.address])
  const signature = await privateKeyToAccount(owner.privateKey).signTypedData({
    domain: {
      name: 'OpenLedger',
      version: '1',
      chainId: w.anvil.chainId,
      verifyingContract: w.addresses.token,
    },
    types: {
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Permit',
    message: { owner: owner.address, spender: w.addresses.ledger, value: amount, nonce, deadline },
  })
  return {
    owner: owner.address,
    r: signature.slice(0, 66) as Hex,
    s: `0x${signature.slice(66, 130)}` as Hex,
    v: Number.parseInt(signature.slice(130, 132), 16),
  }
}

test('depositWithPermit needs no approve, and survives its permit being front-run', async () => {
  const amount = parseEther('3')
  const deadline = 2n ** 40n
  await w.fund(EARNER, 2n * amount)
  const p = await permitSignature(EARNER, amount, deadline)
  await w.mined(w.as[EARNER].ledger.write.depositWithPermit([amount, deadline, p.v, p.r, p.s]))
  assert.is((await client(EARNER)).funded, amount)
  // Someone copies the next permit from the mempool and submits it first: the permit call inside the
  // deposit then fails (nonce used), and the deposit goes through on the allowance it already set.
  const q = await permitSignature(EARNER, amount, deadline)
  await w.mined(
    w.as[OUTSIDER].token.write.permit([q.owner, w.addresses.ledger, amount, deadline, q.v, q.r, q.s]),
  )
  await w.mined(w.as[EARNER].ledger.write.depositWithPermit([amount, deadline, q.v, q.r, q.s]))
  assert.is((await client(EARNER)).funded, 2n * amount)
  // Without an allowance, a replayed permit moves nothing.
  await attack(
    (o) => w.as[EARNER].ledger.write.depositWithPermit([amount, deadline, q.v, q.r, q.s], o),
    'ERC20InsufficientAllowance',
  )
})

// ------------------------------------------------------------------ finding 1: withdrawals

test('finding 1: a client that spends and then withdraws cannot outrun the checkpoint', async () => {
  const { withdrawalDelay } = DEFAULTS.ledgerParams
  // The client has signed payment authorizations worth 60 of its 100, then asks for everything back.
  await w.mined(w.as[CLIENT].ledger.write.requestWithdrawal([parseEther('100')]))
  let c = await client(CLIENT)
  assert.equal([c.reserved, c.available], [parseEther('100'), 0n], 'reserved at once: nothing left to spend')
  const unlockAt = await w.minedRevert(
    (o) => w.as[CLIENT].ledger.write.executeWithdrawal(o),
    'WithdrawalLocked',
  )
  assert.equal(unlockAt, [c.unlockAt])
  // The time passes, but no checkpoint since the request: still locked.
  await w.increaseTime(withdrawalDelay)
  await attack((o) => w.as[CLIENT].ledger.write.executeWithdrawal(o), 'AwaitingCheckpoint')
  // The checkpoint carrying the 60 lands (it reverted with TotalsExceedDeposits before this issue).
  await w.checkpoint(
    await w.nextMessage({ totals: [{ client: addr(CLIENT), spent: parseEther('60') }] }),
    quorum,
  )
  const before = await balanceOf(addr(CLIENT))
  await w.mined(w.as[CLIENT].ledger.write.executeWithdrawal())
  assert.is(await balanceOf(addr(CLIENT)), before + parseEther('40'))
  c = await client(CLIENT)
  assert.equal([c.funded, c.spent, c.reserved, c.available], [parseEther('60'), parseEther('60'), 0n, 0n])
  await attack((o) => w.as[CLIENT].ledger.write.executeWithdrawal(o), 'NoPendingWithdrawal')
})

test('finding 1: requests beyond the available balance, zero, or nothing pending revert', async () => {
  await w.mined(w.as[CLIENT].ledger.write.requestWithdrawal([parseEther('70')]))
  const args = await attack(
    (o) => w.as[CLIENT].ledger.write.requestWithdrawal([parseEther('31')], o),
    'InsufficientAvailable',
  )
  assert.equal(args, [parseEther('31'), parseEther('30')])
  await attack((o) => w.as[CLIENT].ledger.write.requestWithdrawal([0n], o), 'ZeroAmount')
  await attack((o) => w.as[EARNER].ledger.write.executeWithdrawal(o), 'NoPendingWithdrawal')
})

test('finding 1: one overdrawn client cannot revert a checkpoint; its spending is capped at its funds', async () => {
  const totals = sortTotals([
    { client: addr(CLIENT), spent: parseEther('10') },
    { client: addr(CLIENT2), spent: parseEther('50') + 1n },
    { client: addr(EARNER), spent: 1n }, // never deposited
  ])
  const receipt = await w.checkpoint(await w.nextMessage({ totals }), quorum)
  assert.is((await client(CLIENT2)).spent, parseEther('50'))
  assert.is((await client(EARNER)).spent, 0n)
  assert.is(await w.as[0].ledger.read.totalSpent(), parseEther('60'))
  const capped = await w.publicClient.getContractEvents({
    address: w.addresses.ledger,
    abi: ledgerAbi,
    eventName: 'SpendingCapped',
    fromBlock: receipt.blockNumber,
    toBlock: receipt.blockNumber,
  })
  assert.equal(
    capped.map((e) => [e.args.client, e.args.signed, e.args.capped]).sort(),
    [
      [addr(CLIENT2), parseEther('50') + 1n, parseEther('50')],
      [addr(EARNER), 1n, 0n],
    ].sort(),
  )
})

test('finding 1 and 2: with no checkpoint for escapeDelay, reserved funds leave without one', async () => {
  await w.mined(w.as[CLIENT2].ledger.write.requestWithdrawal([parseEther('50')]))
  await w.increaseTime(DEFAULTS.ledgerParams.withdrawalDelay)
  assert.is(await w.as[0].ledger.read.escapeOpen(), false)
  await attack((o) => w.as[CLIENT2].ledger.write.executeWithdrawal(o), 'AwaitingCheckpoint')
  await w.increaseTime(DEFAULTS.ledgerParams.escapeDelay)
  assert.is(await w.as[0].ledger.read.escapeOpen(), true)
  const before = await balanceOf(addr(CLIENT2))
  await w.mined(w.as[CLIENT2].ledger.write.executeWithdrawal())
  assert.is(await balanceOf(addr(CLIENT2)), before + parseEther('50'))
  // Unreserved funds stay: the hatch frees only what was requested (receipts may still claim the rest).
  assert.is((await client(CLIENT)).funded, parseEther('100'))
})

// ------------------------------------------------------------------ checkpoints and quorum

test('checkpoint with > 2/3 of stake is accepted and settles client spending', async () => {
  const totals = sortTotals([
    { client: addr(CLIENT), spent: parseEther('10') },
    { client: addr(CLIENT2), spent: parseEther('20') },
  ])
  const message = await w.nextMessage({ totals, totalEarned: parseEther('30') })
  assert.is(message.epoch, 2n)
  await w.checkpoint(message, quorum)
  assert.is(await lastEpoch(), 2n)
  assert.is(await w.as[0].ledger.read.stateRoot(), message.stateRoot)
  assert.is(await w.as[0].ledger.read.rootOf([2n]), message.stateRoot)
  assert.is(await w.as[0].ledger.read.totalSpent(), parseEther('30'))
  const c = await client(CLIENT2)
  assert.equal([c.funded, c.spent, c.available], [parseEther('50'), parseEther('20'), parseEther('30')])
  // the digest the contract computes equals viem's typed-data hash
  const next = await w.nextMessage({ totals })
  assert.is(await w.as[0].ledger.read.checkpointDigest([toStruct(next)]), checkpointDigest(w.domain, next))
})

test('attack: a checkpoint signed by too little stake, or by exactly 2/3', async () => {
  const message = await w.nextMessage()
  const set = await w.setFor(message.epoch)
  await attack(submit(message, [], set), 'InsufficientQuorum')
  const args = await attack(signedBy(message, keys.slice(0, 2)), 'InsufficientQuorum')
  assert.equal(args, [2n * MIN_STAKE, 4n * MIN_STAKE])
  // stakes 1000, 1000, 1000, 3000 from epoch lastEpoch + 2: validators 1 and 4 hold exactly 4000 of 6000
  await w.fund(4, parseEther('2000'))
  await w.mined(w.as[4].token.write.approve([w.addresses.staking, parseEther('2000')]))
  await w.mined(w.as[4].staking.write.addStake([parseEther('2000')]))
  await w.checkpoint(message, quorum)
  const later = await w.nextMessage()
  const exact = await attack(signedBy(later, [signerKey(1), signerKey(4)]), 'InsufficientQuorum')
  assert.equal(exact, [parseEther('4000'), parseEther('6000')])
  await w.checkpoint(later, [signerKey(1), signerKey(2), signerKey(4)])
})

test('attack: duplicate and unsorted signers', async () => {
  const message = await w.nextMessage()
  const set = await w.setFor(message.epoch)
  const sigs = orderSignatures(set, await w.sign(message, keys))
  await attack(submit(message, [sigs[0], sigs[0], sigs[1]], set), 'DuplicateSigner')
  await attack(submit(message, [sigs[0], sigs[2], sigs[1], sigs[3]], set), 'UnsortedSigners')
  await attack(submit(message, [...sigs].reverse(), set), 'UnsortedSigners')
})

test('attack: a signer outside the set, a forged set, an index out of range', async () => {
  const message = await w.nextMessage()
  const set = await w.setFor(message.epoch)
  const outsiderKey = generatePrivateKey()
  const outsider = privateKeyToAccount(outsiderKey).address
  const [vote] = await w.sign(message, [outsiderKey])
  const honest = orderSignatures(set, await w.sign(message, keys.slice(0, 2)))
  // claim the outsider's signature belongs to a validator of the set
  const forged = { index: 3n, ...toCompactSignature(vote.signature) }
  await attack(submit(message, [...honest, forged], set), 'SignerNotInSet')
  // add the outsider to the calldata set: it no longer matches the epoch's committed hash
  const fakeSet = [...set, { signer: outsider, stake: 100n * MIN_STAKE }]
  await attack(submit(message, orderSignatures(fakeSet, [vote]), fakeSet), 'ValidatorSetMismatch')
  await attack(submit(message, [{ ...honest[0], index: 99n }], set), 'SignerNotInSet')
})

test('attack: wrong parent, skipped epoch, replay of an accepted checkpoint', async () => {
  await attack(signedBy(await w.nextMessage({ parentRoot: keccak256('0x01') }), quorum), 'WrongParent')
  const skipped = await attack(signedBy(await w.nextMessage({ epoch: 3n }), quorum), 'UnexpectedEpoch')
  assert.equal(skipped, [2n, 3n])
  const first = await w.nextMessage()
  const args = await w.checkpointArgs(first, quorum)
  await w.mined(w.as[0].ledger.write.checkpoint(args))
  await attack((o) => w.as[0].ledger.write.checkpoint(args, o), 'UnexpectedEpoch')
})

test('attack: votes replayed from another chain id or another Ledger address', async () => {
  const message = await w.nextMessage()
  const set = await w.setFor(message.epoch)
  const otherChain = openLedgerDomain({ chainId: w.anvil.chainId + 1, ledger: w.addresses.ledger })
  const otherLedger = openLedgerDomain({ chainId: w.anvil.chainId, ledger: w.addresses.staking })
  for (const domain of [otherChain, otherLedger]) {
    const sigs = orderSignatures(set, await w.sign(message, keys, domain))
    await attack(submit(message, sigs, set), 'SignerNotInSet')
  }
})

test('attack: totals decreasing or unsorted; earnings beyond settled spending', async () => {
  const both = sortTotals([
    { client: addr(CLIENT), spent: 1n },
    { client: addr(CLIENT2), spent: 1n },
  ])
  await attack(signedBy(await w.nextMessage({ totals: [...both].reverse() }), quorum), 'UnsortedTotals')
  await attack(signedBy(await w.nextMessage({ totals: [both[0], both[0]] }), quorum), 'UnsortedTotals')
  await w.checkpoint(await w.nextMessage({ totals: [{ client: addr(CLIENT), spent: 10n }] }), quorum)
  const decreased = await attack(
    signedBy(await w.nextMessage({ totals: [{ client: addr(CLIENT), spent: 9n }] }), quorum),
    'SpentDecreased',
  )
  assert.equal(decreased, [addr(CLIENT), 10n, 9n])
  // A root may promise at most what clients have paid in: 10 settled + 5 now.
  const over = await attack(
    signedBy(
      await w.nextMessage({ totals: [{ client: addr(CLIENT), spent: 15n }], totalEarned: 16n }),
      quorum,
    ),
    'EarningsExceedSpending',
  )
  assert.equal(over, [16n, 15n])
})

// ------------------------------------------------------------------ finding 2: the set is fixed per epoch

test('finding 2: stake changes between signing and submission do not break the vote in flight', async () => {
  const message = await w.nextMessage()
  const args = await w.checkpointArgs(message, quorum)
  // While the vote is collected: a validator adds 1 wei, a whale registers with 100x the set's stake.
  await w.fund(1, 1n)
  await w.mined(w.as[1].token.write.approve([w.addresses.staking, 1n]))
  await w.mined(w.as[1].staking.write.addStake([1n]))
  await w.addValidator(OUTSIDER, 400n * MIN_STAKE)
  assert.is(await w.as[0].staking.read.setHashFor([message.epoch]), message.validatorSetHash)
  await w.mined(w.as[0].ledger.write.checkpoint(args))
  assert.is(await lastEpoch(), message.epoch)
  // The changes apply from the epoch after next: there the whale's stake counts and the old quorum is short.
  const next = await w.nextMessage()
  assert.is.not(next.validatorSetHash, message.validatorSetHash)
  assert.is((await w.setFor(next.epoch)).length, 5)
  await attack(signedBy(next, quorum), 'InsufficientQuorum')
  await w.checkpoint(next, [...quorum, signerKey(OUTSIDER)])
})

test('finding 2: a vote for another set than the epoch’s is refused', async () => {
  const message = await w.nextMessage()
  const set = await w.setFor(message.epoch)
  const wrongHash = keccak256('0x5e7')
  const forged = { ...message, validatorSetHash: wrongHash }
  const sigs = orderSignatures(set, await w.sign(forged, keys))
  const args = await attack(submit(forged, sigs, set), 'ValidatorSetMismatch')
  assert.equal(args, [message.validatorSetHash, wrongHash])
})

test('finding 2: a validator that signs none of the last N checkpoints is jailed by anyone', async () => {
  const window = DEFAULTS.ledgerParams.inactivityWindow
  const silent = privateKeyToAccount(signerKey(4)).address
  const jail =
    (staker: number, evidence: Awaited<ReturnType<World['participation']>>) => (o: { gas: bigint }) =>
      w.as[OUTSIDER].ledger.write.jailInactive([addr(staker), evidence.sets, evidence.recent], o)
  await attack(jail(4, await w.participation(1, silent)), 'InactivityNotProven')
  for (let k = 0; k < window; k++) await w.checkpoint(await w.nextMessage(), quorum)
  const evidence = await w.participation(window, silent)
  assert.is(evidence.sets.length, 1, 'one distinct set, sent once')
  // validator 1 signed: it cannot be jailed with these records
  await attack(
    jail(1, await w.participation(window, privateKeyToAccount(signerKey(1)).address)),
    'InactivityNotProven',
  )
  // a forged bitmap or digest does not match the stored record; a set index out of range is refused
  const tamper = (k: number, change: object) => ({
    ...evidence,
    recent: evidence.recent.map((r, i) => (i === k ? { ...r, ...change } : r)),
  })
  await attack(jail(4, tamper(0, { signedBitmap: 0n })), 'InactivityNotProven')
  await attack(jail(4, tamper(3, { digest: keccak256('0x01') })), 'InactivityNotProven')
  await attack(jail(4, tamper(5, { set: 1n })), 'InactivityNotProven')
  await attack(jail(4, { ...evidence, recent: evidence.recent.slice(1) }), 'InactivityNotProven')
  await w.mined(jail(4, evidence)({ gas: ATTACK_GAS }))
  const [, stake, unbonding, , active, banned] = await w.as[0].staking.read.getValidator([addr(4)])
  assert.equal([stake, unbonding, active, banned], [0n, MIN_STAKE, false, false])
  const next = await w.nextMessage()
  await w.checkpoint(next, quorum)
  assert.is((await w.setFor((await lastEpoch()) + 1n)).length, 3)
})

test('finding 2: votes a relayer left out are added later, and the validator who cast them is not jailed', async () => {
  const window = DEFAULTS.ledgerParams.inactivityWindow
  const victim = privateKeyToAccount(signerKey(4)).address
  // every validator signs each checkpoint; the relayer submits a bare quorum without validator 4
  const omitted: { epoch: bigint; signature: Hex }[] = []
  for (let k = 0; k < window; k++) {
    const message = await w.nextMessage()
    const [vote] = await w.sign(message, [signerKey(4)])
    omitted.push({ epoch: message.epoch, signature: vote.signature })
    await w.checkpoint(message, quorum)
  }
  const evidence = await w.participation(window, victim)
  // validator 4 (or anyone holding its votes) adds them; a record that is not the stored one is refused
  const set = evidence.sets[0]
  const position = BigInt(set.findIndex((v) => v.signer === victim))
  for (const [k, { epoch, signature }] of omitted.entries()) {
    const record = evidence.recent[window - 1 - k]
    const sig = { index: position, ...toCompactSignature(signature) }
    if (k === 0) {
      await attack(
        (o) =>
          w.as[4].ledger.write.addSignatures(
            [epoch, set, record.signedBitmap | (1n << position), record.digest, [sig]],
            o,
          ),
        'UnknownParticipation',
      )
      const wrong = { ...sig, index: (position + 1n) % 4n }
      await attack(
        (o) =>
          w.as[4].ledger.write.addSignatures([epoch, set, record.signedBitmap, record.digest, [wrong]], o),
        'SignerNotInSet',
      )
    }
    await w.mined(w.as[4].ledger.write.addSignatures([epoch, set, record.signedBitmap, record.digest, [sig]]))
  }
  const updated = await w.participation(window, victim)
  assert.ok(updated.recent.every((r) => (r.signedBitmap >> position) & 1n))
  await attack(
    (o) => w.as[OUTSIDER].ledger.write.jailInactive([addr(4), updated.sets, updated.recent], o),
    'InactivityNotProven',
  )
  await attack(
    (o) => w.as[OUTSIDER].ledger.write.jailInactive([addr(4), evidence.sets, evidence.recent], o),
    'InactivityNotProven',
  )
})

// ------------------------------------------------------------------ finding 3: bounded parameters

test('finding 3: every Ledger parameter is bounded, for governance too', async () => {
  const p = DEFAULTS.ledgerParams
  await attack((o) => w.as[0].ledger.write.setParams([p], o), 'OwnableUnauthorizedAccount')
  const tl = await asTimelock()
  const cases: [Partial<typeof p>, string][] = [
    [{ authorizationWindow: 59 }, 'authorizationWindow'],
    [{ authorizationWindow: 86_401 }, 'authorizationWindow'],
    [{ epochDuration: 9 }, 'epochDuration'],
    [{ epochDuration: 86_401 }, 'epochDuration'],
    [{ withdrawalDelay: p.authorizationWindow + p.epochDuration }, 'withdrawalDelay'],
    [{ withdrawalDelay: 1 }, 'withdrawalDelay'],
    [{ withdrawalDelay: 30 * 86_400 + 1, escapeDelay: 90 * 86_400 }, 'withdrawalDelay'],
    [{ escapeDelay: 86_399 }, 'escapeDelay'],
    [{ escapeDelay: 90 * 86_400 + 1 }, 'escapeDelay'],
    [{ withdrawalDelay: 2 * 86_400 }, 'escapeDelay'], // escape before withdrawals unlock
    [{ inactivityWindow: 3 }, 'inactivityWindow'],
    [{ inactivityWindow: 65 }, 'inactivityWindow'],
  ]
  for (const [change, name] of cases) {
    const args = await attack(
      (o) => w.as[0].ledger.write.setParams([{ ...p, ...change }], { ...tl, ...o }),
      'InvalidParameter',
    )
    assert.equal(args, [name], JSON.stringify(change))
  }
  const edge = {
    authorizationWindow: 60,
    epochDuration: 10,
    withdrawalDelay: 71,
    escapeDelay: 86_400,
    inactivityWindow: 4,
  }
  await w.mined(w.as[0].ledger.write.setParams([edge], { ...tl, gas: 200_000n }))
  assert.equal(await w.as[0].ledger.read.params(), [60, 10, 71, 86_400, 4])
})

test('finding 1: shortening the windows does not shorten withdrawals requested under the old ones', async () => {
  const old = DEFAULTS.ledgerParams
  const tl = await asTimelock()
  const short = { ...old, authorizationWindow: 60, epochDuration: 10, withdrawalDelay: 71 }
  const receipt = await w.mined(w.as[0].ledger.write.setParams([short], { ...tl, gas: 200_000n }))
  const changedAt = (await w.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp
  // Authorizations signed just before the change may stay valid for the old window.
  await w.mined(w.as[CLIENT].ledger.write.requestWithdrawal([parseEther('10')]))
  const floor = changedAt + BigInt(old.authorizationWindow + old.epochDuration + 1)
  assert.is((await client(CLIENT)).unlockAt, floor)
  await w.increaseTime(short.withdrawalDelay + 1)
  await w.checkpoint(await w.nextMessage(), quorum)
  await attack((o) => w.as[CLIENT].ledger.write.executeWithdrawal(o), 'WithdrawalLocked')
  // Once the old window has passed, new requests get the short delay.
  await w.increaseTime(old.authorizationWindow + old.epochDuration)
  await w.mined(w.as[CLIENT2].ledger.write.requestWithdrawal([parseEther('10')]))
  const now = (await w.publicClient.getBlock()).timestamp
  assert.is((await client(CLIENT2)).unlockAt, now + BigInt(short.withdrawalDelay))
})

// ------------------------------------------------------------------ finding 4: claims

test('claimFor pays the leaf’s account earned - claimed, cumulatively, whoever relays it', async () => {
  const a = await checkpointTree(
    [
      { account: addr(EARNER), earned: parseEther('20'), spent: 0n },
      { account: addr(EARNER2), earned: parseEther('10'), spent: 0n },
      { account: addr(CLIENT), earned: 0n, spent: parseEther('30') },
    ],
    [{ client: addr(CLIENT), spent: parseEther('30') }],
  )
  const before = await balanceOf(addr(EARNER))
  // relayed by someone else: the leaf's account is paid
  await w.mined(
    w.as[OUTSIDER].ledger.write.claimFor([
      addr(EARNER),
      BigInt(EARNER),
      a.epoch,
      parseEther('20'),
      0n,
      a.tree.proof(addr(EARNER)),
    ]),
  )
  assert.is(await balanceOf(addr(EARNER)), before + parseEther('20'))
  assert.is(await w.as[0].ledger.read.claimedOf([BigInt(EARNER)]), parseEther('20'))
  const b = await checkpointTree(
    [
      { account: addr(EARNER), earned: parseEther('25'), spent: 0n },
      { account: addr(EARNER2), earned: parseEther('10'), spent: 0n },
      { account: addr(CLIENT), earned: 0n, spent: parseEther('35') },
    ],
    [{ client: addr(CLIENT), spent: parseEther('35') }],
  )
  await w.mined(
    w.as[EARNER].ledger.write.claimFor([
      addr(EARNER),
      BigInt(EARNER),
      b.epoch,
      parseEther('25'),
      0n,
      b.tree.proof(addr(EARNER)),
    ]),
  )
  assert.is(await balanceOf(addr(EARNER)), before + parseEther('25'))
  // the older root now pays nothing
  await attack(
    (o) =>
      w.as[EARNER].ledger.write.claimFor(
        [addr(EARNER), BigInt(EARNER), a.epoch, parseEther('20'), 0n, a.tree.proof(addr(EARNER))],
        o,
      ),
    'NothingToClaim',
  )
})

test('finding 4: a proof against any of the last 16 roots verifies; older ones are unknown', async () => {
  const { tree, epoch } = await checkpointTree(
    [
      { account: addr(EARNER), earned: parseEther('7'), spent: 0n },
      { account: addr(EARNER2), earned: parseEther('3'), spent: 0n },
    ],
    [{ client: addr(CLIENT), spent: parseEther('10') }],
  )
  const history = await w.as[0].ledger.read.ROOT_HISTORY()
  // A slow earner (a multisig) prepared its claim; checkpoints keep landing meanwhile.
  for (let k = 1n; k < history; k++) await w.checkpoint(await w.nextMessage(), quorum)
  assert.is(await lastEpoch(), epoch + history - 1n)
  const claim = (o?: { gas: bigint }) =>
    w.as[EARNER2].ledger.write.claimFor(
      [addr(EARNER2), BigInt(EARNER2), epoch, parseEther('3'), 0n, tree.proof(addr(EARNER2))],
      o ?? {},
    )
  const snapshot = await w.snapshot()
  await w.mined(claim())
  assert.is(await w.as[0].ledger.read.claimedOf([BigInt(EARNER2)]), parseEther('3'))
  await w.revert(snapshot)
  await w.checkpoint(await w.nextMessage(), quorum)
  assert.is(await w.as[0].ledger.read.rootOf([epoch]), `0x${'00'.repeat(32)}`)
  const args = await attack(claim, 'UnknownRoot')
  assert.equal(args, [epoch])
})

test('attack: a double claim, a proof for another account, a made-up amount, a future epoch', async () => {
  const { tree, epoch } = await checkpointTree(
    [
      { account: addr(EARNER), earned: parseEther('20'), spent: 0n },
      { account: addr(EARNER2), earned: parseEther('10'), spent: 0n },
    ],
    [{ client: addr(CLIENT), spent: parseEther('30') }],
  )
  const claim =
    (account: Address, earned: bigint, proof: Hex[], at = epoch) =>
    (o: { gas: bigint }) =>
      w.as[OUTSIDER].ledger.write.claimFor([account, w.ledgerIndex(account), at, earned, 0n, proof], o)
  await w.mined(claim(addr(EARNER), parseEther('20'), tree.proof(addr(EARNER)))({ gas: 200_000n }))
  await attack(claim(addr(EARNER), parseEther('20'), tree.proof(addr(EARNER))), 'NothingToClaim')
  await attack(claim(addr(EARNER2), parseEther('20'), tree.proof(addr(EARNER))), 'InvalidProof')
  await attack(claim(addr(EARNER2), parseEther('11'), tree.proof(addr(EARNER2))), 'InvalidProof')
  await attack(claim(addr(EARNER2), parseEther('10'), []), 'InvalidProof')
  await attack(claim(addr(EARNER2), parseEther('10'), tree.proof(addr(EARNER2)), epoch + 1n), 'UnknownRoot')
})

test('claimMany pays a batch against one checked level of nodes, skips what is claimed, fails whole on a bad proof', async () => {
  const entries = [EARNER, EARNER2, OUTSIDER].map((i, k) => ({
    account: addr(i),
    earned: parseEther(String(k + 1)),
    spent: 0n,
  }))
  const { tree, epoch } = await checkpointTree(entries, [{ client: addr(CLIENT), spent: parseEther('6') }])
  const depth = 1
  const top = tree.tree.level(depth)
  const claims = entries.map((e) => {
    const { proof, topIndex } = tree.proofToLevel(e.account, depth)
    return { ...e, index: w.ledgerIndex(e.account), topIndex: BigInt(topIndex), proof }
  })
  const c0 = { ...claims[0], proof: tree.proof(claims[0].account) }
  await w.mined(w.as[EARNER].ledger.write.claimFor([c0.account, c0.index, epoch, c0.earned, 0n, c0.proof]))
  const batch =
    (list: typeof claims, level = top) =>
    (o: { gas: bigint }) =>
      w.as[CLIENT].ledger.write.claimMany([epoch, level, list], o)
  const bad = claims.map((c, k) => (k === 2 ? { ...c, earned: c.earned + 1n } : c))
  await attack(batch(bad), 'InvalidProof')
  const moved = claims.map((c, k) => (k === 1 ? { ...c, index: c.index + 1n } : c))
  await attack(batch(moved), 'InvalidProof')
  const elsewhere = claims.map((c, k) => (k === 1 ? { ...c, topIndex: 1n - c.topIndex } : c))
  await attack(batch(elsewhere), 'InvalidProof')
  const outOfRange = claims.map((c, k) => (k === 1 ? { ...c, topIndex: 2n } : c))
  await attack(batch(outOfRange), 'InvalidProof')
  // a forged level: one node replaced, one missing, or not a power of two
  await attack(batch(claims, [top[0], keccak256('0xf0')]), 'InvalidTop')
  await attack(batch(claims, [top[0]]), 'InvalidTop')
  await attack(batch(claims, [...top, top[0]]), 'InvalidTop')
  await attack(batch(claims, []), 'InvalidTop')
  // the root itself as the level: full proofs
  const full = claims.map((c) => ({ ...c, topIndex: 0n, proof: tree.proof(c.account) }))
  const snapshot = await w.snapshot()
  await w.mined(w.as[CLIENT].ledger.write.claimMany([epoch, [tree.root], full]))
  assert.is(await w.as[0].ledger.read.claimedOf([BigInt(OUTSIDER)]), parseEther('3'))
  await w.revert(snapshot)
  const before = await Promise.all(entries.map((e) => balanceOf(e.account)))
  await w.mined(w.as[CLIENT].ledger.write.claimMany([epoch, top, claims]))
  const after = await Promise.all(entries.map((e) => balanceOf(e.account)))
  assert.equal(
    after.map((b, k) => b - before[k]),
    [0n, parseEther('2'), parseEther('3')],
  )
  assert.equal(
    await Promise.all(claims.map((c) => w.as[0].ledger.read.claimedOf([c.index]))),
    entries.map((e) => e.earned),
  )
})

test('claimed amounts are kept in gwei, four to a word by index: neighbours never disturb each other', async () => {
  // indexes 4..11 fill two words; odd sub-gwei amounts are paid down to the gwei
  const gwei = 10n ** 9n
  const accounts = Array.from({ length: 8 }, () => privateKeyToAccount(generatePrivateKey()).address)
  const entries = accounts.map((account, k) => ({
    account,
    index: 4 + k,
    earned: parseEther(String(k + 1)) + (k === 3 ? gwei - 1n : 0n),
    spent: 0n,
  }))
  const tree = await LedgerTree.build(entries)
  const total = entries.reduce((a, e) => a + e.earned, 0n)
  const message = await w.nextMessage({
    stateRoot: tree.root,
    totals: [{ client: addr(CLIENT), spent: parseEther('100') }],
    totalEarned: total,
  })
  await w.checkpoint(message, quorum)
  const claim = (e: (typeof entries)[number]) =>
    w.mined(
      w.as[OUTSIDER].ledger.write.claimFor([
        e.account,
        BigInt(e.index),
        message.epoch,
        e.earned,
        0n,
        tree.proof(e.account),
      ]),
    )
  for (const k of [5, 0, 7, 3, 2]) await claim(entries[k])
  for (const [k, e] of entries.entries()) {
    const expected = [5, 0, 7, 3, 2].includes(k) ? e.earned - (e.earned % gwei) : 0n
    assert.is(await w.as[0].ledger.read.claimedOf([BigInt(e.index)]), expected, `index ${e.index}`)
    assert.is(await balanceOf(e.account), expected)
  }
  // a leaf whose earnings grew by less than a gwei has nothing new to claim
  await attack(
    (o) =>
      w.as[OUTSIDER].ledger.write.claimFor(
        [entries[3].account, 7n, message.epoch, entries[3].earned, 0n, tree.proof(entries[3].account)],
        o,
      ),
    'NothingToClaim',
  )
})

// ------------------------------------------------------------------ finding 6: fee split

test('finding 6: a fee split change applies from the epoch after next, and the vote commits to it', async () => {
  const split = {
    node: 5_000,
    modelOwner: 1_000,
    adapterOwner: 500,
    contributors: 2_500,
    validators: 500,
    treasury: 500,
  }
  await attack((o) => w.as[0].ledger.write.setFeeSplit([split], o), 'OwnableUnauthorizedAccount')
  const tl = await asTimelock()
  await attack(
    (o) => w.as[0].ledger.write.setFeeSplit([{ ...split, treasury: 501 }], { ...tl, ...o }),
    'InvalidFeeSplit',
  )
  const last = await lastEpoch()
  await w.mined(w.as[0].ledger.write.setFeeSplit([split], { ...tl, gas: 300_000n }))
  assert.equal({ ...(await w.as[0].ledger.read.feeSplitFor([last + 1n])) }, DEFAULTS.feeSplit)
  assert.equal({ ...(await w.as[0].ledger.read.feeSplitFor([last + 2n])) }, split)
  // the epoch being voted on keeps the split its validators computed with
  const next = await w.nextMessage()
  await attack(signedBy({ ...next, feeSplit: split }, quorum), 'FeeSplitMismatch')
  await w.checkpoint(next, quorum)
  const after = await w.nextMessage()
  assert.equal(after.feeSplit, split)
  await attack(signedBy({ ...after, feeSplit: { ...DEFAULTS.feeSplit } }, quorum), 'FeeSplitMismatch')
  await w.checkpoint(after, quorum)
  assert.equal({ ...(await w.as[0].ledger.read.feeSplitFor([(await lastEpoch()) + 5n])) }, split)
})

// ------------------------------------------------------------------ slashing

async function votePair(key: Hex, a: Partial<CheckpointMessage>, b: Partial<CheckpointMessage>) {
  const ma = await w.nextMessage(a)
  const mb = await w.nextMessage(b)
  const [va] = await w.sign(ma, [key])
  const [vb] = await w.sign(mb, [key])
  return { ma, mb, sa: toCompactSignature(va.signature), sb: toCompactSignature(vb.signature) }
}

test('slashEquivocation burns stake, bans the staker and removes it from the next set', async () => {
  const { ma, mb, sa, sb } = await votePair(signerKey(2), {}, { stateRoot: keccak256('0xbad') })
  const supply = await w.as[0].token.read.totalSupply()
  const last = await lastEpoch()
  await w.mined(w.as[EARNER].ledger.write.slashEquivocation([toStruct(ma), sa, toStruct(mb), sb]))
  const burned = (MIN_STAKE * BigInt(DEFAULTS.slashBps)) / 10_000n
  assert.is(await w.as[0].token.read.totalSupply(), supply - burned)
  const [, stake, unbonding, , active, banned] = await w.as[0].staking.read.getValidator([addr(2)])
  assert.equal([stake, unbonding, active, banned], [0n, MIN_STAKE - burned, false, true])
  assert.is((await w.setFor(last + 1n)).length, 4, 'the epoch in flight keeps its set')
  assert.is((await w.setFor(last + 2n)).length, 3)
  await attack(
    (o) => w.as[EARNER].ledger.write.slashEquivocation([toStruct(ma), sa, toStruct(mb), sb], o),
    'AlreadySlashed',
  )
})

test('attack: slashing with same-root, forged, mismatched or cross-round votes', async () => {
  const slash = (x: { ma: CheckpointMessage; sa: object }, y: { mb: CheckpointMessage; sb: object }) =>
    ((o: { gas: bigint }) =>
      w.as[EARNER].ledger.write.slashEquivocation(
        [toStruct(x.ma), x.sa, toStruct(y.mb), y.sb] as never,
        o,
      )) as Send
  const same = await votePair(signerKey(1), {}, {})
  await attack(slash(same, same), 'VotesNotConflicting')
  const outsider = await votePair(generatePrivateKey(), {}, { stateRoot: keccak256('0xbad') })
  await attack(slash(outsider, outsider), 'UnknownSigner')
  // a vote by validator 1 paired with a different vote by validator 2 is no equivocation
  const one = await votePair(signerKey(1), {}, {})
  const two = await votePair(signerKey(2), {}, { stateRoot: keccak256('0xbad') })
  await attack(slash(one, two), 'SignersDiffer')
  // tamper with the evidence after signing: the signature recovers someone else
  const t = await votePair(signerKey(1), {}, { stateRoot: keccak256('0xbad') })
  await attack(slash(t, { mb: { ...t.mb, receiptsRoot: keccak256('0x02') }, sb: t.sb }), 'SignersDiffer')
  const highS = { r: t.sa.r, vs: `0x${'7f'.padEnd(64, 'f')}` as Hex }
  await attack(slash({ ma: t.ma, sa: highS }, t), 'InvalidSignature')
  const other = await votePair(signerKey(1), {}, { round: 1, stateRoot: keccak256('0xbad') })
  await attack(slash(other, other), 'NotSameEpochRound')
  assert.is((await w.activeSet()).length, 4)
})

// ------------------------------------------------------------------ re-entrancy

test('attack: re-entrancy through a hostile token is refused', async () => {
  const { walletClient } = await connect(w.anvil.rpcUrl, w.anvil.accounts[0].privateKey)
  const deployer = walletClient.account.address
  const deployed = async (abi: readonly unknown[], bytecode: Hex, args: unknown[]) =>
    (await w.mined(walletClient.deployContract({ abi, bytecode, args } as never))).contractAddress!
  const reToken = await deployed(reentrantTokenAbi, reentrantTokenBytecode, [])
  const ledger = await deployed(ledgerAbi, ledgerBytecode, [
    reToken,
    w.addresses.staking,
    deployer,
    DEFAULTS.feeSplit,
    DEFAULTS.ledgerParams,
  ])
  const write =
    (functionName: string, address: Address, abi: readonly unknown[], args: unknown[]) =>
    (o: { gas: bigint }) =>
      walletClient.writeContract({ address, abi, functionName, args, ...o } as never)
  const read = (a: Address) =>
    w.publicClient.readContract({
      address: reToken,
      abi: reentrantTokenAbi,
      functionName: 'balanceOf',
      args: [a],
    })
  const balances = async () => [await read(ledger), await read(deployer)]
  const ok = (send: Send) => w.mined(send({ gas: 1_000_000n }))
  await ok(write('approve', reToken, reentrantTokenAbi, [ledger, 10n ** 24n]))
  await ok(write('deposit', ledger, ledgerAbi, [10n ** 15n]))

  // deposit → token.transferFrom → ledger.deposit again: the guard refuses
  let before = await balances()
  const arm = (payload: Hex, target: Address = ledger) =>
    ok(write('arm', reToken, reentrantTokenAbi, [target, payload]))
  await arm(encodeFunctionData({ abi: ledgerAbi, functionName: 'deposit', args: [1n] }))
  await w.minedRevert(write('deposit', ledger, ledgerAbi, [10n]), 'ReentrancyGuardReentrantCall')
  assert.equal(await balances(), before)
  await arm('0x', zeroAddress)

  // claimFor → token.transfer → claimFor again: `claimed` is written first, so the inner call pays nothing
  const paid = 500n * 10n ** 9n // 500 gwei: claims count whole gwei
  const tree = await LedgerTree.build([
    { account: deployer, index: 0, earned: paid, spent: paid },
    { account: addr(EARNER), index: EARNER, earned: 0n, spent: 0n },
  ])
  const message: CheckpointMessage = {
    epoch: 1n,
    round: 0,
    parentRoot: `0x${'00'.repeat(32)}`,
    stateRoot: tree.root,
    receiptsRoot: keccak256('0x01'),
    receiptsCid: 'bafy',
    validatorSetHash: await w.as[0].staking.read.setHashFor([1n]),
    feeSplit: { ...DEFAULTS.feeSplit },
    totalEarned: paid,
    totals: [{ client: deployer, spent: paid }],
  }
  const set = await w.setFor(1n)
  const sigs = orderSignatures(
    set,
    await w.sign(message, keys, openLedgerDomain({ chainId: w.anvil.chainId, ledger })),
  )
  await ok(write('checkpoint', ledger, ledgerAbi, [toStruct(message), set, sigs]))
  const claimArgs = [deployer, 0n, 1n, paid, paid, tree.proof(deployer)]
  await arm(encodeFunctionData({ abi: ledgerAbi, functionName: 'claimFor', args: claimArgs as never }))
  before = await balances()
  await w.minedRevert(write('claimFor', ledger, ledgerAbi, claimArgs), 'NothingToClaim')
  assert.equal(await balances(), before)
  await arm('0x', zeroAddress)
  await ok(write('claimFor', ledger, ledgerAbi, claimArgs))
  assert.equal(await balances(), [before[0] - paid, before[1] + paid])
})

test.run()
