import { rm } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { ConfigError } from '../../config.ts'

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n')
}

function intOption(name: string, value: string, min: number, max: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      { code: 'CONFIG_INVALID', key: name },
      `--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`,
    )
  }
  return n
}

export function registerTestnetCommands(program: Command): void {
  const testnet = program
    .command('testnet')
    .description('a local network of real processes: anvil + N nodes on 127.0.0.1')
  testnet
    .command('up')
    .description('start anvil and N nodes, wait for the mesh, print the nodes; Ctrl-C stops everything')
    .option('--nodes <n>', 'number of nodes', '4')
    .option('--dir <dir>', 'where node data dirs and logs go', '.testnet')
    .option('--base-port <port>', 'p2p port of node 0 (node i: base+2i, API base+2i+1); default a free range')
    .option('--exit', 'print a JSON summary once the network is up, then stop it')
    .option(
      '--fresh',
      'delete DIR first: the chain is new on every start, so old node state would not match it',
    )
    .action(
      async (opts: { nodes: string; dir: string; basePort?: string; exit?: boolean; fresh?: boolean }) => {
        const nodes = intOption('nodes', opts.nodes, 1, 64)
        const basePort =
          opts.basePort === undefined
            ? undefined
            : intOption('base-port', opts.basePort, 1024, 65535 - 2 * nodes)
        const dir = resolve(opts.dir)
        if (opts.fresh) await rm(dir, { recursive: true, force: true })
        process.stderr.write(`starting anvil and ${nodes} nodes in ${dir} ...\n`)
        const started = Date.now()
        const { Testnet } = await import('../../../testnet/testnet.ts')
        const net = await Testnet.start({ nodes, dir, basePort })
        const summary = { ...(await net.summary()), readyMs: Date.now() - started }
        if (opts.exit) {
          await net.stop()
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
          return
        }
        const rows = [['node', 'peer id', 'account', 'api', 'peers']]
        for (const n of summary.nodes)
          rows.push([String(n.index), n.peerId, n.account, n.apiUrl, String(n.peers.length)])
        const contracts = Object.entries(summary.contracts)
        const chainFlags = [
          `--chain-rpc ${summary.chain.rpcUrl}`,
          `--chain-id ${summary.chain.chainId}`,
          ...contracts.map(([key, address]) => `--${key.replaceAll('_', '-')} ${address}`),
        ].join(' ')
        process.stdout.write(
          `chain ${summary.chain.rpcUrl} (chain id ${summary.chain.chainId})\n` +
            `${table([['contract', 'address'], ...contracts.map(([key, address]) => [key.replace(/_address$/, ''), address])])}\n\n` +
            `${table(rows)}\n\nnetwork is up (${summary.readyMs} ms); logs in ${dir}/node-*/node.log; Ctrl-C stops everything\n` +
            `act through node 0: npx openledger datanet ls --api ${summary.nodes[0]?.apiUrl} --node-dir ${summary.nodes[0]?.dataDir} (--node-dir supplies the API token for writes)\n` +
            `join with your own node: npx openledger init --dir ./data && npx openledger start --dir ./data --listen-port 0 --api-port 0 --bootstrap ${summary.nodes[0]?.multiaddr} ${chainFlags}\n`,
        )
        await new Promise<void>((resolveStop) => {
          let stopping = false
          const stop = () => {
            if (stopping) return
            stopping = true
            process.stderr.write('stopping testnet ...\n')
            net.stop().finally(() => resolveStop())
          }
          process.on('SIGINT', stop)
          process.on('SIGTERM', stop)
        })
      },
    )
  testnet
    .command('prepare')
    .description('deploy the contracts on an existing chain and write N node data dirs (for docker compose)')
    .option('--nodes <n>', 'number of nodes', '4')
    .requiredOption('--dir <dir>', 'where the node data dirs go')
    .requiredOption('--rpc <url>', 'JSON-RPC URL of the chain (its dev accounts pay for the deployment)')
    .option('--bootstrap-host <host>', 'host name under which node 0 is reachable', '127.0.0.1')
    .action(async (opts: { nodes: string; dir: string; rpc: string; bootstrapHost: string }) => {
      const nodes = intOption('nodes', opts.nodes, 1, 64)
      const { prepareTestnet } = await import('../../../testnet/prepare.ts')
      const result = await prepareTestnet({
        nodes,
        dir: resolve(opts.dir),
        rpcUrl: opts.rpc,
        bootstrapHost: opts.bootstrapHost,
      })
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    })
}
