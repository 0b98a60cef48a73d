// What every payment command opens first: the node's config (DIR/config.toml, then OPENLEDGER_* variables,
// then flags, as `openledger start` reads them), the chain it names (checked against chain_id), the Ledger
// and the OPEN token the Ledger holds, and, for a command that signs, the data dir's account. The commands
// talk to the chain with the local key instead of through the node's API: a deposit or a withdrawal is the
// account owner's own act and needs no running node.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { PrivateKey } from '@libp2p/interface'
import { type Account, type Address, getAddress, isAddress, type TransactionReceipt } from 'viem'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { ledgerAbi } from '../../../contracts/generated/Ledger.ts'
import { openTokenAbi } from '../../../contracts/generated/OpenToken.ts'
import { type ChainClients, connectChain } from '../../chain.ts'
import { configFromEnv, type NodeConfig, readConfigFile, resolveConfig } from '../../config.ts'
import { loadIdentity, paths, readPassword, readPublicIdentity } from '../../datadir.ts'
import { LedgerCommandError, ledgerFailure } from './ledger-errors.ts'
import type { LedgerOptions } from './ledger-options.ts'

/** The Ledger's ABI plus the token's errors: a deposit's transferFrom reverts inside OPEN. */
export const ledgerCallAbi = [...ledgerAbi, ...openTokenAbi.filter((item) => item.type === 'error')]

export interface LedgerSession extends ChainClients {
  config: NodeConfig
  ledger: Address
  token: Address
  decimals: number
}

/** The config as `openledger start` would resolve it, from the data dir (if any), env and these flags. */
export async function ledgerConfig(opts: LedgerOptions): Promise<NodeConfig> {
  const file = opts.config ?? (opts.dir === undefined ? undefined : paths(resolve(opts.dir)).config)
  const fromFile = file !== undefined && (opts.config || existsSync(file)) ? await readConfigFile(file) : {}
  const fromFlags = {
    chain_rpc: opts.chainRpc,
    chain_id: opts.chainId,
    ledger_address: opts.ledgerAddress,
    password_file: opts.passwordFile,
  }
  return resolveConfig(fromFile, configFromEnv(process.env), fromFlags)
}

/** The data dir's account key (decrypted with password_file when it is a keystore). */
export async function signingAccount(opts: LedgerOptions, config: NodeConfig): Promise<Account> {
  return (await signingIdentity(opts, config)).account
}

/** The data dir's account and its libp2p key (a validator's registration proves both). */
export async function signingIdentity(
  opts: LedgerOptions,
  config: NodeConfig,
): Promise<{ account: PrivateKeyAccount; peerKey: PrivateKey }> {
  if (opts.dir === undefined)
    throw new LedgerCommandError(
      { code: 'NO_ACCOUNT' },
      'this command signs with an account: pass --dir DIR, a data dir made by `openledger init`',
    )
  let password: string | undefined
  if (config.password_file) {
    try {
      password = await readPassword(config.password_file)
    } catch (err) {
      throw new LedgerCommandError(
        { code: 'NO_ACCOUNT' },
        `cannot read password_file ${config.password_file}: ${(err as Error).message}`,
      )
    }
  }
  const { accountKey, peerKey } = await loadIdentity(resolve(opts.dir), password)
  return { account: privateKeyToAccount(accountKey), peerKey }
}

/**
 * Connects to the configured chain and finds the Ledger and its token. `account` signs; a bare address
 * (the balance of someone else) makes a session that only reads.
 */
export async function openLedger(config: NodeConfig, account: Account | Address): Promise<LedgerSession> {
  if (!config.chain_rpc)
    throw new LedgerCommandError(
      { code: 'NO_CHAIN' },
      'no chain configured: set chain_rpc in DIR/config.toml, OPENLEDGER_CHAIN_RPC, or --chain-rpc URL',
    )
  const ledger = config.ledger_address
  if (!ledger)
    throw new LedgerCommandError(
      { code: 'NO_LEDGER' },
      'no Ledger configured: set ledger_address in DIR/config.toml, OPENLEDGER_LEDGER_ADDRESS, or --ledger-address',
    )
  const signer: Account = typeof account === 'string' ? { address: account, type: 'json-rpc' } : account
  const clients = await connectChain(config, signer)
  const { publicClient } = clients
  try {
    if ((await publicClient.getCode({ address: ledger })) === undefined)
      throw new LedgerCommandError(
        { code: 'NO_LEDGER' },
        `no contract at ledger_address ${ledger} on chain ${config.chain_id}`,
      )
    // The token is the one the Ledger was built with (immutable), never a configured address that could differ.
    const token = await publicClient.readContract({ address: ledger, abi: ledgerAbi, functionName: 'token' })
    const decimals = await publicClient.readContract({
      address: token,
      abi: openTokenAbi,
      functionName: 'decimals',
    })
    return { ...clients, config, ledger, token, decimals }
  } catch (err) {
    if (err instanceof LedgerCommandError) throw err
    throw ledgerFailure(err, { decimals: 18 })
  }
}

/** The account a read is about: ADDRESS when given, else the data dir's (no password needed). */
export async function whose(address: string | undefined, opts: LedgerOptions): Promise<Address> {
  if (address !== undefined) {
    if (!isAddress(address, { strict: false }))
      throw new LedgerCommandError(
        { code: 'INVALID_ADDRESS' },
        `${JSON.stringify(address)} is not an address (0x and 40 hex digits)`,
      )
    return getAddress(address)
  }
  if (opts.dir === undefined)
    throw new LedgerCommandError(
      { code: 'NO_ACCOUNT' },
      'whose balance? give an ADDRESS, or --dir DIR for the account of a data dir',
    )
  return getAddress((await readPublicIdentity(resolve(opts.dir))).address)
}

/** The Ledger's figures for `client` (`Ledger.clientBalance`) and its wallet's OPEN, at one block. */
export async function balances(s: LedgerSession, client: Address, blockNumber?: bigint) {
  const at = blockNumber === undefined ? {} : { blockNumber }
  const [[funded, spent, reserved, available, unlockAt], wallet] = await read(s, () =>
    Promise.all([
      s.publicClient.readContract({
        address: s.ledger,
        abi: ledgerAbi,
        functionName: 'clientBalance',
        args: [client],
        ...at,
      }),
      s.publicClient.readContract({
        address: s.token,
        abi: openTokenAbi,
        functionName: 'balanceOf',
        args: [client],
        ...at,
      }),
    ]),
  )
  return { funded, spent, reserved, available, unlockAt, wallet }
}

/** The latest block's time: the clock the Ledger's locks run on (a test chain's may run ahead of ours). */
export async function chainTime(s: LedgerSession): Promise<bigint> {
  return (await s.publicClient.getBlock()).timestamp
}

/** Any chain read, its failure typed. */
export async function read<T>(s: LedgerSession, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    throw ledgerFailure(err, { decimals: s.decimals })
  }
}

/**
 * Simulates the Ledger call first, so a refusal is reported by its error name and nothing is sent; then
 * sends it and waits until it is mined.
 */
export async function submit(
  s: LedgerSession,
  functionName: 'depositWithPermit' | 'requestWithdrawal' | 'executeWithdrawal',
  args: readonly unknown[],
): Promise<TransactionReceipt> {
  let request: Parameters<typeof s.walletClient.writeContract>[0]
  try {
    request = (
      await s.publicClient.simulateContract({
        address: s.ledger,
        abi: ledgerCallAbi,
        functionName,
        args,
        account: s.walletClient.account,
      } as never)
    ).request as never
  } catch (err) {
    throw ledgerFailure(err, { decimals: s.decimals, chainTime: await chainTime(s).catch(() => undefined) })
  }
  let receipt: TransactionReceipt
  try {
    receipt = await s.publicClient.waitForTransactionReceipt({
      hash: await s.walletClient.writeContract(request),
    })
  } catch (err) {
    throw ledgerFailure(err, { decimals: s.decimals })
  }
  if (receipt.status !== 'success')
    throw new LedgerCommandError(
      { code: 'TRANSACTION_REVERTED' },
      `${functionName} passed its simulation but reverted when mined (transaction ${receipt.transactionHash}): the state changed in between; run the command again`,
    )
  return receipt
}
