// The fast EIP-712 hasher against viem's hashTypedData, over random messages of every struct we sign, and
// the native recovery path against viem's signer.
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bytesToHex, getAddress, hashTypedData, type TypedDataDomain } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { contributionTypes } from '../../datanet/contribution.ts'
import { nodeStatusTypes } from '../../status/signing.ts'
import { checksumAddress, recoverDigestSigner, recoverTypedDataSigner } from '../signatures.ts'
import { createTypedDataHasher, keccak256Bytes, TypedDataHashError } from '../typed-data-hasher.ts'

const domain: TypedDataDomain = {
  name: 'OpenLedger',
  version: '1',
  chainId: 31337,
  verifyingContract: getAddress(bytesToHex(randomBytes(20))),
}

function int(max: number): number {
  return Math.floor(Math.random() * max)
}
function text(): string {
  const alphabet = 'abcxyz019 ./-_éß漢字🙂'
  const chars = Array.from(alphabet)
  return Array.from({ length: int(80) }, () => chars[int(chars.length)]).join('')
}
function uint(bits: number): bigint {
  const edge = [0n, 1n, (1n << BigInt(bits)) - 1n]
  if (Math.random() < 0.1) return edge[int(edge.length)]!
  return BigInt(bytesToHex(randomBytes(bits / 8))) >> BigInt(int(bits))
}
function address() {
  return getAddress(bytesToHex(randomBytes(20)))
}

const N = 500

test('Contribution digests equal viem hashTypedData over random messages', () => {
  const hasher = createTypedDataHasher(domain, contributionTypes, 'Contribution')
  for (let i = 0; i < N; i++) {
    const message = {
      datanetId: uint(256),
      contentCid: text(),
      name: text(),
      bytes: uint(64),
      license: text(),
      contributor: address(),
      createdAt: uint(64),
    }
    const expected = hashTypedData({ domain, types: contributionTypes, primaryType: 'Contribution', message })
    assert.is(bytesToHex(hasher(message)), expected, `message ${i}`)
  }
})

test('NodeStatus digests equal viem hashTypedData over random messages (addresses as hex or bytes)', () => {
  const hasher = createTypedDataHasher(domain, nodeStatusTypes, 'NodeStatus')
  for (let i = 0; i < N; i++) {
    const message = {
      peerId: text(),
      account: address(),
      version: text(),
      apiUrl: text(),
      timestamp: uint(64),
    }
    const expected = hashTypedData({ domain, types: nodeStatusTypes, primaryType: 'NodeStatus', message })
    assert.is(bytesToHex(hasher(message)), expected)
    const asBytes = { ...message, account: Buffer.from(message.account.slice(2), 'hex') }
    assert.is(bytesToHex(hasher(asBytes)), expected)
    assert.is(
      bytesToHex(hasher({ ...message, timestamp: Number(message.timestamp % 2n ** 53n) })),
      hashTypedData({
        domain,
        types: nodeStatusTypes,
        primaryType: 'NodeStatus',
        message: { ...message, timestamp: message.timestamp % 2n ** 53n },
      }),
    )
  }
})

test('another domain gives another digest', () => {
  const message = { peerId: 'p', account: address(), version: 'v', apiUrl: 'u', timestamp: 1n }
  const a = createTypedDataHasher(domain, nodeStatusTypes, 'NodeStatus')(message)
  const b = createTypedDataHasher({ ...domain, chainId: 1 }, nodeStatusTypes, 'NodeStatus')(message)
  assert.is.not(bytesToHex(a), bytesToHex(b))
})

test('out-of-range and ill-typed fields throw instead of hashing something else', () => {
  const hasher = createTypedDataHasher(domain, nodeStatusTypes, 'NodeStatus')
  const ok = { peerId: 'p', account: address(), version: 'v', apiUrl: 'u', timestamp: 1n }
  for (const bad of [
    { ...ok, timestamp: 1n << 64n },
    { ...ok, timestamp: -1n },
    { ...ok, timestamp: 1.5 },
    { ...ok, account: '0x1234' },
    { ...ok, account: 'not hex' },
    { ...ok, peerId: 7 },
  ])
    assert.throws(
      () => hasher(bad),
      (e: unknown) => e instanceof TypedDataHashError,
    )
  assert.throws(
    () => createTypedDataHasher(domain, { S: [{ name: 'xs', type: 'uint256[]' }] }, 'S'),
    (e: unknown) => (e as TypedDataHashError).code === 'UNSUPPORTED_TYPE',
  )
})

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

test('native recovery and hash-wasm checksums agree with viem', async () => {
  for (let i = 0; i < 50; i++) {
    const account = privateKeyToAccount(generatePrivateKey())
    const message = {
      peerId: text(),
      account: account.address,
      version: text(),
      apiUrl: text(),
      timestamp: uint(64),
    }
    const params = { domain, types: nodeStatusTypes, primaryType: 'NodeStatus' as const, message }
    const signature = await account.signTypedData(params)
    const sig = Buffer.from(signature.slice(2), 'hex')
    const digest = createTypedDataHasher(domain, nodeStatusTypes, 'NodeStatus')(message)
    assert.is(recoverDigestSigner(digest, sig), account.address)
    assert.is(recoverTypedDataSigner(params, signature), account.address)
    assert.is(checksumAddress(Buffer.from(account.address.slice(2), 'hex')), account.address)
    const flipped = Uint8Array.from(sig)
    flipped[64] = 5
    assert.is(recoverDigestSigner(digest, flipped), undefined)
    // The other byte forms that libsecp256k1 alone would recover to the same signer are refused.
    const bareRecoveryId = Uint8Array.from(sig)
    bareRecoveryId[64] = sig[64]! - 27
    assert.is(recoverDigestSigner(digest, bareRecoveryId), undefined, 'v = 0/1')
    const mirrored = Uint8Array.from(sig)
    const s = BigInt(`0x${Buffer.from(sig.subarray(32, 64)).toString('hex')}`)
    mirrored.set(Buffer.from((SECP256K1_N - s).toString(16).padStart(64, '0'), 'hex'), 32)
    mirrored[64] = sig[64] === 27 ? 28 : 27
    assert.is(recoverDigestSigner(digest, mirrored), undefined, 'high s')
  }
  assert.is(
    bytesToHex(keccak256Bytes(new Uint8Array())),
    '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
  )
})

test.run()
