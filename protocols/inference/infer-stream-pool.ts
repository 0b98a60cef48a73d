// Idle /openledger/infer/1.0.0 streams kept per provider for the next request, as HTTP keeps a
// connection alive: opening a stream on a warm connection costs a multistream-select round trip and a
// peer-store write (about 1 ms on loopback, most of a short answer's network cost; bench/serving.ts), a
// request on an open stream a fraction of that. A stream is parked only after an answer's end frame,
// when nothing of it is left unread; it leaves the pool when the provider closes or resets it, when it
// has been idle for `idleMs` (shorter than the provider's keep-alive, so the provider rarely closes one
// the client is about to use), and when the pool closes. Concurrent requests to one provider each take
// their own stream; at most `maxIdlePerPeer` wait per provider, and `maxPeers` providers' in all.
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import { INFER_PROTOCOL } from './constants.ts'
import { INFER_MAX_RESPONSE_BYTES } from './infer-wire.ts'

export interface InferDialer {
  dialProtocol(peer: PeerId, protocol: string, options?: AbortOptions): Promise<Stream>
}

/** A stream with its frame reader, which holds whatever arrived beyond the frame last read. */
export interface InferStream {
  stream: Stream
  frames: LengthPrefixedStream<Stream>
  /** true when it served an earlier request */
  reused: boolean
}

export interface InferStreamPoolOptions {
  /** idle streams kept per provider (default 4) */
  maxIdlePerPeer: number
  /** providers with idle streams (default 256) */
  maxPeers: number
  /** how long a stream waits for the next request (default 5 s; providers keep one 15 s) */
  idleMs: number
}

const DEFAULTS: InferStreamPoolOptions = { maxIdlePerPeer: 4, maxPeers: 256, idleMs: 5_000 }

/** Reads one answer's frames; room for a few frames in flight beyond the one being read. */
export function responseFrames(stream: Stream): LengthPrefixedStream<Stream> {
  return lpStream(stream, {
    maxDataLength: INFER_MAX_RESPONSE_BYTES,
    maxBufferSize: 4 * INFER_MAX_RESPONSE_BYTES,
  })
}

interface Parked {
  entry: InferStream
  timer: NodeJS.Timeout
  leave: () => void
}

export class InferStreamPool {
  private readonly options: InferStreamPoolOptions
  private readonly idle = new Map<string, Parked[]>()
  private closed = false

  constructor(
    private readonly dialer: InferDialer,
    options: Partial<InferStreamPoolOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options }
  }

  /** An idle stream to `peer` (the most recently parked), else a new one. */
  async acquire(peer: PeerId, options: AbortOptions = {}): Promise<InferStream> {
    const parked = this.idle.get(peer.toString())?.pop()
    if (parked !== undefined) {
      this.unpark(peer.toString(), parked)
      if (reusable(parked.entry.stream)) return { ...parked.entry, reused: true }
      parked.entry.stream.abort(new Error('stale infer stream'))
    }
    const stream = await this.dialer.dialProtocol(peer, INFER_PROTOCOL, options)
    return { stream, frames: responseFrames(stream), reused: false }
  }

  /** Parks a stream whose answer was read to its end; closes it when the pool has no room. */
  release(peer: PeerId, entry: InferStream): void {
    const key = peer.toString()
    const list = this.idle.get(key) ?? []
    if (
      this.closed ||
      !reusable(entry.stream) ||
      list.length >= this.options.maxIdlePerPeer ||
      (list.length === 0 && this.idle.size >= this.options.maxPeers)
    ) {
      closeQuietly(entry.stream)
      return
    }
    const parked: Parked = {
      entry,
      timer: setTimeout(() => {
        this.unpark(key, parked)
        closeQuietly(entry.stream)
      }, this.options.idleMs),
      // the provider closed or reset it: never hand it out again
      leave: () => {
        this.unpark(key, parked)
        if (entry.stream.status === 'open') closeQuietly(entry.stream)
      },
    }
    parked.timer.unref()
    entry.stream.addEventListener('close', parked.leave)
    entry.stream.addEventListener('remoteCloseWrite', parked.leave)
    list.push(parked)
    this.idle.set(key, list)
  }

  /** Idle streams now, over all providers. */
  get size(): number {
    let n = 0
    for (const list of this.idle.values()) n += list.length
    return n
  }

  /** Closes every idle stream; later releases close theirs at once. */
  close(): void {
    this.closed = true
    for (const [key, list] of this.idle)
      for (const parked of [...list]) {
        this.unpark(key, parked)
        closeQuietly(parked.entry.stream)
      }
  }

  private unpark(key: string, parked: Parked): void {
    clearTimeout(parked.timer)
    parked.entry.stream.removeEventListener('close', parked.leave)
    parked.entry.stream.removeEventListener('remoteCloseWrite', parked.leave)
    const list = this.idle.get(key)
    if (list === undefined) return
    const at = list.indexOf(parked)
    if (at >= 0) list.splice(at, 1)
    if (list.length === 0) this.idle.delete(key)
  }
}

function reusable(stream: Stream): boolean {
  return (
    stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable'
  )
}

function closeQuietly(stream: Stream): void {
  stream.close({ signal: AbortSignal.timeout(1_000) }).catch((err: Error) => stream.abort(err))
}
