import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { decryptKey, encryptKey, KeystoreError } from '../keystore.ts'

test('v3 keystore round-trips and records the address', () => {
  const key = generatePrivateKey()
  const ks = encryptKey(key, 'correct horse')
  assert.is(`0x${ks.address}`, privateKeyToAccount(key).address.toLowerCase())
  assert.is(decryptKey(JSON.parse(JSON.stringify(ks)), 'correct horse'), key)
})

test('a wrong password is caught by the MAC, never yields a wrong key', () => {
  const ks = encryptKey(generatePrivateKey(), 'right')
  try {
    decryptKey(ks, 'wrong')
    assert.unreachable()
  } catch (err) {
    assert.instance(err, KeystoreError)
    assert.is((err as KeystoreError).code, 'KEYSTORE_WRONG_PASSWORD')
  }
})

test('a tampered ciphertext fails the MAC check', () => {
  const ks = encryptKey(generatePrivateKey(), 'pw')
  const flipped = (Number.parseInt(ks.crypto.ciphertext[0]!, 16) ^ 1).toString(16)
  ks.crypto.ciphertext = flipped + ks.crypto.ciphertext.slice(1)
  assert.throws(
    () => decryptKey(ks, 'pw'),
    (err: unknown) => (err as KeystoreError).code === 'KEYSTORE_WRONG_PASSWORD',
  )
})

test('something that is not a keystore is refused', () => {
  assert.throws(
    () => decryptKey({ version: 1 }, 'pw'),
    (err: unknown) => (err as KeystoreError).code === 'KEYSTORE_INVALID',
  )
})

test.run()
