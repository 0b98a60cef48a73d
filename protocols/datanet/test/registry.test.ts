import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Address, Hex } from 'viem'
import { type ChainClients, connect, deployAll } from '../../../contracts/deploy.ts'
import { type Anvil, startAnvil } from '../../../testnet/anvil.ts'
import { hasCode } from '../../common/errors.ts'
import { type DatanetError, DatanetRegistryClient } from '../registry.ts'

const MANIFEST = 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const ROOT = `0x${'ab'.repeat(32)}` as Hex

interface Ctx {
  anvil: Anvil
  owner: DatanetRegistryClient
  curator: DatanetRegistryClient
  stranger: DatanetRegistryClient
  strangerClients: ChainClients
  reader: DatanetRegistryClient
  curatorAddress: Address
  strangerAddress: Address
}

const test = suite<Ctx>('datanet registry client')

async function expectCode(promise: Promise<unknown>, code: string): Promise<DatanetError> {
  try {
    await promise
  } catch (err) {
    assert.ok(hasCode(err, code), `expected ${code}, got ${(err as Error).name}: ${(err as Error).message}`)
    return err as DatanetError
  }
  throw assert.unreachable(`expected ${code}`)
}

test.before(async (ctx) => {
  ctx.anvil = await startAnvil({ accounts: 4 })
  const [a0, a1, a2] = ctx.anvil.accounts
  const ownerClients = await connect(ctx.anvil.rpcUrl, a0.privateKey)
  const { datanetRegistry } = await deployAll(ownerClients)
  const client = (c: ChainClients) => new DatanetRegistryClient({ ...c, address: datanetRegistry })
  ctx.owner = client(ownerClients)
  ctx.curator = client(await connect(ctx.anvil.rpcUrl, a1.privateKey))
  ctx.strangerClients = await connect(ctx.anvil.rpcUrl, a2.privateKey)
  ctx.stranger = client(ctx.strangerClients)
  ctx.reader = new DatanetRegistryClient({
    publicClient: ownerClients.publicClient,
    address: datanetRegistry,
  })
  ctx.curatorAddress = a1.address
  ctx.strangerAddress = a2.address
})

test.after(async (ctx) => {
  await ctx.anvil?.stop()
})

test('create, read, publish and read back versions', async (ctx) => {
  const id = await ctx.owner.createDatanet({
    metadataCid: 'bafymeta',
    contributionType: 'text',
    curators: [ctx.curatorAddress],
  })
  assert.is(id, 1n)
  const info = await ctx.reader.getDatanet(id)
  assert.equal(info, {
    owner: ctx.anvil.accounts[0].address,
    versionCount: 0,
    metadataCid: 'bafymeta',
    contributionType: 'text',
  })
  assert.ok(await ctx.reader.isCurator(id, ctx.curatorAddress))
  assert.not.ok(await ctx.reader.isCurator(id, ctx.strangerAddress))
  await expectCode(ctx.reader.latestVersion(id), 'NO_VERSIONS')

  assert.is(
    await ctx.curator.publishVersion(id, { manifestCid: MANIFEST, contributionsRoot: ROOT, count: 3 }),
    1,
  )
  assert.is(
    await ctx.owner.publishVersion(id, { manifestCid: MANIFEST, contributionsRoot: ROOT, count: 5n }),
    2,
  )
  assert.is(await ctx.reader.latestVersion(id), 2)
  const v1 = await ctx.reader.getVersion(id, 1)
  assert.is(v1.manifestCid, MANIFEST)
  assert.is(v1.contributionsRoot, ROOT)
  assert.is(v1.contributionCount, 3)
  assert.is(v1.publisher, ctx.curatorAddress)
  assert.ok(v1.publishedAt > 0)
  assert.equal(
    (await ctx.reader.listVersions(id)).map((v) => v.contributionCount),
    [3, 5],
  )
})

test('unknown Datanet and unknown version are typed errors', async (ctx) => {
  const err = await expectCode(ctx.reader.getDatanet(999n), 'UNKNOWN_DATANET')
  assert.match(err.message, /999/)
  await expectCode(ctx.reader.getDatanet(0), 'UNKNOWN_DATANET')
  await expectCode(
    ctx.owner.publishVersion(999n, { manifestCid: MANIFEST, contributionsRoot: ROOT, count: 1 }),
    'UNKNOWN_DATANET',
  )
  await expectCode(ctx.reader.getVersion(1n, 99), 'UNKNOWN_VERSION')
  await expectCode(ctx.reader.getVersion(1n, 0), 'UNKNOWN_VERSION')
})

test('a publish by a non-curator is refused without sending a transaction', async (ctx) => {
  const { publicClient } = ctx.strangerClients
  const nonceBefore = await publicClient.getTransactionCount({ address: ctx.strangerAddress })
  const blockBefore = await publicClient.getBlockNumber()
  const err = await expectCode(
    ctx.stranger.publishVersion(1n, { manifestCid: MANIFEST, contributionsRoot: ROOT, count: 1 }),
    'NOT_CURATOR',
  )
  assert.match(err.message, /curator/)
  assert.is(await publicClient.getTransactionCount({ address: ctx.strangerAddress }), nonceBefore)
  assert.is(await publicClient.getBlockNumber(), blockBefore)
  assert.is(await ctx.reader.latestVersion(1n), 2, 'nothing stored changed')
  await expectCode(ctx.stranger.setCurator(1n, ctx.strangerAddress, true), 'NOT_OWNER')
})

test('curators can be added and removed by the owner', async (ctx) => {
  await ctx.owner.setCurator(1n, ctx.strangerAddress, true)
  assert.is(
    await ctx.stranger.publishVersion(1n, { manifestCid: MANIFEST, contributionsRoot: ROOT, count: 1 }),
    3,
  )
  await ctx.owner.setCurator(1n, ctx.strangerAddress, false)
  await expectCode(
    ctx.stranger.publishVersion(1n, { manifestCid: MANIFEST, contributionsRoot: ROOT, count: 1 }),
    'NOT_CURATOR',
  )
})

test('a publish built on a stale version is VERSION_CONFLICT and sends no transaction', async (ctx) => {
  const latest = await ctx.reader.latestVersion(1n)
  const err = await expectCode(
    ctx.owner.publishVersion(1n, {
      expectedVersion: latest,
      manifestCid: MANIFEST,
      contributionsRoot: ROOT,
      count: 1,
    }),
    'VERSION_CONFLICT',
  )
  assert.match(err.message, /publish again/)
  assert.is(await ctx.reader.latestVersion(1n), latest, 'nothing stored changed')
  assert.is(
    await ctx.owner.publishVersion(1n, {
      expectedVersion: latest + 1,
      manifestCid: MANIFEST,
      contributionsRoot: ROOT,
      count: 1,
    }),
    latest + 1,
  )
})

test('bad arguments are refused before the chain is asked', async (ctx) => {
  await expectCode(
    ctx.owner.publishVersion(1n, { manifestCid: 'not a cid', contributionsRoot: ROOT, count: 1 }),
    'INVALID_ARGUMENT',
  )
  await expectCode(
    ctx.owner.publishVersion(1n, { manifestCid: MANIFEST, contributionsRoot: '0x12', count: 1 }),
    'INVALID_ARGUMENT',
  )
  await expectCode(ctx.owner.createDatanet({ metadataCid: '', contributionType: 'text' }), 'EMPTY_FIELD')
  await expectCode(
    ctx.reader.publishVersion(1n, { manifestCid: MANIFEST, contributionsRoot: ROOT, count: 1 }),
    'NO_WALLET',
  )
})

test.run()
