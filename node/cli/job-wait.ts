// Waits for a background job of the node (node/api/jobs.ts) the way a user watches it: a progress bar on
// stderr (cli-progress; only on a terminal and unless quiet), then the job's result, or its typed error
// as one ApiError line. Ctrl-C stops the waiting, not the job: the node keeps working on it.
import cliProgress from 'cli-progress'
import { ApiError, type ApiTarget, callApi } from './api-client.ts'

export interface JobView {
  id: string
  kind: string
  state: 'queued' | 'running' | 'done' | 'failed' | 'interrupted'
  progress: { unit: 'blocks' | 'bytes'; done: number; total?: number } | null
  result: unknown
  error: { code: string; reason?: string; status: number; message: string } | null
}

export const JOB_POLL_MS = 300
/** Each status request; a node busy with the job itself still answers GET /v1/jobs/:id quickly. */
const POLL_TIMEOUT_MS = 30_000

function progressBar(label: string, enabled: boolean) {
  let bar: cliProgress.SingleBar | undefined
  let withTotal = false
  return {
    update(p: JobView['progress']) {
      if (!enabled || !p) return
      const hasTotal = p.total !== undefined && p.total > 0
      if (bar && hasTotal !== withTotal) {
        bar.stop()
        bar = undefined
      }
      if (!bar) {
        withTotal = hasTotal
        bar = new cliProgress.SingleBar(
          {
            format: hasTotal
              ? `${label} [{bar}] {percentage}% | {value}/{total} {unit}`
              : `${label} | {value} {unit} | {duration}s`,
            stream: process.stderr,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        )
        bar.start(p.total ?? 0, p.done, { unit: p.unit })
      }
      if (hasTotal) bar.setTotal(p.total!)
      bar.update(p.done, { unit: p.unit })
    },
    stop() {
      bar?.stop()
    },
  }
}

/** Polls until the job is done (returns its result) or failed/interrupted (throws its error). */
export async function waitForJob<T = unknown>(
  api: ApiTarget,
  jobId: string,
  opts: { label: string; quiet?: boolean },
): Promise<T> {
  const bar = progressBar(opts.label, !opts.quiet && process.stderr.isTTY === true)
  try {
    for (;;) {
      const job = await callApi<JobView>(api, 'GET', `/v1/jobs/${encodeURIComponent(jobId)}`, {
        timeoutMs: POLL_TIMEOUT_MS,
      })
      bar.update(job.progress)
      if (job.state === 'done') return job.result as T
      if (job.state === 'failed' || job.state === 'interrupted') {
        const error = job.error ?? { code: 'JOB_FAILED', status: 500, message: `job ${jobId} ${job.state}` }
        const reason = error.reason ? ` [${error.reason}]` : ''
        throw new ApiError(
          { code: error.code, status: error.status, reason: error.reason },
          `${error.code}${reason}: ${error.message} (job ${jobId})`,
        )
      }
      await new Promise((r) => setTimeout(r, JOB_POLL_MS))
    }
  } finally {
    bar.stop()
  }
}
