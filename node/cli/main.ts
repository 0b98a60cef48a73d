// `openledger`: the CLI. Each command lives in commands/; this file only assembles them and turns typed
// errors into one clear line and an exit code (2 for configuration mistakes, 1 for everything else).
import { Command, CommanderError } from 'commander'
import { OpenLedgerError } from '../../protocols/common/errors.ts'
import { ConfigError } from '../config.ts'
import { NODE_VERSION } from '../version.ts'
import { registerAttributeCommand } from './commands/attribute.ts'
import { registerBalanceCommand } from './commands/balance.ts'
import { registerDatanetCommands } from './commands/datanet.ts'
import { registerDepositCommand } from './commands/deposit.ts'
import { registerIdCommand } from './commands/id.ts'
import { registerInferCommand } from './commands/infer.ts'
import { registerInitCommand } from './commands/init.ts'
import { registerJobCommands } from './commands/job.ts'
import { registerModelCommands } from './commands/model.ts'
import { registerReceiptsCommands } from './commands/receipts.ts'
import { registerStartCommand } from './commands/start.ts'
import { registerTestnetCommands } from './commands/testnet.ts'
import { registerValidatorCommands } from './commands/validator.ts'
import { registerWithdrawCommands } from './commands/withdraw.ts'
import { resolveAttributionIndex, resolveTrainingDocuments } from './datanet-resolvers.ts'
import { modelCommandDeps } from './model-hooks.ts'

export function buildProgram(): Command {
  const program = new Command('openledger')
    .description('OpenLedger node: Datanets, inference, Proof of Attribution and checkpointed rewards')
    .version(NODE_VERSION)
    .showHelpAfterError()
  registerInitCommand(program)
  registerIdCommand(program)
  registerStartCommand(program)
  registerTestnetCommands(program)
  registerDatanetCommands(program)
  registerJobCommands(program)
  registerInferCommand(program)
  registerAttributeCommand(program, { resolveDatanet: resolveAttributionIndex })
  registerModelCommands(program, {
    ...modelCommandDeps(),
    resolveDatanet: (ref, api) => resolveTrainingDocuments(ref, api),
  })
  registerDepositCommand(program)
  registerWithdrawCommands(program)
  registerBalanceCommand(program)
  registerReceiptsCommands(program)
  registerValidatorCommands(program)
  return program
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError) return 2
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2
  return 1
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram()
  program.exitOverride()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    const code = exitCodeFor(err)
    if (!(err instanceof CommanderError)) {
      const message = err instanceof OpenLedgerError ? err.message : ((err as Error)?.stack ?? String(err))
      process.stderr.write(`error: ${message}\n`)
    }
    process.exit(code)
  }
}
