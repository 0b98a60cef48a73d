// Ethereum account key storage. Without a password the key is kept as hex in a 0600 file (a dev node);
// with one it is a Web3 Secret Storage v3 keystore (scrypt + aes-128-ctr, keccak256 MAC), the format
// geth, Lodestar and MetaMask import, so an operator can move the account to any wallet.
//
// Decryption reads files other tools wrote, so it accepts both KDFs of the definition (scrypt and
// pbkdf2/hmac-sha256) but only within bounds checked before the KDF runs: a file asking for scrypt n = 2^30
// would take gigabytes and minutes, and one with dklen < 32 would leave the MAC with too few key bytes.
import {
  createCipheriv,
  createDecipheriv,
  pbkdf2,
  randomBytes,
  randomUUID,
  scryptSync,
  timingSafeEqual,
} from 'node:crypto'
import { promisify } from 'node:util'
import { scrypt } from 'hash-wasm'
import { bytesToHex, type Hex, hexToBytes, keccak256 } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { z } from 'zod'
import { OpenLedgerError } from '../protocols/common/errors.ts'

export class KeystoreError extends OpenLedgerError<{
  code:
    | 'KEYSTORE_INVALID' // not a v3 keystore (missing or malformed fields)
    | 'KEYSTORE_UNSUPPORTED' // a cipher, KDF or PRF other than aes-128-ctr, scrypt / pbkdf2 + hmac-sha256
    | 'KEYSTORE_KDF_BOUNDS' // KDF parameters outside the bounds below
    | 'KEYSTORE_WRONG_PASSWORD'
  field?: string
}> {}

/** What this node writes: n = 2^14 (16 MiB, ~50 ms), between geth's light (2^12) and standard (2^18). */
const SCRYPT = { n: 1 << 14, r: 8, p: 1, dklen: 32 }

/**
 * What this node reads. The ceiling is geth's standard parameters (n = 2^18, r = 8, p = 1: 256 MiB, ~1 s):
 * memory 128·n·r ≤ 256 MiB and work n·r·p ≤ 2^21. That admits every keystore geth, ethers, web3.js or
 * MetaMask writes and both published test vectors (scrypt n = 2^18, r = 1, p = 8; pbkdf2 c = 2^18).
 * The floors keep a tampered file from silently downgrading the key to something guessable.
 */
export const KDF_BOUNDS = {
  scrypt: { minN: 1 << 10, maxN: 1 << 18, maxR: 8, maxP: 16, maxWork: (1 << 18) * 8 },
  pbkdf2: { minC: 1 << 10, maxC: 1 << 20 },
  dklen: 32,
  saltBytes: { min: 16, max: 64 },
} as const

const hexBytes = (bytes: number) => z.string().regex(new RegExp(`^(0x)?[0-9a-fA-F]{${bytes * 2}}$`))
const hexString = z.string().regex(/^(0x)?([0-9a-fA-F]{2})+$/)
const positiveInt = z.number().int().positive()

// Shapes only; algorithm names and numeric bounds are checked afterwards so each failure gets its own code.
const keystoreShape = z.object({
  version: z.literal(3),
  address: z.string().optional(),
  crypto: z.object({
    cipher: z.string(),
    ciphertext: hexBytes(32), // a secp256k1 private key
    cipherparams: z.object({ iv: hexBytes(16) }),
    kdf: z.string(),
    kdfparams: z.object({
      salt: hexString,
      dklen: positiveInt,
      n: positiveInt.optional(),
      r: positiveInt.optional(),
      p: positiveInt.optional(),
      c: positiveInt.optional(),
      prf: z.string().optional(),
    }),
    mac: hexBytes(32),
  }),
})

export interface KeystoreV3 {
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

function fromHex(hex: string): Buffer {
  return Buffer.from(strip0x(hex), 'hex')
}

function mac(derived: Buffer, ciphertext: Buffer): Buffer {
  return Buffer.from(hexToBytes(keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext]))))
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
      mac: mac(derived, ciphertext).toString('hex'),
    },
  }
}

function outOfBounds(field: string, message: string): KeystoreError {
  return new KeystoreError({ code: 'KEYSTORE_KDF_BOUNDS', field }, `account keystore: ${message}`)
}

const pbkdf2Async = promisify(pbkdf2)

const isPowerOfTwo = (x: number) => Number.isSafeInteger(x) && x > 0 && (x & (x - 1)) === 0

type KdfParams = z.infer<typeof keystoreShape>['crypto']['kdfparams']

/** Checks the KDF name and parameters and returns a function that derives the key; runs no KDF itself. */
function checkedKdf(kdf: string, params: KdfParams): (password: string) => Promise<Buffer> {
  if (params.dklen !== KDF_BOUNDS.dklen) {
    throw outOfBounds('dklen', `dklen must be ${KDF_BOUNDS.dklen}, got ${params.dklen}`)
  }
  const salt = fromHex(params.salt)
  if (salt.length < KDF_BOUNDS.saltBytes.min || salt.length > KDF_BOUNDS.saltBytes.max) {
    throw outOfBounds(
      'salt',
      `salt must be ${KDF_BOUNDS.saltBytes.min}–${KDF_BOUNDS.saltBytes.max} bytes, got ${salt.length}`,
    )
  }
  if (kdf === 'scrypt') {
    const { n, r, p } = params
    const b = KDF_BOUNDS.scrypt
    if (n === undefined || r === undefined || p === undefined) {
      throw new KeystoreError({ code: 'KEYSTORE_INVALID', field: 'kdfparams' }, 'scrypt needs n, r and p')
    }
    if (!isPowerOfTwo(n) || n < b.minN || n > b.maxN) {
      throw outOfBounds('n', `scrypt n must be a power of two in [${b.minN}, ${b.maxN}], got ${n}`)
    }
    if (r > b.maxR) throw outOfBounds('r', `scrypt r must be at most ${b.maxR}, got ${r}`)
    if (p > b.maxP) throw outOfBounds('p', `scrypt p must be at most ${b.maxP}, got ${p}`)
    if (n * r * p > b.maxWork) {
      throw outOfBounds(
        'p',
        `scrypt n·r·p must be at most ${b.maxWork} (geth's standard work), got ${n * r * p}`,
      )
    }
    // hash-wasm rather than node:crypto: OpenSSL enforces RFC 7914's n < 2^(16·r), which geth does not and
    // which the published scrypt test vector (n = 2^18, r = 1) breaks. The bounds above cap its memory.
    return async (password) =>
      Buffer.from(
        await scrypt({
          password: password.normalize('NFKC'),
          salt,
          costFactor: n,
          blockSize: r,
          parallelism: p,
          hashLength: params.dklen,
          outputType: 'binary',
        }),
      )
  }
  if (kdf === 'pbkdf2') {
    const { c, prf } = params
    if (prf !== 'hmac-sha256') {
      throw new KeystoreError(
        { code: 'KEYSTORE_UNSUPPORTED', field: 'prf' },
        `account keystore: pbkdf2 prf must be hmac-sha256, got ${prf}`,
      )
    }
    const b = KDF_BOUNDS.pbkdf2
    if (c === undefined || c < b.minC || c > b.maxC) {
      throw outOfBounds('c', `pbkdf2 c must be in [${b.minC}, ${b.maxC}], got ${c}`)
    }
    return (password) => pbkdf2Async(password.normalize('NFKC'), salt, c, params.dklen, 'sha256')
  }
  throw new KeystoreError(
    { code: 'KEYSTORE_UNSUPPORTED', field: 'kdf' },
    `account keystore: kdf must be scrypt or pbkdf2, got ${kdf}`,
  )
}

/**
 * Decrypts a v3 keystore. Shape, algorithms and KDF bounds are all checked before the KDF runs, so a
 * hostile or damaged file costs at most geth's standard work; the MAC is compared in constant time.
 */
export async function decryptKey(keystore: unknown, password: string): Promise<Hex> {
  const parsed = keystoreShape.safeParse(keystore)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = issue?.path.join('.') ?? ''
    throw new KeystoreError(
      { code: 'KEYSTORE_INVALID', field },
      `account key file is not a v3 keystore (${field || 'root'}: ${issue?.message ?? 'invalid'})`,
    )
  }
  const c = parsed.data.crypto
  if (c.cipher !== 'aes-128-ctr') {
    throw new KeystoreError(
      { code: 'KEYSTORE_UNSUPPORTED', field: 'cipher' },
      `account keystore: cipher must be aes-128-ctr, got ${c.cipher}`,
    )
  }
  const derive = checkedKdf(c.kdf, c.kdfparams)
  const derived = await derive(password)
  const ciphertext = fromHex(c.ciphertext)
  if (!timingSafeEqual(mac(derived, ciphertext), fromHex(c.mac))) {
    throw new KeystoreError({ code: 'KEYSTORE_WRONG_PASSWORD' }, 'wrong password for the account key')
  }
  const decipher = createDecipheriv('aes-128-ctr', derived.subarray(0, 16), fromHex(c.cipherparams.iv))
  return bytesToHex(Buffer.concat([decipher.update(ciphertext), decipher.final()]))
}
