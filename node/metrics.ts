// Prometheus metrics served at GET /metrics. Gauges read live state when scraped (no timers to drift).
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import type { AdapterCacheSnapshot, AdapterMetrics } from '../protocols/inference/adapter-cache.ts'

export interface MetricsSources {
  connectedPeers(): number
  routingTableSize(): number
}

export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'openledger_' })
  const gossipMessages = new Counter({
    name: 'openledger_gossip_messages_total',
    help: 'Gossip messages received, by topic, validation result (accept, ignore, reject) and reason (the validator’s code)',
    labelNames: ['topic', 'result', 'reason'] as const,
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
  const inferServed = new Counter({
    name: 'openledger_infer_requests_total',
    help: 'Requests on /openledger/infer/1.0.0, by outcome (served, refused, failed, client_gone) and error code',
    labelNames: ['outcome', 'code'] as const,
    registers: [registry],
  })
  // Per adapter, read from each backend's cache when scraped; the cache keeps the counters of a bounded
  // number of adapters (maxTrackedAdapters), so the series are bounded too.
  const adapterCaches = new Map<string, () => AdapterCacheSnapshot>()
  const adapterCounter = (field: keyof AdapterMetrics, name: string, help: string) =>
    new Gauge({
      name: `openledger_adapter_${name}`,
      help,
      labelNames: ['model', 'adapter'] as const,
      registers: [registry],
      collect() {
        this.reset()
        for (const [model, snapshot] of adapterCaches)
          for (const [adapter, state] of Object.entries(snapshot().adapters))
            this.set({ model, adapter }, state[field])
      },
    })
  adapterCounter('requests', 'requests_total', 'Requests that used the adapter')
  adapterCounter('hits', 'cache_hits_total', 'Requests that found the adapter resident')
  adapterCounter('loads', 'loads_total', 'Adapter loads (fetch and verify), whoever asked')
  adapterCounter('loadFailures', 'load_failures_total', 'Adapter loads that failed')
  adapterCounter('evictions', 'evictions_total', 'Evictions by the cache byte bound')
  adapterCounter('loadMsTotal', 'load_ms_total', 'Milliseconds spent in successful loads')
  adapterCounter('loadMsMax', 'load_ms_max', 'Slowest successful load, in milliseconds')
  new Gauge({
    name: 'openledger_adapter_cache_bytes',
    help: 'Bytes of adapters resident in the cache, by model and kind (cached, pinned)',
    labelNames: ['model', 'kind'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const [model, snapshot] of adapterCaches) {
        const s = snapshot()
        this.set({ model, kind: 'cached' }, s.bytes)
        this.set({ model, kind: 'pinned' }, s.pinnedBytes)
      }
    },
  })
  return {
    registry,
    inferServed,
    bindAdapterCache(model: string, snapshot: () => AdapterCacheSnapshot) {
      adapterCaches.set(model, snapshot)
    },
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
