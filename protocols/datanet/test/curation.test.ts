import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { CID } from 'multiformats/cid'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { RUST_BOOK_DIR } from '../../../testnet/corpora/index.ts'
import { openLedgerDomain } from '../../common/eip712.ts'
import {
  type Contribution,
  type ContributionFormatError,
  decodeContribution,
  encodeContribution,
  signContribution,
  verifyContribution,
} from '../contribution.ts'
import { curate, DAY_MS, type KnownContribution } from '../curation.ts'
import { decodeManifest, encodeManifest, MANIFEST_FORMAT, type ManifestError } from '../manifest.ts'
import { decodeUtf8Strict, estimateJaccard, minhash, normalizedTextHash } from '../near-duplicates.ts'
import { rulesSchema } from '../rules.ts'

const BOOK = pathToFileURL(RUST_BOOK_DIR)
const hello = readFileSync(new URL('ch01-02-hello-world.md', BOOK), 'utf8')
const cargo = readFileSync(new URL('ch01-03-hello-cargo.md', BOOK), 'utf8')
const domain = openLedgerDomain({ chainId: 31337, ledger: '0x5FbDB2315678afecb367f032d93F642f64180aa3' })
const account = privateKeyToAccount(generatePrivateKey())
const CID_A = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const rules = rulesSchema.parse({ nearDuplicateThreshold: 0.5, dailyQuota: 2 })

async function rejects(fn: () => Promise<unknown>, check: (e: unknown) => boolean): Promise<void> {
  try {
    await fn()
  } catch (err) {
    assert.ok(check(err), `unexpected error: ${(err as Error).message}`)
    return
  }
  assert.unreachable('expected a rejection')
}

async function contribution(text: string, name = 'a.md', cid = CID_A): Promise<Contribution> {
  return signContribution(account, domain, {
    datanetId: 1n,
    contentCid: cid,
    bytes: Buffer.byteLength(text),
    license: 'MIT',
    createdAt: 1_700_000_000,
    name,
  })
}

test('a signed contribution round-trips the wire format and verifies', async () => {
  const c = await contribution(hello)
  const decoded = decodeContribution(encodeContribution(c))
  assert.equal(decoded, c)
  await verifyContribution(domain, decoded, 1_700_000_000)
})

test('a forged signature, another chain id, or a changed field fails verification', async () => {
  const c = await contribution(hello)
  const other = privateKeyToAccount(generatePrivateKey())
  const forged = { ...c, contributor: other.address }
  await rejects(
    () => verifyContribution(domain, forged, 1_700_000_000),
    (e: unknown) => (e as ContributionFormatError).fault === 'BAD_SIGNATURE',
  )
  await rejects(
    () => verifyContribution({ ...domain, chainId: 1 }, c, 1_700_000_000),
    (e: unknown) => (e as ContributionFormatError).fault === 'BAD_SIGNATURE',
  )
  await rejects(
    () => verifyContribution(domain, { ...c, bytes: c.bytes + 1 }, 1_700_000_000),
    (e: unknown) => (e as ContributionFormatError).fault === 'BAD_SIGNATURE',
  )
  await rejects(
    () => verifyContribution(domain, c, 1_600_000_000),
    (e: unknown) => (e as ContributionFormatError).fault === 'FROM_FUTURE',
  )
})

test('malformed wire bytes are refused by shape before any signature work', () => {
  assert.throws(
    () => decodeContribution(new Uint8Array([0xff, 0xff, 0xff])),
    (e: unknown) => (e as ContributionFormatError).fault === 'MALFORMED',
  )
  assert.throws(
    () => decodeContribution(new Uint8Array(4096)),
    (e: unknown) => (e as ContributionFormatError).fault === 'MALFORMED',
  )
})

test('strict UTF-8 and normalized text hashes', () => {
  assert.is(decodeUtf8Strict(Buffer.from([0x63, 0xe9])), undefined)
  assert.is(decodeUtf8Strict(Buffer.from('café')), 'café')
  assert.is(normalizedTextHash('Hello   World\n'), normalizedTextHash('hello world'))
  assert.is.not(normalizedTextHash('hello world'), normalizedTextHash('hello there'))
})

test('MinHash similarity: an edited copy scores high, an unrelated section low', () => {
  const edited = hello.replace('Hello, World!', 'Hello, Datanet!').replaceAll('Rust', 'rust')
  assert.ok(estimateJaccard(minhash(hello), minhash(edited)) > 0.8)
  assert.ok(estimateJaccard(minhash(hello), minhash(cargo)) < 0.2)
  assert.equal(minhash(hello), minhash(hello))
})

function known(text: string, cid: string, extra: Partial<KnownContribution> = {}): KnownContribution {
  return {
    contentCid: cid,
    contributor: account.address,
    receivedAt: 0,
    textHash: normalizedTextHash(text),
    minhash: minhash(text),
    rejected: false,
    ...extra,
  }
}

test('curation: duplicates by CID and by text, near-duplicates, quota, size and type', async () => {
  const bytes = Buffer.from(hello)
  const c = await contribution(hello, 'a.md', 'bafkreib')
  assert.ok(curate(c, bytes, rules, [], Date.now()).ok)
  const byCid = curate(c, bytes, rules, [known(cargo, 'bafkreib')], Date.now())
  assert.is(!byCid.ok && byCid.reason, 'DUPLICATE_CID')
  const respaced = hello.replaceAll('\n', '\n\n')
  const byText = curate(
    await contribution(respaced, 'a.md', 'bafkreic'),
    Buffer.from(respaced),
    rules,
    [known(hello, 'bafkreid')],
    Date.now(),
  )
  assert.is(!byText.ok && byText.reason, 'DUPLICATE_TEXT')
  const edited = hello.replace('Hello, World!', 'Hello, Datanet!')
  const near = curate(
    await contribution(edited, 'a.md', 'bafkreie'),
    Buffer.from(edited),
    rules,
    [known(hello, 'bafkreid')],
    Date.now(),
  )
  assert.is(!near.ok && near.reason, 'NEAR_DUPLICATE')
  // A rejected contribution does not block a later one.
  assert.ok(curate(c, bytes, rules, [known(hello, 'bafkreid', { rejected: true })], Date.now()).ok)
  const now = 10 * DAY_MS
  const quota = curate(
    c,
    bytes,
    rules,
    [
      known('one two', 'x1', { receivedAt: now - 1000 }),
      known('three four', 'x2', { receivedAt: now - 2000 }),
    ],
    now,
  )
  assert.is(!quota.ok && quota.reason, 'QUOTA_EXCEEDED')
  assert.ok(
    curate(
      c,
      bytes,
      rules,
      [
        known('one two', 'x1', { receivedAt: now - 2 * DAY_MS }),
        known('three four', 'x2', { receivedAt: now - 2000 }),
      ],
      now,
    ).ok,
  )
  const lying = curate(c, Buffer.from(`${hello}x`), rules, [], now)
  assert.is(!lying.ok && lying.reason, 'SIZE_MISMATCH')
  const png = curate(await contribution(hello, 'a.png'), bytes, rules, [], now)
  assert.is(!png.ok && png.reason, 'WRONG_TYPE')
  const jsonl = '{"a":1}\nnot json\n'
  const badJsonl = curate(await contribution(jsonl, 'a.jsonl'), Buffer.from(jsonl), rules, [], now)
  assert.is(!badJsonl.ok && badJsonl.reason, 'BAD_JSONL')
})

test('a manifest whose bytes do not match its CID is refused', async () => {
  const { cid, bytes } = await encodeManifest({
    format: MANIFEST_FORMAT,
    datanetId: '1',
    version: 1,
    previous: null,
    contributions: [],
  })
  assert.is((await decodeManifest(cid, bytes)).datanetId, '1')
  const tampered = Uint8Array.from(bytes)
  tampered[tampered.length - 1] ^= 1
  await rejects(
    () => decodeManifest(cid, tampered),
    (e: unknown) => (e as ManifestError).code === 'MANIFEST_CID_MISMATCH',
  )
  await rejects(
    () => decodeManifest(CID.parse(CID_A), bytes),
    (e: unknown) => (e as ManifestError).code === 'MANIFEST_CID_MISMATCH',
  )
})

test.run()
