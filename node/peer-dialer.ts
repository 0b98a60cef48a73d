// Keeps the node connected to at least `min_peers` peers. libp2p 3 does not auto-dial the peers it learns
// about (from bootstrap, identify or DHT queries), so a small network would otherwise stay a star around
// its bootstrap node. Every tick, known-but-unconnected peers are dialed until the target is met.
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from 'pino'

export const DIAL_INTERVAL_MS = 1_000
export const DIAL_TIMEOUT_MS = 5_000

export class PeerDialer {
  private timer?: NodeJS.Timeout
  private running = false

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
      const candidates = (await this.libp2p.peerStore.all()).filter(
        (p) => p.addresses.length > 0 && !connected.has(p.id.toString()) && p.id.toString() !== self,
      )
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
}
