// OPEN, GOPEN and governance on a real anvil chain: OPEN is a plain fixed-supply token without votes,
// GOPEN wraps it 1:1 and carries the votes the Governor counts, and a full Governor → Timelock round
// schedules a new Ledger fee split (from the epoch after next) and new Staking parameters. Out-of-bounds
// proposals fail at execution, and nobody reaches a governed parameter without a vote. Every attack is
// mined (fixed gas, no estimation) and reverts on chain; the governed state is compared around it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  type Address,
  encodeFunctionData,
  getContract,
  type Hex,
  keccak256,
  parseAbi,
  parseEther,
  parseEventLogs,
  toHex,
  zeroAddress,
} from 'viem'
import { type ChainClients, connect, DEFAULTS, type FeeSplit, type LedgerParams } from '../deploy.ts'
import {
  governanceTokenAbi,
  ledgerAbi,
  openTimelockAbi,
  openTokenAbi,
  stakingAbi,
} from '../generated/index.ts'
import { createWorld, type World } from './helpers.ts'

const SUPPLY = parseEther('1000000000')
const MIN = DEFAULTS.minStake
/** What the deployer wraps into GOPEN and delegates to itself (the only big voter here). */
const WRAPPED = parseEther('100000000')
const KEY = (i: number) => keccak256(toHex(`governance-test-signer-${i}`))
const ZERO32 = `0x${'00'.repeat(32)}` as Hex
const ROLES = {
  admin: ZERO32,
  proposer: keccak256(toHex('PROPOSER_ROLE')),
  executor: keccak256(toHex('EXECUTOR_ROLE')),
  canceller: keccak256(toHex('CANCELLER_ROLE')),
}
// Governor.ProposalState
const PENDING = 0
const ACTIVE = 1
const DEFEATED = 3
const SUCCEEDED = 4
const QUEUED = 5
const EXECUTED = 7

let w: World
let snap: Hex
let deployerClients: ChainClients

test.before(async () => {
  w = await createWorld()
  deployerClients = await connect(w.anvil.rpcUrl, w.anvil.accounts[0].privateKey)
  // one validator, so the Ledger can checkpoint epochs (it signs alone from epoch 1)
  await w.addValidator(1, MIN, KEY(1))
  await w.advanceTo(2n, [KEY(1)])
  // the deployer takes part in governance: wraps OPEN into GOPEN and delegates to itself
  await w.mined(w.as[0].token.write.approve([w.addresses.governanceToken, WRAPPED]))
  await w.mined(w.as[0].gopen.write.depositFor([w.addresses.deployer, WRAPPED]))
  await w.mined(w.as[0].gopen.write.delegate([w.addresses.deployer]))
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
const lastEpoch = () => w.as[0].ledger.read.lastEpoch()
const ACCOUNTS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

const timelock = () =>
  getContract({
    address: w.addresses.timelock,
    abi: openTimelockAbi,
    client: { public: w.publicClient, wallet: deployerClients.walletClient },
  })

const ledgerParamsTuple = (p: LedgerParams) =>
  [p.authorizationWindow, p.epochDuration, p.withdrawalDelay, p.escapeDelay, p.inactivityWindow] as const

/** Everything governance (or an attack on it) could move. */
async function chainState() {
  const t = w.as[0].token.read
  const g = w.as[0].gopen.read
  const l = w.as[0].ledger.read
  const s = w.as[0].staking.read
  const gov = w.as[0].governor.read
  const tl = timelock().read
  const L = await lastEpoch()
  const holders = [
    w.addresses.governanceToken,
    w.addresses.staking,
    w.addresses.ledger,
    ...ACCOUNTS.map(addr),
  ]
  return {
    lastEpoch: L,
    feeSplits: await Promise.all([L + 1n, L + 2n, L + 3n].map((e) => l.feeSplitFor([e]))),
    ledgerParams: await l.params(),
    stakingParams: await Promise.all([s.minStake(), s.unbondingDelay(), s.slashBps(), s.maxValidators()]),
    owners: await Promise.all([l.owner(), s.owner()]),
    stakingLedger: await s.ledger(),
    roles: await Promise.all(
      Object.values(ROLES).flatMap((role) =>
        [w.addresses.deployer, w.addresses.governor, w.addresses.timelock, zeroAddress].map((a) =>
          tl.hasRole([role, a]),
        ),
      ),
    ),
    minDelay: await tl.getMinDelay(),
    governor: await Promise.all([
      gov.votingDelay(),
      gov.votingPeriod(),
      gov.proposalThreshold(),
      gov.quorumNumerator(),
    ]),
    openSupply: await t.totalSupply(),
    open: await Promise.all(holders.map((a) => t.balanceOf([a]))),
    gopenSupply: await g.totalSupply(),
    gopen: await Promise.all(ACCOUNTS.map((i) => g.balanceOf([addr(i)]))),
    votes: await Promise.all(ACCOUNTS.map((i) => g.getVotes([addr(i)]))),
  }
}

/** Sends an attack mined with a fixed gas limit, asserts the error, and that nothing changed. */
async function attack(send: (opts: { gas: bigint }) => Promise<Hex>, error: string) {
  const before = await chainState()
  const args = await w.minedRevert(send, error)
  assert.equal(await chainState(), before, `${error}: state changed`)
  return args
}

interface Action {
  target: Address
  data: Hex
}
const setFeeSplit = (split: FeeSplit): Action => ({
  target: w.addresses.ledger,
  data: encodeFunctionData({ abi: ledgerAbi, functionName: 'setFeeSplit', args: [split] }),
})
const setLedgerParams = (p: LedgerParams): Action => ({
  target: w.addresses.ledger,
  data: encodeFunctionData({ abi: ledgerAbi, functionName: 'setParams', args: [p] }),
})
const setStakingParameters = (p: {
  minStake?: bigint
  unbondingDelay?: bigint
  slashBps?: number
  maxValidators?: number
}): Action => ({
  target: w.addresses.staking,
  data: encodeFunctionData({
    abi: stakingAbi,
    functionName: 'setParameters',
    args: [
      p.minStake ?? DEFAULTS.minStake,
      p.unbondingDelay ?? DEFAULTS.unbondingDelay,
      p.slashBps ?? DEFAULTS.slashBps,
      p.maxValidators ?? DEFAULTS.maxValidators,
    ],
  }),
})

async function propose(actions: Action[], description: string, from = 0) {
  const targets = actions.map((a) => a.target)
  const values = actions.map(() => 0n)
  const calldatas = actions.map((a) => a.data)
  const descriptionHash = keccak256(toHex(description))
  await w.mined(w.as[from].governor.write.propose([targets, values, calldatas, description]))
  const id = await w.as[0].governor.read.hashProposal([targets, values, calldatas, descriptionHash])
  return { id, ops: [targets, values, calldatas, descriptionHash] as const }
}

const mineBlocks = (blocks: number) => w.testClient.mine({ blocks })
const state = (id: bigint) => w.as[0].governor.read.state([id])

/** Voting delay, the deployer's GOPEN votes for, voting period, queue, Timelock delay: ready to execute. */
async function passAndQueue(proposals: { id: bigint; ops: Awaited<ReturnType<typeof propose>>['ops'] }[]) {
  await mineBlocks(DEFAULTS.governance.votingDelay + 1)
  for (const p of proposals) await w.mined(w.as[0].governor.write.castVote([p.id, 1]))
  await mineBlocks(DEFAULTS.governance.votingPeriod + 1)
  for (const p of proposals) {
    assert.is(await state(p.id), SUCCEEDED)
    await w.mined(w.as[0].governor.write.queue(p.ops))
    assert.is(await state(p.id), QUEUED)
  }
  await w.increaseTime(DEFAULTS.governance.timelockDelay + 1n)
}

// ------------------------------------------------------------------ OPEN

test('OPEN: 1,000,000,000 minted once to the holder, burnable, no mint, no votes', async () => {
  const t = w.as[0].token.read
  assert.equal([await t.name(), await t.symbol(), await t.decimals()], ['OpenLedger', 'OPEN', 18])
  assert.is(await t.TOTAL_SUPPLY(), SUPPLY)
  assert.is(await t.totalSupply(), SUPPLY)
  const mints = await w.publicClient.getContractEvents({
    address: w.addresses.token,
    abi: openTokenAbi,
    eventName: 'Transfer',
    args: { from: zeroAddress },
    fromBlock: 0n,
  })
  assert.equal(
    mints.map((m) => m.args),
    [{ from: zeroAddress, to: w.addresses.deployer, value: SUPPLY }],
  )
  // where the supply is now: the deployer, the validator's stake, and what the deployer wrapped
  const held = await Promise.all(
    [w.addresses.deployer, w.addresses.staking, w.addresses.governanceToken].map((a) => t.balanceOf([a])),
  )
  assert.equal(held, [SUPPLY - MIN - WRAPPED, MIN, WRAPPED])

  // burnable: by the holder, and by a spender within its allowance
  await w.mined(w.as[0].token.write.burn([parseEther('1')]))
  assert.is(await t.totalSupply(), SUPPLY - parseEther('1'))
  await w.fund(2, 10n)
  assert.equal(await attack((o) => w.as[2].token.write.burn([11n], o), 'ERC20InsufficientBalance'), [
    addr(2),
    10n,
    11n,
  ])
  await attack((o) => w.as[3].token.write.burnFrom([addr(2), 5n], o), 'ERC20InsufficientAllowance')
  await w.mined(w.as[2].token.write.approve([addr(3), 5n]))
  await w.mined(w.as[3].token.write.burnFrom([addr(2), 5n]))
  assert.is(await t.totalSupply(), SUPPLY - parseEther('1') - 5n)
  assert.is(await t.balanceOf([addr(2)]), 5n)

  // nothing mints, nothing votes, nothing owns it
  const names = openTokenAbi.filter((item) => item.type === 'function').map((item) => item.name as string)
  for (const absent of ['mint', 'delegate', 'delegates', 'getVotes', 'getPastVotes', 'owner']) {
    assert.not.ok(names.includes(absent), `OPEN has ${absent}`)
  }
  for (const present of ['burn', 'burnFrom', 'permit', 'transfer']) assert.ok(names.includes(present))
  // and on chain: those selectors hit no function (no fallback), the transaction is mined and reverts
  const { walletClient } = await connect(w.anvil.rpcUrl, w.anvil.accounts[2].privateKey)
  const raw = [
    encodeFunctionData({ abi: parseAbi(['function mint(address,uint256)']), args: [addr(2), SUPPLY] }),
    encodeFunctionData({ abi: governanceTokenAbi, functionName: 'delegate', args: [addr(2)] }),
  ]
  for (const data of raw) {
    const before = await chainState()
    const hash = await walletClient.sendTransaction({ to: w.addresses.token, data, gas: 200_000n })
    const receipt = await w.publicClient.waitForTransactionReceipt({ hash })
    assert.is(receipt.status, 'reverted')
    assert.equal(await chainState(), before)
  }
})

// ------------------------------------------------------------------ GOPEN

test('GOPEN: OPEN wrapped and unwrapped 1:1; delegation gives votes, with past checkpoints', async () => {
  const g = w.as[2].gopen.write
  const read = w.as[0].gopen.read
  const open = w.as[0].token.read
  const amount = parseEther('100')
  assert.equal(
    [await read.name(), await read.symbol(), await read.decimals()],
    ['OpenLedger Governance', 'GOPEN', 18],
  )
  assert.is(await read.underlying(), w.addresses.token)
  await w.fund(2, amount)

  // nothing is wrapped without an approval
  await attack((o) => g.depositFor([addr(2), amount], o), 'ERC20InsufficientAllowance')
  await w.mined(w.as[2].token.write.approve([w.addresses.governanceToken, amount]))
  const supply = await read.totalSupply()
  assert.is(supply, WRAPPED)
  const wrapped = await w.mined(g.depositFor([addr(2), amount]))
  assert.equal(
    await Promise.all([open.balanceOf([addr(2)]), read.balanceOf([addr(2)]), read.totalSupply()]),
    [0n, amount, supply + amount],
  )
  assert.is(await open.balanceOf([w.addresses.governanceToken]), supply + amount)
  // a balance votes only once delegated
  assert.is(await read.getVotes([addr(2)]), 0n)
  const delegated = await w.mined(g.delegate([addr(3)]))
  assert.is(await read.delegates([addr(2)]), addr(3))
  assert.is(await read.getVotes([addr(3)]), amount)
  assert.is(await read.getVotes([addr(2)]), 0n)
  // moving GOPEN moves votes; the receiver has not delegated, so its share votes for nobody
  const moved = await w.mined(g.transfer([addr(4), parseEther('40')]))
  assert.is(await read.getVotes([addr(3)]), parseEther('60'))
  assert.is(await read.getVotes([addr(4)]), 0n)
  await mineBlocks(1)
  assert.is(await read.getPastVotes([addr(3), wrapped.blockNumber]), 0n)
  assert.is(await read.getPastVotes([addr(3), delegated.blockNumber]), amount)
  assert.is(await read.getPastVotes([addr(3), moved.blockNumber]), parseEther('60'))
  assert.is(await read.getPastTotalSupply([wrapped.blockNumber - 1n]), supply)
  assert.is(await read.getPastTotalSupply([wrapped.blockNumber]), supply + amount)
  // moving plain OPEN touches no votes
  await w.fund(2, parseEther('5'))
  assert.is(await read.getVotes([addr(3)]), parseEther('60'))

  // unwrap 1:1, never more than held
  await attack((o) => g.withdrawTo([addr(2), parseEther('60') + 1n], o), 'ERC20InsufficientBalance')
  await w.mined(g.withdrawTo([addr(2), parseEther('60')]))
  assert.is(await open.balanceOf([addr(2)]), parseEther('65'))
  assert.is(await read.balanceOf([addr(2)]), 0n)
  assert.is(await read.getVotes([addr(3)]), 0n)
  // unwrap to another account
  await w.mined(w.as[4].gopen.write.withdrawTo([addr(5), parseEther('40')]))
  assert.is(await open.balanceOf([addr(5)]), parseEther('40'))
  assert.is(await read.totalSupply(), supply)
  assert.is(await open.balanceOf([w.addresses.governanceToken]), supply)
})

// ------------------------------------------------------------------ a full proposal round

test('a proposal passed with GOPEN votes changes the fee split (from lastEpoch + 2) and Staking parameters', async () => {
  const split: FeeSplit = {
    node: 3_500,
    modelOwner: 2_000,
    adapterOwner: 500,
    contributors: 3_000,
    validators: 500,
    treasury: 500,
  }
  const ledgerParams: LedgerParams = {
    ...DEFAULTS.ledgerParams,
    withdrawalDelay: 1_200,
    inactivityWindow: 16,
  }
  const staking = {
    minStake: parseEther('2000'),
    unbondingDelay: 14n * 86_400n,
    slashBps: 2_000,
    maxValidators: 64,
  }
  // account 3 holds plenty of OPEN but no GOPEN: its vote weighs nothing
  await w.fund(3, parseEther('50000000'))

  const p = await propose(
    [setFeeSplit(split), setStakingParameters(staking), setLedgerParams(ledgerParams)],
    'Raise the model owner share; double the minimum stake; longer withdrawals',
  )
  assert.is(await state(p.id), PENDING)
  await mineBlocks(DEFAULTS.governance.votingDelay + 1)
  assert.is(await state(p.id), ACTIVE)
  const snapshot = await w.as[0].governor.read.proposalSnapshot([p.id])
  // quorum is 4% of GOPEN's supply, not OPEN's
  assert.is(
    await w.as[0].governor.read.quorum([snapshot]),
    (WRAPPED * DEFAULTS.governance.quorumPercent) / 100n,
  )
  await w.mined(w.as[0].governor.write.castVote([p.id, 1]))
  await w.mined(w.as[3].governor.write.castVote([p.id, 0]))
  assert.ok(await w.as[0].governor.read.hasVoted([p.id, addr(3)]))
  assert.equal(await w.as[0].governor.read.proposalVotes([p.id]), [0n, WRAPPED, 0n])
  await mineBlocks(DEFAULTS.governance.votingPeriod + 1)
  assert.is(await state(p.id), SUCCEEDED)
  await w.mined(w.as[0].governor.write.queue(p.ops))
  assert.is(await state(p.id), QUEUED)
  // executing before the Timelock delay fails, mined, and changes nothing
  await attack((o) => w.as[5].governor.write.execute(p.ops, o), 'TimelockUnexpectedOperationState')
  await w.increaseTime(DEFAULTS.governance.timelockDelay + 1n)
  // anyone may execute a proposal that passed and waited
  const L = await lastEpoch()
  const receipt = await w.mined(w.as[5].governor.write.execute(p.ops))
  assert.is(await state(p.id), EXECUTED)

  // the fee split is scheduled for the epoch after next: the epoch being voted on keeps its split
  const scheduled = parseEventLogs({ abi: ledgerAbi, logs: receipt.logs, eventName: 'FeeSplitScheduled' })
  assert.equal(
    scheduled.map((e) => e.args),
    [{ split, fromEpoch: L + 2n }],
  )
  assert.equal(await w.as[0].ledger.read.feeSplitFor([L + 1n]), DEFAULTS.feeSplit)
  assert.equal(await w.as[0].ledger.read.feeSplitFor([L + 2n]), split)
  assert.equal(await w.as[0].ledger.read.params(), [...ledgerParamsTuple(ledgerParams)])
  const s = w.as[0].staking.read
  assert.equal(await Promise.all([s.minStake(), s.unbondingDelay(), s.slashBps(), s.maxValidators()]), [
    staking.minStake,
    staking.unbondingDelay,
    staking.slashBps,
    staking.maxValidators,
  ])

  // a vote for L + 1 with the new split is refused; with the old one it lands; L + 2 uses the new one
  const early = await w.nextMessage({ feeSplit: split })
  const earlyArgs = await w.checkpointArgs(early, [KEY(1)])
  await attack((o) => w.as[0].ledger.write.checkpoint(earlyArgs, o), 'FeeSplitMismatch')
  const current = await w.nextMessage()
  assert.equal(current.feeSplit, DEFAULTS.feeSplit)
  await w.checkpoint(current, [KEY(1)])
  const next = await w.nextMessage()
  assert.equal(next.feeSplit, split)
  await w.checkpoint(next, [KEY(1)])
  assert.is(await lastEpoch(), L + 2n)
  assert.equal(await w.as[0].ledger.read.feeSplitFor([L + 10n]), split)
})

test('proposals with parameters out of bounds pass the vote but fail at execution, changing nothing', async () => {
  const badSplit: FeeSplit = { ...DEFAULTS.feeSplit, treasury: DEFAULTS.feeSplit.treasury + 1 }
  const goodSplit: FeeSplit = { ...DEFAULTS.feeSplit, node: 3_000, contributors: 4_000 }
  const cases = [
    { actions: [setStakingParameters({ slashBps: 0 })], error: 'InvalidParameter', args: ['slashBps'] },
    {
      actions: [setStakingParameters({ unbondingDelay: 0n })],
      error: 'InvalidParameter',
      args: ['unbondingDelay'],
    },
    {
      actions: [setStakingParameters({ maxValidators: 257 })],
      error: 'InvalidParameter',
      args: ['maxValidators'],
    },
    {
      actions: [setLedgerParams({ ...DEFAULTS.ledgerParams, withdrawalDelay: 660 })],
      error: 'InvalidParameter',
      args: ['withdrawalDelay'],
    },
    { actions: [setFeeSplit(badSplit)], error: 'InvalidFeeSplit', args: [] },
    // all or nothing: a valid fee split next to an invalid minimum stake is not scheduled either
    {
      actions: [setFeeSplit(goodSplit), setStakingParameters({ minStake: 0n })],
      error: 'InvalidParameter',
      args: ['minStake'],
    },
  ]
  const proposals: Awaited<ReturnType<typeof propose>>[] = []
  for (const [n, c] of cases.entries()) proposals.push(await propose(c.actions, `out of bounds #${n}`))
  await passAndQueue(proposals)
  for (const [n, c] of cases.entries()) {
    const got = await attack((o) => w.as[5].governor.write.execute(proposals[n].ops, o), c.error)
    assert.equal(got ?? [], c.args, `case ${n}`)
    assert.is(await state(proposals[n].id), QUEUED)
  }
  const L = await lastEpoch()
  assert.equal(await w.as[0].ledger.read.feeSplitFor([L + 2n]), DEFAULTS.feeSplit)
})

// ------------------------------------------------------------------ no way around the Governor

test('nobody bypasses the Governor: the deployer holds no Timelock role, direct calls revert', async () => {
  const tl = timelock()
  const deployer = w.addresses.deployer
  for (const role of Object.values(ROLES)) assert.not.ok(await tl.read.hasRole([role, deployer]))
  assert.ok(await tl.read.hasRole([ROLES.proposer, w.addresses.governor]))
  assert.ok(await tl.read.hasRole([ROLES.canceller, w.addresses.governor]))
  assert.ok(await tl.read.hasRole([ROLES.executor, zeroAddress])) // anyone executes what passed
  assert.ok(await tl.read.hasRole([ROLES.admin, w.addresses.timelock])) // self-administered
  assert.is(await tl.read.getMinDelay(), DEFAULTS.governance.timelockDelay)
  assert.is(await w.as[0].ledger.read.owner(), w.addresses.timelock)
  assert.is(await w.as[0].staking.read.owner(), w.addresses.timelock)

  const unauthorized = [deployer]
  const l = w.as[0].ledger.write
  const s = w.as[0].staking.write
  const split: FeeSplit = { ...DEFAULTS.feeSplit, node: 5_000, contributors: 2_000 }
  const owned: ((o: { gas: bigint }) => Promise<Hex>)[] = [
    (o) => l.setFeeSplit([split], o),
    (o) => l.setParams([{ ...DEFAULTS.ledgerParams, withdrawalDelay: 1_000 }], o),
    (o) => l.transferOwnership([deployer], o),
    (o) => l.renounceOwnership(o),
    (o) => s.setParameters([parseEther('1'), 3n * 86_400n, 100, 256], o),
    (o) => s.setLedger([deployer], o),
    (o) => s.transferOwnership([deployer], o),
    (o) => s.renounceOwnership(o),
  ]
  for (const send of owned) assert.equal(await attack(send, 'OwnableUnauthorizedAccount'), unauthorized)

  // the Timelock itself: no scheduling, no roles, no delay change; nothing unscheduled executes
  const call = encodeFunctionData({ abi: ledgerAbi, functionName: 'setFeeSplit', args: [split] })
  assert.equal(
    await attack(
      (o) =>
        tl.write.schedule(
          [w.addresses.ledger, 0n, call, ZERO32, ZERO32, DEFAULTS.governance.timelockDelay],
          o,
        ),
      'AccessControlUnauthorizedAccount',
    ),
    [deployer, ROLES.proposer],
  )
  assert.equal(
    await attack(
      (o) => tl.write.grantRole([ROLES.proposer, deployer], o),
      'AccessControlUnauthorizedAccount',
    ),
    [deployer, ROLES.admin],
  )
  assert.equal(await attack((o) => tl.write.updateDelay([0n], o), 'TimelockUnauthorizedCaller'), [deployer])
  await attack(
    (o) => tl.write.execute([w.addresses.ledger, 0n, call, ZERO32, ZERO32], o),
    'TimelockUnexpectedOperationState',
  )
  // the Governor's own settings and relay are governance-only
  const g = w.as[0].governor.write
  assert.equal(await attack((o) => g.updateQuorumNumerator([0n], o), 'GovernorOnlyExecutor'), [deployer])
  assert.equal(await attack((o) => g.setVotingPeriod([1], o), 'GovernorOnlyExecutor'), [deployer])
  assert.equal(await attack((o) => g.relay([w.addresses.ledger, 0n, call], o), 'GovernorOnlyExecutor'), [
    deployer,
  ])

  // a small GOPEN holder may propose (threshold 0) but cannot pass anything alone: below quorum
  const small = parseEther('1000')
  await w.fund(4, small)
  await w.mined(w.as[4].token.write.approve([w.addresses.governanceToken, small]))
  await w.mined(w.as[4].gopen.write.depositFor([addr(4), small]))
  await w.mined(w.as[4].gopen.write.delegate([addr(4)]))
  const p = await propose([setFeeSplit(split)], 'a minority grab', 4)
  await mineBlocks(DEFAULTS.governance.votingDelay + 1)
  await w.mined(w.as[4].governor.write.castVote([p.id, 1]))
  await mineBlocks(DEFAULTS.governance.votingPeriod + 1)
  assert.is(await state(p.id), DEFEATED)
  await attack((o) => w.as[4].governor.write.queue(p.ops, o), 'GovernorUnexpectedProposalState')
  await w.increaseTime(DEFAULTS.governance.timelockDelay + 1n)
  await attack((o) => w.as[4].governor.write.execute(p.ops, o), 'GovernorUnexpectedProposalState')
  assert.equal(await w.as[0].ledger.read.feeSplitFor([(await lastEpoch()) + 2n]), DEFAULTS.feeSplit)
})

test.run()
