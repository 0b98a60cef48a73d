// `openledger balance [ADDRESS]`: where an account's OPEN stands. From the Ledger (`clientBalance`):
// deposited (funded: deposits less executed withdrawals), spent as settled by checkpoints, reserved for
// withdrawal, and available = deposited − spent − reserved; from the token: the wallet. Receipts the
// network accepted but no checkpoint has settled yet are not on chain: a node's mempool holds them, so
// `pendingInReceipts` comes from the node's API and is null (unknown, with the reason) when it cannot say.
// Only when it is known is `spendable` (available − pending, what a node will still accept) given.
import type { Command } from 'commander'
import { apiOption, TOKEN_ENV } from '../api-client.ts'
import { isoTime } from './ledger-errors.ts'
import { addLedgerOptions, type LedgerOptions, type Output, print } from './ledger-options.ts'
import { formatOpen } from './open-amount.ts'
import { pendingInReceipts } from './pending-receipts.ts'

interface BalanceOptions extends LedgerOptions {
  api: string
  apiToken?: string
}

/** The node's API token: --api-token, else the data dir's, else OPENLEDGER_API_TOKEN (none is fine too). */
async function apiToken(opts: BalanceOptions): Promise<string | undefined> {
  if (opts.apiToken) return opts.apiToken
  if (opts.dir !== undefined) {
    const { readApiToken } = await import('../../datadir.ts')
    const token = await readApiToken(opts.dir)
    if (token !== undefined) return token
  }
  return process.env[TOKEN_ENV] || undefined
}

export function registerBalanceCommand(program: Command, out: Output = process.stdout): void {
  addLedgerOptions(
    program
      .command('balance')
      .description(
        'show deposited, spent, reserved, available and pending OPEN of an account, and its wallet',
      )
      .argument('[address]', "whose balance (default: the --dir account's)"),
  )
    .option(
      '--api <url>',
      'HTTP API of the node asked for pending receipts (env OPENLEDGER_API)',
      apiOption()[2],
    )
    .option('--api-token <token>', `the node API's token (default: DIR/api-token, then env ${TOKEN_ENV})`)
    .action(async (addressArg: string | undefined, opts: BalanceOptions) => {
      const l = await import('./ledger-session.ts')
      const config = await l.ledgerConfig(opts)
      const address = await l.whose(addressArg, opts)
      const s = await l.openLedger(config, address)
      const [b, pending] = await Promise.all([
        l.balances(s, address),
        apiToken(opts).then((token) => pendingInReceipts({ url: opts.api, token }, address)),
      ])
      const p = pending.pendingInReceipts
      const spendable = p === null ? null : b.available > p ? b.available - p : 0n
      const open = (wei: bigint) => formatOpen(wei, s.decimals)
      print(
        out,
        opts,
        {
          address,
          ledger: s.ledger,
          token: s.token,
          decimals: s.decimals,
          wallet: b.wallet,
          deposited: b.funded,
          spentInCheckpoints: b.spent,
          reservedForWithdrawal: b.reserved,
          unlockAt: b.reserved === 0n ? null : Number(b.unlockAt),
          available: b.available,
          pendingInReceipts: p,
          pendingInReceiptsUnknownBecause: pending.unknownBecause,
          pendingInReceiptsSource: pending.source,
          spendable,
        },
        [
          `account ${address}`,
          `  wallet                 ${open(b.wallet)}`,
          `  deposited              ${open(b.funded)}`,
          `  spent (checkpointed)   ${open(b.spent)}`,
          `  reserved (withdrawal)  ${open(b.reserved)}${b.reserved === 0n ? '' : `, unlocks at ${isoTime(b.unlockAt)}`}`,
          `  available              ${open(b.available)}  (deposited − spent − reserved)`,
          p === null
            ? `  pending in receipts    unknown: ${pending.unknownBecause}`
            : `  pending in receipts    ${open(p)}  (${pending.receipts} receipt(s) not yet checkpointed)`,
          ...(spendable === null
            ? []
            : [`  spendable              ${open(spendable)}  (available − pending)`]),
        ],
      )
    })
}
