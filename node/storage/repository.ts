// A typed key-value repository over one bucket of the node database (after Lodestar's Repository).
//
// Values are stored as JSON and described by a zod schema: `encode` turns a value into its stored (JSON)
// form and `decode` checks stored JSON against the same schema. Nothing is guessed from the data: a type
// JSON cannot hold (a bigint) is a field the schema declares with a codec (`bigintString` below), so a
// string that merely looks like a number stays a string. A stored value that does not match its schema is
// a StoredValueError from `get` and is skipped (and reported) by `entries`, so one bad record never makes
// a whole listing fail.
import { z } from 'zod'
import { OpenLedgerError } from '../../protocols/common/errors.ts'
import type { KeyValueStore } from '../../protocols/common/store.ts'
import type { Bucket } from './buckets.ts'
import type { NodeDatabase } from './database.ts'

export interface Codec<T> {
  encode(value: T): Uint8Array
  decode(bytes: Uint8Array): T
}

export class StoredValueError extends OpenLedgerError<{ code: 'STORED_VALUE_INVALID'; bucket: number }> {}

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder('utf-8', { fatal: true })

export const stringKey: Codec<string> = { encode: (s) => utf8.encode(s), decode: (b) => fromUtf8.decode(b) }

/** A bigint stored as a decimal string: declare bigint fields with this, explicitly, in a value's schema. */
export const bigintString = z.codec(z.string().regex(/^-?\d{1,78}$/), z.bigint(), {
  decode: (s) => BigInt(s),
  encode: (b) => b.toString(),
})

/** JSON of `schema`'s stored form; decoding validates it, encoding refuses a value the schema does not allow. */
export function jsonCodec<S extends z.ZodType>(schema: S, bucket: Bucket): Codec<z.output<S>> {
  const invalid = (what: string) =>
    new StoredValueError({ code: 'STORED_VALUE_INVALID', bucket }, `bucket 0x${bucket.toString(16)}: ${what}`)
  return {
    encode: (value) => {
      const stored = z.safeEncode(schema, value)
      if (!stored.success) throw invalid(`refusing to store a value off its schema: ${summary(stored.error)}`)
      return utf8.encode(JSON.stringify(stored.data))
    },
    decode: (bytes) => {
      let json: unknown
      try {
        json = JSON.parse(fromUtf8.decode(bytes))
      } catch (err) {
        throw invalid(`stored value is not JSON: ${(err as Error).message}`)
      }
      const value = z.safeDecode(schema, json as z.input<S>)
      if (!value.success) throw invalid(`stored value does not match its schema: ${summary(value.error)}`)
      return value.data
    },
  }
}

function summary(error: z.ZodError): string {
  const issue = error.issues[0]
  return issue ? `${issue.path.join('.') || '(value)'}: ${issue.message}` : error.message
}

export interface RepositoryOptions {
  /** Told about each stored value `entries` skips because it does not decode (a log line, a metric). */
  onInvalid?: (error: StoredValueError) => void
}

export class Repository<K, V> implements KeyValueStore<K, V> {
  /** How many undecodable values `entries` has skipped since the node started. */
  invalidSkipped = 0

  constructor(
    private readonly db: Pick<NodeDatabase, 'repositories'>,
    private readonly bucket: Bucket,
    private readonly keyCodec: Codec<K>,
    private readonly valueCodec: Codec<V>,
    private readonly options: RepositoryOptions = {},
  ) {}

  /** String keys, JSON values described by `schema`. */
  static json<S extends z.ZodType>(
    db: Pick<NodeDatabase, 'repositories'>,
    bucket: Bucket,
    schema: S,
    options?: RepositoryOptions,
  ): Repository<string, z.output<S>> {
    return new Repository(db, bucket, stringKey, jsonCodec(schema, bucket), options)
  }

  private key(k: K): Uint8Array {
    return this.prefixed(this.keyCodec.encode(k))
  }

  private prefixed(body: Uint8Array): Uint8Array {
    const out = new Uint8Array(body.length + 1)
    out[0] = this.bucket
    out.set(body, 1)
    return out
  }

  /** Throws StoredValueError when the stored value does not match the schema. */
  async get(k: K): Promise<V | undefined> {
    const bytes = await this.db.repositories.get(this.key(k))
    return bytes === undefined ? undefined : this.valueCodec.decode(bytes)
  }

  async put(k: K, v: V): Promise<void> {
    const bytes = this.valueCodec.encode(v)
    await this.db.repositories.put(this.key(k), bytes)
  }

  async delete(k: K): Promise<void> {
    await this.db.repositories.del(this.key(k))
  }

  /**
   * Every entry (or those whose encoded key starts with `prefix`'s), in key order. A value that does not
   * decode is skipped and reported through `onInvalid`: a listing shows what can be read.
   */
  async *entries(options: { prefix?: K } = {}): AsyncGenerator<[K, V]> {
    const gte = this.prefixed(
      options.prefix === undefined ? new Uint8Array() : this.keyCodec.encode(options.prefix),
    )
    const lt = upperBound(gte)
    for await (const [key, value] of this.db.repositories.iterator({ gte, lt })) {
      let decoded: [K, V]
      try {
        decoded = [this.keyCodec.decode(key.subarray(1)), this.valueCodec.decode(value)]
      } catch (err) {
        this.invalidSkipped++
        const error =
          err instanceof StoredValueError
            ? err
            : new StoredValueError(
                { code: 'STORED_VALUE_INVALID', bucket: this.bucket },
                `bucket 0x${this.bucket.toString(16)}: undecodable key: ${(err as Error).message}`,
              )
        this.options.onInvalid?.(error)
        continue
      }
      yield decoded
    }
  }
}

/** The smallest byte string greater than every string starting with `prefix` (prefix is never all 0xff: it starts with a bucket byte). */
function upperBound(prefix: Uint8Array): Uint8Array {
  const out = Uint8Array.from(prefix)
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] < 0xff) {
      out[i]++
      return out.subarray(0, i + 1)
    }
  }
  throw new RangeError('no upper bound for an all-0xff prefix')
}
