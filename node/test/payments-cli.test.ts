// `openledger deposit | withdraw request|execute|status | balance` against a real anvil with every contract
// deployed (contracts/test/helpers.ts), driven through commander as main.ts drives them (and once through
// bin/openledger.js). After every command the test reads the chain itself: a command's own output is never
// the evidence. Each refusal is checked to leave the chain as it was, the account's nonce included (so
// nothing was even sent). Each test starts from the same snapshot.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Hex, parseEther } from 'viem'
import { DEFAULTS } from '../../contracts/deploy.ts'
import { createWorld, signerKey, type World } from '../../contracts/test/helpers.ts'
import { OpenLedgerError } from '../../protocols/common/errors.ts'
import { runCli } from '../../testnet/processes.ts'
import { registerBalanceCommand } from '../cli/commands/balance.ts'
import { registerDepositCommand } from '../cli/commands/deposit.ts'
import { isoTime } from '../cli/commands/ledger-errors.ts'
import { registerWithdrawCommands } from '../cli/commands/withdraw.ts'
import { initDataDir } from '../datadir.ts'

const VALIDATOR = 1 // the one validator: its signature alone lands a checkpoint
const CLIENT = 5 // the data dir's account
const OTHER = 6

let w: World
let root = ''
let dir = '' // the client's data dir: account key and a config naming the chain and the Ledger
let snap: Hex

test.before(async () => {
  w = await createWorld()
  root = await mkdtemp(join(tmpdir(), 'ol-payments-cli-'))
  dir = join(root, 'client')
  await initDataDir(dir, {
    accountKey: w.anvil.accounts[CLIENT].privateKey,
    config: {
      chain_rpc: w.anvil.rpcUrl,
      chain_id: w.anvil.chainId,
      ledger_address: w.addresses.ledger,
      chain_poll_ms: 50,
    },
  })
  await w.fund(CLIENT, parseEther('100'))
  // Registered before epoch 1 is checkpointed, so it alone is epoch 1's set (Staking's bootstrap rule).
  await w.addValidator(VALIDATOR)
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

const client = () => w.as[CLIENT].address

/** Runs one command in-process; returns what it printed. */
async function cli(args: string[]): Promise<string> {
  let out = ''
  const sink = { write: (text: string) => (out += text) }
  const program = new Command('openledger').exitOverride()
  registerDepositCommand(program, sink)
  registerWithdrawCommands(program, sink)
  registerBalanceCommand(program, sink)
  await program.parseAsync(['node', 'openledger', ...args])
  return out
}

// The commands' JSON output, read loosely.
const json = async (...args: string[]): Promise<any> =>
  JSON.parse(await cli([...args, '--dir', dir, '--json']))

/** A write command as the client; waits until the chain's head includes its transaction. */
async function send(...args: string[]) {
  const result = await json(...args)
  await w.mined(result.tx as Hex)
  return result
}

async function ledgerOf(account = client()) {
  const [funded, spent, reserved, available, unlockAt] = await w.as[0].ledger.read.clientBalance([account])
  return { funded, spent, reserved, available, unlockAt }
}
const walletOf = (account = client()) => w.as[0].token.read.balanceOf([account])

/** Everything a refused command must leave as it was. */
async function chainState() {
  return {
    state: await w.state([client()]),
    nonce: await w.publicClient.getTransactionCount({ address: client() }),
    allowance: await w.as[0].token.read.allowance([client(), w.addresses.ledger]),
  }
}

/** The command must fail with `code` and change nothing on chain; returns the error. */
async function refused(
  args: string[],
  code: string,
): Promise<OpenLedgerError<{ code: string; unlockAt?: number; revert?: string }>> {
  const before = await chainState()
  try {
    await cli(args)
  } catch (err) {
    if (!(err instanceof OpenLedgerError)) throw err
    assert.is(err.code, code, `${args.join(' ')}: ${err.message}`)
    assert.equal(await chainState(), before, `${args.join(' ')} changed the chain`)
    return err
  }
  assert.unreachable(`${args.join(' ')} should fail with ${code}`)
  throw new Error('unreachable')
}

/** A stand-in for the node API: answers every request with `status` and `body`. */
async function fakeApi(status: number, body: unknown): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

test('deposit 1.5: the Ledger funds the account by exactly the amount, in one permit transaction', async () => {
  const [ledger, wallet, nonce] = [
    await ledgerOf(),
    await walletOf(),
    await w.publicClient.getTransactionCount({ address: client() }),
  ]
  const result = await send('deposit', '1.5')
  const amount = parseEther('1.5')
  const after = await ledgerOf()
  assert.is(after.funded, ledger.funded + amount)
  assert.is(after.available, ledger.available + amount)
  assert.is(await walletOf(), wallet - amount)
  assert.is(await w.publicClient.getTransactionCount({ address: client() }), nonce + 1, 'one transaction')
  assert.is(await w.as[0].token.read.allowance([client(), w.addresses.ledger]), 0n, 'no allowance left')
  assert.equal(
    { ...result, tx: undefined, block: undefined },
    {
      address: client(),
      amount: amount.toString(),
      tx: undefined,
      block: undefined,
      deposited: after.funded.toString(),
      available: after.available.toString(),
      wallet: (wallet - amount).toString(),
    },
  )
  const text = await cli(['deposit', '0.25', '--dir', dir])
  assert.match(text, /^deposited 0\.25 OPEN from 0x/)
  assert.is((await ledgerOf()).funded, ledger.funded + parseEther('1.75'))
})

test('deposit refuses zero, negative, malformed, too fine and more than the wallet, sending nothing', async () => {
  for (const amount of ['0', '0.000', '-1', 'abc', '1e3', '1,5', '', '1.0000000000000000001'])
    await refused(['deposit', amount, '--dir', dir], 'INVALID_AMOUNT')
  const err = await refused(
    ['deposit', '100.000000000000000001', '--dir', dir],
    'INSUFFICIENT_WALLET_BALANCE',
  )
  assert.match(err.message, 'holds 100 OPEN')
})

test('withdraw: request reserves; execute is refused with the unlock time, then waits for a checkpoint, then pays', async () => {
  await send('deposit', '10')
  const request = await send('withdraw', 'request', '4')
  const block = await w.publicClient.getBlock({ blockNumber: BigInt(request.block) })
  const unlockAt = block.timestamp + BigInt(DEFAULTS.ledgerParams.withdrawalDelay)
  let c = await ledgerOf()
  assert.equal([c.reserved, c.available, c.unlockAt], [parseEther('4'), parseEther('6'), unlockAt])
  assert.equal(
    [request.reserved, request.available, request.unlockAt],
    [c.reserved.toString(), c.available.toString(), Number(unlockAt)],
  )
  let status = await json('withdraw', 'status')
  assert.equal(
    [status.state, status.reserved, status.unlockAt],
    ['locked', parseEther('4').toString(), Number(unlockAt)],
  )

  const locked = await refused(['withdraw', 'execute', '--dir', dir], 'WITHDRAWAL_LOCKED')
  assert.is(locked.type.unlockAt, Number(unlockAt))
  assert.match(locked.message, isoTime(unlockAt))

  await w.increaseTime(DEFAULTS.ledgerParams.withdrawalDelay)
  status = await json('withdraw', 'status')
  assert.is(status.state, 'awaiting-checkpoint')
  const awaiting = await refused(['withdraw', 'execute', '--dir', dir], 'AWAITING_CHECKPOINT')
  assert.is(awaiting.type.unlockAt, Number(unlockAt))

  // A checkpoint landing after unlockAt releases it (one carrying receipts would first settle them).
  await w.checkpoint(await w.nextMessage(), [signerKey(VALIDATOR)])
  assert.is((await json('withdraw', 'status')).state, 'ready')
  const wallet = await walletOf()
  const executed = await send('withdraw', 'execute')
  assert.is(executed.paid, parseEther('4').toString())
  assert.is(await walletOf(), wallet + parseEther('4'))
  c = await ledgerOf()
  assert.equal([c.funded, c.reserved, c.available], [parseEther('6'), 0n, parseEther('6')])
  assert.is((await json('withdraw', 'status')).state, 'none')
  await refused(['withdraw', 'execute', '--dir', dir], 'NO_PENDING_WITHDRAWAL')
})

test('withdraw request refuses zero, malformed and more than available (decoded by name), sending nothing', async () => {
  await send('deposit', '2')
  for (const amount of ['0', '-2', 'two'])
    await refused(['withdraw', 'request', amount, '--dir', dir], 'INVALID_AMOUNT')
  const err = await refused(
    ['withdraw', 'request', '2.000000000000000001', '--dir', dir],
    'INSUFFICIENT_AVAILABLE',
  )
  assert.is(err.type.revert, 'InsufficientAvailable')
  assert.match(err.message, 'only 2 OPEN is available')
  await refused(['withdraw', 'execute', '--dir', dir], 'NO_PENDING_WITHDRAWAL')
})

test('balance: the Ledger figures and the wallet; pending in receipts unknown on a 404, summed when offered', async () => {
  await send('deposit', '3')
  await send('withdraw', 'request', '1')
  await w.checkpoint(await w.nextMessage({ totals: [{ client: client(), spent: parseEther('0.5') }] }), [
    signerKey(VALIDATOR),
  ])
  const absent = await fakeApi(404, { error: 'NOT_FOUND', message: 'Route GET:/v1/receipts not found' })
  const offered = await fakeApi(200, {
    receipts: [{ fee: '100000000000000000' }, { receipt: { fee: '50000000000000000' } }],
  })
  const totalled = await fakeApi(200, {
    receipts: [{ receipt: { fee: '100000000000000000' } }],
    pending: '400000000000000000',
  })
  try {
    const c = await ledgerOf()
    const b = await json('balance', '--api', absent.url)
    assert.equal(
      [b.deposited, b.spentInCheckpoints, b.reservedForWithdrawal, b.available, b.wallet],
      [c.funded, c.spent, c.reserved, c.available, await walletOf()].map(String),
    )
    assert.equal(
      [c.funded, c.spent, c.reserved, c.available],
      ['3', '0.5', '1', '1.5'].map((x) => parseEther(x)),
    )
    assert.equal([b.pendingInReceipts, b.spendable], [null, null])
    assert.match(b.pendingInReceiptsUnknownBecause, '404')
    assert.match(
      await cli(['balance', '--dir', dir, '--api', absent.url]),
      /pending in receipts +unknown: .*404/,
    )

    const p = await json('balance', '--api', offered.url)
    assert.equal([p.pendingInReceipts, p.spendable], [parseEther('0.15'), parseEther('1.35')].map(String))
    assert.is(p.pendingInReceiptsSource, `${offered.url}/v1/receipts?client=${client()}`)
    // A stated total (the mempool's own, exact past a page limit) wins over the listed fees.
    const t = await json('balance', '--api', totalled.url)
    assert.equal([t.pendingInReceipts, t.spendable], [parseEther('0.4'), parseEther('1.1')].map(String))
  } finally {
    absent.server.close()
    offered.server.close()
    totalled.server.close()
  }
  // No node at all: still unknown, saying why; another account's balance needs no data dir.
  const other = JSON.parse(
    await cli([
      'balance',
      w.as[OTHER].address,
      '--chain-rpc',
      w.anvil.rpcUrl,
      '--chain-id',
      String(w.anvil.chainId),
      '--ledger-address',
      w.addresses.ledger,
      '--api',
      'http://127.0.0.1:1',
      '--json',
    ]),
  )
  assert.equal(
    [other.address, other.deposited, other.wallet],
    [w.as[OTHER].address, '0', String(await walletOf(w.as[OTHER].address))],
  )
  assert.is(other.pendingInReceipts, null)
  assert.match(other.pendingInReceiptsUnknownBecause, 'cannot connect')
  await refused(['balance', '0x1234', '--dir', dir], 'INVALID_ADDRESS')
})

test('no chain, no Ledger, no account, wrong chain: each a typed error, nothing sent', async () => {
  const bare = join(root, 'bare')
  await initDataDir(bare) // default config: no chain_rpc, no ledger_address
  const rpc = ['--chain-rpc', w.anvil.rpcUrl, '--chain-id', String(w.anvil.chainId)]
  await refused(['deposit', '1', '--dir', bare], 'NO_CHAIN')
  await refused(['balance', '--dir', bare], 'NO_CHAIN')
  await refused(['withdraw', 'status', '--dir', bare, ...rpc], 'NO_LEDGER')
  const nowhere = `0x${'12'.repeat(20)}`
  await refused(['deposit', '1', '--dir', bare, ...rpc, '--ledger-address', nowhere], 'NO_LEDGER')
  const chain = [...rpc, '--ledger-address', w.addresses.ledger]
  await refused(['deposit', '1', ...chain], 'NO_ACCOUNT')
  await refused(['withdraw', 'execute', ...chain], 'NO_ACCOUNT')
  await refused(['balance', ...chain], 'NO_ACCOUNT')
  const empty = join(root, 'empty')
  await mkdir(empty)
  await refused(['withdraw', 'request', '1', '--dir', empty, ...chain], 'DATADIR_UNINITIALIZED')
  await refused(
    ['deposit', '1', '--dir', dir, '--chain-id', String(w.anvil.chainId + 1)],
    'CHAIN_ID_MISMATCH',
  )
  await refused(['deposit', '1', '--dir', dir, '--chain-rpc', 'http://127.0.0.1:1'], 'CHAIN_UNREACHABLE')
})

test('through bin/openledger.js: JSON on stdout, and a refusal is one line on stderr with exit code 1', async () => {
  const status = await runCli(['withdraw', 'status', '--dir', dir, '--json'])
  assert.is(status.code, 0, status.stderr)
  assert.equal(JSON.parse(status.stdout).state, 'none')
  const zero = await runCli(['deposit', '0', '--dir', dir])
  assert.is(zero.code, 1)
  assert.is(zero.stderr, 'error: amount "0": must be more than 0\n')
})

test.run()
