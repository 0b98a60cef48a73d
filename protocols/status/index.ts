// Node status gossip: every node periodically publishes a NodeStatus signed (EIP-712) by its account, so
// each peer can show which account, software version and API endpoint stand behind a PeerId. The binding
// is a claim by the account holder; the on-chain PeerId binding (Staking) is what stake relies on.
import type { PeerId, Startable } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  type Address,
  bytesToHex,
  getAddress,
  hexToBytes,
  recoverTypedDataAddress,
  type TypedDataDomain,
} from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { type GossipPublisher, type GossipTopic, GossipValidationError } from '../common/gossip.ts'
import { NodeStatus } from './pb/status.ts'

export const STATUS_TOPIC = 'openledger/status/1'
export const STATUS_MAX_BYTES = 1024
/** Statuses dated further ahead than this are ignored (clock skew), and older than this are stale. */
export const STATUS_MAX_SKEW_MS = 60_000
export const STATUS_MAX_AGE_MS = 10 * 60_000

export const nodeStatusTypes = {
  NodeStatus: [
    { name: 'peerId', type: 'string' },
    { name: 'account', type: 'address' },
    { name: 'version', type: 'string' },
    { name: 'apiUrl', type: 'string' },
    { name: 'timestamp', type: 'uint64' },
  ],
} as const

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
  signer: LocalAccount
  domain: TypedDataDomain
  version: string
  apiUrl: string
  intervalMs: number
  publisher: GossipPublisher
  onError?: (err: unknown) => void
  now?: () => number
}

function reject(code: string, message: string): never {
  throw new GossipValidationError({ code, action: 'REJECT' }, message)
}
function ignore(code: string, message: string): never {
  throw new GossipValidationError({ code, action: 'IGNORE' }, message)
}

export class StatusService implements Startable {
  private readonly init: StatusServiceInit
  private readonly now: () => number
  private readonly known = new Map<string, PeerStatus>()
  private timer?: NodeJS.Timeout
  published = 0

  constructor(init: StatusServiceInit) {
    this.init = init
    this.now = init.now ?? Date.now
  }

  async start(): Promise<void> {
    const tick = () => {
      this.announce().catch((err) => this.init.onError?.(err))
    }
    tick()
    this.timer = setInterval(tick, this.init.intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
  }

  peers(): PeerStatus[] {
    return [...this.known.values()]
  }

  get(peerId: string): PeerStatus | undefined {
    return this.known.get(peerId)
  }

  async sign(timestamp = this.now()): Promise<Uint8Array> {
    const { peerId, signer, domain, version, apiUrl } = this.init
    const message = {
      peerId: peerId.toString(),
      account: signer.address,
      version,
      apiUrl,
      timestamp: BigInt(timestamp),
    }
    const signature = await signer.signTypedData({
      domain,
      types: nodeStatusTypes,
      primaryType: 'NodeStatus',
      message,
    })
    return NodeStatus.encode({
      ...message,
      account: Uint8Array.from(hexToBytes(signer.address)),
      signature: Uint8Array.from(hexToBytes(signature)),
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
      decode: (bytes) => NodeStatus.decode(bytes),
      validate: (status) => this.validate(status),
      handle: async (status) => {
        this.known.set(status.peerId, {
          peerId: status.peerId,
          account: getAddress(bytesToHex(status.account)),
          version: status.version,
          apiUrl: status.apiUrl,
          timestamp: Number(status.timestamp),
          receivedAt: this.now(),
        })
      },
    }
  }

  async validate(status: NodeStatus): Promise<void> {
    if (status.account.length !== 20) reject('STATUS_BAD_ACCOUNT', 'account must be 20 bytes')
    if (status.signature.length !== 65) reject('STATUS_BAD_SIGNATURE', 'signature must be 65 bytes')
    if (status.version.length > 64 || status.apiUrl.length > 256)
      reject('STATUS_FIELD_TOO_LONG', 'version or apiUrl too long')
    try {
      peerIdFromString(status.peerId)
    } catch {
      reject('STATUS_BAD_PEER_ID', 'peerId does not parse')
    }
    const timestamp = Number(status.timestamp)
    const now = this.now()
    if (timestamp > now + STATUS_MAX_SKEW_MS) ignore('STATUS_FROM_FUTURE', 'status is dated in the future')
    if (timestamp < now - STATUS_MAX_AGE_MS) ignore('STATUS_STALE', 'status is too old')
    const previous = this.known.get(status.peerId)
    if (previous !== undefined && previous.timestamp >= timestamp)
      ignore('STATUS_NOT_NEWER', 'an equal or newer status is known')
    // Signature last: it is the expensive check.
    const account = getAddress(bytesToHex(status.account))
    const signer = await recoverTypedDataAddress({
      domain: this.init.domain,
      types: nodeStatusTypes,
      primaryType: 'NodeStatus',
      message: {
        peerId: status.peerId,
        account,
        version: status.version,
        apiUrl: status.apiUrl,
        timestamp: status.timestamp,
      },
      signature: bytesToHex(status.signature),
    }).catch(() => reject('STATUS_BAD_SIGNATURE', 'signature does not recover'))
    if (signer !== account) reject('STATUS_BAD_SIGNATURE', 'signature is not by the stated account')
  }
}
