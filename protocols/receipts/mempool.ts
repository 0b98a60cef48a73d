// The receipt mempool: accepted receipts, durable before anyone is told so. A receipt is written in one
// level batch with its index entries (by client, by epoch) before `add` resolves, and only then is it
// acknowledged to the client or forwarded on gossip, so a node killed at any moment has every receipt it
// acknowledged (LevelDB's log survives SIGKILL; the batch is all or nothing). Writes asked for while one
// is in flight share the next batch (group commit), so a burst costs a few writes, not one per receipt. Receipts leave once a
// checkpoint covers them; their requestIds are still refused until the authorization's deadline.
//
// Memory holds what the hot path asks for without touching disk: each client's pending fees (spending in
// receipts no checkpoint has settled yet), the requestIds held, and those settled until their deadlines. `add` checks the client's spendable
// balance against its pending fees and reserves the fee synchronously, before its write, so two receipts
// of one client validated at once can never together pass a balance that holds only one of them.
import { bytesToHex, type Hex, hexToBytes } from 'viem'
import { OpenLedgerError } from '../common/errors.ts'
import type { SignedReceipt } from './receipt.ts'
import { decodeReceipt, encodeReceipt } from './receipt-wire.ts'
import { ReplayGuard } from './replay-guard.ts'

/** The part of a level (sub)database the mempool uses: binary keys and values. */
type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }

export interface MempoolLevel {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  batch(ops: BatchOp[]): Promise<void>
  iterator(options: { gte: Uint8Array; lt: Uint8Array }): AsyncIterable<[Uint8Array, Uint8Array]>
}

export interface MempoolOptions {
  /** first of three key prefixes (receipts, by client, by epoch) in the database */
  prefix: number
  /** receipts held at most; beyond it `add` answers 'full' */
  maxReceipts: number
  /** the consensus epoch a receipt served at `servedAt` (unix seconds) belongs to */
  epochOf(servedAt: bigint): bigint
  /** settled ids stay refused this long past their deadlines (the gossip check's clock skew; default 60) */
  graceS?: number
  /** ms clock (default Date.now) */
  now?: () => number
  /** told about a stored receipt that does not decode at open (skipped, never fatal) */
  onInvalid?(key: Uint8Array, error: Error): void
}

export type AddResult = 'added' | 'known' | 'full' | 'overspent'

export class MempoolError extends OpenLedgerError<{ code: 'MEMPOOL_WRITE_FAILED' }> {}

const EMPTY = new Uint8Array(0)

export class Mempool {
  private readonly pending = new Map<string, bigint>()
  /** requestIds of the receipts held */
  private readonly held = new Set<string>()
  /** requestIds of receipts a checkpoint settled, until their deadlines */
  private readonly settled: ReplayGuard
  /** group commit: writes asked for while one is in flight go out together in the next batch */
  private queued: BatchOp[] = []
  private waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = []
  private flushing = false

  private constructor(
    private readonly level: MempoolLevel,
    private readonly options: MempoolOptions,
  ) {
    this.settled = new ReplayGuard({ maxEntries: options.maxReceipts, now: options.now })
  }

  /** Opens the mempool on `level`, rebuilding pending fees and seen ids from what is stored. */
  static async open(level: MempoolLevel, options: MempoolOptions): Promise<Mempool> {
    const pool = new Mempool(level, options)
    for await (const [key, value] of level.iterator(pool.range(0))) {
      let signed: SignedReceipt
      try {
        signed = decodeReceipt(value)
      } catch (err) {
        options.onInvalid?.(key, err as Error)
        continue
      }
      pool.remember(signed)
    }
    return pool
  }

  /** Receipts held now. */
  get size(): number {
    return this.held.size
  }

  /** Whether a receipt for this requestId was accepted (held, or checkpointed before its deadline). */
  has(requestId: Hex): boolean {
    const id = requestId.toLowerCase()
    return this.held.has(id) || this.settled.has(id)
  }

  /** Fees of the client's receipts that no checkpoint has settled yet, in wei. */
  pendingOf(client: Hex): bigint {
    return this.pending.get(client.toLowerCase()) ?? 0n
  }

  /**
   * Stores an accepted receipt (durably, before it resolves) unless its requestId is known, the pool is
   * full, or the client's pending fees plus this one would pass `spendable` (the client's available
   * balance on chain, when the caller checks it). `wire` is its encoding when the caller has it.
   */
  async add(signed: SignedReceipt, spendable?: bigint, wire?: Uint8Array): Promise<AddResult> {
    const r = signed.receipt
    const id = r.authorization.requestId.toLowerCase()
    const client = r.authorization.client.toLowerCase()
    if (this.held.has(id) || this.settled.has(id)) return 'known'
    if (this.held.size >= this.options.maxReceipts) return 'full'
    const before = this.pending.get(client) ?? 0n
    if (spendable !== undefined && before + r.fee > spendable) return 'overspent'
    // Reserved now, before the write: a second receipt of this client checked meanwhile sees it.
    this.remember(signed)
    try {
      await this.write(this.putOps(signed, wire))
    } catch (err) {
      this.forget(signed)
      throw new MempoolError(
        { code: 'MEMPOOL_WRITE_FAILED' },
        `storing receipt ${id}: ${(err as Error).message}`,
      )
    }
    return 'added'
  }

  async get(requestId: Hex): Promise<SignedReceipt | undefined> {
    const value = await this.level.get(this.key(0, hexToBytes(requestId)))
    return value === undefined ? undefined : decodeReceipt(value)
  }

  /**
   * Receipts, newest index order within the filter: by client (its index), by epoch (its index), else all;
   * node and model filter what is read. At most `limit`.
   */
  async list(filter: ReceiptFilter = {}, limit = 100): Promise<SignedReceipt[]> {
    const out: SignedReceipt[] = []
    const matches = (s: SignedReceipt) =>
      (filter.node === undefined ||
        s.receipt.authorization.node.toLowerCase() === filter.node.toLowerCase()) &&
      (filter.model === undefined || s.receipt.authorization.model === filter.model) &&
      (filter.client === undefined ||
        s.receipt.authorization.client.toLowerCase() === filter.client.toLowerCase())
    if (filter.client !== undefined || filter.epoch !== undefined) {
      const range =
        filter.client !== undefined
          ? this.range(1, hexToBytes(filter.client))
          : this.range(2, epochBytes(filter.epoch!))
      for await (const [key] of this.level.iterator(range)) {
        const signed = await this.get(bytesToHex(key.subarray(key.length - 32)))
        if (signed !== undefined && matches(signed)) out.push(signed)
        if (out.length >= limit) break
      }
      return out
    }
    for await (const [, value] of this.level.iterator(this.range(0))) {
      const signed = decodeReceipt(value)
      if (matches(signed)) out.push(signed)
      if (out.length >= limit) break
    }
    return out
  }

  /** Removes receipts a checkpoint settled (their ids stay refused until their deadlines). */
  async removeCheckpointed(requestIds: Hex[]): Promise<number> {
    const gone: SignedReceipt[] = []
    for (const id of requestIds) {
      const signed = await this.get(id)
      if (signed !== undefined) gone.push(signed)
    }
    if (gone.length === 0) return 0
    await this.write(gone.flatMap((s) => this.indexKeys(s).map((key) => ({ type: 'del' as const, key }))))
    for (const s of gone) {
      this.forget(s)
      // A full guard only weakens the refusal of a settled id the consensus layer refuses anyway.
      this.settled.take(
        s.receipt.authorization.requestId.toLowerCase(),
        Number(s.receipt.authorization.deadline),
      )
    }
    return gone.length
  }

  private remember(signed: SignedReceipt): void {
    const r = signed.receipt
    const client = r.authorization.client.toLowerCase()
    this.held.add(r.authorization.requestId.toLowerCase())
    this.pending.set(client, (this.pending.get(client) ?? 0n) + r.fee)
  }

  private forget(signed: SignedReceipt): void {
    const client = signed.receipt.authorization.client.toLowerCase()
    const left = (this.pending.get(client) ?? 0n) - signed.receipt.fee
    if (left > 0n) this.pending.set(client, left)
    else this.pending.delete(client)
    this.held.delete(signed.receipt.authorization.requestId.toLowerCase())
  }

  /** Resolves once `ops` are on disk, in one batch with whatever else was asked for meanwhile. */
  private write(ops: BatchOp[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push(...ops)
      this.waiting.push({ resolve, reject })
      if (!this.flushing) void this.flush()
    })
  }

  private async flush(): Promise<void> {
    this.flushing = true
    while (this.queued.length > 0) {
      const ops = this.queued
      const waiting = this.waiting
      this.queued = []
      this.waiting = []
      try {
        await this.level.batch(ops)
        for (const w of waiting) w.resolve()
      } catch (err) {
        for (const w of waiting) w.reject(err as Error)
      }
    }
    this.flushing = false
  }

  private putOps(signed: SignedReceipt, wire?: Uint8Array): BatchOp[] {
    const [primary, byClient, byEpoch] = this.indexKeys(signed)
    return [
      { type: 'put' as const, key: primary!, value: wire ?? encodeReceipt(signed) },
      { type: 'put' as const, key: byClient!, value: EMPTY },
      { type: 'put' as const, key: byEpoch!, value: EMPTY },
    ]
  }

  private indexKeys(signed: SignedReceipt): Uint8Array[] {
    const a = signed.receipt.authorization
    const id = hexToBytes(a.requestId)
    return [
      this.key(0, id),
      this.key(1, hexToBytes(a.client), id),
      this.key(2, epochBytes(this.options.epochOf(signed.receipt.servedAt)), id),
    ]
  }

  private key(table: number, ...parts: Uint8Array[]): Uint8Array {
    const size = parts.reduce((n, p) => n + p.length, 1)
    const key = new Uint8Array(size)
    key[0] = this.options.prefix + table
    let at = 1
    for (const p of parts) {
      key.set(p, at)
      at += p.length
    }
    return key
  }

  /** Keys of one table starting with `start` (all of it when absent). */
  private range(table: number, start: Uint8Array = EMPTY): { gte: Uint8Array; lt: Uint8Array } {
    const gte = this.key(table, start)
    // The smallest key above every key with this start: increment the last byte that is not 0xff.
    const lt = gte.slice()
    let i = lt.length - 1
    while (i >= 0 && lt[i] === 0xff) i--
    lt[i]!++
    return { gte, lt: lt.subarray(0, i + 1) }
  }
}

export interface ReceiptFilter {
  client?: Hex
  node?: Hex
  model?: bigint
  epoch?: bigint
}

function epochBytes(epoch: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, epoch)
  return out
}
