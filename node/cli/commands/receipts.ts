// `openledger receipts ls [--client ADDR] [--node ADDR] [--model ID] [--limit N] [--json]`: the receipts a
// node's mempool holds (accepted, not yet settled by a checkpoint), through its public API. One line per
// receipt: when it was served, request id, client, node, model, tokens, fee; then the client's pending
// total when --client is given.
import type { Command } from 'commander'
import { formatUnits } from 'viem'
import { apiOption, apiTarget, callApi } from '../api-client.ts'

interface ReceiptView {
  requestId: string
  client: string
  node: string
  model: string
  adapter: string | null
  fee: string
  inputTokens: number
  outputTokens: number
  servedAt: number
  attribution: { datanetId: string; version: number; contributionIndex: number; weightPpm: number }[]
}

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer from ${min} to ${max}`)
  return n
}

export function registerReceiptsCommands(program: Command): void {
  const receipts = program.command('receipts').description('receipts of paid answers, as a node holds them')
  receipts
    .command('ls')
    .description('list the receipts a node holds that no checkpoint has settled yet')
    .option('--client <address>', 'only this client’s (and print its pending total)')
    .option('--node <address>', 'only those this serving node signed')
    .option('--model <id>', 'only answers of this model')
    .option('--limit <n>', 'at most this many', int('--limit', 1, 1000), 100)
    .option(...apiOption())
    .option('--json', 'print the API’s JSON')
    .action(async (opts) => {
      const api = await apiTarget(opts)
      const query = new URLSearchParams({ limit: String(opts.limit) })
      for (const key of ['client', 'node', 'model'] as const) if (opts[key]) query.set(key, opts[key])
      const body = await callApi<{ receipts: ReceiptView[]; pending?: string }>(
        api,
        'GET',
        `/v1/receipts?${query}`,
      )
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`)
        return
      }
      for (const r of body.receipts) {
        const when = new Date(r.servedAt * 1000).toISOString()
        const model = r.adapter ? `${r.model}+${r.adapter}` : r.model
        process.stdout.write(
          `${when}  ${r.requestId.slice(0, 18)}…  client ${r.client}  node ${r.node}  model ${model}  ` +
            `${r.inputTokens}+${r.outputTokens} tokens  fee ${formatUnits(BigInt(r.fee), 18)} OPEN\n`,
        )
      }
      process.stdout.write(`${body.receipts.length} receipt(s)\n`)
      if (body.pending !== undefined)
        process.stdout.write(`pending for ${opts.client}: ${formatUnits(BigInt(body.pending), 18)} OPEN\n`)
    })
}
