// OPEN token and governance on a real anvil chain: fixed supply, burn, votes, and a full Governor →
// Timelock round that changes the Ledger's fee split and the Staking parameters.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeFunctionData, type Hex, keccak256, parseEther, toHex } from 'viem'
import { DEFAULTS } from '../deploy.ts'
import { ledgerAbi, openTimelockAbi, stakingAbi } from '../generated/index.ts'
import { createWorld, expectRevert, type World } from './helpers.ts'

let w: World
let snap: Hex
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

const SUPPLY = parseEther('1000000000')

test('OPEN: 1,000,000,000 minted once to the holder, burnable, no mint function', async () => {
  const t = w.as[0].token.read
  assert.equal([await t.name(), await t.symbol(), await t.decimals()], ['OpenLedger', 'OPEN', 18])
  assert.is(await t.totalSupply(), SUPPLY)
  assert.is(await t.balanceOf([w.addresses.deployer]), SUPPLY)
  await w.mined(w.as[0].token.write.burn([parseEther('1')]))
  assert.is(await t.totalSupply(), SUPPLY - parseEther('1'))
  await w.fund(1, 10n)
  await expectRevert(w.as[1].token.write.burn([11n]), 'ERC20InsufficientBalance')
  const names = w.as[0].token.abi.map((item) => ('name' in item ? (item.name as string) : ''))
  assert.not.ok(names.includes('mint'))
  assert.ok(names.includes('burn'))
})

test('OPEN votes: delegation turns balances into voting power with checkpoints', async () => {
  // Reads are pinned to the block of the transaction they check, so they never race the chain head.
  const funded = await w.fund(1, parseEther('100'))
  const t = w.as[0].token.read
  assert.is(await t.getVotes([w.as[1].address], { blockNumber: funded.blockNumber }), 0n)
  const delegated = await w.mined(w.as[1].token.write.delegate([w.as[2].address]))
  assert.is(await t.getVotes([w.as[2].address], { blockNumber: delegated.blockNumber }), parseEther('100'))
  await w.testClient.mine({ blocks: 1 })
  const moved = await w.mined(w.as[1].token.write.transfer([w.as[3].address, parseEther('40')]))
  assert.is(await t.getVotes([w.as[2].address], { blockNumber: moved.blockNumber }), parseEther('60'))
  assert.is(await t.getPastVotes([w.as[2].address, delegated.blockNumber]), parseEther('100'))
})

test('a passed proposal changes the fee split and staking parameters through the Timelock', async () => {
  const split = { node: 3_500, modelOwner: 2_500, contributors: 3_000, validators: 500, treasury: 500 }
  const targets = [w.addresses.ledger, w.addresses.staking, w.addresses.ledger] as const
  const calldatas = [
    encodeFunctionData({ abi: ledgerAbi, functionName: 'setFeeSplit', args: [split] }),
    encodeFunctionData({
      abi: stakingAbi,
      functionName: 'setParameters',
      args: [parseEther('2000'), 3600n, 2_000, 64],
    }),
    encodeFunctionData({ abi: ledgerAbi, functionName: 'setWithdrawalDelay', args: [3n] }),
  ]
  const values = [0n, 0n, 0n]
  const description = 'Raise model owner share; double the minimum stake'
  const descriptionHash = keccak256(toHex(description))
  const gov = w.as[0].governor

  await w.mined(w.as[0].token.write.delegate([w.addresses.deployer]))
  await w.mined(gov.write.propose([[...targets], values, calldatas, description]))
  const proposalId = await gov.read.hashProposal([[...targets], values, calldatas, descriptionHash])
  assert.is(await gov.read.state([proposalId]), 0) // Pending
  await w.testClient.mine({ blocks: DEFAULTS.governance.votingDelay + 1 })
  assert.is(await gov.read.state([proposalId]), 1) // Active
  await w.mined(gov.write.castVote([proposalId, 1]))
  await w.testClient.mine({ blocks: DEFAULTS.governance.votingPeriod + 1 })
  assert.is(await gov.read.state([proposalId]), 4) // Succeeded
  await w.mined(gov.write.queue([[...targets], values, calldatas, descriptionHash]))
  assert.is(await gov.read.state([proposalId]), 5) // Queued
  // executing before the Timelock delay fails
  await expectRevert(
    gov.write.execute([[...targets], values, calldatas, descriptionHash]),
    'TimelockUnexpectedOperationState',
  )
  await w.testClient.increaseTime({ seconds: Number(DEFAULTS.governance.timelockDelay) + 1 })
  await w.testClient.mine({ blocks: 1 })
  await w.mined(gov.write.execute([[...targets], values, calldatas, descriptionHash]))
  assert.is(await gov.read.state([proposalId]), 7) // Executed

  assert.equal(await w.as[0].ledger.read.feeSplit(), split)
  assert.is(await w.as[0].ledger.read.withdrawalDelayEpochs(), 3n)
  assert.is(await w.as[0].staking.read.minStake(), parseEther('2000'))
  assert.is(await w.as[0].staking.read.maxValidators(), 64)
})

test('nobody bypasses the Governor: the deployer holds no Timelock role', async () => {
  const PROPOSER_ROLE = keccak256(toHex('PROPOSER_ROLE'))
  const timelock = { address: w.addresses.timelock, abi: openTimelockAbi } as const
  const read = (fn: 'hasRole', args: readonly [Hex, `0x${string}`]) =>
    w.publicClient.readContract({ ...timelock, functionName: fn, args })
  assert.not.ok(await read('hasRole', [PROPOSER_ROLE, w.addresses.deployer]))
  assert.not.ok(await read('hasRole', [`0x${'00'.repeat(32)}`, w.addresses.deployer]))
  assert.ok(await read('hasRole', [PROPOSER_ROLE, w.addresses.governor]))
  const call = encodeFunctionData({ abi: ledgerAbi, functionName: 'setWithdrawalDelay', args: [9n] })
  await expectRevert(w.as[0].ledger.write.setWithdrawalDelay([9n]), 'OwnableUnauthorizedAccount')
  const { walletClient } = await import('../deploy.ts').then((m) =>
    m.connect(w.anvil.rpcUrl, w.anvil.accounts[0].privateKey),
  )
  await expectRevert(
    walletClient.writeContract({
      ...timelock,
      functionName: 'schedule',
      args: [w.addresses.ledger, 0n, call, `0x${'00'.repeat(32)}`, `0x${'00'.repeat(32)}`, 60n],
    }),
    'AccessControlUnauthorizedAccount',
  )
})

test.run()
