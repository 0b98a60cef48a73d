// The small pieces the backends share: request checks, the bounded generation queue, streamed text.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { checkRequest } from '../backend.ts'
import { DEFAULT_INFERENCE_LIMITS } from '../constants.ts'
import { GenerationQueue } from '../queue.ts'
import { TextStream } from '../text-stream.ts'
import { codeOf } from './fixtures.ts'

const test = suite('inference units')

const limits = { ...DEFAULT_INFERENCE_LIMITS, maxPromptBytes: 32, maxPromptTokens: 8, maxTokens: 50 }
const check = (r: object) => async () => checkRequest(r as never, limits)

test('checkRequest: defaults, bounds and shapes', async () => {
  const ok = checkRequest({ model: 'm', prompt: 'hi', maxTokens: 3 }, limits)
  assert.equal(ok, {
    model: 'm',
    adapter: null,
    prompt: 'hi',
    promptTokenIds: null,
    maxTokens: 3,
    temperature: 0,
    topP: 1,
    seed: 0,
    stop: [],
    continuation: null,
  })
  assert.is(await codeOf(check({ model: 'm', prompt: 'é'.repeat(17), maxTokens: 1 })), 'PROMPT_TOO_LARGE')
  assert.is(await codeOf(check({ model: 'm', prompt: 'x'.repeat(1e6), maxTokens: 1 })), 'PROMPT_TOO_LARGE')
  assert.is(
    await codeOf(check({ model: 'm', promptTokenIds: Array(9).fill(1), maxTokens: 1 })),
    'PROMPT_TOO_LARGE',
  )
  assert.is(await codeOf(check({ model: 'm', prompt: 'x', maxTokens: 51 })), 'MAX_TOKENS_TOO_LARGE')
  for (const bad of [
    { model: 'm', maxTokens: 1 },
    { model: 'm', prompt: 'x', promptTokenIds: [1], maxTokens: 1 },
    { model: '', prompt: 'x', maxTokens: 1 },
    { model: 'm', prompt: 'x', maxTokens: 1.5 },
    { model: 'm', prompt: 'x', maxTokens: 1, temperature: -1 },
    { model: 'm', prompt: 'x', maxTokens: 1, topP: 0 },
    { model: 'm', prompt: 'x', maxTokens: 1, seed: 2 ** 32 },
    { model: 'm', prompt: 'x', maxTokens: 1, stop: ['a', 'b', 'c', 'd', 'e'] },
    { model: 'm', prompt: 'x', maxTokens: 1, stop: ['x'.repeat(65)] },
    { model: 'm', promptTokenIds: [1, -2], maxTokens: 1 },
    { model: 'm', prompt: 7, maxTokens: 1 },
  ])
    assert.is(await codeOf(check(bad)), 'INVALID_REQUEST', JSON.stringify(bad).slice(0, 80))
})

test('queue: slots, then a bounded line in arrival order, then BUSY', async () => {
  const q = new GenerationQueue(2, 2)
  const r1 = await q.acquire()
  const r2 = await q.acquire()
  const order: number[] = []
  const track = (n: number) => (release: () => void) => {
    order.push(n)
    return release
  }
  const w3 = q.acquire().then(track(3))
  const w4 = q.acquire().then(track(4))
  assert.is(await codeOf(() => q.acquire()), 'BUSY')
  assert.equal([q.active, q.queued], [2, 2])
  r1()
  r1() // a second release is ignored
  const r3 = await w3
  assert.equal([q.active, q.queued], [2, 1])
  r2()
  const r4 = await w4
  assert.equal(order, [3, 4])
  r3()
  r4()
  assert.equal([q.active, q.queued], [0, 0])
})

test('queue: idle() resolves once nothing runs or waits, or at its timeout', async () => {
  const q = new GenerationQueue(1, 1)
  await q.idle(10_000) // already idle
  const r1 = await q.acquire()
  const ac = new AbortController()
  const waiting = q.acquire(ac.signal).catch(() => undefined)
  let idle = false
  const whenIdle = q.idle(60_000).then(() => {
    idle = true
  })
  ac.abort()
  await waiting
  await Promise.resolve()
  assert.not.ok(idle, 'a slot is still held')
  r1()
  await whenIdle
  assert.ok(idle)
  const r2 = await q.acquire()
  await q.idle(1) // held past the timeout: resolves anyway
  r2()
})

test('queue: a waiter that aborts leaves the line', async () => {
  const q = new GenerationQueue(1, 1)
  const r1 = await q.acquire()
  const ac = new AbortController()
  const waiting = q.acquire(ac.signal)
  ac.abort(new Error('gone'))
  assert.is(await codeOf(() => waiting), 'ABORTED')
  assert.is(q.queued, 0)
  r1()
  assert.is(q.active, 0)
})

test('text stream holds back a split character and a forming stop string', () => {
  const t = new TextStream([])
  assert.is(t.push('a\uFFFD').piece, 'a')
  assert.is(t.push('a€').piece, '€')
  assert.is(t.finish('a€\uFFFD'), '\uFFFD')
  const s = new TextStream(['END'])
  assert.is(s.push('abcE').piece, 'abc')
  assert.is(s.push('abcEN').piece, '')
  assert.is(s.push('abcENx').piece, 'ENx')
  assert.equal(s.push('abcENx--END more'), { piece: '--', stopped: true })
})

test.run()
