// Datanet block sync: one stream moves a whole DAG (a Datanet version: manifest, contributions, chunks),
// the way Graphsync and CAR streaming do, instead of bitswap's want/have/block round trips per block.
//
// The client writes one request {root, cids?}; the server walks the DAG under root in its own blockstore
// (offline, breadth-first, reading a few blocks ahead) and streams each block as a length-prefixed
// {cid, data} message, honouring the stream's backpressure, then one status message. The server is
// trusted with nothing: the client checks every block against its CID before storing it, and accepts a
// CID only if it is the root or was linked from a block it has already verified (or, for an explicit
// list, was asked for), so a server can neither corrupt the store nor push unrelated blocks into it.

import type { AbortOptions, Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { createUnsafe } from 'multiformats/block'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import type { Uint8ArrayList } from 'uint8arraylist'
import { collectBlock, verifyBlock } from '../common/blocks.ts'
import { parseCid } from '../common/cid.ts'
import { OpenLedgerError } from '../common/errors.ts'
import { BlockSyncRequest, BlockSyncResponse } from './pb/block-sync.ts'

export const BLOCK_SYNC_PROTOCOL_PREFIX = 'openledger'
export const BLOCK_SYNC_PROTOCOL_NAME = 'datanet-blocks'
export const BLOCK_SYNC_PROTOCOL_VERSION = '1.0.0'
export const BLOCK_SYNC_PROTOCOL = `/${BLOCK_SYNC_PROTOCOL_PREFIX}/${BLOCK_SYNC_PROTOCOL_NAME}/${BLOCK_SYNC_PROTOCOL_VERSION}`
/** The largest block a peer may send (bitswap's limit too, and the manifest's). */
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024
/** A response is one block plus its CID and protobuf framing. */
export const MAX_RESPONSE_BYTES = MAX_BLOCK_BYTES + 1024
/** A request of ~100,000 CIDs (CIDv1 sha2-256 is 36 bytes). */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024
export const MAX_REQUEST_CIDS = 100_000
/** Inbound sync streams served at once (all peers together), and per connection. */
export const DEFAULT_MAX_CONCURRENT_SYNCS = 8
export const DEFAULT_MAX_INBOUND_STREAMS_PER_CONNECTION = 2
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
/** A whole inbound sync (100 MB at 20 MB/s is 5 s; this leaves room for slow links). */
export const DEFAULT_SERVE_TIMEOUT_MS = 10 * 60_000
/** Blocks the server reads ahead of the one it is sending. */
export const DEFAULT_READ_AHEAD = 8
/** Blocks the client writes to its blockstore at once while it keeps reading the stream. */
export const DEFAULT_PUT_CONCURRENCY = 8

export type BlockSyncErrorCode =
  | 'NOT_FOUND'
  | 'REMOTE_ERROR'
  | 'UNEXPECTED_BLOCK'
  | 'BLOCK_CID_MISMATCH'
  | 'INVALID_MESSAGE'
  | 'STREAM_ENDED'
export class BlockSyncError extends OpenLedgerError<{
  code: BlockSyncErrorCode
  cid?: string
  peer?: string
}> {}

export interface BlockSyncBlockstore {
  get(
    cid: CID,
    options?: AbortOptions & { offline?: boolean },
  ): Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | Promise<Uint8Array>
  put(cid: CID, bytes: Uint8Array, options?: AbortOptions): unknown
}

/** What the service uses of libp2p and Helia (a test can hand it fakes). */
export interface BlockSyncComponents {
  libp2p: {
    handle(protocol: string, handler: StreamHandler, options?: { maxInboundStreams?: number }): Promise<void>
    unhandle(protocol: string): Promise<void>
    dialProtocol(peer: PeerId, protocol: string, options?: AbortOptions): Promise<Stream>
    getConnections(): Connection[]
  }
  blockstore: BlockSyncBlockstore
  getCodec(
    code: number,
  ):
    | Promise<{ decode(bytes: Uint8Array): unknown; code: number }>
    | { decode(bytes: Uint8Array): unknown; code: number }
  logger?: { debug(msg: string): void }
}

export interface BlockSyncInit {
  maxConcurrentSyncs?: number
  maxInboundStreamsPerConnection?: number
  requestTimeoutMs?: number
  serveTimeoutMs?: number
  readAhead?: number
  putConcurrency?: number
}

export interface SyncDagOptions extends AbortOptions {
  /** only these blocks (each must be under root); default: the whole DAG */
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

export class BlockSync {
  private readonly components: BlockSyncComponents
  private readonly init: Required<BlockSyncInit>
  private running = false
  private active = 0

  constructor(components: BlockSyncComponents, init: BlockSyncInit = {}) {
    this.components = components
    this.init = {
      maxConcurrentSyncs: init.maxConcurrentSyncs ?? DEFAULT_MAX_CONCURRENT_SYNCS,
      maxInboundStreamsPerConnection:
        init.maxInboundStreamsPerConnection ?? DEFAULT_MAX_INBOUND_STREAMS_PER_CONNECTION,
      requestTimeoutMs: init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      serveTimeoutMs: init.serveTimeoutMs ?? DEFAULT_SERVE_TIMEOUT_MS,
      readAhead: init.readAhead ?? DEFAULT_READ_AHEAD,
      putConcurrency: init.putConcurrency ?? DEFAULT_PUT_CONCURRENCY,
    }
  }

  readonly [Symbol.toStringTag] = 'openledger/datanet-block-sync'

  isStarted(): boolean {
    return this.running
  }

  async start(): Promise<void> {
    if (this.running) return
    await this.components.libp2p.handle(BLOCK_SYNC_PROTOCOL, (stream) => this.serve(stream), {
      maxInboundStreams: this.init.maxInboundStreamsPerConnection,
    })
    this.running = true
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    await this.components.libp2p.unhandle(BLOCK_SYNC_PROTOCOL)
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
   * Fetches the DAG under `root` (or the listed blocks) from `peer`, verifying each block before storing it.
   * Throws NOT_FOUND when the peer does not hold root; a block that fails verification or was not asked
   * for aborts the stream and throws (blocks verified before it stay stored: they are correct).
   */
  async syncDag(peer: PeerId, root: CID, options: SyncDagOptions = {}): Promise<SyncDagResult> {
    const signal = options.signal ?? AbortSignal.timeout(this.init.serveTimeoutMs)
    const stream = await this.components.libp2p.dialProtocol(peer, BLOCK_SYNC_PROTOCOL, { signal })
    const onAbort = () => stream.abort(signal.reason ?? new Error('aborted'))
    signal.addEventListener('abort', onAbort, { once: true })
    const peerText = peer.toString()
    const received = new Set<string>()
    const expected = new Map<string, CID>()
    const blocks: CID[] = []
    let bytes = 0
    if (options.cids && options.cids.length > 0) for (const c of options.cids) expected.set(c.toString(), c)
    else expected.set(root.toString(), root)
    const puts = new Set<Promise<unknown>>()
    let putError: unknown
    try {
      await send(
        stream,
        BlockSyncRequest.encode({
          root: root.bytes as Uint8Array<ArrayBuffer>,
          cids: (options.cids ?? []).map((c) => c.bytes as Uint8Array<ArrayBuffer>),
        }),
        signal,
      )
      let status: BlockSyncResponse.Status | undefined
      let message = ''
      for await (const frame of lp.decode(stream as AsyncIterable<Uint8Array | Uint8ArrayList>, {
        maxDataLength: MAX_RESPONSE_BYTES,
      })) {
        const res = decodeResponse(frame, peerText)
        if (res.status !== BlockSyncResponse.Status.BLOCK) {
          status = res.status
          message = res.message
          break
        }
        const cid = blockCidOf(res.cid, peerText)
        const key = cid.toString()
        if (!expected.has(key) || received.has(key)) {
          throw new BlockSyncError(
            { code: 'UNEXPECTED_BLOCK', cid: key, peer: peerText },
            `peer ${peerText} sent block ${key}, which was not asked for under ${root}`,
          )
        }
        const data = res.data
        try {
          await verifyBlock(cid, data)
        } catch (err) {
          throw new BlockSyncError(
            { code: 'BLOCK_CID_MISMATCH', cid: key, peer: peerText },
            `peer ${peerText} sent block ${key}: ${(err as Error).message}`,
          )
        }
        received.add(key)
        blocks.push(cid)
        bytes += data.length
        if (!options.cids?.length && cid.code !== raw.code) {
          const codec = await this.components.getCodec(cid.code)
          for (const [, link] of createUnsafe({ cid, bytes: data, codec: codec as never }).links()) {
            const k = link.toString()
            if (!expected.has(k)) expected.set(k, link)
          }
        }
        if (putError !== undefined) throw putError
        while (puts.size >= this.init.putConcurrency) await Promise.race(puts)
        const p = Promise.resolve(this.components.blockstore.put(cid, data, { signal }))
          .then(() => options.onBlock?.(cid, data))
          .catch((err) => {
            putError ??= err
          })
          .finally(() => puts.delete(p))
        puts.add(p)
      }
      await Promise.all(puts)
      if (putError !== undefined) throw putError
      if (status === undefined) {
        throw new BlockSyncError(
          { code: 'STREAM_ENDED', peer: peerText },
          `peer ${peerText} ended the sync of ${root} without a status`,
        )
      }
      if (status === BlockSyncResponse.Status.NOT_FOUND) {
        throw new BlockSyncError(
          { code: 'NOT_FOUND', cid: root.toString(), peer: peerText },
          `peer ${peerText} does not hold ${root}`,
        )
      }
      if (status !== BlockSyncResponse.Status.OK) {
        throw new BlockSyncError(
          { code: 'REMOTE_ERROR', cid: root.toString(), peer: peerText },
          `peer ${peerText} failed the sync of ${root}: ${message || status}`,
        )
      }
      await stream.close({ signal }).catch(() => {})
      const missing = [...expected].filter(([k]) => !received.has(k)).map(([, c]) => c)
      return { blocks, bytes, missing, complete: missing.length === 0 }
    } catch (err) {
      stream.abort(err as Error)
      await Promise.all(puts)
      if (signal.aborted && !(err instanceof BlockSyncError)) throw signal.reason
      if (err instanceof OpenLedgerError) throw err
      throw new BlockSyncError(
        { code: 'INVALID_MESSAGE', peer: peerText },
        `sync of ${root} from ${peerText} failed: ${(err as Error).message}`,
      )
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private async serve(stream: Stream): Promise<void> {
    const signal = AbortSignal.timeout(this.init.serveTimeoutMs)
    const onAbort = () => stream.abort(new Error('block sync: serve timeout'))
    signal.addEventListener('abort', onAbort, { once: true })
    this.active++
    try {
      const request = await this.readRequest(stream)
      if (this.active > this.init.maxConcurrentSyncs) {
        await sendStatus(stream, BlockSyncResponse.Status.ERROR, 'busy', signal)
        return
      }
      if (request === null) {
        await sendStatus(stream, BlockSyncResponse.Status.ERROR, 'invalid request', signal)
        return
      }
      const { root, cids } = request
      const rootBytes = await this.readLocal(root, signal)
      if (rootBytes === null) {
        await sendStatus(stream, BlockSyncResponse.Status.NOT_FOUND, '', signal)
        return
      }
      if (cids.length > 0) {
        for (const cid of cids) {
          const data = cid.equals(root) ? rootBytes : await this.readLocal(cid, signal)
          if (data !== null) await sendBlock(stream, cid, data, signal)
        }
      } else {
        await this.streamDag(stream, root, rootBytes, signal)
      }
      await sendStatus(stream, BlockSyncResponse.Status.OK, '', signal)
      await stream.close({ signal })
    } catch (err) {
      this.components.logger?.debug(`block sync: serving failed: ${(err as Error).message}`)
      try {
        await sendStatus(stream, BlockSyncResponse.Status.ERROR, 'server error', signal)
        await stream.close({ signal })
      } catch {
        stream.abort(err as Error)
      }
    } finally {
      this.active--
      signal.removeEventListener('abort', onAbort)
    }
  }

  private async readRequest(stream: Stream): Promise<{ root: CID; cids: CID[] } | null> {
    const signal = AbortSignal.timeout(this.init.requestTimeoutMs)
    const onAbort = () => stream.abort(new Error('block sync: request timeout'))
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      for await (const frame of lp.decode(stream as AsyncIterable<Uint8Array | Uint8ArrayList>, {
        maxDataLength: MAX_REQUEST_BYTES,
      })) {
        try {
          const req = BlockSyncRequest.decode(frame, { limits: { cids: MAX_REQUEST_CIDS } })
          return { root: CID.decode(req.root), cids: req.cids.map((c) => CID.decode(c)) }
        } catch {
          return null
        }
      }
      return null
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /** Breadth-first from root, reading `readAhead` blocks ahead; a block not held here is skipped with its subtree. */
  private async streamDag(stream: Stream, root: CID, rootBytes: Uint8Array, signal: AbortSignal) {
    const queue: CID[] = [root]
    const seen = new Set<string>([root.toString()])
    const reads = new Map<number, Promise<Uint8Array | null>>([[0, Promise.resolve(rootBytes)]])
    for (let head = 0; head < queue.length; head++) {
      for (let i = head; i < queue.length && i < head + this.init.readAhead; i++) {
        if (!reads.has(i)) reads.set(i, this.readLocal(queue[i], signal))
      }
      const data = await reads.get(head)!
      reads.delete(head)
      if (data === null) continue
      const cid = queue[head]
      if (cid.code !== raw.code) {
        const codec = await this.components.getCodec(cid.code)
        for (const [, link] of createUnsafe({ cid, bytes: data, codec: codec as never }).links()) {
          const k = link.toString()
          if (seen.has(k)) continue
          seen.add(k)
          queue.push(link)
        }
      }
      await sendBlock(stream, cid, data, signal)
    }
  }

  private async readLocal(cid: CID, signal: AbortSignal): Promise<Uint8Array | null> {
    try {
      return await collectBlock(this.components.blockstore.get(cid, { signal, offline: true }))
    } catch (err) {
      if (signal.aborted) throw err
      return null
    }
  }
}

/** js-libp2p style factory: `blockSync(init)(components)`. */
export function blockSync(init: BlockSyncInit = {}): (components: BlockSyncComponents) => BlockSync {
  return (components) => new BlockSync(components, init)
}

function decodeResponse(frame: Uint8ArrayList, peer: string): BlockSyncResponse {
  try {
    return BlockSyncResponse.decode(frame)
  } catch (err) {
    throw new BlockSyncError(
      { code: 'INVALID_MESSAGE', peer },
      `peer ${peer} sent an invalid message: ${(err as Error).message}`,
    )
  }
}

function blockCidOf(bytes: Uint8Array, peer: string): CID {
  const cid = parseCid(bytes)
  if (cid === undefined)
    throw new BlockSyncError(
      { code: 'INVALID_MESSAGE', peer },
      `peer ${peer} sent a block with an invalid CID`,
    )
  return cid
}

async function send(stream: Stream, message: Uint8Array, signal: AbortSignal): Promise<void> {
  if (!stream.send(lp.encode.single(message))) await stream.onDrain({ signal })
}

async function sendBlock(stream: Stream, cid: CID, data: Uint8Array, signal: AbortSignal) {
  await send(
    stream,
    BlockSyncResponse.encode({
      status: BlockSyncResponse.Status.BLOCK,
      cid: cid.bytes as Uint8Array<ArrayBuffer>,
      data: data as Uint8Array<ArrayBuffer>,
    }),
    signal,
  )
}

async function sendStatus(
  stream: Stream,
  status: BlockSyncResponse.Status,
  message: string,
  signal: AbortSignal,
) {
  await send(stream, BlockSyncResponse.encode({ status, message }), signal)
}
