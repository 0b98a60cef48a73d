// Discovery and selection: who serves a model, and which of them to ask first.
//
// A node that serves a model provides its key on the DHT (`advertise`); DHT provider records live 48 hours,
// so they only say who *may* serve it. `findProviders` walks the providers the DHT returns, fetches each
// one's signed capacity record (a few at once), and keeps only records that verify (both signatures, the
// PeerId of the peer that answered, not expired, not from the future), are online and offer the model (and
// adapter). `rankProviders` orders them: cheapest first, then least loaded, then nearest, warm before cold.
// `PeerBans` lets a client skip a peer that just failed it, for a while.
import { createHash } from 'node:crypto'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import type { TypedDataDomain } from 'viem'
import { OpenLedgerError } from '../common/errors.ts'
import { mapConcurrent } from '../common/iterables.ts'
import { type CapacityDialer, type FetchedCapacity, fetchCapacity } from './capacity-protocol.ts'
import type { CapacityRecord, ModelOffer } from './capacity-record.ts'
import {
  DEFAULT_BAN_MS,
  DEFAULT_FETCH_CONCURRENCY,
  DEFAULT_FETCH_TIMEOUT_MS,
  DEFAULT_MAX_BANNED_PEERS,
  DEFAULT_PROVIDER_LIMIT,
  MAX_PROVIDERS_CONSIDERED,
  MODEL_KEY_PREFIX,
} from './constants.ts'
import { type CapacityErrorCode, capacityError } from './errors.ts'

/** A whole provider search on the DHT (after this, the providers found so far are what there is). */
export const DEFAULT_DISCOVERY_TIMEOUT_MS = 15_000
/** provide() calls at once when advertising. */
export const DEFAULT_ADVERTISE_CONCURRENCY = 4

const utf8 = new TextEncoder()

/** The UTF-8 string a model's key is the CID of: `openledger:model:<modelId>`, plus `:adapter:<id>`. */
export function modelKeyString(modelId: bigint, adapterId = 0n): string {
  if (modelId < 0n || adapterId < 0n) throw new RangeError('model and adapter ids are unsigned')
  const base = `${MODEL_KEY_PREFIX}${modelId}`
  return adapterId === 0n ? base : `${base}:adapter:${adapterId}`
}

/**
 * The DHT provider key of a model: the CIDv1 (raw codec, sha2-256) of `openledger:model:<modelId>`
 * (DESIGN.md's protocols table). An adapter has its own key, `openledger:model:<modelId>:adapter:<id>`,
 * so a client looking for one adapter asks only the nodes that list it.
 */
export function modelProviderKey(modelId: bigint, adapterId = 0n): CID {
  const bytes = createHash('sha256')
    .update(utf8.encode(modelKeyString(modelId, adapterId)))
    .digest()
  return CID.createV1(raw.code, createDigest(sha256.code, bytes))
}

/** Every key a node serving these offers provides: each base model once, and each adapter. */
export function providerKeys(models: readonly Pick<ModelOffer, 'modelId' | 'adapterId'>[]): CID[] {
  const keys = new Map<string, CID>()
  for (const m of models) {
    for (const adapter of m.adapterId === 0n ? [0n] : [0n, m.adapterId]) {
      const cid = modelProviderKey(m.modelId, adapter)
      keys.set(cid.toString(), cid)
    }
  }
  return [...keys.values()]
}

export interface ContentProvider {
  provide(cid: CID, options?: AbortOptions): Promise<void>
}

export interface AdvertiseResult {
  provided: CID[]
  failed: Array<{ cid: CID; error: Error }>
}

/**
 * Provides each key on the DHT (a few at once). A key that fails (no peers yet, a timeout) is reported,
 * not thrown: the caller retries on its own schedule. An abort of `signal` throws.
 */
export async function advertise(
  contentRouting: ContentProvider,
  keys: readonly CID[],
  options: AbortOptions & { concurrency?: number } = {},
): Promise<AdvertiseResult> {
  const result: AdvertiseResult = { provided: [], failed: [] }
  await mapConcurrent(keys, options.concurrency ?? DEFAULT_ADVERTISE_CONCURRENCY, async (cid) => {
    options.signal?.throwIfAborted()
    try {
      await contentRouting.provide(cid, { signal: options.signal })
      result.provided.push(cid)
    } catch (err) {
      if (options.signal?.aborted) throw err
      result.failed.push({ cid, error: err as Error })
    }
  })
  return result
}

/** What discovery uses of libp2p. */
export interface DiscoveryLibp2p extends CapacityDialer {
  peerId: PeerId
  contentRouting: {
    findProviders(cid: CID, options?: AbortOptions): AsyncIterable<{ id: PeerId }>
  }
}

export interface FindProvidersOptions extends AbortOptions {
  domain: TypedDataDomain
  /** 0n or absent: the base model */
  adapterId?: bigint
  /** stop once this many usable providers are found (default DEFAULT_PROVIDER_LIMIT) */
  limit?: number
  /** records fetched at once (default DEFAULT_FETCH_CONCURRENCY) */
  concurrency?: number
  /** the DHT search; what was found by then is the answer (default DEFAULT_DISCOVERY_TIMEOUT_MS) */
  timeoutMs?: number
  /** each record fetch (default DEFAULT_FETCH_TIMEOUT_MS) */
  fetchTimeoutMs?: number
  /** banned peers are skipped; a peer whose fetch fails for its own fault is banned */
  bans?: PeerBans
  /** unix milliseconds (default Date.now) */
  now?: () => number
}

export interface ProviderRejection {
  peerId: string
  code: string
  message: string
}

export interface FindProvidersResult {
  /** usable providers, in the order their records arrived (rank them with rankProviders) */
  providers: FetchedCapacity[]
  /** providers the DHT named whose record was refused or could not be fetched, and why */
  rejected: ProviderRejection[]
  /** providers skipped because they are banned */
  banned: string[]
  /** round trip of each usable provider's fetch, by PeerId, for rankProviders */
  latencyMs: Map<string, number>
}

/** Failures that are the peer's fault (or its absence): worth skipping the peer for a while. */
const BANNABLE: ReadonlySet<string> = new Set<CapacityErrorCode>([
  'CAPACITY_UNREACHABLE',
  'CAPACITY_TIMEOUT',
  'CAPACITY_STREAM_ENDED',
  'CAPACITY_OVERSIZED',
  'CAPACITY_MALFORMED',
  'CAPACITY_BAD_SIGNATURE',
  'CAPACITY_BAD_PEER_SIGNATURE',
  'CAPACITY_PEER_MISMATCH',
  'CAPACITY_EXPIRED',
  'CAPACITY_FUTURE',
])

/**
 * Finds the nodes that serve `modelId` (and `adapterId`) now: providers from the DHT, each one's record
 * fetched and verified, kept only if it is online and offers the model. Throws only when `signal` aborts.
 */
export async function findProviders(
  libp2p: DiscoveryLibp2p,
  modelId: bigint,
  options: FindProvidersOptions,
): Promise<FindProvidersResult> {
  const adapterId = options.adapterId ?? 0n
  const limit = options.limit ?? DEFAULT_PROVIDER_LIMIT
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_FETCH_CONCURRENCY)
  const result: FindProvidersResult = { providers: [], rejected: [], banned: [], latencyMs: new Map() }
  if (limit <= 0) return result
  const self = libp2p.peerId.toString()
  // Ends the search and the fetches in flight once `limit` providers are in.
  const enough = new AbortController()
  const searchTimeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_DISCOVERY_TIMEOUT_MS)
  const fetchSignal = options.signal ? AbortSignal.any([options.signal, enough.signal]) : enough.signal
  const searchSignal = AbortSignal.any([fetchSignal, searchTimeout])
  const seen = new Set<string>()
  const inflight = new Set<Promise<void>>()

  const check = async (peer: PeerId, peerText: string) => {
    try {
      const fetched = await fetchCapacity(libp2p, peer, {
        domain: options.domain,
        signal: fetchSignal,
        timeoutMs: options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
        now: options.now,
      })
      const refusal = unusable(fetched.record, modelId, adapterId)
      if (refusal !== undefined) throw capacityError('CAPACITY_NOT_OFFERED', refusal, peerText)
      if (result.providers.length >= limit) return
      result.providers.push(fetched)
      result.latencyMs.set(peerText, fetched.latencyMs)
      if (result.providers.length >= limit) enough.abort()
    } catch (err) {
      if (fetchSignal.aborted) return
      const code = err instanceof OpenLedgerError ? err.code : 'CAPACITY_UNREACHABLE'
      result.rejected.push({ peerId: peerText, code, message: (err as Error).message })
      if (BANNABLE.has(code)) options.bans?.ban(peerText)
    }
  }

  try {
    const key = modelProviderKey(modelId, adapterId)
    for await (const provider of libp2p.contentRouting.findProviders(key, { signal: searchSignal })) {
      const peerText = provider.id.toString()
      if (peerText === self || seen.has(peerText)) continue
      seen.add(peerText)
      if (options.bans?.isBanned(peerText)) {
        result.banned.push(peerText)
        continue
      }
      if (seen.size > MAX_PROVIDERS_CONSIDERED) break
      while (inflight.size >= concurrency) await Promise.race(inflight)
      if (result.providers.length >= limit) break
      const task: Promise<void> = check(provider.id, peerText).finally(() => inflight.delete(task))
      inflight.add(task)
    }
  } catch (err) {
    // The search ending on its timeout, or because enough were found, is the normal end.
    if (options.signal?.aborted) throw options.signal.reason
    if (!searchSignal.aborted) throw err
  }
  await Promise.all(inflight)
  options.signal?.throwIfAborted()
  return result
}

/** Why a valid record cannot serve this request, or undefined when it can. */
function unusable(record: CapacityRecord, modelId: bigint, adapterId: bigint): string | undefined {
  if (record.state !== 'online') return `${record.peerId} is ${record.state}`
  if (!record.models.some((m) => m.modelId === modelId && m.adapterId === adapterId))
    return adapterId === 0n
      ? `${record.peerId} does not offer model ${modelId}`
      : `${record.peerId} does not offer adapter ${adapterId} of model ${modelId}`
  return undefined
}

export interface RankOptions {
  modelId: bigint
  adapterId?: bigint
  /** measured round trip by PeerId (a provider without one ranks after those with one) */
  latencyMs?: ReadonlyMap<string, number>
}

export interface RankedProvider<T extends { record: CapacityRecord }> {
  provider: T
  offer: ModelOffer
  /** priceIn + priceOut, wei per 1k tokens each way */
  price: bigint
  /** seconds of queued work per token/s: queueDepth / tokensPerSec (Infinity when unmeasured) */
  load: number
  latencyMs: number
}

/**
 * Orders the providers that are online and offer the model (and adapter): the lowest price (input plus
 * output per 1k tokens) first, then the lowest load (queue depth relative to measured tokens/s), then the
 * lowest measured latency, warm before cold, and the PeerId last so the order is deterministic. Records
 * that do not offer it, or are not online, are left out.
 */
export function rankProviders<T extends { record: CapacityRecord }>(
  providers: readonly T[],
  options: RankOptions,
): Array<RankedProvider<T>> {
  const adapterId = options.adapterId ?? 0n
  const ranked: Array<RankedProvider<T>> = []
  for (const provider of providers) {
    const { record } = provider
    if (unusable(record, options.modelId, adapterId) !== undefined) continue
    const offer = record.models.find((m) => m.modelId === options.modelId && m.adapterId === adapterId)!
    ranked.push({
      provider,
      offer,
      price: offer.priceIn + offer.priceOut,
      load: offer.tokensPerSec > 0 ? record.queueDepth / offer.tokensPerSec : Number.POSITIVE_INFINITY,
      latencyMs: options.latencyMs?.get(record.peerId) ?? Number.POSITIVE_INFINITY,
    })
  }
  return ranked.sort(
    (a, b) =>
      compareBig(a.price, b.price) ||
      compareNumber(a.load, b.load) ||
      compareNumber(a.latencyMs, b.latencyMs) ||
      Number(b.offer.warm) - Number(a.offer.warm) ||
      (a.provider.record.peerId < b.provider.record.peerId
        ? -1
        : a.provider.record.peerId > b.provider.record.peerId
          ? 1
          : 0),
  )
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareNumber(a: number, b: number): number {
  if (a === b) return 0
  return a < b ? -1 : 1
}

export interface PeerBansInit {
  /** default DEFAULT_BAN_MS */
  banMs?: number
  /** default DEFAULT_MAX_BANNED_PEERS; beyond it the ban ending soonest is dropped */
  maxPeers?: number
  now?: () => number
}

/** Peers to skip for a while after they failed us; bounded in count (the oldest bans go first). */
export class PeerBans {
  private readonly banMs: number
  private readonly maxPeers: number
  private readonly now: () => number
  // Insertion order = order of banning, so the first entry is the oldest ban.
  private readonly until = new Map<string, number>()

  constructor(init: PeerBansInit = {}) {
    this.banMs = init.banMs ?? DEFAULT_BAN_MS
    this.maxPeers = Math.max(1, init.maxPeers ?? DEFAULT_MAX_BANNED_PEERS)
    this.now = init.now ?? Date.now
  }

  ban(peer: PeerId | string, durationMs = this.banMs): void {
    const key = peer.toString()
    this.until.delete(key)
    if (this.until.size >= this.maxPeers) this.prune()
    while (this.until.size >= this.maxPeers) {
      const oldest = this.until.keys().next().value
      if (oldest === undefined) break
      this.until.delete(oldest)
    }
    this.until.set(key, this.now() + durationMs)
  }

  unban(peer: PeerId | string): void {
    this.until.delete(peer.toString())
  }

  isBanned(peer: PeerId | string): boolean {
    const key = peer.toString()
    const until = this.until.get(key)
    if (until === undefined) return false
    if (until > this.now()) return true
    this.until.delete(key)
    return false
  }

  /** Drops every ban that has ended. */
  prune(): void {
    const now = this.now()
    for (const [key, until] of this.until) if (until <= now) this.until.delete(key)
  }

  get size(): number {
    return this.until.size
  }
}
