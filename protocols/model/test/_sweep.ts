import { attribute, buildCorpus, buildIndex } from '../../attribution/index.ts'
import { PRESETS } from '../constants.ts'
import { saveModel } from '../folder.ts'
import { OnnxLanguageModel } from '../generate.ts'
import { trainModel } from '../train.ts'
import { shakespeare } from './helpers.ts'

const docs = shakespeare(400_000)
const [V, H, d, k] = process.argv.slice(2).map(Number)
PRESETS.tiny.vocabSize = V
PRESETS.tiny.model = { contextSize: k, embedDim: d, hiddenSize: H }
const c0 = process.cpuUsage()
const { model, metrics } = trainModel(docs, { seed: 1 })
const cpu = process.cpuUsage(c0)
console.log(
  process.argv.slice(2).join(','),
  'wall',
  metrics.seconds.toFixed(1),
  'cpu',
  ((cpu.user + cpu.system) / 1e6).toFixed(1),
  'ppl',
  metrics.valPerplexity.toFixed(1),
  metrics.unigramPerplexity.toFixed(1),
)
const dir = `/tmp/sweep-${V}-${H}`
await saveModel(dir, model)
const lm = await OnnxLanguageModel.load(dir)
const index = buildIndex(
  buildCorpus(docs.map((x) => ({ id: x.id, contributor: `0x${'11'.repeat(20)}`, text: x.text }))),
)
for (const t of [0, 0.5, 0.8]) {
  let n8 = 0,
    n5 = 0,
    sample = ''
  for (const seed of [1, 2, 3, 4]) {
    const g = await lm.generate('\n', { maxTokens: 100, temperature: t, topP: 0.9, seed })
    n8 += attribute(index, g.text).spans.length
    n5 += attribute(index, g.text, { minSpan: 5 }).spans.length
    sample = g.text
  }
  console.log('T', t, 'spans8', n8, 'spans5', n5, JSON.stringify(sample.slice(0, 150)))
}
