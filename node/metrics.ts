// Prometheus metrics served at GET /metrics. Gauges read live state when scraped (no timers to drift).
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'

export interface MetricsSources {
  connectedPeers(): number
  routingTableSize(): number
}

export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'openledger_' })
  const gossipMessages = new Counter({
    name: 'openledger_gossip_messages_total',
    help: 'Gossip messages received, by topic and validation result (accept, ignore, reject)',
    labelNames: ['topic', 'result'] as const,
    registers: [registry],
  })
  const gossipPublished = new Counter({
    name: 'openledger_gossip_published_total',
    help: 'Gossip messages published by this node, by topic',
    labelNames: ['topic'] as const,
    registers: [registry],
  })
  const gossipQueueLength = new Gauge({
    name: 'openledger_gossip_queue_length',
    help: 'Gossip messages waiting, by topic and queue (validation, handler)',
    labelNames: ['topic', 'queue'] as const,
    registers: [registry],
  })
  const gossipDropped = new Counter({
    name: 'openledger_gossip_dropped_total',
    help: 'Gossip messages dropped (IGNOREd) by a bounded queue, by topic, queue and reason (full, stopped)',
    labelNames: ['topic', 'queue', 'reason'] as const,
    registers: [registry],
  })
  const sources: { current?: MetricsSources } = {}
  new Gauge({
    name: 'openledger_connected_peers',
    help: 'Peers with at least one open libp2p connection',
    registers: [registry],
    collect() {
      this.set(sources.current?.connectedPeers() ?? 0)
    },
  })
  new Gauge({
    name: 'openledger_dht_routing_table_size',
    help: 'Peers in the kad-dht routing table',
    registers: [registry],
    collect() {
      this.set(sources.current?.routingTableSize() ?? 0)
    },
  })
  return {
    registry,
    gossipMessages,
    gossipPublished,
    gossipQueueLength,
    gossipDropped,
    bind(s: MetricsSources) {
      sources.current = s
    },
  }
}

export type NodeMetrics = ReturnType<typeof createMetrics>
