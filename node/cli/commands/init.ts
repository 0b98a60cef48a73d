import { resolve } from 'node:path'
import type { Command } from 'commander'
import { type Hex, isHex } from 'viem'
import { ConfigError } from '../../config.ts'

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('create a data dir: libp2p key, Ethereum account key and a commented config file')
    .requiredOption('--dir <dir>', 'data directory')
    .option('--password-file <file>', 'encrypt the account key (v3 keystore) with the password in this file')
    .option('--private-key-file <file>', 'import this hex account key instead of generating one')
    .option('--json', 'print the identity as JSON')
    .action(async (opts: { dir: string; passwordFile?: string; privateKeyFile?: string; json?: boolean }) => {
      const { initDataDir, readPassword } = await import('../../datadir.ts')
      const dir = resolve(opts.dir)
      const password = opts.passwordFile ? await readPassword(opts.passwordFile) : undefined
      let accountKey: Hex | undefined
      if (opts.privateKeyFile) {
        const text = (await readPassword(opts.privateKeyFile)).trim()
        const hex = text.startsWith('0x') ? text : `0x${text}`
        if (!isHex(hex) || hex.length !== 66)
          throw new ConfigError(
            { code: 'CONFIG_INVALID', key: 'private_key_file' },
            `${opts.privateKeyFile} must hold a 32-byte hex private key`,
          )
        accountKey = hex
      }
      const identity = await initDataDir(dir, { password, accountKey })
      if (opts.json) process.stdout.write(`${JSON.stringify({ dir, ...identity })}\n`)
      else
        process.stdout.write(
          `initialized ${dir}\n  peer id: ${identity.peerId}\n  account: ${identity.address}${identity.encrypted ? ' (encrypted)' : ''}\n`,
        )
    })
}
