// libp2p + Helia assembly for a private OpenLedger network. Helia is composed by hand (no public
// bootstrap list, delegated routing, autoTLS, UPnP or mDNS): the network is our own DHT and gossip mesh.
import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import * as dagCbor from '@ipld/dag-cbor'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { LevelBlockstore } from 'blockstore-level'
import { LevelDatastore } from 'datastore-level'
import { createHeliaLight } from 'helia'
import type { NodeConfig } from './config.ts'
import { GOSSIP_SCORE_THRESHOLDS, gossipScoreParams } from './gossip-scoring.ts'
import type { NodeDatabase } from './storage/database.ts'

export const DHT_PROTOCOL = '/openledger/kad/1.0.0'
/** Gossip payloads carry their own signatures and are bounded per topic; this is the transport cap. */
export const GOSSIP_MAX_INBOUND_BYTES = 1 << 20

export function gossipMessageId(data: Uint8Array): Uint8Array {
  // Content-addressed ids: the same payload relayed by different peers is the same message.
  return createHash('sha256').update(data).digest().subarray(0, 20)
}

export async function createNetwork(
  config: NodeConfig,
  privateKey: PrivateKey,
  db: NodeDatabase,
  userAgent: string,
) {
  const blockstore = new LevelBlockstore(db.blocks)
  const datastore = new LevelDatastore(db.datastore)
  await blockstore.open()
  await datastore.open()

  const services = {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({
      protocol: DHT_PROTOCOL,
      clientMode: false,
      // Private networks (and loopback testnets) live on private addresses: keep them.
      peerInfoMapper: passthroughMapper,
    }),
    pubsub: gossipsub({
      globalSignaturePolicy: StrictNoSign,
      msgIdFn: (msg) => gossipMessageId(msg.data),
      fastMsgIdFn: (msg) =>
        createHash('sha1')
          .update(msg.data ?? new Uint8Array())
          .digest('base64'),
      // node/gossip.ts queues, validates and reports each message (see there for why).
      asyncValidation: true,
      emitSelf: false,
      // A young or small network may have no subscribed peer yet; publishers retry on their own schedule.
      allowPublishToZeroTopicPeers: true,
      maxInboundDataLength: GOSSIP_MAX_INBOUND_BYTES,
      // Spec mesh degrees (D=6); in a network smaller than D every peer simply joins the mesh.
      D: 6,
      Dlo: 4,
      Dhi: 12,
      // Explicit scoring of our topics: a peer that sends REJECTed messages goes negative (gossip-scoring.ts).
      scoreParams: gossipScoreParams(),
      scoreThresholds: GOSSIP_SCORE_THRESHOLDS,
    }),
  }

  const helia = withBitswap(
    // dag-cbor for Datanet manifests (their links make `pins.add` fetch the whole version).
    withLibp2pLight(createHeliaLight({ blockstore, datastore, codecs: [dagCbor] }), {
      privateKey,
      nodeInfo: { userAgent },
      addresses: {
        listen: [`/ip4/${config.listen_host}/tcp/${config.listen_port}`],
        announce: config.announce,
      },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      // Default yamux windows: a 16 MiB initial window measured no faster in bench/replication.ts.
      // A client that opens several infer streams right after connecting must not have the connection
      // reset for it (yamux allows 10 streams before the upgrade completes by default).
      streamMuxers: [yamux({ maxEarlyStreams: 64 })],
      connectionManager: { maxConnections: config.max_connections },
      peerDiscovery: config.bootstrap.length > 0 ? [bootstrap({ list: config.bootstrap, timeout: 100 })] : [],
      services,
    }),
  )
  return helia
}

export type Network = Awaited<ReturnType<typeof createNetwork>>
