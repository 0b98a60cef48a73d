// Five real node processes on loopback (plus anvil): the DHT fills, gossip reaches everyone, metrics
// parse, and a node killed with SIGKILL comes back with the same identity and rejoins.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Testnet } from '../testnet.ts'
import { getJson, waitFor } from '../wait.ts'

const NODES = 5
let net: Testnet
let root = ''

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'openledger-mesh-'))
  net = await Testnet.start({ nodes: NODES, dir: root, statusIntervalMs: 1_000, readyTimeoutMs: 180_000 })
})

test.after(async () => {
  await net?.stop()
  await rm(root, { recursive: true, force: true })
})

type PeersBody = { peers: { peerId: string; status: { account: string; timestamp: number } | null }[] }

/** True when every node holds a status from every other node dated after `since`. */
async function everyoneHeardEveryone(since: number): Promise<boolean> {
  const bodies = await Promise.all(net.nodes.map((n) => getJson<PeersBody>(`${n.apiUrl}/v1/peers`)))
  return bodies.every((body, i) =>
    net.nodes.every((other) => {
      if (other.index === i) return true
      const peer = body.peers.find((p) => p.peerId === other.peerId)
      return peer?.status != null && peer.status.timestamp > since && peer.status.account === other.account
    }),
  )
}

test('every node reaches a full DHT routing table', async () => {
  await waitFor(
    async () => {
      const infos = await Promise.all(net.nodes.map((n) => getJson(`${n.apiUrl}/v1/node`)))
      return infos.every((info) => info.network.dhtRoutingTableSize === NODES - 1)
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `every routing table to hold ${NODES - 1} peers` },
  )
})

test('a gossip message published by each node reaches all the others', async () => {
  const since = Date.now()
  await waitFor(() => everyoneHeardEveryone(since), {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: 'status gossip from every node at every node',
  })
})

test('/metrics parses as Prometheus text format with the node metrics', async () => {
  const res = await fetch(`${net.nodes[0]!.apiUrl}/metrics`)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const families = parsePrometheusTextFormat(await res.text())
  const byName = new Map(families.map((f) => [f.name, f]))
  assert.is(byName.get('openledger_connected_peers')?.type, 'GAUGE')
  assert.is(Number(byName.get('openledger_connected_peers')?.metrics[0]?.value), NODES - 1)
  assert.is(Number(byName.get('openledger_dht_routing_table_size')?.metrics[0]?.value), NODES - 1)
  const gossip = byName.get('openledger_gossip_messages_total')
  assert.is(gossip?.type, 'COUNTER')
  const accepted = gossip?.metrics.find(
    (m) => m.labels?.topic === 'openledger/status/1' && m.labels?.result === 'accept',
  )
  assert.ok(Number(accepted?.value) > 0, 'status messages were accepted')
  assert.ok(byName.has('openledger_process_resident_memory_bytes'), 'process metrics are exported')
})

test('a node killed with SIGKILL restarts with the same identity and rejoins the mesh', async () => {
  const victim = net.nodes[2]!
  const before = await getJson(`${victim.apiUrl}/v1/node`)
  assert.is(await victim.process!.stop('SIGKILL'), 128)
  await waitFor(
    async () => {
      const sets = await Promise.all(net.nodes.filter((n) => n !== victim).map((n) => net.peerIds(n)))
      return sets.every((s) => !s.has(victim.peerId))
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'the others to notice the killed node' },
  )
  net.launch(victim)
  const restartedAt = Date.now()
  await net.waitForMesh(60_000)
  const after = await getJson(`${victim.apiUrl}/v1/node`)
  assert.is(after.peerId, before.peerId)
  assert.is(after.account, before.account)
  await waitFor(() => everyoneHeardEveryone(restartedAt), {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: 'gossip to flow again after the restart',
  })
})

test.run()
