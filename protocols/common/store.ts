/** The storage a protocol service needs: a typed key-value map that a node backs with its database. */
export interface KeyValueStore<K, V> {
  get(key: K): Promise<V | undefined>
  put(key: K, value: V): Promise<void>
  delete(key: K): Promise<void>
  entries(): AsyncIterable<[K, V]>
}
