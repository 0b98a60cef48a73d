// What a node keeps about each contribution: the signed record plus the curation outcome, its stored form
// (a zod schema: the node's repository stores exactly this, JSON-native, nothing guessed), and the rule
// that decides whether a newly received signed message replaces the stored one.
import type { Address } from 'viem'
import { z } from 'zod'
import type { KeyValueStore } from '../common/store.ts'
import type { Contribution } from './contribution.ts'
import type { KnownContribution, RejectReason } from './curation.ts'
import { decodeSignature } from './near-duplicates.ts'

export type ContributionStatus = 'pending' | 'accepted' | 'rejected'

/** The signed contribution (its id as a decimal string, so the record is plain JSON) and the curation outcome. */
export interface ContributionRecord extends Omit<Contribution, 'datanetId'> {
  datanetId: string
  status: ContributionStatus
  reason?: RejectReason
  message?: string
  receivedAt: number
  decidedAt?: number
  /** order of acceptance: the manifest lists contributions in this order */
  acceptSeq?: number
  publishedIn?: number
  textHash?: string
  minhash?: string
}

const rejectReasons = [
  'WRONG_TYPE',
  'TOO_LARGE',
  'TOO_SMALL',
  'SIZE_MISMATCH',
  'NOT_UTF8',
  'BAD_JSONL',
  'DUPLICATE_CID',
  'DUPLICATE_TEXT',
  'NEAR_DUPLICATE',
  'QUOTA_EXCEEDED',
  'CONTENT_UNAVAILABLE',
  'CURATOR_REJECTED',
] as const satisfies readonly RejectReason[]

const count = z.number().int().nonnegative()

/** The stored form of a record. Every field is a JSON type, so storing is JSON and reading is this check. */
export const contributionRecordSchema = z.object({
  datanetId: z.string().regex(/^[1-9]\d{0,77}$/),
  contentCid: z.string().min(1),
  bytes: count,
  license: z.string(),
  contributor: z.custom<Address>((v) => typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v)),
  createdAt: count,
  name: z.string(),
  signature: z.custom<`0x${string}`>((v) => typeof v === 'string' && /^0x[0-9a-fA-F]{130}$/.test(v)),
  status: z.enum(['pending', 'accepted', 'rejected']),
  reason: z.enum(rejectReasons).optional(),
  message: z.string().optional(),
  receivedAt: count,
  decidedAt: count.optional(),
  acceptSeq: count.optional(),
  publishedIn: count.optional(),
  textHash: z.string().optional(),
  minhash: z.string().optional(),
}) satisfies z.ZodType<ContributionRecord>

// One record per (Datanet, content, contributor): a second contributor's copy of the same content gets
// its own record (rejected as a duplicate), while one contributor's messages about one content share it.
export function recordKey(datanetId: bigint | string, contentCid: string, contributor: string): string {
  return `${datanetId}/${contentCid}/${contributor}`
}

/** A fresh, pending record of a verified contribution. */
export function pendingRecord(c: Contribution, receivedAt: number): ContributionRecord {
  return {
    datanetId: c.datanetId.toString(),
    contentCid: c.contentCid,
    bytes: c.bytes,
    license: c.license,
    contributor: c.contributor,
    createdAt: c.createdAt,
    name: c.name,
    signature: c.signature,
    status: 'pending',
    receivedAt,
  }
}

/**
 * What a newly received, verified message does to the stored record with the same key:
 * - `new`: nothing is stored yet: curate it;
 * - `replay`: the very same signed message (same signature): nothing to do;
 * - `supersede`: a differently signed message, not older than the stored one, for a record that is not
 *   accepted (pending or rejected): it replaces the record and is curated again. This is how a contributor
 *   corrects a contribution (a new name, a new licence) and how a record refused for something the
 *   message said is given another chance by whoever holds the key;
 * - `stale`: an older message (createdAt before the stored one) or any message for an accepted record:
 *   an accepted record is never replaced, since a curator decided on exactly what it says.
 */
export type Arrival = 'new' | 'replay' | 'supersede' | 'stale'

export function arrival(stored: ContributionRecord | undefined, incoming: Contribution): Arrival {
  if (stored === undefined) return 'new'
  if (sameMessage(stored, incoming)) return 'replay'
  if (stored.status === 'accepted') return 'stale'
  return incoming.createdAt >= stored.createdAt ? 'supersede' : 'stale'
}

/**
 * The same signed message: same signature and same signed fields. A stored record with this signature but
 * other fields was stored from a message whose signature did not cover them (a relayed, renamed copy from
 * before `name` was signed); the verified message supersedes it.
 */
type SignedFields = Pick<Contribution, 'signature' | 'name' | 'license' | 'bytes' | 'createdAt'>
export function sameMessage(a: SignedFields, b: SignedFields): boolean {
  return (
    a.signature.toLowerCase() === b.signature.toLowerCase() &&
    a.name === b.name &&
    a.license === b.license &&
    a.bytes === b.bytes &&
    a.createdAt === b.createdAt
  )
}

/** The contribution records of every Datanet, over the node's key-value store. */
export class ContributionRecords {
  constructor(private readonly store: KeyValueStore<string, ContributionRecord>) {}

  /** Throws the store's typed error when the stored value cannot be read (see node/storage/repository.ts). */
  async get(datanetId: bigint | string, contentCid: string, contributor: string) {
    return this.store.get(recordKey(datanetId, contentCid, contributor))
  }

  async put(record: ContributionRecord): Promise<void> {
    await this.store.put(recordKey(record.datanetId, record.contentCid, record.contributor), record)
  }

  /** A Datanet's records (optionally of one status), oldest first. Unreadable records are skipped by the store. */
  async list(datanetId: bigint | string, status?: ContributionStatus): Promise<ContributionRecord[]> {
    const out: ContributionRecord[] = []
    for await (const [, r] of this.store.entries({ prefix: `${datanetId}/` })) {
      if (status === undefined || r.status === status) out.push(r)
    }
    return out.sort((a, b) => a.receivedAt - b.receivedAt || a.contentCid.localeCompare(b.contentCid))
  }

  /** What curation compares a new contribution with: every record but `except` (the one being curated again). */
  async known(datanetId: bigint | string, except?: string): Promise<KnownContribution[]> {
    const out: KnownContribution[] = []
    for (const r of await this.list(datanetId)) {
      if (recordKey(r.datanetId, r.contentCid, r.contributor) === except) continue
      out.push({
        contentCid: r.contentCid,
        contributor: r.contributor,
        receivedAt: r.receivedAt,
        textHash: r.textHash,
        minhash: r.minhash ? decodeSignature(r.minhash) : undefined,
        rejected: r.status === 'rejected',
      })
    }
    return out
  }

  /** The highest acceptance number stored, so numbering continues after a restart. */
  async lastAcceptSeq(): Promise<number> {
    let last = 0
    for await (const [, r] of this.store.entries()) last = Math.max(last, r.acceptSeq ?? 0)
    return last
  }
}
