// Datanet replication: a node that serves a Datanet fetches the latest version's manifest and every block
// of every contribution, checks each block against its CID and the version's byte budget, pins the
// manifest recursively, hands the blocks to the reprovider (reprovider.ts: announce on the DHT, re-announce,
// retry with backoff), and follows new versions by polling the registry.
//
// Fetching: block sync first (block-sync.ts: the whole version over one stream from one provider), then a
// breadth-first walk (dag-walk.ts) with `fetchConcurrency` gets in flight for whatever is still missing, so
// bitswap has many wants outstanding at once (Helia's pin walker fetches one block at a time, which kept
// the first measurements near 40 MB/s); the pin is then taken offline over blocks already held.

import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { BlockVerifyError, collectBlock } from '../common/blocks.ts'
import { parseCid } from '../common/cid.ts'
import { OpenLedgerError } from '../common/errors.ts'
import { mapConcurrent } from '../common/iterables.ts'
import { type DagWalkSource, walkDag } from './dag-walk.ts'
import { decodeManifest, type Manifest, ManifestError } from './manifest.ts'
import { DatanetError, type DatanetId, type DatanetVersion, type DatanetVersionReader } from './registry.ts'
import { nodeTimers, Reprovider, type ReproviderInit, type Timers } from './reprovider.ts'
import { ByteBudgetError, VersionByteBudget } from './version-budget.ts'

export const DEFAULT_POLL_INTERVAL_MS = 30_000
/** Blocks requested at once while fetching a version: enough to keep bitswap's pipes full over loopback and LAN. */
export const DEFAULT_FETCH_CONCURRENCY = 64
/** `status` looks providers up this many at once. */
export const DEFAULT_STATUS_CONCURRENCY = 8
export const DEFAULT_BLOCK_TIMEOUT_MS = 60_000
export const DEFAULT_FIND_PROVIDERS_TIMEOUT_MS = 5_000
/** `status` asks the DHT about at most this many blocks, and counts at most this many providers per block. */
export const DEFAULT_STATUS_MAX_BLOCKS = 64
export const DEFAULT_STATUS_MAX_PROVIDERS = 20
/** Peers asked for a whole-DAG block sync before falling back to bitswap alone. */
export const DEFAULT_BLOCK_SYNC_MAX_PEERS = 3
/** One whole-version block sync (100 MB at 20 MB/s is 5 s). */
export const DEFAULT_BLOCK_SYNC_TIMEOUT_MS = 5 * 60_000

export type ReplicationErrorCode =
  | 'BLOCK_CID_MISMATCH'
  | 'UNSUPPORTED_HASH'
  | 'NO_PEERS'
  | 'NOT_SERVED'
  | 'FETCH_FAILED'
  | 'STOPPED'
export class ReplicationError extends OpenLedgerError<{
  code: ReplicationErrorCode
  cid?: string
  datanetId?: string
}> {}

/** The parts of Helia this service uses (a test can hand it fakes). */
export interface ReplicatorHelia {
  blockstore: {
    get(
      cid: CID,
      options?: AbortOptions & { offline?: boolean },
    ): Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | Promise<Uint8Array>
    has(cid: CID, options?: AbortOptions): boolean | Promise<boolean>
  }
  pins: {
    add(cid: CID, options?: AbortOptions & { offline?: boolean }): AsyncIterable<CID>
    isPinned(cid: CID, options?: AbortOptions): Promise<boolean>
  }
  routing: {
    provide(cid: CID, options?: AbortOptions): Promise<void>
    findProviders(cid: CID, options?: AbortOptions): AsyncIterable<{ id: { toString(): string } }>
  }
  getCodec(
    code: number,
  ):
    | Promise<{ decode(bytes: Uint8Array): unknown; code: number; name?: string }>
    | { decode(bytes: Uint8Array): unknown; code: number }
}

export interface ReplicatorLogger {
  info(msg: string): void
  warn(msg: string): void
  debug(msg: string): void
}

/** A peer as routing and libp2p hand it out. */
export interface ReplicatorPeer {
  toString(): string
}

/**
 * Streaming block sync (protocols/datanet/block-sync.ts): fetches a whole DAG from one peer over one
 * stream, each block verified against its CID before it is stored.
 */
export interface ReplicatorBlockSync {
  syncDag(
    peer: ReplicatorPeer,
    root: CID,
    options: AbortOptions,
  ): Promise<{ blocks: CID[]; bytes: number; complete: boolean }>
  /** peers to ask, best first; default: providers of the root found through routing */
  peers?(root: CID, options: AbortOptions): Iterable<ReplicatorPeer> | AsyncIterable<ReplicatorPeer>
}

export interface DatanetReplicatorComponents {
  helia: ReplicatorHelia
  /** when given, replicate() first syncs the whole version from one peer, then fills gaps through bitswap */
  blockSync?: ReplicatorBlockSync
  registry: DatanetVersionReader
  /** connected peers now; with none, a provide is retried instead of counted as done */
  peerCount(): number
  logger?: ReplicatorLogger
  /** milliseconds since the epoch (Date.now by default) */
  now?: () => number
  timers?: Timers
}

export interface DatanetReplicatorInit extends ReproviderInit {
  pollIntervalMs?: number
  fetchConcurrency?: number
  blockTimeoutMs?: number
  findProvidersTimeoutMs?: number
  statusMaxBlocks?: number
  statusMaxProviders?: number
  blockSyncMaxPeers?: number
  blockSyncTimeoutMs?: number
}

export interface ReplicatedVersion {
  datanetId: string
  version: number
  manifestCid: CID
  manifest: Manifest
  /** every block of the version, manifest first, breadth-first (previous manifests included) */
  blocks: CID[]
  bytes: number
}

export interface ServeResult {
  datanetId: string
  version: number
  manifestCid: string
  blocks: number
  bytes: number
}

export interface ChunkProviders {
  cid: string
  providers: number
}

export interface DatanetReplicaStatus {
  datanetId: string
  served: boolean
  versions: DatanetVersion[]
  latestManifestCid: string | null
  /** blocks reachable from the latest manifest through blocks held here (a lower bound while incomplete) */
  blocksTotal: number
  blocksHeld: number
  complete: boolean
  bytesHeld: number
  providers: ChunkProviders[]
  lastProvidedAt: number | null
  lastError: string | null
}

interface Served {
  id: bigint
  version: number
  manifestCid: CID | null
  blocks: CID[]
  lastError: string | null
  pollTimer?: unknown
  syncing?: Promise<ServeResult | null>
}

const silent: ReplicatorLogger = { info() {}, warn() {}, debug() {} }

export class DatanetReplicator {
  private readonly components: DatanetReplicatorComponents
  private readonly init: Required<Omit<DatanetReplicatorInit, keyof ReproviderInit>>
  private readonly reprovider: Reprovider
  private readonly log: ReplicatorLogger
  private readonly timers: Timers
  private readonly now: () => number
  private readonly served = new Map<string, Served>()
  private controller = new AbortController()
  private running = false

  constructor(components: DatanetReplicatorComponents, init: DatanetReplicatorInit = {}) {
    this.components = components
    this.log = components.logger ?? silent
    this.timers = components.timers ?? nodeTimers
    this.now = components.now ?? Date.now
    this.reprovider = new Reprovider(
      {
        routing: components.helia.routing,
        peerCount: () => components.peerCount(),
        logger: this.log,
        timers: this.timers,
        now: this.now,
      },
      init,
    )
    this.init = {
      pollIntervalMs: init.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      fetchConcurrency: init.fetchConcurrency ?? DEFAULT_FETCH_CONCURRENCY,
      blockTimeoutMs: init.blockTimeoutMs ?? DEFAULT_BLOCK_TIMEOUT_MS,
      findProvidersTimeoutMs: init.findProvidersTimeoutMs ?? DEFAULT_FIND_PROVIDERS_TIMEOUT_MS,
      statusMaxBlocks: init.statusMaxBlocks ?? DEFAULT_STATUS_MAX_BLOCKS,
      statusMaxProviders: init.statusMaxProviders ?? DEFAULT_STATUS_MAX_PROVIDERS,
      blockSyncMaxPeers: init.blockSyncMaxPeers ?? DEFAULT_BLOCK_SYNC_MAX_PEERS,
      blockSyncTimeoutMs: init.blockSyncTimeoutMs ?? DEFAULT_BLOCK_SYNC_TIMEOUT_MS,
    }
  }

  readonly [Symbol.toStringTag] = 'openledger/datanet-replicator'

  isStarted(): boolean {
    return this.running
  }

  start(): void {
    if (this.running) return
    this.controller = new AbortController()
    this.running = true
  }

  /** Stops every timer and aborts fetches and announcements in flight. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    const stopped = new ReplicationError({ code: 'STOPPED' }, 'replicator stopped')
    this.controller.abort(stopped)
    this.reprovider.stop(stopped)
    const pending: Promise<unknown>[] = []
    for (const s of this.served.values()) {
      this.timers.clearTimeout(s.pollTimer)
      if (s.syncing) pending.push(s.syncing.catch(() => {}))
    }
    await Promise.all(pending)
    this.served.clear()
  }

  /** Datanet ids served now. */
  servedDatanets(): string[] {
    return [...this.served.keys()]
  }

  /**
   * Serves a Datanet: replicates its latest version (resolves when every block is held, verified and
   * pinned, and the first announcement was attempted), then keeps announcing and follows new versions.
   * An unknown Datanet or a manifest that does not match its CID is refused and nothing is stored.
   * A Datanet with no version yet is watched until one is published (resolves null).
   */
  async serve(datanetId: DatanetId, options: AbortOptions = {}): Promise<ServeResult | null> {
    this.assertRunning()
    const id = BigInt(datanetId)
    const key = id.toString()
    let s = this.served.get(key)
    const isNew = s === undefined
    if (!s) {
      // Existence check first, so an unknown Datanet is refused before it is remembered.
      await this.latestOrZero(id)
      s = {
        id,
        version: 0,
        manifestCid: null,
        blocks: [],
        lastError: null,
      }
      this.served.set(key, s)
    }
    try {
      return await this.sync(s, options)
    } catch (err) {
      // Content that fails verification is refused outright; anything else (network, chain) is retried
      // by the poll loop.
      if (
        isNew &&
        (err instanceof ManifestError ||
          err instanceof ByteBudgetError ||
          (err instanceof BlockVerifyError && err.code === 'BLOCK_CID_MISMATCH'))
      ) {
        this.unserve(id)
      }
      throw err
    } finally {
      this.schedulePoll(s)
    }
  }

  /** Stops serving a Datanet (blocks and pins stay). */
  unserve(datanetId: DatanetId): void {
    const key = BigInt(datanetId).toString()
    const s = this.served.get(key)
    if (!s) return
    this.timers.clearTimeout(s.pollTimer)
    this.reprovider.cancel(key)
    this.served.delete(key)
  }

  /**
   * Fetches a version's manifest and every block it links to, checks each block against its CID and the
   * byte budget its manifests allow (version-budget.ts), and pins the manifest. Throws before storing
   * anything when the manifest does not match its CID.
   */
  async replicate(manifestCid: CID, options: AbortOptions = {}): Promise<ReplicatedVersion> {
    const signal = this.signal(options.signal)
    // Block sync first (when configured): one stream per version instead of a round trip per block.
    // Whatever it did not deliver is fetched below through bitswap, so correctness never depends on it.
    const synced = await this.blockSync(manifestCid, signal)
    const manifestBytes = await this.getBlock(manifestCid, { signal })
    const manifest = await decodeManifest(manifestCid, manifestBytes)
    // Walk from the manifest itself: its links are every contribution and the previous version's
    // manifest (whose contributions this one repeats), exactly what the recursive pin will cover.
    // A complete block sync already verified every block and knows the DAG: no second walk.
    const { blocks, bytes } = synced?.complete
      ? synced
      : await walkDag([manifestCid], this.walkSource, {
          offline: false,
          concurrency: this.init.fetchConcurrency,
          budget: new VersionByteBudget(manifestCid),
          signal,
        })
    if (!(await this.components.helia.pins.isPinned(manifestCid, { signal }))) {
      // Every block is already here: the recursive pin walks the local store only.
      for await (const _ of this.components.helia.pins.add(manifestCid, { signal, offline: true })) {
        // drain
      }
    }
    this.log.debug(`replicated ${manifestCid}: ${blocks.length} blocks, ${bytes} bytes, pinned`)
    return {
      datanetId: manifest.datanetId,
      version: manifest.version,
      manifestCid,
      manifest,
      blocks,
      bytes,
    }
  }

  /**
   * Asks up to `blockSyncMaxPeers` peers, one at a time, for the whole DAG under `root`; returns the
   * first complete sync, or null (a peer without the root, a failure or a partial sync moves on; blocks
   * a failed sync verified and stored stay, and the bitswap walk finds them locally).
   */
  private async blockSync(root: CID, signal: AbortSignal) {
    const sync = this.components.blockSync
    if (!sync) return null
    let tried = 0
    try {
      const peers = sync.peers ? sync.peers(root, { signal }) : this.findProviderPeers(root, signal)
      for await (const peer of peers) {
        if (tried++ >= this.init.blockSyncMaxPeers) break
        const timeout = AbortSignal.any([signal, AbortSignal.timeout(this.init.blockSyncTimeoutMs)])
        try {
          const got = await sync.syncDag(peer, root, { signal: timeout })
          if (got.complete) {
            this.log.debug(`block sync ${root} from ${peer}: ${got.blocks.length} blocks, ${got.bytes} bytes`)
            return got
          }
          this.log.debug(`block sync ${root} from ${peer}: partial (${got.blocks.length} blocks)`)
        } catch (err) {
          if (signal.aborted) throw signal.reason
          this.log.debug(`block sync ${root} from ${peer}: ${(err as Error).message}`)
        }
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason
      this.log.debug(`block sync ${root}: finding peers failed: ${(err as Error).message}`)
    }
    return null
  }

  private async *findProviderPeers(root: CID, signal: AbortSignal): AsyncIterable<ReplicatorPeer> {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(this.init.findProvidersTimeoutMs)])
    for await (const p of this.components.helia.routing.findProviders(root, { signal: timeout })) yield p.id
  }

  /** Versions on chain, local completeness of the latest one, and the providers found for its blocks. */
  async status(datanetId: DatanetId, options: AbortOptions = {}): Promise<DatanetReplicaStatus> {
    const id = BigInt(datanetId)
    const signal = this.signal(options.signal)
    const latest = await this.latestOrZero(id)
    const versions: DatanetVersion[] = []
    for (let v = 1; v <= latest; v++) versions.push(await this.components.registry.getVersion(id, v))
    const s = this.served.get(id.toString())
    const provided = this.reprovider.state(id.toString())
    const base = {
      datanetId: id.toString(),
      served: s !== undefined,
      versions,
      lastProvidedAt: provided.lastProvidedAt,
      lastError: s?.lastError ?? provided.lastError,
    }
    if (latest === 0) {
      return {
        ...base,
        latestManifestCid: null,
        blocksTotal: 0,
        blocksHeld: 0,
        complete: false,
        bytesHeld: 0,
        providers: [],
      }
    }
    const manifestCid = manifestCidOf(versions[latest - 1].manifestCid, id)
    const local = await this.localCompleteness(manifestCid, signal)
    const providers = await this.countProviders(local.known.slice(0, this.init.statusMaxBlocks), signal)
    return {
      ...base,
      latestManifestCid: manifestCid.toString(),
      blocksTotal: local.total,
      blocksHeld: local.held,
      complete: local.complete,
      bytesHeld: local.bytes,
      providers,
      lastError: base.lastError ?? local.error,
    }
  }

  private async sync(s: Served, options: AbortOptions): Promise<ServeResult | null> {
    if (s.syncing) return s.syncing
    s.syncing = (async () => {
      const latest = await this.latestOrZero(s.id)
      if (latest === 0 || latest <= s.version) return s.manifestCid ? this.result(s) : null
      const version = await this.components.registry.getVersion(s.id, latest)
      const manifestCid = manifestCidOf(version.manifestCid, s.id)
      const started = this.now()
      const replicated = await this.replicate(manifestCid, options)
      if (replicated.manifest.datanetId !== s.id.toString()) {
        this.log.warn(
          `datanet ${s.id}: version ${latest} manifest names Datanet ${replicated.manifest.datanetId}`,
        )
      }
      s.version = latest
      s.manifestCid = manifestCid
      s.blocks = replicated.blocks
      s.lastError = null
      this.log.info(
        `datanet ${s.id}: version ${latest} held (${replicated.blocks.length} blocks, ${replicated.bytes} bytes, ${this.now() - started} ms)`,
      )
      if (this.running && this.served.get(s.id.toString()) === s) {
        await this.reprovider.provide(s.id.toString(), s.blocks)
      }
      return {
        datanetId: s.id.toString(),
        version: latest,
        manifestCid: manifestCid.toString(),
        blocks: replicated.blocks.length,
        bytes: replicated.bytes,
      }
    })()
    try {
      return await s.syncing
    } catch (err) {
      s.lastError = (err as Error).message
      throw err
    } finally {
      s.syncing = undefined
    }
  }

  private result(s: Served): ServeResult {
    return {
      datanetId: s.id.toString(),
      version: s.version,
      manifestCid: String(s.manifestCid),
      blocks: s.blocks.length,
      bytes: 0,
    }
  }

  private schedulePoll(s: Served) {
    if (!this.running || this.served.get(s.id.toString()) !== s) return
    this.timers.clearTimeout(s.pollTimer)
    s.pollTimer = this.timers.setTimeout(() => {
      this.sync(s, {})
        .catch((err) =>
          this.log.warn(`datanet ${s.id}: following versions failed: ${(err as Error).message}`),
        )
        .finally(() => this.schedulePoll(s))
    }, this.init.pollIntervalMs)
  }

  private async latestOrZero(id: bigint): Promise<number> {
    try {
      return await this.components.registry.latestVersion(id)
    } catch (err) {
      if (err instanceof DatanetError && err.code === 'NO_VERSIONS') return 0
      throw err
    }
  }

  /** What the DAG walk reads through: Helia's blockstore (bitswap when online) and codecs. */
  private readonly walkSource: DagWalkSource = {
    getBlock: (cid, options) => this.getBlock(cid, options),
    has: async (cid, options) => this.components.helia.blockstore.has(cid, options),
    getCodec: (code) => this.components.helia.getCodec(code),
  }

  private async localCompleteness(manifestCid: CID, signal: AbortSignal) {
    if (!(await this.components.helia.blockstore.has(manifestCid, { signal }))) {
      return { known: [manifestCid], held: 0, total: 1, complete: false, bytes: 0, error: null }
    }
    try {
      await decodeManifest(manifestCid, await this.getBlock(manifestCid, { signal, offline: true }))
      const walked = await walkDag([manifestCid], this.walkSource, {
        offline: true,
        concurrency: this.init.fetchConcurrency,
        signal,
      })
      // Missing blocks are known by CID too (a held parent links them), so they count towards the total.
      return {
        known: walked.blocks,
        held: walked.blocks.length,
        total: walked.known,
        complete: walked.missing === 0,
        bytes: walked.bytes,
        error: null,
      }
    } catch (err) {
      if (err instanceof ReplicationError && err.code === 'STOPPED') throw err
      return {
        known: [manifestCid],
        held: 0,
        total: 1,
        complete: false,
        bytes: 0,
        error: (err as Error).message,
      }
    }
  }

  private async countProviders(cids: CID[], signal: AbortSignal): Promise<ChunkProviders[]> {
    return mapConcurrent(cids, DEFAULT_STATUS_CONCURRENCY, async (cid) => {
      const peers = new Set<string>()
      const timeout = AbortSignal.any([signal, AbortSignal.timeout(this.init.findProvidersTimeoutMs)])
      try {
        for await (const p of this.components.helia.routing.findProviders(cid, { signal: timeout })) {
          peers.add(p.id.toString())
          if (peers.size >= this.init.statusMaxProviders) break
        }
      } catch (err) {
        if (!timeout.aborted) this.log.debug(`findProviders ${cid}: ${(err as Error).message}`)
      }
      return { cid: cid.toString(), providers: peers.size }
    })
  }

  private async getBlock(cid: CID, options: AbortOptions & { offline?: boolean }): Promise<Uint8Array> {
    const signal = options.offline
      ? options.signal
      : AbortSignal.any([
          options.signal ?? this.controller.signal,
          AbortSignal.timeout(this.init.blockTimeoutMs),
        ])
    try {
      return await collectBlock(this.components.helia.blockstore.get(cid, { ...options, signal }))
    } catch (err) {
      if (this.controller.signal.aborted) throw this.controller.signal.reason
      throw new ReplicationError(
        { code: 'FETCH_FAILED', cid: cid.toString() },
        `cannot get block ${cid}: ${(err as Error).message}`,
      )
    }
  }

  private signal(extra?: AbortSignal): AbortSignal {
    return extra ? AbortSignal.any([this.controller.signal, extra]) : this.controller.signal
  }

  private assertRunning() {
    if (!this.running)
      throw new ReplicationError({ code: 'STOPPED' }, 'the Datanet replicator is not started')
  }
}

function manifestCidOf(text: string, id: bigint): CID {
  const cid = parseCid(text)
  if (cid === undefined)
    throw new DatanetError(
      { code: 'INVALID_ARGUMENT', datanetId: id.toString() },
      `Datanet ${id}: manifest CID ${JSON.stringify(text)} on chain is not a CID`,
    )
  return cid
}
