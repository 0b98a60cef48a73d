// Starts a real anvil chain as a child process, for tests, benchmarks and the testnet runner.
// The binary ships in the optional dependency `@foundry-rs/anvil-<platform>-<arch>`; we resolve it
// through the package so the same code works wherever npm installed it. Port 0 lets the OS pick a free
// port (no probing race); anvil prints the address it bound, which we read from its stdout.
import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Address, Hex } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { bytesToHex } from 'viem/utils'

/** anvil's default development mnemonic: every anvil, hardhat and foundry user knows these keys. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk'

export interface AnvilOptions {
  chainId?: number
  /** number of funded dev accounts (HD indexes 0..accounts-1) */
  accounts?: number
  /** ether per dev account */
  balance?: number
  /** milliseconds to wait until the RPC answers */
  startTimeoutMs?: number
  /** extra command-line flags */
  args?: string[]
}

export interface DevAccount {
  address: Address
  privateKey: Hex
}

export interface Anvil {
  rpcUrl: string
  chainId: number
  accounts: DevAccount[]
  /** the child's process id, for logs */
  pid: number
  /** Kills the child and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>
}

const PLATFORMS: Record<string, string> = { linux: 'linux', darwin: 'darwin', win32: 'win32' }
const ARCHES: Record<string, string> = { x64: 'amd64', arm64: 'arm64' }

/** Path of the anvil binary from the npm package for this platform. */
export function anvilBinary(): string {
  const platform = PLATFORMS[process.platform]
  const arch = ARCHES[process.arch]
  if (!platform || !arch)
    throw new Error(`anvil: no @foundry-rs/anvil build for ${process.platform}-${process.arch}`)
  const pkg = `@foundry-rs/anvil-${platform}-${arch}`
  const require = createRequire(import.meta.url)
  let pkgJson: string
  try {
    pkgJson = require.resolve(`${pkg}/package.json`)
  } catch {
    throw new Error(`anvil: package ${pkg} is not installed (optional dependencies must not be omitted)`)
  }
  return join(dirname(pkgJson), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
}

/** Derives the dev accounts anvil funds from its default mnemonic (m/44'/60'/0'/0/i). */
export function devAccounts(count: number): DevAccount[] {
  return Array.from({ length: count }, (_, i) => {
    const account = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i })
    return { address: account.address, privateKey: bytesToHex(account.getHdKey().privateKey!) }
  })
}

const live = new Set<ChildProcess>()
let exitHookInstalled = false
function installExitHook() {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // A crashed test must not leave a chain behind: kill every child we started when this process exits.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL')
  })
}

export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const chainId = options.chainId ?? 31337
  const count = options.accounts ?? 10
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--chain-id',
    String(chainId),
    '--accounts',
    String(count),
    '--balance',
    String(options.balance ?? 10_000),
    '--mnemonic',
    ANVIL_MNEMONIC,
    ...(options.args ?? []),
  ]
  installExitHook()
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let exited = false
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true
      live.delete(child)
      resolve()
    })
  })
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
      await exitPromise
      clearTimeout(timer)
    }
  }

  try {
    const port = await waitForListening(child, options.startTimeoutMs ?? 15_000)
    const rpcUrl = `http://127.0.0.1:${port}`
    await waitForRpc(rpcUrl, chainId, options.startTimeoutMs ?? 15_000)
    return { rpcUrl, chainId, accounts: devAccounts(count), pid: child.pid!, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

function waitForListening(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(
      () => finish(new Error(`anvil: not listening after ${timeoutMs} ms\n${output}`)),
      timeoutMs,
    )
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Listening on [\d.]+:(\d+)/.exec(output)
      if (match) finish(undefined, Number(match[1]))
    }
    const onExit = (code: number | null) =>
      finish(new Error(`anvil exited with code ${code} before listening\n${output}`))
    function finish(err?: Error, port?: number) {
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      child.stderr!.off('data', onData)
      child.off('exit', onExit)
      // Keep draining the pipes so anvil never blocks on a full stdout buffer.
      child.stdout!.resume()
      child.stderr!.resume()
      if (err) reject(err)
      else resolve(port!)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', onExit)
  })
}

async function waitForRpc(rpcUrl: string, chainId: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const res = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(1000),
      })
      const body = (await res.json()) as { result?: string }
      if (body.result && Number(body.result) === chainId) return
      lastError = new Error(`unexpected eth_chainId answer ${JSON.stringify(body)}`)
    } catch (err) {
      lastError = err
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`anvil: RPC at ${rpcUrl} did not answer within ${timeoutMs} ms: ${String(lastError)}`)
}
