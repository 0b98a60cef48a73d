import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  type AttributionError,
  attribute,
  buildCorpus,
  buildIndex,
  INDEX_FILE,
  loadIndex,
  saveIndex,
} from '../index.ts'

const test = suite('index persistence')

const text = (i: number) =>
  `Contribution ${i}: the borrow checker compares scopes to determine whether all borrows are valid, case ${i * 13}.`
const corpus = () =>
  buildCorpus(
    Array.from({ length: 30 }, (_, i) => ({
      id: `bafy${i}`,
      contributor: `0x${(i + 1).toString(16).padStart(40, '0')}`,
      text: text(i),
    })),
  )

let dir = ''
test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ol-attr-'))
})
test.after.each(async () => {
  await rm(dir, { recursive: true, force: true })
})

const isCode = (code: string) => (e: unknown) => (e as AttributionError).code === code

async function rejects(fn: () => Promise<unknown>, pred: (e: unknown) => boolean, label = ''): Promise<void> {
  try {
    await fn()
  } catch (err) {
    assert.ok(pred(err), `${label}: unexpected error ${String(err)}`)
    return
  }
  assert.unreachable(`${label}: expected a rejection`)
}

test('save then load gives the same index and the same attributions; id is the checksum', async () => {
  const index = buildIndex(corpus())
  const id = await saveIndex(index, dir)
  assert.match(id, /^[0-9a-f]{64}$/)
  assert.equal(await readdir(dir), [INDEX_FILE], 'no temp files left behind')
  const loaded = await loadIndex(dir)
  assert.is(loaded.id, id)
  assert.equal(Array.from(loaded.sa), Array.from(index.sa))
  assert.equal(Array.from(loaded.tokens), Array.from(index.tokens))
  assert.equal(loaded.contributions, index.contributions)
  const q = `${text(7)} and more`
  const a = attribute(index, q)
  const b = attribute(loaded, q)
  assert.equal({ ...a, indexId: null }, { ...b, indexId: null })
  assert.is(b.indexId, id)
  // Saving the same corpus again gives the same bytes.
  const dir2 = await mkdtemp(join(tmpdir(), 'ol-attr-'))
  assert.is(await saveIndex(buildIndex(corpus()), dir2), id)
  await rm(dir2, { recursive: true, force: true })
})

test('missing index: UNKNOWN_INDEX', async () => {
  await rejects(() => loadIndex(join(dir, 'nope')), isCode('UNKNOWN_INDEX'))
})

test('any flipped byte: INDEX_CORRUPT; truncation and bad magic too', async () => {
  await saveIndex(buildIndex(corpus()), dir)
  const path = join(dir, INDEX_FILE)
  const good = await readFile(path)
  for (const at of [20, Math.floor(good.length / 2), good.length - 40, good.length - 1]) {
    const bad = Buffer.from(good)
    bad[at] ^= 0x40
    await writeFile(path, bad)
    await rejects(() => loadIndex(dir), isCode('INDEX_CORRUPT'), `byte ${at}`)
  }
  await writeFile(path, good.subarray(0, good.length - 100))
  await rejects(() => loadIndex(dir), isCode('INDEX_CORRUPT'))
  await writeFile(path, Buffer.from('not an index at all, just some bytes that are long enough to read'))
  await rejects(() => loadIndex(dir), isCode('INDEX_CORRUPT'))
})

test('another format version: INDEX_VERSION_MISMATCH', async () => {
  await saveIndex(buildIndex(corpus()), dir)
  const path = join(dir, INDEX_FILE)
  const buf = await readFile(path)
  buf.writeUInt32LE(99, 8)
  await writeFile(path, buf)
  await rejects(() => loadIndex(dir), isCode('INDEX_VERSION_MISMATCH'))
})

test('overwriting keeps a whole file at every moment (rename), and the new one loads', async () => {
  await saveIndex(buildIndex(corpus()), dir)
  const small = buildIndex(buildCorpus([{ id: 'x', contributor: `0x${'1'.repeat(40)}`, text: 'tiny' }]))
  await saveIndex(small, dir)
  const loaded = await loadIndex(dir)
  assert.is(loaded.contributions.length, 1)
  assert.equal(await readdir(dir), [INDEX_FILE])
})

test.run()
