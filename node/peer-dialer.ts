// Keeps the node connected to at least `min_peers` peers. libp2p 3 does not auto-dial the peers it learns
// about (from bootstrap, identify or DHT queries), so a small network would otherwise stay a star around
// its bootstrap node. Every tick, known-but-unconnected peers are dialed until the target is met. When no
// known peer is left to dial, the node asks the DHT for the peers closest to itself (what a Kademlia
// bootstrap does), with a backoff: kad-dht's own first self-lookup may have run before the bootstrap
// connection existed, and its next refresh comes minutes later (a CI run saw a 5-node testnet stay
// partly unmeshed for 3 minutes).
import type { Libp2p, PeerInfo } from '@libp2p/interface'
import type { Logger } from 'pino'

export const DIAL_INTERVAL_MS = 1_000
export const DIAL_TIMEOUT_MS = 5_000
/** First wait between DHT lookups for more peers; doubles up to the maximum while nothing new turns up. */
export const LOOKUP_MIN_INTERVAL_MS = 2_000
export const LOOKUP_MAX_INTERVAL_MS = 60_000
/** Peers a lookup may hand to the dialer at once. */
const LOOKUP_MAX_PEERS = 64

export class PeerDialer {
  private timer?: NodeJS.Timeout
  private running = false
  private nextLookupAt = 0
  private lookupInterval = LOOKUP_MIN_INTERVAL_MS

  constructor(
    private readonly libp2p: Libp2p,
    private readonly minPeers: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), DIAL_INTERVAL_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private async tick(): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      const connected = new Set(this.libp2p.getPeers().map((p) => p.toString()))
      if (connected.size >= this.minPeers) return
      const self = this.libp2p.peerId.toString()
      let candidates: PeerInfo[] = (await this.libp2p.peerStore.all())
        .filter((p) => p.addresses.length > 0 && !connected.has(p.id.toString()) && p.id.toString() !== self)
        .map((p) => ({ id: p.id, multiaddrs: p.addresses.map((a) => a.multiaddr) }))
      if (candidates.length === 0 && connected.size > 0 && Date.now() >= this.nextLookupAt) {
        candidates = await this.lookup(connected)
      }
      await Promise.allSettled(
        candidates.slice(0, this.minPeers - connected.size).map((p) =>
          this.libp2p.dial(p.id, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).catch((err) => {
            this.log.debug({ peer: p.id.toString(), err: (err as Error).message }, 'dial failed')
          }),
        ),
      )
    } finally {
      this.running = false
    }
  }

  /** Unconnected peers the DHT knows near this node's own id (empty when the node has no DHT). */
  private async lookup(connected: Set<string>): Promise<PeerInfo[]> {
    const found: PeerInfo[] = []
    try {
      const self = this.libp2p.peerId.toMultihash().bytes
      for await (const peer of this.libp2p.peerRouting.getClosestPeers(self, {
        signal: AbortSignal.timeout(DIAL_TIMEOUT_MS),
      })) {
        const id = peer.id.toString()
        if (id !== this.libp2p.peerId.toString() && !connected.has(id) && peer.multiaddrs.length > 0)
          found.push(peer)
        if (found.length >= LOOKUP_MAX_PEERS) break
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'peer lookup failed')
    }
    // Dials go by PeerId: keep the addresses the lookup returned.
    await Promise.allSettled(
      found.map((p) => this.libp2p.peerStore.merge(p.id, { multiaddrs: p.multiaddrs })),
    )
    // Back off while lookups find nothing new; look again soon once they do.
    this.lookupInterval =
      found.length > 0 ? LOOKUP_MIN_INTERVAL_MS : Math.min(this.lookupInterval * 2, LOOKUP_MAX_INTERVAL_MS)
    this.nextLookupAt = Date.now() + this.lookupInterval
    return found
  }
}
