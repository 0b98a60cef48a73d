// The compose file is checked with `docker-compose config` (no Docker engine is needed for that); .ci/run
// installs Debian's docker-compose.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parse } from 'yaml'

const root = fileURLToPath(new URL('../..', import.meta.url))

test('docker/docker-compose.yml is valid and describes anvil, setup and 4 nodes', () => {
  const res = spawnSync(
    'docker-compose',
    ['--env-file', 'docker/default.env', '-f', 'docker/docker-compose.yml', 'config'],
    { cwd: root, encoding: 'utf8' },
  )
  assert.ok(!res.error, `docker-compose is not installed (.ci/run installs it): ${res.error?.message}`)
  assert.is(res.status, 0, res.stderr)
  const config = parse(res.stdout)
  assert.equal(Object.keys(config.services).sort(), [
    'anvil',
    'node-0',
    'node-1',
    'node-2',
    'node-3',
    'setup',
  ])
  for (let i = 0; i < 4; i++) {
    const node = config.services[`node-${i}`]
    assert.equal(node.command, ['start', '--dir', `/testnet/node-${i}`])
    assert.is(node.environment.OPENLEDGER_CHAIN_RPC, 'http://anvil:8545')
  }
  assert.ok(config.services.setup.command.includes('prepare'))
})

// docker-compose 1.x prints a port as "HOST_IP:PUBLISHED:TARGET/tcp" or {published, target}; 2.x as
// {host_ip, published, target}. Normalized to [hostIp, target].
function publishedPorts(service: { ports?: unknown[] }): [string, number][] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'string') {
      const parts = p.replace(/\/\w+$/, '').split(':')
      return [parts.length === 3 ? parts[0]! : '0.0.0.0', Number(parts.at(-1))]
    }
    const o = p as { host_ip?: string; target: number }
    return [o.host_ip ?? '0.0.0.0', Number(o.target)]
  })
}

test('the chain RPC and every node API are published on loopback only; only libp2p is public', () => {
  const res = spawnSync(
    'docker-compose',
    ['--env-file', 'docker/default.env', '-f', 'docker/docker-compose.yml', 'config'],
    { cwd: root, encoding: 'utf8' },
  )
  assert.ok(!res.error, `docker-compose is not installed (.ci/run installs it): ${res.error?.message}`)
  const config = parse(res.stdout)
  let published = 0
  for (const [name, service] of Object.entries<{ ports?: unknown[] }>(config.services)) {
    for (const [hostIp, target] of publishedPorts(service)) {
      published++
      if (target === 9400) continue
      assert.is(hostIp, '127.0.0.1', `${name} publishes port ${target} on ${hostIp}`)
    }
  }
  assert.is(published, 6)
  assert.is(config.services['node-1'].environment.OPENLEDGER_API_ALLOWED_HOSTS, 'localhost,127.0.0.1')
})

test.run()
