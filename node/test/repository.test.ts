// Repositories on a real level database in a temp dir: values stored by schema, nothing guessed from the data,
// and a stored value off its schema is a typed error for `get` and skipped (and reported) by `entries`.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { z } from 'zod'
import { openLedgerDomain } from '../../protocols/common/eip712.ts'
import { hasCode } from '../../protocols/common/errors.ts'
import { signContribution } from '../../protocols/datanet/contribution.ts'
import {
  type ContributionRecord,
  ContributionRecords,
  contributionRecordSchema,
  pendingRecord,
} from '../../protocols/datanet/contribution-records.ts'
import { Bucket } from '../storage/buckets.ts'
import { NodeDatabase } from '../storage/database.ts'
import { bigintString, Repository, type StoredValueError } from '../storage/repository.ts'

interface Ctx {
  dir: string
  db: NodeDatabase
}
const test = suite<Ctx>('repository')

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'openledger-repo-'))
  ctx.db = await NodeDatabase.open(ctx.dir)
})
test.after.each(async (ctx) => {
  await ctx.db?.close()
  await rm(ctx.dir, { recursive: true, force: true })
})

const domain = openLedgerDomain({ chainId: 31337, ledger: '0x5FbDB2315678afecb367f032d93F642f64180aa3' })
const account = privateKeyToAccount(generatePrivateKey())

async function record(
  name: string,
  datanetId = 1n,
  cid = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
) {
  const c = await signContribution(account, domain, {
    datanetId,
    contentCid: cid,
    bytes: 10,
    license: 'MIT',
    createdAt: 1_700_000_000,
    name,
  })
  return pendingRecord(c, 1_700_000_000_000)
}

function contributions(db: NodeDatabase, onInvalid?: (e: StoredValueError) => void) {
  return Repository.json(db, Bucket.datanetContributions, contributionRecordSchema, { onInvalid })
}

test('a contribution named "1n" reads back as the string it was, and its listing serializes', async (ctx) => {
  const repo = contributions(ctx.db)
  const r = await record('1n')
  await new ContributionRecords(repo).put(r)
  const key = `1/${r.contentCid}/${r.contributor}`
  const got = await repo.get(key)
  assert.is(typeof got?.name, 'string')
  assert.equal(got, r)
  const listed = await new ContributionRecords(repo).list(1n)
  // What GET /v1/datanets/:id/contributions does with the list: a BigInt here would throw (a 500).
  assert.is(JSON.parse(JSON.stringify({ contributions: listed })).contributions[0].name, '1n')
  // And it survives a reopen of the database.
  await ctx.db.close()
  ctx.db = await NodeDatabase.open(ctx.dir)
  assert.is((await contributions(ctx.db).get(key))?.name, '1n')
})

test('bigint fields are declared in the schema; number-like strings stay strings', async (ctx) => {
  const schema = z.object({ amount: bigintString, label: z.string() })
  const repo = Repository.json(ctx.db, Bucket.meta, schema)
  await repo.put('x', { amount: -123456789012345678901234567890n, label: '42n' })
  assert.equal(await repo.get('x'), { amount: -123456789012345678901234567890n, label: '42n' })
})

test('a stored value off its schema: get is a typed error, entries skip and report it, bytes untouched', async (ctx) => {
  const reported: StoredValueError[] = []
  const repo = contributions(ctx.db, (e) => reported.push(e))
  const good = await record('a.md')
  await repo.put('1/good', good)
  const badKey = Uint8Array.from([Bucket.datanetContributions, ...new TextEncoder().encode('1/bad')])
  const badBytes = new TextEncoder().encode(JSON.stringify({ ...good, status: 'weird', bytes: '10' }))
  await ctx.db.repositories.put(badKey, badBytes)
  const notJson = Uint8Array.from([Bucket.datanetContributions, ...new TextEncoder().encode('1/junk')])
  await ctx.db.repositories.put(notJson, Uint8Array.of(0xff, 0x00, 0x7b))

  try {
    await repo.get('1/bad')
    assert.unreachable('expected STORED_VALUE_INVALID')
  } catch (err) {
    assert.ok(hasCode(err, 'STORED_VALUE_INVALID'), String(err))
  }
  const listed = await new ContributionRecords(repo).list(1n)
  assert.equal(listed, [good])
  assert.is(reported.length, 2)
  assert.ok(reported.every((e) => e.code === 'STORED_VALUE_INVALID'))
  assert.is(repo.invalidSkipped, 2)
  const after = await ctx.db.repositories.get(badKey)
  assert.ok(after && Buffer.from(after).equals(badBytes), 'a skipped record is left as it was')
})

test('a value off its schema is refused before anything is written', async (ctx) => {
  const repo = contributions(ctx.db)
  const bad = { ...(await record('a.md')), bytes: -1 } as ContributionRecord
  try {
    await repo.put('k', bad)
    assert.unreachable('expected STORED_VALUE_INVALID')
  } catch (err) {
    assert.ok(hasCode(err, 'STORED_VALUE_INVALID'), String(err))
  }
  assert.is(await repo.get('k'), undefined)
})

test('a Datanet listing reads only its own keys (Datanet 1 is not a prefix match for 10)', async (ctx) => {
  const repo = contributions(ctx.db)
  const records = new ContributionRecords(repo)
  await records.put(await record('one.md', 1n))
  await records.put(await record('ten.md', 10n))
  assert.equal(
    (await records.list(1n)).map((r) => r.name),
    ['one.md'],
  )
  assert.equal(
    (await records.list(10n)).map((r) => r.name),
    ['ten.md'],
  )
})

test.run()
