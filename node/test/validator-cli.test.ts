// `openledger validator register | status | unstake | withdraw` against a real anvil with every contract
// deployed (contracts/test/helpers.ts), driven through commander as main.ts drives them (and once through
// bin/openledger.js). After every command the test reads Staking itself: a command's own output is never
// the only evidence. Each refusal is checked to leave the chain as it was, the accounts' nonces included
// (so nothing was even sent). Each test starts from the same snapshot, with no validator registered.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { Command } from 'commander'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Address, type Hex, parseEther, parseEventLogs, toHex } from 'viem'
import { DEFAULTS } from '../../contracts/deploy.ts'
import { stakingAbi } from '../../contracts/generated/Staking.ts'
import { verifyPeerIdProof } from '../../contracts/registration.ts'
import { createWorld, type World } from '../../contracts/test/helpers.ts'
import { OpenLedgerError } from '../../protocols/common/errors.ts'
import { runCli } from '../../testnet/processes.ts'
import { isoTime } from '../cli/commands/ledger-errors.ts'
import { registerValidatorCommands } from '../cli/commands/validator.ts'
import { initDataDir, readPublicIdentity } from '../datadir.ts'

const NODE = 3 // the data dir's account: the signer, and the staker unless --staker-key-file says otherwise
const COLD = 7 // a staker holding the stake for the node's signer
const MIN = DEFAULTS.minStake

let w: World
let root = ''
let dir = ''
let nodePeerId = ''
let coldKeyFile = ''
let snap: Hex

test.before(async () => {
  w = await createWorld()
  root = await mkdtemp(join(tmpdir(), 'ol-validator-cli-'))
  dir = join(root, 'node')
  await initDataDir(dir, {
    accountKey: w.anvil.accounts[NODE].privateKey,
    config: {
      chain_rpc: w.anvil.rpcUrl,
      chain_id: w.anvil.chainId,
      ledger_address: w.addresses.ledger,
      chain_poll_ms: 50,
    },
  })
  nodePeerId = (await readPublicIdentity(dir)).peerId
  coldKeyFile = join(root, 'cold.key')
  await writeFile(coldKeyFile, `${w.anvil.accounts[COLD].privateKey}\n`, { mode: 0o600 })
  await w.fund(NODE, parseEther('5000'))
  await w.fund(COLD, parseEther('5000'))
})
test.after(async () => {
  await w?.stop()
  if (root) await rm(root, { recursive: true, force: true })
})
test.before.each(async () => {
  snap = await w.snapshot()
})
test.after.each(async () => {
  await w.revert(snap)
})

const node = () => w.as[NODE].address
const cold = () => w.as[COLD].address

async function cli(args: string[]): Promise<string> {
  let out = ''
  const program = new Command('openledger').exitOverride()
  registerValidatorCommands(program, { write: (text: string) => (out += text) })
  await program.parseAsync(['node', 'openledger', ...args])
  return out
}

// The commands' JSON output, read loosely.
const json = async (...args: string[]): Promise<any> =>
  JSON.parse(await cli(['validator', ...args, '--dir', dir, '--json']))

/** A write command; waits until the chain's head includes its transaction. */
async function send(...args: string[]) {
  const result = await json(...args)
  await w.mined(result.tx as Hex)
  return result
}

async function validatorOf(staker: Address) {
  const [signer, stake, unbonding, unbondingEnd, active, banned, peerId, releaseEpoch] =
    await w.as[0].staking.read.getValidator([staker])
  return { signer, stake, unbonding, unbondingEnd, active, banned, peerId, releaseEpoch }
}
const walletOf = (account: Address) => w.as[0].token.read.balanceOf([account])
const nonceOf = (account: Address) => w.publicClient.getTransactionCount({ address: account })

/** Everything a refused command must leave as it was. */
async function chainState() {
  const accounts = [node(), cold()]
  return {
    state: await w.state(accounts),
    nonces: await Promise.all(accounts.map(nonceOf)),
    allowances: await Promise.all(
      accounts.map((a) => w.as[0].token.read.allowance([a, w.addresses.staking])),
    ),
    validators: await Promise.all(accounts.map(validatorOf)),
    set: await w.activeSet(),
  }
}

/** The command must fail with `code` and change nothing on chain; returns the error. */
async function refused(
  args: string[],
  code: string,
): Promise<OpenLedgerError<{ code: string; revert?: string; unbondingEnd?: number; releaseEpoch?: number }>> {
  const before = await chainState()
  try {
    await cli(['validator', ...args])
  } catch (err) {
    if (!(err instanceof OpenLedgerError)) throw err
    assert.is(err.code, code, `${args.join(' ')}: ${err.message}`)
    assert.equal(await chainState(), before, `${args.join(' ')} changed the chain`)
    return err
  }
  assert.unreachable(`${args.join(' ')} should fail with ${code}`)
  throw new Error('unreachable')
}

test('register --stake 1500: approve then register; Staking holds the signer, PeerId and stake; status agrees', async () => {
  const before = await json('status')
  assert.equal(
    [before.state, before.signer, before.nodeSigner, before.nodePeerId, before.stake],
    ['not-registered', null, node(), nodePeerId, '0'],
  )
  const nonce = await nonceOf(node())
  const wallet = await walletOf(node())
  const result = await send('register', '--stake', '1500')
  const stake = parseEther('1500')

  const v = await validatorOf(node())
  const peerIdBytes = toHex(peerIdFromString(nodePeerId).toMultihash().bytes)
  assert.equal(
    [v.signer, v.stake, v.active, v.banned, v.peerId, v.unbonding],
    [node(), stake, true, false, peerIdBytes, 0n],
  )
  assert.equal(await w.activeSet(), [{ signer: node(), stake }])
  assert.is(await walletOf(node()), wallet - stake)
  assert.is(await nonceOf(node()), nonce + 2, 'an approve and the register')
  assert.ok(result.approveTx, 'the allowance was short, so it approved')
  assert.is(await w.as[0].token.read.allowance([node(), w.addresses.staking]), 0n, 'no allowance left')
  assert.equal([result.staker, result.signer, result.peerId], [node(), node(), nodePeerId])

  // The PeerId proof Staking published is the node's libp2p key over the registration digest: it passes
  // the check every node makes, and the same proof for another staker does not.
  const receipt = await w.publicClient.getTransactionReceipt({ hash: result.tx })
  const [registered] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: 'Registered' })
  const message = { staker: node(), signer: node(), peerId: registered.args.peerId }
  assert.is(registered.args.peerId, peerIdBytes)
  assert.ok(await verifyPeerIdProof(w.registrationDomain, message, registered.args.peerIdProof))
  assert.not.ok(
    await verifyPeerIdProof(
      w.registrationDomain,
      { ...message, staker: cold() },
      registered.args.peerIdProof,
    ),
  )

  // The first registrant before epoch 1 is checkpointed: Staking's bootstrap puts it in epoch 1's set.
  const status = await json('status')
  assert.equal(
    [status.state, status.active, status.staker, status.signer, status.peerId, status.peerIdMatches],
    ['active', true, node(), node(), nodePeerId, true],
  )
  assert.equal(
    [status.stake, status.unbonding, status.unbondingState, status.activeSetFromEpoch, status.lastEpoch],
    [stake.toString(), '0', 'none', 1, 0],
  )
  assert.equal(await w.setFor(1n), [{ signer: node(), stake }])
  const text = await cli(['validator', 'status', '--dir', dir])
  assert.match(text, `validator ${node()}: active: in the set that signs from epoch 1`)
  assert.match(text, `PeerId     ${nodePeerId}\n`)
})

test('register with an allowance already standing sends one transaction', async () => {
  await w.mined(w.as[NODE].token.write.approve([w.addresses.staking, parseEther('2500')]))
  const nonce = await nonceOf(node())
  const result = await send('register', '--stake', '1000')
  assert.is(result.approveTx, null)
  assert.is(await nonceOf(node()), nonce + 1)
  assert.is((await validatorOf(node())).stake, MIN)
  assert.is(await w.as[0].token.read.allowance([node(), w.addresses.staking]), parseEther('1500'))
})

test('a second register, a stake below the minimum, more than the wallet: typed errors, nothing sent', async () => {
  const below = await refused(['register', '--stake', '999.999', '--dir', dir], 'BELOW_MINIMUM_STAKE')
  assert.match(below.message, "below Staking's minimum of 1000 OPEN")
  const poor = await refused(['register', '--stake', '5000.5', '--dir', dir], 'INSUFFICIENT_WALLET_BALANCE')
  assert.match(poor.message, 'holds 5000 OPEN')

  await send('register', '--stake', '1000')
  const again = await refused(['register', '--stake', '1000', '--dir', dir], 'ALREADY_REGISTERED')
  assert.match(again.message, 'already a validator with 1000 OPEN bonded')
  assert.is((await validatorOf(node())).stake, MIN)
})

test('bad amounts and missing stake are INVALID_AMOUNT; unstake and withdraw with no validator are refused by name', async () => {
  for (const amount of ['0', '0.000', '-1', 'abc', '1e3', '1,5', '', '1000.0000000000000000001'])
    await refused(['register', '--stake', amount, '--dir', dir], 'INVALID_AMOUNT')
  for (const amount of ['0', '-5', 'ten', '0.0000000000000000001'])
    await refused(['unstake', amount, '--dir', dir], 'INVALID_AMOUNT')
  await refused(['unstake', '--dir', dir], 'INVALID_AMOUNT') // neither AMOUNT nor --all
  await refused(['unstake', '1', '--all', '--dir', dir], 'INVALID_AMOUNT')
  const notActive = await refused(['unstake', '--all', '--dir', dir], 'NOT_ACTIVE')
  assert.is(notActive.type.revert, 'NotActive')
  await refused(['unstake', '10', '--dir', dir], 'NOT_ACTIVE')
  await refused(['withdraw', '--dir', dir], 'NOTHING_TO_WITHDRAW')
})

test('unstake: status shows the unbonding; withdraw waits for the delay and the epoch, then pays; --all leaves the set', async () => {
  await send('register', '--stake', '1500')
  const unstake = await send('unstake', '200')
  const block = await w.publicClient.getBlock({ blockNumber: BigInt(unstake.block) })
  const unbondingEnd = block.timestamp + DEFAULTS.unbondingDelay
  let v = await validatorOf(node())
  assert.equal(
    [v.stake, v.unbonding, v.unbondingEnd, v.active, v.releaseEpoch],
    [parseEther('1300'), parseEther('200'), unbondingEnd, true, 1n],
  )
  assert.equal(await w.activeSet(), [{ signer: node(), stake: parseEther('1300') }])
  let status = await json('status')
  assert.equal(
    [
      status.state,
      status.stake,
      status.unbonding,
      status.unbondingState,
      status.unbondingEnd,
      status.releaseEpoch,
    ],
    [
      'active',
      parseEther('1300').toString(),
      parseEther('200').toString(),
      'unbonding',
      Number(unbondingEnd),
      1,
    ],
  )
  assert.match(await cli(['validator', 'status', '--dir', dir]), `withdrawable from ${isoTime(unbondingEnd)}`)

  // What remains bonded must stay at the minimum; more than is bonded is refused too.
  const below = await refused(['unstake', '300.5', '--dir', dir], 'BELOW_MINIMUM_STAKE')
  assert.match(below.message, 'would leave 999.5 OPEN bonded')
  assert.match(below.message, '--all')
  await refused(['unstake', '1300.1', '--dir', dir], 'INSUFFICIENT_STAKE')

  const early = await refused(['withdraw', '--dir', dir], 'UNBONDING_NOT_FINISHED')
  assert.is(early.type.unbondingEnd, Number(unbondingEnd))
  await w.increaseTime(DEFAULTS.unbondingDelay)
  assert.is((await json('status')).unbondingState, 'awaiting-epoch')
  const awaiting = await refused(['withdraw', '--dir', dir], 'AWAITING_EPOCH')
  assert.is(awaiting.type.releaseEpoch, 1)

  // The node's account is the signer: its key alone checkpoints epoch 1, which releases the stake.
  await w.checkpoint(await w.nextMessage(), [w.anvil.accounts[NODE].privateKey])
  status = await json('status')
  assert.equal([status.unbondingState, status.lastEpoch], ['withdrawable', 1])
  const wallet = await walletOf(node())
  const withdrawn = await send('withdraw')
  assert.is(withdrawn.paid, parseEther('200').toString())
  assert.is(await walletOf(node()), wallet + parseEther('200'))
  assert.is((await validatorOf(node())).unbonding, 0n)

  await send('unstake', '--all')
  v = await validatorOf(node())
  assert.equal([v.active, v.stake, v.unbonding, v.peerId], [false, 0n, parseEther('1300'), '0x'])
  assert.equal(await w.activeSet(), [])
  status = await json('status')
  assert.equal(
    [status.state, status.exitReason, status.active, status.unbonding, status.unbondingState],
    ['exited', 'unstaked', false, parseEther('1300').toString(), 'unbonding'],
  )
})

test('--staker-key-file: another account stakes for the node signer; status finds it; the signer stays bound to it', async () => {
  const walletCold = await walletOf(cold())
  const nonceNode = await nonceOf(node())
  await send('register', '--stake', '1200', '--staker-key-file', coldKeyFile)
  const v = await validatorOf(cold())
  assert.equal([v.signer, v.stake, v.active], [node(), parseEther('1200'), true])
  assert.is((await validatorOf(node())).signer, '0x0000000000000000000000000000000000000000')
  assert.is(await walletOf(cold()), walletCold - parseEther('1200'))
  assert.is(await nonceOf(node()), nonceNode, 'the signer sent nothing')
  const status = await json('status')
  assert.equal(
    [status.state, status.staker, status.signer, status.peerId],
    ['active', cold(), node(), nodePeerId],
  )

  await refused(['unstake', '--all', '--dir', dir], 'NOT_ACTIVE') // the node's account holds no stake
  await send('unstake', '--all', '--staker-key-file', coldKeyFile)
  assert.is((await validatorOf(cold())).active, false)
  // The signer stays bound to its first staker: the node's own account cannot take it over.
  const taken = await refused(['register', '--stake', '1000', '--dir', dir], 'SIGNER_TAKEN')
  assert.match(taken.message, cold())
  const bad = join(root, 'bad.key')
  await writeFile(bad, 'not a key\n')
  await refused(['register', '--stake', '1000', '--dir', dir, '--staker-key-file', bad], 'INVALID_STAKER_KEY')
  await refused(
    ['register', '--stake', '1000', '--dir', dir, '--staker-key-file', join(root, 'absent.key')],
    'INVALID_STAKER_KEY',
  )
})

test('through bin/openledger.js: JSON on stdout, and a refusal is one line on stderr with exit code 1', async () => {
  const status = await runCli(['validator', 'status', '--dir', dir, '--json'])
  assert.is(status.code, 0, status.stderr)
  assert.equal(JSON.parse(status.stdout).state, 'not-registered')
  const low = await runCli(['validator', 'register', '--stake', '10', '--dir', dir])
  assert.is(low.code, 1)
  assert.is(low.stderr, "error: a stake of 10 OPEN is below Staking's minimum of 1000 OPEN\n")
})

test.run()
