import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { type Command, Option } from 'commander'
import {
  configFromEnv,
  configKeys,
  flagName,
  listKeys,
  readConfigFile,
  resolveConfig,
  splitList,
} from '../../config.ts'

/** A signal repeated within this long of the first is taken as the same stop request. */
const REPEATED_SIGNAL_MS = 2_000

export function registerStartCommand(program: Command): void {
  const cmd = program
    .command('start')
    .description('run the node in the foreground (SIGINT/SIGTERM stop it cleanly)')
    .requiredOption('--dir <dir>', 'data directory created by `openledger init`')
    .option('--config <file>', 'config file (default DIR/config.toml)')
  for (const [key, { help }] of Object.entries(configKeys)) {
    const option = new Option(
      `--${flagName(key)} <value>`,
      `${help} [env ${`OPENLEDGER_${key.toUpperCase()}`}]`,
    )
    cmd.addOption(
      listKeys.has(key)
        ? option.argParser((v: string, prev?: string[]) => [...(prev ?? []), ...splitList(v)])
        : option,
    )
  }
  cmd.action(async (opts: Record<string, unknown> & { dir: string; config?: string }) => {
    const { DataDirError, loadIdentity, paths, readPassword } = await import('../../datadir.ts')
    const dir = resolve(opts.dir)
    if (!existsSync(dir)) {
      throw new DataDirError(
        { code: 'DATADIR_MISSING', path: dir },
        `data dir ${dir} does not exist; create it with \`openledger init --dir ${dir}\``,
      )
    }
    const configPath = opts.config ?? paths(dir).config
    const fromFile = existsSync(configPath) || opts.config ? await readConfigFile(configPath) : {}
    const fromFlags: Record<string, unknown> = {}
    for (const key of Object.keys(configKeys)) {
      const value = opts[key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())]
      if (value !== undefined) fromFlags[key] = value
    }
    const config = resolveConfig(fromFile, configFromEnv(process.env), fromFlags)
    const password = config.password_file ? await readPassword(config.password_file) : undefined
    const identity = await loadIdentity(dir, password)
    const { createLogger } = await import('../../logger.ts')
    const { OpenLedgerNode } = await import('../../node.ts')
    const log = createLogger(config.log_level)
    const node = new OpenLedgerNode({
      dataDir: dir,
      config,
      peerKey: identity.peerKey,
      accountKey: identity.accountKey,
      log,
    })
    await node.start()

    let stoppingSince = 0
    const shutdown = (signal: string) => {
      if (stoppingSince > 0) {
        // A terminal's Ctrl-C reaches the whole process group, and a supervisor (testnet up, docker)
        // passes its own signal on a moment later: a repeat that soon is the same request.
        if (Date.now() - stoppingSince < REPEATED_SIGNAL_MS) {
          log.info({ signal }, 'already stopping (signal again to exit at once)')
          return
        }
        log.warn({ signal }, 'second signal: exiting without a clean stop')
        process.exit(1)
      }
      stoppingSince = Date.now()
      log.info({ signal }, 'stopping')
      node
        .stop()
        .then(() => process.exit(0))
        .catch((err) => {
          log.error({ err }, 'unclean stop')
          process.exit(1)
        })
    }
    process.on('SIGINT', () => shutdown('SIGINT'))
    process.on('SIGTERM', () => shutdown('SIGTERM'))
    await new Promise(() => {})
  })
}
