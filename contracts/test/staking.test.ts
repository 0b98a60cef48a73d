// Staking on a real anvil chain: register, add stake, unbond with a delay, slashing rights, governance.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeAbiParameters, type Hex, keccak256, parseEther, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { DEFAULTS } from '../deploy.ts'
import { createWorld, expectRevert, MIN_STAKE, signerKey, type World } from './helpers.ts'

let w: World
let snap: Hex
test.before(async () => {
  w = await createWorld()
  await w.addValidator(1)
  await w.addValidator(2)
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

const setType = [
  {
    type: 'tuple[]',
    components: [
      { name: 'signer', type: 'address' },
      { name: 'stake', type: 'uint96' },
    ],
  },
] as const

const balances = () =>
  Promise.all([w.addresses.staking, w.as[3].address].map((a) => w.as[0].token.read.balanceOf([a])))

async function impersonateTimelock() {
  await w.testClient.impersonateAccount({ address: w.addresses.timelock })
  await w.testClient.setBalance({ address: w.addresses.timelock, value: parseEther('1') })
  return { account: w.addresses.timelock, chain: w.publicClient.chain } as const
}

test('register: the active set, stakes and the committed hash read in one call', async () => {
  const [set, total] = await w.as[0].staking.read.activeValidators()
  assert.equal(
    set.map((v) => v.signer),
    [1, 2].map((i) => privateKeyToAccount(signerKey(i)).address),
  )
  assert.is(total, 2n * MIN_STAKE)
  assert.is(await w.as[0].staking.read.totalActiveStake(), 2n * MIN_STAKE)
  assert.is(await w.as[0].staking.read.validatorSetHash(), keccak256(encodeAbiParameters(setType, [set])))
  const [signer, stake, unbonding, , active, jailed, peerId] = await w.as[0].staking.read.getValidator([
    w.as[1].address,
  ])
  assert.equal(
    [signer, stake, unbonding, active, jailed, peerId],
    [set[0].signer, MIN_STAKE, 0n, true, false, toHex('peer-1')],
  )
  assert.is(await w.as[0].staking.read.stakerOf([signer]), w.as[1].address)
  assert.equal(await w.as[0].staking.read.activeStakers(), [w.as[1].address, w.as[2].address])
})

test('attack: registrations that break the rules revert and move no tokens', async () => {
  await w.fund(3, 2n * MIN_STAKE)
  await w.mined(w.as[3].token.write.approve([w.addresses.staking, 2n * MIN_STAKE]))
  const before = await balances()
  const fresh = privateKeyToAccount(signerKey(3)).address
  const taken = privateKeyToAccount(signerKey(1)).address
  const s = w.as[3].staking.write
  await expectRevert(s.register([fresh, toHex('peer-3'), MIN_STAKE - 1n]), 'BelowMinimumStake')
  await expectRevert(s.register([taken, toHex('peer-3'), MIN_STAKE]), 'SignerTaken')
  await expectRevert(s.register([fresh, toHex('peer-1'), MIN_STAKE]), 'PeerIdTaken')
  await expectRevert(
    s.register(['0x0000000000000000000000000000000000000000', toHex('peer-3'), MIN_STAKE]),
    'InvalidSigner',
  )
  await expectRevert(s.register([fresh, '0x', MIN_STAKE]), 'InvalidPeerId')
  await expectRevert(w.as[1].staking.write.register([fresh, toHex('peer-9'), MIN_STAKE]), 'AlreadyRegistered')
  await expectRevert(s.addStake([1n]), 'NotRegistered')
  await expectRevert(s.requestUnstake([1n]), 'NotRegistered')
  assert.equal(await balances(), before)
})

test('addStake raises the stake and recommits the set', async () => {
  const hash = await w.as[0].staking.read.validatorSetHash()
  await w.fund(1, MIN_STAKE)
  await w.mined(w.as[1].token.write.approve([w.addresses.staking, MIN_STAKE]))
  await w.mined(w.as[1].staking.write.addStake([MIN_STAKE]))
  const [set, total] = await w.as[0].staking.read.activeValidators()
  assert.is(set[0].stake, 2n * MIN_STAKE)
  assert.is(total, 3n * MIN_STAKE)
  assert.is.not(await w.as[0].staking.read.validatorSetHash(), hash)
})

test('unstake: partial above the minimum, full leaves the set, withdraw after the delay', async () => {
  await w.fund(1, MIN_STAKE)
  await w.mined(w.as[1].token.write.approve([w.addresses.staking, MIN_STAKE]))
  await w.mined(w.as[1].staking.write.addStake([MIN_STAKE]))
  await expectRevert(w.as[1].staking.write.requestUnstake([MIN_STAKE + 1n]), 'BelowMinimumStake')
  await expectRevert(w.as[1].staking.write.requestUnstake([3n * MIN_STAKE]), 'InsufficientStake')
  await w.mined(w.as[1].staking.write.requestUnstake([MIN_STAKE]))
  assert.is((await w.as[0].staking.read.activeValidators())[1], 2n * MIN_STAKE)
  await w.mined(w.as[1].staking.write.requestUnstake([MIN_STAKE]))
  const [set, total] = await w.as[0].staking.read.activeValidators()
  assert.is(set.length, 1)
  assert.is(total, MIN_STAKE)
  const [, stake, unbonding, unbondingEnd, active] = await w.as[0].staking.read.getValidator([
    w.as[1].address,
  ])
  assert.equal([stake, unbonding, active], [0n, 2n * MIN_STAKE, false])
  const before = await w.as[0].token.read.balanceOf([w.as[1].address])
  const args = await expectRevert(w.as[1].staking.write.withdraw(), 'UnbondingNotFinished')
  assert.equal(args, [unbondingEnd])
  assert.is(await w.as[0].token.read.balanceOf([w.as[1].address]), before)
  await w.testClient.increaseTime({ seconds: Number(DEFAULTS.unbondingDelay) })
  await w.testClient.mine({ blocks: 1 })
  await w.mined(w.as[1].staking.write.withdraw())
  assert.is(await w.as[0].token.read.balanceOf([w.as[1].address]), before + 2n * MIN_STAKE)
  await expectRevert(w.as[1].staking.write.withdraw(), 'NothingToWithdraw')
})

test('only the Ledger slashes; only governance sets parameters', async () => {
  await expectRevert(w.as[3].staking.write.slash([w.as[1].address]), 'NotLedger')
  await expectRevert(w.as[0].staking.write.setParameters([1n, 1n, 1, 10]), 'OwnableUnauthorizedAccount')
  await expectRevert(w.as[0].staking.write.setLedger([w.as[3].address]), 'OwnableUnauthorizedAccount')
  assert.is(await w.as[0].staking.read.owner(), w.addresses.timelock)
  assert.is(await w.as[0].staking.read.ledger(), w.addresses.ledger)
  const asTimelock = await impersonateTimelock()
  await expectRevert(w.as[0].staking.simulate.setLedger([w.as[3].address], asTimelock), 'LedgerAlreadySet')
  await expectRevert(w.as[0].staking.simulate.setParameters([0n, 1n, 1, 10], asTimelock), 'InvalidParameter')
  await expectRevert(
    w.as[0].staking.simulate.setParameters([1n, 1n, 10_001, 10], asTimelock),
    'InvalidParameter',
  )
  await expectRevert(w.as[0].staking.simulate.setParameters([1n, 1n, 1, 1], asTimelock), 'InvalidParameter')
  // cap the set at its current size: the next registration is refused
  await w.mined(w.as[0].staking.write.setParameters([MIN_STAKE, 60n, 500, 2], asTimelock))
  assert.equal(
    await Promise.all([
      w.as[0].staking.read.minStake(),
      w.as[0].staking.read.unbondingDelay(),
      w.as[0].staking.read.slashBps(),
      w.as[0].staking.read.maxValidators(),
    ]),
    [MIN_STAKE, 60n, 500, 2],
  )
  await w.testClient.stopImpersonatingAccount({ address: w.addresses.timelock })
  await w.fund(3, MIN_STAKE)
  await w.mined(w.as[3].token.write.approve([w.addresses.staking, MIN_STAKE]))
  await expectRevert(
    w.as[3].staking.write.register([privateKeyToAccount(signerKey(3)).address, toHex('peer-3'), MIN_STAKE]),
    'ValidatorSetFull',
  )
})

test.run()
