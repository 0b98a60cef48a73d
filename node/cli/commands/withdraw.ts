// `openledger withdraw request AMOUNT | execute | status`: taking deposited OPEN back out of the Ledger.
// A request reserves the amount at once (nodes stop accepting payments against it) and starts a clock of
// the Ledger's `withdrawalDelay`; `execute` pays it once that time has passed and a checkpoint has landed
// at or after it, so receipts signed before the request settle first (they may take part of it). A new
// request adds to the reservation and restarts the clock for all of it, which `request` says.
import type { Command } from 'commander'
import { parseEventLogs } from 'viem'
import { isoTime } from './ledger-errors.ts'
import { addLedgerOptions, type LedgerOptions, type Output, print } from './ledger-options.ts'
import { formatOpen, parseOpenAmount } from './open-amount.ts'

/** Where a reservation stands, in the order `executeWithdrawal` checks. */
export type WithdrawalState = 'none' | 'locked' | 'awaiting-checkpoint' | 'ready'

export function registerWithdrawCommands(program: Command, out: Output = process.stdout): void {
  const withdraw = program
    .command('withdraw')
    .description('take deposited OPEN back out of the Ledger: request, wait out the delay, execute')

  addLedgerOptions(
    withdraw
      .command('request')
      .description('reserve AMOUNT for withdrawal: no longer spendable, payable after the delay')
      .argument('<amount>', 'OPEN to withdraw, e.g. 1.5'),
  ).action(async (amountText: string, opts: LedgerOptions) => {
    const l = await import('./ledger-session.ts')
    const config = await l.ledgerConfig(opts)
    const account = await l.signingAccount(opts, config)
    const s = await l.openLedger(config, account)
    const amount = parseOpenAmount(amountText, s.decimals)
    const before = await l.balances(s, account.address)
    const receipt = await l.submit(s, 'requestWithdrawal', [amount])
    const after = await l.balances(s, account.address, receipt.blockNumber)
    const open = (wei: bigint) => formatOpen(wei, s.decimals)
    print(
      out,
      opts,
      {
        address: account.address,
        amount,
        tx: receipt.transactionHash,
        block: receipt.blockNumber,
        reserved: after.reserved,
        available: after.available,
        unlockAt: Number(after.unlockAt),
        unlockAtIso: isoTime(after.unlockAt),
        restartedEarlierReservation: before.reserved > 0n,
      },
      [
        `reserved ${open(amount)} for withdrawal (transaction ${receipt.transactionHash})`,
        `  reserved in all ${open(after.reserved)}, still available ${open(after.available)}`,
        ...(before.reserved > 0n
          ? [`  the earlier reservation of ${open(before.reserved)} now waits for the new unlock time too`]
          : []),
        `  unlocks at ${isoTime(after.unlockAt)}; then, after a checkpoint lands, \`openledger withdraw execute\``,
      ],
    )
  })

  addLedgerOptions(
    withdraw.command('execute').description('pay out the reserved amount once it has unlocked'),
  ).action(async (opts: LedgerOptions) => {
    const l = await import('./ledger-session.ts')
    const config = await l.ledgerConfig(opts)
    const account = await l.signingAccount(opts, config)
    const s = await l.openLedger(config, account)
    const before = await l.balances(s, account.address)
    const receipt = await l.submit(s, 'executeWithdrawal', [])
    const [withdrawn] = parseEventLogs({ abi: l.ledgerCallAbi, logs: receipt.logs, eventName: 'Withdrawn' })
    const paid = withdrawn.args.amount
    const after = await l.balances(s, account.address, receipt.blockNumber)
    const open = (wei: bigint) => formatOpen(wei, s.decimals)
    print(
      out,
      opts,
      {
        address: account.address,
        paid,
        reservedBefore: before.reserved,
        tx: receipt.transactionHash,
        block: receipt.blockNumber,
        deposited: after.funded,
        available: after.available,
        wallet: after.wallet,
      },
      [
        `withdrew ${open(paid)} to ${account.address} (transaction ${receipt.transactionHash})`,
        ...(paid < before.reserved
          ? [`  of ${open(before.reserved)} reserved: receipts signed before the request settled the rest`]
          : []),
        `  deposited ${open(after.funded)}, available ${open(after.available)}, wallet ${open(after.wallet)}`,
      ],
    )
  })

  addLedgerOptions(
    withdraw
      .command('status')
      .description('show the reserved amount, when it unlocks, and whether it can be executed now')
      .argument('[address]', "whose reservation (default: the --dir account's)"),
  ).action(async (addressArg: string | undefined, opts: LedgerOptions) => {
    const l = await import('./ledger-session.ts')
    const { ledgerAbi } = await import('../../../contracts/generated/Ledger.ts')
    const config = await l.ledgerConfig(opts)
    const address = await l.whose(addressArg, opts)
    const s = await l.openLedger(config, address)
    const ledger = { address: s.ledger, abi: ledgerAbi } as const
    const [b, now, lastCheckpointAt, escapeOpen] = await Promise.all([
      l.balances(s, address),
      l.read(s, () => l.chainTime(s)),
      l.read(s, () => s.publicClient.readContract({ ...ledger, functionName: 'lastCheckpointAt' })),
      l.read(s, () => s.publicClient.readContract({ ...ledger, functionName: 'escapeOpen' })),
    ])
    const state: WithdrawalState =
      b.reserved === 0n
        ? 'none'
        : escapeOpen
          ? 'ready'
          : now < b.unlockAt
            ? 'locked'
            : lastCheckpointAt < b.unlockAt
              ? 'awaiting-checkpoint'
              : 'ready'
    // What execute would pay now: the reservation, less spending settled into it (never below zero).
    const unspent = b.funded - b.spent
    // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.min does not take
    const payableNow = b.reserved < unspent ? b.reserved : unspent
    const open = (wei: bigint) => formatOpen(wei, s.decimals)
    const why: Record<WithdrawalState, string> = {
      none: 'no withdrawal pending',
      locked: `locked for ${b.unlockAt - now} s more (chain time), until ${isoTime(b.unlockAt)}; then it waits for a checkpoint`,
      'awaiting-checkpoint': `unlocked at ${isoTime(b.unlockAt)}; waiting for a checkpoint to land (the last one was at ${isoTime(lastCheckpointAt)})`,
      ready: escapeOpen
        ? 'ready: no checkpoint for the escape delay, so it leaves without waiting'
        : 'ready: `openledger withdraw execute` pays it',
    }
    print(
      out,
      opts,
      {
        address,
        state,
        reserved: b.reserved,
        payableNow,
        unlockAt: b.reserved === 0n ? null : Number(b.unlockAt),
        unlockAtIso: b.reserved === 0n ? null : isoTime(b.unlockAt),
        chainTime: Number(now),
        lastCheckpointAt: Number(lastCheckpointAt),
        escapeOpen,
      },
      [
        `withdrawal of ${address}: ${why[state]}`,
        ...(b.reserved > 0n
          ? [
              `  reserved ${open(b.reserved)}, ${state === 'ready' ? 'payable now' : 'payable once it is ready'} ${open(payableNow)}`,
            ]
          : []),
      ],
    )
  })
}
