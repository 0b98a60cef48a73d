// `npm run bench -- replication [--quick]`: time and MB/s to replicate a 100 MB Datanet (20 MB with
// --quick) from one node to 3 others over loopback, written to bench/results/replication.json.
//
// One node per process, as in deployment: this process is the origin (a real libp2p node: TCP + noise +
// yamux + kad-dht, and Helia with a level blockstore in a temp dir, bitswap); each replica is its own
// child process (bench/replication-replica.ts) that builds the same node, dials the origin and the
// replicas started before it (so bitswap can fetch from several providers), and is done when
// DatanetReplicator.replicate has every block held, verified against its CID and pinned. The clock runs
// from "every replica told to start" (all connected already) to "every replica done"; children are
// killed on every exit path. Each configuration is measured 1->3 (3 replicas at once) and 1->1 (one
// replica alone). Three configurations on the same bytes:
//   - "helia-default": 256 KiB chunks, dag-pb leaves, default yamux and bitswap, and Helia's own
//     recursive pin (its graph walker fetches one block at a time);
//   - "tuned": the knobs below, and the replicator's concurrent walk.
//   - "block-sync": the tuned chunking, every node serving /openledger/datanet-blocks, and each replica
//     streaming the whole version from its first connected peer that holds it (one stream, each block
//     verified before it is stored; the bitswap walk would fill gaps). Full run, 2 cores: 1->3 8.8 MB/s
//     per replica (tuned 3.5), 1->1 23.7 (tuned 19.2). Not yet near TCP: the 1->3 case is CPU-bound
//     (4 processes, noise + yamux + sha-256 + level on 2 cores); a 4 MiB initial yamux window
//     (BENCH_BLOCK_SYNC_YAMUX) measured 24-30 MB/s 1->1 --quick, within noise, so it is not used.
// Baseline in the same run: a plain TCP copy of the same bytes from this process to 3 (and to 1)
// receiver processes at once.
//
// BENCH_CPU_PROF=DIR writes a V8 CPU profile of every replica process to DIR (node --cpu-prof).
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { unixfs } from '@helia/unixfs'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { encodeManifest, type ManifestEntry } from '../protocols/datanet/manifest.ts'
import { type BenchNode, createNode, type ReplicaArgs, type Variant } from './replication-replica.ts'

const quick = process.argv.includes('--quick')
const MB = 1_000_000
const TOTAL_BYTES = (quick ? 20 : 100) * MB
const CONTRIBUTION_BYTES = 4 * MB
const REPLICAS = 3
/** A transfer that has not finished by then is reported as stalled rather than hanging the run. */
const LIMIT_MS = quick ? 60_000 : 180_000
const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
const CPU_PROF = process.env.BENCH_CPU_PROF

/**
 * The knobs, each kept because it measured faster here:
 * - 1 MiB chunks with raw leaves (UnixFS v1 2025 profile): 4× fewer blocks than 256 KiB, so 4× fewer
 *   wants, block messages, DHT lookups and level writes per byte; raw leaves skip the dag-pb wrapper.
 * - yamux stream window: left at its default. An earlier version of this bench passed the window at the
 *   top level of yamux's options, where it is ignored; passed correctly (streamOptions) a 16 MiB initial
 *   window measured no faster (6.1 vs 7.5 MB/s per replica, within run-to-run noise), so it is not used.
 * - bitswap options left at their defaults: raising the message size to 8 MiB (with more blocks sent
 *   concurrently) stalled transfers here, and 4 MiB messages already carry several 1 MiB blocks.
 * - fetch concurrency 64 (DatanetReplicator default) instead of Helia's one-block-at-a-time pin walk.
 * Tried with one process per node (--quick, tuned, 2-core machine; per replica 1->3 / 1->1 MB/s, same-run
 * default repeated 1.8-4.2 / 12.8-16.6 between runs), none kept:
 * - bitswap sendBlocksConcurrency 4 + sendBlocksMaxQueueLength 64: 3.6 / 10.0 (default 3.4 / 12.8);
 * - bitswap sendBlocksDebounce 1 + sendWantlistDebounce 1 (ms, default 10): 3.7 / 9.7;
 * - bitswap max outgoing + incoming message size 8 MiB (default 2 MiB): fails ("Failed to load block").
 * A CPU profile of a 1->1 replica and of the origin shows both mostly idle (origin: 41 of 55 s idle
 * under the profiler; busiest: protons writeBytesBuffer copying blocks into messages, level get/put,
 * buffer copies, node crypto cipher/hash), so the transfer is paced by bitswap's message round trips,
 * not by one process's CPU; on 2 cores the 1->3 case also has 4 processes sharing them.
 */
export const TUNED = {
  chunkSize: 1024 * 1024,
  rawLeaves: true,
  yamux: {},
  bitswap: {},
  fetchConcurrency: 64,
}

const VARIANTS: Variant[] = [
  {
    name: 'helia-default',
    chunkSize: 256 * 1024,
    rawLeaves: false,
    yamux: {},
    bitswap: {},
    fetchConcurrency: null,
  },
  {
    name: 'tuned',
    ...TUNED,
    // BENCH_TUNED_BITSWAP='{...}': try other bitswap options for the tuned variant (with BENCH_VARIANT=tuned).
    bitswap: process.env.BENCH_TUNED_BITSWAP ? JSON.parse(process.env.BENCH_TUNED_BITSWAP) : TUNED.bitswap,
  },
  // The tuned chunking, moved by /openledger/datanet-blocks (one stream per version, every block verified
  // before it is stored); the replicator's bitswap walk would fill any gap.
  {
    name: 'block-sync',
    ...TUNED,
    // BENCH_BLOCK_SYNC_YAMUX='{...}': yamux stream options to try with block sync (with BENCH_VARIANT=block-sync).
    yamux: process.env.BENCH_BLOCK_SYNC_YAMUX ? JSON.parse(process.env.BENCH_BLOCK_SYNC_YAMUX) : TUNED.yamux,
    blockSync: true,
  },
]

function contribution(seed: number, length: number): Uint8Array {
  // xorshift: incompressible and distinct per contribution, so no block is shared between them.
  const out = new Uint8Array(length)
  const words = new Uint32Array(out.buffer, 0, length >> 2)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x >>> 0
  }
  return out
}

/** A replica (or TCP receiver) process, spoken to in JSON lines. */
class Child {
  readonly proc: ChildProcess
  private readonly queue: Record<string, unknown>[] = []
  private waiter: ((m: Record<string, unknown> | null) => void) | null = null
  private exited = false

  constructor(args: ReplicaArgs) {
    const prof = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []
    this.proc = spawn(
      process.execPath,
      [
        ...prof,
        '--import',
        'tsx',
        '--import',
        '../protocols/common/polyfills.ts',
        'replication-replica.ts',
        JSON.stringify(args),
      ],
      { cwd: BENCH_DIR, stdio: ['pipe', 'pipe', 'inherit'] },
    )
    live.add(this)
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return
      this.queue.push(JSON.parse(line))
      this.wake()
    })
    this.proc.on('exit', () => {
      this.exited = true
      live.delete(this)
      this.wake()
    })
    this.proc.stdin!.on('error', () => {})
  }

  private wake() {
    const w = this.waiter
    this.waiter = null
    w?.(this.queue.shift() ?? null)
  }

  send(msg: Record<string, unknown>) {
    this.proc.stdin!.write(`${JSON.stringify(msg)}\n`)
  }

  /** The next message, which must be of `type` (an 'error' message or the child exiting throws). */
  async next(type: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    const msg =
      this.queue.shift() ??
      (this.exited
        ? null
        : await new Promise<Record<string, unknown> | null>((resolve, reject) => {
            const onAbort = () => reject(new Error(`timed out waiting for '${type}'`))
            signal.throwIfAborted()
            signal.addEventListener('abort', onAbort, { once: true })
            this.waiter = (m) => {
              signal.removeEventListener('abort', onAbort)
              resolve(m)
            }
          }))
    if (msg === null) throw new Error(`replica process exited before '${type}'`)
    if (msg.type === 'error') throw new Error(String(msg.message))
    if (msg.type !== type) throw new Error(`expected '${type}', got ${JSON.stringify(msg)}`)
    return msg
  }

  /** Asks the child to stop (so a CPU profile gets written), kills it if it has not within 5 s. */
  async close() {
    if (this.exited) return
    const gone = new Promise((r) => this.proc.once('exit', r))
    try {
      this.send({ type: 'exit' })
    } catch {}
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5_000)
    await gone
    clearTimeout(t)
  }
}
const live = new Set<Child>()
process.on('exit', () => {
  for (const c of live) c.proc.kill('SIGKILL')
})
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130))

/**
 * Starts `n` children, waits until each is ready (and, for Helia, connected), then starts them all at
 * once; resolves with the wall time from "all told to start" to "all done" and each child's own time.
 */
async function runChildren(
  n: number,
  makeArgs: (i: number) => ReplicaArgs,
  dialList: (i: number, ready: string[][]) => string[][] | null,
  go: Record<string, unknown>,
) {
  const signal = AbortSignal.timeout(LIMIT_MS + 30_000)
  const children = Array.from({ length: n }, (_, i) => new Child(makeArgs(i)))
  try {
    const ready = await Promise.all(children.map((c) => c.next('ready', signal)))
    const addrs = ready.map((m) => m.addrs as string[])
    const dials = children.map((_, i) => dialList(i, addrs))
    if (dials[0] !== null) {
      // One at a time, so replica i dials the ones before it and no pair is connected twice.
      for (const [i, c] of children.entries()) {
        c.send({ type: 'dial', addrs: dials[i] })
        await c.next('dialed', signal)
      }
    }
    const start = performance.now()
    for (const c of children) c.send({ type: 'go', ...go })
    const done = await Promise.all(
      children.map(async (c) => {
        await c.next('done', signal)
        return performance.now() - start
      }),
    )
    return { ms: performance.now() - start, perChildMs: done }
  } finally {
    await Promise.all(children.map((c) => c.close()))
  }
}

function rate(n: number, ms: number, perChildMs: number[]) {
  return {
    seconds: +(ms / 1000).toFixed(3),
    perReplicaSeconds: perChildMs.map((t) => +(t / 1000).toFixed(3)),
    mbPerSecPerReplica: +(TOTAL_BYTES / MB / (ms / 1000)).toFixed(1),
    aggregateMbPerSec: +((n * TOTAL_BYTES) / MB / (ms / 1000)).toFixed(1),
  }
}

async function runVariant(v: Variant, datasets: Uint8Array[]) {
  const root = await mkdtemp(join(tmpdir(), `ol-bench-repl-${v.name}-`))
  let origin: BenchNode | undefined
  try {
    origin = await createNode(join(root, 'origin'), v)
    const fs = unixfs(origin)
    const entries: ManifestEntry[] = []
    const importStart = performance.now()
    for (const [i, bytes] of datasets.entries()) {
      const cid = await fs.addBytes(bytes, {
        rawLeaves: v.rawLeaves,
        cidVersion: 1,
        chunker: fixedSize({ chunkSize: v.chunkSize }),
      } as never)
      entries.push({
        contributor: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        contentCid: cid,
        bytes: bytes.length,
        license: 'CC-BY-4.0',
        createdAt: 1_700_000_000 + i,
        signature: new Uint8Array(65),
      })
    }
    const importMs = performance.now() - importStart
    const manifest = await encodeManifest({
      format: 1,
      datanetId: '1',
      version: 1,
      previous: null,
      contributions: entries,
    })
    await origin.blockstore.put(manifest.cid, manifest.bytes)
    const originAddrs = origin.libp2p.getMultiaddrs().map((a) => a.toString())

    const measure = async (n: number) => {
      const { ms, perChildMs } = await runChildren(
        n,
        (i) => ({
          mode: 'helia',
          variant: v,
          dir: join(root, `${n}-${i}`),
          limitMs: LIMIT_MS,
          expectBytes: TOTAL_BYTES,
        }),
        (i, ready) => [originAddrs, ...ready.slice(0, i)],
        { manifestCid: manifest.cid.toString() },
      )
      return rate(n, ms, perChildMs)
    }
    const many = await measure(REPLICAS)
    const one = await measure(1)
    return {
      name: v.name,
      chunkSize: v.chunkSize,
      rawLeaves: v.rawLeaves,
      yamux: v.yamux,
      bitswap: v.bitswap,
      fetch:
        v.fetchConcurrency === null
          ? 'helia pins.add (serial walk)'
          : v.blockSync
            ? 'DatanetReplicator, block sync (/openledger/datanet-blocks) first, bitswap for gaps'
            : `DatanetReplicator, ${v.fetchConcurrency} blocks in flight`,
      importMs: Math.round(importMs),
      ...many,
      oneToOne: { seconds: one.seconds, mbPerSec: one.mbPerSecPerReplica },
      manifestCid: manifest.cid.toString(),
    }
  } finally {
    await origin?.stop().catch(() => {})
    await rm(root, { recursive: true, force: true })
  }
}

/** This process sends the same bytes over loopback TCP (no framing, hashing or storage) to n receiver processes. */
async function plainTcpCopy(datasets: Uint8Array[], n: number) {
  const total = datasets.reduce((s, d) => s + d.length, 0)
  const server = createServer((socket) => {
    ;(async () => {
      for (const d of datasets) {
        if (!socket.write(d)) await new Promise((r) => socket.once('drain', r))
      }
      socket.end()
    })()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  try {
    const { port } = server.address() as { port: number }
    const { ms, perChildMs } = await runChildren(
      n,
      () => ({ mode: 'tcp', expectBytes: total }),
      () => null,
      { port },
    )
    return {
      seconds: +(ms / 1000).toFixed(3),
      perReceiverSeconds: perChildMs.map((t) => +(t / 1000).toFixed(3)),
      mbPerSecPerReceiver: +(total / MB / (ms / 1000)).toFixed(1),
      aggregateMbPerSec: +((n * total) / MB / (ms / 1000)).toFixed(1),
    }
  } finally {
    server.close()
  }
}

const datasets = Array.from({ length: Math.ceil(TOTAL_BYTES / CONTRIBUTION_BYTES) }, (_, i) =>
  contribution(i + 1, Math.min(CONTRIBUTION_BYTES, TOTAL_BYTES - i * CONTRIBUTION_BYTES)),
)
const tcpMany = await plainTcpCopy(datasets, REPLICAS)
const tcpOne = await plainTcpCopy(datasets, 1)
const only = process.env.BENCH_VARIANT
const variants: Array<{
  name: string
  mbPerSecPerReplica: number
  aggregateMbPerSec: number
  oneToOne: { seconds?: number; mbPerSec: number }
  [k: string]: unknown
}> = []
for (const v of VARIANTS.filter((x) => !only || x.name === only)) {
  try {
    variants.push(await runVariant(v, datasets))
  } catch (err) {
    variants.push({
      name: v.name,
      stalled: true,
      error: (err as Error).message,
      mbPerSecPerReplica: Number.NaN,
      aggregateMbPerSec: Number.NaN,
      oneToOne: { seconds: Number.NaN, mbPerSec: Number.NaN },
    })
  }
}
const pick = (name: string) =>
  variants.find((v) => v.name === name) ?? {
    mbPerSecPerReplica: Number.NaN,
    aggregateMbPerSec: Number.NaN,
    oneToOne: { mbPerSec: Number.NaN },
  }
const tuned = pick('tuned')
const untuned = pick('helia-default')
const synced = pick('block-sync')
const result = {
  benchmark: 'replication',
  quick,
  datanetMB: TOTAL_BYTES / MB,
  contributions: datasets.length,
  replicas: REPLICAS,
  processes: 'origin in the bench process, each replica / TCP receiver in its own child process',
  node: process.version,
  cpus: cpus().length,
  replication: variants,
  baseline: {
    plainTcpCopy: { ...tcpMany, oneToOne: { seconds: tcpOne.seconds, mbPerSec: tcpOne.mbPerSecPerReceiver } },
  },
  summary: {
    tunedMbPerSecPerReplica: tuned.mbPerSecPerReplica,
    tunedAggregateMbPerSec: tuned.aggregateMbPerSec,
    tunedOneToOneMbPerSec: tuned.oneToOne.mbPerSec,
    heliaDefaultMbPerSecPerReplica: untuned.mbPerSecPerReplica,
    heliaDefaultAggregateMbPerSec: untuned.aggregateMbPerSec,
    heliaDefaultOneToOneMbPerSec: untuned.oneToOne.mbPerSec,
    plainTcpMbPerSecPerReceiver: tcpMany.mbPerSecPerReceiver,
    plainTcpOneToOneMbPerSec: tcpOne.mbPerSecPerReceiver,
    tunedToTcpRatio: +(tuned.mbPerSecPerReplica / tcpMany.mbPerSecPerReceiver).toFixed(3),
    tunedToTcpRatioOneToOne: +(tuned.oneToOne.mbPerSec / tcpOne.mbPerSecPerReceiver).toFixed(3),
    tunedToHeliaDefaultSpeedup: +(tuned.mbPerSecPerReplica / untuned.mbPerSecPerReplica).toFixed(2),
    tunedToHeliaDefaultSpeedupOneToOne: +(tuned.oneToOne.mbPerSec / untuned.oneToOne.mbPerSec).toFixed(2),
    blockSyncMbPerSecPerReplica: synced.mbPerSecPerReplica,
    blockSyncAggregateMbPerSec: synced.aggregateMbPerSec,
    blockSyncOneToOneMbPerSec: synced.oneToOne.mbPerSec,
    blockSyncToTunedSpeedup: +(synced.mbPerSecPerReplica / tuned.mbPerSecPerReplica).toFixed(2),
    blockSyncToTunedSpeedupOneToOne: +(synced.oneToOne.mbPerSec / tuned.oneToOne.mbPerSec).toFixed(2),
    blockSyncToTcpRatio: +(synced.mbPerSecPerReplica / tcpMany.mbPerSecPerReceiver).toFixed(3),
    blockSyncToTcpRatioOneToOne: +(synced.oneToOne.mbPerSec / tcpOne.mbPerSecPerReceiver).toFixed(3),
  },
}
console.log(JSON.stringify(result, null, 2))
if (only) process.exit(0) // a partial run (BENCH_VARIANT) does not overwrite the results file
await mkdir('results', { recursive: true })
await writeFile('results/replication.json', `${JSON.stringify(result, null, 2)}\n`)
process.exit(0)
