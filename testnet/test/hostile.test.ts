// A hostile peer against 3 real node processes and anvil: for a bounded time and message count it floods
// the contribution, status and receipt topics with junk, oversized, forged, renamed and replayed messages
// (no receipt of it reaches a mempool), and opens block-sync
// streams that send junk, repeat one block and stop reading. Meanwhile an honest contribution is still
// curated, the honest nodes' APIs keep answering, their heap growth stays bounded, and the hostile peer's
// gossip score on the honest nodes goes negative and it is pruned from their gossip mesh.
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import parsePrometheus from 'parse-prometheus-text-format'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { openLedgerDomain } from '../../protocols/common/eip712.ts'
import { BLOCK_SYNC_PROTOCOL } from '../../protocols/datanet/block-sync.ts'
import {
  CONTRIBUTIONS_TOPIC,
  decodeContribution,
  encodeContribution,
  signContribution,
} from '../../protocols/datanet/contribution.ts'
import { BlockSyncRequest } from '../../protocols/datanet/pb/block-sync.ts'
import { newRequestId } from '../../protocols/receipts/payment-authorization.ts'
import { outputHashOf } from '../../protocols/receipts/receipt.ts'
import { RECEIPTS_TOPIC } from '../../protocols/receipts/receipt-gossip.ts'
import { encodeReceipt } from '../../protocols/receipts/receipt-wire.ts'
import { STATUS_TOPIC } from '../../protocols/status/constants.ts'
import { NodeStatus } from '../../protocols/status/pb/status.ts'
import { RUST_BOOK_DIR } from '../corpora/index.ts'
import { createHostilePeer, type HostilePeer } from '../hostile-peer.ts'
import { runCli } from '../processes.ts'
import { Testnet } from '../testnet.ts'
import { getJson, waitFor } from '../wait.ts'

/** The flood's bounds: it ends by itself after this long or this many messages per topic. */
const FLOOD_MS = 20_000
const FLOOD_MESSAGES = 3_000
/** Heap growth an honest node may show over the flood (it is measured and printed, not timed). */
const MAX_HEAP_GROWTH_BYTES = 96 * 1024 * 1024
/** Every API request during the flood must answer within this (a stalled node fails the test). */
const API_DEADLINE_MS = 5_000

let net: Testnet
let hostile: HostilePeer
let root = ''
let datanetId = ''

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'openledger-hostile-'))
  net = await Testnet.start({ nodes: 3, dir: join(root, 'net'), readyTimeoutMs: 180_000 })
  hostile = await createHostilePeer()
})

test.after(async () => {
  await hostile?.stop().catch(() => {})
  await net?.stop()
  if (!process.env.KEEP_TESTNET) await rm(root, { recursive: true, force: true })
  else console.log('kept', root)
})

const api = (i: number) => net.nodes[i]!.apiUrl
async function cli(i: number, ...args: string[]) {
  const res = await runCli([...args, '--api', api(i), '--node-dir', net.nodes[i]!.dir, '--json'])
  return { ...res, json: res.code === 0 ? JSON.parse(res.stdout) : undefined }
}

async function heapUsed(i: number): Promise<number> {
  const text = await fetch(`${api(i)}/metrics`, { signal: AbortSignal.timeout(API_DEADLINE_MS) }).then((r) =>
    r.text(),
  )
  const family = parsePrometheus(text).find(
    (f: { name: string }) => f.name === 'openledger_nodejs_heap_size_used_bytes',
  )
  return Number(family?.metrics[0]?.value)
}

/** Node i's gossip mesh topics that hold `peerId`. */
async function meshOf(i: number, peerId: string): Promise<string[] | undefined> {
  const body = await getJson<{ peers: { peerId: string; gossipMesh: string[] }[] }>(`${api(i)}/v1/peers`)
  return body.peers.find((p) => p.peerId === peerId)?.gossipMesh
}

async function gossipScoreOf(i: number, peerId: string): Promise<number | undefined> {
  const body = await getJson<{ peers: { peerId: string; gossipScore: number | null }[] }>(
    `${api(i)}/v1/peers`,
  )
  return body.peers.find((p) => p.peerId === peerId)?.gossipScore ?? undefined
}

/** Polls every honest node's API until `stop` is set; returns how many requests failed or were late. */
async function pollApis(stop: { done: boolean }): Promise<{ requests: number; failures: string[] }> {
  const failures: string[] = []
  let requests = 0
  while (!stop.done) {
    await Promise.all(
      net.nodes.map(async (n) => {
        for (const path of ['/healthz', '/v1/node']) {
          requests++
          try {
            const res = await fetch(`${n.apiUrl}${path}`, { signal: AbortSignal.timeout(API_DEADLINE_MS) })
            if (!res.ok) failures.push(`node ${n.index} ${path}: HTTP ${res.status}`)
          } catch (err) {
            failures.push(`node ${n.index} ${path}: ${(err as Error).message}`)
          }
        }
      }),
    )
    await new Promise((r) => setTimeout(r, 250))
  }
  return { requests, failures }
}

test('a bounded flood of hostile gossip and block-sync abuse: honest work goes on, the attacker scores negative', async () => {
  await writeFile(join(root, 'rules.json'), JSON.stringify({ maxBytes: 50_000, nearDuplicateThreshold: 0.5 }))
  const created = await cli(0, 'datanet', 'create', '--name', 'book', '--rules', join(root, 'rules.json'))
  assert.is(created.code, 0, created.stderr)
  datanetId = created.json.datanetId
  const { metadataCid } = await getJson(`${api(0)}/v1/datanets/${datanetId}`)

  // The hostile peer joins two honest nodes' gossip mesh.
  await hostile.dial(net.nodes[0]!.multiaddr)
  await hostile.dial(net.nodes[1]!.multiaddr)
  hostile.subscribe([CONTRIBUTIONS_TOPIC, STATUS_TOPIC, RECEIPTS_TOPIC])
  await waitFor(async () => (await gossipScoreOf(0, hostile.peerId)) !== undefined, {
    timeoutMs: 30_000,
    what: 'node 0 to list the hostile peer',
  })

  await waitFor(async () => (((await meshOf(0, hostile.peerId))?.length ?? 0) > 0 ? true : undefined), {
    timeoutMs: 30_000,
    what: 'node 0 to take the hostile peer into its gossip mesh',
  })

  // A genuine contribution to replay and rename later.
  const files = join(root, 'files')
  await mkdir(files)
  await copyFile(join(RUST_BOOK_DIR, 'ch01-01-installation.md'), join(files, 'installation.md'))
  await copyFile(join(RUST_BOOK_DIR, 'ch01-02-hello-world.md'), join(files, 'hello-world.md'))
  const first = await cli(1, 'datanet', 'contribute', '--datanet', datanetId, join(files, 'installation.md'))
  assert.is(first.code, 0, first.stderr)
  const genuine = await waitFor(() => hostile.captured.get(CONTRIBUTIONS_TOPIC)?.[0], {
    timeoutMs: 30_000,
    what: 'the hostile peer to see a genuine contribution',
  })

  const heapBefore = await Promise.all(net.nodes.map((_, i) => heapUsed(i)))
  const ledger = net.contracts.ledger_address as Address
  const domain = openLedgerDomain({ chainId: net.anvil!.chainId, ledger })
  const attacker = privateKeyToAccount(generatePrivateKey())
  const victim = net.nodes[1]!.account as Address
  const signedByAttacker = await signContribution(attacker, domain, {
    datanetId: BigInt(datanetId),
    contentCid: decodeContribution(genuine).contentCid,
    bytes: 1000,
    license: 'CC-BY-4.0',
    createdAt: Math.floor(Date.now() / 1000),
    name: 'forged.md',
  })

  const contributionFlood = (i: number): Uint8Array => {
    switch (i % 5) {
      case 0: // junk that is not a SignedContribution
        return randomBytes(64 + (i % 200))
      case 1: // oversized
        return randomBytes(4096)
      case 2: // forged: the attacker's signature over a record that names someone else as contributor
        return encodeContribution({
          ...signedByAttacker,
          contributor: victim,
          createdAt: signedByAttacker.createdAt - (i % 600),
        })
      case 3: // renamed: the genuine record relayed with another name (the name is signed)
        return encodeContribution({ ...decodeContribution(genuine), name: `renamed-${i}.exe` })
      default: // replayed: the genuine bytes again
        return genuine
    }
  }
  const statusFlood = (i: number): Uint8Array => {
    switch (i % 3) {
      case 0:
        return randomBytes(32 + (i % 300))
      case 1: // a status for node 0's PeerId, not signed by node 0's key
        return NodeStatus.encode({
          peerId: net.nodes[0]!.peerId,
          account: Uint8Array.from(Buffer.from(attacker.address.slice(2), 'hex')),
          version: 'evil/1.0',
          apiUrl: 'http://attacker.invalid',
          timestamp: BigInt(Date.now() + 30_000 + i),
          signature: randomBytes(65),
          peerSignature: randomBytes(64),
        })
      default: // far in the future
        return NodeStatus.encode({
          peerId: hostile.peerId,
          account: Uint8Array.from(Buffer.from(attacker.address.slice(2), 'hex')),
          version: 'evil/1.0',
          apiUrl: 'http://attacker.invalid',
          timestamp: BigInt(Date.now() + 86_400_000 + i),
          signature: randomBytes(65),
          peerSignature: randomBytes(64),
        })
    }
  }

  // Receipts: junk, oversized, and well-formed receipts whose signatures are not the client's or node's.
  const forgedSignature = () => `0x${randomBytes(64).toString('hex')}1b` as const
  const receiptFlood = (i: number): Uint8Array => {
    if (i % 3 === 0) return randomBytes(48 + (i % 500))
    if (i % 3 === 1) return randomBytes(80_000)
    const output = `forged answer ${i}`
    return encodeReceipt({
      receipt: {
        authorization: {
          client: victim,
          node: attacker.address,
          model: 1n,
          adapter: 0n,
          maxFee: 10n ** 18n,
          requestId: newRequestId(),
          deadline: BigInt(Math.floor(Date.now() / 1000) + 600),
        },
        clientSignature: forgedSignature(),
        fee: 10n ** 15n,
        inputTokens: 10,
        outputTokens: 10,
        outputHash: outputHashOf(output),
        attribution: [],
        attributionParams: 'ol-attr-2',
        servedAt: BigInt(Math.floor(Date.now() / 1000)),
      },
      nodeSignature: forgedSignature(),
      output,
    })
  }

  // Block-sync abuse on node 0: junk requests, one block asked for many times, streams never read.
  const metadata = (await import('multiformats/cid')).CID.parse(metadataCid)
  const abuseBlockSync = async () => {
    const opened = []
    const addr = net.nodes[0]!.multiaddr
    for (let i = 0; i < 20; i++) {
      const frames =
        i % 3 === 0
          ? [randomBytes(256)]
          : i % 3 === 1
            ? [
                BlockSyncRequest.encode({
                  root: metadata.bytes,
                  cids: Array.from({ length: 10_000 }, () => metadata.bytes),
                }),
              ]
            : [BlockSyncRequest.encode({ root: metadata.bytes, cids: [] })]
      opened.push(await hostile.openStream(addr, BLOCK_SYNC_PROTOCOL, frames).catch(() => undefined))
    }
    return opened.filter((s) => s !== undefined).length
  }

  const stop = { done: false }
  const polling = pollApis(stop)
  // Whatever fails below, the poller stops, or a failed wait would leave the test process running.
  const flooded = (async () => {
    const [contribSent, statusSent, receiptsSent, streams] = await Promise.all([
      hostile.flood(CONTRIBUTIONS_TOPIC, contributionFlood, { count: FLOOD_MESSAGES, durationMs: FLOOD_MS }),
      hostile.flood(STATUS_TOPIC, statusFlood, { count: FLOOD_MESSAGES, durationMs: FLOOD_MS }),
      hostile.flood(RECEIPTS_TOPIC, receiptFlood, { count: FLOOD_MESSAGES, durationMs: FLOOD_MS }),
      abuseBlockSync(),
      // The honest contributor keeps contributing during the flood.
      cli(1, 'datanet', 'contribute', '--datanet', datanetId, join(files, 'hello-world.md')).then((r) =>
        assert.is(r.code, 0, r.stderr),
      ),
    ])

    let seen: string[] = []
    const curated = await waitFor(
      async () => {
        const { contributions } = await getJson(`${api(0)}/v1/datanets/${datanetId}/contributions`)
        seen = contributions.map((c: { name: string; status: string }) => `${c.name}:${c.status}`)
        return seen.includes('installation.md:pending') && seen.includes('hello-world.md:pending')
          ? seen
          : undefined
      },
      { timeoutMs: 60_000, what: 'node 0 to curate both honest contributions' },
    ).catch((err) => {
      throw new Error(`${(err as Error).message}; node 0 holds [${seen.join(', ')}]`)
    })
    const score = await waitFor(
      async () => {
        const s = await gossipScoreOf(0, hostile.peerId)
        return s !== undefined && s < 0 ? s : undefined
      },
      { timeoutMs: 30_000, what: "the hostile peer's gossip score on node 0 to go negative" },
    )
    // With a negative score gossipsub prunes the peer from our mesh at its next heartbeat.
    await waitFor(async () => ((await meshOf(0, hostile.peerId))?.length === 0 ? true : undefined), {
      timeoutMs: 30_000,
      what: "the hostile peer to be pruned from node 0's gossip mesh",
    })
    return { contribSent, statusSent, receiptsSent, streams, curated, score }
  })()
  const { contribSent, statusSent, receiptsSent, streams, curated, score } = await flooded.finally(() => {
    stop.done = true
  })
  const polled = await polling
  const heapAfter = await Promise.all(net.nodes.map((_, i) => heapUsed(i)))
  const growth = heapAfter.map((h, i) => h - heapBefore[i]!)
  console.log(
    `  flood: ${contribSent} contribution, ${statusSent} status and ${receiptsSent} receipt messages, ${streams} block-sync streams; ` +
      `API ${polled.requests} requests, ${polled.failures.length} failed; hostile score on node 0 ${score.toFixed(1)}; ` +
      `heap growth ${growth.map((g) => `${(g / 2 ** 20).toFixed(1)} MiB`).join(', ')}; curated ${curated.join(', ')}`,
  )
  assert.equal(polled.failures, [], 'every API request during the flood answered in time')
  for (const g of growth) assert.ok(g < MAX_HEAP_GROWTH_BYTES, `heap grew ${g} bytes`)
  // No forged receipt reached any mempool.
  for (let i = 0; i < net.nodes.length; i++)
    assert.equal((await getJson(`${api(i)}/v1/receipts`)).receipts, [], `node ${i} holds no forged receipt`)
  // The renamed copies never displaced the genuine record.
  assert.not.ok(curated.some((n: string) => n.startsWith('renamed-')))
  // Node 0 still shows its own status for node 0's PeerId on the others (no takeover).
  const peersOf1 = await getJson(`${api(1)}/v1/peers`)
  const node0 = peersOf1.peers.find((p: { peerId: string }) => p.peerId === net.nodes[0]!.peerId)
  assert.is(node0?.status?.account, net.nodes[0]!.account)
})

test.run()
