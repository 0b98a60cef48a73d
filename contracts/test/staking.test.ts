// Staking on a real anvil chain: registration with proofs of possession, the set fixed per epoch, eviction
// from a full set, bounded parameters, unbonding, exit and re-registration, and slashing of unbonding and
// exited stake. Every attack is mined (fixed gas, no estimation) and reverts on chain; the whole Staking
// state (balances, supply, every account, the committed set hashes, parameters) is compared around it.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  type Address,
  encodeAbiParameters,
  type Hex,
  hexToBytes,
  keccak256,
  parseEther,
  parseEventLogs,
  type TransactionReceipt,
  toHex,
  zeroAddress,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { DEFAULTS } from '../deploy.ts'
import { ledgerAbi, stakingAbi } from '../generated/index.ts'
import { registrationDigest, registrationTypes, stakingDomain, verifyPeerIdProof } from '../registration.ts'
import { type CheckpointMessage, toCompactSignature, type ValidatorEntry } from '../typedData.ts'
import { validatorSetHash } from '../validator-set.ts'
import { createWorld, toStruct, type World } from './helpers.ts'

const MIN = DEFAULTS.minStake
const DELAY = DEFAULTS.unbondingDelay
const BPS = BigInt(DEFAULTS.slashBps)
const DAY = 24n * 3600n

/** This file's own signer keys (distinct from the stakers' account keys). */
const KEY = (i: number) => keccak256(toHex(`staking-test-signer-${i}`))
const signerOf = (i: number) => privateKeyToAccount(KEY(i)).address

// Validators 1, 2, 3 with distinct stakes, so "the smallest" is always validator 3.
const STAKE: Record<number, bigint> = { 1: 3n * MIN, 2: 2n * MIN, 3: MIN }
const VALIDATORS = [1, 2, 3]
const KEYS = VALIDATORS.map(KEY)
const ACCOUNTS = [1, 2, 3, 4, 5, 6, 7, 8, 9]

let w: World
let snap: Hex

test.before(async () => {
  w = await createWorld()
  for (const i of VALIDATORS) await w.addValidator(i, STAKE[i], KEY(i))
  // genesis: all three registered before epoch 1 was checkpointed, so all three sign it; after two
  // checkpoints the chain is in its steady state (changes apply from the epoch after next)
  await w.advanceTo(2n, KEYS)
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

// ------------------------------------------------------------------ helpers (local to this file)

const addr = (i: number) => w.as[i].address
const staking = () => w.as[0].staking.read
const lastEpoch = () => w.as[0].ledger.read.lastEpoch()
const domain = () => stakingDomain(w.anvil.chainId, w.addresses.staking)
/** getValidator's first seven fields (signer, stake, unbonding, unbondingEnd, active, banned, peerId). */
const validatorOf = async (i: number) => (await staking().getValidator([addr(i)])).slice(0, 7)

const setType = [
  {
    type: 'tuple[]',
    components: [
      { name: 'signer', type: 'address' },
      { name: 'stake', type: 'uint96' },
    ],
  },
] as const

/** The live set and checkpoint arguments come from the shared world (helpers.ts). */
const activeSet = () => w.activeSet()
const checkpointArgs = (message: CheckpointMessage, keys: Hex[], set?: ValidatorEntry[]) =>
  w.checkpointArgs(message, keys, set)

interface Registration {
  signer: Address
  peerId: Hex
  signerProof: Hex
  peerIdProof: Hex
}
const registerArgs = (r: Registration, amount: bigint) =>
  [r.signer, r.peerId, amount, r.signerProof, r.peerIdProof] as const

async function fundAndApprove(i: number, amount: bigint) {
  await w.fund(i, amount)
  await w.mined(w.as[i].token.write.approve([w.addresses.staking, amount]))
}

/** Account i registers `amount` (funded and approved here) with `r` (default: KEY(i), a fresh PeerId). */
async function register(i: number, amount: bigint, r?: Registration) {
  const reg = r ?? (await w.registration(i, KEY(i)))
  await fundAndApprove(i, amount)
  const receipt = await w.mined(w.as[i].staking.write.register(registerArgs(reg, amount)))
  return { r: reg, receipt }
}

/** `key`'s EIP-712 Registration signature, for any staker, signer address and PeerId bytes. */
async function signerProof(
  key: Hex,
  staker: Address,
  peerId: Hex,
  signer = privateKeyToAccount(key).address,
) {
  return privateKeyToAccount(key).signTypedData({
    domain: domain(),
    types: registrationTypes,
    primaryType: 'Registration',
    message: { staker, signer, peerId },
  })
}

async function blockTime(receipt: TransactionReceipt) {
  return (await w.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp
}

function stakingEvents(receipt: TransactionReceipt) {
  return parseEventLogs({ abi: stakingAbi, logs: receipt.logs })
}

/** Everything an attack on Staking could move. */
async function stakingState() {
  const s = staking()
  const t = w.as[0].token.read
  const last = await lastEpoch()
  return {
    lastEpoch: last,
    stateRoot: await w.as[0].ledger.read.stateRoot(),
    supply: await t.totalSupply(),
    balances: await Promise.all(
      [w.addresses.staking, w.addresses.ledger, ...ACCOUNTS.map(addr)].map((a) => t.balanceOf([a])),
    ),
    validators: await Promise.all(ACCOUNTS.map((i) => s.getValidator([addr(i)]))),
    stakerOf: await Promise.all(ACCOUNTS.map((i) => s.stakerOf([signerOf(i)]))),
    setHashes: await Promise.all([last, last + 1n, last + 2n, last + 3n].map((e) => s.setHashFor([e]))),
    pending: await s.pendingFromEpoch(),
    active: await s.activeValidators(),
    stakers: await s.activeStakers(),
    totalActive: await s.totalActiveStake(),
    params: await Promise.all([s.minStake(), s.unbondingDelay(), s.slashBps(), s.maxValidators()]),
    ledger: await s.ledger(),
    owner: await s.owner(),
  }
}

/** Sends an attack mined with a fixed gas limit, asserts the error, and that nothing changed. */
async function attack(send: (opts: { gas: bigint }) => Promise<Hex>, error: string) {
  const before = await stakingState()
  const args = await w.minedRevert(send, error)
  assert.equal(await stakingState(), before, `${error}: state changed`)
  return args
}

async function impersonateTimelock() {
  await w.testClient.impersonateAccount({ address: w.addresses.timelock })
  await w.testClient.setBalance({ address: w.addresses.timelock, value: parseEther('10') })
  return { account: w.addresses.timelock, chain: w.publicClient.chain } as const
}

const entries = (set: readonly ValidatorEntry[]) => set.map((v) => ({ signer: v.signer, stake: v.stake }))

/** Two different votes by `key` for the next epoch, round 0: equivocation evidence. */
async function conflictingVotes(key: Hex) {
  const ma = await w.nextMessage()
  const mb = await w.nextMessage({ stateRoot: keccak256(toHex('a conflicting root')) })
  const [va] = await w.sign(ma, [key])
  const [vb] = await w.sign(mb, [key])
  const args = [
    toStruct(ma),
    toCompactSignature(va.signature),
    toStruct(mb),
    toCompactSignature(vb.signature),
  ] as const
  return { epoch: ma.epoch, args }
}

// ------------------------------------------------------------------ registration

test('genesis: every registration before the first checkpoint joins epoch 1; later ones wait an epoch', async () => {
  assert.is(await lastEpoch(), 2n)
  const all = VALIDATORS.map((i) => ({ signer: signerOf(i), stake: STAKE[i] }))
  // one commit per registration, all for epoch 1: a lone first registrant never owns it
  assert.equal(entries(await w.setFor(1n)), all)
  assert.equal(entries(await w.setFor(2n)), all)
  assert.equal(entries(await w.setFor(3n)), all)
  assert.is(await staking().pendingFromEpoch(), 0n)
  assert.is(await staking().EMPTY_SET_HASH(), validatorSetHash([]))
})

test('register: the set, stakes, setHashFor(next epoch) = keccak256(abi.encode(set)), proofs in the event', async () => {
  const L = await lastEpoch()
  const fixed = await staking().setHashFor([L + 1n])
  const { r, receipt } = await register(4, 4n * MIN)

  const [set, total] = await staking().activeValidators()
  assert.equal(
    set.map((v) => v.signer),
    [1, 2, 3, 4].map(signerOf),
  )
  assert.equal(
    set.map((v) => v.stake),
    [STAKE[1], STAKE[2], STAKE[3], 4n * MIN],
  )
  assert.is(total, 10n * MIN)
  assert.is(await staking().totalActiveStake(), 10n * MIN)
  assert.equal(await staking().activeStakers(), [1, 2, 3, 4].map(addr))
  const setHash = keccak256(encodeAbiParameters(setType, [set]))
  assert.is(await staking().setHashFor([L + 2n]), setHash)
  assert.is(await staking().setHashFor([L + 1n]), fixed, 'the set of the epoch being voted on moved')
  assert.is.not(fixed, setHash)
  assert.is(await staking().pendingFromEpoch(), L + 2n)
  assert.equal(await validatorOf(4), [r.signer, 4n * MIN, 0n, 0n, true, false, r.peerId])
  assert.is(await staking().stakerOf([r.signer]), addr(4))
  assert.is(await w.as[0].token.read.balanceOf([w.addresses.staking]), 10n * MIN)

  const logs = stakingEvents(receipt)
  const registered = logs.find((l) => l.eventName === 'Registered')
  const committed = logs.find((l) => l.eventName === 'ValidatorSetCommitted')
  assert.ok(registered && registered.eventName === 'Registered')
  assert.ok(committed && committed.eventName === 'ValidatorSetCommitted')
  assert.equal(registered.args, {
    staker: addr(4),
    signer: r.signer,
    peerId: r.peerId,
    stake: 4n * MIN,
    peerIdProof: r.peerIdProof,
  })
  assert.equal(committed.args, { fromEpoch: L + 2n, setHash, set: [...set], totalStake: 10n * MIN })

  // nodes check the PeerId proof from the event off chain
  const message = { staker: addr(4), signer: r.signer, peerId: r.peerId }
  assert.ok(await verifyPeerIdProof(domain(), message, registered.args.peerIdProof))
  // the same proof does not pass for another staker (its digest names the staker)
  assert.not.ok(await verifyPeerIdProof(domain(), { ...message, staker: addr(5) }, r.peerIdProof))
  // a proof by another libp2p key over the right digest is rejected
  const other = await generateKeyPair('Ed25519')
  const forged = toHex(await other.sign(hexToBytes(registrationDigest(domain(), message))))
  assert.not.ok(await verifyPeerIdProof(domain(), message, forged))
  assert.not.ok(await verifyPeerIdProof(domain(), message, '0x1234'))
})

test('a forged PeerId proof is published as is (the EVM has no Ed25519) and verifyPeerIdProof rejects it', async () => {
  const r = await w.registration(5, KEY(5))
  const message = { staker: addr(5), signer: r.signer, peerId: r.peerId }
  const other = await generateKeyPair('Ed25519')
  const forged = toHex(await other.sign(hexToBytes(registrationDigest(domain(), message))))
  const { receipt } = await register(5, MIN, { ...r, peerIdProof: forged })
  const registered = stakingEvents(receipt).find((l) => l.eventName === 'Registered')
  assert.ok(registered && registered.eventName === 'Registered')
  assert.is(registered.args.peerIdProof, forged)
  assert.not.ok(await verifyPeerIdProof(domain(), message, registered.args.peerIdProof))
})

test('attack: invalid registrations are mined, revert, and change nothing', async () => {
  await fundAndApprove(5, 2n * MIN)
  await fundAndApprove(6, 2n * MIN)
  const s5 = w.as[5].staking.write
  const r5 = await w.registration(5, KEY(5))

  await attack((o) => s5.register(registerArgs({ ...r5, signer: zeroAddress }, MIN), o), 'InvalidSigner')
  // PeerId bounds (each with a signer proof valid for that PeerId, so only the length is wrong)
  for (const peerId of ['0x', toHex(new Uint8Array(65).fill(7))] as Hex[]) {
    const proof = await signerProof(KEY(5), addr(5), peerId)
    await attack(
      (o) => s5.register(registerArgs({ ...r5, peerId, signerProof: proof }, MIN), o),
      'InvalidPeerId',
    )
  }
  for (const peerIdProof of ['0x', toHex(new Uint8Array(129).fill(1))] as Hex[]) {
    await attack((o) => s5.register(registerArgs({ ...r5, peerIdProof }, MIN), o), 'InvalidPeerIdProof')
  }
  // the signer proof signed by another key
  const byOther = await signerProof(KEY(9), addr(5), r5.peerId, r5.signer)
  await attack(
    (o) => s5.register(registerArgs({ ...r5, signerProof: byOther }, MIN), o),
    'InvalidSignerProof',
  )
  // a proof for another PeerId, and garbage
  const otherPeer = await w.registration(5, KEY(5))
  await attack(
    (o) => s5.register(registerArgs({ ...r5, signerProof: otherPeer.signerProof }, MIN), o),
    'InvalidSignerProof',
  )
  await attack(
    (o) => s5.register(registerArgs({ ...r5, signerProof: `0x${'11'.repeat(65)}` }, MIN), o),
    'InvalidSignerProof',
  )
  // 5's valid proofs replayed by staker 6: the digest names the staker
  await attack((o) => w.as[6].staking.write.register(registerArgs(r5, MIN), o), 'InvalidSignerProof')
  const below = await attack((o) => s5.register(registerArgs(r5, MIN - 1n), o), 'BelowMinimumStake')
  assert.equal(below, [MIN - 1n, MIN])
  // validator 1 again, with fresh valid proofs
  const again = await w.registration(1, KEY(1))
  await fundAndApprove(1, MIN)
  const already = await attack(
    (o) => w.as[1].staking.write.register(registerArgs(again, MIN), o),
    'AlreadyRegistered',
  )
  assert.equal(already, [addr(1)])
  // validator 1's signer, with a proof by that key naming staker 5
  const stolen = await w.registration(5, KEY(1))
  const taken = await attack((o) => s5.register(registerArgs(stolen, MIN), o), 'SignerTaken')
  assert.equal(taken, [signerOf(1), addr(1)])
  // no approval
  const r7 = await w.registration(7, KEY(7))
  await w.fund(7, MIN)
  await attack((o) => w.as[7].staking.write.register(registerArgs(r7, MIN), o), 'ERC20InsufficientAllowance')
  // non-validators cannot add or unstake; zero is refused
  await attack((o) => s5.addStake([MIN], o), 'NotActive')
  await attack((o) => s5.requestUnstake([MIN], o), 'NotActive')
  await attack((o) => w.as[1].staking.write.addStake([0n], o), 'InsufficientStake')

  // the very proofs that failed for staker 6 work for staker 5
  await w.mined(s5.register(registerArgs(r5, MIN)))
  assert.is(await staking().stakerOf([r5.signer]), addr(5))
  // the bounds themselves are accepted: a 64-byte PeerId and a 128-byte PeerId proof
  const peerId = toHex(new Uint8Array(64).fill(9))
  const edge = {
    signer: signerOf(6),
    peerId,
    signerProof: await signerProof(KEY(6), addr(6), peerId),
    peerIdProof: toHex(new Uint8Array(128).fill(2)),
  }
  await w.mined(w.as[6].staking.write.register(registerArgs(edge, MIN)))
  assert.is((await validatorOf(6))[6], peerId)
})

// ------------------------------------------------------------------ the set is fixed per epoch

test('the set is fixed per epoch: addStake(1 wei) and a new registration leave the vote in flight valid', async () => {
  await w.advanceTo(4n, KEYS)
  const L = await lastEpoch()
  assert.is(L, 4n)
  const oldSet = await w.setFor(L + 1n)
  // the validators sign epoch L + 1 before anything changes ...
  const message = await w.nextMessage()
  assert.is(message.validatorSetHash, validatorSetHash(oldSet))
  const signed = await checkpointArgs(message, KEYS)

  // ... then someone adds 1 wei of stake ...
  await fundAndApprove(3, 1n)
  await w.mined(w.as[3].staking.write.addStake([1n]))
  assert.is(await staking().setHashFor([L + 1n]), message.validatorSetHash)
  const afterAdd = await activeSet()
  assert.is(afterAdd[2].stake, STAKE[3] + 1n)
  assert.is(await staking().setHashFor([L + 2n]), validatorSetHash(afterAdd))
  assert.is.not(validatorSetHash(afterAdd), message.validatorSetHash)
  assert.is(await staking().pendingFromEpoch(), L + 2n)

  // ... and a newcomer registers more stake than everyone else together
  await register(4, 10n * MIN)
  assert.is(await staking().setHashFor([L + 1n]), message.validatorSetHash)
  const live = await activeSet()
  assert.is(live.length, 4)
  assert.is(await staking().setHashFor([L + 2n]), validatorSetHash(live))

  // a vote claiming the live set for epoch L + 1 is refused: the new stake does not count yet
  const early = { ...message, validatorSetHash: validatorSetHash(live) }
  const earlyArgs = await checkpointArgs(early, [...KEYS, KEY(4)], live)
  await attack((o) => w.as[0].ledger.write.checkpoint(earlyArgs, o), 'ValidatorSetMismatch')

  // the vote signed before the changes still lands, without the newcomer's signature
  await w.mined(w.as[0].ledger.write.checkpoint(signed))
  assert.is(await lastEpoch(), L + 1n)
  assert.is(await w.as[0].ledger.read.stateRoot(), message.stateRoot)

  // from L + 2 the new set signs: the old validators alone (6 of 16 MIN) no longer have a quorum
  assert.equal(entries(await w.setFor(L + 2n)), entries(live))
  const next = await w.nextMessage()
  assert.is(next.validatorSetHash, validatorSetHash(live))
  const oldOnly = await checkpointArgs(next, KEYS)
  await attack((o) => w.as[0].ledger.write.checkpoint(oldOnly, o), 'InsufficientQuorum')
  await w.checkpoint(next, [...KEYS, KEY(4)])
  assert.is(await lastEpoch(), L + 2n)
  assert.is(await staking().pendingFromEpoch(), 0n)
})

// ------------------------------------------------------------------ full set

test('a full set admits a larger stake by evicting the smallest; an equal or smaller one reverts', async () => {
  const tl = await impersonateTimelock()
  await w.mined(w.as[0].staking.write.setParameters([MIN, DELAY, DEFAULTS.slashBps, 3], tl))
  assert.is(await staking().maxValidators(), 3)
  // validator 3 (the smallest) tops up to 1.5 MIN
  await fundAndApprove(3, MIN / 2n)
  await w.mined(w.as[3].staking.write.addStake([MIN / 2n]))
  const smallest = (3n * MIN) / 2n

  const L = await lastEpoch()
  const fixed = await staking().setHashFor([L + 1n])
  const r4 = await w.registration(4, KEY(4))
  await fundAndApprove(4, 2n * MIN)
  for (const amount of [MIN, smallest]) {
    const args = await attack(
      (o) => w.as[4].staking.write.register(registerArgs(r4, amount), o),
      'ValidatorSetFull',
    )
    assert.equal(args, [3n, smallest])
  }

  const receipt = await w.mined(w.as[4].staking.write.register(registerArgs(r4, smallest + 1n)))
  const now = await blockTime(receipt)
  const exited = stakingEvents(receipt).find((l) => l.eventName === 'Exited')
  assert.ok(exited && exited.eventName === 'Exited')
  assert.equal(exited.args, {
    staker: addr(3),
    reason: await staking().EXIT_EVICTED(),
    unbonding: smallest,
    unbondingEnd: now + DELAY,
  })
  assert.equal(await staking().activeStakers(), [1, 2, 4].map(addr))
  assert.equal(await validatorOf(3), [signerOf(3), 0n, smallest, now + DELAY, false, false, '0x'])
  assert.is(await staking().stakerOf([signerOf(3)]), addr(3))
  assert.is(await staking().setHashFor([L + 1n]), fixed)
  assert.is(await staking().setHashFor([L + 2n]), validatorSetHash(await activeSet()))
  assert.is(await staking().totalActiveStake(), STAKE[1] + STAKE[2] + smallest + 1n)

  // the evicted stake unbonds like any other
  await attack((o) => w.as[3].staking.write.withdraw(o), 'UnbondingNotFinished')
  await w.increaseTime(DELAY)
  // time alone is not enough: the set of the epoch in flight still counts it (finding: stall, exit, withdraw)
  const release = (await staking().getValidator([addr(3)]))[7]
  assert.is(release, L + 1n)
  assert.equal(await attack((o) => w.as[3].staking.write.withdraw(o), 'AwaitingEpoch'), [L + 1n])
  await w.advanceTo((await lastEpoch()) + 1n, KEYS) // the set that still counted it is checkpointed
  const before = await w.as[0].token.read.balanceOf([addr(3)])
  await w.mined(w.as[3].staking.write.withdraw())
  assert.is(await w.as[0].token.read.balanceOf([addr(3)]), before + smallest)
})

// ------------------------------------------------------------------ parameters

test('parameters: just outside each bound reverts InvalidParameter(name), just inside succeeds', async () => {
  const tl = await impersonateTimelock()
  type P = { minStake: bigint; unbondingDelay: bigint; slashBps: number; maxValidators: number }
  const base: P = {
    minStake: MIN,
    unbondingDelay: DELAY,
    slashBps: DEFAULTS.slashBps,
    maxValidators: DEFAULTS.maxValidators,
  }
  const args = (p: Partial<P>) => {
    const v = { ...base, ...p }
    return [v.minStake, v.unbondingDelay, v.slashBps, v.maxValidators] as const
  }
  const cases: { name: keyof P; outside: Partial<P>[]; inside: Partial<P>[] }[] = [
    {
      name: 'minStake',
      outside: [
        { minStake: parseEther('1') - 1n },
        { minStake: parseEther('10000000') + 1n },
        { minStake: 0n },
      ],
      inside: [{ minStake: parseEther('1') }, { minStake: parseEther('10000000') }],
    },
    {
      name: 'unbondingDelay',
      outside: [
        { unbondingDelay: 3n * DAY - 1n },
        { unbondingDelay: 90n * DAY + 1n },
        { unbondingDelay: 0n },
      ],
      inside: [{ unbondingDelay: 3n * DAY }, { unbondingDelay: 90n * DAY }],
    },
    {
      name: 'slashBps',
      outside: [{ slashBps: 99 }, { slashBps: 10_001 }, { slashBps: 0 }],
      inside: [{ slashBps: 100 }, { slashBps: 10_000 }],
    },
    {
      // the set holds 3 validators: the cap may not drop below that
      name: 'maxValidators',
      outside: [{ maxValidators: 0 }, { maxValidators: 257 }, { maxValidators: 2 }],
      inside: [{ maxValidators: 3 }, { maxValidators: 256 }],
    },
  ]
  const read = async () => {
    const s = staking()
    return Promise.all([s.minStake(), s.unbondingDelay(), s.slashBps(), s.maxValidators()])
  }
  for (const c of cases) {
    for (const p of c.outside) {
      const got = await attack(
        (o) => w.as[0].staking.write.setParameters(args(p), { ...tl, ...o }),
        'InvalidParameter',
      )
      assert.equal(
        got,
        [c.name],
        `${c.name} ${JSON.stringify(p, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`,
      )
    }
    for (const p of c.inside) {
      await w.mined(w.as[0].staking.write.setParameters(args(p), tl))
      assert.equal(await read(), [...args(p)])
    }
  }
  await w.testClient.stopImpersonatingAccount({ address: w.addresses.timelock })

  // only the Timelock: the deployer, a validator and anyone else are refused
  for (const i of [0, 1, 9]) {
    const got = await attack(
      (o) => w.as[i].staking.write.setParameters(args({}), o),
      'OwnableUnauthorizedAccount',
    )
    assert.equal(got, [addr(i)])
  }
  await attack((o) => w.as[0].staking.write.setLedger([addr(9)], o), 'OwnableUnauthorizedAccount')
  await attack((o) => w.as[0].staking.write.transferOwnership([addr(0)], o), 'OwnableUnauthorizedAccount')
  assert.is(await staking().owner(), w.addresses.timelock)
  assert.is(await staking().ledger(), w.addresses.ledger)
  // the Ledger is wired once, even for the Timelock
  const tl2 = await impersonateTimelock()
  await attack((o) => w.as[0].staking.write.setLedger([addr(9)], { ...tl2, ...o }), 'LedgerAlreadySet')
  await w.testClient.stopImpersonatingAccount({ address: w.addresses.timelock })
})

// ------------------------------------------------------------------ unbonding, exit, re-registration

test('unstake: partial above the minimum, below it reverts, full exit releases the PeerId; withdraw after the delay', async () => {
  const s1 = w.as[1].staking.write
  const L = await lastEpoch()
  const fixed = await staking().setHashFor([L + 1n])
  const [, , , , , , peerId] = await validatorOf(1)
  assert.is.not(peerId, '0x')

  const partial = await w.mined(s1.requestUnstake([MIN]))
  const t0 = await blockTime(partial)
  assert.equal(await validatorOf(1), [signerOf(1), 2n * MIN, MIN, t0 + DELAY, true, false, peerId])
  assert.is(await staking().setHashFor([L + 1n]), fixed)
  const live = await activeSet()
  assert.is(live[0].stake, 2n * MIN)
  assert.is(await staking().setHashFor([L + 2n]), validatorSetHash(live))

  assert.equal(await attack((o) => s1.requestUnstake([MIN + 1n], o), 'BelowMinimumStake'), [MIN - 1n, MIN])
  assert.equal(await attack((o) => s1.requestUnstake([3n * MIN], o), 'InsufficientStake'), [
    3n * MIN,
    2n * MIN,
  ])
  await attack((o) => s1.requestUnstake([0n], o), 'InsufficientStake')
  assert.equal(await attack((o) => s1.withdraw(o), 'UnbondingNotFinished'), [t0 + DELAY])

  // the rest: leaves the set, the PeerId is released, everything unbonds from now
  const full = await w.mined(s1.requestUnstake([2n * MIN]))
  const t1 = await blockTime(full)
  const exited = stakingEvents(full).find((l) => l.eventName === 'Exited')
  assert.ok(exited && exited.eventName === 'Exited')
  assert.is(exited.args.reason, await staking().EXIT_UNSTAKED())
  assert.equal(await validatorOf(1), [signerOf(1), 0n, 3n * MIN, t1 + DELAY, false, false, '0x'])
  assert.equal(await staking().activeStakers(), [3, 2].map(addr))
  assert.is(await staking().stakerOf([signerOf(1)]), addr(1))
  await attack((o) => s1.requestUnstake([1n], o), 'NotActive')
  await attack((o) => s1.addStake([1n], o), 'NotActive')

  await w.increaseTime(DELAY - 60n)
  assert.equal(await attack((o) => s1.withdraw(o), 'UnbondingNotFinished'), [t1 + DELAY])
  await w.increaseTime(60n)
  const before = await w.as[0].token.read.balanceOf([addr(1)])
  const stakingBefore = await w.as[0].token.read.balanceOf([w.addresses.staking])
  await w.advanceTo((await lastEpoch()) + 1n, KEYS) // the set that still counted it is checkpointed
  await w.mined(s1.withdraw())
  assert.is(await w.as[0].token.read.balanceOf([addr(1)]), before + 3n * MIN)
  assert.is(await w.as[0].token.read.balanceOf([w.addresses.staking]), stakingBefore - 3n * MIN)
  await attack((o) => s1.withdraw(o), 'NothingToWithdraw')
})

test('exit, then re-register with the same signer and a new PeerId; nobody else can take that signer', async () => {
  const [, , , , , , oldPeerId] = await validatorOf(2)
  await w.mined(w.as[2].staking.write.requestUnstake([STAKE[2]]))
  assert.equal(await staking().activeStakers(), [1, 3].map(addr))

  // the signer stays bound to staker 2, even while it is out of the set
  const stolen = await w.registration(4, KEY(2))
  await fundAndApprove(4, MIN)
  const taken = await attack(
    (o) => w.as[4].staking.write.register(registerArgs(stolen, MIN), o),
    'SignerTaken',
  )
  assert.equal(taken, [signerOf(2), addr(2)])

  const L = await lastEpoch()
  const { r } = await register(2, MIN)
  assert.is(r.signer, signerOf(2))
  assert.is.not(r.peerId, oldPeerId)
  const [signer, stake, unbonding, , active, banned, peerId] = await validatorOf(2)
  assert.equal(
    [signer, stake, unbonding, active, banned, peerId],
    [signerOf(2), MIN, STAKE[2], true, false, r.peerId],
  )
  assert.equal(await staking().activeStakers(), [1, 3, 2].map(addr))
  assert.is(await staking().setHashFor([L + 2n]), validatorSetHash(await activeSet()))
  assert.equal(entries(await w.setFor(L + 2n)), [
    { signer: signerOf(1), stake: STAKE[1] },
    { signer: signerOf(3), stake: STAKE[3] },
    { signer: signerOf(2), stake: MIN },
  ])
  // the earlier stake still unbonds on its own clock
  await w.increaseTime(DELAY)
  const before = await w.as[0].token.read.balanceOf([addr(2)])
  await w.advanceTo((await lastEpoch()) + 1n, KEYS) // the set that still counted it is checkpointed
  await w.mined(w.as[2].staking.write.withdraw())
  assert.is(await w.as[0].token.read.balanceOf([addr(2)]), before + STAKE[2])
  assert.is((await validatorOf(2))[1], MIN)
})

// ------------------------------------------------------------------ slashing

test('slashing reaches unbonding stake: cut by slashBps, burned, banned for good, no double slash', async () => {
  const { epoch, args } = await conflictingVotes(KEY(1))
  // the equivocator tries to leave with part of its stake first
  await w.mined(w.as[1].staking.write.requestUnstake([MIN]))
  assert.equal((await validatorOf(1)).slice(1, 3), [2n * MIN, MIN])

  const supply = await w.as[0].token.read.totalSupply()
  const held = await w.as[0].token.read.balanceOf([w.addresses.staking])
  const L = await lastEpoch()
  const fixed = await staking().setHashFor([L + 1n])
  const receipt = await w.mined(w.as[8].ledger.write.slashEquivocation(args))
  const now = await blockTime(receipt)
  const burned = (2n * MIN * BPS) / 10_000n + (MIN * BPS) / 10_000n
  assert.is(await w.as[0].token.read.totalSupply(), supply - burned)
  assert.is(await w.as[0].token.read.balanceOf([w.addresses.staking]), held - burned)
  const left = 3n * MIN - burned
  assert.equal(await validatorOf(1), [signerOf(1), 0n, left, now + DELAY, false, true, '0x'])
  const events = stakingEvents(receipt)
  const slashed = events.find((l) => l.eventName === 'Slashed')
  const exited = events.find((l) => l.eventName === 'Exited')
  assert.ok(slashed && slashed.eventName === 'Slashed')
  assert.equal(slashed.args, { staker: addr(1), burned })
  assert.ok(exited && exited.eventName === 'Exited')
  assert.is(exited.args.reason, await staking().EXIT_SLASHED())
  const evidence = parseEventLogs({ abi: ledgerAbi, logs: receipt.logs, eventName: 'EquivocationSlashed' })
  assert.equal(evidence[0].args, { staker: addr(1), signer: signerOf(1), epoch, round: 0, burned })
  // out of the set from L + 2; the epoch being voted on keeps its set
  assert.equal(await staking().activeStakers(), [3, 2].map(addr))
  assert.is(await staking().setHashFor([L + 1n]), fixed)
  assert.is(await staking().setHashFor([L + 2n]), validatorSetHash(await activeSet()))

  const twice = await attack((o) => w.as[9].ledger.write.slashEquivocation(args, o), 'AlreadySlashed')
  assert.equal(twice, [signerOf(1), epoch, 0])
  // banned: neither the same signer nor a new one gets it back in
  await fundAndApprove(1, MIN)
  for (const key of [KEY(1), KEY(11)]) {
    const r = await w.registration(1, key)
    assert.equal(await attack((o) => w.as[1].staking.write.register(registerArgs(r, MIN), o), 'Banned'), [
      addr(1),
    ])
  }
  // what is left is withdrawn after the delay, no more
  await w.increaseTime(DELAY)
  const before = await w.as[0].token.read.balanceOf([addr(1)])
  await w.advanceTo((await lastEpoch()) + 1n, KEYS) // the set that still counted it is checkpointed
  await w.mined(w.as[1].staking.write.withdraw())
  assert.is(await w.as[0].token.read.balanceOf([addr(1)]), before + left)
})

test('slashing reaches the stake of a validator that already exited', async () => {
  const { args } = await conflictingVotes(KEY(2))
  const exit = await w.mined(w.as[2].staking.write.requestUnstake([STAKE[2]]))
  const end = (await blockTime(exit)) + DELAY
  assert.equal(await validatorOf(2), [signerOf(2), 0n, STAKE[2], end, false, false, '0x'])
  // the evidence lands late in the unbonding period, still in time
  await w.increaseTime(DELAY - DAY)
  await attack((o) => w.as[2].staking.write.withdraw(o), 'UnbondingNotFinished')

  const supply = await w.as[0].token.read.totalSupply()
  const held = await w.as[0].token.read.balanceOf([w.addresses.staking])
  const stakers = await staking().activeStakers()
  const setHashes = await Promise.all(
    [1n, 2n, 3n].map(async (d) => staking().setHashFor([(await lastEpoch()) + d])),
  )
  const receipt = await w.mined(w.as[8].ledger.write.slashEquivocation(args))
  const burned = (STAKE[2] * BPS) / 10_000n
  assert.is(await w.as[0].token.read.totalSupply(), supply - burned)
  assert.is(await w.as[0].token.read.balanceOf([w.addresses.staking]), held - burned)
  // the unbonding clock does not restart; the set is untouched (it had already left)
  assert.equal(await validatorOf(2), [signerOf(2), 0n, STAKE[2] - burned, end, false, true, '0x'])
  assert.not.ok(stakingEvents(receipt).some((l) => l.eventName === 'Exited'))
  assert.equal(await staking().activeStakers(), stakers)
  assert.equal(
    await Promise.all([1n, 2n, 3n].map(async (d) => staking().setHashFor([(await lastEpoch()) + d]))),
    setHashes,
  )
  await attack((o) => w.as[8].ledger.write.slashEquivocation(args, o), 'AlreadySlashed')
  const r = await w.registration(2, KEY(2))
  await fundAndApprove(2, MIN)
  await attack((o) => w.as[2].staking.write.register(registerArgs(r, MIN), o), 'Banned')

  await w.increaseTime(DAY)
  const before = await w.as[0].token.read.balanceOf([addr(2)])
  await w.advanceTo((await lastEpoch()) + 1n, KEYS) // the set that still counted it is checkpointed
  await w.mined(w.as[2].staking.write.withdraw())
  assert.is(await w.as[0].token.read.balanceOf([addr(2)]), before + STAKE[2] - burned)
})

test('attack: only the Ledger may slash or jail, not even the Timelock', async () => {
  for (const i of [0, 1, 9]) {
    assert.equal(await attack((o) => w.as[i].staking.write.slash([addr(1)], o), 'NotLedger'), [addr(i)])
    assert.equal(await attack((o) => w.as[i].staking.write.jail([addr(2)], o), 'NotLedger'), [addr(i)])
  }
  const tl = await impersonateTimelock()
  await attack((o) => w.as[0].staking.write.slash([addr(1)], { ...tl, ...o }), 'NotLedger')
  await attack((o) => w.as[0].staking.write.jail([addr(1)], { ...tl, ...o }), 'NotLedger')
  await w.testClient.stopImpersonatingAccount({ address: w.addresses.timelock })
})

test.run()
