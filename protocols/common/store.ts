/** The storage a protocol service needs: a typed key-value map that a node backs with its database. */
export interface KeyValueStore<K, V> {
  get(key: K): Promise<V | undefined>
  put(key: K, value: V): Promise<void>
  delete(key: K): Promise<void>
  /** Entries in key order; with `prefix`, only those whose key starts with it (string keys). */
  entries(options?: { prefix?: K }): AsyncIterable<[K, V]>
}
