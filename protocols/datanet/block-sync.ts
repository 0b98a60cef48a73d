// Datanet block sync: one stream moves a whole Datanet version (manifest, previous manifests,
// contributions, chunks), the way Graphsync and CAR streaming do, instead of bitswap's want/have/block
// round trips per block.
//
// The client writes one request {root, cids?}; root is a manifest CID (from the chain). The server walks
// the DAG under root in its own blockstore (offline, breadth-first, reading a few blocks ahead) and streams
// each block as a length-prefixed {cid, data} message, honouring the stream's backpressure, then one
// status message. Neither side trusts the other:
//
// - The server answers every request it can read with a status and never throws across the wire. It
//   serves a limited number of syncs in total and per peer (BUSY past that), closes a stream that makes no
//   progress for `idleTimeoutMs` (a peer that stops reading does not keep its slot), stops at
//   `syncTimeoutMs`, serves each requested block at most once and only if it is reachable from root
//   through blocks held here (NOT_UNDER_ROOT otherwise), and never sends more bytes than root's
//   manifests allow (version-budget.ts; OVER_BUDGET).
// - The client accepts the root first, checks it against its CID and parses it as a manifest before
//   storing anything, derives the version's byte budget from it, and then accepts a block only if it was
//   linked from a block it already verified (or, for an explicit list, was asked for), at most once,
//   matching its CID and within the budget. Verified blocks are stored in batches; while a batch is
//   written and the next one is full, the client pauses the stream, so memory stays bounded when storage
//   is slower than the network.

import type { AbortOptions, Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import type { Uint8ArrayList } from 'uint8arraylist'
import { BlockVerifyError, collectBlock, verifyBlock } from '../common/blocks.ts'
import { parseCid } from '../common/cid.ts'
import { OpenLedgerError } from '../common/errors.ts'
import { mapConcurrent } from '../common/iterables.ts'
import { accountBlock, type CodecSource, linksOf } from './dag-walk.ts'
import { decodeManifest, ManifestError } from './manifest.ts'
import { BlockSyncRequest, BlockSyncResponse } from './pb/block-sync.ts'
import { ByteBudgetError, VersionByteBudget } from './version-budget.ts'

export const BLOCK_SYNC_PROTOCOL_PREFIX = 'openledger'
export const BLOCK_SYNC_PROTOCOL_NAME = 'datanet-blocks'
export const BLOCK_SYNC_PROTOCOL_VERSION = '1.0.0'
export const BLOCK_SYNC_PROTOCOL = `/${BLOCK_SYNC_PROTOCOL_PREFIX}/${BLOCK_SYNC_PROTOCOL_NAME}/${BLOCK_SYNC_PROTOCOL_VERSION}`
/** The largest block a peer may send (bitswap's limit too, and the manifest's). */
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024
/** A response is one block plus its CID and protobuf framing. */
export const MAX_RESPONSE_BYTES = MAX_BLOCK_BYTES + 1024
/** Distinct blocks one request may name: a whole version's gaps at 1 MiB chunks is a few hundred. */
export const MAX_REQUEST_CIDS = 16_384
/** A request of MAX_REQUEST_CIDS CIDs (CIDv1 sha2-256 is 36 bytes; 64 leaves room for other forms). */
export const MAX_REQUEST_BYTES = MAX_REQUEST_CIDS * 64 + 1024
/** Inbound syncs served at once, all peers together and per peer. */
export const DEFAULT_MAX_CONCURRENT_SYNCS = 8
export const DEFAULT_MAX_SYNCS_PER_PEER = 2
/** Streams a connection may open beyond its share of syncs: enough to be answered BUSY, not ignored. */
export const EXTRA_INBOUND_STREAMS_PER_CONNECTION = 2
/** No byte read or written for this long closes the stream, on either side (the request included). */
export const DEFAULT_IDLE_TIMEOUT_MS = 20_000
/** A whole sync, on either side (100 MB at 20 MB/s is 5 s; this leaves room for slow links). */
export const DEFAULT_SYNC_TIMEOUT_MS = 5 * 60_000
/** Blocks the server reads ahead of the one it is sending. */
export const DEFAULT_READ_AHEAD = 8
/** The client stores verified blocks in batches of about this many bytes, one batch written at a time. */
export const DEFAULT_BATCH_BYTES = 4 * 1024 * 1024
/** Blocks of one batch written to the blockstore at once. */
export const DEFAULT_PUT_CONCURRENCY = 8

export type BlockSyncErrorCode =
  | 'NOT_FOUND'
  | 'BUSY'
  | 'REFUSED'
  | 'REMOTE_ERROR'
  | 'UNEXPECTED_BLOCK'
  | 'BLOCK_CID_MISMATCH'
  | 'INVALID_MANIFEST'
  | 'BUDGET_EXCEEDED'
  | 'INVALID_MESSAGE'
  | 'STREAM_ENDED'
  | 'IDLE_TIMEOUT'
export class BlockSyncError extends OpenLedgerError<{
  code: BlockSyncErrorCode
  cid?: string
  peer?: string
  /** the server's status, for REFUSED and REMOTE_ERROR */
  status?: string
}> {}

export interface BlockSyncBlockstore {
  get(
    cid: CID,
    options?: AbortOptions & { offline?: boolean },
  ): Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | Promise<Uint8Array>
  put(cid: CID, bytes: Uint8Array, options?: AbortOptions): unknown
}

/** What the service uses of libp2p and Helia (a test can hand it fakes). */
export interface BlockSyncComponents extends CodecSource {
  libp2p: {
    handle(protocol: string, handler: StreamHandler, options?: { maxInboundStreams?: number }): Promise<void>
    unhandle(protocol: string): Promise<void>
    dialProtocol(peer: PeerId, protocol: string, options?: AbortOptions): Promise<Stream>
    getConnections(): Connection[]
  }
  blockstore: BlockSyncBlockstore
  logger?: { debug(msg: string): void }
}

export interface BlockSyncInit {
  maxConcurrentSyncs?: number
  maxSyncsPerPeer?: number
  idleTimeoutMs?: number
  syncTimeoutMs?: number
  readAhead?: number
  batchBytes?: number
  putConcurrency?: number
}

export interface SyncDagOptions extends AbortOptions {
  /** only these blocks (each must be under root, and the caller vouches for them: take them from verified
   * blocks, e.g. an earlier sync's `missing`); default: the whole DAG, root first */
  cids?: CID[]
  /** called after each block is verified and stored */
  onBlock?(cid: CID, bytes: Uint8Array): void
}

export interface SyncDagResult {
  /** blocks received, verified and stored, in arrival order (breadth-first for a whole DAG) */
  blocks: CID[]
  bytes: number
  /** blocks known to be under root (linked from a verified block, or asked for) that did not arrive */
  missing: CID[]
  complete: boolean
}

/** What the server has done since it started (tests and metrics read it). */
export interface BlockSyncServerCounters {
  /** syncs being served now */
  active: number
  /** streams answered BUSY */
  busy: number
  /** streams closed because the peer made no progress */
  idleTimeouts: number
  /** requests answered with a status other than OK (NOT_FOUND, INVALID_REQUEST, NOT_UNDER_ROOT, ...) */
  refused: number
  /** syncs answered OK */
  served: number
}

type Status = BlockSyncResponse.Status
const Status = BlockSyncResponse.Status

/** What the server answers after the blocks: a status and a sentence for people. */
type Answer = [Status, string]

export class BlockSync {
  private readonly components: BlockSyncComponents
  private readonly init: Required<BlockSyncInit>
  private running = false
  private readonly perPeer = new Map<string, number>()
  private readonly stats: BlockSyncServerCounters = {
    active: 0,
    busy: 0,
    idleTimeouts: 0,
    refused: 0,
    served: 0,
  }

  constructor(components: BlockSyncComponents, init: BlockSyncInit = {}) {
    this.components = components
    this.init = {
      maxConcurrentSyncs: init.maxConcurrentSyncs ?? DEFAULT_MAX_CONCURRENT_SYNCS,
      maxSyncsPerPeer: init.maxSyncsPerPeer ?? DEFAULT_MAX_SYNCS_PER_PEER,
      idleTimeoutMs: init.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      syncTimeoutMs: init.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS,
      readAhead: init.readAhead ?? DEFAULT_READ_AHEAD,
      batchBytes: init.batchBytes ?? DEFAULT_BATCH_BYTES,
      putConcurrency: init.putConcurrency ?? DEFAULT_PUT_CONCURRENCY,
    }
  }

  readonly [Symbol.toStringTag] = 'openledger/datanet-block-sync'

  isStarted(): boolean {
    return this.running
  }

  async start(): Promise<void> {
    if (this.running) return
    await this.components.libp2p.handle(
      BLOCK_SYNC_PROTOCOL,
      (stream, connection) => this.serve(stream, connection),
      { maxInboundStreams: this.init.maxSyncsPerPeer + EXTRA_INBOUND_STREAMS_PER_CONNECTION },
    )
    this.running = true
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    await this.components.libp2p.unhandle(BLOCK_SYNC_PROTOCOL)
  }

  counters(): BlockSyncServerCounters {
    return { ...this.stats }
  }

  /** Connected peers, a candidate list for `syncDag` when no provider record is known. */
  connectedPeers(): PeerId[] {
    const seen = new Set<string>()
    const out: PeerId[] = []
    for (const c of this.components.libp2p.getConnections()) {
      const k = c.remotePeer.toString()
      if (seen.has(k)) continue
      seen.add(k)
      out.push(c.remotePeer)
    }
    return out
  }

  /**
   * Fetches the DAG under the manifest `root` (or the listed blocks) from `peer`, verifying each block
   * before storing it. Throws NOT_FOUND when the peer does not hold root, BUSY when it serves too many
   * syncs; a block that fails verification, was not linked from a verified block, comes twice or passes
   * the byte budget aborts the stream and throws (blocks verified and stored before it stay: they are
   * correct and under root).
   */
  async syncDag(peer: PeerId, root: CID, options: SyncDagOptions = {}): Promise<SyncDagResult> {
    const peerText = peer.toString()
    const listed = options.cids && options.cids.length > 0 ? distinct(options.cids) : null
    if (listed && listed.size > MAX_REQUEST_CIDS) {
      throw new BlockSyncError(
        { code: 'REFUSED', peer: peerText },
        `a sync may name at most ${MAX_REQUEST_CIDS} blocks, not ${listed.size}`,
      )
    }
    const outer = options.signal ?? AbortSignal.timeout(this.init.syncTimeoutMs)
    const stream = await this.components.libp2p.dialProtocol(peer, BLOCK_SYNC_PROTOCOL, { signal: outer })
    const deadlines = new StreamDeadlines(stream, this.init.idleTimeoutMs, outer, () =>
      blockSyncError(
        'IDLE_TIMEOUT',
        peerText,
        `peer ${peerText} sent nothing for ${this.init.idleTimeoutMs} ms`,
      ),
    )
    const signal = deadlines.signal
    const rootKey = root.toString()
    // A whole DAG: only root is expected at first, and the manifest's byte budget applies. A list: exactly
    // the listed blocks, each at most MAX_BLOCK_BYTES (the frame limit), so the budget is known up front.
    const budget = listed ? undefined : new VersionByteBudget(root)
    const expected = listed ?? new Map([[rootKey, root]])
    const received = new Set<string>()
    const blocks: CID[] = []
    let bytes = 0
    const writer = new BatchWriter(
      async (cid, data) => {
        await this.components.blockstore.put(cid, data, { signal })
        options.onBlock?.(cid, data)
      },
      this.init.batchBytes,
      this.init.putConcurrency,
      // waiting on our own storage is no idleness of the peer's
      { waiting: () => deadlines.suspend(), done: () => deadlines.touch() },
    )
    try {
      await send(
        stream,
        BlockSyncRequest.encode({
          root: root.bytes as Uint8Array<ArrayBuffer>,
          cids: [...(listed?.values() ?? [])].map((c) => c.bytes as Uint8Array<ArrayBuffer>),
        }),
        signal,
      )
      deadlines.touch()
      let status: Status | undefined
      let message = ''
      for await (const frame of lp.decode(pausingReader(stream, this.init.batchBytes), {
        maxDataLength: MAX_RESPONSE_BYTES,
      })) {
        deadlines.touch()
        const res = decodeResponse(frame, peerText)
        if (res.status !== Status.BLOCK) {
          status = res.status
          message = res.message
          break
        }
        const cid = blockCidOf(res.cid, peerText)
        const key = cid.toString()
        if (!listed && received.size === 0 && key !== rootKey) {
          throw blockSyncError(
            'UNEXPECTED_BLOCK',
            peerText,
            `peer ${peerText} sent ${key} before the root ${root}`,
            key,
          )
        }
        if (!expected.has(key) || received.has(key)) {
          throw blockSyncError(
            'UNEXPECTED_BLOCK',
            peerText,
            `peer ${peerText} sent block ${key}, which was not asked for under ${root} or came twice`,
            key,
          )
        }
        const data = res.data
        await checkBlock(cid, data, budget, peerText)
        received.add(key)
        blocks.push(cid)
        bytes += data.length
        if (!listed) {
          for (const link of await linksOf(cid, data, this.components)) {
            const k = link.toString()
            if (!expected.has(k)) expected.set(k, link)
          }
        }
        await writer.add(cid, data)
      }
      await writer.flush()
      if (status === undefined) {
        throw blockSyncError(
          'STREAM_ENDED',
          peerText,
          `peer ${peerText} ended the sync of ${root} without a status`,
        )
      }
      if (status !== Status.OK) throw statusError(status, message, peerText, root)
      await stream.close({ signal }).catch(() => {})
      const missing = [...expected].filter(([k]) => !received.has(k)).map(([, c]) => c)
      return { blocks, bytes, missing, complete: missing.length === 0 }
    } catch (err) {
      writer.discard()
      stream.abort(err as Error)
      await writer.settled()
      const reason = deadlines.reason()
      if (reason !== undefined) throw reason
      if (err instanceof OpenLedgerError) throw err
      throw blockSyncError(
        'INVALID_MESSAGE',
        peerText,
        `sync of ${root} from ${peerText} failed: ${(err as Error).message}`,
      )
    } finally {
      deadlines.dispose()
    }
  }

  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const fromPeer = this.perPeer.get(peer) ?? 0
    if (this.stats.active >= this.init.maxConcurrentSyncs || fromPeer >= this.init.maxSyncsPerPeer) {
      this.stats.busy++
      await this.finish(stream, [Status.BUSY, 'too many block syncs now; try later'])
      return
    }
    this.stats.active++
    this.perPeer.set(peer, fromPeer + 1)
    try {
      const answer = await this.answer(stream)
      if (answer === null) return
      if (answer[0] === Status.OK) this.stats.served++
      else this.stats.refused++
      await this.finish(stream, answer)
    } finally {
      this.stats.active--
      const left = (this.perPeer.get(peer) ?? 1) - 1
      if (left > 0) this.perPeer.set(peer, left)
      else this.perPeer.delete(peer)
    }
  }

  /** Sends the closing status and closes, within the idle timeout; a peer that does not read is cut off. */
  private async finish(stream: Stream, [status, message]: Answer): Promise<void> {
    const signal = AbortSignal.timeout(this.init.idleTimeoutMs)
    try {
      await send(stream, BlockSyncResponse.encode({ status, message }), signal)
      await stream.close({ signal })
    } catch (err) {
      if (signal.aborted) this.stats.idleTimeouts++
      stream.abort(err as Error)
    }
  }

  /** Reads the request and streams the blocks; returns the closing status, or null once the stream is gone. */
  private async answer(stream: Stream): Promise<Answer | null> {
    const deadlines = new StreamDeadlines(
      stream,
      this.init.idleTimeoutMs,
      AbortSignal.timeout(this.init.syncTimeoutMs + this.init.idleTimeoutMs),
      () => new Error(`block sync: no progress for ${this.init.idleTimeoutMs} ms`),
    )
    const until = Date.now() + this.init.syncTimeoutMs
    try {
      const request = await this.readRequest(stream)
      if (typeof request === 'string') return [Status.INVALID_REQUEST, request]
      deadlines.touch()
      const { root, cids } = request
      const rootBytes = await this.readLocal(root, deadlines.signal)
      if (rootBytes === null) return [Status.NOT_FOUND, `no block ${root} here`]
      try {
        await decodeManifest(root, rootBytes)
      } catch {
        return [Status.NOT_FOUND, `no Datanet manifest under ${root} here`]
      }
      const budget = new VersionByteBudget(root)
      const out = { stream, deadlines, until, budget }
      return cids.length > 0
        ? await this.streamListed(out, root, rootBytes, cids)
        : await this.streamDag(out, root, rootBytes)
    } catch (err) {
      if (deadlines.reason() !== undefined || stream.status !== 'open') {
        if (deadlines.idle) this.stats.idleTimeouts++
        stream.abort(err as Error)
        return null
      }
      if (err instanceof ByteBudgetError) return [Status.OVER_BUDGET, err.message]
      this.components.logger?.debug(`block sync: serving failed: ${(err as Error).message}`)
      return [Status.ERROR, 'server error']
    } finally {
      deadlines.dispose()
    }
  }

  /** The request, or a sentence saying what is wrong with it. */
  private async readRequest(stream: Stream): Promise<{ root: CID; cids: CID[] } | string> {
    try {
      for await (const frame of lp.decode(stream as AsyncIterable<Uint8Array | Uint8ArrayList>, {
        maxDataLength: MAX_REQUEST_BYTES,
      })) {
        let req: BlockSyncRequest
        try {
          req = BlockSyncRequest.decode(frame, { limits: { cids: MAX_REQUEST_CIDS } })
        } catch (err) {
          return `malformed request: ${(err as Error).message}`
        }
        const root = parseCid(req.root)
        if (root === undefined) return 'the root is not a CID'
        const cids: CID[] = []
        for (const bytes of req.cids) {
          const cid = parseCid(bytes)
          if (cid === undefined) return 'a requested block is not a CID'
          cids.push(cid)
        }
        return { root, cids: [...distinct(cids).values()] }
      }
    } catch (err) {
      if (stream.status !== 'open') throw err
      return `unreadable request: ${(err as Error).message}`
    }
    return 'no request'
  }

  /** Breadth-first from root, reading `readAhead` blocks ahead; a block not held here is skipped with its subtree. */
  private async streamDag(out: Outgoing, root: CID, rootBytes: Uint8Array): Promise<Answer> {
    const queue: CID[] = [root]
    const seen = new Set<string>([root.toString()])
    const reads = new Map<number, Promise<Uint8Array | null>>([[0, Promise.resolve(rootBytes)]])
    for (let head = 0; head < queue.length; head++) {
      if (Date.now() > out.until) return [Status.TIMEOUT, `sync ran past ${this.init.syncTimeoutMs} ms`]
      for (let i = head; i < queue.length && i < head + this.init.readAhead; i++) {
        if (reads.has(i)) continue
        const read = this.readLocal(queue[i] as CID, out.deadlines.signal)
        // a read ahead that fails after the stream is cut off is never awaited
        read.catch(() => {})
        reads.set(i, read)
      }
      const data = await reads.get(head)!
      reads.delete(head)
      if (data === null) continue
      const cid = queue[head] as CID
      await accountBlock(cid, data, out.budget)
      for (const link of await linksOf(cid, data, this.components)) {
        const k = link.toString()
        if (seen.has(k)) continue
        seen.add(k)
        queue.push(link)
      }
      await sendBlock(out, cid, data)
    }
    return [Status.OK, '']
  }

  /**
   * The listed blocks, each once: first every one is checked to be reachable from root through blocks
   * held here (a walk that reads only the blocks that link, and stops once all are found), then sent.
   */
  private async streamListed(out: Outgoing, root: CID, rootBytes: Uint8Array, cids: CID[]): Promise<Answer> {
    const wanted = new Set(cids.map(String))
    const reachable = new Set<string>([root.toString()])
    let found = wanted.has(root.toString()) ? 1 : 0
    let frontier: Array<[CID, Uint8Array | null]> = [[root, rootBytes]]
    while (frontier.length > 0 && found < wanted.size) {
      if (Date.now() > out.until) return [Status.TIMEOUT, `sync ran past ${this.init.syncTimeoutMs} ms`]
      const next: CID[] = []
      for (const [cid, known] of frontier) {
        if (cid.code === raw.code) continue
        const data = known ?? (await this.readLocal(cid, out.deadlines.signal))
        if (data === null) continue
        if (out.budget.expectsManifest(cid)) {
          const manifest = await decodeManifest(cid, data).catch(() => null)
          if (manifest) out.budget.addManifest(data.length, manifest)
        }
        for (const link of await linksOf(cid, data, this.components)) {
          const k = link.toString()
          if (reachable.has(k)) continue
          reachable.add(k)
          if (wanted.has(k)) found++
          next.push(link)
        }
      }
      frontier = next.map((c) => [c, null])
    }
    for (const cid of cids) {
      if (!reachable.has(cid.toString())) {
        return [Status.NOT_UNDER_ROOT, `block ${cid} is not reachable from ${root} through blocks held here`]
      }
    }
    for (const cid of cids) {
      if (Date.now() > out.until) return [Status.TIMEOUT, `sync ran past ${this.init.syncTimeoutMs} ms`]
      const data = cid.equals(root) ? rootBytes : await this.readLocal(cid, out.deadlines.signal)
      if (data === null) continue
      out.budget.charge(cid, data.length)
      await sendBlock(out, cid, data)
    }
    return [Status.OK, '']
  }

  private async readLocal(cid: CID, signal: AbortSignal): Promise<Uint8Array | null> {
    try {
      return await collectBlock(
        this.components.blockstore.get(cid, { signal, offline: true }),
        MAX_BLOCK_BYTES,
        cid,
      )
    } catch (err) {
      if (signal.aborted) throw err
      return null
    }
  }
}

interface Outgoing {
  stream: Stream
  deadlines: StreamDeadlines
  /** the time the sync must end by (ms since the epoch) */
  until: number
  budget: VersionByteBudget
}

/**
 * Guards one stream: aborts it when nothing progressed for `idleMs` (`touch` marks progress; `suspend`
 * stops the clock while we wait on ourselves, e.g. on storage) or when `outer` aborts.
 */
class StreamDeadlines {
  private readonly controller = new AbortController()
  private readonly timer: NodeJS.Timeout
  private idleFired = false
  private readonly onOuterAbort: () => void

  constructor(
    private readonly stream: Stream,
    idleMs: number,
    private readonly outer: AbortSignal,
    idleError: () => Error,
  ) {
    this.timer = setTimeout(() => {
      this.idleFired = true
      this.abort(idleError())
    }, idleMs)
    this.timer.unref?.()
    this.onOuterAbort = () => this.abort(outer.reason ?? new Error('aborted'))
    if (outer.aborted) this.onOuterAbort()
    else outer.addEventListener('abort', this.onOuterAbort, { once: true })
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** True once the stream was closed for making no progress. */
  get idle(): boolean {
    return this.idleFired
  }

  /** Why the stream was cut off (idle or outer), or undefined while it was not. */
  reason(): unknown {
    return this.controller.signal.aborted ? this.controller.signal.reason : undefined
  }

  touch(): void {
    if (!this.controller.signal.aborted) this.timer.refresh()
  }

  suspend(): void {
    clearTimeout(this.timer)
  }

  dispose(): void {
    clearTimeout(this.timer)
    this.outer.removeEventListener('abort', this.onOuterAbort)
  }

  private abort(reason: unknown) {
    if (this.controller.signal.aborted) return
    this.controller.abort(reason)
    this.stream.abort(reason instanceof Error ? reason : new Error(String(reason)))
  }
}

/**
 * A stream's incoming messages, pausing the stream (no more yamux window for the peer) while
 * `highWaterBytes` or more wait to be consumed, so a consumer slower than the network (storage) holds
 * memory bounded. libp2p's own iterator never pauses, and ends as soon as the remote closes its end even
 * when data is still held back by a pause; this one ends at 'end' (the read buffer is empty by then).
 */
async function* pausingReader(
  stream: Stream,
  highWaterBytes: number,
): AsyncGenerator<Uint8Array | Uint8ArrayList> {
  const queue: Array<Uint8Array | Uint8ArrayList> = []
  let queued = 0
  let ended = stream.readableEnded
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const notify = () => {
    wake?.()
    wake = undefined
  }
  const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }) => {
    queue.push(evt.data)
    queued += evt.data.byteLength
    if (queued >= highWaterBytes && stream.readStatus === 'readable') stream.pause()
    notify()
  }
  const onEnd = () => {
    ended = true
    notify()
  }
  const onClose = (evt: { error?: Error }) => {
    if (evt.error) failure = evt.error
    else if (stream.readStatus === 'paused') stream.resume() // let what is held back out, then 'end'
    if (stream.readBufferLength === 0) ended = true
    notify()
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEnd)
  stream.addEventListener('close', onClose)
  try {
    while (true) {
      const next = queue.shift()
      if (next !== undefined) {
        queued -= next.byteLength
        if (queued < highWaterBytes && stream.readStatus === 'paused') stream.resume()
        yield next
        continue
      }
      if (failure) throw failure
      if (ended) return
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }
  } finally {
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('end', onEnd)
    stream.removeEventListener('close', onClose)
  }
}

/**
 * Stores verified blocks in batches of about `batchBytes`: one batch is written (`concurrency` puts at
 * once) while the next fills; when the next is full first, reading waits for the write (and the reader
 * above pauses the stream once its own buffer is full).
 */
class BatchWriter {
  private batch: Array<{ cid: CID; data: Uint8Array }> = []
  private batchBytes = 0
  private writing: Promise<void> | null = null
  private error: unknown

  constructor(
    private readonly put: (cid: CID, data: Uint8Array) => Promise<void>,
    private readonly maxBatchBytes: number,
    private readonly concurrency: number,
    private readonly flow: { waiting(): void; done(): void },
  ) {}

  async add(cid: CID, data: Uint8Array): Promise<void> {
    if (this.error !== undefined) throw this.error
    this.batch.push({ cid, data })
    this.batchBytes += data.length
    if (this.batchBytes < this.maxBatchBytes) return
    if (this.writing) {
      this.flow.waiting()
      try {
        await this.writing
      } finally {
        this.flow.done()
      }
    }
    this.write()
    if (this.error !== undefined) throw this.error
  }

  async flush(): Promise<void> {
    await this.writing
    if (this.batch.length > 0) this.write()
    await this.writing
    if (this.error !== undefined) throw this.error
  }

  /** Drops the batch not yet written (after a refusal nothing more is stored). */
  discard(): void {
    this.batch = []
    this.batchBytes = 0
  }

  async settled(): Promise<void> {
    await this.writing
  }

  private write() {
    if (this.error !== undefined) return
    const batch = this.batch
    this.batch = []
    this.batchBytes = 0
    this.writing = mapConcurrent(batch, this.concurrency, ({ cid, data }) => this.put(cid, data)).then(
      () => {},
      (err) => {
        this.error ??= err
      },
    )
  }
}

/** Checks a received block: its CID, the manifest format where one is expected, and the byte budget. */
async function checkBlock(cid: CID, data: Uint8Array, budget: VersionByteBudget | undefined, peer: string) {
  const key = cid.toString()
  try {
    await verifyBlock(cid, data)
    if (budget) await accountBlock(cid, data, budget)
  } catch (err) {
    if (err instanceof BlockVerifyError)
      throw blockSyncError('BLOCK_CID_MISMATCH', peer, `peer ${peer} sent block ${key}: ${err.message}`, key)
    if (err instanceof ManifestError)
      throw blockSyncError('INVALID_MANIFEST', peer, `peer ${peer} sent manifest ${key}: ${err.message}`, key)
    if (err instanceof ByteBudgetError)
      throw blockSyncError('BUDGET_EXCEEDED', peer, `peer ${peer} sent past the budget: ${err.message}`, key)
    throw err
  }
}

function blockSyncError(code: BlockSyncErrorCode, peer: string, message: string, cid?: string) {
  return new BlockSyncError({ code, peer, ...(cid ? { cid } : {}) }, message)
}

function statusError(status: Status, message: string, peer: string, root: CID): BlockSyncError {
  const type = { peer, cid: root.toString(), status: String(status) }
  const detail = message ? `: ${message}` : ''
  switch (status) {
    case Status.NOT_FOUND:
      return new BlockSyncError({ code: 'NOT_FOUND', ...type }, `peer ${peer} does not hold ${root}${detail}`)
    case Status.BUSY:
      return new BlockSyncError({ code: 'BUSY', ...type }, `peer ${peer} is busy${detail}`)
    case Status.INVALID_REQUEST:
    case Status.NOT_UNDER_ROOT:
    case Status.OVER_BUDGET:
      return new BlockSyncError(
        { code: 'REFUSED', ...type },
        `peer ${peer} refused the sync of ${root} (${status})${detail}`,
      )
    default:
      return new BlockSyncError(
        { code: 'REMOTE_ERROR', ...type },
        `peer ${peer} failed the sync of ${root} (${status})${detail}`,
      )
  }
}

function distinct(cids: CID[]): Map<string, CID> {
  const out = new Map<string, CID>()
  for (const c of cids) out.set(c.toString(), c)
  return out
}

function decodeResponse(frame: Uint8ArrayList, peer: string): BlockSyncResponse {
  try {
    return BlockSyncResponse.decode(frame)
  } catch (err) {
    throw blockSyncError(
      'INVALID_MESSAGE',
      peer,
      `peer ${peer} sent an invalid message: ${(err as Error).message}`,
    )
  }
}

function blockCidOf(bytes: Uint8Array, peer: string): CID {
  const cid = parseCid(bytes)
  if (cid === undefined)
    throw blockSyncError('INVALID_MESSAGE', peer, `peer ${peer} sent a block with an invalid CID`)
  return cid
}

async function send(stream: Stream, message: Uint8Array, signal: AbortSignal): Promise<void> {
  if (!stream.send(lp.encode.single(message))) await stream.onDrain({ signal })
}

async function sendBlock(out: Outgoing, cid: CID, data: Uint8Array) {
  await send(
    out.stream,
    BlockSyncResponse.encode({
      status: Status.BLOCK,
      cid: cid.bytes as Uint8Array<ArrayBuffer>,
      data: data as Uint8Array<ArrayBuffer>,
    }),
    out.deadlines.signal,
  )
  out.deadlines.touch()
}
