// Wires protocol topics (protocols/common/gossip.ts) into gossipsub, the way Lodestar's network processor
// does: per message, the size check and a seen-cache of verdicts (cheap, synchronous), then the topic's
// bounded validation queue (decode, the topic's validator: cheap checks, age, its own seen-cache, the
// signature last, chain reads), then the topic's bounded handler queue. Overload drops work (IGNORE);
// stop() aborts everything queued or running and never waits for a backlog.
//
// Why asyncValidation + reportMessageValidationResult rather than gossipsub's topicValidators: a topic
// validator runs inside gossipsub's receive path (its docs ask for < 100 ms), with no queue of ours in
// front, so a flood becomes an unbounded number of pending validations; with asyncValidation gossipsub only
// parks the message in its message cache (a few heartbeats, bounded) and hands it to us, and we choose what
// to queue, what to drop and when to report ACCEPT / IGNORE / REJECT. REJECT still reaches gossipsub's
// peer score (P4, invalidMessageDeliveries) through reportMessageValidationResult. gossipsub's own
// seenCache (msgId = payload hash, 2 minutes) drops exact duplicates before they reach us; ours keeps the
// final verdicts longer (a REJECTed payload replayed later is REJECTed again without decoding), and each
// topic keeps a seen-cache of what was signed, which catches a re-encoded replay before signature work.
import type { GossipsubMessage } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { type GossipQueuePolicy, type GossipTopic, judgeGossipMessage } from '../protocols/common/gossip.ts'
import { SeenCache } from '../protocols/common/seen-cache.ts'
import { type DropReason, GossipQueue } from './gossip-queue.ts'
import type { NodeMetrics } from './metrics.ts'

export const DEFAULT_VALIDATION_QUEUE: GossipQueuePolicy = {
  order: 'LIFO',
  maxLength: 1024,
  drop: 'oldest',
  concurrency: 4,
}
export const DEFAULT_HANDLER_QUEUE: GossipQueuePolicy = {
  order: 'FIFO',
  maxLength: 1024,
  drop: 'oldest',
  concurrency: 4,
}
/** Verdicts (ACCEPT / REJECT) remembered per message id; IGNOREs are not, they may be transient. */
export const SEEN_VERDICTS_MAX = 65_536
export const SEEN_VERDICTS_TTL_MS = 30 * 60_000

/** The part of GossipSub the router uses, so a unit test can drive it without a network. */
export interface GossipPubsub {
  addEventListener(type: 'gossipsub:message', listener: (evt: CustomEvent<GossipsubMessage>) => void): void
  removeEventListener(type: 'gossipsub:message', listener: (evt: CustomEvent<GossipsubMessage>) => void): void
  reportMessageValidationResult(
    msgId: string,
    propagationSource: string,
    acceptance: TopicValidatorResult,
  ): void
  subscribe(topic: string): void
  publish(topic: string, data: Uint8Array): Promise<{ recipients: unknown[] }>
  getScore(peerId: string): number
  /** the peers in our mesh for a topic (absent in unit-test stand-ins) */
  getMeshPeers?(topic: string): string[]
  opts?: { asyncValidation?: boolean }
}

/** The GossipSub service typed by @libp2p/gossipsub's public interface lacks the methods asynchronous
 * validation needs, which its implementation has: check them at start, so a change is a loud failure. */
export function asyncValidatingPubsub(pubsub: object): GossipPubsub {
  const p = pubsub as Partial<GossipPubsub>
  if (typeof p.reportMessageValidationResult !== 'function' || typeof p.getScore !== 'function')
    throw new Error('this gossipsub has no reportMessageValidationResult / getScore')
  return p as GossipPubsub
}

type Result = 'accept' | 'ignore' | 'reject'

interface Inbound {
  data: Uint8Array
  msgId: string
  from: PeerId
}

interface Accepted {
  message: unknown
  from: PeerId
}

interface TopicEntry {
  topic: GossipTopic<unknown>
  validation: GossipQueue<Inbound>
  handling: GossipQueue<Accepted>
}

export interface GossipRouterOptions {
  seenMaxEntries?: number
  seenTtlMs?: number
}

export class GossipRouter {
  private readonly entries = new Map<string, TopicEntry>()
  private readonly verdicts: SeenCache<'accept' | 'reject'>
  private readonly listener = (evt: CustomEvent<GossipsubMessage>) => this.onMessage(evt.detail)
  private stopped = false

  constructor(
    private readonly pubsub: GossipPubsub,
    private readonly metrics: NodeMetrics,
    private readonly log: Logger,
    opts: GossipRouterOptions = {},
  ) {
    // Without asyncValidation gossipsub would forward every message before we validate it.
    if (pubsub.opts !== undefined && pubsub.opts.asyncValidation !== true)
      throw new Error('GossipRouter needs gossipsub with asyncValidation: true')
    this.verdicts = new SeenCache({
      maxEntries: opts.seenMaxEntries ?? SEEN_VERDICTS_MAX,
      ttlMs: opts.seenTtlMs ?? SEEN_VERDICTS_TTL_MS,
    })
    pubsub.addEventListener('gossipsub:message', this.listener)
  }

  register<T>(topic: GossipTopic<T>): void {
    const t = topic as GossipTopic<unknown>
    const name = t.topic
    const validation = new GossipQueue<Inbound>(t.queue ?? DEFAULT_VALIDATION_QUEUE, {
      run: (item, signal) => this.validate(entry, item, signal),
      onDrop: (item, reason) => {
        this.dropped(name, 'validation', reason)
        this.result(name, item, 'ignore', reason === 'full' ? 'QUEUE_FULL' : 'STOPPED')
      },
      onLength: (n) => this.metrics.gossipQueueLength.set({ topic: name, queue: 'validation' }, n),
      keyOf: (item) => item.from.toString(),
    })
    const handling = new GossipQueue<Accepted>(t.handlerQueue ?? DEFAULT_HANDLER_QUEUE, {
      run: (item, signal) => this.handle(t, item, signal),
      onDrop: (_item, reason) => this.dropped(name, 'handler', reason),
      onLength: (n) => this.metrics.gossipQueueLength.set({ topic: name, queue: 'handler' }, n),
    })
    const entry: TopicEntry = { topic: t, validation, handling }
    this.entries.get(name)?.validation.stop()
    this.entries.get(name)?.handling.stop()
    this.entries.set(name, entry)
    this.pubsub.subscribe(name)
  }

  async publish(topic: string, data: Uint8Array): Promise<number> {
    const result = await this.pubsub.publish(topic, data)
    this.metrics.gossipPublished.inc({ topic })
    return result.recipients.length
  }

  /** Our topics whose mesh holds `peerId` (a peer with a negative score is pruned from them). */
  meshTopics(peerId: string): string[] {
    const mesh = this.pubsub.getMeshPeers
    if (typeof mesh !== 'function') return []
    return [...this.entries.keys()].filter((topic) => mesh.call(this.pubsub, topic).includes(peerId))
  }

  /** gossipsub's score of a peer (negative once it sent REJECTed messages); undefined if unknown. */
  peerScore(peerId: string): number | undefined {
    try {
      return this.pubsub.getScore(peerId)
    } catch {
      return undefined
    }
  }

  /** Queue lengths by topic (validation, handler), for the API and tests. */
  queueLengths(): Record<string, { validation: number; handler: number }> {
    const out: Record<string, { validation: number; handler: number }> = {}
    for (const [name, e] of this.entries)
      out[name] = { validation: e.validation.length, handler: e.handling.length }
    return out
  }

  /** Resolves when every queue is empty and idle (tests and benches). */
  async onIdle(): Promise<void> {
    for (const e of this.entries.values()) {
      await e.validation.onIdle()
      await e.handling.onIdle()
    }
  }

  /** Aborts all queued and running work at once; does not wait for it. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.pubsub.removeEventListener('gossipsub:message', this.listener)
    for (const e of this.entries.values()) {
      e.validation.stop()
      e.handling.stop()
    }
  }

  private onMessage({ msg, msgId, propagationSource }: GossipsubMessage): void {
    const inbound: Inbound = { data: msg.data, msgId, from: propagationSource }
    const entry = this.entries.get(msg.topic)
    if (entry === undefined || this.stopped) {
      this.result(msg.topic, inbound, 'ignore', this.stopped ? 'STOPPED' : 'UNKNOWN_TOPIC')
      return
    }
    const { topic } = entry
    if (msg.data.length > topic.maxBytes) {
      this.result(topic.topic, inbound, 'reject', 'OVERSIZED')
      return
    }
    const verdict = this.verdicts.get(msgId)
    if (verdict === 'reject') {
      this.result(topic.topic, inbound, 'reject', 'REJECTED_BEFORE')
      return
    }
    if (verdict === 'accept') {
      // Already accepted and handled once: a replay is not forwarded again.
      this.result(topic.topic, inbound, 'ignore', 'ACCEPTED_BEFORE')
      return
    }
    entry.validation.push(inbound)
  }

  private async validate(entry: TopicEntry, item: Inbound, signal: AbortSignal): Promise<void> {
    const { topic } = entry
    if (signal.aborted) return this.result(topic.topic, item, 'ignore', 'STOPPED')
    const verdict = await judgeGossipMessage(topic, item.data, item.from, signal)
    if (signal.aborted) return this.result(topic.topic, item, 'ignore', 'STOPPED')
    if (verdict.action === 'ACCEPT') {
      this.result(topic.topic, item, 'accept', 'VALID')
      entry.handling.push({ message: verdict.message, from: item.from })
      return
    }
    if (verdict.code === 'VALIDATOR_FAILED')
      // A bug of ours (or a failed read) is never the sender's fault.
      this.log.warn({ topic: topic.topic, err: verdict.error }, 'gossip validator failed')
    else
      this.log.debug(
        { topic: topic.topic, code: verdict.code, from: item.from.toString() },
        'gossip message refused',
      )
    this.result(topic.topic, item, verdict.action === 'REJECT' ? 'reject' : 'ignore', verdict.code)
  }

  private async handle(topic: GossipTopic<unknown>, item: Accepted, signal: AbortSignal): Promise<void> {
    try {
      await topic.handle(item.message, item.from, signal)
    } catch (err) {
      if (!signal.aborted) this.log.warn({ topic: topic.topic, err }, 'gossip handler failed')
    }
  }

  /** `reason`: the validator's code, or why no validator ran; a bounded set (each topic's codes). */
  private result(topic: string, item: Inbound, result: Result, reason: string): void {
    if (result !== 'ignore') this.verdicts.set(item.msgId, result)
    this.metrics.gossipMessages.inc({ topic, result, reason })
    this.report(topic, item, result)
  }

  private report(topic: string, item: Inbound, result: Result): void {
    const acceptance =
      result === 'accept'
        ? TopicValidatorResult.Accept
        : result === 'reject'
          ? TopicValidatorResult.Reject
          : TopicValidatorResult.Ignore
    try {
      this.pubsub.reportMessageValidationResult(item.msgId, item.from.toString(), acceptance)
    } catch (err) {
      this.log.debug({ topic, err }, 'gossip validation result not reported')
    }
  }

  private dropped(topic: string, queue: 'validation' | 'handler', reason: DropReason): void {
    this.metrics.gossipDropped.inc({ topic, queue, reason })
  }
}
