import { SimpleMerkleTree } from '@openzeppelin/merkle-tree'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Address, concat, encodeAbiParameters, type Hex, keccak256, toHex } from 'viem'
import { type LedgerEntry, LedgerTree, ledgerLeaf, processProof, SortedMerkleTree } from '../merkle.ts'

// Deterministic pseudo-random entries (xorshift), so a failure reproduces.
function entries(n: number, seed = 1): LedgerEntry[] {
  let s = BigInt(seed) * 0x9e3779b97f4a7c15n
  const next = () => {
    s ^= (s << 13n) & ((1n << 64n) - 1n)
    s ^= s >> 7n
    s ^= (s << 17n) & ((1n << 64n) - 1n)
    return s
  }
  return Array.from({ length: n }, (_, i) => ({
    account: toHex(BigInt(i + 1) * 0x1000193n + (next() << 64n), { size: 20 }) as Address,
    index: i,
    earned: next() * 1000n,
    spent: i % 3 === 0 ? 0n : next(),
  }))
}

async function rejects(fn: () => Promise<unknown>, pattern: RegExp) {
  try {
    await fn()
  } catch (err) {
    assert.match(String(err), pattern)
    return
  }
  assert.unreachable('expected a rejection')
}

const abiLeaf = (e: LedgerEntry) =>
  keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }],
      [e.account, BigInt(e.index), e.earned, e.spent],
    ),
  )

test('leaf is keccak256(abi.encode(account, index, earned, spent))', async () => {
  for (const e of entries(20, 7)) assert.is(await ledgerLeaf(e), abiLeaf(e))
})

for (const n of [1, 2, 3, 4, 5, 7, 16, 17, 100, 1001]) {
  test(`root and every proof equal OpenZeppelin SimpleMerkleTree (${n} leaves)`, async () => {
    const list = entries(n, n)
    const ours = await LedgerTree.build(list)
    const oz = SimpleMerkleTree.of(list.map(abiLeaf))
    assert.is(ours.root, oz.root)
    for (const e of list) {
      const leaf = abiLeaf(e)
      const proof = ours.proof(e.account)
      assert.equal(proof, oz.getProof(leaf))
      assert.is(await processProof(leaf, proof), oz.root)
    }
  })
}

test('SortedMerkleTree from raw leaf hashes matches OpenZeppelin, in any input order', async () => {
  const leaves = entries(33, 3).map(abiLeaf)
  const reversed = [...leaves].reverse()
  const a = await SortedMerkleTree.fromLeafHashes(leaves.map((h) => Buffer.from(h.slice(2), 'hex')))
  const b = await SortedMerkleTree.fromLeafHashes(reversed.map((h) => Buffer.from(h.slice(2), 'hex')))
  const oz = SimpleMerkleTree.of(leaves)
  assert.is(a.root, oz.root)
  assert.is(b.root, oz.root)
  for (const leaf of leaves) {
    const j = a.indexOfLeaf(leaf)
    assert.ok(j >= 0)
    assert.is(a.leaf(j), leaf)
    assert.equal(a.proof(j), oz.getProof(leaf))
  }
  assert.is(a.indexOfLeaf(keccak256('0x01')), -1)
})

test('a level of nodes hashes up to the root, and proofs to that level end on the right node', async () => {
  const hashUp = (nodes: Hex[]): Hex => {
    let level = nodes
    while (level.length > 1) {
      level = Array.from({ length: level.length / 2 }, (_, i) => {
        const [a, b] = [level[2 * i], level[2 * i + 1]].sort()
        return keccak256(concat([a, b]))
      })
    }
    return level[0]
  }
  for (const n of [1, 2, 3, 64, 100, 1001]) {
    const list = entries(n, n + 11)
    const tree = await LedgerTree.build(list)
    for (let depth = 0; 2 ** depth <= n; depth++) {
      const top = tree.tree.level(depth)
      assert.is(top.length, 2 ** depth)
      assert.is(hashUp(top), tree.root, `n=${n} depth=${depth}`)
      for (const e of list.slice(0, 20)) {
        const { proof, topIndex } = tree.proofToLevel(e.account, depth)
        assert.is(await processProof(abiLeaf(e), proof), top[topIndex])
        assert.equal(
          [...proof, ...(depth > 0 ? tree.proof(e.account).slice(proof.length) : [])],
          tree.proof(e.account),
        )
      }
    }
    assert.throws(() => tree.tree.level(Math.floor(Math.log2(n)) + 1), /no complete level/)
  }
})

test('a changed entry changes the root; proofs do not transfer between accounts', async () => {
  const list = entries(50, 9)
  const tree = await LedgerTree.build(list)
  const bumped = await LedgerTree.build(list.map((e, i) => (i === 10 ? { ...e, earned: e.earned + 1n } : e)))
  assert.is.not(tree.root, bumped.root)
  const other = { ...list[1], account: list[2].account }
  assert.is.not(await processProof(abiLeaf(other), tree.proof(list[1].account)), tree.root)
})

test('rejects bad input: empty tree, duplicate account, unknown account, negative amounts', async () => {
  const list = entries(3)
  await rejects(() => LedgerTree.build([]), /at least one leaf/)
  await rejects(() => LedgerTree.build([list[0], { ...list[0] }]), /duplicate/)
  await rejects(
    () => LedgerTree.build([list[0], { ...list[1], index: list[0].index }]),
    /duplicate ledger index/,
  )
  await rejects(() => LedgerTree.build([{ ...list[0], index: -1 }]), /index -1 out of range/)
  await rejects(() => LedgerTree.build([{ ...list[0], index: 2 ** 32 }]), /out of range/)
  await rejects(() => LedgerTree.build([{ ...list[0], earned: -1n }]), /out of range/)
  await rejects(() => LedgerTree.build([{ ...list[0], account: '0x1234' }]), /not an address/)
  const tree = await LedgerTree.build(list)
  assert.throws(() => tree.proof('0x000000000000000000000000000000000000dEaD'), /not in the ledger tree/)
})

test('100,000 accounts: builds, and sampled proofs verify against the root', async () => {
  const list = entries(100_000, 42)
  const started = performance.now()
  const tree = await LedgerTree.build(list)
  const ms = performance.now() - started
  console.log(`  built a 100,000-leaf ledger tree in ${ms.toFixed(0)} ms`)
  assert.is(tree.size, 100_000)
  for (const i of [0, 1, 777, 50_000, 99_999]) {
    const proof = tree.proof(list[i].account)
    assert.ok(proof.length >= 16 && proof.length <= 17)
    assert.is(await processProof(abiLeaf(list[i]), proof), tree.root)
  }
})

test.run()
