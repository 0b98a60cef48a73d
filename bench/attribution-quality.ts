// `npm run bench -- attribution-quality [--quick]`: planted-content evaluation of span attribution.
//
// Corpus: tinyshakespeare cut into speeches grouped to ~1 kB and the Rust book cut at section headings
// and paragraphs, as >= 1,000 original contributions from 150 contributors, many carrying one shared
// licence footer (boilerplate). Copy-cats from 12 other addresses re-submit passages of earlier
// contributions, accepted later than their source: whole, lightly edited, or with their own text (Markov
// sentences) added around a slice, appended, prepended or interleaved. 500 outputs each mix spans copied
// from 1-3 original contributions with novel text (a word-bigram Markov chain over the corpus, restarted
// every three words), paraphrases of other contributions (every third word replaced) and common phrases
// (the boilerplate footer, frequent short phrases). Half the spans drawn from a source that a copy-cat
// added its own text to are quoted from that copy-cat across one of its joins: copied words up to the
// join and the copy-cat's first own word past it (JOIN_OWN_WORDS). The truth for a copied span is the
// earliest contribution whose tokens contain its copied words (usually its source). Recall: truths found
// in the top-3 entries. Precision: top-3 entries that are a truth or the earliest holder of some
// minSpan-token piece of a planted span, the contributions per-token ownership pays (the Rust book
// repeats code lines, link lists and some sentences across sections, and a copy-cat owns the word of its
// own that a quote across its join carries); `precisionWholeSpanTruth` counts truths only. Weight: the
// share of attributed weight that went to copy-cats (their own quoted words included), to the truths,
// to earlier holders of planted pieces, and to others. Baselines in the same run: the previous parameter
// set (ol-attr-1, under which a copy-cat holds a whole span across its join) and the contributions with
// most shared 8-token windows (no rarity, no earliest-wins).
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  attribute,
  buildCorpus,
  buildIndex,
  type Contribution,
  DEFAULT_PARAMS,
  PARAMS_V1,
  tokenize,
} from '../protocols/attribution/index.ts'
import { RUST_BOOK_DIR, SHAKESPEARE_FILE } from '../testnet/corpora/index.ts'

const quick = process.argv.includes('--quick')
const OUTPUTS = quick ? 150 : 500
const BOILERPLATE =
  'Submitted to the OpenLedger Datanet under the Creative Commons Attribution 4.0 licence by its author.'
const COMMON = [
  'I pray you',
  'my good lord',
  'What say you',
  'in the end',
  'as well as',
  'For example,',
  'Let’s look at',
  'fn main() {',
  'Note that the',
  'I will not',
  'and so on',
  'First Citizen:',
]

/**
 * Own words of a copy-cat that a quote across its join carries: one, the smallest crossing, which is all
 * ol-attr-1 needed to hand the copy-cat the whole span; under ol-attr-2 the copy-cat earns that word.
 */
const JOIN_OWN_WORDS = 1

const PLAIN_WORD = /^[A-Za-z'’]+[,.;:!?]?$/

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}
const r = rng(77)
const pick = <T>(a: readonly T[]): T => a[r() % a.length]
const addr = (tag: number, i: number) =>
  `0x${tag.toString(16).padStart(8, '0')}${i.toString(16).padStart(32, '0')}`
const words = (s: string) => s.split(/\s+/).filter((w) => w.length > 0)

async function originals(): Promise<string[]> {
  const out: string[] = []
  const shakespeare = await readFile(SHAKESPEARE_FILE, 'utf8')
  let cur = ''
  for (const speech of shakespeare.split(/\n\s*\n/)) {
    cur += `${speech}\n\n`
    if (cur.length > 900) {
      out.push(cur.trim())
      cur = ''
    }
  }
  if (cur.trim()) out.push(cur.trim())
  const dir = RUST_BOOK_DIR
  for (const f of (await readdir(dir)).sort()) {
    if (!f.endsWith('.md') || f === 'SUMMARY.md') continue
    const text = await readFile(join(dir, f), 'utf8')
    let part = ''
    for (const para of text.split(/\n\s*\n/)) {
      if (part.length > 1500 || (/^#+ /.test(para) && part.length > 300)) {
        out.push(part.trim())
        part = ''
      }
      part += `${para}\n\n`
    }
    if (part.trim()) out.push(part.trim())
  }
  return out
}

/**
 * Novel text: a word-bigram Markov chain over plain words (letters and apostrophes, with at most one
 * trailing punctuation mark), restarted at a random word every three words, so it reads like the corpus
 * but never reproduces long runs of it by construction. (Whole Markdown paths or URLs, which are one
 * whitespace word but dozens of tokens, are left out for the same reason.)
 */
function markovWords(texts: string[]) {
  const plain = PLAIN_WORD
  const next = new Map<string, string[]>()
  for (const t of texts) {
    const w = words(t)
    for (let i = 0; i + 1 < w.length; i++) {
      if (!plain.test(w[i]) || !plain.test(w[i + 1])) continue
      const list = next.get(w[i])
      if (list) list.push(w[i + 1])
      else next.set(w[i], [w[i + 1]])
    }
  }
  const keys = [...next.keys()]
  return (count: number): string => {
    let cur = pick(keys)
    const out: string[] = []
    for (let i = 0; i < count; i++) {
      out.push(cur)
      const list = next.get(cur)
      cur = list && (i + 1) % 3 !== 0 ? pick(list) : pick(keys)
    }
    return out.join(' ')
  }
}

/** Token ids as a string (two UTF-16 units per token) so that containment is a plain indexOf. */
function tokenString(ids: Uint32Array): string {
  let s = ''
  for (const id of ids) s += String.fromCharCode(id >>> 16, id & 0xffff)
  return s
}

function containsTokens(hay: string, needle: string): boolean {
  for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) if (at % 2 === 0) return true
  return false
}

async function main() {
  const texts = await originals()
  const markov = markovWords(texts)
  const vocabulary = [...new Set(texts.flatMap((t) => words(t)))]
  const plainVocabulary = vocabulary.filter((x) => PLAIN_WORD.test(x))

  // Originals, acceptance time = 10 * index; 150 contributors; 60% carry the boilerplate footer.
  type Planned = Contribution & { time: number; copycat: boolean; source: number }
  const planned: Planned[] = texts.map((text, i) => ({
    id: `orig-${i}`,
    contributor: addr(0xa11ce, r() % 150),
    text: r() % 10 < 6 ? `${text}\n\n${BOILERPLATE}` : text,
    time: i * 10,
    copycat: false,
    source: i,
  }))
  // Copy-cats: 15% of the originals' count, from 12 addresses, accepted after their source. Those that
  // add their own text keep their pieces (copied or own words) so that outputs can quote across a join.
  const copycats = Math.floor(texts.length * 0.15)
  const victims = new Set<number>()
  type Piece = { words: string[]; own: boolean }
  const joined = new Map<number, Piece[][]>()
  const own = (text: string): Piece => ({ words: words(text), own: true })
  const copied = (w: string[]): Piece => ({ words: w, own: false })
  const sentence = () => `${markov(8 + (r() % 12))}.`
  for (let k = 0; k < copycats; k++) {
    const src = r() % texts.length
    victims.add(src)
    const w = words(texts[src])
    const kind = k % 6
    let text: string
    if (kind === 0) text = texts[src]
    else if (kind === 1) text = w.map((x, i) => (i % 15 === 14 ? pick(vocabulary) : x)).join(' ')
    else {
      let pieces: Piece[]
      if (kind === 2) {
        const a = Math.floor((w.length * (r() % 40)) / 100)
        pieces = [own(markov(20)), copied(w.slice(a, a + Math.ceil(w.length * 0.6))), own(markov(20))]
      } else if (kind === 3) pieces = [copied(w), own(`${sentence()} ${sentence()}`)]
      else if (kind === 4) pieces = [own(`${sentence()} ${sentence()}`), copied(w)]
      else {
        const third = Math.ceil(w.length / 3)
        pieces = [
          copied(w.slice(0, third)),
          own(sentence()),
          copied(w.slice(third, 2 * third)),
          own(sentence()),
          copied(w.slice(2 * third)),
        ]
      }
      pieces = pieces.filter((p) => p.words.length > 0)
      text = pieces.map((p) => p.words.join(' ')).join(' ')
      joined.set(src, [...(joined.get(src) ?? []), pieces])
    }
    planned.push({
      id: `copy-${k}`,
      contributor: addr(0xbad, r() % 12),
      text,
      time: src * 10 + 5 + (r() % Math.max(1, (texts.length - src) * 10)),
      copycat: true,
      source: src,
    })
  }
  planned.sort((a, b) => a.time - b.time || a.id.localeCompare(b.id))
  const isCopycat = new Map(planned.map((p) => [p.id, p.copycat]))
  const contributors = new Set(planned.map((p) => p.contributor))
  const t0 = performance.now()
  const corpus = buildCorpus(planned)
  const index = buildIndex(corpus)
  const buildSeconds = (performance.now() - t0) / 1000
  const tokenStrings = planned.map((p) => tokenString(tokenize(p.text)))

  const victimList = [...victims]
  // Top-3 hits and weights of a parameter set over all outputs: the default one and, as a baseline,
  // ol-attr-1.
  const tally = () => ({ tp: 0, correct: 0, predicted: 0, attributed: 0, copycat: 0, truth: 0, earlier: 0 })
  const current = tally()
  const previous = tally()
  const score = (
    t: ReturnType<typeof tally>,
    output: string,
    truth: Set<string>,
    holders: Set<string>,
    version: string,
  ) => {
    const res = attribute(index, output, { version })
    const top = res.entries.slice(0, 3).map((e) => e.contributionId)
    t.predicted += top.length
    t.tp += top.filter((id) => truth.has(id)).length
    t.correct += top.filter((id) => truth.has(id) || holders.has(id)).length
    for (const e of attribute(index, output, { version, topK: 1_000_000, minEntryPpm: 0 }).entries) {
      t.attributed += e.weightPpm
      if (isCopycat.get(e.contributionId)) t.copycat += e.weightPpm
      else if (truth.has(e.contributionId)) t.truth += e.weightPpm
      else if (holders.has(e.contributionId)) t.earlier += e.weightPpm
    }
  }
  /** The earliest contribution holding each minSpan-token piece of a planted span (token ownership). */
  const pieceHolders = (text: string, into: Set<string>) => {
    const ids = tokenize(text)
    for (let i = 0; i + DEFAULT_PARAMS.minSpan <= ids.length; i++) {
      const needle = tokenString(ids.subarray(i, i + DEFAULT_PARAMS.minSpan))
      const k = planned.findIndex((_, k) => containsTokens(tokenStrings[k], needle))
      if (k >= 0) into.add(planned[k].id)
    }
  }
  let truthTotal = 0
  let reassigned = 0
  let junctionQuotes = 0
  let ownTokensQuoted = 0
  let baseTp = 0
  let baseCorrect = 0
  let basePredicted = 0
  let unattributedSum = 0
  const latencies: number[] = []
  for (let o = 0; o < OUTPUTS; o++) {
    const sourceCount = 1 + (r() % 3)
    const sources = new Set<number>()
    while (sources.size < sourceCount) sources.add(r() % 10 < 4 ? pick(victimList) : r() % texts.length)
    const segments: string[] = []
    const truth = new Set<string>()
    const holders = new Set<string>()
    for (const src of sources) {
      const copies = joined.get(src)
      let span: string
      let copiedWords: string
      if (copies && r() % 2 === 0) {
        // Across a join of a copy-cat that added its own text: copied words up to it, own words past it.
        const pieces = pick(copies)
        const joins = pieces.flatMap((p, j) =>
          j + 1 < pieces.length && p.own !== pieces[j + 1].own ? [j] : [],
        )
        const j = pick(joins)
        const [left, right] = [pieces[j], pieces[j + 1]]
        const from = left.own ? right : left
        const len = Math.min(from.words.length, 15 + (r() % 30))
        const ownCount = JOIN_OWN_WORDS
        copiedWords = (left.own ? from.words.slice(0, len) : from.words.slice(-len)).join(' ')
        const ownWords = (left.own ? left.words.slice(-ownCount) : right.words.slice(0, ownCount)).join(' ')
        span = left.own ? `${ownWords} ${copiedWords}` : `${copiedWords} ${ownWords}`
        junctionQuotes++
        ownTokensQuoted += tokenize(ownWords).length
      } else {
        const w = words(texts[src])
        const len = Math.min(w.length, 15 + (r() % 30))
        const a = r() % Math.max(1, w.length - len + 1)
        span = w.slice(a, a + len).join(' ')
        copiedWords = span
      }
      segments.push(span)
      const needle = tokenString(tokenize(copiedWords))
      const holder = planned.findIndex((_, k) => containsTokens(tokenStrings[k], needle))
      truth.add(planned[holder].id)
      pieceHolders(span, holders)
      if (planned[holder].id !== `orig-${src}`) reassigned++
    }
    // Paraphrase of a contribution outside the truth: its plain words, every third one replaced (a path
    // or code word would be a verbatim copy of many tokens, not a paraphrase).
    const other = words(texts[r() % texts.length]).filter((x) => PLAIN_WORD.test(x))
    const pa = r() % Math.max(1, other.length - 30)
    segments.push(
      other
        .slice(pa, pa + 30)
        .map((x, i) => (i % 3 === 2 ? pick(plainVocabulary) : x))
        .join(' '),
    )
    segments.push(BOILERPLATE)
    for (let c = 0; c < 3; c++) segments.push(pick(COMMON))
    // Shuffle, then fill with novel text up to ~256 tokens.
    for (let i = segments.length - 1; i > 0; i--) {
      const j = r() % (i + 1)
      ;[segments[i], segments[j]] = [segments[j], segments[i]]
    }
    let output = segments.map((s) => `${s} ${markov(3 + (r() % 10))}`).join(' ')
    while (tokenize(output).length < 240) output += ` ${markov(10)}`

    const a = performance.now()
    const res = attribute(index, output)
    latencies.push(performance.now() - a)
    truthTotal += truth.size
    unattributedSum += res.unattributedPpm
    score(current, output, truth, holders, DEFAULT_PARAMS.version)
    score(previous, output, truth, holders, PARAMS_V1.version)

    // Baseline: count shared 8-token windows per contribution (no rarity, no earliest-wins), top 3.
    const q = tokenize(output)
    const counts = new Map<number, number>()
    for (let i = 0; i + 8 <= q.length; i++) {
      const needle = tokenString(q.subarray(i, i + 8))
      for (let k = 0; k < planned.length; k++) {
        if (containsTokens(tokenStrings[k], needle)) counts.set(k, (counts.get(k) ?? 0) + 1)
      }
    }
    const baseTop = [...counts.entries()]
      .sort((x, y) => y[1] - x[1] || x[0] - y[0])
      .slice(0, 3)
      .map(([k]) => planned[k].id)
    basePredicted += baseTop.length
    baseTp += baseTop.filter((id) => truth.has(id)).length
    baseCorrect += baseTop.filter((id) => truth.has(id) || holders.has(id)).length
  }
  latencies.sort((x, y) => x - y)
  const round = (x: number, d = 4) => Number(x.toFixed(d))
  const precision = current.correct / current.predicted
  const recall = current.tp / truthTotal
  const copycatShare = current.copycat / current.attributed
  const shares = (t: ReturnType<typeof tally>) => ({
    copycatShare: round(t.copycat / t.attributed, 5),
    truthShare: round(t.truth / t.attributed, 5),
    otherShare: round((t.attributed - t.truth - t.copycat) / t.attributed, 5),
    earlierHolderShare: round(t.earlier / t.attributed, 5),
  })
  const result = {
    bench: 'attribution-quality',
    quick,
    params: DEFAULT_PARAMS,
    corpus: {
      contributions: planned.length,
      originals: texts.length,
      copycats,
      contributors: contributors.size,
      tokens: corpus.tokens.length,
      withBoilerplateFooter: planned.filter((p) => p.text.includes(BOILERPLATE)).length,
      buildSeconds: round(buildSeconds, 3),
    },
    outputs: {
      count: OUTPUTS,
      plantedSpans: truthTotal,
      plantedFromCopycatVictims: 'about 40% of picks',
      truthNotTheSource: reassigned,
      quotedAcrossACopycatJoin: junctionQuotes,
      copycatOwnTokensQuoted: ownTokensQuoted,
      meanUnattributedPpm: Math.round(unattributedSum / OUTPUTS),
      queryP50Ms: round(latencies[Math.floor(latencies.length / 2)], 3),
      queryP99Ms: round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))], 3),
    },
    top3: {
      precision: round(precision),
      recall: round(recall),
      precisionWholeSpanTruth: round(current.tp / current.predicted),
      truePositives: current.tp,
      correct: current.correct,
      predicted: current.predicted,
      truth: truthTotal,
    },
    weight: shares(current),
    previousParams: {
      version: PARAMS_V1.version,
      precision: round(previous.correct / previous.predicted),
      precisionWholeSpanTruth: round(previous.tp / previous.predicted),
      recall: round(previous.tp / truthTotal),
      ...shares(previous),
    },
    baseline: {
      method: 'top-3 contributions by shared 8-token windows (no rarity, no earliest-wins)',
      precision: round(baseCorrect / basePredicted),
      recall: round(baseTp / truthTotal),
    },
    targets: {
      precisionAtLeast0_95: precision >= 0.95,
      recallAtLeast0_9: recall >= 0.9,
      copycatsAtMost1Percent: copycatShare <= 0.01,
    },
  }
  console.log(JSON.stringify(result, null, 2))
  await mkdir('results', { recursive: true })
  await writeFile('results/attribution-quality.json', `${JSON.stringify(result, null, 2)}\n`)
}

await main()
