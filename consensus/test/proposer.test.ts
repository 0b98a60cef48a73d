// The proposer draw: the same on every machine, within the set, stake-weighted over many rounds, a new
// draw each round; an empty set is a typed error.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Address } from 'viem'
import { validatorSetHash } from '../../contracts/validator-set.ts'
import { hasCode } from '../../protocols/common/errors.ts'
import { proposerDraw, proposerIndex } from '../proposer.ts'

const set = [1n, 2n, 3n, 4n].map((k, i) => ({
  signer: `0x${String(i + 1).repeat(40)}` as Address,
  stake: k * 10n ** 21n,
}))
const hash = validatorSetHash(set)

test('deterministic and stake-weighted over many (epoch, round)', () => {
  assert.is(proposerIndex(set, hash, 7n, 0), proposerIndex([...set], hash, 7n, 0))
  const counts = [0, 0, 0, 0]
  const N = 4000
  for (let e = 0n; e < BigInt(N); e++) counts[proposerIndex(set, hash, e, 0)]!++
  // Expected shares 0.1, 0.2, 0.3, 0.4; with 4,000 draws a share is within 0.03 of it (about 4 sigma).
  counts.forEach((c, i) => assert.ok(Math.abs(c / N - (i + 1) / 10) < 0.03, `validator ${i}: ${c} of ${N}`))
})

test('each round is a fresh draw: the rounds of one epoch do not all pick one proposer', () => {
  const picks = new Set(Array.from({ length: 12 }, (_, r) => proposerIndex(set, hash, 3n, r)))
  assert.ok(picks.size > 1)
  assert.is.not(proposerDraw(hash, 3n, 0), proposerDraw(hash, 3n, 1))
})

test('a validator without stake never proposes; an empty set or bad round is a typed error', () => {
  const withIdle = [...set, { signer: `0x${'9'.repeat(40)}` as Address, stake: 0n }]
  const h = validatorSetHash(withIdle)
  for (let e = 0n; e < 500n; e++) assert.is.not(proposerIndex(withIdle, h, e, 0), 4)
  assert.throws(
    () => proposerIndex([], hash, 1n, 0),
    (err: unknown) => hasCode(err, 'EMPTY_VALIDATOR_SET'),
  )
  assert.throws(
    () => proposerIndex(set, hash, 1n, -1),
    (err: unknown) => hasCode(err, 'BAD_EPOCH_ROUND'),
  )
})

test.run()
