// `openledger datanet ...`: acts through a running node's HTTP API (the node holds the keys, the IPFS
// content and the gossip connections), as `geth attach` or Lighthouse's validator client do.
import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { Readable } from 'node:stream'
import cliProgress from 'cli-progress'
import type { Command } from 'commander'
import { OpenLedgerError } from '../../../protocols/common/errors.ts'
import type { ContributionRecord } from '../../../protocols/datanet/service.ts'
import { ApiError, type ApiTarget, addTokenOptions, apiOption, apiTarget, callApi } from '../api-client.ts'
import { waitForJob } from '../job-wait.ts'

function print(value: unknown, json: boolean | undefined, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`)
}

/** Cells come from other peers (a contribution's name): control characters and bidirectional overrides
 * are shown as U+FFFD, so no cell can move the cursor, rewrite the screen or reorder what is read. */
function printable(cell: string): string {
  return cell.replace(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu, '\ufffd')
}

function table(cells: string[][]): string {
  const rows = cells.map((r) => r.map(printable))
  if (rows.length === 0) return ''
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

async function upload(
  api: ApiTarget,
  datanet: string,
  file: string,
  license: string | undefined,
  quiet: boolean,
) {
  const size = (await stat(file)).size
  const showBar = !quiet && process.stderr.isTTY && size > 1024 * 1024
  const bar = new cliProgress.SingleBar(
    {
      format: `${basename(file)} [{bar}] {percentage}% | {value}/{total} bytes | {rate} MB/s`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  )
  const started = Date.now()
  let sent = 0
  if (showBar) bar.start(size, 0, { rate: '0.0' })
  const source = createReadStream(file, { highWaterMark: 1 << 20 })
  source.on('data', (chunk) => {
    sent += chunk.length
    if (showBar)
      bar.update(sent, { rate: (sent / 1e6 / Math.max((Date.now() - started) / 1000, 0.001)).toFixed(1) })
  })
  const query = new URLSearchParams({ name: basename(file), ...(license ? { license } : {}) })
  try {
    return await callApi(api, 'POST', `/v1/datanets/${datanet}/contributions?${query}`, {
      body: Readable.toWeb(source) as ReadableStream,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      duplex: 'half',
    })
  } finally {
    if (showBar) bar.stop()
  }
}

export function registerDatanetCommands(program: Command): void {
  const datanet = program
    .command('datanet')
    .description('community datasets: create, contribute, curate, publish, replicate')

  datanet
    .command('create')
    .description('create a Datanet owned by the node account; rules go to IPFS, the metadata CID on chain')
    .requiredOption('--name <name>', 'name')
    .option('--description <text>', 'description', '')
    .option('--curator <address...>', 'curator accounts (besides the owner)', [])
    .option(
      '--rules <file>',
      'JSON file with rules (extensions, maxBytes, nearDuplicateThreshold, dailyQuota, license)',
    )
    .option(...apiOption())
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const rules = opts.rules ? JSON.parse(await readFile(opts.rules, 'utf8')) : undefined
      const res = await callApi(await apiTarget(opts), 'POST', '/v1/datanets', {
        json: {
          metadata: { name: opts.name, description: opts.description, ...(rules ? { rules } : {}) },
          curators: opts.curator,
        },
      })
      print(res, opts.json, () => `created Datanet ${res.datanetId} (metadata ${res.metadataCid})`)
    })

  datanet
    .command('contribute')
    .description('add files to a Datanet: stored in IPFS, signed (EIP-712) and gossiped to its curators')
    .requiredOption('--datanet <id>', 'Datanet id')
    .argument('<files...>', '.txt, .md or .jsonl files (UTF-8)')
    .option('--license <spdx>', 'licence of the contribution (default: the Datanet rule)')
    .option('--quiet', 'no progress bar')
    .option(...apiOption())
    .option('--json', 'print JSON')
    .action(async (files: string[], opts) => {
      const api = await apiTarget(opts)
      const results: ContributionRecord[] = []
      const failed: { file: string; error: string }[] = []
      // Each file on its own: one refused file does not hide what the others did.
      for (const file of files) {
        try {
          results.push(await upload(api, opts.datanet, file, opts.license, opts.quiet))
        } catch (err) {
          if (!(err instanceof OpenLedgerError) || files.length === 1) throw err
          failed.push({ file, error: err.message })
        }
      }
      if (results.length > 0 || opts.json)
        print(results, opts.json, () =>
          results.map((r) => `${r.name}: ${r.contentCid} (${r.bytes} bytes, ${r.status})`).join('\n'),
        )
      if (failed.length > 0) {
        throw new ApiError(
          { code: 'CONTRIBUTION_FAILED', status: 0 },
          `${failed.length} of ${files.length} files not contributed (the others were):\n${failed
            .map((f) => `  ${f.file}: ${f.error}`)
            .join('\n')}`,
        )
      }
    })

  datanet
    .command('review')
    .description('list contributions waiting for a curator decision (--all: every status)')
    .requiredOption('--datanet <id>', 'Datanet id')
    .option('--all', 'include accepted and rejected contributions with their reasons')
    .option(...apiOption())
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const res = await callApi(
        await apiTarget(opts),
        'GET',
        `/v1/datanets/${opts.datanet}/contributions${opts.all ? '' : '?status=pending'}`,
      )
      print(res.contributions, opts.json, () =>
        table([
          ['cid', 'name', 'bytes', 'contributor', 'status', 'reason'],
          ...res.contributions.map((c: ContributionRecord) => [
            c.contentCid,
            c.name,
            String(c.bytes),
            c.contributor,
            c.status,
            c.reason ? `${c.reason}: ${c.message}` : '',
          ]),
        ]),
      )
    })

  for (const [name, accept] of [
    ['accept', true],
    ['reject', false],
  ] as const) {
    const cmd = datanet
      .command(name)
      .description(
        accept
          ? 'accept a pending contribution (it goes into the next version)'
          : 'reject a pending contribution',
      )
      .requiredOption('--datanet <id>', 'Datanet id')
      .argument('<cids...>', 'content CIDs')
      .option(...apiOption())
      .option('--json', 'print JSON')
    if (!accept) cmd.requiredOption('--reason <text>', 'why, shown to the contributor')
    cmd.action(async (cids: string[], opts) => {
      const api = await apiTarget(opts)
      const out: ContributionRecord[] = []
      for (const cid of cids) {
        out.push(
          await callApi(api, 'POST', `/v1/datanets/${opts.datanet}/contributions/${cid}/${name}`, {
            json: accept ? {} : { reason: opts.reason },
          }),
        )
      }
      print(out, opts.json, () => out.map((r) => `${r.contentCid}: ${r.status}`).join('\n'))
    })
  }

  datanet
    .command('publish')
    .description('publish the next version: manifest in IPFS, Merkle root and manifest CID on chain')
    .requiredOption('--datanet <id>', 'Datanet id')
    .option(...apiOption())
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const res = await callApi(await apiTarget(opts), 'POST', `/v1/datanets/${opts.datanet}/publish`, {
        json: {},
      })
      print(
        res,
        opts.json,
        () =>
          `published version ${res.version} of Datanet ${opts.datanet}: ${res.count} contributions, manifest ${res.manifestCid}, root ${res.contributionsRoot}`,
      )
    })

  datanet
    .command('ls')
    .description('list Datanets on chain')
    .option(...apiOption())
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const res = await callApi(await apiTarget(opts), 'GET', '/v1/datanets')
      print(res.datanets, opts.json, () =>
        table([
          ['id', 'owner', 'versions', 'type', 'metadata'],
          ...res.datanets.map(
            (d: {
              datanetId: string
              owner: string
              versionCount: number
              contributionType: string
              metadataCid: string
            }) => [d.datanetId, d.owner, String(d.versionCount), d.contributionType, d.metadataCid],
          ),
        ]),
      )
    })

  datanet
    .command('show')
    .description('show a Datanet, or one of its versions with every contribution')
    .argument('<id>', 'Datanet id, or ID@VERSION for one version (as --datanet takes elsewhere)')
    .option('--version <v>', 'version number')
    .option(...apiOption())
    .option('--json', 'print JSON')
    .action(async (ref: string, opts) => {
      const [id, atVersion] = ref.split('@', 2)
      const version = opts.version ?? atVersion
      const path = version ? `/v1/datanets/${id}/versions/${version}` : `/v1/datanets/${id}`
      const res = await callApi(await apiTarget(opts), 'GET', path)
      print(res, opts.json, () => JSON.stringify(res, null, 2))
    })

  datanet
    .command('serve')
    .description(
      "replicate a Datanet's latest version (every chunk, verified by CID), pin it and provide it on the DHT",
    )
    .argument('<id>', 'Datanet id')
    .option(...apiOption())
    .option('--no-wait', 'return the job id at once; follow it with `openledger job show ID`')
    .option('--quiet', 'no progress bar')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      const api = await apiTarget(opts)
      const started = await callApi(api, 'POST', `/v1/datanets/${id}/serve`, { json: {} })
      if (!opts.wait) {
        print(started, opts.json, () => `serving Datanet ${id}: job ${started.jobId} (${started.state})`)
        return
      }
      const res = await waitForJob<{
        waiting?: string
        version?: number
        blocks?: number
        bytes?: number
        manifestCid?: string
      }>(api, started.jobId, { label: `serve ${id}`, quiet: opts.quiet })
      print(res, opts.json, () =>
        res.waiting
          ? `serving Datanet ${id}: ${res.waiting}`
          : `serving Datanet ${id} version ${res.version}: ${res.blocks} blocks, ${res.bytes} bytes (manifest ${res.manifestCid})`,
      )
    })

  datanet
    .command('status')
    .description('versions, local completeness and providers found for each chunk')
    .argument('<id>', 'Datanet id')
    .option(...apiOption())
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      const res = await callApi(await apiTarget(opts), 'GET', `/v1/datanets/${id}/status`)
      print(res, opts.json, () =>
        [
          `Datanet ${id}: ${res.versions.length} version(s), latest manifest ${res.latestManifestCid ?? '-'}, ${res.served ? 'served here' : 'not served here'}`,
          `local: ${res.blocksHeld}/${res.blocksTotal} blocks (${res.bytesHeld} bytes)${res.complete ? ', complete' : ''}`,
          res.lastError ? `last error: ${res.lastError}` : '',
          table([
            ['chunk', 'providers'],
            ...res.providers.map((p: { cid: string; providers: number }) => [p.cid, String(p.providers)]),
          ]),
        ]
          .filter(Boolean)
          .join('\n'),
      )
    })
  // Every datanet command acts through the API: each takes the token options.
  for (const cmd of datanet.commands) addTokenOptions(cmd)
}
