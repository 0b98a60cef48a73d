// `npm run bench -- attribution [--quick]`: index build rate, memory and query latency of the attribution
// engine at 10M corpus tokens (1M with --quick), against a naive baseline measured in the same run: a
// sort-based suffix array (comparison sort of suffixes) and a linear scan of the corpus per query.
//
// Corpus: natural text, so that the sort-based baseline is not penalized by repeats: the real
// tinyshakespeare and rust-book text (tokenized) first, then text from a word-bigram Markov chain trained on
// it, cut into ~2,000-token contributions. A small repetitive corpus (copies of one passage) is also
// timed to show why a sort-based build is not an option for Datanets.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type AttributionIndex,
  attribute,
  buildIndex,
  type Corpus,
  corpusFromTokens,
  DEFAULT_PARAMS,
  INDEX_FILE,
  indexBytesPerToken,
  loadIndex,
  saveIndex,
  tokenize,
} from '../protocols/attribution/index.ts'
import { RUST_BOOK_DIR, SHAKESPEARE_FILE } from '../testnet/corpora/index.ts'

const quick = process.argv.includes('--quick')
const TARGET_TOKENS = quick ? 1_000_000 : 10_000_000
const QUERY_TOKENS = 256
const QUERIES = quick ? 200 : 400
const LINEAR_QUERIES = quick ? 10 : 5

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

async function realTexts(): Promise<string[]> {
  const texts = [await readFile(SHAKESPEARE_FILE, 'utf8')]
  const dir = RUST_BOOK_DIR
  for (const f of (await readdir(dir)).sort())
    if (f.endsWith('.md')) texts.push(await readFile(join(dir, f), 'utf8'))
  return texts
}

/** Word-bigram Markov chain over token ids. */
function markov(streams: Uint32Array[]) {
  const ids = new Map<number, number>()
  const vocab: number[] = []
  const local = (t: number) => {
    let v = ids.get(t)
    if (v === undefined) {
      v = vocab.length
      ids.set(t, v)
      vocab.push(t)
    }
    return v
  }
  const pairs: [number, number][] = []
  for (const s of streams) for (let i = 0; i + 1 < s.length; i++) pairs.push([local(s[i]), local(s[i + 1])])
  const counts = new Uint32Array(vocab.length + 1)
  for (const [a] of pairs) counts[a + 1]++
  for (let i = 0; i < vocab.length; i++) counts[i + 1] += counts[i]
  const next = new Uint32Array(pairs.length)
  const fill = counts.slice()
  for (const [a, b] of pairs) next[fill[a]++] = b
  return (r: () => number, length: number, start: number): Uint32Array => {
    const out = new Uint32Array(length)
    let cur = start % vocab.length
    for (let i = 0; i < length; i++) {
      const lo = counts[cur]
      const hi = counts[cur + 1]
      cur = hi > lo ? next[lo + (r() % (hi - lo))] : r() % vocab.length
      out[i] = vocab[cur]
    }
    return out
  }
}

const addr = (i: number) => `0x${i.toString(16).padStart(40, '0')}`

async function naturalCorpus(target: number) {
  const streams = (await realTexts()).map(tokenize)
  const generate = markov(streams)
  const r = rng(2024)
  const list: { id: string; contributor: string; tokens: Uint32Array }[] = []
  let total = 0
  const push = (tokens: Uint32Array) => {
    const take = tokens.subarray(0, Math.max(0, Math.min(tokens.length, target - total - 1)))
    if (take.length === 0) return
    list.push({ id: `c${list.length}`, contributor: addr(1 + (list.length % 500)), tokens: take })
    total += take.length + 1
  }
  for (const s of streams)
    for (let off = 0; off < s.length && total < target; off += 2000) push(s.subarray(off, off + 2000))
  while (total < target) push(generate(r, 1000 + (r() % 2000), r()))
  return { corpus: corpusFromTokens(list), generate, r }
}

function sortBasedSuffixArray(t: Uint32Array): Uint32Array {
  const n = t.length
  const sa = new Uint32Array(n)
  for (let i = 0; i < n; i++) sa[i] = i
  return sa.sort((a, b) => {
    while (a < n && b < n) {
      const x = t[a]
      const y = t[b]
      if (x !== y) return x < y ? -1 : 1
      a++
      b++
    }
    return a < n ? 1 : b < n ? -1 : 0
  })
}

/** The same maximal spans, counts and earliest occurrences as the engine, by scanning the corpus. */
function linearScanSpans(corpus: Corpus, q: Uint32Array, minSpan: number) {
  const t = corpus.tokens
  const n = t.length
  const m = q.length
  const byToken = new Map<number, number[]>()
  for (let i = 0; i < m; i++) {
    const list = byToken.get(q[i])
    if (list) list.push(i)
    else byToken.set(q[i], [i])
  }
  const L = new Int32Array(m)
  for (let j = 0; j < n; j++) {
    const list = byToken.get(t[j])
    if (list === undefined) continue
    for (const i of list) {
      let d = 0
      while (i + d < m && j + d < n && t[j + d] === q[i + d]) d++
      if (d > L[i]) L[i] = d
    }
  }
  const spans: { start: number; end: number; count: number; earliest: number }[] = []
  for (let i = 0; i < m; i++) {
    if (L[i] >= minSpan && (i === 0 || L[i] > L[i - 1] - 1))
      spans.push({ start: i, end: i + L[i], count: 0, earliest: -1 })
  }
  const byFirst = new Map<number, typeof spans>()
  for (const s of spans) {
    const list = byFirst.get(q[s.start])
    if (list) list.push(s)
    else byFirst.set(q[s.start], [s])
  }
  for (let j = 0; j < n; j++) {
    const list = byFirst.get(t[j])
    if (list === undefined) continue
    for (const s of list) {
      let d = 0
      const len = s.end - s.start
      while (d < len && j + d < n && t[j + d] === q[s.start + d]) d++
      if (d === len) {
        if (s.count === 0) s.earliest = j
        s.count++
      }
    }
  }
  return spans
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const round = (x: number, d = 3) => Number(x.toFixed(d))

function makeQueries(
  corpus: Corpus,
  generate: ReturnType<typeof markov>,
  r: () => number,
  count: number,
): Uint32Array[] {
  const qs: Uint32Array[] = []
  for (let k = 0; k < count; k++) {
    const q = new Uint32Array(QUERY_TOKENS)
    let len = 0
    while (len < QUERY_TOKENS) {
      const piece = 10 + (r() % 50)
      if (r() % 2 === 0) {
        // Copied from the corpus (stopping at a contribution boundary).
        let p = r() % corpus.tokens.length
        for (let i = 0; i < piece && len < QUERY_TOKENS; i++, p++) {
          if (p >= corpus.tokens.length || corpus.tokens[p] === 0) break
          q[len++] = corpus.tokens[p]
        }
      } else {
        const g = generate(r, Math.min(piece, QUERY_TOKENS - len), r())
        q.set(g, len)
        len += g.length
      }
    }
    qs.push(q)
  }
  return qs
}

async function main() {
  const t0 = performance.now()
  const { corpus, generate, r } = await naturalCorpus(TARGET_TOKENS)
  const n = corpus.tokens.length
  const genSeconds = (performance.now() - t0) / 1000

  // Build: best of a few runs (the machine is shared), the engine first, each after a JIT warm-up on a
  // 300k-token prefix.
  const runs = 3
  const warm = corpusFromTokens([
    { id: 'w', contributor: addr(1), tokens: corpus.tokens.subarray(0, 300_000).filter((x) => x !== 0) },
  ])
  buildIndex(warm)
  sortBasedSuffixArray(warm.tokens)
  // Runs alternate engine and baseline so both see the same load on this shared machine; best of each.
  let best = Number.POSITIVE_INFINITY
  let naiveBest = Number.POSITIVE_INFINITY
  let index!: AttributionIndex
  let naiveSa!: Uint32Array
  const buildSamples: number[] = []
  const naiveSamples: number[] = []
  for (let i = 0; i < runs; i++) {
    let t = performance.now()
    index = buildIndex(corpus)
    buildSamples.push((performance.now() - t) / 1000)
    naiveSa = new Uint32Array(0)
    t = performance.now()
    naiveSa = sortBasedSuffixArray(corpus.tokens)
    naiveSamples.push((performance.now() - t) / 1000)
  }
  best = Math.min(...buildSamples)
  naiveBest = Math.min(...naiveSamples)
  let identical = naiveSa.length === index.sa.length
  for (let i = 0; identical && i < n; i++) if (naiveSa[i] !== index.sa[i]) identical = false
  naiveSa = new Uint32Array(0)

  // Persistence.
  const dir = await mkdtemp(join(tmpdir(), 'ol-attr-bench-'))
  let s = performance.now()
  await saveIndex(index, dir)
  const saveSeconds = (performance.now() - s) / 1000
  const fileBytes = (await stat(join(dir, INDEX_FILE))).size
  s = performance.now()
  const loaded = await loadIndex(dir)
  const loadSeconds = (performance.now() - s) / 1000
  await rm(dir, { recursive: true, force: true })

  // Queries: 256-token outputs, half copied from the corpus in pieces, half Markov text.
  const queries = makeQueries(corpus, generate, r, QUERIES + 20)
  for (const q of queries.slice(0, 20)) attribute(loaded, q)
  // Wall time is what the targets read; CPU time is also recorded because this machine is shared and a
  // query preempted by another process shows up as a wall-time outlier of a scheduler slice.
  const lat: number[] = []
  const cpu: number[] = []
  let spansFound = 0
  for (const q of queries.slice(20)) {
    const c = process.cpuUsage()
    const a = performance.now()
    const res = attribute(loaded, q)
    lat.push(performance.now() - a)
    const used = process.cpuUsage(c)
    cpu.push((used.user + used.system) / 1000)
    spansFound += res.spans.length
  }
  // The previous parameter set (ol-attr-1, span ownership) over the same queries, in a pass of its own (a
  // second call right after the first would find the query's part of the index in cache): what per-token
  // ownership costs.
  const v1Lat: number[] = []
  for (const q of queries.slice(20)) {
    const a = performance.now()
    attribute(loaded, q, { version: 'ol-attr-1' })
    v1Lat.push(performance.now() - a)
  }
  lat.sort((a, b) => a - b)
  cpu.sort((a, b) => a - b)
  v1Lat.sort((a, b) => a - b)

  const linLat: number[] = []
  let linearIdentical = true
  for (const q of queries.slice(20, 20 + LINEAR_QUERIES)) {
    const a = performance.now()
    const spans = linearScanSpans(corpus, q, DEFAULT_PARAMS.minSpan)
    linLat.push(performance.now() - a)
    const res = attribute(loaded, q)
    const same =
      spans.length === res.spans.length &&
      spans.every((x, i) => {
        const y = res.spans[i]
        return x.start === y.start && x.end === y.end && x.count === y.count
      })
    if (!same) linearIdentical = false
  }
  linLat.sort((a, b) => a - b)

  // Repetitive corpus: 20 copies of one 500-token passage.
  const passage = corpus.tokens.subarray(0, 500)
  const rep = corpusFromTokens(
    Array.from({ length: 20 }, (_, i) => ({ id: `r${i}`, contributor: addr(i + 1), tokens: passage })),
  )
  s = performance.now()
  buildIndex(rep)
  const repSais = (performance.now() - s) / 1000
  s = performance.now()
  sortBasedSuffixArray(rep.tokens)
  const repNaive = (performance.now() - s) / 1000

  const buildRate = n / best
  const naiveRate = n / naiveBest
  const result = {
    bench: 'attribution',
    quick,
    node: process.version,
    loadAverage: loadavg().map((x) => round(x, 2)),
    cpus: cpus().length,
    corpus: {
      tokens: n,
      contributions: corpus.contributions.length,
      distinctTokens: index.vocab.length - 1,
      kind: 'natural: tinyshakespeare + rust-book tokens, then word-bigram Markov text trained on them',
      generateSeconds: round(genSeconds),
    },
    build: {
      engine: 'SA-IS (dense ids, packed type bits) + vocabulary compaction + block minima',
      seconds: round(best),
      tokensPerSec: Math.round(buildRate),
      naive: {
        method: 'comparison sort of suffixes (TypedArray.sort)',
        seconds: round(naiveBest),
        tokensPerSec: Math.round(naiveRate),
      },
      ratio: round(buildRate / naiveRate, 2),
      identicalSuffixArrays: identical,
      runs,
      samplesSeconds: buildSamples.map((x) => round(x)),
      naiveSamplesSeconds: naiveSamples.map((x) => round(x)),
    },
    memory: {
      bytesPerToken: round(indexBytesPerToken(index), 3),
      tokenBytes: index.tokens.BYTES_PER_ELEMENT,
      fileBytesPerToken: round(fileBytes / n, 3),
    },
    persist: { saveSeconds: round(saveSeconds), loadSeconds: round(loadSeconds), loadIncludesChecksum: true },
    query: {
      outputs: lat.length,
      tokensPerOutput: QUERY_TOKENS,
      meanSpansPerOutput: round(spansFound / lat.length, 2),
      p50Ms: round(percentile(lat, 50)),
      p99Ms: round(percentile(lat, 99)),
      maxMs: round(lat[lat.length - 1]),
      cpuP50Ms: round(percentile(cpu, 50)),
      cpuP99Ms: round(percentile(cpu, 99)),
      linearScan: {
        method:
          'one pass over the corpus per query for match lengths, one more for counts (spans only, no scoring)',
        outputs: linLat.length,
        p50Ms: round(percentile(linLat, 50)),
        p99Ms: round(percentile(linLat, 99)),
        identicalSpans: linearIdentical,
      },
      speedupP50: round(percentile(linLat, 50) / percentile(lat, 50), 1),
      paramsVersion: DEFAULT_PARAMS.version,
      previousParams: {
        version: 'ol-attr-1',
        p50Ms: round(percentile(v1Lat, 50)),
        p99Ms: round(percentile(v1Lat, 99)),
      },
    },
    repetitive: {
      corpus: '20 copies of one 500-token passage',
      tokens: rep.tokens.length,
      saisSeconds: round(repSais, 4),
      sortSeconds: round(repNaive, 4),
      ratio: round(repNaive / repSais, 1),
    },
    targets: {
      buildTokensPerSecAtLeast3M: buildRate >= 3_000_000,
      buildAtLeast1_5xNaive: buildRate / naiveRate >= 1.5,
      bytesPerTokenAtMost9: indexBytesPerToken(index) <= 9,
      queryP99AtMost10ms: percentile(lat, 99) <= 10,
    },
  }
  console.log(JSON.stringify(result, null, 2))
  await mkdir('results', { recursive: true })
  await writeFile('results/attribution.json', `${JSON.stringify(result, null, 2)}\n`)
}

await main()
