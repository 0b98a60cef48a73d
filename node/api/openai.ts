// The OpenAI-compatible API, so existing OpenAI clients use a node unchanged (base URL http://NODE/v1, the
// API token as the API key): GET /v1/models (served base models and adapters, adapters with `parent`),
// POST /v1/completions and POST /v1/chat/completions, streamed as SSE ending with `data: [DONE]` or whole.
// Answers come from the node's InferenceGateway: this node's backend, or the best provider in the network.
// The attribution the serving node computed travels in an extra `attribution` field (the final chunk of a
// stream), who served it in `served_by`. Errors have OpenAI's shape {error: {message, type, param, code}};
// a refusal that retrying cannot fix carries `x-should-retry: false`, which the official client obeys
// (it otherwise retries 408, 409, 429 and 5xx).
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { z } from 'zod'
import type { InferenceRequest, ServedModel } from '../../protocols/inference/backend.ts'
import { DEFAULT_INFERENCE_LIMITS } from '../../protocols/inference/constants.ts'
import { inferenceError } from '../../protocols/inference/errors.ts'
import type { AnswerEnd, AnswerEvent, InferenceGateway } from '../../protocols/inference/gateway.ts'
import { apiError } from './errors.ts'
import { openAiError } from './openai-errors.ts'

const limits = DEFAULT_INFERENCE_LIMITS
// Loose outer bounds only: the serving backend applies its own limits (PROMPT_TOO_LARGE in UTF-8 bytes and
// tokens, MAX_TOKENS_TOO_LARGE), which may differ between providers. The body itself is at most 1 MiB.
const MAX_TEXT = 64 * 1024
const MAX_TOKENS_FIELD = 1_000_000
const stop = z
  .union([
    z.string().max(limits.maxStopBytes),
    z.array(z.string().max(limits.maxStopBytes)).max(limits.maxStopStrings),
  ])
  .nullish()
const sampling = {
  model: z.string().min(1).max(200),
  max_tokens: z.number().int().min(1).max(MAX_TOKENS_FIELD).nullish(),
  max_completion_tokens: z.number().int().min(1).max(MAX_TOKENS_FIELD).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .nullish(),
  stop,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.literal(1, { error: 'only n = 1 is supported' }).nullish(),
  user: z.string().max(256).nullish(),
}
const completionBody = z.object({
  ...sampling,
  prompt: z.union([z.string().max(MAX_TEXT), z.array(z.string().max(MAX_TEXT)).length(1)]),
})
const content = z.union([
  z.string().max(MAX_TEXT),
  z.array(z.object({ type: z.literal('text'), text: z.string().max(MAX_TEXT) })).max(64),
])
const chatBody = z.object({
  ...sampling,
  messages: z
    .array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content }))
    .min(1)
    .max(256),
})

/** How long a streamed answer waits for a reader that has stopped taking bytes. */
const SEND_TIMEOUT_MS = 30_000

/** OpenAI's default when max_tokens is absent on /v1/completions. */
const DEFAULT_MAX_TOKENS = 16

/**
 * A chat as one prompt, for models without a chat template (the project's own): one `role: text` line per
 * message, then `assistant:` for the model to continue. Said in the README; a model with a template would
 * bring its own rendering.
 */
export function renderChat(messages: z.infer<typeof chatBody>['messages']): string {
  // A line inside a message that starts like a turn is indented, so content cannot forge another turn.
  const text = (c: z.infer<typeof content>) =>
    (typeof c === 'string' ? c : c.map((p) => p.text).join('')).replace(
      /\n(?=\s*(system|developer|user|assistant):)/g,
      '\n ',
    )
  return `${messages.map((m) => `${m.role}: ${text(m.content)}`).join('\n')}\nassistant:`
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  throw apiError(
    'BAD_REQUEST',
    `${issue.path.join('.') || 'request'}: ${issue.message}`,
    issue.path.join('.'),
  )
}

function modelEntry(m: ServedModel) {
  return {
    id: m.id,
    object: 'model' as const,
    created: 0,
    owned_by: 'openledger',
    root: m.parent ?? m.id,
    parent: m.parent,
    backend: m.backend,
    loaded: m.loaded,
  }
}

const finishReason = (end: AnswerEnd) => (end.stopReason === 'max_tokens' ? 'length' : 'stop')

function usageOf(end: AnswerEnd) {
  const { promptTokens, completionTokens } = end.usage
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  }
}

const extras = (end: AnswerEnd) => ({
  attribution: end.attribution,
  served_by: {
    peer_id: end.servedBy.peerId,
    account: end.servedBy.account,
    local: end.servedBy.local,
    failovers: end.failovers,
  },
  // What the serving node charged for its part, as its signed receipt says (null: served here, unpaid).
  receipt: end.receipt
    ? {
        request_id: end.receipt.receipt.authorization.requestId,
        node: end.receipt.receipt.authorization.node,
        fee: end.receipt.receipt.fee.toString(),
        max_fee: end.receipt.receipt.authorization.maxFee.toString(),
        output_hash: end.receipt.receipt.outputHash,
      }
    : null,
})

export function registerOpenAiRoutes(
  app: FastifyInstance,
  getGateway: () => InferenceGateway | undefined,
): void {
  const gateway = () => {
    const g = getGateway()
    if (!g) throw apiError('NOT_READY', 'inference is not running yet')
    return g
  }

  app.register(async (scope) => {
    scope.setErrorHandler(async (err, _req, reply) => {
      const { status, body, retry } = openAiError(err)
      if (!retry) reply.header('x-should-retry', 'false')
      return reply.code(status).send(body)
    })

    scope.get('/v1/models', async () => ({
      object: 'list',
      data: (await gateway().listModels()).map(modelEntry),
    }))

    scope.post('/v1/completions', async (req, reply) => {
      const body = parse(completionBody, req.body)
      const prompt = typeof body.prompt === 'string' ? body.prompt : body.prompt[0]!
      await answer(reply, gateway(), body, prompt, 'text')
    })

    scope.post('/v1/chat/completions', async (req, reply) => {
      const body = parse(chatBody, req.body)
      await answer(reply, gateway(), body, renderChat(body.messages), 'chat')
    })
  })
}

type Sampling = z.infer<z.ZodObject<typeof sampling>>

async function answer(
  reply: FastifyReply,
  gateway: InferenceGateway,
  body: Sampling,
  prompt: string,
  kind: 'text' | 'chat',
): Promise<void> {
  // The client hanging up ends the generation (and frees the provider's slot).
  const abort = new AbortController()
  // The server's 30 s socket timeout is for idle requests; an answer is bounded by the gateway's own
  // deadlines (first token, idle, the whole answer) and a stalled reader by SEND_TIMEOUT_MS below.
  reply.raw.socket?.setTimeout(0)
  reply.raw.on('close', () => abort.abort(inferenceError('ABORTED', 'the HTTP client went away')))
  const resolved = await gateway.resolveModel(body.model, { signal: abort.signal })
  const request: InferenceRequest = {
    model: resolved.model,
    adapter: resolved.adapter,
    prompt,
    maxTokens:
      body.max_completion_tokens ??
      body.max_tokens ??
      (kind === 'chat' ? limits.maxTokens : DEFAULT_MAX_TOKENS),
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    seed: body.seed ?? 0,
    stop: body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop,
  }
  const events = gateway.answer(request, { signal: abort.signal })[Symbol.asyncIterator]()
  // Refusals come from the first next(), so they still get a proper status before any byte is sent.
  const first = await events.next()
  const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`
  const created = Math.floor(Date.now() / 1000)
  const head = { id, created, model: body.model }
  if (!body.stream) {
    let text = ''
    let event: IteratorResult<AnswerEvent> = first
    try {
      for (; !event.done && event.value.type === 'chunk'; event = await events.next())
        text += event.value.text
    } finally {
      // The generator is suspended at its final yield: closing it frees the backend's slot now.
      await events.return?.()
    }
    if (event.done) throw inferenceError('GENERATION_FAILED', 'the answer ended without its final message')
    const end = event.value as AnswerEnd
    const choice =
      kind === 'chat'
        ? {
            index: 0,
            message: { role: 'assistant', content: text },
            finish_reason: finishReason(end),
            logprobs: null,
          }
        : { index: 0, text, finish_reason: finishReason(end), logprobs: null }
    return reply.send({
      ...head,
      object: kind === 'chat' ? 'chat.completion' : 'text_completion',
      choices: [choice],
      usage: usageOf(end),
      ...extras(end),
    })
  }
  await streamAnswer(reply, events, first, head, kind, body.stream_options?.include_usage === true, abort)
}

async function streamAnswer(
  reply: FastifyReply,
  events: AsyncIterator<AnswerEvent>,
  first: IteratorResult<AnswerEvent>,
  head: { id: string; created: number; model: string },
  kind: 'text' | 'chat',
  includeUsage: boolean,
  abort: AbortController,
): Promise<void> {
  reply.hijack()
  const raw = reply.raw
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  })
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'
  const choice = (text: string | null, finish: string | null, role = false) =>
    kind === 'chat'
      ? {
          index: 0,
          delta: text === null ? {} : { ...(role ? { role: 'assistant' } : {}), content: text },
          finish_reason: finish,
          logprobs: null,
        }
      : { index: 0, text: text ?? '', finish_reason: finish, logprobs: null }
  // Back-pressure: a reader that stops reading stops the generation; one gone for good aborts it.
  const send = async (data: unknown) => {
    if (raw.write(`data: ${JSON.stringify(data)}\n\n`)) return
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        raw.off('drain', done)
        abort.signal.removeEventListener('abort', done)
        resolve()
      }
      // A reader that takes nothing for this long is gone: the generation ends and frees its slot.
      const timer = setTimeout(() => {
        abort.abort(inferenceError('ABORTED', 'the HTTP client stopped reading'))
        raw.destroy()
      }, SEND_TIMEOUT_MS)
      raw.on('drain', done)
      abort.signal.addEventListener('abort', done)
    })
  }
  let firstChunk = true
  try {
    for (let event = first; !event.done; event = await events.next()) {
      if (abort.signal.aborted) return
      const e = event.value
      if (e.type === 'chunk') {
        if (e.text === '' && !e.servedBy) continue
        const by = e.servedBy ? { served_by: { peer_id: e.servedBy.peerId, local: e.servedBy.local } } : {}
        await send({ ...head, object, choices: [choice(e.text, null, firstChunk)], usage: null, ...by })
        firstChunk = false
        continue
      }
      await send({
        ...head,
        object,
        choices: [choice(null, finishReason(e))],
        usage: includeUsage ? null : usageOf(e),
        ...extras(e),
      })
      if (includeUsage) await send({ ...head, object, choices: [], usage: usageOf(e) })
      raw.write('data: [DONE]\n\n')
    }
  } catch (err) {
    // Headers are gone: the failure travels as one error event, then the stream ends without [DONE].
    if (!abort.signal.aborted) raw.write(`data: ${JSON.stringify(openAiError(err).body)}\n\n`)
  } finally {
    await events.return?.()
    raw.end()
  }
}
