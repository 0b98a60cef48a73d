// Receipts: the precomputed EIP-712 hasher equals viem's over random receipts (nested authorization,
// attribution arrays of every length); signatures verify with the native recovery and fail for every
// tampered field; the static rules (order, weights, fee, deadline, output hash, bounds) refuse with their
// codes; the wire form round-trips and refuses junk, oversized and non-minimal input.
import '../../common/polyfills.ts'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bytesToHex, hashTypedData } from 'viem'
import { uint256ToBytes } from '../../common/bytes.ts'
import { SignedReceipt as SignedReceiptPb } from '../pb/receipt.ts'
import {
  checkReceipt,
  feeFor,
  MAX_RECEIPT_OUTPUT_BYTES,
  MAX_RECEIPT_SHARES,
  outputHashOf,
  priceFee,
  ReceiptError,
  receiptHasher,
  receiptTypes,
  type SignedReceipt,
  signReceipt,
  verifyReceiptSignatures,
} from '../receipt.ts'
import { decodeReceipt, encodeReceipt, RECEIPT_MAX_BYTES } from '../receipt-wire.ts'
import { account, domain, makeReceipt } from './fixtures.ts'

const client = account()
const node = account()

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
    return undefined
  } catch (err) {
    assert.instance(err, ReceiptError)
    return (err as ReceiptError).code
  }
}

test('the precomputed hasher equals viem over random receipts', async () => {
  for (let n = 0; n <= MAX_RECEIPT_SHARES; n += 4) {
    const attribution = Array.from({ length: n }, (_, i) => ({
      datanetId: BigInt(1 + (i >> 3)),
      version: BigInt(i % 3),
      contributionIndex: BigInt(i * 977),
      weightPpm: 1 + ((i * 7919) % 30_000),
    }))
    const { receipt } = await makeReceipt({ client, node, attribution, fee: BigInt(n) * 10n ** 17n + 1n })
    const viem = hashTypedData({ domain, types: receiptTypes, primaryType: 'Receipt', message: receipt })
    assert.is(bytesToHex(receiptHasher(domain)(receipt as never)), viem, `${n} shares`)
  }
})

test('both signatures verify; each tampered field or a wrong signer fails', async () => {
  const signed = await makeReceipt({ client, node })
  checkReceipt(signed)
  verifyReceiptSignatures(signed, domain)
  const tampered: Array<[string, SignedReceipt, string]> = [
    [
      'fee',
      { ...signed, receipt: { ...signed.receipt, fee: signed.receipt.fee + 1n } },
      'RECEIPT_BAD_NODE_SIGNATURE',
    ],
    [
      'a weight',
      {
        ...signed,
        receipt: {
          ...signed.receipt,
          attribution: signed.receipt.attribution.map((s, i) =>
            i === 0 ? { ...s, weightPpm: s.weightPpm + 1 } : s,
          ),
        },
      },
      'RECEIPT_BAD_NODE_SIGNATURE',
    ],
    [
      'maxFee',
      {
        ...signed,
        receipt: {
          ...signed.receipt,
          authorization: {
            ...signed.receipt.authorization,
            maxFee: signed.receipt.authorization.maxFee + 1n,
          },
        },
      },
      'RECEIPT_BAD_CLIENT_SIGNATURE',
    ],
    ['another domain', signed, 'RECEIPT_BAD_CLIENT_SIGNATURE'],
  ]
  for (const [what, receipt, code] of tampered) {
    const d = what === 'another domain' ? { ...domain, chainId: 1 } : domain
    assert.is(
      codeOf(() => verifyReceiptSignatures(receipt, d)),
      code,
      what,
    )
  }
  // signed by a node that is not the authorization's: refused when signing, and when forged
  const other = account()
  const forged = await other.signTypedData({
    domain,
    types: receiptTypes,
    primaryType: 'Receipt',
    message: signed.receipt,
  })
  assert.is(
    codeOf(() => verifyReceiptSignatures({ ...signed, nodeSignature: forged }, domain)),
    'RECEIPT_BAD_NODE_SIGNATURE',
  )
  try {
    await signReceipt(signed.receipt, signed.output, other, domain)
    assert.unreachable()
  } catch (err) {
    assert.is((err as ReceiptError).code, 'RECEIPT_MALFORMED')
  }
})

test('the static rules refuse with their codes', async () => {
  const signed = await makeReceipt({ client, node })
  const r = signed.receipt
  const withReceipt = (change: object): SignedReceipt => ({ ...signed, receipt: { ...r, ...change } })
  const [a, b, c] = r.attribution as [never, never, never]
  assert.is(
    codeOf(() => checkReceipt(withReceipt({ attribution: [b, a, c] }))),
    'RECEIPT_MALFORMED',
    'unsorted',
  )
  assert.is(
    codeOf(() => checkReceipt(withReceipt({ attribution: [a, a] }))),
    'RECEIPT_MALFORMED',
    'a share twice',
  )
  assert.is(
    codeOf(() =>
      checkReceipt(
        withReceipt({
          attribution: [
            { datanetId: 1n, version: 1n, contributionIndex: 1n, weightPpm: 600_000 },
            { datanetId: 1n, version: 1n, contributionIndex: 2n, weightPpm: 400_001 },
          ],
        }),
      ),
    ),
    'RECEIPT_MALFORMED',
    'weights over 1,000,000',
  )
  assert.is(
    codeOf(() => checkReceipt(withReceipt({ attribution: [{ ...(a as object), weightPpm: 0 }] }))),
    'RECEIPT_MALFORMED',
    'a zero weight',
  )
  assert.is(
    codeOf(() =>
      checkReceipt(
        withReceipt({
          attribution: Array.from({ length: MAX_RECEIPT_SHARES + 1 }, (_, i) => ({
            datanetId: 1n,
            version: 0n,
            contributionIndex: BigInt(i),
            weightPpm: 1,
          })),
        }),
      ),
    ),
    'RECEIPT_MALFORMED',
    'too many shares',
  )
  assert.is(
    codeOf(() => checkReceipt(withReceipt({ attributionParams: 'Not An Id!' }))),
    'RECEIPT_MALFORMED',
  )
  assert.is(
    codeOf(() => checkReceipt(withReceipt({ fee: r.authorization.maxFee + 1n }))),
    'RECEIPT_FEE_ABOVE_MAX',
  )
  assert.is(
    codeOf(() => checkReceipt(withReceipt({ servedAt: r.authorization.deadline + 1n }))),
    'RECEIPT_SERVED_AFTER_DEADLINE',
  )
  assert.is(
    codeOf(() => checkReceipt({ ...signed, output: `${signed.output}!` })),
    'RECEIPT_OUTPUT_MISMATCH',
  )
  const huge = 'x'.repeat(MAX_RECEIPT_OUTPUT_BYTES + 1)
  assert.is(
    codeOf(() =>
      checkReceipt({ ...signed, output: huge, receipt: { ...r, outputHash: outputHashOf(huge) } }),
    ),
    'RECEIPT_MALFORMED',
  )
})

test('fees: prices per 1,000 tokens rounded down, capped by maxFee', () => {
  const prices = { priceIn: 1_000n, priceOut: 3_001n }
  assert.is(priceFee(prices, 3, 1), (3_000n + 3_001n) / 1000n)
  assert.is(priceFee(prices, 0, 0), 0n)
  assert.is(feeFor(prices, 1000, 1000, 10n ** 18n), 4_001n)
  assert.is(feeFor(prices, 1000, 1000, 100n), 100n)
})

test('the wire form round-trips; junk, oversized and non-minimal input is RECEIPT_MALFORMED', async () => {
  const signed = await makeReceipt({ client, node, output: 'Ünïcode ✓ output' })
  const decoded = decodeReceipt(encodeReceipt(signed))
  assert.equal(decoded, signed)
  verifyReceiptSignatures(decoded, domain)
  assert.is(
    codeOf(() => decodeReceipt(new Uint8Array([0xff, 0xff, 0xff, 0x01]))),
    'RECEIPT_MALFORMED',
  )
  assert.is(
    codeOf(() => decodeReceipt(new Uint8Array(RECEIPT_MAX_BYTES + 1))),
    'RECEIPT_MALFORMED',
  )
  const pb = SignedReceiptPb.decode(encodeReceipt(signed))
  const withLeadingZero = SignedReceiptPb.encode({ ...pb, fee: Uint8Array.of(0, ...uint256ToBytes(5n)) })
  assert.is(
    codeOf(() => decodeReceipt(withLeadingZero)),
    'RECEIPT_MALFORMED',
  )
  const shortClient = SignedReceiptPb.encode({
    ...pb,
    authorization: { ...pb.authorization!, client: new Uint8Array(19) },
  })
  assert.is(
    codeOf(() => decodeReceipt(shortClient)),
    'RECEIPT_MALFORMED',
  )
  const noAuthorization = SignedReceiptPb.encode({ ...pb, authorization: undefined })
  assert.is(
    codeOf(() => decodeReceipt(noAuthorization)),
    'RECEIPT_MALFORMED',
  )
})

test.run()
