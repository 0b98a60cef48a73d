// A KeyValueStore of contribution records on a real level database in a temp dir, for the unit tests of
// this folder (the node's own repository lives in node/, which protocols/ does not import). Values are
// JSON checked against the stored schema, like the node's repository.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import type { KeyValueStore } from '../../common/store.ts'
import { type ContributionRecord, contributionRecordSchema } from '../contribution-records.ts'

export interface LevelRecordStore extends KeyValueStore<string, ContributionRecord> {
  close(): Promise<void>
}

export async function levelRecordStore(): Promise<LevelRecordStore> {
  const dir = await mkdtemp(join(tmpdir(), 'openledger-datanet-store-'))
  const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await db.open()
  return {
    async get(key) {
      const value = await db.get(key)
      return value === undefined ? undefined : contributionRecordSchema.parse(JSON.parse(value))
    },
    async put(key, value) {
      await db.put(key, JSON.stringify(contributionRecordSchema.parse(value)))
    },
    async delete(key) {
      await db.del(key)
    },
    async *entries(options = {}) {
      const range = options.prefix === undefined ? {} : { gte: options.prefix, lt: `${options.prefix}\uffff` }
      for await (const [key, value] of db.iterator(range))
        yield [key, contributionRecordSchema.parse(JSON.parse(value))] as [string, ContributionRecord]
    },
    async close() {
      await db.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
