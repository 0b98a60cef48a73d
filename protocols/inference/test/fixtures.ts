// A tiny model and its adapters, trained once per process from the corpora in testnet/corpora (short
// runs: the tests check serving, not quality), saved as protocols/model folders in a temporary directory.
import { rmSync } from 'node:fs'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { attribute, buildCorpus, buildIndex } from '../../attribution/index.ts'
import {
  FILES,
  type LoraWeights,
  loadModel,
  saveAdapter,
  saveModel,
  trainAdapter,
  trainModel,
} from '../../model/index.ts'
import { rustBook, shakespeare } from '../../model/test/helpers.ts'
import type { AnswerAttribution } from '../gateway.ts'

export interface TinyModel {
  dir: string
  /** trained adapters, each on its own text */
  adapters: { rust: LoraWeights; verse: LoraWeights }
  /** saved with another base's weights CID: the folder loader must refuse it */
  foreign: string
  /** a folder with a config but no weights file: loading it fails */
  broken: string
  trainSeconds: number
}

let fixture: Promise<TinyModel> | undefined

export function tinyModel(): Promise<TinyModel> {
  fixture ??= build()
  return fixture
}

async function build(): Promise<TinyModel> {
  const started = performance.now()
  const dir = await mkdtemp(join(tmpdir(), 'openledger-inference-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const { model } = trainModel(shakespeare(60_000), { preset: 'tiny', seed: 1, steps: 120 })
  await saveModel(dir, model, { training: { preset: 'tiny', seed: 1, steps: 120 } })
  const loaded = await loadModel(dir)
  const base = { config: loaded.config, baseWeightsCid: loaded.manifest.files[FILES.weights] }
  const rust = trainAdapter(model, rustBook(40_000), { rank: 4, steps: 40, seed: 2 }).adapter
  const verse = trainAdapter(model, laterShakespeare(), { rank: 8, steps: 40, seed: 3 }).adapter
  await saveAdapter(join(dir, FILES.adapters, 'rust'), rust, base)
  await saveAdapter(join(dir, FILES.adapters, 'verse'), verse, base)
  await saveAdapter(join(dir, FILES.adapters, 'foreign'), rust, {
    config: loaded.config,
    baseWeightsCid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
  })
  await mkdir(join(dir, FILES.adapters, 'broken'), { recursive: true })
  await writeFile(
    join(dir, FILES.adapters, 'broken', FILES.adapterConfig),
    JSON.stringify({
      peft_type: 'LORA',
      r: 4,
      lora_alpha: 8,
      target_modules: ['hidden', 'output'],
      openledger: {
        format: 'openledger-model/1',
        weightsCid: 'bafkreia',
        baseWeightsCid: base.baseWeightsCid,
      },
    }),
  )
  return {
    dir,
    adapters: { rust, verse },
    foreign: 'foreign',
    broken: 'broken',
    trainSeconds: (performance.now() - started) / 1000,
  }
}

/** Shakespeare from well past the base model's slice: another "domain" for the second adapter. */
function laterShakespeare() {
  const all = shakespeare(700_000)[0].text
  return [{ id: 'later', text: all.slice(600_000) }]
}

/** Runs `fn` and returns the InferenceError code it threw (fails when it resolves). */
export async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn()
  } catch (err) {
    return (err as { code?: string }).code ?? String(err)
  }
  throw new Error('expected a refusal, but it succeeded')
}

/** The code of the refusal a stream ends with (its events drained until then). */
export function streamCodeOf(events: AsyncIterable<unknown>): Promise<string> {
  return codeOf(async () => {
    for await (const _ of events) {
    }
  })
}

/** The attribution hook of a serving node, over one contribution of `text` (Datanet 1, version 1). */
export function attributor(text: string) {
  const index = buildIndex(buildCorpus([{ id: 'hamlet', contributor: `0x${'11'.repeat(20)}`, text }]))
  return (_target: unknown, output: string): AnswerAttribution => {
    const r = attribute(index, output, { minSpan: 4 })
    return {
      paramsVersion: r.paramsVersion,
      outputTokens: r.outputTokens,
      unattributedPpm: r.unattributedPpm,
      entries: r.entries.map((e) => ({
        datanetId: '1',
        datanetVersion: 1,
        contributionIndex: e.contributionIndex,
        contributionId: e.contributionId,
        contributor: e.contributor,
        weightPpm: e.weightPpm,
      })),
    }
  }
}
