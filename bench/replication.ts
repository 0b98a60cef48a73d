// `npm run bench -- replication [--quick]`: time and MB/s to replicate a 100 MB Datanet (20 MB with
// --quick) from one node to 3 others over loopback, written to bench/results/replication.json.
//
// Real libp2p (TCP + noise + yamux + kad-dht) and Helia (level blockstores in temp dirs, bitswap) nodes in
// this process; the 3 replicas start at once, are connected to the origin and to each other (so bitswap
// can fetch from several providers), and each one is done when DatanetReplicator.replicate has every
// block held, verified against its CID and pinned. Two configurations on the same bytes:
//   - "helia-default": 256 KiB chunks, dag-pb leaves, default yamux and bitswap, and Helia's own
//     recursive pin (its graph walker fetches one block at a time);
//   - "tuned": the knobs below, and the replicator's concurrent walk.
// Baseline in the same run: a plain TCP copy of the same bytes from one sender to 3 receivers at once.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { unixfs } from '@helia/unixfs'
import * as dagCbor from '@ipld/dag-cbor'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { LevelBlockstore } from 'blockstore-level'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { LevelDatastore } from 'datastore-level'
import { createHeliaLight } from 'helia'
import { DHT_PROTOCOL } from '../node/network.ts'
import { encodeManifest, type ManifestEntry } from '../protocols/datanet/manifest.ts'
import { DatanetError } from '../protocols/datanet/registry.ts'
import { DatanetReplicator } from '../protocols/datanet/replication.ts'

const quick = process.argv.includes('--quick')
const MB = 1_000_000
const TOTAL_BYTES = (quick ? 20 : 100) * MB
const CONTRIBUTION_BYTES = 4 * MB
const REPLICAS = 3
/** A variant that has not finished by then is reported as stalled rather than hanging the run. */
const LIMIT_MS = quick ? 60_000 : 180_000

/**
 * The knobs, each kept because it measured faster here:
 * - 1 MiB chunks with raw leaves (UnixFS v1 2025 profile): 4× fewer blocks than 256 KiB, so 4× fewer
 *   wants, block messages, DHT lookups and level writes per byte; raw leaves skip the dag-pb wrapper.
 * - yamux stream window: left at its default. An earlier version of this bench passed the window at the
 *   top level of yamux's options, where it is ignored; passed correctly (streamOptions) a 16 MiB initial
 *   window measured no faster (6.1 vs 7.5 MB/s per replica, within run-to-run noise), so it is not used.
 * - bitswap options left at their defaults: raising the message size to 8 MiB (with more blocks sent
 *   concurrently) stalled transfers here, and 4 MiB messages already carry several 1 MiB blocks.
 * - fetch concurrency 64 (DatanetReplicator default) instead of Helia's one-block-at-a-time pin walk.
 */
export const TUNED = {
  chunkSize: 1024 * 1024,
  rawLeaves: true,
  yamux: {},
  bitswap: {},
  fetchConcurrency: 64,
}

interface Variant {
  name: string
  chunkSize: number
  rawLeaves: boolean
  yamux: Record<string, number>
  bitswap: Record<string, number>
  /** null: Helia's own recursive pin (serial walk) */
  fetchConcurrency: number | null
}

const VARIANTS: Variant[] = [
  {
    name: 'helia-default',
    chunkSize: 256 * 1024,
    rawLeaves: false,
    yamux: {},
    bitswap: {},
    fetchConcurrency: null,
  },
  { name: 'tuned', ...TUNED },
]

async function createNode(dir: string, v: Variant) {
  const blockstore = new LevelBlockstore(join(dir, 'blocks'))
  const datastore = new LevelDatastore(join(dir, 'data'))
  await blockstore.open()
  await datastore.open()
  const helia = withBitswap(
    withLibp2pLight(createHeliaLight({ blockstore, datastore, codecs: [dagCbor] }), {
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux({ streamOptions: v.yamux })],
      peerDiscovery: [],
      services: {
        identify: identify(),
        ping: ping(),
        dht: kadDHT({ protocol: DHT_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper }),
      },
    }),
    v.bitswap,
  )
  await helia.start()
  return helia
}
type BenchNode = Awaited<ReturnType<typeof createNode>>

function contribution(seed: number, length: number): Uint8Array {
  // xorshift: incompressible and distinct per contribution, so no block is shared between them.
  const out = new Uint8Array(length)
  const words = new Uint32Array(out.buffer, 0, length >> 2)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x >>> 0
  }
  return out
}


async function runVariant(v: Variant, datasets: Uint8Array[]) {
  const root = await mkdtemp(join(tmpdir(), `ol-bench-repl-${v.name}-`))
  const nodes: BenchNode[] = []
  try {
    for (let i = 0; i <= REPLICAS; i++) nodes.push(await createNode(join(root, String(i)), v))
    const [origin, ...replicas] = nodes
    const fs = unixfs(origin)
    const entries: ManifestEntry[] = []
    const importStart = performance.now()
    for (const [i, bytes] of datasets.entries()) {
      const cid = await fs.addBytes(bytes, {
        rawLeaves: v.rawLeaves,
        cidVersion: 1,
        chunker: fixedSize({ chunkSize: v.chunkSize }),
      } as never)
      entries.push({
        contributor: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        contentCid: cid,
        bytes: bytes.length,
        license: 'CC-BY-4.0',
        createdAt: 1_700_000_000 + i,
        signature: new Uint8Array(65),
      })
    }
    const importMs = performance.now() - importStart
    const manifest = await encodeManifest({
      format: 1,
      datanetId: '1',
      version: 1,
      previous: null,
      contributions: entries,
    })
    await origin.blockstore.put(manifest.cid, manifest.bytes)

    for (const [i, a] of nodes.entries())
      for (const b of nodes.slice(i + 1)) await a.libp2p.dial(b.libp2p.getMultiaddrs())

    const noRegistry = {
      latestVersion: async () => {
        throw new DatanetError({ code: 'NO_VERSIONS' }, 'no chain in this benchmark')
      },
      getVersion: async () => {
        throw new DatanetError({ code: 'UNKNOWN_VERSION' }, 'no chain in this benchmark')
      },
    }
    const start = performance.now()
    const perReplicaMs = await Promise.all(
      replicas.map(async (node) => {
        if (v.fetchConcurrency === null) {
          for await (const _ of node.pins.add(manifest.cid, { signal: AbortSignal.timeout(LIMIT_MS) })) {
            // Helia's recursive pin fetches and stores every block
          }
        } else {
          const replicator = new DatanetReplicator(
            { helia: node, registry: noRegistry, peerCount: () => node.libp2p.getConnections().length },
            { fetchConcurrency: v.fetchConcurrency },
          )
          replicator.start()
          const result = await replicator.replicate(manifest.cid, { signal: AbortSignal.timeout(LIMIT_MS) })
          await replicator.stop()
          if (result.bytes < TOTAL_BYTES)
            throw new Error(`replica holds ${result.bytes} bytes, expected at least ${TOTAL_BYTES}`)
        }
        return performance.now() - start
      }),
    )
    const ms = performance.now() - start
    return {
      name: v.name,
      chunkSize: v.chunkSize,
      rawLeaves: v.rawLeaves,
      yamux: v.yamux,
      bitswap: v.bitswap,
      fetch:
        v.fetchConcurrency === null
          ? 'helia pins.add (serial walk)'
          : `DatanetReplicator, ${v.fetchConcurrency} blocks in flight`,
      importMs: Math.round(importMs),
      seconds: +(ms / 1000).toFixed(3),
      perReplicaSeconds: perReplicaMs.map((t) => +(t / 1000).toFixed(3)),
      mbPerSecPerReplica: +(TOTAL_BYTES / MB / (ms / 1000)).toFixed(1),
      aggregateMbPerSec: +((REPLICAS * TOTAL_BYTES) / MB / (ms / 1000)).toFixed(1),
      manifestCid: manifest.cid.toString(),
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    await rm(root, { recursive: true, force: true })
  }
}

/** One sender, 3 receivers at once, over loopback TCP: the same bytes, no framing, hashing or storage. */
async function plainTcpCopy(datasets: Uint8Array[]) {
  const total = datasets.reduce((n, d) => n + d.length, 0)
  const server = createServer((socket) => {
    ;(async () => {
      for (const d of datasets) {
        if (!socket.write(d)) await new Promise((r) => socket.once('drain', r))
      }
      socket.end()
    })()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  const start = performance.now()
  const received = await Promise.all(
    Array.from(
      { length: REPLICAS },
      () =>
        new Promise<number>((resolve, reject) => {
          let n = 0
          const socket = tcpConnect(port, '127.0.0.1')
          socket.on('data', (chunk) => {
            n += chunk.length
          })
          socket.on('end', () => resolve(n))
          socket.on('error', reject)
        }),
    ),
  )
  const ms = performance.now() - start
  server.close()
  if (received.some((n) => n !== total)) throw new Error(`TCP copy received ${received}, expected ${total}`)
  return {
    seconds: +(ms / 1000).toFixed(3),
    mbPerSecPerReceiver: +(total / MB / (ms / 1000)).toFixed(1),
    aggregateMbPerSec: +((REPLICAS * total) / MB / (ms / 1000)).toFixed(1),
  }
}

const datasets = Array.from({ length: Math.ceil(TOTAL_BYTES / CONTRIBUTION_BYTES) }, (_, i) =>
  contribution(i + 1, Math.min(CONTRIBUTION_BYTES, TOTAL_BYTES - i * CONTRIBUTION_BYTES)),
)
const tcpResult = await plainTcpCopy(datasets)
const variants = []
for (const v of VARIANTS) {
  try {
    variants.push(await runVariant(v, datasets))
  } catch (err) {
    variants.push({
      name: v.name,
      stalled: true,
      error: (err as Error).message,
      mbPerSecPerReplica: Number.NaN,
    })
  }
}
const tuned = variants.find((v) => v.name === 'tuned')!
const untuned = variants.find((v) => v.name === 'helia-default')!
const result = {
  benchmark: 'replication',
  quick,
  datanetMB: TOTAL_BYTES / MB,
  contributions: datasets.length,
  replicas: REPLICAS,
  node: process.version,
  cpus: (await import('node:os')).cpus().length,
  replication: variants,
  baseline: { plainTcpCopy: tcpResult },
  summary: {
    tunedMbPerSecPerReplica: tuned.mbPerSecPerReplica,
    heliaDefaultMbPerSecPerReplica: untuned.mbPerSecPerReplica,
    plainTcpMbPerSecPerReceiver: tcpResult.mbPerSecPerReceiver,
    tunedToTcpRatio: +(tuned.mbPerSecPerReplica / tcpResult.mbPerSecPerReceiver).toFixed(3),
    tunedToHeliaDefaultSpeedup: +(tuned.mbPerSecPerReplica / untuned.mbPerSecPerReplica).toFixed(2),
  },
}
console.log(JSON.stringify(result, null, 2))
await mkdir('results', { recursive: true })
await writeFile('results/replication.json', `${JSON.stringify(result, null, 2)}\n`)
process.exit(0)
