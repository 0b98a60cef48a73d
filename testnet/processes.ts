// Child processes of the testnet: each node runs `bin/openledger.js` as a user would. Every child is
// tracked and killed when this process exits, even after a crash or a failed test.
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../bin/openledger.js', import.meta.url))

const live = new Set<ChildProcess>()
let hooked = false
function hookExit() {
  if (hooked) return
  hooked = true
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL')
  })
}

export interface Managed {
  child: ChildProcess
  exited: Promise<number | null>
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>
}

/** Spawns the CLI with `args`, appending stdout and stderr to `logFile`. */
export function spawnCli(args: string[], logFile: string, env: NodeJS.ProcessEnv = {}): Managed {
  hookExit()
  const log = createWriteStream(logFile, { flags: 'a' })
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  child.stdout!.pipe(log, { end: false })
  child.stderr!.pipe(log, { end: false })
  live.add(child)
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child)
      resolve(code ?? (signal ? 128 : null))
    }),
  )
  return {
    child,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal)
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        const code = await exited
        clearTimeout(timer)
        return code
      }
      return exited
    },
  }
}

/** Runs the CLI to completion and returns its stdout; throws with stderr on a non-zero exit. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? 1 }))
  })
}
