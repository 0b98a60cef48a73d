// `npm run bench -- gossip [--quick]`: how fast one core validates contributions arriving on gossip,
// against the native secp256k1 recovery alone on the same signatures, measured in the same run; written to
// bench/results/gossip.json.
//
// contributionsValidatedPerSec: the contributions topic's own decode and validator
// (protocols/datanet/contribution-gossip.ts), one message at a time, on distinct valid signed messages
// generated beforehand: protobuf decode with field bounds, the age window, the EIP-712 digest (hash-wasm),
// the seen-cache lookup and insert, native recovery, and the "does this Datanet exist" read served from the
// per-block chain cache (the fake chain moves its head every 2 s, so the cache is emptied and refilled
// during the run). rawRecoverPerSec: `secp256k1.ecdsaRecover` of the native binding alone over the same
// (signature, digest) pairs. ratio = the first over the second (goal ≥ 0.5).
// Also measured: the fast typed-data hasher against viem's hashTypedData on the same messages, and the
// previous path (viem's recoverTypedDataAddress) on a sample, for reference.

import { mkdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { cpus, loadavg } from 'node:os'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type secp256k1Api from 'secp256k1'
import { bytesToHex, hashTypedData, recoverTypedDataAddress, type TypedDataDomain } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  type Contribution,
  contributionHasher,
  contributionTypedMessage,
  contributionTypes,
  encodeContribution,
} from '../protocols/datanet/contribution.ts'
import { contributionsTopic } from '../protocols/datanet/contribution-gossip.ts'

const require = createRequire(import.meta.url)
const secp256k1: typeof secp256k1Api = require('secp256k1/bindings.js')

const quick = process.argv.includes('--quick')
const MESSAGES = quick ? 4_000 : 20_000
const ROUNDS = quick ? 3 : 5
const VIEM_SAMPLE = quick ? 200 : 500
const ACCOUNTS = 64
const DATANETS = 8
const round = (x: number, d = 3) => Number(x.toFixed(d))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const domain: TypedDataDomain = {
  name: 'OpenLedger',
  version: '1',
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
}

interface Sample {
  wire: Uint8Array
  contribution: Contribution
  digest: Uint8Array
  signature64: Uint8Array
  recid: number
}

async function generate(): Promise<Sample[]> {
  const hasher = contributionHasher(domain)
  const keys = Array.from({ length: ACCOUNTS }, (_, i) => {
    const key = new Uint8Array(32)
    key[31] = i + 1
    key[0] = 0x42
    return { key, address: privateKeyToAccount(bytesToHex(key)).address }
  })
  const nowS = Math.floor(Date.now() / 1000)
  const out: Sample[] = []
  for (let i = 0; i < MESSAGES; i++) {
    const { key, address } = keys[i % ACCOUNTS]!
    const cid = CID.create(1, raw.code, await sha256.digest(new TextEncoder().encode(`contribution ${i}`)))
    const unsigned = {
      datanetId: BigInt(1 + (i % DATANETS)),
      contentCid: cid.toString(),
      name: `part-${i}.md`,
      bytes: 1000 + i,
      license: 'CC-BY-4.0',
      contributor: address,
      createdAt: nowS - (i % 600),
      signature: '0x' as `0x${string}`,
    }
    const digest = hasher(contributionTypedMessage(unsigned))
    const { signature, recid } = secp256k1.ecdsaSign(digest, key)
    const sig65 = new Uint8Array(65)
    sig65.set(signature)
    sig65[64] = 27 + recid
    const contribution = { ...unsigned, signature: bytesToHex(sig65) }
    out.push({ wire: encodeContribution(contribution), contribution, digest, signature64: signature, recid })
  }
  // The generated signatures are real EIP-712 signatures: viem recovers the same contributors.
  for (const s of out.slice(0, 20)) {
    const signer = await recoverTypedDataAddress({
      domain,
      types: contributionTypes,
      primaryType: 'Contribution',
      message: contributionTypedMessage(s.contribution),
      signature: s.contribution.signature,
    })
    if (signer !== s.contribution.contributor)
      throw new Error('generated signature does not verify with viem')
  }
  return out
}

async function validatedPerSec(
  samples: Sample[],
): Promise<{ perSec: number; accepted: number; loads: number }> {
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const topic = contributionsTopic({
    domain,
    datanetExists: async (id) => id <= BigInt(DATANETS),
    chainHead: async () => BigInt(Math.floor(Date.now() / 2000)),
    onContribution: async () => {},
  })
  let accepted = 0
  const t0 = performance.now()
  for (const s of samples) {
    const c = topic.decode(s.wire)
    await topic.validate(c, peer)
    accepted++
  }
  const seconds = (performance.now() - t0) / 1000
  return { perSec: samples.length / seconds, accepted, loads: topic.datanets.loads }
}

function rawRecoverPerSec(samples: Sample[]): number {
  const t0 = performance.now()
  for (const s of samples) secp256k1.ecdsaRecover(s.signature64, s.recid, s.digest, false)
  return samples.length / ((performance.now() - t0) / 1000)
}

function hashesPerSec(samples: Sample[], fast: boolean): number {
  const hasher = contributionHasher(domain)
  const t0 = performance.now()
  for (const s of samples) {
    const message = contributionTypedMessage(s.contribution)
    if (fast) hasher(message)
    else hashTypedData({ domain, types: contributionTypes, primaryType: 'Contribution', message })
  }
  return samples.length / ((performance.now() - t0) / 1000)
}

async function viemValidatedPerSec(samples: Sample[]): Promise<number> {
  const t0 = performance.now()
  for (const s of samples) {
    await recoverTypedDataAddress({
      domain,
      types: contributionTypes,
      primaryType: 'Contribution',
      message: contributionTypedMessage(s.contribution),
      signature: s.contribution.signature,
    })
  }
  return samples.length / ((performance.now() - t0) / 1000)
}

async function main() {
  const g0 = performance.now()
  const samples = await generate()
  const generateSeconds = (performance.now() - g0) / 1000

  // Warm up both paths (JIT, wasm), then alternate them so load changes hit both alike.
  await validatedPerSec(samples.slice(0, 1000))
  rawRecoverPerSec(samples.slice(0, 1000))
  const validated: number[] = []
  const rawRates: number[] = []
  let accepted = 0
  let loads = 0
  for (let r = 0; r < ROUNDS; r++) {
    const v = await validatedPerSec(samples)
    validated.push(v.perSec)
    accepted = v.accepted
    loads = v.loads
    rawRates.push(rawRecoverPerSec(samples))
  }
  const contributionsValidatedPerSec = median(validated)
  const rawRecover = median(rawRates)

  const hashSample = samples.slice(0, quick ? 2000 : 5000)
  hashesPerSec(hashSample.slice(0, 200), true)
  hashesPerSec(hashSample.slice(0, 200), false)
  const fastHashes = hashesPerSec(hashSample, true)
  const viemHashes = hashesPerSec(hashSample, false)
  const viemValidated = await viemValidatedPerSec(samples.slice(0, VIEM_SAMPLE))

  const result = {
    bench: 'gossip',
    quick,
    node: process.version,
    loadAverage: loadavg().map((x) => round(x, 2)),
    cpus: cpus().length,
    messages: {
      count: MESSAGES,
      distinctContributors: ACCOUNTS,
      datanets: DATANETS,
      wireBytesMean: round(samples.reduce((n, s) => n + s.wire.length, 0) / samples.length, 1),
      generateSeconds: round(generateSeconds),
    },
    validation: {
      path: 'decode + bounds + age window + EIP-712 digest (hash-wasm) + seen-cache + native recovery + per-block cached Datanet read',
      rounds: ROUNDS,
      samplesPerSec: validated.map((x) => Math.round(x)),
      acceptedPerRound: accepted,
      chainLoadsLastRound: loads,
    },
    rawRecover: {
      method: 'secp256k1/bindings.js ecdsaRecover (uncompressed) on the same signatures and digests',
      samplesPerSec: rawRates.map((x) => Math.round(x)),
    },
    hasher: {
      fastHashesPerSec: Math.round(fastHashes),
      viemHashTypedDataPerSec: Math.round(viemHashes),
      speedup: round(fastHashes / viemHashes, 1),
    },
    previousPath: {
      method: "viem recoverTypedDataAddress (the validator's old signature check alone)",
      sample: VIEM_SAMPLE,
      perSec: Math.round(viemValidated),
    },
    summary: {
      contributionsValidatedPerSec: Math.round(contributionsValidatedPerSec),
      rawRecoverPerSec: Math.round(rawRecover),
      ratio: round(contributionsValidatedPerSec / rawRecover, 3),
      hasherSpeedup: round(fastHashes / viemHashes, 1),
    },
    targets: {
      ratioAtLeast0_5: contributionsValidatedPerSec / rawRecover >= 0.5,
    },
  }
  console.log(JSON.stringify(result, null, 2))
  await mkdir('results', { recursive: true })
  await writeFile('results/gossip.json', `${JSON.stringify(result, null, 2)}\n`)
}

await main()
