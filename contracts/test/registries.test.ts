// DatanetRegistry and ModelRegistry on a real anvil chain.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Hex, keccak256 } from 'viem'
import { createWorld, expectRevert, type World } from './helpers.ts'

let w: World
let snap: Hex
const OWNER = 1
const CURATOR = 2
const STRANGER = 3
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
    ],
    [
      w.as[OWNER].address,
      'bafy-model',
      ['bafy-lora-a', 'bafy-lora-b'],
      [{ datanetId: id, version: 1 }],
      100n,
      300n,
      false,
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

test.run()
