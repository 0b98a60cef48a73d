// Replication over real libp2p + Helia nodes on loopback (assembled by node/network.ts), with versions
// published on a real anvil chain.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unixfs } from '@helia/unixfs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { CID } from 'multiformats/cid'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect, deployAll } from '../../../contracts/deploy.ts'
import { resolveConfig } from '../../../node/config.ts'
import { createNetwork, type Network } from '../../../node/network.ts'
import { NodeDatabase } from '../../../node/storage/database.ts'
import { type Anvil, startAnvil } from '../../../testnet/anvil.ts'
import { verifyBlock } from '../../common/blocks.ts'
import { hasCode } from '../../common/errors.ts'
import { contributionsRoot } from '../contributions-root.ts'
import { encodeManifest, type ManifestEntry } from '../manifest.ts'
import { DatanetRegistryClient } from '../registry.ts'
import { DatanetReplicator } from '../replicator.ts'
import { content, smallChunks } from './fixtures.ts'

const DEADLINE_MS = 20_000

interface TestNode {
  name: string
  network: Network
  db: NodeDatabase
  dir: string
  replicator: DatanetReplicator
  stopped: boolean
}

interface Ctx {
  anvil: Anvil
  registry: DatanetRegistryClient
  datanetId: bigint
  nodes: TestNode[]
  entries: ManifestEntry[]
  manifestCid: CID
  blocks: CID[]
}

const test = suite<Ctx>('datanet replication')

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  deadlineMs = DEADLINE_MS,
): Promise<T> {
  const deadline = Date.now() + deadlineMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      lastError = err
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`)
}

/**
 * Every step that talks to a network or a chain gets a deadline, so a hang fails with the step's name
 * instead of holding the file until the runner kills it.
 */
async function within<T>(what: string, work: Promise<T>, deadlineMs = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${deadlineMs} ms`)), deadlineMs)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}

async function startNode(ctx: Ctx, name: string): Promise<TestNode> {
  const dir = await mkdtemp(join(tmpdir(), `ol-repl-${name}-`))
  const db = await NodeDatabase.open(join(dir, 'db'))
  const config = resolveConfig({ listen_host: '127.0.0.1', listen_port: 0, api_port: 0 })
  const network = await createNetwork(config, await generateKeyPair('Ed25519'), db, `openledger-test/${name}`)
  await within(`${name}: network start`, network.start())
  const replicator = new DatanetReplicator(
    { helia: network, registry: ctx.registry, peerCount: () => network.libp2p.getConnections().length },
    {
      reprovideIntervalMs: 1_500,
      pollIntervalMs: 200,
      retryMinMs: 50,
      retryMaxMs: 400,
      provideTimeoutMs: 5_000,
      blockTimeoutMs: 10_000,
      findProvidersTimeoutMs: 2_000,
    },
  )
  replicator.start()
  const node = { name, network, db, dir, replicator, stopped: false }
  ctx.nodes.push(node)
  return node
}

async function stopNode(node: TestNode) {
  if (node.stopped) return
  node.stopped = true
  await node.replicator.stop()
  await node.network.stop()
  await node.db.close()
  await rm(node.dir, { recursive: true, force: true })
}

async function link(a: TestNode, b: TestNode) {
  await within(`${a.name} dialling ${b.name}`, a.network.libp2p.dial(b.network.libp2p.getMultiaddrs()))
}

async function addContribution(node: TestNode, seed: number, length: number): Promise<ManifestEntry> {
  const cid = await unixfs(node.network).addBytes(content(seed, length), smallChunks())
  return {
    contributor: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    contentCid: cid,
    bytes: length,
    license: 'CC-BY-4.0',
    createdAt: 1_700_000_000 + seed,
    signature: new Uint8Array(65),
  }
}

async function publish(
  ctx: Ctx,
  node: TestNode,
  datanetId: bigint,
  version: number,
  entries: ManifestEntry[],
  previous: CID | null,
) {
  const { cid, bytes } = await encodeManifest({
    format: 1,
    datanetId: datanetId.toString(),
    version,
    previous,
    contributions: entries,
  })
  await node.network.blockstore.put(cid, bytes)
  await ctx.registry.publishVersion(datanetId, {
    manifestCid: cid,
    contributionsRoot: await contributionsRoot(entries),
    count: entries.length,
  })
  return cid
}

async function heldAndVerified(node: TestNode, blocks: CID[]): Promise<number> {
  let held = 0
  for (const cid of blocks) {
    if (!(await node.network.blockstore.has(cid))) continue
    const parts: Uint8Array[] = []
    for await (const p of node.network.blockstore.get(cid, {
      offline: true,
    } as never) as AsyncIterable<Uint8Array>)
      parts.push(p)
    await verifyBlock(cid, Buffer.concat(parts))
    held++
  }
  return held
}

async function providerIds(node: TestNode, cid: CID): Promise<PeerId[]> {
  const ids: PeerId[] = []
  // Helia's routing may hand back ids in CID form; parse the string so either form compares equal.
  for await (const p of node.network.routing.findProviders(cid, { signal: AbortSignal.timeout(3_000) }))
    ids.push(peerIdFromString(p.id.toString()))
  return ids
}

test.before(async (ctx) => {
  ctx.nodes = []
  ctx.anvil = await within('anvil start', startAnvil({ accounts: 2 }), 60_000)
  const clients = await connect(ctx.anvil.rpcUrl, ctx.anvil.accounts[0].privateKey)
  const { datanetRegistry } = await within('contract deployment', deployAll(clients), 60_000)
  ctx.registry = new DatanetRegistryClient({ ...clients, address: datanetRegistry })
  ctx.datanetId = await within(
    'datanet creation',
    ctx.registry.createDatanet({ metadataCid: 'bafymeta', contributionType: 'text' }),
  )
})

test.after(async (ctx) => {
  for (const node of ctx.nodes) await within(`${node.name} stop`, stopNode(node)).catch(() => {})
  await ctx.anvil?.stop()
})

test('a node with no peers keeps retrying its announcement and succeeds once a peer appears', async (ctx) => {
  const origin = await startNode(ctx, 'origin')
  ctx.entries = [
    await addContribution(origin, 1, 300_000),
    await addContribution(origin, 2, 200_000),
    await addContribution(origin, 3, 1_000),
  ]
  ctx.manifestCid = await within('publish v1', publish(ctx, origin, ctx.datanetId, 1, ctx.entries, null))

  const served = await within('origin serving alone', origin.replicator.serve(ctx.datanetId))
  assert.is(served?.version, 1)
  assert.is(served?.manifestCid, ctx.manifestCid.toString())
  // manifest + 3 contributions: 300 kB = 5 leaves + root, 200 kB = 4 leaves + root, 1 kB = a single raw leaf
  assert.is(served?.blocks, 1 + 6 + 5 + 1)
  const first = await origin.replicator.status(ctx.datanetId)
  assert.is(first.lastProvidedAt, null)
  assert.match(first.lastError ?? '', /no connected peers/)
  assert.ok(first.complete)
  assert.is(first.blocksHeld, 13)
  assert.is(first.blocksTotal, 13)

  const replica1 = await startNode(ctx, 'replica1')
  await link(replica1, origin)
  const provided = await waitFor(
    'the retried announcement',
    async () => (await origin.replicator.status(ctx.datanetId)).lastProvidedAt ?? undefined,
  )
  // and it keeps re-announcing on its interval
  await waitFor(
    'a re-announcement',
    async () => ((await origin.replicator.status(ctx.datanetId)).lastProvidedAt ?? 0) > provided,
  )
  ctx.blocks = (await within('origin walking v1', origin.replicator.replicate(ctx.manifestCid))).blocks
  assert.is(ctx.blocks.length, 13)
})

test('two replicas hold every block (verified by CID) and an empty node finds both as providers', async (ctx) => {
  const [origin, replica1] = ctx.nodes
  const replica2 = await startNode(ctx, 'replica2')
  await link(replica2, origin)
  await link(replica2, replica1)
  const [r1, r2] = await within(
    'both replicas serving',
    Promise.all([replica1.replicator.serve(ctx.datanetId), replica2.replicator.serve(ctx.datanetId)]),
  )
  assert.is(r1?.blocks, 13)
  assert.is(r2?.blocks, 13)
  assert.is(await heldAndVerified(replica1, ctx.blocks), 13)
  assert.is(await heldAndVerified(replica2, ctx.blocks), 13)
  assert.ok(await replica1.network.pins.isPinned(ctx.manifestCid))

  const empty = await startNode(ctx, 'empty')
  await link(empty, replica1)
  await link(empty, replica2)
  const want = [replica1, replica2].map((n) => n.network.libp2p.peerId)
  for (const cid of ctx.blocks) {
    await waitFor(`providers of ${cid}`, async () => {
      const ids = await providerIds(empty, cid)
      return want.every((w) => ids.some((id) => id.equals(w)))
    })
  }
  // Provider counts in a status come from live DHT queries with a short timeout each, so on a loaded
  // machine one query can come back short: wait until a status shows them all, with a deadline.
  const status = await waitFor('the empty node to count both providers of the manifest', async () => {
    const s = await empty.replicator.status(ctx.datanetId)
    return s.providers.length === 1 && s.providers[0]!.providers >= 2 ? s : undefined
  })
  assert.is(status.served, false)
  assert.is(status.versions.length, 1)
  assert.is(status.latestManifestCid, ctx.manifestCid.toString())
  assert.is(status.blocksHeld, 0)
  assert.not.ok(status.complete)
  assert.is(status.providers.length, 1, 'only the manifest is known to a node that holds nothing')
  const replicaStatus = await waitFor('replica1 to count two providers of every block', async () => {
    const s = await replica1.replicator.status(ctx.datanetId)
    return s.providers.length === 13 && s.providers.every((p) => p.providers >= 2) ? s : undefined
  })
  assert.is(replicaStatus.providers.length, 13)
  assert.is(await heldAndVerified(empty, ctx.blocks), 0)
})

test('replicas follow a new version', async (ctx) => {
  const [origin, replica1, replica2] = ctx.nodes
  const added = await addContribution(origin, 4, 150_000)
  const v2 = await publish(ctx, origin, ctx.datanetId, 2, [...ctx.entries, added], ctx.manifestCid)
  for (const node of [replica1, replica2]) {
    const status = await waitFor(`${node.name} on version 2`, async () => {
      const s = await node.replicator.status(ctx.datanetId)
      return s.latestManifestCid === v2.toString() && s.complete && s.lastProvidedAt !== null ? s : undefined
    })
    assert.is(status.versions.length, 2)
    // v1's 12 contribution blocks + 4 new ones + both manifests
    assert.is(status.blocksHeld, 12 + 4 + 2)
  }
  ctx.manifestCid = v2
  ctx.blocks = (await within('replica2 walking v2', replica2.replicator.replicate(v2))).blocks
})

test('after the origin and one replica are killed, a fresh node still fetches the whole version from the other', async (ctx) => {
  const [origin, replica1, replica2, empty] = ctx.nodes
  await stopNode(origin)
  await stopNode(replica1)
  const fresh = await startNode(ctx, 'fresh')
  // Connected only to a node that holds nothing: the replica is found through the DHT.
  await link(fresh, empty)
  const served = await within('fresh node serving', fresh.replicator.serve(ctx.datanetId), 60_000)
  assert.is(served?.version, 2)
  assert.is(await heldAndVerified(fresh, ctx.blocks), ctx.blocks.length)
  assert.ok(
    fresh.network.libp2p.getConnections().some((c) => c.remotePeer.equals(replica2.network.libp2p.peerId)),
  )
})

test('an unknown Datanet is refused', async (ctx) => {
  const node = ctx.nodes.find((n) => n.name === 'empty')!
  try {
    await node.replicator.serve(999n)
    assert.unreachable()
  } catch (err) {
    assert.ok(hasCode(err, 'UNKNOWN_DATANET'), String(err))
    assert.match((err as Error).message, /999/)
  }
  assert.not.ok(node.replicator.servedDatanets().includes('999'))
})

test('a manifest whose bytes do not match its CID is refused and nothing stored changes', async (ctx) => {
  const node = await startNode(ctx, 'lonely')
  const entries = [await addContribution(node, 9, 70_000)]
  const id = await ctx.registry.createDatanet({ metadataCid: 'bafymeta2', contributionType: 'text' })
  const { cid } = await encodeManifest({
    format: 1,
    datanetId: id.toString(),
    version: 1,
    previous: null,
    contributions: entries,
  })
  await ctx.registry.publishVersion(id, {
    manifestCid: cid,
    contributionsRoot: await contributionsRoot(entries),
    count: 1,
  })
  // A corrupted copy under the manifest's CID, written below Helia (as disk corruption or a bad import would).
  const forged = (
    await encodeManifest({
      format: 1,
      datanetId: id.toString(),
      version: 1,
      previous: null,
      contributions: [],
    })
  ).bytes
  await node.network.blockstore.put(cid, forged)
  const keys = async () => {
    const out: string[] = []
    for await (const { cid: c } of node.network.blockstore.getAll() as AsyncIterable<{ cid: CID }>)
      out.push(c.toString())
    return out.sort()
  }
  const before = await keys()
  try {
    await node.replicator.serve(id)
    assert.unreachable()
  } catch (err) {
    assert.ok(hasCode(err, 'MANIFEST_CID_MISMATCH'), String(err))
  }
  assert.equal(await keys(), before)
  assert.not.ok(await node.network.pins.isPinned(cid))
  assert.not.ok(node.replicator.servedDatanets().includes(id.toString()), 'a refused Datanet is not served')
  const status = await node.replicator.status(id)
  assert.is(status.served, false)
  assert.not.ok(status.complete)
  assert.match(status.lastError ?? '', /does not match/)
})

test.run()
