// The validator's slashing protection on a real level database: one vote per (epoch, round), the same
// vote may be re-sent, a SIGKILL between recording and sending loses nothing, pruning and the interchange
// file (export on one machine, import on another) never open a way to sign twice.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Level } from 'level'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Hex } from 'viem'
import { hasCode } from '../../protocols/common/errors.ts'
import { type GuardLevel, SigningGuard } from '../signing-guard.ts'

const SIGNER = `0x${'11'.repeat(20)}`
const digest = () => `0x${randomBytes(32).toString('hex')}` as Hex

interface Ctx {
  dirs: string[]
  levels: Level<Uint8Array, Uint8Array>[]
}
const test = suite<Ctx>('signing guard', { dirs: [], levels: [] })

async function openLevel(ctx: Ctx, dir?: string): Promise<Level<Uint8Array, Uint8Array>> {
  const path = dir ?? (await mkdtemp(join(tmpdir(), 'openledger-guard-')))
  if (dir === undefined) ctx.dirs.push(path)
  const level = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  await level.open()
  ctx.levels.push(level)
  return level
}

async function refused(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise
  } catch (err) {
    assert.ok(hasCode(err, code), `expected ${code}, got ${(err as Error).message}`)
    return
  }
  assert.unreachable(`expected ${code}`)
}

test.after.each(async (ctx) => {
  for (const level of ctx.levels.splice(0)) await level.close().catch(() => {})
  for (const dir of ctx.dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

test('one vote per (epoch, round); the same vote again is allowed; concurrent votes cannot both pass', async (ctx) => {
  const level = await openLevel(ctx)
  const guard = await SigningGuard.open(level, { prefix: 0x30, signer: SIGNER })
  const a = digest()
  assert.is(await guard.record(5n, 0, a), 'recorded')
  assert.is(await guard.record(5n, 0, a.toUpperCase().replace('0X', '0x') as Hex), 'same')
  await refused(guard.record(5n, 0, digest()), 'DOUBLE_VOTE')
  assert.is(await guard.record(5n, 1, digest()), 'recorded', 'the next round is a new vote')
  assert.is(await guard.record(6n, 0, digest()), 'recorded')
  // Two different votes for one (epoch, round) at the same moment: exactly one is recorded.
  const results = await Promise.allSettled([guard.record(7n, 0, digest()), guard.record(7n, 0, digest())])
  assert.equal(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'])
  await refused(guard.record(-1n, 0, digest()), 'INTERCHANGE_INVALID')
  await refused(guard.record(1n, 0, '0x1234'), 'INTERCHANGE_INVALID')
})

test('a vote recorded by a process SIGKILLed right after is there after restart: no second vote', async (ctx) => {
  const dir = await mkdtemp(join(tmpdir(), 'openledger-guard-crash-'))
  ctx.dirs.push(dir)
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', './protocols/common/polyfills.ts', 'consensus/test/guard-writer.ts'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, GUARD_WRITER_DIR: dir } },
  )
  const recorded: Array<[bigint, Hex]> = []
  try {
    const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000)
    await new Promise<void>((resolve, reject) => {
      child.once('exit', () => resolve())
      child.once('error', reject)
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const [word, epoch, d] = line.split(' ')
        if (word !== 'recorded') return
        recorded.push([BigInt(epoch!), d as Hex])
        if (recorded.length === 50) child.kill('SIGKILL')
      })
    })
    clearTimeout(deadline)
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
  }
  assert.ok(recorded.length >= 50, `the writer recorded ${recorded.length} votes before it died`)
  const guard = await SigningGuard.open(await openLevel(ctx, dir), { prefix: 0x30, signer: SIGNER })
  for (const [epoch, d] of recorded) {
    assert.is(guard.recorded(epoch, 0), d)
    await refused(guard.record(epoch, 0, digest()), 'DOUBLE_VOTE')
    assert.is(await guard.record(epoch, 0, d), 'same', 'the recorded vote may be re-sent')
  }
})

test('a failed write signs nothing and leaves the (epoch, round) free', async (ctx) => {
  const level = await openLevel(ctx)
  let failing = true
  const flaky: GuardLevel = {
    get: (key) => level.get(key),
    iterator: (options) => level.iterator(options),
    batch: (ops, options) =>
      failing ? Promise.reject(new Error('disk full')) : level.batch(ops as never, options ?? {}),
  }
  const guard = await SigningGuard.open(flaky, { prefix: 0x30, signer: SIGNER })
  await refused(guard.record(3n, 0, digest()), 'GUARD_WRITE_FAILED')
  assert.is(guard.recorded(3n, 0), undefined)
  failing = false
  const d = digest()
  assert.is(await guard.record(3n, 0, d), 'recorded')
  assert.is((await SigningGuard.open(level, { prefix: 0x30, signer: SIGNER })).recorded(3n, 0), d)
})

test('pruning raises a watermark that survives restart; nothing is signed below it', async (ctx) => {
  const level = await openLevel(ctx)
  const guard = await SigningGuard.open(level, { prefix: 0x30, signer: SIGNER })
  for (let e = 1n; e <= 10n; e++) await guard.record(e, 0, digest())
  assert.is(await guard.prune(8n), 7)
  const reopened = await SigningGuard.open(level, { prefix: 0x30, signer: SIGNER })
  assert.is(reopened.lowWatermark, 8n)
  assert.is(reopened.recorded(7n, 0), undefined)
  await refused(reopened.record(7n, 0, digest()), 'BELOW_WATERMARK')
  await refused(reopened.record(8n, 0, digest()), 'DOUBLE_VOTE')
  assert.is(await reopened.record(11n, 0, digest()), 'recorded')
})

test('interchange: moved to a new machine, the validator still never signs twice; bad files change nothing', async (ctx) => {
  const old = await SigningGuard.open(await openLevel(ctx), { prefix: 0x30, signer: SIGNER })
  const signed = [digest(), digest(), digest()]
  for (let i = 0; i < 3; i++) await old.record(BigInt(20 + i), 0, signed[i]!)
  await old.prune(21n)
  const file = JSON.parse(JSON.stringify(old.exportInterchange()))
  assert.is(file.votes.length, 2)

  const level = await openLevel(ctx)
  const moved = await SigningGuard.open(level, { prefix: 0x30, signer: SIGNER })
  const conflicting = digest()
  await moved.record(22n, 0, conflicting) // the new machine signed something else for epoch 22 meanwhile
  await refused(
    moved.importInterchange({ ...file, metadata: { ...file.metadata, signer: `0x${'22'.repeat(20)}` } }),
    'INTERCHANGE_OTHER_SIGNER',
  )
  await refused(moved.importInterchange({ votes: 'all of them' }), 'INTERCHANGE_INVALID')
  await refused(
    moved.importInterchange({
      ...file,
      votes: [...file.votes, { epoch: '99999999999999999999', round: 0, signing_root: digest() }],
    }),
    'INTERCHANGE_INVALID',
  )
  assert.is(moved.recorded(21n, 0), undefined, 'a refused file changed nothing')
  assert.equal(await moved.importInterchange(file), { added: 1, poisoned: 1, same: 0 })
  const restarted = await SigningGuard.open(level, { prefix: 0x30, signer: SIGNER })
  assert.is(restarted.lowWatermark, 21n)
  await refused(restarted.record(20n, 0, signed[0]!), 'BELOW_WATERMARK')
  assert.is(await restarted.record(21n, 0, signed[1]!), 'same')
  await refused(restarted.record(21n, 0, digest()), 'DOUBLE_VOTE')
  // Conflicting histories: neither vote, nor any other, is signed for epoch 22 again.
  assert.is(restarted.recorded(22n, 0), null)
  await refused(restarted.record(22n, 0, conflicting), 'DOUBLE_VOTE')
  await refused(restarted.record(22n, 0, signed[2]!), 'DOUBLE_VOTE')
  assert.equal(restarted.exportInterchange().votes.find((v) => v.epoch === '22')?.signing_root, null)
  assert.equal(await restarted.importInterchange(restarted.exportInterchange()), {
    added: 0,
    poisoned: 0,
    same: 2,
  })
})

test.run()
