// DatanetRegistry and ModelRegistry on a real anvil chain.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Hex, keccak256, parseEventLogs } from 'viem'
import { modelRegistryAbi } from '../generated/index.ts'
import { createWorld, expectRevert, type World } from './helpers.ts'

let w: World
let snap: Hex
const OWNER = 1
const CURATOR = 2
const STRANGER = 3
const ADAPTER_OWNER = 4
test.before(async () => {
  w = await createWorld()
})
test.after(async () => {
  await w?.stop()
})
test.before.each(async () => {
  snap = await w.snapshot()
})
test.after.each(async () => {
  await w.revert(snap)
})

async function createDatanet() {
  await w.mined(w.as[OWNER].datanets.write.createDatanet(['bafy-meta', 'text', [w.as[CURATOR].address]]))
  return w.as[0].datanets.read.datanetCount()
}

test('create a Datanet, publish versions by owner and curator, read any version', async () => {
  const id = await createDatanet()
  assert.is(id, 1n)
  const d = await w.as[0].datanets.read.getDatanet([id])
  assert.equal(
    [d.owner, d.metadataCid, d.contributionType, d.versionCount],
    [w.as[OWNER].address, 'bafy-meta', 'text', 0],
  )
  assert.ok(await w.as[0].datanets.read.isCurator([id, w.as[CURATOR].address]))
  await w.mined(w.as[OWNER].datanets.write.publishVersion([id, 1, 'bafy-v1', keccak256('0x01'), 10n]))
  await w.mined(w.as[CURATOR].datanets.write.publishVersion([id, 2, 'bafy-v2', keccak256('0x02'), 25n]))
  const v1 = await w.as[0].datanets.read.getVersion([id, 1])
  const v2 = await w.as[0].datanets.read.getVersion([id, 2])
  assert.equal(
    [v1.manifestCid, v1.contributionsRoot, v1.contributionCount, v1.publisher],
    ['bafy-v1', keccak256('0x01'), 10n, w.as[OWNER].address],
  )
  assert.equal([v2.manifestCid, v2.contributionCount, v2.publisher], ['bafy-v2', 25n, w.as[CURATOR].address])
  assert.ok(v2.publishedAt > 0n)
  assert.is((await w.as[0].datanets.read.getDatanet([id])).versionCount, 2)
  assert.ok(await w.as[0].datanets.read.versionExists([id, 2]))
  assert.not.ok(await w.as[0].datanets.read.versionExists([id, 3]))
})

test('only owner or curators publish; only the owner appoints curators; unknown ids revert', async () => {
  const id = await createDatanet()
  await expectRevert(
    w.as[STRANGER].datanets.write.publishVersion([id, 1, 'bafy', keccak256('0x01'), 1n]),
    'NotCurator',
  )
  await expectRevert(w.as[CURATOR].datanets.write.setCurator([id, w.as[STRANGER].address, true]), 'NotOwner')
  await w.mined(w.as[OWNER].datanets.write.setCurator([id, w.as[STRANGER].address, true]))
  await w.mined(w.as[STRANGER].datanets.write.publishVersion([id, 1, 'bafy', keccak256('0x01'), 1n]))
  await w.mined(w.as[OWNER].datanets.write.setCurator([id, w.as[CURATOR].address, false]))
  await expectRevert(
    w.as[CURATOR].datanets.write.publishVersion([id, 2, 'bafy', keccak256('0x01'), 1n]),
    'NotCurator',
  )
  await expectRevert(
    w.as[OWNER].datanets.write.publishVersion([id, 2, '', keccak256('0x01'), 1n]),
    'EmptyField',
  )
  await expectRevert(w.as[OWNER].datanets.write.createDatanet(['', 'text', []]), 'EmptyField')
  await expectRevert(w.as[0].datanets.read.getDatanet([99n]), 'UnknownDatanet')
  await expectRevert(w.as[0].datanets.read.getVersion([id, 0]), 'UnknownVersion')
  await expectRevert(w.as[0].datanets.read.getVersion([id, 5]), 'UnknownVersion')
  await expectRevert(
    w.as[OWNER].datanets.write.publishVersion([99n, 1, 'bafy', keccak256('0x01'), 1n]),
    'UnknownDatanet',
  )
})

test('a version built on a stale version count reverts VersionConflict and changes nothing', async () => {
  const id = await createDatanet()
  await w.mined(w.as[OWNER].datanets.write.publishVersion([id, 1, 'bafy-v1', keccak256('0x01'), 1n]))
  // Two publishers that both read versionCount 1: the first lands as version 2, the second is refused.
  await w.mined(w.as[CURATOR].datanets.write.publishVersion([id, 2, 'bafy-v2a', keccak256('0x02'), 2n]))
  await expectRevert(
    w.as[OWNER].datanets.write.publishVersion([id, 2, 'bafy-v2b', keccak256('0x03'), 2n]),
    'VersionConflict',
  )
  await expectRevert(
    w.as[OWNER].datanets.write.publishVersion([id, 4, 'bafy-v4', keccak256('0x04'), 3n]),
    'VersionConflict',
  )
  assert.is((await w.as[0].datanets.read.getDatanet([id])).versionCount, 2)
  assert.is((await w.as[0].datanets.read.getVersion([id, 2])).manifestCid, 'bafy-v2a')
})

test('register a model trained on Datanet versions, update its price, retire it', async () => {
  const id = await createDatanet()
  await w.mined(w.as[OWNER].datanets.write.publishVersion([id, 1, 'bafy-v1', keccak256('0x01'), 10n]))
  const m = w.as[OWNER].models.write
  await w.mined(
    m.registerModel([
      'bafy-model',
      ['bafy-lora-a', 'bafy-lora-b'],
      [{ datanetId: id, version: 1 }],
      100n,
      300n,
    ]),
  )
  const modelId = await w.as[0].models.read.modelCount()
  let model = await w.as[0].models.read.getModel([modelId])
  assert.equal(
    [
      model.owner,
      model.artifactCid,
      model.adapterCids,
      model.trainedOn,
      model.pricePerKInput,
      model.pricePerKOutput,
      model.retired,
      model.baseModelId,
    ],
    [
      w.as[OWNER].address,
      'bafy-model',
      ['bafy-lora-a', 'bafy-lora-b'],
      [{ datanetId: id, version: 1 }],
      100n,
      300n,
      false,
      0n,
    ],
  )
  await w.mined(m.updatePrice([modelId, 150n, 450n]))
  model = await w.as[0].models.read.getModel([modelId])
  assert.equal([model.pricePerKInput, model.pricePerKOutput], [150n, 450n])
  await expectRevert(w.as[STRANGER].models.write.updatePrice([modelId, 1n, 1n]), 'NotModelOwner')
  await expectRevert(w.as[STRANGER].models.write.retire([modelId]), 'NotModelOwner')
  await w.mined(m.retire([modelId]))
  assert.ok((await w.as[0].models.read.getModel([modelId])).retired)
  await expectRevert(m.updatePrice([modelId, 1n, 1n]), 'ModelRetired')
  await expectRevert(m.retire([modelId]), 'ModelRetired')
})

test('models must name existing Datanet versions and a non-empty artifact', async () => {
  const id = await createDatanet()
  const m = w.as[OWNER].models.write
  await expectRevert(
    m.registerModel(['bafy-model', [], [{ datanetId: id, version: 1 }], 1n, 1n]),
    'UnknownDatanetVersion',
  )
  await expectRevert(
    m.registerModel(['bafy-model', [], [{ datanetId: 42n, version: 1 }], 1n, 1n]),
    'UnknownDatanetVersion',
  )
  await expectRevert(m.registerModel(['', [], [], 1n, 1n]), 'EmptyField')
  await expectRevert(m.registerModel(['bafy-model', [''], [], 1n, 1n]), 'EmptyField')
  await expectRevert(w.as[0].models.read.getModel([1n]), 'UnknownModel')
  assert.is(await w.as[0].models.read.modelCount(), 0n)
})

/** A Datanet with version 1 and a base model trained on it; returns both ids. */
async function baseModel() {
  const datanetId = await createDatanet()
  await w.mined(w.as[OWNER].datanets.write.publishVersion([datanetId, 1, 'bafy-v1', keccak256('0x01'), 10n]))
  await w.mined(
    w.as[OWNER].models.write.registerModel([
      'bafy-base',
      ['bafy-bundled'],
      [{ datanetId, version: 1 }],
      100n,
      300n,
    ]),
  )
  return { datanetId, baseId: await w.as[0].models.read.modelCount() }
}

test('anyone registers an adapter of a live base: own id, owner, price, Datanet versions, events', async () => {
  const { datanetId, baseId } = await baseModel()
  await w.mined(w.as[OWNER].datanets.write.publishVersion([datanetId, 2, 'bafy-v2', keccak256('0x02'), 12n]))
  const receipt = await w.mined(
    w.as[ADAPTER_OWNER].models.write.registerAdapter([
      baseId,
      'bafy-adapter',
      [{ datanetId, version: 2 }],
      20n,
      60n,
    ]),
  )
  const adapterId = await w.as[0].models.read.modelCount()
  assert.is(adapterId, baseId + 1n, 'adapters share the model id space')
  const [registered] = parseEventLogs({
    abi: modelRegistryAbi,
    logs: receipt.logs,
    eventName: 'AdapterRegistered',
  })
  assert.equal(registered?.args, {
    adapterId,
    baseModelId: baseId,
    owner: w.as[ADAPTER_OWNER].address,
    adapterCid: 'bafy-adapter',
  })
  const [priced] = parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: 'PriceUpdated' })
  assert.equal(priced?.args, { modelId: adapterId, pricePerKInput: 20n, pricePerKOutput: 60n })
  assert.is(
    parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: 'ModelRegistered' }).length,
    0,
  )

  const adapter = await w.as[0].models.read.getModel([adapterId])
  assert.equal(
    [
      adapter.owner,
      adapter.baseModelId,
      adapter.artifactCid,
      adapter.adapterCids,
      adapter.trainedOn,
      adapter.pricePerKInput,
      adapter.pricePerKOutput,
      adapter.retired,
    ],
    [w.as[ADAPTER_OWNER].address, baseId, 'bafy-adapter', [], [{ datanetId, version: 2 }], 20n, 60n, false],
  )
  // The base is untouched: still its owner's, with its bundled adapter.
  const base = await w.as[0].models.read.getModel([baseId])
  assert.equal([base.owner, base.baseModelId, base.adapterCids], [w.as[OWNER].address, 0n, ['bafy-bundled']])
  assert.ok(await w.as[0].models.read.isServable([adapterId]))
  assert.ok(await w.as[0].models.read.isServable([baseId]))
})

test('the base must exist, be live and not be an adapter; the CID must not be empty', async () => {
  const { datanetId, baseId } = await baseModel()
  const a = w.as[ADAPTER_OWNER].models.write
  const before = await w.as[0].models.read.modelCount()
  const args = await expectRevert(a.registerAdapter([99n, 'bafy-adapter', [], 1n, 1n]), 'UnknownBaseModel')
  assert.equal(args, [99n])
  await expectRevert(a.registerAdapter([0n, 'bafy-adapter', [], 1n, 1n]), 'UnknownBaseModel')
  await expectRevert(a.registerAdapter([baseId, '', [], 1n, 1n]), 'EmptyField')
  await expectRevert(
    a.registerAdapter([baseId, 'bafy-adapter', [{ datanetId, version: 9 }], 1n, 1n]),
    'UnknownDatanetVersion',
  )
  await expectRevert(
    a.registerAdapter([baseId, 'bafy-adapter', [{ datanetId: 42n, version: 1 }], 1n, 1n]),
    'UnknownDatanetVersion',
  )
  assert.is(await w.as[0].models.read.modelCount(), before, 'no refused adapter took an id')

  await w.mined(a.registerAdapter([baseId, 'bafy-adapter', [], 1n, 1n]))
  const adapterId = await w.as[0].models.read.modelCount()
  assert.equal(
    await expectRevert(a.registerAdapter([adapterId, 'bafy-on-adapter', [], 1n, 1n]), 'BaseIsAdapter'),
    [adapterId],
  )
  await w.mined(w.as[OWNER].models.write.retire([baseId]))
  assert.equal(await expectRevert(a.registerAdapter([baseId, 'bafy-late', [], 1n, 1n]), 'BaseModelRetired'), [
    baseId,
  ])
  // Sent for real (fixed gas, mined, reverted on chain), not only simulated.
  await w.minedRevert(
    (opts) => w.as[ADAPTER_OWNER].models.write.registerAdapter([baseId, 'bafy-late', [], 1n, 1n], opts),
    'BaseModelRetired',
  )
  assert.is(await w.as[0].models.read.modelCount(), adapterId)
})

test("only the adapter's owner changes its price or retires it; the base owner cannot", async () => {
  const { baseId } = await baseModel()
  await w.mined(w.as[ADAPTER_OWNER].models.write.registerAdapter([baseId, 'bafy-adapter', [], 1n, 2n]))
  const adapterId = await w.as[0].models.read.modelCount()
  await expectRevert(w.as[OWNER].models.write.updatePrice([adapterId, 5n, 5n]), 'NotModelOwner')
  await expectRevert(w.as[STRANGER].models.write.retire([adapterId]), 'NotModelOwner')
  await expectRevert(w.as[OWNER].models.write.retire([adapterId]), 'NotModelOwner')
  await w.mined(w.as[ADAPTER_OWNER].models.write.updatePrice([adapterId, 7n, 9n]))
  let adapter = await w.as[0].models.read.getModel([adapterId])
  assert.equal([adapter.pricePerKInput, adapter.pricePerKOutput], [7n, 9n])
  await w.mined(w.as[ADAPTER_OWNER].models.write.retire([adapterId]))
  adapter = await w.as[0].models.read.getModel([adapterId])
  assert.ok(adapter.retired)
  assert.not.ok(await w.as[0].models.read.isServable([adapterId]))
  assert.ok(await w.as[0].models.read.isServable([baseId]), 'retiring an adapter leaves its base alone')
  await expectRevert(w.as[ADAPTER_OWNER].models.write.updatePrice([adapterId, 1n, 1n]), 'ModelRetired')
  await expectRevert(w.as[ADAPTER_OWNER].models.write.retire([adapterId]), 'ModelRetired')
})

test('retiring the base makes its adapters unservable; their own entries stay as they were', async () => {
  const { baseId } = await baseModel()
  await w.mined(w.as[ADAPTER_OWNER].models.write.registerAdapter([baseId, 'bafy-a', [], 1n, 1n]))
  const first = await w.as[0].models.read.modelCount()
  await w.mined(w.as[STRANGER].models.write.registerAdapter([baseId, 'bafy-b', [], 1n, 1n]))
  const second = await w.as[0].models.read.modelCount()
  assert.ok(await w.as[0].models.read.isServable([first]))
  assert.ok(await w.as[0].models.read.isServable([second]))
  await w.mined(w.as[OWNER].models.write.retire([baseId]))
  for (const id of [baseId, first, second]) {
    assert.not.ok(
      await w.as[0].models.read.isServable([id]),
      `model ${id} is servable after its base retired`,
    )
  }
  const adapter = await w.as[0].models.read.getModel([first])
  assert.equal([adapter.retired, adapter.baseModelId], [false, baseId])
  assert.not.ok(await w.as[0].models.read.isServable([0n]))
  assert.not.ok(await w.as[0].models.read.isServable([99n]), 'an id never registered is not servable')
})

test.run()
