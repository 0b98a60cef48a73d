// A process adding receipts is SIGKILLed mid-stream; reopened, the mempool holds every receipt whose add
// had resolved (what a node acknowledges or forwards only afterwards), and decodes cleanly.
import '../../common/polyfills.ts'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Level } from 'level'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Hex } from 'viem'
import { Mempool } from '../mempool.ts'

const ACKS_BEFORE_KILL = 200

test('receipts acknowledged before a SIGKILL are all there after it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'openledger-mempool-crash-'))
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './protocols/common/polyfills.ts',
      'protocols/receipts/test/mempool-writer.ts',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MEMPOOL_WRITER_DIR: dir } },
  )
  const acked: Hex[] = []
  try {
    const deadline = setTimeout(() => child.kill('SIGKILL'), 120_000)
    await new Promise<void>((resolve, reject) => {
      child.once('exit', () => resolve())
      child.once('error', reject)
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!line.startsWith('ack ')) return
        acked.push(line.slice(4) as Hex)
        if (acked.length === ACKS_BEFORE_KILL) child.kill('SIGKILL')
      })
    })
    clearTimeout(deadline)
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
  }
  assert.ok(
    acked.length >= ACKS_BEFORE_KILL,
    `the writer acknowledged ${acked.length} receipts before it died`,
  )
  const level = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await level.open()
  try {
    let invalid = 0
    const pool = await Mempool.open(level, {
      prefix: 0x20,
      maxReceipts: 1_000_000,
      epochOf: (s) => s / 60n,
      onInvalid: () => invalid++,
    })
    const missing = acked.filter((id) => !pool.has(id))
    assert.equal(missing, [], `${missing.length} of ${acked.length} acknowledged receipts lost`)
    assert.is(invalid, 0)
    assert.ok(pool.size >= acked.length)
  } finally {
    await level.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
