// A child process for mempool-crash.test.ts: adds receipts to a mempool in MEMPOOL_WRITER_DIR as fast as
// it can and prints `ack <requestId>` once each add has resolved, until it is killed. Loaded without that
// variable (a test runner importing every file of this folder) it does nothing.
import '../../common/polyfills.ts'
import { Level } from 'level'
import { Mempool } from '../mempool.ts'
import { account, makeReceipt } from './fixtures.ts'

async function writeUntilKilled(dir: string): Promise<never> {
  const level = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await level.open()
  const pool = await Mempool.open(level, { prefix: 0x20, maxReceipts: 1_000_000, epochOf: (s) => s / 60n })
  const client = account()
  const node = account()
  process.stdout.write('ready\n')
  for (;;) {
    const batch = await Promise.all(Array.from({ length: 8 }, () => makeReceipt({ client, node, fee: 1n })))
    await Promise.all(
      batch.map(async (r) => {
        if ((await pool.add(r)) === 'added')
          process.stdout.write(`ack ${r.receipt.authorization.requestId}\n`)
      }),
    )
  }
}

const dir = process.env.MEMPOOL_WRITER_DIR
if (dir !== undefined) await writeUntilKilled(dir)
