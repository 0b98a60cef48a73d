// A typed key-value repository over one bucket of the node database (after Lodestar's Repository).

import type { Bucket } from './buckets.ts'
import type { NodeDatabase } from './database.ts'

export interface Codec<T> {
  encode(value: T): Uint8Array
  decode(bytes: Uint8Array): T
}

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

export const stringKey: Codec<string> = { encode: (s) => utf8.encode(s), decode: (b) => fromUtf8.decode(b) }
export function jsonCodec<T>(): Codec<T> {
  return {
    encode: (v) => utf8.encode(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))),
    decode: (b) =>
      JSON.parse(fromUtf8.decode(b), (_k, x) =>
        typeof x === 'string' && /^-?\d+n$/.test(x) ? BigInt(x.slice(0, -1)) : x,
      ),
  }
}

export class Repository<K, V> {
  constructor(
    private readonly db: Pick<NodeDatabase, 'repositories'>,
    private readonly bucket: Bucket,
    private readonly keyCodec: Codec<K>,
    private readonly valueCodec: Codec<V>,
  ) {}

  static json<V>(db: Pick<NodeDatabase, 'repositories'>, bucket: Bucket): Repository<string, V> {
    return new Repository(db, bucket, stringKey, jsonCodec<V>())
  }

  private key(k: K): Uint8Array {
    const body = this.keyCodec.encode(k)
    const out = new Uint8Array(body.length + 1)
    out[0] = this.bucket
    out.set(body, 1)
    return out
  }

  async get(k: K): Promise<V | undefined> {
    const bytes = await this.db.repositories.get(this.key(k))
    return bytes === undefined ? undefined : this.valueCodec.decode(bytes)
  }

  async put(k: K, v: V): Promise<void> {
    await this.db.repositories.put(this.key(k), this.valueCodec.encode(v))
  }

  async delete(k: K): Promise<void> {
    await this.db.repositories.del(this.key(k))
  }

  async *entries(): AsyncGenerator<[K, V]> {
    const gte = Uint8Array.of(this.bucket)
    const lt = Uint8Array.of(this.bucket + 1)
    for await (const [key, value] of this.db.repositories.iterator({ gte, lt })) {
      yield [this.keyCodec.decode(key.subarray(1)), this.valueCodec.decode(value)]
    }
  }
}
