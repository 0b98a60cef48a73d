// Datanets across 4 real node processes and anvil: create, contribute from two nodes, curate on the
// owner's node (a duplicate and a near-duplicate rejected with reasons), publish a version on chain;
// bad input refused without changing what is stored.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createPublicClient, http } from 'viem'
import { datanetRegistryAbi } from '../../contracts/generated/index.ts'
import { CONTRIBUTIONS_TOPIC } from '../../protocols/datanet/contribution.ts'
import { RUST_BOOK_DIR } from '../corpora/index.ts'
import { runCli } from '../processes.ts'
import { Testnet } from '../testnet.ts'
import { getJson, waitFor } from '../wait.ts'

const BOOK = RUST_BOOK_DIR
let net: Testnet
let root = ''
let files = ''
let datanetId = ''

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'openledger-datanet-'))
  files = join(root, 'files')
  await mkdir(files)
  net = await Testnet.start({ nodes: 4, dir: join(root, 'net'), readyTimeoutMs: 180_000 })
})

test.after(async () => {
  await net?.stop()
  if (!process.env.KEEP_TESTNET) await rm(root, { recursive: true, force: true })
  else console.log('kept', root)
})

const api = (i: number) => net.nodes[i]!.apiUrl
async function cli(i: number, ...args: string[]) {
  const res = await runCli([...args, '--api', api(i), '--node-dir', net.nodes[i]!.dir, '--json'])
  return { ...res, json: res.code === 0 ? JSON.parse(res.stdout) : undefined }
}

test('the owner creates a Datanet with rules; it is on chain', async () => {
  await writeFile(join(root, 'rules.json'), JSON.stringify({ maxBytes: 20_000, nearDuplicateThreshold: 0.5 }))
  const res = await cli(
    0,
    'datanet',
    'create',
    '--name',
    'rust-book',
    '--description',
    'The Rust book, one section per contribution',
    '--rules',
    join(root, 'rules.json'),
  )
  assert.is(res.code, 0, res.stderr)
  datanetId = res.json.datanetId
  const shown = await getJson(`${api(3)}/v1/datanets/${datanetId}`)
  assert.is(shown.owner, net.nodes[0]!.account)
  assert.is(shown.metadata.rules.maxBytes, 20_000)
  const listed = await cli(2, 'datanet', 'ls')
  assert.equal(
    listed.json.map((d: { datanetId: string; owner: string }) => [d.datanetId, d.owner]),
    [[datanetId, net.nodes[0]!.account]],
  )
})

test('two contributors on different nodes submit; the owner node curates with reasons', async () => {
  await copyFile(join(BOOK, 'ch01-01-installation.md'), join(files, 'installation.md'))
  await copyFile(join(BOOK, 'ch01-02-hello-world.md'), join(files, 'hello-world.md'))
  await copyFile(join(BOOK, 'ch01-03-hello-cargo.md'), join(files, 'hello-cargo.md'))
  // An exact copy of contributor A's file, and a lightly edited one (a near-duplicate).
  await copyFile(join(BOOK, 'ch01-01-installation.md'), join(files, 'my-installation.md'))
  const hello = await readFile(join(BOOK, 'ch01-02-hello-world.md'), 'utf8')
  await writeFile(
    join(files, 'my-hello.md'),
    hello.replace('Hello, World!', 'Hello, Datanet!').replaceAll('Rust', 'rust'),
  )

  // A contribution is gossiped once, when made: the contributors' nodes must have the owner in their
  // contributions mesh first (gossipsub sends nothing to a topic with no mesh peers yet).
  for (const i of [1, 2])
    await waitFor(
      async () => {
        const { peers } = await getJson(`${api(i)}/v1/peers`)
        const owner = peers.find((p: { peerId: string }) => p.peerId === net.nodes[0]!.peerId)
        return owner?.gossipMesh?.includes(CONTRIBUTIONS_TOPIC) ? true : undefined
      },
      { timeoutMs: 60_000, what: `node ${i} to have the owner in its contributions mesh` },
    )
  const a = await cli(
    1,
    'datanet',
    'contribute',
    '--datanet',
    datanetId,
    join(files, 'installation.md'),
    join(files, 'hello-world.md'),
  )
  assert.is(a.code, 0, a.stderr)
  // Contributor A's files reach the owner first, so B's copies are the duplicates.
  await waitFor(
    async () =>
      (await getJson(`${api(0)}/v1/datanets/${datanetId}/contributions`)).contributions.length === 2,
    {
      timeoutMs: 90_000,
      what: "the owner to curate A's contributions",
    },
  )
  const b = await cli(
    2,
    'datanet',
    'contribute',
    '--datanet',
    datanetId,
    join(files, 'hello-cargo.md'),
    join(files, 'my-installation.md'),
    join(files, 'my-hello.md'),
  )
  assert.is(b.code, 0, b.stderr)
  let seen: any[] = []
  const all = await waitFor(
    async () => {
      seen = (await getJson(`${api(0)}/v1/datanets/${datanetId}/contributions`)).contributions
      return seen.length === 5 ? seen : undefined
    },
    { timeoutMs: 90_000, what: 'the owner to curate all 5 contributions' },
  ).catch((err) => {
    throw new Error(
      `${err.message}; curated: ${JSON.stringify(seen.map((c) => [c.name, c.status, c.reason]))}`,
    )
  })
  const byName = Object.fromEntries(all.map((c: any) => [c.name, c]))
  assert.is(byName['installation.md'].status, 'pending')
  assert.is(byName['hello-world.md'].status, 'pending')
  assert.is(byName['hello-cargo.md'].status, 'pending')
  assert.is(byName['my-installation.md'].status, 'rejected')
  assert.is(byName['my-installation.md'].reason, 'DUPLICATE_CID')
  assert.is(byName['my-hello.md'].status, 'rejected')
  assert.is(byName['my-hello.md'].reason, 'NEAR_DUPLICATE')
  assert.match(byName['my-hello.md'].message, /near-duplicate of .* \(estimated similarity/)
  assert.is(byName['installation.md'].contributor, net.nodes[1]!.account)
  assert.is(byName['hello-cargo.md'].contributor, net.nodes[2]!.account)
})

test('bad input is refused with a reason and changes nothing stored', async () => {
  const before = (await getJson(`${api(0)}/v1/datanets/${datanetId}/contributions`)).contributions
  await writeFile(join(files, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]))
  const notUtf8 = await cli(0, 'datanet', 'contribute', '--datanet', datanetId, join(files, 'latin1.txt'))
  assert.is(notUtf8.code, 1)
  assert.match(notUtf8.stderr, /CONTRIBUTION_REFUSED \[NOT_UTF8\]: content is not valid UTF-8/)
  await copyFile(join(BOOK, 'ch02-00-guessing-game-tutorial.md'), join(files, 'big.md'))
  const tooLarge = await cli(0, 'datanet', 'contribute', '--datanet', datanetId, join(files, 'big.md'))
  assert.is(tooLarge.code, 1)
  assert.match(tooLarge.stderr, /\[TOO_LARGE\]: 40398 bytes is over the limit of 20000/)
  // Several files: each is tried, and the error names every file that was not contributed.
  const both = await cli(
    0,
    'datanet',
    'contribute',
    '--datanet',
    datanetId,
    join(files, 'latin1.txt'),
    join(files, 'big.md'),
  )
  assert.is(both.code, 1)
  assert.match(both.stderr, /2 of 2 files not contributed/)
  assert.match(both.stderr, /latin1\.txt: .*NOT_UTF8/)
  assert.match(both.stderr, /big\.md: .*TOO_LARGE/)
  await writeFile(join(files, 'image.png'), 'not really a png')
  const wrongType = await cli(0, 'datanet', 'contribute', '--datanet', datanetId, join(files, 'image.png'))
  assert.match(wrongType.stderr, /\[WRONG_TYPE\]/)
  const unknown = await cli(0, 'datanet', 'contribute', '--datanet', '999', join(files, 'installation.md'))
  assert.is(unknown.code, 1)
  assert.match(unknown.stderr, /UNKNOWN_DATANET/)
  const notCurator = await cli(2, 'datanet', 'publish', '--datanet', datanetId)
  assert.is(notCurator.code, 1)
  assert.match(notCurator.stderr, /NOT_CURATOR/)
  const notCuratorAccept = await cli(2, 'datanet', 'accept', '--datanet', datanetId, before[0].contentCid)
  assert.match(notCuratorAccept.stderr, /NOT_CURATOR/)
  const after = (await getJson(`${api(0)}/v1/datanets/${datanetId}/contributions`)).contributions
  assert.equal(after, before)
})

test('the owner accepts, rejects one by hand, and publishes a version that is readable on chain', async () => {
  const pending = (await getJson(`${api(0)}/v1/datanets/${datanetId}/contributions?status=pending`))
    .contributions
  const byName = Object.fromEntries(pending.map((c: any) => [c.name, c.contentCid]))
  const accepted = await cli(
    0,
    'datanet',
    'accept',
    '--datanet',
    datanetId,
    byName['installation.md'],
    byName['hello-cargo.md'],
  )
  assert.is(accepted.code, 0, accepted.stderr)
  const rejected = await cli(
    0,
    'datanet',
    'reject',
    '--datanet',
    datanetId,
    byName['hello-world.md'],
    '--reason',
    'off topic',
  )
  assert.is(rejected.json[0].reason, 'CURATOR_REJECTED')
  const again = await cli(0, 'datanet', 'accept', '--datanet', datanetId, byName['hello-world.md'])
  assert.match(again.stderr, /NOT_PENDING/)

  const published = await cli(0, 'datanet', 'publish', '--datanet', datanetId)
  assert.is(published.code, 0, published.stderr)
  assert.is(published.json.version, 1)
  assert.is(published.json.count, 2)

  const client = createPublicClient({ transport: http(net.anvil!.rpcUrl) })
  const onChain = (await client.readContract({
    address: net.contracts.datanet_registry_address as `0x${string}`,
    abi: datanetRegistryAbi,
    functionName: 'getVersion',
    args: [BigInt(datanetId), 1],
  })) as { manifestCid: string; contributionsRoot: string; contributionCount: bigint }
  assert.is(onChain.manifestCid, published.json.manifestCid)
  assert.is(onChain.contributionsRoot, published.json.contributionsRoot)
  assert.is(onChain.contributionCount, 2n)

  // Any node reads the version, manifest included (fetched over bitswap from the owner).
  const version = await waitFor(
    async () => {
      const v = await getJson(`${api(3)}/v1/datanets/${datanetId}/versions/1`)
      return v.contributions ? v : undefined
    },
    { timeoutMs: 30_000, what: 'node 3 to read the manifest' },
  )
  assert.equal(
    version.contributions.map((c: any) => c.contentCid),
    [byName['installation.md'], byName['hello-cargo.md']],
  )
  const nothing = await cli(0, 'datanet', 'publish', '--datanet', datanetId)
  assert.match(nothing.stderr, /NOTHING_TO_PUBLISH/)
})

test('text copied from a published contribution is attributed to its contributor (through node 3)', async () => {
  const text = (await readFile(join(BOOK, 'ch01-03-hello-cargo.md'), 'utf8')).slice(1500, 2300)
  const res = await runCli(
    [
      'attribute',
      '--datanet',
      `${datanetId}@1`,
      '--api',
      api(3),
      '--node-dir',
      net.nodes[3]!.dir,
      '--json',
      text,
    ],
    {
      XDG_CACHE_HOME: join(root, 'cache'),
    },
  )
  assert.is(res.code, 0, res.stderr)
  const result = JSON.parse(res.stdout)
  assert.is(result.entries[0].contributor.toLowerCase(), net.nodes[2]!.account.toLowerCase())
  assert.ok(result.entries[0].weightPpm > 500_000, `weight ${result.entries[0].weightPpm}`)
})

test('two nodes serve the version, hold every chunk, and are found as providers from a node that holds nothing', async () => {
  const served = await Promise.all([
    cli(2, 'datanet', 'serve', datanetId),
    cli(3, 'datanet', 'serve', datanetId),
  ])
  for (const res of served) assert.is(res.code, 0, res.stderr)
  assert.is(served[0].json.blocks, served[1].json.blocks)
  for (const i of [2, 3]) {
    const status = (await cli(i, 'datanet', 'status', datanetId)).json
    assert.ok(status.served && status.complete, JSON.stringify(status))
    assert.is(status.blocksHeld, status.blocksTotal)
    assert.is(status.versions.length, 1)
  }
  const empty = await net.addNode(3)
  const providers = await waitFor(
    async () => {
      const status = (await cli(empty.index, 'datanet', 'status', datanetId)).json
      const counts = status?.providers?.map((p: { providers: number }) => p.providers) ?? []
      return status &&
        !status.served &&
        status.blocksHeld === 0 &&
        counts.length > 0 &&
        counts.every((c: number) => c >= 2)
        ? counts
        : undefined
    },
    {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'an empty node to find at least 2 providers for every chunk',
    },
  )
  assert.ok(providers.length >= 1)
})

test('after a replica is killed, a fresh node still fetches the whole version from the other', async () => {
  // Only node 3 keeps the content: the other replica is killed, and the owner and the contributors stop.
  assert.is(await net.nodes[2]!.process!.stop('SIGKILL'), 128)
  await Promise.all([0, 1, 4].map((i) => net.nodes[i]!.process!.stop('SIGTERM')))
  const fresh = await net.addNode(3)
  const res = await cli(fresh.index, 'datanet', 'serve', datanetId)
  assert.is(res.code, 0, res.stderr)
  const status = (await cli(fresh.index, 'datanet', 'status', datanetId)).json
  assert.ok(status.complete, JSON.stringify(status))
  assert.is(status.blocksHeld, status.blocksTotal)
  const replica = (await cli(3, 'datanet', 'status', datanetId)).json
  assert.is(status.blocksTotal, replica.blocksTotal)
  assert.is(status.bytesHeld, replica.bytesHeld)
})

test.run()
