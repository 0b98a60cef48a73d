// `openledger validator register --stake AMOUNT | status | unstake [AMOUNT|--all] | withdraw`: a node's
// place in the validator set, acted on directly on the chain like the payment commands (no running node).
// The signer, the key that signs checkpoint votes, is the data dir's account (the key that signs the
// node's receipts too); the PeerId is the data dir's libp2p key. Registration proves both over Staking's
// EIP-712 `Registration` digest. The staker, whose OPEN is bonded and who alone can unstake and withdraw
// it, is the same account unless `--staker-key-file` names another key (a cold wallet holding the stake).
// Staking is the one the Ledger was built with (immutable), never a configured address that could differ.
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import type { Command } from 'commander'
import * as Digest from 'multiformats/hashes/digest'
import {
  type Abi,
  type Address,
  getAddress,
  type Hex,
  hexToBytes,
  parseEventLogs,
  type TransactionReceipt,
  zeroAddress,
} from 'viem'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { ledgerAbi } from '../../../contracts/generated/Ledger.ts'
import { openTokenAbi } from '../../../contracts/generated/OpenToken.ts'
import { stakingAbi } from '../../../contracts/generated/Staking.ts'
import {
  registrationDigest,
  signRegistration,
  stakingDomain,
  verifyPeerIdProof,
} from '../../../contracts/registration.ts'
import type { NodeConfig } from '../../config.ts'
import { isoTime, LedgerCommandError } from './ledger-errors.ts'
import { addLedgerOptions, type LedgerOptions, type Output, print } from './ledger-options.ts'
import type { LedgerSession } from './ledger-session.ts'
import { formatOpen, parseOpenAmount } from './open-amount.ts'
import { stakingFailure, ValidatorCommandError } from './validator-errors.ts'

interface ValidatorOptions extends LedgerOptions {
  stakerKeyFile?: string
}

/** Staking's ABI plus the token's errors: register's transferFrom reverts inside OPEN. */
const stakingCallAbi = [...stakingAbi, ...openTokenAbi.filter((item) => item.type === 'error')]

/** `Exited` reasons, as Staking numbers them. */
const EXIT_REASONS = ['unstaked', 'evicted', 'jailed', 'slashed'] as const
type ExitReason = (typeof EXIT_REASONS)[number]

/** Where a validator stands; `jailed` and `exited` are out of the set with the stake unbonding. */
export type ValidatorState = 'not-registered' | 'active' | 'jailed' | 'exited' | 'banned'
/** Where its unbonding stake stands, in the order `withdraw` checks. */
export type UnbondingState = 'none' | 'unbonding' | 'awaiting-epoch' | 'withdrawable'

interface StakingSession extends LedgerSession {
  staking: Address
}

async function openStaking(
  config: NodeConfig,
  account: PrivateKeyAccount | Address,
): Promise<StakingSession> {
  const l = await import('./ledger-session.ts')
  const s = await l.openLedger(config, account)
  const staking = await read(s, () =>
    s.publicClient.readContract({ address: s.ledger, abi: ledgerAbi, functionName: 'staking' }),
  )
  if (config.staking_address && getAddress(config.staking_address) !== getAddress(staking))
    throw new ValidatorCommandError(
      { code: 'STAKING_MISMATCH' },
      `staking_address is ${config.staking_address}, but the Ledger ${s.ledger} uses Staking ${staking}`,
    )
  return { ...s, staking }
}

/** Any chain read, its failure typed. */
async function read<T>(s: LedgerSession, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    throw stakingFailure(err, s.decimals)
  }
}

/**
 * Simulates the call first, so a refusal is reported by its error name and nothing is sent; then sends
 * it and waits until it is mined.
 */
async function submit(
  s: LedgerSession,
  target: { address: Address; abi: Abi },
  functionName: string,
  args: readonly unknown[],
): Promise<TransactionReceipt> {
  let request: Parameters<typeof s.walletClient.writeContract>[0]
  try {
    request = (
      await s.publicClient.simulateContract({
        ...target,
        functionName,
        args,
        account: s.walletClient.account,
      } as never)
    ).request as never
  } catch (err) {
    throw stakingFailure(err, s.decimals)
  }
  let receipt: TransactionReceipt
  try {
    receipt = await s.publicClient.waitForTransactionReceipt({
      hash: await s.walletClient.writeContract(request),
    })
  } catch (err) {
    throw stakingFailure(err, s.decimals)
  }
  if (receipt.status !== 'success')
    throw new ValidatorCommandError(
      { code: 'TRANSACTION_REVERTED' },
      `${functionName} passed its simulation but reverted when mined (transaction ${receipt.transactionHash}): the state changed in between; run the command again`,
    )
  return receipt
}

/** The staker: --staker-key-file's key (a 0x-prefixed or bare 32-byte hex private key), else the signer. */
async function stakerAccount(opts: ValidatorOptions, signer: PrivateKeyAccount): Promise<PrivateKeyAccount> {
  if (opts.stakerKeyFile === undefined) return signer
  let text: string
  try {
    text = (await readFile(resolve(opts.stakerKeyFile), 'utf8')).trim()
  } catch (err) {
    throw new ValidatorCommandError(
      { code: 'INVALID_STAKER_KEY' },
      `cannot read --staker-key-file ${opts.stakerKeyFile}: ${(err as Error).message}`,
    )
  }
  const key = text.startsWith('0x') ? text : `0x${text}`
  if (!/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new ValidatorCommandError(
      { code: 'INVALID_STAKER_KEY' },
      `--staker-key-file ${opts.stakerKeyFile} holds no private key (32 bytes of hex)`,
    )
  return privateKeyToAccount(key as Hex)
}

/** The PeerId a registration bound, as text; the raw bytes when they are not a PeerId's multihash. */
function peerIdText(bytes: Hex): string | null {
  if (bytes === '0x') return null
  try {
    return peerIdFromMultihash(Digest.decode(hexToBytes(bytes))).toString()
  } catch {
    return bytes
  }
}

/** Everything `status` says about `staker`, read at one block. */
async function readValidator(s: StakingSession, staker: Address, blockNumber?: bigint) {
  const block = await read(s, () =>
    blockNumber === undefined ? s.publicClient.getBlock() : s.publicClient.getBlock({ blockNumber }),
  )
  const at = { blockNumber: block.number }
  const staking = { address: s.staking, abi: stakingAbi, ...at } as const
  const [validator, minStake, totalActiveStake, pendingFromEpoch, lastEpoch] = await read(s, () =>
    Promise.all([
      s.publicClient.readContract({ ...staking, functionName: 'getValidator', args: [staker] }),
      s.publicClient.readContract({ ...staking, functionName: 'minStake' }),
      s.publicClient.readContract({ ...staking, functionName: 'totalActiveStake' }),
      s.publicClient.readContract({ ...staking, functionName: 'pendingFromEpoch' }),
      s.publicClient.readContract({ address: s.ledger, abi: ledgerAbi, functionName: 'lastEpoch', ...at }),
    ]),
  )
  const [signer, stake, unbonding, unbondingEnd, active, banned, peerId, releaseEpoch] = validator
  const registered = signer !== zeroAddress
  // Why it left the set is only in the events. An RPC that refuses the range leaves it unknown.
  let exitReason: ExitReason | null = null
  if (registered && !active) {
    try {
      const exits = await s.publicClient.getContractEvents({
        address: s.staking,
        abi: stakingAbi,
        eventName: 'Exited',
        args: { staker },
        fromBlock: 0n,
        toBlock: block.number,
      })
      exitReason = EXIT_REASONS[exits.at(-1)?.args.reason ?? -1] ?? null
    } catch {}
  }
  const state: ValidatorState = !registered
    ? 'not-registered'
    : banned
      ? 'banned'
      : active
        ? 'active'
        : exitReason === 'jailed'
          ? 'jailed'
          : 'exited'
  const unbondingState: UnbondingState =
    unbonding === 0n
      ? 'none'
      : block.timestamp < unbondingEnd
        ? 'unbonding'
        : lastEpoch < releaseEpoch
          ? 'awaiting-epoch'
          : 'withdrawable'
  return {
    staker,
    signer: registered ? signer : null,
    state,
    active,
    banned,
    exitReason,
    peerId: peerIdText(peerId),
    stake,
    minStake,
    totalActiveStake,
    unbonding,
    unbondingEnd: unbonding === 0n ? null : Number(unbondingEnd),
    releaseEpoch: unbonding === 0n ? null : Number(releaseEpoch),
    unbondingState,
    lastEpoch: Number(lastEpoch),
    // Staking's live set (this validator in it or not) signs from this epoch on: a change waits until the
    // epoch being voted on is checkpointed, except while the set is bootstrapping.
    activeSetFromEpoch: Number(pendingFromEpoch === 0n ? lastEpoch + 1n : pendingFromEpoch),
    block: block.number,
    chainTime: Number(block.timestamp),
  }
}

type ValidatorView = Awaited<ReturnType<typeof readValidator>>

/** The human lines for a validator's stake and unbonding. */
function stakeLines(v: ValidatorView, decimals: number): string[] {
  const open = (wei: bigint) => formatOpen(wei, decimals)
  const unbonding: Record<UnbondingState, string> = {
    none: 'nothing unbonding',
    unbonding: `${open(v.unbonding)} unbonding, withdrawable from ${isoTime(v.unbondingEnd ?? 0)} once epoch ${v.releaseEpoch} is checkpointed`,
    'awaiting-epoch': `${open(v.unbonding)} unbonded, withdrawable once epoch ${v.releaseEpoch} is checkpointed (the last is ${v.lastEpoch})`,
    withdrawable: `${open(v.unbonding)} withdrawable now: \`openledger validator withdraw\``,
  }
  return [
    `  stake      ${open(v.stake)} bonded (minimum ${open(v.minStake)}; the set holds ${open(v.totalActiveStake)})`,
    `  unbonding  ${unbonding[v.unbondingState]}`,
  ]
}

export function registerValidatorCommands(program: Command, out: Output = process.stdout): void {
  const validator = program
    .command('validator')
    .description("this node's place in the validator set: register with a stake, status, unstake, withdraw")
  const stakerOption = (cmd: Command) =>
    addLedgerOptions(cmd).option(
      '--staker-key-file <file>',
      "key of the account that holds the stake (hex private key); default: the data dir's account, also the signer",
    )

  stakerOption(
    validator
      .command('register')
      .description(
        "stake OPEN and join the validator set, binding the data dir's account as signer and its PeerId",
      )
      .requiredOption('--stake <amount>', 'OPEN to bond, e.g. 1000 (at least Staking.minStake)'),
  ).action(async (opts: ValidatorOptions & { stake: string }) => {
    const l = await import('./ledger-session.ts')
    const config = await l.ledgerConfig(opts)
    const { account: signer, peerKey } = await l.signingIdentity(opts, config)
    const staker = await stakerAccount(opts, signer)
    const s = await openStaking(config, staker)
    const amount = parseOpenAmount(opts.stake, s.decimals)
    const open = (wei: bigint) => formatOpen(wei, s.decimals)
    const staking = { address: s.staking, abi: stakingAbi } as const
    const token = { address: s.token, abi: openTokenAbi } as const

    // What Staking.register would refuse, checked before anything is sent: a refusal after the approve
    // would leave an allowance standing.
    const [current, boundTo, minStake, maxValidators, [set], wallet, allowance] = await read(s, () =>
      Promise.all([
        s.publicClient.readContract({ ...staking, functionName: 'getValidator', args: [staker.address] }),
        s.publicClient.readContract({ ...staking, functionName: 'stakerOf', args: [signer.address] }),
        s.publicClient.readContract({ ...staking, functionName: 'minStake' }),
        s.publicClient.readContract({ ...staking, functionName: 'maxValidators' }),
        s.publicClient.readContract({ ...staking, functionName: 'activeValidators' }),
        s.publicClient.readContract({ ...token, functionName: 'balanceOf', args: [staker.address] }),
        s.publicClient.readContract({
          ...token,
          functionName: 'allowance',
          args: [staker.address, s.staking],
        }),
      ]),
    )
    const [, bonded, , , active, banned] = current
    if (banned)
      throw new ValidatorCommandError(
        { code: 'BANNED' },
        `${staker.address} was slashed for equivocation and can never register again`,
      )
    if (active)
      throw new ValidatorCommandError(
        { code: 'ALREADY_REGISTERED' },
        `${staker.address} is already a validator with ${open(bonded)} bonded: see \`openledger validator status\``,
      )
    if (boundTo !== zeroAddress && boundTo !== staker.address)
      throw new ValidatorCommandError(
        { code: 'SIGNER_TAKEN' },
        `the signer ${signer.address} is bound to the staker ${boundTo}; register with that staker's key (--staker-key-file)`,
      )
    if (amount < minStake)
      throw new ValidatorCommandError(
        { code: 'BELOW_MINIMUM_STAKE' },
        `a stake of ${open(amount)} is below Staking's minimum of ${open(minStake)}`,
      )
    if (amount > wallet)
      throw new ValidatorCommandError(
        { code: 'INSUFFICIENT_WALLET_BALANCE' },
        `cannot stake ${open(amount)}: the wallet of ${staker.address} holds ${open(wallet)}`,
      )
    if (set.length >= maxValidators) {
      // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.min does not take
      const smallest = set.reduce((min, v) => (v.stake < min ? v.stake : min), set[0].stake)
      if (amount <= smallest)
        throw new ValidatorCommandError(
          { code: 'VALIDATOR_SET_FULL' },
          `the set is full (${maxValidators} validators): a new stake must exceed its smallest, ${open(smallest)}`,
        )
    }

    const domain = stakingDomain(config.chain_id, s.staking)
    const proofs = await signRegistration(domain, staker.address, signer, peerKey)
    const message = { staker: staker.address, signer: signer.address, peerId: proofs.peerId }
    // Staking's own digest must be the one both keys signed (a wrong domain would waste the transaction),
    // and the PeerId proof, which Staking only publishes, must pass the check every node will make.
    const onChain = await read(s, () =>
      s.publicClient.readContract({
        ...staking,
        functionName: 'registrationDigest',
        args: [message.staker, message.signer, message.peerId],
      }),
    )
    if (onChain !== registrationDigest(domain, message))
      throw new ValidatorCommandError(
        { code: 'PROOF_INVALID' },
        `Staking ${s.staking} computes another registration digest than this node (${onChain}): its EIP-712 domain is not the one for chain ${config.chain_id}`,
      )
    if (!(await verifyPeerIdProof(domain, message, proofs.peerIdProof)))
      throw new ValidatorCommandError(
        { code: 'PROOF_INVALID' },
        "the PeerId proof does not verify against the node's PeerId; nothing was sent",
      )

    // Approves exactly the stake, and only when the standing allowance is short of it: Staking takes it all.
    let approveTx: Hex | null = null
    if (allowance < amount)
      approveTx = (await submit(s, token, 'approve', [s.staking, amount])).transactionHash
    const receipt = await submit(s, { address: s.staking, abi: stakingCallAbi }, 'register', [
      proofs.signer,
      proofs.peerId,
      amount,
      proofs.signerProof,
      proofs.peerIdProof,
    ])
    const v = await readValidator(s, staker.address, receipt.blockNumber)
    print(
      out,
      opts,
      {
        staker: staker.address,
        signer: signer.address,
        peerId: v.peerId,
        stake: v.stake,
        active: v.active,
        activeSetFromEpoch: v.activeSetFromEpoch,
        approveTx,
        tx: receipt.transactionHash,
        block: receipt.blockNumber,
      },
      [
        `registered ${staker.address} as a validator with ${open(amount)} (transaction ${receipt.transactionHash})`,
        `  signer ${signer.address}, PeerId ${v.peerId}`,
        `  the set with it signs from epoch ${v.activeSetFromEpoch} (the last checkpointed is ${v.lastEpoch})`,
      ],
    )
  })

  addLedgerOptions(
    validator
      .command('status')
      .description(
        "this node's validator: registered or not, stake, unbonding, in the active set from which epoch",
      ),
  ).action(async (opts: LedgerOptions) => {
    const l = await import('./ledger-session.ts')
    const { readPublicIdentity } = await import('../../datadir.ts')
    const config = await l.ledgerConfig(opts)
    if (opts.dir === undefined)
      throw new LedgerCommandError(
        { code: 'NO_ACCOUNT' },
        'whose validator? pass --dir DIR, the data dir of the node (its account is the signer)',
      )
    const node = await readPublicIdentity(resolve(opts.dir))
    const signer = getAddress(node.address)
    const s = await openStaking(config, signer)
    const boundTo = await read(s, () =>
      s.publicClient.readContract({
        address: s.staking,
        abi: stakingAbi,
        functionName: 'stakerOf',
        args: [signer],
      }),
    )
    const v = await readValidator(s, boundTo === zeroAddress ? signer : boundTo)
    const peerIdMatches = v.peerId === null ? null : v.peerId === node.peerId
    const head: Record<ValidatorState, string> = {
      'not-registered': 'not registered: `openledger validator register --stake AMOUNT`',
      active: `active: in the set that signs from epoch ${v.activeSetFromEpoch} (the last checkpointed is ${v.lastEpoch})`,
      jailed: 'jailed (out of the set for missing checkpoints); its stake unbonds',
      exited: `out of the set (${v.exitReason ?? 'exited'}); its stake unbonds`,
      banned: 'banned: slashed for equivocation, never registers again',
    }
    print(out, opts, { ...v, nodeSigner: signer, nodePeerId: node.peerId, peerIdMatches }, [
      `validator ${v.staker}: ${head[v.state]}`,
      `  signer     ${signer}${v.staker === signer ? ' (also the staker)' : ''}`,
      `  PeerId     ${v.peerId ?? node.peerId}${peerIdMatches === false ? ` (NOT this node's, ${node.peerId})` : ''}`,
      ...(v.state === 'not-registered' ? [] : stakeLines(v, s.decimals)),
    ])
  })

  stakerOption(
    validator
      .command('unstake')
      .description('start unbonding AMOUNT of the stake (or all of it, which leaves the set)')
      .argument('[amount]', 'OPEN to unbond, e.g. 100')
      .option('--all', 'unbond the whole stake and leave the validator set'),
  ).action(async (amountText: string | undefined, opts: ValidatorOptions & { all?: boolean }) => {
    if ((amountText === undefined) === !opts.all)
      throw new LedgerCommandError(
        { code: 'INVALID_AMOUNT' },
        amountText === undefined
          ? 'give an AMOUNT to unstake, or --all'
          : 'give an AMOUNT or --all, not both',
      )
    const l = await import('./ledger-session.ts')
    const config = await l.ledgerConfig(opts)
    const staker = await stakerAccount(opts, (await l.signingIdentity(opts, config)).account)
    const s = await openStaking(config, staker)
    const before = await readValidator(s, staker.address)
    const amount = amountText === undefined ? before.stake : parseOpenAmount(amountText, s.decimals)
    const open = (wei: bigint) => formatOpen(wei, s.decimals)
    let receipt: TransactionReceipt
    try {
      receipt = await submit(s, { address: s.staking, abi: stakingAbi }, 'requestUnstake', [amount])
    } catch (err) {
      if (err instanceof ValidatorCommandError && err.code === 'BELOW_MINIMUM_STAKE')
        throw new ValidatorCommandError(
          err.type,
          `unstaking ${open(amount)} would leave ${open(before.stake - amount)} bonded, below the minimum of ${open(before.minStake)}: unstake less, or everything with --all`,
        )
      throw err
    }
    const v = await readValidator(s, staker.address, receipt.blockNumber)
    print(
      out,
      opts,
      {
        staker: staker.address,
        amount,
        leftTheSet: !v.active,
        tx: receipt.transactionHash,
        block: receipt.blockNumber,
        stake: v.stake,
        unbonding: v.unbonding,
        unbondingEnd: v.unbondingEnd,
        unbondingEndIso: v.unbondingEnd === null ? null : isoTime(v.unbondingEnd),
        releaseEpoch: v.releaseEpoch,
      },
      [
        `unstaking ${open(amount)} of ${staker.address} (transaction ${receipt.transactionHash})${v.active ? '' : '; it has left the validator set'}`,
        ...stakeLines(v, s.decimals),
      ],
    )
  })

  stakerOption(
    validator
      .command('withdraw')
      .description('pay out the unbonded stake once the delay has passed and its last epoch is checkpointed'),
  ).action(async (opts: ValidatorOptions) => {
    const l = await import('./ledger-session.ts')
    const config = await l.ledgerConfig(opts)
    const staker = await stakerAccount(opts, (await l.signingIdentity(opts, config)).account)
    const s = await openStaking(config, staker)
    const receipt = await submit(s, { address: s.staking, abi: stakingAbi }, 'withdraw', [])
    const [withdrawn] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: 'Withdrawn' })
    const paid = withdrawn.args.amount
    const wallet = await read(s, () =>
      s.publicClient.readContract({
        address: s.token,
        abi: openTokenAbi,
        functionName: 'balanceOf',
        args: [staker.address],
        blockNumber: receipt.blockNumber,
      }),
    )
    print(
      out,
      opts,
      { staker: staker.address, paid, wallet, tx: receipt.transactionHash, block: receipt.blockNumber },
      [
        `withdrew ${formatOpen(paid, s.decimals)} of unbonded stake to ${staker.address} (transaction ${receipt.transactionHash})`,
        `  wallet ${formatOpen(wallet, s.decimals)}`,
      ],
    )
  })
}
