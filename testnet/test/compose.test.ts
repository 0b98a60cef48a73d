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

test.run()
