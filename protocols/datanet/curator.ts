// The curator: what a node does with verified contributions. On the owner's and curators' nodes each one
// waits in the bounded curation queue (curation-queue.ts), its content is fetched (at most the signed size
// + 1 byte, within a time limit) and run through the Datanet's rules (curation.ts), and the outcome is
// stored: pending for a human decision, or rejected with a reason. A curator then accepts or rejects the
// pending ones. Other nodes keep only their own contributions (so `review` can show what was submitted).
//
// Stored records are only ever written whole, once a curation has finished: a curation aborted by stop()
// writes nothing, so its record stays as it was (absent, or the message it was superseding).

import { extname } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import type { Address } from 'viem'
import { collectBytes, drain } from '../common/iterables.ts'
import { KeyedLock } from '../common/keyed-lock.ts'
import type { Contribution } from './contribution.ts'
import {
  arrival,
  type ContributionRecord,
  type ContributionRecords,
  type ContributionStatus,
  pendingRecord,
  recordKey,
  sameMessage,
} from './contribution-records.ts'
import { curate } from './curation.ts'
import { CurationQueue, type CurationQueueOptions, DEFAULT_CURATION_QUEUE } from './curation-queue.ts'
import type { DatanetDirectory } from './datanet-directory.ts'
import { DatanetServiceError } from './errors.ts'
import { encodeSignature } from './near-duplicates.ts'

export interface CuratorOptions extends CurationQueueOptions {
  /** Longest a curation may take to fetch the Datanet's rules and the content (then CONTENT_UNAVAILABLE). */
  fetchTimeoutMs: number
}

export const DEFAULT_CURATOR_OPTIONS: CuratorOptions = { ...DEFAULT_CURATION_QUEUE, fetchTimeoutMs: 30_000 }

export interface CuratorComponents {
  directory: Pick<DatanetDirectory, 'isCurator' | 'metadata'>
  records: ContributionRecords
  unixfs: {
    cat(cid: CID, options?: { signal?: AbortSignal; length?: number }): AsyncIterable<Uint8Array>
  }
  pins: { add(cid: CID, options?: { signal?: AbortSignal }): AsyncIterable<CID> }
  account: { address: Address }
  log: {
    info(o: object, m?: string): void
    warn(o: object, m?: string): void
    debug(o: object, m?: string): void
  }
  now?: () => number
}

export class Curator {
  private readonly c: CuratorComponents
  private readonly now: () => number
  private readonly options: CuratorOptions
  private readonly queue: CurationQueue<Contribution, ContributionRecord>
  /** Serializes writes of one record: a finishing curation and a curator's decision never interleave. */
  private readonly recordLock = new KeyedLock()
  private acceptSeq = 0

  constructor(components: CuratorComponents, options: Partial<CuratorOptions> = {}) {
    this.c = components
    this.now = components.now ?? Date.now
    this.options = { ...DEFAULT_CURATOR_OPTIONS, ...options }
    this.queue = new CurationQueue(
      this.options,
      (c, signal) => this.curateOne(c, signal),
      // A waiting message gives way to a newer differently signed one for the same record.
      (queued, incoming) => !sameMessage(queued, incoming) && incoming.createdAt >= queued.createdAt,
    )
  }

  async start(): Promise<void> {
    this.acceptSeq = await this.c.records.lastAcceptSeq()
  }

  /** Aborts curations in progress (nothing half-written) and forgets what waits; returns promptly. */
  async stop(): Promise<void> {
    await this.queue.stop()
  }

  /** Items waiting for curation, at work, and refused or dropped so far. */
  queueStats(): { waiting: number; active: number; dropped: number } {
    return { waiting: this.queue.length, active: this.queue.active, dropped: this.queue.dropped }
  }

  /** The contributions topic's handler: queues the contribution and returns without waiting for curation. */
  async onContribution(c: Contribution, _from?: PeerId, _signal?: AbortSignal): Promise<void> {
    await this.receive(c, false)
  }

  /**
   * Records a verified contribution. On a curator node it is queued for curation; for this node's own
   * contribution (`own`) the answer waits for the outcome, for gossip it does not (the returned record is
   * then the pending record the curation starts from).
   */
  async receive(c: Contribution, own: boolean): Promise<ContributionRecord> {
    const stored = await this.stored(c, own)
    if (stored === null) return pendingRecord(c, this.now())
    const seen = arrival(stored, c)
    if (seen === 'replay' || seen === 'stale') return stored!
    const curator = await this.c.directory.isCurator(c.datanetId).catch(() => false)
    if (!curator) {
      const record = pendingRecord(c, this.now())
      // The contributor's own copy, so `review` on its node shows what it submitted; others keep nothing.
      if (own) await this.write(c, record)
      return record
    }
    const pushed = this.queue.push(recordKey(c.datanetId, c.contentCid, c.contributor), c.contributor, c)
    if (!pushed.queued) {
      this.c.log.debug(
        { datanetId: c.datanetId.toString(), cid: c.contentCid, reason: pushed.reason },
        'contribution not queued for curation',
      )
      if (own)
        throw new DatanetServiceError(
          { code: 'CURATION_BUSY', reason: pushed.reason },
          `the curation queue refused this contribution (${pushed.reason}); try again later`,
        )
      return pendingRecord(c, this.now())
    }
    if (!own) {
      pushed.done.catch((err) =>
        this.c.log.warn({ cid: c.contentCid, err: (err as Error).message }, 'curation failed'),
      )
      return pendingRecord(c, this.now())
    }
    const record = await pushed.done
    if (!record)
      throw new DatanetServiceError(
        { code: 'CURATION_BUSY' },
        'the node stopped before curating this contribution',
      )
    return record
  }

  /** The stored record; null when it exists but cannot be read (never overwritten: a person should look). */
  private async stored(c: Contribution, own: boolean): Promise<ContributionRecord | undefined | null> {
    try {
      return await this.c.records.get(c.datanetId, c.contentCid, c.contributor)
    } catch (err) {
      this.c.log.warn(
        { datanetId: c.datanetId.toString(), cid: c.contentCid, err: (err as Error).message },
        'stored contribution record is unreadable; leaving it alone',
      )
      if (own) throw err
      return null
    }
  }

  /** Writes `record` unless, by now, the stored record says this message is a replay or stale. */
  private write(c: Contribution, record: ContributionRecord): Promise<ContributionRecord> {
    return this.recordLock.run(recordKey(c.datanetId, c.contentCid, c.contributor), async () => {
      const current = await this.c.records.get(c.datanetId, c.contentCid, c.contributor)
      const seen = arrival(current, c)
      if (current && seen !== 'new' && seen !== 'supersede') return current
      await this.c.records.put(record)
      return record
    })
  }

  private async curateOne(c: Contribution, stopSignal: AbortSignal): Promise<ContributionRecord> {
    const stored = await this.c.records.get(c.datanetId, c.contentCid, c.contributor)
    const seen = arrival(stored, c)
    if (stored && (seen === 'replay' || seen === 'stale')) return stored
    const signal = AbortSignal.any([stopSignal, AbortSignal.timeout(this.options.fetchTimeoutMs)])
    const record = pendingRecord(c, this.now())
    const { rules } = await this.c.directory.metadata(c.datanetId, signal)
    let content: Uint8Array | undefined
    // Decisions the signed fields alone settle come first: no fetch for content that would be refused.
    const ext = extname(c.name).toLowerCase()
    if (!rules.extensions.includes(ext)) {
      Object.assign(record, {
        status: 'rejected',
        reason: 'WRONG_TYPE',
        message: `"${c.name}" is not a ${rules.contributionType} contribution (allowed: ${rules.extensions.join(', ')})`,
        decidedAt: this.now(),
      })
    } else if (c.bytes > rules.maxBytes) {
      Object.assign(record, {
        status: 'rejected',
        reason: 'TOO_LARGE',
        message: `${c.bytes} bytes is over the limit of ${rules.maxBytes}`,
        decidedAt: this.now(),
      })
    } else {
      try {
        // Read at most one byte past the signed size, so a lying record cannot make us fetch more.
        content = await collectBytes(
          this.c.unixfs.cat(CID.parse(c.contentCid), { signal, length: c.bytes + 1 }),
          c.bytes + 1,
        )
      } catch (err) {
        if (stopSignal.aborted) throw err
        Object.assign(record, {
          status: 'rejected',
          reason: 'CONTENT_UNAVAILABLE',
          message: `content ${c.contentCid} could not be fetched: ${(err as Error).message}`,
          decidedAt: this.now(),
        })
      }
    }
    if (content !== undefined) {
      const key = recordKey(c.datanetId, c.contentCid, c.contributor)
      const result = curate(c, content, rules, await this.c.records.known(c.datanetId, key), this.now())
      if (result.ok) {
        record.textHash = result.textHash
        record.minhash = encodeSignature(result.minhash)
        // The contributor's own node pinned it when it contributed: pinned already is what we want.
        await drain(this.c.pins.add(CID.parse(c.contentCid), { signal })).catch((err) => {
          if ((err as Error).name !== 'AlreadyPinnedError') throw err
        })
      } else {
        Object.assign(record, {
          status: 'rejected',
          reason: result.reason,
          message: result.message,
          decidedAt: this.now(),
        })
      }
    }
    // Stopped while working: write nothing, the stored record stays as it was.
    stopSignal.throwIfAborted()
    const written = await this.write(c, record)
    this.c.log.info(
      {
        datanetId: written.datanetId,
        cid: written.contentCid,
        status: written.status,
        reason: written.reason,
        superseded: seen === 'supersede',
      },
      'contribution curated',
    )
    return written
  }

  // ---- Review

  list(datanetId: bigint, status?: ContributionStatus): Promise<ContributionRecord[]> {
    return this.c.records.list(datanetId, status)
  }

  async decide(
    datanetId: bigint,
    contentCid: string,
    accept: boolean,
    reason?: string,
  ): Promise<ContributionRecord> {
    if (!(await this.c.directory.isCurator(datanetId))) {
      throw new DatanetServiceError(
        { code: 'NOT_CURATOR' },
        `this node's account ${this.c.account.address} is not a curator of Datanet ${datanetId}`,
      )
    }
    const matching = (await this.list(datanetId)).filter((r) => r.contentCid === contentCid)
    if (matching.length === 0)
      throw new DatanetServiceError(
        { code: 'UNKNOWN_CONTRIBUTION' },
        `no contribution ${contentCid} in Datanet ${datanetId}`,
      )
    // Duplicates are rejected on arrival, so at most one record per content is ever pending.
    const chosen = matching.find((r) => r.status === 'pending') ?? matching[0]!
    return this.recordLock.run(recordKey(datanetId, contentCid, chosen.contributor), async () => {
      const record = (await this.c.records.get(datanetId, contentCid, chosen.contributor)) ?? chosen
      if (record.status !== 'pending') {
        throw new DatanetServiceError(
          { code: 'NOT_PENDING' },
          `contribution ${contentCid} is already ${record.status}${record.reason ? ` (${record.reason})` : ''}`,
        )
      }
      const decided: ContributionRecord = accept
        ? { ...record, status: 'accepted', decidedAt: this.now(), acceptSeq: ++this.acceptSeq }
        : {
            ...record,
            status: 'rejected',
            reason: 'CURATOR_REJECTED',
            message: reason ?? 'rejected by a curator',
            decidedAt: this.now(),
          }
      await this.c.records.put(decided)
      return decided
    })
  }
}
