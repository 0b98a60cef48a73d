// The `openledger model register|ls|show|fetch` hooks as calls to a running node's HTTP API: the node
// holds the account, the IPFS blocks and the peers, so the CLI only names folders and ids. Register sends
// an absolute folder path that the node reads on its own disk. Fetch writes only under the node's data dir
// (DATA_DIR/models/NAME) as a background job; with --out the CLI then copies that folder to OUT, which
// works when the CLI runs on the node's machine (the usual case: the API listens on 127.0.0.1).
import { cp, readdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { ModelError, ModelErrorCode } from '../../protocols/model/errors.ts'
import type { FetchResult, ModelView } from '../../protocols/model/service.ts'
import { type ApiTarget, callApi, DEFAULT_API, TOKEN_ENV } from './api-client.ts'
import type { ModelCommandDeps } from './commands/model.ts'
import { waitForJob } from './job-wait.ts'

async function isEmptyOrAbsent(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return true
    throw err
  }
}

/** `fallback` is used for what a command is not given (--api: OPENLEDGER_API or the default). */
export function modelCommandDeps(
  fallback: string | ApiTarget = process.env.OPENLEDGER_API ?? DEFAULT_API,
): ModelCommandDeps {
  const base: ApiTarget =
    typeof fallback === 'string' ? { url: fallback, token: process.env[TOKEN_ENV] || undefined } : fallback
  const api = (opts?: { api?: string; token?: string }): ApiTarget => ({
    url: opts?.api ?? base.url,
    token: opts?.token ?? base.token,
  })
  return {
    registerModel: async (opts) =>
      callApi<{ modelId: string }>(api(opts), 'POST', '/v1/registry/models', {
        json: { dir: resolve(opts.dir), priceIn: opts.priceIn, priceOut: opts.priceOut },
      }),
    registerAdapter: async (opts) =>
      callApi<{ adapterId: string }>(
        api(opts),
        'POST',
        `/v1/registry/models/${encodeURIComponent(opts.baseModelId)}/adapters`,
        { json: { dir: resolve(opts.dir), priceIn: opts.priceIn, priceOut: opts.priceOut } },
      ),
    listModels: async (opts) =>
      (await callApi<{ models: ModelView[] }>(api(opts), 'GET', '/v1/registry/models')).models,
    showModel: async (modelId, opts) =>
      callApi<ModelView>(api(opts), 'GET', `/v1/registry/models/${encodeURIComponent(modelId)}`),
    fetchModel: async (opts) => {
      const target = api(opts)
      const outDir = opts.outDir === undefined ? undefined : resolve(opts.outDir)
      if (outDir !== undefined && !(await isEmptyOrAbsent(outDir)))
        throw new ModelError(
          { code: ModelErrorCode.INVALID_ARGUMENT, argument: 'out', reason: 'not empty' },
          `--out ${outDir} is not empty; fetching never overwrites files`,
        )
      const started = await callApi<{ jobId: string; state: string }>(
        target,
        'POST',
        `/v1/registry/models/${encodeURIComponent(opts.modelId)}/fetch`,
        { json: opts.name === undefined ? {} : { name: opts.name } },
      )
      if (opts.wait === false) return { jobId: started.jobId, state: started.state }
      const result = await waitForJob<FetchResult>(target, started.jobId, {
        label: `fetch model ${opts.modelId}`,
        quiet: opts.quiet,
      })
      if (outDir === undefined || outDir === result.dir) return { ...result, jobId: started.jobId }
      await cp(result.dir, outDir, { recursive: true, errorOnExist: true, force: false })
      return { ...result, jobId: started.jobId, dir: outDir, nodeDir: result.dir }
    },
  }
}
