// One level database per node. Helia's blockstore and datastore live in their own sublevels; every
// repository of ours lives under the `r` sublevel with a 1-byte bucket prefix (Lodestar's layout), so a
// node's whole state is one directory that a crash leaves consistent (LevelDB's write-ahead log).
import { Level } from 'level'
import { z } from 'zod'
import { OpenLedgerError } from '../../protocols/common/errors.ts'
import { Bucket } from './buckets.ts'
import { Repository } from './repository.ts'

export class DatabaseError extends OpenLedgerError<{
  code: 'DB_LOCKED' | 'DB_SCHEMA_NEWER' | 'DB_OPEN_FAILED'
  path: string
}> {}

/** Bumped when a stored format changes incompatibly; a node refuses a database from a newer version. */
export const SCHEMA_VERSION = 1

export type RootLevel = Level<Uint8Array, Uint8Array>
export type RepositoryLevel = ReturnType<typeof repositoriesOf>
function repositoriesOf(root: RootLevel) {
  return root.sublevel<Uint8Array, Uint8Array>('r', { keyEncoding: 'view', valueEncoding: 'view' })
}

export class NodeDatabase {
  readonly root: RootLevel
  readonly blocks: Level<string, Uint8Array>
  readonly datastore: Level<string, Uint8Array>
  readonly repositories: RepositoryLevel
  readonly meta: Repository<string, z.core.util.JSONType>

  private constructor(root: RootLevel) {
    this.root = root
    // blockstore-level / datastore-level take a Level; a sublevel has the same interface.
    this.blocks = root.sublevel<string, Uint8Array>('b', {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    }) as unknown as Level<string, Uint8Array>
    this.datastore = root.sublevel<string, Uint8Array>('d', {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    }) as unknown as Level<string, Uint8Array>
    this.repositories = repositoriesOf(root)
    this.meta = Repository.json(this, Bucket.meta, z.json())
  }

  static async open(path: string): Promise<NodeDatabase> {
    const root: RootLevel = new Level<Uint8Array, Uint8Array>(path, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    })
    try {
      await root.open()
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String(cause?.message))) {
        throw new DatabaseError(
          { code: 'DB_LOCKED', path },
          `database ${path} is in use by another process (is a node already running on this data dir?)`,
        )
      }
      throw new DatabaseError(
        { code: 'DB_OPEN_FAILED', path },
        `cannot open database ${path}: ${cause?.message ?? (err as Error).message}`,
      )
    }
    const db = new NodeDatabase(root)
    const stored = (await db.meta.get('schemaVersion')) as number | undefined
    if (stored !== undefined && stored > SCHEMA_VERSION) {
      await root.close()
      throw new DatabaseError(
        { code: 'DB_SCHEMA_NEWER', path },
        `database ${path} was written by a newer node (schema ${stored} > ${SCHEMA_VERSION})`,
      )
    }
    if (stored === undefined) await db.meta.put('schemaVersion', SCHEMA_VERSION)
    return db
  }

  async close(): Promise<void> {
    await this.root.close()
  }
}
