// A child process for mempool-crash.test.ts: adds receipts to a mempool at argv[2] as fast as it can and
// prints `ack <requestId>` once each add has resolved, until it is killed.
import '../../common/polyfills.ts'
import { Level } from 'level'
import { Mempool } from '../mempool.ts'
import { account, makeReceipt } from './fixtures.ts'

const level = new Level<Uint8Array, Uint8Array>(process.argv[2]!, {
  keyEncoding: 'view',
  valueEncoding: 'view',
})
await level.open()
const pool = await Mempool.open(level, { prefix: 0x20, maxReceipts: 1_000_000, epochOf: (s) => s / 60n })
const client = account()
const node = account()
process.stdout.write('ready\n')
for (;;) {
  const batch = await Promise.all(Array.from({ length: 8 }, () => makeReceipt({ client, node, fee: 1n })))
  await Promise.all(
    batch.map(async (r) => {
      if ((await pool.add(r)) === 'added') process.stdout.write(`ack ${r.receipt.authorization.requestId}\n`)
    }),
  )
}
