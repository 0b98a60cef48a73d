// The `openledger model register|ls|show|fetch` hooks as calls to a running node's HTTP API: the node
// holds the account, the IPFS blocks and the peers, so the CLI only names folders and ids. Folder paths
// are sent absolute and read or written by the node on its own disk.
import { resolve } from 'node:path'
import type { ModelView } from '../../protocols/model/service.ts'
import { callApi, DEFAULT_API } from './api-client.ts'
import type { ModelCommandDeps } from './commands/model.ts'

/** `defaultApi` is used when a command is given no `--api` (commander fills in OPENLEDGER_API or the default). */
export function modelCommandDeps(
  defaultApi: string = process.env.OPENLEDGER_API ?? DEFAULT_API,
): ModelCommandDeps {
  const api = (opts?: { api?: string }) => opts?.api ?? defaultApi
  return {
    registerModel: async (opts) =>
      callApi<{ modelId: string }>(api(opts), 'POST', '/v1/models', {
        json: { dir: resolve(opts.dir), priceIn: opts.priceIn, priceOut: opts.priceOut },
      }),
    listModels: async (opts) =>
      (await callApi<{ models: ModelView[] }>(api(opts), 'GET', '/v1/models')).models,
    showModel: async (modelId, opts) =>
      callApi<ModelView>(api(opts), 'GET', `/v1/models/${encodeURIComponent(modelId)}`),
    fetchModel: async (opts) =>
      callApi<{ dir: string }>(api(opts), 'POST', `/v1/models/${encodeURIComponent(opts.modelId)}/fetch`, {
        json: { outDir: resolve(opts.outDir) },
      }),
  }
}
