import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { decryptKey, encryptKey, KDF_BOUNDS, KeystoreError } from '../keystore.ts'

async function codeOf(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn()
  } catch (err) {
    assert.instance(err, KeystoreError)
    return (err as KeystoreError).code
  }
  assert.unreachable('expected a KeystoreError')
}

// The two test vectors of the Web3 Secret Storage Definition (ethereum.org, "Web3 secret storage
// definition", Test Vectors): password "testpassword", address 008aeeda4d805471df9b2a5b0f38a0c3bcba786b.
const VECTOR_SECRET = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d'
const VECTOR_ADDRESS = '0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b'
const PBKDF2_VECTOR = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: {
      c: 262144,
      dklen: 32,
      prf: 'hmac-sha256',
      salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
    },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}
const SCRYPT_VECTOR = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: {
      dklen: 32,
      n: 262144,
      p: 8,
      r: 1,
      salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19',
    },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}

const clone = <T>(x: T): T => structuredClone(x)

test('Web3 Secret Storage test vector: PBKDF2-SHA-256 (c = 2^18) decrypts to the published key', async () => {
  const key = await decryptKey(PBKDF2_VECTOR, 'testpassword')
  assert.is(key, VECTOR_SECRET)
  assert.is(privateKeyToAccount(key).address, VECTOR_ADDRESS)
})

test('Web3 Secret Storage test vector: scrypt (n = 2^18, r = 1, p = 8) decrypts to the published key', async () => {
  // n = 2^18 is the bound's ceiling (geth's standard n); n·r·p = 2^21 is exactly geth's standard work.
  assert.is(await decryptKey(SCRYPT_VECTOR, 'testpassword'), VECTOR_SECRET)
})

test('the test vectors with a wrong password fail the MAC', async () => {
  assert.is(await codeOf(() => decryptKey(PBKDF2_VECTOR, 'testpassword!')), 'KEYSTORE_WRONG_PASSWORD')
})

test('v3 keystore round-trips and records the address; our own parameters are within the bounds', async () => {
  const key = generatePrivateKey()
  const ks = encryptKey(key, 'correct horse')
  assert.is(`0x${ks.address}`, privateKeyToAccount(key).address.toLowerCase())
  assert.is(await decryptKey(JSON.parse(JSON.stringify(ks)), 'correct horse'), key)
  const { n, r, p } = ks.crypto.kdfparams
  assert.ok(
    n >= KDF_BOUNDS.scrypt.minN && n <= KDF_BOUNDS.scrypt.maxN && n * r * p <= KDF_BOUNDS.scrypt.maxWork,
  )
})

test('a wrong password is caught by the MAC, never yields a wrong key', async () => {
  const ks = encryptKey(generatePrivateKey(), 'right')
  assert.is(await codeOf(() => decryptKey(ks, 'wrong')), 'KEYSTORE_WRONG_PASSWORD')
})

test('a tampered ciphertext fails the MAC check', async () => {
  const ks = encryptKey(generatePrivateKey(), 'pw')
  const flipped = (Number.parseInt(ks.crypto.ciphertext[0]!, 16) ^ 1).toString(16)
  ks.crypto.ciphertext = flipped + ks.crypto.ciphertext.slice(1)
  assert.is(await codeOf(() => decryptKey(ks, 'pw')), 'KEYSTORE_WRONG_PASSWORD')
})

test('something that is not a keystore is refused', async () => {
  assert.is(await codeOf(() => decryptKey({ version: 1 }, 'pw')), 'KEYSTORE_INVALID')
  assert.is(await codeOf(() => decryptKey(null, 'pw')), 'KEYSTORE_INVALID')
  const shortIv = clone(SCRYPT_VECTOR)
  shortIv.crypto.cipherparams.iv = 'abcd'
  assert.is(await codeOf(() => decryptKey(shortIv, 'testpassword')), 'KEYSTORE_INVALID')
  const noN = clone(SCRYPT_VECTOR) as { crypto: { kdfparams: Record<string, unknown> } }
  delete noN.crypto.kdfparams.n
  assert.is(await codeOf(() => decryptKey(noN, 'testpassword')), 'KEYSTORE_INVALID')
})

test('KDF parameters outside the bounds are refused before the KDF runs', async () => {
  // Each of these would, if run, exhaust memory (n = 2^30: 128 GiB), take minutes, or weaken the MAC.
  // They are refused with KEYSTORE_KDF_BOUNDS and the field named; none reaches scrypt or pbkdf2.
  const cases: [string, (ks: typeof SCRYPT_VECTOR) => void][] = [
    ['n', (ks) => (ks.crypto.kdfparams.n = 1 << 30)],
    ['n', (ks) => (ks.crypto.kdfparams.n = (1 << 18) + 1)],
    ['n', (ks) => (ks.crypto.kdfparams.n = 3 << 10)], // not a power of two
    ['n', (ks) => (ks.crypto.kdfparams.n = 1 << 4)], // too weak
    ['r', (ks) => (ks.crypto.kdfparams.r = 1024)],
    ['p', (ks) => (ks.crypto.kdfparams.p = 1 << 20)],
    [
      'p',
      (ks) => {
        ks.crypto.kdfparams.r = 8
        ks.crypto.kdfparams.p = 16 // n·r·p = 2^25, 16 times geth's standard work
      },
    ],
    ['dklen', (ks) => (ks.crypto.kdfparams.dklen = 16)], // MAC keyed with no bytes of its own
    ['dklen', (ks) => (ks.crypto.kdfparams.dklen = 1 << 20)],
    ['salt', (ks) => (ks.crypto.kdfparams.salt = 'ab')],
  ]
  for (const [field, mutate] of cases) {
    const ks = clone(SCRYPT_VECTOR)
    mutate(ks)
    try {
      await decryptKey(ks, 'testpassword')
      assert.unreachable(JSON.stringify(ks.crypto.kdfparams))
    } catch (err) {
      assert.instance(err, KeystoreError)
      assert.is((err as KeystoreError).code, 'KEYSTORE_KDF_BOUNDS', JSON.stringify(ks.crypto.kdfparams))
      assert.is((err as KeystoreError).type.field, field)
    }
  }
  const hugeC = clone(PBKDF2_VECTOR)
  hugeC.crypto.kdfparams.c = 1e9
  assert.is(await codeOf(() => decryptKey(hugeC, 'testpassword')), 'KEYSTORE_KDF_BOUNDS')
})

test('only aes-128-ctr, scrypt and pbkdf2 with hmac-sha256 are accepted', async () => {
  const cipher = clone(SCRYPT_VECTOR)
  cipher.crypto.cipher = 'aes-128-cbc'
  assert.is(await codeOf(() => decryptKey(cipher, 'testpassword')), 'KEYSTORE_UNSUPPORTED')
  const kdf = clone(SCRYPT_VECTOR)
  kdf.crypto.kdf = 'argon2id'
  assert.is(await codeOf(() => decryptKey(kdf, 'testpassword')), 'KEYSTORE_UNSUPPORTED')
  const prf = clone(PBKDF2_VECTOR)
  prf.crypto.kdfparams.prf = 'hmac-sha1'
  assert.is(await codeOf(() => decryptKey(prf, 'testpassword')), 'KEYSTORE_UNSUPPORTED')
})

test.run()
