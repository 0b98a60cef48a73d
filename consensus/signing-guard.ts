// The validator's slashing protection (issue 13), after Ethereum's EIP-3076: before a checkpoint vote is
// signed, its (epoch, round) and the checkpoint's EIP-712 digest are written to disk with fsync; a
// second, different digest for a recorded (epoch, round) is refused. The Ledger slashes any two votes of
// one signer for one (epoch, round) whose digests differ, so the guard refuses on the digest, not on the
// state root alone. Signing the very same digest again is allowed (ECDSA here is deterministic, so it is
// the same signature): a validator killed between recording and sending re-sends the vote it recorded.
//
// Records below a low watermark are pruned (old epochs can no longer be checkpointed); the guard refuses
// to sign below the watermark, since it no longer knows what it signed there. An (epoch, round) for which
// an import brought a different digest than the one recorded is poisoned: nothing is signed for it again.
//
// Interchange: `exportInterchange` writes every record as JSON (the idea of EIP-3076's interchange format)
// so an operator moves a validator to another machine without ever signing twice; `importInterchange`
// merges a file into the store, keeping the higher watermark.
import type { Hex } from 'viem'
import { z } from 'zod'
import { OpenLedgerError } from '../protocols/common/errors.ts'

export type SigningGuardErrorCode =
  | 'DOUBLE_VOTE'
  | 'BELOW_WATERMARK'
  | 'GUARD_WRITE_FAILED'
  | 'INTERCHANGE_INVALID'
  | 'INTERCHANGE_OTHER_SIGNER'

export class SigningGuardError extends OpenLedgerError<{
  code: SigningGuardErrorCode
  epoch?: string
  round?: number
}> {}

export interface GuardBatchOp {
  type: 'put' | 'del'
  key: Uint8Array
  value?: Uint8Array
}

/** The part of a level database the guard uses (the node's repositories database). */
export interface GuardLevel {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  batch(ops: GuardBatchOp[], options?: { sync?: boolean }): Promise<void>
  iterator(options: { gte: Uint8Array; lt: Uint8Array }): AsyncIterable<[Uint8Array, Uint8Array]>
}

export const INTERCHANGE_VERSION = 'openledger-signing-1'

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/)
const uintString = z.string().regex(/^(0|[1-9][0-9]{0,19})$/)

export const interchangeSchema = z.object({
  metadata: z.object({
    interchange_format_version: z.literal(INTERCHANGE_VERSION),
    signer: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    /** epochs below it were pruned: never sign there */
    low_watermark_epoch: uintString,
  }),
  votes: z
    .array(
      z.object({
        epoch: uintString,
        round: z
          .number()
          .int()
          .min(0)
          .max(2 ** 32 - 1),
        /** the checkpoint's EIP-712 digest; null: conflicting records, never sign this (epoch, round) */
        signing_root: hex32.nullable(),
      }),
    )
    .max(1_000_000),
})
export type Interchange = z.infer<typeof interchangeSchema>

const UINT64_MAX = (1n << 64n) - 1n
/** value of a poisoned (epoch, round): not a digest (33 bytes) */
const POISON = new Uint8Array(33).fill(0xff)
const WATERMARK_KEY_SUFFIX = 0xff

export class SigningGuard {
  /** `${epoch}:${round}` → digest (lowercase hex) or null when poisoned */
  private readonly records = new Map<string, Hex | null>()
  private watermark = 0n

  private constructor(
    private readonly level: GuardLevel,
    /** votes under [prefix], the watermark under [prefix + 1] */
    private readonly prefix: number,
    private readonly signer: string,
  ) {}

  static async open(level: GuardLevel, options: { prefix: number; signer: string }): Promise<SigningGuard> {
    const guard = new SigningGuard(level, options.prefix, options.signer.toLowerCase())
    for await (const [key, value] of level.iterator({
      gte: Uint8Array.of(options.prefix),
      lt: Uint8Array.of(options.prefix + 1),
    })) {
      if (key.length !== 13) continue
      const view = new DataView(key.buffer, key.byteOffset, key.byteLength)
      guard.records.set(recordKey(view.getBigUint64(1), view.getUint32(9)), digestOf(value))
    }
    const mark = await level.get(Uint8Array.of(options.prefix + 1, WATERMARK_KEY_SUFFIX))
    if (mark !== undefined && mark.length === 8)
      guard.watermark = new DataView(mark.buffer, mark.byteOffset, 8).getBigUint64(0)
    return guard
  }

  /** Epochs below this are refused. */
  get lowWatermark(): bigint {
    return this.watermark
  }

  /** The digest recorded for (epoch, round): undefined if none, null if poisoned. */
  recorded(epoch: bigint, round: number): Hex | null | undefined {
    return this.records.get(recordKey(epoch, round))
  }

  /**
   * Records that this validator is about to sign `digest` for (epoch, round), durably, and resolves only
   * then: 'recorded' for a first vote, 'same' when exactly this digest was recorded before (re-sending is
   * safe). Throws DOUBLE_VOTE for any other digest, BELOW_WATERMARK under the watermark. The check and the
   * claim happen in one synchronous step, so two concurrent calls for one (epoch, round) cannot both pass.
   */
  async record(epoch: bigint, round: number, digest: Hex): Promise<'recorded' | 'same'> {
    checkEpochRound(epoch, round)
    if (!/^0x[0-9a-fA-F]{64}$/.test(digest))
      throw new SigningGuardError({ code: 'INTERCHANGE_INVALID' }, `digest ${digest} is not 32 bytes`)
    if (epoch < this.watermark)
      throw new SigningGuardError(
        { code: 'BELOW_WATERMARK', epoch: epoch.toString(), round },
        `epoch ${epoch} is below the signing guard's low watermark ${this.watermark}: its records were pruned`,
      )
    const key = recordKey(epoch, round)
    const lower = digest.toLowerCase() as Hex
    const known = this.records.get(key)
    if (known === lower) return 'same'
    if (known !== undefined)
      throw new SigningGuardError(
        { code: 'DOUBLE_VOTE', epoch: epoch.toString(), round },
        known === null
          ? `(epoch ${epoch}, round ${round}) has conflicting records: this validator never signs it`
          : `already signed ${known} for (epoch ${epoch}, round ${round}); refusing a second vote`,
      )
    this.records.set(key, lower)
    try {
      await this.level.batch(
        [{ type: 'put', key: this.voteKey(epoch, round), value: Buffer.from(lower.slice(2), 'hex') }],
        { sync: true },
      )
    } catch (err) {
      // Not durable, so not signed: the claim is released for a later try.
      this.records.delete(key)
      throw new SigningGuardError(
        { code: 'GUARD_WRITE_FAILED', epoch: epoch.toString(), round },
        `recording the vote failed: ${(err as Error).message}`,
      )
    }
    return 'recorded'
  }

  /** Drops records below `epoch` and refuses to sign there from now on. */
  async prune(epoch: bigint): Promise<number> {
    if (epoch <= this.watermark) return 0
    const ops: GuardBatchOp[] = []
    for (const key of this.records.keys()) {
      const [e, r] = parseRecordKey(key)
      if (e < epoch) ops.push({ type: 'del', key: this.voteKey(e, r) })
    }
    ops.push({ type: 'put', key: Uint8Array.of(this.prefix + 1, WATERMARK_KEY_SUFFIX), value: u64(epoch) })
    await this.level.batch(ops, { sync: true })
    this.watermark = epoch
    for (const key of [...this.records.keys()]) if (parseRecordKey(key)[0] < epoch) this.records.delete(key)
    return ops.length - 1
  }

  exportInterchange(): Interchange {
    const votes = [...this.records.entries()]
      .map(([key, digest]) => {
        const [epoch, round] = parseRecordKey(key)
        return { epoch, round, signing_root: digest }
      })
      .sort((a, b) => (a.epoch === b.epoch ? a.round - b.round : a.epoch < b.epoch ? -1 : 1))
      .map((v) => ({ ...v, epoch: v.epoch.toString() }))
    return {
      metadata: {
        interchange_format_version: INTERCHANGE_VERSION,
        signer: this.signer,
        low_watermark_epoch: this.watermark.toString(),
      },
      votes,
    }
  }

  /**
   * Merges an exported history (untrusted JSON): records it did not have are added; where it disagrees
   * with a record, that (epoch, round) is poisoned; the higher watermark wins. All in one durable batch,
   * after the whole file has been checked: a bad file changes nothing.
   */
  async importInterchange(input: unknown): Promise<{ added: number; poisoned: number; same: number }> {
    const parsed = interchangeSchema.safeParse(input)
    if (!parsed.success)
      throw new SigningGuardError(
        { code: 'INTERCHANGE_INVALID' },
        `not a signing-guard interchange file: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
      )
    const file = parsed.data
    if (file.metadata.signer.toLowerCase() !== this.signer)
      throw new SigningGuardError(
        { code: 'INTERCHANGE_OTHER_SIGNER' },
        `the file is for signer ${file.metadata.signer}, this validator signs as ${this.signer}`,
      )
    const ops: GuardBatchOp[] = []
    const updates = new Map<string, Hex | null>()
    let added = 0
    let poisoned = 0
    let same = 0
    for (const vote of file.votes) {
      const epoch = BigInt(vote.epoch)
      checkEpochRound(epoch, vote.round)
      const key = recordKey(epoch, vote.round)
      const incoming = vote.signing_root === null ? null : (vote.signing_root.toLowerCase() as Hex)
      const known = updates.has(key) ? updates.get(key) : this.records.get(key)
      if (known === incoming) {
        same++
        continue
      }
      const value = known === undefined ? incoming : null
      if (value === null) poisoned++
      else added++
      updates.set(key, value)
      ops.push({
        type: 'put',
        key: this.voteKey(epoch, vote.round),
        value: value === null ? POISON : Buffer.from(value.slice(2), 'hex'),
      })
    }
    const watermark = BigInt(file.metadata.low_watermark_epoch)
    if (watermark > this.watermark)
      ops.push({
        type: 'put',
        key: Uint8Array.of(this.prefix + 1, WATERMARK_KEY_SUFFIX),
        value: u64(watermark),
      })
    if (ops.length > 0) await this.level.batch(ops, { sync: true })
    for (const [key, value] of updates) this.records.set(key, value)
    if (watermark > this.watermark) this.watermark = watermark
    return { added, poisoned, same }
  }

  private voteKey(epoch: bigint, round: number): Uint8Array {
    const key = new Uint8Array(13)
    const view = new DataView(key.buffer)
    key[0] = this.prefix
    view.setBigUint64(1, epoch)
    view.setUint32(9, round)
    return key
  }
}

function checkEpochRound(epoch: bigint, round: number): void {
  if (typeof epoch !== 'bigint' || epoch < 0n || epoch > UINT64_MAX || !Number.isInteger(round) || round < 0)
    throw new SigningGuardError(
      { code: 'INTERCHANGE_INVALID' },
      `(epoch ${epoch}, round ${round}) is out of range`,
    )
  if (round > 2 ** 32 - 1)
    throw new SigningGuardError({ code: 'INTERCHANGE_INVALID' }, `round ${round} is not a uint32`)
}

const recordKey = (epoch: bigint, round: number) => `${epoch}:${round}`

function parseRecordKey(key: string): [bigint, number] {
  const [e, r] = key.split(':')
  return [BigInt(e!), Number(r)]
}

function digestOf(value: Uint8Array): Hex | null {
  return value.length === 32 ? (`0x${Buffer.from(value).toString('hex')}` as Hex) : null
}

function u64(value: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, value)
  return out
}
