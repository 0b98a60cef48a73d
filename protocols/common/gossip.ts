// The contract between a protocol and the node's gossip layer (after Lodestar's gossip topic table): each
// topic has exactly one size limit, decoder, validator and handler. Validators check cheap things first
// and signatures last, and throw GossipValidationError carrying IGNORE or REJECT. REJECT penalizes the
// forwarding peer, so it is reserved for messages that are provably invalid; our own failures are IGNORE.
import type { PeerId } from '@libp2p/interface'
import { OpenLedgerError } from './errors.ts'

export type GossipAction = 'IGNORE' | 'REJECT'

export class GossipValidationError extends OpenLedgerError<{ code: string; action: GossipAction }> {}

export interface GossipTopic<T> {
  topic: string
  /** Messages above this many bytes are rejected before decoding. */
  maxBytes: number
  decode(bytes: Uint8Array): T
  /** Throws GossipValidationError; returning means ACCEPT (the message is forwarded). */
  validate(message: T, from: PeerId): Promise<void>
  /** Runs after a message was accepted (never for our own publications). */
  handle(message: T, from: PeerId): Promise<void>
}

export interface GossipPublisher {
  publish(topic: string, data: Uint8Array): Promise<number>
}
