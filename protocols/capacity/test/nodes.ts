// Minimal real libp2p nodes for the capacity tests: TCP on a free loopback port, noise, yamux, identify,
// ping (kad-dht needs it) and the private network's kad-dht (its own protocol id, loopback addresses
// kept), as node/network.ts has them, without Helia, gossip or storage, which capacity does not use.
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { type KadDHT, kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2p } from 'libp2p'
import { DHT_PROTOCOL } from '../../../node/network.ts'

export type TestLibp2p = Libp2p<{ identify: unknown; ping: unknown; dht: KadDHT }>

export async function startLibp2p(privateKey?: PrivateKey): Promise<TestLibp2p> {
  return createLibp2p({
    privateKey: privateKey ?? (await generateKeyPair('Ed25519')),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({ protocol: DHT_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper }),
    },
  }) as Promise<TestLibp2p>
}

/** Stops a node, never throwing (tests stop every node in `after`, failures or not). */
export async function stopQuietly(node: { stop(): void | Promise<void> } | undefined): Promise<void> {
  if (node === undefined) return
  const stopped = Promise.resolve().then(() => node.stop())
  await Promise.race([stopped, new Promise((r) => setTimeout(r, 10_000).unref())]).catch(() => {})
}
