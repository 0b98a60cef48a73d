// The contributions gossip topic: one table entry (decoder, validator, handler, queue policies). Checks run
// cheapest first: decode with field bounds (size, lengths, CID, ids), the age window, the EIP-712 digest
// (hash-wasm), the seen-cache of signed messages (a replay, however it is re-encoded, stops here), native
// signature recovery, and last the chain read "does this Datanet exist", served from a per-block cache.
// The IGNORE / REJECT of each case is tabled in protocols/datanet/README.md.
import type { PeerId } from '@libp2p/interface'
import type { TypedDataDomain } from 'viem'
import { ChainReadCache } from '../common/chain-cache.ts'
import {
  type GossipQueuePolicy,
  type GossipTopic,
  GossipValidationError,
  gossipIgnore,
  gossipReject,
} from '../common/gossip.ts'
import { SeenCache } from '../common/seen-cache.ts'
import { recoverDigestSignerBytes } from '../common/signatures.ts'
import {
  CONTRIBUTION_MAX_BYTES,
  CONTRIBUTIONS_TOPIC,
  type Contribution,
  ContributionFormatError,
  contributionHasher,
  contributionTypedMessage,
  decodeContribution,
  MAX_CLOCK_SKEW_S,
} from './contribution.ts'

/**
 * Contributions are gossiped once, when made; one older than this is not news (a curator that was away
 * learns it from the contributor's node, not from a replay), so it is IGNOREd. An hour covers slow
 * propagation and modest clock drift, and bounds how long the seen-cache must remember a message.
 */
export const CONTRIBUTION_MAX_AGE_S = 3600
/** Signed messages remembered for replay detection: the age window plus the skew, at most this many. */
export const CONTRIBUTION_SEEN_MAX = 65_536
export const CONTRIBUTION_SEEN_TTL_MS = (CONTRIBUTION_MAX_AGE_S + MAX_CLOCK_SKEW_S) * 1000
/** Datanet ids whose existence is cached per chain block. */
export const DATANET_EXISTS_CACHE_MAX = 4096
export const CHAIN_HEAD_POLL_MS = 1000

/** Validation: newest first, the oldest dropped under a flood; a few at once so chain reads overlap. */
export const CONTRIBUTIONS_QUEUE: GossipQueuePolicy = {
  order: 'LIFO',
  maxLength: 1024,
  drop: 'oldest',
  concurrency: 8,
}
/** Accepted contributions waiting for the curator: arrival order, bounded. */
export const CONTRIBUTIONS_HANDLER_QUEUE: GossipQueuePolicy = {
  order: 'FIFO',
  maxLength: 512,
  drop: 'oldest',
  concurrency: 4,
}

export interface ContributionsTopicInit {
  domain: TypedDataDomain
  /** Chain read: does this Datanet exist? (cached per block here) */
  datanetExists(id: bigint, signal?: AbortSignal): Promise<boolean>
  /** The chain head, asked at most once per `headPollMs`; a new head empties the read cache. */
  chainHead(signal?: AbortSignal): Promise<bigint>
  headPollMs?: number
  /** Wall clock in milliseconds. */
  now?: () => number
  /** Runs for each accepted contribution (the curator's receive). */
  onContribution(c: Contribution, from: PeerId, signal?: AbortSignal): Promise<void>
  seenMaxEntries?: number
}

export interface ContributionsTopic extends GossipTopic<Contribution> {
  /** The per-block cache of Datanet existence (for tests and benches). */
  readonly datanets: ChainReadCache<boolean>
  /** Signed messages already judged (for tests and benches). */
  readonly seen: SeenCache<'accept' | 'reject'>
}

function seenKey(digest: Uint8Array, signature: string): string {
  return `${Buffer.from(digest).toString('base64')}${signature}`
}

export function contributionsTopic(init: ContributionsTopicInit): ContributionsTopic {
  const now = init.now ?? Date.now
  const hasher = contributionHasher(init.domain)
  const seen = new SeenCache<'accept' | 'reject'>({
    maxEntries: init.seenMaxEntries ?? CONTRIBUTION_SEEN_MAX,
    ttlMs: CONTRIBUTION_SEEN_TTL_MS,
    now,
  })
  const datanets = new ChainReadCache<boolean>({
    head: init.chainHead,
    headPollMs: init.headPollMs ?? CHAIN_HEAD_POLL_MS,
    maxEntries: DATANET_EXISTS_CACHE_MAX,
    now,
  })

  async function validate(c: Contribution, _from: PeerId, signal?: AbortSignal): Promise<void> {
    const nowS = Math.floor(now() / 1000)
    if (c.createdAt > nowS + MAX_CLOCK_SKEW_S)
      gossipIgnore('CONTRIBUTION_FROM_FUTURE', 'contribution is dated in the future')
    if (c.createdAt < nowS - CONTRIBUTION_MAX_AGE_S)
      gossipIgnore('CONTRIBUTION_STALE', 'contribution is too old')

    let digest: Uint8Array
    try {
      digest = hasher(contributionTypedMessage(c))
    } catch {
      gossipReject('CONTRIBUTION_MALFORMED', 'contribution fields do not hash')
    }
    const key = seenKey(digest, c.signature)
    const verdict = seen.get(key)
    if (verdict === 'accept') gossipIgnore('CONTRIBUTION_SEEN', 'contribution already accepted')
    if (verdict === 'reject')
      gossipReject('CONTRIBUTION_BAD_SIGNATURE', 'signature is not by the stated contributor')

    const signer = recoverDigestSignerBytes(digest, Buffer.from(c.signature.slice(2), 'hex'))
    if (signer === undefined || Buffer.from(c.contributor.slice(2), 'hex').compare(signer) !== 0) {
      seen.set(key, 'reject')
      gossipReject('CONTRIBUTION_BAD_SIGNATURE', 'signature is not by the stated contributor')
    }

    // A Datanet id the chain does not know is not worth forwarding (it may be created later: IGNORE).
    let exists: boolean
    try {
      exists = await datanets.get(c.datanetId.toString(), (s) => init.datanetExists(c.datanetId, s), signal)
    } catch {
      gossipIgnore('CONTRIBUTION_CHAIN_UNAVAILABLE', 'cannot read the Datanet registry')
    }
    if (!exists) gossipIgnore('CONTRIBUTION_UNKNOWN_DATANET', `no Datanet ${c.datanetId}`)
    seen.set(key, 'accept')
  }

  return {
    topic: CONTRIBUTIONS_TOPIC,
    maxBytes: CONTRIBUTION_MAX_BYTES,
    queue: CONTRIBUTIONS_QUEUE,
    handlerQueue: CONTRIBUTIONS_HANDLER_QUEUE,
    datanets,
    seen,
    decode(bytes) {
      try {
        return decodeContribution(bytes)
      } catch (err) {
        if (err instanceof ContributionFormatError)
          throw new GossipValidationError(
            { code: `CONTRIBUTION_${err.fault}`, action: 'REJECT' },
            err.message,
          )
        throw err
      }
    },
    validate,
    handle: (c, from, signal) => init.onContribution(c, from, signal),
  }
}
