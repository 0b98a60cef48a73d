// Capacity records: sign → wire → decode → verify round trip, and every way a record is refused, each
// with its code. viem's own typed-data recovery is the reference for the digest.
import '../../common/polyfills.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { bytesToHex, recoverTypedDataAddress } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import {
  CAPACITY_DECODE_LIMITS,
  capacityDigest,
  capacityPeerSignaturePayload,
  capacityRecordTypes,
  checkCapacityRecord,
  decodeCapacityRecord,
  encodeCapacityRecord,
  offers,
  signCapacityRecord,
  supersedes,
  toCapacityPb,
  verifyCapacityRecord,
} from '../capacity-record.ts'
import { CAPACITY_MAX_GPUS, CAPACITY_MAX_MODELS } from '../constants.ts'
import { CapacityRecord as CapacityRecordPb } from '../pb/capacity.ts'
import { domain, hardware, type Identity, identity, offer, recordFor, rejects } from './fixtures.ts'

const test = suite<{ id: Identity; other: Identity }>('capacity record')

test.before(async (ctx) => {
  ctx.id = await identity()
  ctx.other = await identity()
})

test('a signed record survives the wire and verifies to its account', async ({ id }) => {
  const record = recordFor(id, {
    models: [
      offer(1n),
      offer(1n, 7n, { warm: false, tokensPerSec: 0 }),
      offer((1n << 256n) - 1n, (1n << 255n) + 3n, { priceIn: 0n, priceOut: (1n << 256n) - 1n }),
    ],
    sequence: (1n << 64n) - 1n,
  })
  const signed = await signCapacityRecord(record, { account: id.account, peerKey: id.peerKey, domain })
  assert.is(signed.signature.length, 65)
  assert.is(signed.peerSignature.length, 64)
  const decoded = decodeCapacityRecord(encodeCapacityRecord(signed))
  assert.equal(decoded.record, record)
  assert.equal(decoded.signature, signed.signature)
  const signer = await verifyCapacityRecord(decoded.record, decoded, { domain, expectedPeerId: id.peerId })
  assert.is(signer, id.account.address)

  // the digest is EIP-712 as viem computes it
  const viemSigner = await recoverTypedDataAddress({
    domain,
    types: capacityRecordTypes,
    primaryType: 'CapacityRecord',
    message: {
      ...record,
      state: 1,
      issuedAt: BigInt(record.issuedAt),
      expiresAt: BigInt(record.expiresAt),
    },
    signature: bytesToHex(signed.signature),
  })
  assert.is(viemSigner, id.account.address)
  assert.ok(offers(record, 1n, 7n))
  assert.not.ok(offers(record, 1n, 8n))
})

test('a higher sequence supersedes', ({ id }) => {
  const a = recordFor(id, { sequence: 5n })
  assert.ok(supersedes(recordFor(id, { sequence: 6n }), a))
  assert.not.ok(supersedes(recordFor(id, { sequence: 5n }), a))
  assert.ok(supersedes(a, undefined))
})

test('a record is not signed for another account or another PeerId', async ({ id, other }) => {
  try {
    await signCapacityRecord(recordFor(id), { account: other.account, peerKey: id.peerKey, domain })
    assert.unreachable()
  } catch (err) {
    assert.instance(err, RangeError)
  }
  try {
    await signCapacityRecord(recordFor(id), { account: id.account, peerKey: other.peerKey, domain })
    assert.unreachable()
  } catch (err) {
    assert.instance(err, RangeError)
  }
})

test('CAPACITY_BAD_SIGNATURE: the account signature is by someone else, or mangled', async ({
  id,
  other,
}) => {
  const record = recordFor(id)
  const signed = await signCapacityRecord(record, { account: id.account, peerKey: id.peerKey, domain })
  // A forger holding the PeerId's key but not the account signs the account's part with its own key.
  const forged = await other.account.signTypedData({
    domain,
    types: capacityRecordTypes,
    primaryType: 'CapacityRecord',
    message: {
      ...record,
      state: 1,
      issuedAt: BigInt(record.issuedAt),
      expiresAt: BigInt(record.expiresAt),
    },
  })
  await rejects(
    () =>
      verifyCapacityRecord(record, { ...signed, signature: Buffer.from(forged.slice(2), 'hex') }, { domain }),
    'CAPACITY_BAD_SIGNATURE',
  )
  const flipped = Uint8Array.from(signed.signature)
  flipped[10]! ^= 1
  await rejects(
    () => verifyCapacityRecord(record, { ...signed, signature: flipped }, { domain }),
    'CAPACITY_BAD_SIGNATURE',
  )
  await rejects(
    () =>
      verifyCapacityRecord(record, { ...signed, signature: signed.signature.subarray(0, 64) }, { domain }),
    'CAPACITY_BAD_SIGNATURE',
  )
  // signed under another domain (another chain): the digest differs, so nothing verifies
  await rejects(
    () => verifyCapacityRecord(record, signed, { domain: { ...domain, chainId: 1 } }),
    'CAPACITY_BAD_PEER_SIGNATURE',
  )
})

test('CAPACITY_BAD_PEER_SIGNATURE: the libp2p signature is by another key, or the record was changed', async ({
  id,
  other,
}) => {
  const record = recordFor(id)
  const signed = await signCapacityRecord(record, { account: id.account, peerKey: id.peerKey, domain })
  const forged = await other.peerKey.sign(capacityPeerSignaturePayload(capacityDigest(record, domain)))
  await rejects(
    () => verifyCapacityRecord(record, { ...signed, peerSignature: forged }, { domain }),
    'CAPACITY_BAD_PEER_SIGNATURE',
  )
  // a cheaper price written over a signed record
  const cheaper = { ...record, models: [offer(1n, 0n, { priceIn: 1n, priceOut: 1n })] }
  await rejects(() => verifyCapacityRecord(cheaper, signed, { domain }), 'CAPACITY_BAD_PEER_SIGNATURE')
  // An account holder claims a PeerId it does not hold: it can sign the account part, not the PeerId's.
  const claimed = recordFor(id, { peerId: other.peerId })
  const accountSig = await id.account.signTypedData({
    domain,
    types: capacityRecordTypes,
    primaryType: 'CapacityRecord',
    message: {
      ...claimed,
      state: 1,
      issuedAt: BigInt(claimed.issuedAt),
      expiresAt: BigInt(claimed.expiresAt),
    },
  })
  const ownPeerSig = await id.peerKey.sign(capacityPeerSignaturePayload(capacityDigest(claimed, domain)))
  await rejects(
    () =>
      verifyCapacityRecord(
        claimed,
        { signature: Buffer.from(accountSig.slice(2), 'hex'), peerSignature: ownPeerSig },
        { domain },
      ),
    'CAPACITY_BAD_PEER_SIGNATURE',
  )
})

test('CAPACITY_PEER_MISMATCH: a valid record replayed by another peer', async ({ id, other }) => {
  const signed = await signCapacityRecord(recordFor(id), { account: id.account, peerKey: id.peerKey, domain })
  await rejects(
    () => verifyCapacityRecord(signed.record, signed, { domain, expectedPeerId: other.peerId }),
    'CAPACITY_PEER_MISMATCH',
  )
  const otherPeerId = peerIdFromPrivateKey(other.peerKey)
  await rejects(
    () => verifyCapacityRecord(signed.record, signed, { domain, expectedPeerId: otherPeerId }),
    'CAPACITY_PEER_MISMATCH',
  )
})

test('CAPACITY_EXPIRED and CAPACITY_FUTURE, with the clock skew allowed on issue only', async ({ id }) => {
  const record = recordFor(id)
  const signed = await signCapacityRecord(record, { account: id.account, peerKey: id.peerKey, domain })
  await rejects(
    () => verifyCapacityRecord(record, signed, { domain, now: record.expiresAt * 1000 }),
    'CAPACITY_EXPIRED',
  )
  assert.is(
    await verifyCapacityRecord(record, signed, { domain, now: record.expiresAt * 1000 - 1 }),
    id.account.address,
  )
  await rejects(
    () => verifyCapacityRecord(record, signed, { domain, now: record.issuedAt * 1000 - 60_001 }),
    'CAPACITY_FUTURE',
  )
  assert.is(
    await verifyCapacityRecord(record, signed, { domain, now: record.issuedAt * 1000 - 59_000 }),
    id.account.address,
  )
})

test('CAPACITY_OVERSIZED: too many models or GPUs, strings too long', async ({ id }) => {
  const many = Array.from({ length: CAPACITY_MAX_MODELS + 1 }, (_, i) => offer(BigInt(i + 1)))
  await rejects(() => checkCapacityRecord(recordFor(id, { models: many })), 'CAPACITY_OVERSIZED')
  checkCapacityRecord(recordFor(id, { models: many.slice(0, CAPACITY_MAX_MODELS) }))
  const gpus = Array.from({ length: CAPACITY_MAX_GPUS + 1 }, () => ({ name: 'GPU', memoryMiB: 1 }))
  await rejects(
    () => checkCapacityRecord(recordFor(id, { hardware: { ...hardware, gpus } })),
    'CAPACITY_OVERSIZED',
  )
  await rejects(
    () => checkCapacityRecord(recordFor(id, { hardware: { ...hardware, cpuModel: 'x'.repeat(129) } })),
    'CAPACITY_OVERSIZED',
  )
  // 64 two-byte characters is 128 bytes: fine; one more is not
  checkCapacityRecord(recordFor(id, { hardware: { ...hardware, cpuModel: 'é'.repeat(64) } }))
  await rejects(
    () => checkCapacityRecord(recordFor(id, { hardware: { ...hardware, cpuModel: 'é'.repeat(65) } })),
    'CAPACITY_OVERSIZED',
  )
  // and the signing side refuses to make one
  await rejects(
    () =>
      signCapacityRecord(recordFor(id, { models: many }), {
        account: id.account,
        peerKey: id.peerKey,
        domain,
      }),
    'CAPACITY_OVERSIZED',
  )
  // On the wire, the list bound stops the decoder itself.
  const signed = await signCapacityRecord(recordFor(id), { account: id.account, peerKey: id.peerKey, domain })
  const pb = toCapacityPb(signed)
  const bytes = CapacityRecordPb.encode({ ...pb, models: many.map(() => pb.models[0]!) })
  await rejects(() => decodeCapacityRecord(bytes), 'CAPACITY_OVERSIZED')
  const gpuBytes = CapacityRecordPb.encode({
    ...pb,
    hardware: { ...pb.hardware!, gpus: gpus.map((g) => ({ ...g })) },
  })
  await rejects(() => decodeCapacityRecord(gpuBytes), 'CAPACITY_OVERSIZED')
  assert.equal(CAPACITY_DECODE_LIMITS, { models: CAPACITY_MAX_MODELS, hardware: { gpus: CAPACITY_MAX_GPUS } })
})

test('CAPACITY_MALFORMED: protobuf that does not decode, fields out of range', async ({ id }) => {
  const signed = await signCapacityRecord(recordFor(id), { account: id.account, peerKey: id.peerKey, domain })
  const bytes = encodeCapacityRecord(signed)
  await rejects(() => decodeCapacityRecord(bytes.subarray(0, bytes.length - 5)), 'CAPACITY_MALFORMED')
  await rejects(
    () => decodeCapacityRecord(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff])),
    'CAPACITY_MALFORMED',
  )
  const pb = toCapacityPb(signed)
  await rejects(
    () => decodeCapacityRecord(CapacityRecordPb.encode({ ...pb, account: pb.account.subarray(1) })),
    'CAPACITY_MALFORMED',
  )
  await rejects(
    () => decodeCapacityRecord(CapacityRecordPb.encode({ ...pb, state: 3 })),
    'CAPACITY_MALFORMED',
  )
  await rejects(
    () => decodeCapacityRecord(CapacityRecordPb.encode({ ...pb, hardware: undefined })),
    'CAPACITY_MALFORMED',
  )
  // uint256 only in minimal form, so one signed record has one wire form
  const padded = { ...pb.models[0]!, priceIn: Uint8Array.from([0, ...pb.models[0]!.priceIn]) }
  await rejects(
    () => decodeCapacityRecord(CapacityRecordPb.encode({ ...pb, models: [padded] })),
    'CAPACITY_MALFORMED',
  )
  const wide = { ...pb.models[0]!, modelId: new Uint8Array(33).fill(1) }
  await rejects(
    () => decodeCapacityRecord(CapacityRecordPb.encode({ ...pb, models: [wide] })),
    'CAPACITY_MALFORMED',
  )
  // the same model twice, a lifetime over 10 minutes, an expiry before issue, a bad PeerId
  await rejects(
    () => checkCapacityRecord(recordFor(id, { models: [offer(1n), offer(1n)] })),
    'CAPACITY_MALFORMED',
  )
  const r = recordFor(id)
  await rejects(() => checkCapacityRecord({ ...r, expiresAt: r.issuedAt + 601 }), 'CAPACITY_MALFORMED')
  await rejects(() => checkCapacityRecord({ ...r, expiresAt: r.issuedAt }), 'CAPACITY_MALFORMED')
  await rejects(() => checkCapacityRecord({ ...r, queueDepth: 2 ** 32 }), 'CAPACITY_MALFORMED')
  await rejects(
    () => checkCapacityRecord({ ...r, hardware: { ...hardware, cpuCores: 70_000 } }),
    'CAPACITY_MALFORMED',
  )
  await rejects(
    () => verifyCapacityRecord({ ...r, peerId: 'not-a-peer-id' }, signed, { domain }),
    'CAPACITY_MALFORMED',
  )
  // an RSA-style PeerId that does not embed its key cannot be checked
  const rsaLike = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'
  await rejects(
    () => verifyCapacityRecord({ ...r, peerId: rsaLike }, signed, { domain }),
    'CAPACITY_MALFORMED',
  )
})

test('a secp256k1 PeerId binds as well as an ed25519 one', async () => {
  const peerKey = await generateKeyPair('secp256k1')
  const account = privateKeyToAccount(generatePrivateKey())
  const id = { account, peerKey, peerId: peerIdFromPrivateKey(peerKey).toString() }
  const signed = await signCapacityRecord(recordFor(id), { account, peerKey, domain })
  const decoded = decodeCapacityRecord(encodeCapacityRecord(signed))
  assert.is(await verifyCapacityRecord(decoded.record, decoded, { domain }), account.address)
})

test.run()
