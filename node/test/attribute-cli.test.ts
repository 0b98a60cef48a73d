// The `openledger attribute` command (node/cli/commands/attribute.ts), driven through commander as main.ts
// will drive it. Kept beside the engine's tests because the command is a thin shell over attribute().
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type AttributeCommandDeps, registerAttributeCommand } from '../cli/commands/attribute.ts'

const test = suite('openledger attribute (CLI)')

const ownership =
  'Ownership is a set of rules that govern how a Rust program manages memory. All programs have to manage the way they use a computer memory while running.'
const romeo = 'But, soft! what light through yonder window breaks? It is the east, and Juliet is the sun.'
const alice = `0x${'a'.repeat(40)}`

let dir = ''
test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ol-attr-cli-'))
  await mkdir(join(dir, 'corpus'))
  await writeFile(join(dir, 'corpus', '01-ownership.md'), ownership)
  await writeFile(join(dir, 'corpus', '02-romeo.txt'), romeo)
  await writeFile(join(dir, 'corpus', 'contributors.json'), JSON.stringify({ '01-ownership.md': alice }))
})
test.after.each(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function run(
  args: string[],
  deps: Omit<AttributeCommandDeps, 'stdout'> = {},
  isTTY = false,
): Promise<string> {
  let out = ''
  const program = new Command('openledger').exitOverride()
  registerAttributeCommand(program, { ...deps, stdout: { write: (s: string) => (out += s), isTTY } })
  await program.parseAsync(['node', 'openledger', 'attribute', ...args])
  return out
}

test('--corpus DIR TEXT: highlighted spans (brackets off a terminal) and a weight table', async () => {
  const out = await run(['--corpus', join(dir, 'corpus'), 'As', 'the', 'book', 'says:', ownership])
  assert.match(out, '[[Ownership is a set of rules')
  assert.match(out, /\d+\.\d\d%\s+\d+\s+0xaaaa/)
  assert.match(out, '01-ownership.md')
  assert.match(out, 'unattributed:')
  const tty = await run(['--corpus', join(dir, 'corpus'), ownership], {}, true)
  assert.match(tty, '\u001b[1;33mOwnership')
})

test('--save-index then --index DIR --file F --json --top 1', async () => {
  await run(['--corpus', join(dir, 'corpus'), '--save-index', join(dir, 'idx'), 'x'])
  await writeFile(join(dir, 'out.txt'), `${romeo}\n${ownership}`)
  const json = JSON.parse(
    await run(['--index', join(dir, 'idx'), '--file', join(dir, 'out.txt'), '--json', '--top', '1']),
  )
  assert.is(json.entries.length, 1)
  assert.is(
    json.paramsVersion,
    'custom:ol-attr-2:minSpan=8,rarityHalfCount=8,topK=1,minEntryPpm=5000,maxOutputTokens=65536,maxListedOccurrences=64,ownership=token',
  )
  assert.match(json.indexId, /^[0-9a-f]{64}$/)
  assert.is(json.spans.length, 2)
})

test('--datanet ID@version goes through the resolver; without one it fails clearly', async () => {
  await run(['--corpus', join(dir, 'corpus'), '--save-index', join(dir, 'idx'), 'x'])
  const seen: unknown[] = []
  const out = await run(['--datanet', 'books@3', romeo], {
    resolveDatanet: async (ref) => {
      seen.push(ref)
      return join(dir, 'idx')
    },
  })
  assert.equal(seen, [{ id: 'books', version: '3' }])
  assert.match(out, '02-romeo.txt')
  try {
    await run(['--datanet', 'books', romeo])
    assert.unreachable()
  } catch (err) {
    assert.match((err as Error).message, '--datanet is not available')
  }
})

test('bad usage: no source, two sources, no text, bad --top, unknown index', async () => {
  const fails = async (args: string[], msg: string) => {
    try {
      await run(args)
    } catch (err) {
      assert.match((err as Error).message, msg)
      return
    }
    assert.unreachable(args.join(' '))
  }
  await fails(['hello'], 'exactly one of')
  await fails(['--corpus', dir, '--index', dir, 'hello'], 'exactly one of')
  await fails(['--corpus', join(dir, 'corpus')], 'nothing to attribute')
  await fails(['--corpus', join(dir, 'corpus'), '--top', 'zero', 'x'], '--top')
  await fails(['--index', join(dir, 'missing'), 'x'], 'no attribution index')
})

test.run()
