import { resolve } from 'node:path'
import type { Command } from 'commander'

export function registerIdCommand(program: Command): void {
  program
    .command('id')
    .description("print a data dir's peer id and account address (no password needed)")
    .requiredOption('--dir <dir>', 'data directory')
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const { readPublicIdentity } = await import('../../datadir.ts')
      const dir = resolve(opts.dir)
      const { peerId, address } = await readPublicIdentity(dir)
      if (opts.json) process.stdout.write(`${JSON.stringify({ dir, peerId, address })}\n`)
      else process.stdout.write(`peer id: ${peerId}\naccount: ${address}\n`)
    })
}
