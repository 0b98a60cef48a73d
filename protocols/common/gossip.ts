// The contract between a protocol and the node's gossip layer (after Lodestar's gossip topic table,
// beacon-node/src/network/gossip/interface.ts): each topic has exactly one size limit, decoder, validator,
// handler and queue policy. Validators check cheap things first (shape, age, seen-cache) and signatures
// last, and throw GossipValidationError carrying IGNORE or REJECT. REJECT lowers the forwarding peer's
// gossipsub score, so it is reserved for messages that are provably invalid whatever our clock or chain
// view says; anything that depends on our clock, our chain view or our load, and our own failures, is
// IGNORE.
import type { PeerId } from '@libp2p/interface'
import { OpenLedgerError } from './errors.ts'

export type GossipAction = 'IGNORE' | 'REJECT'

export class GossipValidationError extends OpenLedgerError<{ code: string; action: GossipAction }> {}

/** Throws an IGNORE: not forwarded, the sender is not penalized. */
export function gossipIgnore(code: string, message: string): never {
  throw new GossipValidationError({ code, action: 'IGNORE' }, message)
}

/** Throws a REJECT: not forwarded, and the sender's gossip score drops. */
export function gossipReject(code: string, message: string): never {
  throw new GossipValidationError({ code, action: 'REJECT' }, message)
}

/**
 * How a topic's work is queued (Lodestar's gossipQueues). `LIFO` serves the newest message first (fresh
 * statuses and contributions matter more than a backlog); `drop` says which end is shed when the queue is
 * full: `oldest` drops the item waiting longest, `newest` refuses the arriving one. A dropped message is
 * IGNOREd, never REJECTed: overload is ours, not the sender's fault.
 */
export interface GossipQueuePolicy {
  order: 'FIFO' | 'LIFO'
  maxLength: number
  drop: 'oldest' | 'newest'
  /** Validations (or handler runs) of this topic in progress at once. */
  concurrency: number
}

export interface GossipTopic<T> {
  topic: string
  /** Messages above this many bytes are rejected before decoding. */
  maxBytes: number
  /** Validation queue; the node's default applies when absent. */
  queue?: GossipQueuePolicy
  /** Handler queue (accepted messages waiting for `handle`); the node's default applies when absent. */
  handlerQueue?: GossipQueuePolicy
  /** Throws on bytes that are not a message of this topic (REJECT). */
  decode(bytes: Uint8Array): T
  /** Throws GossipValidationError; returning means ACCEPT (the message is forwarded). `signal` aborts
   * when the node stops. */
  validate(message: T, from: PeerId, signal?: AbortSignal): Promise<void>
  /** Runs after a message was accepted (never for our own publications). */
  handle(message: T, from: PeerId, signal?: AbortSignal): Promise<void>
}

export interface GossipPublisher {
  publish(topic: string, data: Uint8Array): Promise<number>
}

export type GossipVerdict<T> =
  | { action: 'ACCEPT'; message: T }
  | { action: 'IGNORE' | 'REJECT'; code: string; error?: unknown }

/**
 * One message through one topic's checks, as the node runs them: the size limit, decode, then the
 * validator. Bytes that do not decode are REJECTed; a GossipValidationError carries its own action; any
 * other failure is ours (or an aborted read) and is IGNOREd.
 */
export async function judgeGossipMessage<T>(
  topic: GossipTopic<T>,
  bytes: Uint8Array,
  from: PeerId,
  signal?: AbortSignal,
): Promise<GossipVerdict<T>> {
  if (bytes.length > topic.maxBytes) return { action: 'REJECT', code: 'OVERSIZED' }
  let message: T
  try {
    message = topic.decode(bytes)
  } catch (err) {
    return {
      action: 'REJECT',
      code: err instanceof GossipValidationError ? err.code : 'MALFORMED',
      error: err,
    }
  }
  try {
    await topic.validate(message, from, signal)
  } catch (err) {
    if (err instanceof GossipValidationError) return { action: err.type.action, code: err.code, error: err }
    return { action: 'IGNORE', code: 'VALIDATOR_FAILED', error: err }
  }
  return { action: 'ACCEPT', message }
}
