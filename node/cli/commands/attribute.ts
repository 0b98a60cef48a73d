// `openledger attribute`: which Datanet contributions shaped a piece of text. The same attribute() the
// inference node and the validators call, run against an index built from a directory of text files
// (--corpus), a persisted index (--index), or a Datanet version (--datanet, through the resolver the node
// passes in once Datanets persist their indexes).
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import {
  type AttributionIndex,
  type AttributionResult,
  buildCorpus,
  buildIndex,
  type Contribution,
  loadIndex,
  saveIndex,
} from '../../../protocols/attribution/index.ts'
import { ConfigError } from '../../config.ts'
import { type ApiTarget, addTokenOptions, apiOption, apiTarget } from '../api-client.ts'

export interface DatanetRef {
  readonly id: string
  /** null: the latest version. */
  readonly version: string | null
}

export interface AttributeCommandDeps {
  /**
   * Maps `--datanet ID[@version]` to the directory holding that version's persisted attribution index.
   * Left out until Datanets exist; --datanet then fails with a clear message.
   */
  readonly resolveDatanet?: (ref: DatanetRef, api: ApiTarget) => Promise<string>
  /** Where output goes (default process.stdout); ANSI highlighting only when isTTY. */
  readonly stdout?: { write(chunk: string): unknown; isTTY?: boolean }
}

interface Options {
  corpus?: string
  index?: string
  datanet?: string
  file?: string
  json?: boolean
  top?: string
  saveIndex?: string
  api: string
  apiToken?: string
  nodeDir?: string
}

const ZERO_ADDRESS = `0x${'0'.repeat(40)}`
const CONTRIBUTORS_FILE = 'contributors.json'

/**
 * One contribution per regular file (sorted by name: that order is the acceptance order), id = file name.
 * An optional contributors.json maps file names to contributor addresses; others get the zero address.
 */
export async function contributionsFromDirectory(dir: string): Promise<Contribution[]> {
  let names: string[]
  try {
    names = (await readdir(dir)).sort()
  } catch {
    throw new ConfigError({ code: 'CONFIG_INVALID', key: 'corpus' }, `--corpus: cannot read directory ${dir}`)
  }
  let contributors: Record<string, string> = {}
  if (names.includes(CONTRIBUTORS_FILE)) {
    try {
      contributors = JSON.parse(await readFile(join(dir, CONTRIBUTORS_FILE), 'utf8'))
    } catch {
      throw new ConfigError(
        { code: 'CONFIG_INVALID', key: 'corpus' },
        `--corpus: ${CONTRIBUTORS_FILE} is not valid JSON`,
      )
    }
  }
  const out: Contribution[] = []
  for (const name of names) {
    if (name === CONTRIBUTORS_FILE || name.startsWith('.')) continue
    const path = join(dir, name)
    if (!(await stat(path)).isFile()) continue
    out.push({
      id: name,
      contributor: contributors[name] ?? ZERO_ADDRESS,
      text: await readFile(path, 'utf8'),
    })
  }
  return out
}

export function parseDatanetRef(ref: string): DatanetRef {
  const at = ref.lastIndexOf('@')
  const id = at >= 0 ? ref.slice(0, at) : ref
  const version = at >= 0 ? ref.slice(at + 1) : null
  if (!id || version === '') {
    throw new ConfigError(
      { code: 'CONFIG_INVALID', key: 'datanet' },
      `--datanet: expected ID or ID@version, got "${ref}"`,
    )
  }
  return { id, version }
}

async function openIndex(opts: Options, deps: AttributeCommandDeps): Promise<AttributionIndex> {
  const sources = [opts.corpus, opts.index, opts.datanet].filter((x) => x !== undefined)
  if (sources.length !== 1) {
    throw new ConfigError(
      { code: 'CONFIG_INVALID', key: 'corpus' },
      'give exactly one of --corpus DIR, --index DIR, --datanet ID[@version]',
    )
  }
  if (opts.corpus !== undefined) {
    const index = buildIndex(buildCorpus(await contributionsFromDirectory(resolve(opts.corpus))))
    if (opts.saveIndex) await saveIndex(index, resolve(opts.saveIndex))
    return index
  }
  if (opts.index !== undefined) return loadIndex(resolve(opts.index))
  const ref = parseDatanetRef(opts.datanet!)
  if (!deps.resolveDatanet) {
    throw new ConfigError(
      { code: 'CONFIG_INVALID', key: 'datanet' },
      '--datanet is not available in this build yet: use --index DIR (a persisted index) or --corpus DIR',
    )
  }
  return loadIndex(await deps.resolveDatanet(ref, await apiTarget(opts)))
}

const ANSI_ON = '\u001b[1;33m'
const ANSI_OFF = '\u001b[0m'

/** The output text with every matched span marked: ANSI bold yellow on a terminal, [[...]] otherwise. */
export function highlight(text: string, result: AttributionResult, ansi: boolean): string {
  const ranges = result.spans
    .filter((s) => s.charStart !== null && s.charEnd !== null)
    .map((s) => [s.charStart!, s.charEnd!] as [number, number])
    .sort((a, b) => a[0] - b[0])
  // Maximal spans may overlap: merge them into disjoint ranges.
  const merged: [number, number][] = []
  for (const [a, b] of ranges) {
    const last = merged[merged.length - 1]
    if (last && a <= last[1]) last[1] = Math.max(last[1], b)
    else merged.push([a, b])
  }
  const [on, off] = ansi ? [ANSI_ON, ANSI_OFF] : ['[[', ']]']
  let out = ''
  let at = 0
  for (const [a, b] of merged) {
    out += `${text.slice(at, a)}${on}${text.slice(a, b)}${off}`
    at = b
  }
  return out + text.slice(at)
}

export function formatHuman(text: string, result: AttributionResult, ansi: boolean): string {
  const lines = [highlight(text, result, ansi), '']
  const pct = (ppm: number) => `${(ppm / 10_000).toFixed(2)}%`
  const rows = result.entries.map((e) => [
    pct(e.weightPpm),
    String(e.weightPpm),
    e.contributor,
    e.contributionId,
    String(e.spans.length),
  ])
  const header = ['weight', 'ppm', 'contributor', 'contribution', 'spans']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  lines.push(fmt(header))
  for (const r of rows) lines.push(fmt(r))
  lines.push(`unattributed: ${pct(result.unattributedPpm)} (${result.unattributedPpm} ppm)`)
  lines.push(
    `${result.spans.length} matched span(s) in ${result.outputTokens} tokens; params ${result.paramsVersion}, tokenizer ${result.tokenizerVersion}${result.indexId ? `, index ${result.indexId.slice(0, 16)}` : ''}`,
  )
  return `${lines.join('\n')}\n`
}

export function registerAttributeCommand(program: Command, deps: AttributeCommandDeps = {}): void {
  const command = program
    .command('attribute')
    .description('attribute text to the Datanet contributions it draws on (suffix-array span matching)')
    .argument('[text...]', 'the text to attribute (or --file)')
    .option('--corpus <dir>', 'build an index from a directory of text files, one contribution per file')
    .option('--save-index <dir>', 'with --corpus: also persist the built index into this directory')
    .option('--index <dir>', 'use a persisted attribution index')
    .option(
      '--datanet <id[@version]>',
      'use the index of a Datanet version (read through a node, cached locally)',
    )
    .option(...apiOption())
    .option('--file <path>', 'read the text from a file')
    .option('--top <k>', 'number of contributions to list')
    .option('--json', 'print the full result as JSON')
    .action(async (words: string[], opts: Options) => {
      const out = deps.stdout ?? process.stdout
      if (opts.file !== undefined && words.length > 0) {
        throw new ConfigError(
          { code: 'CONFIG_INVALID', key: 'file' },
          'give the text either as arguments or with --file, not both',
        )
      }
      let text: string
      if (opts.file !== undefined) {
        try {
          text = await readFile(resolve(opts.file), 'utf8')
        } catch {
          throw new ConfigError({ code: 'CONFIG_INVALID', key: 'file' }, `--file: cannot read ${opts.file}`)
        }
      } else if (words.length > 0) text = words.join(' ')
      else
        throw new ConfigError(
          { code: 'CONFIG_INVALID', key: 'text' },
          'nothing to attribute: give TEXT or --file F',
        )
      const overrides: { topK?: number } = {}
      if (opts.top !== undefined) {
        const k = Number(opts.top)
        if (!Number.isSafeInteger(k) || k < 1) {
          throw new ConfigError(
            { code: 'CONFIG_INVALID', key: 'top' },
            `--top: expected a positive integer, got "${opts.top}"`,
          )
        }
        overrides.topK = k
      }
      const index = await openIndex(opts, deps)
      const { attribute } = await import('../../../protocols/attribution/index.ts')
      const result = attribute(index, text, overrides)
      if (opts.json) out.write(`${JSON.stringify(result, null, 2)}\n`)
      else out.write(formatHuman(text, result, out.isTTY === true))
    })
  // --datanet reads content through the node, which needs its API token.
  addTokenOptions(command)
}
