// Block sync between real libp2p + Helia nodes on loopback (assembled by node/network.ts): a whole DAG
// streams and verifies, and a lying or oversized server is refused with nothing bad stored.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unixfs } from '@helia/unixfs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import type { CID } from 'multiformats/cid'
import { CID as CIDClass } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Uint8ArrayList } from 'uint8arraylist'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveConfig } from '../../../node/config.ts'
import { createNetwork, type Network } from '../../../node/network.ts'
import { NodeDatabase } from '../../../node/storage/database.ts'
import { verifyBlock } from '../../common/blocks.ts'
import { hasCode } from '../../common/errors.ts'
import { BLOCK_SYNC_PROTOCOL, BlockSync, MAX_RESPONSE_BYTES } from '../block-sync.ts'
import { encodeManifest, type ManifestEntry } from '../manifest.ts'
import { BlockSyncRequest, BlockSyncResponse } from '../pb/block-sync.ts'
import { DatanetReplicator } from '../replication.ts'
import { content, smallChunks } from './fixtures.ts'

interface TestNode {
  network: Network
  db: NodeDatabase
  dir: string
  sync: BlockSync
}

interface Ctx {
  nodes: TestNode[]
  origin: TestNode
  manifestCid: CID
  blocks: CID[]
}

const test = suite<Ctx>('datanet block sync')

async function startNode(ctx: Ctx, name: string, withService = true): Promise<TestNode> {
  const dir = await mkdtemp(join(tmpdir(), `ol-bsync-${name}-`))
  const db = await NodeDatabase.open(join(dir, 'db'))
  const config = resolveConfig({ listen_host: '127.0.0.1', listen_port: 0, api_port: 0 })
  const network = await createNetwork(config, await generateKeyPair('Ed25519'), db, `openledger-test/${name}`)
  await network.start()
  const sync = new BlockSync({
    libp2p: network.libp2p,
    blockstore: network.blockstore,
    getCodec: (c) => network.getCodec(c),
  })
  if (withService) await sync.start()
  const node = { network, db, dir, sync }
  ctx.nodes.push(node)
  return node
}

async function stopNode(node: TestNode) {
  await node.sync.stop()
  await node.network.stop()
  await node.db.close()
  await rm(node.dir, { recursive: true, force: true })
}

async function keys(node: TestNode): Promise<string[]> {
  const out: string[] = []
  for await (const { cid } of node.network.blockstore.getAll() as AsyncIterable<{ cid: CID }>)
    out.push(cid.toString())
  return out.sort()
}

async function readLocal(node: TestNode, cid: CID): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of node.network.blockstore.get(cid, {
    offline: true,
  } as never) as AsyncIterable<Uint8Array>)
    parts.push(p)
  return Buffer.concat(parts)
}

/** A server on the block-sync protocol that answers any request with `frames` (already encoded messages). */
async function lyingServer(node: TestNode, frames: () => Uint8Array[]) {
  await node.network.libp2p.handle(BLOCK_SYNC_PROTOCOL, async (stream: Stream) => {
    for await (const _ of lp.decode(stream as AsyncIterable<Uint8Array | Uint8ArrayList>)) break
    for (const f of frames()) if (!stream.send(lp.encode.single(f))) await stream.onDrain()
    await stream.close().catch(() => {})
  })
}

test.before(async (ctx) => {
  ctx.nodes = []
  ctx.origin = await startNode(ctx, 'origin')
  const entries: ManifestEntry[] = []
  for (const seed of [1, 2]) {
    const cid = await unixfs(ctx.origin.network).addBytes(content(seed, 300_000), smallChunks())
    entries.push({
      contributor: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      contentCid: cid,
      bytes: 300_000,
      license: 'CC-BY-4.0',
      createdAt: 1_700_000_000 + seed,
      signature: new Uint8Array(65),
    })
  }
  const { cid, bytes } = await encodeManifest({
    format: 1,
    datanetId: '1',
    version: 1,
    previous: null,
    contributions: entries,
  })
  await ctx.origin.network.blockstore.put(cid, bytes)
  ctx.manifestCid = cid
  ctx.blocks = (await keys(ctx.origin)).map((k) => CIDClass.parse(k))
})

test.after(async (ctx) => {
  for (const n of ctx.nodes) await stopNode(n).catch(() => {})
})

test('a whole DAG syncs over one stream and every block verifies', async (ctx) => {
  const client = await startNode(ctx, 'client')
  await client.network.libp2p.dial(ctx.origin.network.libp2p.getMultiaddrs())
  let seen = 0
  const got = await client.sync.syncDag(ctx.origin.network.libp2p.peerId, ctx.manifestCid, {
    onBlock: () => {
      seen++
    },
    signal: AbortSignal.timeout(10_000),
  })
  assert.ok(got.complete)
  assert.equal(got.missing, [])
  // manifest + 2 × (root + 5 leaves)
  assert.is(got.blocks.length, 13)
  assert.is(seen, 13)
  assert.is(got.blocks[0].toString(), ctx.manifestCid.toString())
  // the blockstore keys blocks by multihash, so compare as raw CIDs
  assert.equal(
    got.blocks.map((c) => CIDClass.createV1(raw.code, c.multihash).toString()).sort(),
    ctx.blocks.map(String),
  )
  for (const cid of got.blocks) await verifyBlock(cid, await readLocal(client, cid))
})

test('the replicator takes a version through block sync, then pins it without bitswap', async (ctx) => {
  const client = await startNode(ctx, 'replica')
  await client.network.libp2p.dial(ctx.origin.network.libp2p.getMultiaddrs())
  let syncs = 0
  const replicator = new DatanetReplicator(
    {
      helia: client.network,
      registry: { latestVersion: async () => 0, getVersion: async () => ({}) as never },
      peerCount: () => client.network.libp2p.getConnections().length,
      blockSync: {
        syncDag: (peer, root, opts) => {
          syncs++
          return client.sync.syncDag(peer as never, root, opts)
        },
        peers: () => client.sync.connectedPeers(),
      },
    },
    { blockTimeoutMs: 5_000 },
  )
  replicator.start()
  try {
    const r = await replicator.replicate(ctx.manifestCid)
    assert.is(syncs, 1)
    assert.is(r.blocks.length, 13)
    assert.is(
      r.bytes,
      (await Promise.all(ctx.blocks.map((c) => readLocal(ctx.origin, c)))).reduce((s, b) => s + b.length, 0),
    )
    assert.ok(await client.network.pins.isPinned(ctx.manifestCid))
  } finally {
    await replicator.stop()
  }
})

test('a root the server does not hold is NOT_FOUND', async (ctx) => {
  const client = await startNode(ctx, 'asker')
  await client.network.libp2p.dial(ctx.origin.network.libp2p.getMultiaddrs())
  const absent = CIDClass.createV1(
    raw.code,
    await sha256.digest(new TextEncoder().encode('nobody holds this')),
  )
  try {
    await client.sync.syncDag(ctx.origin.network.libp2p.peerId, absent, {
      signal: AbortSignal.timeout(5_000),
    })
    assert.unreachable()
  } catch (err) {
    assert.ok(hasCode(err, 'NOT_FOUND'), String(err))
  }
})

test('a block whose bytes do not match its CID is refused and nothing is stored', async (ctx) => {
  const liar = await startNode(ctx, 'liar', false)
  const client = await startNode(ctx, 'victim')
  const manifestBytes = await readLocal(ctx.origin, ctx.manifestCid)
  const forged = manifestBytes.slice()
  forged[forged.length - 1] ^= 0xff
  await lyingServer(liar, () => [
    BlockSyncResponse.encode({
      status: BlockSyncResponse.Status.BLOCK,
      cid: ctx.manifestCid.bytes as never,
      data: forged,
    }),
    BlockSyncResponse.encode({ status: BlockSyncResponse.Status.OK }),
  ])
  await client.network.libp2p.dial(liar.network.libp2p.getMultiaddrs())
  const before = await keys(client)
  try {
    await client.sync.syncDag(liar.network.libp2p.peerId, ctx.manifestCid, {
      signal: AbortSignal.timeout(5_000),
    })
    assert.unreachable()
  } catch (err) {
    assert.ok(hasCode(err, 'BLOCK_CID_MISMATCH'), String(err))
  }
  assert.equal(await keys(client), before)
  assert.not.ok(await client.network.blockstore.has(ctx.manifestCid))
})

test('a correct block that was not asked for (not under the root) is refused and not stored', async (ctx) => {
  const liar = await startNode(ctx, 'pusher', false)
  const client = await startNode(ctx, 'target')
  const junk = new TextEncoder().encode('unrelated but correctly addressed')
  const junkCid = CIDClass.createV1(raw.code, await sha256.digest(junk))
  await lyingServer(liar, () => [
    BlockSyncResponse.encode({
      status: BlockSyncResponse.Status.BLOCK,
      cid: junkCid.bytes as never,
      data: junk,
    }),
    BlockSyncResponse.encode({ status: BlockSyncResponse.Status.OK }),
  ])
  await client.network.libp2p.dial(liar.network.libp2p.getMultiaddrs())
  try {
    await client.sync.syncDag(liar.network.libp2p.peerId, ctx.manifestCid, {
      signal: AbortSignal.timeout(5_000),
    })
    assert.unreachable()
  } catch (err) {
    assert.ok(hasCode(err, 'UNEXPECTED_BLOCK'), String(err))
  }
  assert.not.ok(await client.network.blockstore.has(junkCid))
})

test('a message over the size limit is refused', async (ctx) => {
  const liar = await startNode(ctx, 'bloater', false)
  const client = await startNode(ctx, 'reader')
  await lyingServer(liar, () => [
    BlockSyncResponse.encode({
      status: BlockSyncResponse.Status.BLOCK,
      cid: ctx.manifestCid.bytes as never,
      data: new Uint8Array(MAX_RESPONSE_BYTES + 1),
    }),
  ])
  await client.network.libp2p.dial(liar.network.libp2p.getMultiaddrs())
  const before = await keys(client)
  try {
    await client.sync.syncDag(liar.network.libp2p.peerId, ctx.manifestCid, {
      signal: AbortSignal.timeout(5_000),
    })
    assert.unreachable()
  } catch (err) {
    assert.ok(hasCode(err, 'INVALID_MESSAGE'), String(err))
    assert.match(String(err), /too long|length|max/i)
  }
  assert.equal(await keys(client), before)
})

test('the request carries the root (wire format round trip)', () => {
  const root = CIDClass.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
  const req = BlockSyncRequest.decode(BlockSyncRequest.encode({ root: root.bytes as never, cids: [] }))
  assert.is(CIDClass.decode(req.root).toString(), root.toString())
})

test.run()
