// The curator with a real level store in a temp dir and fake content (a map of CIDs; content nobody has
// never arrives until the fetch is aborted): superseding rules, the rename attack, fetch bounds, stop.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { RUST_BOOK_DIR } from '../../../testnet/corpora/index.ts'
import { openLedgerDomain } from '../../common/eip712.ts'
import { hasCode } from '../../common/errors.ts'
import {
  type Contribution,
  type ContributionFormatError,
  signContribution,
  verifyContribution,
} from '../contribution.ts'
import { ContributionRecords } from '../contribution-records.ts'
import { Curator, type CuratorOptions } from '../curator.ts'
import { type DatanetMetadata, rulesSchema } from '../rules.ts'
import { type LevelRecordStore, levelRecordStore } from './level-store.ts'

const BOOK = pathToFileURL(RUST_BOOK_DIR)
const hello = Buffer.from(readFileSync(new URL('ch01-02-hello-world.md', BOOK)))
const cargo = Buffer.from(readFileSync(new URL('ch01-03-hello-cargo.md', BOOK)))
const domain = openLedgerDomain({ chainId: 31337, ledger: '0x5FbDB2315678afecb367f032d93F642f64180aa3' })
const contributor = privateKeyToAccount(generatePrivateKey())
const curatorAccount = privateKeyToAccount(generatePrivateKey())
const rules = rulesSchema.parse({ maxBytes: 100_000 })
const NOW_S = 1_700_000_000

interface Ctx {
  store: LevelRecordStore
  records: ContributionRecords
  content: Map<string, Uint8Array>
  catSignals: AbortSignal[]
  curator: Curator
}

const test = suite<Ctx>('curator')

async function cidOf(bytes: Uint8Array): Promise<string> {
  return CID.createV1(raw.code, await sha256.digest(bytes)).toString()
}

function makeCurator(ctx: Ctx, options: Partial<CuratorOptions> = {}): Curator {
  return new Curator(
    {
      directory: {
        isCurator: async () => true,
        metadata: async () => ({ rules }) as DatanetMetadata,
      },
      records: ctx.records,
      unixfs: {
        cat: (cid, { signal } = {}) => {
          const bytes = ctx.content.get(cid.toString())
          ctx.catSignals.push(signal!)
          return (async function* () {
            if (bytes) {
              yield bytes
              return
            }
            // Nobody has it: wait until the fetch is aborted (time limit or stop). The time limit is an
            // AbortSignal.timeout, whose timer does not hold the process open: this interval does.
            const keepAlive = setInterval(() => {}, 1_000)
            await new Promise((_, reject) =>
              signal!.addEventListener(
                'abort',
                () => {
                  clearInterval(keepAlive)
                  reject(signal!.reason)
                },
                { once: true },
              ),
            )
          })()
        },
      },
      pins: { add: async function* () {} },
      account: curatorAccount,
      log: { info() {}, warn() {}, debug() {} },
      now: () => NOW_S * 1000,
    },
    { concurrency: 1, ...options },
  )
}

test.before.each(async (ctx) => {
  ctx.store = await levelRecordStore()
  ctx.records = new ContributionRecords(ctx.store)
  ctx.content = new Map([
    [await cidOf(hello), hello],
    [await cidOf(cargo), cargo],
  ])
  ctx.catSignals = []
  ctx.curator = makeCurator(ctx)
  await ctx.curator.start()
})

test.after.each(async (ctx) => {
  await ctx.curator.stop()
  await ctx.store.close()
})

async function sign(
  bytes: Uint8Array,
  name: string,
  createdAt = NOW_S,
  license = 'MIT',
): Promise<Contribution> {
  return signContribution(contributor, domain, {
    datanetId: 1n,
    contentCid: await cidOf(bytes),
    bytes: bytes.length,
    license,
    createdAt,
    name,
  })
}

async function stored(ctx: Ctx, c: Contribution) {
  return ctx.records.get(c.datanetId, c.contentCid, c.contributor)
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

test('rename attack: a relayed copy with a changed name fails the signature, and cannot block the genuine one', async (ctx) => {
  const genuine = await sign(hello, 'hello.md')
  const renamed = { ...genuine, name: 'hello.png' }
  await verifyContribution(domain, genuine, NOW_S)
  try {
    await verifyContribution(domain, renamed, NOW_S)
    assert.unreachable('a renamed copy must not verify')
  } catch (err) {
    assert.is((err as ContributionFormatError).fault, 'BAD_SIGNATURE')
  }
  // Even a record stored from such a copy (as a node did before names were signed) does not hold the
  // genuine contribution rejected for good: the verified message supersedes it.
  const poisoned = await ctx.curator.receive(renamed, true)
  assert.is(poisoned.reason, 'WRONG_TYPE')
  const record = await ctx.curator.receive(genuine, true)
  assert.is(record.status, 'pending', `genuine contribution is ${record.status} ${record.reason ?? ''}`)
  assert.is(record.name, 'hello.md')
  assert.is((await stored(ctx, genuine))?.status, 'pending')
})

test('a newer differently signed message supersedes a rejected or pending record; replays and older ones do not', async (ctx) => {
  const wrongName = await sign(hello, 'hello.png', NOW_S)
  assert.is((await ctx.curator.receive(wrongName, true)).reason, 'WRONG_TYPE')
  const fixed = await sign(hello, 'hello.md', NOW_S + 1)
  assert.is((await ctx.curator.receive(fixed, true)).status, 'pending')
  // The identical replay of the first message changes nothing.
  const replay = await ctx.curator.receive(wrongName, true)
  assert.is(replay.status, 'pending')
  assert.is(replay.name, 'hello.md')
  // An older message than the stored one is stale.
  const older = await sign(hello, 'old.md', NOW_S - 10)
  assert.is((await ctx.curator.receive(older, true)).name, 'hello.md')
  // A newer one replaces a pending record, and its own earlier version is not taken for a duplicate.
  const relicensed = await sign(hello, 'hello.md', NOW_S + 2, 'CC-BY-4.0')
  const again = await ctx.curator.receive(relicensed, true)
  assert.is(again.status, 'pending', `${again.reason}: ${again.message}`)
  assert.is(again.license, 'CC-BY-4.0')
  assert.is((await ctx.records.list(1n)).length, 1, 'still one record per (Datanet, content, contributor)')
})

test('an accepted record is never replaced', async (ctx) => {
  const c = await sign(hello, 'hello.md')
  await ctx.curator.receive(c, true)
  const accepted = await ctx.curator.decide(1n, c.contentCid, true)
  assert.is(accepted.status, 'accepted')
  const later = await sign(hello, 'renamed.md', NOW_S + 100)
  const after = await ctx.curator.receive(later, true)
  assert.is(after.status, 'accepted')
  assert.is(after.name, 'hello.md')
  assert.equal(await stored(ctx, c), accepted)
})

test('content nobody has is rejected CONTENT_UNAVAILABLE once the fetch limit passes', async (ctx) => {
  await ctx.curator.stop()
  ctx.curator = makeCurator(ctx, { fetchTimeoutMs: 50 })
  const missing = Buffer.from('# nobody has this\n\nsome text\n')
  const record = await ctx.curator.receive(await sign(missing, 'missing.md'), true)
  assert.is(record.status, 'rejected')
  assert.is(record.reason, 'CONTENT_UNAVAILABLE')
})

test('gossip does not wait for curation; stop aborts the fetch and writes nothing', async (ctx) => {
  const missing = Buffer.from('# nobody has this either\n\nmore text\n')
  const c = await sign(missing, 'missing.md')
  await ctx.curator.onContribution(c)
  await waitFor('the fetch to start', () => ctx.catSignals.length === 1)
  assert.is(ctx.curator.queueStats().active, 1)
  await ctx.curator.stop()
  assert.ok(ctx.catSignals[0]!.aborted, 'the fetch was aborted')
  assert.is(await stored(ctx, c), undefined, 'an aborted curation leaves no record')
  assert.equal(ctx.curator.queueStats(), { waiting: 0, active: 0, dropped: 0 })
})

test('stop during a superseding curation leaves the stored record as it was', async (ctx) => {
  const missing = Buffer.from('# this one goes missing\n\ntext\n')
  // A first message recorded as rejected (wrong type: no fetch needed to decide)...
  const first = await sign(missing, 'missing.png')
  const before = await ctx.curator.receive(first, true)
  assert.is(before.reason, 'WRONG_TYPE')
  // ...then a newer one whose content never arrives, and the node stops mid-fetch.
  await ctx.curator.onContribution(await sign(missing, 'missing.md', NOW_S + 1))
  await waitFor('the fetch to start', () => ctx.catSignals.length === 1)
  await ctx.curator.stop()
  assert.equal(await stored(ctx, first), before)
})

test("this node's own contribution is refused with CURATION_BUSY when the queue has no room", async (ctx) => {
  await ctx.curator.stop()
  ctx.curator = makeCurator(ctx, { maxLength: 1, maxPerContributor: 1 })
  const other = privateKeyToAccount(generatePrivateKey())
  const sign2 = async (text: string) => {
    const bytes = Buffer.from(text)
    return signContribution(other, domain, {
      datanetId: 1n,
      contentCid: await cidOf(bytes),
      bytes: bytes.length,
      license: 'MIT',
      createdAt: NOW_S,
      name: 'x.md',
    })
  }
  await ctx.curator.onContribution(await sign2('# one\n\nnever arrives\n')) // at work
  await ctx.curator.onContribution(await sign2('# two\n\nnever arrives\n')) // waiting: queue full
  try {
    await ctx.curator.receive(await sign2('# three\n\nnever arrives\n'), true)
    assert.unreachable('expected CURATION_BUSY')
  } catch (err) {
    assert.ok(hasCode(err, 'CURATION_BUSY'), String(err))
  }
  assert.is(ctx.curator.queueStats().dropped, 1)
})

test.run()
