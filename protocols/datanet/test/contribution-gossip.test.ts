// The contributions topic's table (protocols/datanet/README.md): every hostile case gets its IGNORE /
// REJECT, none reaches the curator, and the per-block chain cache is what answers repeated reads.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { openLedgerDomain } from '../../common/eip712.ts'
import { judgeGossipMessage } from '../../common/gossip.ts'
import {
  CONTRIBUTION_MAX_BYTES,
  type Contribution,
  contributionTypedMessage,
  encodeContribution,
  MAX_CLOCK_SKEW_S,
  signContribution,
} from '../contribution.ts'
import { CONTRIBUTION_MAX_AGE_S, contributionsTopic } from '../contribution-gossip.ts'
import { SignedContribution } from '../pb/datanet.ts'

const domain = openLedgerDomain({ chainId: 31337, ledger: '0x5FbDB2315678afecb367f032d93F642f64180aa3' })
const account = privateKeyToAccount(generatePrivateKey())
const attacker = privateKeyToAccount(generatePrivateKey())
const CID_A = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const CID_B = 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4'
const NOW_S = 1_800_000_000

function contribute(over: Partial<Omit<Contribution, 'signature' | 'contributor'>> = {}, signer = account) {
  return signContribution(signer, domain, {
    datanetId: 1n,
    contentCid: CID_A,
    bytes: 1234,
    license: 'MIT',
    createdAt: NOW_S - 10,
    name: 'notes.md',
    ...over,
  })
}

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** The other valid signature of the same digest by the same key: (r, n - s) with the recovery id flipped. */
function mirroredSignature(signature: string): Uint8Array<ArrayBuffer> {
  const sig = Buffer.from(signature.slice(2), 'hex')
  const s = BigInt(`0x${sig.subarray(32, 64).toString('hex')}`)
  sig.set(Buffer.from((SECP256K1_N - s).toString(16).padStart(64, '0'), 'hex'), 32)
  sig[64] = sig[64] === 27 ? 28 : 27
  return Uint8Array.from(sig)
}

/** The same signature with v as the bare recovery id (0/1), which recovery libraries also accept. */
function rawRecoveryIdSignature(signature: string): Uint8Array<ArrayBuffer> {
  const sig = Buffer.from(signature.slice(2), 'hex')
  sig[64] = sig[64]! - 27
  return Uint8Array.from(sig)
}

function wire(c: Contribution, change: Partial<SignedContribution> = {}): Uint8Array {
  return SignedContribution.encode({ ...SignedContribution.decode(encodeContribution(c)), ...change })
}

async function setup() {
  const clock = { ms: NOW_S * 1000, head: 100n }
  const chain = { up: true, reads: 0 }
  const received: Contribution[] = []
  const topic = contributionsTopic({
    domain,
    now: () => clock.ms,
    chainHead: async () => clock.head,
    headPollMs: 0,
    datanetExists: async (id) => {
      chain.reads++
      if (!chain.up) throw new Error('rpc down')
      return id === 1n
    },
    onContribution: async (c) => {
      received.push(c)
    },
  })
  const from = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  async function deliver(bytes: Uint8Array): Promise<string> {
    const verdict = await judgeGossipMessage(topic, bytes, from)
    if (verdict.action === 'ACCEPT') {
      await topic.handle(verdict.message, from)
      return 'ACCEPT'
    }
    return `${verdict.action} ${verdict.code}`
  }
  return { clock, chain, received, topic, deliver }
}

test('each hostile contribution gets the verdict of the table and never reaches the curator', async () => {
  const { clock, chain, received, deliver } = await setup()
  const genuine = await contribute()
  const genuineBytes = encodeContribution(genuine)
  assert.is(await deliver(genuineBytes), 'ACCEPT')
  assert.equal(received, [genuine])
  const held = JSON.stringify(received, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))

  const v1Signature = await account.signTypedData({
    domain,
    types: {
      Contribution: [
        { name: 'datanetId', type: 'uint256' },
        { name: 'contentCid', type: 'string' },
        { name: 'bytes', type: 'uint64' },
        { name: 'license', type: 'string' },
        { name: 'contributor', type: 'address' },
        { name: 'createdAt', type: 'uint64' },
      ],
    },
    primaryType: 'Contribution',
    message: (({ name: _name, ...rest }) => rest)(contributionTypedMessage(genuine)),
  })
  const forgedBySomeoneElse = await contribute({ contentCid: CID_B }, attacker)
  const cases: [string, Uint8Array, string][] = [
    [
      'forged: signed by another key, claiming the contributor',
      wire(forgedBySomeoneElse, { contributor: Buffer.from(account.address.slice(2), 'hex') }),
      'REJECT CONTRIBUTION_BAD_SIGNATURE',
    ],
    [
      'forged: another chain id',
      encodeContribution(
        await signContribution(account, { ...domain, chainId: 1 }, { ...genuine, contentCid: CID_B }),
      ),
      'REJECT CONTRIBUTION_BAD_SIGNATURE',
    ],
    [
      'forged: a signed field changed (bytes)',
      wire(genuine, { bytes: 9999n }),
      'REJECT CONTRIBUTION_BAD_SIGNATURE',
    ],
    ['renamed by a relay', wire(genuine, { name: 'notes.exe' }), 'REJECT CONTRIBUTION_BAD_SIGNATURE'],
    [
      'typed-data version 1 signature (name unsigned)',
      wire(genuine, { signature: Buffer.from(v1Signature.slice(2), 'hex') }),
      'REJECT CONTRIBUTION_BAD_SIGNATURE',
    ],
    ['replayed', genuineBytes, 'IGNORE CONTRIBUTION_SEEN'],
    [
      'replayed, signature malleated (s mirrored to n - s, v flipped): recovers the same signer',
      wire(genuine, { signature: mirroredSignature(genuine.signature) }),
      'REJECT CONTRIBUTION_BAD_SIGNATURE',
    ],
    [
      'replayed, v written as 0/1 instead of 27/28: recovers the same signer',
      wire(genuine, { signature: rawRecoveryIdSignature(genuine.signature) }),
      'REJECT CONTRIBUTION_BAD_SIGNATURE',
    ],
    [
      'replayed, re-encoded (unknown field appended: another payload hash)',
      Uint8Array.from([...genuineBytes, 15 << 3, 1]),
      'IGNORE CONTRIBUTION_SEEN',
    ],
    [
      'stale',
      encodeContribution(await contribute({ createdAt: NOW_S - CONTRIBUTION_MAX_AGE_S - 1 })),
      'IGNORE CONTRIBUTION_STALE',
    ],
    [
      'future-dated',
      encodeContribution(await contribute({ createdAt: NOW_S + MAX_CLOCK_SKEW_S + 1 })),
      'IGNORE CONTRIBUTION_FROM_FUTURE',
    ],
    ['oversized', wire(genuine, { license: 'x'.repeat(CONTRIBUTION_MAX_BYTES) }), 'REJECT OVERSIZED'],
    ['oversized field', wire(genuine, { name: 'n'.repeat(256) }), 'REJECT CONTRIBUTION_FIELD_TOO_LONG'],
    [
      'validly signed, a name with terminal escapes (shown to curators by `datanet review`)',
      encodeContribution(await contribute({ name: 'notes\u001b[2K\rinnocent.md', contentCid: CID_B })),
      'REJECT CONTRIBUTION_UNPRINTABLE_FIELD',
    ],
    [
      'validly signed, a licence with a bidirectional override',
      encodeContribution(await contribute({ license: 'MIT\u202e', contentCid: CID_B })),
      'REJECT CONTRIBUTION_UNPRINTABLE_FIELD',
    ],
    ['malformed bytes', Uint8Array.from([0x0a, 0xff, 0xff, 0x7f]), 'REJECT CONTRIBUTION_MALFORMED'],
    ['not a CID', wire(genuine, { contentCid: 'not-a-cid' }), 'REJECT CONTRIBUTION_BAD_CID'],
    ['bad Datanet id', wire(genuine, { datanetId: '0x01' }), 'REJECT CONTRIBUTION_BAD_DATANET_ID'],
    [
      'bad contributor length',
      wire(genuine, { contributor: new Uint8Array(21) }),
      'REJECT CONTRIBUTION_BAD_CONTRIBUTOR',
    ],
    [
      'bad signature length',
      wire(genuine, { signature: new Uint8Array(64) }),
      'REJECT CONTRIBUTION_BAD_SIGNATURE',
    ],
    [
      'validly signed, for a Datanet the chain does not know',
      encodeContribution(await contribute({ datanetId: 99n })),
      'IGNORE CONTRIBUTION_UNKNOWN_DATANET',
    ],
  ]
  for (const [name, bytes, expected] of cases) {
    assert.is(await deliver(bytes), expected, name)
    assert.is(
      JSON.stringify(received, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
      held,
      `${name} reached the curator`,
    )
  }
  // A rejected message replayed is rejected again from the seen-cache.
  const renamed = wire(genuine, { name: 'notes.exe' })
  assert.is(await deliver(renamed), 'REJECT CONTRIBUTION_BAD_SIGNATURE')
  // The chain unreachable: IGNORE (our problem, not the sender's), and nothing is remembered as seen.
  chain.up = false
  clock.head = 200n // a new block: the cached answer no longer holds
  const fresh = encodeContribution(await contribute({ contentCid: CID_B }))
  const before = chain.reads
  assert.is(await deliver(fresh), 'IGNORE CONTRIBUTION_CHAIN_UNAVAILABLE')
  assert.ok(chain.reads > before)
  chain.up = true
  assert.is(await deliver(fresh), 'ACCEPT')
  assert.is(received.length, 2)
})

test('cheap checks come before the signature: a stale forgery is IGNOREd as stale', async () => {
  const { deliver } = await setup()
  const stale = await contribute({ createdAt: NOW_S - CONTRIBUTION_MAX_AGE_S - 1 })
  assert.is(await deliver(wire(stale, { name: 'renamed.md' })), 'IGNORE CONTRIBUTION_STALE')
})

test('the Datanet check is read once per chain block, however many contributions ask', async () => {
  const { clock, chain, deliver } = await setup()
  for (let i = 0; i < 5; i++)
    assert.is(await deliver(encodeContribution(await contribute({ bytes: 100 + i }))), 'ACCEPT')
  assert.is(chain.reads, 1)
  clock.head = 101n
  assert.is(await deliver(encodeContribution(await contribute({ bytes: 200 }))), 'ACCEPT')
  assert.is(chain.reads, 2, 'a new head reads again')
})

test.run()
