import { Command } from 'commander'
import { registerModelCommands } from './model.ts'
const program = new Command('openledger').exitOverride()
registerModelCommands(program, {})
try {
  await program.parseAsync(process.argv)
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`)
  process.exitCode = 1
}
