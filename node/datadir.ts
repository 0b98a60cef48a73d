// The data directory: what `openledger init` creates and `openledger start` opens.
//   DIR/config.toml        commented config (every key at its default)
//   DIR/api-token          bearer token for the HTTP API (32 random bytes as hex), mode 0600
//   DIR/keys/peer.key      libp2p ed25519 private key (protobuf, as js-libp2p stores it), mode 0600
//   DIR/keys/account.json  Ethereum account: {address, privateKey} or a v3 keystore when encrypted, 0600
//   DIR/db/                the node's one level database (repositories, Helia blocks and datastore)
//
// Initialization is atomic: both key files are written into a temp dir beside DIR/keys and the temp dir
// is renamed to DIR/keys last. So a data dir is either not initialized (no DIR/keys) or fully initialized
// (DIR/keys holding both keys), whatever step a crash interrupts, and `init` and `start` decide by the
// same function (dataDirState). Config and token are written first: alone they initialize nothing.
// A DIR/keys holding one key file can only come from an interrupted init of an older version; it gets
// DATADIR_INCOMPLETE, never a silent overwrite (the file may be the only copy of a funded account key).
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { getAddress, type Hex, isHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { fsyncDir, TEMP_PREFIX, writeFileAtomic } from '../protocols/common/atomic-file.ts'
import { OpenLedgerError } from '../protocols/common/errors.ts'
import { renderConfigFile } from './config.ts'
import { decryptKey, encryptKey } from './keystore.ts'

export class DataDirError extends OpenLedgerError<{
  code:
    | 'DATADIR_MISSING' // DIR does not exist
    | 'DATADIR_UNINITIALIZED' // DIR exists, `openledger init` has not completed in it
    | 'DATADIR_INCOMPLETE' // DIR/keys holds one key file of two (an interrupted init of an older version)
    | 'DATADIR_EXISTS' // init refused: already initialized
    | 'DATADIR_CORRUPT'
    | 'PASSWORD_REQUIRED'
  path: string
}> {}

export const paths = (dir: string) => ({
  config: join(dir, 'config.toml'),
  apiToken: join(dir, 'api-token'),
  keys: join(dir, 'keys'),
  peerKey: join(dir, 'keys', 'peer.key'),
  accountKey: join(dir, 'keys', 'account.json'),
  db: join(dir, 'db'),
})

/** Prefix of the temp dir an init builds the keys in (DIR/.keys-XXXXXX) before renaming it to DIR/keys. */
const KEYS_TEMP_PREFIX = '.keys-'

export interface NodeIdentity {
  peerKey: PrivateKey
  accountKey: Hex
}

export type DataDirState = 'missing' | 'uninitialized' | 'initialized'

/**
 * The one definition of "initialized" that init, start and id share: DIR/keys with both key files.
 * Throws DATADIR_INCOMPLETE for a DIR/keys holding only one of them.
 */
export async function dataDirState(dir: string): Promise<DataDirState> {
  if (!existsSync(dir)) return 'missing'
  const p = paths(dir)
  const peer = existsSync(p.peerKey)
  const account = existsSync(p.accountKey)
  if (peer && account) return 'initialized'
  if (!peer && !account) return 'uninitialized'
  const [present, absent] = peer ? [p.peerKey, p.accountKey] : [p.accountKey, p.peerKey]
  throw new DataDirError(
    { code: 'DATADIR_INCOMPLETE', path: dir },
    `data dir ${dir} was left half-initialized by an interrupted \`openledger init\` of an older version: ` +
      `${present} exists but ${absent} does not. No node can have run with it. Move ${p.keys} aside ` +
      `(keep it if ${p.accountKey} holds an account key you need), then run \`openledger init --dir ${dir}\` again.`,
  )
}

async function requireInitialized(dir: string): Promise<void> {
  const state = await dataDirState(dir)
  if (state === 'missing') {
    throw new DataDirError(
      { code: 'DATADIR_MISSING', path: dir },
      `data dir ${dir} does not exist; create it with \`openledger init --dir ${dir}\``,
    )
  }
  if (state === 'uninitialized') {
    throw new DataDirError(
      { code: 'DATADIR_UNINITIALIZED', path: dir },
      `data dir ${dir} is not initialized; run \`openledger init --dir ${dir}\``,
    )
  }
}

/** Writes atomically and durably (temp + fsync + rename + fsync dir) so a crash never leaves half a key file. */
async function writeSecret(path: string, data: Uint8Array | string, exclusive = false): Promise<void> {
  await writeFileAtomic(path, data, { mode: 0o600, exclusive })
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

/**
 * Returns the API token, creating it (32 random bytes as hex, mode 0600) if missing. Creation is atomic
 * and exclusive: of two processes racing, one creates the file and both return its token.
 */
export async function ensureApiToken(dir: string): Promise<string> {
  const existing = await readApiToken(dir)
  if (existing !== undefined) return existing
  const token = randomBytes(32).toString('hex')
  try {
    await writeSecret(paths(dir).apiToken, `${token}\n`, true)
    return token
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return (await readApiToken(dir))!
  }
}

/** The durable steps of an init, in order; a crash between any two leaves DIR uninitialized. */
export type InitStep = 'config' | 'api-token' | 'peer-key' | 'account-key' | 'commit'

export interface InitOptions {
  password?: string
  accountKey?: Hex
  config?: Record<string, unknown>
  /**
   * Called before each durable step. Tests throw from it to stop an init there, which leaves on disk exactly
   * what a crash at that point leaves: initDataDir cleans nothing up on failure (the next init does).
   */
  beforeStep?: (step: InitStep) => void | Promise<void>
}

/** Removes what interrupted inits leave: temp key dirs and temp files in DIR (none was ever used). */
async function removeInitLeftovers(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith(KEYS_TEMP_PREFIX) || name.startsWith(TEMP_PREFIX)) {
      await rm(join(dir, name), { recursive: true, force: true })
    }
  }
  // A DIR/keys with no key file (only temp files, or empty) is left by an older version's interrupted init.
  const keys = paths(dir).keys
  if (existsSync(keys)) {
    const names = await readdir(keys)
    if (names.every((n) => n.endsWith('.tmp') || n.startsWith(TEMP_PREFIX))) {
      await rm(keys, { recursive: true, force: true })
    }
  }
}

export async function initDataDir(dir: string, opts: InitOptions = {}) {
  const p = paths(dir)
  const step = async (name: InitStep) => opts.beforeStep?.(name)
  if ((await dataDirState(dir)) === 'initialized') {
    throw new DataDirError(
      { code: 'DATADIR_EXISTS', path: dir },
      `data dir ${dir} is already initialized (keys exist)`,
    )
  }
  await mkdir(dir, { recursive: true })
  await removeInitLeftovers(dir)
  const peerKey = await generateKeyPair('Ed25519')
  const accountKey = opts.accountKey ?? generatePrivateKey()
  const address = privateKeyToAccount(accountKey).address
  const account =
    opts.password !== undefined ? encryptKey(accountKey, opts.password) : { address, privateKey: accountKey }

  await step('config')
  // An existing config is the operator's (written before init, or by an interrupted one): keep it.
  if (!existsSync(p.config)) await writeFileAtomic(p.config, renderConfigFile(opts.config))
  await step('api-token')
  await ensureApiToken(dir)
  const staging = await mkdtemp(join(dir, KEYS_TEMP_PREFIX)) // mode 0700
  await step('peer-key')
  await writeSecret(join(staging, 'peer.key'), privateKeyToProtobuf(peerKey))
  await step('account-key')
  await writeSecret(join(staging, 'account.json'), `${JSON.stringify(account, null, 2)}\n`)
  await step('commit')
  try {
    // The commit point: DIR/keys appears with both files at once. Fails if another init got there first.
    await rename(staging, p.keys)
  } catch (err) {
    await rm(staging, { recursive: true, force: true })
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      throw new DataDirError(
        { code: 'DATADIR_EXISTS', path: dir },
        `data dir ${dir} was initialized by another process meanwhile`,
      )
    }
    throw err
  }
  await fsyncDir(dir)
  return { peerId: peerIdFromPrivateKey(peerKey).toString(), address, encrypted: opts.password !== undefined }
}

async function readPeerKey(dir: string): Promise<PrivateKey> {
  const path = paths(dir).peerKey
  try {
    return privateKeyFromProtobuf(await readFile(path))
  } catch {
    throw new DataDirError({ code: 'DATADIR_CORRUPT', path }, `peer key ${path} is unreadable or corrupt`)
  }
}

async function readAccountFile(dir: string): Promise<Record<string, unknown>> {
  const path = paths(dir).accountKey
  try {
    const stored = JSON.parse(await readFile(path, 'utf8'))
    if (stored !== null && typeof stored === 'object') return stored
  } catch {}
  throw new DataDirError({ code: 'DATADIR_CORRUPT', path }, `account key ${path} is not a JSON object`)
}

export async function loadIdentity(dir: string, password?: string): Promise<NodeIdentity> {
  await requireInitialized(dir)
  const p = paths(dir)
  const peerKey = await readPeerKey(dir)
  const stored = await readAccountFile(dir)
  if (stored.version === 3) {
    if (password === undefined) {
      throw new DataDirError(
        { code: 'PASSWORD_REQUIRED', path: p.accountKey },
        'the account key is encrypted: set password_file (--password-file)',
      )
    }
    return { peerKey, accountKey: await decryptKey(stored, password) }
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
  await requireInitialized(dir)
  const stored = await readAccountFile(dir)
  if (stored.version === 3) {
    const peerKey = await readPeerKey(dir)
    const recorded = typeof stored.address === 'string' ? stored.address.replace(/^0x/, '') : ''
    if (!/^[0-9a-fA-F]{40}$/.test(recorded)) {
      throw new DataDirError(
        { code: 'DATADIR_CORRUPT', path: paths(dir).accountKey },
        `account keystore ${paths(dir).accountKey} records no address`,
      )
    }
    return { peerId: peerIdFromPrivateKey(peerKey).toString(), address: getAddress(`0x${recorded}`) }
  }
  const identity = await loadIdentity(dir)
  return {
    peerId: peerIdFromPrivateKey(identity.peerKey).toString(),
    address: privateKeyToAccount(identity.accountKey).address,
  }
}
