// `openledger infer --model ID [--adapter ID] "prompt"`: asks the node for an answer and streams it to the
// terminal. The node answers from its own backend when it serves the model, else it finds providers
// through the DHT, checks their signed capacity records, ranks them by price, load and latency, and
// forwards with failover (a provider that dies mid-answer is replaced and the answer resumes from the
// tokens already received). Goes through the node's OpenAI-compatible API; the attribution and who served
// the answer are printed after it (on stderr, so stdout is the answer alone), or all as JSON with --json.
import type { Command } from 'commander'
import { createParser } from 'eventsource-parser'
import { ApiError, addTokenOptions, apiOption, apiTarget, callApi, requestApi } from '../api-client.ts'

interface FinalChunk {
  choices: { finish_reason: string | null }[]
  usage?: { prompt_tokens: number; completion_tokens: number } | null
  attribution?: {
    unattributedPpm: number
    entries: { datanetId: string; contributionId: string; contributor: string; weightPpm: number }[]
  } | null
  served_by?: { peer_id: string; local: boolean; failovers?: number }
  receipt?: { request_id: string; node: string; fee: string } | null
  error?: { code: string; message: string }
}

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer from ${min} to ${max}`)
  return n
}

/** Text from the network is untrusted: control characters (ANSI/OSC escapes) never reach a terminal. */
const CONTROL = /(?![\n\t])\p{Cc}/gu
const cleanErr = (text: string) => text.replace(CONTROL, '')
const clean = (text: string) => (process.stdout.isTTY ? cleanErr(text) : text)

const number = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v)
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`${name} must be a number from ${min} to ${max}`)
  return n
}

export function registerInferCommand(program: Command): void {
  const cmd = program
    .command('infer')
    .description(
      'get an answer from the network (or this node), streamed to the terminal with its attribution',
    )
    .argument('<prompt>', 'the prompt')
    .requiredOption('--model <id>', 'base model id in the ModelRegistry')
    .option('--adapter <id>', 'adapter id in the ModelRegistry (registered on --model)')
    .option('--max-tokens <n>', 'tokens to generate at most', int('--max-tokens', 1, 1_000_000), 128)
    .option('--temperature <t>', '0 is greedy decoding', number('--temperature', 0, 2), 0)
    .option('--seed <n>', 'sampling seed', int('--seed', 0, 2 ** 32 - 1), 0)
    .option(...apiOption())
    .option('--json', 'print one JSON object (text, usage, attribution, served_by) instead of streaming')
    .action(async (prompt: string, opts) => {
      const api = await apiTarget(opts)
      if (opts.adapter) {
        const adapter = await callApi<{ baseModelId: string }>(
          api,
          'GET',
          `/v1/registry/models/${opts.adapter}`,
        )
        if (adapter.baseModelId !== String(opts.model))
          throw new ApiError(
            { code: 'ADAPTER_NOT_FOR_BASE', status: 0 },
            `model ${opts.adapter} is ${adapter.baseModelId === '0' ? 'a base model, not an adapter' : `an adapter of model ${adapter.baseModelId}`}, not of model ${opts.model}`,
          )
      }
      // An adapter is selected by its own id as the model name (the node resolves its base), as in vLLM.
      const res = await requestApi(api, 'POST', '/v1/completions', {
        json: {
          model: String(opts.adapter ?? opts.model),
          prompt,
          max_tokens: opts.maxTokens,
          temperature: opts.temperature,
          seed: opts.seed,
          stream: true,
        },
      })
      let text = ''
      let final: FinalChunk | undefined
      const parser = createParser({
        onEvent: (event) => {
          if (event.data === '[DONE]') return
          const chunk = JSON.parse(event.data) as FinalChunk & { choices: { text: string }[] }
          if (chunk.error) {
            final = chunk
            return
          }
          const piece = chunk.choices[0]?.text ?? ''
          text += piece
          if (!opts.json && piece) process.stdout.write(clean(piece))
          if (chunk.choices[0]?.finish_reason) final = chunk
        },
      })
      const decoder = new TextDecoder()
      for await (const bytes of res.body as AsyncIterable<Uint8Array>)
        parser.feed(decoder.decode(bytes, { stream: true }))
      if (final?.error)
        throw new ApiError(
          { code: final.error.code.toUpperCase(), status: 0 },
          `${final.error.code}: ${final.error.message}`,
        )
      if (!final)
        throw new ApiError(
          { code: 'ANSWER_CUT_SHORT', status: 0 },
          'the answer ended without its final message',
        )
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ text, finishReason: final.choices[0]?.finish_reason, usage: final.usage, attribution: final.attribution, servedBy: final.served_by, receipt: final.receipt ?? null }, null, 2)}\n`,
        )
        return
      }
      process.stdout.write('\n')
      const by = final.served_by
      const lines = [
        `served by ${by?.local ? 'this node' : by?.peer_id}${by?.failovers ? ` after ${by.failovers} failover(s)` : ''}; ${final.usage?.prompt_tokens} prompt + ${final.usage?.completion_tokens} output tokens`,
      ]
      const entries = final.attribution?.entries ?? []
      if (final.attribution) {
        lines.push(
          `attribution: ${entries.length} contribution(s), ${(final.attribution.unattributedPpm / 1e4).toFixed(1)}% unattributed`,
        )
        for (const e of entries.slice(0, 10))
          lines.push(
            `  ${(e.weightPpm / 1e4).toFixed(1)}%  datanet ${e.datanetId}  ${e.contributionId}  ${e.contributor}`,
          )
      } else lines.push('no attribution: the model was not trained on a registered Datanet version')
      if (final.receipt)
        lines.push(
          `paid ${final.receipt.fee} wei to ${final.receipt.node} (request ${final.receipt.request_id})`,
        )
      process.stderr.write(`${cleanErr(lines.join('\n'))}\n`)
    })
  addTokenOptions(cmd)
}
