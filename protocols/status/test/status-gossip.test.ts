// The status topic's table (protocols/status/README.md): every hostile case gets its IGNORE / REJECT, and
// none changes what the node holds. Also the bounds of the map of known statuses.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { hexToBytes, type TypedDataDomain } from 'viem'
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { judgeGossipMessage } from '../../common/gossip.ts'
import {
  NodeStatus,
  STATUS_MAX_AGE_MS,
  STATUS_MAX_BYTES,
  STATUS_MAX_SKEW_MS,
  StatusService,
  signStatus,
} from '../index.ts'

const domain: TypedDataDomain = {
  name: 'OpenLedger',
  version: '1',
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
}
const T0 = 1_800_000_000_000

interface Peer {
  key: PrivateKey
  account: PrivateKeyAccount
  id: string
}

async function makePeer(): Promise<Peer> {
  const key = await generateKeyPair('Ed25519')
  return { key, account: privateKeyToAccount(generatePrivateKey()), id: peerIdFromPrivateKey(key).toString() }
}

async function status(
  p: Peer,
  opts: {
    timestamp?: number
    peerId?: string
    signer?: PrivateKeyAccount
    apiUrl?: string
    version?: string
    domain?: TypedDataDomain
  } = {},
) {
  return signStatus({
    peerKey: p.key,
    signer: opts.signer ?? p.account,
    domain: opts.domain ?? domain,
    peerId: opts.peerId ?? p.id,
    version: opts.version ?? '0.1.0',
    apiUrl: opts.apiUrl ?? 'http://127.0.0.1:8080',
    timestamp: opts.timestamp ?? T0,
  })
}

function reencode(bytes: Uint8Array, change: Partial<NodeStatus>): Uint8Array {
  return NodeStatus.encode({ ...NodeStatus.decode(bytes), ...change })
}

async function setup() {
  const clock = { now: T0 }
  const self = await makePeer()
  const otherNetwork: string[] = []
  const service = new StatusService({
    peerId: peerIdFromPrivateKey(self.key),
    peerKey: self.key,
    signer: self.account,
    domain,
    version: '0.1.0',
    apiUrl: 'http://127.0.0.1:1',
    intervalMs: 60_000,
    publisher: { publish: async () => 0 },
    now: () => clock.now,
    maxPeers: 3,
    onOtherNetwork: (peerId, chainId, ledger) => otherNetwork.push(`${peerId} ${chainId} ${ledger}`),
  })
  const topic = service.topic()
  const from = peerIdFromPrivateKey((await makePeer()).key)
  /** What the node does with a message: judge it, and on ACCEPT run the handler. */
  async function deliver(bytes: Uint8Array): Promise<string> {
    const verdict = await judgeGossipMessage(topic, bytes, from)
    if (verdict.action === 'ACCEPT') {
      await topic.handle(verdict.message, from)
      return 'ACCEPT'
    }
    return `${verdict.action} ${verdict.code}`
  }
  return { clock, service, deliver, otherNetwork }
}

test('each hostile status gets the verdict of the table and leaves the known statuses unchanged', async () => {
  const { clock, service, deliver } = await setup()
  const victim = await makePeer()
  const attacker = await makePeer()
  const genuine = await status(victim, { timestamp: T0 - 1000 })
  assert.is(await deliver(genuine), 'ACCEPT')
  const held = JSON.stringify(service.peers())
  assert.is(service.get(victim.id)?.account, victim.account.address)

  const cases: [string, Uint8Array, string][] = [
    // Forged: the attacker signs a status for the victim's PeerId with its own libp2p key and account.
    [
      'forged PeerId binding',
      await status(attacker, { peerId: victim.id, timestamp: T0 }),
      'REJECT STATUS_BAD_PEER_SIGNATURE',
    ],
    [
      'forged account signature',
      reencode(await status(victim, { timestamp: T0, signer: attacker.account }), {
        account: Uint8Array.from(hexToBytes(victim.account.address)),
      }),
      'REJECT STATUS_BAD_PEER_SIGNATURE',
    ],
    [
      'account signature by another key (PeerId binding intact)',
      await (async () => {
        // The victim's libp2p key signs a digest naming the victim's account, but the account signature
        // is the attacker's: the PeerId binding holds, the account claim does not.
        const bytes = await status(victim, { timestamp: T0, signer: attacker.account })
        const other = NodeStatus.decode(await status(victim, { timestamp: T0 }))
        return reencode(bytes, {
          signature: NodeStatus.decode(bytes).signature,
          peerSignature: other.peerSignature,
          account: other.account,
        })
      })(),
      'REJECT STATUS_BAD_SIGNATURE',
    ],
    [
      'no PeerId signature',
      reencode(await status(victim, { timestamp: T0 }), { peerSignature: new Uint8Array() }),
      'REJECT STATUS_BAD_PEER_SIGNATURE',
    ],
    ['replayed', genuine, 'IGNORE STATUS_NOT_NEWER'],
    ['older than the one held', await status(victim, { timestamp: T0 - 2000 }), 'IGNORE STATUS_NOT_NEWER'],
    ['stale', await status(attacker, { timestamp: T0 - STATUS_MAX_AGE_MS - 1 }), 'IGNORE STATUS_STALE'],
    [
      'future-dated takeover attempt',
      await status(attacker, { peerId: victim.id, timestamp: T0 + STATUS_MAX_SKEW_MS + 1 }),
      'IGNORE STATUS_FROM_FUTURE',
    ],
    [
      'future-dated, genuinely signed',
      await status(victim, { timestamp: T0 + STATUS_MAX_SKEW_MS + 1 }),
      'IGNORE STATUS_FROM_FUTURE',
    ],
    [
      'oversized',
      reencode(await status(victim), { apiUrl: 'x'.repeat(STATUS_MAX_BYTES) }),
      'REJECT OVERSIZED',
    ],
    [
      'oversized field',
      reencode(await status(victim), { version: 'v'.repeat(65) }),
      'REJECT STATUS_FIELD_TOO_LONG',
    ],
    ['malformed bytes', Uint8Array.from([0xff, 0xff, 0xff, 0x01, 0x02]), 'REJECT MALFORMED'],
    [
      'bad account length',
      reencode(await status(victim), { account: new Uint8Array(19) }),
      'REJECT STATUS_BAD_ACCOUNT',
    ],
    ['bad PeerId', reencode(await status(victim), { peerId: 'not-a-peer-id' }), 'REJECT STATUS_BAD_PEER_ID'],
    [
      'renamed (apiUrl changed by a relay)',
      reencode(await status(victim, { timestamp: T0 }), { apiUrl: 'http://evil.example' }),
      'REJECT STATUS_BAD_PEER_SIGNATURE',
    ],
    [
      'renamed (version changed by a relay)',
      reencode(await status(victim, { timestamp: T0 }), { version: '9.9.9' }),
      'REJECT STATUS_BAD_PEER_SIGNATURE',
    ],
  ]
  for (const [name, bytes, expected] of cases) {
    assert.is(await deliver(bytes), expected, name)
    assert.is(JSON.stringify(service.peers()), held, `${name} changed the known statuses`)
  }
  // Cheap checks first: a stale message with a broken signature is IGNOREd as stale, not verified.
  const staleForged = reencode(await status(victim, { timestamp: T0 - STATUS_MAX_AGE_MS - 1 }), {
    signature: new Uint8Array(65),
  })
  assert.is(await deliver(staleForged), 'IGNORE STATUS_STALE')
  // The genuine owner can still move its own entry forward.
  clock.now += 1000
  assert.is(
    await deliver(await status(victim, { timestamp: clock.now, apiUrl: 'http://127.0.0.1:9' })),
    'ACCEPT',
  )
  assert.is(service.get(victim.id)?.apiUrl, 'http://127.0.0.1:9')
})

test('a status for another network is IGNOREd (its sender is not penalized) and reported once per peer', async () => {
  const { service, deliver, otherNetwork } = await setup()
  const peer = await makePeer()
  const elsewhere = { ...domain, verifyingContract: '0x000000000000000000000000000000000000bEEF' } as const
  const otherChain = { ...domain, chainId: 1 }
  assert.is(await deliver(await status(peer, { domain: elsewhere })), 'IGNORE STATUS_OTHER_NETWORK')
  assert.is(await deliver(await status(peer, { domain: otherChain })), 'IGNORE STATUS_OTHER_NETWORK')
  assert.equal(otherNetwork, [`${peer.id} 31337 0x000000000000000000000000000000000000bEEF`])
  // Claiming our network while signing for another fails the signature check as before: REJECT.
  const claimed = reencode(await status(peer, { domain: elsewhere }), {
    ledger: Uint8Array.from(hexToBytes(domain.verifyingContract!)),
  })
  assert.is(await deliver(claimed), 'REJECT STATUS_BAD_PEER_SIGNATURE')
  assert.is(
    await deliver(reencode(await status(peer), { ledger: new Uint8Array(10) })),
    'REJECT STATUS_BAD_LEDGER',
  )
  // An old node that names no network is checked against ours.
  assert.is(await deliver(reencode(await status(peer), { ledger: new Uint8Array(), chainId: 0n })), 'ACCEPT')
  assert.is(service.size, 1)
})

test('the map of known statuses is capped (least recently updated evicted) and forgets stale entries', async () => {
  const { clock, service, deliver } = await setup()
  const peers = await Promise.all([makePeer(), makePeer(), makePeer(), makePeer()])
  for (const [i, p] of peers.entries())
    assert.is(await deliver(await status(p, { timestamp: T0 + i })), 'ACCEPT')
  assert.is(service.size, 3)
  assert.is(service.get(peers[0]!.id), undefined, 'the oldest entry was evicted')
  assert.ok(service.get(peers[3]!.id))
  clock.now = T0 + STATUS_MAX_AGE_MS + 10
  assert.is(service.get(peers[3]!.id), undefined, 'a stale entry is not served')
  assert.equal(service.peers(), [])
  assert.is(service.size, 0, 'stale entries are evicted')
})

test('the service refuses a libp2p key that is not its PeerId', async () => {
  const a = await makePeer()
  const b = await makePeer()
  assert.throws(
    () =>
      new StatusService({
        peerId: peerIdFromPrivateKey(a.key),
        peerKey: b.key,
        signer: a.account,
        domain,
        version: '0',
        apiUrl: '',
        intervalMs: 1000,
        publisher: { publish: async () => 0 },
      }),
  )
})

test.run()
