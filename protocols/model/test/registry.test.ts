// Model registration end to end: a real anvil chain with the contracts deployed, two real libp2p + Helia
// nodes on loopback (assembled by node/network.ts). Node A registers a tiny model; node B, which has never
// seen it, fetches it by model id over bitswap and generates the same tokens for the same seed. Adapters
// registered as models of their own go the same way: A registers one on a base, B fetches it by its id.
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unixfs } from '@helia/unixfs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Command } from 'commander'
import { CID } from 'multiformats/cid'
import { Registry } from 'prom-client'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Address, Hex } from 'viem'
import { type ChainClients, connect, deployAll } from '../../../contracts/deploy.ts'
import { JobManager, jobRecordSchema, registerJobRoutes } from '../../../node/api/jobs.ts'
import { registerModelRoutes } from '../../../node/api/models.ts'
import { createApi } from '../../../node/api/server.ts'
import { callApi } from '../../../node/cli/api-client.ts'
import { registerModelCommands } from '../../../node/cli/commands/model.ts'
import { modelCommandDeps } from '../../../node/cli/model-hooks.ts'
import { resolveConfig } from '../../../node/config.ts'
import { createNetwork, type Network } from '../../../node/network.ts'
import { Bucket } from '../../../node/storage/buckets.ts'
import { NodeDatabase } from '../../../node/storage/database.ts'
import { Repository } from '../../../node/storage/repository.ts'
import { type Anvil, startAnvil } from '../../../testnet/anvil.ts'
import { hasCode } from '../../common/errors.ts'
import { DatanetRegistryClient } from '../../datanet/registry.ts'
import { registeredPrices } from '../prices.ts'
import { FILES } from '../constants.ts'
import { loadAdapter, loadModel, saveAdapter, saveModel } from '../folder.ts'
import { OnnxLanguageModel } from '../generate.ts'
import { ModelRegistryClient } from '../registry.ts'
import { addDirectory, ModelService, type ModelServiceOptions } from '../service.ts'
import { trainAdapter, trainModel } from '../train.ts'
import { rustBook, shakespeare } from './helpers.ts'

const MANIFEST = 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const ROOT = `0x${'ab'.repeat(32)}` as Hex
const quiet = { info() {}, warn() {}, debug() {} }

interface TestNode {
  network: Network
  db: NodeDatabase
  dir: string
  service: ModelService
}

interface Ctx {
  anvil: Anvil
  owner: ChainClients
  modelRegistry: Address
  registryA: ModelRegistryClient
  registryB: ModelRegistryClient
  datanetId: bigint
  work: string
  modelDir: string
  a: TestNode
  b: TestNode
  modelId: string
  artifactCid: string
}

const test = suite<Ctx>('model registry: register on one node, fetch and generate on another')

async function expectCode(promise: Promise<unknown>, code: string) {
  try {
    await promise
  } catch (err) {
    assert.ok(hasCode(err, code), `expected ${code}, got ${(err as Error).name}: ${(err as Error).message}`)
    return err as Error & { type: Record<string, unknown> }
  }
  throw assert.unreachable(`expected ${code}`)
}

async function startNode(
  work: string,
  name: string,
  registry: ModelRegistryClient,
  opts?: ModelServiceOptions,
) {
  const dir = await mkdtemp(join(work, `${name}-`))
  const db = await NodeDatabase.open(join(dir, 'db'))
  const config = resolveConfig({ listen_host: '127.0.0.1', listen_port: 0, api_port: 0 })
  const network = await createNetwork(config, await generateKeyPair('Ed25519'), db, `openledger-test/${name}`)
  await network.start()
  const service = new ModelService(
    { unixfs: unixfs(network), pins: network.pins, routing: network.routing, registry, log: quiet },
    { provideTimeoutMs: 3_000, fetchTimeoutMs: 30_000, ...opts },
  )
  return { network, db, dir, service }
}

async function stopNode(node: TestNode | undefined) {
  if (!node) return
  await node.network.stop().catch(() => {})
  await node.db.close().catch(() => {})
}

async function pinCount(node: TestNode): Promise<number> {
  let n = 0
  for await (const _ of node.network.pins.ls()) n++
  return n
}

/** Copies the model folder so a test can change it without touching the registered one. */
async function copyModel(ctx: Ctx, name: string): Promise<string> {
  const dir = join(ctx.work, name)
  await cp(ctx.modelDir, dir, { recursive: true })
  return dir
}

test.before(async (ctx) => {
  ctx.work = await mkdtemp(join(tmpdir(), 'ol-model-registry-'))
  ctx.anvil = await startAnvil({ accounts: 3 })
  const [a0, a1] = ctx.anvil.accounts
  ctx.owner = await connect(ctx.anvil.rpcUrl, a0.privateKey)
  const addresses = await deployAll(ctx.owner)
  ctx.modelRegistry = addresses.modelRegistry
  const datanets = new DatanetRegistryClient({ ...ctx.owner, address: addresses.datanetRegistry })
  ctx.datanetId = await datanets.createDatanet({ metadataCid: MANIFEST, contributionType: 'text' })
  const version = await datanets.publishVersion(ctx.datanetId, {
    manifestCid: MANIFEST,
    contributionsRoot: ROOT,
    count: 1,
  })
  assert.is(version, 1)
  ctx.registryA = new ModelRegistryClient({ ...ctx.owner, address: ctx.modelRegistry })
  ctx.registryB = new ModelRegistryClient({
    ...(await connect(ctx.anvil.rpcUrl, a1.privateKey)),
    address: ctx.modelRegistry,
  })

  // A tiny model and one adapter, trained briefly: this test is about moving them, not their quality.
  const started = performance.now()
  const { model } = trainModel(shakespeare(60_000), { preset: 'tiny', seed: 3, steps: 120 })
  ctx.modelDir = join(ctx.work, 'model')
  const trainedOn = [{ datanetId: ctx.datanetId.toString(), version: 1 }]
  const manifest = await saveModel(ctx.modelDir, model, { datanets: trainedOn, training: { seed: 3 } })
  const { adapter } = trainAdapter(model, rustBook(40_000), { rank: 4, seed: 4, steps: 40 })
  await saveAdapter(
    join(ctx.modelDir, FILES.adapters, 'rust'),
    adapter,
    { config: model.config, baseWeightsCid: manifest.files[FILES.weights]! },
    { datanets: trainedOn },
  )
  console.log(`  tiny model + adapter trained in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  ctx.a = await startNode(ctx.work, 'a', ctx.registryA)
  ctx.b = await startNode(ctx.work, 'b', ctx.registryB)
  await ctx.b.network.libp2p.dial(ctx.a.network.libp2p.getMultiaddrs())
})

test.after(async (ctx) => {
  await stopNode(ctx.b)
  await stopNode(ctx.a)
  await ctx.anvil?.stop()
  if (ctx.work) await rm(ctx.work, { recursive: true, force: true })
})

test('register: folder in Helia, model on chain with its Datanet versions; ls and show read it', async (ctx) => {
  const started = performance.now()
  const result = await ctx.a.service.register({ dir: ctx.modelDir, priceIn: '0.5', priceOut: '1.25' })
  const ms = performance.now() - started
  ctx.modelId = result.modelId
  ctx.artifactCid = result.artifactCid
  console.log(
    `  register: ${ms.toFixed(0)} ms for ${result.bytes} bytes (${result.adapters.length} adapter), model ${result.modelId}`,
  )
  assert.is(result.modelId, '1')
  assert.equal(result.adapters, ['rust'])
  assert.is(result.adapterCids.length, 1)
  assert.equal(result.trainedOn, [{ datanetId: ctx.datanetId.toString(), version: 1 }])

  const shown = await ctx.a.service.show(result.modelId)
  assert.is(shown.artifactCid, result.artifactCid)
  assert.equal(shown.adapterCids, result.adapterCids)
  assert.equal(shown.trainedOn, [{ datanetId: ctx.datanetId.toString(), version: 1 }])
  assert.is(shown.priceIn, '0.5')
  assert.is(shown.pricePerKOutput, 1_250_000_000_000_000_000n.toString())
  assert.is(shown.owner, ctx.anvil.accounts[0]!.address)
  assert.equal(
    (await ctx.b.service.list()).map((m) => m.modelId),
    ['1'],
  )

  // Files of one chunk keep the manifest's CIDs inside the UnixFS directory; the root is pinned.
  const manifest = JSON.parse(await readFile(join(ctx.modelDir, FILES.manifest), 'utf8'))
  const fs = unixfs(ctx.a.network)
  const entries = new Map<string, string>()
  for await (const e of fs.ls(CID.parse(result.artifactCid))) entries.set(e.name, e.cid.toString())
  assert.ok(!entries.has(FILES.adapters), 'adapters are registered separately')
  for (const [name, cid] of Object.entries(manifest.files as Record<string, string>)) {
    assert.is(entries.get(name), cid, name)
  }
  assert.ok(await ctx.a.network.pins.isPinned(CID.parse(result.artifactCid)))
})

test('fetch on a node that never saw the model: same files, same tokens for the same seed', async (ctx) => {
  const artifact = CID.parse(ctx.artifactCid)
  assert.not.ok(await ctx.b.network.blockstore.has(artifact), 'node B must start without the model')
  const outDir = join(ctx.work, 'fetched')
  const started = performance.now()
  const result = await ctx.b.service.fetch({ modelId: ctx.modelId, outDir })
  console.log(
    `  fetch over bitswap: ${(performance.now() - started).toFixed(0)} ms, ${result.files} files, ${result.bytes} bytes`,
  )
  assert.equal(result.adapters, ['rust'])
  for (const name of ['model.onnx', 'model.safetensors', 'openledger.json']) {
    assert.equal(await readFile(join(outDir, name)), await readFile(join(ctx.modelDir, name)), name)
  }

  const opts = { maxTokens: 32, temperature: 0.9, topP: 0.95, seed: 11 }
  const source = await OnnxLanguageModel.load(ctx.modelDir)
  const fetched = await OnnxLanguageModel.load(outDir)
  try {
    const a = await source.generate('ROMEO:', opts)
    const b = await fetched.generate('ROMEO:', opts)
    assert.ok(a.tokens.length > 0)
    assert.equal(b.tokens, a.tokens)
    const adapterA = (await source.loadAdapter('rust')).weights
    const adapterB = (await fetched.loadAdapter('rust')).weights
    const c = await source.generate('fn main', { ...opts, adapter: adapterA })
    const d = await fetched.generate('fn main', { ...opts, adapter: adapterB })
    assert.equal(d.tokens, c.tokens)
  } finally {
    await source.release()
    await fetched.release()
  }
})

test('an unknown Datanet version: UNKNOWN_DATANET_VERSION, no transaction sent, nothing pinned', async (ctx) => {
  const dir = await copyModel(ctx, 'unknown-version')
  const manifestPath = join(dir, FILES.manifest)
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'))
  manifest.datanets = [{ datanetId: ctx.datanetId.toString(), version: 7 }]
  await writeFile(manifestPath, JSON.stringify(manifest))
  const account = ctx.anvil.accounts[0]!.address
  const nonce = await ctx.owner.publicClient.getTransactionCount({ address: account })
  const pins = await pinCount(ctx.a)
  const err = await expectCode(
    ctx.a.service.register({ dir, priceIn: '1', priceOut: '1' }),
    'UNKNOWN_DATANET_VERSION',
  )
  assert.match(err.message, /no version 7/)
  assert.is(await ctx.owner.publicClient.getTransactionCount({ address: account }), nonce)
  assert.is(await pinCount(ctx.a), pins)

  // A Datanet named rather than numbered (as in offline training) cannot be registered either.
  manifest.datanets = [{ datanetId: 'shakespeare', version: 1 }]
  await writeFile(manifestPath, JSON.stringify(manifest))
  await expectCode(ctx.a.service.register({ dir, priceIn: '1', priceOut: '1' }), 'UNKNOWN_DATANET_VERSION')
  assert.is(await ctx.owner.publicClient.getTransactionCount({ address: account }), nonce)
})

test('register refuses a corrupted folder and a bad price before anything is published', async (ctx) => {
  const dir = await copyModel(ctx, 'corrupt-local')
  const onnx = await readFile(join(dir, FILES.onnx))
  onnx[onnx.length - 1] ^= 0xff
  await writeFile(join(dir, FILES.onnx), onnx)
  await expectCode(ctx.a.service.register({ dir, priceIn: '1', priceOut: '1' }), 'MODEL_FILE_CORRUPTED')
  await expectCode(
    ctx.a.service.register({ dir: ctx.modelDir, priceIn: '-1', priceOut: '1' }),
    'MODEL_INVALID_PRICE',
  )
})

test('a fetched file whose bytes do not match the manifest: typed error, no folder left', async (ctx) => {
  // Publish a tampered folder by hand (register would refuse it) and put it on chain directly.
  const dir = await copyModel(ctx, 'corrupt-remote')
  const onnx = await readFile(join(dir, FILES.onnx))
  onnx[100] ^= 0x01
  const files = []
  for (const name of await readdir(dir)) {
    if (name === FILES.adapters) continue
    files.push({
      path: name,
      content: name === FILES.onnx ? onnx : new Uint8Array(await readFile(join(dir, name))),
    })
  }
  const fs = unixfs(ctx.a.network)
  const root = await addDirectory(fs, files)
  const modelId = await ctx.registryA.registerModel({
    artifactCid: root.toString(),
    adapterCids: [],
    trainedOn: [],
    pricePerKInput: 1n,
    pricePerKOutput: 1n,
  })
  const outDir = join(ctx.work, 'fetched-corrupt')
  const err = await expectCode(ctx.b.service.fetch({ modelId, outDir }), 'FETCHED_MODEL_INVALID')
  assert.is(err.type.reason, 'MODEL_FILE_CORRUPTED')
  assert.is(err.type.file, FILES.onnx)
  assert.match(err.message, /corrupted/)
  assert.not.ok(await exists(outDir), 'no folder at outDir')
  assert.not.ok(
    (await readdir(ctx.work)).some((n) => n.includes('partial')),
    'no partial folder left',
  )
})

test('unknown model id: UNKNOWN_MODEL from show and fetch; a non-empty target is refused', async (ctx) => {
  await expectCode(ctx.b.service.show(999), 'UNKNOWN_MODEL')
  await expectCode(ctx.b.service.fetch({ modelId: 999n, outDir: join(ctx.work, 'never') }), 'UNKNOWN_MODEL')
  await expectCode(ctx.b.service.show('not-a-number'), 'UNKNOWN_MODEL')
  assert.not.ok(await exists(join(ctx.work, 'never')))
  await expectCode(ctx.b.service.fetch({ modelId: ctx.modelId, outDir: ctx.modelDir }), 'OUT_DIR_NOT_EMPTY')
})

test('blocks nobody provides: MODEL_FETCH_TIMEOUT and no folder left', async (ctx) => {
  const missing = CID.parse('bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi')
  const modelId = await ctx.registryA.registerModel({
    artifactCid: missing.toString(),
    adapterCids: [],
    trainedOn: [],
    pricePerKInput: 0n,
    pricePerKOutput: 0n,
  })
  const impatient = new ModelService(
    {
      unixfs: unixfs(ctx.b.network),
      pins: ctx.b.network.pins,
      routing: ctx.b.network.routing,
      registry: ctx.registryB,
      log: quiet,
    },
    { fetchTimeoutMs: 1_500 },
  )
  const outDir = join(ctx.work, 'fetched-missing')
  await expectCode(impatient.fetch({ modelId, outDir }), 'MODEL_FETCH_TIMEOUT')
  assert.not.ok(await exists(outDir))
})

test('CLI through the HTTP API: model register, ls, show, fetch; typed errors come back by code', async (ctx) => {
  const jobs = new JobManager(Repository.json(ctx.a.db, Bucket.apiJobs, jobRecordSchema))
  const token = 'a'.repeat(64)
  const api = createApi(
    { ready: () => true, nodeInfo: () => ({}), peers: async () => [], metrics: new Registry() },
    [
      (app) =>
        registerModelRoutes(app, () => ctx.a.service, { jobs, modelsDir: join(ctx.work, 'node-models') }),
      (app) => registerJobRoutes(app, jobs),
    ],
    { token, apiHost: '127.0.0.1', allowedHosts: [] },
  )
  await jobs.start()
  await api.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`
  const run = async (...args: string[]): Promise<string> => {
    const program = new Command('openledger').exitOverride()
    registerModelCommands(program, modelCommandDeps({ url, token }))
    let out = ''
    const write = process.stdout.write
    process.stdout.write = ((chunk: string) => {
      out += chunk
      return true
    }) as typeof process.stdout.write
    try {
      await program.parseAsync(['node', 'openledger', ...args])
    } finally {
      process.stdout.write = write
    }
    return out
  }
  try {
    const id = (
      await run('model', 'register', '--dir', ctx.modelDir, '--price-in', '0.001', '--price-out', '0.002')
    ).trim()
    assert.match(id, /^\d+$/)
    const listed = JSON.parse(await run('model', 'ls')) as Array<{ modelId: string }>
    assert.ok(listed.some((m) => m.modelId === id))
    const shown = JSON.parse(await run('model', 'show', id))
    assert.is(shown.priceOut, '0.002')
    assert.equal(shown.trainedOn, [{ datanetId: ctx.datanetId.toString(), version: 1 }])
    const outDir = join(ctx.work, 'fetched-cli')
    assert.match(await run('model', 'fetch', '--model', id, '--out', outDir), /written to/)
    assert.ok(await exists(join(outDir, FILES.adapters, 'rust', FILES.adapterWeights)))

    // The bundled adapter again, registered as an adapter of its own on the model just registered.
    const rust = join(ctx.modelDir, FILES.adapters, 'rust')
    const adapterId = (
      await run(
        'model',
        'register',
        '--base',
        id,
        '--adapter-dir',
        rust,
        '--price-in',
        '0.0001',
        '--price-out',
        '0.0002',
      )
    ).trim()
    assert.is(adapterId, String(Number(id) + 1))
    const adapter = JSON.parse(await run('model', 'show', adapterId))
    assert.equal([adapter.baseModelId, adapter.priceOut, adapter.adapterCids], [id, '0.0002', []])
    assert.is(adapter.artifactCid, shown.adapterCids[0], 'same bytes, same layout: the bundled CID')
    assert.is(shown.baseModelId, '0')
    await expectCode(
      run('model', 'register', '--base', '999', '--adapter-dir', rust, '--price-in', '1', '--price-out', '1'),
      'UNKNOWN_BASE_MODEL',
    )
    await expectCode(
      run('model', 'register', '--base', id, '--dir', ctx.modelDir, '--price-in', '1', '--price-out', '1'),
      'MODEL_INVALID_ARGUMENT',
    )
    await expectCode(
      run('model', 'register', '--adapter-dir', rust, '--price-in', '1', '--price-out', '1'),
      'MODEL_INVALID_ARGUMENT',
    )
    await expectCode(
      run('model', 'register', '--base', 'one', '--adapter-dir', rust, '--price-in', '1', '--price-out', '1'),
      'MODEL_INVALID_ARGUMENT',
    )
    await expectCode(run('model', 'show', '999'), 'UNKNOWN_MODEL')
    const refused = await expectCode(
      callApi({ url, token }, 'POST', '/v1/registry/models', {
        json: { dir: 'relative/path', priceIn: '1', priceOut: '1' },
      }),
      'BAD_REQUEST',
    )
    assert.is(refused.type.status, 400)
  } finally {
    await jobs.stop()
    await api.close()
  }
})

test('registry client: owner-only changes, retirement is final', async (ctx) => {
  const id = BigInt(ctx.modelId)
  await expectCode(ctx.registryB.updatePrice(id, 1n, 1n), 'NOT_MODEL_OWNER')
  await ctx.registryA.updatePrice(id, 2n, 3n)
  const m = await ctx.registryA.getModel(id)
  assert.is(m.pricePerKInput, 2n)
  assert.is(m.pricePerKOutput, 3n)
  assert.is(await ctx.registryA.modelCount(), 5) // 4 models and the adapter the CLI test registered
  await ctx.registryA.retire(id)
  assert.ok((await ctx.registryA.getModel(id)).retired)
  await expectCode(ctx.registryA.updatePrice(id, 1n, 1n), 'MODEL_RETIRED')
  await expectCode(ctx.registryA.retire(999n), 'UNKNOWN_MODEL')
  await expectCode(
    ctx.registryA.registerModel({
      artifactCid: '',
      adapterCids: [],
      trainedOn: [],
      pricePerKInput: 0n,
      pricePerKOutput: 0n,
    }),
    'MODEL_EMPTY_FIELD',
  )
  await expectCode(
    new ModelRegistryClient({ publicClient: ctx.owner.publicClient, address: ctx.modelRegistry }).retire(id),
    'MODEL_NO_WALLET',
  )
})

/** A base registered afresh (the same folder again: same CIDs, a new id) and loaded on node B. */
async function freshBase(ctx: Ctx, name: string) {
  const registered = await ctx.a.service.register({ dir: ctx.modelDir, priceIn: '0.5', priceOut: '1' })
  const dir = join(ctx.work, name)
  await ctx.b.service.fetch({ modelId: registered.modelId, outDir: dir })
  return { baseId: registered.modelId, bundledCid: registered.adapterCids[0]!, base: await loadModel(dir) }
}

/** A copy of the bundled adapter with `edit` applied to its adapter_config.json (and weights, if given). */
async function editedAdapter(
  ctx: Ctx,
  name: string,
  edit: (config: Record<string, any>) => void,
  weights?: (bytes: Buffer) => void,
): Promise<string> {
  const dir = join(ctx.work, 'edited', name)
  await cp(join(ctx.modelDir, FILES.adapters, 'rust'), dir, { recursive: true })
  const configPath = join(dir, FILES.adapterConfig)
  const config = JSON.parse(await readFile(configPath, 'utf8'))
  edit(config)
  await writeFile(configPath, JSON.stringify(config))
  if (weights) {
    const bytes = await readFile(join(dir, FILES.adapterWeights))
    weights(bytes)
    await writeFile(join(dir, FILES.adapterWeights), bytes)
  }
  return dir
}

test('an adapter registered on its own: B fetches it by id against its base and generates the same tokens', async (ctx) => {
  const { baseId, base } = await freshBase(ctx, 'adapter-base')
  // A new adapter nobody has published yet, in a folder of its own (not under the base's adapters/).
  const loaded = await loadModel(ctx.modelDir)
  const { adapter } = trainAdapter(loaded, rustBook(20_000), { rank: 2, seed: 9, steps: 20 })
  const adapterDir = join(ctx.work, 'standalone', 'rust-small')
  await saveAdapter(
    adapterDir,
    adapter,
    { config: loaded.config, baseWeightsCid: loaded.manifest.files[FILES.weights]! },
    { datanets: [{ datanetId: ctx.datanetId.toString(), version: 1 }] },
  )
  const registered = await ctx.a.service.registerAdapter({
    baseModelId: baseId,
    dir: adapterDir,
    priceIn: '0.01',
    priceOut: '0.02',
  })
  assert.is(registered.adapterId, String(Number(baseId) + 1), "adapters share the models' ids")
  assert.equal(
    [registered.baseModelId, registered.name, registered.trainedOn],
    [baseId, 'rust-small', [{ datanetId: ctx.datanetId.toString(), version: 1 }]],
  )
  assert.ok(await ctx.a.network.pins.isPinned(CID.parse(registered.adapterCid)))

  const entry = await ctx.registryB.getModel(registered.adapterId)
  assert.equal(
    [entry.baseModelId, entry.artifactCid, entry.adapterCids, entry.owner, entry.pricePerKOutput],
    [BigInt(baseId), registered.adapterCid, [], ctx.anvil.accounts[0]!.address, 20_000_000_000_000_000n],
  )
  assert.is((await ctx.registryB.getModel(baseId)).baseModelId, 0n)
  assert.ok(await ctx.registryB.isServable(registered.adapterId))
  assert.is((await ctx.b.service.show(registered.adapterId)).baseModelId, baseId)

  // The one price rule everyone applies: base plus adapter; anything not registered so is unknown.
  const baseEntry = await ctx.registryB.getModel(baseId)
  const adapterId = BigInt(registered.adapterId)
  assert.equal(await registeredPrices(ctx.registryB, BigInt(baseId), adapterId), {
    priceIn: baseEntry.pricePerKInput + entry.pricePerKInput,
    priceOut: baseEntry.pricePerKOutput + entry.pricePerKOutput,
  })
  assert.equal(await registeredPrices(ctx.registryB, BigInt(baseId), 0n), {
    priceIn: baseEntry.pricePerKInput,
    priceOut: baseEntry.pricePerKOutput,
  })
  assert.equal(await registeredPrices(ctx.registryB, adapterId, 0n), { unknown: 'model' })
  assert.equal(await registeredPrices(ctx.registryB, 999n, 0n), { unknown: 'model' })
  assert.equal(await registeredPrices(ctx.registryB, BigInt(baseId), 999n), { unknown: 'adapter' })
  assert.equal(await registeredPrices(ctx.registryB, BigInt(ctx.modelId), adapterId), { unknown: 'adapter' })
  // A failed chain read is not "unknown": it throws, so a validator ignores instead of rejecting.
  const unreachable = { getModel: async () => Promise.reject(new Error('connect ECONNREFUSED')) }
  const thrown = await registeredPrices(unreachable, BigInt(baseId), 0n).then(
    () => undefined,
    (err: Error) => err,
  )
  assert.match(thrown?.message ?? 'resolved', /ECONNREFUSED/)

  const root = CID.parse(registered.adapterCid)
  assert.not.ok(await ctx.b.network.blockstore.has(root), 'node B must start without the adapter')
  const outDir = join(ctx.work, 'b-adapters', registered.adapterId)
  const fetched = await ctx.b.service.fetchAdapter({
    adapterId: registered.adapterId,
    baseModelId: baseId,
    base,
    outDir,
  })
  assert.equal(
    [fetched.adapterId, fetched.baseModelId, fetched.name, fetched.dir, fetched.files],
    [registered.adapterId, baseId, 'rust-small', outDir, 2],
  )
  for (const file of [FILES.adapterWeights, FILES.adapterConfig]) {
    assert.equal(await readFile(join(outDir, file)), await readFile(join(adapterDir, file)), file)
  }
  assert.is(fetched.weights.rank, 2)
  assert.not.ok(
    (await readdir(join(ctx.work, 'b-adapters'))).some((n) => n.includes('partial')),
    'no partial folder left',
  )

  const opts = { maxTokens: 24, temperature: 0.9, topP: 0.95, seed: 5 }
  const lm = await OnnxLanguageModel.load(ctx.modelDir)
  try {
    const local = (await loadAdapter(adapterDir, loaded)).weights
    const a = await lm.generate('fn main', { ...opts, adapter: local })
    const b = await lm.generate('fn main', { ...opts, adapter: fetched.weights })
    assert.ok(a.tokens.length > 0)
    assert.equal(b.tokens, a.tokens)
  } finally {
    await lm.release()
  }
})

test('registerAdapter refuses bad input with typed errors, before anything is sent or pinned', async (ctx) => {
  const { baseId } = await freshBase(ctx, 'refusals-base')
  const rust = join(ctx.modelDir, FILES.adapters, 'rust')
  const adapter = await ctx.a.service.registerAdapter({
    baseModelId: baseId,
    dir: rust,
    priceIn: '1',
    priceOut: '1',
  })
  const account = ctx.anvil.accounts[0]!.address
  const nonce = await ctx.owner.publicClient.getTransactionCount({ address: account })
  const pins = await pinCount(ctx.a)
  const register = (over: Partial<{ baseModelId: string; dir: string; priceIn: string; priceOut: string }>) =>
    ctx.a.service.registerAdapter({ baseModelId: baseId, dir: rust, priceIn: '1', priceOut: '1', ...over })

  await expectCode(register({ baseModelId: '999' }), 'UNKNOWN_BASE_MODEL')
  await expectCode(register({ baseModelId: 'zero' }), 'UNKNOWN_BASE_MODEL')
  await expectCode(register({ baseModelId: adapter.adapterId }), 'BASE_IS_ADAPTER')
  await expectCode(register({ priceIn: '-1' }), 'MODEL_INVALID_PRICE')
  await expectCode(register({ dir: ctx.modelDir }), 'MODEL_FILE_MISSING') // a model folder, not an adapter
  const otherBase = await editedAdapter(ctx, 'other-base', (c) => {
    c.openledger.baseWeightsCid = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
  })
  await expectCode(register({ dir: otherBase }), 'ADAPTER_BASE_MISMATCH')
  const unknownVersion = await editedAdapter(ctx, 'unknown-version', (c) => {
    c.openledger.datanets = [{ datanetId: ctx.datanetId.toString(), version: 9 }]
  })
  const err = await expectCode(register({ dir: unknownVersion }), 'UNKNOWN_DATANET_VERSION')
  assert.match(err.message, /no version 9/)
  const corrupted = await editedAdapter(
    ctx,
    'corrupted',
    () => {},
    (bytes) => {
      bytes[bytes.length - 1]! ^= 0xff
    },
  )
  await expectCode(register({ dir: corrupted }), 'MODEL_FILE_CORRUPTED')
  assert.is(await ctx.owner.publicClient.getTransactionCount({ address: account }), nonce, 'nothing sent')
  assert.is(await pinCount(ctx.a), pins, 'nothing left pinned')

  // The client alone: its own checks, and each new revert mapped to its code by the simulation.
  const direct = (baseModelId: bigint, adapterCid = adapter.adapterCid) =>
    ctx.registryB.registerAdapter({
      baseModelId,
      adapterCid,
      trainedOn: [],
      pricePerKInput: 1n,
      pricePerKOutput: 1n,
    })
  await expectCode(direct(0n), 'UNKNOWN_BASE_MODEL')
  await expectCode(direct(BigInt(baseId), ''), 'MODEL_EMPTY_FIELD')
  await expectCode(direct(999n), 'UNKNOWN_BASE_MODEL')
  const stacked = await expectCode(direct(BigInt(adapter.adapterId)), 'BASE_IS_ADAPTER')
  assert.is(stacked.type.baseModelId, adapter.adapterId)
  await expectCode(
    ctx.registryB.registerAdapter({
      baseModelId: BigInt(baseId),
      adapterCid: adapter.adapterCid,
      trainedOn: [{ datanetId: ctx.datanetId, version: 3 }],
      pricePerKInput: 1n,
      pricePerKOutput: 1n,
    }),
    'UNKNOWN_DATANET_VERSION',
  )
  await expectCode(ctx.registryB.updatePrice(BigInt(adapter.adapterId), 1n, 1n), 'NOT_MODEL_OWNER')
  await ctx.registryA.retire(BigInt(baseId))
  await expectCode(direct(BigInt(baseId)), 'BASE_MODEL_RETIRED')
  await expectCode(register({}), 'BASE_MODEL_RETIRED')
})

test('fetchAdapter: wrong kind, wrong base, retired, tampered or misshapen content: typed errors, no folder left', async (ctx) => {
  const { baseId, base } = await freshBase(ctx, 'fetch-refusals-base')
  const rust = join(ctx.modelDir, FILES.adapters, 'rust')
  const adapter = await ctx.a.service.registerAdapter({
    baseModelId: baseId,
    dir: rust,
    priceIn: '1',
    priceOut: '1',
  })
  const fetchAdapter = (adapterId: string | bigint, outName: string, baseModelId: string = baseId) =>
    ctx.b.service.fetchAdapter({ adapterId, baseModelId, base, outDir: join(ctx.work, 'b-refused', outName) })

  await expectCode(fetchAdapter('999', 'unknown'), 'UNKNOWN_MODEL')
  await expectCode(fetchAdapter(baseId, 'a-base'), 'NOT_AN_ADAPTER')
  const otherBase = await ctx.registryA.registerModel({
    artifactCid: ctx.artifactCid,
    adapterCids: [],
    trainedOn: [],
    pricePerKInput: 1n,
    pricePerKOutput: 1n,
  })
  const elsewhere = await ctx.registryA.registerAdapter({
    baseModelId: otherBase,
    adapterCid: adapter.adapterCid,
    trainedOn: [],
    pricePerKInput: 1n,
    pricePerKOutput: 1n,
  })
  const wrong = await expectCode(fetchAdapter(elsewhere, 'wrong-base'), 'ADAPTER_NOT_FOR_BASE')
  assert.is(wrong.type.reason, otherBase.toString())
  await expectCode(
    ctx.b.service.fetch({ modelId: adapter.adapterId, outDir: join(ctx.work, 'b-refused', 'whole') }),
    'MODEL_IS_ADAPTER',
  )
  await expectCode(
    ctx.b.service.fetchAdapter({
      adapterId: adapter.adapterId,
      baseModelId: baseId,
      base,
      outDir: ctx.modelDir,
    }),
    'OUT_DIR_NOT_EMPTY',
  )

  // Content the service would refuse to register, published by hand and registered through the client.
  const publish = async (dir: string) => {
    const files = []
    for (const file of [FILES.adapterWeights, FILES.adapterConfig])
      files.push({ path: file, content: new Uint8Array(await readFile(join(dir, file))) })
    const root = await addDirectory(unixfs(ctx.a.network), files, 'rust')
    return ctx.registryA.registerAdapter({
      baseModelId: BigInt(baseId),
      adapterCid: root.toString(),
      trainedOn: [],
      pricePerKInput: 1n,
      pricePerKOutput: 1n,
    })
  }
  const mismatched = await publish(
    await editedAdapter(ctx, 'fetch-other-base', (c) => {
      c.openledger.baseWeightsCid = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
    }),
  )
  await expectCode(fetchAdapter(mismatched, 'mismatched'), 'ADAPTER_BASE_MISMATCH')
  const tampered = await publish(
    await editedAdapter(
      ctx,
      'fetch-tampered',
      () => {},
      (bytes) => {
        bytes[bytes.length - 1]! ^= 0xff
      },
    ),
  )
  const corrupt = await expectCode(fetchAdapter(tampered, 'tampered'), 'FETCHED_MODEL_INVALID')
  assert.is(corrupt.type.reason, 'MODEL_FILE_CORRUPTED')
  const notAFolder = await ctx.registryA.registerAdapter({
    baseModelId: BigInt(baseId),
    adapterCid: ctx.artifactCid, // a model artifact: many files, not one adapter folder
    trainedOn: [],
    pricePerKInput: 1n,
    pricePerKOutput: 1n,
  })
  await expectCode(fetchAdapter(notAFolder, 'not-a-folder'), 'ARTIFACT_INVALID')
  assert.equal(await readdir(join(ctx.work, 'b-refused')).catch(() => []), [], 'no folder, no partial left')

  // Retiring the base retires its adapters for serving.
  assert.ok(await ctx.registryB.isServable(adapter.adapterId))
  await ctx.registryA.retire(BigInt(baseId))
  assert.not.ok(await ctx.registryB.isServable(adapter.adapterId))
  assert.not.ok((await ctx.registryB.getModel(adapter.adapterId)).retired, 'the entry itself is untouched')
  await expectCode(fetchAdapter(adapter.adapterId, 'retired-base'), 'ADAPTER_NOT_SERVABLE')
  assert.not.ok(await exists(join(ctx.work, 'b-refused', 'retired-base')))
})

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

test.run()
