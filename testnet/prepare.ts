// `openledger testnet prepare`: readies data dirs for nodes that run elsewhere (docker compose): deploys
// the contracts on an existing chain and writes each node's identity and config.toml, with node 0 as the
// bootstrap peer under a host name. Idempotent: existing identities and deployments are kept.
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'smol-toml'
import { devAccounts } from './anvil.ts'
import { deployForTestnet } from './deploy.ts'
import { runCli } from './processes.ts'
import { waitFor } from './wait.ts'

export interface PrepareOptions {
  nodes: number
  dir: string
  rpcUrl: string
  bootstrapHost: string
  p2pPort?: number
  apiPort?: number
}

async function chainId(rpcUrl: string): Promise<number> {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    signal: AbortSignal.timeout(5_000),
  })
  return Number(((await res.json()) as { result: string }).result)
}

export async function prepareTestnet(opts: PrepareOptions) {
  const p2pPort = opts.p2pPort ?? 9400
  const apiPort = opts.apiPort ?? 9401
  await mkdir(opts.dir, { recursive: true })
  // The chain may still be starting (compose starts services together): wait for it with a deadline.
  const id = await waitFor(() => chainId(opts.rpcUrl), {
    timeoutMs: 60_000,
    intervalMs: 500,
    what: `the chain at ${opts.rpcUrl}`,
  })
  const keys = devAccounts(opts.nodes + 1)
  const contractsFile = join(opts.dir, 'contracts.json')
  const contracts: Record<string, string> = existsSync(contractsFile)
    ? JSON.parse(await readFile(contractsFile, 'utf8'))
    : await deployForTestnet(opts.rpcUrl, keys[0]!.privateKey)
  await writeFile(contractsFile, `${JSON.stringify(contracts, null, 2)}\n`)

  const nodes: { dir: string; peerId: string; address: string }[] = []
  for (let i = 0; i < opts.nodes; i++) {
    const dir = join(opts.dir, `node-${i}`)
    if (!existsSync(join(dir, 'keys', 'peer.key'))) {
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, 'dev-account.key'), keys[i + 1]!.privateKey, { mode: 0o600 })
      const res = await runCli(['init', '--dir', dir, '--private-key-file', join(dir, 'dev-account.key')])
      if (res.code !== 0) throw new Error(`openledger init failed for node ${i}: ${res.stderr.trim()}`)
    }
    const res = await runCli(['id', '--dir', dir, '--json'])
    if (res.code !== 0) throw new Error(`openledger id failed for node ${i}: ${res.stderr.trim()}`)
    nodes.push({ dir, ...(JSON.parse(res.stdout) as { peerId: string; address: string }) })
  }
  for (const [i, node] of nodes.entries()) {
    const config = {
      listen_port: p2pPort,
      api_port: apiPort,
      chain_rpc: opts.rpcUrl,
      chain_id: id,
      ...contracts,
      bootstrap: i === 0 ? [] : [`/dns4/${opts.bootstrapHost}/tcp/${p2pPort}/p2p/${nodes[0]!.peerId}`],
    }
    await writeFile(
      join(node.dir, 'config.toml'),
      `# written by \`openledger testnet prepare\`\n${stringify(config)}\n`,
    )
  }
  return { chainId: id, contracts, nodes }
}
