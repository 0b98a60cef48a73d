// `npm run bench -- receipts [--quick]`: how fast one core validates receipts arriving on gossip, against
// the native secp256k1 recovery alone, and what a 10x overload does to memory and to the node's API;
// written to bench/results/receipts.json.
//
// receiptsValidatedPerSec: the receipts topic's own decode and validator (protocols/receipts/
// receipt-gossip.ts) on distinct valid receipts made beforehand, through a GossipQueue with the topic's
// policy (16 validations at once, as the node runs them): protobuf decode with bounds, the static rules
// (attribution order and weights, fee, deadline, the output's keccak), the registry prices and the client's
// balance (served from memory, as the node's per-block chain cache serves them), the EIP-712 digests of the
// authorization and of the receipt (hash-wasm), both native recoveries, and the mempool's durable write to
// a real level database on disk. rawRecoverPerSec: `secp256k1.ecdsaRecover` alone over the same
// signatures. ratio = receiptsValidatedPerSec / (rawRecoverPerSec / 2): two recoveries per receipt are the
// floor (goal >= 0.8). The process runs pinned to one core where `taskset` exists (machine.pinnedToOneCore).
// validation.stagesUs: each stage alone over one more round (decode, static checks, both digests and
// recoveries, the mempool's write), in microseconds per receipt, against the pipeline's whole cost.
//
// Overload: receipts are offered at 10x the measured sustainable rate for OVERLOAD_SECONDS through the same
// bounded queue (the excess is shed), while a client polls the node's HTTP API (GET /healthz on a
// createApi server in this process) back to back; overloadHeapGrowthMB is the heap after (post-GC) minus
// before, overloadApiP99Ms the API's p99 latency during the overload.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { Level } from 'level'
import { Registry } from 'prom-client'
import type secp256k1Api from 'secp256k1'
import { bytesToHex, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { createApi } from '../node/api/server.ts'
import { GossipQueue } from '../node/gossip-queue.ts'
import { openLedgerDomain } from '../protocols/common/eip712.ts'
import { GossipValidationError } from '../protocols/common/gossip.ts'
import { Mempool } from '../protocols/receipts/mempool.ts'
import { type PaymentAuthorization, paymentHasher } from '../protocols/receipts/payment-authorization.ts'
import {
  checkReceipt,
  outputHashOf,
  type Receipt,
  receiptHasher,
  verifyReceiptSignatures,
} from '../protocols/receipts/receipt.ts'
import { RECEIPTS_QUEUE, receiptsTopic } from '../protocols/receipts/receipt-gossip.ts'
import { decodeReceipt, encodeReceipt } from '../protocols/receipts/receipt-wire.ts'

// One core: re-run this file under `taskset -c 0` once (the level database's writes still use libuv's
// threads, which the pin keeps on the same core).
if (process.env.OPENLEDGER_BENCH_PINNED === undefined && spawnSync('taskset', ['-V']).status === 0) {
  const result = spawnSync(
    'taskset',
    ['-c', '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, OPENLEDGER_BENCH_PINNED: '1' },
    },
  )
  process.exit(result.status ?? 1)
}

const require = createRequire(import.meta.url)
const secp256k1: typeof secp256k1Api = require('secp256k1/bindings.js')

const quick = process.argv.includes('--quick')
const RECEIPTS = quick ? 4_000 : 20_000
const ROUNDS = quick ? 2 : 4
const OVERLOAD_SECONDS = quick ? 3 : 10
const CLIENTS = 64
const NODES = 8
const round = (x: number, d = 3) => Number(x.toFixed(d))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.ceil(q * xs.length) - 1]!

const domain = openLedgerDomain({ chainId: 31337, ledger: '0x5fbDb2315678afeCB367F642D93ceB2f0aa7e4a1' })
const from = peerIdFromString('12D3KooWLRPJAA5o6v7uvFM7rNPGq2fUTeHvfhGrcFrV4Sfs7n4u')

// ---- receipts, signed with the native binding (viem would take minutes for this many) ----

interface Key {
  secret: Uint8Array
  address: Hex
}
const keys = (n: number): Key[] =>
  Array.from({ length: n }, () => {
    const secret = generatePrivateKey()
    return { secret: Buffer.from(secret.slice(2), 'hex'), address: privateKeyToAccount(secret).address }
  })
const clients = keys(CLIENTS)
const nodes = keys(NODES)

function sign(digest: Uint8Array, key: Key): Hex {
  const { signature, recid } = secp256k1.ecdsaSign(digest, key.secret)
  return bytesToHex(Uint8Array.of(...signature, 27 + recid))
}

interface Made {
  bytes: Uint8Array
  /** for the raw baseline: both (signature, digest) pairs */
  pairs: Array<{ signature64: Uint8Array; recid: number; digest: Uint8Array }>
}

const payment = paymentHasher(domain)
const receiptDigest = receiptHasher(domain)
const nowS = Math.floor(Date.now() / 1000)
let serial = 0
function makeReceipt(): Made {
  const client = clients[serial % CLIENTS]!
  const node = nodes[serial % NODES]!
  serial++
  const requestId = bytesToHex(crypto.getRandomValues(new Uint8Array(32)))
  const authorization: PaymentAuthorization = {
    client: client.address,
    node: node.address,
    model: 1n,
    adapter: 0n,
    maxFee: 10n ** 15n,
    requestId,
    deadline: BigInt(nowS + 3000),
  }
  const output = `answer ${serial}: a short generated passage of some forty tokens, as a chat turn has`
  const authorizationDigest = payment(authorization as never)
  const receipt: Receipt = {
    authorization,
    clientSignature: sign(authorizationDigest, client),
    fee: 60n,
    inputTokens: 12,
    outputTokens: 24,
    outputHash: outputHashOf(output),
    attribution: [
      { datanetId: 1n, version: 3n, contributionIndex: BigInt(serial % 1000), weightPpm: 400_000 },
      { datanetId: 1n, version: 3n, contributionIndex: 1000n + BigInt(serial % 1000), weightPpm: 200_000 },
      { datanetId: 2n, version: 1n, contributionIndex: 7n, weightPpm: 50_000 },
    ],
    attributionParams: 'ol-attr-2',
    servedAt: BigInt(nowS),
  }
  const digest = receiptDigest(receipt as never)
  const nodeSignature = sign(digest, node)
  const pair = (sig: Hex, d: Uint8Array) => {
    const b = Buffer.from(sig.slice(2), 'hex')
    return { signature64: b.subarray(0, 64), recid: b[64]! - 27, digest: d }
  }
  return {
    bytes: encodeReceipt({ receipt, nodeSignature, output }),
    pairs: [pair(receipt.clientSignature, authorizationDigest), pair(nodeSignature, digest)],
  }
}

// ---- the validator, on a real level database ----

const dir = await mkdtemp(join(tmpdir(), 'openledger-bench-receipts-'))
const level = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
await level.open()

async function freshTopic() {
  const mempool = await Mempool.open(level, {
    prefix: 0x20,
    maxReceipts: 10_000_000,
    epochOf: (s) => s / 600n,
  })
  const prices = { priceIn: 1_000n, priceOut: 2_000n }
  const balance = { funded: 10n ** 24n, spent: 0n, reserved: 0n }
  return receiptsTopic({ domain, mempool, prices: async () => prices, balance: async () => balance })
}

const outcomes = new Map<string, number>()
const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1)

/** Validates `batch` through a GossipQueue with the topic's policy; returns receipts per second. */
async function validateAll(batch: Uint8Array[]): Promise<number> {
  const topic = await freshTopic()
  const queue = new GossipQueue<Uint8Array>(
    { ...RECEIPTS_QUEUE, maxLength: batch.length },
    {
      run: async (bytes) => {
        try {
          await topic.validate(topic.decode(bytes), from)
          count('ACCEPT')
        } catch (err) {
          count(err instanceof GossipValidationError ? `${err.type.action} ${err.code}` : 'ERROR')
        }
      },
    },
  )
  const started = performance.now()
  for (const bytes of batch) queue.push(bytes)
  await queue.onIdle()
  return batch.length / ((performance.now() - started) / 1000)
}

function rawRecoverPerSec(pairs: Made['pairs']): number {
  const started = performance.now()
  for (const p of pairs) secp256k1.ecdsaRecover(p.signature64, p.recid, p.digest, false)
  return pairs.length / ((performance.now() - started) / 1000)
}

const makeStarted = performance.now()
// rounds[0] warms up, rounds[ROUNDS + 1] feeds the per-stage breakdown
const rounds = Array.from({ length: ROUNDS + 2 }, () => Array.from({ length: RECEIPTS }, makeReceipt))
const makeSeconds = (performance.now() - makeStarted) / 1000
// warm-up: one round of each, not counted
await validateAll(rounds[0]!.map((m) => m.bytes))
rawRecoverPerSec(rounds[0]!.flatMap((m) => m.pairs))
outcomes.clear()
const validated: number[] = []
const raw: number[] = []
for (let i = 1; i <= ROUNDS; i++) {
  raw.push(rawRecoverPerSec(rounds[i]!.flatMap((m) => m.pairs)))
  validated.push(await validateAll(rounds[i]!.map((m) => m.bytes)))
}
const receiptsValidatedPerSec = Math.round(median(validated))
const rawRecover = Math.round(median(raw))
const ratio = round(receiptsValidatedPerSec / (rawRecover / 2))

// ---- where the time goes: each stage alone over one more round, in microseconds per receipt ----

async function stages(made: Made[]) {
  const n = made.length
  const us = (started: number) => round(((performance.now() - started) * 1000) / n, 1)
  const bytes = made.map((m) => m.bytes)
  let started = performance.now()
  const decoded = bytes.map((b) => decodeReceipt(b))
  const decodeUs = us(started)
  started = performance.now()
  for (const signed of decoded) checkReceipt(signed)
  const staticChecksUs = us(started)
  started = performance.now()
  for (const signed of decoded) verifyReceiptSignatures(signed, domain)
  const signaturesUs = us(started)
  started = performance.now()
  for (const p of made.flatMap((m) => m.pairs))
    secp256k1.ecdsaRecover(p.signature64, p.recid, p.digest, false)
  const rawRecoverPairUs = us(started)
  // The mempool's durable write as the topic drives it: 16 at once, group-committed.
  const mempool = await Mempool.open(level, {
    prefix: 0x24,
    maxReceipts: 10_000_000,
    epochOf: (s) => s / 600n,
  })
  let next = 0
  started = performance.now()
  await Promise.all(
    Array.from({ length: RECEIPTS_QUEUE.concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await mempool.add(decoded[i]!, undefined, bytes[i])
    }),
  )
  const persistUs = us(started)
  const pipelineUs = round(1e6 / receiptsValidatedPerSec, 1)
  return {
    decodeUs,
    staticChecksUs,
    signaturesUs,
    rawRecoverPairUs,
    persistUs,
    pipelineUs,
    // What the pipeline adds beyond its stages run alone: the queue, awaits, lookups and the garbage they make.
    otherUs: round(pipelineUs - decodeUs - staticChecksUs - signaturesUs - persistUs, 1),
    // The best ratio reachable with the durable write as it is and everything else free.
    ratioCeilingWithPersist: round(rawRecoverPairUs / (rawRecoverPairUs + persistUs)),
  }
}
const stagesUs = await stages(rounds[ROUNDS + 1]!)

// ---- overload: 10x the sustainable rate for a bounded time, with the API polled throughout ----

const app = createApi(
  { ready: () => true, nodeInfo: () => ({}), peers: async () => [], metrics: new Registry() },
  [],
  { token: 'bench-token-0123456789', apiHost: '127.0.0.1', allowedHosts: [] },
)
await app.listen({ host: '127.0.0.1', port: 0 })
const apiUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/healthz`
const overloadTopic = await freshTopic()
const shed = { count: 0 }
const overloadQueue = new GossipQueue<Uint8Array>(RECEIPTS_QUEUE, {
  run: async (bytes) => {
    await overloadTopic.validate(overloadTopic.decode(bytes), from).catch(() => {})
  },
  onDrop: () => shed.count++,
})
const offeredPerSec = receiptsValidatedPerSec * 10
const offered = Array.from({ length: Math.ceil(offeredPerSec * OVERLOAD_SECONDS) }, makeReceipt).map(
  (m) => m.bytes,
)
globalThis.gc?.()
const heapBefore = process.memoryUsage().heapUsed
const apiMs: number[] = []
let overloadOver = false
const poller = (async () => {
  while (!overloadOver) {
    const started = performance.now()
    const res = await fetch(apiUrl)
    await res.arrayBuffer()
    apiMs.push(performance.now() - started)
  }
})()
const overloadStarted = performance.now()
// Offered in 10 ms ticks at the target rate; the queue sheds what it cannot hold.
let sent = 0
while (sent < offered.length) {
  const due = Math.min(
    offered.length,
    Math.ceil(((performance.now() - overloadStarted) / 1000) * offeredPerSec),
  )
  while (sent < due) overloadQueue.push(offered[sent++]!)
  await new Promise((r) => setTimeout(r, 10))
}
const offerSeconds = (performance.now() - overloadStarted) / 1000
await overloadQueue.onIdle()
overloadOver = true
await poller
globalThis.gc?.()
const heapAfter = process.memoryUsage().heapUsed
await app.close()
await level.close()
await rm(dir, { recursive: true, force: true })

const result = {
  benchmark: 'receipts',
  quick,
  summary: {
    receiptsValidatedPerSec,
    rawRecoverPerSec: rawRecover,
    ratio,
    ratioGoal: 0.8,
    ratioGoalMet: ratio >= 0.8,
    overloadHeapGrowthMB: round((heapAfter - heapBefore) / 2 ** 20, 1),
    overloadApiP99Ms: round(quantile(apiMs, 0.99)),
  },
  validation: {
    receiptsPerRound: RECEIPTS,
    rounds: ROUNDS,
    validatedPerSecRounds: validated.map((x) => Math.round(x)),
    rawRecoverPerSecRounds: raw.map((x) => Math.round(x)),
    outcomes: Object.fromEntries(outcomes),
    concurrency: RECEIPTS_QUEUE.concurrency,
    stagesUs,
    receiptBytes: rounds[1]![0]!.bytes.length,
    makeSeconds: round(makeSeconds),
  },
  overload: {
    offeredPerSec,
    offered: offered.length,
    offerSeconds: round(offerSeconds),
    shed: shed.count,
    queueMaxLength: RECEIPTS_QUEUE.maxLength,
    apiRequests: apiMs.length,
    apiP50Ms: round(quantile(apiMs, 0.5)),
    heapBeforeMB: round(heapBefore / 2 ** 20, 1),
    heapAfterMB: round(heapAfter / 2 ** 20, 1),
    gcExposed: typeof globalThis.gc === 'function',
  },
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    loadavg: loadavg().map((x) => round(x, 2)),
    pinnedToOneCore: process.env.OPENLEDGER_BENCH_PINNED === '1',
    affinity: (() => {
      try {
        return execFileSync('taskset', ['-pc', String(process.pid)])
          .toString()
          .trim()
      } catch {
        return null
      }
    })(),
  },
}
await mkdir(new URL('./results/', import.meta.url), { recursive: true })
await writeFile(new URL('./results/receipts.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`)
console.log(JSON.stringify(result, null, 2))
