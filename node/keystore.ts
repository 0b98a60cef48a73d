// Ethereum account key storage. Without a password the key is kept as hex in a 0600 file (a dev node);
// with one it is a Web3 Secret Storage v3 keystore (scrypt + aes-128-ctr, keccak256 MAC), the format
// geth, Lodestar and MetaMask import, so an operator can move the account to any wallet.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, scryptSync } from 'node:crypto'
import { bytesToHex, type Hex, hexToBytes, keccak256 } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { OpenLedgerError } from '../protocols/common/errors.ts'

export class KeystoreError extends OpenLedgerError<{
  code: 'KEYSTORE_INVALID' | 'KEYSTORE_WRONG_PASSWORD'
}> {}

const SCRYPT = { n: 1 << 14, r: 8, p: 1, dklen: 32 }

interface KeystoreV3 {
  version: 3
  id: string
  address: string
  crypto: {
    cipher: 'aes-128-ctr'
    ciphertext: string
    cipherparams: { iv: string }
    kdf: 'scrypt'
    kdfparams: { n: number; r: number; p: number; dklen: number; salt: string }
    mac: string
  }
}

function strip0x(hex: string): string {
  return hex.startsWith('0x') ? hex.slice(2) : hex
}

function mac(derived: Buffer, ciphertext: Buffer): string {
  return strip0x(keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext])))
}

export function encryptKey(privateKey: Hex, password: string): KeystoreV3 {
  const salt = randomBytes(32)
  const iv = randomBytes(16)
  const derived = scryptSync(password.normalize('NFKC'), salt, SCRYPT.dklen, {
    N: SCRYPT.n,
    r: SCRYPT.r,
    p: SCRYPT.p,
  })
  const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv)
  const ciphertext = Buffer.concat([cipher.update(hexToBytes(privateKey)), cipher.final()])
  return {
    version: 3,
    id: randomUUID(),
    address: strip0x(privateKeyToAccount(privateKey).address).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      ciphertext: ciphertext.toString('hex'),
      cipherparams: { iv: iv.toString('hex') },
      kdf: 'scrypt',
      kdfparams: { ...SCRYPT, salt: salt.toString('hex') },
      mac: mac(derived, ciphertext),
    },
  }
}

export function decryptKey(keystore: unknown, password: string): Hex {
  const ks = keystore as Partial<KeystoreV3>
  const c = ks?.crypto
  if (
    ks?.version !== 3 ||
    c?.kdf !== 'scrypt' ||
    c.cipher !== 'aes-128-ctr' ||
    !c.kdfparams ||
    !c.cipherparams
  ) {
    throw new KeystoreError(
      { code: 'KEYSTORE_INVALID' },
      'account key file is not a scrypt/aes-128-ctr v3 keystore',
    )
  }
  const { n, r, p, dklen, salt } = c.kdfparams
  const derived = scryptSync(password.normalize('NFKC'), Buffer.from(salt, 'hex'), dklen, {
    N: n,
    r,
    p,
    maxmem: 256 * n * r + 1024 * 1024,
  })
  const ciphertext = Buffer.from(c.ciphertext, 'hex')
  if (mac(derived, ciphertext) !== c.mac.toLowerCase()) {
    throw new KeystoreError({ code: 'KEYSTORE_WRONG_PASSWORD' }, 'wrong password for the account key')
  }
  const decipher = createDecipheriv(
    'aes-128-ctr',
    derived.subarray(0, 16),
    Buffer.from(c.cipherparams.iv, 'hex'),
  )
  return bytesToHex(Buffer.concat([decipher.update(ciphertext), decipher.final()]))
}
