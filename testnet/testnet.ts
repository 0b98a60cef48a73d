// A local network of real processes: one anvil chain and N node processes on 127.0.0.1. Node 0 is the
// bootstrap peer of the others. Driven only through the CLI, the HTTP API and the chain, as a user would.
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type Anvil, startAnvil } from './anvil.ts'
import { deployForTestnet, fundForTestnet } from './deploy.ts'
import { findFreePortRange } from './ports.ts'
import { type Managed, runCli, spawnCli } from './processes.ts'
import { getJson, waitFor } from './wait.ts'

export interface TestnetOptions {
  nodes: number
  dir: string
  /** p2p port of node i is basePort + 2i, its API port basePort + 2i + 1; default: a free range */
  basePort?: number
  statusIntervalMs?: number
  logLevel?: string
  /** deadline for the mesh to form */
  readyTimeoutMs?: number
  /** extra config flags for every node */
  extraArgs?: string[]
  /** deploy the contracts on the fresh chain and give their addresses to every node (default true) */
  deployContracts?: boolean
}

export interface TestnetNode {
  index: number
  dir: string
  peerId: string
  account: string
  p2pPort: number
  apiPort: number
  apiUrl: string
  multiaddr: string
  process?: Managed
}

export class Testnet {
  readonly nodes: TestnetNode[] = []
  anvil?: Anvil
  contracts: Record<string, string> = {}
  private basePort = 0

  private constructor(readonly opts: TestnetOptions) {}

  static async start(opts: TestnetOptions): Promise<Testnet> {
    const net = new Testnet({ ...opts, dir: resolve(opts.dir) })
    try {
      await net.boot()
    } catch (err) {
      // Said here as well as thrown: uvu swallows an error thrown by a `before` hook (its runner returns
      // from `finally`), so a testnet that fails to start would otherwise fail its tests silently.
      console.error(`testnet failed to start: ${(err as Error).message}\n${await net.logTails()}`)
      await net.stop()
      throw err
    }
    return net
  }

  private async boot(): Promise<void> {
    const { nodes, dir } = this.opts
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64)
      throw new Error(`--nodes must be an integer from 1 to 64 (got ${nodes})`)
    await mkdir(dir, { recursive: true })
    // Room for up to 8 nodes added later (addNode).
    this.basePort = this.opts.basePort ?? (await findFreePortRange(2 * nodes + 16))
    // HD index 0 deploys; node i uses index i + 1, so every node has gas and a known key.
    this.anvil = await startAnvil({ accounts: nodes + 9 })
    if (this.opts.deployContracts !== false) {
      const deployer = this.anvil.accounts[0]!.privateKey
      this.contracts = await deployForTestnet(this.anvil.rpcUrl, deployer)
      // Every node account (those added later too) can pay for inference at once.
      const nodeKeys = this.anvil.accounts.slice(1).map((a) => a.privateKey)
      await fundForTestnet(this.anvil.rpcUrl, deployer, this.contracts, nodeKeys)
    }

    this.nodes.push(...(await Promise.all(Array.from({ length: nodes }, (_, i) => this.initNode(i)))))
    for (const node of this.nodes) this.launch(node)
    await this.waitForMesh()
  }

  private async initNode(index: number): Promise<TestnetNode> {
    const dir = join(this.opts.dir, `node-${index}`)
    // A data dir from an earlier run is reused (same identities); otherwise it is initialized.
    const fresh = !existsSync(join(dir, 'keys', 'peer.key'))
    if (fresh) {
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, 'dev-account.key'), this.anvil!.accounts[index + 1]!.privateKey, {
        mode: 0o600,
      })
    }
    const args = fresh
      ? ['init', '--dir', dir, '--private-key-file', join(dir, 'dev-account.key'), '--json']
      : ['id', '--dir', dir, '--json']
    const res = await runCli(args)
    if (res.code !== 0)
      throw new Error(`openledger ${args[0]} failed for node ${index}: ${res.stderr.trim()}`)
    const id = JSON.parse(res.stdout) as { peerId: string; address: string }
    await this.writeChainConfig(dir)
    const p2pPort = this.basePort + 2 * index
    const apiPort = p2pPort + 1
    return {
      index,
      dir,
      peerId: id.peerId,
      account: id.address,
      p2pPort,
      apiPort,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      multiaddr: `/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${id.peerId}`,
    }
  }

  /** Adds a fresh node (new identity, next ports) that bootstraps through node `bootstrapIndex`. */
  async addNode(bootstrapIndex = 0): Promise<TestnetNode> {
    const index = this.nodes.length
    if (index >= this.opts.nodes + 8) throw new Error('addNode: at most 8 nodes can be added')
    const node = await this.initNode(index)
    this.nodes.push(node)
    this.launch(node, bootstrapIndex)
    await waitFor(
      async () => {
        if (node.process?.child.exitCode != null)
          throw new Error(`node ${index} exited with code ${node.process.child.exitCode}`)
        return fetch(`${node.apiUrl}/healthz`).then((r) => r.ok)
      },
      { timeoutMs: 120_000, what: `node ${index} to start` },
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await this.logTails()}`)
    })
    return node
  }

  /** Starts (or restarts) node `index` on its data dir and ports; `extraArgs` for this start only. */
  launch(node: TestnetNode, bootstrapIndex = 0, extraArgs: string[] = []): Managed {
    const args = [
      'start',
      '--dir',
      node.dir,
      '--listen-host',
      '127.0.0.1',
      '--listen-port',
      String(node.p2pPort),
      '--api-host',
      '127.0.0.1',
      '--api-port',
      String(node.apiPort),
      '--chain-rpc',
      this.anvil!.rpcUrl,
      '--chain-id',
      String(this.anvil!.chainId),
      '--chain-poll-ms',
      '50',
      '--status-interval-ms',
      String(this.opts.statusIntervalMs ?? 2_000),
      '--log-level',
      this.opts.logLevel ?? 'info',
      ...Object.entries(this.contracts).flatMap(([k, v]) => [`--${k.replaceAll('_', '-')}`, v]),
      ...(this.opts.extraArgs ?? []),
      ...extraArgs,
    ]
    if (node.index !== bootstrapIndex) args.push('--bootstrap', this.nodes[bootstrapIndex]!.multiaddr)
    node.process = spawnCli(args, join(node.dir, 'node.log'))
    return node.process
  }

  /**
   * Writes this testnet's chain and contract keys into a node's config.toml, between markers that are
   * replaced at every start (anvil's port and the contracts change), so commands that read the data dir's
   * config (`openledger balance --dir .testnet/node-0`, deposit, withdraw) find the chain.
   */
  private async writeChainConfig(dir: string): Promise<void> {
    const path = join(dir, 'config.toml')
    const begin = '# --- testnet chain: written by `openledger testnet up`, replaced at every start ---'
    const end = '# --- end of testnet chain ---'
    const text = existsSync(path) ? await readFile(path, 'utf8') : ''
    const from = text.indexOf(begin)
    const to = text.indexOf(end)
    const kept = from >= 0 && to > from ? text.slice(0, from) + text.slice(to + end.length) : text
    const values: Record<string, string | number> = {
      chain_rpc: this.anvil!.rpcUrl,
      chain_id: this.anvil!.chainId,
      ...this.contracts,
    }
    const block = [begin, ...Object.entries(values).map(([k, v]) => `${k} = ${JSON.stringify(v)}`), end]
    await writeFile(path, `${kept.trimEnd()}\n\n${block.join('\n')}\n`)
  }

  /** Every node answers /healthz and is connected to every other node. */
  async waitForMesh(timeoutMs = this.opts.readyTimeoutMs ?? 60_000): Promise<void> {
    const expected = this.nodes.length - 1
    let counts: number[] = []
    await waitFor(
      async () => {
        for (const node of this.nodes) {
          if (node.process && node.process.child.exitCode !== null) {
            throw new Error(
              `node ${node.index} exited with code ${node.process.child.exitCode}; see ${join(node.dir, 'node.log')}`,
            )
          }
        }
        counts = await Promise.all(
          this.nodes.map((n) =>
            this.peerIds(n)
              .then((ids) => ids.size)
              .catch(() => -1),
          ),
        )
        return counts.every((c) => c >= expected)
      },
      { timeoutMs, intervalMs: 200, what: `${this.nodes.length} nodes to see ${expected} peers each` },
    ).catch(async (err) => {
      // A dead node is reported as such, not as a slow mesh.
      for (const node of this.nodes) {
        if (node.process && node.process.child.exitCode !== null) {
          throw new Error(
            `node ${node.index} exited with code ${node.process.child.exitCode}; see ${join(node.dir, 'node.log')}`,
          )
        }
      }
      throw new Error(`${(err as Error).message}; peers seen per node: ${counts.join(', ')}`)
    })
  }

  /** The last lines of every node's log, for a failure report. */
  async logTails(lines = 15): Promise<string> {
    const tails = await Promise.all(
      this.nodes.map(async (n) => {
        const text = await readFile(join(n.dir, 'node.log'), 'utf8').catch(() => '(no log)')
        return `--- node ${n.index} (${n.dir}/node.log)\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`
      }),
    )
    return tails.join('\n')
  }

  async peerIds(node: TestnetNode): Promise<Set<string>> {
    const body = await getJson<{ peers: { peerId: string }[] }>(`${node.apiUrl}/v1/peers`)
    return new Set(body.peers.map((p) => p.peerId))
  }

  async summary() {
    const nodes = await Promise.all(
      this.nodes.map(async (n) => {
        const info = await getJson<{ network?: { dhtRoutingTableSize?: number } }>(
          `${n.apiUrl}/v1/node`,
        ).catch(() => null)
        const peers = await this.peerIds(n).catch(() => new Set<string>())
        return {
          index: n.index,
          peerId: n.peerId,
          account: n.account,
          apiUrl: n.apiUrl,
          multiaddr: n.multiaddr,
          dataDir: n.dir,
          peers: [...peers].sort(),
          dhtRoutingTableSize: info?.network?.dhtRoutingTableSize ?? null,
        }
      }),
    )
    return {
      chain: { rpcUrl: this.anvil?.rpcUrl, chainId: this.anvil?.chainId },
      contracts: this.contracts,
      nodes,
    }
  }

  /** Stops every node (SIGTERM, then SIGKILL after a grace period) and the chain. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.process?.stop('SIGTERM', 10_000)))
    await this.anvil?.stop()
  }
}
