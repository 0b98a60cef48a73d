// Node status gossip: every node periodically publishes a NodeStatus signed by its account (EIP-712) and
// by its libp2p key, so each peer can show which account, software version and API endpoint stand behind
// a PeerId. The account binding is a claim by the account holder; the on-chain PeerId binding (Staking) is
// what stake relies on. The map of known statuses is bounded in count and age.
import type { PeerId, PrivateKey, Startable } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Address, type Hex, hexToBytes, type TypedDataDomain, zeroAddress } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import {
  type GossipPublisher,
  type GossipTopic,
  GossipValidationError,
  gossipReject,
} from '../common/gossip.ts'
import { checksumAddress } from '../common/signatures.ts'
import type { TypedDataHasher } from '../common/typed-data-hasher.ts'
import {
  STATUS_MAX_AGE_MS,
  STATUS_MAX_BYTES,
  STATUS_MAX_PEERS,
  STATUS_PRUNE_INTERVAL_MS,
  STATUS_TOPIC,
} from './constants.ts'
import { NodeStatus } from './pb/status.ts'
import { signStatus, statusHasher } from './signing.ts'
import { validateStatus } from './validation.ts'

export interface PeerStatus {
  peerId: string
  account: Address
  version: string
  apiUrl: string
  timestamp: number
  receivedAt: number
}

export interface StatusServiceInit {
  peerId: PeerId
  /** The node's libp2p private key (the key of `peerId`): signs the status so it binds the PeerId. */
  peerKey: PrivateKey
  signer: LocalAccount
  domain: TypedDataDomain
  version: string
  apiUrl: string
  intervalMs: number
  publisher: GossipPublisher
  onError?: (err: unknown) => void
  now?: () => number
  /** Cap on the map of known statuses (default STATUS_MAX_PEERS). */
  maxPeers?: number
  /** Called once per peer (up to a bound) whose status names another network than ours. */
  onOtherNetwork?: (peerId: string, chainId: bigint, ledger: Address) => void
}

/** Peers already reported to `onOtherNetwork` (bounded: a flood of fresh PeerIds cannot grow it). */
const MAX_OTHER_NETWORK_REPORTS = 64

export class StatusService implements Startable {
  private readonly init: StatusServiceInit
  private readonly now: () => number
  private readonly hasher: TypedDataHasher
  private readonly maxPeers: number
  private readonly network: { chainId: bigint; ledger: Uint8Array }
  private readonly otherNetworkReports = new Set<string>()
  // Insertion order = order of last update, so the first entry is the least recently updated.
  private readonly known = new Map<string, PeerStatus>()
  private timer?: NodeJS.Timeout
  private pruneTimer?: NodeJS.Timeout
  published = 0

  constructor(init: StatusServiceInit) {
    if (!peerIdFromPrivateKey(init.peerKey).equals(init.peerId))
      throw new RangeError('peerKey is not the key of peerId')
    this.init = init
    this.now = init.now ?? Date.now
    this.hasher = statusHasher(init.domain)
    this.network = {
      chainId: BigInt(init.domain.chainId ?? 0),
      ledger: hexToBytes((init.domain.verifyingContract ?? zeroAddress) as Hex),
    }
    this.maxPeers = init.maxPeers ?? STATUS_MAX_PEERS
  }

  async start(): Promise<void> {
    const tick = () => {
      this.announce().catch((err) => this.init.onError?.(err))
    }
    tick()
    this.timer = setInterval(tick, this.init.intervalMs)
    this.timer.unref()
    this.pruneTimer = setInterval(() => this.prune(), STATUS_PRUNE_INTERVAL_MS)
    this.pruneTimer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    clearInterval(this.pruneTimer)
  }

  peers(): PeerStatus[] {
    this.prune()
    return [...this.known.values()]
  }

  get(peerId: string): PeerStatus | undefined {
    const status = this.known.get(peerId)
    if (status === undefined || this.isStale(status)) return undefined
    return status
  }

  get size(): number {
    return this.known.size
  }

  async sign(timestamp = this.now()): Promise<Uint8Array> {
    return signStatus({
      peerKey: this.init.peerKey,
      signer: this.init.signer,
      domain: this.init.domain,
      hasher: this.hasher,
      peerId: this.init.peerId.toString(),
      version: this.init.version,
      apiUrl: this.init.apiUrl,
      timestamp,
    })
  }

  /** Publishes a fresh status; returns how many peers it was sent to (0 before the mesh forms). */
  async announce(): Promise<number> {
    const sent = await this.init.publisher.publish(STATUS_TOPIC, await this.sign())
    this.published++
    return sent
  }

  topic(): GossipTopic<NodeStatus> {
    return {
      topic: STATUS_TOPIC,
      maxBytes: STATUS_MAX_BYTES,
      // One status per peer per interval: a short queue, newest first, the oldest dropped.
      queue: { order: 'LIFO', maxLength: 256, drop: 'oldest', concurrency: 2 },
      handlerQueue: { order: 'FIFO', maxLength: 256, drop: 'oldest', concurrency: 1 },
      decode: (bytes) => {
        if (bytes.length > STATUS_MAX_BYTES)
          gossipReject('STATUS_OVERSIZED', `status is ${bytes.length} bytes`)
        return NodeStatus.decode(bytes)
      },
      validate: (status) => this.validate(status),
      handle: async (status) => this.record(status),
    }
  }

  async validate(status: NodeStatus): Promise<void> {
    try {
      await validateStatus(status, {
        hasher: this.hasher,
        network: this.network,
        now: this.now,
        knownTimestamp: (peerId) => this.get(peerId)?.timestamp,
      })
    } catch (err) {
      if (
        err instanceof GossipValidationError &&
        err.code === 'STATUS_OTHER_NETWORK' &&
        this.otherNetworkReports.size < MAX_OTHER_NETWORK_REPORTS &&
        !this.otherNetworkReports.has(status.peerId)
      ) {
        this.otherNetworkReports.add(status.peerId)
        this.init.onOtherNetwork?.(status.peerId, status.chainId, checksumAddress(status.ledger))
      }
      throw err
    }
  }

  /** Stores a validated status unless an equal or newer one for its PeerId arrived meanwhile. */
  record(status: NodeStatus): void {
    const timestamp = Number(status.timestamp)
    const previous = this.known.get(status.peerId)
    if (previous !== undefined && previous.timestamp >= timestamp) return
    const entry: PeerStatus = {
      peerId: status.peerId,
      account: checksumAddress(status.account),
      version: status.version,
      apiUrl: status.apiUrl,
      timestamp,
      receivedAt: this.now(),
    }
    if (this.isStale(entry)) return
    this.known.delete(status.peerId)
    this.prune()
    while (this.known.size >= this.maxPeers) {
      const oldest = this.known.keys().next().value
      if (oldest === undefined) break
      this.known.delete(oldest)
    }
    this.known.set(status.peerId, entry)
  }

  /** Evicts every status older than STATUS_MAX_AGE_MS. */
  prune(): void {
    for (const [peerId, status] of this.known) if (this.isStale(status)) this.known.delete(peerId)
  }

  private isStale(status: PeerStatus): boolean {
    return status.timestamp < this.now() - STATUS_MAX_AGE_MS
  }
}
