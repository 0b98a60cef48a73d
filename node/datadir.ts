// The data directory: what `openledger init` creates and `openledger start` opens.
//   DIR/config.toml        commented config (every key at its default)
//   DIR/keys/peer.key      libp2p ed25519 private key (protobuf, as js-libp2p stores it), mode 0600
//   DIR/keys/account.json  Ethereum account: {address, privateKey} or a v3 keystore when encrypted, 0600
//   DIR/api-token          bearer token for the HTTP API (32 random bytes as hex), mode 0600
//   DIR/db/                the node's one level database (repositories, Helia blocks and datastore)
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { getAddress, type Hex, isHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { writeFileAtomic } from '../protocols/common/atomic-file.ts'
import { OpenLedgerError } from '../protocols/common/errors.ts'
import { renderConfigFile } from './config.ts'
import { decryptKey, encryptKey } from './keystore.ts'

export class DataDirError extends OpenLedgerError<{
  code: 'DATADIR_MISSING' | 'DATADIR_EXISTS' | 'DATADIR_CORRUPT' | 'PASSWORD_REQUIRED'
  path: string
}> {}

export const paths = (dir: string) => ({
  config: join(dir, 'config.toml'),
  keys: join(dir, 'keys'),
  peerKey: join(dir, 'keys', 'peer.key'),
  accountKey: join(dir, 'keys', 'account.json'),
  apiToken: join(dir, 'api-token'),
  db: join(dir, 'db'),
})

export interface NodeIdentity {
  peerKey: PrivateKey
  accountKey: Hex
}

/** Writes atomically and durably (temp + fsync + rename + fsync dir) so a crash never leaves half a key file. */
async function writeSecret(path: string, data: Uint8Array | string): Promise<void> {
  await writeFileAtomic(path, data, { mode: 0o600 })
}

const API_TOKEN = /^[0-9a-f]{64}$/

/** The HTTP API bearer token, or undefined when the data dir has none yet. */
export async function readApiToken(dir: string): Promise<string | undefined> {
  const path = paths(dir).apiToken
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const token = text.trim()
  if (!API_TOKEN.test(token)) {
    throw new DataDirError(
      { code: 'DATADIR_CORRUPT', path },
      `API token ${path} is not 64 hex characters; delete it and start the node to make a new one`,
    )
  }
  return token
}

/** Returns the API token, creating it (32 random bytes as hex, mode 0600, written atomically) if missing. */
export async function ensureApiToken(dir: string): Promise<string> {
  const existing = await readApiToken(dir)
  if (existing !== undefined) return existing
  const token = randomBytes(32).toString('hex')
  await writeSecret(paths(dir).apiToken, `${token}\n`)
  return token
}

export interface InitOptions {
  password?: string
  accountKey?: Hex
  config?: Record<string, unknown>
}

export async function initDataDir(dir: string, opts: InitOptions = {}) {
  const p = paths(dir)
  if (existsSync(p.peerKey) || existsSync(p.accountKey)) {
    throw new DataDirError(
      { code: 'DATADIR_EXISTS', path: dir },
      `data dir ${dir} is already initialized (keys exist)`,
    )
  }
  await mkdir(p.keys, { recursive: true, mode: 0o700 })
  const peerKey = await generateKeyPair('Ed25519')
  const accountKey = opts.accountKey ?? generatePrivateKey()
  const address = privateKeyToAccount(accountKey).address
  await writeSecret(p.peerKey, privateKeyToProtobuf(peerKey))
  const account =
    opts.password !== undefined ? encryptKey(accountKey, opts.password) : { address, privateKey: accountKey }
  await writeSecret(p.accountKey, `${JSON.stringify(account, null, 2)}\n`)
  await writeSecret(p.apiToken, `${randomBytes(32).toString('hex')}\n`)
  if (!existsSync(p.config)) await writeFile(p.config, renderConfigFile(opts.config))
  return { peerId: peerIdFromPrivateKey(peerKey).toString(), address, encrypted: opts.password !== undefined }
}

export async function loadIdentity(dir: string, password?: string): Promise<NodeIdentity> {
  const p = paths(dir)
  if (!existsSync(dir)) {
    throw new DataDirError(
      { code: 'DATADIR_MISSING', path: dir },
      `data dir ${dir} does not exist; create it with \`openledger init --dir ${dir}\``,
    )
  }
  if (!existsSync(p.peerKey) || !existsSync(p.accountKey)) {
    throw new DataDirError(
      { code: 'DATADIR_MISSING', path: dir },
      `data dir ${dir} is not initialized; run \`openledger init --dir ${dir}\``,
    )
  }
  let peerKey: PrivateKey
  try {
    peerKey = privateKeyFromProtobuf(await readFile(p.peerKey))
  } catch {
    throw new DataDirError(
      { code: 'DATADIR_CORRUPT', path: p.peerKey },
      `peer key ${p.peerKey} is unreadable or corrupt`,
    )
  }
  let stored: Record<string, unknown>
  try {
    stored = JSON.parse(await readFile(p.accountKey, 'utf8'))
  } catch {
    throw new DataDirError(
      { code: 'DATADIR_CORRUPT', path: p.accountKey },
      `account key ${p.accountKey} is not valid JSON`,
    )
  }
  if (stored.version === 3) {
    if (password === undefined) {
      throw new DataDirError(
        { code: 'PASSWORD_REQUIRED', path: p.accountKey },
        'the account key is encrypted: set password_file (--password-file)',
      )
    }
    return { peerKey, accountKey: decryptKey(stored, password) }
  }
  if (typeof stored.privateKey !== 'string' || !isHex(stored.privateKey) || stored.privateKey.length !== 66) {
    throw new DataDirError(
      { code: 'DATADIR_CORRUPT', path: p.accountKey },
      `account key ${p.accountKey} holds no valid private key`,
    )
  }
  return { peerKey, accountKey: stored.privateKey }
}

export async function readPassword(file: string): Promise<string> {
  // Trailing newlines come from editors and `echo`; they are not part of the password.
  return (await readFile(file, 'utf8')).replace(/\r?\n$/, '')
}

/** Peer id and account address, readable without the account password (a keystore stores its address). */
export async function readPublicIdentity(dir: string): Promise<{ peerId: string; address: string }> {
  const p = paths(dir)
  if (!existsSync(p.peerKey) || !existsSync(p.accountKey)) {
    throw new DataDirError(
      { code: 'DATADIR_MISSING', path: dir },
      `data dir ${dir} is not initialized; run \`openledger init --dir ${dir}\``,
    )
  }
  const stored = JSON.parse(await readFile(p.accountKey, 'utf8'))
  if (stored.version === 3) {
    const peerKey = privateKeyFromProtobuf(await readFile(p.peerKey))
    return { peerId: peerIdFromPrivateKey(peerKey).toString(), address: getAddress(`0x${stored.address}`) }
  }
  const identity = await loadIdentity(dir)
  return {
    peerId: peerIdFromPrivateKey(identity.peerKey).toString(),
    address: privateKeyToAccount(identity.accountKey).address,
  }
}
