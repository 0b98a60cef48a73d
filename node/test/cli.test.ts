// The CLI as an operator meets it: real processes, real data dirs, real ports.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { findFreePortRange } from '../../testnet/ports.ts'
import { runCli, spawnCli } from '../../testnet/processes.ts'
import { getJson, waitFor } from '../../testnet/wait.ts'

let root = ''
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'openledger-cli-'))
})
test.after(async () => {
  await rm(root, { recursive: true, force: true })
})

/** `openledger start` on 127.0.0.1 with p2p port `base` and API port `base + 1`. */
function startOnLoopback(dir: string, base: number): string[] {
  return [
    'start',
    '--dir',
    dir,
    '--listen-host',
    '127.0.0.1',
    '--listen-port',
    String(base),
    '--api-port',
    String(base + 1),
  ]
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n')
  assert.is(lines.length, 1, `expected one error line, got:\n${stderr}`)
  return lines[0]!
}

test('init creates keys and config; a second init is refused; id reads them back', async () => {
  const dir = join(root, 'a')
  const first = await runCli(['init', '--dir', dir, '--json'])
  assert.is(first.code, 0, first.stderr)
  const identity = JSON.parse(first.stdout)
  assert.match(identity.peerId, /^12D3KooW/)
  assert.match(identity.address, /^0x[0-9a-fA-F]{40}$/)
  assert.match(await readFile(join(dir, 'config.toml'), 'utf8'), /# api_port = 9401/)
  const again = await runCli(['init', '--dir', dir])
  assert.is(again.code, 1)
  assert.match(oneLine(again.stderr), /already initialized/)
  const id = await runCli(['id', '--dir', dir, '--json'])
  assert.equal(JSON.parse(id.stdout).peerId, identity.peerId)
})

test('an encrypted account needs its password to start, and keeps its address', async () => {
  const dir = join(root, 'enc')
  const pw = join(root, 'pw')
  await writeFile(pw, 'hunter2\n')
  const init = await runCli(['init', '--dir', dir, '--password-file', pw, '--json'])
  assert.is(init.code, 0, init.stderr)
  assert.is(JSON.parse(init.stdout).encrypted, true)
  const stored = JSON.parse(await readFile(join(dir, 'keys', 'account.json'), 'utf8'))
  assert.is(stored.version, 3)
  assert.not.ok(JSON.stringify(stored).includes('privateKey'))
  const id = await runCli(['id', '--dir', dir, '--json'])
  assert.is(JSON.parse(id.stdout).address, JSON.parse(init.stdout).address)
  const start = await runCli(['start', '--dir', dir, '--api-port', '0', '--listen-port', '0'])
  assert.is(start.code, 1)
  assert.match(oneLine(start.stderr), /account key is encrypted: set password_file/)
  await writeFile(pw, 'wrong\n')
  const wrong = await runCli([
    'start',
    '--dir',
    dir,
    '--password-file',
    pw,
    '--api-port',
    '0',
    '--listen-port',
    '0',
  ])
  assert.is(wrong.code, 1)
  assert.match(oneLine(wrong.stderr), /wrong password/)
})

test('a bad config value gives one line naming the key, and exit code 2', async () => {
  const dir = join(root, 'cfg')
  await runCli(['init', '--dir', dir])
  const flag = await runCli(['start', '--dir', dir, '--api-port', 'eighty'])
  assert.is(flag.code, 2)
  assert.match(oneLine(flag.stderr), /^error: config: api_port must be a HTTP API port number/)
  const env = await runCli(['start', '--dir', dir], { OPENLEDGER_LOG_LEVEL: 'loud' })
  assert.is(env.code, 2)
  assert.match(oneLine(env.stderr), /log_level must be one of/)
  await writeFile(join(dir, 'config.toml'), 'listen_port = "x"\n')
  const file = await runCli(['start', '--dir', dir])
  assert.is(file.code, 2)
  assert.match(oneLine(file.stderr), /listen_port/)
  await writeFile(join(dir, 'config.toml'), 'this is = = not toml\n')
  const broken = await runCli(['start', '--dir', dir])
  assert.is(broken.code, 2)
  assert.match(oneLine(broken.stderr), /not valid TOML/)
})

test('a missing data dir gives one clear line and a non-zero exit', async () => {
  const res = await runCli(['start', '--dir', join(root, 'nope')])
  assert.is(res.code, 1)
  assert.match(oneLine(res.stderr), /data dir .*nope does not exist; create it with `openledger init/)
})

test('a p2p or API port in use gives one clear line and a non-zero exit', async () => {
  const dir = join(root, 'ports')
  await runCli(['init', '--dir', dir])
  const base = await findFreePortRange(2)
  const blocker: Server = createServer()
  await new Promise<void>((r) => blocker.listen(base, '127.0.0.1', () => r()))
  try {
    const p2p = await runCli(startOnLoopback(dir, base))
    assert.is(p2p.code, 1)
    assert.match(oneLine(p2p.stderr), new RegExp(`listen_port ${base} on 127.0.0.1 is already in use`))
    const api = await runCli([
      'start',
      '--dir',
      dir,
      '--listen-port',
      '0',
      '--api-host',
      '127.0.0.1',
      '--api-port',
      String(base),
    ])
    assert.is(api.code, 1)
    assert.match(oneLine(api.stderr), new RegExp(`api_port ${base} on 127.0.0.1 is already in use`))
  } finally {
    blocker.close()
  }
})

test('start serves the API and stops cleanly on SIGTERM', async () => {
  const dir = join(root, 'run')
  await runCli(['init', '--dir', dir])
  const base = await findFreePortRange(2)
  const node = spawnCli(startOnLoopback(dir, base), join(root, 'run.log'))
  try {
    await waitFor(() => fetch(`http://127.0.0.1:${base + 1}/healthz`).then((r) => r.ok), {
      timeoutMs: 30_000,
      what: 'the node to be ready',
    })
    const info = await getJson(`http://127.0.0.1:${base + 1}/v1/node`)
    assert.match(info.peerId, /^12D3KooW/)
    assert.equal(info.listenAddresses, [`/ip4/127.0.0.1/tcp/${base}/p2p/${info.peerId}`])
    assert.equal(await getJson(`http://127.0.0.1:${base + 1}/healthz`), { status: 'ok' })
    const res = await fetch(`http://127.0.0.1:${base + 1}/v1/nothing`)
    assert.is(res.status, 404)
    assert.is(((await res.json()) as { error: string }).error, 'NOT_FOUND')
    assert.is(await node.stop('SIGTERM'), 0)
  } finally {
    await node.stop('SIGKILL')
  }
})

test('Ctrl-C in a terminal under a supervisor (SIGINT, then SIGTERM a moment later) still stops cleanly', async () => {
  const dir = join(root, 'run-twice')
  await runCli(['init', '--dir', dir])
  const base = await findFreePortRange(2)
  const log = join(root, 'run-twice.log')
  const node = spawnCli(startOnLoopback(dir, base), log)
  try {
    await waitFor(() => fetch(`http://127.0.0.1:${base + 1}/healthz`).then((r) => r.ok), {
      timeoutMs: 30_000,
      what: 'the node to be ready',
    })
    // Both arrive while the node is stopping (a terminal's SIGINT to the group, the supervisor's SIGTERM).
    node.child.kill('SIGINT')
    node.child.kill('SIGTERM')
    assert.is(await node.exited, 0)
    const text = await readFile(log, 'utf8')
    assert.ok(text.includes('already stopping'), text)
    assert.not.ok(text.includes('without a clean stop'), text)
  } finally {
    await node.stop('SIGKILL')
  }
})

test.run()
