import { SimpleMerkleTree } from '@openzeppelin/merkle-tree'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Address, encodeAbiParameters, keccak256, toHex } from 'viem'
import { hasCode } from '../../common/errors.ts'
import {
  type ContributionLeafInput,
  ContributionsTree,
  contributionLeaf,
  contributionsRoot,
  verifyContribution,
} from '../contributions-root.ts'

async function entries(n: number): Promise<ContributionLeafInput[]> {
  const out: ContributionLeafInput[] = []
  for (let i = 0; i < n; i++) {
    const digest = await sha256.digest(new TextEncoder().encode(`contribution ${i}`))
    out.push({
      contributor: toHex(BigInt((i % 7) + 1) * 0x1234567n, { size: 20 }) as Address,
      contentCid: CID.createV1(raw.code, digest),
      bytes: 100 + i * 13,
    })
  }
  return out
}

function referenceLeaf(index: number, e: ContributionLeafInput) {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'uint256' }, { type: 'address' }, { type: 'bytes32' }, { type: 'uint64' }],
      [BigInt(index), e.contributor as Address, keccak256(e.contentCid.bytes), BigInt(e.bytes)],
    ),
  )
}

test('leaf is keccak256(abi.encode(index, contributor, keccak256(cid), bytes))', async () => {
  const [e] = await entries(1)
  assert.is(await contributionLeaf(5, e), referenceLeaf(5, e))
})

test('root equals OpenZeppelin SimpleMerkleTree over the same leaves (1, 2, 3, 100 entries)', async () => {
  for (const n of [1, 2, 3, 100]) {
    const list = await entries(n)
    const oz = SimpleMerkleTree.of(list.map((e, i) => referenceLeaf(i, e)))
    assert.is(await contributionsRoot(list), oz.root, `n=${n}`)
  }
})

test('every contribution has a proof that verifies; a wrong index, entry or root does not', async () => {
  const list = await entries(37)
  const tree = await ContributionsTree.build(list)
  const oz = SimpleMerkleTree.of(list.map((e, i) => referenceLeaf(i, e)))
  for (let i = 0; i < list.length; i++) {
    const { proof, leaf } = tree.proof(i)
    assert.is(leaf, referenceLeaf(i, list[i]))
    assert.ok(SimpleMerkleTree.verify(oz.root, leaf, proof))
    assert.ok(await verifyContribution(tree.root, i, list[i], proof))
  }
  const { proof } = tree.proof(3)
  assert.not.ok(await verifyContribution(tree.root, 4, list[3], proof), 'the order is committed')
  assert.not.ok(await verifyContribution(tree.root, 3, { ...list[3], bytes: 1 }, proof))
  assert.not.ok(await verifyContribution(`0x${'00'.repeat(32)}`, 3, list[3], proof))
})

test('reordering the manifest changes the root', async () => {
  const list = await entries(4)
  assert.is.not(await contributionsRoot(list), await contributionsRoot([list[1], list[0], list[2], list[3]]))
})

test('bad input is refused with a code', async () => {
  const list = await entries(2)
  await contributionsRoot([]).then(
    () => assert.unreachable(),
    (err) => assert.ok(hasCode(err, 'EMPTY_VERSION')),
  )
  await contributionsRoot([{ ...list[0], contributor: 'nobody' }]).then(
    () => assert.unreachable(),
    (err) => assert.ok(hasCode(err, 'INVALID_CONTRIBUTION')),
  )
  await contributionsRoot([{ ...list[0], bytes: -1 }]).then(
    () => assert.unreachable(),
    (err) => assert.ok(hasCode(err, 'INVALID_CONTRIBUTION')),
  )
  const tree = await ContributionsTree.build(list)
  assert.throws(
    () => tree.proof(2),
    (err: unknown) => hasCode(err, 'NO_SUCH_CONTRIBUTION'),
  )
})

test.run()
