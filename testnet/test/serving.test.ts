// Inference serving across 6 real node processes and anvil. A tiny model trained on a Datanet version and
// two adapters are registered in the ModelRegistry; node 1 serves the model with both adapters and node 2 the model alone (each
// fetches it by CID and advertises it on the DHT). Node 5 serves nothing: it discovers both providers,
// gets answers over /openledger/infer/1.0.0 through its OpenAI-compatible API and `openledger infer`, and
// when the provider of a streamed answer is SIGKILLed mid-stream, finishes the answer from the other,
// token for token what that one says alone. Answers carry the attribution the serving node computed over
// the model's Datanet version. The killed node's record expires and leaves selection. Node 5 deposits and
// pays: every live node ends with the same receipts of its answers, and its spendable balance goes down
// by exactly their fees.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createParser } from 'eventsource-parser'
import parsePrometheus from 'parse-prometheus-text-format'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { readApiToken } from '../../node/datadir.ts'
import { openLedgerDomain } from '../../protocols/common/eip712.ts'
import { newRequestId, signPaymentAuthorization } from '../../protocols/receipts/payment-authorization.ts'
import { outputHashOf, signReceipt } from '../../protocols/receipts/receipt.ts'
import { RECEIPTS_TOPIC } from '../../protocols/receipts/receipt-gossip.ts'
import { encodeReceipt } from '../../protocols/receipts/receipt-wire.ts'
import { RUST_BOOK_DIR, SHAKESPEARE_FILE } from '../corpora/index.ts'
import { createHostilePeer } from '../hostile-peer.ts'
import { runCli } from '../processes.ts'
import { Testnet } from '../testnet.ts'
import { getJson, waitFor } from '../wait.ts'

/** Capacity records are re-signed this often here and expire after twice it. */
const REFRESH_MS = 2_000

let net: Testnet
/** set by the first test: the registered base model and the provider still serving it */
let servedModel = ''
let servedDatanet = ''
let servingNode = -1
let root = ''
const tokens: string[] = []

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'openledger-serving-'))
  net = await Testnet.start({
    nodes: 6,
    dir: join(root, 'net'),
    readyTimeoutMs: 180_000,
    extraArgs: ['--capacity-refresh-ms', String(REFRESH_MS)],
  })
  for (const n of net.nodes) tokens.push((await readApiToken(n.dir))!)
})

test.after(async () => {
  await net?.stop()
  if (!process.env.KEEP_TESTNET) await rm(root, { recursive: true, force: true })
  else console.log('kept', root)
})

const api = (i: number) => net.nodes[i]!.apiUrl

async function cli(i: number, ...args: string[]): Promise<string> {
  const res = await runCli([...args, '--api', api(i), '--node-dir', net.nodes[i]!.dir])
  assert.is(res.code, 0, `openledger ${args.join(' ')}: ${res.stderr}`)
  return res.stdout
}

async function post(i: number, path: string, body: unknown): Promise<Response> {
  return fetch(`${api(i)}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  })
}

interface Provider {
  peerId: string
  expiresAt: number
}
async function providers(i: number, model: string, adapter?: string): Promise<Provider[]> {
  const q = `model=${model}${adapter ? `&adapter=${adapter}` : ''}&fresh=true`
  const res = await fetch(`${api(i)}/v1/providers?${q}`, {
    headers: { authorization: `Bearer ${tokens[i]}` },
    signal: AbortSignal.timeout(60_000),
  })
  if (!res.ok) throw new Error(`providers: HTTP ${res.status} ${await res.text()}`)
  return ((await res.json()) as { providers: Provider[] }).providers
}

const peerIdOf = (i: number) => net.nodes[i]!.peerId

async function complete(i: number, body: Record<string, unknown>) {
  const res = await post(i, '/v1/completions', { temperature: 0, ...body })
  const json = await res.json()
  assert.is(res.status, 200, JSON.stringify(json))
  return json as {
    choices: { text: string }[]
    usage: { completion_tokens: number }
    served_by: { peer_id: string; local: boolean; failovers: number }
    attribution: {
      outputTokens: number
      unattributedPpm: number
      entries: { datanetId: string; datanetVersion: number; weightPpm: number }[]
    } | null
  }
}

async function restartServing(i: number, args: string[]): Promise<void> {
  const node = net.nodes[i]!
  await node.process?.stop()
  net.launch(node, 0, args)
  await waitFor(() => getJson(`${api(i)}/healthz`).then(() => true), {
    timeoutMs: 120_000,
    what: `node ${i} to restart serving`,
  }).catch(async (err) => {
    throw new Error(`${(err as Error).message}\n${await net.logTails()}`)
  })
}

test('two providers found through the DHT; answers over libp2p; a provider killed mid-stream is replaced', async () => {
  // A Datanet of Shakespeare (node 0), a tiny model trained on its version 1 and two adapters trained on
  // other text, registered on chain with their content in IPFS.
  const plays = join(root, 'plays.txt')
  const shakespeare = await readFile(SHAKESPEARE_FILE, 'utf8')
  await writeFile(plays, shakespeare.slice(0, 40_000))
  await writeFile(join(root, 'rules.json'), JSON.stringify({ maxBytes: 60_000 }))
  const datanetId = JSON.parse(
    await cli(0, 'datanet', 'create', '--name', 'plays', '--rules', join(root, 'rules.json'), '--json'),
  ).datanetId as string
  await cli(0, 'datanet', 'contribute', '--datanet', datanetId, plays)
  const pending = await waitFor(
    async () =>
      (await getJson(`${api(0)}/v1/datanets/${datanetId}/contributions?status=pending`)).contributions[0],
    { timeoutMs: 60_000, what: 'the contribution to be curated' },
  )
  await cli(0, 'datanet', 'accept', '--datanet', datanetId, pending.contentCid)
  await cli(0, 'datanet', 'publish', '--datanet', datanetId)
  const base = join(root, 'base')
  const train = ['--preset', 'tiny', '--quiet']
  await cli(0, 'model', 'train', '--datanet', `${datanetId}@1`, '--out', base, '--steps', '120', ...train)
  await writeFile(join(root, 'verse.txt'), shakespeare.slice(600_000, 640_000))
  for (const [name, corpus, rank] of [
    ['rust', join(RUST_BOOK_DIR, 'ch01-01-installation.md'), '4'],
    ['verse', join(root, 'verse.txt'), '8'],
  ] as const)
    await cli(
      0,
      'model',
      'adapt',
      '--base',
      base,
      '--corpus',
      corpus,
      '--rank',
      rank,
      '--steps',
      '40',
      '--out',
      join(root, 'adapters', name),
      '--quiet',
    )
  const modelId = (
    await cli(0, 'model', 'register', '--dir', base, '--price-in', '0.001', '--price-out', '0.002')
  ).trim()
  const adapter = async (name: string) =>
    (
      await cli(
        0,
        'model',
        'register',
        '--base',
        modelId,
        '--adapter-dir',
        join(root, 'adapters', name),
        '--price-in',
        '0.0005',
        '--price-out',
        '0.001',
      )
    ).trim()
  const rust = await adapter('rust')
  const verse = await adapter('verse')

  // Node 5 is the paying client: it deposits 1 OPEN on top of the testnet's 100.
  const deposited = await runCli(['deposit', '1', '--dir', net.nodes[5]!.dir, '--json'])
  assert.is(deposited.code, 0, deposited.stderr)
  assert.is(JSON.parse(deposited.stdout).deposited, (101n * 10n ** 18n).toString())

  await restartServing(1, ['--serve-models', modelId, '--serve-adapters', `${rust},${verse}`])
  await restartServing(2, ['--serve-models', modelId])
  await net.waitForMesh(120_000)

  // Node 5, which serves nothing, finds both through the DHT and their signed records.
  const found = await waitFor(
    async () => {
      const list = await providers(5, modelId)
      const ids = new Set(list.map((p) => p.peerId))
      return ids.has(peerIdOf(1)) && ids.has(peerIdOf(2)) ? list : undefined
    },
    { timeoutMs: 120_000, intervalMs: 1_000, what: 'node 5 to discover both providers of the model' },
  )
  const nowS = Date.now() / 1000
  for (const p of found)
    assert.ok(p.expiresAt <= nowS + (2 * REFRESH_MS) / 1000 + 2, 'records are short-lived')
  const adapterProviders = await providers(5, modelId, verse)
  assert.equal(
    adapterProviders.map((p) => p.peerId),
    [peerIdOf(1)],
    'only node 1 offers the adapters',
  )

  // An answer over libp2p through node 5's OpenAI-compatible API.
  const answer = await complete(5, { model: modelId, prompt: 'To be, or not to be', max_tokens: 24 })
  assert.is(answer.served_by.local, false)
  assert.ok([peerIdOf(1), peerIdOf(2)].includes(answer.served_by.peer_id))
  assert.is(answer.usage.completion_tokens, 24)
  const local = await complete(1, { model: modelId, prompt: 'To be, or not to be', max_tokens: 24 })
  assert.is(local.served_by.local, true)
  assert.is(answer.choices[0]!.text, local.choices[0]!.text, 'the network answer equals the provider’s own')
  // The serving node attributed it over the Datanet version the model was registered with.
  assert.ok(answer.attribution, 'the answer carries the serving node’s attribution')
  assert.is(answer.attribution!.outputTokens > 0, true)
  for (const e of answer.attribution!.entries) assert.equal([e.datanetId, e.datanetVersion], [datanetId, 1])
  // Node 1 built that index from the version's one accepted contribution, read by CID.
  const log = await readFile(join(net.nodes[1]!.dir, 'node.log'), 'utf8')
  assert.match(log, /"contributions":1,[^\n]*attribution index ready/)
  const quoted = await complete(5, {
    model: modelId,
    prompt: shakespeare.slice(2_000, 2_200),
    max_tokens: 40,
  })
  console.log(
    `  attribution: ${answer.attribution!.entries.length} and ${quoted.attribution!.entries.length} entries; ${quoted.attribution!.unattributedPpm} ppm unattributed`,
  )

  // An adapter through `openledger infer` on node 5: only node 1 can serve it.
  const inferred = JSON.parse(
    await cli(
      5,
      'infer',
      '--model',
      modelId,
      '--adapter',
      verse,
      '--max-tokens',
      '20',
      '--json',
      'Shall I compare thee',
    ),
  )
  assert.is(inferred.servedBy.peer_id, peerIdOf(1))
  const verseLocal = await complete(1, { model: verse, prompt: 'Shall I compare thee', max_tokens: 20 })
  assert.is(inferred.text, verseLocal.choices[0]!.text)
  assert.is.not(
    inferred.text,
    (await complete(1, { model: modelId, prompt: 'Shall I compare thee', max_tokens: 20 })).choices[0]!.text,
  )

  // A long streamed answer; its provider is SIGKILLed as soon as the first chunk names it.
  const prompt = 'Now is the winter of our discontent'
  const res = await post(5, '/v1/completions', {
    model: modelId,
    prompt,
    max_tokens: 1000,
    temperature: 0,
    stream: true,
  })
  assert.is(res.status, 200)
  let text = ''
  let victim: number | undefined
  let final:
    | { served_by: { peer_id: string; failovers: number }; usage: { completion_tokens: number } }
    | undefined
  const parser = createParser({
    onEvent: (e) => {
      if (e.data === '[DONE]') return
      const chunk = JSON.parse(e.data)
      if (chunk.error) throw new Error(`stream failed: ${JSON.stringify(chunk.error)}`)
      text += chunk.choices[0]?.text ?? ''
      if (victim === undefined && chunk.served_by) {
        victim = net.nodes.findIndex((n) => n.peerId === chunk.served_by.peer_id)
        net.nodes[victim]!.process!.child.kill('SIGKILL')
      }
      if (chunk.choices[0]?.finish_reason) final = chunk
    },
  })
  const decoder = new TextDecoder()
  for await (const bytes of res.body as AsyncIterable<Uint8Array>)
    parser.feed(decoder.decode(bytes, { stream: true }))
  assert.ok(victim === 1 || victim === 2, `victim ${victim}`)
  const survivor = victim === 1 ? 2 : 1
  servedModel = modelId
  servedDatanet = datanetId
  servingNode = survivor
  assert.ok(final, 'the answer finished')
  assert.is(final!.served_by.peer_id, peerIdOf(survivor))
  assert.ok(final!.served_by.failovers >= 1, 'the answer failed over')
  const alone = await complete(survivor, { model: modelId, prompt, max_tokens: 1000 })
  assert.is(text, alone.choices[0]!.text, 'the resumed answer equals the survivor’s own, token for token')
  console.log(
    `  failover: node ${victim} killed mid-stream, node ${survivor} finished the ${final!.usage.completion_tokens}-token answer (${final!.served_by.failovers} failover)`,
  )

  // The killed node's record expires: a node that never saw the failure selects the survivor alone.
  await waitFor(
    async () => {
      const list = await providers(3, modelId)
      return list.length === 1 && list[0]!.peerId === peerIdOf(survivor)
    },
    { timeoutMs: 60_000, intervalMs: 1_000, what: "the killed node's record to leave node 3's selection" },
  )
  const after = await complete(3, { model: modelId, prompt: 'Friends, Romans', max_tokens: 8 })
  assert.is(after.served_by.peer_id, peerIdOf(survivor))
  assert.is(after.served_by.failovers, 0)

  // Receipts: node 5's answers were paid. Every live node holds the same receipts of node 5, each
  // checked on arrival; each fee is the registered prices x tokens; node 5's spendable balance went down
  // by exactly their sum.
  const client = net.nodes[5]!.account
  const live = [0, 1, 2, 3, 4, 5].filter((i) => i !== victim)
  const receiptsOn = async (i: number) =>
    getJson(`${api(i)}/v1/receipts?client=${client}&limit=1000`) as Promise<{
      receipts: {
        requestId: string
        node: string
        model: string
        adapter: string | null
        fee: string
        inputTokens: number
        outputTokens: number
      }[]
      pending: string
    }>
  const held = await waitFor(
    async () => {
      const all = await Promise.all(live.map(receiptsOn))
      const sets = all.map((r) =>
        r.receipts
          .map((x) => x.requestId)
          .sort()
          .join(','),
      )
      return all[0]!.receipts.length >= 3 && sets.every((x) => x === sets[0]) ? all : undefined
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'every live node to hold the same receipts of node 5' },
  )
  const mine = held[0]!.receipts
  const servingNodes = new Set(mine.map((r) => r.node))
  assert.ok(servingNodes.size >= 2, `node 5 paid two serving nodes (${[...servingNodes].join(', ')})`)
  const perK = (x: string) => BigInt(Math.round(Number(x) * 1e6)) * 10n ** 12n
  let total = 0n
  for (const r of mine) {
    const priceIn = perK('0.001') + (r.adapter ? perK('0.0005') : 0n)
    const priceOut = perK('0.002') + (r.adapter ? perK('0.001') : 0n)
    assert.is(BigInt(r.fee), (priceIn * BigInt(r.inputTokens) + priceOut * BigInt(r.outputTokens)) / 1000n)
    total += BigInt(r.fee)
  }
  for (const r of held) assert.is(r.pending, total.toString(), 'every node counts the same pending fees')
  const balance = await runCli(['balance', '--dir', net.nodes[5]!.dir, '--api', api(5), '--json'])
  assert.is(balance.code, 0, balance.stderr)
  const b = JSON.parse(balance.stdout)
  assert.is(b.available, (101n * 10n ** 18n).toString())
  assert.is(b.pendingInReceipts, total.toString())
  assert.is(BigInt(b.spendable), 101n * 10n ** 18n - total, 'spendable went down by exactly the fees')
  // The SIGKILLed provider lost none of the receipts it had handed out: restarted on its data dir, it holds
  // every receipt of node 5 that it signed (the others learned them from it only after it stored them).
  const victimAccount = net.nodes[victim!]!.account.toLowerCase()
  const signedByVictim = mine.filter((r) => r.node.toLowerCase() === victimAccount).map((r) => r.requestId)
  await restartServing(victim!, [])
  const kept = (await receiptsOn(victim!)).receipts.map((r) => r.requestId)
  assert.equal(
    signedByVictim.filter((id) => !kept.includes(id)),
    [],
    'the restarted node holds every receipt it signed before it was killed',
  )
  console.log(
    `  receipts: ${mine.length} of node 5 on ${live.length} nodes, from ${servingNodes.size} serving nodes, ${total} wei in fees; ` +
      `the killed node kept its ${signedByVictim.length} after a restart`,
  )
})

test('a receipt whose attribution was tampered is rejected for it; the same receipt honest is accepted', async () => {
  // A real paid answer of node 5, and the receipt its provider signed, as node 0 holds it.
  const paid = await complete(5, { model: servedModel, prompt: 'To be, or not to be', max_tokens: 24 })
  const requestId = (paid as unknown as { receipt: { request_id: string } }).receipt.request_id
  const client = net.nodes[5]!.account
  type View = {
    requestId: string
    model: string
    fee: string
    inputTokens: number
    outputTokens: number
    outputHash: Hex
    maxFee: string
    attribution: { datanetId: string; version: number; contributionIndex: number; weightPpm: number }[]
    attributionParams: string
  }
  const real = await waitFor(
    async () =>
      (
        (await getJson(`${api(0)}/v1/receipts?client=${client}&limit=1000`)) as { receipts: View[] }
      ).receipts.find((r) => r.requestId === requestId),
    { timeoutMs: 30_000, what: 'node 0 to hold the paid answer’s receipt' },
  )
  const output = paid.choices[0]!.text
  assert.is(outputHashOf(output), real.outputHash, 'the answer is the receipt’s output')

  // Forged by someone holding both keys (the client's and the serving node's): the same answer under new
  // requestIds, once with the real attribution and once tampered.
  const key = async (i: number) =>
    privateKeyToAccount((await readFile(join(net.nodes[i]!.dir, 'dev-account.key'), 'utf8')).trim() as Hex)
  const clientAccount = await key(5)
  const nodeAccount = await key(servingNode)
  const domain = openLedgerDomain({ chainId: 31337, ledger: net.contracts.ledger_address as Hex })
  const shares = real.attribution.map((s) => ({
    datanetId: BigInt(s.datanetId),
    version: BigInt(s.version),
    contributionIndex: BigInt(s.contributionIndex),
    weightPpm: s.weightPpm,
  }))
  const forge = async (attribution: typeof shares) => {
    const authorization = {
      client: clientAccount.address,
      node: nodeAccount.address,
      model: BigInt(real.model),
      adapter: 0n,
      maxFee: BigInt(real.maxFee),
      requestId: newRequestId(),
      deadline: BigInt(Math.floor(Date.now() / 1000) + 600),
    }
    const { signature } = await signPaymentAuthorization(authorization, clientAccount, domain)
    const receipt = {
      authorization,
      clientSignature: signature,
      fee: BigInt(real.fee),
      inputTokens: real.inputTokens,
      outputTokens: real.outputTokens,
      outputHash: real.outputHash,
      attribution,
      attributionParams: real.attributionParams,
      servedAt: BigInt(Math.floor(Date.now() / 1000)),
    }
    return signReceipt(receipt, output, nodeAccount, domain)
  }
  const [warmup, honest] = [await forge(shares), await forge(shares)]
  // Tampered: weight moved within the shares, or, for an answer with none (the tiny model rarely repeats
  // a span of minSpan tokens), half the answer claimed for the Datanet's first contribution.
  const tampered = await forge(
    shares.length > 0
      ? shares.map((s, i) => (i === 0 ? { ...s, weightPpm: s.weightPpm > 1 ? s.weightPpm - 1 : 2 } : s))
      : [{ datanetId: BigInt(servedDatanet), version: 1n, contributionIndex: 0n, weightPpm: 500_000 }],
  )

  const hostile = await createHostilePeer()
  try {
    await hostile.dial(net.nodes[0]!.multiaddr)
    hostile.subscribe([RECEIPTS_TOPIC])
    await waitFor(
      async () => {
        const body = await getJson<{ peers: { peerId: string; gossipMesh: string[] }[] }>(
          `${api(0)}/v1/peers`,
        )
        return body.peers.find((p) => p.peerId === hostile.peerId)?.gossipMesh.includes(RECEIPTS_TOPIC)
          ? true
          : undefined
      },
      { timeoutMs: 30_000, what: 'node 0 to take the outside peer into its receipts mesh' },
    )
    const held = async () =>
      (
        (await getJson(`${api(0)}/v1/receipts?client=${client}&limit=1000`)) as { receipts: View[] }
      ).receipts.map((r) => r.requestId)
    const accepted = (signed: typeof honest) =>
      waitFor(
        async () => ((await held()).includes(signed.receipt.authorization.requestId) ? true : undefined),
        {
          timeoutMs: 30_000,
          what: 'node 0 to accept an honest copy',
        },
      )
    // Node 0 serves nothing: it builds the model's index on the first receipt it checks (which passes
    // unchecked meanwhile), so the copies that matter go out once its log says the index is ready.
    await hostile.libp2p.services.pubsub.publish(RECEIPTS_TOPIC, encodeReceipt(warmup))
    await accepted(warmup)
    const ready = new RegExp(`"model":"${servedModel}","adapter":null[^\\n]*attribution index ready`)
    await waitFor(
      async () =>
        ready.test(await readFile(join(net.nodes[0]!.dir, 'node.log'), 'utf8')) ? true : undefined,
      { timeoutMs: 60_000, what: 'node 0 to build the model’s attribution index' },
    )
    const rejectedBefore = await mismatchRejections(0)
    await hostile.libp2p.services.pubsub.publish(RECEIPTS_TOPIC, encodeReceipt(tampered))
    await hostile.libp2p.services.pubsub.publish(RECEIPTS_TOPIC, encodeReceipt(honest))
    // The honest copy is accepted with its attribution recomputed, which shows both signatures and the fee
    // pass: the tampered copy differs from it only in its attribution, and node 0 rejected it for that.
    await accepted(honest)
    await waitFor(async () => ((await mismatchRejections(0)) > rejectedBefore ? true : undefined), {
      timeoutMs: 30_000,
      what: 'node 0 to reject the tampered copy for its attribution',
    })
    assert.not.ok((await held()).includes(tampered.receipt.authorization.requestId), 'nothing of it stored')
    // Counted against the serving node: node 0 names it in its warning.
    const log = await readFile(join(net.nodes[0]!.dir, 'node.log'), 'utf8')
    assert.match(
      log,
      new RegExp(`"node":"${nodeAccount.address}"[^\\n]*did not match its recomputation`, 'i'),
    )
  } finally {
    await hostile.stop()
  }
})

/** Node i's count of receipts rejected because their attribution did not match its recomputation. */
async function mismatchRejections(i: number): Promise<number> {
  const text = await fetch(`${api(i)}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text())
  const family = parsePrometheus(text).find((f) => f.name === 'openledger_gossip_messages_total')
  const series = family?.metrics.find(
    (m) =>
      m.labels?.topic === RECEIPTS_TOPIC &&
      m.labels?.result === 'reject' &&
      m.labels?.reason === 'RECEIPT_ATTRIBUTION_MISMATCH',
  )
  return Number(series?.value ?? 0)
}

test.run()
