// One replica (or one plain-TCP receiver) of `npm run bench -- replication`, in its own process, as a
// node runs in deployment. bench/replication.ts spawns it with one JSON argument (ReplicaArgs) and talks
// to it in JSON lines: the child prints {type:'ready'}; the parent answers {type:'dial', addrs} (helia
// mode) and the child prints {type:'dialed'}; then {type:'go', ...} starts the transfer and the child
// prints {type:'done', ms, bytes} or {type:'error', message}; {type:'exit'} (or stdin closing, e.g. the
// parent died) stops it. createNode is shared with the parent so origin and replicas use one config.

import { connect as tcpConnect } from 'node:net'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import * as dagCbor from '@ipld/dag-cbor'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { PeerId } from '@libp2p/interface'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { LevelBlockstore } from 'blockstore-level'
import { LevelDatastore } from 'datastore-level'
import { createHeliaLight } from 'helia'
import { CID } from 'multiformats/cid'
import { DHT_PROTOCOL } from '../node/network.ts'
import { BlockSync } from '../protocols/datanet/block-sync.ts'
import { DatanetError } from '../protocols/datanet/registry.ts'
import { DatanetReplicator } from '../protocols/datanet/replicator.ts'

export interface Variant {
  name: string
  chunkSize: number
  rawLeaves: boolean
  yamux: Record<string, number>
  bitswap: Record<string, number>
  /** null: Helia's own recursive pin (serial walk) */
  fetchConcurrency: number | null
  /** true: every node serves /openledger/datanet-blocks and replicas sync the whole version over it first */
  blockSync?: boolean
}

export type ReplicaArgs =
  | { mode: 'helia'; variant: Variant; dir: string; limitMs: number; expectBytes: number }
  | { mode: 'tcp'; expectBytes: number }

export async function createNode(dir: string, v: Variant) {
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
  const sync = new BlockSync({
    libp2p: helia.libp2p,
    blockstore: helia.blockstore,
    getCodec: (code) => helia.getCodec(code),
    logger: process.env.BENCH_TRACE
      ? { debug: (msg) => process.stderr.write(`[block sync server] ${msg}\n`) }
      : undefined,
  })
  if (v.blockSync) await sync.start()
  return Object.assign(helia, { blockSync: sync })
}
export type BenchNode = Awaited<ReturnType<typeof createNode>>

const noRegistry = {
  latestVersion: async () => {
    throw new DatanetError({ code: 'NO_VERSIONS' }, 'no chain in this benchmark')
  },
  getVersion: async () => {
    throw new DatanetError({ code: 'UNKNOWN_VERSION' }, 'no chain in this benchmark')
  },
}

/** Fetches everything under manifestCid into `node`; returns the bytes held (null: Helia's pin, not counted). */
export async function replicateInto(node: BenchNode, v: Variant, manifestCid: CID, signal: AbortSignal) {
  if (v.fetchConcurrency === null) {
    for await (const _ of node.pins.add(manifestCid, { signal })) {
      // Helia's recursive pin fetches and stores every block
    }
    return null
  }
  const replicator = new DatanetReplicator(
    {
      helia: node,
      registry: noRegistry,
      peerCount: () => node.libp2p.getConnections().length,
      // BENCH_TRACE=1: the replicator's debug lines on stderr, with ms since 'go'.
      logger: process.env.BENCH_TRACE ? traceLogger(performance.now()) : undefined,
      // Connected peers in dial order (the origin first): no provider records are published in this bench.
      blockSync: v.blockSync
        ? {
            syncDag: (peer, root, opts) => node.blockSync.syncDag(peer as PeerId, root, opts),
            peers: () => node.blockSync.connectedPeers(),
          }
        : undefined,
    },
    { fetchConcurrency: v.fetchConcurrency },
  )
  replicator.start()
  try {
    return (await replicator.replicate(manifestCid, { signal })).bytes
  } finally {
    await replicator.stop()
  }
}

function traceLogger(start: number) {
  const line = (msg: string) =>
    process.stderr.write(`[replica +${(performance.now() - start).toFixed(0)} ms] ${msg}\n`)
  return { info: line, warn: line, debug: line }
}

function send(msg: Record<string, unknown>) {
  process.stdout.write(`${JSON.stringify(msg)}\n`)
}

async function main(args: ReplicaArgs) {
  const node = args.mode === 'helia' ? await createNode(args.dir, args.variant) : null
  let exiting = false
  const exit = async (code: number) => {
    if (exiting) return
    exiting = true
    await node?.stop().catch(() => {})
    process.exit(code)
  }
  const lines = createInterface({ input: process.stdin })
  lines.on('close', () => void exit(0))
  lines.on('line', (line) => {
    const msg = JSON.parse(line) as { type: string; addrs?: string[][]; manifestCid?: string; port?: number }
    if (msg.type === 'exit') void exit(0)
    else if (msg.type === 'dial' && node) {
      ;(async () => {
        for (const addrs of msg.addrs ?? []) await node.libp2p.dial(addrs.map((a) => multiaddr(a)))
        send({ type: 'dialed' })
      })().catch((err) => send({ type: 'error', message: (err as Error).message }))
    } else if (msg.type === 'go') {
      const start = performance.now()
      const run =
        args.mode === 'helia'
          ? replicateInto(node!, args.variant, CID.parse(msg.manifestCid!), AbortSignal.timeout(args.limitMs))
          : tcpReceive(msg.port!)
      run
        .then((bytes) => {
          if (bytes !== null && bytes < args.expectBytes)
            throw new Error(`holds ${bytes} bytes, expected at least ${args.expectBytes}`)
          send({ type: 'done', ms: performance.now() - start, bytes })
        })
        .catch((err) => send({ type: 'error', message: (err as Error).message }))
    }
  })
  send({ type: 'ready', addrs: node?.libp2p.getMultiaddrs().map((a) => a.toString()) ?? [] })
}

function tcpReceive(port: number) {
  return new Promise<number>((resolve, reject) => {
    let n = 0
    const socket = tcpConnect(port, '127.0.0.1')
    socket.on('data', (chunk) => {
      n += chunk.length
    })
    socket.on('end', () => resolve(n))
    socket.on('error', reject)
  })
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main(JSON.parse(process.argv[2]!) as ReplicaArgs)
}
