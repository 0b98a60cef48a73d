// Background jobs for long API work (`datanet serve`, `model fetch`): a POST answers 202 with a job id at
// once, GET /v1/jobs/:id tells the state, progress, result or typed error. Every state change is written
// to the node's database, so a job outlives the request that started it and the process that ran it:
// at the next start a job that was queued or running is resumed when its kind is idempotent, and marked
// `interrupted` (error JOB_INTERRUPTED) otherwise.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { Repository } from '../storage/repository.ts'
import { apiError, toHttpError } from './errors.ts'
import { parseRequest } from './request.ts'

const jobStateSchema = z.enum(['queued', 'running', 'done', 'failed', 'interrupted'])
export type JobState = z.infer<typeof jobStateSchema>

const jobProgressSchema = z.object({
  unit: z.enum(['blocks', 'bytes']),
  done: z.number().int().nonnegative(),
  /** Absent while the total is not known yet. */
  total: z.number().int().nonnegative().optional(),
})
export type JobProgress = z.infer<typeof jobProgressSchema>

/** The stored form of a job (the repository checks every value against it). */
export const jobRecordSchema = z.object({
  id: z.string(),
  kind: z.string(),
  params: z.record(z.string(), z.string()),
  state: jobStateSchema,
  progress: jobProgressSchema.nullable(),
  /** The work's own answer (plain JSON). */
  result: z.json().nullable(),
  error: z
    .object({
      code: z.string(),
      reason: z.string().optional(),
      status: z.number().int(),
      message: z.string(),
    })
    .nullable(),
  /** Unix ms. */
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  /** How many times it was started (a resumed job counts again). */
  attempts: z.number().int().nonnegative(),
})
export type JobRecord = z.infer<typeof jobRecordSchema>

export interface JobContext {
  signal: AbortSignal
  progress(p: JobProgress): void
}

export interface JobKind {
  /** Safe to run again from the start after a restart (the work already done is found and kept). */
  resumable: boolean
  run(params: Record<string, string>, ctx: JobContext): Promise<unknown>
}

export interface JobManagerOptions {
  /** Jobs running at once; the rest wait in `queued`. */
  concurrency?: number
  /**
   * Queued and running jobs at most; a submit beyond this is refused (TOO_MANY_JOBS, 429) rather than
   * growing the queue and the database without bound (each new Datanet id or folder name is a new job).
   */
  maxUnfinished?: number
  /** Finished jobs kept in the database; the oldest are deleted beyond this. */
  keepFinished?: number
  /** Progress is written to the database at most this often (it is always current in memory). */
  progressWriteMs?: number
  onError?: (err: unknown) => void
}

const FINISHED: ReadonlySet<JobState> = new Set(['done', 'failed', 'interrupted'])

/** Time-ordered ids: the database lists jobs oldest first. */
function newJobId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`
}

export class JobManager {
  private readonly kinds = new Map<string, JobKind>()
  /** Queued and running jobs, the current copy (the database may lag on progress). */
  private readonly live = new Map<string, JobRecord>()
  private readonly queue: string[] = []
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>()
  private readonly lastWrite = new Map<string, number>()
  private started = false
  private stopping = false
  private readonly opts: Required<Omit<JobManagerOptions, 'onError'>> & Pick<JobManagerOptions, 'onError'>

  constructor(
    private readonly store: Repository<string, JobRecord>,
    opts: JobManagerOptions = {},
  ) {
    this.opts = { concurrency: 2, maxUnfinished: 64, keepFinished: 1000, progressWriteMs: 1000, ...opts }
  }

  /** Registers a kind of job; routes do this when they are added. */
  define(kind: string, handler: JobKind): void {
    this.kinds.set(kind, handler)
  }

  /** Resumes or interrupts what the last run left unfinished, then runs new jobs as they come. */
  async start(): Promise<void> {
    const unfinished: JobRecord[] = []
    for await (const [, job] of this.store.entries()) if (!FINISHED.has(job.state)) unfinished.push(job)
    for (const job of unfinished) {
      const kind = this.kinds.get(job.kind)
      if (kind?.resumable) {
        const resumed: JobRecord = { ...job, state: 'queued', progress: null }
        await this.store.put(job.id, resumed)
        this.live.set(job.id, resumed)
        this.queue.push(job.id)
      } else {
        await this.store.put(job.id, {
          ...job,
          state: 'interrupted',
          finishedAt: Date.now(),
          error: {
            code: 'JOB_INTERRUPTED',
            status: 503,
            message: `the node stopped while this ${job.kind} job was ${job.state}; start it again`,
          },
        })
      }
    }
    this.started = true
    this.pump()
  }

  /** Aborts running jobs without recording an outcome: the next start resumes or interrupts them. */
  async stop(): Promise<void> {
    this.stopping = true
    for (const { controller } of this.running.values())
      controller.abort(apiError('SHUTTING_DOWN', 'the node is stopping'))
    await Promise.allSettled([...this.running.values()].map((r) => r.done))
    // Queued and running jobs keep their stored state; progress writes may lag and are not needed.
  }

  /**
   * Adds a job. `dedupeKey`: while a job with the same kind and key is queued or running, that job is
   * returned instead of a second one (serving one Datanet twice at once does nothing useful).
   */
  async submit(kind: string, params: Record<string, string>, dedupeKey?: string): Promise<JobRecord> {
    if (!this.kinds.has(kind)) throw new Error(`unknown job kind ${kind}`)
    if (this.stopping) throw apiError('SHUTTING_DOWN', 'the node is stopping')
    if (dedupeKey !== undefined) {
      for (const job of this.live.values())
        if (job.kind === kind && job.params.dedupeKey === dedupeKey) return { ...job }
    }
    if (this.live.size >= this.opts.maxUnfinished)
      throw apiError(
        'TOO_MANY_JOBS',
        `${this.live.size} jobs are queued or running (at most ${this.opts.maxUnfinished}); wait for some to finish`,
      )
    const job: JobRecord = {
      id: newJobId(),
      kind,
      params: dedupeKey === undefined ? params : { ...params, dedupeKey },
      state: 'queued',
      progress: null,
      result: null,
      error: null,
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      attempts: 0,
    }
    await this.store.put(job.id, job)
    this.live.set(job.id, job)
    this.queue.push(job.id)
    this.pump()
    return { ...job }
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const live = this.live.get(id)
    if (live) return { ...live }
    return this.store.get(id)
  }

  /** Newest first. */
  async list(limit = 100): Promise<JobRecord[]> {
    const all: JobRecord[] = []
    for await (const [id, job] of this.store.entries()) all.push(this.live.get(id) ?? job)
    return all.reverse().slice(0, limit)
  }

  private pump(): void {
    if (!this.started || this.stopping) return
    while (this.running.size < this.opts.concurrency && this.queue.length > 0) {
      const id = this.queue.shift()!
      const job = this.live.get(id)
      if (!job) continue
      const controller = new AbortController()
      const entry = { controller, done: Promise.resolve() }
      this.running.set(id, entry)
      entry.done = this.execute(job, controller.signal)
        .catch((err) => this.opts.onError?.(err))
        .finally(() => {
          this.running.delete(id)
          this.pump()
        })
    }
  }

  private async execute(job: JobRecord, signal: AbortSignal): Promise<void> {
    const kind = this.kinds.get(job.kind)!
    job.state = 'running'
    job.startedAt = Date.now()
    job.attempts++
    await this.store.put(job.id, job)
    const ctx: JobContext = {
      signal,
      progress: (p) => {
        job.progress = { ...p }
        const now = Date.now()
        if (now - (this.lastWrite.get(job.id) ?? 0) >= this.opts.progressWriteMs) {
          this.lastWrite.set(job.id, now)
          this.store.put(job.id, job).catch((err) => this.opts.onError?.(err))
        }
      },
    }
    let outcome: Pick<JobRecord, 'state' | 'result' | 'error'>
    try {
      // stop() may have aborted while the state was written: a kind's run need not check on entry.
      signal.throwIfAborted()
      const result = await kind.run(job.params, ctx)
      outcome = { state: 'done', result: (result ?? null) as JobRecord['result'], error: null }
    } catch (err) {
      // Stopped by shutdown: leave the stored state as it is for the next start to resolve.
      if (this.stopping) return
      const { status, body } = toHttpError(err)
      outcome = {
        state: 'failed',
        result: null,
        error: {
          code: body.error,
          ...(body.reason ? { reason: body.reason } : {}),
          status,
          message: body.message,
        },
      }
    } finally {
      this.lastWrite.delete(job.id)
    }
    Object.assign(job, outcome, { finishedAt: Date.now() })
    this.live.delete(job.id)
    await this.store.put(job.id, job)
    await this.prune()
  }

  /** Deletes the oldest finished jobs beyond `keepFinished`. */
  private async prune(): Promise<void> {
    const finished: string[] = []
    for await (const [id, job] of this.store.entries()) if (FINISHED.has(job.state)) finished.push(id)
    for (const id of finished.slice(0, Math.max(0, finished.length - this.opts.keepFinished)))
      await this.store.delete(id)
  }
}

const jobIdParam = z.object({ id: z.string().regex(/^[0-9a-z]{9}-[0-9a-f]{10}$/, { error: 'not a job id' }) })
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) })

/** GET /v1/jobs (newest first) and GET /v1/jobs/:id. */
export function registerJobRoutes(app: FastifyInstance, jobs: JobManager): void {
  app.get('/v1/jobs', async (req) => ({
    jobs: await jobs.list(parseRequest(listQuery, req.query ?? {}).limit),
  }))
  app.get('/v1/jobs/:id', async (req) => {
    const { id } = parseRequest(jobIdParam, req.params)
    const job = await jobs.get(id)
    if (!job) throw apiError('UNKNOWN_JOB', `no job ${id}`)
    return job
  })
}

/** The 202 answer of a route that started a job. */
export function accepted(job: JobRecord) {
  return { jobId: job.id, state: job.state, job }
}
