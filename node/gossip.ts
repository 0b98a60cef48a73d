// Wires protocol topics (protocols/common/gossip.ts) into gossipsub: size check, decode, validate with a
// bounded number of validations in flight (excess is dropped as IGNORE, so overload sheds load rather
// than memory), metrics by topic and result, then the topic's handler.
import type { GossipSub, Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { type GossipTopic, GossipValidationError } from '../protocols/common/gossip.ts'
import type { NodeMetrics } from './metrics.ts'

export const MAX_VALIDATIONS_IN_FLIGHT = 256

export class GossipRouter {
  private readonly topics = new Map<string, GossipTopic<unknown>>()
  private readonly decoded = new WeakMap<Message, unknown>()
  private inFlight = 0

  constructor(
    private readonly pubsub: GossipSub,
    private readonly metrics: NodeMetrics,
    private readonly log: Logger,
  ) {
    pubsub.addEventListener('gossipsub:message', (evt) =>
      this.onMessage(evt.detail.msg, evt.detail.propagationSource),
    )
  }

  register<T>(topic: GossipTopic<T>): void {
    this.topics.set(topic.topic, topic as GossipTopic<unknown>)
    this.pubsub.topicValidators.set(topic.topic, (from, msg) =>
      this.validate(topic as GossipTopic<unknown>, from, msg),
    )
    this.pubsub.subscribe(topic.topic)
  }

  async publish(topic: string, data: Uint8Array): Promise<number> {
    const result = await this.pubsub.publish(topic, data)
    this.metrics.gossipPublished.inc({ topic })
    return result.recipients.length
  }

  private count(topic: string, result: 'accept' | 'ignore' | 'reject'): void {
    this.metrics.gossipMessages.inc({ topic, result })
  }

  private async validate(
    topic: GossipTopic<unknown>,
    from: PeerId,
    msg: Message,
  ): Promise<TopicValidatorResult> {
    if (msg.data.length > topic.maxBytes) {
      this.count(topic.topic, 'reject')
      return TopicValidatorResult.Reject
    }
    if (this.inFlight >= MAX_VALIDATIONS_IN_FLIGHT) {
      this.count(topic.topic, 'ignore')
      return TopicValidatorResult.Ignore
    }
    this.inFlight++
    try {
      let decoded: unknown
      try {
        decoded = topic.decode(msg.data)
      } catch {
        this.count(topic.topic, 'reject')
        return TopicValidatorResult.Reject
      }
      await topic.validate(decoded, from)
      this.decoded.set(msg, decoded)
      this.count(topic.topic, 'accept')
      return TopicValidatorResult.Accept
    } catch (err) {
      if (err instanceof GossipValidationError) {
        this.log.debug(
          { topic: topic.topic, code: err.code, from: from.toString() },
          'gossip message refused',
        )
        const reject = err.type.action === 'REJECT'
        this.count(topic.topic, reject ? 'reject' : 'ignore')
        return reject ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
      }
      // A bug of ours is never the sender's fault.
      this.log.warn({ topic: topic.topic, err }, 'gossip validator failed')
      this.count(topic.topic, 'ignore')
      return TopicValidatorResult.Ignore
    } finally {
      this.inFlight--
    }
  }

  private onMessage(msg: Message, from: PeerId): void {
    const topic = this.topics.get(msg.topic)
    if (topic === undefined) return
    try {
      const decoded = this.decoded.get(msg) ?? topic.decode(msg.data)
      topic
        .handle(decoded, from)
        .catch((err) => this.log.warn({ topic: msg.topic, err }, 'gossip handler failed'))
    } catch (err) {
      this.log.warn({ topic: msg.topic, err }, 'gossip message undecodable after validation')
    }
  }
}
