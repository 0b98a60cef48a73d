// The receipt batch through real Helia: the proposer stores it, another node connected over loopback
// fetches it by CID (bitswap) and gets the same receipts; the bytes and CID do not depend on input order;
// whatever is not a canonical batch of this epoch is refused with a typed error.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unixfs } from '@helia/unixfs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveConfig } from '../../node/config.ts'
import { createNetwork, type Network } from '../../node/network.ts'
import { NodeDatabase } from '../../node/storage/database.ts'
import { hasCode } from '../../protocols/common/errors.ts'
import type { SignedReceipt } from '../../protocols/receipts/receipt.ts'
import { encodeReceipt } from '../../protocols/receipts/receipt-wire.ts'
import { account, makeReceipt } from '../../protocols/receipts/test/fixtures.ts'
import { ReceiptBatch } from '../pb/consensus.ts'
import { decodeBatch, encodeBatch, fetchBatch, storeBatch } from '../receipt-batch.ts'

interface Node {
  network: Network
  db: NodeDatabase
  dir: string
}
const test = suite<{ nodes: Node[]; receipts: SignedReceipt[] }>('receipt batch', { nodes: [], receipts: [] })

async function startNode(name: string): Promise<Node> {
  const dir = await mkdtemp(join(tmpdir(), `ol-batch-${name}-`))
  const db = await NodeDatabase.open(join(dir, 'db'))
  const config = resolveConfig({ listen_host: '127.0.0.1', listen_port: 0, api_port: 0 })
  const network = await createNetwork(config, await generateKeyPair('Ed25519'), db, `openledger-test/${name}`)
  await network.start()
  return { network, db, dir }
}

test.before(async (ctx) => {
  ctx.nodes.push(await startNode('proposer'), await startNode('validator'))
  const client = account()
  const node = account()
  for (let i = 0; i < 40; i++) ctx.receipts.push(await makeReceipt({ client, node, fee: BigInt(i + 1) }))
})

test.after(async (ctx) => {
  for (const n of ctx.nodes) {
    await n.network.stop().catch(() => {})
    await n.db.close().catch(() => {})
    await rm(n.dir, { recursive: true, force: true })
  }
})

const ids = (rs: SignedReceipt[]) => rs.map((r) => r.receipt.authorization.requestId.toLowerCase())
const malformed = (fn: () => unknown, what: string) =>
  assert.throws(fn, (err: unknown) => hasCode(err, 'BATCH_MALFORMED'), what)

test('stored by one node, fetched by CID over bitswap by another: the same receipts, canonical', async (ctx) => {
  const [proposer, validator] = ctx.nodes as [Node, Node]
  const shuffled = [...ctx.receipts].reverse()
  const cid = await storeBatch(unixfs(proposer.network), 7n, shuffled)
  assert.is(
    (await storeBatch(unixfs(proposer.network), 7n, ctx.receipts)).toString(),
    cid.toString(),
    'order-free',
  )
  await validator.network.libp2p.dial(proposer.network.libp2p.getMultiaddrs()[0]!)
  const fetched = await fetchBatch(unixfs(validator.network), cid, 7n, {
    signal: AbortSignal.timeout(30_000),
  })
  assert.equal(ids(fetched), ids(ctx.receipts).sort())
  assert.equal(
    fetched.map((r) => Buffer.from(encodeReceipt(r)).toString('hex')).sort(),
    ctx.receipts.map((r) => Buffer.from(encodeReceipt(r)).toString('hex')).sort(),
  )
  // A validator with a smaller bound refuses the same batch without reading it all.
  const refused = await fetchBatch(unixfs(validator.network), cid, 7n, { maxBytes: 1024 }).then(
    () => undefined,
    (err: unknown) => err,
  )
  assert.ok(hasCode(refused, 'BATCH_TOO_LARGE'), String(refused))
})

test('not a canonical batch of this epoch: BATCH_MALFORMED', (ctx) => {
  const bytes = encodeBatch(7n, ctx.receipts)
  malformed(() => decodeBatch(bytes, 8n), 'another epoch')
  malformed(() => decodeBatch(bytes.subarray(0, bytes.length - 3), 7n), 'truncated')
  const wire = [...ctx.receipts]
    .sort((a, b) => (a.receipt.authorization.requestId < b.receipt.authorization.requestId ? -1 : 1))
    .map((r) => Uint8Array.from(encodeReceipt(r)))
  malformed(
    () => decodeBatch(ReceiptBatch.encode({ epoch: 7n, receipts: [...wire].reverse() }), 7n),
    'unsorted',
  )
  malformed(
    () => decodeBatch(ReceiptBatch.encode({ epoch: 7n, receipts: [wire[0]!, wire[0]!] }), 7n),
    'repeated',
  )
  malformed(
    () => decodeBatch(ReceiptBatch.encode({ epoch: 7n, receipts: [Uint8Array.of(1, 2, 3)] }), 7n),
    'junk receipt',
  )
  malformed(() => encodeBatch(7n, [ctx.receipts[0]!, ctx.receipts[0]!]), 'a receipt twice')
  assert.is(
    decodeBatch(ReceiptBatch.encode({ epoch: 7n, receipts: [] }), 7n).length,
    0,
    'an empty batch is fine',
  )
})

test.run()
