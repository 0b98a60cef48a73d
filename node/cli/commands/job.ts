// `openledger job ls|show|wait`: the node's background jobs (`datanet serve`, `model fetch` started with
// --no-wait, or from another shell), through GET /v1/jobs.
import type { Command } from 'commander'
import { addTokenOptions, apiOption, apiTarget, callApi } from '../api-client.ts'
import { type JobView, waitForJob } from '../job-wait.ts'

function describe(job: JobView): string {
  const p = job.progress
  const progress = p ? ` ${p.done}${p.total !== undefined ? `/${p.total}` : ''} ${p.unit}` : ''
  const error = job.error ? ` ${job.error.code}: ${job.error.message}` : ''
  return `${job.id}  ${job.kind}  ${job.state}${progress}${error}`
}

export function registerJobCommands(program: Command): void {
  const job = program.command('job').description("the node's background jobs (serve, fetch)")
  job
    .command('ls')
    .description('recent jobs, newest first')
    .option(...apiOption())
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const res = await callApi<{ jobs: JobView[] }>(await apiTarget(opts), 'GET', '/v1/jobs')
      process.stdout.write(
        opts.json ? `${JSON.stringify(res.jobs, null, 2)}\n` : `${res.jobs.map(describe).join('\n')}\n`,
      )
    })
  job
    .command('show')
    .description("a job's state, progress, result or error")
    .argument('<id>', 'job id')
    .option(...apiOption())
    .action(async (id: string, opts) => {
      const res = await callApi<JobView>(await apiTarget(opts), 'GET', `/v1/jobs/${encodeURIComponent(id)}`)
      process.stdout.write(`${JSON.stringify(res, null, 2)}\n`)
    })
  job
    .command('wait')
    .description('wait for a job with a progress bar; prints its result, or fails with its error')
    .argument('<id>', 'job id')
    .option(...apiOption())
    .option('--quiet', 'no progress bar')
    .action(async (id: string, opts) => {
      const result = await waitForJob(await apiTarget(opts), id, { label: `job ${id}`, quiet: opts.quiet })
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    })
  for (const cmd of job.commands) addTokenOptions(cmd)
}
