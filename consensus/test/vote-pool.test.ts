// Votes over the wire into the vote pool, against a real Ledger on anvil with 4 staked validators: a
// quorum forms at the third of four equal stakes and the contract accepts it as submitted (a second submitter
// sends nothing; a quorum on a lost parent is not sent); a validator that
// signs two checkpoints for one (epoch, round) yields evidence the contract slashes; votes that would not
// count (outside the set, another set, a non-canonical signature, a round too high) are refused with a
// typed error; malformed messages are CONSENSUS_MALFORMED.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type Hex, keccak256, parseSignature, serializeSignature, toHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { connect } from '../../contracts/deploy.ts'
import { createWorld, signerKey, type World } from '../../contracts/test/helpers.ts'
import { type CheckpointMessage, checkpointTypedData } from '../../contracts/typedData.ts'
import { validatorSetHash } from '../../contracts/validator-set.ts'
import { hasCode } from '../../protocols/common/errors.ts'
import { type SubmitterChain, submitCheckpoint, submitEquivocation } from '../checkpoint-submitter.ts'
import {
  CONSENSUS_MAX_BYTES,
  decodeConsensusMessage,
  encodeConsensusMessage,
  proposalDigest,
  type Vote,
} from '../consensus-wire.ts'
import { type EpochSet, type Quorum, VotePool } from '../vote-pool.ts'

const VALIDATORS = [1, 2, 3, 4]
const test = suite<{ w: World }>('vote pool', {} as { w: World })

test.before(async (ctx) => {
  ctx.w = await createWorld()
  for (const i of VALIDATORS) await ctx.w.addValidator(i)
  await ctx.w.checkpoint(await ctx.w.nextMessage(), VALIDATORS.slice(0, 3).map(signerKey))
})
test.after(async (ctx) => {
  await ctx.w?.stop()
})

async function vote(ctx: { w: World }, key: Hex, message: CheckpointMessage): Promise<Vote> {
  const signature = await privateKeyToAccount(key).signTypedData(checkpointTypedData(ctx.w.domain, message))
  // Through the wire and back, as a vote arrives from gossip.
  const decoded = decodeConsensusMessage(
    encodeConsensusMessage({ kind: 'vote', vote: { checkpoint: message, signature } }),
  )
  assert.is(decoded.kind, 'vote')
  return (decoded as { vote: Vote }).vote
}

async function submitter(ctx: { w: World }): Promise<SubmitterChain> {
  const { publicClient, walletClient } = await connect(
    ctx.w.anvil.rpcUrl,
    ctx.w.anvil.accounts[9]!.privateKey,
  )
  return { publicClient, walletClient, ledger: ctx.w.addresses.ledger } as SubmitterChain
}

async function epochSet(ctx: { w: World }, epoch: bigint): Promise<EpochSet> {
  const validators = await ctx.w.setFor(epoch)
  return {
    validators,
    hash: validatorSetHash(validators),
    totalStake: validators.reduce((s, v) => s + v.stake, 0n),
  }
}

test('a quorum forms at more than 2/3 of stake and the Ledger accepts it as the pool orders it', async (ctx) => {
  const message = await ctx.w.nextMessage()
  const set = await epochSet(ctx, message.epoch)
  const pool = new VotePool(ctx.w.domain)
  const results = []
  for (const i of [1, 2, 3]) results.push(pool.add(await vote(ctx, signerKey(i), message), set))
  assert.equal(
    results.map((r) => r.result === 'added' && r.quorum !== undefined),
    [false, false, true],
    '2 of 4 equal stakes are not a quorum; 3 are',
  )
  assert.is(pool.add(await vote(ctx, signerKey(1), message), set).result, 'duplicate')
  const third = results[2]!
  assert.ok(third.result === 'added' && third.quorum !== undefined)
  const quorum: Quorum = third.quorum
  const last = await ctx.w.as[0].ledger.read.lastEpoch()
  const chain = await submitter(ctx)
  const sent = await submitCheckpoint(chain, set, quorum)
  assert.is(sent.outcome, 'submitted')
  assert.is(await ctx.w.as[0].ledger.read.lastEpoch(), last + 1n)
  assert.is(await ctx.w.as[0].ledger.read.stateRoot(), message.stateRoot)
  // A second submitter finds the epoch taken and sends nothing (its nonce does not move).
  const nonce = await ctx.w.publicClient.getTransactionCount({ address: chain.walletClient.account.address })
  assert.equal(await submitCheckpoint(chain, set, quorum), { outcome: 'already' })
  assert.is(
    await ctx.w.publicClient.getTransactionCount({ address: chain.walletClient.account.address }),
    nonce,
  )
  // A quorum for a checkpoint whose parent is not the Ledger's root (another root won): nothing sent.
  const fork = await ctx.w.nextMessage({ parentRoot: keccak256(toHex('a lost fork')) })
  const forkPool = new VotePool(ctx.w.domain)
  let forkQuorum: Quorum | undefined
  const forkSet = await epochSet(ctx, fork.epoch)
  for (const i of [1, 2, 3]) {
    const r = forkPool.add(await vote(ctx, signerKey(i), fork), forkSet)
    if (r.result === 'added' && r.quorum) forkQuorum = r.quorum
  }
  assert.equal(await submitCheckpoint(chain, forkSet, forkQuorum!), {
    outcome: 'stale',
    lastEpoch: last + 1n,
  })
})

test('two votes of one validator for one (epoch, round) are evidence the Ledger slashes', async (ctx) => {
  const message = await ctx.w.nextMessage()
  const set = await epochSet(ctx, message.epoch)
  const pool = new VotePool(ctx.w.domain)
  assert.is(pool.add(await vote(ctx, signerKey(4), message), set).result, 'added')
  const other = { ...message, stateRoot: keccak256(toHex('another root')) }
  const result = pool.add(await vote(ctx, signerKey(4), other), set)
  assert.is(result.result, 'equivocation')
  assert.ok(result.result === 'equivocation')
  const chain = await submitter(ctx)
  assert.is((await submitEquivocation(chain, result.evidence)).outcome, 'submitted')
  assert.equal(await submitEquivocation(chain, result.evidence), { outcome: 'already' })
  const [, , , , active, banned] = await ctx.w.as[0].staking.read.getValidator([ctx.w.as[4].address])
  assert.equal([active, banned], [false, true])
  // The pool kept the first vote only: the second never counts toward a quorum.
  assert.equal([...pool.votesOf(message.epoch, 0).values()].length, 1)
})

test('votes that would not count are refused with their reason', async (ctx) => {
  const message = await ctx.w.nextMessage()
  const set = await epochSet(ctx, message.epoch)
  const pool = new VotePool(ctx.w.domain, { maxRounds: 8 })
  const refused = (v: Vote, code: string) =>
    assert.throws(
      () => pool.add(v, set),
      (err: unknown) => hasCode(err, code),
      code,
    )
  refused(await vote(ctx, generatePrivateKey(), message), 'VOTE_NOT_IN_SET')
  refused(
    await vote(ctx, signerKey(1), { ...message, validatorSetHash: keccak256('0x01') }),
    'VOTE_SET_MISMATCH',
  )
  refused(await vote(ctx, signerKey(1), { ...message, round: 8 }), 'VOTE_ROUND_TOO_HIGH')
  // The same signature with s flipped to the high half recovers the same signer, but the Ledger refuses it.
  const good = await vote(ctx, signerKey(1), message)
  const { r, s, yParity } = parseSignature(good.signature)
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
  const high = serializeSignature({
    r,
    s: toHex(n - BigInt(s), { size: 32 }),
    yParity: yParity === 0 ? 1 : 0,
  })
  refused({ ...good, signature: high }, 'VOTE_BAD_SIGNATURE')
  refused(
    { checkpoint: { ...message, stateRoot: keccak256('0x02') }, signature: good.signature },
    'VOTE_NOT_IN_SET',
  )
  assert.is(pool.votesOf(message.epoch, 0).size, 0, 'nothing was tallied')
})

test('proposals round-trip with their snapshot block; malformed messages are CONSENSUS_MALFORMED', async (ctx) => {
  const message = await ctx.w.nextMessage({
    totals: [
      { client: ctx.w.as[5].address, spent: 10n },
      { client: ctx.w.as[6].address, spent: 20n },
    ].sort((a, b) => (BigInt(a.client) < BigInt(b.client) ? -1 : 1)),
    totalEarned: 30n,
  })
  const account = privateKeyToAccount(signerKey(1))
  const signature = await account.signTypedData(checkpointTypedData(ctx.w.domain, message))
  const proposalSignature = await account.sign({ hash: proposalDigest(ctx.w.domain, message, 123n) })
  const bytes = encodeConsensusMessage({
    kind: 'proposal',
    proposal: { checkpoint: message, signature, snapshotBlock: 123n, proposalSignature },
  })
  const back = decodeConsensusMessage(bytes)
  assert.equal(back, {
    kind: 'proposal',
    proposal: { checkpoint: message, signature, snapshotBlock: 123n, proposalSignature },
  })
  const malformed = (data: Uint8Array, what: string) =>
    assert.throws(
      () => decodeConsensusMessage(data),
      (err: unknown) => hasCode(err, 'CONSENSUS_MALFORMED'),
      what,
    )
  malformed(bytes.subarray(0, bytes.length - 7), 'truncated')
  malformed(new Uint8Array(CONSENSUS_MAX_BYTES + 1), 'oversized')
  malformed(Uint8Array.of(0xff, 0xff, 0xff), 'junk')
  const unsorted = { ...message, totals: [...message.totals].reverse() }
  malformed(
    encodeConsensusMessage({ kind: 'vote', vote: { checkpoint: unsorted, signature } }),
    'unsorted totals',
  )
  const badSplit = { ...message, feeSplit: { ...message.feeSplit, treasury: message.feeSplit.treasury + 1 } }
  malformed(
    encodeConsensusMessage({ kind: 'vote', vote: { checkpoint: badSplit, signature } }),
    'split not 10,000',
  )
  malformed(
    encodeConsensusMessage({ kind: 'vote', vote: { checkpoint: message, signature: '0x1234' } }),
    'short signature',
  )
})

test.run()
