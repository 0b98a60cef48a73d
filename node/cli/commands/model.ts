// `openledger model train|adapt|generate` (and register|ls|show|fetch through hooks the node provides:
// node/cli/model-hooks.ts calls the node's HTTP API).
// Training reads text from `--corpus` files or folders today; `--datanet ID[@v]` goes through
// `deps.resolveDatanet`, which the node supplies once Datanets can be read locally.
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import type { Command } from 'commander'
import { ModelError, ModelErrorCode } from '../../../protocols/model/errors.ts'
import type { DatanetRef, ModelDocument, TrainingProgress } from '../../../protocols/model/index.ts'
import { type ApiTarget, apiOption, apiTarget, apiToken } from '../api-client.ts'

export interface ResolvedDatanet {
  datanetId: string
  /** The exact version read (the latest, when the reference named none). */
  version: number
  /** Accepted contributions in acceptance order. */
  documents: ModelDocument[]
}

export interface ModelCommandDeps {
  /** Reads a Datanet version's accepted contributions; absent until the node wires Datanets in. */
  resolveDatanet?: (ref: { datanetId: string; version?: number }, api: ApiTarget) => Promise<ResolvedDatanet>
  /**
   * Adds the folder to Helia and registers it on chain; returns the model id. `api`: the node to act
   * through, `token` its API token (each hook falls back to its own when absent).
   */
  registerModel?: (opts: {
    dir: string
    priceIn: string
    priceOut: string
    api?: string
    token?: string
  }) => Promise<{ modelId: string }>
  /**
   * Adds one adapter folder to Helia and registers it on chain as an adapter of the registered base model
   * `baseModelId`, owned by the node's account; returns the adapter's id (from the models' id space).
   */
  registerAdapter?: (opts: {
    baseModelId: string
    dir: string
    priceIn: string
    priceOut: string
    api?: string
    token?: string
  }) => Promise<{ adapterId: string }>
  listModels?: (opts?: { api?: string; token?: string }) => Promise<unknown[]>
  showModel?: (modelId: string, opts?: { api?: string; token?: string }) => Promise<unknown>
  /**
   * Fetches a registered model by id into DATA_DIR/models/NAME on the node (a background job), verified
   * file by file; with `outDir`, copies it there. `wait: false` returns the job id at once.
   */
  fetchModel?: (opts: {
    modelId: string
    name?: string
    outDir?: string
    api?: string
    token?: string
    wait?: boolean
    quiet?: boolean
  }) => Promise<{ dir?: string; jobId?: string; state?: string }>
}

/** Parses `ID[@version]`. */
export function parseDatanetRef(text: string): { datanetId: string; version?: number } {
  const at = text.lastIndexOf('@')
  if (at < 0) return { datanetId: text }
  const version = Number(text.slice(at + 1))
  if (at === 0 || !Number.isInteger(version) || version < 0) {
    throw new ModelError(
      { code: ModelErrorCode.INVALID_ARGUMENT, argument: 'datanet', reason: 'expected ID or ID@VERSION' },
      `--datanet ${text}: expected ID or ID@VERSION with a non-negative integer version`,
    )
  }
  return { datanetId: text.slice(0, at), version }
}

const TEXT_FILE = /\.(txt|md|markdown|text)$/i

/** Text files of a path: a file is one document; a folder gives its text files (recursive, sorted by path). */
export async function readCorpus(paths: string[]): Promise<ModelDocument[]> {
  const docs: ModelDocument[] = []
  for (const p of paths) {
    const root = resolve(p)
    let info: Awaited<ReturnType<typeof stat>>
    try {
      info = await stat(root)
    } catch {
      throw new ModelError(
        { code: ModelErrorCode.FILE_MISSING, file: p },
        `--corpus ${p}: no such file or folder`,
      )
    }
    if (info.isFile()) {
      docs.push({ id: p, text: await readFile(root, 'utf8') })
      continue
    }
    const files: string[] = []
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name)
        if (entry.isDirectory()) await walk(full)
        else if (entry.isFile() && TEXT_FILE.test(entry.name)) files.push(full)
      }
    }
    await walk(root)
    files.sort()
    for (const f of files) docs.push({ id: relative(root, f), text: await readFile(f, 'utf8') })
  }
  return docs
}

async function gatherDocuments(
  opts: { corpus?: string[]; datanet?: string[]; api?: string; apiToken?: string; nodeDir?: string },
  deps: ModelCommandDeps,
): Promise<{ documents: ModelDocument[]; datanets: DatanetRef[] }> {
  const documents: ModelDocument[] = []
  const datanets: DatanetRef[] = []
  for (const text of opts.datanet ?? []) {
    const ref = parseDatanetRef(text)
    if (!deps.resolveDatanet) {
      throw new ModelError(
        { code: ModelErrorCode.DATANET_RESOLUTION_UNAVAILABLE, datanet: text },
        `--datanet ${text}: Datanet resolution is not configured in this build; use --corpus DIR|FILE`,
      )
    }
    const resolved = await deps.resolveDatanet(ref, await apiTarget(opts))
    datanets.push({ datanetId: resolved.datanetId, version: resolved.version })
    for (const d of resolved.documents)
      documents.push({ id: `${resolved.datanetId}@${resolved.version}/${d.id}`, text: d.text })
  }
  if (opts.corpus?.length) documents.push(...(await readCorpus(opts.corpus)))
  if (!opts.corpus?.length && !opts.datanet?.length) {
    throw new ModelError(
      { code: ModelErrorCode.INVALID_ARGUMENT, argument: 'corpus', reason: 'no training text given' },
      'give the training text with --datanet ID[@v] or --corpus DIR|FILE',
    )
  }
  return { documents, datanets }
}

/** A cli-progress bar on stderr showing step, loss and tokens/s; silent when quiet or not a TTY. */
async function progressBar(label: string, quiet: boolean | undefined) {
  if (quiet || !process.stderr.isTTY) return { update: (_p: TrainingProgress) => {}, stop: () => {} }
  const { SingleBar, Presets } = (await import('cli-progress')).default
  const bar = new SingleBar(
    {
      format: `${label} |{bar}| step {value}/{total} | loss {loss} | {tps} tok/s | eta {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  )
  let started = false
  return {
    update: (p: TrainingProgress) => {
      if (!started) {
        bar.start(p.steps, 0, { loss: '-', tps: '-' })
        started = true
      }
      bar.update(p.step, { loss: p.loss.toFixed(3), tps: Math.round(p.tokensPerSec) })
    },
    stop: () => {
      if (started) bar.stop()
    },
  }
}

// No default here: the hooks fall back to their own node address (OPENLEDGER_API or the default).
const apiFlag = apiOption().slice(0, 2) as [string, string]
const tokenFlag: [string, string] = [
  '--api-token <token>',
  'API token of the node (default: read from --node-dir, then env OPENLEDGER_API_TOKEN)',
]
// The node's data dir is --node-dir in every command that calls the API (here --dir is a model folder).
const dirFlag: [string, string] = [
  '--node-dir <dir>',
  "the node's data dir, to read its API token from DIR/api-token",
]
const token = (opts: { apiToken?: string; nodeDir?: string }) => apiToken(opts)

const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v)
    if (!Number.isFinite(n) || n < 0)
      throw new ModelError(
        { code: ModelErrorCode.INVALID_ARGUMENT, argument: name, reason: 'not a number' },
        `--${name} ${v} is not a non-negative number`,
      )
    return n
  }
}

export function registerModelCommands(program: Command, deps: ModelCommandDeps = {}): Command {
  const model = program.command('model').description('train, adapt, run and register small language models')

  model
    .command('train')
    .description('train a small language model from Datanets or text files and write an ONNX model folder')
    .option('--datanet <ID[@v]>', 'Datanet (and version) to train on; repeatable', collect)
    .option('--corpus <path>', 'text file or folder of .txt/.md files to train on; repeatable', collect)
    .requiredOption('--out <dir>', 'output model folder')
    .option('--preset <name>', 'tiny (seconds, what tests use) or small (minutes)', 'tiny')
    .option('--seed <n>', 'random seed (training is deterministic for a seed)', positive('seed'), 1)
    .option('--steps <n>', 'override the preset number of steps', positive('steps'))
    .option('--quiet', 'no progress bar')
    .option('--json', 'print the result as JSON')
    .option(...apiFlag)
    .option(...tokenFlag)
    .option(...dirFlag)
    .action(async (opts) => {
      const m = await import('../../../protocols/model/index.ts')
      const { documents, datanets } = await gatherDocuments(opts, deps)
      const bar = await progressBar('train', opts.quiet)
      let result: ReturnType<typeof m.trainModel>
      try {
        result = m.trainModel(documents, {
          preset: opts.preset,
          seed: opts.seed,
          steps: opts.steps,
          onProgress: bar.update,
        })
      } finally {
        bar.stop()
      }
      const { metrics } = result
      const out = resolve(opts.out)
      const manifest = await m.saveModel(out, result.model, {
        datanets,
        training: {
          preset: opts.preset,
          seed: opts.seed,
          steps: metrics.steps,
          valPerplexity: metrics.valPerplexity,
          unigramPerplexity: metrics.unigramPerplexity,
        },
      })
      if (opts.json) process.stdout.write(`${JSON.stringify({ dir: out, metrics, manifest })}\n`)
      else {
        process.stdout.write(
          `model written to ${out}\n` +
            `  ${metrics.steps} steps, ${metrics.trainTokens} tokens in ${metrics.seconds.toFixed(1)} s (${Math.round(metrics.tokensPerSec)} tokens/s)\n` +
            `  held-out perplexity ${metrics.valPerplexity.toFixed(2)} (unigram baseline ${metrics.unigramPerplexity.toFixed(2)}, ${metrics.heldOutTokens} tokens)\n`,
        )
      }
    })

  model
    .command('adapt')
    .description('train a LoRA adapter on a Datanet with the base model frozen')
    .requiredOption('--base <dir>', 'base model folder')
    .option('--datanet <ID[@v]>', 'Datanet (and version) to adapt to; repeatable', collect)
    .option('--corpus <path>', 'text file or folder to adapt to; repeatable', collect)
    .requiredOption('--rank <r>', 'LoRA rank', positive('rank'))
    .option('--alpha <a>', 'LoRA alpha (scale = alpha / rank); default 2 × rank', positive('alpha'))
    .requiredOption('--out <dir>', 'adapter folder (e.g. BASE/adapters/NAME)')
    .option('--seed <n>', 'random seed', positive('seed'), 1)
    .option('--steps <n>', 'training steps', positive('steps'))
    .option('--quiet', 'no progress bar')
    .option('--json', 'print the result as JSON')
    .option(...apiFlag)
    .option(...tokenFlag)
    .option(...dirFlag)
    .action(async (opts) => {
      const m = await import('../../../protocols/model/index.ts')
      const base = await m.loadModel(resolve(opts.base))
      const { documents, datanets } = await gatherDocuments(opts, deps)
      const bar = await progressBar('adapt', opts.quiet)
      let result: ReturnType<typeof m.trainAdapter>
      try {
        result = m.trainAdapter(base, documents, {
          rank: opts.rank,
          alpha: opts.alpha ?? 2 * opts.rank,
          seed: opts.seed,
          steps: opts.steps,
          onProgress: bar.update,
        })
      } finally {
        bar.stop()
      }
      const { metrics } = result
      const out = resolve(opts.out)
      const config = await m.saveAdapter(
        out,
        result.adapter,
        { config: base.config, baseWeightsCid: base.manifest.files[m.FILES.weights] },
        {
          datanets,
          training: {
            seed: opts.seed,
            steps: metrics.steps,
            basePerplexity: metrics.basePerplexity,
            adaptedPerplexity: metrics.adaptedPerplexity,
          },
        },
      )
      if (opts.json) process.stdout.write(`${JSON.stringify({ dir: out, metrics, config })}\n`)
      else {
        process.stdout.write(
          `adapter written to ${out}\n` +
            `  rank ${result.adapter.rank}, ${metrics.steps} steps in ${metrics.seconds.toFixed(1)} s (${Math.round(metrics.tokensPerSec)} tokens/s)\n` +
            `  held-out perplexity on its Datanet: ${metrics.basePerplexity.toFixed(2)} base → ${metrics.adaptedPerplexity.toFixed(2)} with adapter\n`,
        )
      }
    })

  model
    .command('generate')
    .description('generate text with onnxruntime from a model folder')
    .requiredOption('--dir <dir>', 'model folder')
    .option('--adapter <name|dir>', 'adapter name under DIR/adapters, or an adapter folder')
    .requiredOption('--prompt <text>', 'prompt')
    .option('--max-tokens <n>', 'maximum tokens to generate', positive('max-tokens'), 64)
    .option('--temperature <t>', '0 is greedy', positive('temperature'), 0)
    .option('--top-p <p>', 'nucleus mass kept when sampling', positive('top-p'), 1)
    .option('--seed <n>', 'sampling seed', positive('seed'), 0)
    .option('--stop <text>', 'stop string; repeatable', collect)
    .option('--json', 'print the result as JSON')
    .action(async (opts) => {
      const { OnnxLanguageModel } = await import('../../../protocols/model/index.ts')
      const lm = await OnnxLanguageModel.load(resolve(opts.dir))
      try {
        const adapter = opts.adapter ? (await lm.loadAdapter(opts.adapter)).weights : null
        const result = await lm.generate(opts.prompt, {
          maxTokens: opts.maxTokens,
          temperature: opts.temperature,
          topP: opts.topP,
          seed: opts.seed,
          stop: opts.stop,
          adapter,
        })
        if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`)
        else process.stdout.write(`${opts.prompt}${result.text}\n`)
      } finally {
        await lm.release()
      }
    })

  const notConfigured = (what: string): never => {
    throw new ModelError(
      { code: ModelErrorCode.INVALID_ARGUMENT, argument: what, reason: 'not configured' },
      `model ${what}: the model registry is not configured in this build`,
    )
  }

  model
    .command('register')
    .description(
      'add a model folder (--dir), or one adapter folder of a registered base model (--base ID --adapter-dir), ' +
        "to Helia and register it in the ModelRegistry; prints the new id (adapters share the models' ids)",
    )
    .option('--dir <dir>', 'model folder (its adapters/ are registered with it, bundled)')
    .option(
      '--adapter-dir <dir>',
      "one adapter folder (adapter_model.safetensors, adapter_config.json) to register as a model of its own, owned by the node's account; needs --base",
    )
    .option('--base <id>', 'registered base model the adapter was trained against (with --adapter-dir)')
    .requiredOption('--price-in <x>', 'price in OPEN per 1,000 input tokens (decimal, e.g. 0.5)')
    .requiredOption('--price-out <y>', 'price in OPEN per 1,000 output tokens (decimal)')
    .option(...apiFlag)
    .option(...tokenFlag)
    .option(...dirFlag)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  openledger model register --dir ./base --price-in 0.5 --price-out 1\n' +
        '  openledger model register --base 1 --adapter-dir ./base/adapters/rust --price-in 0.1 --price-out 0.2\n' +
        'Anyone may register an adapter of any live base model; the base owner is still paid its share.\n',
    )
    .action(async (opts) => {
      const adapter = opts.adapterDir !== undefined || opts.base !== undefined
      if (adapter ? opts.dir !== undefined || !opts.adapterDir || !opts.base : !opts.dir) {
        throw new ModelError(
          {
            code: ModelErrorCode.INVALID_ARGUMENT,
            argument: adapter ? 'adapter-dir' : 'dir',
            reason: 'usage',
          },
          'give --dir DIR (a model folder), or --base ID with --adapter-dir DIR (an adapter of model ID), not both',
        )
      }
      if (adapter) {
        if (!/^[1-9]\d{0,76}$/.test(opts.base)) {
          throw new ModelError(
            { code: ModelErrorCode.INVALID_ARGUMENT, argument: 'base', reason: 'not a model id' },
            `--base ${opts.base}: expected a registered model id (a positive integer)`,
          )
        }
        if (!deps.registerAdapter) notConfigured('register')
        const { adapterId } = await deps.registerAdapter!({
          baseModelId: opts.base,
          dir: resolve(opts.adapterDir),
          priceIn: opts.priceIn,
          priceOut: opts.priceOut,
          api: opts.api,
          token: await token(opts),
        })
        process.stdout.write(`${adapterId}\n`)
        return
      }
      if (!deps.registerModel) notConfigured('register')
      const { loadModel } = await import('../../../protocols/model/index.ts')
      await loadModel(resolve(opts.dir)) // refuse corrupted or unknown files before anything is published
      const { modelId } = await deps.registerModel!({
        dir: resolve(opts.dir),
        priceIn: opts.priceIn,
        priceOut: opts.priceOut,
        api: opts.api,
        token: await token(opts),
      })
      process.stdout.write(`${modelId}\n`)
    })

  model
    .command('ls')
    .description('list registered models')
    .option(...apiFlag)
    .option(...tokenFlag)
    .option(...dirFlag)
    .action(async (opts) => {
      if (!deps.listModels) notConfigured('ls')
      const listed = await deps.listModels!({ api: opts.api, token: await token(opts) })
      process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`)
    })

  model
    .command('show <modelId>')
    .description('show one registered model')
    .option(...apiFlag)
    .option(...tokenFlag)
    .option(...dirFlag)
    .action(async (modelId: string, opts) => {
      if (!deps.showModel) notConfigured('show')
      const shown = await deps.showModel!(modelId, { api: opts.api, token: await token(opts) })
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`)
    })

  model
    .command('fetch')
    .description(
      "fetch a registered model by id from IPFS into the node's data dir (DIR/models/NAME), verifying every file",
    )
    .requiredOption('--model <id>', 'model id')
    .option('--name <name>', "folder name under the node's DIR/models (default model-ID)")
    .option(
      '--out <dir>',
      'also copy the fetched folder here (new or empty; the CLI must run on the node machine)',
    )
    .option(...apiFlag)
    .option(...tokenFlag)
    .option(...dirFlag)
    .option('--no-wait', 'return the job id at once; follow it with `openledger job wait ID`')
    .option('--quiet', 'no progress bar')
    .option('--json', 'print the result as JSON')
    .action(async (opts) => {
      if (!deps.fetchModel) notConfigured('fetch')
      const result = await deps.fetchModel!({
        modelId: opts.model,
        name: opts.name,
        outDir: opts.out === undefined ? undefined : resolve(opts.out),
        api: opts.api,
        token: await token(opts),
        wait: opts.wait,
        quiet: opts.quiet,
      })
      if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`)
      else if (result.dir === undefined)
        process.stdout.write(`fetching model ${opts.model}: job ${result.jobId} (${result.state})\n`)
      else process.stdout.write(`model ${opts.model} written to ${result.dir}\n`)
    })

  return model
}
