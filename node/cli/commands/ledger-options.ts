// The options every payment command shares: where the account and the config come from (a data dir), and
// the config keys a payment needs, as flags that beat DIR/config.toml and OPENLEDGER_* as in `start`.
import type { Command } from 'commander'
import { configKeys } from '../../config.ts'

export interface LedgerOptions {
  dir?: string
  config?: string
  chainRpc?: string
  chainId?: string
  ledgerAddress?: string
  passwordFile?: string
  json?: boolean
}

const keyFlag = (key: keyof typeof configKeys, value: string): [string, string] => [
  `--${key.replaceAll('_', '-')} <${value}>`,
  `${configKeys[key].help} [env OPENLEDGER_${key.toUpperCase()}]`,
]

export function addLedgerOptions(cmd: Command): Command {
  return cmd
    .option('--dir <dir>', 'data dir made by `openledger init`: its account key and config.toml')
    .option('--config <file>', 'config file (default DIR/config.toml)')
    .option(...keyFlag('chain_rpc', 'url'))
    .option(...keyFlag('chain_id', 'id'))
    .option(...keyFlag('ledger_address', 'address'))
    .option(...keyFlag('password_file', 'file'))
    .option('--json', 'print one JSON object (amounts in wei of OPEN, as decimal strings)')
}

export interface Output {
  write(text: string): unknown
}

/** `--json`: one JSON object, bigints (wei) as decimal strings; else the human lines. */
export function print(out: Output, opts: LedgerOptions, json: Record<string, unknown>, text: string[]): void {
  if (opts.json)
    out.write(`${JSON.stringify(json, (_key, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`)
  else out.write(`${text.join('\n')}\n`)
}
