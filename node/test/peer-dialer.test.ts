// The dialer alone, over a fake libp2p (the multi-node tests run it for real): it dials known peers first,
// and asks the DHT for peers near itself only when none are left, backing off while nothing turns up.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import pino from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { waitFor } from '../../testnet/wait.ts'
import { PeerDialer } from '../peer-dialer.ts'

const newPeer = async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

async function fakeLibp2p(known: PeerId[], lookupResults: () => PeerInfo[]) {
  const self = await newPeer()
  const connected = new Set<string>()
  const store = new Map<string, { id: PeerId; addresses: { multiaddr: ReturnType<typeof multiaddr> }[] }>()
  for (const id of known)
    store.set(id.toString(), { id, addresses: [{ multiaddr: multiaddr('/ip4/127.0.0.1/tcp/1') }] })
  const calls = { lookups: 0, dials: [] as string[] }
  const libp2p = {
    peerId: self,
    getPeers: () => [...connected].map((s) => ({ toString: () => s })),
    peerStore: {
      all: async () => [...store.values()],
      merge: async (id: PeerId, data: { multiaddrs: ReturnType<typeof multiaddr>[] }) => {
        store.set(id.toString(), { id, addresses: data.multiaddrs.map((m) => ({ multiaddr: m })) })
      },
    },
    peerRouting: {
      async *getClosestPeers() {
        calls.lookups++
        yield* lookupResults()
      },
    },
    dial: async (id: PeerId) => {
      calls.dials.push(id.toString())
      connected.add(id.toString())
    },
  } as unknown as Libp2p
  return { libp2p, connected, calls }
}

test('dials known peers; with none left it looks up peers near itself and dials what it finds', async () => {
  const bootstrap = await newPeer()
  const hidden = await newPeer()
  const { libp2p, calls } = await fakeLibp2p([bootstrap], () => [
    { id: hidden, multiaddrs: [multiaddr('/ip4/127.0.0.1/tcp/2')] },
  ])
  const dialer = new PeerDialer(libp2p, 5, pino({ level: 'silent' }))
  dialer.start()
  try {
    await waitFor(async () => calls.dials.includes(hidden.toString()), {
      timeoutMs: 10_000,
      what: 'the peer found by the lookup to be dialed',
    })
    assert.equal(calls.dials.slice(0, 2), [bootstrap.toString(), hidden.toString()])
    assert.is(calls.lookups, 1, 'no lookup while known peers were left to dial')
  } finally {
    dialer.stop()
  }
})

test('lookups that find nothing back off instead of running every tick', async () => {
  const bootstrap = await newPeer()
  const { libp2p, calls } = await fakeLibp2p([bootstrap], () => [])
  const dialer = new PeerDialer(libp2p, 5, pino({ level: 'silent' }))
  dialer.start()
  try {
    await waitFor(async () => calls.lookups >= 2, { timeoutMs: 15_000, what: 'a second lookup' })
    const started = Date.now()
    const at = calls.lookups
    // the next one waits about 4 s (2 s doubled): watch ticks pass without one
    await waitFor(async () => Date.now() - started > 2_500, { timeoutMs: 5_000, what: 'ticks to pass' })
    assert.is(calls.lookups, at)
  } finally {
    dialer.stop()
  }
})

test.run()
