// A child process for signing-guard.test.ts: records votes for (epoch, 0), epoch 1, 2, ... with random
// digests in a guard in GUARD_WRITER_DIR and prints `recorded EPOCH DIGEST` once each record has resolved
// (the moment a validator would sign and send), until it is killed. Loaded without that variable (a test
// runner importing every file of this folder) it does nothing.
import { randomBytes } from 'node:crypto'
import { Level } from 'level'
import type { Hex } from 'viem'
import { SigningGuard } from '../signing-guard.ts'

async function recordUntilKilled(dir: string): Promise<never> {
  const level = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await level.open()
  const guard = await SigningGuard.open(level, { prefix: 0x30, signer: `0x${'11'.repeat(20)}` })
  for (let epoch = 1n; ; epoch++) {
    const digest = `0x${randomBytes(32).toString('hex')}` as Hex
    await guard.record(epoch, 0, digest)
    process.stdout.write(`recorded ${epoch} ${digest}\n`)
  }
}

const dir = process.env.GUARD_WRITER_DIR
if (dir !== undefined) await recordUntilKilled(dir)
