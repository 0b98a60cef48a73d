// A hostile network participant for tests: a real libp2p node (tcp, noise, yamux, gossipsub) run inside
// the test process, that floods gossip topics with junk, forged and replayed messages and abuses stream
// protocols, always within a bounded time and message count so a test using it ends by itself.
import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { createLibp2p } from 'libp2p'

export async function createHostilePeer() {
  const libp2p = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictNoSign,
        // The network's message id (a hash of the payload), so our replays look like the originals.
        msgIdFn: (msg) => createHash('sha256').update(msg.data).digest().subarray(0, 20),
        allowPublishToZeroTopicPeers: true,
        // Send every message to every peer, whatever they think of us.
        floodPublish: true,
        emitSelf: false,
      }),
    },
  })
  return new HostilePeer(libp2p)
}

type HostileLibp2p = Awaited<
  ReturnType<typeof createLibp2p<{ pubsub: ReturnType<ReturnType<typeof gossipsub>> }>>
>

export class HostilePeer {
  /** Honest messages seen per topic (the first few), to replay later. */
  readonly captured = new Map<string, Uint8Array[]>()

  constructor(readonly libp2p: HostileLibp2p) {
    libp2p.services.pubsub.addEventListener('message', (evt) => {
      const list = this.captured.get(evt.detail.topic) ?? []
      if (list.length < 16) list.push(evt.detail.data)
      this.captured.set(evt.detail.topic, list)
    })
  }

  get peerId(): string {
    return this.libp2p.peerId.toString()
  }

  async dial(addr: string): Promise<void> {
    await this.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
  }

  subscribe(topics: string[]): void {
    for (const topic of topics) this.libp2p.services.pubsub.subscribe(topic)
  }

  /** Publishes `make(i)` on `topic` until `count` messages or `durationMs` have passed; returns how many
   * were handed to gossipsub. Yields to the event loop between messages so the flood is paced by I/O. */
  async flood(
    topic: string,
    make: (i: number) => Uint8Array,
    opts: { count: number; durationMs: number },
  ): Promise<number> {
    const deadline = Date.now() + opts.durationMs
    let sent = 0
    for (let i = 0; i < opts.count && Date.now() < deadline; i++) {
      try {
        await this.libp2p.services.pubsub.publish(topic, make(i))
        sent++
      } catch {
        // duplicates and "no peers" are expected while flooding
      }
      if (i % 50 === 49) await new Promise((r) => setImmediate(r))
    }
    return sent
  }

  /** Opens a stream for `protocol` on the peer at `addr` and writes length-prefixed frames. With
   * `read: false` it never reads the answer (a peer that stops reading); the stream is returned open. */
  async openStream(addr: string, protocol: string, frames: Uint8Array[]): Promise<Stream> {
    const stream = await this.libp2p.dialProtocol(multiaddr(addr), protocol, {
      signal: AbortSignal.timeout(10_000),
    })
    for (const frame of frames) {
      if (!stream.send(lp.encode.single(frame))) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
    }
    return stream
  }

  async stop(): Promise<void> {
    await this.libp2p.stop()
  }
}
