// The data dir on a real file system: atomic init (a crash at any step leaves it uninitialized, and init
// and start agree on that), the API token file, and what an older version's interrupted init left behind.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hasCode } from '../../protocols/common/errors.ts'
import {
  dataDirState,
  ensureApiToken,
  type InitStep,
  initDataDir,
  loadIdentity,
  paths,
  readApiToken,
  readPublicIdentity,
} from '../datadir.ts'

const test = suite('data dir')

let root = ''
test.before.each(async () => {
  root = await mkdtemp(join(tmpdir(), 'ol-datadir-'))
})
test.after.each(async () => {
  await rm(root, { recursive: true, force: true })
})

async function rejectsWith(fn: () => Promise<unknown>, code: string): Promise<Error> {
  try {
    await fn()
  } catch (err) {
    assert.ok(hasCode(err, code), `expected ${code}, got ${(err as Error).message}`)
    return err as Error
  }
  assert.unreachable(`expected ${code}`)
  throw new Error('unreachable')
}

const STEPS: InitStep[] = ['config', 'api-token', 'peer-key', 'account-key', 'commit']

class SimulatedCrash extends Error {}

test('init writes keys (0600, in a 0700 dir), token and config; start and id read them back', async () => {
  const dir = join(root, 'node')
  assert.is(await dataDirState(dir), 'missing')
  const identity = await initDataDir(dir)
  assert.is(await dataDirState(dir), 'initialized')
  const p = paths(dir)
  for (const file of [p.peerKey, p.accountKey, p.apiToken]) {
    assert.is((await stat(file)).mode & 0o777, 0o600, file)
  }
  assert.is((await stat(p.keys)).mode & 0o777, 0o700)
  assert.equal((await readdir(p.keys)).sort(), ['account.json', 'peer.key'], 'no temp files left in keys/')
  assert.equal((await readdir(dir)).sort(), ['api-token', 'config.toml', 'keys'], 'no temp dir left in DIR')
  const loaded = await loadIdentity(dir)
  assert.ok(loaded.accountKey.startsWith('0x'))
  assert.equal(await readPublicIdentity(dir), { peerId: identity.peerId, address: identity.address })
  await rejectsWith(() => initDataDir(dir), 'DATADIR_EXISTS')
})

test('the API token: made by init, 64 hex characters, stable, created once under a race', async () => {
  const dir = join(root, 'node')
  await initDataDir(dir)
  const token = await readApiToken(dir)
  assert.match(token!, /^[0-9a-f]{64}$/)
  assert.is(await ensureApiToken(dir), token)

  const other = join(root, 'other')
  await mkdir(other)
  assert.is(await readApiToken(other), undefined)
  const raced = await Promise.all(Array.from({ length: 8 }, () => ensureApiToken(other)))
  assert.is(new Set(raced).size, 1, 'every racer returns the one token on disk')
  assert.is(await readApiToken(other), raced[0])
  assert.equal(await readdir(other), ['api-token'], 'no temp files left by the losers')

  await writeFile(paths(other).apiToken, 'short\n')
  await rejectsWith(() => readApiToken(other), 'DATADIR_CORRUPT')
})

for (const crashAt of STEPS) {
  test(`a crash before step "${crashAt}" leaves the dir uninitialized for both start and init`, async () => {
    const dir = join(root, 'node')
    try {
      await initDataDir(dir, {
        beforeStep: (step) => {
          if (step === crashAt) throw new SimulatedCrash(`crash before ${step}`)
        },
      })
      assert.unreachable('init should have stopped')
    } catch (err) {
      // initDataDir cleans nothing up on failure, so the disk now holds what a crash there leaves.
      assert.instance(err, SimulatedCrash)
    }
    // Both sides agree: not initialized. Start (loadIdentity) and id refuse with DATADIR_UNINITIALIZED ...
    assert.is(await dataDirState(dir), 'uninitialized')
    assert.not.ok(await pathExists(paths(dir).keys), 'keys/ appears only at the commit')
    await rejectsWith(() => loadIdentity(dir), 'DATADIR_UNINITIALIZED')
    await rejectsWith(() => readPublicIdentity(dir), 'DATADIR_UNINITIALIZED')
    // ... and init completes, leaving no trace of the interrupted attempt.
    const identity = await initDataDir(dir)
    assert.is(await dataDirState(dir), 'initialized')
    assert.equal((await readPublicIdentity(dir)).peerId, identity.peerId)
    assert.equal((await readdir(dir)).sort(), ['api-token', 'config.toml', 'keys'])
    assert.equal((await readdir(paths(dir).keys)).sort(), ['account.json', 'peer.key'])
  })
}

test('a crash at each step, with a kill instead of a throw: the same two states', async () => {
  // The throwing hook above could in principle be masked by a catch in initDataDir; here a child process
  // is killed (SIGKILL, no cleanup of any kind runs) just before each step, and the parent checks the dir.
  const { spawn } = await import('node:child_process')
  for (const crashAt of STEPS) {
    const dir = join(root, `killed-${crashAt}`)
    const script = `
      import { initDataDir } from ${JSON.stringify(new URL('../datadir.ts', import.meta.url).href)}
      await initDataDir(${JSON.stringify(dir)}, {
        beforeStep: (step) => { if (step === ${JSON.stringify(crashAt)}) process.kill(process.pid, 'SIGKILL') },
      })`
    const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'ignore', 'inherit'],
      })
      child.on('error', reject)
      child.on('exit', (_code, sig) => resolve(sig))
    })
    assert.is(signal, 'SIGKILL', crashAt)
    assert.is(await dataDirState(dir), 'uninitialized', crashAt)
    await rejectsWith(() => loadIdentity(dir), 'DATADIR_UNINITIALIZED')
    await initDataDir(dir)
    assert.is(await dataDirState(dir), 'initialized', crashAt)
    await loadIdentity(dir)
  }
})

test('an older version left one key file: init, start and id all refuse with DATADIR_INCOMPLETE', async () => {
  // The previous init wrote peer.key, then account.json, each on its own: a crash between left this.
  const dir = join(root, 'old')
  await initDataDir(dir)
  const accountJson = await readFile(paths(dir).accountKey)
  await rm(paths(dir).accountKey)
  const err = await rejectsWith(() => initDataDir(dir), 'DATADIR_INCOMPLETE')
  assert.match(err.message, `but ${paths(dir).accountKey} does not`)
  assert.match(err.message, 'openledger init --dir')
  await rejectsWith(() => loadIdentity(dir), 'DATADIR_INCOMPLETE')
  await rejectsWith(() => readPublicIdentity(dir), 'DATADIR_INCOMPLETE')
  assert.ok(await pathExists(paths(dir).peerKey), 'nothing was deleted')

  // Only the account key (peer.key lost): the same, and the account key is never overwritten.
  await rm(paths(dir).peerKey)
  await writeFile(paths(dir).accountKey, accountJson)
  await rejectsWith(() => initDataDir(dir), 'DATADIR_INCOMPLETE')
  assert.equal(await readFile(paths(dir).accountKey), accountJson)
})

test('an older version left keys/ with only temp files: init cleans up and completes', async () => {
  const dir = join(root, 'old-tmp')
  await mkdir(join(dir, 'keys'), { recursive: true })
  await writeFile(join(dir, 'keys', 'peer.key.tmp'), 'half a key')
  assert.is(await dataDirState(dir), 'uninitialized')
  await rejectsWith(() => loadIdentity(dir), 'DATADIR_UNINITIALIZED')
  await initDataDir(dir)
  assert.equal((await readdir(paths(dir).keys)).sort(), ['account.json', 'peer.key'])
})

test('an existing config is kept; a missing dir is DATADIR_MISSING; corrupt keys are DATADIR_CORRUPT', async () => {
  const dir = join(root, 'cfg')
  await mkdir(dir)
  await writeFile(paths(dir).config, 'api_port = 1234\n')
  await initDataDir(dir)
  assert.is(await readFile(paths(dir).config, 'utf8'), 'api_port = 1234\n')
  await rejectsWith(() => loadIdentity(join(root, 'nope')), 'DATADIR_MISSING')
  await writeFile(paths(dir).peerKey, 'garbage')
  await rejectsWith(() => loadIdentity(dir), 'DATADIR_CORRUPT')
  await writeFile(paths(dir).accountKey, '{"privateKey": 1')
  await rejectsWith(() => readPublicIdentity(dir), 'DATADIR_CORRUPT')
})

test('an encrypted account: start needs the password; bad KDF bounds in the file are refused', async () => {
  const dir = join(root, 'enc')
  const { address } = await initDataDir(dir, { password: 'pw' })
  await rejectsWith(() => loadIdentity(dir), 'PASSWORD_REQUIRED')
  assert.is((await readPublicIdentity(dir)).address, address)
  await loadIdentity(dir, 'pw')
  await rejectsWith(() => loadIdentity(dir, 'wrong'), 'KEYSTORE_WRONG_PASSWORD')
  const ks = JSON.parse(await readFile(paths(dir).accountKey, 'utf8'))
  ks.crypto.kdfparams.n = 2 ** 30
  await writeFile(paths(dir).accountKey, JSON.stringify(ks))
  await rejectsWith(() => loadIdentity(dir, 'pw'), 'KEYSTORE_KDF_BOUNDS')
})

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

test.run()
